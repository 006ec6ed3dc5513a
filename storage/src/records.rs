//! Stored records and the public value types built on them. Records are
//! encoded with postcard (varints, no field names) to keep metadata small.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

/// Encode a record.
pub(crate) fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_stdvec(v).map_err(|e| StoreError::corrupt(format!("cannot encode record: {e}")))
}

/// Decode a record; `what` names the key for the error message.
pub(crate) fn decode<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    what: impl FnOnce() -> String,
) -> Result<T> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::corrupt(format!("{}: {e}", what())))
}

/// IMAP system flags as a bit set. `\Recent` is not stored (IMAP4rev2 dropped it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Flags(pub u8);

impl Flags {
    /// `\Seen`
    pub const SEEN: Flags = Flags(1);
    /// `\Answered`
    pub const ANSWERED: Flags = Flags(2);
    /// `\Flagged`
    pub const FLAGGED: Flags = Flags(4);
    /// `\Deleted`
    pub const DELETED: Flags = Flags(8);
    /// `\Draft`
    pub const DRAFT: Flags = Flags(16);
    /// No flags.
    pub const NONE: Flags = Flags(0);
    const ALL: u8 = 31;

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
    /// Only the defined flag bits.
    #[must_use]
    pub fn valid(self) -> Flags {
        Flags(self.0 & Self::ALL)
    }
    /// Union.
    #[must_use]
    pub fn with(self, other: Flags) -> Flags {
        Flags((self.0 | other.0) & Self::ALL)
    }
    /// Difference.
    #[must_use]
    pub fn without(self, other: Flags) -> Flags {
        Flags(self.0 & !other.0)
    }
    /// The IMAP names of the set flags, in a fixed order.
    pub fn names(self) -> Vec<&'static str> {
        [
            (Self::SEEN, "\\Seen"),
            (Self::ANSWERED, "\\Answered"),
            (Self::FLAGGED, "\\Flagged"),
            (Self::DELETED, "\\Deleted"),
            (Self::DRAFT, "\\Draft"),
        ]
        .into_iter()
        .filter(|(f, _)| self.contains(*f))
        .map(|(_, n)| n)
        .collect()
    }
}

/// Special-use attributes of a mailbox (RFC 6154 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SpecialUse(pub u8);

impl SpecialUse {
    /// No special use.
    pub const NONE: SpecialUse = SpecialUse(0);
    /// `\Archive`
    pub const ARCHIVE: SpecialUse = SpecialUse(1);
    /// `\Drafts`
    pub const DRAFTS: SpecialUse = SpecialUse(2);
    /// `\Junk`
    pub const JUNK: SpecialUse = SpecialUse(4);
    /// `\Sent`
    pub const SENT: SpecialUse = SpecialUse(8);
    /// `\Trash`
    pub const TRASH: SpecialUse = SpecialUse(16);

    /// Whether every attribute of `other` is set.
    pub fn contains(self, other: SpecialUse) -> bool {
        self.0 & other.0 == other.0
    }
}

/// Message counts of a mailbox, kept up to date in every commit (as mox).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxCounts {
    /// Messages without `\Deleted`.
    pub total: u64,
    /// Messages with `\Deleted`. IMAP EXISTS = total + deleted.
    pub deleted: u64,
    /// Messages without `\Seen` and without `\Deleted`.
    pub unread: u64,
    /// Messages without `\Seen`, `\Deleted` or not (IMAP STATUS UNSEEN).
    pub unseen: u64,
    /// Sum of message sizes in bytes.
    pub size: u64,
}

impl MailboxCounts {
    /// Counts contributed by one live message.
    pub fn of(flags: Flags, size: u64) -> MailboxCounts {
        let deleted = flags.contains(Flags::DELETED);
        let seen = flags.contains(Flags::SEEN);
        MailboxCounts {
            total: u64::from(!deleted),
            deleted: u64::from(deleted),
            unread: u64::from(!seen && !deleted),
            unseen: u64::from(!seen),
            size,
        }
    }
    /// Add one message's counts.
    pub(crate) fn add(&mut self, o: MailboxCounts) {
        self.total = self.total.saturating_add(o.total);
        self.deleted = self.deleted.saturating_add(o.deleted);
        self.unread = self.unread.saturating_add(o.unread);
        self.unseen = self.unseen.saturating_add(o.unseen);
        self.size = self.size.saturating_add(o.size);
    }
    /// Remove one message's counts.
    pub(crate) fn sub(&mut self, o: MailboxCounts) {
        self.total = self.total.saturating_sub(o.total);
        self.deleted = self.deleted.saturating_sub(o.deleted);
        self.unread = self.unread.saturating_sub(o.unread);
        self.unseen = self.unseen.saturating_sub(o.unseen);
        self.size = self.size.saturating_sub(o.size);
    }
    /// Number of messages IMAP reports (EXISTS).
    pub fn exists(&self) -> u64 {
        self.total.saturating_add(self.deleted)
    }
}

/// Account settings (`meta` key `A`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct AccountRecord {
    pub id: u32,
    pub addresses: Vec<String>,
    /// Encoded `PasswordSecrets`; never a plaintext password.
    pub secrets: Option<Vec<u8>>,
    /// 0 = store default, negative = unlimited, positive = limit in bytes.
    pub quota: i64,
}

/// Per-account counters (`meta` key `S`), rewritten by every commit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccountState {
    /// Highest modseq handed out. Starts at 1, so the first change gets 2 (as mox).
    pub modseq: u64,
    pub next_msg_id: u64,
    pub next_uidvalidity: u32,
    pub next_mailbox_id: u32,
    /// Sum of sizes of live messages, for quota.
    pub disk_usage: u64,
}

/// A mailbox. Deleted mailboxes keep their record (with `deleted`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mailbox {
    /// Mailbox id, unique in the account, never reused.
    #[serde(skip)]
    pub id: u32,
    /// Normalised name (see [`crate::mailbox_name`]).
    pub name: String,
    /// Special-use attributes.
    pub special_use: SpecialUse,
    /// Whether the mailbox is subscribed (IMAP LSUB/LIST SUBSCRIBED).
    pub subscribed: bool,
    /// UIDVALIDITY; a new, never used value whenever a name is (re)created.
    pub uidvalidity: u32,
    /// UIDNEXT: above every UID ever used in the mailbox.
    pub uidnext: u32,
    /// Highest modseq of any change to the mailbox or its messages.
    pub modseq: u64,
    /// Modseq at which the mailbox was created.
    pub createseq: u64,
    /// Set once the mailbox is deleted (record kept).
    pub deleted: bool,
    /// Keywords used by messages in the mailbox (lower case), sorted.
    pub keywords: Vec<String>,
    /// Message counts.
    pub counts: MailboxCounts,
}

/// A message record in a mailbox; an expunged one is a tombstone that keeps
/// UID and modseq for QRESYNC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Mailbox id.
    #[serde(skip)]
    pub mailbox: u32,
    /// UID in the mailbox.
    #[serde(skip)]
    pub uid: u32,
    /// Message identity: names the file and the content record. MOVE keeps it.
    pub msg_id: u64,
    /// Modseq of the last change.
    pub modseq: u64,
    /// Modseq at which the message was added to this mailbox.
    pub createseq: u64,
    /// Tombstone marker.
    pub expunged: bool,
    /// System flags.
    pub flags: Flags,
    /// Keywords, lower case, sorted, without duplicates.
    pub keywords: Vec<String>,
    /// INTERNALDATE, unix seconds.
    pub received: i64,
    /// Time zone offset of INTERNALDATE in minutes east of UTC.
    pub received_tz: i16,
    /// When the message was stored, unix seconds.
    pub saved: i64,
    /// Size in bytes: prefix + file.
    pub size: u64,
}

/// What a message's identity carries besides the file (`content` keyspace).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ContentRecord {
    /// Header lines held in the database, prepended to the file when read.
    pub prefix: Vec<u8>,
    /// Normalised Message-ID, empty if none.
    pub message_id: String,
    /// Encoded `MessageStructure`.
    pub structure: Vec<u8>,
}

/// Normalise a Message-ID for the index: angle brackets and surrounding
/// space removed, NUL not allowed, at most 998 bytes (RFC 5322 2.1.1).
pub fn normalize_message_id(s: &str) -> Option<String> {
    let t = s.trim();
    let t = t.strip_prefix('<').unwrap_or(t);
    let t = t.strip_suffix('>').unwrap_or(t).trim();
    if t.is_empty() || t.len() > 998 || t.contains('\0') {
        return None;
    }
    Some(t.to_string())
}
