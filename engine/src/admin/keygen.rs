//! Ed25519 client keys and minimal self-signed certificates: what
//! `moxide config tlspubkey gen` writes, and what `moxide sendmail` makes
//! on the fly from a bare private key seed.
//!
//! The private key is kept as its 32-byte seed (RFC 8032 5.1.5), written
//! as base64url without padding, and as PKCS#8 (RFC 8410 7). The
//! certificate carries only what TLS needs: the key, a common name, and a
//! validity from 1975 to 4096 (rcgen's default); the server only looks at
//! the key.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use moxide_proto::tls_key::spki_fingerprint;
use rcgen::PublicKeyData as _;

/// The fixed DER prefix of an Ed25519 PKCS#8 v1 private key (RFC 8410 7):
/// SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING {
/// OCTET STRING (32 bytes) } }; the seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Why a key or certificate could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// The seed is not 32 bytes of base64url.
    #[error(
        "ed25519 private key seed: {0} (want 32 bytes in base64url, as printed by `moxide config tlspubkey gen`)"
    )]
    Seed(String),
    /// rcgen refused the key or the certificate.
    #[error("making the certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// A file exists already or could not be written.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// A key pair and its self-signed certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub key_pem: String,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The key's fingerprint, as `tlspubkey list` shows it.
    pub fingerprint: String,
    /// The 32-byte seed in base64url without padding.
    pub seed: String,
}

/// The Ed25519 key of `seed` with a self-signed certificate whose subject
/// is `CN=common_name`.
pub fn from_seed(seed: &[u8; 32], common_name: &str) -> Result<GeneratedKey, KeygenError> {
    let mut key_der = PKCS8_ED25519_PREFIX.to_vec();
    key_der.extend_from_slice(seed);
    let key = rcgen::KeyPair::try_from(key_der.as_slice())?;
    let mut params = rcgen::CertificateParams::default();
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, common_name);
    params.distinguished_name = dn;
    let cert = params.self_signed(&key)?;
    Ok(GeneratedKey {
        key_pem: key.serialize_pem(),
        key_der,
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        fingerprint: spki_fingerprint(&key.subject_public_key_info()),
        seed: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seed),
    })
}

/// [`from_seed`] for a seed in base64url (padding and surrounding white
/// space allowed, as pasted into a config file).
pub fn from_seed_text(seed: &str, common_name: &str) -> Result<GeneratedKey, KeygenError> {
    let text = seed.trim().trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| KeygenError::Seed(e.to_string()))?;
    let seed: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeygenError::Seed(format!("{} bytes", bytes.len())))?;
    from_seed(&seed, common_name)
}

/// The files [`write_files`] writes for `stem`: `STEM.key` (private key),
/// `STEM.crt` (certificate) and `STEM.pem` (both).
pub fn file_names(stem: &Path) -> [PathBuf; 3] {
    let with = |ext: &str| {
        let mut s = stem.as_os_str().to_os_string();
        s.push(ext);
        PathBuf::from(s)
    };
    [with(".key"), with(".crt"), with(".pem")]
}

/// The common name `gen` gives a key made for `stem`: its file name.
pub fn stem_name(stem: &Path) -> String {
    stem.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "moxide".to_string())
}

/// Writes the files of [`file_names`], readable by the owner only (they
/// hold the private key), fsynced. Existing files are never overwritten:
/// the first that exists is an error and nothing is written.
pub fn write_files(stem: &Path, key: &GeneratedKey) -> Result<[PathBuf; 3], KeygenError> {
    let names = file_names(stem);
    if let Some(p) = names.iter().find(|p| p.exists()) {
        return Err(KeygenError::Write {
            path: p.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists already; choose another stem or remove it",
            ),
        });
    }
    let [k, c, p] = &names;
    let both = format!("{}{}", key.key_pem, key.cert_pem);
    for (path, data) in [(k, &key.key_pem), (c, &key.cert_pem), (p, &both)] {
        write_new_private(path, data.as_bytes()).map_err(|source| KeygenError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(names)
}

/// Creates `path` (failing when it exists) with mode 0600 and `data`.
fn write_new_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use moxide_proto::tls_key::{KeyType, parse_certificate, parse_pem};

    /// RFC 8032 7.1 TEST 1: secret key and public key.
    const SEED: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];
    const PUBLIC: [u8; 32] = [
        0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07,
        0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07,
        0x51, 0x1a,
    ];

    #[test]
    fn seed_gives_the_rfc_8032_public_key_and_a_certificate_naming_it() {
        let g = from_seed(&SEED, "laptop").unwrap();
        // SPKI = 302a300506032b6570032100 || public key (RFC 8410 4).
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend_from_slice(&PUBLIC);
        assert_eq!(g.fingerprint, spki_fingerprint(&spki));
        let k = parse_certificate(&g.cert_der).unwrap();
        assert_eq!(k.key_type, KeyType::Ed25519);
        assert_eq!(k.default_name, "laptop");
        assert_eq!(k.spki_der, spki);
        assert_eq!(k.fingerprint, g.fingerprint);
        assert_eq!(parse_pem(g.cert_pem.as_bytes()).unwrap(), g.cert_der);
        assert_eq!(g.seed, "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
        assert_eq!(&g.key_der[..16], &PKCS8_ED25519_PREFIX);
        // The PEM holds exactly the PKCS#8 DER.
        let body: String = g
            .key_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        assert!(g.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(g.key_pem.trim_end().ends_with("-----END PRIVATE KEY-----"));
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(body.trim())
                .unwrap(),
            g.key_der
        );
        // The same seed gives the same certificate (the serial is derived
        // from the key, the validity is fixed).
        assert_eq!(from_seed(&SEED, "laptop").unwrap(), g);
    }

    #[test]
    fn seed_text_round_trips_and_bad_seeds_are_named() {
        let g = from_seed(&SEED, "x").unwrap();
        assert_eq!(from_seed_text(&format!(" {}=\n", g.seed), "x").unwrap(), g);
        assert_eq!(
            from_seed_text("AAAA", "x").unwrap_err().to_string(),
            "ed25519 private key seed: 3 bytes (want 32 bytes in base64url, as printed by `moxide config tlspubkey gen`)"
        );
        assert!(
            from_seed_text("a+b/", "x")
                .unwrap_err()
                .to_string()
                .starts_with("ed25519 private key seed: Invalid symbol 43"),
        );
    }

    #[test]
    fn files_are_written_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let stem = dir.path().join("phone");
        assert_eq!(stem_name(&stem), "phone");
        let g = from_seed(&SEED, &stem_name(&stem)).unwrap();
        let names = write_files(&stem, &g).unwrap();
        assert_eq!(
            names,
            [
                dir.path().join("phone.key"),
                dir.path().join("phone.crt"),
                dir.path().join("phone.pem")
            ]
        );
        assert_eq!(std::fs::read_to_string(&names[0]).unwrap(), g.key_pem);
        assert_eq!(std::fs::read_to_string(&names[1]).unwrap(), g.cert_pem);
        assert_eq!(
            std::fs::read_to_string(&names[2]).unwrap(),
            format!("{}{}", g.key_pem, g.cert_pem)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&names[0]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_file(&names[0]).unwrap();
        let err = write_files(&stem, &g).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: exists already; choose another stem or remove it",
                names[1].display()
            )
        );
        assert!(!names[0].exists(), "nothing is written when one exists");
    }
}
