//! `moxide config …`: administration of a server's data from the command
//! line: of `moxide serve` with `--config PATH/moxide.toml`, of the
//! localserve directory with `--dir DIR` (the default). The commands
//! themselves live in [`moxide_engine::admin`] and
//! [`moxide_engine::config`]; this is their clap front end.
//!
//! `account` and `tlspubkey` commands are run by the running `moxide
//! serve` or `moxide localserve` when its control socket ([`crate::ctl`])
//! answers; otherwise the store is opened directly (the database allows
//! one process at a time). Both run [`execute_account`] or
//! [`execute_tlspubkey`].

use std::io::Read;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use moxide_engine::admin::{account, keygen, tlspubkey};
use moxide_engine::config::Domains;
use moxide_engine::config::dkim_add::{self, KeyAlgorithm};
use moxide_storage::Store;
use serde::{Deserialize, Serialize};

use crate::localserve;

/// `moxide config [--dir DIR] …`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The localserve directory [default: $HOME/.config/moxide-localserve].
    #[arg(long, value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,
    /// The moxide.toml of `moxide serve` (its data directory and domains)
    /// instead of the localserve directory.
    #[arg(long, value_name = "PATH", global = true, conflicts_with = "dir")]
    pub config: Option<PathBuf>,
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
    /// Accounts: add, list, rm, passwd, addaddr, rmaddr, quota, disable,
    /// enable.
    #[command(subcommand)]
    Account(AccountCommand),
    /// DKIM keys of the domains in domains.toml (needs --config).
    #[command(subcommand)]
    Dkim(DkimCommand),
}

/// `moxide config account …`.
#[derive(Debug, Subcommand, Clone, PartialEq, Serialize, Deserialize)]
pub enum AccountCommand {
    /// Create account NAME with address ADDRESS (in a configured domain
    /// with --config) and the mailboxes Inbox, Sent, Archive, Trash,
    /// Drafts, Junk.
    Add {
        /// The account name (also a login name).
        name: String,
        /// Its first address (also a login name).
        address: String,
        /// Read the password from the first line of standard input;
        /// without it the account has no password until `passwd`.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts: name, quota, whether a password is set,
    /// addresses, login enabled or disabled (tab-separated, under a header
    /// line).
    List,
    /// Remove account NAME with all its messages and addresses.
    Rm {
        /// The account.
        name: String,
        /// Confirm: the account's mail is deleted for good.
        #[arg(long)]
        yes: bool,
    },
    /// Set the password of NAME to the first line of standard input.
    Passwd {
        /// The account.
        name: String,
    },
    /// Add ADDRESS to account NAME.
    Addaddr {
        /// The account.
        name: String,
        /// The new address.
        address: String,
    },
    /// Remove ADDRESS from its account (an account keeps at least one).
    Rmaddr {
        /// The address.
        address: String,
    },
    /// Set the quota of NAME: bytes (suffixes k, m, g, t), "unlimited" or
    /// "default".
    Quota {
        /// The account.
        name: String,
        /// The quota.
        quota: String,
    },
    /// Disable logins of NAME (IMAP, SMTP submission; password and TLS
    /// client key): they are refused with MESSAGE. Mail for the account is
    /// still delivered; sessions already logged in continue.
    Disable {
        /// The account.
        name: String,
        /// Why, shown to the user whose login is refused (printable ASCII,
        /// at most 200 characters).
        #[arg(long)]
        message: String,
    },
    /// Allow logins of NAME again.
    Enable {
        /// The account.
        name: String,
    },
}

/// `moxide config dkim …`.
#[derive(Debug, Subcommand)]
pub enum DkimCommand {
    /// Make a key for SELECTOR of DOMAIN next to domains.toml, add the
    /// selector to the domain and sign with it, and print the DNS record
    /// to publish.
    Add {
        /// A domain of domains.toml.
        domain: String,
        /// The new selector (one DNS label, e.g. 2024a).
        selector: String,
        /// ed25519 or rsa2048.
        #[arg(long, default_value = "ed25519")]
        algorithm: String,
    },
}

/// `moxide config tlspubkey …`.
#[derive(Debug, Subcommand, Clone, PartialEq, Serialize, Deserialize)]
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
    let cmd = match args.command {
        ConfigCommand::Tlspubkey(cmd) => cmd,
        ConfigCommand::Account(cmd) => return run_account(args.dir, args.config, cmd),
        ConfigCommand::Dkim(cmd) => return run_dkim(args.config, cmd),
    };
    if args.config.is_some() {
        return Err("tlspubkey works on the localserve directory; use --dir, not --config".into());
    }
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
    let pem = match &cmd {
        TlsPubKeyCommand::Add { .. } => {
            let mut pem = Vec::new();
            std::io::stdin()
                .read_to_end(&mut pem)
                .map_err(|e| format!("reading the certificate from standard input: {e}"))?;
            pem
        }
        _ => Vec::new(),
    };
    let req = crate::ctl::Request::Tlspubkey {
        command: cmd.clone(),
        pem: pem.clone(),
    };
    if let Some(outcome) = crate::ctl::request(&localserve::data_dir(&dir), &req) {
        return utf8(outcome);
    }
    let (store, _) = localserve::open_store(&dir).map_err(|e| {
        if e.to_ascii_lowercase().contains("locked") {
            format!("{e} (is `moxide localserve` running with this directory? stop it first)")
        } else {
            e
        }
    })?;
    execute_tlspubkey(&store, cmd, &pem, unix_now())
}

/// What the server answered, as text.
fn utf8(outcome: crate::ctl::Outcome) -> Result<String, String> {
    outcome.and_then(|out| {
        String::from_utf8(out).map_err(|_| "the server answered with non-UTF-8 text".into())
    })
}

/// Runs one `tlspubkey` command at `now_unix` on `store` (`pem`: the
/// certificate `add` read from standard input) and makes the change
/// durable; returns what `moxide config` prints, or the error message.
/// The CLI and localserve's control socket both call this.
pub fn execute_tlspubkey(
    store: &Store,
    cmd: TlsPubKeyCommand,
    pem: &[u8],
    now_unix: i64,
) -> Result<String, String> {
    let out = match cmd {
        TlsPubKeyCommand::List { account } => tlspubkey::list(store, account.as_deref()),
        TlsPubKeyCommand::Get { fingerprint } => tlspubkey::get(store, &fingerprint),
        TlsPubKeyCommand::Add {
            address,
            name,
            no_imap_preauth,
        } => tlspubkey::add(
            store,
            tlspubkey::AddKey {
                address: &address,
                name: name.as_deref(),
                no_imap_preauth,
                pem,
                now_unix,
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
        }),
        TlsPubKeyCommand::Rm { fingerprint } => tlspubkey::remove(store, &fingerprint).map(|k| {
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

/// The store and the domains of `--config`, else the localserve store.
fn open(
    dir: Option<PathBuf>,
    config: Option<moxide_engine::config::Config>,
) -> Result<(Store, Option<Domains>), String> {
    if let Some(cfg) = config {
        let store = crate::serve_cmd::open_store(&cfg.data_dir).map_err(|e| {
            if e.contains("stop it first") {
                e.replace("another moxide", "`moxide serve`")
            } else {
                e
            }
        })?;
        return Ok((store, Some(cfg.domains)));
    }
    let dir = match dir {
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
    Ok((store, None))
}

/// The password on standard input.
fn read_password() -> Result<String, String> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| format!("reading the password from standard input: {e}"))?;
    account::password_from_input(&input).map_err(|e| e.to_string())
}

/// `account …`.
fn run_account(
    dir: Option<PathBuf>,
    config: Option<PathBuf>,
    cmd: AccountCommand,
) -> Result<String, String> {
    if let AccountCommand::Rm { name, yes: false } = &cmd {
        return Err(format!(
            "removing account {name:?} deletes all its messages for good; add --yes to do it"
        ));
    }
    // Read the password before opening the store (a prompt must not hold
    // the database).
    let password = match &cmd {
        AccountCommand::Add {
            password_stdin: true,
            ..
        }
        | AccountCommand::Passwd { .. } => Some(read_password()?),
        _ => None,
    };
    let config = match config {
        Some(path) => Some(moxide_engine::config::load(&path).map_err(|e| e.to_string())?),
        None => None,
    };
    // The running server's data directory, if it has one.
    let data_dir = match (&config, &dir) {
        (Some(cfg), _) => Some(cfg.data_dir.clone()),
        (None, Some(d)) => Some(localserve::data_dir(d)),
        (None, None) => localserve::default_dir()
            .ok()
            .map(|d| localserve::data_dir(&d)),
    };
    if let Some(data_dir) = data_dir {
        let req = crate::ctl::Request::Account {
            command: cmd.clone(),
            password: password.clone(),
        };
        if let Some(outcome) = crate::ctl::request(&data_dir, &req) {
            return utf8(outcome);
        }
    }
    let (store, domains) = open(dir, config)?;
    execute_account(&store, domains.as_ref(), cmd, password)
}

/// Runs one account command on `store` (addresses must be in `domains`
/// when given) and makes the change durable; returns what `moxide config`
/// prints, or the error message. `password` is the one read from standard
/// input for `add --password-stdin` and `passwd`. The CLI and the control
/// socket both call this.
pub fn execute_account(
    store: &Store,
    domains: Option<&Domains>,
    cmd: AccountCommand,
    password: Option<String>,
) -> Result<String, String> {
    let d = domains;
    let out = match cmd {
        AccountCommand::Add { name, address, .. } => {
            account::add(store, &name, &address, password.as_deref(), d)
        }
        AccountCommand::List => account::list(store),
        AccountCommand::Rm { name, .. } => account::remove(store, &name),
        AccountCommand::Passwd { name } => {
            account::set_password(store, &name, password.as_deref().unwrap_or_default())
        }
        AccountCommand::Addaddr { name, address } => {
            account::add_address(store, &name, &address, d)
        }
        AccountCommand::Rmaddr { address } => account::remove_address(store, &address),
        AccountCommand::Quota { name, quota } => account::set_quota(store, &name, &quota),
        AccountCommand::Disable { name, message } => account::disable(store, &name, &message),
        AccountCommand::Enable { name } => account::enable(store, &name),
    }
    .map_err(|e| e.to_string())?;
    store
        .persist()
        .map_err(|e| format!("writing the store to disk: {e}"))?;
    Ok(out)
}

/// `dkim …`.
fn run_dkim(config: Option<PathBuf>, cmd: DkimCommand) -> Result<String, String> {
    let DkimCommand::Add {
        domain,
        selector,
        algorithm,
    } = cmd;
    let Some(path) = config else {
        return Err("dkim add edits domains.toml: give --config PATH/moxide.toml".into());
    };
    let alg = KeyAlgorithm::parse(&algorithm)?;
    let cfg = moxide_engine::config::load(&path).map_err(|e| e.to_string())?;
    let rng = moxide_proto::dkim::SystemRandom::new();
    let added = dkim_add::add_selector(&cfg.domains.path, &domain, &selector, alg, &rng)?;
    Ok(format!(
        "wrote {}\nadded selector {} to {} (signing with it); restart moxide serve to use it\npublish this DNS record:\n{}\n",
        added.key_file.display(),
        selector.to_ascii_lowercase(),
        cfg.domains.path.display(),
        added.zone_line()
    ))
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
