//! Keys: public keys from key records (RSA SubjectPublicKeyInfo or bare
//! RSAPublicKey, raw ed25519), private keys from PKCS#8 or PKCS#1 (DER or
//! PEM), signing and verification with ring, key generation.
//!
//! Randomness is the caller's: functions that need it take a
//! `&dyn SecureRandom` (pass `ring::rand::SystemRandom::new()`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SecureRandom;
use ring::signature::{self as sig, Ed25519KeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use rustls_pki_types::pem::{PemObject, SectionKind};

use super::DkimError;
use super::signature::Algorithm;

/// A public key from a key record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Modulus and exponent, big-endian without leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ed25519([u8; 32]),
}

/// Reads a DER length-prefixed element: (tag, contents, rest).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = rest.get(..n)?;
        let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
        (len, rest.get(n..)?)
    };
    Some((tag, rest.get(..len)?, rest.get(len..)?))
}

/// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 A.1).
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// Parses RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }.
fn rsa_public_key(input: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (tag, seq, rest) = der(input)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (t1, n, rest) = der(seq)?;
    let (t2, e, rest) = der(rest)?;
    if t1 != 0x02 || t2 != 0x02 || !rest.is_empty() {
        return None;
    }
    let strip = |v: &[u8]| {
        v.iter()
            .skip_while(|&&b| b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    Some((strip(n), strip(e)))
}

/// Parses SubjectPublicKeyInfo with rsaEncryption to its RSAPublicKey.
fn spki_rsa(input: &[u8]) -> Option<&[u8]> {
    let (tag, seq, rest) = der(input)?;
    if tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let (t_alg, alg, rest) = der(seq)?;
    let (t_bits, bits, rest) = der(rest)?;
    if t_alg != 0x30 || t_bits != 0x03 || !rest.is_empty() {
        return None;
    }
    let (t_oid, oid, _) = der(alg)?;
    if t_oid != 0x06 || oid != OID_RSA {
        return None;
    }
    // BIT STRING: first byte is the number of unused bits, 0 here.
    match bits.split_first()? {
        (0, key) => Some(key),
        _ => None,
    }
}

/// The bit length of a big-endian modulus without leading zero bytes.
pub fn rsa_modulus_bits(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(&b) => (n.len() - 1) * 8 + (8 - b.leading_zeros() as usize),
    }
}

impl PublicKey {
    /// Parses `p=` data (already base64-decoded) for key type `k`: RSA as
    /// SubjectPublicKeyInfo (RFC 6376 3.6.1) or, as some signers publish,
    /// a bare RSAPublicKey; ed25519 as the 32 raw bytes (RFC 8463 4).
    /// RSA keys must be 1024 to 8192 bits (RFC 8301 3.2).
    pub fn parse(k: &str, data: &[u8]) -> Result<PublicKey, DkimError> {
        match k {
            "rsa" => {
                let (n, e) = spki_rsa(data)
                    .and_then(rsa_public_key)
                    .or_else(|| rsa_public_key(data))
                    .ok_or_else(|| {
                        DkimError::BadPublicKey("p= is not an RSA public key in DER".into())
                    })?;
                let bits = rsa_modulus_bits(&n);
                if bits < 1024 {
                    return Err(DkimError::KeyTooSmall(bits));
                }
                if bits > 8192 {
                    return Err(DkimError::KeyTooLarge(bits));
                }
                Ok(PublicKey::Rsa { n, e })
            }
            "ed25519" => {
                let raw: [u8; 32] = data.try_into().map_err(|_| {
                    DkimError::BadPublicKey(format!(
                        "ed25519 key must be 32 bytes, p= has {}",
                        data.len()
                    ))
                })?;
                Ok(PublicKey::Ed25519(raw))
            }
            other => Err(DkimError::BadPublicKey(format!(
                "unknown key type k={other}"
            ))),
        }
    }

    /// Verifies `signature` over `data` (the canonical header data).
    /// rsa-sha*: PKCS#1 v1.5 over the data; ed25519-sha256: Ed25519 over
    /// SHA-256 of the data (RFC 8463 3).
    pub fn verify(&self, alg: Algorithm, data: &[u8], signature: &[u8]) -> bool {
        match (self, alg) {
            (PublicKey::Rsa { n, e }, Algorithm::RsaSha256 | Algorithm::RsaSha1) => {
                let params = if alg == Algorithm::RsaSha1 {
                    &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
                } else {
                    &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
                };
                RsaPublicKeyComponents { n, e }
                    .verify(params, data, signature)
                    .is_ok()
            }
            (PublicKey::Ed25519(k), Algorithm::Ed25519Sha256) => {
                let hash = ring::digest::digest(&ring::digest::SHA256, data);
                sig::UnparsedPublicKey::new(&sig::ED25519, k)
                    .verify(hash.as_ref(), signature)
                    .is_ok()
            }
            _ => false,
        }
    }
}

/// Why a private key cannot be used or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no PRIVATE KEY or RSA PRIVATE KEY PEM section found")]
    NoPem,
    #[error("not an ed25519 or RSA private key in PKCS#8 or PKCS#1 DER: {0}")]
    Unusable(String),
    #[error("rsa key size {0} not supported for signing (2048 to 4096 bits)")]
    BadSize(usize),
    #[error("key generation failed: {0}")]
    Generate(String),
}

/// ring's reason for refusing an RSA key, in words.
fn rsa_rejected(e: ring::error::KeyRejected) -> KeyError {
    KeyError::Unusable(match e.to_string().as_str() {
        "TooSmall" => "rsa key too small for signing (at least 2048 bits)".into(),
        "TooLarge" => "rsa key too large for signing (at most 4096 bits)".into(),
        other => other.to_string(),
    })
}

/// A signing key.
#[derive(Debug)]
pub enum PrivateKey {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl PrivateKey {
    /// Reads a PEM text: `PRIVATE KEY` (PKCS#8, ed25519 or RSA) or `RSA
    /// PRIVATE KEY` (PKCS#1).
    pub fn from_pem(pem: &[u8]) -> Result<PrivateKey, KeyError> {
        for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem) {
            let Ok((kind, der)) = item else {
                return Err(KeyError::NoPem);
            };
            match kind {
                SectionKind::PrivateKey => return PrivateKey::from_pkcs8(&der),
                SectionKind::RsaPrivateKey => {
                    return RsaKeyPair::from_der(&der)
                        .map(PrivateKey::Rsa)
                        .map_err(rsa_rejected);
                }
                _ => {}
            }
        }
        Err(KeyError::NoPem)
    }

    /// Reads DER: PKCS#8 (ed25519 v1 or v2, RSA), else PKCS#1 RSAPrivateKey.
    pub fn from_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        PrivateKey::from_pkcs8(der).or_else(|e| {
            RsaKeyPair::from_der(der)
                .map(PrivateKey::Rsa)
                .map_err(|_| e)
        })
    }

    fn from_pkcs8(der: &[u8]) -> Result<PrivateKey, KeyError> {
        if let Ok(k) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            return Ok(PrivateKey::Ed25519(k));
        }
        RsaKeyPair::from_pkcs8(der)
            .map(PrivateKey::Rsa)
            .map_err(rsa_rejected)
    }

    /// An ed25519 key from its 32-byte seed (the private key of RFC 8032).
    pub fn ed25519_from_seed(seed: &[u8]) -> Result<PrivateKey, KeyError> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(PrivateKey::Ed25519)
            .map_err(|e| KeyError::Unusable(e.to_string()))
    }

    /// The algorithm this key signs with (RSA always with SHA-256).
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PrivateKey::Rsa(_) => Algorithm::RsaSha256,
            PrivateKey::Ed25519(_) => Algorithm::Ed25519Sha256,
        }
    }

    /// The `p=` data: SubjectPublicKeyInfo DER for RSA, raw 32 bytes for
    /// ed25519.
    pub fn public_key_data(&self) -> Vec<u8> {
        match self {
            PrivateKey::Ed25519(k) => k.public_key().as_ref().to_vec(),
            PrivateKey::Rsa(k) => spki_from_rsa_public_key(k.public_key().as_ref()),
        }
    }

    /// The TXT record to publish at `selector._domainkey.domain`.
    pub fn dns_record(&self) -> String {
        let k = match self {
            PrivateKey::Rsa(_) => "rsa",
            PrivateKey::Ed25519(_) => "ed25519",
        };
        format!(
            "v=DKIM1; k={k}; h=sha256; p={}",
            STANDARD.encode(self.public_key_data())
        )
    }

    /// Signs `data` (canonical header data). ring's RSA signing asks for a
    /// random source; ed25519 is deterministic.
    pub fn sign(&self, data: &[u8], rng: &dyn SecureRandom) -> Result<Vec<u8>, KeyError> {
        match self {
            PrivateKey::Ed25519(k) => {
                let hash = ring::digest::digest(&ring::digest::SHA256, data);
                Ok(k.sign(hash.as_ref()).as_ref().to_vec())
            }
            PrivateKey::Rsa(k) => {
                let mut out = vec![0u8; k.public().modulus_len()];
                k.sign(&sig::RSA_PKCS1_SHA256, rng, data, &mut out)
                    .map_err(|e| KeyError::Unusable(format!("rsa signing: {e}")))?;
                Ok(out)
            }
        }
    }
}

/// DER length octets.
fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let sig = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | sig.len() as u8);
        out.extend_from_slice(sig);
    }
}

fn der_wrap(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

/// SubjectPublicKeyInfo { rsaEncryption NULL, BIT STRING RSAPublicKey }.
fn spki_from_rsa_public_key(pkcs1: &[u8]) -> Vec<u8> {
    let mut alg = der_wrap(0x06, OID_RSA);
    alg.extend_from_slice(&[0x05, 0x00]);
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1);
    let mut seq = der_wrap(0x30, &alg);
    seq.extend(der_wrap(0x03, &bits));
    der_wrap(0x30, &seq)
}

/// A new ed25519 key as PKCS#8 v2 DER.
pub fn generate_ed25519(rng: &dyn SecureRandom) -> Result<Vec<u8>, KeyError> {
    Ed25519KeyPair::generate_pkcs8(rng)
        .map(|d| d.as_ref().to_vec())
        .map_err(|e| KeyError::Generate(e.to_string()))
}

/// Adapts ring's random source to the `rsa` crate's RNG traits.
struct RingRng<'a>(&'a dyn SecureRandom);

/// The system random source failed.
#[derive(Debug)]
struct RngFailed;

impl std::fmt::Display for RngFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("random source failed")
    }
}

impl std::error::Error for RngFailed {}

impl rsa::rand_core::TryRng for RingRng<'_> {
    type Error = RngFailed;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.0.fill(&mut b).map_err(|_| RngFailed)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.0.fill(&mut b).map_err(|_| RngFailed)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill(dst).map_err(|_| RngFailed)
    }
}

impl rsa::rand_core::TryCryptoRng for RingRng<'_> {}

/// A new RSA key of `bits` (2048 to 4096, what ring signs with; use 2048)
/// as PKCS#8 DER. ring cannot generate RSA keys; the `rsa` crate does.
pub fn generate_rsa(rng: &dyn SecureRandom, bits: usize) -> Result<Vec<u8>, KeyError> {
    use rsa::pkcs8::EncodePrivateKey;
    if !(2048..=4096).contains(&bits) {
        return Err(KeyError::BadSize(bits));
    }
    let key = rsa::PrivateKey::new(&mut RingRng(rng), bits)
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let doc = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    Ok(doc.as_bytes().to_vec())
}

/// PEM text of a PKCS#8 private key.
pub fn pkcs8_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}
