//! Key layout. All integers are big-endian so keys sort numerically and
//! every query is a prefix or range scan, never a full scan.
//!
//! Keyspace `meta` (small records, one tag byte first):
//! - `V` → schema version (u32)
//! - `U` version(u32) → progress of a background upgrade step still running
//! - `I` → next account id (u32)
//! - `A` account-name → [`crate::records::AccountRecord`]
//! - `S` acct(u32) → [`crate::records::AccountState`] (counters)
//! - `@` address → account name
//! - `M` acct mailbox(u32) → [`crate::records::MailboxRecord`] (also deleted ones)
//! - `N` acct name → mailbox id (live mailboxes only)
//! - `E` acct msgid(u64) → modseq of the expunge (file waiting for erasure)
//! - `B` acct name → `` (subscriptions; may name mailboxes that do not exist)
//! - `e` acct msgid(u64) → envelope record (see `crate::envelope`)
//! - `F` acct mailbox(u32) chunk(u32) → flags of 64 message records (see
//!   `crate::flags_index`)
//! - `K` fingerprint → [`crate::tlspubkey::TlsPubKey`] (TLS client keys)
//! - `k` account-name NUL fingerprint → `` (TLS client keys per account)
//! - `L` account-name NUL unix(u64) seq(u32) → [`crate::login_attempts::LoginAttempt`]
//! - `Q` queue-id(u64) → [`crate::queue::QueueEntry`] (outgoing queue)
//! - `q` file-id(u64) queue-id(u64) → `` (entries naming a queue file)
//! - `J` → next queue id (u64)
//! - `X` acct(u32) → login-disabled message (see `crate::login_disabled`)
//! - `G` → never stored: [`crate::Store::shrink_idle`] writes tombstones
//!   for it to make fjall collect flushed memtables
//!
//! Keyspace `msgs`: acct mailbox uid(u32) → [`crate::records::MessageRecord`]
//! (tombstones included). Keyspace `modseq`: acct mailbox modseq(u64) uid → ``
//! (one entry per message record, for CONDSTORE/QRESYNC). Keyspace `content`:
//! acct msgid(u64) → [`crate::records::ContentRecord`]. Keyspace `msgid`:
//! acct Message-ID 0x00 mailbox uid → `` (live messages).

pub(crate) const TAG_VERSION: u8 = b'V';
pub(crate) const TAG_UPGRADE: u8 = b'U';
pub(crate) const TAG_NEXT_ACCOUNT: u8 = b'I';
pub(crate) const TAG_ACCOUNT: u8 = b'A';
pub(crate) const TAG_STATE: u8 = b'S';
pub(crate) const TAG_ADDRESS: u8 = b'@';
pub(crate) const TAG_MAILBOX: u8 = b'M';
pub(crate) const TAG_NAME: u8 = b'N';
pub(crate) const TAG_ERASE: u8 = b'E';
pub(crate) const TAG_SUBSCRIPTION: u8 = b'B';
pub(crate) const TAG_TLS_PUBKEY: u8 = b'K';
pub(crate) const TAG_TLS_PUBKEY_INDEX: u8 = b'k';
pub(crate) const TAG_LOGIN_ATTEMPT: u8 = b'L';
pub(crate) const TAG_QUEUE: u8 = b'Q';
pub(crate) const TAG_QUEUE_FILE: u8 = b'q';
pub(crate) const TAG_QUEUE_NEXT: u8 = b'J';
pub(crate) const TAG_IDLE_GC: u8 = b'G';

fn tagged(tag: u8, rest: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + rest.iter().map(|p| p.len()).sum::<usize>());
    k.push(tag);
    for p in rest {
        k.extend_from_slice(p);
    }
    k
}

pub(crate) fn idle_gc() -> Vec<u8> {
    vec![TAG_IDLE_GC]
}
pub(crate) fn version() -> Vec<u8> {
    vec![TAG_VERSION]
}
pub(crate) fn upgrade(version: u32) -> Vec<u8> {
    tagged(TAG_UPGRADE, &[&version.to_be_bytes()])
}
pub(crate) fn next_account() -> Vec<u8> {
    vec![TAG_NEXT_ACCOUNT]
}
pub(crate) fn account(name: &str) -> Vec<u8> {
    tagged(TAG_ACCOUNT, &[name.as_bytes()])
}
pub(crate) fn state(acct: u32) -> Vec<u8> {
    tagged(TAG_STATE, &[&acct.to_be_bytes()])
}
pub(crate) fn address(addr: &str) -> Vec<u8> {
    tagged(TAG_ADDRESS, &[addr.as_bytes()])
}
pub(crate) fn mailbox(acct: u32, mb: u32) -> Vec<u8> {
    tagged(TAG_MAILBOX, &[&acct.to_be_bytes(), &mb.to_be_bytes()])
}
pub(crate) fn mailbox_prefix(acct: u32) -> Vec<u8> {
    tagged(TAG_MAILBOX, &[&acct.to_be_bytes()])
}
pub(crate) fn name(acct: u32, name: &str) -> Vec<u8> {
    tagged(TAG_NAME, &[&acct.to_be_bytes(), name.as_bytes()])
}
pub(crate) fn name_prefix(acct: u32) -> Vec<u8> {
    tagged(TAG_NAME, &[&acct.to_be_bytes()])
}
pub(crate) fn erase(acct: u32, msgid: u64) -> Vec<u8> {
    tagged(TAG_ERASE, &[&acct.to_be_bytes(), &msgid.to_be_bytes()])
}
pub(crate) fn subscription(acct: u32, name: &str) -> Vec<u8> {
    tagged(TAG_SUBSCRIPTION, &[&acct.to_be_bytes(), name.as_bytes()])
}
pub(crate) fn subscription_prefix(acct: u32) -> Vec<u8> {
    tagged(TAG_SUBSCRIPTION, &[&acct.to_be_bytes()])
}
pub(crate) fn erase_prefix(acct: u32) -> Vec<u8> {
    tagged(TAG_ERASE, &[&acct.to_be_bytes()])
}
pub(crate) fn tls_pubkey(fingerprint: &str) -> Vec<u8> {
    tagged(TAG_TLS_PUBKEY, &[fingerprint.as_bytes()])
}
pub(crate) fn tls_pubkey_index_prefix(account: &str) -> Vec<u8> {
    tagged(TAG_TLS_PUBKEY_INDEX, &[account.as_bytes(), &[0]])
}
pub(crate) fn tls_pubkey_index(account: &str, fingerprint: &str) -> Vec<u8> {
    tagged(
        TAG_TLS_PUBKEY_INDEX,
        &[account.as_bytes(), &[0], fingerprint.as_bytes()],
    )
}
/// Account names have no control characters, so NUL ends the name.
pub(crate) fn login_attempt_prefix(account: &str) -> Vec<u8> {
    tagged(TAG_LOGIN_ATTEMPT, &[account.as_bytes(), &[0]])
}
pub(crate) fn login_attempt(account: &str, unix: u64, seq: u32) -> Vec<u8> {
    tagged(
        TAG_LOGIN_ATTEMPT,
        &[
            account.as_bytes(),
            &[0],
            &unix.to_be_bytes(),
            &seq.to_be_bytes(),
        ],
    )
}

/// Outgoing queue entry.
pub(crate) fn queue_entry(id: u64) -> Vec<u8> {
    tagged(TAG_QUEUE, &[&id.to_be_bytes()])
}
/// Index of the entries naming a queue file.
pub(crate) fn queue_file(file_id: u64, id: u64) -> Vec<u8> {
    tagged(TAG_QUEUE_FILE, &[&file_id.to_be_bytes(), &id.to_be_bytes()])
}
pub(crate) fn queue_file_prefix(file_id: u64) -> Vec<u8> {
    tagged(TAG_QUEUE_FILE, &[&file_id.to_be_bytes()])
}
pub(crate) fn queue_next() -> Vec<u8> {
    vec![TAG_QUEUE_NEXT]
}

/// `msgs` key.
pub(crate) fn msg(acct: u32, mb: u32, uid: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&acct.to_be_bytes());
    k[4..8].copy_from_slice(&mb.to_be_bytes());
    k[8..].copy_from_slice(&uid.to_be_bytes());
    k
}

/// Prefix of all `msgs`/`modseq` keys of one mailbox.
pub(crate) fn mailbox_msgs(acct: u32, mb: u32) -> [u8; 8] {
    let mut k = [0u8; 8];
    k[..4].copy_from_slice(&acct.to_be_bytes());
    k[4..].copy_from_slice(&mb.to_be_bytes());
    k
}

/// `modseq` index key.
pub(crate) fn modseq(acct: u32, mb: u32, modseq: u64, uid: u32) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&mailbox_msgs(acct, mb));
    k[8..16].copy_from_slice(&modseq.to_be_bytes());
    k[16..].copy_from_slice(&uid.to_be_bytes());
    k
}

/// `content` key.
pub(crate) fn content(acct: u32, msgid: u64) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..4].copy_from_slice(&acct.to_be_bytes());
    k[4..].copy_from_slice(&msgid.to_be_bytes());
    k
}

/// `msgid` index key; `message_id` must not contain NUL (see
/// [`crate::records::normalize_message_id`]).
pub(crate) fn message_id(acct: u32, message_id: &str, mb: u32, uid: u32) -> Vec<u8> {
    let mut k = message_id_prefix(acct, message_id);
    k.extend_from_slice(&mb.to_be_bytes());
    k.extend_from_slice(&uid.to_be_bytes());
    k
}

/// Prefix of the `msgid` keys for one Message-ID.
pub(crate) fn message_id_prefix(acct: u32, message_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(4 + message_id.len() + 9);
    k.extend_from_slice(&acct.to_be_bytes());
    k.extend_from_slice(message_id.as_bytes());
    k.push(0);
    k
}

/// Read a big-endian u32 at `at` of `key`.
pub(crate) fn be_u32(key: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = key.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// Read a big-endian u64 at `at` of `key`.
pub(crate) fn be_u64(key: &[u8], at: usize) -> Option<u64> {
    let b: [u8; 8] = key.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_be_bytes(b))
}
