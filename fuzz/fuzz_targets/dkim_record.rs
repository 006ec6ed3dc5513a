//! Parses arbitrary bytes as a DKIM key record (RFC 6376 3.6.1) and as
//! public key data: no input may panic; RSA keys that parse are 1024 to
//! 8192 bits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moxide_proto::dkim::{KeyRecord, PublicKey, rsa_modulus_bits};

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = KeyRecord::parse(data) {
        if let Some(PublicKey::Rsa { n, .. }) = &rec.public_key {
            let bits = rsa_modulus_bits(n);
            assert!((1024..=8192).contains(&bits));
        }
    }
    for k in ["rsa", "ed25519"] {
        let _ = PublicKey::parse(k, data);
    }
});
