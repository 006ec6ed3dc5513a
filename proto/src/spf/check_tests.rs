use super::*;
use crate::dns::{Evaluate, Failure, Lookup, LookupId, Poll, Query, RecordType, Zone, run};
use std::net::IpAddr;
use std::time::{Duration, Instant};

fn input(ip: &str, sender: &str) -> CheckHostInput {
    let domain = sender.rsplit_once('@').map_or(sender, |(_, d)| d);
    CheckHostInput {
        ip: ip.parse().unwrap(),
        domain: domain.to_string(),
        sender: sender.to_string(),
        helo: "mail.example.org".into(),
        receiver: "mx.example.net".into(),
        timestamp: 1_700_000_000,
        deadline: Instant::now() + Duration::from_secs(20),
        default_explanation: DEFAULT_EXPLANATION.into(),
    }
}

fn check(zone: &str, ip: &str, sender: &str) -> (SpfOutcome, Vec<String>) {
    let zone = Zone::parse(zone).unwrap();
    let mut ev = CheckHost::new(input(ip, sender));
    let (out, queries) = run(&mut ev, &zone, Instant::now());
    (out, queries.iter().map(|q| q.to_string()).collect())
}

#[test]
fn pass_through_include_with_lookups_in_order() {
    let (out, queries) = check(
        r#"
example.com      TXT "v=spf1 include:_spf.example.net -all"
example.com      TXT "some other record"
_spf.example.net TXT "v=spf1 ip4:192.0.2.0/24 a:mail.example.net ~all"
"#,
        "192.0.2.77",
        "joe@Example.COM",
    );
    assert_eq!(out.result, SpfResult::Pass);
    assert_eq!(out.domain, "Example.COM");
    assert_eq!(
        out.record.as_deref(),
        Some("v=spf1 include:_spf.example.net -all")
    );
    assert_eq!(out.mechanism.as_deref(), Some("include:_spf.example.net"));
    assert_eq!(out.explanation, None);
    assert_eq!(out.problem, None);
    assert_eq!((out.dns_terms, out.void_lookups), (1, 0));
    assert_eq!(queries, ["example.com TXT", "_spf.example.net TXT"]);
}

#[test]
fn fail_with_default_and_published_explanations() {
    let zone = r#"
a.example     TXT "v=spf1 mx -all"
a.example     MX  10 mx.a.example
mx.a.example  A   192.0.2.1
b.example     TXT "v=spf1 -all exp=why.%{d}"
why.b.example TXT "%{i} may not send for %{o} (%{l}), see %{r} at %{t}"
"#;
    let (out, queries) = check(zone, "198.51.100.9", "joe@a.example");
    assert_eq!(out.result, SpfResult::Fail);
    assert_eq!(out.mechanism.as_deref(), Some("-all"));
    assert_eq!(
        out.explanation.as_deref(),
        Some("198.51.100.9 is not one of a.example's designated mail servers")
    );
    assert_eq!(queries, ["a.example TXT", "a.example MX", "mx.a.example A"]);
    let (out, queries) = check(zone, "198.51.100.9", "joe@b.example");
    assert_eq!(
        out.explanation.as_deref(),
        Some("198.51.100.9 may not send for b.example (joe), see mx.example.net at 1700000000")
    );
    assert_eq!(queries, ["b.example TXT", "why.b.example TXT"]);
}

#[test]
fn ten_dns_terms_at_most() {
    let mut zone = String::new();
    // A chain of includes: each level costs one term.
    for i in 0..11 {
        zone.push_str(&format!(
            "l{i}.example TXT \"v=spf1 include:l{}.example\"\n",
            i + 1
        ));
    }
    zone.push_str("l11.example TXT \"v=spf1 +all\"\n");
    let (out, queries) = check(&zone, "192.0.2.1", "x@l0.example");
    assert_eq!(out.result, SpfResult::PermError);
    assert_eq!(
        out.problem.as_deref(),
        Some("more than 10 DNS-querying terms (include, a, mx, ptr, exists, redirect)")
    );
    assert_eq!(out.dns_terms, 11);
    assert_eq!(queries.len(), 11, "{queries:?}");
}

#[test]
fn two_void_lookups_at_most() {
    let zone = r#"v.example TXT "v=spf1 a:n1.v.example exists:n2.v.example mx:n3.v.example ?all""#;
    let (out, queries) = check(zone, "192.0.2.1", "x@v.example");
    assert_eq!(out.result, SpfResult::PermError);
    assert_eq!(
        out.problem.as_deref(),
        Some("more than 2 void lookups (the last: mx)")
    );
    assert_eq!(
        queries,
        [
            "v.example TXT",
            "n1.v.example A",
            "n2.v.example A",
            "n3.v.example MX"
        ]
    );
}

#[test]
fn mx_and_ptr_name_limits() {
    let mut zone =
        String::from("m.example TXT \"v=spf1 mx -all\"\np.example TXT \"v=spf1 ptr -all\"\n");
    for i in 0..11 {
        zone.push_str(&format!("m.example MX {i} h{i}.m.example\n"));
        zone.push_str(&format!("1.2.0.192.in-addr.arpa PTR h{i}.p.example\n"));
    }
    // Only the 11th PTR name resolves to the client: not looked at.
    zone.push_str("h10.p.example A 192.0.2.1\n");
    let (out, _) = check(&zone, "192.0.2.1", "x@m.example");
    assert_eq!(out.result, SpfResult::PermError);
    assert_eq!(
        out.problem.as_deref(),
        Some("mx: 11 MX records, more than 10")
    );
    let (out, queries) = check(&zone, "192.0.2.1", "x@p.example");
    assert_eq!(out.result, SpfResult::Fail);
    assert_eq!(queries.len(), 2 + 10, "{queries:?}");
    assert_eq!(queries[2], "h0.p.example A");
    assert_eq!(queries[11], "h9.p.example A");
}

#[test]
fn ipv4_mapped_client_is_ipv4_and_errors() {
    let zone = r#"
e.example   TXT "v=spf1 ip6:::ffff:0:0/96 ip4:192.0.2.0/24 -all"
t.example   TXT "v=spf1 a:slow.example -all"
slow.example A  !timeout
two.example TXT "v=spf1 -all"
two.example TXT "v=spf1 +all"
bad.example TXT "v=spf1 a:foo-bar -all"
"#;
    let (out, _) = check(zone, "::ffff:192.0.2.5", "x@e.example");
    assert_eq!(out.result, SpfResult::Pass);
    assert_eq!(out.mechanism.as_deref(), Some("ip4:192.0.2.0/24"));
    let (out, _) = check(zone, "192.0.2.5", "x@t.example");
    assert_eq!(out.result, SpfResult::TempError);
    assert_eq!(out.problem.as_deref(), Some("dns: timeout"));
    let (out, _) = check(zone, "192.0.2.5", "x@two.example");
    assert_eq!(out.result, SpfResult::PermError);
    assert_eq!(
        out.problem.as_deref(),
        Some("2 SPF records at two.example, only one is allowed")
    );
    let (out, _) = check(zone, "192.0.2.5", "x@bad.example");
    assert_eq!(out.result, SpfResult::PermError);
    assert!(
        out.problem
            .unwrap()
            .starts_with("SPF record at bad.example: term \"a:foo-bar\" at byte 7")
    );
    let (out, queries) = check(zone, "192.0.2.5", "x@none.example");
    assert_eq!(out.result, SpfResult::None);
    assert_eq!(
        out.problem.as_deref(),
        Some("no SPF record at none.example")
    );
    assert_eq!(queries, ["none.example TXT"]);
    let (out, queries) = check(zone, "192.0.2.5", "x@localhost");
    assert_eq!(out.result, SpfResult::None);
    assert_eq!(
        out.problem.as_deref(),
        Some("\"localhost\" is not a valid domain: not a multi-label domain name")
    );
    assert!(queries.is_empty());
}

#[test]
fn deadline_gives_temperror_and_stray_answers_are_ignored() {
    let start = Instant::now();
    let mut inp = input("192.0.2.1", "x@d.example");
    inp.deadline = start + Duration::from_secs(5);
    let mut ev = CheckHost::new(inp);
    let Poll::Lookup(id, q) = ev.poll(start) else {
        panic!("expected a lookup")
    };
    assert_eq!(q, Query::new("d.example", RecordType::Txt));
    assert_eq!(ev.poll(start), Poll::Pending);
    assert_eq!(ev.deadline(), Some(start + Duration::from_secs(5)));
    // An answer to a lookup never asked for changes nothing.
    ev.handle_answer(start, LookupId(id.0 + 7), Lookup::Failed(Failure::ServFail));
    assert_eq!(ev.poll(start), Poll::Pending);
    let Poll::Ready(out) = ev.poll(start + Duration::from_secs(5)) else {
        panic!("expected a result")
    };
    assert_eq!(out.result, SpfResult::TempError);
    assert_eq!(
        out.problem.as_deref(),
        Some("dns: no answer before the deadline")
    );
    assert_eq!(ev.deadline(), None);
    // A late answer does not change the result.
    ev.handle_answer(start, id, Lookup::NxDomain { authentic: false });
    assert!(matches!(ev.poll(start), Poll::Ready(o) if o.result == SpfResult::TempError));
}

#[test]
fn sender_check_and_received_spf() {
    let zone = Zone::parse(
        r#"
mail.example.org TXT "v=spf1 a -all"
mail.example.org A   192.0.2.10
example.com      TXT "v=spf1 ip4:192.0.2.0/28 -all"
"#,
    )
    .unwrap();
    let base = SenderCheckInput {
        ip: "192.0.2.10".parse().unwrap(),
        helo: "mail.example.org".into(),
        mail_from: "joe@example.com".into(),
        receiver: "mx.example.net".into(),
        timestamp: 0,
        deadline: Instant::now() + Duration::from_secs(20),
        default_explanation: DEFAULT_EXPLANATION.into(),
    };
    let mut ev = SenderCheck::new(base.clone());
    let (v, queries) = run(&mut ev, &zone, Instant::now());
    let queries: Vec<String> = queries.iter().map(|q| q.to_string()).collect();
    assert_eq!(
        queries,
        [
            "mail.example.org TXT",
            "mail.example.org A",
            "example.com TXT"
        ]
    );
    assert_eq!(v.helo.result, SpfResult::Pass);
    assert_eq!(v.mail_from.result, SpfResult::Pass);
    assert_eq!(v.mail_from_identity, Identity::MailFrom);
    let ip: IpAddr = base.ip;
    let h = received_spf(&ReceivedSpf {
        outcome: &v.mail_from,
        identity: v.mail_from_identity,
        client_ip: ip,
        envelope_from: "joe@example.com",
        helo: "mail.example.org",
        receiver: "mx.example.net",
    });
    assert_eq!(
        h,
        "Received-SPF: pass (mx.example.net: domain of joe@example.com designates\r\n\
         \t192.0.2.10 as permitted sender) client-ip=192.0.2.10;\r\n\
         \tenvelope-from=\"joe@example.com\"; helo=mail.example.org;\r\n\
         \treceiver=mx.example.net; identity=mailfrom; mechanism=\"ip4:192.0.2.0/28\"\r\n"
    );
    // The null sender: MAIL FROM is postmaster@helo, checked once.
    let mut ev = SenderCheck::new(SenderCheckInput {
        mail_from: String::new(),
        ip: "198.51.100.1".parse().unwrap(),
        ..base
    });
    let (v, queries) = run(&mut ev, &zone, Instant::now());
    assert_eq!(queries.len(), 2);
    assert_eq!(v.mail_from_identity, Identity::Helo);
    assert_eq!(v.mail_from, v.helo);
    assert_eq!(v.helo.result, SpfResult::Fail);
    let h = received_spf(&ReceivedSpf {
        outcome: &v.mail_from,
        identity: Identity::Helo,
        client_ip: "198.51.100.1".parse().unwrap(),
        envelope_from: "",
        helo: "mail.example.org",
        receiver: "mx.example.net",
    });
    assert_eq!(
        h,
        "Received-SPF: fail (mx.example.net: domain of postmaster@mail.example.org does\r\n\
         \tnot designate 198.51.100.1 as permitted sender) client-ip=198.51.100.1;\r\n\
         \tenvelope-from=\"\"; helo=mail.example.org; receiver=mx.example.net;\r\n\
         \tidentity=helo; mechanism=-all\r\n"
    );
}

#[test]
fn received_spf_escapes_comment_and_values() {
    let out = SpfOutcome {
        result: SpfResult::PermError,
        domain: "x.example".into(),
        record: None,
        mechanism: None,
        explanation: None,
        problem: Some("bad \"term\" \u{fffd}".into()),
        dns_terms: 0,
        void_lookups: 0,
    };
    let h = received_spf(&ReceivedSpf {
        outcome: &out,
        identity: Identity::MailFrom,
        client_ip: "2001:db8::1".parse().unwrap(),
        envelope_from: "a(b)\\c@x.example",
        helo: "h.example",
        receiver: "r.example",
    });
    assert_eq!(
        h,
        "Received-SPF: permerror (r.example: permanent error in the SPF record for\r\n\
         \ta\\(b\\)\\\\c@x.example) client-ip=\"2001:db8::1\";\r\n\
         \tenvelope-from=\"a(b)\\\\c@x.example\"; helo=h.example; problem=\"bad \\\"term\\\" ?\";\r\n\
         \treceiver=r.example; identity=mailfrom\r\n"
    );
}
