//! Submission (RFC 6409): who may send what.
//!
//! - AUTH: the authentication identity is an account name or one of its
//!   addresses; secrets come from the store ([`find_account`]).
//! - The envelope sender (unless `<>`) and the single address of the
//!   `From` header must be addresses of the authenticated account
//!   (RFC 6409 8.1 lets the MSA enforce this; mox does), else
//!   `550 5.7.1`.
//! - `Message-ID` and `Date` are added when missing (RFC 6409 8.2, 8.3).
//! - With an outgoing queue ([`super::Outgoing::Queue`]), recipients that
//!   are not local go into the queue and local ones are delivered, all
//!   before the one reply ([`queue_and_deliver`]).

use moxide_proto::message::address::parse_address_list;
use moxide_proto::message::header::HeaderBlock;
use moxide_proto::smtp::Reply;
use moxide_storage::{Account, Store, StoreError};

use super::deliver::{self, Delivery, ReceivedInfo};
use crate::queue::{NewOutgoing, Queue, QueueId};

/// The account an authentication identity names: an account name, or an
/// address of one.
pub fn find_account(store: &Store, username: &str) -> Result<Option<Account>, StoreError> {
    let name = if username.contains('@') {
        match store.account_for_address(username)? {
            Some(n) => n,
            None => return Ok(None),
        }
    } else {
        username.to_string()
    };
    match store.account(&name) {
        Ok(a) => Ok(Some(a)),
        Err(StoreError::NoSuchAccount(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The reply when an address is not the account's.
fn not_yours(what: &str) -> Reply {
    Reply::with(
        550,
        (5, 7, 1),
        format!("{what} address not allowed for the authenticated account"),
    )
}

/// Checks the envelope sender of a submitted message: `<>` or an address
/// of the account (`addresses` in canonical form, as the store keeps
/// them; the sender's domain may be in U-labels or A-labels).
pub fn check_mail_from(mail_from: Option<&str>, addresses: &[String]) -> Result<(), Reply> {
    match mail_from {
        None => Ok(()),
        Some(a) if addresses.contains(&moxide_proto::dns::address_to_ascii(a)) => Ok(()),
        Some(_) => Err(not_yours("MAIL FROM")),
    }
}

/// Checks the `From` header: exactly one address (RFC 5322 3.6.2), and it
/// is one of the account's.
pub fn check_from_header(message: &[u8], addresses: &[String]) -> Result<(), Reply> {
    let header = HeaderBlock::parse(message, 0, message.len());
    let Some(value) = header.value("From") else {
        return Err(Reply::with(550, (5, 6, 0), "message has no From header"));
    };
    let list: Vec<_> = parse_address_list(&value)
        .into_iter()
        .filter(|a| !a.is_group_start() && !a.is_group_end())
        .collect();
    let [one] = list.as_slice() else {
        return Err(Reply::with(
            550,
            (5, 6, 0),
            "From header must hold exactly one address",
        ));
    };
    let local = String::from_utf8_lossy(one.mailbox.as_deref().unwrap_or_default());
    let host = String::from_utf8_lossy(one.host.as_deref().unwrap_or_default());
    let addr = moxide_proto::dns::address_to_ascii(&format!("{local}@{host}"));
    if addresses.contains(&addr) {
        Ok(())
    } else {
        Err(not_yours("From"))
    }
}

/// The header lines to put before the message: `Message-ID` (from `unique`
/// and our host name) and `Date` (`date`, RFC 5322 3.3), each only when the
/// message has none. Each line ends in CRLF.
pub fn missing_header_lines(message: &[u8], hostname: &str, unique: &str, date: &str) -> Vec<u8> {
    let header = HeaderBlock::parse(message, 0, message.len());
    let mut out = Vec::new();
    if header.first("Message-ID").is_none() {
        out.extend_from_slice(format!("Message-ID: <{unique}@{hostname}>\r\n").as_bytes());
    }
    if header.first("Date").is_none() {
        out.extend_from_slice(format!("Date: {date}\r\n").as_bytes());
    }
    out
}

/// REQUIRETLS for a queued message (RFC 8689): `Some(true)` with the MAIL
/// parameter, `Some(false)` for a `TLS-Required: No` header field (RFC 8689
/// 5, ignored when REQUIRETLS was given), else `None`.
pub fn requiretls_of(param: bool, message: &[u8]) -> Option<bool> {
    if param {
        return Some(true);
    }
    let header = HeaderBlock::parse(message, 0, message.len());
    match header.value("TLS-Required") {
        Some(v) if v.trim_ascii().eq_ignore_ascii_case(b"no") => Some(false),
        _ => None,
    }
}

/// The Received header of a queued message: like
/// [`deliver::received_header`] but without the `for` clause, because one
/// header is shared by all recipients and must not reveal Bcc recipients
/// to the others (RFC 5321 7.2).
pub fn queue_received_header(info: &ReceivedInfo<'_>) -> Vec<u8> {
    let clean = |s: &str| s.replace(['\r', '\n'], "");
    format!(
        "Received: from {} ([{}])\r\n\tby {} with {} id {}; {}\r\n",
        clean(info.helo),
        info.ip,
        clean(info.hostname),
        info.with,
        info.id,
        info.date
    )
    .into_bytes()
}

/// Queues `outgoing` (remote recipients) and stores the `local` copies,
/// for one reply: quotas of the local accounts first (nothing stored when
/// one is over), then the queue commit, then the local copies. A failure
/// after the queue commit is `451 4.3.0` for the whole message (the
/// sender retries; duplicates rather than loss, DESIGN.md).
pub fn queue_and_deliver(
    store: &Store,
    queue: &Queue,
    now_unix: i64,
    outgoing: NewOutgoing<'_>,
    local: &[Delivery<'_>],
) -> Result<(Vec<QueueId>, Vec<u32>), Reply> {
    deliver::check_quotas(store, local).map_err(|e| e.reply())?;
    let ids = queue.add(now_unix, outgoing).map_err(|e| {
        tracing::error!(error = %e, "smtp submission: queueing failed, nothing stored");
        Reply::local_error("error queueing the message, try again later")
    })?;
    if local.is_empty() {
        return Ok((ids, Vec::new()));
    }
    match deliver::deliver_all(store, local, deliver::deliver) {
        Ok(uids) => Ok((ids, uids)),
        Err(r) => {
            tracing::error!(reply = ?r, queued = ?ids, "smtp submission: local delivery failed after queueing; 451 so the sender retries");
            Err(deliver::partial_failure_reply())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs() -> Vec<String> {
        vec!["mox@localhost".into(), "alias@localhost".into()]
    }

    #[test]
    fn from_header_must_be_the_accounts() {
        let ok = b"From: Mox <MOX@localhost>\r\nSubject: x\r\n\r\nbody\r\n";
        assert_eq!(check_from_header(ok, &addrs()), Ok(()));
        let other = b"From: <other@localhost>\r\n\r\nbody\r\n";
        assert_eq!(
            check_from_header(other, &addrs()).unwrap_err().to_bytes(),
            b"550 5.7.1 From address not allowed for the authenticated account\r\n"
        );
        let two = b"From: mox@localhost, alias@localhost\r\n\r\n";
        assert_eq!(check_from_header(two, &addrs()).unwrap_err().code, 550);
        let none = b"Subject: x\r\n\r\n";
        assert_eq!(
            check_from_header(none, &addrs()).unwrap_err().to_bytes(),
            b"550 5.6.0 message has no From header\r\n"
        );
    }

    #[test]
    fn mail_from() {
        assert_eq!(check_mail_from(None, &addrs()), Ok(()));
        assert_eq!(check_mail_from(Some("Alias@localhost"), &addrs()), Ok(()));
        assert!(check_mail_from(Some("x@localhost"), &addrs()).is_err());
    }

    /// The account's addresses are stored with A-label domains; a sender
    /// may write the domain in U-labels (SMTPUTF8) or A-labels.
    #[test]
    fn idn_sender_domains_match_in_either_form() {
        let addrs = vec!["u@xn--exmple-cua.test".to_string()];
        for from in [
            "From: U <u@Exämple.test>\r\n\r\nx\r\n",
            "From: u@XN--exmple-cua.test\r\n\r\nx\r\n",
        ] {
            assert_eq!(check_from_header(from.as_bytes(), &addrs), Ok(()), "{from}");
        }
        let other = "From: u@exämple.example\r\n\r\nx\r\n";
        assert_eq!(
            check_from_header(other.as_bytes(), &addrs)
                .unwrap_err()
                .code,
            550
        );
        assert_eq!(check_mail_from(Some("U@exämple.test"), &addrs), Ok(()));
        assert_eq!(
            check_mail_from(Some("u@xn--exmple-cua.test"), &addrs),
            Ok(())
        );
        assert!(check_mail_from(Some("u@xn--a.test"), &addrs).is_err());
    }

    #[test]
    fn requiretls_from_parameter_or_header() {
        assert_eq!(
            requiretls_of(true, b"TLS-Required: No\r\n\r\nx"),
            Some(true)
        );
        assert_eq!(
            requiretls_of(false, b"tls-required:  no \r\n\r\nx"),
            Some(false)
        );
        assert_eq!(requiretls_of(false, b"TLS-Required: yes\r\n\r\nx"), None);
        assert_eq!(
            requiretls_of(false, b"Subject: x\r\n\r\nTLS-Required: No\r\n"),
            None
        );
    }

    #[test]
    fn queue_received_has_no_for_clause() {
        let info = ReceivedInfo {
            helo: "client\r\n.example",
            ip: "192.0.2.1".parse().unwrap(),
            hostname: "mx.example",
            with: "ESMTPSA",
            id: "abc",
            date: "Tue, 02 Jan 2024 03:04:05 +0000",
        };
        assert_eq!(
            String::from_utf8(queue_received_header(&info)).unwrap(),
            "Received: from client.example ([192.0.2.1])\r\n\tby mx.example with ESMTPSA id abc; Tue, 02 Jan 2024 03:04:05 +0000\r\n"
        );
    }

    #[test]
    fn missing_headers_added() {
        let date = "Tue, 02 Jan 2024 03:04:05 +0000";
        assert_eq!(
            missing_header_lines(b"Subject: x\r\n\r\nb\r\n", "h", "u1", date),
            b"Message-ID: <u1@h>\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\n"
        );
        let full = b"Message-Id: <a@b>\r\nDATE: x\r\n\r\nb\r\n";
        assert_eq!(missing_header_lines(full, "h", "u1", date), b"");
    }
}
