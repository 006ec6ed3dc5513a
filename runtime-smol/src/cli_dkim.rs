//! `moxide dkim …`: sign and verify messages, look up and check key records,
//! generate keys. Output is what an admin needs to fix a record or a
//! signature: the record found, its parse, the result and the reason.
//!
//! - `dkim sign --domain D --selector S --key FILE < msg`: prints the message
//!   with a DKIM-Signature field on top.
//! - `dkim verify < msg`: each signature's result and reason; exit status 0
//!   when at least one signature passed.
//! - `dkim lookup SELECTOR DOMAIN`: the key record and its parse.
//! - `dkim gened25519`, `dkim genrsa`: a private key (PEM) and the TXT record
//!   to publish for it.
//!
//! Messages on stdin with bare LF line ends are converted to CRLF first.

use std::fmt::Write as _;
use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use moxide_proto::dkim::{
    Canon, KeyRecord, PrivateKey, PublicKey, SigResult, Signer, SignerSelector, Status,
    SystemRandom, Verification, Verifier, generate_ed25519, generate_rsa, pkcs8_pem,
    rsa_modulus_bits,
};
use moxide_proto::dns::{Lookup, Query, RecordType, normalize_name};

use crate::cli_dns::{parse_resolver, resolver_for};

/// `moxide dkim …`.
#[derive(Debug, Args)]
pub struct DkimArgs {
    #[command(subcommand)]
    pub command: DkimCommand,
}

#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Sign the message on stdin; print it with a DKIM-Signature on top.
    Sign(SignArgs),
    /// Verify every DKIM-Signature of the message on stdin and print each
    /// result with its reason. Exit status 0 when one passed.
    Verify {
        /// Ask this nameserver (IP or IP:PORT) instead of /etc/resolv.conf's.
        #[arg(long, value_name = "IP:PORT", value_parser = parse_resolver)]
        resolver: Option<SocketAddr>,
        /// Verify as of this time (seconds since 1970) instead of now, for
        /// x= expiry.
        #[arg(long, value_name = "UNIX")]
        now: Option<u64>,
    },
    /// Look up the key record SELECTOR._domainkey.DOMAIN and check it.
    Lookup {
        selector: String,
        domain: String,
        /// Ask this nameserver (IP or IP:PORT) instead of /etc/resolv.conf's.
        #[arg(long, value_name = "IP:PORT", value_parser = parse_resolver)]
        resolver: Option<SocketAddr>,
    },
    /// Generate an ed25519 key: print the private key (PKCS#8 PEM) and the
    /// TXT record to publish.
    Gened25519,
    /// Generate an RSA key (2048 bits unless --bits): print the private key
    /// (PKCS#8 PEM) and the TXT record to publish.
    Genrsa {
        /// Key size: 2048 to 4096.
        #[arg(long, default_value_t = 2048)]
        bits: usize,
    },
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The signing domain, d=.
    #[arg(long)]
    domain: String,
    /// The selector, s=.
    #[arg(long)]
    selector: String,
    /// The private key: PEM (PRIVATE KEY or RSA PRIVATE KEY) or DER.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Header fields to sign, comma-separated [default: mox's list].
    #[arg(long, value_delimiter = ',')]
    headers: Option<Vec<String>>,
    /// Do not over-sign (sign each header only as often as it occurs).
    #[arg(long)]
    no_oversign: bool,
    /// Canonicalisation HEADER/BODY, each simple or relaxed.
    #[arg(long, default_value = "relaxed/relaxed", value_parser = parse_canon)]
    canon: (Canon, Canon),
    /// Add l= with the body length.
    #[arg(long)]
    length: bool,
    /// Seconds until the signature expires (x=).
    #[arg(long, value_name = "SECONDS")]
    expiration: Option<u64>,
    /// The agent or user identifier, i= (must be in --domain).
    #[arg(long)]
    identity: Option<String>,
}

fn parse_canon(s: &str) -> Result<(Canon, Canon), String> {
    let one = |c: &str| match c {
        "simple" => Ok(Canon::Simple),
        "relaxed" => Ok(Canon::Relaxed),
        _ => Err(format!("{c:?} is not simple or relaxed")),
    };
    match s.split_once('/') {
        Some((h, b)) => Ok((one(h)?, one(b)?)),
        None => Ok((one(s)?, one(s)?)),
    }
}

/// Runs `moxide dkim …`.
pub fn run(args: DkimArgs) -> ExitCode {
    let result = match args.command {
        DkimCommand::Sign(a) => sign(a),
        DkimCommand::Verify { resolver, now } => verify(resolver, now),
        DkimCommand::Lookup {
            selector,
            domain,
            resolver,
        } => lookup(&selector, &domain, resolver),
        DkimCommand::Gened25519 => generate(None),
        DkimCommand::Genrsa { bits } => generate(Some(bits)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("moxide dkim: {e}");
            ExitCode::from(2)
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The message on stdin, bare LF line ends made CRLF.
fn read_message() -> Result<Vec<u8>, String> {
    let mut msg = Vec::new();
    std::io::stdin()
        .read_to_end(&mut msg)
        .map_err(|e| format!("reading the message from stdin: {e}"))?;
    Ok(to_crlf(msg))
}

/// Converts bare LF to CRLF, leaving CRLF as it is.
pub fn to_crlf(msg: Vec<u8>) -> Vec<u8> {
    let bare = msg
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || msg.get(i - 1) != Some(&b'\r')));
    if !bare {
        return msg;
    }
    let mut out = Vec::with_capacity(msg.len() + msg.len() / 40);
    for (i, &b) in msg.iter().enumerate() {
        if b == b'\n' && (i == 0 || msg.get(i - 1) != Some(&b'\r')) {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn sign(a: SignArgs) -> Result<ExitCode, String> {
    let key_data =
        std::fs::read(&a.key).map_err(|e| format!("reading key {}: {e}", a.key.display()))?;
    let key = if key_data.starts_with(b"-----") {
        PrivateKey::from_pem(&key_data)
    } else {
        PrivateKey::from_der(&key_data)
    }
    .map_err(|e| format!("key {}: {e}", a.key.display()))?;
    let mut sel = SignerSelector::new(&a.domain, &a.selector, key);
    if let Some(h) = a.headers {
        sel.headers = h;
    }
    sel.oversign = !a.no_oversign;
    (sel.header_canon, sel.body_canon) = a.canon;
    sel.body_length = a.length;
    sel.expiration = a.expiration;
    sel.identity = a.identity;
    let msg = read_message()?;
    let header = Signer::new(vec![sel])
        .sign(&msg, unix_now(), &SystemRandom::new())
        .map_err(|e| format!("signing: {e}"))?;
    let mut out = header.into_bytes();
    out.extend_from_slice(&msg);
    use std::io::Write as _;
    std::io::stdout()
        .write_all(&out)
        .map_err(|e| format!("writing stdout: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn verify(resolver: Option<SocketAddr>, now: Option<u64>) -> Result<ExitCode, String> {
    let msg = read_message()?;
    let resolver = resolver_for(resolver)?;
    let v = smol::block_on(resolver.evaluate(Verifier::new(&msg, now.unwrap_or_else(unix_now))));
    print!("{}", render_verification(&v));
    Ok(if v.status() == Status::Pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The report of a verification: one block per signature.
pub fn render_verification(v: &Verification) -> String {
    let mut out = String::new();
    if let Some(e) = &v.message_error {
        let _ = writeln!(out, "message: permerror: {e}");
        return out;
    }
    if v.results.is_empty() {
        out.push_str("dkim=none: the message has no DKIM-Signature\n");
        return out;
    }
    for (i, r) in v.results.iter().enumerate() {
        render_result(&mut out, i + 1, r);
    }
    out
}

fn render_result(out: &mut String, n: usize, r: &SigResult) {
    let _ = writeln!(out, "signature {n}: {}", r.status);
    let _ = writeln!(out, "  reason: {}", r.reason());
    if let Some(s) = &r.signature {
        let _ = writeln!(
            out,
            "  d={} s={} i={} a={} c={}/{}",
            s.domain,
            s.selector,
            s.identity,
            s.algorithm.as_str(),
            s.header_canon.as_str(),
            s.body_canon.as_str()
        );
        let _ = writeln!(out, "  h={}", s.signed_headers.join(":"));
        if let Some(l) = s.length {
            let _ = writeln!(out, "  l={l} (body beyond this length is not signed)");
        }
        if let Some(t) = s.timestamp {
            let _ = writeln!(out, "  t={t}");
        }
        if let Some(x) = s.expiration {
            let _ = writeln!(out, "  x={x}");
        }
        let _ = writeln!(out, "  key record name: {}", s.key_name());
    } else {
        let _ = writeln!(out, "  header: {}", r.header);
    }
    if let Some(t) = &r.record_text {
        let _ = writeln!(out, "  key record: {t}");
    }
    if let Some(rec) = &r.record {
        render_record(out, rec, "  ");
    }
}

fn render_record(out: &mut String, rec: &KeyRecord, indent: &str) {
    let key = match &rec.public_key {
        None => "revoked (empty p=)".to_string(),
        Some(PublicKey::Rsa { n, .. }) => format!("rsa, {} bits", rsa_modulus_bits(n)),
        Some(PublicKey::Ed25519(_)) => "ed25519".to_string(),
    };
    let _ = writeln!(out, "{indent}key: {key}");
    if let Some(h) = &rec.hashes_text {
        let _ = writeln!(out, "{indent}hashes allowed (h=): {h}");
    }
    if let Some(s) = &rec.services_text {
        let usable = if rec.for_email {
            ""
        } else {
            " (not for email!)"
        };
        let _ = writeln!(out, "{indent}services (s=): {s}{usable}");
    }
    if rec.testing {
        let _ = writeln!(
            out,
            "{indent}t=y: testing mode, verifiers treat results like unsigned mail"
        );
    }
    if rec.strict {
        let _ = writeln!(out, "{indent}t=s: i= must be exactly d=, not a subdomain");
    }
    if let Some(n) = &rec.notes {
        let _ = writeln!(out, "{indent}notes (n=): {n}");
    }
}

fn lookup(selector: &str, domain: &str, resolver: Option<SocketAddr>) -> Result<ExitCode, String> {
    let name = normalize_name(&format!("{selector}._domainkey.{domain}"))
        .map_err(|e| format!("selector {selector:?} and domain {domain:?}: {e}"))?;
    let resolver = resolver_for(resolver)?;
    let lookup = smol::block_on(resolver.lookup(Query::new(name.clone(), RecordType::Txt)));
    let (text, ok) = render_lookup(&name, &lookup);
    print!("{text}");
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The report of a key record lookup, and whether a usable record was found.
pub fn render_lookup(name: &str, lookup: &Lookup) -> (String, bool) {
    let mut out = String::new();
    let records = match lookup {
        Lookup::Records(r) => r,
        Lookup::NxDomain { .. } | Lookup::NoData { .. } => {
            let _ = writeln!(
                out,
                "{name}: no TXT record (publish the record from `moxide dkim gened25519` or `genrsa`)"
            );
            return (out, false);
        }
        Lookup::Failed(f) => {
            let _ = writeln!(out, "{name}: lookup failed: {f} (temporary; try again)");
            return (out, false);
        }
    };
    let mut ok = false;
    for data in &records.data {
        let Some(txt) = data.txt_joined() else {
            continue;
        };
        let _ = writeln!(out, "{name} TXT {}", String::from_utf8_lossy(&txt));
        match KeyRecord::parse(&txt) {
            Ok(rec) => {
                render_record(&mut out, &rec, "  ");
                if rec.public_key.is_some() && rec.for_email {
                    out.push_str("  usable: yes\n");
                    ok = true;
                } else {
                    out.push_str("  usable: no\n");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "  not a usable key record: {e}");
            }
        }
    }
    if records.authentic {
        out.push_str("dnssec: authentic (the resolver validated the answer)\n");
    }
    (out, ok)
}

fn generate(rsa_bits: Option<usize>) -> Result<ExitCode, String> {
    let rng = SystemRandom::new();
    let der = match rsa_bits {
        None => generate_ed25519(&rng),
        Some(bits) => generate_rsa(&rng, bits),
    }
    .map_err(|e| e.to_string())?;
    let key = PrivateKey::from_der(&der).map_err(|e| e.to_string())?;
    print!("{}", pkcs8_pem(&der));
    println!();
    println!("# Publish as TXT at SELECTOR._domainkey.DOMAIN:");
    println!("{}", key.dns_record());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lf_to_crlf() {
        assert_eq!(to_crlf(b"a\nb\r\nc\n".to_vec()), b"a\r\nb\r\nc\r\n");
        assert_eq!(to_crlf(b"a\r\n".to_vec()), b"a\r\n");
        assert_eq!(to_crlf(b"\n".to_vec()), b"\r\n");
    }

    #[test]
    fn lookup_report() {
        let mut zone = moxide_proto::dns::Zone::new();
        zone.add_txt(
            "ed._domainkey.example.org",
            "v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        );
        let name = "ed._domainkey.example.org";
        let (text, ok) = render_lookup(name, &zone.answer(&Query::new(name, RecordType::Txt)));
        assert!(ok);
        assert_eq!(
            text,
            "ed._domainkey.example.org TXT v=DKIM1; k=ed25519; t=y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n  key: ed25519\n  t=y: testing mode, verifiers treat results like unsigned mail\n  usable: yes\ndnssec: authentic (the resolver validated the answer)\n"
        );
        let (text, ok) = render_lookup(
            "x._domainkey.example.org",
            &zone.answer(&Query::new("x._domainkey.example.org", RecordType::Txt)),
        );
        assert!(!ok);
        assert_eq!(
            text,
            "x._domainkey.example.org: no TXT record (publish the record from `moxide dkim gened25519` or `genrsa`)\n"
        );
    }
}
