//! Cost of a lookup answered from the stub resolver's cache, and of
//! decoding a typical response.
//!
//! Run: `cargo bench -p moxide-proto --bench dns_cache`.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, Record};
use moxide_proto::dns::message::{decode_response, encode_query};
use moxide_proto::dns::{Lookup, Query, RecordType, Resolver, ResolverConfig};

fn response(query: &[u8], name: &str) -> Vec<u8> {
    let q = Message::from_vec(query).expect("query");
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_available = true;
    m.add_queries(q.queries.clone());
    m.add_answer(Record::from_rdata(
        Name::from_ascii(name).expect("name"),
        3600,
        RData::TXT(TXT::new(vec![
            "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net -all".into(),
        ])),
    ));
    m.to_vec().expect("encode")
}

fn main() {
    let server: SocketAddr = "192.0.2.53:53".parse().expect("addr");
    let mut n = 0u64;
    let mut r = Resolver::new(
        ResolverConfig::with_servers(vec![server]),
        Box::new(move || {
            n += 1;
            n
        }),
    );
    let t0 = Instant::now();
    // Fill the cache with 1,000 names (about 400 KB of the 1 MiB limit).
    let names: Vec<String> = (0..1000).map(|i| format!("host{i}.example.com")).collect();
    for name in &names {
        r.lookup(t0, Query::new(name.as_str(), RecordType::Txt));
        let t = r.poll_transmit().expect("transmit");
        r.handle_udp(t0, server, &response(&t.bytes, name));
        assert!(matches!(r.poll_answer(), Some((_, Lookup::Records(_)))));
    }
    println!("cache: {} entries, {} bytes", names.len(), r.cache_bytes());

    let rounds = 1_000_000u32;
    let start = Instant::now();
    for i in 0..rounds {
        let name = &names[(i as usize * 7) % names.len()];
        r.lookup(
            t0 + Duration::from_secs(1),
            Query::new(name.as_str(), RecordType::Txt),
        );
        black_box(r.poll_answer());
    }
    let el = start.elapsed();
    println!(
        "cached lookup: {:.0} ns each ({:.2} M/s)",
        el.as_nanos() as f64 / f64::from(rounds),
        f64::from(rounds) / el.as_secs_f64() / 1e6
    );

    let q = Query::new("host1.example.com", RecordType::Txt);
    let (sent, query) = encode_query(&q, 7, None).expect("query");
    let resp = response(&query, "host1.example.com");
    let rounds = 200_000u32;
    let start = Instant::now();
    for _ in 0..rounds {
        black_box(decode_response(&sent, black_box(&resp)).expect("decodes"));
    }
    let el = start.elapsed();
    println!(
        "decode response ({} bytes): {:.0} ns each",
        resp.len(),
        el.as_nanos() as f64 / f64::from(rounds)
    );
}
