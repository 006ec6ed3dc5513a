//! Known-answer tests for client-certificate keys. The fixtures were made
//! with `openssl req -x509 -newkey …`; the expected fingerprints with
//! `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der |
//! openssl dgst -sha256 -binary | basenc --base64url`.

use moxide_proto::tls_key::{
    ClientKey, KeyError, KeyType, parse_certificate, parse_pem, spki_fingerprint,
};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/tls_key/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse_fixture(name: &str) -> Result<ClientKey, KeyError> {
    parse_certificate(&parse_pem(&fixture(name)).unwrap())
}

#[test]
fn openssl_rsa_2048() {
    let k = parse_fixture("rsa2048.pem").unwrap();
    assert_eq!(k.fingerprint, "F82jKvi6kA8FxS2_-7I9G2wzP6gikNGJn8sdinfCl30");
    assert_eq!(k.key_type, KeyType::Rsa { bits: 2048 });
    assert_eq!(k.key_type.to_string(), "rsa-2048");
    assert_eq!(k.default_name, "laptop rsa");
    assert_eq!(spki_fingerprint(&k.spki_der), k.fingerprint);
    // SEQUENCE, long length form: the SPKI DER carries its header.
    assert_eq!(&k.spki_der[..2], &[0x30, 0x82]);
    assert_eq!(k.spki_der.len(), 294);
}

#[test]
fn openssl_p256_from_combined_pem() {
    // The private key block comes first; the certificate is still found.
    let k = parse_fixture("p256-combined.pem").unwrap();
    assert_eq!(k.fingerprint, "jo5cxFEDD6j3o0Wgn5xilh99lJ0x3W7GDe6lue0-64g");
    assert_eq!(k.key_type, KeyType::EcdsaP256);
    assert_eq!(k.key_type.to_string(), "ecdsa-p256");
    assert_eq!(k.default_name, "phone");
    assert_eq!(parse_fixture("p256.pem").unwrap(), k);
}

#[test]
fn openssl_ed25519_without_cn_is_named_by_serial() {
    let k = parse_fixture("ed25519-nocn.pem").unwrap();
    assert_eq!(k.fingerprint, "J0WZq_Yup6if-5REDG8orwfLAEhpu6w_14yGMSWsvDQ");
    assert_eq!(k.key_type, KeyType::Ed25519);
    assert_eq!(k.key_type.to_string(), "ed25519");
    // Serial 0x00ab12: hex without leading zeros.
    assert_eq!(k.default_name, "ab12");
    assert_eq!(k.spki_der.len(), 44);
}

#[test]
fn weak_and_unsupported_keys_are_refused() {
    assert_eq!(
        parse_fixture("rsa1024.pem"),
        Err(KeyError::RsaTooSmall { bits: 1024 })
    );
    assert_eq!(
        parse_fixture("rsa1024.pem").unwrap_err().to_string(),
        "RSA key of 1024 bits is too weak: at least 2048 bits are required"
    );
    assert_eq!(
        parse_fixture("p384.pem"),
        Err(KeyError::UnsupportedCurve("1.3.132.0.34".to_string()))
    );
}

#[test]
fn malformed_pem_and_der() {
    assert_eq!(parse_pem(b""), Err(KeyError::NoCertificate));
    assert_eq!(
        parse_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        Err(KeyError::NoCertificate)
    );
    assert!(matches!(
        parse_pem(b"-----BEGIN CERTIFICATE-----\n!!notbase64!!\n-----END CERTIFICATE-----\n"),
        Err(KeyError::Pem(_))
    ));
    let der = parse_pem(&fixture("p256.pem")).unwrap();
    assert_eq!(
        parse_certificate(&der[..der.len() - 1]),
        Err(KeyError::Malformed("certificate is not a SEQUENCE"))
    );
    let mut trailing = der.clone();
    trailing.push(0);
    assert_eq!(
        parse_certificate(&trailing),
        Err(KeyError::Malformed("data after the certificate"))
    );
    assert_eq!(
        parse_certificate(b"\x30\x80\x00\x00"),
        Err(KeyError::Malformed("certificate is not a SEQUENCE"))
    );
    // Every truncation fails cleanly, never panics.
    for n in 0..der.len() {
        assert!(parse_certificate(&der[..n]).is_err(), "prefix of {n} bytes");
    }
}

fn rcgen_cert(alg: &'static rcgen::SignatureAlgorithm, cn: Option<&str>) -> (Vec<u8>, Vec<u8>) {
    let key = KeyPair::generate_for(alg).unwrap();
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if let Some(cn) = cn {
        dn.push(DnType::CommonName, cn);
    }
    params.distinguished_name = dn;
    params.serial_number = Some(vec![0x01, 0x02].into());
    let cert = params.self_signed(&key).unwrap();
    (cert.der().to_vec(), key.subject_public_key_info())
}

#[test]
fn rcgen_certificates() {
    let (der, spki) = rcgen_cert(&rcgen::PKCS_ECDSA_P256_SHA256, Some("Thunderbird"));
    let k = parse_certificate(&der).unwrap();
    assert_eq!(k.key_type, KeyType::EcdsaP256);
    assert_eq!(k.default_name, "Thunderbird");
    assert_eq!(k.spki_der, spki);
    assert_eq!(k.fingerprint, spki_fingerprint(&spki));
    assert_eq!(k.fingerprint.len(), 43);

    let (der, spki) = rcgen_cert(&rcgen::PKCS_ED25519, None);
    let k = parse_certificate(&der).unwrap();
    assert_eq!(k.key_type, KeyType::Ed25519);
    assert_eq!(k.default_name, "102");
    assert_eq!(k.spki_der, spki);
}

#[test]
fn fingerprint_known_answer() {
    // SHA-256 of the empty string, base64url without padding.
    assert_eq!(
        spki_fingerprint(b""),
        "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
    );
}
