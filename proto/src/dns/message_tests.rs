use super::*;
use crate::dns::test_wire::*;
use hickory_proto::rr::rdata::TLSA;
use std::net::{Ipv4Addr, Ipv6Addr};

fn query(name: &str, rtype: RecordType, id: u16) -> (SentQuery, Vec<u8>) {
    encode_query(&Query::new(name, rtype), id, None).unwrap()
}

fn decode(sent: &SentQuery, m: &Message) -> Result<Reply, Ignored> {
    decode_response(sent, &bytes(m))
}

#[test]
fn query_bytes_rd_edns_do() {
    let (sent, b) = query("example.com", RecordType::Mx, 0x1234);
    let expected: Vec<u8> = [
        &[0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1][..],
        b"\x07example\x03com\x00",
        &[0, 15, 0, 1],
        // OPT: root name, type 41, payload 1232, ext-rcode 0, version 0,
        // flags DO, no options.
        &[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0],
    ]
    .concat();
    assert_eq!(b, expected);
    assert_eq!(sent.id, 0x1234);
    assert_eq!(sent.rtype, RecordType::Mx);
}

#[test]
fn case_randomisation_is_seeded_and_must_be_echoed() {
    let (sent, b) =
        encode_query(&Query::new("abcdefgh.example", RecordType::A), 7, Some(42)).unwrap();
    let (_, again) =
        encode_query(&Query::new("abcdefgh.example", RecordType::A), 7, Some(42)).unwrap();
    assert_eq!(b, again, "the same seed gives the same pattern");
    let sent_name = b.get(13..21).unwrap().to_vec();
    assert_ne!(sent_name, b"abcdefgh".to_vec(), "some letters flipped");
    assert_eq!(sent_name.to_ascii_lowercase(), b"abcdefgh".to_vec());
    // The echo with the same case is accepted …
    let mut ok = response_to(&b);
    ok.add_answer(a("abcdefgh.example", 60, [192, 0, 2, 1]));
    assert!(matches!(decode(&sent, &ok), Ok(Reply::Final { .. })));
    // … a lower-cased echo is not (draft-vixie-dnsext-dns0x20).
    let lower = rcode(
        response_to(&query("abcdefgh.example", RecordType::A, 7).1),
        ResponseCode::NoError,
    );
    assert_eq!(decode(&sent, &lower), Err(Ignored::WrongQuestion));
}

#[test]
fn question_compared_case_insensitively_without_0x20() {
    let (sent, _) = query("example.com", RecordType::A, 9);
    let (_, upper) = query("EXAMPLE.com", RecordType::A, 9);
    let mut m = response_to(&upper);
    m.add_answer(a("Example.COM", 60, [192, 0, 2, 1]));
    let Ok(Reply::Final { lookup, cache_ttl }) = decode(&sent, &m) else {
        panic!()
    };
    assert_eq!(cache_ttl, 60);
    assert_eq!(lookup.data(), &[Rdata::A(Ipv4Addr::new(192, 0, 2, 1))]);
}

#[test]
fn records_of_each_type() {
    let cases: Vec<(RecordType, Record, Rdata)> = vec![
        (
            RecordType::Aaaa,
            aaaa("h.example", 60, "2001:db8::1".parse().unwrap()),
            Rdata::Aaaa("2001:db8::1".parse::<Ipv6Addr>().unwrap()),
        ),
        (
            RecordType::Mx,
            mx("h.example", 60, 10, "Mail.Example"),
            Rdata::Mx {
                preference: 10,
                exchange: "mail.example".into(),
            },
        ),
        (
            RecordType::Txt,
            txt("h.example", 60, &[b"v=spf1 ", b"-all"]),
            Rdata::Txt(vec![b"v=spf1 ".to_vec(), b"-all".to_vec()]),
        ),
        (
            RecordType::Tlsa,
            rr(
                "h.example",
                60,
                RData::TLSA(TLSA::new(3.into(), 1.into(), 1.into(), vec![0xab, 0xcd])),
            ),
            Rdata::Tlsa {
                usage: 3,
                selector: 1,
                matching: 1,
                data: vec![0xab, 0xcd],
            },
        ),
        (
            RecordType::Ptr,
            ptr("h.example", 60, "host.example"),
            Rdata::Ptr("host.example".into()),
        ),
        (
            RecordType::Ns,
            ns("h.example", 60, "ns1.example"),
            Rdata::Ns("ns1.example".into()),
        ),
    ];
    for (rtype, record, want) in cases {
        let (sent, b) = query("h.example", rtype, 1);
        let mut m = response_to(&b);
        m.add_answer(record);
        let reply = decode(&sent, &m).unwrap();
        assert_eq!(
            reply,
            Reply::Final {
                lookup: Lookup::Records(Records {
                    canonical: "h.example".into(),
                    data: vec![want],
                    ttl: 60,
                    authentic: false,
                }),
                cache_ttl: 60,
            },
            "{rtype}"
        );
    }
}

#[test]
fn cname_chain_in_answer_min_ttl_and_ad() {
    let (sent, b) = query("www.example", RecordType::A, 2);
    let mut m = response_to(&b);
    m.metadata.authentic_data = true;
    m.add_answer(cname("www.example", 300, "web.example"));
    m.add_answer(cname("web.example", 120, "host.example"));
    m.add_answer(a("host.example", 600, [192, 0, 2, 7]));
    m.add_answer(a("host.example", 500, [192, 0, 2, 8]));
    // Unrelated records are not part of the answer.
    m.add_answer(a("other.example", 5, [192, 0, 2, 9]));
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::Final {
            lookup: Lookup::Records(Records {
                canonical: "host.example".into(),
                data: vec![
                    Rdata::A(Ipv4Addr::new(192, 0, 2, 7)),
                    Rdata::A(Ipv4Addr::new(192, 0, 2, 8))
                ],
                ttl: 120,
                authentic: true,
            }),
            cache_ttl: 120,
        }
    );
    // Asking for the CNAME itself gives the CNAME.
    let (sent, b) = query("www.example", RecordType::Cname, 3);
    let mut m = response_to(&b);
    m.add_answer(cname("www.example", 300, "web.example"));
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::Final {
            lookup: Lookup::Records(Records {
                canonical: "www.example".into(),
                data: vec![Rdata::Cname("web.example".into())],
                ttl: 300,
                authentic: false,
            }),
            cache_ttl: 300,
        }
    );
}

#[test]
fn cname_loop_and_unfinished_chain() {
    let (sent, b) = query("x.example", RecordType::A, 4);
    let mut m = response_to(&b);
    m.add_answer(cname("x.example", 60, "y.example"));
    m.add_answer(cname("y.example", 60, "x.example"));
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::Final {
            lookup: Lookup::Failed(Failure::CnameLoop),
            cache_ttl: 0
        }
    );
    let mut m = response_to(&b);
    m.add_answer(cname("x.example", 60, "y.example"));
    m.add_answer(cname("y.example", 30, "elsewhere.test"));
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::Alias {
            target: "elsewhere.test".into(),
            hops: 2,
            ttl: 30,
            authentic: false
        }
    );
    // With an SOA the chain ends in NODATA at the target (RFC 2308 2.2).
    m.add_authority(soa("test", 900, 100));
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::Final {
            lookup: Lookup::NoData { authentic: false },
            cache_ttl: 30
        }
    );
}

#[test]
fn nxdomain_and_nodata_with_negative_ttl() {
    let (sent, b) = query("nope.example", RecordType::Txt, 5);
    let mut m = rcode(response_to(&b), ResponseCode::NXDomain);
    m.metadata.authentic_data = true;
    m.add_authority(soa("example", 3600, 300));
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::Final {
            lookup: Lookup::NxDomain { authentic: true },
            cache_ttl: 300
        }
    );
    let mut m = response_to(&b);
    m.add_authority(soa("example", 200, 300));
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::Final {
            lookup: Lookup::NoData { authentic: false },
            cache_ttl: 200
        }
    );
    // Without SOA: not cacheable.
    let m = response_to(&b);
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::Final {
            lookup: Lookup::NoData { authentic: false },
            cache_ttl: 0
        }
    );
    // Records of another type at the name: NODATA.
    let mut m = response_to(&b);
    m.add_answer(a("nope.example", 60, [192, 0, 2, 1]));
    m.add_authority(soa("example", 60, 60));
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::Final {
            lookup: Lookup::NoData { authentic: false },
            cache_ttl: 60
        }
    );
}

#[test]
fn server_errors_truncation_and_referral() {
    let (sent, b) = query("h.example", RecordType::A, 6);
    let err = |code| decode(&sent, &rcode(response_to(&b), code)).unwrap();
    assert_eq!(
        err(ResponseCode::ServFail),
        Reply::ServerError(ServerError::ServFail)
    );
    assert_eq!(
        err(ResponseCode::Refused),
        Reply::ServerError(ServerError::Refused)
    );
    assert_eq!(
        err(ResponseCode::FormErr),
        Reply::ServerError(ServerError::Rcode(1))
    );
    assert_eq!(
        ServerError::Rcode(1).failure(),
        Failure::Malformed("nameserver answered with RCODE 1".into())
    );
    // An error response without a question is still ours.
    let mut m = rcode(response_to(&b), ResponseCode::Refused);
    m.queries.clear();
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::ServerError(ServerError::Refused)
    );
    let mut m = response_to(&b);
    m.metadata.truncation = true;
    assert_eq!(decode(&sent, &m).unwrap(), Reply::Truncated);
    // A truncated message cut in the middle of a record.
    let mut m = response_to(&b);
    m.metadata.truncation = true;
    m.add_answer(txt("h.example", 60, &[&[b'x'; 200]]));
    let cut = bytes(&m);
    assert_eq!(
        decode_response(&sent, cut.get(..cut.len() - 50).unwrap()),
        Ok(Reply::Truncated)
    );
    // No answer, no SOA, no recursion, not authoritative: a referral.
    let mut m = response_to(&b);
    m.metadata.recursion_available = false;
    m.add_authority(ns("example", 60, "ns.example"));
    assert_eq!(
        decode(&sent, &m).unwrap(),
        Reply::ServerError(ServerError::LameReferral)
    );
}

#[test]
fn mismatches_are_ignored() {
    let (sent, b) = query("h.example", RecordType::A, 0x0101);
    assert_eq!(decode_response(&sent, &b[..11]), Err(Ignored::TooShort));
    assert_eq!(decode_response(&sent, &[]), Err(Ignored::TooShort));
    let mut m = response_to(&b);
    m.metadata.id = 0x0102;
    assert_eq!(decode(&sent, &m), Err(Ignored::WrongId));
    // Our own query echoed back.
    assert_eq!(decode_response(&sent, &b), Err(Ignored::NotResponse));
    let mut m = response_to(&b);
    m.metadata.op_code = OpCode::Status;
    assert_eq!(decode(&sent, &m), Err(Ignored::WrongOpcode));
    let (_, other_type) = query("h.example", RecordType::Aaaa, 0x0101);
    assert_eq!(
        decode(&sent, &response_to(&other_type)),
        Err(Ignored::WrongQuestion)
    );
    let (_, other_name) = query("g.example", RecordType::A, 0x0101);
    assert_eq!(
        decode(&sent, &response_to(&other_name)),
        Err(Ignored::WrongQuestion)
    );
    let mut m = response_to(&b);
    m.queries.clear();
    assert_eq!(decode(&sent, &m), Err(Ignored::WrongQuestion));
    // Our id, garbage after the header: a malformed answer from the server.
    let mut bad = bytes(&response_to(&b));
    bad.truncate(20);
    let Ok(Reply::ServerError(ServerError::Malformed(msg))) = decode_response(&sent, &bad) else {
        panic!()
    };
    assert!(msg.starts_with("undecodable response"), "{msg}");
}

#[test]
fn text_names_escape_odd_bytes() {
    let n = Name::from_labels(vec![&b"A.b"[..], &b"x y"[..], &b"Com"[..]]).unwrap();
    assert_eq!(text_name(&n), "a\\046b.x\\032y.com");
    assert_eq!(text_name(&Name::root()), "");
}
