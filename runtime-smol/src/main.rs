//! `moxide`: the mail server binary on the smol runtime.
//!
//! Commands:
//! - `moxide localserve [--dir DIR] [--imap-port PORT] [--imaps-port PORT]`:
//!   a local IMAP server for developing mail clients (see [`localserve`]).
//! - `moxide version`: prints the version.

mod localserve;
mod serve;
#[cfg(test)]
mod serve_tests;
mod tls;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("moxide {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Localserve(a) => {
            init_logging();
            let opts = localserve::Options {
                dir: a.dir,
                imap_port: a.imap_port,
                imaps_port: a.imaps_port,
            };
            match localserve::run(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("moxide localserve: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
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
