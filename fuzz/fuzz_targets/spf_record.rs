//! SPF record parsing and macro expansion (RFC 7208 4.6, 7) on arbitrary
//! bytes: never a panic; a record that parses has only known terms; an
//! expanded domain name is never longer than 253 octets unless it is one
//! label.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moxide_proto::spf::{MacroContext, MacroString, Record, is_spf_record};

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = Record::parse(data) {
        assert!(is_spf_record(data));
        for d in &record.directives {
            assert!(!d.text.is_empty() && !d.text.contains(' '));
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ctx = MacroContext {
        sender: "strong-bad@email.example.com",
        local: "strong-bad",
        sender_domain: "email.example.com",
        domain: "email.example.com",
        ip: "2001:db8::cb01".parse().expect("ip"),
        helo: "mx.example.org",
        validated: "unknown",
        receiver: "mx.example.net",
        timestamp: 1_700_000_000,
    };
    for explain in [false, true] {
        if let Ok(m) = MacroString::parse(text, explain) {
            let _ = m.expand(&ctx);
            let name = m.expand_domain(&ctx);
            assert!(name.len() <= 253 || !name.contains('.'));
        }
    }
});
