//! TLS for the listeners: a self-signed certificate created once and kept in
//! the data directory, the rustls server configuration (ring provider, as
//! every TLS use in moxide), the optional client certificate that logs a
//! client in by its public key, and the channel binding of an established
//! session for SCRAM -PLUS.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::server::ServerConnection;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};

/// Names the self-signed certificate is valid for.
const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A TLS set-up failure, naming the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a certificate or key file failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// A PEM file holds nothing usable.
    #[error("{}: {detail} (remove the certificate and key files to have new ones made)", path.display())]
    Pem { path: PathBuf, detail: String },
    /// Generating the self-signed certificate failed.
    #[error("generating a self-signed certificate: {0}")]
    Generate(rcgen::Error),
    /// rustls refused the certificate and key.
    #[error("certificate and key not accepted: {0}")]
    Config(rustls::Error),
}

/// Where the certificate and key of a directory live.
pub fn cert_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// Loads the certificate and key in `dir` (`cert.pem`, `key.pem`), creating
/// a self-signed pair for localhost, 127.0.0.1 and ::1 first if either is
/// missing. Returns whether a new pair was made.
pub fn load_or_create_self_signed(dir: &Path) -> Result<(Arc<ServerConfig>, bool), TlsError> {
    let (cert_path, key_path) = cert_paths(dir);
    let created = !(cert_path.exists() && key_path.exists());
    if created {
        create_self_signed(dir, &cert_path, &key_path)?;
    }
    Ok((load(&cert_path, &key_path)?, created))
}

fn create_self_signed(dir: &Path, cert_path: &Path, key_path: &Path) -> Result<(), TlsError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TlsError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|s| s.to_string()).collect();
    let ck = rcgen::generate_simple_self_signed(names).map_err(TlsError::Generate)?;
    // The key first: a certificate without its key is useless, and the
    // next start makes a new pair when either is missing.
    write_private(key_path, ck.signing_key.serialize_pem().as_bytes()).map_err(io_err(key_path))?;
    std::fs::write(cert_path, ck.cert.pem()).map_err(io_err(cert_path))?;
    Ok(())
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// The server configuration for a PEM certificate chain and private key.
pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Pem {
            path: cert_path.to_path_buf(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: cert_path.to_path_buf(),
            detail: "no certificate in the file".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| TlsError::Pem {
        path: key_path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_client_cert_verifier(Arc::new(AnyClientCert::new(&provider)))
        .with_single_cert(certs, key)
        .map_err(TlsError::Config)?;
    Ok(Arc::new(cfg))
}

/// The `tls-exporter` channel binding of an established session (RFC 9266:
/// 32 bytes exported with the label "EXPORTER-Channel-Binding" and no
/// context), used by SCRAM -PLUS. `None` when the session cannot export
/// keying material securely (TLS 1.2 without extended master secret).
pub fn tls_exporter(conn: &ServerConnection) -> Option<Vec<u8>> {
    conn.export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
        .ok()
        .map(|b| b.to_vec())
}

/// Asks every client for a certificate, optionally, and accepts any: only
/// its public key matters (it names an account when registered with
/// `moxide config tlspubkey add`), so there is no CA, expiry, name or
/// constraint check, and a client without a certificate, or with one that
/// names no account, goes on unauthenticated. The handshake signature is
/// verified, proving the client holds the private key, for every
/// certificate whose key [`client_key_of`] would return; a certificate it
/// cannot read is ignored entirely, so it cannot fail the handshake.
#[derive(Debug)]
pub struct AnyClientCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl AnyClientCert {
    /// The verifier, checking signatures with `provider`'s algorithms.
    pub fn new(provider: &rustls::crypto::CryptoProvider) -> AnyClientCert {
        AnyClientCert {
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if client_key_of(cert).is_none() {
            return Ok(HandshakeSignatureValid::assertion());
        }
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if client_key_of(cert).is_none() {
            return Ok(HandshakeSignatureValid::assertion());
        }
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The fingerprint (SHA-256 of the SubjectPublicKeyInfo, base64url without
/// padding) of a client certificate's key; `None` when the certificate
/// cannot be read or its key is of a kind no account can register.
pub fn client_key_of(cert: &CertificateDer<'_>) -> Option<String> {
    moxide_proto::tls_key::parse_certificate(cert.as_ref())
        .ok()
        .map(|k| k.fingerprint)
}

/// The key fingerprint of the client certificate of an established
/// session, also of a resumed one (rustls keeps the certificates with the
/// session); the caller looks the key up again for every connection.
pub fn client_key(conn: &ServerConnection) -> Option<String> {
    client_key_of(conn.peer_certificates()?.first()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let (_, created) = load_or_create_self_signed(dir.path()).unwrap();
        assert!(created);
        let (cert, key) = cert_paths(dir.path());
        let before = (std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap());
        let (_, created) = load_or_create_self_signed(dir.path()).unwrap();
        assert!(!created);
        let after = (std::fs::read(&cert).unwrap(), std::fs::read(&key).unwrap());
        assert_eq!(before, after);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn garbage_certificate_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = cert_paths(dir.path());
        std::fs::write(&cert, "not a certificate").unwrap();
        std::fs::write(&key, "not a key").unwrap();
        let err = load_or_create_self_signed(dir.path())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&cert.display().to_string()), "{err}");
    }
}
