//! The one error type of moxide-storage.

use std::path::PathBuf;

/// Everything a storage operation can fail with. Each variant says what is
/// wrong; nothing half-written remains after any of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A mailbox name breaks the naming rules.
    #[error("invalid mailbox name {name:?}: {reason}")]
    InvalidMailboxName {
        /// The name as given.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A mailbox with this name already exists.
    #[error("mailbox {0:?} already exists")]
    MailboxExists(String),
    /// No mailbox with this name (or id) exists.
    #[error("no such mailbox {0:?}")]
    NoSuchMailbox(String),
    /// The operation is not allowed on this mailbox (for example deleting
    /// Inbox or a mailbox that has children).
    #[error("mailbox {name:?}: {reason}")]
    MailboxNotAllowed {
        /// The mailbox.
        name: String,
        /// Why the operation is refused.
        reason: &'static str,
    },
    /// An account name is not acceptable.
    #[error("invalid account name {name:?}: {reason}")]
    InvalidAccountName {
        /// The name as given.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// An account with this name already exists.
    #[error("account {0:?} already exists")]
    AccountExists(String),
    /// No account with this name exists.
    #[error("no such account {0:?}")]
    NoSuchAccount(String),
    /// An address is already assigned to another account.
    #[error("address {address:?} already belongs to account {account:?}")]
    AddressInUse {
        /// The address.
        address: String,
        /// The account that has it.
        account: String,
    },
    /// No message with this UID in the mailbox (or it is expunged).
    #[error("no message with uid {uid} in mailbox {mailbox:?}")]
    NoSuchMessage {
        /// The mailbox.
        mailbox: String,
        /// The UID asked for.
        uid: u32,
    },
    /// Adding `needed` bytes would take the account's disk usage over its limit.
    #[error("over quota: limit {limit} bytes, usage {usage} bytes, {needed} bytes more needed")]
    OverQuota {
        /// The account's limit in bytes.
        limit: u64,
        /// Current usage in bytes.
        usage: u64,
        /// Bytes the refused operation would add.
        needed: u64,
    },
    /// A keyword or flag argument is not acceptable.
    #[error("invalid keyword {keyword:?}: {reason}")]
    InvalidKeyword {
        /// The keyword.
        keyword: String,
        /// Why.
        reason: &'static str,
    },
    /// Stored data cannot be decoded or contradicts itself.
    #[error("corrupt storage: {what}")]
    Corrupt {
        /// What is damaged, with the key or file concerned.
        what: String,
    },
    /// The database was written by a newer moxide.
    #[error("database schema version {found} is newer than supported version {supported}")]
    SchemaTooNew {
        /// Version in the database.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// A file system operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done ("write", "fsync", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The fjall database reported an error.
    #[error("database: {0}")]
    Db(#[from] fjall::Error),
    /// A UID or counter would overflow its range.
    #[error("{0} exhausted")]
    Exhausted(&'static str),
    /// A TLS public key with this fingerprint is already registered.
    #[error("TLS public key {0:?} is already registered")]
    TlsPubKeyExists(String),
    /// A TLS public key's certificate is unusable or does not match it.
    #[error("invalid TLS public key: {reason}")]
    InvalidTlsPubKey {
        /// What is wrong.
        reason: String,
    },
    /// An address that should belong to an account does not.
    #[error("address {address:?} is not an address of account {account:?}")]
    AddressNotOfAccount {
        /// The address.
        address: String,
        /// The account.
        account: String,
    },
}

/// Result alias for storage operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Build an [`StoreError::Io`] for `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Build a [`StoreError::Corrupt`].
    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        StoreError::Corrupt { what: what.into() }
    }
}
