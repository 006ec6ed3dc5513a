use super::*;
use crate::dns::test_wire::*;
use crate::dns::{Rdata, RecordType, Records};
use hickory_proto::op::{Message, ResponseCode};
use std::net::Ipv4Addr;
use std::time::Duration;

const S1: &str = "192.0.2.53:53";
const S2: &str = "[2001:db8::53]:53";

fn s1() -> SocketAddr {
    S1.parse().unwrap()
}
fn s2() -> SocketAddr {
    S2.parse().unwrap()
}

/// Ids 1, 2, 3, … (distinct, so tests can tell sends apart).
fn counter() -> Random {
    let mut n = 0u64;
    Box::new(move || {
        n += 1;
        n
    })
}

fn resolver(servers: &[SocketAddr]) -> Resolver {
    Resolver::new(ResolverConfig::with_servers(servers.to_vec()), counter())
}

fn q(name: &str, rtype: RecordType) -> Query {
    Query::new(name, rtype)
}

fn transmits(r: &mut Resolver) -> Vec<Transmit> {
    std::iter::from_fn(|| r.poll_transmit()).collect()
}

fn answers(r: &mut Resolver) -> Vec<(LookupHandle, Lookup)> {
    std::iter::from_fn(|| r.poll_answer()).collect()
}

fn one_transmit(r: &mut Resolver) -> Transmit {
    let mut t = transmits(r);
    assert_eq!(t.len(), 1, "{t:?}");
    t.remove(0)
}

fn a_answer(t: &Transmit, owner: &str, ttl: u32, ip: [u8; 4]) -> Vec<u8> {
    let mut m = response_to(&t.bytes);
    m.add_answer(a(owner, ttl, ip));
    bytes(&m)
}

fn records(canonical: &str, data: Vec<Rdata>, ttl: u32, authentic: bool) -> Lookup {
    Lookup::Records(Records {
        canonical: canonical.into(),
        data,
        ttl,
        authentic,
    })
}

fn ip(b: [u8; 4]) -> Rdata {
    Rdata::A(Ipv4Addr::from(b))
}

#[test]
fn answer_then_cache_hit_with_decreasing_ttl() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1()]);
    let h = r.lookup(t0, q("Mail.Example.", RecordType::A));
    let t = one_transmit(&mut r);
    assert_eq!((t.server, t.transport, t.id), (s1(), Transport::Udp, 1));
    assert_eq!(&t.bytes[..2], &[0, 1]);
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_millis(2500)));
    assert!(r.is_waiting(s1(), 1));
    r.handle_udp(t0, s1(), &a_answer(&t, "mail.example", 300, [192, 0, 2, 1]));
    assert!(!r.is_waiting(s1(), 1));
    assert_eq!(
        answers(&mut r),
        vec![(
            h,
            records("mail.example", vec![ip([192, 0, 2, 1])], 300, false)
        )]
    );
    assert_eq!(r.poll_timeout(), None);
    assert!(r.cache_bytes() > 0);
    // Cached: no transmit, TTL counts down.
    let h2 = r.lookup(
        t0 + Duration::from_secs(100),
        q("mail.example", RecordType::A),
    );
    assert!(transmits(&mut r).is_empty());
    assert_eq!(
        answers(&mut r),
        vec![(
            h2,
            records("mail.example", vec![ip([192, 0, 2, 1])], 200, false)
        )]
    );
    // Expired: asked again.
    r.lookup(
        t0 + Duration::from_secs(300),
        q("mail.example", RecordType::A),
    );
    assert_eq!(transmits(&mut r).len(), 1);
    assert_eq!(r.cache_bytes(), 0);
}

#[test]
fn identical_lookups_share_one_query() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1()]);
    let h1 = r.lookup(t0, q("x.example", RecordType::Txt));
    let h2 = r.lookup(t0, q("X.EXAMPLE", RecordType::Txt));
    let h3 = r.lookup(t0, q("x.example", RecordType::A));
    let t = transmits(&mut r);
    assert_eq!(t.len(), 2, "TXT once, A once");
    let mut m = response_to(&t[0].bytes);
    m.add_answer(txt("x.example", 60, &[b"one", b"two"]));
    r.handle_udp(t0, s1(), &bytes(&m));
    let want = records(
        "x.example",
        vec![Rdata::Txt(vec![b"one".to_vec(), b"two".to_vec()])],
        60,
        false,
    );
    assert_eq!(answers(&mut r), vec![(h1, want.clone()), (h2, want)]);
    assert_ne!(h3, h1);
}

#[test]
fn mismatched_duplicate_and_late_replies_ignored() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1()]);
    let h = r.lookup(t0, q("h.example", RecordType::A));
    let t = one_transmit(&mut r);
    let good = a_answer(&t, "h.example", 60, [192, 0, 2, 1]);
    // From another address.
    r.handle_udp(t0, s2(), &good);
    // Wrong id.
    let mut m = response_to(&t.bytes);
    m.metadata.id = t.id.wrapping_add(1);
    r.handle_udp(t0, s1(), &bytes(&m));
    // Wrong question.
    let other = crate::dns::message::encode_query(&q("g.example", RecordType::A), t.id, None)
        .unwrap()
        .1;
    r.handle_udp(t0, s1(), &bytes(&response_to(&other)));
    // Over TCP although sent over UDP; garbage.
    r.handle_tcp(t0, s1(), &good);
    r.handle_udp(t0, s1(), b"\x00");
    assert!(answers(&mut r).is_empty());
    assert!(r.is_waiting(s1(), t.id));
    r.handle_udp(t0, s1(), &good);
    r.handle_udp(t0, s1(), &good);
    assert_eq!(
        answers(&mut r),
        vec![(h, records("h.example", vec![ip([192, 0, 2, 1])], 60, false))]
    );
}

#[test]
fn retries_rotate_servers_then_time_out() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1(), s2()]);
    let h = r.lookup(t0, q("slow.example", RecordType::A));
    // 5 s over 2 servers × 2 attempts: a send every 1.25 s.
    let step = Duration::from_millis(1250);
    let mut sent = vec![one_transmit(&mut r)];
    for i in 1..4 {
        let at = t0 + step * i;
        assert_eq!(r.poll_timeout(), Some(at));
        r.handle_timeout(at - Duration::from_millis(1));
        assert!(transmits(&mut r).is_empty(), "not before its time");
        r.handle_timeout(at);
        sent.push(one_transmit(&mut r));
    }
    let servers: Vec<SocketAddr> = sent.iter().map(|t| t.server).collect();
    assert_eq!(servers, vec![s1(), s2(), s1(), s2()]);
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    r.handle_timeout(t0 + Duration::from_millis(4999));
    assert!(answers(&mut r).is_empty());
    r.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(answers(&mut r), vec![(h, Lookup::Failed(Failure::Timeout))]);
    assert!(sent.iter().all(|t| !r.is_waiting(t.server, t.id)));
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn late_answer_to_an_earlier_send_is_accepted() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1(), s2()]);
    let h = r.lookup(t0, q("h.example", RecordType::A));
    let first = one_transmit(&mut r);
    r.handle_timeout(t0 + Duration::from_millis(1250));
    let second = one_transmit(&mut r);
    assert_eq!(second.server, s2());
    r.handle_udp(
        t0 + Duration::from_secs(2),
        s1(),
        &a_answer(&first, "h.example", 60, [192, 0, 2, 1]),
    );
    assert_eq!(answers(&mut r).len(), 1);
    assert!(!r.is_waiting(s2(), second.id));
    // The second server's answer now comes too late.
    r.handle_udp(
        t0 + Duration::from_secs(2),
        s2(),
        &a_answer(&second, "h.example", 60, [192, 0, 2, 2]),
    );
    assert!(answers(&mut r).is_empty());
    let _ = h;
}

#[test]
fn truncation_falls_back_to_tcp() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1()]);
    let h = r.lookup(t0, q("big.example", RecordType::Txt));
    let udp = one_transmit(&mut r);
    let mut m = response_to(&udp.bytes);
    m.metadata.truncation = true;
    r.handle_udp(t0, s1(), &bytes(&m));
    let tcp = one_transmit(&mut r);
    assert_eq!((tcp.server, tcp.transport), (s1(), Transport::Tcp));
    let len = u16::from_be_bytes([tcp.bytes[0], tcp.bytes[1]]);
    assert_eq!(usize::from(len), tcp.bytes.len() - 2);
    assert_eq!(&tcp.bytes[2..4], &tcp.id.to_be_bytes());
    // The UDP exchange is over; its id no longer counts.
    assert!(!r.is_waiting(s1(), udp.id));
    let big = vec![b'y'; 255];
    let mut m = response_to(&tcp.bytes);
    m.add_answer(txt(
        "big.example",
        60,
        &[&big, &big, &big, &big, &big, &big],
    ));
    let resp = bytes(&m);
    assert!(resp.len() > 1232);
    // Over UDP it would not count: the exchange is TCP.
    r.handle_udp(t0, s1(), &resp);
    assert!(answers(&mut r).is_empty());
    r.handle_tcp(t0, s1(), &resp);
    assert_eq!(
        answers(&mut r),
        vec![(
            h,
            records("big.example", vec![Rdata::Txt(vec![big; 6])], 60, false)
        )]
    );
}

#[test]
fn server_errors_move_on_at_once_and_end_with_the_error() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1(), s2()]);
    let h = r.lookup(t0, q("bad.example", RecordType::A));
    let t = one_transmit(&mut r);
    r.handle_udp(
        t0,
        s1(),
        &bytes(&rcode(response_to(&t.bytes), ResponseCode::ServFail)),
    );
    let t = one_transmit(&mut r);
    assert_eq!(t.server, s2());
    r.handle_udp(
        t0,
        s2(),
        &bytes(&rcode(response_to(&t.bytes), ResponseCode::ServFail)),
    );
    assert_eq!(
        answers(&mut r),
        vec![(h, Lookup::Failed(Failure::ServFail))]
    );
    assert!(transmits(&mut r).is_empty());
    // Failures are not cached.
    r.lookup(t0, q("bad.example", RecordType::A));
    assert_eq!(transmits(&mut r).len(), 1);

    // Refused by one, a socket error with the other.
    let mut r = resolver(&[s1(), s2()]);
    let h = r.lookup(t0, q("r.example", RecordType::A));
    let t = one_transmit(&mut r);
    r.handle_failed(t0, s1(), t.id, "connection refused");
    let t = one_transmit(&mut r);
    assert_eq!(t.server, s2());
    r.handle_udp(
        t0,
        s2(),
        &bytes(&rcode(response_to(&t.bytes), ResponseCode::Refused)),
    );
    assert_eq!(answers(&mut r), vec![(h, Lookup::Failed(Failure::Refused))]);
}

#[test]
fn error_from_one_server_waits_for_the_other() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1(), s2()]);
    let h = r.lookup(t0, q("e.example", RecordType::A));
    let first = one_transmit(&mut r);
    r.handle_timeout(t0 + Duration::from_millis(1250));
    let second = one_transmit(&mut r);
    // s2 fails fast; s1 is still in the air and answers later.
    r.handle_failed(
        t0 + Duration::from_millis(1300),
        s2(),
        second.id,
        "unreachable",
    );
    assert!(transmits(&mut r).len() <= 1);
    r.handle_udp(
        t0 + Duration::from_millis(1400),
        s1(),
        &a_answer(&first, "e.example", 60, [192, 0, 2, 5]),
    );
    assert_eq!(
        answers(&mut r),
        vec![(h, records("e.example", vec![ip([192, 0, 2, 5])], 60, false))]
    );
}

#[test]
fn cname_target_not_in_answer_is_asked_for() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1()]);
    let h = r.lookup(t0, q("www.example", RecordType::Aaaa));
    let t = one_transmit(&mut r);
    let mut m = response_to(&t.bytes);
    m.metadata.authentic_data = true;
    m.add_answer(cname("www.example", 100, "cdn.example.net"));
    r.handle_udp(t0, s1(), &bytes(&m));
    assert!(answers(&mut r).is_empty());
    let t = one_transmit(&mut r);
    let asked = Message::from_vec(&t.bytes).unwrap();
    assert_eq!(asked.queries[0].name().to_ascii(), "cdn.example.net.");
    let mut m = response_to(&t.bytes);
    m.add_answer(aaaa("cdn.example.net", 300, "2001:db8::7".parse().unwrap()));
    r.handle_udp(t0, s1(), &bytes(&m));
    // Not authentic: the second answer lacked AD. TTL: the CNAME's.
    assert_eq!(
        answers(&mut r),
        vec![(
            h,
            records(
                "cdn.example.net",
                vec![Rdata::Aaaa("2001:db8::7".parse().unwrap())],
                100,
                false
            )
        )]
    );
}

#[test]
fn cname_chain_longer_than_eight_fails() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1()]);
    let h = r.lookup(t0, q("c0.example", RecordType::A));
    for i in 0..9 {
        let t = one_transmit(&mut r);
        let mut m = response_to(&t.bytes);
        m.add_answer(cname(
            &format!("c{i}.example"),
            60,
            &format!("c{}.example", i + 1),
        ));
        r.handle_udp(t0, s1(), &bytes(&m));
    }
    assert_eq!(
        answers(&mut r),
        vec![(h, Lookup::Failed(Failure::CnameLoop))]
    );
    assert!(transmits(&mut r).is_empty());
}

#[test]
fn negative_answers_cached_by_soa_minimum_capped() {
    let t0 = Instant::now();
    let mut config = ResolverConfig::with_servers(vec![s1()]);
    config.max_negative_ttl = 600;
    let mut r = Resolver::new(config, counter());
    let h = r.lookup(t0, q("nx.example", RecordType::Mx));
    let t = one_transmit(&mut r);
    let mut m = rcode(response_to(&t.bytes), ResponseCode::NXDomain);
    m.metadata.authentic_data = true;
    m.add_authority(soa("example", 86400, 86400));
    r.handle_udp(t0, s1(), &bytes(&m));
    assert_eq!(
        answers(&mut r),
        vec![(h, Lookup::NxDomain { authentic: true })]
    );
    let h = r.lookup(
        t0 + Duration::from_secs(599),
        q("nx.example", RecordType::Mx),
    );
    assert!(transmits(&mut r).is_empty());
    assert_eq!(
        answers(&mut r),
        vec![(h, Lookup::NxDomain { authentic: true })]
    );
    r.lookup(
        t0 + Duration::from_secs(600),
        q("nx.example", RecordType::Mx),
    );
    assert_eq!(transmits(&mut r).len(), 1);

    // NODATA without SOA: not cached.
    let h = r.lookup(t0, q("nd.example", RecordType::Mx));
    let t = one_transmit(&mut r);
    r.handle_udp(t0, s1(), &bytes(&response_to(&t.bytes)));
    assert_eq!(
        answers(&mut r),
        vec![(h, Lookup::NoData { authentic: false })]
    );
    r.lookup(t0, q("nd.example", RecordType::Mx));
    assert_eq!(transmits(&mut r).len(), 1);
}

#[test]
fn rotate_starts_each_lookup_at_the_next_server() {
    let t0 = Instant::now();
    let mut config = ResolverConfig::with_servers(vec![s1(), s2()]);
    config.rotate = true;
    let mut r = Resolver::new(config, counter());
    let mut first = Vec::new();
    for name in ["a.example", "b.example", "c.example"] {
        r.lookup(t0, q(name, RecordType::A));
        first.push(one_transmit(&mut r).server);
    }
    assert_eq!(first, vec![s1(), s2(), s1()]);
}

#[test]
fn no_servers_and_bad_names_fail_at_once() {
    let t0 = Instant::now();
    let mut r = resolver(&[]);
    let h = r.lookup(t0, q("a.example", RecordType::A));
    assert_eq!(
        answers(&mut r),
        vec![(
            h,
            Lookup::Failed(Failure::Network("no nameserver configured".into()))
        )]
    );
    let mut r = resolver(&[s1()]);
    let h = r.lookup(t0, q("a..example", RecordType::A));
    assert_eq!(
        answers(&mut r),
        vec![(
            h,
            Lookup::Failed(Failure::Malformed(
                "\"a..example\": empty label in domain name".into()
            ))
        )]
    );
    assert!(transmits(&mut r).is_empty());
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn randomized_case_must_be_echoed() {
    let t0 = Instant::now();
    let mut config = ResolverConfig::with_servers(vec![s1()]);
    config.randomize_case = true;
    let mut r = Resolver::new(config, counter());
    let h = r.lookup(t0, q("abcdefghijkl.example", RecordType::A));
    let t = one_transmit(&mut r);
    let sent = Message::from_vec(&t.bytes).unwrap();
    let sent_name = sent.queries[0].name().to_ascii();
    assert_ne!(sent_name, "abcdefghijkl.example.");
    // A reply with the name lower-cased does not count.
    let plain =
        crate::dns::message::encode_query(&q("abcdefghijkl.example", RecordType::A), t.id, None)
            .unwrap()
            .1;
    r.handle_udp(
        t0,
        s1(),
        &a_answer(
            &Transmit {
                bytes: plain,
                ..t.clone()
            },
            "abcdefghijkl.example",
            60,
            [192, 0, 2, 1],
        ),
    );
    assert!(answers(&mut r).is_empty());
    r.handle_udp(
        t0,
        s1(),
        &a_answer(&t, "abcdefghijkl.example", 60, [192, 0, 2, 1]),
    );
    assert_eq!(
        answers(&mut r),
        vec![(
            h,
            records("abcdefghijkl.example", vec![ip([192, 0, 2, 1])], 60, false)
        )]
    );
}

#[test]
fn failed_tcp_fallback_moves_to_the_next_server_over_tcp() {
    let t0 = Instant::now();
    let mut r = resolver(&[s1(), s2()]);
    let h = r.lookup(t0, q("big.example", RecordType::Txt));
    let udp = one_transmit(&mut r);
    let mut m = response_to(&udp.bytes);
    m.metadata.truncation = true;
    r.handle_udp(t0, s1(), &bytes(&m));
    let tcp = one_transmit(&mut r);
    assert_eq!((tcp.server, tcp.transport), (s1(), Transport::Tcp));
    r.handle_failed(t0, s1(), tcp.id, "connection refused");
    let next = one_transmit(&mut r);
    assert_eq!((next.server, next.transport), (s2(), Transport::Tcp));
    let mut m = response_to(&next.bytes);
    m.add_answer(txt("big.example", 60, &[b"x"]));
    r.handle_tcp(t0, s2(), &bytes(&m));
    assert_eq!(
        answers(&mut r),
        vec![(
            h,
            records(
                "big.example",
                vec![Rdata::Txt(vec![b"x".to_vec()])],
                60,
                false
            )
        )]
    );
}
