//! `moxide config …`: administration of the localserve data directory from
//! the command line. The commands themselves live in
//! [`moxide_engine::admin`]; this is their clap front end.
//!
//! The store is opened directly, so the server using the directory must be
//! stopped first (the database allows one process at a time).

use std::io::Read;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use moxide_engine::admin::{keygen, tlspubkey};

use crate::localserve;

/// `moxide config [--dir DIR] …`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The localserve directory [default: $HOME/.config/moxide-localserve].
    #[arg(long, value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// The `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// TLS client-certificate keys: a registered key logs its client in
    /// (IMAP PREAUTH on implicit TLS, AUTHENTICATE/AUTH EXTERNAL,
    /// submission without AUTH).
    #[command(subcommand)]
    Tlspubkey(TlsPubKeyCommand),
}

/// `moxide config tlspubkey …`.
#[derive(Debug, Subcommand)]
pub enum TlsPubKeyCommand {
    /// List the keys of ACCOUNT (of every account without it): one
    /// tab-separated line per key under a header line.
    List {
        /// The account.
        account: Option<String>,
    },
    /// Show a key: its settings and its certificate (PEM).
    Get {
        /// The key's fingerprint (as `list` shows it; base64url, so it may
        /// start with "-").
        #[arg(allow_hyphen_values = true)]
        fingerprint: String,
    },
    /// Register the certificate (PEM) on standard input for the account of
    /// ADDRESS, which becomes the key's login address. Only the public key
    /// counts; a private key in the input is ignored.
    Add {
        /// The login address (an address of the account).
        address: String,
        /// A name for the key [default: the certificate's CN, else its
        /// serial number].
        name: Option<String>,
        /// Never IMAP PREAUTH with this key (for clients that ignore
        /// PREAUTH and then try to log in).
        #[arg(long)]
        no_imap_preauth: bool,
    },
    /// Remove a key: connections with it are no longer logged in.
    Rm {
        /// The key's fingerprint.
        #[arg(allow_hyphen_values = true)]
        fingerprint: String,
    },
    /// Make an ed25519 key and a minimal self-signed certificate (CN = the
    /// file name of STEM): writes STEM.key (PKCS#8 private key), STEM.crt
    /// (certificate) and STEM.pem (both), and prints the fingerprint and
    /// the base64url private key seed (for `client_key_seed` of `moxide
    /// sendmail`). Existing files are not overwritten.
    Gen {
        /// Path and name prefix of the files.
        stem: PathBuf,
    },
}

/// Runs `moxide config …`; returns what to print, or an error message for
/// the user.
pub fn run(args: ConfigArgs) -> Result<String, String> {
    let ConfigCommand::Tlspubkey(cmd) = args.command;
    // gen needs no store.
    if let TlsPubKeyCommand::Gen { stem } = &cmd {
        return generate(stem);
    }
    let dir = match args.dir {
        Some(d) => d,
        None => localserve::default_dir()?,
    };
    if !dir.is_dir() {
        return Err(format!(
            "{}: no such directory (start `moxide localserve --dir {}` once to create it)",
            dir.display(),
            dir.display()
        ));
    }
    let (store, _) = localserve::open_store(&dir).map_err(|e| {
        if e.to_ascii_lowercase().contains("locked") {
            format!("{e} (is `moxide localserve` running with this directory? stop it first)")
        } else {
            e
        }
    })?;
    let out = match cmd {
        TlsPubKeyCommand::List { account } => tlspubkey::list(&store, account.as_deref()),
        TlsPubKeyCommand::Get { fingerprint } => tlspubkey::get(&store, &fingerprint),
        TlsPubKeyCommand::Add {
            address,
            name,
            no_imap_preauth,
        } => {
            let mut pem = Vec::new();
            std::io::stdin()
                .read_to_end(&mut pem)
                .map_err(|e| format!("reading the certificate from standard input: {e}"))?;
            tlspubkey::add(
                &store,
                tlspubkey::AddKey {
                    address: &address,
                    name: name.as_deref(),
                    no_imap_preauth,
                    pem: &pem,
                    now_unix: unix_now(),
                },
            )
            .map(|k| {
                format!(
                    "added {} ({}, account {}, login address {}, name {:?}{})\n",
                    k.fingerprint,
                    k.key_type,
                    k.account,
                    k.login_address,
                    k.name,
                    if k.no_imap_preauth {
                        ", no IMAP preauth"
                    } else {
                        ""
                    }
                )
            })
        }
        TlsPubKeyCommand::Rm { fingerprint } => tlspubkey::remove(&store, &fingerprint).map(|k| {
            format!(
                "removed {} (account {}, name {:?})\n",
                k.fingerprint, k.account, k.name
            )
        }),
        TlsPubKeyCommand::Gen { stem } => return generate(&stem),
    };
    let out = out.map_err(|e| e.to_string())?;
    store
        .persist()
        .map_err(|e| format!("writing the store to disk: {e}"))?;
    Ok(out)
}

/// `gen STEM`.
fn generate(stem: &std::path::Path) -> Result<String, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("the OS random source failed: {e}"))?;
    let key = keygen::from_seed(&seed, &keygen::stem_name(stem)).map_err(|e| e.to_string())?;
    let [k, c, p] = keygen::write_files(stem, &key).map_err(|e| e.to_string())?;
    Ok(format!(
        "fingerprint: {}\ned25519 seed: {}\nwrote {} (private key), {} (certificate), {} (both)\n",
        key.fingerprint,
        key.seed,
        k.display(),
        c.display(),
        p.display()
    ))
}

fn unix_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        config: ConfigArgs,
    }

    fn parse(args: &[&str]) -> ConfigArgs {
        Cli::try_parse_from(std::iter::once("config").chain(args.iter().copied()))
            .unwrap()
            .config
    }

    #[test]
    fn fingerprints_starting_with_a_dash_are_arguments() {
        let a = parse(&["tlspubkey", "rm", "-Xy_z", "--dir", "/d"]);
        assert_eq!(a.dir, Some(PathBuf::from("/d")));
        match a.command {
            ConfigCommand::Tlspubkey(TlsPubKeyCommand::Rm { fingerprint }) => {
                assert_eq!(fingerprint, "-Xy_z")
            }
            other => panic!("{other:?}"),
        }
        match parse(&["--dir", "/d", "tlspubkey", "get", "-a"]).command {
            ConfigCommand::Tlspubkey(TlsPubKeyCommand::Get { fingerprint }) => {
                assert_eq!(fingerprint, "-a")
            }
            other => panic!("{other:?}"),
        }
        match parse(&["tlspubkey", "add", "a@b", "phone", "--no-imap-preauth"]).command {
            ConfigCommand::Tlspubkey(TlsPubKeyCommand::Add {
                address,
                name,
                no_imap_preauth,
            }) => assert_eq!(
                (address.as_str(), name.as_deref(), no_imap_preauth),
                ("a@b", Some("phone"), true)
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_directory_is_named() {
        let err = run(parse(&["--dir", "/nonexistent/x", "tlspubkey", "list"])).unwrap_err();
        assert_eq!(
            err,
            "/nonexistent/x: no such directory (start `moxide localserve --dir /nonexistent/x` once to create it)"
        );
    }
}
