use moxide_proto::dane::{DanePolicy, TlsaOutcome, Unusable, usable};
use moxide_proto::dns::Rdata;
use moxide_proto::mtasts::{Policy, parse_policy};

use super::*;

const HOST: &str = "mx.example.com";

fn policy(mode: &str) -> Policy {
    parse_policy(
        format!("version: STSv1\r\nmode: {mode}\r\nmx: *.example.com\r\nmax_age: 86400\r\n")
            .as_bytes(),
    )
    .unwrap()
}

fn dane() -> DanePolicy {
    let rec = usable(&Rdata::Tlsa {
        usage: 3,
        selector: 1,
        matching: 1,
        data: vec![0xab; 32],
    })
    .unwrap();
    DanePolicy {
        records: vec![rec],
        unusable: vec![],
        base_domain: HOST.into(),
        reference_names: vec![HOST.into()],
    }
}

fn inputs<'a>(
    mtasts: Option<&'a Policy>,
    tlsa: Option<&'a TlsaOutcome>,
    requiretls: Option<bool>,
) -> HostInputs<'a> {
    HostInputs {
        host: HOST,
        mx_authentic: false,
        mtasts,
        tlsa,
        requiretls,
        switches: TlsSwitches::default(),
    }
}

fn plan(d: HostDecision) -> HostPlan {
    match d {
        HostDecision::Connect(p) => p,
        HostDecision::Skip(s) => panic!("skipped: {s:?}"),
    }
}

fn skip(d: HostDecision) -> HostSkip {
    match d {
        HostDecision::Skip(s) => s,
        HostDecision::Connect(p) => panic!("connect: {p:?}"),
    }
}

const OPP: TlsPlan = TlsPlan {
    starttls: StartTlsMode::Opportunistic,
    verify: VerifyMode::Any,
};
const PLAIN: TlsPlan = TlsPlan {
    starttls: StartTlsMode::Never,
    verify: VerifyMode::Any,
};

fn pkix(starttls: StartTlsMode) -> TlsPlan {
    TlsPlan {
        starttls,
        verify: VerifyMode::Pkix {
            server_name: HOST.into(),
        },
    }
}

fn dane_plan(starttls: StartTlsMode) -> TlsPlan {
    TlsPlan {
        starttls,
        verify: VerifyMode::Dane {
            policy: dane(),
            server_name: HOST.into(),
        },
    }
}

#[test]
fn no_policy_is_opportunistic_with_plaintext_fallback() {
    let p = plan(decide(&inputs(None, None, None)));
    assert_eq!(p.tries, [OPP, PLAIN]);
    assert_eq!(p.domain_policy, TlsPolicyDescription::none());
    assert_eq!(p.host_policy, None);
    assert!(p.findings.is_empty());
    // Not DANE after a TLSA lookup: the same.
    let t = TlsaOutcome::NotDane("no TLSA records".into());
    assert_eq!(
        plan(decide(&inputs(None, Some(&t), None))).tries,
        [OPP, PLAIN]
    );
}

#[test]
fn dane_required_and_verified() {
    let t = TlsaOutcome::Dane(dane());
    let p = plan(decide(&inputs(None, Some(&t), None)));
    assert_eq!(p.tries, [dane_plan(StartTlsMode::Required)]);
    let (domain, desc) = p.host_policy.unwrap();
    assert_eq!(domain, HOST);
    assert_eq!(desc.policy_type, TlsPolicyType::Tlsa);
    assert_eq!(desc.policy_string, [format!("3 1 1 {}", "ab".repeat(32))]);
    // DANE wins over MTA-STS enforce; the domain result is still sts.
    let sts = policy("enforce");
    let p = plan(decide(&inputs(Some(&sts), Some(&t), None)));
    assert_eq!(p.tries, [dane_plan(StartTlsMode::Required)]);
    assert_eq!(p.domain_policy.policy_type, TlsPolicyType::Sts);
    // DANE switched off: the TLSA outcome is ignored.
    let mut i = inputs(None, Some(&t), None);
    i.switches.dane = false;
    assert_eq!(plan(decide(&i)).tries, [OPP, PLAIN]);
}

#[test]
fn dane_unusable_records_require_tls_unverified() {
    let t = TlsaOutcome::NoUsableRecords {
        name: "_25._tcp.mx.example.com".into(),
        unusable: vec![Unusable::PkixUsage(1)],
    };
    let p = plan(decide(&inputs(None, Some(&t), None)));
    assert_eq!(
        p.tries,
        [TlsPlan {
            starttls: StartTlsMode::Required,
            verify: VerifyMode::Any
        }]
    );
    assert_eq!(p.host_policy.as_ref().unwrap().0, HOST);
    assert_eq!(p.findings.len(), 1);
    let f = &p.findings[0];
    assert!(f.is_host);
    assert_eq!(f.detail.result_type, "tlsa-invalid");
    assert_eq!(f.detail.failure_reason_code, "all-unusable-records");
    assert_eq!(
        f.detail.additional_information,
        "usage 1 (PKIX-EE) is not usable for SMTP (RFC 7672 3.1.3)"
    );
    // Not enough for REQUIRETLS.
    let s = skip(decide(&inputs(None, Some(&t), Some(true))));
    assert!(s.requiretls_unmet);
}

#[test]
fn dane_temporary_error_skips_host_unless_tls_required_no() {
    let t = TlsaOutcome::TempError("TLSA lookup of _25._tcp.mx.example.com: dns: timeout".into());
    let s = skip(decide(&inputs(None, Some(&t), None)));
    assert_eq!(
        s.detail,
        "DANE: TLSA lookup of _25._tcp.mx.example.com: dns: timeout"
    );
    assert!(!s.requiretls_unmet);
    assert_eq!(s.failure, None);
    let p = plan(decide(&inputs(None, Some(&t), Some(false))));
    assert_eq!(p.tries, [OPP, PLAIN]);
}

#[test]
fn mtasts_enforce_requires_pkix() {
    let sts = policy("enforce");
    let p = plan(decide(&inputs(Some(&sts), None, None)));
    assert_eq!(p.tries, [pkix(StartTlsMode::Required)]);
    assert_eq!(
        p.domain_policy,
        TlsPolicyDescription {
            policy_type: TlsPolicyType::Sts,
            policy_string: vec![
                "version: STSv1".into(),
                "mode: enforce".into(),
                "mx: *.example.com".into(),
                "max_age: 86400".into()
            ],
            mx_host: vec!["*.example.com".into()],
        }
    );
    // PKIX switched off: MTA-STS is not applied.
    let mut i = inputs(Some(&sts), None, None);
    i.switches.pkix = false;
    let p = plan(decide(&i));
    assert_eq!(p.tries, [OPP, PLAIN]);
    assert_eq!(p.domain_policy, TlsPolicyDescription::none());
}

#[test]
fn mtasts_enforce_skips_unlisted_host() {
    let sts = policy("enforce");
    let mut i = inputs(Some(&sts), None, None);
    i.host = "mx.other.net";
    let s = skip(decide(&i));
    assert_eq!(
        s.detail,
        "MX host mx.other.net is not in the MTA-STS policy's mx list (*.example.com)"
    );
    let f = s.failure.unwrap();
    assert!(!f.is_host);
    assert_eq!(f.detail.result_type, "validation-failure");
    assert_eq!(f.detail.failure_reason_code, "mtasts-policy-mx-mismatch");
    assert_eq!(f.detail.receiving_mx_hostname, "mx.other.net");
    // TLS-Required: No: recorded, delivered opportunistically.
    i.requiretls = Some(false);
    let p = plan(decide(&i));
    assert_eq!(p.tries, [OPP, PLAIN]);
    assert_eq!(p.findings.len(), 1);
}

#[test]
fn mtasts_testing_verifies_but_falls_back() {
    let sts = policy("testing");
    let p = plan(decide(&inputs(Some(&sts), None, None)));
    assert_eq!(p.tries, [pkix(StartTlsMode::Opportunistic), OPP, PLAIN]);
    assert_eq!(p.domain_policy.policy_type, TlsPolicyType::Sts);
    // An unlisted host in testing mode: a finding, opportunistic.
    let mut i = inputs(Some(&sts), None, None);
    i.host = "mx.other.net";
    let p = plan(decide(&i));
    assert_eq!(p.tries, [OPP, PLAIN]);
    assert_eq!(
        p.findings[0].detail.failure_reason_code,
        "mtasts-policy-mx-mismatch"
    );
    // Mode none: as if there were no policy.
    let none = parse_policy(b"version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n").unwrap();
    let p = plan(decide(&inputs(Some(&none), None, None)));
    assert_eq!(p.tries, [OPP, PLAIN]);
    assert_eq!(p.domain_policy, TlsPolicyDescription::none());
}

#[test]
fn requiretls_needs_verification() {
    // Neither DANE nor MTA-STS nor a DNSSEC MX: not deliverable here.
    let s = skip(decide(&inputs(None, None, Some(true))));
    assert!(s.requiretls_unmet);
    assert_eq!(
        s.detail,
        "REQUIRETLS: no way to verify mx.example.com's certificate (no DANE records, no MTA-STS policy in mode enforce, MX not DNSSEC-signed)"
    );
    // MTA-STS testing is not enough.
    let testing = policy("testing");
    assert!(skip(decide(&inputs(Some(&testing), None, Some(true)))).requiretls_unmet);
    // DNSSEC-verified MX: PKIX required, no fallback.
    let mut i = inputs(None, None, Some(true));
    i.mx_authentic = true;
    assert_eq!(plan(decide(&i)).tries, [pkix(StartTlsMode::Required)]);
    i.switches.pkix = false;
    assert!(skip(decide(&i)).requiretls_unmet);
    // MTA-STS enforce, DANE.
    let sts = policy("enforce");
    assert_eq!(
        plan(decide(&inputs(Some(&sts), None, Some(true)))).tries,
        [pkix(StartTlsMode::Required)]
    );
    let t = TlsaOutcome::Dane(dane());
    assert_eq!(
        plan(decide(&inputs(None, Some(&t), Some(true)))).tries,
        [dane_plan(StartTlsMode::Required)]
    );
}

#[test]
fn tls_required_no_verifies_then_falls_back() {
    let t = TlsaOutcome::Dane(dane());
    let p = plan(decide(&inputs(None, Some(&t), Some(false))));
    assert_eq!(
        p.tries,
        [dane_plan(StartTlsMode::Opportunistic), OPP, PLAIN]
    );
    assert!(p.host_policy.is_some());
    let sts = policy("enforce");
    let p = plan(decide(&inputs(Some(&sts), None, Some(false))));
    assert_eq!(p.tries, [pkix(StartTlsMode::Opportunistic), OPP, PLAIN]);
    let p = plan(decide(&inputs(None, None, Some(false))));
    assert_eq!(p.tries, [OPP, PLAIN]);
}

#[test]
fn tlsa_lookup_only_for_secure_hosts() {
    let on = TlsSwitches::default();
    assert!(needs_tlsa(on, true, true));
    assert!(!needs_tlsa(on, false, true));
    assert!(!needs_tlsa(on, true, false));
    let off = TlsSwitches {
        pkix: true,
        dane: false,
    };
    assert!(!needs_tlsa(off, true, true));
}
