//! TLS client-certificate keys: the identity of a client certificate is its
//! public key only (no certificate authority, expiry, name or constraint
//! checks), named by the fingerprint of its SubjectPublicKeyInfo.
//!
//! - [`parse_pem`] takes the first `CERTIFICATE` block of a PEM file.
//! - [`parse_certificate`] walks the certificate's DER (RFC 5280 4.1) to its
//!   subject, serial number and SubjectPublicKeyInfo, and accepts RSA keys of
//!   at least 2048 bits, ECDSA P-256 and Ed25519.
//! - [`spki_fingerprint`] is the key's identity: SHA-256 of the SPKI DER,
//!   base64url without padding (as mox does).

use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: u32 = 2048;

/// The type of a client key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// RSA with a modulus of `bits` bits (at least [`MIN_RSA_BITS`]).
    Rsa {
        /// Modulus size in bits.
        bits: u32,
    },
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// Ed25519 (RFC 8410).
    Ed25519,
}

impl std::fmt::Display for KeyType {
    /// `rsa-2048`, `ecdsa-p256`, `ed25519`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyType::Rsa { bits } => write!(f, "rsa-{bits}"),
            KeyType::EcdsaP256 => f.write_str("ecdsa-p256"),
            KeyType::Ed25519 => f.write_str("ed25519"),
        }
    }
}

/// What a client certificate tells about its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey {
    /// [`spki_fingerprint`] of the key.
    pub fingerprint: String,
    /// The key type.
    pub key_type: KeyType,
    /// The default name for the key: the subject's common name, else the
    /// serial number in lower-case hex without leading zeros.
    pub default_name: String,
    /// The SubjectPublicKeyInfo DER (with its SEQUENCE header).
    pub spki_der: Vec<u8>,
}

/// Why a certificate or PEM file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text could not be read.
    #[error("malformed PEM: {0}")]
    Pem(String),
    /// The PEM text has no `CERTIFICATE` block.
    #[error("no CERTIFICATE block in PEM input")]
    NoCertificate,
    /// The DER does not have the structure of an X.509 certificate.
    #[error("malformed certificate: {0}")]
    Malformed(&'static str),
    /// An RSA key below [`MIN_RSA_BITS`].
    #[error("RSA key of {bits} bits is too weak: at least 2048 bits are required")]
    RsaTooSmall {
        /// The modulus size.
        bits: u32,
    },
    /// An elliptic curve other than P-256.
    #[error("unsupported elliptic curve {0}: only P-256 (1.2.840.10045.3.1.7) is accepted")]
    UnsupportedCurve(String),
    /// A public key algorithm other than RSA, ECDSA P-256 and Ed25519.
    #[error(
        "unsupported public key algorithm {0}: use RSA (2048 bits or more), ECDSA P-256 or Ed25519"
    )]
    UnsupportedAlgorithm(String),
}

/// The key identity: SHA-256 of the SubjectPublicKeyInfo DER, base64url
/// without padding (43 characters).
pub fn spki_fingerprint(spki_der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(spki_der))
}

/// The DER of the first `CERTIFICATE` block in `pem` (other blocks, such as
/// a private key, are skipped).
pub fn parse_pem(pem: &[u8]) -> Result<Vec<u8>, KeyError> {
    match CertificateDer::from_pem_slice(pem) {
        Ok(der) => Ok(der.as_ref().to_vec()),
        Err(rustls_pki_types::pem::Error::NoItemsFound) => Err(KeyError::NoCertificate),
        Err(e) => Err(KeyError::Pem(e.to_string())),
    }
}

/// Parses an X.509 certificate (DER) to its key (RFC 5280 4.1).
pub fn parse_certificate(der: &[u8]) -> Result<ClientKey, KeyError> {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
    // signatureValue }
    let (cert, rest) = expect(der, SEQUENCE, "certificate is not a SEQUENCE")?;
    if !rest.is_empty() {
        return Err(KeyError::Malformed("data after the certificate"));
    }
    let (tbs, rest) = expect(cert.content, SEQUENCE, "tbsCertificate is not a SEQUENCE")?;
    let (_, rest) = expect(rest, SEQUENCE, "signatureAlgorithm is not a SEQUENCE")?;
    let (_, rest) = expect(rest, BIT_STRING, "signatureValue is not a BIT STRING")?;
    if !rest.is_empty() {
        return Err(KeyError::Malformed("data after the signature"));
    }
    // TBSCertificate ::= SEQUENCE { version [0] EXPLICIT DEFAULT v1,
    // serialNumber, signature, issuer, validity, subject,
    // subjectPublicKeyInfo, ... }
    let mut body = tbs.content;
    let (first, after) = tlv(body).ok_or(KeyError::Malformed("empty tbsCertificate"))?;
    if first.tag == VERSION {
        body = after;
    }
    let (serial, body) = expect(body, INTEGER, "serialNumber is not an INTEGER")?;
    let (_, body) = expect(body, SEQUENCE, "signature is not a SEQUENCE")?;
    let (_, body) = expect(body, SEQUENCE, "issuer is not a SEQUENCE")?;
    let (_, body) = expect(body, SEQUENCE, "validity is not a SEQUENCE")?;
    let (subject, body) = expect(body, SEQUENCE, "subject is not a SEQUENCE")?;
    let (spki, _) = expect(body, SEQUENCE, "subjectPublicKeyInfo is not a SEQUENCE")?;
    let key_type = key_type(spki.content)?;
    let default_name = match common_name(subject.content)? {
        Some(cn) if !cn.is_empty() => cn,
        _ => serial_hex(serial.content),
    };
    Ok(ClientKey {
        fingerprint: spki_fingerprint(spki.whole),
        key_type,
        default_name,
        spki_der: spki.whole.to_vec(),
    })
}

const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const VERSION: u8 = 0xa0;

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 A.1).
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 2.1.1).
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// secp256r1, 1.2.840.10045.3.1.7 (RFC 5480 2.1.1.1).
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// id-Ed25519, 1.3.101.112 (RFC 8410 3).
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
/// id-at-commonName, 2.5.4.3 (RFC 5280 A.1).
const OID_CN: &[u8] = &[0x55, 0x04, 0x03];

/// One DER element.
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    /// Tag, length and content.
    whole: &'a [u8],
}

/// Reads one DER element (single-byte tags, definite lengths up to 4
/// length bytes); `None` when the input is truncated or not DER.
fn tlv(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *input.first()?;
    if tag & 0x1f == 0x1f {
        return None; // multi-byte tags do not occur in the fields we read
    }
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2usize)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None; // indefinite length (BER) or absurd size
        }
        let mut len = 0usize;
        for b in input.get(2..2 + n)? {
            len = len.checked_mul(256)?.checked_add(usize::from(*b))?;
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    let whole = input.get(..end)?;
    let content = whole.get(header..)?;
    Some((
        Tlv {
            tag,
            content,
            whole,
        },
        input.get(end..)?,
    ))
}

/// Reads one element that must carry `tag`.
fn expect<'a>(
    input: &'a [u8],
    tag: u8,
    what: &'static str,
) -> Result<(Tlv<'a>, &'a [u8]), KeyError> {
    match tlv(input) {
        Some((t, rest)) if t.tag == tag => Ok((t, rest)),
        _ => Err(KeyError::Malformed(what)),
    }
}

/// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier,
/// subjectPublicKey BIT STRING } (RFC 5280 4.1).
fn key_type(spki: &[u8]) -> Result<KeyType, KeyError> {
    let (alg, rest) = expect(spki, SEQUENCE, "SPKI algorithm is not a SEQUENCE")?;
    let (key, rest) = expect(rest, BIT_STRING, "SPKI key is not a BIT STRING")?;
    if !rest.is_empty() {
        return Err(KeyError::Malformed("data after the SPKI key"));
    }
    let (oid, params) = expect(alg.content, OID, "SPKI algorithm has no OID")?;
    let key = match key.content.split_first() {
        Some((0, bits)) => bits,
        _ => return Err(KeyError::Malformed("SPKI key has unused bits")),
    };
    match oid.content {
        OID_RSA => {
            // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent
            // INTEGER } (RFC 8017 A.1.1)
            let (rsa, _) = expect(key, SEQUENCE, "RSA key is not a SEQUENCE")?;
            let (n, rest) = expect(rsa.content, INTEGER, "RSA modulus is not an INTEGER")?;
            expect(rest, INTEGER, "RSA exponent is not an INTEGER")?;
            let bits = integer_bits(n.content);
            if bits < MIN_RSA_BITS {
                return Err(KeyError::RsaTooSmall { bits });
            }
            Ok(KeyType::Rsa { bits })
        }
        OID_EC => {
            let (curve, _) = expect(params, OID, "EC key without a named curve")?;
            if curve.content != OID_P256 {
                return Err(KeyError::UnsupportedCurve(dotted(curve.content)));
            }
            // Uncompressed (0x04 X Y) or compressed (0x02/0x03 X) point.
            match (key.first(), key.len()) {
                (Some(4), 65) | (Some(2 | 3), 33) => Ok(KeyType::EcdsaP256),
                _ => Err(KeyError::Malformed("P-256 key is not a valid point")),
            }
        }
        OID_ED25519 => {
            if key.len() != 32 {
                return Err(KeyError::Malformed("Ed25519 key is not 32 bytes"));
            }
            Ok(KeyType::Ed25519)
        }
        other => Err(KeyError::UnsupportedAlgorithm(dotted(other))),
    }
}

/// Size in bits of a non-negative INTEGER's value.
fn integer_bits(content: &[u8]) -> u32 {
    let start = content.iter().position(|&b| b != 0);
    let Some(start) = start else { return 0 };
    let bytes = content.get(start..).unwrap_or_default();
    let lead = bytes.first().map_or(0, |b| 8 - b.leading_zeros());
    let rest = u32::try_from(bytes.len().saturating_sub(1)).unwrap_or(u32::MAX / 16);
    rest.saturating_mul(8).saturating_add(lead)
}

/// The serial number as lower-case hex without leading zeros ("0" for 0).
fn serial_hex(content: &[u8]) -> String {
    let hex: String = content.iter().map(|b| format!("{b:02x}")).collect();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The first common name of a Name (RDNSequence, RFC 5280 4.1.2.4).
fn common_name(mut rdns: &[u8]) -> Result<Option<String>, KeyError> {
    while !rdns.is_empty() {
        let (set, rest) = expect(rdns, SET, "subject RDN is not a SET")?;
        rdns = rest;
        let mut atvs = set.content;
        while !atvs.is_empty() {
            let (atv, rest) = expect(atvs, SEQUENCE, "subject attribute is not a SEQUENCE")?;
            atvs = rest;
            let (oid, value) = expect(atv.content, OID, "subject attribute has no OID")?;
            if oid.content == OID_CN {
                let (v, _) = tlv(value).ok_or(KeyError::Malformed("common name has no value"))?;
                return directory_string(v.tag, v.content).map(Some);
            }
        }
    }
    Ok(None)
}

/// A DirectoryString (RFC 5280 4.1.2.4) as text.
fn directory_string(tag: u8, content: &[u8]) -> Result<String, KeyError> {
    match tag {
        // UTF8String, PrintableString, IA5String
        0x0c | 0x13 | 0x16 => String::from_utf8(content.to_vec())
            .map_err(|_| KeyError::Malformed("common name is not UTF-8")),
        // TeletexString: treated as Latin-1, as most software does.
        0x14 => Ok(content.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UCS-2 big-endian.
        0x1e => {
            if !content.len().is_multiple_of(2) {
                return Err(KeyError::Malformed("BMPString of odd length"));
            }
            let units = content.chunks_exact(2).map(|c| match c {
                [a, b] => u16::from_be_bytes([*a, *b]),
                _ => 0,
            });
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|_| KeyError::Malformed("common name is not valid UTF-16"))
        }
        _ => Err(KeyError::Malformed(
            "common name has an unsupported string type",
        )),
    }
}

/// An OID in dotted form, for error messages.
fn dotted(oid: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut value: u64 = 0;
    for &b in oid {
        value = value
            .saturating_mul(128)
            .saturating_add(u64::from(b & 0x7f));
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = value.min(80) / 40;
                parts.push(first);
                parts.push(value.saturating_sub(first * 40));
            } else {
                parts.push(value);
            }
            value = 0;
        }
    }
    parts
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}
