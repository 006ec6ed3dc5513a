//! Feeds arbitrary bytes to the stub resolver as the response to an open
//! query (over UDP and over TCP), with the query's id patched in so the
//! decoder gets past the header check. Nothing may panic; the lookup ends
//! with exactly one answer or stays open.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use moxide_proto::dns::message::{decode_response, encode_query};
use moxide_proto::dns::{Query, RecordType, Resolver, ResolverConfig};

fuzz_target!(|data: &[u8]| {
    let mut bytes = data.to_vec();
    if bytes.len() >= 2 {
        bytes[0] = 0x12;
        bytes[1] = 0x34;
    }
    let q = Query::new("example.com", RecordType::Txt);
    let (sent, _) = encode_query(&q, 0x1234, None).expect("query encodes");
    let _ = decode_response(&sent, data);
    let _ = decode_response(&sent, &bytes);

    let server: SocketAddr = "192.0.2.53:53".parse().expect("address");
    let now = Instant::now();
    let mut r = Resolver::new(
        ResolverConfig::with_servers(vec![server]),
        Box::new(|| 0x1234),
    );
    let h = r.lookup(now, q.clone());
    while r.poll_transmit().is_some() {}
    r.handle_udp(now, server, &bytes);
    // After a truncation the TCP query is open with the same id.
    r.handle_tcp(now, server, &bytes);
    r.handle_timeout(now + Duration::from_secs(60));
    let answers: Vec<_> = std::iter::from_fn(|| r.poll_answer()).collect();
    assert!(answers.len() <= 1);
    assert!(answers.iter().all(|(handle, _)| *handle == h));
});
