//! `moxide localserve`: a complete IMAP and SMTP server on loopback for
//! developing and testing mail clients, as mox's `localserve`.
//!
//! The directory (default `$HOME/.config/moxide-localserve`) holds
//! `moxide.toml` (listen addresses and ports, written on first start),
//! `tls/` (a self-signed certificate for localhost, 127.0.0.1 and ::1) and
//! `data/` (the store). The first start creates the account `mox` with the
//! address `mox@localhost`, password `moxmoxmox`, and the mailboxes Inbox,
//! Sent, Drafts, Archive, Trash and Junk with their special-use flags; later
//! starts reuse all of it. Plaintext LOGIN is allowed: it listens on
//! loopback only.
//!
//! SMTP (port 1025, STARTTLS offered), submission (1587, STARTTLS, AUTH
//! PLAIN allowed without TLS) and submissions (1465, implicit TLS) accept
//! every recipient: unknown ones go to `mox@localhost`, submitted mail is
//! delivered locally (loopback), and the recipients of
//! [`moxide_engine::smtp::localserve`] fail on purpose.
//!
//! Everything here is independent of the async runtime: [`prepare`] does
//! the set-up and binds the listeners; each runtime's binary then serves
//! them and calls [`Prepared::stop`] after Ctrl-C.

use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use moxide_engine::imap::{ImapConfig, PeerInfo, Session, WallClock};
use moxide_engine::smtp::{Role, SmtpConfig, SmtpSession};
use moxide_storage::{NewAccount, Store, StoreConfig, StoreError};
use serde::Deserialize;

use crate::listen::{self, Security};
use crate::tls;

/// The account localserve creates, its address and password (those of mox
/// localserve, so existing client set-ups work).
pub const ACCOUNT: &str = "mox";
/// The login address of [`ACCOUNT`].
pub const ADDRESS: &str = "mox@localhost";
/// The password of [`ACCOUNT`].
pub const PASSWORD: &str = "moxmoxmox";
/// The configuration file inside the directory.
pub const CONFIG_FILE: &str = "moxide.toml";

/// What the first start writes to `moxide.toml`.
const DEFAULT_CONFIG: &str = r#"# moxide localserve configuration, written on first start.
# The account "mox" (login mox@localhost, password moxmoxmox) and its
# mailboxes live in data/, the self-signed certificate in tls/.
# Remove this directory to start over.

# Addresses to listen on. Loopback only: localserve allows plaintext login.
ips = ["127.0.0.1", "::1"]
# IMAP with STARTTLS (143 + 1000).
imap_port = 1143
# IMAP with implicit TLS (993 + 1000).
imaps_port = 1993
# SMTP for incoming mail, STARTTLS offered (25 + 1000).
smtp_port = 1025
# Submission with STARTTLS; AUTH PLAIN also without TLS (587 + 1000).
submission_port = 1587
# Submission with implicit TLS (465 + 1000).
submissions_port = 1465
# Nameservers (IP:PORT) for checking the senders of mail arriving on
# smtp_port: iprev, SPF, DKIM and DMARC, written to Authentication-Results;
# DMARC p=reject refuses the message, p=quarantine delivers it to Junk.
# Empty (the default): incoming mail is delivered without these checks.
# resolver = ["127.0.0.1:53"]
"#;

/// The contents of `moxide.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Loopback addresses to listen on.
    pub ips: Vec<IpAddr>,
    /// Port of IMAP with STARTTLS.
    pub imap_port: u16,
    /// Port of IMAP with implicit TLS.
    pub imaps_port: u16,
    /// Port of SMTP (inbound, STARTTLS offered); 1025 when absent (files
    /// written before SMTP existed).
    #[serde(default = "default_smtp_port")]
    pub smtp_port: u16,
    /// Port of submission with STARTTLS; 1587 when absent.
    #[serde(default = "default_submission_port")]
    pub submission_port: u16,
    /// Port of submission with implicit TLS; 1465 when absent.
    #[serde(default = "default_submissions_port")]
    pub submissions_port: u16,
    /// Nameservers for the sender checks of inbound mail (SPF, DKIM,
    /// DMARC, iprev); empty: no checks.
    #[serde(default)]
    pub resolver: Vec<SocketAddr>,
}

fn default_smtp_port() -> u16 {
    1025
}
fn default_submission_port() -> u16 {
    1587
}
fn default_submissions_port() -> u16 {
    1465
}

/// Overrides of the SMTP ports of the configuration for one run
/// (`--smtp-port`, `--submission-port`, `--submissions-port`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SmtpPorts {
    /// SMTP (inbound).
    pub smtp: Option<u16>,
    /// Submission with STARTTLS.
    pub submission: Option<u16>,
    /// Submission with implicit TLS.
    pub submissions: Option<u16>,
}

/// Command-line options of `moxide localserve`.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The directory; `$HOME/.config/moxide-localserve` when `None`.
    pub dir: Option<PathBuf>,
    /// Overrides `imap_port` of the configuration for this run.
    pub imap_port: Option<u16>,
    /// Overrides `imaps_port` of the configuration for this run.
    pub imaps_port: Option<u16>,
}

/// The default directory, as mox's `$HOME/.config/mox-localserve`.
pub fn default_dir() -> Result<PathBuf, String> {
    match std::env::var_os("HOME") {
        Some(h) if !h.is_empty() => Ok(PathBuf::from(h).join(".config/moxide-localserve")),
        _ => Err("HOME is not set; pass --dir DIR".into()),
    }
}

/// Reads `moxide.toml` in `dir`, writing the default one first if there is
/// none.
pub fn load_or_create_config(dir: &Path) -> Result<Config, String> {
    let path = dir.join(CONFIG_FILE);
    if !path.exists() {
        std::fs::write(&path, DEFAULT_CONFIG)
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let cfg: Config = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(ip) = cfg.ips.iter().find(|ip| !ip.is_loopback()) {
        return Err(format!(
            "{}: {ip} is not a loopback address; localserve allows plaintext login and only listens on loopback",
            path.display()
        ));
    }
    if cfg.ips.is_empty() {
        return Err(format!("{}: ips is empty", path.display()));
    }
    Ok(cfg)
}

/// The data directory (store, control socket) of localserve directory
/// `dir`.
pub fn data_dir(dir: &Path) -> PathBuf {
    dir.join("data")
}

/// Opens the store in `dir`, creating the account and its mailboxes if it
/// does not exist yet. Returns whether it was created.
pub fn open_store(dir: &Path) -> Result<(Store, bool), String> {
    let data = data_dir(dir);
    let store = Store::open(&data, StoreConfig::default())
        .map_err(|e| format!("opening the store in {}: {e}", data.display()))?;
    match store.account(ACCOUNT) {
        Ok(_) => Ok((store, false)),
        Err(StoreError::NoSuchAccount(_)) => {
            let new = NewAccount {
                addresses: vec![ADDRESS.to_string()],
                password: Some(PASSWORD.to_string()),
                quota: 0,
                default_mailboxes: true,
            };
            store
                .create_account(ACCOUNT, new)
                .map_err(|e| format!("creating account {ACCOUNT}: {e}"))?;
            Ok((store, true))
        }
        Err(e) => Err(format!("opening account {ACCOUNT}: {e}")),
    }
}

/// A listening socket and what it serves.
#[derive(Debug)]
pub struct Bound {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// How it uses TLS.
    pub security: Security,
    /// The socket, non-blocking.
    pub listener: TcpListener,
}

/// An SMTP listening socket and what it serves.
#[derive(Debug)]
pub struct SmtpBound {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// How it uses TLS.
    pub security: Security,
    /// Inbound SMTP or submission.
    pub role: Role,
    /// The socket, non-blocking.
    pub listener: TcpListener,
}

/// Localserve set up and listening, ready for a runtime to serve.
pub struct Prepared {
    /// The directory with the config, certificate and data.
    pub dir: PathBuf,
    /// The configuration in effect (command-line ports applied).
    pub config: Config,
    /// The TLS configuration for IMAPS and STARTTLS.
    pub tls: Arc<rustls::ServerConfig>,
    /// The IMAP listeners, STARTTLS ones first.
    pub listeners: Vec<Bound>,
    /// The SMTP listeners: SMTP, submission, submissions.
    pub smtp_listeners: Vec<SmtpBound>,
    /// The store.
    pub store: Arc<Store>,
    /// The configuration of every IMAP session (plaintext login allowed).
    pub imap: Arc<ImapConfig>,
    /// The configuration of SMTP sessions (port 1025).
    pub smtp: Arc<SmtpConfig>,
    /// The configuration of submission sessions (ports 1587 and 1465).
    pub submission: Arc<SmtpConfig>,
}

/// Binds `port` on every address of `ips`; a missing IPv6 loopback is
/// skipped when IPv4 addresses remain.
fn bind_all(ips: &[IpAddr], port: u16) -> Result<Vec<(SocketAddr, TcpListener)>, String> {
    let mut out = Vec::new();
    for ip in ips {
        let addr = SocketAddr::new(*ip, port);
        match listen::bind(addr) {
            // The port the OS chose when asked for port 0.
            Ok(listener) => out.push((listener.local_addr().unwrap_or(addr), listener)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                return Err(format!(
                    "cannot listen on {addr}: address in use (is another localserve running?)"
                ));
            }
            Err(e) if ip.is_ipv6() && !ips.iter().all(IpAddr::is_ipv6) => {
                // No IPv6 loopback on this machine (or no IPv6 at all):
                // the IPv4 listeners will do.
                tracing::warn!(%addr, error = %e, "IPv6 loopback not available, not listening on it");
            }
            Err(e) => return Err(format!("cannot listen on {addr}: {e}")),
        }
    }
    Ok(out)
}

/// [`prepare_with`] without SMTP port overrides. An IMAP port override of
/// 0 (tests) makes the SMTP ports 0 as well, so such a localserve never
/// takes the standard ports.
pub fn prepare(opts: Options) -> Result<Prepared, String> {
    let zero = (opts.imap_port == Some(0) || opts.imaps_port == Some(0)).then_some(0);
    prepare_with(
        opts,
        SmtpPorts {
            smtp: zero,
            submission: zero,
            submissions: zero,
        },
    )
}

/// Sets localserve up: directory, config, certificate, listeners (before
/// the store, so a second localserve on the same ports stops before
/// opening a database in use), store and account. Errors are messages for
/// the user, without the "moxide localserve: " prefix.
pub fn prepare_with(opts: Options, smtp_ports: SmtpPorts) -> Result<Prepared, String> {
    let dir = match opts.dir {
        Some(d) => d,
        None => default_dir()?,
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let mut config = load_or_create_config(&dir)?;
    if let Some(p) = opts.imap_port {
        config.imap_port = p;
    }
    if let Some(p) = opts.imaps_port {
        config.imaps_port = p;
    }
    if let Some(p) = smtp_ports.smtp {
        config.smtp_port = p;
    }
    if let Some(p) = smtp_ports.submission {
        config.submission_port = p;
    }
    if let Some(p) = smtp_ports.submissions {
        config.submissions_port = p;
    }
    let sender_checks = !config.resolver.is_empty();
    if sender_checks {
        // The process's resolver answers the sessions' DNS needs; a test
        // process may have installed one already.
        let r = crate::dns::Resolver::with_servers(config.resolver.clone());
        if crate::dns::install_shared(r).is_err() {
            tracing::warn!(
                "a DNS resolver is already in use; resolver = {:?} not installed",
                config.resolver
            );
        }
    }
    let (tls, _) = tls::load_or_create_self_signed(&dir.join("tls")).map_err(|e| e.to_string())?;
    let mut listeners = Vec::new();
    for (port, security) in [
        (config.imap_port, Security::StartTls),
        (config.imaps_port, Security::Implicit),
    ] {
        for (addr, listener) in bind_all(&config.ips, port)? {
            listeners.push(Bound {
                addr,
                security,
                listener,
            });
        }
    }
    let mut smtp_listeners = Vec::new();
    for (port, security, role) in [
        (config.smtp_port, Security::StartTls, Role::Inbound),
        (config.submission_port, Security::StartTls, Role::Submission),
        (
            config.submissions_port,
            Security::Implicit,
            Role::Submission,
        ),
    ] {
        for (addr, listener) in bind_all(&config.ips, port)? {
            smtp_listeners.push(SmtpBound {
                addr,
                security,
                role,
                listener,
            });
        }
    }
    let (store, _) = open_store(&dir)?;
    let imap = Arc::new(ImapConfig {
        greeting: "moxide localserve IMAP ready".to_string(),
        allow_plaintext_auth: true,
        ..ImapConfig::default()
    });
    let login_limit = imap.login_limit.clone();
    let smtp_cfg = |c: SmtpConfig| {
        let mut c = c.for_localserve(ACCOUNT);
        c.server.tls_available = true;
        // Failed logins count per client IP across IMAP and SMTP.
        c.login_limit = login_limit.clone();
        c.shared()
    };
    Ok(Prepared {
        dir,
        config,
        tls,
        listeners,
        smtp_listeners,
        store: Arc::new(store),
        imap,
        smtp: smtp_cfg(SmtpConfig {
            sender_checks,
            ..SmtpConfig::inbound("localhost")
        }),
        submission: smtp_cfg(SmtpConfig::submission("localhost")),
    })
}

impl Prepared {
    /// The line to print once serving.
    pub fn banner(&self) -> String {
        let addrs: Vec<(SocketAddr, Security)> = self
            .listeners
            .iter()
            .map(|b| (b.addr, b.security))
            .collect();
        let port = |role, sec| {
            self.smtp_listeners
                .iter()
                .find(|b| b.role == role && b.security == sec)
                .map_or(0, |b| b.addr.port())
        };
        let smtp = [
            port(Role::Inbound, Security::StartTls),
            port(Role::Submission, Security::StartTls),
            port(Role::Submission, Security::Implicit),
        ];
        banner(&addrs, smtp, &self.dir)
    }

    /// Makes the SMTP session for a new connection on a listener of
    /// `role`.
    pub fn smtp_factory(
        &self,
        role: Role,
    ) -> impl Fn(PeerInfo) -> SmtpSession + Send + Sync + 'static {
        let cfg = match role {
            Role::Inbound => self.smtp.clone(),
            Role::Submission => self.submission.clone(),
        };
        let store = self.store.clone();
        move |peer| {
            let clock = WallClock {
                unix_at: unix_now(),
                instant_at: Instant::now(),
            };
            SmtpSession::new(
                cfg.clone(),
                store.clone(),
                peer,
                clock,
                Box::new(random_nonce),
            )
        }
    }

    /// Makes the IMAP session for a new connection.
    pub fn session_factory(&self) -> impl Fn(PeerInfo) -> Session + Send + Sync + 'static {
        let (imap, store) = (self.imap.clone(), self.store.clone());
        move |peer| {
            let clock = WallClock {
                unix_at: unix_now(),
                instant_at: Instant::now(),
            };
            Session::new(
                imap.clone(),
                store.clone(),
                peer,
                clock,
                Box::new(random_nonce),
            )
        }
    }

    /// After the runtime stopped serving: makes the store durable and says
    /// so.
    pub fn stop(&self) -> Result<(), String> {
        self.store
            .persist()
            .map_err(|e| format!("writing the store to disk: {e}"))?;
        eprintln!("moxide localserve: stopped");
        Ok(())
    }
}

/// Calls `stop` on Ctrl-C (SIGINT) and SIGTERM; `stop` must only wake the
/// runtime.
pub fn on_interrupt(stop: impl Fn() + Send + 'static) -> Result<(), String> {
    ctrlc::set_handler(stop).map_err(|e| format!("installing the Ctrl-C handler: {e}"))
}

/// The line printed once listening, e.g. "moxide localserve: IMAP
/// 127.0.0.1:1143 and [::1]:1143 (STARTTLS), IMAPS :1993, SMTP :1025,
/// submission :1587 (STARTTLS), submissions :1465, login mox@localhost /
/// moxmoxmox, data in DIR". `smtp` holds the SMTP, submission and
/// submissions ports.
fn banner(listeners: &[(SocketAddr, Security)], smtp: [u16; 3], dir: &Path) -> String {
    let of = |sec: Security| listeners.iter().filter(move |(_, s)| *s == sec);
    let plain: Vec<String> = of(Security::StartTls).map(|(a, _)| a.to_string()).collect();
    // IMAPS listens on the same addresses; its port is the news.
    let imaps: Vec<String> = of(Security::Implicit)
        .map(|(a, _)| a.port().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    format!(
        "moxide localserve: IMAP {} (STARTTLS), IMAPS :{}, SMTP :{}, submission :{} (STARTTLS), submissions :{}, login {ADDRESS} / {PASSWORD}, data in {}",
        plain.join(" and "),
        imaps.join(" and :"),
        smtp[0],
        smtp[1],
        smtp[2],
        dir.display()
    )
}

fn unix_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// SASL nonces from the OS random source. Without one no session can be
/// secure, so a failure ends the process.
fn random_nonce() -> [u8; 18] {
    let mut b = [0u8; 18];
    if let Err(e) = getrandom::fill(&mut b) {
        eprintln!("moxide: the OS random source failed: {e}");
        std::process::abort();
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const DEFAULT_IPS: [IpAddr; 2] = [
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];

    #[test]
    fn default_config_parses_to_the_documented_values() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = load_or_create_config(dir.path()).unwrap();
        assert_eq!(
            cfg,
            Config {
                ips: DEFAULT_IPS.to_vec(),
                imap_port: 1143,
                imaps_port: 1993,
                smtp_port: 1025,
                submission_port: 1587,
                submissions_port: 1465,
                resolver: Vec::new(),
            }
        );
        // A second read returns the same, from the file written by the first.
        assert_eq!(load_or_create_config(dir.path()).unwrap(), cfg);
    }

    #[test]
    fn non_loopback_address_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "ips = [\"0.0.0.0\"]\nimap_port = 1\nimaps_port = 2\n",
        )
        .unwrap();
        let err = load_or_create_config(dir.path()).unwrap_err();
        assert!(err.contains("0.0.0.0 is not a loopback address"), "{err}");
    }

    #[test]
    fn banner_matches_the_documented_line() {
        let l = |s: &str, sec| (s.parse::<SocketAddr>().unwrap(), sec);
        let listeners = [
            l("127.0.0.1:1143", Security::StartTls),
            l("[::1]:1143", Security::StartTls),
            l("127.0.0.1:1993", Security::Implicit),
            l("[::1]:1993", Security::Implicit),
        ];
        assert_eq!(
            banner(&listeners, [1025, 1587, 1465], Path::new("/d")),
            "moxide localserve: IMAP 127.0.0.1:1143 and [::1]:1143 (STARTTLS), IMAPS :1993, SMTP :1025, submission :1587 (STARTTLS), submissions :1465, login mox@localhost / moxmoxmox, data in /d"
        );
    }

    #[test]
    fn port_zero_shows_the_ports_the_os_chose() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "ips = [\"127.0.0.1\"]\nimap_port = 0\nimaps_port = 0\nsmtp_port = 0\nsubmission_port = 0\nsubmissions_port = 0\n",
        )
        .unwrap();
        let p = prepare(Options {
            dir: Some(dir.path().to_path_buf()),
            ..Options::default()
        })
        .unwrap();
        let port = |i: usize| p.listeners[i].listener.local_addr().unwrap().port();
        let sport = |i: usize| p.smtp_listeners[i].listener.local_addr().unwrap().port();
        assert_eq!(p.listeners.len(), 2);
        assert_eq!(p.smtp_listeners.len(), 3);
        assert_ne!(sport(0), 0);
        assert_ne!(port(0), 0);
        assert_eq!(p.listeners[0].addr.port(), port(0));
        assert_eq!(
            p.banner(),
            format!(
                "moxide localserve: IMAP 127.0.0.1:{} (STARTTLS), IMAPS :{}, SMTP :{}, submission :{} (STARTTLS), submissions :{}, login mox@localhost / moxmoxmox, data in {}",
                port(0),
                port(1),
                sport(0),
                sport(1),
                sport(2),
                dir.path().display()
            )
        );
    }

    #[test]
    fn store_created_once_with_special_use_mailboxes() {
        let dir = tempfile::tempdir().unwrap();
        let (store, created) = open_store(dir.path()).unwrap();
        assert!(created);
        let acct = store.account(ACCOUNT).unwrap();
        let mut names: Vec<String> = acct
            .mailboxes()
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["Archive", "Drafts", "Inbox", "Junk", "Sent", "Trash"]
        );
        assert_eq!(
            store.account_for_address(ADDRESS).unwrap().as_deref(),
            Some(ACCOUNT)
        );
        drop((acct, store));
        let (_, created) = open_store(dir.path()).unwrap();
        assert!(!created);
    }
}
