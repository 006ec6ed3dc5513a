//! Parses arbitrary bytes as a server response, in both syntax contexts.
//! A response that parses must encode and parse back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moxide_proto::imap::core::Ctx;
use moxide_proto::imap::resp::parse_response;

fuzz_target!(|data: &[u8]| {
    for ctx in [Ctx::REV1, Ctx::UTF8] {
        if let Ok((n, resp)) = parse_response(data, ctx) {
            assert!(n <= data.len());
            let mut out = Vec::new();
            resp.encode(&mut out, ctx);
            let (m, again) = parse_response(&out, ctx).expect("encoded response parses");
            assert_eq!(m, out.len());
            assert_eq!(again, resp);
        }
    }
});
