//! `moxide`: the mail server binary on the smol runtime.
//!
//! Commands:
//! - `moxide localserve [--dir DIR] [--imap-port PORT] [--imaps-port PORT]`:
//!   a local IMAP server for developing mail clients (see [`localserve`]).
//! - `moxide sendmail [FLAGS] [RECIPIENTS]`: a drop-in /usr/sbin/sendmail
//!   submitting to the server of /etc/moxide/sendmail.toml (see
//!   [`moxide::sendmail`]).
//! - `moxide replay FILE`: runs an IMAP transcript on the bare engine with
//!   a fresh temporary account and prints the exchange, deterministically
//!   (see [`moxide_conformance::replay`]).
//! - `moxide config [--dir DIR] tlspubkey list|get|add|rm|gen`: TLS
//!   client-certificate keys of the localserve directory (see
//!   [`moxide::config_cli`]).
//! - `queue` and `config` commands go to a running `moxide serve` or
//!   `moxide localserve` over its control socket (see [`moxide::ctl`]).
//! - `moxide serve --config PATH`: the production server of a moxide.toml
//!   and domains.toml (see [`moxide::serve_cmd`]).
//! - `moxide config [--config PATH | --dir DIR] account|dkim …`: accounts
//!   and DKIM keys (see [`moxide::config_cli`]).
//! - `moxide queue [--config PATH | --dir DIR] list|hold|unhold|schedule|
//!   drop|fail|dump`: the outgoing queue (see [`moxide::cli_queue`]).
//! - `moxide verifydata [DATADIR | --dir DIR | --config PATH]`: the
//!   consistency check of a stopped data directory or a backup (see
//!   [`moxide::cli_verifydata`]).
//! - `moxide backup [--config PATH | --dir DIR] DEST`: a consistent copy
//!   of a running or stopped server's data and configuration (see
//!   [`moxide::cli_backup`]).
//! - `moxide version`: prints the version.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use futures_rustls::TlsAcceptor;
use moxide::localserve;
use moxide::serve;
use moxide_engine::smtp::Role;
use smol::Executor;
use tracing_subscriber::EnvFilter;

/// moxide: a complete mail server in one binary, modelled on mox.
#[derive(Debug, Parser)]
#[command(name = "moxide", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a local IMAP server for developing and testing mail clients:
    /// IMAP with STARTTLS on 127.0.0.1 and ::1 port 1143, IMAPS on port
    /// 1993, account mox@localhost with password moxmoxmox, a self-signed
    /// certificate. Ctrl-C stops it; a later start reuses the data.
    Localserve(LocalserveArgs),
    /// Submit the message on stdin, as /usr/sbin/sendmail, to the
    /// submission server named in /etc/moxide/sendmail.toml (or the file
    /// in $MOXIDE_SENDMAIL_CONFIG). Flags: -t (recipients from To/Cc/Bcc),
    /// -f ADDR (envelope sender), -i/-oi; -B, -F, -o… and the like are
    /// ignored.
    Sendmail {
        /// Flags and recipients, as for sendmail.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run an IMAP transcript (the format of conformance/README.md: `C:`
    /// client lines, optional `S:` expectations) against a fresh temporary
    /// account on the bare engine, with a fixed clock, UIDVALIDITY and ids,
    /// and print the whole exchange (`C: ` client, `S: ` server lines).
    /// Exit status 0 when the `S:` lines matched or there are none, 1 when
    /// one did not, 2 when the file is unreadable or malformed.
    Replay {
        /// The transcript file.
        file: PathBuf,
    },
    /// DNS lookups through moxide's stub resolver (`dns lookup TYPE NAME`).
    Dns(moxide::cli_dns::DnsArgs),
    /// SPF: check IP DOMAIN|ADDRESS, lookup DOMAIN, parse 'v=spf1 …'.
    Spf(moxide::cli_spf::SpfArgs),
    /// DKIM: sign, verify, lookup, gened25519, genrsa.
    Dkim(moxide::cli_dkim::DkimArgs),
    /// DMARC: the record that applies to a domain (`dmarc lookup DOMAIN`),
    /// and how a message on stdin fares (`dmarc verify IP MAILFROM HELO`).
    Dmarc(moxide::cli_dmarc::DmarcArgs),
    /// DANE: dial HOST:PORT (TLSA records, STARTTLS, certificate check).
    Dane(moxide::cli_dane::DaneArgs),
    /// MTA-STS: the record and policy of a domain (`mtasts lookup DOMAIN`).
    Mtasts(moxide::cli_mtasts::MtastsArgs),
    /// Administer a server's accounts, DKIM keys and TLS client keys
    /// (`--config PATH` for `moxide serve`, else the localserve
    /// directory; a running server does them through its control socket).
    Config(moxide::config_cli::ConfigArgs),
    /// The outgoing queue: list, hold, unhold, schedule, drop, fail, dump
    /// (`--config PATH` for `moxide serve`, else the localserve
    /// directory; a running server does them through its control socket).
    Queue(moxide::cli_queue::QueueArgs),
    /// Run the mail server of a production configuration: `moxide serve
    /// --config /etc/moxide/moxide.toml` (SIGTERM or Ctrl-C stops it);
    /// `--example-config` prints a documented moxide.toml and domains.toml.
    Serve(moxide::serve_cmd::ServeArgs),
    /// Verify a data directory no server has open, typically a backup:
    /// the full consistency check, every message file with its size, stray
    /// files. DATADIR holds db/ or data/db/ (a localserve directory, a
    /// backup); or --dir DIR (localserve), --config PATH (serve). Prints one line per problem and a summary; exit status 0
    /// when clean, 1 with problems, 2 on errors.
    Verifydata(moxide::cli_verifydata::VerifyArgs),
    /// Back up a server's data and configuration into DEST (new or
    /// empty): the database as of one instant, the message files it
    /// references (hard links where possible), the configuration files;
    /// then the copy is verified as by verifydata. A running server makes
    /// the copy through its control socket. Exit status 0 when the copy
    /// verified clean, 1 with problems, 2 on errors.
    Backup(moxide::cli_backup::BackupArgs),
    /// Print the version.
    Version,
}

#[derive(Debug, Args)]
struct LocalserveArgs {
    /// Directory for moxide.toml, the certificate and the data; created on
    /// first start [default: $HOME/.config/moxide-localserve].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// IMAP (STARTTLS) port for this run, instead of imap_port from
    /// moxide.toml (1143).
    #[arg(long, value_name = "PORT")]
    imap_port: Option<u16>,
    /// IMAPS (implicit TLS) port for this run, instead of imaps_port from
    /// moxide.toml (1993).
    #[arg(long, value_name = "PORT")]
    imaps_port: Option<u16>,
    /// SMTP port for this run, instead of smtp_port from moxide.toml (1025).
    #[arg(long, value_name = "PORT")]
    smtp_port: Option<u16>,
    /// Submission (STARTTLS) port for this run, instead of submission_port
    /// from moxide.toml (1587).
    #[arg(long, value_name = "PORT")]
    submission_port: Option<u16>,
    /// Submissions (implicit TLS) port for this run, instead of
    /// submissions_port from moxide.toml (1465).
    #[arg(long, value_name = "PORT")]
    submissions_port: Option<u16>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dns(args) => moxide::cli_dns::run(args),
        Command::Spf(args) => moxide::cli_spf::run(args),
        Command::Dkim(args) => moxide::cli_dkim::run(args),
        Command::Dmarc(args) => moxide::cli_dmarc::run(args),
        Command::Dane(args) => moxide::cli_dane::run(args),
        Command::Serve(args) => {
            if !args.example_config {
                init_logging();
            }
            moxide::serve_cmd::run(args)
        }
        Command::Mtasts(args) => moxide::cli_mtasts::run(args),
        Command::Verifydata(args) => moxide::cli_verifydata::run(args),
        Command::Backup(args) => moxide::cli_backup::run(args),
        Command::Version => {
            println!("moxide {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Replay { file } => {
            let r = moxide_conformance::replay::replay_file(&file);
            if r.status == moxide_conformance::replay::STATUS_BAD_FILE {
                eprint!("{}", r.output);
            } else {
                print!("{}", r.output);
            }
            ExitCode::from(r.status)
        }
        Command::Config(args) => match moxide::config_cli::run(args) {
            Ok(out) => {
                print!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("moxide config: {e}");
                ExitCode::from(1)
            }
        },
        Command::Queue(args) => match moxide::cli_queue::run(args) {
            Ok(out) => {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                match stdout.write_all(&out).and_then(|()| stdout.flush()) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("moxide queue: writing the output: {e}");
                        ExitCode::from(1)
                    }
                }
            }
            Err(e) => {
                eprintln!("moxide queue: {e}");
                ExitCode::from(1)
            }
        },
        Command::Sendmail { args } => match moxide::sendmail::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("moxide sendmail: {e}");
                // EX_TEMPFAIL of sysexits.h: the caller may retry.
                ExitCode::from(75)
            }
        },
        Command::Localserve(a) => {
            init_logging();
            let opts = localserve::Options {
                dir: a.dir,
                imap_port: a.imap_port,
                imaps_port: a.imaps_port,
            };
            let ports = localserve::SmtpPorts {
                smtp: a.smtp_port,
                submission: a.submission_port,
                submissions: a.submissions_port,
            };
            match run_localserve(opts, ports) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("moxide localserve: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

/// Runs localserve on smol until Ctrl-C (or SIGTERM).
fn run_localserve(opts: localserve::Options, ports: localserve::SmtpPorts) -> Result<(), String> {
    serve::tune_allocator();
    let mut prepared = localserve::prepare_with(opts, ports)?;
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    localserve::on_interrupt(move || {
        let _ = stop_tx.try_send(());
    })?;
    let ex = Arc::new(Executor::new());
    let acceptor = TlsAcceptor::from(prepared.tls.clone());
    let make = Arc::new(prepared.session_factory());
    let banner = prepared.banner();
    for b in std::mem::take(&mut prepared.listeners) {
        let l = serve::async_listener(b.listener)
            .map_err(|e| format!("listening on {}: {e}", b.addr))?;
        let accept = serve::accept_loop(ex.clone(), l, b.security, acceptor.clone(), make.clone());
        ex.spawn(accept).detach();
    }
    let smtp = Arc::new(prepared.smtp_factory(Role::Inbound));
    let submission = Arc::new(prepared.smtp_factory(Role::Submission));
    for b in std::mem::take(&mut prepared.smtp_listeners) {
        let l = serve::async_listener(b.listener)
            .map_err(|e| format!("listening on {}: {e}", b.addr))?;
        let make = match b.role {
            Role::Inbound => smtp.clone(),
            Role::Submission => submission.clone(),
        };
        let accept = serve::accept_loop(ex.clone(), l, b.security, acceptor.clone(), make);
        ex.spawn(accept).detach();
    }
    // Flushes memtables and trims the heap once the store has been idle.
    let shrink = moxide::idle::idle_shrink(prepared.store.clone(), moxide::idle::IDLE_QUIET);
    ex.spawn(shrink).detach();
    // `moxide queue`/`config --dir` commands over the control socket.
    let mut ctl = moxide::ctl::CtlSocket::bind(&localserve::data_dir(&prepared.dir))?;
    let queue = moxide_engine::queue::Queue::new(
        prepared.store.clone(),
        moxide_engine::queue::QueueConfig::new("localhost"),
    )
    .map_err(|e| format!("opening the outgoing queue: {e}"))?;
    let ctl_running = Arc::new(std::sync::Mutex::new(()));
    let handler = moxide::ctl::server_handler(Arc::new(queue), None, ctl_running.clone());
    ex.spawn(ctl.accept_loop(ex.clone(), handler)?).detach();
    println!("{banner}");

    // Storage calls block their thread (fsync): a second executor thread
    // keeps other connections going meanwhile.
    let (done_tx, done_rx) = smol::channel::bounded::<()>(1);
    let worker = {
        let ex = ex.clone();
        std::thread::Builder::new()
            .name("moxide-exec".into())
            .spawn(move || smol::block_on(ex.run(done_rx.recv())))
            .map_err(|e| format!("starting a thread: {e}"))?
    };
    let _ = smol::block_on(ex.run(stop_rx.recv()));
    // No new admin commands; one in progress finishes first.
    drop(ctl);
    let _idle = ctl_running.lock().unwrap_or_else(|e| e.into_inner());
    drop(done_tx);
    let _ = worker.join();
    prepared.stop()
}

/// Logs to stderr; `RUST_LOG` filters (default: info, storage internals
/// at warn).
fn init_logging() {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,fjall=warn,lsm_tree=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}
