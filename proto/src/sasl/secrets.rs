//! Stored password secrets: what the server keeps instead of a password.
//!
//! * SCRAM-SHA-256 and SCRAM-SHA-1 (RFC 5802 3, RFC 7677): salt, iteration
//!   count, StoredKey and ServerKey.
//! * CRAM-MD5 (RFC 2195): the HMAC-MD5 key expanded into the MD5 chaining
//!   states after the `key ^ ipad` and `key ^ opad` blocks (the form mox and
//!   Dovecot store), which is enough to compute HMAC-MD5 with that key.
//!
//! No plaintext is stored. Passwords are used as the UTF-8 bytes given: no
//! SASLprep/PRECIS normalisation is applied, so a client must send the same
//! bytes it was set with.

use hmac::{KeyInit, Mac};
use md5::block_api::compress as md5_compress;

/// Default PBKDF2 iteration count for both SCRAM variants (as mox).
pub const SCRAM_ITERATIONS: u32 = 4096;

/// Hash function of a SCRAM variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramHash {
    /// SCRAM-SHA-1 (RFC 5802).
    Sha1,
    /// SCRAM-SHA-256 (RFC 7677).
    Sha256,
}

impl ScramHash {
    /// Output length of the hash in bytes.
    pub fn output_len(self) -> usize {
        match self {
            ScramHash::Sha1 => 20,
            ScramHash::Sha256 => 32,
        }
    }

    /// HMAC(key, data) with this hash.
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            match <M as KeyInit>::new_from_slice(key) {
                Ok(mut m) => {
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                }
                // HMAC accepts keys of any length; an empty result never
                // matches a stored key.
                Err(_) => Vec::new(),
            }
        }
        match self {
            ScramHash::Sha1 => run::<hmac::Hmac<sha1::Sha1>>(key, data),
            ScramHash::Sha256 => run::<hmac::Hmac<sha2::Sha256>>(key, data),
        }
    }

    /// H(data).
    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            ScramHash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            ScramHash::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    /// SaltedPassword = Hi(password, salt, i) (RFC 5802 2.2, PBKDF2 with
    /// HMAC of this hash).
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut out = vec![0u8; self.output_len()];
        match self {
            ScramHash::Sha1 => {
                pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, &mut out)
            }
            ScramHash::Sha256 => {
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out)
            }
        }
        out
    }
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The SCRAM secrets of one hash variant (RFC 5802 3).
#[derive(Clone, PartialEq, Eq)]
pub struct ScramKeys {
    /// Which SCRAM variant these keys belong to.
    pub hash: ScramHash,
    /// PBKDF2 iteration count sent as `i=`.
    pub iterations: u32,
    /// Salt sent (base64) as `s=`.
    pub salt: Vec<u8>,
    /// StoredKey = H(HMAC(SaltedPassword, "Client Key")).
    pub stored_key: Vec<u8>,
    /// ServerKey = HMAC(SaltedPassword, "Server Key").
    pub server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramKeys")
            .field("hash", &self.hash)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramKeys {
    /// Derives the keys from a password (RFC 5802 3).
    pub fn derive(hash: ScramHash, password: &str, salt: &[u8], iterations: u32) -> ScramKeys {
        let salted = hash.salted_password(password.as_bytes(), salt, iterations);
        let client_key = hash.hmac(&salted, b"Client Key");
        ScramKeys {
            hash,
            iterations,
            salt: salt.to_vec(),
            stored_key: hash.hash(&client_key),
            server_key: hash.hmac(&salted, b"Server Key"),
        }
    }

    /// Whether `password` derives to these keys (constant-time comparison).
    pub fn verify_password(&self, password: &str) -> bool {
        let salted = self
            .hash
            .salted_password(password.as_bytes(), &self.salt, self.iterations);
        let client_key = self.hash.hmac(&salted, b"Client Key");
        constant_time_eq(&self.hash.hash(&client_key), &self.stored_key)
    }
}

const MD5_INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// CRAM-MD5 secrets: MD5 chaining states after the inner and outer HMAC key
/// blocks (RFC 2104 2, RFC 2195).
#[derive(Clone, PartialEq, Eq)]
pub struct CramMd5Keys {
    /// MD5 state (four little-endian words) after `key ^ ipad`.
    pub inner: [u8; 16],
    /// MD5 state (four little-endian words) after `key ^ opad`.
    pub outer: [u8; 16],
}

impl std::fmt::Debug for CramMd5Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CramMd5Keys(..)")
    }
}

impl CramMd5Keys {
    /// Precomputes the HMAC-MD5 states for `password` as key.
    pub fn derive(password: &str) -> CramMd5Keys {
        let pw = password.as_bytes();
        // RFC 2104 2: keys longer than the block are hashed first.
        let digest;
        let key: &[u8] = if pw.len() > 64 {
            use md5::Digest;
            digest = md5::Md5::digest(pw);
            &digest
        } else {
            pw
        };
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for (i, k) in key.iter().enumerate() {
            if let (Some(a), Some(b)) = (ipad.get_mut(i), opad.get_mut(i)) {
                *a ^= k;
                *b ^= k;
            }
        }
        let mut inner = MD5_INIT;
        md5_compress(&mut inner, &[ipad]);
        let mut outer = MD5_INIT;
        md5_compress(&mut outer, &[opad]);
        CramMd5Keys {
            inner: words_to_bytes(inner),
            outer: words_to_bytes(outer),
        }
    }

    /// HMAC-MD5(key, msg) computed from the stored states.
    pub fn hmac(&self, msg: &[u8]) -> [u8; 16] {
        let inner = md5_resume(bytes_to_words(self.inner), msg);
        md5_resume(bytes_to_words(self.outer), &inner)
    }
}

fn words_to_bytes(w: [u32; 4]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for (chunk, v) in out.chunks_exact_mut(4).zip(w) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    out
}

fn bytes_to_words(b: [u8; 16]) -> [u32; 4] {
    let mut w = [0u32; 4];
    for (v, chunk) in w.iter_mut().zip(b.chunks_exact(4)) {
        *v = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    w
}

/// Finishes an MD5 computation whose state is `state` after exactly one
/// 64-byte block, over the further input `data` (RFC 1321 3.1-3.5 padding).
fn md5_resume(mut state: [u32; 4], data: &[u8]) -> [u8; 16] {
    let total_bits = (64u64 + data.len() as u64).wrapping_mul(8);
    let mut chunks = data.chunks_exact(64);
    for block in &mut chunks {
        let mut b = [0u8; 64];
        b.copy_from_slice(block);
        md5_compress(&mut state, &[b]);
    }
    let rest = chunks.remainder();
    let mut tail = Vec::with_capacity(128);
    tail.extend_from_slice(rest);
    tail.push(0x80);
    while tail.len() % 64 != 56 {
        tail.push(0);
    }
    tail.extend_from_slice(&total_bits.to_le_bytes());
    for block in tail.chunks_exact(64) {
        let mut b = [0u8; 64];
        b.copy_from_slice(block);
        md5_compress(&mut state, &[b]);
    }
    words_to_bytes(state)
}

/// Everything the server stores for one account password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordSecrets {
    /// SCRAM-SHA-256 keys (also used by [`PasswordSecrets::verify_plain`]).
    pub scram_sha256: ScramKeys,
    /// SCRAM-SHA-1 keys.
    pub scram_sha1: ScramKeys,
    /// CRAM-MD5 HMAC states.
    pub cram_md5: CramMd5Keys,
}

/// Why stored secret bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// The data ends early or has bytes left over.
    #[error("password secrets have the wrong length")]
    BadLength,
    /// Unknown format version.
    #[error("unknown password secrets version {0}")]
    UnknownVersion(u8),
    /// An iteration count of zero.
    #[error("invalid iteration count")]
    BadIterations,
}

const SECRETS_VERSION: u8 = 1;

impl PasswordSecrets {
    /// Derives all secrets from a password with [`SCRAM_ITERATIONS`] and the
    /// given per-account random salts.
    pub fn derive(
        password: &str,
        salt_scram256: [u8; 16],
        salt_scram1: [u8; 16],
    ) -> PasswordSecrets {
        PasswordSecrets {
            scram_sha256: ScramKeys::derive(
                ScramHash::Sha256,
                password,
                &salt_scram256,
                SCRAM_ITERATIONS,
            ),
            scram_sha1: ScramKeys::derive(
                ScramHash::Sha1,
                password,
                &salt_scram1,
                SCRAM_ITERATIONS,
            ),
            cram_md5: CramMd5Keys::derive(password),
        }
    }

    /// The SCRAM keys for a hash.
    pub fn scram(&self, hash: ScramHash) -> &ScramKeys {
        match hash {
            ScramHash::Sha1 => &self.scram_sha1,
            ScramHash::Sha256 => &self.scram_sha256,
        }
    }

    /// Checks a plaintext password (PLAIN, LOGIN, IMAP LOGIN) against the
    /// SCRAM-SHA-256 keys, comparing in constant time.
    pub fn verify_plain(&self, password: &str) -> bool {
        self.scram_sha256.verify_password(password)
    }

    /// Compact form: version, CRAM-MD5 states, then per SCRAM variant
    /// (SHA-256, SHA-1) the iteration count (u32 BE), salt length (u8), salt,
    /// StoredKey and ServerKey.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(180);
        out.push(SECRETS_VERSION);
        out.extend_from_slice(&self.cram_md5.inner);
        out.extend_from_slice(&self.cram_md5.outer);
        for keys in [&self.scram_sha256, &self.scram_sha1] {
            out.extend_from_slice(&keys.iterations.to_be_bytes());
            let salt = keys.salt.get(..255).unwrap_or(&keys.salt);
            out.push(salt.len() as u8);
            out.extend_from_slice(salt);
            out.extend_from_slice(&keys.stored_key);
            out.extend_from_slice(&keys.server_key);
        }
        out
    }

    /// Reads the form written by [`PasswordSecrets::encode`].
    pub fn decode(bytes: &[u8]) -> Result<PasswordSecrets, SecretsError> {
        let mut r = bytes;
        let version = *take(&mut r, 1)?.first().ok_or(SecretsError::BadLength)?;
        if version != SECRETS_VERSION {
            return Err(SecretsError::UnknownVersion(version));
        }
        let mut inner = [0u8; 16];
        inner.copy_from_slice(take(&mut r, 16)?);
        let mut outer = [0u8; 16];
        outer.copy_from_slice(take(&mut r, 16)?);
        let mut scram = |hash: ScramHash| -> Result<ScramKeys, SecretsError> {
            let mut it = [0u8; 4];
            it.copy_from_slice(take(&mut r, 4)?);
            let iterations = u32::from_be_bytes(it);
            if iterations == 0 {
                return Err(SecretsError::BadIterations);
            }
            let salt_len = *take(&mut r, 1)?.first().ok_or(SecretsError::BadLength)?;
            let salt = take(&mut r, usize::from(salt_len))?.to_vec();
            let n = hash.output_len();
            Ok(ScramKeys {
                hash,
                iterations,
                salt,
                stored_key: take(&mut r, n)?.to_vec(),
                server_key: take(&mut r, n)?.to_vec(),
            })
        };
        let scram_sha256 = scram(ScramHash::Sha256)?;
        let scram_sha1 = scram(ScramHash::Sha1)?;
        if !r.is_empty() {
            return Err(SecretsError::BadLength);
        }
        Ok(PasswordSecrets {
            scram_sha256,
            scram_sha1,
            cram_md5: CramMd5Keys { inner, outer },
        })
    }
}

fn take<'a>(r: &mut &'a [u8], n: usize) -> Result<&'a [u8], SecretsError> {
    if r.len() < n {
        return Err(SecretsError::BadLength);
    }
    let (head, tail) = r.split_at(n);
    *r = tail;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cram_md5_rfc2195_example() {
        // RFC 2195 2: tim / tanstaaftanstaaf.
        let keys = CramMd5Keys::derive("tanstaaftanstaaf");
        let mac = keys.hmac(b"<1896.697170952@postoffice.reston.mci.net>");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "b913a602c7eda7a495b4e6e7334d3890");
    }

    #[test]
    fn hmac_md5_rfc2104_vectors_long_message_and_key() {
        // RFC 2104 test vector 2 and a key longer than the block.
        let keys = CramMd5Keys::derive("Jefe");
        let mac = keys.hmac(b"what do ya want for nothing?");
        assert_eq!(
            mac,
            [
                0x75, 0x0c, 0x78, 0x3e, 0x6a, 0xb0, 0xb5, 0x03, 0xea, 0xa8, 0x6e, 0x31, 0x0a, 0x5d,
                0xb7, 0x38
            ]
        );
        let long = "k".repeat(100);
        let msg = vec![b'm'; 200];
        let expected = {
            let mut m = <hmac::Hmac<md5::Md5> as KeyInit>::new_from_slice(long.as_bytes())
                .expect("hmac key");
            m.update(&msg);
            m.finalize().into_bytes().to_vec()
        };
        assert_eq!(CramMd5Keys::derive(&long).hmac(&msg).to_vec(), expected);
    }

    #[test]
    fn encode_decode_and_verify() {
        let s = PasswordSecrets::derive("pencil", [1; 16], [2; 16]);
        assert!(s.verify_plain("pencil"));
        assert!(!s.verify_plain("pencil "));
        assert_eq!(s.scram_sha256.iterations, 4096);
        let enc = s.encode();
        assert_eq!(enc.len(), 1 + 32 + (4 + 1 + 16 + 64) + (4 + 1 + 16 + 40));
        assert_eq!(PasswordSecrets::decode(&enc), Ok(s));
        assert_eq!(
            PasswordSecrets::decode(&enc[..enc.len() - 1]),
            Err(SecretsError::BadLength)
        );
        assert_eq!(PasswordSecrets::decode(&[]), Err(SecretsError::BadLength));
        assert_eq!(
            PasswordSecrets::decode(&[7]),
            Err(SecretsError::UnknownVersion(7))
        );
        let dbg = format!("{:?}", PasswordSecrets::derive("pencil", [1; 16], [2; 16]));
        assert!(!dbg.contains("stored_key"), "{dbg}");
    }
}
