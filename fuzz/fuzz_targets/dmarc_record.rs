//! Parses arbitrary text as a DMARC record. A record that parses must print
//! (Display) as a record that parses back to the same policy values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moxide_proto::dmarc;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(r) = dmarc::parse(&text) {
        let again = dmarc::parse(&r.to_string()).expect("printed record parses");
        assert_eq!(
            (again.policy, again.subdomain_policy, again.pct),
            (r.policy, r.subdomain_policy, r.pct)
        );
        assert_eq!((again.adkim, again.aspf, again.ri), (r.adkim, r.aspf, r.ri));
        assert_eq!(again.rua.len(), r.rua.len());
    }
    let _ = dmarc::organizational_domain(&text);
});
