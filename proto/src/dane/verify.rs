//! A rustls certificate verifier for DANE (RFC 7672 3.1, RFC 7671 5):
//! DANE-EE(3) records match the server's own certificate with no name,
//! expiry or chain checks; DANE-TA(2) records match a certificate of the
//! presented chain, which then is the only trust anchor the server's
//! certificate is validated against (expiry checked) and the certificate
//! must be valid for one of the reference names (RFC 7672 3.2.2).
//! Handshake signatures are verified with the crypto provider, so the
//! server proves it holds the key.
//!
//! The verifier remembers its verdict, [`DaneVerifier::verification`], for
//! logs and TLS reports (RFC 8460 4.3 result types).

use std::fmt;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::lookup::DanePolicy;
use super::tlsa::{TlsaRecord, USAGE_DANE_EE, USAGE_DANE_TA};

/// RFC 8460 4.3 result types a DANE failure is reported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No TLSA record matched the presented certificates (RFC 8460 4.3.2
    /// "tlsa-invalid").
    TlsaInvalid,
    /// A DANE-TA chain validated but the certificate is not valid for any
    /// reference name.
    CertificateHostMismatch,
    /// A DANE-TA chain whose certificate (or CA) is outside its validity.
    CertificateExpired,
    /// A DANE-TA record matched but the chain does not lead to it.
    CertificateNotTrusted,
    /// Anything else: unparsable certificates, bad handshake signatures.
    ValidationFailure,
    /// DANE was required but there were no DNSSEC-secure TLSA records (for
    /// callers that report lookups; the verifier itself never gives it).
    DaneRequired,
}

impl FailureKind {
    /// The RFC 8460 `result-type` string.
    pub fn result_type(self) -> &'static str {
        match self {
            FailureKind::TlsaInvalid => "tlsa-invalid",
            FailureKind::CertificateHostMismatch => "certificate-host-mismatch",
            FailureKind::CertificateExpired => "certificate-expired",
            FailureKind::CertificateNotTrusted => "certificate-not-trusted",
            FailureKind::ValidationFailure => "validation-failure",
            FailureKind::DaneRequired => "dane-required",
        }
    }
}

/// Why DANE verification failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaneFailure {
    pub kind: FailureKind,
    /// For an admin: what was compared and what did not fit.
    pub detail: String,
}

impl fmt::Display for DaneFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.result_type(), self.detail)
    }
}

/// The verifier's verdict on the certificates of one handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaneVerification {
    /// `record` matched the certificate at `depth` of the presented chain
    /// (0: the server's own). For DANE-TA, `name` is the reference name
    /// the certificate was valid for.
    Verified {
        record: TlsaRecord,
        depth: usize,
        name: Option<String>,
    },
    Failed(DaneFailure),
}

/// A [`ServerCertVerifier`] that authenticates a server by its TLSA records.
/// Use one verifier per connection and read
/// [`verification`](DaneVerifier::verification) after the handshake.
#[derive(Debug)]
pub struct DaneVerifier {
    records: Vec<TlsaRecord>,
    reference_names: Vec<String>,
    provider: Arc<CryptoProvider>,
    verdict: Mutex<Option<DaneVerification>>,
}

impl DaneVerifier {
    /// A verifier for the usable records and reference names of `policy`,
    /// checking signatures with `provider` (the ring provider).
    pub fn new(policy: &DanePolicy, provider: Arc<CryptoProvider>) -> DaneVerifier {
        DaneVerifier {
            records: policy.records.clone(),
            reference_names: policy.reference_names.clone(),
            provider,
            verdict: Mutex::new(None),
        }
    }

    /// The verdict of the last certificate check or handshake-signature
    /// failure; `None` before the server's certificate arrived.
    pub fn verification(&self) -> Option<DaneVerification> {
        match self.verdict.lock() {
            Ok(v) => v.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set(&self, v: DaneVerification) {
        match self.verdict.lock() {
            Ok(mut g) => *g = Some(v),
            Err(poisoned) => *poisoned.into_inner() = Some(v),
        }
    }

    fn fail(&self, kind: FailureKind, detail: String) -> rustls::Error {
        let cert_error = match kind {
            FailureKind::CertificateHostMismatch => CertificateError::NotValidForName,
            FailureKind::CertificateExpired => CertificateError::Expired,
            FailureKind::CertificateNotTrusted | FailureKind::TlsaInvalid => {
                CertificateError::UnknownIssuer
            }
            _ => CertificateError::BadEncoding,
        };
        self.set(DaneVerification::Failed(DaneFailure { kind, detail }));
        rustls::Error::InvalidCertificate(cert_error)
    }

    /// The checks, without recording: `Ok(verdict)` or `Err((kind, detail))`.
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<DaneVerification, (FailureKind, String)> {
        let leaf = webpki::EndEntityCert::try_from(end_entity).map_err(|e| {
            (
                FailureKind::ValidationFailure,
                format!("the server's certificate cannot be parsed: {e}"),
            )
        })?;
        let leaf_spki = leaf.subject_public_key_info();
        // RFC 7672 3.1.1: DANE-EE matches the leaf alone.
        for r in self.records.iter().filter(|r| r.usage == USAGE_DANE_EE) {
            if r.matches(end_entity.as_ref(), leaf_spki.as_ref()) {
                return Ok(DaneVerification::Verified {
                    record: r.clone(),
                    depth: 0,
                    name: None,
                });
            }
        }
        // RFC 7672 3.1.2: DANE-TA matches a certificate of the chain, which
        // becomes the trust anchor.
        let mut chain_error = None;
        for (i, cert) in intermediates.iter().enumerate() {
            let Ok(parsed) = webpki::EndEntityCert::try_from(cert) else {
                continue;
            };
            let spki = parsed.subject_public_key_info();
            let Some(record) = self
                .records
                .iter()
                .filter(|r| r.usage == USAGE_DANE_TA)
                .find(|r| r.matches(cert.as_ref(), spki.as_ref()))
            else {
                continue;
            };
            let anchor = match webpki::anchor_from_trusted_cert(cert) {
                Ok(a) => a,
                Err(e) => {
                    chain_error = Some((
                        FailureKind::ValidationFailure,
                        format!(
                            "certificate {} matched {record} but is unusable as trust anchor: {e}",
                            i + 1
                        ),
                    ));
                    continue;
                }
            };
            let anchors = [anchor];
            let verified = leaf.verify_for_usage(
                self.provider.signature_verification_algorithms.all,
                &anchors,
                intermediates,
                now,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            );
            if let Err(e) = verified {
                let kind = match e {
                    webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
                        FailureKind::CertificateExpired
                    }
                    _ => FailureKind::CertificateNotTrusted,
                };
                chain_error = Some((
                    kind,
                    format!(
                        "certificate {} matched {record} but the server's certificate does not validate up to it: {e:?}",
                        i + 1
                    ),
                ));
                continue;
            }
            // RFC 7672 3.2.2: the reference names.
            for name in &self.reference_names {
                let Ok(sn) = ServerName::try_from(name.as_str()) else {
                    continue;
                };
                if leaf.verify_is_valid_for_subject_name(&sn).is_ok() {
                    return Ok(DaneVerification::Verified {
                        record: record.clone(),
                        depth: i + 1,
                        name: Some(name.clone()),
                    });
                }
            }
            return Err((
                FailureKind::CertificateHostMismatch,
                format!(
                    "certificate {} matched {record} and the chain validates, but the server's certificate is not valid for {}",
                    i + 1,
                    self.reference_names.join(" or ")
                ),
            ));
        }
        if let Some(e) = chain_error {
            return Err(e);
        }
        Err((
            FailureKind::TlsaInvalid,
            format!(
                "none of the {} usable TLSA records matches the {} presented certificate(s)",
                self.records.len(),
                intermediates.len() + 1
            ),
        ))
    }
}

impl ServerCertVerifier for DaneVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.check(end_entity, intermediates, now) {
            Ok(v) => {
                self.set(v);
                Ok(ServerCertVerified::assertion())
            }
            Err((kind, detail)) => Err(self.fail(kind, detail)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
        .map_err(|e| self.signature_failed(e))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
        .map_err(|e| self.signature_failed(e))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        None
    }
}

impl DaneVerifier {
    fn signature_failed(&self, e: rustls::Error) -> rustls::Error {
        self.set(DaneVerification::Failed(DaneFailure {
            kind: FailureKind::ValidationFailure,
            detail: format!("the server's handshake signature does not verify: {e}"),
        }));
        e
    }
}

/// Whether a record set has a DANE-TA record (callers use the TLSA base
/// domain as SNI then, RFC 7672 8.1).
pub fn has_trust_anchor_record(records: &[TlsaRecord]) -> bool {
    records.iter().any(|r| r.usage == USAGE_DANE_TA)
}
