//! `moxide sendmail`: a drop-in `/usr/sbin/sendmail` that submits the
//! message on stdin over SMTP submission (RFC 6409) to the server named in
//! a small TOML file, `/etc/moxide/sendmail.toml` or the file in
//! `$MOXIDE_SENDMAIL_CONFIG`:
//!
//! ```toml
//! server = "mail.example.org:465"   # host:port
//! tls = "tls"                       # "tls" (implicit), "starttls", or
//!                                   # "plain" (loopback addresses only)
//! # tls_ca = "/path/ca.pem"         # trust these instead of the system roots
//! # tls_server_name = "mail.example.org"  # default: the host of `server`
//! username = "you@example.org"
//! password = "secret"               # or: password_file = "/path"
//! # from = "you@example.org"        # envelope sender default: username
//! # Log in with a TLS client certificate instead of (or besides) a
//! # password, preferring AUTH EXTERNAL (see README, "client
//! # certificates"); one of:
//! # client_cert = "/path/key-and-cert.pem"  # private key + certificate
//! # client_key_seed = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
//! ```
//!
//! With a client certificate, `username` and the password are optional:
//! after (STARTTLS and) EHLO the client sends `AUTH EXTERNAL` when the
//! server offers it (with `username` as authorization identity, else an
//! empty one), sends no AUTH at all when the server offers none (it
//! authenticated the connection by the certificate), and falls back to
//! AUTH PLAIN when a password is configured and EXTERNAL is not offered.
//! `client_key_seed` is an ed25519 private key seed (base64url, as
//! printed by `moxide config tlspubkey gen`); a minimal self-signed
//! certificate for it is made on the fly.
//!
//! Arguments: recipients; `-t` adds the To, Cc and Bcc addresses of the
//! header (and removes Bcc); `-f ADDR` (or `-r`) sets the envelope sender;
//! `-i`/`-oi` keep a line with a single dot as data (without it such a
//! line ends the message, as in sendmail); `-B`, `-F`, `-N`, `-R`, `-V`,
//! `-o…`, `-v`, `-b…`, `-e…`, `-d…` are accepted and ignored. A message
//! without a From header gets one with the envelope sender.

mod client;

use std::io::Read;
use std::path::PathBuf;

use moxide_proto::message::address::parse_address_list;
use moxide_proto::message::header::HeaderBlock;
use serde::Deserialize;

/// Where the configuration is read from when `MOXIDE_SENDMAIL_CONFIG` is
/// not set.
pub const DEFAULT_CONFIG: &str = "/etc/moxide/sendmail.toml";

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (port 465).
    Tls,
    /// STARTTLS after EHLO (port 587).
    Starttls,
    /// No TLS: only to loopback addresses (localserve's 1587).
    Plain,
}

/// The configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `host:port` of the submission server.
    pub server: String,
    /// TLS mode.
    pub tls: TlsMode,
    /// PEM file with the certificates to trust (default: the system's
    /// `/etc/ssl/certs/ca-certificates.crt`).
    pub tls_ca: Option<PathBuf>,
    /// Name to verify the certificate for (default: host of `server`).
    pub tls_server_name: Option<String>,
    /// Login (for AUTH PLAIN; the authorization identity of AUTH
    /// EXTERNAL). Optional with a client certificate.
    pub username: Option<String>,
    /// Password, or
    pub password: Option<String>,
    /// a file holding it (first line).
    pub password_file: Option<PathBuf>,
    /// Envelope sender default (else `username`).
    pub from: Option<String>,
    /// PEM file with the private key and certificate (chain) to present
    /// as TLS client certificate.
    pub client_cert: Option<PathBuf>,
    /// An ed25519 private key seed (base64url) to present as TLS client
    /// certificate, with a minimal certificate made on the fly.
    pub client_key_seed: Option<String>,
}

impl Config {
    /// Whether a TLS client certificate is configured.
    pub fn has_client_cert(&self) -> bool {
        self.client_cert.is_some() || self.client_key_seed.is_some()
    }
}

/// Parsed command line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    /// Recipients from the arguments.
    pub recipients: Vec<String>,
    /// `-t`.
    pub from_header: bool,
    /// `-f`/`-r`.
    pub sender: Option<String>,
    /// `-i`/`-oi`: a lone dot does not end the input.
    pub ignore_dots: bool,
}

/// Parses sendmail's arguments (everything after `sendmail`).
pub fn parse_args(args: &[String]) -> Result<Invocation, String> {
    let mut inv = Invocation::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            inv.recipients.extend(it.by_ref().cloned());
            break;
        }
        let Some(flag) = a.strip_prefix('-').filter(|f| !f.is_empty()) else {
            inv.recipients.push(a.clone());
            continue;
        };
        let (c, rest) = flag.split_at(1);
        match c {
            "t" if rest.is_empty() => inv.from_header = true,
            "i" if rest.is_empty() => inv.ignore_dots = true,
            "o" if rest == "i" => inv.ignore_dots = true,
            "f" | "r" => {
                let v = if rest.is_empty() {
                    it.next()
                        .cloned()
                        .ok_or_else(|| format!("-{c} needs an address"))?
                } else {
                    rest.to_string()
                };
                inv.sender = Some(v);
            }
            // Flags with an argument, ignored.
            "B" | "F" | "N" | "R" | "V" | "L" | "X" if rest.is_empty() => {
                it.next();
            }
            "B" | "F" | "N" | "R" | "V" | "L" | "X" | "o" | "v" | "b" | "e" | "d" | "U" | "m"
            | "n" => {}
            _ => return Err(format!("unknown flag {a}")),
        }
    }
    Ok(inv)
}

/// Reads the configuration from `$MOXIDE_SENDMAIL_CONFIG` or
/// [`DEFAULT_CONFIG`].
pub fn load_config() -> Result<Config, String> {
    let (path, from_env) = match std::env::var_os("MOXIDE_SENDMAIL_CONFIG") {
        Some(p) if !p.is_empty() => (PathBuf::from(p), true),
        _ => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if from_env {
            format!(
                "no config at {} (from MOXIDE_SENDMAIL_CONFIG): {e}",
                path.display()
            )
        } else {
            format!(
                "no config at {} (set MOXIDE_SENDMAIL_CONFIG): {e}",
                path.display()
            )
        }
    })?;
    let cfg: Config = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    check_config(&cfg).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(cfg)
}

/// The combinations of login settings that make sense.
fn check_config(cfg: &Config) -> Result<(), String> {
    let has_password = cfg.password.is_some() || cfg.password_file.is_some();
    if cfg.client_cert.is_some() && cfg.client_key_seed.is_some() {
        return Err("set client_cert or client_key_seed, not both".into());
    }
    if cfg.has_client_cert() && cfg.tls == TlsMode::Plain {
        return Err("a client certificate needs TLS: set tls = \"tls\" or \"starttls\"".into());
    }
    if !has_password && !cfg.has_client_cert() {
        return Err("set password or password_file (or client_cert or client_key_seed)".into());
    }
    if has_password && cfg.username.is_none() {
        return Err("set username (the login for the password)".into());
    }
    Ok(())
}

/// The message as read from stdin: CRLF line endings; without
/// `ignore_dots` a line with a single dot ends it.
pub fn normalize(input: &[u8], ignore_dots: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 40);
    for line in input.split_inclusive(|&b| b == b'\n') {
        let content = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        if !ignore_dots && content == b"." {
            break;
        }
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `-t`: the To, Cc and Bcc addresses of the header, and the message with
/// its Bcc fields removed.
pub fn header_recipients(message: &[u8]) -> (Vec<String>, Vec<u8>) {
    let header = HeaderBlock::parse(message, 0, message.len());
    let mut rcpts = Vec::new();
    for f in &header.fields {
        let name = f.name.to_ascii_lowercase();
        if name == b"to" || name == b"cc" || name == b"bcc" {
            for a in parse_address_list(&f.value()) {
                if let (Some(l), Some(h)) = (&a.mailbox, &a.host)
                    && !h.is_empty()
                {
                    rcpts.push(format!(
                        "{}@{}",
                        String::from_utf8_lossy(l),
                        String::from_utf8_lossy(h)
                    ));
                }
            }
        }
    }
    // Drop Bcc lines (with their continuations) from the header.
    let mut out = Vec::with_capacity(message.len());
    let head = message.get(..header.end).unwrap_or(message);
    let mut skipping = false;
    for line in head.split_inclusive(|&b| b == b'\n') {
        let cont = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
        if !cont {
            skipping = line.len() >= 4
                && line
                    .get(..4)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"bcc:"));
        }
        if !skipping {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(message.get(header.end..).unwrap_or_default());
    (rcpts, out)
}

/// Runs `moxide sendmail ARGS`; errors are messages for the user.
pub fn run(args: &[String]) -> Result<(), String> {
    let inv = parse_args(args)?;
    let cfg = load_config()?;
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("reading the message from stdin: {e}"))?;
    let mut message = normalize(&input, inv.ignore_dots);
    let mut rcpts = inv.recipients.clone();
    if inv.from_header {
        let (more, stripped) = header_recipients(&message);
        rcpts.extend(more);
        message = stripped;
    }
    if rcpts.is_empty() {
        return Err("no recipients (give them as arguments, or use -t)".into());
    }
    let sender = inv
        .sender
        .clone()
        .or_else(|| cfg.from.clone())
        .or_else(|| cfg.username.clone())
        .ok_or("no envelope sender: set from or username in the config, or pass -f")?;
    let header = HeaderBlock::parse(&message, 0, message.len());
    if header.first("From").is_none() {
        let mut m = format!("From: <{sender}>\r\n").into_bytes();
        m.extend_from_slice(&message);
        message = m;
    }
    let password = match (&cfg.password, &cfg.password_file) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(f)) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| format!("reading password_file {}: {e}", f.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        ),
        (None, None) => None,
    };
    client::submit(&cfg, password.as_deref(), &sender, &rcpts, &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments() {
        let inv = parse_args(&args(&[
            "-t", "-oi", "-odi", "-oem", "-B", "8BITMIME", "-fme@x", "a@x", "--", "-b@x",
        ]))
        .unwrap();
        assert_eq!(
            inv,
            Invocation {
                recipients: vec!["a@x".into(), "-b@x".into()],
                from_header: true,
                sender: Some("me@x".into()),
                ignore_dots: true,
            }
        );
        assert_eq!(
            parse_args(&args(&["-f", "s@x", "-i"]))
                .unwrap()
                .sender
                .as_deref(),
            Some("s@x")
        );
        assert_eq!(parse_args(&args(&["-q"])).unwrap_err(), "unknown flag -q");
    }

    #[test]
    fn dots_and_line_endings() {
        assert_eq!(normalize(b"a\nb\r\n.\nc\n", false), b"a\r\nb\r\n");
        assert_eq!(normalize(b"a\n.\nc", true), b"a\r\n.\r\nc\r\n");
    }

    #[test]
    fn minus_t_collects_and_strips_bcc() {
        let m =
            b"To: A <a@x>, b@x\r\nBcc: c@x,\r\n d@x\r\nCc: e@x\r\nSubject: s\r\n\r\nBcc: body\r\n";
        let (r, out) = header_recipients(m);
        assert_eq!(r, ["a@x", "b@x", "c@x", "d@x", "e@x"]);
        assert_eq!(
            out,
            b"To: A <a@x>, b@x\r\nCc: e@x\r\nSubject: s\r\n\r\nBcc: body\r\n"
        );
    }
}
