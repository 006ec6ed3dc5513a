//! Attempts driven end to end in memory: DNS from a [`Zone`], the MTA-STS
//! fetch from a canned response, every connection against a scripted SMTP
//! server. Each test asserts the exact sequence of lookups and
//! connections, the TLS policies, the job result and the TLS results.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use moxide_proto::conn::{Action, Answer, Conn, HttpsResponse, Need, TlsFailure, TlsInfo};
use moxide_proto::dns::Zone;
use moxide_proto::smtp::Body;
use moxide_proto::smtp::client::{ClientConn, StartTls, TlsPolicy, Verify};
use moxide_storage::{Store, StoreConfig, TlsPolicyType};

use super::*;
use crate::delivery::DeliveryConfig;
use crate::delivery::mx::{AddressPolicy, IpFamilies};
use crate::delivery::tls_policy::TlsSwitches;
use crate::delivery::transport::{Smarthost, SmarthostVerify, Transport};
use crate::queue::{Job, JobResult, RcptResult};

/// How a scripted server behaves.
#[derive(Clone)]
struct Server {
    /// `None`: the TCP connection is refused.
    greeting: Option<&'static str>,
    starttls: bool,
    /// The handshake's outcome, when STARTTLS is used.
    handshake: Result<(), (&'static str, &'static str)>,
    requiretls: bool,
    /// Reply per RCPT address (default 250).
    rcpt: HashMap<&'static str, &'static str>,
}

impl Server {
    fn ok() -> Server {
        Server {
            greeting: Some("220 mx ESMTP\r\n"),
            starttls: true,
            handshake: Ok(()),
            requiretls: false,
            rcpt: HashMap::new(),
        }
    }
    fn refused() -> Server {
        Server {
            greeting: None,
            ..Server::ok()
        }
    }
}

fn tls_info() -> TlsInfo {
    TlsInfo {
        protocol: "TLSv1_3".into(),
        cipher: "TLS13_AES_128_GCM_SHA256".into(),
        exporter: None,
    }
}

/// Runs `conn` against `s`; returns the client's command lines.
fn serve(conn: &mut ClientConn, s: &Server, now: Instant) -> Vec<String> {
    let mut seen = Vec::new();
    let Some(greeting) = s.greeting else {
        conn.connect_failed("connection refused");
        return seen;
    };
    conn.handle_input(now, greeting.as_bytes());
    let mut in_data = false;
    let mut data = Vec::new();
    let mut tls = false;
    for _ in 0..200 {
        let mut out = Vec::new();
        conn.poll_transmit(&mut out);
        let mut reply = Vec::new();
        if in_data {
            data.extend_from_slice(&out);
            if data.ends_with(b"\r\n.\r\n") {
                in_data = false;
                seen.push(format!("<data {} bytes>", data.len()));
                reply.extend_from_slice(b"250 2.0.0 queued\r\n");
            }
        } else {
            let text = String::from_utf8_lossy(&out).into_owned();
            for line in text.split_terminator("\r\n") {
                seen.push(line.to_string());
                let upper = line.to_ascii_uppercase();
                let r: String = if upper.starts_with("EHLO") {
                    let mut r = "250-mx\r\n250-8BITMIME\r\n".to_string();
                    if s.starttls && !tls {
                        r.push_str("250-STARTTLS\r\n");
                    }
                    if s.requiretls && tls {
                        r.push_str("250-REQUIRETLS\r\n");
                    }
                    r + "250 SMTPUTF8\r\n"
                } else if upper == "STARTTLS" {
                    "220 go ahead\r\n".into()
                } else if upper.starts_with("MAIL FROM") {
                    "250 2.1.0 ok\r\n".into()
                } else if let Some(rest) = upper.strip_prefix("RCPT TO:<") {
                    let addr = rest.split('>').next().unwrap_or("").to_ascii_lowercase();
                    s.rcpt
                        .iter()
                        .find(|(a, _)| **a == addr)
                        .map_or("250 2.1.5 ok\r\n".to_string(), |(_, r)| format!("{r}\r\n"))
                } else if upper == "DATA" {
                    in_data = true;
                    "354 go\r\n".into()
                } else if upper == "QUIT" {
                    "221 bye\r\n".into()
                } else if upper == "RSET" {
                    "250 ok\r\n".into()
                } else {
                    "500 what\r\n".into()
                };
                reply.extend_from_slice(r.as_bytes());
            }
        }
        let mut acted = false;
        while let Some(a) = conn.poll_action() {
            acted = true;
            match a {
                Action::Need(id, Need::TlsHandshake) => {
                    let ans = match s.handshake {
                        Ok(()) => {
                            tls = true;
                            seen.push("<tls>".into());
                            Ok(tls_info())
                        }
                        Err((rt, d)) => {
                            seen.push(format!("<tls failed: {rt}>"));
                            Err(TlsFailure {
                                result_type: rt.into(),
                                detail: d.into(),
                            })
                        }
                    };
                    conn.handle_answer(now, id, Answer::TlsHandshake(ans));
                }
                Action::Close => {}
                other => panic!("unexpected action {other:?}"),
            }
        }
        if conn.is_finished() {
            return seen;
        }
        if !reply.is_empty() {
            conn.handle_input(now, &reply);
        } else if !acted && out.is_empty() {
            conn.handle_eof(now);
        }
    }
    panic!("conversation did not end: {seen:?}");
}

fn job(domain: &str, rcpts: &[&str], requiretls: Option<bool>) -> Job {
    Job {
        id: 7,
        domain: domain.into(),
        mail_from: "alice@a.test".into(),
        recipients: rcpts.iter().map(|r| r.to_string()).collect(),
        message: Arc::from(&b"Subject: hi\r\n\r\nhello\r\n"[..]),
        smtputf8: false,
        body: Body::SevenBit,
        requiretls,
        transport: None,
        attempt: 1,
    }
}

fn cfg() -> DeliveryConfig {
    DeliveryConfig::new("out.a.test")
}

/// An attempt at `job` over the default transport with [`cfg`] at
/// `now_unix`, without a cached MTA-STS policy, seed 0.
fn attempt(job: Job, now_unix: i64) -> Attempt {
    Attempt::new(job, Transport::default(), cfg(), now_unix, None, 0)
}

fn describe(tls: &TlsPolicy) -> String {
    let st = match tls.starttls {
        StartTls::Never => "never",
        StartTls::Opportunistic => "opportunistic",
        StartTls::Required => "required",
    };
    let v = match &tls.verify {
        Verify::Any => "any".to_string(),
        Verify::Pkix { server_name } => format!("pkix:{server_name}"),
        Verify::Dane { server_name, .. } => format!("dane:{server_name}"),
    };
    format!("{st}/{v}")
}

/// Drives `a` to the end; returns the result and the event log.
fn run(
    a: &mut Attempt,
    zone: &str,
    policy: Option<&str>,
    servers: &HashMap<IpAddr, Server>,
) -> (JobResult, Vec<String>) {
    let zone = Zone::parse(zone).unwrap();
    let mut now = Instant::now();
    let mut log = Vec::new();
    for _ in 0..500 {
        match a.poll(now) {
            AttemptPoll::Need(id, Need::Dns(q)) => {
                log.push(format!("dns {q}"));
                a.handle_answer(now, id, Answer::Dns(zone.answer(&q)));
            }
            AttemptPoll::Need(id, Need::Https(req)) => {
                log.push(format!("https {}", req.url));
                let ans = match policy {
                    Some(p) => Ok(HttpsResponse {
                        status: 200,
                        content_type: Some("text/plain".into()),
                        body: p.as_bytes().to_vec(),
                    }),
                    None => Err(moxide_proto::conn::HttpsError::new(
                        moxide_proto::conn::HttpsErrorKind::Connect,
                        "connection refused",
                    )),
                };
                a.handle_answer(now, id, Answer::Https(ans));
            }
            AttemptPoll::Need(_, other) => panic!("unexpected need {other:?}"),
            AttemptPoll::Connect {
                id,
                addr,
                host,
                mut conn,
                tls,
            } => {
                assert_eq!(&tls, &conn.config().tls);
                log.push(format!("connect {addr} {host} {}", describe(&tls)));
                let s = servers
                    .get(&addr.ip())
                    .cloned()
                    .unwrap_or_else(Server::refused);
                for line in serve(&mut conn, &s, now) {
                    log.push(format!("  {line}"));
                }
                a.handle_connection(now, id, *conn);
            }
            AttemptPoll::Pending => match a.deadline() {
                Some(d) => now = d,
                None => panic!("pending without deadline: {log:?}"),
            },
            AttemptPoll::Done(r) => {
                // Done is stable.
                assert!(matches!(a.poll(now), AttemptPoll::Done(_)));
                return (r, log);
            }
        }
    }
    panic!("attempt did not end: {log:?}");
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn delivered(r: &JobResult) -> Vec<(&str, String)> {
    r.recipients
        .iter()
        .map(|(a, r)| {
            let s = match r {
                RcptResult::Delivered => "delivered".to_string(),
                RcptResult::Temporary { detail, .. } => format!("temporary: {detail}"),
                RcptResult::Permanent { detail, reply } => format!(
                    "permanent: {detail} [{}]",
                    reply.as_ref().map_or(0, |r| r.code)
                ),
            };
            (a.as_str(), s)
        })
        .collect()
}

const MAIL: [&str; 9] = [
    "  EHLO out.a.test",
    "  STARTTLS",
    "  <tls>",
    "  EHLO out.a.test",
    "  MAIL FROM:<alice@a.test> BODY=7BIT",
    "  RCPT TO:<bob@b.test>",
    "  DATA",
    "  <data 25 bytes>",
    "  QUIT",
];

// Insecure zone for b.test: no DANE lookups.
const ZONE: &str = "insecure b.test\nb.test MX 20 mx2.b.test\nb.test MX 10 mx1.b.test\n\
                    mx1.b.test A 192.0.2.1\nmx1.b.test AAAA 2001:db8::1\n\
                    mx2.b.test A 192.0.2.2";

#[test]
fn refused_first_host_then_delivery_to_second() {
    let mut a = attempt(job("b.test", &["bob@b.test"], None), 1_767_225_600);
    let servers = HashMap::from([(ip("192.0.2.2"), Server::ok())]);
    let (r, log) = run(&mut a, ZONE, None, &servers);
    let mut want = vec![
        "dns _mta-sts.b.test TXT",
        "dns b.test MX",
        "dns mx1.b.test AAAA",
        "dns mx1.b.test A",
        "connect [2001:db8::1]:25 mx1.b.test opportunistic/any",
        "connect 192.0.2.1:25 mx1.b.test opportunistic/any",
        "dns mx2.b.test AAAA",
        "dns mx2.b.test A",
        "connect 192.0.2.2:25 mx2.b.test opportunistic/any",
    ];
    want.extend(MAIL);
    assert_eq!(log, want);
    assert_eq!(delivered(&r), [("bob@b.test", "delivered".to_string())]);
    assert_eq!(r.remote_mta.as_deref(), Some("mx2.b.test"));
    assert_eq!(r.error, None);
    // One successful TLS session under "no policy found".
    let t = a.tls_results();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].policy_domain, "b.test");
    assert!(!t[0].is_host);
    assert_eq!(t[0].result.policy.policy_type, TlsPolicyType::NoPolicyFound);
    assert_eq!((t[0].result.success, t[0].result.failure), (1, 0));
}

#[test]
fn temporary_failure_moves_on_permanent_recipient_refusal_is_final() {
    let mut a = Attempt::new(
        job("b.test", &["bob@b.test", "nobody@b.test"], None),
        Transport::default(),
        DeliveryConfig {
            addresses: AddressPolicy {
                families: IpFamilies::V4Only,
                allow_loopback: false,
            },
            ..cfg()
        },
        0,
        None,
        0,
    );
    let mut second = Server::ok();
    second
        .rcpt
        .insert("nobody@b.test", "550 5.1.1 no such user");
    let servers = HashMap::from([
        (
            ip("192.0.2.1"),
            Server {
                greeting: Some("421 4.3.2 busy, try later\r\n"),
                ..Server::ok()
            },
        ),
        (ip("192.0.2.2"), second),
    ]);
    let (r, log) = run(&mut a, ZONE, None, &servers);
    let connects: Vec<&String> = log.iter().filter(|l| l.starts_with("connect")).collect();
    assert_eq!(
        connects,
        [
            "connect 192.0.2.1:25 mx1.b.test opportunistic/any",
            "connect 192.0.2.2:25 mx2.b.test opportunistic/any"
        ]
    );
    assert_eq!(
        delivered(&r),
        [
            ("bob@b.test", "delivered".to_string()),
            (
                "nobody@b.test",
                "permanent: 550 5.1.1 no such user [550]".to_string()
            )
        ]
    );
}

#[test]
fn all_hosts_failing_is_temporary_with_last_error() {
    let mut a = attempt(job("b.test", &["bob@b.test"], None), 0);
    let garbage = Server {
        greeting: Some("\u{1}\u{2}garbage without code\r\n"),
        ..Server::ok()
    };
    let servers = HashMap::from([(ip("192.0.2.2"), garbage)]);
    let (r, _) = run(&mut a, ZONE, None, &servers);
    let [(rcpt, RcptResult::Temporary { detail, .. })] = r.recipients.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!(rcpt, "bob@b.test");
    assert!(detail.starts_with("mx2.b.test: "), "{detail}");
    assert_eq!(r.error.as_deref(), Some(detail.as_str()));
}

#[test]
fn null_mx_and_nxdomain_are_permanent_without_connecting() {
    let mut a = attempt(job("b.test", &["bob@b.test"], None), 0);
    let (r, log) = run(&mut a, "b.test MX 0 .", None, &HashMap::new());
    assert_eq!(log, ["dns _mta-sts.b.test TXT", "dns b.test MX"]);
    let [(_, RcptResult::Permanent { detail, reply })] = r.recipients.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!(
        detail,
        "domain does not accept mail (null MX record, RFC 7505)"
    );
    let reply = reply.as_ref().unwrap();
    assert_eq!((reply.code, reply.enhanced), (556, Some((5, 1, 10))));

    let mut a = attempt(job("c.test", &["bob@c.test"], None), 0);
    let (r, _) = run(&mut a, "", None, &HashMap::new());
    assert_eq!(
        delivered(&r),
        [(
            "bob@c.test",
            "permanent: domain does not exist (NXDOMAIN) [550]".to_string()
        )]
    );
    // A DNS failure is temporary.
    let mut a = attempt(job("c.test", &["bob@c.test"], None), 0);
    let (r, _) = run(&mut a, "c.test MX !servfail", None, &HashMap::new());
    assert!(matches!(r.recipients[0].1, RcptResult::Temporary { .. }));
}

const STS_RECORD: &str = "_mta-sts.b.test TXT v=STSv1; id=20260101";
const ENFORCE: &str = "version: STSv1\r\nmode: enforce\r\nmx: mx2.b.test\r\nmax_age: 86400\r\n";

#[test]
fn mtasts_enforce_skips_unlisted_and_requires_tls() {
    let zone = format!("{ZONE}\n{STS_RECORD}");
    let mut a = attempt(job("b.test", &["bob@b.test"], None), 1_767_225_600);
    // mx2 offers no STARTTLS: nothing is sent in plaintext.
    let servers = HashMap::from([(
        ip("192.0.2.2"),
        Server {
            starttls: false,
            ..Server::ok()
        },
    )]);
    let (r, log) = run(&mut a, &zone, Some(ENFORCE), &servers);
    assert_eq!(
        log,
        [
            "dns _mta-sts.b.test TXT",
            "https https://mta-sts.b.test/.well-known/mta-sts.txt",
            "dns b.test MX",
            // mx1 is not in the policy: not even looked up.
            "dns mx2.b.test AAAA",
            "dns mx2.b.test A",
            "connect 192.0.2.2:25 mx2.b.test required/pkix:mx2.b.test",
            "  EHLO out.a.test",
            "  QUIT",
        ]
    );
    let [(_, RcptResult::Temporary { detail, .. })] = r.recipients.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!(
        detail,
        "mx2.b.test: TLS is required but the server does not offer STARTTLS"
    );
    // TLS results: mx1 skipped (failure, mismatch), mx2 starttls-not-supported.
    let t = a.tls_results();
    assert_eq!(t.len(), 2);
    assert!(
        t.iter()
            .all(|u| u.result.policy.policy_type == TlsPolicyType::Sts)
    );
    assert_eq!(
        t[0].result.failures[0].failure_reason_code,
        "mtasts-policy-mx-mismatch"
    );
    assert_eq!(t[0].result.failures[0].receiving_mx_hostname, "mx1.b.test");
    assert_eq!(
        t[1].result.failures[0].result_type,
        "starttls-not-supported"
    );
    assert_eq!(t[1].result.failures[0].receiving_ip, "192.0.2.2");
    // The fetched policy goes into the cache; results are stored per day.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    a.store_results(&store).unwrap();
    let cached = store.mtasts_policy_get("b.test").unwrap().unwrap();
    assert_eq!(cached.record_id, "20260101");
    assert_eq!(cached.policy_text, ENFORCE);
    let days = store.tls_results_list(None).unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!(days[0].day, 20_454);
    assert_eq!(days[0].policy_domain, "b.test");
    assert_eq!(
        (days[0].policies[0].success, days[0].policies[0].failure),
        (0, 2)
    );
    assert_eq!(days[0].policies[0].failures.len(), 2);
}

#[test]
fn tls_required_no_ignores_enforce_and_falls_back() {
    let zone = format!("{ZONE}\n{STS_RECORD}");
    let mut a = Attempt::new(
        job("b.test", &["bob@b.test"], Some(false)),
        Transport::default(),
        DeliveryConfig {
            addresses: AddressPolicy {
                families: IpFamilies::V4Only,
                allow_loopback: false,
            },
            ..cfg()
        },
        0,
        None,
        0,
    );
    // mx1 (not in the policy) has a certificate nobody trusts.
    let servers = HashMap::from([(
        ip("192.0.2.1"),
        Server {
            handshake: Err(("certificate-not-trusted", "self-signed")),
            ..Server::ok()
        },
    )]);
    let (r, log) = run(&mut a, &zone, Some(ENFORCE), &servers);
    let connects: Vec<&String> = log.iter().filter(|l| l.starts_with("connect")).collect();
    assert_eq!(
        connects,
        [
            "connect 192.0.2.1:25 mx1.b.test opportunistic/any",
            "connect 192.0.2.1:25 mx1.b.test never/any"
        ]
    );
    assert_eq!(delivered(&r), [("bob@b.test", "delivered".to_string())]);
}

#[test]
fn opportunistic_tls_failure_retries_in_plaintext() {
    let mut a = attempt(job("b.test", &["bob@b.test"], None), 0);
    let servers = HashMap::from([(
        ip("2001:db8::1"),
        Server {
            handshake: Err(("validation-failure", "handshake alert")),
            ..Server::ok()
        },
    )]);
    let (r, log) = run(&mut a, ZONE, None, &servers);
    let at = log
        .iter()
        .position(|l| l.starts_with("connect [2001"))
        .unwrap();
    assert_eq!(
        &log[at..],
        [
            "connect [2001:db8::1]:25 mx1.b.test opportunistic/any",
            "  EHLO out.a.test",
            "  STARTTLS",
            "  <tls failed: validation-failure>",
            "connect [2001:db8::1]:25 mx1.b.test never/any",
            "  EHLO out.a.test",
            "  MAIL FROM:<alice@a.test> BODY=7BIT",
            "  RCPT TO:<bob@b.test>",
            "  DATA",
            "  <data 25 bytes>",
            "  QUIT",
        ]
    );
    assert_eq!(delivered(&r), [("bob@b.test", "delivered".to_string())]);
    let t = a.tls_results();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].result.failures[0].result_type, "validation-failure");
    assert_eq!(t[0].result.failures[0].receiving_ip, "2001:db8::1");
}

const EE: &str = "3 1 1 2bb9a7f2b4f5de3a9c1e7b9e0f2e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e";

#[test]
fn dane_required_no_plaintext_after_failure() {
    // A DNSSEC-signed zone with TLSA records for mx1.
    let zone =
        format!("d.test MX 10 mx1.d.test\nmx1.d.test A 192.0.2.5\n_25._tcp.mx1.d.test TLSA {EE}");
    let mut a = attempt(job("d.test", &["bob@d.test"], None), 0);
    let servers = HashMap::from([(
        ip("192.0.2.5"),
        Server {
            handshake: Err(("tlsa-invalid", "no TLSA record matched")),
            ..Server::ok()
        },
    )]);
    let (r, log) = run(&mut a, &zone, None, &servers);
    assert_eq!(
        log,
        [
            "dns _mta-sts.d.test TXT",
            "dns d.test MX",
            "dns mx1.d.test AAAA",
            "dns mx1.d.test A",
            // The TLSA lookup checks the address records itself.
            "dns mx1.d.test A",
            "dns _25._tcp.mx1.d.test TLSA",
            "connect 192.0.2.5:25 mx1.d.test required/dane:mx1.d.test",
            "  EHLO out.a.test",
            "  STARTTLS",
            "  <tls failed: tlsa-invalid>",
        ]
    );
    assert!(matches!(r.recipients[0].1, RcptResult::Temporary { .. }));
    // Recorded for the domain (no MTA-STS) and for the host's TLSA policy.
    let t = a.tls_results();
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].policy_domain, "mx1.d.test");
    assert!(t[1].is_host);
    assert_eq!(t[1].result.policy.policy_type, TlsPolicyType::Tlsa);
    assert_eq!(t[1].result.policy.policy_string, [EE]);
    assert_eq!(t[1].result.failures[0].result_type, "tlsa-invalid");

    // DANE switched off: opportunistic, no TLSA lookup.
    let mut a = Attempt::new(
        job("d.test", &["bob@d.test"], None),
        Transport::default(),
        DeliveryConfig {
            tls: TlsSwitches {
                pkix: false,
                dane: false,
            },
            ..cfg()
        },
        0,
        None,
        0,
    );
    let servers = HashMap::from([(ip("192.0.2.5"), Server::ok())]);
    let (r, log) = run(&mut a, &zone, None, &servers);
    assert_eq!(log[0], "dns d.test MX");
    assert!(
        log.iter()
            .all(|l| !l.contains("TLSA") && !l.contains("_mta-sts"))
    );
    assert!(log.contains(&"connect 192.0.2.5:25 mx1.d.test opportunistic/any".to_string()));
    assert_eq!(delivered(&r), [("bob@d.test", "delivered".to_string())]);
}

#[test]
fn requiretls() {
    // Insecure MX, no MTA-STS: permanent 5.7.30 without connecting.
    let mut a = attempt(job("b.test", &["bob@b.test"], Some(true)), 0);
    let (r, log) = run(&mut a, ZONE, None, &HashMap::new());
    assert!(log.iter().all(|l| !l.starts_with("connect")));
    let [(_, RcptResult::Permanent { reply, .. })] = r.recipients.as_slice() else {
        panic!("{r:?}")
    };
    let reply = reply.as_ref().unwrap();
    assert_eq!((reply.code, reply.enhanced), (554, Some((5, 7, 30))));
    // DNSSEC MX: PKIX required; a server offering REQUIRETLS takes it.
    let zone = "e.test MX 10 mx.e.test\nmx.e.test A 192.0.2.9";
    let mut a = attempt(job("e.test", &["bob@e.test"], Some(true)), 0);
    let servers = HashMap::from([(
        ip("192.0.2.9"),
        Server {
            requiretls: true,
            ..Server::ok()
        },
    )]);
    let (r, log) = run(&mut a, zone, None, &servers);
    assert!(log.contains(&"connect 192.0.2.9:25 mx.e.test required/pkix:mx.e.test".to_string()));
    let mail = log.iter().find(|l| l.starts_with("  MAIL FROM:")).unwrap();
    assert!(mail.ends_with(" REQUIRETLS"), "{mail}");
    assert_eq!(delivered(&r), [("bob@e.test", "delivered".to_string())]);
    // A server without REQUIRETLS: every host lacks it, permanent 5.7.30.
    let mut a = attempt(job("e.test", &["bob@e.test"], Some(true)), 0);
    let servers = HashMap::from([(ip("192.0.2.9"), Server::ok())]);
    let (r, _) = run(&mut a, zone, None, &servers);
    let [(_, RcptResult::Permanent { reply, .. })] = r.recipients.as_slice() else {
        panic!("{r:?}")
    };
    assert_eq!(reply.as_ref().unwrap().enhanced, Some((5, 7, 30)));
}

#[test]
fn smarthost_and_port_override() {
    let t = Transport::Smarthost(Smarthost {
        host: "relay.example".into(),
        port: 587,
        implicit_tls: false,
        auth: None,
        verify: SmarthostVerify::Pkix,
    });
    let mut a = Attempt::new(job("b.test", &["bob@b.test"], None), t, cfg(), 0, None, 0);
    let servers = HashMap::from([(ip("127.0.0.1"), Server::ok())]);
    let (r, log) = run(&mut a, "relay.example A 127.0.0.1", None, &servers);
    let mut want = vec![
        "dns relay.example AAAA",
        "dns relay.example A",
        "connect 127.0.0.1:587 relay.example required/pkix:relay.example",
    ];
    want.extend(MAIL);
    assert_eq!(log, want);
    assert_eq!(delivered(&r), [("bob@b.test", "delivered".to_string())]);
    assert!(a.tls_results().is_empty());

    // Direct with a port override and loopback allowed (tests).
    let c = DeliveryConfig {
        addresses: AddressPolicy {
            families: IpFamilies::V4Only,
            allow_loopback: true,
        },
        ..cfg()
    };
    let mut a = Attempt::new(
        job("b.test", &["bob@b.test"], None),
        Transport::Direct { port: 2525 },
        c,
        0,
        None,
        0,
    );
    let (r, log) = run(
        &mut a,
        "insecure b.test\nb.test MX 10 localhost.b.test\nlocalhost.b.test A 127.0.0.1",
        None,
        &servers,
    );
    assert!(log.contains(&"connect 127.0.0.1:2525 localhost.b.test opportunistic/any".to_string()));
    assert_eq!(delivered(&r), [("bob@b.test", "delivered".to_string())]);
    // Loopback refused by default.
    let mut a = Attempt::new(
        job("b.test", &["bob@b.test"], None),
        Transport::Direct { port: 2525 },
        cfg(),
        0,
        None,
        0,
    );
    let (r, _) = run(
        &mut a,
        "insecure b.test\nb.test MX 10 localhost.b.test\nlocalhost.b.test A 127.0.0.1",
        None,
        &servers,
    );
    assert_eq!(
        delivered(&r),
        [(
            "bob@b.test",
            "temporary: localhost.b.test resolves only to refused addresses (127.0.0.1: loopback address)".to_string()
        )]
    );
}

#[test]
fn address_literal_domain() {
    let mut a = attempt(job("[192.0.2.44]", &["bob@[192.0.2.44]"], None), 0);
    let servers = HashMap::from([(ip("192.0.2.44"), Server::ok())]);
    let (r, log) = run(&mut a, "", None, &servers);
    assert_eq!(
        log[0],
        "connect 192.0.2.44:25 [192.0.2.44] opportunistic/any"
    );
    assert_eq!(
        delivered(&r),
        [("bob@[192.0.2.44]", "delivered".to_string())]
    );
    let _: SocketAddr = "192.0.2.44:25".parse().unwrap();
}
