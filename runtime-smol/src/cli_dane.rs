//! `moxide dane dial HOST:PORT`: checks a mail server's DANE set-up the way
//! a DANE-enforcing sender would (RFC 7672): looks up the TLSA records of
//! the host through moxide's resolver, connects, reads the greeting, EHLO,
//! STARTTLS (implicit TLS on port 465), handshakes with the DANE verifier,
//! and prints the TLSA records (with their DNSSEC status), which record
//! matched, the presented certificate chain, or exactly why verification
//! failed. Exit status 0 when the server was authenticated, 1 otherwise,
//! 2 for bad arguments.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use futures_rustls::TlsConnector;
use moxide_proto::dane::{
    DanePolicy, DaneVerification, DaneVerifier, TlsaLookup, TlsaLookupResult, TlsaOutcome,
    TlsaRecord,
};
use moxide_proto::dns::{Lookup, Query, RecordType, normalize_name};
use rustls::ClientConfig;
use rustls_pki_types::{CertificateDer, ServerName};
use smol::net::TcpStream;

use crate::cli_dns::{parse_resolver, rdata_text, resolver_for};
use crate::dns::Resolver;

/// How long the connection, greeting, STARTTLS and handshake may take.
const DIAL_TIME: Duration = Duration::from_secs(60);
/// The longest reply line read from the server.
const MAX_LINE: usize = 4096;

/// `moxide dane …`.
#[derive(Debug, Args)]
pub struct DaneArgs {
    #[command(subcommand)]
    pub command: DaneCommand,
}

#[derive(Debug, Subcommand)]
pub enum DaneCommand {
    /// Connect to HOST:PORT and verify its certificate against the TLSA
    /// records at _PORT._tcp.HOST (RFC 7672): EHLO and STARTTLS, or
    /// implicit TLS on port 465. Prints the records, the match and the
    /// chain, or why verification failed. Exit status 0 when verified.
    Dial {
        /// The server, HOST:PORT (HOST a name or an IP address).
        target: String,
        /// Ask this nameserver instead of those in /etc/resolv.conf.
        #[arg(long, value_name = "IP:PORT", value_parser = parse_resolver)]
        resolver: Option<SocketAddr>,
        /// Look up TLSA records for this host name instead of HOST (for
        /// dialing an address, or a name the MX record does not use).
        #[arg(long, value_name = "NAME")]
        tlsa_host: Option<String>,
    },
}

/// Runs `moxide dane …`.
pub fn run(args: DaneArgs) -> ExitCode {
    match args.command {
        DaneCommand::Dial {
            target,
            resolver,
            tlsa_host,
        } => {
            let Some((host, port)) = split_target(&target) else {
                eprintln!("moxide dane dial: {target:?} is not HOST:PORT");
                return ExitCode::from(2);
            };
            let resolver = match resolver_for(resolver) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("moxide dane dial: {e}");
                    return ExitCode::from(2);
                }
            };
            let tlsa_host = tlsa_host.unwrap_or_else(|| host.clone());
            let (text, ok) = smol::block_on(dial(&resolver, &host, port, &tlsa_host));
            print!("{text}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// `host:port`, `[v6]:port`.
fn split_target(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), port.parse().ok()?))
}

/// The whole check; returns the report and whether the server was
/// authenticated.
pub async fn dial(resolver: &Resolver, host: &str, port: u16, tlsa_host: &str) -> (String, bool) {
    let mut out = String::new();
    let found = resolver.evaluate(TlsaLookup::new(tlsa_host, port)).await;
    render_tlsa(&mut out, &found);
    let policy = match found.outcome {
        TlsaOutcome::Dane(p) => p,
        _ => return (out, false),
    };
    let checked = dial_tls(resolver, host, port, &policy, &mut out)
        .or(async {
            smol::Timer::after(DIAL_TIME).await;
            Err(format!("no answer within {} s", DIAL_TIME.as_secs()))
        })
        .await;
    match checked {
        Ok(ok) => (out, ok),
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            (out, false)
        }
    }
}

/// The TLSA part of the report.
fn render_tlsa(out: &mut String, found: &TlsaLookupResult) {
    if let Some(c) = &found.canonical_host {
        let _ = writeln!(
            out,
            "address records: DNSSEC {}{}",
            if found.address_secure {
                "secure"
            } else {
                "insecure"
            },
            if found.answers.first().is_some_and(|a| !a.name.ends_with(c)) {
                String::new()
            } else {
                format!(" (canonical name {c})")
            }
        );
    }
    for a in &found.answers {
        let status = if a.lookup.authentic() {
            "authentic"
        } else {
            "NOT authentic"
        };
        match &a.lookup {
            Lookup::Records(r) => {
                for d in &r.data {
                    let usable = match moxide_proto::dane::usable(d) {
                        Ok(_) => "usable".to_string(),
                        Err(e) => format!("unusable: {e}"),
                    };
                    let _ = writeln!(
                        out,
                        "TLSA {} {} ({status}; {usable})",
                        a.name,
                        rdata_text(d)
                    );
                }
            }
            Lookup::NxDomain { .. } => {
                let _ = writeln!(out, "TLSA {}: no such name ({status})", a.name);
            }
            Lookup::NoData { .. } => {
                let _ = writeln!(out, "TLSA {}: no TLSA records ({status})", a.name);
            }
            Lookup::Failed(f) => {
                let _ = writeln!(out, "TLSA {}: {f}", a.name);
            }
        }
    }
    match &found.outcome {
        TlsaOutcome::Dane(p) => {
            let _ = writeln!(
                out,
                "DANE: {} usable record(s) at TLSA base domain {}; reference names {}",
                p.records.len(),
                p.base_domain,
                p.reference_names.join(", ")
            );
        }
        TlsaOutcome::NoUsableRecords { name, .. } => {
            let _ = writeln!(
                out,
                "no DANE authentication: the secure TLSA records at {name} are all unusable; \
                 senders use TLS without authenticating the server (RFC 7672 3.1.3)"
            );
        }
        TlsaOutcome::NotDane(why) => {
            let _ = writeln!(out, "no DANE: {why}");
        }
        TlsaOutcome::TempError(why) => {
            let _ = writeln!(out, "temporary DNS error, senders defer delivery: {why}");
        }
    }
}

/// Connects, upgrades to TLS with the DANE verifier and reports; `Ok(true)`
/// when verified.
async fn dial_tls(
    resolver: &Resolver,
    host: &str,
    port: u16,
    policy: &DanePolicy,
    out: &mut String,
) -> Result<bool, String> {
    let addr = address(resolver, host).await?;
    let mut tcp = TcpStream::connect(SocketAddr::new(addr, port))
        .await
        .map_err(|e| format!("connect to {addr} port {port}: {e}"))?;
    let _ = writeln!(out, "connected to {addr} port {port}");
    if port != 465 {
        let greeting = read_reply(&mut tcp).await?;
        let _ = writeln!(out, "S: {}", greeting.join("\nS: "));
        expect(&greeting, "220")?;
        send(&mut tcp, "EHLO moxide.invalid", out).await?;
        let ehlo = read_reply(&mut tcp).await?;
        let _ = writeln!(out, "S: {}", ehlo.join("\nS: "));
        expect(&ehlo, "250")?;
        let starttls = ehlo.iter().skip(1).any(|l| {
            l.get(4..)
                .is_some_and(|k| k.trim().eq_ignore_ascii_case("STARTTLS"))
        });
        if !starttls {
            return Err("the server does not offer STARTTLS".into());
        }
        send(&mut tcp, "STARTTLS", out).await?;
        let go = read_reply(&mut tcp).await?;
        let _ = writeln!(out, "S: {}", go.join("\nS: "));
        expect(&go, "220")?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(DaneVerifier::new(policy, provider.clone()));
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    // RFC 7672 8.1: SNI is the TLSA base domain.
    let sni = ServerName::try_from(policy.base_domain.clone())
        .map_err(|e| format!("{}: {e}", policy.base_domain))?;
    let handshake = TlsConnector::from(Arc::new(config)).connect(sni, tcp).await;
    let verdict = verifier.verification();
    match handshake {
        Ok(mut tls) => {
            let (_, conn) = tls.get_ref();
            let chain: Vec<CertificateDer<'static>> = conn
                .peer_certificates()
                .unwrap_or_default()
                .iter()
                .map(|c| c.clone().into_owned())
                .collect();
            let version = conn
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default();
            let _ = writeln!(out, "TLS: {version}");
            render_chain(out, &chain);
            let ok = match verdict {
                Some(DaneVerification::Verified {
                    record,
                    depth,
                    name,
                }) => {
                    let _ = writeln!(
                        out,
                        "verified: TLSA {record} matched certificate {depth}{}",
                        name.map(|n| format!("; the server's certificate is valid for {n}"))
                            .unwrap_or_default()
                    );
                    true
                }
                other => {
                    let _ = writeln!(out, "not verified: {other:?}");
                    false
                }
            };
            let _ = tls.write_all(b"QUIT\r\n").await;
            let _ = tls.flush().await;
            Ok(ok)
        }
        Err(e) => {
            match verdict {
                Some(DaneVerification::Failed(f)) => {
                    let _ = writeln!(out, "verification failed: {f}");
                }
                _ => {
                    let _ = writeln!(out, "TLS handshake failed: {e}");
                }
            }
            Ok(false)
        }
    }
}

/// `host` as an address: literal, else its first A, then AAAA record.
async fn address(resolver: &Resolver, host: &str) -> Result<IpAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(ip);
    }
    let name = normalize_name(host).map_err(|e| format!("{host:?}: {e}"))?;
    for rtype in [RecordType::A, RecordType::Aaaa] {
        match resolver.lookup(Query::new(name.clone(), rtype)).await {
            Lookup::Records(r) => {
                for d in &r.data {
                    match d {
                        moxide_proto::dns::Rdata::A(ip) => return Ok(IpAddr::V4(*ip)),
                        moxide_proto::dns::Rdata::Aaaa(ip) => return Ok(IpAddr::V6(*ip)),
                        _ => {}
                    }
                }
            }
            Lookup::Failed(f) => return Err(format!("{rtype} lookup of {name}: {f}")),
            _ => {}
        }
    }
    Err(format!("{name} has no address records"))
}

/// Each certificate: its subject, names and the TLSA records that would
/// match it.
fn render_chain(out: &mut String, chain: &[CertificateDer<'_>]) {
    for (i, der) in chain.iter().enumerate() {
        let Ok(cert) = webpki::EndEntityCert::try_from(der) else {
            let _ = writeln!(out, "certificate {i}: unparsable ({} bytes)", der.len());
            continue;
        };
        let spki = cert.subject_public_key_info();
        let names: Vec<&str> = cert.valid_dns_names().collect();
        let _ = writeln!(
            out,
            "certificate {i}: subject {}; DNS names {}",
            subject_text(cert.subject()),
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(", ")
            }
        );
        let usage = if i == 0 { 3 } else { 2 };
        let rec = TlsaRecord::for_certificate(usage, 1, 1, der.as_ref(), spki.as_ref());
        let _ = writeln!(out, "  would match: TLSA {rec}");
    }
}

/// A readable form of a DER Name's contents (RDN sequence without its outer
/// SEQUENCE): `CN=…, O=…`; attributes it does not name are shown by OID.
fn subject_text(der: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut rest = der;
    while let Some((0x31, set, after)) = tlv(rest) {
        rest = after;
        let mut inner = set;
        while let Some((0x30, atv, after)) = tlv(inner) {
            inner = after;
            let Some((0x06, oid, value)) = tlv(atv) else {
                continue;
            };
            let Some((_, value, _)) = tlv(value) else {
                continue;
            };
            let key = match oid {
                [0x55, 0x04, 0x03] => "CN".to_string(),
                [0x55, 0x04, 0x06] => "C".to_string(),
                [0x55, 0x04, 0x0a] => "O".to_string(),
                [0x55, 0x04, 0x0b] => "OU".to_string(),
                _ => oid.iter().map(|b| format!("{b:02x}")).collect(),
            };
            parts.push(format!("{key}={}", String::from_utf8_lossy(value)));
        }
    }
    if parts.is_empty() {
        "(empty)".into()
    } else {
        parts.join(", ")
    }
}

/// One DER tag-length-value: (tag, value, rest), short and long lengths.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, start) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let end = start.checked_add(len)?;
    Some((tag, b.get(start..end)?, b.get(end..)?))
}

async fn send(tcp: &mut TcpStream, line: &str, out: &mut String) -> Result<(), String> {
    let _ = writeln!(out, "C: {line}");
    tcp.write_all(format!("{line}\r\n").as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))
}

/// One SMTP reply, multi-line included, without line ends. Reads byte by
/// byte so nothing after the reply (the TLS handshake) is consumed.
async fn read_reply(tcp: &mut TcpStream) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            let n = tcp
                .read(&mut byte)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            if byte[0] == b'\n' {
                break;
            }
            if line.len() >= MAX_LINE {
                return Err(format!("reply line longer than {MAX_LINE} bytes"));
            }
            line.push(byte[0]);
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let more = text.as_bytes().get(3) == Some(&b'-');
        lines.push(text);
        if !more {
            return Ok(lines);
        }
    }
}

fn expect(reply: &[String], code: &str) -> Result<(), String> {
    match reply.last() {
        Some(l) if l.starts_with(code) => Ok(()),
        _ => Err(format!("expected a {code} reply")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_subjects() {
        assert_eq!(
            split_target("mx.example.com:25"),
            Some(("mx.example.com".into(), 25))
        );
        assert_eq!(split_target("[::1]:465"), Some(("::1".into(), 465)));
        assert_eq!(split_target("mx.example.com"), None);
        assert_eq!(split_target(":25"), None);
        // SET { SEQUENCE { OID 2.5.4.3, UTF8String "mx" } }
        let name = [
            0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x02, b'm', b'x',
        ];
        assert_eq!(subject_text(&name), "CN=mx");
        assert_eq!(subject_text(&name[..5]), "(empty)");
    }
}
