//! The MTA-STS policy file (RFC 8461 3.2), fetched from
//! `https://mta-sts.<domain>/.well-known/mta-sts.txt`, and MX matching
//! (RFC 8461 4.1).

use std::fmt;

/// The largest policy body accepted (RFC 8461 3.3: 64 KB is plenty).
pub const MAX_POLICY_SIZE: usize = 64 * 1024;
/// The largest `max_age` (RFC 8461 3.2: 31557600 seconds, about a year).
pub const MAX_MAX_AGE: u32 = 31_557_600;

/// How senders must treat the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Deliver only to matching MX hosts over PKIX-verified TLS.
    Enforce,
    /// Report failures, deliver anyway.
    Testing,
    /// The domain withdrew its policy.
    None,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Enforce => "enforce",
            Mode::Testing => "testing",
            Mode::None => "none",
        })
    }
}

/// An MX pattern: a host name, or `*.` and a domain matching exactly one
/// more leftmost label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxPattern {
    pub wildcard: bool,
    /// Lower case, without the `*.` and without a trailing dot.
    pub domain: String,
}

impl MxPattern {
    /// Whether `host` (an MX target) matches (RFC 8461 4.1).
    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if !self.wildcard {
            return host == self.domain;
        }
        match host.split_once('.') {
            Some((label, rest)) => !label.is_empty() && rest == self.domain,
            None => false,
        }
    }
}

impl fmt::Display for MxPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.domain)
    }
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// Seconds the policy may be cached.
    pub max_age: u32,
    /// Allowed MX hosts; empty only with mode none.
    pub mx: Vec<MxPattern>,
    /// Unknown fields, as written.
    pub extensions: Vec<(String, String)>,
}

impl Policy {
    /// Whether delivery to `host` is allowed by the policy's MX list.
    /// Mode none allows every host.
    pub fn mx_allowed(&self, host: &str) -> bool {
        self.mode == Mode::None || self.mx.iter().any(|p| p.matches(host))
    }
}

impl fmt::Display for Policy {
    /// The policy in file form, CRLF line ends.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "version: STSv1\r\nmode: {}\r\n", self.mode)?;
        for m in &self.mx {
            write!(f, "mx: {m}\r\n")?;
        }
        write!(f, "max_age: {}\r\n", self.max_age)?;
        for (k, v) in &self.extensions {
            write!(f, "{k}: {v}\r\n")?;
        }
        Ok(())
    }
}

/// The policy URL for `domain` (RFC 8461 3.3).
pub fn policy_url(domain: &str) -> String {
    format!(
        "https://mta-sts.{}/.well-known/mta-sts.txt",
        domain.trim_end_matches('.').to_ascii_lowercase()
    )
}

/// Why a policy body was refused, explained for the admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError(pub String);

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid MTA-STS policy: {}", self.0)
    }
}

impl std::error::Error for PolicyError {}

/// Parses a policy body (RFC 8461 3.2): `key: value` lines ending in CRLF
/// or LF; `version: STSv1`, `mode` and `max_age` exactly once, `mx` once or
/// more (none allowed only with mode none); unknown keys kept.
pub fn parse_policy(body: &[u8]) -> Result<Policy, PolicyError> {
    let err = |s: String| Err(PolicyError(s));
    if body.len() > MAX_POLICY_SIZE {
        return err(format!("larger than {MAX_POLICY_SIZE} bytes"));
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return err("not UTF-8 text".into());
    };
    let mut version: Option<()> = None;
    let mut mode: Option<Mode> = None;
    let mut max_age: Option<u32> = None;
    let mut mx = Vec::new();
    let mut extensions = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            return err(format!("line {}: {line:?} is not key: value", i + 1));
        };
        let (k, v) = (k.trim(), v.trim_matches([' ', '\t']));
        let once = |seen: bool| -> Result<(), PolicyError> {
            match seen {
                true => Err(PolicyError(format!("line {}: {k} appears twice", i + 1))),
                false => Ok(()),
            }
        };
        match k {
            "version" => {
                once(version.is_some())?;
                if v != "STSv1" {
                    return err(format!("version {v:?} is not STSv1"));
                }
                version = Some(());
            }
            "mode" => {
                once(mode.is_some())?;
                mode = Some(match v {
                    "enforce" => Mode::Enforce,
                    "testing" => Mode::Testing,
                    "none" => Mode::None,
                    _ => return err(format!("mode {v:?} is not enforce, testing or none")),
                });
            }
            "max_age" => {
                once(max_age.is_some())?;
                let ok = !v.is_empty() && v.len() <= 10 && v.bytes().all(|b| b.is_ascii_digit());
                match v.parse::<u32>() {
                    Ok(n) if ok && n <= MAX_MAX_AGE => max_age = Some(n),
                    _ => {
                        return err(format!(
                            "max_age {v:?} is not a number of seconds up to {MAX_MAX_AGE}"
                        ));
                    }
                }
            }
            "mx" => mx.push(parse_mx(v).map_err(|e| PolicyError(format!("line {}: {e}", i + 1)))?),
            _ => {
                if k.is_empty()
                    || !k
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
                {
                    return err(format!("line {}: bad key {k:?}", i + 1));
                }
                extensions.push((k.to_string(), v.to_string()));
            }
        }
    }
    let Some(()) = version else {
        return err("version: STSv1 is missing".into());
    };
    let Some(mode) = mode else {
        return err("mode is missing".into());
    };
    let Some(max_age) = max_age else {
        return err("max_age is missing".into());
    };
    if mx.is_empty() && mode != Mode::None {
        return err(format!("mode {mode} needs at least one mx line"));
    }
    Ok(Policy {
        mode,
        max_age,
        mx,
        extensions,
    })
}

fn parse_mx(v: &str) -> Result<MxPattern, String> {
    let (wildcard, domain) = match v.strip_prefix("*.") {
        Some(d) => (true, d),
        None => (false, v),
    };
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !ok {
        return Err(format!("mx {v:?} is not a host name or *.domain"));
    }
    Ok(MxPattern { wildcard, domain })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_EXAMPLE: &str = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n";

    #[test]
    fn parses_the_rfc_example() {
        let p = parse_policy(RFC_EXAMPLE.as_bytes()).unwrap();
        assert_eq!((p.mode, p.max_age, p.mx.len()), (Mode::Enforce, 604800, 3));
        assert!(p.mx_allowed("mail.example.com"));
        assert!(p.mx_allowed("MAIL.example.com."));
        assert!(p.mx_allowed("mx1.example.net"));
        assert!(!p.mx_allowed("example.net"));
        assert!(!p.mx_allowed("a.b.example.net"));
        assert!(!p.mx_allowed("evil.example.org"));
        assert_eq!(
            p.to_string(),
            "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"
        );
        assert_eq!(parse_policy(p.to_string().as_bytes()).unwrap(), p);
        assert_eq!(
            policy_url("Example.com."),
            "https://mta-sts.example.com/.well-known/mta-sts.txt"
        );
    }

    #[test]
    fn lf_only_unknown_keys_and_mode_none() {
        let p = parse_policy(b"version: STSv1\nmode: none\nmax_age: 86400\nfuture: yes\n").unwrap();
        assert_eq!(p.mode, Mode::None);
        assert!(p.mx.is_empty());
        assert!(p.mx_allowed("anything.example"));
        assert_eq!(p.extensions, [("future".to_string(), "yes".to_string())]);
    }

    #[test]
    fn rejects_bad_policies() {
        let bad = |b: &str| parse_policy(b.as_bytes()).unwrap_err().0;
        assert!(bad("mode: enforce\nmx: a.example\nmax_age: 1\n").contains("version"));
        assert!(
            bad("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n").contains("STSv2")
        );
        assert!(
            bad("version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n").contains("strict")
        );
        assert!(bad("version: STSv1\nmode: enforce\nmax_age: 1\n").contains("at least one mx"));
        assert!(
            bad("version: STSv1\nmode: enforce\nmx: a.example\n").contains("max_age is missing")
        );
        assert!(
            bad("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n")
                .contains("max_age")
        );
        assert!(
            bad("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n").contains("max_age")
        );
        assert!(
            bad("version: STSv1\nmode: enforce\nmode: testing\nmx: a\nmax_age: 1\n")
                .contains("twice")
        );
        assert!(bad("version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n").contains("mx"));
        assert!(
            bad("version: STSv1\nmode: enforce\nmx a.example\nmax_age: 1\n").contains("key: value")
        );
        assert!(parse_policy(&[0xff, 0xfe]).unwrap_err().0.contains("UTF-8"));
        assert!(
            parse_policy(&vec![b'a'; MAX_POLICY_SIZE + 1])
                .unwrap_err()
                .0
                .contains("larger")
        );
    }
}
