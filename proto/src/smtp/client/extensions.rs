//! The service extensions a server lists in its EHLO reply
//! (RFC 5321 4.1.1.1: `ehlo-line = ehlo-keyword *( SP ehlo-param )`).

use crate::sasl::Mechanism;

/// What the server offers, from the lines after the first of the EHLO
/// reply. Keywords are case-insensitive; unknown ones are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extensions {
    /// The extension lines as sent.
    pub lines: Vec<String>,
    pub pipelining: bool,
    /// SIZE with its limit; `Some(0)` or `Some` of an unreadable number:
    /// no fixed limit (RFC 1870 4).
    pub size: Option<u64>,
    pub eightbitmime: bool,
    pub binarymime: bool,
    pub chunking: bool,
    pub smtputf8: bool,
    pub starttls: bool,
    pub requiretls: bool,
    pub enhanced_status_codes: bool,
    /// The AUTH mechanisms offered that we know.
    pub auth: Vec<Mechanism>,
    /// LIMITS RCPTMAX (RFC 9422 3.2): at most this many RCPT commands per
    /// transaction.
    pub rcpt_max: Option<u32>,
    /// LIMITS MAILMAX (RFC 9422 3.1): at most this many transactions
    /// (MAIL commands) per session.
    pub mail_max: Option<u32>,
}

/// The limits of a `LIMITS` line (RFC 9422 2: `limit-name "=" value`,
/// separated by spaces), as (RCPTMAX, MAILMAX). `None` for a malformed
/// line: a known limit without a positive decimal value (at most 6
/// digits), one given twice, or a parameter without `=`. The limits are
/// advisory, so a line we cannot read is ignored as a whole rather than
/// half-applied. Unknown limit names are skipped (RFC 9422 2).
fn parse_limits<'a>(params: impl Iterator<Item = &'a str>) -> Option<(Option<u32>, Option<u32>)> {
    let (mut rcpt_max, mut mail_max) = (None, None);
    for p in params {
        let (name, value) = p.split_once('=')?;
        let slot = match name.to_ascii_uppercase().as_str() {
            "RCPTMAX" => &mut rcpt_max,
            "MAILMAX" => &mut mail_max,
            _ if !name.is_empty() && !value.is_empty() => continue,
            _ => return None,
        };
        if slot.is_some()
            || value.is_empty()
            || value.len() > 6
            || !value.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let n: u32 = value.parse().ok().filter(|&n| n > 0)?;
        *slot = Some(n);
    }
    Some((rcpt_max, mail_max))
}

impl Extensions {
    /// Reads the extension lines (the EHLO reply without its first line).
    pub fn parse(lines: &[String]) -> Extensions {
        let mut e = Extensions {
            lines: lines.to_vec(),
            ..Extensions::default()
        };
        for line in lines {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            match keyword.to_ascii_uppercase().as_str() {
                "PIPELINING" => e.pipelining = true,
                "SIZE" => {
                    e.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0));
                }
                "8BITMIME" => e.eightbitmime = true,
                "BINARYMIME" => e.binarymime = true,
                "CHUNKING" => e.chunking = true,
                "SMTPUTF8" => e.smtputf8 = true,
                "STARTTLS" => e.starttls = true,
                "REQUIRETLS" => e.requiretls = true,
                "ENHANCEDSTATUSCODES" => e.enhanced_status_codes = true,
                "LIMITS" => {
                    if let Some((rcpt_max, mail_max)) = parse_limits(words) {
                        e.rcpt_max = rcpt_max;
                        e.mail_max = mail_max;
                    }
                }
                "AUTH" => {
                    for m in words.filter_map(|w| Mechanism::from_name(&w.to_ascii_uppercase())) {
                        if !e.auth.contains(&m) {
                            e.auth.push(m);
                        }
                    }
                }
                _ => {}
            }
        }
        e
    }

    /// The SIZE limit, when there is one.
    pub fn max_size(&self) -> Option<u64> {
        self.size.filter(|&n| n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keywords_case_insensitively() {
        let lines: Vec<String> = [
            "pipelining",
            "SIZE 35882577",
            "8BITMIME",
            "AUTH login PLAIN X-UNKNOWN SCRAM-SHA-256",
            "STARTTLS",
            "X-FOO bar",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let e = Extensions::parse(&lines);
        assert!(e.pipelining && e.eightbitmime && e.starttls);
        assert!(!e.chunking && !e.smtputf8 && !e.requiretls && !e.binarymime);
        assert_eq!(e.max_size(), Some(35882577));
        assert_eq!(
            e.auth,
            vec![Mechanism::Login, Mechanism::Plain, Mechanism::ScramSha256]
        );
        assert_eq!(e.lines, lines);
        let e = Extensions::parse(&["SIZE".to_string()]);
        assert_eq!((e.size, e.max_size()), (Some(0), None));
    }

    #[test]
    fn limits_are_read_and_malformed_lines_ignored() {
        let limits = |line: &str| {
            let e = Extensions::parse(&[line.to_string()]);
            (e.rcpt_max, e.mail_max)
        };
        assert_eq!(limits("LIMITS RCPTMAX=20"), (Some(20), None));
        assert_eq!(
            limits("limits mailmax=100 X-FUTURE=abc RcptMax=150"),
            (Some(150), Some(100))
        );
        assert_eq!(limits("LIMITS"), (None, None));
        assert_eq!(limits("LIMITS MAILMAX=999999"), (None, Some(999_999)));
        for bad in [
            "LIMITS RCPTMAX=0",
            "LIMITS RCPTMAX=-1",
            "LIMITS RCPTMAX=1000000",
            "LIMITS RCPTMAX=",
            "LIMITS RCPTMAX",
            "LIMITS RCPTMAX=2 RCPTMAX=3",
            "LIMITS RCPTMAX=1x MAILMAX=5",
            "LIMITS MAILMAX=5 RCPTMAX=+3",
            "LIMITS =5",
        ] {
            assert_eq!(limits(bad), (None, None), "{bad}");
        }
    }
}
