//! `moxide queue …`: the outgoing queue from the command line (list, hold,
//! unhold, schedule, drop, fail, dump). The operations live in
//! [`moxide_engine::queue`]; this is their clap front end.
//!
//! The queue is that of `moxide serve` with `--config PATH/moxide.toml`,
//! else that of the localserve directory (`--dir DIR`, the default). A
//! running server (`moxide serve` or `moxide localserve`) is asked over
//! its control socket ([`crate::ctl`]); without one answering the store is
//! opened directly (the database allows one process at a time). Both run
//! [`execute`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use moxide_engine::queue::{Filter, Queue, QueueConfig, QueueError, listing};
use serde::{Deserialize, Serialize};

use crate::localserve;

/// `moxide queue [--config PATH | --dir DIR] …`.
#[derive(Debug, Args)]
pub struct QueueArgs {
    /// The localserve directory [default: $HOME/.config/moxide-localserve].
    #[arg(long, value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,
    /// The moxide.toml of `moxide serve` (its data directory and host
    /// name) instead of the localserve directory.
    #[arg(long, value_name = "PATH", global = true, conflicts_with = "dir")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: QueueCommand,
}

/// Which entries: by id (repeatable), recipient domain, hold state.
#[derive(Debug, Args, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Select {
    /// Only the entry with this id (repeat for several).
    #[arg(long = "id", value_name = "N")]
    pub ids: Vec<u64>,
    /// Only entries for this recipient domain.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Every entry (needed when neither --id nor --domain is given, so a
    /// missing filter cannot touch the whole queue by accident).
    #[arg(long)]
    pub all: bool,
}

/// The `queue` subcommands.
#[derive(Debug, Subcommand, Clone, PartialEq, Serialize, Deserialize)]
pub enum QueueCommand {
    /// List entries: id, sender, recipient domain and recipients with
    /// their state, attempts, last and next attempt, hold, last error, and
    /// a warning when the message file is missing.
    List {
        /// Only the entry with this id (repeat for several).
        #[arg(long = "id", value_name = "N")]
        ids: Vec<u64>,
        /// Only entries for this recipient domain.
        #[arg(long, value_name = "DOMAIN")]
        domain: Option<String>,
        /// Only entries on hold.
        #[arg(long, conflicts_with = "not_held")]
        held: bool,
        /// Only entries not on hold.
        #[arg(long)]
        not_held: bool,
    },
    /// Stop delivery attempts for the selected entries.
    Hold(Select),
    /// Let held entries be delivered again.
    Unhold(Select),
    /// Set the next delivery attempt (default: now).
    Schedule {
        #[command(flatten)]
        select: Select,
        /// At this time, in unix seconds.
        #[arg(long, value_name = "UNIX", conflicts_with = "in")]
        at: Option<i64>,
        /// After this long from now: seconds, or a number with s, m, h or
        /// d (e.g. 30m).
        #[arg(long = "in", value_name = "DURATION")]
        r#in: Option<String>,
    },
    /// Remove the selected entries without telling the sender.
    Drop(Select),
    /// Give up on the selected entries now: the sender gets a failure DSN.
    Fail(Select),
    /// Print the message of an entry as it would be sent (prefix + file).
    Dump {
        /// The entry.
        #[arg(long, value_name = "N")]
        id: u64,
    },
}

/// A duration: plain seconds, or a number followed by s, m, h or d.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 's'),
    };
    let n: i64 = num.parse().ok().filter(|n: &i64| *n >= 0).ok_or_else(|| {
        format!("duration {s:?}: expected a number, optionally followed by s, m, h or d")
    })?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(format!("duration {s:?}: unit must be s, m, h or d")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("duration {s:?} is too large"))
}

impl Select {
    fn filter(&self, verb: &str) -> Result<Filter, String> {
        if self.ids.is_empty() && self.domain.is_none() && !self.all {
            return Err(format!(
                "{verb}: select entries with --id N or --domain DOMAIN, or --all for every entry"
            ));
        }
        Ok(Filter {
            ids: self.ids.clone(),
            domain: self.domain.clone(),
            hold: None,
        })
    }
}

/// Runs `moxide queue …`; returns what to write to standard output, or an
/// error message for the user. With `--config` the running server does it
/// when its control socket answers.
pub fn run(args: QueueArgs) -> Result<Vec<u8>, String> {
    let queue = match args.config {
        Some(path) => {
            let cfg = moxide_engine::config::load(&path).map_err(|e| e.to_string())?;
            let req = crate::ctl::Request::Queue(args.command.clone());
            if let Some(outcome) = crate::ctl::request(&cfg.data_dir, &req) {
                return outcome;
            }
            let store = crate::serve_cmd::open_store(&cfg.data_dir)
                .map_err(|e| e.replace("another moxide", "`moxide serve`"))?;
            Queue::new(Arc::new(store), QueueConfig::new(&cfg.hostname))
                .map_err(|e| e.to_string())?
        }
        None => {
            let dir = match args.dir {
                Some(d) => d,
                None => localserve::default_dir()?,
            };
            let req = crate::ctl::Request::Queue(args.command.clone());
            if dir.is_dir()
                && let Some(outcome) = crate::ctl::request(&localserve::data_dir(&dir), &req)
            {
                return outcome;
            }
            open_localserve(dir)?
        }
    };
    execute(&queue, args.command, unix_now())
}

/// Runs one queue command at `now` (unix seconds) and makes its changes
/// durable; returns what `moxide queue` prints on standard output, or the
/// error message. The CLI and the control socket both call this.
pub fn execute(queue: &Queue, command: QueueCommand, now: i64) -> Result<Vec<u8>, String> {
    let err = |e: QueueError| e.to_string();
    let out = match command {
        QueueCommand::List {
            ids,
            domain,
            held,
            not_held,
        } => {
            let f = Filter {
                ids,
                domain,
                hold: match (held, not_held) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
            };
            let filtered = f != Filter::default();
            let entries = queue.list(&f).map_err(err)?;
            listing::format_list(queue.store(), &entries, filtered).map_err(|e| e.to_string())?
        }
        QueueCommand::Hold(s) => {
            listing::summary("held", &queue.hold(&s.filter("hold")?).map_err(err)?)
        }
        QueueCommand::Unhold(s) => listing::summary(
            "released",
            &queue.unhold(&s.filter("unhold")?).map_err(err)?,
        ),
        QueueCommand::Schedule { select, at, r#in } => {
            let at = match (at, r#in) {
                (Some(t), _) => t,
                (None, Some(d)) => now.saturating_add(parse_duration(&d)?),
                (None, None) => now,
            };
            let changed = queue
                .schedule(&select.filter("schedule")?, at)
                .map_err(err)?;
            listing::summary(
                &format!(
                    "next attempt at {} for",
                    moxide_engine::smtp::rfc5322_date(at)
                ),
                &changed,
            )
        }
        QueueCommand::Drop(s) => listing::summary(
            "dropped",
            &queue.drop_entries(&s.filter("drop")?).map_err(err)?,
        ),
        QueueCommand::Fail(s) => listing::summary(
            "failed (DSN to the sender)",
            &queue.fail(now, &s.filter("fail")?).map_err(err)?,
        ),
        QueueCommand::Dump { id } => {
            let found = queue
                .list(&Filter {
                    ids: vec![id],
                    ..Filter::default()
                })
                .map_err(err)?;
            let Some(e) = found.first() else {
                return Err(err(QueueError::NotFound(id)));
            };
            if !queue
                .store()
                .queue_file_exists(e)
                .map_err(|e| e.to_string())?
            {
                return Err(format!(
                    "message file queue/{} of entry {id} is missing: the message cannot be shown or delivered; `moxide queue fail --id {id}` or `drop --id {id}`",
                    e.file_id
                ));
            }
            return queue.dump(id).map_err(err);
        }
    };
    queue
        .store()
        .persist()
        .map_err(|e| format!("writing the store to disk: {e}"))?;
    Ok(out.into_bytes())
}

/// The queue of the localserve directory (DSNs from "localhost").
fn open_localserve(dir: PathBuf) -> Result<Queue, String> {
    if !dir.is_dir() {
        return Err(format!(
            "{}: no such directory (start `moxide localserve --dir {}` once to create it)",
            dir.display(),
            dir.display()
        ));
    }
    let (store, _) = localserve::open_store(&dir).map_err(|e| {
        if e.to_ascii_lowercase().contains("lock") {
            format!("{e} (is moxide running with this directory? stop it first)")
        } else {
            e
        }
    })?;
    Queue::new(Arc::new(store), QueueConfig::new("localhost")).map_err(|e| e.to_string())
}

/// The current time in unix seconds.
pub fn unix_now() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("30m"), Ok(1800));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1d"), Ok(86_400));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("99999999999999999d").is_err());
    }

    #[test]
    fn mutating_commands_need_a_selection() {
        assert_eq!(
            Select::default().filter("drop").unwrap_err(),
            "drop: select entries with --id N or --domain DOMAIN, or --all for every entry"
        );
        let all = Select {
            all: true,
            ..Select::default()
        };
        assert_eq!(all.filter("drop").unwrap(), Filter::default());
    }
}
