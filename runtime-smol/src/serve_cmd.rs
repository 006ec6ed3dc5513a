//! `moxide serve --config PATH/moxide.toml`: the production server. Reads
//! `moxide.toml` and `domains.toml` ([`moxide_engine::config`]), loads
//! every listener's certificate and the DKIM keys, binds every listener
//! (before opening the store, so a second server on the same ports stops
//! without touching the database), opens the store in the data directory
//! and serves until SIGTERM or Ctrl-C, then makes the store durable.
//!
//! - SMTP (inbound): STARTTLS offered, recipients are the accounts'
//!   addresses, sender checks (iprev, SPF, DKIM, DMARC) through the
//!   configured resolver unless `sender_checks = false`.
//! - Submission and submissions: AUTH only over TLS; the From address must
//!   be the account's; Message-ID and Date added; DKIM-signed with the
//!   selectors of the From domain. Mail to local accounts is delivered,
//!   mail to other domains goes into the outgoing queue (both durable
//!   before the 250).
//! - IMAP and IMAPS: login only over TLS.
//! - The control socket `ctl` in the data directory ([`crate::ctl`]):
//!   `moxide queue` and `moxide config account` run their commands in the
//!   server through it.
//!
//! `moxide serve --example-config` prints a documented `moxide.toml` and
//! `domains.toml`.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use futures_rustls::TlsAcceptor;
use moxide_engine::config::outgoing::{OutgoingRoutes, delivery_config};
use moxide_engine::config::{self, Config, Service, example};
use moxide_engine::imap::{ImapConfig, PeerInfo, Session, WallClock};
use moxide_engine::queue::{Queue, QueueConfig};
use moxide_engine::smtp::dkim_sign::DkimSigning;
use moxide_engine::smtp::{LocalDomains, Outgoing, SmtpConfig, SmtpSession};
use moxide_storage::{Store, StoreConfig};
use smol::Executor;

use crate::listen::{self, Security};
use crate::queue_runner::{self, RunnerConfig, TlsClientRoots};
use crate::{serve, tls};

/// `moxide serve` arguments.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The moxide.toml to serve with (it names domains.toml).
    #[arg(long, value_name = "PATH", required_unless_present = "example_config")]
    pub config: Option<PathBuf>,
    /// Print a documented example moxide.toml and domains.toml and exit.
    #[arg(long)]
    pub example_config: bool,
}

/// What `--example-config` prints: both files, each under a line naming
/// it.
pub fn example_text() -> String {
    format!(
        "# ===== moxide.toml =====\n{}\n# ===== domains.toml =====\n{}",
        example::SERVER,
        example::DOMAINS
    )
}

/// One bound socket and what it serves.
#[derive(Debug)]
pub struct Bound {
    /// The listener's name in the configuration.
    pub listener: String,
    /// The service.
    pub service: Service,
    /// The address (the port the OS chose for port 0).
    pub addr: SocketAddr,
    /// The socket, non-blocking.
    pub socket: TcpListener,
    /// The listener's TLS configuration.
    pub tls: Arc<rustls::ServerConfig>,
}

/// The server set up and listening, ready to serve.
pub struct Prepared {
    /// The configuration.
    pub config: Config,
    /// The bound sockets, in configuration order.
    pub bound: Vec<Bound>,
    /// The store.
    pub store: Arc<Store>,
    /// IMAP sessions' configuration.
    pub imap: Arc<ImapConfig>,
    /// Inbound SMTP sessions' configuration.
    pub smtp: Arc<SmtpConfig>,
    /// Submission sessions' configuration.
    pub submission: Arc<SmtpConfig>,
    /// The outgoing queue (submission puts mail for other domains here).
    pub queue: Arc<Queue>,
    /// The queue runner's settings: `[delivery]` switches, routes and
    /// transports, the web PKI's roots and `extra_ca_files`.
    pub runner: RunnerConfig,
    /// The control socket in the data directory (removed when dropped).
    pub ctl: crate::ctl::CtlSocket,
}

/// Loads the configuration and sets everything up; errors are messages
/// for the admin, without the "moxide serve: " prefix.
pub fn prepare(path: &Path) -> Result<Prepared, String> {
    let config = config::load(path).map_err(|e| e.to_string())?;
    let dkim = DkimSigning::from_domains(&config.domains).map_err(|e| e.to_string())?;
    let routes = OutgoingRoutes::new(&config).map_err(|e| e.to_string())?;
    let mut extra_roots = Vec::new();
    for (n, f) in config.extra_ca_files.iter().enumerate() {
        let certs = crate::https::load_ca_file(f).map_err(|e| {
            format!(
                "{}: delivery.extra_ca_files[{n}]: {e} (list PEM files of CA certificates)",
                config.path.display()
            )
        })?;
        extra_roots.extend(certs);
    }
    let mut runner = RunnerConfig::new(delivery_config(&config));
    let routes = Arc::new(routes);
    runner.transport_for = Arc::new(move |job| routes.transport_for(job));
    runner.tls = TlsClientRoots::with_extra(extra_roots)
        .map_err(|e| format!("{}: delivery.extra_ca_files: {e}", config.path.display()))?;
    runner.mtasts_port = mtasts_test_port()?;
    let mut bound = Vec::new();
    for l in &config.listeners {
        let tls = tls::load(&l.tls_cert, &l.tls_key).map_err(|e| match e {
            tls::TlsError::Pem { path, detail } => format!(
                "listener {}: {}: {detail} (tls_cert must hold a PEM certificate chain, tls_key its PEM private key)",
                l.name,
                path.display()
            ),
            other => format!("listener {}: {other}", l.name),
        })?;
        for (service, port) in &l.services {
            for ip in &l.ips {
                let addr = SocketAddr::new(*ip, *port);
                let socket = listen::bind(addr).map_err(|e| {
                    let what = format!(
                        "cannot listen on {addr} for {} of listener {}",
                        service.as_str(),
                        l.name
                    );
                    if e.kind() == io::ErrorKind::AddrInUse {
                        format!(
                            "{what}: address in use (is another moxide or mail server running?)"
                        )
                    } else {
                        format!("{what}: {e}")
                    }
                })?;
                bound.push(Bound {
                    listener: l.name.clone(),
                    service: *service,
                    addr: socket.local_addr().unwrap_or(addr),
                    socket,
                    tls: tls.clone(),
                });
            }
        }
    }
    if !config.resolver.is_empty() {
        let r = crate::dns::Resolver::with_servers(config.resolver.clone());
        if crate::dns::install_shared(r).is_err() {
            tracing::warn!(
                "a DNS resolver is already in use; resolver = {:?} not installed",
                config.resolver
            );
        }
    }
    let store = Arc::new(open_store(&config.data_dir)?);
    check_postmaster(&config, &store)?;
    let queue = Arc::new(
        Queue::new(store.clone(), QueueConfig::new(&config.hostname))
            .map_err(|e| format!("opening the outgoing queue: {e}"))?,
    );
    // After the store: holding it, this is the only server of data_dir.
    let ctl = crate::ctl::CtlSocket::bind(&config.data_dir)?;
    let imap = Arc::new(ImapConfig {
        greeting: format!("{} moxide IMAP ready", config.hostname),
        ..ImapConfig::default()
    });
    let dkim = Arc::new(dkim);
    let smtp_cfg = |mut c: SmtpConfig| {
        c.server.tls_available = true;
        // Failed logins count per client IP across IMAP and SMTP.
        c.login_limit = imap.login_limit.clone();
        c.dkim = dkim.clone();
        c.shared()
    };
    let local_domains = local_domains(&config);
    let smtp = smtp_cfg(SmtpConfig {
        sender_checks: config.sender_checks,
        local_domains: local_domains.clone(),
        postmaster: config.postmaster.clone(),
        ..SmtpConfig::inbound(&config.hostname)
    });
    let submission = smtp_cfg(SmtpConfig {
        outgoing: Outgoing::Queue(queue.clone()),
        local_domains,
        postmaster: config.postmaster.clone(),
        ..SmtpConfig::submission(&config.hostname)
    });
    Ok(Prepared {
        config,
        bound,
        store,
        imap,
        smtp,
        submission,
        queue,
        runner,
        ctl,
    })
}

/// The local domains of `domains.toml`, and the listeners' IPs for
/// address literals (an unspecified `0.0.0.0`/`::` names no address, so
/// a literal is then local only for the explicitly listed IPs).
pub fn local_domains(config: &Config) -> LocalDomains {
    LocalDomains::Only {
        domains: config.domains.domains.keys().cloned().collect(),
        ips: config
            .listeners
            .iter()
            .flat_map(|l| l.ips.iter().copied())
            .filter(|ip| !ip.is_unspecified())
            .collect(),
    }
}

/// RFC 5321 4.5.1: postmaster mail must be accepted. A `postmaster`
/// account that does not exist stops the start; no `postmaster` at all is
/// a warning.
fn check_postmaster(config: &Config, store: &Store) -> Result<(), String> {
    let Some(name) = &config.postmaster else {
        let msg = format!(
            "{}: no postmaster account: mail to postmaster@ a local domain without that address is refused, but RFC 5321 4.5.1 requires it to be accepted; set postmaster = \"ACCOUNT\"",
            config.path.display()
        );
        eprintln!("moxide serve: warning: {msg}");
        return Ok(());
    };
    let names = store
        .account_names()
        .map_err(|e| format!("reading the accounts: {e}"))?;
    if names.iter().any(|n| n == name) {
        return Ok(());
    }
    Err(format!(
        "{}: postmaster: no account {name:?} (accounts: {}); create it with `moxide config --config {} account add {name} ADDRESS` or name an existing one",
        config.path.display(),
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        },
        config.path.display()
    ))
}

/// The test-only MTA-STS policy port of `MOXIDE_MTASTS_PORT`, if set.
fn mtasts_test_port() -> Result<Option<u16>, String> {
    let env = crate::cli_mtasts::PORT_ENV;
    match std::env::var(env) {
        Err(_) => Ok(None),
        Ok(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 => {
                tracing::warn!("{env}={n}: MTA-STS policies are fetched from port {n} (for tests)");
                Ok(Some(n))
            }
            _ => Err(format!("{env}={p:?} is not a port")),
        },
    }
}

/// Opens (or creates) the store in `dir`.
pub fn open_store(dir: &Path) -> Result<Store, String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("data_dir {}: cannot create: {e}", dir.display()))?;
    Store::open(dir, StoreConfig::default()).map_err(|e| {
        let msg = format!("opening the store in {}: {e}", dir.display());
        if msg.to_ascii_lowercase().contains("lock") {
            format!("{msg} (is another moxide using this data directory? stop it first)")
        } else {
            msg
        }
    })
}

impl Prepared {
    /// The line printed once serving: host name, each service's
    /// addresses, the data directory.
    pub fn banner(&self) -> String {
        let parts: Vec<String> = self
            .bound
            .iter()
            .map(|b| format!("{} {}", b.service.as_str(), b.addr))
            .collect();
        format!(
            "moxide serve: {}: {}; data in {}",
            self.config.hostname,
            parts.join(", "),
            self.config.data_dir.display()
        )
    }

    /// Serves until `stop` yields (SIGTERM/Ctrl-C), then makes the store
    /// durable.
    pub fn run(mut self, stop: smol::channel::Receiver<()>) -> Result<(), String> {
        let ex = Arc::new(Executor::new());
        let imap = Arc::new(session_factory(self.imap.clone(), self.store.clone()));
        let smtp = Arc::new(smtp_factory(self.smtp.clone(), self.store.clone()));
        let submission = Arc::new(smtp_factory(self.submission.clone(), self.store.clone()));
        for b in std::mem::take(&mut self.bound) {
            let l = serve::async_listener(b.socket)
                .map_err(|e| format!("listening on {}: {e}", b.addr))?;
            let acceptor = TlsAcceptor::from(b.tls);
            let security = if b.service.implicit_tls() {
                Security::Implicit
            } else {
                Security::StartTls
            };
            match b.service {
                Service::Imap | Service::Imaps => ex
                    .spawn(serve::accept_loop(
                        ex.clone(),
                        l,
                        security,
                        acceptor,
                        imap.clone(),
                    ))
                    .detach(),
                Service::Smtp => ex
                    .spawn(serve::accept_loop(
                        ex.clone(),
                        l,
                        security,
                        acceptor,
                        smtp.clone(),
                    ))
                    .detach(),
                Service::Submission | Service::Submissions => ex
                    .spawn(serve::accept_loop(
                        ex.clone(),
                        l,
                        security,
                        acceptor,
                        submission.clone(),
                    ))
                    .detach(),
            }
        }
        // Flushes memtables and trims the heap once the store has been
        // idle.
        let shrink = crate::idle::idle_shrink(self.store.clone(), crate::idle::IDLE_QUIET);
        ex.spawn(shrink).detach();
        // Storage calls block their thread (fsync): a second executor
        // thread keeps other connections going meanwhile.
        let (done_tx, done_rx) = smol::channel::bounded::<()>(1);
        let worker = {
            let ex = ex.clone();
            std::thread::Builder::new()
                .name("moxide-exec".into())
                .spawn(move || smol::block_on(ex.run(done_rx.recv())))
                .map_err(|e| format!("starting a thread: {e}"))?
        };
        // Outgoing delivery on smol's global executor.
        let runner = queue_runner::spawn(self.queue.clone(), self.runner.clone());
        // Admin commands over the control socket, one at a time.
        let ctl_running = Arc::new(Mutex::new(()));
        let handler = crate::ctl::server_handler(
            self.queue.clone(),
            Some(self.config.domains.clone()),
            ctl_running.clone(),
        );
        ex.spawn(self.ctl.accept_loop(ex.clone(), handler)?)
            .detach();
        let _ = smol::block_on(ex.run(stop.recv()));
        // No new admin commands (the CLI finds no server and the store
        // still locked); one in progress finishes before the store is
        // written.
        drop(self.ctl);
        let ctl_idle = ctl_running.lock().unwrap_or_else(|e| e.into_inner());
        // Running attempts get their grace period and are booked; then
        // no connection is served any more.
        smol::block_on(runner.stop());
        drop(done_tx);
        let _ = worker.join();
        self.store
            .persist()
            .map_err(|e| format!("writing the store to disk: {e}"))?;
        drop(ctl_idle);
        eprintln!("moxide serve: stopped");
        Ok(())
    }
}

fn clock() -> WallClock {
    let unix_at = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    };
    WallClock {
        unix_at,
        instant_at: Instant::now(),
    }
}

/// SASL nonces and message ids from the OS random source; without one no
/// session can be secure, so a failure ends the process.
fn random_nonce() -> [u8; 18] {
    let mut b = [0u8; 18];
    if let Err(e) = getrandom::fill(&mut b) {
        eprintln!("moxide: the OS random source failed: {e}");
        std::process::abort();
    }
    b
}

fn session_factory(
    imap: Arc<ImapConfig>,
    store: Arc<Store>,
) -> impl Fn(PeerInfo) -> Session + Send + Sync + 'static {
    move |peer| {
        Session::new(
            imap.clone(),
            store.clone(),
            peer,
            clock(),
            Box::new(random_nonce),
        )
    }
}

fn smtp_factory(
    cfg: Arc<SmtpConfig>,
    store: Arc<Store>,
) -> impl Fn(PeerInfo) -> SmtpSession + Send + Sync + 'static {
    move |peer| {
        SmtpSession::new(
            cfg.clone(),
            store.clone(),
            peer,
            clock(),
            Box::new(random_nonce),
        )
    }
}

/// Runs `moxide serve`.
pub fn run(args: ServeArgs) -> ExitCode {
    if args.example_config {
        print!("{}", example_text());
        return ExitCode::SUCCESS;
    }
    let Some(path) = args.config else {
        eprintln!("moxide serve: --config PATH is required");
        return ExitCode::from(2);
    };
    serve::tune_allocator();
    let result = prepare(&path).and_then(|p| {
        let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
        crate::localserve::on_interrupt(move || {
            let _ = stop_tx.try_send(());
        })?;
        println!("{}", p.banner());
        p.run(stop_rx)
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("moxide serve: {e}");
            ExitCode::from(1)
        }
    }
}
