//! Parses arbitrary bytes as a client command, in both syntax contexts.
//! A command that parses must encode and parse back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moxide_proto::imap::cmd::parse_command;
use moxide_proto::imap::core::Ctx;

fuzz_target!(|data: &[u8]| {
    for ctx in [Ctx::REV1, Ctx::UTF8] {
        if let Ok((n, cmd)) = parse_command(data, ctx) {
            assert!(n <= data.len());
            let mut out = Vec::new();
            cmd.encode(&mut out, ctx);
            let (m, again) = parse_command(&out, ctx).expect("encoded command parses");
            assert_eq!(m, out.len());
            assert_eq!(again, cmd);
        }
    }
});
