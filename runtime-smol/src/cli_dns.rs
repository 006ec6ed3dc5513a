//! `moxide dns lookup TYPE NAME [--resolver IP:PORT]`: one lookup through
//! the stub resolver, printed for an admin: the records, their TTL, whether
//! the validating resolver vouched for them (DNSSEC AD bit), or clearly
//! NXDOMAIN, NODATA or the failure. Exit status 0 with records, 1 without.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use moxide_proto::dns::{DNS_PORT, Lookup, Query, Rdata, RecordType, normalize_name};

use crate::dns::Resolver;

/// `moxide dns …`.
#[derive(Debug, Args)]
pub struct DnsArgs {
    #[command(subcommand)]
    pub command: DnsCommand,
}

#[derive(Debug, Subcommand)]
pub enum DnsCommand {
    /// Look up records of TYPE (A, AAAA, MX, TXT, TLSA, PTR, CNAME, NS) at
    /// NAME and print them with their TTL and DNSSEC status. Exit status 0
    /// when records were found, 1 for NXDOMAIN, NODATA or a failure.
    Lookup {
        /// The record type.
        #[arg(value_parser = parse_type, value_name = "TYPE")]
        rtype: RecordType,
        /// The domain name (an A-label name; a trailing dot is optional).
        #[arg(value_parser = parse_name)]
        name: String,
        /// Ask this nameserver (IP or IP:PORT, [IPv6]:PORT) instead of those
        /// in /etc/resolv.conf.
        #[arg(long, value_name = "IP:PORT", value_parser = parse_resolver)]
        resolver: Option<SocketAddr>,
    },
}

/// Runs `moxide dns …`, printing to stdout (results) and stderr (errors).
pub fn run(args: DnsArgs) -> ExitCode {
    match args.command {
        DnsCommand::Lookup {
            rtype,
            name,
            resolver,
        } => {
            let resolver = match resolver_for(resolver) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("moxide dns lookup: {e}");
                    return ExitCode::from(1);
                }
            };
            let query = Query::new(name, rtype);
            let lookup = smol::block_on(resolver.lookup(query.clone()));
            print!("{}", render(&query, &lookup));
            if matches!(lookup, Lookup::Records(_)) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// The resolver for `--resolver`, else the system's.
pub fn resolver_for(server: Option<SocketAddr>) -> Result<Resolver, String> {
    match server {
        Some(s) => Ok(Resolver::with_servers(vec![s])),
        None => Resolver::from_system()
            .map_err(|e| format!("{e} (name a nameserver with --resolver IP:PORT instead)")),
    }
}

/// The report for one lookup.
pub fn render(query: &Query, lookup: &Lookup) -> String {
    let mut out = String::new();
    let dnssec = |authentic: bool| {
        if authentic {
            "authentic (the resolver validated it with DNSSEC: AD bit set)"
        } else {
            "not authentic (no AD bit: unsigned, or the resolver does not validate)"
        }
    };
    let _ = writeln!(out, "query: {} {}", query.name, query.rtype);
    match lookup {
        Lookup::Records(r) => {
            let n = r.data.len();
            let plural = if n == 1 { "" } else { "s" };
            let _ = writeln!(out, "result: {n} record{plural}, TTL {} s", r.ttl);
            if r.canonical != query.name {
                let _ = writeln!(out, "canonical name (after CNAME): {}", r.canonical);
            }
            let _ = writeln!(out, "dnssec: {}", dnssec(r.authentic));
            for d in &r.data {
                let _ = writeln!(out, "{} {} {}", r.canonical, d.rtype(), rdata_text(d));
            }
        }
        Lookup::NxDomain { authentic } => {
            let _ = writeln!(out, "result: NXDOMAIN: {} does not exist", query.name);
            let _ = writeln!(out, "dnssec: {}", dnssec(*authentic));
        }
        Lookup::NoData { authentic } => {
            let _ = writeln!(
                out,
                "result: NODATA: {} exists but has no {} records",
                query.name, query.rtype
            );
            let _ = writeln!(out, "dnssec: {}", dnssec(*authentic));
        }
        Lookup::Failed(f) => {
            let _ = writeln!(out, "result: lookup failed: {f}");
        }
    }
    out
}

/// Record data in zone-file presentation form.
pub fn rdata_text(d: &Rdata) -> String {
    match d {
        Rdata::A(ip) => ip.to_string(),
        Rdata::Aaaa(ip) => ip.to_string(),
        Rdata::Mx {
            preference,
            exchange,
        } => format!("{preference} {exchange}."),
        Rdata::Txt(parts) => parts.iter().map(|p| quote(p)).collect::<Vec<_>>().join(" "),
        Rdata::Tlsa {
            usage,
            selector,
            matching,
            data,
        } => {
            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
            format!("{usage} {selector} {matching} {hex}")
        }
        Rdata::Ptr(n) | Rdata::Cname(n) | Rdata::Ns(n) => format!("{n}."),
    }
}

/// A TXT character-string quoted as in a zone file: `"` and `\` escaped,
/// bytes outside printable ASCII as `\DDD`.
fn quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &b in s {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

fn parse_type(s: &str) -> Result<RecordType, String> {
    RecordType::from_name(s)
        .ok_or_else(|| format!("unknown type {s:?}: use A, AAAA, MX, TXT, TLSA, PTR, CNAME or NS"))
}

fn parse_name(s: &str) -> Result<String, String> {
    normalize_name(s).map_err(|e| e.to_string())
}

/// `IP` (port 53), `IP:PORT` or `[IPv6]:PORT`.
pub fn parse_resolver(s: &str) -> Result<SocketAddr, String> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DNS_PORT));
    }
    s.parse::<SocketAddr>()
        .map_err(|_| format!("{s:?} is not IP, IP:PORT or [IPv6]:PORT"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use moxide_proto::dns::{Failure, Records};

    #[test]
    fn renders_records_and_negative_answers() {
        let q = Query::new("www.example", RecordType::Txt);
        let l = Lookup::Records(Records {
            canonical: "web.example".into(),
            data: vec![Rdata::Txt(vec![
                b"v=spf1 ".to_vec(),
                b"a\"b\\\x01".to_vec(),
            ])],
            ttl: 60,
            authentic: true,
        });
        assert_eq!(
            render(&q, &l),
            "query: www.example TXT\n\
             result: 1 record, TTL 60 s\n\
             canonical name (after CNAME): web.example\n\
             dnssec: authentic (the resolver validated it with DNSSEC: AD bit set)\n\
             web.example TXT \"v=spf1 \" \"a\\\"b\\\\\\001\"\n"
        );
        assert_eq!(
            render(&q, &Lookup::NoData { authentic: false }),
            "query: www.example TXT\n\
             result: NODATA: www.example exists but has no TXT records\n\
             dnssec: not authentic (no AD bit: unsigned, or the resolver does not validate)\n"
        );
        assert_eq!(
            render(&q, &Lookup::Failed(Failure::Timeout)),
            "query: www.example TXT\nresult: lookup failed: dns: timeout\n"
        );
        assert_eq!(
            rdata_text(&Rdata::Tlsa {
                usage: 3,
                selector: 1,
                matching: 1,
                data: vec![0xab, 0x01]
            }),
            "3 1 1 ab01"
        );
        assert_eq!(
            rdata_text(&Rdata::Mx {
                preference: 10,
                exchange: "mx.example".into()
            }),
            "10 mx.example."
        );
    }

    #[test]
    fn resolver_argument_forms() {
        assert_eq!(
            parse_resolver("127.0.0.1"),
            Ok("127.0.0.1:53".parse().unwrap())
        );
        assert_eq!(
            parse_resolver("127.0.0.1:5353"),
            Ok("127.0.0.1:5353".parse().unwrap())
        );
        assert_eq!(parse_resolver("::1"), Ok("[::1]:53".parse().unwrap()));
        assert_eq!(
            parse_resolver("[::1]:5353"),
            Ok("[::1]:5353".parse().unwrap())
        );
        assert!(parse_resolver("localhost").is_err());
    }
}
