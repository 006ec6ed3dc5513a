//! `moxide mtasts lookup DOMAIN`: MTA-STS (RFC 8461) for an admin fixing a
//! domain's set-up. Prints the `_mta-sts` TXT records and which one counts
//! (a syntax error pointed at), the policy URL, the HTTP status and
//! Content-Type of the fetch, and the policy (mode, MX patterns, max_age)
//! or exactly why it cannot be used (TLS, HTTP, media type, syntax with
//! its line). Exit status 0 when a valid policy was fetched, 1 otherwise,
//! 2 for bad arguments.
//!
//! Test-only: the environment variable `MOXIDE_MTASTS_PORT` makes the
//! fetch use that port instead of 443 (RFC 8461 3.3 fixes the URL), so
//! tests can serve a policy on a high loopback port.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use moxide_engine::mtasts::{policy_from_response, policy_request};
use moxide_proto::conn::{HttpsError, HttpsResponse};
use moxide_proto::dns::{Lookup, Query, RecordType, normalize_name};
use moxide_proto::mtasts::{Policy, RecordError, is_mtasts, parse, parse_policy, record_name};

use crate::cli_dns::{parse_resolver, resolver_for};
use crate::https::HttpsTls;

/// The test-only port override (see the module doc).
pub const PORT_ENV: &str = "MOXIDE_MTASTS_PORT";

/// `moxide mtasts …`.
#[derive(Debug, Args)]
pub struct MtastsArgs {
    #[command(subcommand)]
    pub command: MtastsCommand,
}

#[derive(Debug, Subcommand)]
pub enum MtastsCommand {
    /// Look up DOMAIN's MTA-STS record, fetch its policy from
    /// https://mta-sts.DOMAIN/.well-known/mta-sts.txt and print both, or
    /// what is wrong. Exit status 0 for a valid policy, 1 otherwise.
    Lookup {
        /// The recipient domain.
        domain: String,
        /// Ask this nameserver (IP or IP:PORT, [IPv6]:PORT) instead of those
        /// in /etc/resolv.conf; also for the policy host's address.
        #[arg(long, value_name = "IP:PORT", value_parser = parse_resolver)]
        resolver: Option<SocketAddr>,
        /// Also trust the CA certificates in this PEM file for the policy
        /// host (besides the built-in Mozilla roots).
        #[arg(long, value_name = "PEM")]
        ca_file: Option<PathBuf>,
    },
}

/// Runs `moxide mtasts …`.
pub fn run(args: MtastsArgs) -> ExitCode {
    let MtastsCommand::Lookup {
        domain,
        resolver,
        ca_file,
    } = args.command;
    let usage = |e: &str| {
        eprintln!("moxide mtasts lookup: {e}");
        ExitCode::from(2)
    };
    let domain = match normalize_name(&domain) {
        Ok(d) => d,
        Err(e) => return usage(&format!("domain {domain:?}: {e}")),
    };
    let port = match std::env::var(PORT_ENV) {
        Err(_) => None,
        Ok(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 => Some(n),
            _ => return usage(&format!("{PORT_ENV}={p:?} is not a port")),
        },
    };
    let resolver = match resolver_for(resolver) {
        Ok(r) => r,
        Err(e) => return usage(&e),
    };
    // The policy host is resolved through the shared resolver: make it
    // this one. Nothing has used the shared resolver yet.
    let _ = crate::dns::install_shared(resolver);
    let extra = match ca_file.as_deref().map(crate::https::load_ca_file) {
        None => Vec::new(),
        Some(Ok(certs)) => certs,
        Some(Err(e)) => return usage(&format!("--ca-file: {e}")),
    };
    let tls = match crate::https::HttpsTls::with_extra_roots(&extra) {
        Ok(c) => c,
        Err(e) => return usage(&e.detail),
    };
    let (text, ok) = smol::block_on(lookup(&domain, port, &tls));
    print!("{text}");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The whole report for `domain`; `true` when a valid policy was fetched.
pub async fn lookup(domain: &str, port: Option<u16>, tls: &HttpsTls) -> (String, bool) {
    let mut out = String::new();
    let name = record_name(domain);
    let q = Query::new(name.clone(), RecordType::Txt);
    let answer = crate::dns::shared().lookup(q).await;
    let _ = writeln!(out, "record name: {name}");
    if !render_record(&mut out, &answer) {
        return (out, false);
    }
    let mut req = policy_request(domain);
    let _ = writeln!(out, "policy URL: {}", req.url);
    if let Some(p) = port {
        req.url = req.url.replacen(
            &format!("https://mta-sts.{domain}/"),
            &format!("https://mta-sts.{domain}:{p}/"),
            1,
        );
        let _ = writeln!(out, "fetching from port {p} ({PORT_ENV}, for tests)");
    }
    let outcome = crate::https::get(&req, tls).await;
    let ok = render_fetch(&mut out, &outcome);
    (out, ok)
}

/// Prints the TXT records and the MTA-STS record; `false` when there is
/// no usable record (nothing to fetch).
fn render_record(out: &mut String, answer: &Lookup) -> bool {
    let texts: Vec<String> = match answer {
        Lookup::Records(r) => r
            .data
            .iter()
            .filter_map(|d| d.txt_joined())
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .collect(),
        Lookup::NxDomain { .. } => {
            let _ = writeln!(
                out,
                "record: none (NXDOMAIN): the domain does not use MTA-STS"
            );
            return false;
        }
        Lookup::NoData { .. } => {
            let _ = writeln!(
                out,
                "record: none (no TXT records): the domain does not use MTA-STS"
            );
            return false;
        }
        Lookup::Failed(f) => {
            let _ = writeln!(out, "record: lookup failed: {f}");
            return false;
        }
    };
    let _ = writeln!(out, "TXT records:");
    for t in &texts {
        let _ = writeln!(out, "  {t:?}");
    }
    let sts: Vec<&String> = texts.iter().filter(|t| is_mtasts(t)).collect();
    let text = match sts.as_slice() {
        [] => {
            let _ = writeln!(
                out,
                "record: none starts with v=STSv1: the domain does not use MTA-STS"
            );
            return false;
        }
        [one] => *one,
        more => {
            let _ = writeln!(
                out,
                "record error: {} records start with v=STSv1, exactly one is allowed \
                 (RFC 8461 3.1); senders treat the domain as without MTA-STS",
                more.len()
            );
            return false;
        }
    };
    match parse(text) {
        Ok(rec) => {
            let _ = writeln!(out, "record: {text}");
            let _ = writeln!(out, "record id: {}", rec.id);
            for (k, v) in &rec.extensions {
                let _ = writeln!(out, "record extension: {k}={v}");
            }
            true
        }
        Err(e) => {
            let _ = writeln!(out, "record error: {e}");
            if let (RecordError::Invalid(_), Some(pos)) = (&e, record_error_position(text)) {
                let _ = writeln!(out, "  {text}");
                let _ = writeln!(out, "  {}^ at character {}", " ".repeat(pos), pos + 1);
            }
            let _ = writeln!(out, "senders treat the domain as without MTA-STS");
            false
        }
    }
}

/// Where in `text` the first bad field starts (byte offset), found by
/// parsing ever longer prefixes: the field whose addition makes the
/// record invalid. `None` when only the whole is wrong (`id` missing).
pub fn record_error_position(text: &str) -> Option<usize> {
    let mut fields = Vec::new(); // (start, end) of each field
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == ';' {
            fields.push((start, i));
            start = i + 1;
        }
    }
    fields.push((start, text.len()));
    let blank = |(s, e): (usize, usize)| text.get(s..e).is_none_or(|f| f.trim().is_empty());
    for (k, &(s, e)) in fields.iter().enumerate() {
        let Some(prefix) = text.get(..e) else {
            continue;
        };
        if let Err(RecordError::Invalid(msg)) = parse(prefix) {
            if msg == "id= is missing" {
                continue;
            }
            // An empty field is only noticed at the field after it.
            let at = match k.checked_sub(1).and_then(|p| fields.get(p)) {
                Some(&prev) if k > 1 && blank(prev) => prev.0,
                _ => s,
            };
            let lead = text.get(at..).map_or(0, |f| f.len() - f.trim_start().len());
            return Some(at + lead);
        }
    }
    None
}

/// Prints the fetch's outcome and the policy; `true` for a valid policy.
fn render_fetch(out: &mut String, outcome: &Result<HttpsResponse, HttpsError>) -> bool {
    if let Ok(resp) = outcome {
        let _ = writeln!(out, "HTTP status: {}", resp.status);
        let _ = writeln!(
            out,
            "Content-Type: {}",
            resp.content_type.as_deref().unwrap_or("(none)")
        );
    }
    match policy_from_response(outcome) {
        Ok(policy) => {
            render_policy(out, &policy);
            true
        }
        Err(f) => {
            // A syntax error: say where, and show the text by lines.
            let body = match outcome {
                Ok(resp) if f.detail.starts_with("invalid MTA-STS policy") => Some(&resp.body),
                _ => None,
            };
            match body.and_then(|b| policy_error_line(b)) {
                Some(line) => {
                    let _ = writeln!(out, "policy error: {} (line {line})", f.detail);
                }
                None => {
                    let _ = writeln!(out, "policy error: {}", f.detail);
                }
            }
            let _ = writeln!(out, "TLSRPT result type: {}", f.kind.result_type());
            if let Some(body) = body {
                let _ = writeln!(out, "policy text:");
                let text = String::from_utf8_lossy(body);
                for (i, l) in text.lines().enumerate() {
                    let _ = writeln!(out, "  {:>3} {l}", i + 1);
                }
            }
            false
        }
    }
}

fn render_policy(out: &mut String, p: &Policy) {
    let _ = writeln!(out, "policy:");
    let _ = writeln!(out, "  mode: {}", p.mode);
    for m in &p.mx {
        let _ = writeln!(out, "  mx: {m}");
    }
    let _ = writeln!(
        out,
        "  max_age: {} seconds ({})",
        p.max_age,
        human_duration(p.max_age)
    );
    for (k, v) in &p.extensions {
        let _ = writeln!(out, "  {k}: {v}");
    }
}

/// The line of a policy syntax error whose message lacks one: a bad
/// `version`, `mode` or `max_age` value is on the first line with that
/// key. `None` when the message has a line already, or none applies.
pub fn policy_error_line(body: &[u8]) -> Option<usize> {
    let msg = parse_policy(body).err()?.0;
    if msg.starts_with("line ") || msg.contains("missing") || msg.contains("needs") {
        return None;
    }
    let key = ["version", "mode", "max_age"]
        .into_iter()
        .find(|k| msg.starts_with(&format!("{k} ")))?;
    let text = std::str::from_utf8(body).ok()?;
    text.split('\n')
        .position(|l| l.split_once(':').is_some_and(|(k, _)| k.trim() == key))
        .map(|i| i + 1)
}

/// `604800` → `7 days`; `3600` → `1 hour`; otherwise seconds.
fn human_duration(secs: u32) -> String {
    let plural = |n: u32, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s >= 86400 && s % 86400 == 0 => plural(s / 86400, "day"),
        s if s >= 3600 && s % 3600 == 0 => plural(s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_the_bad_field() {
        assert_eq!(record_error_position("v=STSv1; id=a-b"), Some(9));
        assert_eq!(record_error_position("v=STSv1; id=1; junk"), Some(15));
        assert_eq!(record_error_position("v=STSv1;; id=1"), Some(8));
        assert_eq!(record_error_position("v=STSv1; id=1; id=2"), Some(15));
        assert_eq!(record_error_position("v=STSv1; x=y"), None);
        assert_eq!(record_error_position("v=STSv1; id=1"), None);
    }

    #[test]
    fn finds_the_line_of_a_bad_value() {
        assert_eq!(
            policy_error_line(b"version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n"),
            Some(2)
        );
        assert_eq!(
            policy_error_line(b"version: STSv1\r\nmode: enforce\r\nmx: a\r\nmax_age: x\r\n"),
            Some(4)
        );
        assert_eq!(policy_error_line(b"version: STSv2\n"), Some(1));
        // Has a line, is missing, or is fine: nothing to add.
        assert_eq!(policy_error_line(b"version: STSv1\nbad line\n"), None);
        assert_eq!(policy_error_line(b"version: STSv1\nmode: none\n"), None);
        assert_eq!(
            policy_error_line(b"version: STSv1\nmode: none\nmax_age: 5\n"),
            None
        );
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(604800), "7 days");
        assert_eq!(human_duration(86400), "1 day");
        assert_eq!(human_duration(7200), "2 hours");
        assert_eq!(human_duration(300), "5 minutes");
        assert_eq!(human_duration(61), "61 seconds");
    }
}
