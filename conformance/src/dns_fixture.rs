//! DNS fixtures: YAML zone data turned into a [`Zone`] that answers the
//! evaluators (SPF, DKIM, DMARC, MTA-STS, DANE) in conformance tests.
//!
//! The format is the `zonedata` of the OpenSPF test suite
//! (`conformance/dns/spf/rfc7208-tests.yml`), extended for the other
//! evaluators. A zone is a mapping from owner name to a list of entries:
//!
//! ```yaml
//! zonedata:
//!   example.com:
//!     - TXT: v=spf1 mx -all            # one character-string
//!     - TXT: ["v=spf1 ", "mx -all"]    # one record of two strings
//!     - MX: [10, mail.example.com]
//!     - A: 192.0.2.1
//!     - AAAA: 2001:db8::1
//!     - PTR: mail.example.com
//!     - CNAME: other.example.com
//!     - NS: ns.example.com
//!     - TLSA: [3, 1, 1, 0123abcd]      # usage, selector, matching, hex data
//!   slow.example.com:
//!     - TXT: v=spf1 -all
//!     - TIMEOUT                        # every type not listed above times out
//!   typed.example.com:
//!     - TXT: TIMEOUT                   # only TXT lookups time out
//!     - A: SERVFAIL                    # also REFUSED
//!   unsigned.example.com:
//!     - INSECURE                       # answers here and below are not authentic
//! ```
//!
//! Rules taken over from the suite's drivers (pyspf `testspf.py`):
//! - `TIMEOUT` (also `SERVFAIL`, `REFUSED`) as an entry of its own makes
//!   every lookup of the name fail, except lookups of types that have records
//!   listed before it.
//! - `TXT: NONE` states that the name has no TXT records.
//! - `SPF` entries (type 99, no longer used: RFC 7208 3.1) are never served as
//!   type 99. As in the suite's drivers they stand for TXT records when the
//!   name has no `TXT` entry at all, because most scenarios were written
//!   before RFC 7208 and publish their policies only as `SPF`.
//! - Strings are stored as their UTF-8 bytes (`"\xEF"` is U+00EF, two bytes).
//! - A name not in the zone is NXDOMAIN; a name without records of the
//!   queried type is NODATA; CNAMEs are followed by [`Zone::answer`]. A name
//!   listed only with entries that serve nothing (`TXT: NONE`, `SPF` beside
//!   a `TXT` entry) has no records at all and is NXDOMAIN too.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use moxide_proto::dns::{Failure, Rdata, RecordType, Zone};
use yaml_rust2::{Yaml, YamlLoader};

/// Every record type a [`Zone`] serves (the types a failure entry covers).
const ALL_TYPES: [RecordType; 8] = [
    RecordType::A,
    RecordType::Aaaa,
    RecordType::Mx,
    RecordType::Txt,
    RecordType::Tlsa,
    RecordType::Ptr,
    RecordType::Cname,
    RecordType::Ns,
];

/// Reads every YAML document of a fixture file.
pub fn load_documents(path: &Path) -> Result<Vec<Yaml>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    YamlLoader::load_from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The zone of a `zonedata` mapping (see the module documentation). A
/// missing or null mapping is an empty zone.
pub fn zone_from_yaml(zonedata: &Yaml) -> Result<Zone, String> {
    let mut zone = Zone::new();
    let map = match zonedata {
        Yaml::Hash(h) => h,
        Yaml::Null | Yaml::BadValue => return Ok(zone),
        other => return Err(format!("zonedata must be a mapping, not {other:?}")),
    };
    for (name, entries) in map {
        let name = scalar(name).ok_or_else(|| format!("zone name {name:?} is not a string"))?;
        let entries = match entries {
            Yaml::Array(a) => a.as_slice(),
            Yaml::Null => &[],
            other => return Err(format!("{name}: entries must be a list, not {other:?}")),
        };
        add_name(&mut zone, &name, entries).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(zone)
}

/// The zone of a document's `zonedata` key.
pub fn zone_of_document(doc: &Yaml) -> Result<Zone, String> {
    zone_from_yaml(&doc["zonedata"])
}

/// A YAML scalar as text: strings as they are, numbers and booleans as
/// written.
pub fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A failure keyword, as an entry or as a type's value.
fn failure_word(s: &str) -> Option<Failure> {
    match s {
        "TIMEOUT" => Some(Failure::Timeout),
        "SERVFAIL" => Some(Failure::ServFail),
        "REFUSED" => Some(Failure::Refused),
        _ => None,
    }
}

fn add_name(zone: &mut Zone, name: &str, entries: &[Yaml]) -> Result<(), String> {
    let has_txt = entries.iter().any(|e| entry_type(e) == Some("TXT"));
    // Types with records listed so far: a failure entry spares them.
    let mut listed: BTreeSet<RecordType> = BTreeSet::new();
    let mut spf_as_txt: Vec<Rdata> = Vec::new();
    let mut whole_name_failure: Option<Failure> = None;
    for entry in entries {
        match entry {
            Yaml::String(word) if word == "INSECURE" => {
                zone.insecure(name);
            }
            Yaml::String(word) => {
                let failure =
                    failure_word(word).ok_or_else(|| format!("unknown entry {word:?}"))?;
                if whole_name_failure.is_none() {
                    for t in ALL_TYPES.iter().filter(|t| !listed.contains(t)) {
                        zone.fail(name, Some(*t), failure.clone());
                    }
                    whole_name_failure = Some(failure);
                }
            }
            Yaml::Hash(h) if h.len() == 1 => {
                let Some((k, v)) = h.iter().next() else {
                    continue;
                };
                let ty = scalar(k).ok_or_else(|| format!("bad record type {k:?}"))?;
                if let Some(f) = scalar(v).as_deref().and_then(failure_word) {
                    let rtype = RecordType::from_name(&ty)
                        .ok_or_else(|| format!("unknown record type {ty}"))?;
                    zone.fail(name, Some(rtype), f);
                    continue;
                }
                if ty == "SPF" {
                    if !has_txt {
                        spf_as_txt.push(Rdata::Txt(txt_strings(v)?));
                    }
                    continue;
                }
                if ty == "TXT" && scalar(v).as_deref() == Some("NONE") {
                    continue;
                }
                let rdata = rdata(&ty, v)?;
                if whole_name_failure.is_none() {
                    listed.insert(rdata.rtype());
                }
                zone.add(name, rdata);
            }
            other => {
                return Err(format!(
                    "entry must be a word or a one-key mapping: {other:?}"
                ));
            }
        }
    }
    for r in spf_as_txt {
        zone.add(name, r);
    }
    Ok(())
}

fn entry_type(entry: &Yaml) -> Option<&str> {
    match entry {
        Yaml::Hash(h) => h.keys().next().and_then(|k| k.as_str()),
        _ => None,
    }
}

/// A TXT value: one string, or a list of strings (one record).
fn txt_strings(v: &Yaml) -> Result<Vec<Vec<u8>>, String> {
    match v {
        Yaml::Array(items) => items
            .iter()
            .map(|i| {
                scalar(i)
                    .map(String::into_bytes)
                    .ok_or_else(|| format!("TXT string {i:?} is not a string"))
            })
            .collect(),
        other => Ok(vec![
            scalar(other)
                .ok_or_else(|| format!("TXT value {other:?} is not a string"))?
                .into_bytes(),
        ]),
    }
}

fn rdata(ty: &str, v: &Yaml) -> Result<Rdata, String> {
    let text = || scalar(v).ok_or_else(|| format!("{ty} value {v:?} is not a string"));
    let list = || match v {
        Yaml::Array(a) => Ok(a.iter().map(scalar).collect::<Option<Vec<String>>>()),
        _ => Err(format!("{ty} value must be a list")),
    };
    Ok(match ty {
        "A" => Rdata::A(
            text()?
                .parse::<Ipv4Addr>()
                .map_err(|e| format!("A {v:?}: {e}"))?,
        ),
        "AAAA" => Rdata::Aaaa(
            text()?
                .parse::<Ipv6Addr>()
                .map_err(|e| format!("AAAA {v:?}: {e}"))?,
        ),
        "TXT" => Rdata::Txt(txt_strings(v)?),
        "PTR" => Rdata::Ptr(name_of(&text()?)),
        "CNAME" => Rdata::Cname(name_of(&text()?)),
        "NS" => Rdata::Ns(name_of(&text()?)),
        "MX" => match list()?.as_deref() {
            Some([pref, host]) => Rdata::Mx {
                preference: pref
                    .parse()
                    .map_err(|_| format!("MX preference {pref:?} is not a number"))?,
                exchange: name_of(host),
            },
            _ => return Err(format!("MX needs [preference, name], not {v:?}")),
        },
        "TLSA" => match list()?.as_deref() {
            Some([u, s, m, data]) => Rdata::Tlsa {
                usage: u.parse().map_err(|_| format!("TLSA usage {u:?}"))?,
                selector: s.parse().map_err(|_| format!("TLSA selector {s:?}"))?,
                matching: m.parse().map_err(|_| format!("TLSA matching {m:?}"))?,
                data: hex(data)?,
            },
            _ => {
                return Err(format!(
                    "TLSA needs [usage, selector, matching, hex], not {v:?}"
                ));
            }
        },
        _ => return Err(format!("unknown record type {ty}")),
    })
}

/// A name inside a record, in the zone's canonical form (lower case, no
/// trailing dot); names a resolver would refuse are kept as written.
fn name_of(s: &str) -> String {
    moxide_proto::dns::normalize_name(s)
        .unwrap_or_else(|_| s.trim_end_matches('.').to_ascii_lowercase())
}

fn hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits in {s:?}"));
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| format!("bad hex in {s:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use moxide_proto::dns::{Lookup, Query};

    fn zone(text: &str) -> Zone {
        let docs = YamlLoader::load_from_str(text).unwrap();
        zone_of_document(&docs[0]).unwrap()
    }

    #[test]
    fn records_spf_fallback_and_failures() {
        let z = zone(
            r#"
zonedata:
  a.example:
    - SPF: v=spf1 -all
    - A: 192.0.2.1
    - TIMEOUT
  b.example:
    - SPF: v=spf1 +all
    - TXT: v=spf1 -all
  c.example:
    - SPF: ["v=spf1 ", "mx"]
    - TXT: NONE
  d.example:
    - MX: [10, Mail.Example.]
    - MX: [0, ""]
    - TXT: TIMEOUT
    - TLSA: [3, 1, 1, "00ff"]
    - INSECURE
"#,
        );
        let q = |n: &str, t| z.answer(&Query::new(n, t));
        assert_eq!(
            q("a.example", RecordType::A).data(),
            &[Rdata::A(Ipv4Addr::new(192, 0, 2, 1))]
        );
        // The SPF entry stands for TXT, but TXT comes after TIMEOUT.
        assert_eq!(
            q("a.example", RecordType::Txt),
            Lookup::Failed(Failure::Timeout)
        );
        assert_eq!(
            q("a.example", RecordType::Mx),
            Lookup::Failed(Failure::Timeout)
        );
        assert_eq!(
            q("b.example", RecordType::Txt).data(),
            &[Rdata::Txt(vec![b"v=spf1 -all".to_vec()])]
        );
        // Only unserved entries: the name has no records (NXDOMAIN).
        assert_eq!(
            q("c.example", RecordType::Txt),
            Lookup::NxDomain { authentic: true }
        );
        assert_eq!(
            q("d.example", RecordType::Mx).data(),
            &[
                Rdata::Mx {
                    preference: 10,
                    exchange: "mail.example".into()
                },
                Rdata::Mx {
                    preference: 0,
                    exchange: "".into()
                },
            ]
        );
        assert_eq!(
            q("d.example", RecordType::Txt),
            Lookup::Failed(Failure::Timeout)
        );
        assert_eq!(
            q("d.example", RecordType::Tlsa),
            Lookup::Records(moxide_proto::dns::Records {
                canonical: "d.example".into(),
                data: vec![Rdata::Tlsa {
                    usage: 3,
                    selector: 1,
                    matching: 1,
                    data: vec![0, 0xff]
                }],
                ttl: 300,
                authentic: false,
            })
        );
        assert_eq!(
            q("nope.example", RecordType::A),
            Lookup::NxDomain { authentic: true }
        );
    }

    #[test]
    fn bad_entries_are_errors() {
        let docs =
            YamlLoader::load_from_str("zonedata:\n  x.example:\n    - A: 300.1.1.1\n").unwrap();
        let e = zone_of_document(&docs[0]).unwrap_err();
        assert!(e.starts_with("x.example: A "), "{e}");
        let docs = YamlLoader::load_from_str("zonedata:\n  x.example:\n    - SLOW\n").unwrap();
        assert_eq!(
            zone_of_document(&docs[0]).unwrap_err(),
            "x.example: unknown entry \"SLOW\""
        );
    }
}
