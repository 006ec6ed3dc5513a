use std::time::{Duration, Instant};

use super::*;
use crate::dns::{Evaluate, Failure, Lookup, Poll, RecordType, Zone, run};

#[test]
fn parses_every_tag() {
    let r = parse(
        "v=DMARC1; p=Reject; sp=quarantine; adkim=s; aspf=r; pct=20; \
         rua=mailto:agg@example.com!10m, mailto:other@example.net; ruf=mailto:f@example.com; \
         fo=1:d; rf=afrf; ri=3600; future=x",
    )
    .unwrap();
    assert_eq!(r.policy, Policy::Reject);
    assert_eq!(r.subdomain_policy, Some(Policy::Quarantine));
    assert_eq!(
        (r.adkim, r.aspf, r.pct, r.ri),
        (Alignment::Strict, Alignment::Relaxed, 20, 3600)
    );
    assert_eq!(
        r.rua,
        vec![
            ReportUri {
                uri: "mailto:agg@example.com".into(),
                max_size: Some(10 << 20)
            },
            ReportUri {
                uri: "mailto:other@example.net".into(),
                max_size: None
            },
        ]
    );
    assert_eq!(r.fo, "1:d");
    assert_eq!(
        r.to_string(),
        "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=20; \
         rua=mailto:agg@example.com!10485760,mailto:other@example.net; ruf=mailto:f@example.com; \
         fo=1:d; rf=afrf; ri=3600"
    );
}

#[test]
fn defaults_and_spacing() {
    let r = parse("v = DMARC1 ;p = none;").unwrap();
    assert_eq!(r.policy, Policy::None);
    assert_eq!(
        (r.adkim, r.aspf, r.pct, r.ri),
        (Alignment::Relaxed, Alignment::Relaxed, 100, 86400)
    );
    assert!(r.rua.is_empty());
    assert!(!r.policy_defaulted);
}

#[test]
fn errors_and_fallbacks() {
    assert_eq!(parse("v=spf1 -all"), Err(RecordError::NotDmarc));
    assert_eq!(parse("p=reject; v=DMARC1"), Err(RecordError::NotDmarc));
    assert_eq!(parse("v=DMARC2; p=reject"), Err(RecordError::NotDmarc));
    let bad = |s: &str| match parse(s) {
        Err(RecordError::Invalid(e)) => e,
        other => panic!("{s}: {other:?}"),
    };
    assert!(bad("v=DMARC1").contains("p= is missing"));
    assert!(bad("v=DMARC1; p=bogus").contains("p=bogus"));
    assert!(bad("v=DMARC1; p=none; pct=101").contains("pct=101"));
    assert!(bad("v=DMARC1; p=none; adkim=x").contains("adkim=x"));
    assert!(bad("v=DMARC1; p=none; p=reject").contains("twice"));
    assert!(bad("v=DMARC1; p=none; rua=not a uri").contains("rua"));
    assert!(bad("v=DMARC1; p=none; rua=mailto:a@b!12x").contains("size"));
    assert!(bad("v=DMARC1; p=none; fo=2").contains("fo=2"));
    assert!(bad("v=DMARC1; p=none; junk").contains("tag=value"));
    // RFC 7489 6.6.3: invalid p with a valid rua reads as p=none.
    let r = parse("v=DMARC1; p=bogus; rua=mailto:a@example.com").unwrap();
    assert_eq!(r.policy, Policy::None);
    assert!(r.policy_defaulted);
    let r = parse("v=DMARC1; rua=mailto:a@example.com").unwrap();
    assert!(r.policy_defaulted);
}

#[test]
fn organizational_domains_and_alignment() {
    assert_eq!(organizational_domain("mail.example.com"), "example.com");
    assert_eq!(organizational_domain("a.b.example.co.uk"), "example.co.uk");
    assert_eq!(organizational_domain("Example.COM."), "example.com");
    assert_eq!(organizational_domain("co.uk"), "co.uk");
    assert_eq!(organizational_domain("x.y.unknowntld"), "y.unknowntld");
    assert!(aligned(
        "mail.example.com",
        "example.com",
        Alignment::Relaxed
    ));
    assert!(!aligned(
        "mail.example.com",
        "example.com",
        Alignment::Strict
    ));
    assert!(aligned("EXAMPLE.com", "example.com.", Alignment::Strict));
    assert!(!aligned("example.net", "example.com", Alignment::Relaxed));
    assert!(!aligned("a.co.uk", "b.co.uk", Alignment::Relaxed));
}

fn input(
    from: &str,
    spf: Option<(&str, CheckOutcome)>,
    dkim: &[(&str, CheckOutcome)],
    sample: u8,
) -> Input {
    let id = |(d, o): (&str, CheckOutcome)| Identifier {
        domain: d.into(),
        outcome: o,
    };
    Input {
        from_domain: from.into(),
        spf: spf.map(id),
        dkim: dkim.iter().copied().map(id).collect(),
        sample,
    }
}

fn eval(zone: &Zone, i: Input) -> (Evaluation, Vec<String>) {
    let now = Instant::now();
    let mut ev = Evaluator::new(i, now + Duration::from_secs(10));
    let (e, asked) = run(&mut ev, zone, now);
    (e, asked.into_iter().map(|q| q.name).collect())
}

fn zone() -> Zone {
    Zone::parse(
        r#"
_dmarc.example.com  TXT "v=DMARC1; p=reject; sp=quarantine; pct=50"
_dmarc.strict.example TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
_dmarc.two.example  TXT "v=DMARC1; p=reject"
_dmarc.two.example  TXT "v=DMARC1; p=none"
_dmarc.other.example TXT "some verification token"
_dmarc.other.example TXT "v=DMARC1;" " p=quarantine"
_dmarc.broken.example TXT "v=DMARC1; p=reject; pct=500"
_dmarc.slow.example TXT !timeout
"#,
    )
    .unwrap()
}

#[test]
fn pass_by_aligned_spf_or_dkim() {
    let z = zone();
    let (e, asked) = eval(
        &z,
        input(
            "example.com",
            Some(("bounce.example.com", CheckOutcome::Pass)),
            &[],
            0,
        ),
    );
    assert_eq!(
        (e.result, e.disposition, e.spf_aligned),
        (DmarcResult::Pass, Policy::None, true)
    );
    assert_eq!(asked, vec!["_dmarc.example.com"]);
    assert_eq!(
        e.auth_results_entry(),
        "dmarc=pass (p=reject dis=none) header.from=example.com"
    );
    let (e, _) = eval(
        &z,
        input(
            "example.com",
            Some(("evil.example", CheckOutcome::Pass)),
            &[
                ("other.example", CheckOutcome::Pass),
                ("mail.example.com", CheckOutcome::Pass),
            ],
            0,
        ),
    );
    assert_eq!(e.result, DmarcResult::Pass);
    assert_eq!(e.dkim_aligned.as_deref(), Some("mail.example.com"));
    assert!(!e.spf_aligned);
}

#[test]
fn fail_applies_policy_with_pct_sampling() {
    let z = zone();
    let i = |sample| {
        input(
            "example.com",
            Some(("evil.example", CheckOutcome::Pass)),
            &[],
            sample,
        )
    };
    let (e, _) = eval(&z, i(49));
    assert_eq!(
        (e.result, e.disposition, e.sampled_out),
        (DmarcResult::Fail, Policy::Reject, false)
    );
    assert_eq!(
        e.auth_results_entry(),
        "dmarc=fail (p=reject dis=reject) header.from=example.com"
    );
    let (e, _) = eval(&z, i(50));
    assert_eq!(
        (e.result, e.disposition, e.sampled_out),
        (DmarcResult::Fail, Policy::Quarantine, true)
    );
}

#[test]
fn subdomain_uses_org_record_and_sp() {
    let z = zone();
    let (e, asked) = eval(
        &z,
        input(
            "news.example.com",
            None,
            &[("x.example", CheckOutcome::Pass)],
            0,
        ),
    );
    assert_eq!(asked, vec!["_dmarc.news.example.com", "_dmarc.example.com"]);
    assert_eq!(e.result, DmarcResult::Fail);
    assert!(e.subdomain_policy_used);
    assert_eq!(e.policy, Some(Policy::Quarantine));
    assert_eq!(e.disposition, Policy::Quarantine);
    assert_eq!(e.policy_domain.as_deref(), Some("example.com"));
}

#[test]
fn strict_alignment() {
    let z = zone();
    let (e, _) = eval(
        &z,
        input(
            "strict.example",
            Some(("mail.strict.example", CheckOutcome::Pass)),
            &[],
            0,
        ),
    );
    assert_eq!(
        (e.result, e.disposition),
        (DmarcResult::Fail, Policy::Reject)
    );
    let (e, _) = eval(
        &z,
        input(
            "strict.example",
            Some(("strict.example", CheckOutcome::Pass)),
            &[],
            0,
        ),
    );
    assert_eq!(e.result, DmarcResult::Pass);
}

#[test]
fn none_permerror_temperror() {
    let z = zone();
    let (e, asked) = eval(&z, input("nothing.example", None, &[], 0));
    assert_eq!((e.result, e.disposition), (DmarcResult::None, Policy::None));
    assert_eq!(asked, vec!["_dmarc.nothing.example"]);
    assert_eq!(
        e.auth_results_entry(),
        "dmarc=none header.from=nothing.example"
    );
    // Two DMARC records: as if none (RFC 7489 6.6.3).
    let (e, _) = eval(&z, input("two.example", None, &[], 0));
    assert_eq!(e.result, DmarcResult::None);
    // Non-DMARC TXT records are skipped; the strings of one record are joined.
    let (e, _) = eval(&z, input("other.example", None, &[], 0));
    assert_eq!(
        (e.result, e.disposition),
        (DmarcResult::Fail, Policy::Quarantine)
    );
    let (e, _) = eval(&z, input("broken.example", None, &[], 0));
    assert_eq!(
        (e.result, e.disposition),
        (DmarcResult::PermError, Policy::None)
    );
    assert!(
        e.auth_results_entry()
            .starts_with("dmarc=permerror (pct=500"),
        "{}",
        e.auth_results_entry()
    );
    let (e, _) = eval(&z, input("slow.example", None, &[], 0));
    assert_eq!(e.result, DmarcResult::TempError);
    // A failing message with a DKIM temperror is a temperror, not a reject.
    let (e, _) = eval(
        &z,
        input(
            "example.com",
            None,
            &[("example.com", CheckOutcome::TempError)],
            0,
        ),
    );
    assert_eq!(
        (e.result, e.disposition),
        (DmarcResult::TempError, Policy::None)
    );
}

#[test]
fn deadline_gives_temperror_and_late_answers_are_ignored() {
    let now = Instant::now();
    let mut ev = Evaluator::new(
        input("example.com", None, &[], 0),
        now + Duration::from_secs(5),
    );
    let Poll::Lookup(id, q) = ev.poll(now) else {
        panic!()
    };
    assert_eq!(
        (q.name.as_str(), q.rtype),
        ("_dmarc.example.com", RecordType::Txt)
    );
    assert_eq!(ev.poll(now), Poll::Pending);
    assert_eq!(ev.deadline(), Some(now + Duration::from_secs(5)));
    let Poll::Ready(e) = ev.poll(now + Duration::from_secs(5)) else {
        panic!()
    };
    assert_eq!(e.result, DmarcResult::TempError);
    ev.handle_answer(now, id, Lookup::Failed(Failure::ServFail));
    assert_eq!(ev.poll(now), Poll::Ready(e));
}

#[test]
fn invalid_from_domain_is_permerror_without_lookup() {
    let (e, asked) = eval(&Zone::new(), input("a..b", None, &[], 0));
    assert_eq!(e.result, DmarcResult::PermError);
    assert!(asked.is_empty());
}
