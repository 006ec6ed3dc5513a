//! moxide storage: accounts, mailboxes and messages on fjall, message bodies
//! in immutable files, a changes feed, quota and a consistency check.
//!
//! Everything above (IMAP, SMTP, webmail, tools) goes through this API.
//! Every mutating call is one atomic fjall batch committed with
//! `PersistMode::SyncAll` before it returns; message files are written and
//! fsynced (with their directory) before the batch that references them.
//!
//! # Use from an IMAP session
//!
//! - Open: [`Store::open`] once per process, [`Store::account`] per login;
//!   [`Account::password_secrets`] for SCRAM/CRAM-MD5.
//! - LIST/STATUS: [`Account::mailboxes`] (names, special use, subscribed,
//!   [`MailboxCounts`], uidvalidity, uidnext, modseq).
//! - SELECT: [`Account::mailbox`], [`Account::uids`] (live UIDs ascending),
//!   [`Account::highest_modseq`]; then [`Account::subscribe`] for IDLE and
//!   unsolicited updates, polled with [`ChangeReader::poll`].
//! - FETCH: [`Account::messages_in`] by UID range, [`Account::structure`]
//!   (ENVELOPE/BODYSTRUCTURE without reparsing), [`Account::read_message`] /
//!   [`Account::read_range`] for BODY[] and partials.
//!   Large FETCHes stream records in UID order with [`Account::scan_records`]
//!   or, for FLAGS/MODSEQ only, [`Account::scan_flags`]; ENVELOPE comes
//!   pre-encoded from [`Account::write_envelope`].
//! - STORE: [`Account::store_flags`] with UNCHANGEDSINCE; the refused UIDs
//!   come back in [`StoreOutcome::modified`].
//! - EXPUNGE / UID EXPUNGE / CLOSE: [`Account::expunge`] with [`ExpungeSet`].
//! - COPY / MOVE: [`Account::copy`], [`Account::move_messages`] return
//!   (source uid → destination uid) pairs for COPYUID.
//! - REPLACE: [`Account::replace`] adds and expunges in one commit.
//! - APPEND / delivery: [`Account::deliver`] returns (uidvalidity, uid);
//!   [`Account::import`] for bulk import with one group commit;
//!   [`Account::deliver_grouped`] for concurrent deliveries (SMTP), which
//!   are committed together while a commit is in progress.
//! - CONDSTORE/QRESYNC: [`Account::changed_since`], [`Account::vanished_since`].
//! - QUOTA: [`Account::quota`].
//! - Mailboxes: [`Account::create_mailbox`], [`Account::rename_mailbox`],
//!   [`Account::delete_mailbox`], [`Account::set_subscribed`],
//!   [`Account::set_special_use`]; names follow [`mailbox_name::normalize`].
//! - Verification: [`Store::check_consistency`].
//!
//! Files of expunged messages stay until every open [`ChangeReader`] of the
//! account has polled past the expunge, so a session can still fetch what it
//! has not yet been told is gone.
//!
//! # Model and layout
//!
//! One fjall database for the whole data directory (`<dir>/db`), accounts
//! are key prefixes (see the `keys` module for the layout); message files at
//! `<dir>/accounts/<account id>/msg/<id / 8192>/<id>`. Each account has a
//! modseq counter (the first change gets 2), UIDVALIDITY counter, message-id
//! counter and disk usage, all rewritten by every commit. Messages are
//! records keyed by (account, mailbox, uid); expunged ones stay as
//! tombstones (uid, modseq) for QRESYNC. A message's identity (`msg_id`)
//! names its file and its content record (prefix, Message-ID, encoded
//! [`MessageStructure`]); MOVE keeps it, COPY makes a new one (hard link).
//!
//! # Concurrency and durability
//!
//! [`Store`], [`Account`] and [`ChangeReader`] are `Send + Sync`. Writers of
//! one account are serialised by a mutex; readers never block and see
//! committed data. Each mutating call returns only after its batch is
//! durable; if it fails, nothing of it remains (files it wrote are removed).
//! After a crash, files written for a commit that did not happen are removed
//! when the account is first opened. Times are arguments (unix seconds).
//!
//! Opening the [`Store`] replays fjall's active journal (up to 64 MB; fjall
//! rotates it only then), so process start takes longer with a long write
//! history; opening an account afterwards is a few key lookups.
//!
//! ```
//! use moxide_storage::{NewAccount, NewMessage, Store, StoreConfig};
//! let dir = tempfile::tempdir()?;
//! let store = Store::open(dir.path(), StoreConfig::default())?;
//! let acct = store.create_account("mjl", NewAccount::default())?;
//! let inbox = acct.mailbox("INBOX")?;
//! let msg = b"Subject: hi\r\nMessage-ID: <1@example.org>\r\n\r\nhello\r\n";
//! let added = acct.deliver(inbox.id, &NewMessage { data: msg, received: 1_700_000_000, ..Default::default() })?;
//! assert_eq!((added.uidvalidity, added.uid), (inbox.uidvalidity, 1));
//! let m = acct.message(inbox.id, added.uid)?;
//! assert_eq!(acct.read_message(&m)?, msg.to_vec());
//! assert_eq!(acct.structure(&m)?.message_id(), Some("1@example.org"));
//! assert!(store.check_consistency()?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod account;
mod account_remove;
mod backup;
mod changes;
mod consistency;
mod envelope;
mod error;
mod expunge;
mod fetch_scan;
mod files;
mod flags;
mod flags_index;
mod group_commit;
mod idle;
mod keys;
mod login_attempts;
mod login_disabled;
mod mailbox;
pub mod mailbox_name;
mod message;
mod mtasts_cache;
mod query;
mod queue;
mod queue_files;
mod quota;
mod records;
mod scan;
mod server_secret;
mod store;
mod sync_workers;
mod tls_results;
mod tlspubkey;
mod txn;
mod uid_scan;
pub mod upgrade;
mod verify;

pub use account::{Account, AccountSettings, NewAccount};
pub use backup::BackupReport;
pub use changes::{Change, ChangeReader, Notify};
pub use error::{Result, StoreError};
pub use expunge::ExpungeSet;
pub use fetch_scan::{EnvelopeView, FetchView};
pub use flags::{FlagOp, StoreOutcome, normalize_keywords};
pub use idle::{IdleTrigger, ShrinkReport};
pub use login_attempts::{LoginAttempt, MAX_ATTEMPT_AGE_SECS, MAX_ATTEMPTS_PER_ACCOUNT};
pub use message::{Added, Copied, NewMessage, Replaced};
pub use mtasts_cache::MtastsCacheEntry;
pub use query::MessageContent;
pub use queue::{
    NewQueueEntry, QueueBody, QueueChange, QueueEntry, QueueFilter, QueueId, QueueRecipient,
    RcptState, canonical_domain,
};
pub use quota::Quota;
pub use records::{Flags, Mailbox, MailboxCounts, Message, SpecialUse, normalize_message_id};
pub use scan::FlagsView;
pub use server_secret::SERVER_SECRET_LEN;
pub use store::{Store, StoreConfig};
pub use sync_workers::fsync_workers_started;
pub use tls_results::{
    MAX_FAILURE_DETAILS, TlsDayResults, TlsFailureDetail, TlsPolicyDescription, TlsPolicyResult,
    TlsPolicyType, TlsResultUpdate, utc_day,
};
pub use tlspubkey::TlsPubKey;
pub use verify::VerifyReport;

pub use moxide_proto::message::MessageStructure;
pub use moxide_proto::sasl::secrets::PasswordSecrets;
