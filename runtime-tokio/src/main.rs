//! `moxide-tokio`: moxide on the tokio runtime. Same commands and
//! behaviour as `moxide` (smol); the runtime-independent set-up is shared
//! with it (`moxide::localserve`, `moxide::tls`).
//!
//! Commands:
//! - `moxide-tokio localserve [--dir DIR] [--imap-port PORT] [--imaps-port PORT]`
//! - `moxide-tokio version`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use moxide::localserve;
use moxide_engine::smtp::Role;
use moxide_tokio::serve;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;
use tracing_subscriber::EnvFilter;

/// moxide on tokio: a complete mail server in one binary, modelled on mox.
#[derive(Debug, Parser)]
#[command(name = "moxide-tokio", version)]
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
        Command::Version => {
            println!("moxide-tokio {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
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

/// Runs localserve on a single-threaded tokio runtime until Ctrl-C (or
/// SIGTERM).
fn run_localserve(opts: localserve::Options, ports: localserve::SmtpPorts) -> Result<(), String> {
    moxide::serve::tune_allocator();
    let mut prepared = localserve::prepare_with(opts, ports)?;
    let stop = Arc::new(Notify::new());
    {
        let stop = stop.clone();
        localserve::on_interrupt(move || stop.notify_one())?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting the tokio runtime: {e}"))?;
    let acceptor = TlsAcceptor::from(prepared.tls.clone());
    let make = Arc::new(prepared.session_factory());
    let banner = prepared.banner();
    let listeners = std::mem::take(&mut prepared.listeners);
    let smtp_listeners = std::mem::take(&mut prepared.smtp_listeners);
    let smtp = Arc::new(prepared.smtp_factory(Role::Inbound));
    let submission = Arc::new(prepared.smtp_factory(Role::Submission));
    rt.block_on(async {
        for b in listeners {
            let l = tokio::net::TcpListener::from_std(b.listener)
                .map_err(|e| format!("listening on {}: {e}", b.addr))?;
            let accept = serve::accept_loop(l, b.security, acceptor.clone(), make.clone());
            tokio::spawn(accept);
        }
        for b in smtp_listeners {
            let l = tokio::net::TcpListener::from_std(b.listener)
                .map_err(|e| format!("listening on {}: {e}", b.addr))?;
            let make = match b.role {
                Role::Inbound => smtp.clone(),
                Role::Submission => submission.clone(),
            };
            tokio::spawn(serve::accept_loop(l, b.security, acceptor.clone(), make));
        }
        // Flushes memtables and trims the heap once the store has been idle.
        let store = prepared.store.clone();
        tokio::spawn(moxide_tokio::idle::idle_shrink(
            store,
            moxide_tokio::idle::IDLE_QUIET,
        ));
        println!("{banner}");
        stop.notified().await;
        Ok::<(), String>(())
    })?;
    // Dropping the runtime cancels the connections between two polls, so
    // no storage call is cut short.
    drop(rt);
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
