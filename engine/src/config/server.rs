//! `moxide.toml`: the static settings of a server (mox's `mox.conf`).
//! [`super::example::SERVER`] documents every field.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::domains::Domains;
use super::{ConfigError, dir_of, domain_name, parse_toml, read_text, resolve_path};

/// `moxide.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    hostname: String,
    data_dir: PathBuf,
    #[serde(default = "default_domains_file")]
    domains_file: PathBuf,
    #[serde(default)]
    resolver: Vec<SocketAddr>,
    #[serde(default = "yes")]
    sender_checks: bool,
    #[serde(default)]
    postmaster: Option<String>,
    #[serde(default)]
    listeners: Vec<RawListener>,
    #[serde(default)]
    delivery: RawDelivery,
    #[serde(default)]
    transports: BTreeMap<String, RawTransport>,
    #[serde(default)]
    routes: Vec<RawRoute>,
}

fn default_domains_file() -> PathBuf {
    PathBuf::from("domains.toml")
}
fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListener {
    #[serde(default)]
    name: Option<String>,
    ips: Vec<IpAddr>,
    tls_cert: PathBuf,
    tls_key: PathBuf,
    smtp: Option<u16>,
    submission: Option<u16>,
    submissions: Option<u16>,
    imap: Option<u16>,
    imaps: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    #[serde(default = "yes")]
    pkix: bool,
    #[serde(default = "yes")]
    dane: bool,
    #[serde(default)]
    allow_loopback: bool,
    #[serde(default)]
    extra_ca_files: Vec<PathBuf>,
}

impl Default for RawDelivery {
    fn default() -> Self {
        RawDelivery {
            pkix: true,
            dane: true,
            allow_loopback: false,
            extra_ca_files: Vec::new(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransport {
    kind: String,
    host: Option<String>,
    port: Option<u16>,
    implicit_tls: Option<bool>,
    username: Option<String>,
    password_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    #[serde(default)]
    from_domains: Vec<String>,
    #[serde(default)]
    to_domains: Vec<String>,
    transport: String,
}

/// The configuration of a server: `moxide.toml` with its paths resolved
/// and checked, and the domains file it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The `moxide.toml` it was read from.
    pub path: PathBuf,
    /// The server's own host name (EHLO, SMTP banner, Received,
    /// Message-ID), canonical form.
    pub hostname: String,
    /// Where the store lives.
    pub data_dir: PathBuf,
    /// Nameservers for every lookup (sender checks, delivery); empty:
    /// those of /etc/resolv.conf.
    pub resolver: Vec<SocketAddr>,
    /// Check iprev, SPF, DKIM and DMARC of mail arriving over SMTP.
    pub sender_checks: bool,
    /// The account that receives mail for `<Postmaster>` and
    /// `postmaster@` every local domain and the host name when no account
    /// has that address (RFC 5321 4.5.1; mox's `Postmaster.Account`).
    /// Whether it exists is checked against the store at start.
    pub postmaster: Option<String>,
    /// The listeners, in file order.
    pub listeners: Vec<Listener>,
    /// How outgoing deliveries verify TLS.
    pub delivery: DeliveryTls,
    /// PEM files of CA certificates trusted besides the web PKI's roots
    /// for outgoing PKIX verification (MTA-STS hosts and policy fetches,
    /// smarthosts): a private CA. `[delivery] extra_ca_files`.
    pub extra_ca_files: Vec<PathBuf>,
    /// Named transports besides the implicit `direct` one.
    pub transports: BTreeMap<String, Transport>,
    /// Which transport carries which mail; first match wins, no match:
    /// direct delivery to the MX hosts.
    pub routes: Vec<Route>,
    /// The local domains (`domains.toml`).
    pub domains: Domains,
}

/// A service a listener can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// SMTP for incoming mail, STARTTLS offered (port 25).
    Smtp,
    /// Submission with STARTTLS, AUTH only after TLS (port 587).
    Submission,
    /// Submission with implicit TLS (port 465).
    Submissions,
    /// IMAP with STARTTLS, login only after TLS (port 143).
    Imap,
    /// IMAP with implicit TLS (port 993).
    Imaps,
}

impl Service {
    /// The field name in `moxide.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Smtp => "smtp",
            Service::Submission => "submission",
            Service::Submissions => "submissions",
            Service::Imap => "imap",
            Service::Imaps => "imaps",
        }
    }

    /// Whether TLS starts with the first byte (else STARTTLS).
    pub fn implicit_tls(self) -> bool {
        matches!(self, Service::Submissions | Service::Imaps)
    }
}

/// One `[[listeners]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// For messages (`name`, else `listeners[N]`).
    pub name: String,
    /// Addresses to listen on.
    pub ips: Vec<IpAddr>,
    /// PEM certificate chain, read at start.
    pub tls_cert: PathBuf,
    /// PEM private key, read at start.
    pub tls_key: PathBuf,
    /// The services and their ports (0: the OS picks one), in the order
    /// smtp, submission, submissions, imap, imaps.
    pub services: Vec<(Service, u16)>,
}

/// `[delivery]`: certificate checks of outgoing connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryTls {
    /// Verify MX certificates against the web PKI (used when MTA-STS
    /// asks for it, and to record TLS results).
    pub pkix: bool,
    /// Verify MX certificates with DANE TLSA records when DNSSEC-signed.
    pub dane: bool,
    /// Allow delivery to loopback and other private addresses (tests).
    pub allow_loopback: bool,
}

/// How outgoing mail leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// To the MX hosts of the recipient domain, on `port` (25 unless set).
    Direct {
        /// Port override (tests: another server's SMTP port).
        port: Option<u16>,
    },
    /// Through a submission server with authentication.
    Smarthost {
        /// Host name of the smarthost.
        host: String,
        /// Its port (465 with implicit TLS, else 587, unless set).
        port: u16,
        /// TLS from the first byte (else STARTTLS, required).
        implicit_tls: bool,
        /// Login name; with `password_file`.
        username: Option<String>,
        /// File holding the password (first line).
        password_file: Option<PathBuf>,
    },
}

/// One `[[routes]]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Sender domains it applies to; empty: any. `.example.org` matches
    /// subdomains of example.org.
    pub from_domains: Vec<String>,
    /// Recipient domains it applies to; empty: any.
    pub to_domains: Vec<String>,
    /// A key of `[transports]`.
    pub transport: String,
}

/// Whether `domain` is matched by a route's domain list entry.
fn domain_matches(pattern: &str, domain: &str) -> bool {
    match pattern.strip_prefix('.') {
        Some(parent) => domain
            .strip_suffix(parent)
            .is_some_and(|head| head.ends_with('.')),
        None => pattern == domain,
    }
}

impl Route {
    /// Whether mail from `from_domain` to `to_domain` (canonical forms)
    /// takes this route.
    pub fn matches(&self, from_domain: &str, to_domain: &str) -> bool {
        let ok =
            |list: &[String], d: &str| list.is_empty() || list.iter().any(|p| domain_matches(p, d));
        ok(&self.from_domains, from_domain) && ok(&self.to_domains, to_domain)
    }
}

impl Config {
    /// Reads and checks `moxide.toml` at `path` and its domains file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read_text(path)?;
        Config::parse(path, &text)
    }

    /// Checks `text` as the contents of `path` (paths in it resolve
    /// against `path`'s directory; files named in it are read).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = parse_toml(path, text)?;
        let base = dir_of(path);
        let err = |field: &str, msg: String| ConfigError::field(path, field, msg);
        let hostname = domain_name(&raw.hostname).map_err(|m| {
            err(
                "hostname",
                format!("{m}; set the server's fully qualified name, e.g. \"mail.example.org\""),
            )
        })?;
        if raw.listeners.is_empty() {
            return Err(err(
                "listeners",
                "no [[listeners]]; add one with ips, tls_cert, tls_key and a port per service"
                    .into(),
            ));
        }
        if raw
            .postmaster
            .as_deref()
            .is_some_and(|a| a.trim().is_empty())
        {
            return Err(err(
                "postmaster",
                "empty; name the account that receives postmaster mail, or remove the field".into(),
            ));
        }
        let mut listeners = Vec::new();
        let mut taken: BTreeSet<(IpAddr, u16)> = BTreeSet::new();
        for (n, l) in raw.listeners.into_iter().enumerate() {
            let at = format!("listeners[{n}]");
            listeners.push(listener(path, &base, &at, l, &mut taken)?);
        }
        let mut transports = BTreeMap::new();
        for (name, t) in raw.transports {
            let at = format!("transports.{name}");
            transports.insert(name, transport(path, &base, &at, t)?);
        }
        let mut routes = Vec::new();
        for (n, r) in raw.routes.into_iter().enumerate() {
            let at = format!("routes[{n}]");
            routes.push(route(path, &at, r, &transports)?);
        }
        let mut extra_ca_files = Vec::new();
        for (n, p) in raw.delivery.extra_ca_files.iter().enumerate() {
            let full = resolve_path(&base, p);
            if !full.is_file() {
                return Err(err(
                    &format!("delivery.extra_ca_files[{n}]"),
                    format!(
                        "{}: no such file; list PEM files of CA certificates (relative paths start at the directory of this file)",
                        full.display()
                    ),
                ));
            }
            extra_ca_files.push(full);
        }
        let domains_path = resolve_path(&base, &raw.domains_file);
        let domains = Domains::load(&domains_path)?;
        if domains.domains.is_empty() {
            return Err(ConfigError::field(
                &domains_path,
                "domains",
                "no domain configured; add a [domains.\"example.org\"] table",
            ));
        }
        Ok(Config {
            path: path.to_path_buf(),
            hostname,
            data_dir: resolve_path(&base, &raw.data_dir),
            resolver: raw.resolver,
            sender_checks: raw.sender_checks,
            postmaster: raw.postmaster,
            listeners,
            delivery: DeliveryTls {
                pkix: raw.delivery.pkix,
                dane: raw.delivery.dane,
                allow_loopback: raw.delivery.allow_loopback,
            },
            extra_ca_files,
            transports,
            routes,
            domains,
        })
    }

    /// The name of the transport for mail from `from_domain` to
    /// `to_domain` (canonical forms), `None` for the default direct
    /// delivery.
    pub fn route_for(&self, from_domain: &str, to_domain: &str) -> Option<&str> {
        self.routes
            .iter()
            .find(|r| r.matches(from_domain, to_domain))
            .map(|r| r.transport.as_str())
    }
}

/// Checks one listener; `taken` collects the (ip, port) pairs in use.
fn listener(
    path: &Path,
    base: &Path,
    at: &str,
    l: RawListener,
    taken: &mut BTreeSet<(IpAddr, u16)>,
) -> Result<Listener, ConfigError> {
    let name = l.name.clone().unwrap_or_else(|| at.to_string());
    if l.ips.is_empty() {
        return Err(ConfigError::field(
            path,
            format!("{at}.ips"),
            "empty; list the addresses to listen on, e.g. [\"0.0.0.0\", \"::\"]",
        ));
    }
    let services: Vec<(Service, u16)> = [
        (Service::Smtp, l.smtp),
        (Service::Submission, l.submission),
        (Service::Submissions, l.submissions),
        (Service::Imap, l.imap),
        (Service::Imaps, l.imaps),
    ]
    .into_iter()
    .filter_map(|(s, p)| p.map(|p| (s, p)))
    .collect();
    if services.is_empty() {
        return Err(ConfigError::field(
            path,
            at,
            "no service; set a port for at least one of smtp, submission, submissions, imap, imaps",
        ));
    }
    for (s, port) in &services {
        if *port == 0 {
            continue;
        }
        for ip in &l.ips {
            if !taken.insert((*ip, *port)) {
                return Err(ConfigError::field(
                    path,
                    format!("{at}.{}", s.as_str()),
                    format!(
                        "{ip} port {port} is already used by another service; give each service its own port"
                    ),
                ));
            }
        }
    }
    let mut files = Vec::new();
    for (field, p) in [("tls_cert", &l.tls_cert), ("tls_key", &l.tls_key)] {
        let full = resolve_path(base, p);
        if !full.is_file() {
            return Err(ConfigError::field(
                path,
                format!("{at}.{field}"),
                format!(
                    "{}: no such file; point {field} at the PEM file (relative paths start at the directory of this file)",
                    full.display()
                ),
            ));
        }
        files.push(full);
    }
    let [tls_cert, tls_key]: [PathBuf; 2] = files
        .try_into()
        .map_err(|_| ConfigError::field(path, at, "internal: TLS files"))?;
    Ok(Listener {
        name,
        ips: l.ips,
        tls_cert,
        tls_key,
        services,
    })
}

/// Checks one transport.
fn transport(
    path: &Path,
    base: &Path,
    at: &str,
    t: RawTransport,
) -> Result<Transport, ConfigError> {
    let err = |field: &str, msg: &str| ConfigError::field(path, format!("{at}.{field}"), msg);
    match t.kind.as_str() {
        "direct" => {
            for (field, set) in [
                ("host", t.host.is_some()),
                ("implicit_tls", t.implicit_tls.is_some()),
                ("username", t.username.is_some()),
                ("password_file", t.password_file.is_some()),
            ] {
                if set {
                    return Err(err(
                        field,
                        "not used by kind = \"direct\"; remove it, or use kind = \"smarthost\"",
                    ));
                }
            }
            if t.port == Some(0) {
                return Err(err("port", "0 is not a port"));
            }
            Ok(Transport::Direct { port: t.port })
        }
        "smarthost" => {
            let Some(host) = t.host else {
                return Err(err(
                    "host",
                    "missing; name the submission server to relay through",
                ));
            };
            let host = domain_name(&host).map_err(|m| err("host", &m))?;
            let implicit_tls = t.implicit_tls.unwrap_or(false);
            let port = t.port.unwrap_or(if implicit_tls { 465 } else { 587 });
            if port == 0 {
                return Err(err("port", "0 is not a port"));
            }
            if t.username.is_some() != t.password_file.is_some() {
                return Err(err(
                    if t.username.is_some() {
                        "password_file"
                    } else {
                        "username"
                    },
                    "username and password_file go together; set both or neither",
                ));
            }
            let password_file = match t.password_file {
                Some(p) => {
                    let full = resolve_path(base, &p);
                    if !full.is_file() {
                        return Err(err(
                            "password_file",
                            &format!(
                                "{}: no such file; write the password into it",
                                full.display()
                            ),
                        ));
                    }
                    Some(full)
                }
                None => None,
            };
            Ok(Transport::Smarthost {
                host,
                port,
                implicit_tls,
                username: t.username,
                password_file,
            })
        }
        other => Err(err(
            "kind",
            &format!("{other:?} is not a transport kind; use \"direct\" or \"smarthost\""),
        )),
    }
}

/// Checks one route.
fn route(
    path: &Path,
    at: &str,
    r: RawRoute,
    transports: &BTreeMap<String, Transport>,
) -> Result<Route, ConfigError> {
    if !transports.contains_key(&r.transport) {
        return Err(ConfigError::field(
            path,
            format!("{at}.transport"),
            format!(
                "{:?} is not defined; add a [transports.{}] table or use one of: {}",
                r.transport,
                r.transport,
                if transports.is_empty() {
                    "(none defined)".to_string()
                } else {
                    transports.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ),
        ));
    }
    let norm = |field: &str, list: Vec<String>| -> Result<Vec<String>, ConfigError> {
        list.into_iter()
            .map(|d| {
                let (dot, name) = match d.strip_prefix('.') {
                    Some(n) => (".", n),
                    None => ("", d.as_str()),
                };
                domain_name(name)
                    .map(|n| format!("{dot}{n}"))
                    .map_err(|m| ConfigError::field(path, format!("{at}.{field}"), m))
            })
            .collect()
    };
    Ok(Route {
        from_domains: norm("from_domains", r.from_domains)?,
        to_domains: norm("to_domains", r.to_domains)?,
        transport: r.transport,
    })
}
