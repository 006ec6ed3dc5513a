use std::net::IpAddr;
use std::time::Instant;

use moxide_proto::dns::{Evaluate, Failure, Poll, Zone, run};

use super::*;

fn mx(zone: &str, domain: &str, seed: u64) -> (Result<Destinations, MxError>, Vec<String>) {
    let zone = Zone::parse(zone).unwrap();
    let (r, asked) = run(&mut MxLookup::new(domain, seed), &zone, Instant::now());
    (r, asked.iter().map(|q| q.to_string()).collect())
}

fn names(d: &Destinations) -> Vec<(&str, Option<u16>)> {
    d.hosts
        .iter()
        .map(|h| (h.name.as_str(), h.preference))
        .collect()
}

#[test]
fn mx_hosts_by_preference() {
    let zone = "example.com MX 20 mx2.example.com\nexample.com MX 10 MX1.example.com.\n\
                example.com MX 30 mx3.example.net\nexample.com MX 10 mx1.example.com";
    let (r, asked) = mx(zone, "Example.COM.", 1);
    assert_eq!(asked, ["example.com MX"]);
    let d = r.unwrap();
    assert_eq!(d.domain, "example.com");
    assert_eq!(d.expanded, "example.com");
    assert!(d.have_mx);
    assert!(d.authentic);
    // Duplicate mx1 dropped, case folded.
    assert_eq!(
        names(&d),
        [
            ("mx1.example.com", Some(10)),
            ("mx2.example.com", Some(20)),
            ("mx3.example.net", Some(30))
        ]
    );
}

/// A recipient domain in U-labels is looked up in A-labels; an invalid
/// IDN is an invalid domain, not a lookup.
#[test]
fn u_label_domains_are_looked_up_in_a_labels() {
    let zone = "xn--exmple-cua.test MX 10 mx.xn--exmple-cua.test";
    let (r, asked) = mx(zone, "Exämple.test", 1);
    assert_eq!(asked, ["xn--exmple-cua.test MX"]);
    let d = r.unwrap();
    assert_eq!(d.domain, "xn--exmple-cua.test");
    assert_eq!(names(&d), [("mx.xn--exmple-cua.test", Some(10))]);
    let (r, asked) = mx(zone, "xn--a.test", 1);
    assert!(asked.is_empty());
    assert_eq!(
        r,
        Err(MxError::InvalidDomain(
            "\"xn--a.test\": invalid internationalized domain name (IDNA)".into()
        ))
    );
}

#[test]
fn equal_preferences_ordered_by_seed() {
    let zone = "example.com MX 10 a.example.com\nexample.com MX 10 b.example.com\n\
                example.com MX 10 c.example.com\nexample.com MX 5 first.example.com";
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let d = mx(zone, "example.com", seed).0.unwrap();
        let n = names(&d);
        assert_eq!(n[0], ("first.example.com", Some(5)));
        orders.insert(
            n[1..]
                .iter()
                .map(|(h, _)| h.to_string())
                .collect::<Vec<_>>(),
        );
        // The same seed gives the same order.
        assert_eq!(names(&mx(zone, "example.com", seed).0.unwrap()), n);
    }
    // All 6 permutations of three hosts appear over 64 seeds.
    assert_eq!(orders.len(), 6);
}

#[test]
fn null_mx_nxdomain_nodata_failure() {
    let (r, _) = mx("example.com MX 0 .", "example.com", 0);
    assert_eq!(r, Err(MxError::NullMx));
    assert!(MxError::NullMx.permanent());
    assert_eq!(
        MxError::NullMx.to_string(),
        "domain does not accept mail (null MX record, RFC 7505)"
    );
    // A "." among real MX records is ignored.
    let (r, _) = mx(
        "example.com MX 0 .\nexample.com MX 10 mx.example.com",
        "example.com",
        0,
    );
    assert_eq!(names(&r.unwrap()), [("mx.example.com", Some(10))]);

    let (r, _) = mx("", "nowhere.example", 0);
    assert_eq!(r, Err(MxError::NoSuchDomain));
    assert!(r.unwrap_err().permanent());

    // No MX: implicit MX, the domain itself.
    let (r, asked) = mx("example.com A 192.0.2.1", "example.com", 0);
    assert_eq!(asked, ["example.com MX"]);
    let d = r.unwrap();
    assert!(!d.have_mx);
    assert!(d.authentic);
    assert_eq!(names(&d), [("example.com", None)]);

    let (r, _) = mx("example.com MX !servfail", "example.com", 0);
    let e = r.unwrap_err();
    assert!(!e.permanent());
    assert_eq!(
        e,
        MxError::Temporary(format!("MX lookup of example.com: {}", Failure::ServFail))
    );

    let (r, asked) = mx("", "bad..domain", 0);
    assert!(asked.is_empty());
    assert!(matches!(r, Err(MxError::InvalidDomain(_))));
}

#[test]
fn cname_and_insecure_answers() {
    let (r, _) = mx(
        "insecure example.org\nexample.org CNAME mail.example.net\n\
         mail.example.net MX 10 mx.example.net",
        "example.org",
        0,
    );
    let d = r.unwrap();
    assert_eq!(d.expanded, "mail.example.net");
    assert!(!d.authentic);
    assert_eq!(names(&d), [("mx.example.net", Some(10))]);
    // CNAME to a name without MX: implicit MX is the expanded name.
    let (r, _) = mx(
        "example.org CNAME host.example.net\nhost.example.net A 192.0.2.9",
        "example.org",
        0,
    );
    let d = r.unwrap();
    assert_eq!(names(&d), [("example.org", None)]);
}

#[test]
fn mx_lookup_times_out() {
    let t0 = Instant::now();
    let mut ev = MxLookup::new("example.com", 0);
    assert!(matches!(ev.poll(t0), Poll::Lookup(..)));
    assert_eq!(ev.poll(t0), Poll::Pending);
    let d = ev.deadline().unwrap();
    assert_eq!(d, t0 + LOOKUP_TIME);
    assert_eq!(
        ev.poll(d),
        Poll::Ready(Err(MxError::Temporary(
            "MX lookup of example.com timed out".into()
        )))
    );
}

fn host(
    zone: &str,
    name: &str,
    policy: AddressPolicy,
) -> (Result<HostAddresses, String>, Vec<String>) {
    let zone = Zone::parse(zone).unwrap();
    let (r, asked) = run(&mut HostLookup::new(name, policy), &zone, Instant::now());
    (r, asked.iter().map(|q| q.to_string()).collect())
}

fn ips(h: &HostAddresses) -> Vec<String> {
    h.ips.iter().map(IpAddr::to_string).collect()
}

const DUAL: &str = "mx.example.com A 192.0.2.1\nmx.example.com A 192.0.2.2\n\
                    mx.example.com AAAA 2001:db8::1";

#[test]
fn addresses_v6_first_then_v4() {
    let (r, asked) = host(DUAL, "MX.example.com", AddressPolicy::default());
    assert_eq!(asked, ["mx.example.com AAAA", "mx.example.com A"]);
    let h = r.unwrap();
    assert_eq!(ips(&h), ["2001:db8::1", "192.0.2.1", "192.0.2.2"]);
    assert!(h.authentic);
    assert!(h.dual_stack);
    let policy = |families| AddressPolicy {
        families,
        allow_loopback: false,
    };
    let (r, asked) = host(DUAL, "mx.example.com", policy(IpFamilies::V4ThenV6));
    assert_eq!(asked, ["mx.example.com A", "mx.example.com AAAA"]);
    assert_eq!(ips(&r.unwrap()), ["192.0.2.1", "192.0.2.2", "2001:db8::1"]);
    let (r, asked) = host(DUAL, "mx.example.com", policy(IpFamilies::V4Only));
    assert_eq!(asked, ["mx.example.com A"]);
    assert_eq!(ips(&r.unwrap()), ["192.0.2.1", "192.0.2.2"]);
    let (r, _) = host(DUAL, "mx.example.com", policy(IpFamilies::V6Only));
    let h = r.unwrap();
    assert_eq!(ips(&h), ["2001:db8::1"]);
    assert!(!h.dual_stack);
}

#[test]
fn loopback_refused_unless_allowed() {
    let zone = "mx.example.com A 127.0.0.1\nmx.example.com AAAA ::1\n\
                other.example.com A 0.0.0.0\nother.example.com A 192.0.2.7\n\
                mapped.example.com AAAA ::ffff:127.0.0.2";
    let (r, _) = host(zone, "mx.example.com", AddressPolicy::default());
    assert_eq!(
        r,
        Err("mx.example.com resolves only to refused addresses (::1: loopback address)".into())
    );
    let (r, _) = host(zone, "mapped.example.com", AddressPolicy::default());
    assert!(r.unwrap_err().contains("loopback address"));
    let allow = AddressPolicy {
        allow_loopback: true,
        ..AddressPolicy::default()
    };
    let (r, _) = host(zone, "mx.example.com", allow);
    assert_eq!(ips(&r.unwrap()), ["::1", "127.0.0.1"]);
    // Unspecified is refused even when loopback is allowed; the rest is used.
    let (r, _) = host(zone, "other.example.com", allow);
    let h = r.unwrap();
    assert_eq!(ips(&h), ["192.0.2.7"]);
    assert_eq!(
        h.refused,
        vec![("0.0.0.0".parse().unwrap(), "unspecified address")]
    );
}

#[test]
fn address_failures_and_authenticity() {
    // One family failing: the other is used, but not authentic.
    let zone = "mx.example.com A 192.0.2.1\nmx.example.com AAAA !timeout";
    let (r, _) = host(zone, "mx.example.com", AddressPolicy::default());
    let h = r.unwrap();
    assert_eq!(ips(&h), ["192.0.2.1"]);
    assert!(!h.authentic);
    // Both failing: temporary error naming both.
    let (r, _) = host(
        "mx.example.com * !servfail",
        "mx.example.com",
        AddressPolicy::default(),
    );
    assert_eq!(
        r,
        Err(format!(
            "AAAA lookup of mx.example.com: {0}; A lookup of mx.example.com: {0}",
            Failure::ServFail
        ))
    );
    let (r, _) = host("", "mx.example.com", AddressPolicy::default());
    assert_eq!(r, Err("mx.example.com has no address records".into()));
    // Insecure zone: addresses used, not authentic; CNAME target recorded.
    let (r, _) = host(
        "insecure example.net\nmx.example.com CNAME mx.example.net\nmx.example.net A 192.0.2.3",
        "mx.example.com",
        AddressPolicy::default(),
    );
    let h = r.unwrap();
    assert_eq!(h.canonical, "mx.example.net");
    assert!(!h.authentic);
}

#[test]
fn host_lookup_deadline_uses_what_arrived() {
    let t0 = Instant::now();
    let mut ev = HostLookup::new("mx.example.com", AddressPolicy::default());
    let Poll::Lookup(id6, _) = ev.poll(t0) else {
        panic!()
    };
    let Poll::Lookup(id4, q) = ev.poll(t0) else {
        panic!()
    };
    assert_eq!(q.to_string(), "mx.example.com A");
    assert_eq!(ev.poll(t0), Poll::Pending);
    let zone = Zone::parse("mx.example.com A 192.0.2.1").unwrap();
    ev.handle_answer(t0, id4, zone.answer(&q));
    // A repeated or unknown id is ignored.
    ev.handle_answer(t0, id4, zone.answer(&q));
    ev.handle_answer(t0, moxide_proto::dns::LookupId(99), zone.answer(&q));
    assert_eq!(ev.poll(t0), Poll::Pending);
    let d = ev.deadline().unwrap();
    let Poll::Ready(Ok(h)) = ev.poll(d) else {
        panic!()
    };
    assert_eq!(ips(&h), ["192.0.2.1"]);
    assert!(!h.authentic);
    let _ = id6;
}
