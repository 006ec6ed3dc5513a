//! `moxide spf check|lookup|parse`: SPF (RFC 7208) for an admin fixing a
//! record. `check` evaluates a client address against a domain's policy
//! and shows every lookup, the record, the deciding term and why; `lookup`
//! prints a domain's record and its parse; `parse` checks a record's syntax
//! and points at a bad term. Exit status 0 for pass / a valid record, 1
//! otherwise, 2 for bad arguments.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use moxide_proto::dns::{
    Evaluate, Lookup, LookupId, Poll, Query, Rdata, RecordType, normalize_name,
};
use moxide_proto::spf::{
    CheckHost, CheckHostInput, DEFAULT_EXPLANATION, Identity, MAX_DNS_TERMS, Mechanism, ParseError,
    Qualifier, ReceivedSpf, Record, SenderCheck, SenderCheckInput, SpfOutcome, SpfResult,
    is_spf_record, mail_from_identity, received_spf,
};

use crate::cli_dns::{parse_resolver, rdata_text, resolver_for};
use crate::dns::Resolver;

/// How long a check may take (RFC 7208 4.6.4: at least 20 seconds).
const CHECK_TIME: Duration = Duration::from_secs(20);

/// `moxide spf …`.
#[derive(Debug, Args)]
pub struct SpfArgs {
    #[command(subcommand)]
    pub command: SpfCommand,
}

#[derive(Debug, Subcommand)]
pub enum SpfCommand {
    /// Evaluate SPF for a client IP and a MAIL FROM address (or a domain,
    /// checked as postmaster@DOMAIN): every lookup, the record, the result
    /// and why, and the Received-SPF header. With --helo the HELO identity
    /// is checked too (RFC 7208 2.3). Exit status 0 for pass, 1 otherwise.
    Check {
        /// The SMTP client's address.
        ip: IpAddr,
        /// MAIL FROM address (local@domain), or a domain.
        sender: String,
        /// The HELO/EHLO name the client gave.
        #[arg(long, value_name = "NAME")]
        helo: Option<String>,
        /// Ask this nameserver (IP or IP:PORT, [IPv6]:PORT) instead of those
        /// in /etc/resolv.conf.
        #[arg(long, value_name = "IP:PORT", value_parser = parse_resolver)]
        resolver: Option<SocketAddr>,
    },
    /// Print the SPF record of DOMAIN (its TXT records, which one is SPF)
    /// and its parse. Exit status 0 for one valid record, 1 otherwise.
    Lookup {
        /// The domain.
        domain: String,
        /// Ask this nameserver instead of those in /etc/resolv.conf.
        #[arg(long, value_name = "IP:PORT", value_parser = parse_resolver)]
        resolver: Option<SocketAddr>,
    },
    /// Check the syntax of a record ('v=spf1 …') and print its parse, or
    /// the bad term. Exit status 0 when valid, 1 when not.
    Parse {
        /// The record text, quoted as one argument.
        record: String,
        /// Accepted for symmetry with the other commands; parse makes no
        /// lookups.
        #[arg(long, value_name = "IP:PORT", value_parser = parse_resolver)]
        resolver: Option<SocketAddr>,
    },
}

/// Runs `moxide spf …`.
pub fn run(args: SpfArgs) -> ExitCode {
    match args.command {
        SpfCommand::Parse { record, .. } => {
            let (text, ok) = render_parse(record.as_bytes());
            print!("{text}");
            exit(ok)
        }
        SpfCommand::Lookup { domain, resolver } => {
            let domain = match normalize_name(&domain) {
                Ok(d) => d,
                Err(e) => return usage("spf lookup", &format!("{domain:?}: {e}")),
            };
            let resolver = match resolver_for(resolver) {
                Ok(r) => r,
                Err(e) => return usage("spf lookup", &e),
            };
            let q = Query::new(domain, RecordType::Txt);
            let lookup = smol::block_on(resolver.lookup(q.clone()));
            let (text, ok) = render_lookup(&q, &lookup);
            print!("{text}");
            exit(ok)
        }
        SpfCommand::Check {
            ip,
            sender,
            helo,
            resolver,
        } => {
            let resolver = match resolver_for(resolver) {
                Ok(r) => r,
                Err(e) => return usage("spf check", &e),
            };
            let (text, result) = check(&resolver, ip, &sender, helo.as_deref());
            print!("{text}");
            exit(result == SpfResult::Pass)
        }
    }
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn usage(cmd: &str, e: &str) -> ExitCode {
    eprintln!("moxide {cmd}: {e}");
    ExitCode::from(2)
}

/// Runs the check and renders the report.
fn check(resolver: &Resolver, ip: IpAddr, sender: &str, helo: Option<&str>) -> (String, SpfResult) {
    let now = Instant::now();
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let receiver = local_host_name();
    let mail_from = if sender.contains('@') {
        sender.to_string()
    } else {
        format!("postmaster@{sender}")
    };
    let mut out = String::new();
    match helo {
        Some(helo) => {
            let ev = Traced::new(SenderCheck::new(SenderCheckInput {
                ip,
                helo: helo.to_string(),
                mail_from: mail_from.clone(),
                receiver: receiver.clone(),
                timestamp,
                deadline: now + CHECK_TIME,
                default_explanation: DEFAULT_EXPLANATION.to_string(),
            }));
            let (v, trace) = smol::block_on(resolver.evaluate(ev));
            let header = |o: &SpfOutcome, identity| {
                received_spf(&ReceivedSpf {
                    outcome: o,
                    identity,
                    client_ip: ip,
                    envelope_from: &mail_from,
                    helo,
                    receiver: &receiver,
                })
            };
            out.push_str(&report("helo", &format!("postmaster@{helo}"), ip, &v.helo));
            out.push_str(&header(&v.helo, Identity::Helo));
            out.push('\n');
            out.push_str(&report("mailfrom", &mail_from, ip, &v.mail_from));
            out.push_str(&header(&v.mail_from, v.mail_from_identity));
            out.push_str(&trace);
            (out, v.mail_from.result)
        }
        None => {
            let (sender, domain) = mail_from_identity(&mail_from, "");
            let ev = Traced::new(CheckHost::new(CheckHostInput {
                ip,
                domain,
                sender: sender.clone(),
                helo: String::new(),
                receiver: receiver.clone(),
                timestamp,
                deadline: now + CHECK_TIME,
                default_explanation: DEFAULT_EXPLANATION.to_string(),
            }));
            let (o, trace) = smol::block_on(resolver.evaluate(ev));
            out.push_str(&report("mailfrom", &sender, ip, &o));
            out.push_str(&received_spf(&ReceivedSpf {
                outcome: &o,
                identity: Identity::MailFrom,
                client_ip: ip,
                envelope_from: &sender,
                helo: "",
                receiver: &receiver,
            }));
            out.push_str(&trace);
            (out, o.result)
        }
    }
}

/// One identity's outcome, line by line.
pub fn report(identity: &str, sender: &str, ip: IpAddr, o: &SpfOutcome) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "identity: {identity} ({sender}, domain {})", o.domain);
    let _ = writeln!(out, "client-ip: {ip}");
    match &o.record {
        Some(r) => {
            let _ = writeln!(out, "record: {r}");
        }
        None => {
            let _ = writeln!(out, "record: (none found)");
        }
    }
    let _ = writeln!(out, "result: {}", o.result);
    if let Some(m) = &o.mechanism {
        let why = if m == "default" {
            "no term matched: the default result".to_string()
        } else {
            format!("matched {m}")
        };
        let _ = writeln!(out, "mechanism: {why}");
    }
    if let Some(p) = &o.problem {
        let _ = writeln!(out, "problem: {p}");
    }
    if let Some(e) = &o.explanation {
        let _ = writeln!(out, "explanation: {e}");
    }
    let _ = writeln!(
        out,
        "limits: {} of {MAX_DNS_TERMS} DNS-querying terms, {} of 2 void lookups",
        o.dns_terms, o.void_lookups
    );
    out
}

/// An evaluator that keeps a trace of its lookups and their answers.
struct Traced<E> {
    inner: E,
    asked: Vec<(LookupId, Query)>,
    trace: String,
}

impl<E> Traced<E> {
    fn new(inner: E) -> Traced<E> {
        Traced {
            inner,
            asked: Vec::new(),
            trace: String::from("lookups:\n"),
        }
    }
}

impl<E: Evaluate> Evaluate for Traced<E> {
    type Output = (E::Output, String);

    fn poll(&mut self, now: Instant) -> Poll<Self::Output> {
        match self.inner.poll(now) {
            Poll::Lookup(id, q) => {
                self.asked.push((id, q.clone()));
                Poll::Lookup(id, q)
            }
            Poll::Pending => Poll::Pending,
            Poll::Ready(out) => Poll::Ready((out, self.trace.clone())),
        }
    }

    fn handle_answer(&mut self, now: Instant, id: LookupId, answer: Lookup) {
        if let Some((_, q)) = self.asked.iter().find(|(i, _)| *i == id) {
            let _ = writeln!(self.trace, "  {q}: {}", summary(&answer));
        }
        self.inner.handle_answer(now, id, answer);
    }

    fn deadline(&self) -> Option<Instant> {
        self.inner.deadline()
    }
}

/// A one-line answer.
fn summary(l: &Lookup) -> String {
    match l {
        Lookup::Records(r) => r.data.iter().map(rdata_text).collect::<Vec<_>>().join(", "),
        Lookup::NxDomain { .. } => "NXDOMAIN (void)".to_string(),
        Lookup::NoData { .. } => "NODATA (void)".to_string(),
        Lookup::Failed(f) => f.to_string(),
    }
}

/// The report of `spf lookup`, and whether one valid record was found.
pub fn render_lookup(q: &Query, lookup: &Lookup) -> (String, bool) {
    let mut out = String::new();
    let _ = writeln!(out, "query: {q}");
    let records = match lookup {
        Lookup::Failed(f) => {
            let _ = writeln!(
                out,
                "result: lookup failed: {f} (check_host gives temperror)"
            );
            return (out, false);
        }
        Lookup::NxDomain { .. } => {
            let _ = writeln!(
                out,
                "result: NXDOMAIN: {} does not exist (SPF none)",
                q.name
            );
            return (out, false);
        }
        Lookup::NoData { .. } => {
            let _ = writeln!(out, "result: no TXT records at {} (SPF none)", q.name);
            return (out, false);
        }
        Lookup::Records(r) => &r.data,
    };
    // Each TXT record with its strings joined (RFC 7208 3.3); other types
    // are skipped so every text stays beside its own record.
    let texts: Vec<(&Rdata, Vec<u8>)> = records
        .iter()
        .filter_map(|d| d.txt_joined().map(|t| (d, t)))
        .collect();
    let spf: Vec<&Vec<u8>> = texts
        .iter()
        .map(|(_, t)| t)
        .filter(|t| is_spf_record(t))
        .collect();
    for (d, t) in &texts {
        let mark = if is_spf_record(t) { "spf" } else { "other" };
        let _ = writeln!(out, "txt ({mark}): {}", rdata_text(d));
    }
    match spf.as_slice() {
        [] => {
            let _ = writeln!(out, "result: no record starts with \"v=spf1\" (SPF none)");
            (out, false)
        }
        [one] => {
            let (text, ok) = render_parse(one);
            out.push_str(&text);
            (out, ok)
        }
        many => {
            let _ = writeln!(
                out,
                "result: {} SPF records: RFC 7208 4.5 allows one (check_host gives permerror); merge them",
                many.len()
            );
            (out, false)
        }
    }
}

/// The parse of a record, or its error with a pointer at the bad term.
pub fn render_parse(text: &[u8]) -> (String, bool) {
    let mut out = String::new();
    match Record::parse(text) {
        Ok(r) => {
            let _ = writeln!(out, "record: {}", String::from_utf8_lossy(text));
            let _ = writeln!(out, "valid: yes");
            let mut dns = 0;
            for (i, d) in r.directives.iter().enumerate() {
                if d.mechanism.queries_dns() {
                    dns += 1;
                }
                let _ = writeln!(
                    out,
                    "  {}. {:<28} {}",
                    i + 1,
                    d.text,
                    meaning(d.qualifier, &d.mechanism)
                );
            }
            if let Some(t) = &r.redirect {
                dns += 1;
                let _ = writeln!(
                    out,
                    "  redirect={t}: when no term matches, the result of {t}'s policy (1 DNS lookup)"
                );
            }
            if let Some(t) = &r.exp {
                let _ = writeln!(
                    out,
                    "  exp={t}: on fail, the explanation is the TXT record at {t}"
                );
            }
            for (name, value) in &r.unknown {
                let _ = writeln!(out, "  {name}={value}: unknown modifier, ignored");
            }
            if r.redirect.is_none() && !r.directives.iter().any(|d| d.mechanism == Mechanism::All) {
                let _ = writeln!(
                    out,
                    "  (no \"all\" and no redirect: clients that match nothing get neutral)"
                );
            }
            let _ = writeln!(
                out,
                "dns-querying terms: {dns} here (at most {MAX_DNS_TERMS} in all, included policies count too)"
            );
            (out, true)
        }
        Err(e) => {
            out.push_str(&pointer(text, &e));
            (out, false)
        }
    }
}

/// The error, then the record with carets under the bad term.
fn pointer(text: &[u8], e: &ParseError) -> String {
    let shown: String = text
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect();
    let width = e.term.len().max(1);
    format!(
        "valid: no\nerror: {e}\n  {shown}\n  {}{}\n",
        " ".repeat(e.position),
        "^".repeat(width)
    )
}

/// What a directive does, in words.
fn meaning(q: Qualifier, m: &Mechanism) -> String {
    let result = SpfResult::from(q);
    let when = match m {
        Mechanism::All => "every client".to_string(),
        Mechanism::Include(d) => format!("clients that {d}'s policy passes (1 DNS lookup)"),
        Mechanism::A { domain, cidr } => format!(
            "clients in the A/AAAA addresses of {}{} (1 DNS lookup)",
            domain.as_ref().map_or("the domain", |d| d.as_str()),
            cidr_text(cidr.v4, cidr.v6)
        ),
        Mechanism::Mx { domain, cidr } => format!(
            "clients in the addresses of the MX hosts of {}{} (1 DNS lookup, at most 10 MX names)",
            domain.as_ref().map_or("the domain", |d| d.as_str()),
            cidr_text(cidr.v4, cidr.v6)
        ),
        Mechanism::Ptr(d) => format!(
            "clients whose validated reverse name is under {} (1 DNS lookup; RFC 7208 5.5: do not use)",
            d.as_ref().map_or("the domain", |d| d.as_str())
        ),
        Mechanism::Ip4 { addr, prefix } => format!("clients in {addr}/{prefix}"),
        Mechanism::Ip6 { addr, prefix } => format!("clients in {addr}/{prefix}"),
        Mechanism::Exists(d) => format!("any client when {d} has an A record (1 DNS lookup)"),
    };
    format!("{result} for {when}")
}

fn cidr_text(v4: u8, v6: u8) -> String {
    match (v4, v6) {
        (32, 128) => String::new(),
        (v4, 128) => format!(", IPv4 /{v4}"),
        (32, v6) => format!(", IPv6 /{v6}"),
        (v4, v6) => format!(", IPv4 /{v4}, IPv6 /{v6}"),
    }
}

/// This host's name for `%{r}` and `receiver=`: $HOSTNAME or
/// /etc/hostname, else "unknown" (RFC 7208 7.3).
fn local_host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_report_and_pointer() {
        let (text, ok) =
            render_parse(b"v=spf1 ip4:192.0.2.0/24 mx//64 include:_spf.example.net ~all");
        assert!(ok);
        assert_eq!(
            text,
            "record: v=spf1 ip4:192.0.2.0/24 mx//64 include:_spf.example.net ~all\n\
             valid: yes\n  \
             1. ip4:192.0.2.0/24             pass for clients in 192.0.2.0/24\n  \
             2. mx//64                       pass for clients in the addresses of the MX hosts of the domain, IPv6 /64 (1 DNS lookup, at most 10 MX names)\n  \
             3. include:_spf.example.net     pass for clients that _spf.example.net's policy passes (1 DNS lookup)\n  \
             4. ~all                         softfail for every client\n\
             dns-querying terms: 2 here (at most 10 in all, included policies count too)\n"
        );
        let (text, ok) = render_parse(b"v=spf1 a:mail -all");
        assert!(!ok);
        assert_eq!(
            text,
            "valid: no\n\
             error: term \"a:mail\" at byte 7: domain must end in a macro or a \".\" and a top-level label (letters, digits, inner dashes, not all digits)\n  \
             v=spf1 a:mail -all\n         \
             ^^^^^^\n"
        );
    }

    #[test]
    fn lookup_report_picks_the_spf_record() {
        use moxide_proto::dns::Records;
        let q = Query::new("example.com", RecordType::Txt);
        let l = Lookup::Records(Records {
            canonical: "example.com".into(),
            data: vec![
                Rdata::Txt(vec![b"google-site-verification=x".to_vec()]),
                Rdata::Txt(vec![b"v=spf1 ".to_vec(), b"-all".to_vec()]),
            ],
            ttl: 300,
            authentic: false,
        });
        let (text, ok) = render_lookup(&q, &l);
        assert!(ok);
        assert_eq!(
            text,
            "query: example.com TXT\n\
             txt (other): \"google-site-verification=x\"\n\
             txt (spf): \"v=spf1 \" \"-all\"\n\
             record: v=spf1 -all\n\
             valid: yes\n  \
             1. -all                         fail for every client\n\
             dns-querying terms: 0 here (at most 10 in all, included policies count too)\n"
        );
        let (text, ok) = render_lookup(&q, &Lookup::NoData { authentic: false });
        assert!(!ok);
        assert_eq!(
            text,
            "query: example.com TXT\nresult: no TXT records at example.com (SPF none)\n"
        );
    }
}
