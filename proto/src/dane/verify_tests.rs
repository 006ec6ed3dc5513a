//! DANE verification through real rustls handshakes in memory: an rcgen
//! server certificate (self-signed for DANE-EE, or issued by a CA for
//! DANE-TA), a rustls server and a rustls client with the [`DaneVerifier`]
//! exchanging bytes in-process.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PublicKeyData, date_time_ymd,
};
use rustls::crypto::CryptoProvider;
use rustls::server::ClientHello;
use rustls::server::ResolvesServerCert;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

use super::*;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate and its key.
struct Cert {
    der: CertificateDer<'static>,
    key: KeyPair,
    params: CertificateParams,
}

impl Cert {
    fn spki(&self) -> Vec<u8> {
        self.key.subject_public_key_info()
    }
    fn record(&self, usage: u8, selector: u8, matching: u8) -> TlsaRecord {
        TlsaRecord::for_certificate(usage, selector, matching, &self.der, &self.spki())
    }
    fn private(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()))
    }
}

fn params(names: &[&str], expired: bool) -> CertificateParams {
    let mut p =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, names.first().copied().unwrap_or("ca"));
    if expired {
        p.not_before = date_time_ymd(2000, 1, 1);
        p.not_after = date_time_ymd(2001, 1, 1);
    }
    p
}

fn self_signed(names: &[&str], expired: bool) -> Cert {
    let key = KeyPair::generate().unwrap();
    let params = params(names, expired);
    let der = params.self_signed(&key).unwrap().der().clone();
    Cert { der, key, params }
}

fn ca(expired: bool) -> Cert {
    let key = KeyPair::generate().unwrap();
    let mut params = params(&[], expired);
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "Test DANE TA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let der = params.self_signed(&key).unwrap().der().clone();
    Cert { der, key, params }
}

fn issued(names: &[&str], by: &Cert, expired: bool) -> Cert {
    let key = KeyPair::generate().unwrap();
    let params = params(names, expired);
    let issuer = Issuer::from_params(&by.params, &by.key);
    let der = params.signed_by(&key, &issuer).unwrap().der().clone();
    Cert { der, key, params }
}

fn policy(records: Vec<TlsaRecord>) -> DanePolicy {
    DanePolicy {
        records,
        unusable: vec![],
        base_domain: "mx.example.com".into(),
        reference_names: vec!["mx.example.com".into(), "mx.example.org".into()],
    }
}

/// Serves `chain` (signing with `key`) and connects with a DANE verifier
/// for `records`; returns the client's handshake error, if any, and the
/// verifier's verdict.
fn handshake(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    records: Vec<TlsaRecord>,
    tls12: bool,
) -> (Result<(), rustls::Error>, Option<DaneVerification>) {
    let p = provider();
    let signing_key = p.key_provider.load_private_key(key).unwrap();
    let certified = Arc::new(CertifiedKey::new(chain, signing_key));
    serve(certified, records, tls12)
}

#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

fn serve(
    certified: Arc<CertifiedKey>,
    records: Vec<TlsaRecord>,
    tls12: bool,
) -> (Result<(), rustls::Error>, Option<DaneVerification>) {
    let p = provider();
    let versions: &[&rustls::SupportedProtocolVersion] = if tls12 {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let server_cfg = ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(certified)));
    let verifier = Arc::new(DaneVerifier::new(&policy(records), p.clone()));
    let client_cfg = ClientConfig::builder_with_provider(p)
        .with_protocol_versions(versions)
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let name = ServerName::try_from("mx.example.com").unwrap();
    let mut client = ClientConnection::new(Arc::new(client_cfg), name).unwrap();
    let mut server = ServerConnection::new(Arc::new(server_cfg)).unwrap();
    let result = (|| {
        for _ in 0..20 {
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).unwrap();
            }
            let mut rd = buf.as_slice();
            while !rd.is_empty() {
                server.read_tls(&mut rd).unwrap();
            }
            // A server error (the client's alert) is not what is tested.
            if server.process_new_packets().is_err() {
                break;
            }
            let mut buf = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut buf).unwrap();
            }
            let mut rd = buf.as_slice();
            while !rd.is_empty() {
                client.read_tls(&mut rd).unwrap();
            }
            client.process_new_packets()?;
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
        }
        panic!("handshake did not finish")
    })();
    (result, verifier.verification())
}

fn verified(
    r: (Result<(), rustls::Error>, Option<DaneVerification>),
) -> (TlsaRecord, usize, Option<String>) {
    match r {
        (
            Ok(()),
            Some(DaneVerification::Verified {
                record,
                depth,
                name,
            }),
        ) => (record, depth, name),
        other => panic!("not verified: {other:?}"),
    }
}

fn failed(r: (Result<(), rustls::Error>, Option<DaneVerification>)) -> DaneFailure {
    match r {
        (Err(_), Some(DaneVerification::Failed(f))) => f,
        other => panic!("not failed: {other:?}"),
    }
}

#[test]
fn dane_ee_matches_leaf_without_name_or_expiry_checks() {
    // Wrong name, expired, self-signed: DANE-EE does not care.
    let leaf = self_signed(&["other.example"], true);
    for (sel, mt) in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)] {
        let rec = leaf.record(3, sel, mt);
        for tls12 in [false, true] {
            let (record, depth, name) = verified(handshake(
                vec![leaf.der.clone()],
                leaf.private(),
                vec![rec.clone()],
                tls12,
            ));
            assert_eq!((record, depth, name), (rec.clone(), 0, None));
        }
    }
}

#[test]
fn non_matching_hash_is_tlsa_invalid() {
    let leaf = self_signed(&["mx.example.com"], false);
    let mut rec = leaf.record(3, 1, 1);
    rec.data[0] ^= 1;
    let other = self_signed(&["mx.example.com"], false).record(3, 1, 2);
    let f = failed(handshake(
        vec![leaf.der.clone()],
        leaf.private(),
        vec![rec, other],
        false,
    ));
    assert_eq!(f.kind, FailureKind::TlsaInvalid);
    assert_eq!(f.kind.result_type(), "tlsa-invalid");
    assert_eq!(
        f.detail,
        "none of the 2 usable TLSA records matches the 1 presented certificate(s)"
    );
    // A DANE-TA record does not match the leaf itself.
    let f = failed(handshake(
        vec![leaf.der.clone()],
        leaf.private(),
        vec![leaf.record(2, 1, 1)],
        false,
    ));
    assert_eq!(f.kind, FailureKind::TlsaInvalid);
}

#[test]
fn dane_ta_chain_with_name() {
    let ta = ca(false);
    let leaf = issued(&["mx.example.org"], &ta, false);
    for (sel, mt) in [(0, 1), (1, 1), (1, 2), (0, 0)] {
        let rec = ta.record(2, sel, mt);
        let (record, depth, name) = verified(handshake(
            vec![leaf.der.clone(), ta.der.clone()],
            leaf.private(),
            vec![rec.clone()],
            false,
        ));
        assert_eq!(record, rec);
        assert_eq!(depth, 1);
        assert_eq!(name.as_deref(), Some("mx.example.org"));
    }
    // Wildcard names count (RFC 7672 3.2.3).
    let wild = issued(&["*.example.com"], &ta, false);
    let (_, _, name) = verified(handshake(
        vec![wild.der.clone(), ta.der.clone()],
        wild.private(),
        vec![ta.record(2, 1, 1)],
        true,
    ));
    assert_eq!(name.as_deref(), Some("mx.example.com"));
}

#[test]
fn dane_ta_wrong_name_is_host_mismatch() {
    let ta = ca(false);
    let leaf = issued(&["mail.elsewhere.example"], &ta, false);
    let f = failed(handshake(
        vec![leaf.der.clone(), ta.der.clone()],
        leaf.private(),
        vec![ta.record(2, 1, 1)],
        false,
    ));
    assert_eq!(f.kind, FailureKind::CertificateHostMismatch);
    assert_eq!(f.kind.result_type(), "certificate-host-mismatch");
    assert!(
        f.detail
            .ends_with("is not valid for mx.example.com or mx.example.org"),
        "{}",
        f.detail
    );
}

#[test]
fn dane_ta_expired_chain() {
    let ta = ca(false);
    let leaf = issued(&["mx.example.com"], &ta, true);
    let f = failed(handshake(
        vec![leaf.der.clone(), ta.der.clone()],
        leaf.private(),
        vec![ta.record(2, 1, 1)],
        false,
    ));
    assert_eq!(f.kind, FailureKind::CertificateExpired);
    // The same expired certificate under a DANE-EE record is fine.
    let rec = leaf.record(3, 1, 1);
    let (record, _, _) = verified(handshake(
        vec![leaf.der.clone(), ta.der.clone()],
        leaf.private(),
        vec![ta.record(2, 1, 1), rec.clone()],
        false,
    ));
    assert_eq!(record, rec);
}

#[test]
fn dane_ta_not_issuer_is_not_trusted() {
    // The server presents a TA it was not issued by.
    let ta = ca(false);
    let real = ca(false);
    let leaf = issued(&["mx.example.com"], &real, false);
    let f = failed(handshake(
        vec![leaf.der.clone(), ta.der.clone()],
        leaf.private(),
        vec![ta.record(2, 0, 1)],
        false,
    ));
    assert_eq!(f.kind, FailureKind::CertificateNotTrusted);
    assert!(
        f.detail.starts_with("certificate 1 matched 2 0 1 "),
        "{}",
        f.detail
    );
}

#[test]
fn key_possession_is_proven() {
    // The server presents a matching certificate but holds another key.
    let leaf = self_signed(&["mx.example.com"], false);
    let thief = self_signed(&["mx.example.com"], false);
    for tls12 in [false, true] {
        let (res, v) = handshake(
            vec![leaf.der.clone()],
            thief.private(),
            vec![leaf.record(3, 1, 1)],
            tls12,
        );
        assert!(res.is_err(), "tls12={tls12}");
        match v {
            Some(DaneVerification::Failed(f)) => {
                assert_eq!(f.kind, FailureKind::ValidationFailure);
                assert!(
                    f.detail
                        .starts_with("the server's handshake signature does not verify")
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
