// MTA-STS through the queue runner, shared by both runtimes' tests after
// cases/queue_runner.rs (its zone, queue and helpers): the policy is
// fetched over HTTPS from 127.0.0.1 (on the test port of
// `RunnerConfig::mtasts_port`, as RFC 8461 3.3 fixes 443) with a
// certificate from a test CA, and says mode enforce with MX localhost, a
// localserve. The runner's TlsClientRoots carry the test CA (HTTPS) and,
// in the first case, localserve's self-signed certificate (SMTP PKIX).

use moxide::tls_client::TlsClientRoots;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::https_server::{TestCa, response, serve};

const POLICY: &str = "version: STSv1\r\nmode: enforce\r\nmx: localhost\r\nmax_age: 86400\r\n";

/// The policy server on 127.0.0.1, once per test process: its port and
/// its CA.
fn policy_server() -> &'static (u16, CertificateDer<'static>) {
    static CELL: OnceLock<(u16, CertificateDer<'static>)> = OnceLock::new();
    CELL.get_or_init(|| {
        let ca = TestCa::new("queue runner test CA");
        let body = response(
            "200 OK",
            &[("Content-Type", "text/plain")],
            POLICY.as_bytes(),
        );
        let server = serve(
            ca.server_config(&["mta-sts.sts.test"]),
            body,
            Duration::ZERO,
        );
        (server.port, ca.der.clone())
    })
}

/// The TLS results stored for `sts.test`: (success, failure, result
/// types of the failures).
fn sts_results(q: &Queue) -> (u64, u64, Vec<String>) {
    let all = q.store().tls_results_list(None).unwrap();
    let day: Vec<_> = all
        .iter()
        .filter(|d| d.policy_domain == "sts.test" && !d.is_host)
        .collect();
    assert_eq!(day.len(), 1, "{all:#?}");
    assert_eq!(day[0].policies.len(), 1, "{all:#?}");
    let p = &day[0].policies[0];
    let kinds = p.failures.iter().map(|f| f.result_type.clone()).collect();
    (p.success, p.failure, kinds)
}

fn localserve_cert(dir: &Path) -> CertificateDer<'static> {
    CertificateDer::pem_file_iter(dir.join("tls/cert.pem"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
}

#[test]
fn mtasts_enforce_policy_fetched_and_delivered_with_pkix() {
    if !dns() {
        return;
    }
    let (port, ca) = policy_server();
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let (_qdir, q) = queue();
    let mut cfg = config(server.smtp);
    cfg.mtasts_port = Some(*port);
    cfg.tls = TlsClientRoots::with_extra(vec![ca.clone(), localserve_cert(dir.path())]).unwrap();
    let runner = start_runner(q.clone(), cfg);
    let t0 = add(&q, "carol@sts.test", None);
    wait_for(&q, "delivery", |es| es.is_empty());
    runner.stop();

    let mailbox = imaps_inbox(dir.path(), imaps);
    assert!(
        mailbox.contains(&format!("{PREFIX}{MSG}")),
        "not delivered as sent:\n{mailbox}"
    );
    // The policy is cached as fetched.
    let cached = q.store().mtasts_policy_get("sts.test").unwrap().unwrap();
    assert_eq!(cached.record_id, "20261130T1");
    assert_eq!(cached.policy_text, POLICY);
    assert!(cached.fetched_unix >= t0 && cached.fetched_unix <= unix_now());
    // One successful session under the sts policy.
    assert_eq!(sts_results(&q), (1, 0, vec![]));
    drop(server);
}

#[test]
fn mtasts_enforce_with_an_untrusted_smtp_certificate_sends_nothing() {
    if !dns() {
        return;
    }
    let (port, ca) = policy_server();
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let (_qdir, q) = queue();
    let mut cfg = config(server.smtp);
    cfg.mtasts_port = Some(*port);
    // The CA of the policy host only: localserve's certificate is not
    // trusted.
    cfg.tls = TlsClientRoots::with_extra(vec![ca.clone()]).unwrap();
    let runner = start_runner(q.clone(), cfg);
    add(&q, "dave@sts.test", None);
    let es = wait_for(&q, "booked failure", |es| {
        es.first().is_some_and(|e| e.last_error.is_some())
    });
    runner.stop();

    let e = &es[0];
    assert_eq!(e.attempts, 1);
    assert_eq!(e.recipients[0].state, RcptState::Pending);
    assert_eq!(
        e.last_error.as_deref(),
        Some(
            "localhost: TLS handshake failed: certificate-not-trusted: invalid peer certificate: UnknownIssuer"
        )
    );
    assert_eq!(sts_results(&q), (0, 1, vec!["certificate-not-trusted".to_string()]));
    let mailbox = imaps_inbox(dir.path(), imaps);
    assert!(!mailbox.contains("runner test"), "delivered:\n{mailbox}");
    drop(server);
}
