//! DKIM speed: verification of a 10 KB message (RSA-2048 and ed25519, key
//! answered from a Zone), signing, and body hashing alone. Target (issue 6):
//! RSA-2048 verification of a 10 KB message at 10,000/s or more on one core.
//!
//! Run: `cargo bench -p moxide-proto --bench dkim`

#[path = "../tests/dkim_keys/mod.rs"]
mod dkim_keys;

use std::hint::black_box;
use std::time::{Duration, Instant};

use moxide_proto::dkim::HashAlgorithm;
use moxide_proto::dkim::{Canon, PrivateKey, Signer, SignerSelector, Status, Verifier, body_hash};
use moxide_proto::dns::{Zone, run};
use ring::rand::SystemRandom;

/// A plain-text message of about 10 KB.
fn message() -> Vec<u8> {
    let mut m = String::from(
        "From: Joe <joe@example.org>\r\nTo: Suzie <suzie@example.net>\r\n\
Subject: the report\r\nDate: Mon, 30 Nov 2026 05:00:00 +0000\r\n\
Message-ID: <bench@example.org>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\r\n",
    );
    let line = "The quick brown fox jumps over the lazy dog,  again\tand again.\r\n";
    while m.len() < 10 * 1024 {
        m.push_str(line);
    }
    m.into_bytes()
}

/// Runs `f` repeatedly for about `dur` and prints operations per second.
fn bench(name: &str, dur: Duration, mut f: impl FnMut()) {
    for _ in 0..10 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < dur {
        for _ in 0..50 {
            f();
        }
        n += 50;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name:<44} {:>10.0}/s  {:>8.2} µs/op",
        n as f64 / secs,
        secs * 1e6 / n as f64
    );
}

fn main() {
    let rng = SystemRandom::new();
    let msg = message();
    let rsa = PrivateKey::from_pem(dkim_keys::RSA2048.as_bytes()).expect("rsa key");
    let ed = PrivateKey::ed25519_from_seed(&dkim_keys::ED25519_SEED).expect("ed key");
    let mut zone = Zone::new();
    zone.add_txt("rsa._domainkey.example.org", &rsa.dns_record());
    zone.add_txt("ed._domainkey.example.org", &ed.dns_record());
    let rsa_signer = Signer::new(vec![SignerSelector::new("example.org", "rsa", rsa)]);
    let ed_signer = Signer::new(vec![SignerSelector::new("example.org", "ed", ed)]);
    let now = 1_800_000_000;
    let sign = |s: &Signer| {
        let h = s.sign(&msg, now, &rng).expect("sign");
        let mut m = h.into_bytes();
        m.extend_from_slice(&msg);
        m
    };
    let rsa_msg = sign(&rsa_signer);
    let ed_msg = sign(&ed_signer);
    let t0 = Instant::now();
    let check = |m: &[u8]| {
        let (v, _) = run(&mut Verifier::new(m, now), &zone, t0);
        assert_eq!(v.results[0].status, Status::Pass);
    };
    check(&rsa_msg);
    check(&ed_msg);
    let dur = Duration::from_secs(2);
    println!("message size {} bytes", rsa_msg.len());
    bench("verify rsa-sha256 2048, relaxed/relaxed", dur, || {
        check(black_box(&rsa_msg))
    });
    bench("verify ed25519-sha256, relaxed/relaxed", dur, || {
        check(black_box(&ed_msg))
    });
    bench("sign rsa-sha256 2048", dur, || {
        black_box(rsa_signer.sign(black_box(&msg), now, &rng).expect("sign"));
    });
    bench("sign ed25519-sha256", dur, || {
        black_box(ed_signer.sign(black_box(&msg), now, &rng).expect("sign"));
    });
    for canon in [Canon::Simple, Canon::Relaxed] {
        bench(&format!("body hash sha256 {}", canon.as_str()), dur, || {
            black_box(body_hash(
                black_box(&msg),
                canon,
                HashAlgorithm::Sha256,
                None,
            ));
        });
    }
}
