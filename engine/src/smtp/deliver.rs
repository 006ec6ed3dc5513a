//! The message of a transaction: its buffer, the `Received` header stored
//! as the message prefix, and the durable delivery into each recipient's
//! Inbox.
//!
//! Every recipient account gets its own copy with its own `Received`
//! header (`for <address>`); all of them are committed before the session
//! sends `250` (the storage commit is durable when `deliver` returns).

use std::net::IpAddr;

use moxide_proto::smtp::Reply;
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
/// HELO, `ESMTP` for EHLO, `S` added for TLS and `A` for AUTH.
pub fn with_protocol(ehlo: bool, tls: bool, auth: bool) -> String {
    if !ehlo {
        return "SMTP".to_string();
    }
    let mut s = "ESMTP".to_string();
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

/// Stores one copy durably; returns the UID in its mailbox.
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
    let added = account.deliver(mailbox.id, &msg)?;
    Ok(added.uid)
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
            with: &with_protocol(true, true, false),
            id: "abc",
            date: "Tue, 02 Jan 2024 03:04:05 +0000",
        };
        assert_eq!(
            String::from_utf8(received_header(&info, "a@example")).unwrap(),
            "Received: from client.exampleX: y ([192.0.2.1])\r\n\tby mx.example with ESMTPS id abc\r\n\tfor <a@example>; Tue, 02 Jan 2024 03:04:05 +0000\r\n"
        );
        assert_eq!(with_protocol(false, true, true), "SMTP");
        assert_eq!(with_protocol(true, false, true), "ESMTPA");
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
