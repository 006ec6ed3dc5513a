//! `moxide dmarc lookup DOMAIN` and `moxide dmarc verify IP MAILFROM HELO <
//! message`: what an admin needs to check a DMARC record, and how a
//! message would fare on arrival (the same iprev/SPF/DKIM/DMARC checks and
//! verdict as inbound SMTP, `engine::smtp::auth_checks`), with
//! `--resolver IP:PORT` to ask a given nameserver.

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use moxide_engine::smtp::auth_checks::{self, Answers, CheckInput};
use moxide_engine::smtp::verdict::{self, Verdict};
use moxide_proto::dmarc;
use moxide_proto::dns::{Lookup, Query, RecordType, normalize_name};

use crate::cli_dns::{parse_resolver, resolver_for};
use crate::dns::Resolver;

/// `moxide dmarc …`.
#[derive(Debug, Args)]
pub struct DmarcArgs {
    #[command(subcommand)]
    pub command: DmarcCommand,
}

#[derive(Debug, Subcommand)]
pub enum DmarcCommand {
    /// Look up the DMARC record that applies to DOMAIN (its own, else its
    /// organizational domain's) and print it parsed, or why it is unusable.
    /// Exit status 0 when a valid record applies.
    Lookup {
        /// The RFC5322.From domain.
        domain: String,
        /// Ask this nameserver (IP or IP:PORT) instead of /etc/resolv.conf's.
        #[arg(long, value_name = "IP:PORT", value_parser = parse_resolver)]
        resolver: Option<SocketAddr>,
    },
    /// Evaluate a message (on stdin, as it would arrive) as if received
    /// from IP with MAIL FROM and HELO: iprev, SPF, DKIM and DMARC, then
    /// the Authentication-Results header and what inbound SMTP would do.
    /// Exit status 0 when it would be delivered to the Inbox, 1 otherwise.
    Verify {
        /// The connecting IP address.
        ip: IpAddr,
        /// The MAIL FROM address (`""` for the null sender).
        mail_from: String,
        /// The EHLO/HELO name.
        helo: String,
        /// Ask this nameserver (IP or IP:PORT) instead of /etc/resolv.conf's.
        #[arg(long, value_name = "IP:PORT", value_parser = parse_resolver)]
        resolver: Option<SocketAddr>,
    },
}

/// Runs `moxide dmarc …`.
pub fn run(args: DmarcArgs) -> ExitCode {
    let (resolver, result) = match args.command {
        DmarcCommand::Lookup { domain, resolver } => (resolver, Cmd::Lookup(domain)),
        DmarcCommand::Verify {
            ip,
            mail_from,
            helo,
            resolver,
        } => (resolver, Cmd::Verify(ip, mail_from, helo)),
    };
    let resolver = match resolver_for(resolver) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("moxide dmarc: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = match result {
        Cmd::Lookup(domain) => smol::block_on(lookup(&resolver, &domain)),
        Cmd::Verify(ip, from, helo) => {
            let mut message = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut message) {
                eprintln!("moxide dmarc verify: reading the message: {e}");
                return ExitCode::from(2);
            }
            smol::block_on(verify(&resolver, ip, from, helo, &message))
        }
    };
    match outcome {
        Ok((text, ok)) => {
            print!("{text}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("moxide dmarc: {e}");
            ExitCode::from(2)
        }
    }
}

enum Cmd {
    Lookup(String),
    Verify(IpAddr, String, String),
}

/// The record discovery of RFC 7489 6.6.3, printed step by step.
async fn lookup(resolver: &Resolver, domain: &str) -> Result<(String, bool), String> {
    let domain = normalize_name(domain).map_err(|e| format!("{domain:?}: {e}"))?;
    let org = dmarc::organizational_domain(&domain);
    let mut out = String::new();
    let mut names = vec![domain.clone()];
    if org != domain {
        names.push(org.clone());
    }
    out.push_str(&format!("organizational domain: {org}\n"));
    for d in names {
        let name = format!("_dmarc.{d}");
        let l = resolver
            .lookup(Query::new(name.clone(), RecordType::Txt))
            .await;
        let texts: Vec<String> = match &l {
            Lookup::Failed(f) => {
                out.push_str(&format!("{name}: {f} (receivers give temperror)\n"));
                return Ok((out, false));
            }
            Lookup::NxDomain { .. } => {
                out.push_str(&format!("{name}: NXDOMAIN\n"));
                continue;
            }
            Lookup::NoData { .. } => {
                out.push_str(&format!("{name}: no TXT records\n"));
                continue;
            }
            Lookup::Records(r) => r
                .data
                .iter()
                .filter_map(|d| d.txt_joined())
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .collect(),
        };
        let dmarc: Vec<&String> = texts.iter().filter(|t| dmarc::is_dmarc(t)).collect();
        for t in &texts {
            out.push_str(&format!(
                "{name}: TXT {t:?}{}\n",
                if dmarc::is_dmarc(t) {
                    ""
                } else {
                    " (not DMARC, ignored)"
                }
            ));
        }
        match dmarc.as_slice() {
            [] => continue,
            [one] => {
                return match dmarc::parse(one) {
                    Ok(r) => {
                        out.push_str(&format!("record: {r}\n"));
                        if r.policy_defaulted {
                            out.push_str("note: p= is missing or invalid; with a valid rua= it reads as p=none (RFC 7489 6.6.3)\n");
                        }
                        if d != domain {
                            let p = r.subdomain_policy.unwrap_or(r.policy);
                            out.push_str(&format!(
                                "applies to {domain} as a subdomain: policy {p}\n"
                            ));
                        }
                        Ok((out, true))
                    }
                    Err(e) => {
                        out.push_str(&format!(
                            "error: {e}: receivers apply no policy (permerror)\n"
                        ));
                        Ok((out, false))
                    }
                };
            }
            _ => {
                out.push_str(&format!(
                    "error: {name} has {} DMARC records: receivers apply none (RFC 7489 6.6.3)\n",
                    dmarc.len()
                ));
                return Ok((out, false));
            }
        }
    }
    out.push_str("no DMARC record applies\n");
    Ok((out, false))
}

/// Runs the inbound checks, looking up what they ask for until done.
async fn verify(
    resolver: &Resolver,
    ip: IpAddr,
    from: String,
    helo: String,
    message: &[u8],
) -> Result<(String, bool), String> {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let input = CheckInput {
        ip,
        helo,
        mail_from: (!from.is_empty()).then_some(from),
        hostname: "moxide-dmarc-verify".into(),
        now: Instant::now(),
        unix: i64::try_from(unix).unwrap_or(0),
        // pct sampling as for a message that falls in the sample.
        dmarc_sample: 0,
    };
    let mut answers = Answers::default();
    let results = loop {
        match auth_checks::run(&input, message, &answers) {
            Ok(r) => break r,
            Err(missing) => {
                // Every missing lookup at once, each on the resolver.
                let tasks: Vec<_> = missing
                    .into_iter()
                    .map(|q| {
                        let r = resolver.clone();
                        smol::spawn(async move {
                            let l = r.lookup(q.clone()).await;
                            (q, l)
                        })
                    })
                    .collect();
                for t in tasks {
                    let (q, l) = t.await;
                    answers.insert(q, l);
                }
            }
        }
    };
    let mut out = verdict::authentication_results(&results, &input.hostname);
    out.push_str(&results.spf.received_spf);
    for r in &results.dkim.results {
        out.push_str(&format!("dkim: {} {}\n", r.status, r.reason()));
    }
    if let Some(d) = &results.dmarc {
        out.push_str(&format!("dmarc: {} ({})\n", d.result, d.reason));
    }
    let (ok, what) = match verdict::decide(&results, &input.hostname) {
        Verdict::Reject(r) => (
            false,
            format!(
                "refused: {}",
                String::from_utf8_lossy(&r.to_bytes()).trim_end()
            ),
        ),
        Verdict::Deliver { junk: true, .. } => (false, "delivered to Junk".to_string()),
        Verdict::Deliver { junk: false, .. } => (true, "delivered to the Inbox".to_string()),
    };
    out.push_str(&format!("verdict: {what}\n"));
    Ok((out, ok))
}
