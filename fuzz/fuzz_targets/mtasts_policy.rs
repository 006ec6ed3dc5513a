//! Parses arbitrary bytes as an MTA-STS TXT record and as a policy file. A
//! policy that parses must print as a policy that parses to itself, and MX
//! matching must not panic on any host name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moxide_proto::mtasts;

fuzz_target!(|data: &[u8]| {
    let _ = mtasts::parse(&String::from_utf8_lossy(data));
    if let Ok(p) = mtasts::parse_policy(data) {
        let printed = p.to_string();
        // CRLF line ends can make the printed form longer than the input.
        if printed.len() <= mtasts::MAX_POLICY_SIZE {
            let again = mtasts::parse_policy(printed.as_bytes()).expect("printed policy parses");
            assert_eq!(again, p);
        }
        let _ = p.mx_allowed(&String::from_utf8_lossy(data));
    }
});
