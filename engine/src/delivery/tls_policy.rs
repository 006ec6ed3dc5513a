//! The TLS decision for one MX host: STARTTLS required or opportunistic,
//! how the certificate is verified, what to fall back to when TLS fails,
//! and which TLSRPT policies the session counts for.
//!
//! Order of precedence (as mox): an MTA-STS policy in mode enforce first
//! rules out MX hosts it does not list; then DANE (RFC 7672) when the MX
//! and address answers were DNSSEC-verified and usable TLSA records exist;
//! then MTA-STS enforce (PKIX, RFC 8461 4.2); REQUIRETLS (RFC 8689 4.1)
//! needs one of those or a DNSSEC-verified MX with a PKIX-valid
//! certificate; `TLS-Required: No` (RFC 8689 5) still verifies and records
//! what it finds, but delivers without verification or in plaintext when
//! TLS fails. Everything else is opportunistic STARTTLS (RFC 7435).

use moxide_proto::dane::{DanePolicy, TlsaOutcome};
use moxide_proto::mtasts::{Mode, Policy};
use moxide_storage::{TlsFailureDetail, TlsPolicyDescription, TlsPolicyType};

/// Whether to use STARTTLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTlsMode {
    /// Plaintext (the fallback after a failed opportunistic TLS session).
    Never,
    /// STARTTLS when offered; plaintext when not.
    Opportunistic,
    /// STARTTLS or no delivery: never send the message in plaintext.
    Required,
}

/// How the server's certificate is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyMode {
    /// Any certificate (opportunistic TLS).
    Any,
    /// PKIX (WebPKI) for `server_name`.
    Pkix { server_name: String },
    /// DANE with the host's TLSA records; `server_name` is sent as SNI.
    Dane {
        policy: DanePolicy,
        server_name: String,
    },
}

/// The TLS settings of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPlan {
    pub starttls: StartTlsMode,
    pub verify: VerifyMode,
}

impl TlsPlan {
    const fn opportunistic() -> TlsPlan {
        TlsPlan {
            starttls: StartTlsMode::Opportunistic,
            verify: VerifyMode::Any,
        }
    }

    const fn plaintext() -> TlsPlan {
        TlsPlan {
            starttls: StartTlsMode::Never,
            verify: VerifyMode::Any,
        }
    }
}

/// Which verification mechanisms are enabled (independent switches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsSwitches {
    /// Look up MTA-STS policies and verify certificates by PKIX.
    pub pkix: bool,
    /// Look up TLSA records and verify certificates by DANE.
    pub dane: bool,
}

impl Default for TlsSwitches {
    fn default() -> TlsSwitches {
        TlsSwitches {
            pkix: true,
            dane: true,
        }
    }
}

/// A TLSRPT finding to record, for the recipient domain's policy or the
/// host's (DANE) policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub is_host: bool,
    pub detail: TlsFailureDetail,
}

/// What to do with a host that may be connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPlan {
    /// The connection settings to use in turn: the first, then the next
    /// whenever TLS fails (never after the message was sent).
    pub tries: Vec<TlsPlan>,
    /// The recipient domain's TLSRPT policy (sts or no-policy-found).
    pub domain_policy: TlsPolicyDescription,
    /// The host's TLSRPT policy and its policy domain (tlsa), when DANE
    /// applies.
    pub host_policy: Option<(String, TlsPolicyDescription)>,
    /// Findings recorded before connecting (details only, no session).
    pub findings: Vec<Finding>,
}

/// Why a host is not connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSkip {
    pub detail: String,
    /// REQUIRETLS cannot be met at this host (RFC 8689 4.1): counts toward
    /// the permanent `5.7.30` when it holds for every host.
    pub requiretls_unmet: bool,
    /// A failed session to record for the recipient domain's policy.
    pub failure: Option<Finding>,
}

/// The decision for one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostDecision {
    Connect(HostPlan),
    Skip(HostSkip),
}

/// What the decision is made from.
#[derive(Debug, Clone, Copy)]
pub struct HostInputs<'a> {
    /// The MX host (canonical name).
    pub host: &'a str,
    /// The MX answer (or the implicit-MX denial) was DNSSEC-verified.
    pub mx_authentic: bool,
    /// The recipient domain's MTA-STS policy, any mode, when one is known.
    pub mtasts: Option<&'a Policy>,
    /// The TLSA lookup outcome, when it was made (see [`needs_tlsa`]).
    pub tlsa: Option<&'a TlsaOutcome>,
    /// `Some(true)`: REQUIRETLS; `Some(false)`: `TLS-Required: No`.
    pub requiretls: Option<bool>,
    pub switches: TlsSwitches,
}

/// Whether to look up TLSA records for a host (RFC 7672 2.2: only when its
/// MX and address answers were DNSSEC-verified).
pub fn needs_tlsa(switches: TlsSwitches, mx_authentic: bool, addresses_authentic: bool) -> bool {
    switches.dane && mx_authentic && addresses_authentic
}

/// The TLSRPT description of an MTA-STS policy (RFC 8460 4.4): its lines
/// and MX patterns.
pub fn sts_description(policy: &Policy) -> TlsPolicyDescription {
    TlsPolicyDescription {
        policy_type: TlsPolicyType::Sts,
        policy_string: policy
            .to_string()
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        mx_host: policy.mx.iter().map(|m| m.to_string()).collect(),
    }
}

/// The TLSRPT description of a TLSA record set.
fn tlsa_description(records: Vec<String>) -> TlsPolicyDescription {
    TlsPolicyDescription {
        policy_type: TlsPolicyType::Tlsa,
        policy_string: records,
        mx_host: Vec::new(),
    }
}

/// A failure detail about `host` without a session (no IP yet).
pub fn detail(host: &str, result_type: &str, reason: &str, info: &str) -> TlsFailureDetail {
    TlsFailureDetail {
        result_type: result_type.to_string(),
        sending_mta_ip: String::new(),
        receiving_mx_hostname: host.to_string(),
        receiving_ip: String::new(),
        failure_reason_code: reason.to_string(),
        additional_information: info.to_string(),
        count: 1,
    }
}

/// The outcome of checking an MX host against the MTA-STS policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxCheck {
    /// Mode enforce: the host must not be used.
    Skip(HostSkip),
    /// Mode testing, or `TLS-Required: No`: report, then use the host.
    Report(Finding),
}

/// Checks the host against the MX list of an MTA-STS policy (RFC 8461
/// 4.1); `None` when it is listed or no policy applies. Cheap: call it
/// before looking up the host's addresses.
pub fn check_mx(inp: &HostInputs<'_>) -> Option<MxCheck> {
    let p = inp
        .mtasts
        .filter(|p| inp.switches.pkix && p.mode != Mode::None)?;
    if p.mx_allowed(inp.host) {
        return None;
    }
    let patterns: Vec<String> = p.mx.iter().map(|m| m.to_string()).collect();
    let info = format!(
        "MX host {} is not in the MTA-STS policy's mx list ({})",
        inp.host,
        patterns.join(", ")
    );
    let d = Finding {
        is_host: false,
        detail: detail(
            inp.host,
            "validation-failure",
            "mtasts-policy-mx-mismatch",
            &info,
        ),
    };
    if p.mode == Mode::Enforce && inp.requiretls != Some(false) {
        return Some(MxCheck::Skip(HostSkip {
            detail: info,
            requiretls_unmet: false,
            failure: Some(d),
        }));
    }
    Some(MxCheck::Report(d))
}

/// Decides how to treat one host.
pub fn decide(inp: &HostInputs<'_>) -> HostDecision {
    let tls_required_no = inp.requiretls == Some(false);
    let requiretls = inp.requiretls == Some(true);
    let mut findings = Vec::new();

    // The recipient domain's MTA-STS policy, when it is one to apply.
    let sts = inp
        .mtasts
        .filter(|p| inp.switches.pkix && p.mode != Mode::None);
    let domain_policy = sts.map_or_else(TlsPolicyDescription::none, sts_description);
    let mut enforce = sts.is_some_and(|p| p.mode == Mode::Enforce);

    // RFC 8461 4.1: only MX hosts the policy lists.
    let host_listed = sts.is_none_or(|p| p.mx_allowed(inp.host));
    match check_mx(inp) {
        Some(MxCheck::Skip(skip)) => return HostDecision::Skip(skip),
        Some(MxCheck::Report(d)) => {
            // Testing mode, or TLS-Required: No: report and go on without
            // the policy's certificate check for this host.
            findings.push(d);
            enforce = false;
        }
        None => {}
    }

    // DANE (RFC 7672 2.2).
    let mut host_policy = None;
    let mut main = None;
    match inp.tlsa {
        Some(TlsaOutcome::Dane(policy)) if inp.switches.dane => {
            host_policy = Some((
                policy.base_domain.clone(),
                tlsa_description(policy.records.iter().map(|r| r.to_string()).collect()),
            ));
            main = Some(TlsPlan {
                starttls: StartTlsMode::Required,
                verify: VerifyMode::Dane {
                    policy: policy.clone(),
                    server_name: inp.host.to_string(),
                },
            });
        }
        Some(TlsaOutcome::NoUsableRecords { name, unusable }) if inp.switches.dane => {
            // RFC 7672 2.2, 3.1.3: TLS is required, the certificate is not
            // authenticated; report the unusable records.
            let base = name
                .strip_prefix("_25._tcp.")
                .unwrap_or(name.as_str())
                .to_string();
            let why: Vec<String> = unusable.iter().map(|u| u.to_string()).collect();
            findings.push(Finding {
                is_host: true,
                detail: detail(
                    inp.host,
                    "tlsa-invalid",
                    "all-unusable-records",
                    &why.join("; "),
                ),
            });
            host_policy = Some((base, tlsa_description(Vec::new())));
            if requiretls {
                return HostDecision::Skip(HostSkip {
                    detail: format!(
                        "REQUIRETLS: the TLSA records of {} are all unusable, the certificate cannot be verified",
                        inp.host
                    ),
                    requiretls_unmet: true,
                    failure: None,
                });
            }
            main = Some(TlsPlan {
                starttls: StartTlsMode::Required,
                verify: VerifyMode::Any,
            });
        }
        Some(TlsaOutcome::TempError(e)) if inp.switches.dane && !tls_required_no => {
            // RFC 7672 2.2: a failed TLSA lookup for a secure host is not
            // "no records"; this host cannot be used now.
            return HostDecision::Skip(HostSkip {
                detail: format!("DANE: {e}"),
                requiretls_unmet: false,
                failure: None,
            });
        }
        _ => {}
    }

    let main = match main {
        Some(m) => m,
        None if enforce => TlsPlan {
            starttls: StartTlsMode::Required,
            verify: VerifyMode::Pkix {
                server_name: inp.host.to_string(),
            },
        },
        // RFC 8689 4.1: an MX from a DNSSEC-verified answer with a
        // PKIX-valid certificate meets REQUIRETLS too.
        None if requiretls && inp.mx_authentic && inp.switches.pkix => TlsPlan {
            starttls: StartTlsMode::Required,
            verify: VerifyMode::Pkix {
                server_name: inp.host.to_string(),
            },
        },
        None if requiretls => {
            return HostDecision::Skip(HostSkip {
                detail: format!(
                    "REQUIRETLS: no way to verify {}'s certificate (no DANE records, no MTA-STS policy in mode enforce, MX not DNSSEC-signed)",
                    inp.host
                ),
                requiretls_unmet: true,
                failure: None,
            });
        }
        // MTA-STS testing: verify to report, deliver anyway.
        None if sts.is_some() && host_listed => TlsPlan {
            starttls: StartTlsMode::Opportunistic,
            verify: VerifyMode::Pkix {
                server_name: inp.host.to_string(),
            },
        },
        None => TlsPlan::opportunistic(),
    };

    let tries = if tls_required_no {
        // RFC 8689 5: verify and record, but deliver regardless: TLS
        // without verification, then plaintext.
        let first = TlsPlan {
            starttls: StartTlsMode::Opportunistic,
            verify: main.verify,
        };
        let mut v = vec![first.clone()];
        if first.verify != VerifyMode::Any {
            v.push(TlsPlan::opportunistic());
        }
        v.push(TlsPlan::plaintext());
        v
    } else if main.starttls == StartTlsMode::Opportunistic {
        // RFC 7435: opportunistic TLS that fails falls back to plaintext
        // (after an unverified TLS try when verifying only to report).
        let mut v = vec![main.clone()];
        if main.verify != VerifyMode::Any {
            v.push(TlsPlan::opportunistic());
        }
        v.push(TlsPlan::plaintext());
        v
    } else {
        vec![main]
    };
    HostDecision::Connect(HostPlan {
        tries,
        domain_policy,
        host_policy,
        findings,
    })
}

#[cfg(test)]
#[path = "tls_policy_tests.rs"]
mod tests;
