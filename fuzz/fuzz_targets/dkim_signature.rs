//! Parses arbitrary bytes as a DKIM-Signature value, and verifies arbitrary
//! bytes as a message (keys answered from a small zone): no input may
//! panic, and a parsed signature keeps the rules RFC 6376 3.5 sets.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use moxide_proto::dkim::{Canon, Signature, Verifier, canonical_body};
use moxide_proto::dns::{Zone, run};

fuzz_target!(|data: &[u8]| {
    if let Ok(sig) = Signature::parse(data) {
        assert!(
            sig.signed_headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case("from"))
        );
        assert!(!sig.signature.is_empty() && !sig.body_hash.is_empty());
        if let (Some(t), Some(x)) = (sig.timestamp, sig.expiration) {
            assert!(x > t);
        }
        let idom = sig.identity_domain();
        assert!(idom == sig.domain || idom.ends_with(&format!(".{}", sig.domain)));
    }
    let mut zone = Zone::new();
    zone.add_txt(
        "brisbane._domainkey.football.example.com",
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    );
    let (v, _) = run(&mut Verifier::new(data, 0), &zone, Instant::now());
    let _ = v.status();
    for canon in [Canon::Simple, Canon::Relaxed] {
        let mut n = 0usize;
        canonical_body(data, canon, &mut |p| n += p.len());
    }
});
