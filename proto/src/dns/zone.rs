//! An in-memory zone that answers [`Query`]s the way a validating recursive
//! resolver would: CNAME chasing, NXDOMAIN versus NODATA, wildcards, failures
//! on chosen names, the authentic-data bit per name. Tests and fixture files
//! (`conformance/`) answer evaluators from it; `moxide replay`-style tools
//! can too.
//!
//! Text form, one record per line (`#` starts a comment line):
//!
//! ```text
//! example.com      TXT   "v=spf1 mx -all"          # one string
//! example.com      TXT   "part one " "part two"    # two strings, one record
//! example.com      MX    10 mail.example.com
//! mail.example.com A     192.0.2.1
//! mail.example.com AAAA  2001:db8::1
//! www.example.com  CNAME example.com
//! 1.2.0.192.in-addr.arpa PTR mail.example.com
//! _25._tcp.mail.example.com TLSA 3 1 1 0123abcd…
//! slow.example     TXT   !timeout                  # also !servfail !refused
//! down.example     *     !timeout                  # every type
//! insecure example.org                             # answers not authentic
//! ```
//!
//! Unquoted TXT data is one string, taken as written up to the end of line.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::name::normalize_name;
use super::types::{Failure, Lookup, Query, Rdata, RecordType, Records};

/// The TTL of every zone answer.
const ZONE_TTL: u32 = 300;
/// CNAME chains longer than this are a failure, as in common resolvers.
const MAX_CNAME_CHAIN: usize = 8;

/// A bad line in a zone text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ZoneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "zone line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ZoneError {}

/// Records, failures and DNSSEC status of a set of names.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    records: BTreeMap<String, Vec<Rdata>>,
    /// (name, type) → failure; type `None` fails every type of that name.
    failures: BTreeMap<(String, Option<RecordType>), Failure>,
    /// Names (and their subdomains) whose answers are not authentic.
    insecure: BTreeSet<String>,
}

impl Zone {
    /// An empty zone: every name is NXDOMAIN, answers are authentic.
    pub fn new() -> Zone {
        Zone::default()
    }

    /// Adds a record. `name` may start with `*.` for a wildcard.
    pub fn add(&mut self, name: &str, data: Rdata) -> &mut Zone {
        self.records.entry(canonical(name)).or_default().push(data);
        self
    }

    /// Adds a TXT record with one string.
    pub fn add_txt(&mut self, name: &str, text: &str) -> &mut Zone {
        self.add(name, Rdata::Txt(vec![text.as_bytes().to_vec()]))
    }

    /// Makes lookups of `name` fail: for type `rtype`, or for every type.
    pub fn fail(&mut self, name: &str, rtype: Option<RecordType>, failure: Failure) -> &mut Zone {
        self.failures.insert((canonical(name), rtype), failure);
        self
    }

    /// Marks answers for `name` and its subdomains as not DNSSEC-verified.
    pub fn insecure(&mut self, name: &str) -> &mut Zone {
        self.insecure.insert(canonical(name));
        self
    }

    /// Parses the text form described in the module documentation.
    pub fn parse(text: &str) -> Result<Zone, ZoneError> {
        let mut zone = Zone::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: String| ZoneError {
                line: i + 1,
                message,
            };
            let (name, rest) = split_word(line);
            if name == "insecure" {
                zone.insecure(rest.trim());
                continue;
            }
            let (ty, data) = split_word(rest);
            let data = strip_comment(data).trim();
            if let Some(f) = data.strip_prefix('!') {
                let failure = match f {
                    "timeout" => Failure::Timeout,
                    "servfail" => Failure::ServFail,
                    "refused" => Failure::Refused,
                    _ => return Err(err(format!("unknown failure !{f}"))),
                };
                let rtype = if ty == "*" {
                    None
                } else {
                    Some(
                        RecordType::from_name(ty)
                            .ok_or_else(|| err(format!("unknown type {ty}")))?,
                    )
                };
                zone.fail(name, rtype, failure);
                continue;
            }
            let rtype =
                RecordType::from_name(ty).ok_or_else(|| err(format!("unknown type {ty:?}")))?;
            let rdata = parse_rdata(rtype, data).map_err(err)?;
            zone.add(name, rdata);
        }
        Ok(zone)
    }

    /// The answer a validating resolver would give for `q`.
    pub fn answer(&self, q: &Query) -> Lookup {
        let mut name = canonical(&q.name);
        let mut authentic = true;
        let mut chain = 0;
        loop {
            authentic &= !self.is_insecure(&name);
            if let Some(f) = self.failure(&name, q.rtype) {
                return Lookup::Failed(f.clone());
            }
            let Some(records) = self.lookup_name(&name) else {
                return Lookup::NxDomain { authentic };
            };
            let found: Vec<Rdata> = records
                .iter()
                .filter(|r| r.rtype() == q.rtype)
                .cloned()
                .collect();
            if !found.is_empty() {
                return Lookup::Records(Records {
                    canonical: name,
                    data: found,
                    ttl: ZONE_TTL,
                    authentic,
                });
            }
            let cname = records.iter().find_map(|r| match r {
                Rdata::Cname(t) => Some(t.clone()),
                _ => None,
            });
            match cname {
                Some(target) if q.rtype != RecordType::Cname => {
                    chain += 1;
                    if chain > MAX_CNAME_CHAIN {
                        return Lookup::Failed(Failure::CnameLoop);
                    }
                    name = target;
                }
                _ => return Lookup::NoData { authentic },
            }
        }
    }

    fn failure(&self, name: &str, rtype: RecordType) -> Option<&Failure> {
        self.failures
            .get(&(name.to_string(), Some(rtype)))
            .or_else(|| self.failures.get(&(name.to_string(), None)))
    }

    fn is_insecure(&self, name: &str) -> bool {
        self.insecure
            .iter()
            .any(|z| name == z || name.ends_with(&format!(".{z}")))
    }

    /// The records at `name` (exact, else the closest wildcard), an empty
    /// slice for an empty non-terminal, `None` when the name does not exist.
    fn lookup_name(&self, name: &str) -> Option<&[Rdata]> {
        if let Some(r) = self.records.get(name) {
            return Some(r);
        }
        let suffix = format!(".{name}");
        let exists = self.records.keys().any(|k| k.ends_with(&suffix))
            || self
                .failures
                .keys()
                .any(|(k, _)| k.ends_with(&suffix) || k == name);
        if exists {
            return Some(&[]);
        }
        // RFC 4592: the wildcard at the closest encloser.
        let mut rest = name;
        while let Some((_, parent)) = rest.split_once('.') {
            if let Some(r) = self.records.get(&format!("*.{parent}")) {
                return Some(r);
            }
            let parent_suffix = format!(".{parent}");
            if self.records.contains_key(parent)
                || self.records.keys().any(|k| k.ends_with(&parent_suffix))
            {
                // The closest encloser exists and has no wildcard.
                return None;
            }
            rest = parent;
        }
        None
    }
}

/// Lower case without trailing dot; names the resolver would refuse are kept
/// as given (lower-cased) so fixtures can hold them.
fn canonical(name: &str) -> String {
    normalize_name(name).unwrap_or_else(|_| name.trim_end_matches('.').to_ascii_lowercase())
}

fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// Drops a `#` comment that follows data, outside quotes.
fn strip_comment(s: &str) -> &str {
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '#' if !in_quotes && s[..i].ends_with(char::is_whitespace) => return &s[..i],
            _ => {}
        }
    }
    s
}

fn parse_rdata(rtype: RecordType, data: &str) -> Result<Rdata, String> {
    let words: Vec<&str> = data.split_whitespace().collect();
    let one = |what: &str| -> Result<&str, String> {
        match words.as_slice() {
            [w] => Ok(w),
            _ => Err(format!("{rtype} needs one {what}")),
        }
    };
    Ok(match rtype {
        RecordType::A => Rdata::A(
            one("IPv4 address")?
                .parse::<Ipv4Addr>()
                .map_err(|e| e.to_string())?,
        ),
        RecordType::Aaaa => Rdata::Aaaa(
            one("IPv6 address")?
                .parse::<Ipv6Addr>()
                .map_err(|e| e.to_string())?,
        ),
        RecordType::Cname => Rdata::Cname(canonical(one("name")?)),
        RecordType::Ptr => Rdata::Ptr(canonical(one("name")?)),
        RecordType::Ns => Rdata::Ns(canonical(one("name")?)),
        RecordType::Mx => match words.as_slice() {
            [p, x] => Rdata::Mx {
                preference: p.parse().map_err(|_| format!("bad MX preference {p:?}"))?,
                exchange: canonical(x),
            },
            _ => return Err("MX needs a preference and a name".into()),
        },
        RecordType::Tlsa => match words.as_slice() {
            [u, s, m, rest @ ..] if !rest.is_empty() => Rdata::Tlsa {
                usage: u.parse().map_err(|_| format!("bad TLSA usage {u:?}"))?,
                selector: s.parse().map_err(|_| format!("bad TLSA selector {s:?}"))?,
                matching: m
                    .parse()
                    .map_err(|_| format!("bad TLSA matching type {m:?}"))?,
                data: hex(&rest.concat())?,
            },
            _ => return Err("TLSA needs usage, selector, matching type and hex data".into()),
        },
        RecordType::Txt => Rdata::Txt(parse_txt(data)?),
    })
}

/// Quoted strings (with `\"`, `\\` and `\DDD` escapes), or one unquoted string.
fn parse_txt(data: &str) -> Result<Vec<Vec<u8>>, String> {
    if !data.starts_with('"') {
        return Ok(vec![data.as_bytes().to_vec()]);
    }
    let mut out = Vec::new();
    let mut bytes = data.bytes().peekable();
    loop {
        while bytes.next_if(|b| b.is_ascii_whitespace()).is_some() {}
        match bytes.next() {
            None => return Ok(out),
            Some(b'"') => {}
            Some(_) => return Err("TXT strings must all be quoted".into()),
        }
        let mut s = Vec::new();
        loop {
            match bytes.next() {
                None => return Err("unterminated TXT string".into()),
                Some(b'"') => break,
                Some(b'\\') => {
                    let d: Vec<u8> = (0..3)
                        .map_while(|_| bytes.next_if(u8::is_ascii_digit))
                        .collect();
                    if d.is_empty() {
                        s.push(bytes.next().ok_or("escape at end of TXT string")?);
                    } else if d.len() == 3 {
                        let v = d.iter().fold(0u32, |a, b| a * 10 + u32::from(b - b'0'));
                        s.push(u8::try_from(v).map_err(|_| "\\DDD escape over 255")?);
                    } else {
                        return Err("\\DDD escape needs three digits".into());
                    }
                }
                Some(b) => s.push(b),
            }
        }
        out.push(s);
    }
}

fn hex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(s.get(i..i + 2).unwrap_or(""), 16)
                .map_err(|_| format!("bad hex {s:?}"))
        })
        .collect()
}

#[cfg(test)]
#[path = "zone_tests.rs"]
mod tests;
