//! Parses arbitrary text as a TLSRPT record; a record that parses must
//! print as a record that parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moxide_proto::tlsrpt;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = tlsrpt::parse(&String::from_utf8_lossy(data)) {
        assert_eq!(tlsrpt::parse(&r.to_string()), Ok(r));
    }
});
