//! TLS as client for outbound SMTP, shared by both runtimes: the rustls
//! configuration for a connection's [`Verify`] policy (ring provider, as
//! every TLS use in moxide), the facts of an established session
//! ([`TlsInfo`]) and handshake errors mapped to RFC 8460 result types
//! ([`TlsFailure`]).

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::sync::Arc;

use moxide_proto::conn::{TlsFailure, TlsInfo};
use moxide_proto::dane::{DaneVerification, DaneVerifier};
use moxide_proto::secret::Secret;
use moxide_proto::smtp::client::Verify;
pub use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// The roots PKIX verification trusts by default: Mozilla's set as
/// compiled into `webpki-roots` (no dependence on the host's CA files).
pub fn default_roots() -> Arc<RootCertStore> {
    Arc::new(RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    })
}

/// The trust anchors of outbound PKIX verification (SMTP to MTA-STS
/// hosts, REQUIRETLS; MTA-STS policy fetches over HTTPS): the Mozilla set
/// of `webpki-roots` plus extra CA certificates the admin (or a test)
/// adds, e.g. a private CA. Cheap to clone.
#[derive(Clone)]
pub struct TlsClientRoots {
    roots: Arc<RootCertStore>,
    extra: Arc<[CertificateDer<'static>]>,
}

impl fmt::Debug for TlsClientRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientRoots")
            .field("roots", &self.roots.len())
            .field("extra", &self.extra.len())
            .finish()
    }
}

impl Default for TlsClientRoots {
    fn default() -> TlsClientRoots {
        TlsClientRoots::webpki()
    }
}

impl TlsClientRoots {
    /// The `webpki-roots` set only.
    pub fn webpki() -> TlsClientRoots {
        TlsClientRoots {
            roots: default_roots(),
            extra: Arc::from(Vec::new()),
        }
    }

    /// The `webpki-roots` set and `extra`; an error names the first
    /// certificate that cannot be a trust anchor.
    pub fn with_extra(extra: Vec<CertificateDer<'static>>) -> Result<TlsClientRoots, String> {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for (i, c) in extra.iter().enumerate() {
            roots
                .add(c.clone())
                .map_err(|e| format!("CA certificate {}: not usable as a root: {e}", i + 1))?;
        }
        Ok(TlsClientRoots {
            roots: Arc::new(roots),
            extra: Arc::from(extra),
        })
    }

    /// The `webpki-roots` set and the certificates of a PEM text (one or
    /// more `BEGIN CERTIFICATE` blocks); an error says what is wrong.
    pub fn with_extra_pem(pem: &[u8]) -> Result<TlsClientRoots, String> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not PEM certificates: {e}"))?;
        if certs.is_empty() {
            return Err("no \"BEGIN CERTIFICATE\" block found".to_string());
        }
        TlsClientRoots::with_extra(certs)
    }

    /// All roots, for [`ClientTls::new`] and the dialers.
    pub fn roots(&self) -> &Arc<RootCertStore> {
        &self.roots
    }

    /// The certificates added to the `webpki-roots` set.
    pub fn extra(&self) -> &[CertificateDer<'static>] {
        &self.extra
    }
}

/// What a handshake needs: the rustls configuration, the name to send as
/// SNI (an IP address sends none), and for DANE the verifier whose verdict
/// explains a failure.
pub struct ClientTls {
    pub config: Arc<ClientConfig>,
    pub server_name: ServerName<'static>,
    dane: Option<Arc<DaneVerifier>>,
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("server_name", &self.server_name)
            .field("dane", &self.dane.is_some())
            .finish_non_exhaustive()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn failure(result_type: &str, detail: impl Into<String>) -> TlsFailure {
    TlsFailure {
        result_type: result_type.to_string(),
        detail: detail.into(),
    }
}

impl ClientTls {
    /// The configuration for `verify`; `peer` is the server's address (the
    /// SNI for [`Verify::Any`], which has no name). PKIX uses `roots`.
    pub fn new(
        verify: &Verify,
        peer: IpAddr,
        roots: &Arc<RootCertStore>,
    ) -> Result<ClientTls, TlsFailure> {
        let provider = provider();
        let name = |s: &str| {
            ServerName::try_from(s.to_string())
                .map_err(|e| failure("validation-failure", format!("server name {s:?}: {e}")))
        };
        let (verifier, server_name, dane): (Arc<dyn ServerCertVerifier>, _, _) = match verify {
            Verify::Any => (
                Arc::new(AnyServerCert {
                    algorithms: provider.signature_verification_algorithms,
                }) as Arc<dyn ServerCertVerifier>,
                ServerName::IpAddress(peer.into()),
                None,
            ),
            Verify::Pkix { server_name } => {
                let v =
                    WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
                        .build()
                        .map_err(|e| failure("validation-failure", format!("PKIX set-up: {e}")))?;
                (v as Arc<dyn ServerCertVerifier>, name(server_name)?, None)
            }
            Verify::Dane {
                policy,
                server_name,
            } => {
                let v = Arc::new(DaneVerifier::new(policy, provider.clone()));
                (
                    v.clone() as Arc<dyn ServerCertVerifier>,
                    name(server_name)?,
                    Some(v),
                )
            }
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| failure("validation-failure", format!("TLS set-up: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(ClientTls {
            config: Arc::new(config),
            server_name,
            dane,
        })
    }

    /// The RFC 8460 failure for a handshake that ended with `err`.
    pub fn failure(&self, err: &io::Error) -> TlsFailure {
        if let Some(Some(DaneVerification::Failed(f))) =
            self.dane.as_ref().map(|d| d.verification())
        {
            return failure(f.kind.result_type(), f.detail);
        }
        let rustls_err = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>());
        match rustls_err {
            Some(rustls::Error::InvalidCertificate(c)) => {
                let kind = match c {
                    CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                        "certificate-not-trusted"
                    }
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. } => {
                        "certificate-host-mismatch"
                    }
                    CertificateError::Expired
                    | CertificateError::ExpiredContext { .. }
                    | CertificateError::NotValidYet
                    | CertificateError::NotValidYetContext { .. } => "certificate-expired",
                    _ => "validation-failure",
                };
                failure(kind, format!("{err}"))
            }
            _ => failure("validation-failure", format!("TLS handshake: {err}")),
        }
    }
}

/// The facts of an established session: version, cipher suite and the
/// `tls-exporter` channel binding (RFC 9266; `None` when the session
/// cannot export keying material securely).
pub fn tls_info(conn: &rustls::ClientConnection) -> TlsInfo {
    let protocol = conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()))
        .unwrap_or_default();
    let exporter = conn
        .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
        .ok()
        .map(|b| Secret::new(b.to_vec()));
    TlsInfo {
        protocol,
        cipher,
        exporter,
    }
}

/// Accepts any certificate (opportunistic TLS, RFC 7435) but verifies the
/// handshake signature, so the server holds the certificate's key.
#[derive(Debug)]
struct AnyServerCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_roots_from_pem() {
        let base = TlsClientRoots::webpki().roots().len();
        assert_eq!(base, webpki_roots::TLS_SERVER_ROOTS.len());
        let ca = rcgen::generate_simple_self_signed(vec!["ca.test".to_string()]).unwrap();
        let pem = ca.cert.pem();
        let r = TlsClientRoots::with_extra_pem(pem.as_bytes()).unwrap();
        assert_eq!(r.roots().len(), base + 1);
        assert_eq!(r.extra(), &[ca.cert.der().clone()]);
        assert_eq!(
            TlsClientRoots::with_extra_pem(b"not a certificate").unwrap_err(),
            "no \"BEGIN CERTIFICATE\" block found"
        );
    }
}
