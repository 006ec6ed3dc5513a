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
}
