//! Fixed test keys for the DKIM tests (generated with openssl genpkey).

#![allow(dead_code)]

/// RSA 2048, PKCS#8 PEM.
pub const RSA2048: &str = "-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCuDuSr6wcEsK0w\n\
YpaIhnI91jYSwDMLa9oYew12lGTa4CK2h3+GsF2FwV4wPg/daMPuhEzgpDdbT8Qr\n\
TTplAzl0XdYzrLTgImXY1GsRon1YtITHmR875xgbS73bjDUfEd/9xj11r9uxGzb1\n\
B3z1aboviGnf/PvKJrxJY9yX5pu/vmd+H1oD7uQt9nQU+QCmxOfaISSwX5OTxI+Q\n\
Q0XnHc45N9QnKY5IODel+9txcgpPB+6Xb2E3ogiNm17oPWytGOjsou2GtVUrf5WJ\n\
hAzR1t4KMG+Tb3BzC6DoZOggJUARqcFbZjS3qoFlZge95zLSvncWjAY0w5wlupvA\n\
J+r0C0XtAgMBAAECggEACFaPTssKAYgDK+u1IWIra9nsqjZJ27S1dHHEodcXA8Mz\n\
9oGEMuwU9tjeDbqTYPxpUm5FDoffXQDzuU1QTFF8uZ3bKouN+KS9M0dtv6EElzDC\n\
oZssu15lMb2NoUxUqSHelJYgEJi1kgTnO5K5wjnn4OoMhF3mo/b6Exv1D9PMx0Eg\n\
CUdro0eylqynnzlJTntsGMdRHqQO/vN9uZCwpgnSCnkizzla1hOBQUOhbLD9Gll1\n\
/8lhdVR67qAJ6JGXLAA3l7D8CsIdk7Zw3b3URS6VuHbbf6UO0Gvqmu2cUj2ptl3c\n\
ImBdyPMoar+SYUYPq3eTdS2m8jyCd+SmvpZeVJqaUQKBgQDg2SORBJaqMkOSOQX8\n\
5/t0zKjt6dJoFyz/EnC9ccvYQuowtvkzX+swVq6S2VLklTu45WR+MfDoKHrtFNEw\n\
TrP1peIaVtPKslPHd/Ky0L1v11DxpvyB8UATKvYZWb+IU4uO+Zm6/joBpub9gyMq\n\
71TowWOrQPWWdF6WyszmOYkUVQKBgQDGLFigiVOW3pv8VE/tyeYQaV/CgCqdmnpm\n\
IEKip8GVuBKUSGyHJj6mdQY0Yuw9yzOd7SEWQQS543pXcDo7Lc335BTgF3JKb7X4\n\
iXV2n99r6VtbTxwX2a2gLlm1d+ovm0DFOCGCoJ1bloqwoL0F2PR341EIzukorp44\n\
T2i5YuXDOQKBgHDNnyFPCwNh6jJ+tzlVbPsA/jM13mBoWCOzrantYFYj4/gCo+0Z\n\
TxXWNwjnTMXu9KJjO1JwXasrO9ibXAN/SJuR2GhcbS7A3nUxASqivJdSj4Jcw0ux\n\
q/Kx1/uJ4iRTva1CHdUJXDKd+D7xPoB4x8Fp3EX7dfpAcX/3SGqsLNBtAoGBAIvN\n\
EwTFfBONnSsH648LhGKFg8l5kxa1uK09CuUmRTmyrmCvKui4wS+6lJL2SkRZimNZ\n\
uqKxYX0ljdQLVvkSmh/LZjKkN7ttTUk054m0xO+ioxEqIN5ucL70k9Kh8rJ86td2\n\
fqVhW0EWVWa/Ljnm0KeW1D7LgM5zSSjeVDmcHAx5AoGBANVhaqDXGCLX1eJbBz6a\n\
RD7qnAzaGWPvHp06Co8vtK15gJY7q9tUL9yeALYYqM0Ix+fsZJlNy7kLR0ObBMnE\n\
9CDHSE0pcWYEB9kUeTkK0QrCIXTlf0zCExxmdLPLbImH54qic7FllQzNbog9qMcN\n\
W9h87AX4/9KnrqyyKkUjYk+5\n\
-----END PRIVATE KEY-----\n\
";

/// RSA 1024, PKCS#8 PEM (the smallest RFC 8301 allows).
pub const RSA1024: &str = "-----BEGIN PRIVATE KEY-----\n\
MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAL/KTd2fkdMcK+7q\n\
fQsUGSea3N0S7L5seNcGhz9maQRib3rEPDq+snjD6fQafN7t8CFiDNZt/Q/qwRnw\n\
SStZZ9QivOlF4GB4HAMuuWx0wKcOgq32nfUwnAJgBpRp/odoBxBMrUEQg1RMbBNc\n\
ld90fNWyhzm6K2CbOWh8cVEkgrmfAgMBAAECgYBg0MQL23BmjHMVESP8QrIMDx3t\n\
L4949RLvIOmHNLBQuUwjQgpRcVBwrB1ezzw34Q72GyP13uH/dfbynByjmGdTi/dQ\n\
ZbsWU65AxFpR9kMYSp2C6yKKy5ppBIw7e/LKbpwPRr5PqJUAG4QCsklo95FmvCit\n\
oq/EKl5YScwLZs7aMQJBAOsVOT7xs7cnj7x0qVkYVBZrT9syLNYgT4Kz/AGpwPRb\n\
/ijPbyaQqpwwDR8vIWQS/HMp/N2OHR27XBvlEjZawDcCQQDQ2vMlqhN0rQJdWBTv\n\
H83UUctBhRou0MBQTx7lAWjZOC0d32U7nlvG7+sbk8TAAP6uH9ZgGOONUhNHR8MR\n\
RQ3ZAkEAhrQdnly/PvbzXOh4VW4kWMha9N42ZOgUx288uvM7don0BAyAw1dn+6Fp\n\
E3JdLsvWTmND2uxg8LV4XR+QpQaxVwJAc2UmBt9rlIGq1sw99MkLvo3a0b6q8sbg\n\
Gv88QKeAuNPzCZhOpJwgdVBGBJymjrd9/9MTbVETGRgKEs4xly8iMQJAD7n15987\n\
gG8+QeDNRAF5OBvMjlcy2yyKVLgo1R7Tlzfeaoll3TgZvCUVrZzcuCFxanj+5wSl\n\
RTLGci5X73pGDA==\n\
-----END PRIVATE KEY-----\n\
";

/// SubjectPublicKeyInfo of a 512-bit RSA key, base64 (too small).
pub const RSA512_SPKI: &str = "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAM940uvTZUxWK8LHqeMLWXk7AxC5VI+EWUlCL/fctFVY+vZbPa76U2z+1uiWMlhNe4w8dlb1vSvGvtHe0lEsh4sCAwEAAQ==";

/// An ed25519 seed (RFC 8032 7.1 test 1 secret key).
pub const ED25519_SEED: [u8; 32] = [
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];
