//! The message of a transaction: its buffer, the `Received` header stored
//! as the message prefix, and the durable delivery into each recipient's
//! Inbox.
//!
//! Every recipient account gets its own copy with its own `Received`
//! header (`for <address>`); all of them are committed before the session
//! sends `250` (the storage commit is durable when `deliver` returns).
//!
//! Deliveries to one account from concurrent sessions are stored by group
//! commits (see [`deliver`]).
//!
//! A message has one reply for all its recipients (after DATA, RFC 5321
//! 4.2.5 and 3.3), so [`deliver_all`] decides it for the whole message:
//! quotas are checked for every recipient before anything is stored (an
//! account over quota gives `452 4.2.2`, or `552 5.2.2` when the message
//! can never fit, and nothing is stored); when storing fails after some
//! copies were committed, the reply is `451 4.3.0`, so the sender retries
//! and those recipients get the message twice: only a `250` makes the
//! server responsible for the message (RFC 5321 6.1), and a duplicate is
//! a lesser harm than a loss (RFC 1047).

use std::net::IpAddr;

use moxide_proto::smtp::Reply;
use std::collections::BTreeMap;

use moxide_storage::{Flags, NewMessage, Store, StoreError};

/// The message bytes of the transaction in progress, bounded by the size
/// limit (the protocol core refuses larger messages; this is the second
/// line of defence).
#[derive(Debug, Default)]
pub struct MessageBuffer {
    data: Vec<u8>,
    limit: usize,
    overflow: bool,
}

impl MessageBuffer {
    /// An empty buffer holding at most `limit` bytes.
    pub fn new(limit: u64) -> MessageBuffer {
        MessageBuffer {
            data: Vec::new(),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            overflow: false,
        }
    }

    /// Appends a chunk; past the limit the buffer is marked as overflowed
    /// and keeps nothing more.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.overflow {
            return;
        }
        match self.data.len().checked_add(chunk.len()) {
            Some(n) if n <= self.limit => self.data.extend_from_slice(chunk),
            _ => {
                self.overflow = true;
                self.data = Vec::new();
            }
        }
    }

    /// True when more than the limit was pushed.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// The bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// Takes the bytes out.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.data)
    }
}

/// The `with` protocol name of the Received header (RFC 3848): `SMTP` for
/// HELO, `ESMTP` for EHLO, `UTF8SMTP` when MAIL had the SMTPUTF8
/// parameter (RFC 6531 3.7.3 and 4.3), `S` added for TLS and `A` for AUTH.
pub fn with_protocol(ehlo: bool, smtputf8: bool, tls: bool, auth: bool) -> String {
    if !ehlo {
        return "SMTP".to_string();
    }
    let mut s = if smtputf8 { "UTF8SMTP" } else { "ESMTP" }.to_string();
    if tls {
        s.push('S');
    }
    if auth {
        s.push('A');
    }
    s
}

/// What goes into the Received header.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedInfo<'a> {
    /// The client's EHLO/HELO name.
    pub helo: &'a str,
    /// The client's IP address.
    pub ip: IpAddr,
    /// Our host name.
    pub hostname: &'a str,
    /// [`with_protocol`].
    pub with: &'a str,
    /// A unique id of this delivery.
    pub id: &'a str,
    /// The RFC 5322 date of reception.
    pub date: &'a str,
}

/// The `Received` header line (RFC 5321 4.4), folded, ending in CRLF:
/// `Received: from helo ([ip])\r\n\tby host with ESMTPS id X\r\n\tfor
/// <rcpt>; date\r\n`.
pub fn received_header(info: &ReceivedInfo<'_>, rcpt: &str) -> Vec<u8> {
    // The client's text is ours to write safely: no line breaks.
    let clean = |s: &str| s.replace(['\r', '\n'], "");
    format!(
        "Received: from {} ([{}])\r\n\tby {} with {} id {}\r\n\tfor <{}>; {}\r\n",
        clean(info.helo),
        info.ip,
        clean(info.hostname),
        info.with,
        info.id,
        clean(rcpt),
        info.date
    )
    .into_bytes()
}

/// Why a delivery failed.
#[derive(Debug)]
pub enum DeliverError {
    /// The account's quota is exceeded.
    OverQuota {
        /// The message alone is larger than the limit (permanent).
        permanent: bool,
    },
    /// Any other storage error.
    Store(StoreError),
}

impl DeliverError {
    /// The reply at the end of DATA: `452 4.2.2` over quota, `552 5.2.2`
    /// when the message can never fit (RFC 3463 3.3), else `451 4.3.0`.
    pub fn reply(&self) -> Reply {
        match self {
            DeliverError::OverQuota { permanent: false } => {
                Reply::with(452, (4, 2, 2), "mailbox full, over quota")
            }
            DeliverError::OverQuota { permanent: true } => {
                Reply::with(552, (5, 2, 2), "message larger than the mailbox quota")
            }
            DeliverError::Store(e) => {
                tracing::error!(error = %e, "delivery");
                Reply::local_error("error storing the message, try again later")
            }
        }
    }
}

impl From<StoreError> for DeliverError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::OverQuota { limit, needed, .. } => DeliverError::OverQuota {
                permanent: needed > limit,
            },
            e => DeliverError::Store(e),
        }
    }
}

/// One copy to store.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The account.
    pub account: &'a str,
    /// The header lines stored as the prefix (Received, maybe
    /// Authentication-Results).
    pub prefix: &'a [u8],
    /// The message.
    pub data: &'a [u8],
    /// Into Junk instead of the Inbox (falls back to the Inbox when the
    /// account has no Junk mailbox).
    pub junk: bool,
    /// Unix seconds now (INTERNALDATE and save time).
    pub unix: i64,
}

/// Stores one copy durably; returns the UID in its mailbox. Concurrent
/// deliveries to one account share a group commit
/// ([`moxide_storage::Account::deliver_grouped`]): the call blocks until the
/// commit that holds this copy is durable, so the caller's thread must be
/// one that may block (the runtimes run session calls on their blocking
/// pools).
pub fn deliver(store: &Store, d: &Delivery<'_>) -> Result<u32, DeliverError> {
    let account = store.account(d.account)?;
    let mailbox = match d.junk {
        true => account
            .mailbox("Junk")
            .or_else(|_| account.mailbox("Inbox"))?,
        false => account.mailbox("Inbox")?,
    };
    let msg = NewMessage {
        data: d.data,
        prefix: d.prefix.to_vec(),
        flags: Flags::NONE,
        keywords: Vec::new(),
        received: d.unix,
        received_tz: 0,
        saved: d.unix,
    };
    let added = account.deliver_grouped(mailbox.id, &msg)?;
    Ok(added.uid)
}

/// Refuses, before anything is stored, a message that would take any
/// recipient account over its quota: the copies of one account are added
/// up (each with its own prefix). When several accounts are over quota the
/// error is temporary unless every one of them is permanent (its copies
/// together are larger than its limit, so they can never fit), so a
/// recipient that may get room later is not bounced for another's sake.
pub fn check_quotas(store: &Store, deliveries: &[Delivery<'_>]) -> Result<(), DeliverError> {
    let mut needed: BTreeMap<&str, u64> = BTreeMap::new();
    for d in deliveries {
        let size = (d.prefix.len() as u64).saturating_add(d.data.len() as u64);
        let n = needed.entry(d.account).or_insert(0);
        *n = n.saturating_add(size);
    }
    let mut worst: Option<bool> = None;
    for (name, n) in needed {
        let q = store.account(name)?.quota()?;
        let Some(limit) = q.limit else { continue };
        if q.usage.saturating_add(n) > limit {
            let permanent = n > limit;
            worst = Some(worst.map_or(permanent, |w| w && permanent));
        }
    }
    match worst {
        Some(permanent) => Err(DeliverError::OverQuota { permanent }),
        None => Ok(()),
    }
}

/// The reply when some copies were committed and a later one failed: the
/// whole message is retried (duplicates rather than a loss, RFC 1047).
pub fn partial_failure_reply() -> Reply {
    Reply::local_error("error storing the message for some recipients, try again later")
}

/// Stores every copy of one message, in order, with `store_one` (normally
/// [`deliver`]), after [`check_quotas`]. Returns the UIDs, or the reply for
/// the whole message: the first error's reply when nothing was committed
/// (delivery stops at the first failure), [`partial_failure_reply`] when
/// some copies were.
pub fn deliver_all(
    store: &Store,
    deliveries: &[Delivery<'_>],
    mut store_one: impl FnMut(&Store, &Delivery<'_>) -> Result<u32, DeliverError>,
) -> Result<Vec<u32>, Reply> {
    check_quotas(store, deliveries).map_err(|e| e.reply())?;
    let mut uids = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        match store_one(store, d) {
            Ok(uid) => uids.push(uid),
            Err(e) if uids.is_empty() => {
                tracing::warn!(account = %d.account, error = ?e, "smtp delivery failed, nothing stored");
                return Err(e.reply());
            }
            Err(e) => {
                tracing::error!(
                    account = %d.account,
                    error = ?e,
                    stored = uids.len(),
                    "smtp delivery failed after other copies were stored; 451 so the sender retries (duplicates rather than loss)"
                );
                return Err(partial_failure_reply());
            }
        }
    }
    Ok(uids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_limit() {
        let mut b = MessageBuffer::new(5);
        b.push(b"abc");
        b.push(b"de");
        assert_eq!(b.bytes(), b"abcde");
        assert!(!b.overflowed());
        b.push(b"f");
        assert!(b.overflowed());
        assert_eq!(b.bytes(), b"");
    }

    #[test]
    fn received() {
        let info = ReceivedInfo {
            helo: "client.example\r\nX: y",
            ip: "192.0.2.1".parse().unwrap(),
            hostname: "mx.example",
            with: &with_protocol(true, false, true, false),
            id: "abc",
            date: "Tue, 02 Jan 2024 03:04:05 +0000",
        };
        assert_eq!(
            String::from_utf8(received_header(&info, "a@example")).unwrap(),
            "Received: from client.exampleX: y ([192.0.2.1])\r\n\tby mx.example with ESMTPS id abc\r\n\tfor <a@example>; Tue, 02 Jan 2024 03:04:05 +0000\r\n"
        );
        assert_eq!(with_protocol(false, false, true, true), "SMTP");
        assert_eq!(with_protocol(true, false, false, true), "ESMTPA");
        assert_eq!(with_protocol(true, true, true, true), "UTF8SMTPSA");
        assert_eq!(with_protocol(true, true, false, false), "UTF8SMTP");
    }

    use moxide_storage::{NewAccount, StoreConfig};

    /// A store with accounts `a` (unlimited) and `b` (quota `b_quota`).
    fn two_accounts(b_quota: i64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        for (name, quota) in [("a", 0), ("b", b_quota)] {
            store
                .create_account(
                    name,
                    NewAccount {
                        addresses: vec![format!("{name}@example.org")],
                        quota,
                        ..NewAccount::default()
                    },
                )
                .unwrap();
        }
        (dir, store)
    }

    /// Every message of the account's Inbox: prefix + file.
    fn inbox(store: &Store, account: &str) -> Vec<Vec<u8>> {
        let acct = store.account(account).unwrap();
        let mb = acct.mailbox("Inbox").unwrap();
        acct.messages_in(mb.id, 1..=u32::MAX)
            .unwrap()
            .iter()
            .map(|m| acct.read_message(m).unwrap())
            .collect()
    }

    const MSG: &[u8] = b"Subject: hi\r\n\r\nhello\r\n";

    fn copy<'a>(account: &'a str, prefix: &'a [u8]) -> Delivery<'a> {
        Delivery {
            account,
            prefix,
            data: MSG,
            junk: false,
            unix: 1_704_164_645,
        }
    }

    /// Storing fails for the second of two accounts after the first copy
    /// was committed: the whole message gets 451 4.3.0 (the sender
    /// retries; `a` will have a duplicate, nothing is lost), and `a` keeps
    /// its copy.
    #[test]
    fn failure_after_a_commit_is_451_for_the_whole_message() {
        let (_dir, store) = two_accounts(0);
        let ds = [copy("a", b"X-To: a\r\n"), copy("b", b"X-To: b\r\n")];
        let r = deliver_all(&store, &ds, |s, d| {
            if d.account == "b" {
                Err(DeliverError::Store(StoreError::NoSuchMailbox(
                    "Inbox".into(),
                )))
            } else {
                deliver(s, d)
            }
        });
        assert_eq!(
            r.unwrap_err().to_bytes(),
            b"451 4.3.0 error storing the message for some recipients, try again later\r\n"
        );
        assert_eq!(
            inbox(&store, "a"),
            vec![b"X-To: a\r\nSubject: hi\r\n\r\nhello\r\n".to_vec()]
        );
        assert!(inbox(&store, "b").is_empty());
        assert!(store.check_consistency().unwrap().is_empty());
    }

    /// A failure for the first copy stops delivery: that error is the
    /// reply and nothing is stored for later recipients.
    #[test]
    fn failure_before_any_commit_stores_nothing() {
        let (_dir, store) = two_accounts(0);
        let ds = [copy("b", b""), copy("a", b"")];
        let r = deliver_all(&store, &ds, |s, d| {
            if d.account == "b" {
                Err(DeliverError::Store(StoreError::NoSuchMailbox(
                    "Inbox".into(),
                )))
            } else {
                deliver(s, d)
            }
        });
        assert_eq!(
            r.unwrap_err().to_bytes(),
            b"451 4.3.0 error storing the message, try again later\r\n"
        );
        assert!(inbox(&store, "a").is_empty());
        assert!(inbox(&store, "b").is_empty());
    }

    /// Quotas are checked for every recipient before any copy is stored:
    /// `b` over quota gives the reply for the whole message and `a`, first
    /// in line, gets nothing either.
    #[test]
    fn quota_checked_for_every_recipient_first() {
        // The message alone (22 bytes) is larger than b's quota.
        let (_dir, store) = two_accounts(20);
        let ds = [copy("a", b""), copy("b", b"")];
        let r = deliver_all(&store, &ds, deliver);
        assert_eq!(
            r.unwrap_err().to_bytes(),
            b"552 5.2.2 message larger than the mailbox quota\r\n"
        );
        assert!(inbox(&store, "a").is_empty());

        // Room for one copy in b, not two: temporary.
        let (_dir, store) = two_accounts(30);
        assert_eq!(deliver_all(&store, &[copy("b", b"")], deliver), Ok(vec![1]));
        let r = deliver_all(&store, &ds, deliver);
        assert_eq!(
            r.unwrap_err().to_bytes(),
            b"452 4.2.2 mailbox full, over quota\r\n"
        );
        assert!(inbox(&store, "a").is_empty());
        assert_eq!(inbox(&store, "b").len(), 1);

        // Two copies for one account count twice: together they can never
        // fit, so the error is permanent.
        let (_dir, store) = two_accounts(40);
        let r = deliver_all(&store, &[copy("b", b""), copy("b", b"")], deliver);
        assert_eq!(r.unwrap_err().code, 552);
        assert!(inbox(&store, "b").is_empty());

        // Both fit: both stored, UIDs in order.
        let (_dir, store) = two_accounts(30);
        assert_eq!(deliver_all(&store, &ds, deliver), Ok(vec![1, 1]));
        assert_eq!(inbox(&store, "a"), vec![MSG.to_vec()]);
        assert_eq!(inbox(&store, "b"), vec![MSG.to_vec()]);
    }

    /// Sessions on 6 threads deliver 20 messages each (one of every
    /// four to both accounts) at once, as the runtimes' blocking pools do:
    /// every copy lands once, with the UID its session got, UIDs dense,
    /// and the store stays consistent.
    #[test]
    fn concurrent_sessions_deliver_every_copy_once() {
        let (_dir, store) = two_accounts(0);
        let results: Vec<(String, Vec<u32>)> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..6)
                .map(|t| {
                    let store = &store;
                    s.spawn(move || {
                        (0..20)
                            .map(|i| {
                                let body = format!("Subject: {t}-{i}\r\n\r\nhello\r\n");
                                let prefix = format!("X-Id: {t}-{i}\r\n");
                                let mut ds = vec![Delivery {
                                    account: "a",
                                    prefix: prefix.as_bytes(),
                                    data: body.as_bytes(),
                                    junk: false,
                                    unix: 1_704_164_645,
                                }];
                                if i % 4 == 0 {
                                    ds.push(Delivery {
                                        account: "b",
                                        ..ds[0]
                                    });
                                }
                                let uids = deliver_all(store, &ds, deliver).unwrap();
                                (format!("{t}-{i}"), uids)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        for (n, account) in ["a", "b"].into_iter().enumerate() {
            let stored = inbox(&store, account);
            let mut want: Vec<(u32, String)> = results
                .iter()
                .filter_map(|(id, uids)| uids.get(n).map(|u| (*u, id.clone())))
                .collect();
            want.sort();
            assert_eq!(stored.len(), want.len());
            assert_eq!(
                want.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
                (1..=want.len() as u32).collect::<Vec<_>>()
            );
            for (msg, (_, id)) in stored.iter().zip(&want) {
                assert_eq!(
                    msg,
                    &format!("X-Id: {id}\r\nSubject: {id}\r\n\r\nhello\r\n").into_bytes()
                );
            }
        }
        assert_eq!(inbox(&store, "a").len(), 120);
        assert_eq!(inbox(&store, "b").len(), 30);
        assert_eq!(store.check_consistency().unwrap(), Vec::<String>::new());
    }

    #[test]
    fn quota_replies() {
        let e = DeliverError::from(StoreError::OverQuota {
            limit: 10,
            usage: 5,
            needed: 6,
        });
        assert_eq!(
            e.reply().to_bytes(),
            b"452 4.2.2 mailbox full, over quota\r\n"
        );
        let e = DeliverError::from(StoreError::OverQuota {
            limit: 10,
            usage: 0,
            needed: 11,
        });
        assert_eq!(
            e.reply().to_bytes(),
            b"552 5.2.2 message larger than the mailbox quota\r\n"
        );
    }
}
