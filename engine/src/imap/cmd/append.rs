//! APPEND (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502), UIDPLUS APPENDUID
//! (RFC 4315), UTF8 (RFC 6855 4), APPENDLIMIT (RFC 7889) and the streamed
//! form shared with REPLACE (RFC 8508). Messages arrive as AppendData chunks
//! and are accumulated once; all messages of one command are added in one
//! atomic commit (a single message in the account's group commit).

use moxide_proto::imap::cmd::{AppendHead, AppendKind, MessageHead};
use moxide_proto::imap::core::{DateTime, Flag, SeqNum, Tag, UidSet};
use moxide_proto::imap::resp::Code;
use moxide_storage::{NewMessage, StoreError};

use super::storage_name;
use crate::imap::Session;
use crate::imap::convert;

/// One message received completely.
struct Received {
    flags: Vec<Flag>,
    date: Option<DateTime>,
    data: Vec<u8>,
}

/// An APPEND or REPLACE in progress.
pub(crate) struct AppendState {
    tag: Tag,
    /// Destination mailbox id.
    mailbox: u32,
    /// For REPLACE: the UID of the message replaced in the selected mailbox.
    replace: Option<u32>,
    /// The message being received: its head and data so far.
    current: Option<(MessageHead, Vec<u8>)>,
    done: Vec<Received>,
}

/// The UID REPLACE/REPLACE target in the selected mailbox.
fn replace_target(s: &Session, uid: bool, target: SeqNum) -> Option<u32> {
    let sel = s.sel.as_ref()?;
    match (uid, target) {
        (_, SeqNum::Last) => sel.uids.last(),
        (true, SeqNum::Value(u)) => sel.seq_of(u).map(|_| u),
        (false, SeqNum::Value(n)) => sel.uids.get((n as usize).checked_sub(1)?),
    }
}

/// A message is announced; the first one starts the command.
pub(crate) fn begin(s: &mut Session, head: AppendHead, message: MessageHead) {
    if s.append.is_none() {
        let Some(acct) = s.account() else {
            return s.bad(head.tag, "not authenticated");
        };
        let replace = match head.kind {
            AppendKind::Append => None,
            AppendKind::Replace { uid, target } => {
                if s.sel.as_ref().is_some_and(|sel| sel.read_only) {
                    return s.no(head.tag, Some(Code::Cannot), "mailbox is read-only");
                }
                match replace_target(s, uid, target) {
                    Some(u) => Some(u),
                    None if uid => {
                        return s.no(head.tag, None, "no such message");
                    }
                    None => return s.bad(head.tag, "invalid message sequence number"),
                }
            }
        };
        let Some(name) = storage_name(&head.mailbox) else {
            return s.no(head.tag, Some(Code::TryCreate), "no such mailbox");
        };
        let mb = match acct.mailbox(&name) {
            Ok(mb) => mb,
            // RFC 9051 6.3.12: TRYCREATE when the mailbox does not exist.
            Err(StoreError::NoSuchMailbox(_) | StoreError::InvalidMailboxName { .. }) => {
                return s.no(head.tag, Some(Code::TryCreate), "no such mailbox");
            }
            Err(e) => return s.store_error(head.tag, e, "APPEND"),
        };
        s.append = Some(AppendState {
            tag: head.tag,
            mailbox: mb.id,
            replace,
            current: None,
            done: Vec::new(),
        });
    }
    // RFC 9208 5.1.1: refuse early what cannot fit.
    if let Some(acct) = s.account()
        && let Ok(q) = acct.quota()
        && let Some(limit) = q.limit
    {
        let pending: u64 = s
            .append
            .as_ref()
            .map_or(0, |a| a.done.iter().map(|r| r.data.len() as u64).sum());
        if q.usage
            .saturating_add(pending)
            .saturating_add(message.literal.len)
            > limit
        {
            if let Some(st) = s.append.take() {
                s.no(st.tag, Some(Code::OverQuota), "over quota");
            }
            return;
        }
    }
    let cap = usize::try_from(message.literal.len.min(1 << 20)).unwrap_or(0);
    if let Some(st) = s.append.as_mut() {
        st.current = Some((message, Vec::with_capacity(cap)));
    }
    s.conn.accept_append();
}

/// Message data as it arrives.
pub(crate) fn data(s: &mut Session, d: Vec<u8>) {
    if let Some((_, buf)) = s.append.as_mut().and_then(|st| st.current.as_mut()) {
        buf.extend_from_slice(&d);
    }
}

/// A message is complete; with `last`, the command is.
pub(crate) fn end(s: &mut Session, last: bool) {
    let Some(st) = s.append.as_mut() else {
        return;
    };
    if let Some((head, data)) = st.current.take() {
        st.done.push(Received {
            flags: head.flags,
            date: head.date,
            data,
        });
    }
    if last && let Some(st) = s.append.take() {
        commit(s, st);
    }
}

/// Adds the received messages in one commit and answers.
fn commit(s: &mut Session, st: AppendState) {
    let Some(acct) = s.account() else {
        return s.bad(st.tag, "not authenticated");
    };
    let now = s.unix_now();
    let parts: Vec<(moxide_storage::Flags, Vec<String>)> = st
        .done
        .iter()
        .map(|r| convert::split_flags(&r.flags))
        .collect();
    let msgs: Vec<NewMessage<'_>> = st
        .done
        .iter()
        .zip(&parts)
        .map(|(r, (flags, keywords))| NewMessage {
            data: &r.data,
            prefix: Vec::new(),
            flags: *flags,
            keywords: keywords.clone(),
            received: r.date.map_or(now, |d| d.unix_seconds()),
            received_tz: r.date.map_or(0, |d| d.zone_minutes),
            saved: now,
        })
        .collect();
    if let Some(old) = st.replace {
        // RFC 8508: the new message and the expunge in one commit.
        return super::replace::commit(s, st.tag, st.mailbox, &msgs, old);
    }
    // A single message joins the account's group commit, so concurrent
    // sessions' APPENDs (and SMTP deliveries) share one fsync pass and one
    // database commit; several messages (MULTIAPPEND, RFC 3502) are one
    // all-or-nothing commit of their own.
    let added = if msgs.len() == 1 {
        acct.deliver_grouped(st.mailbox, &msgs[0]).map(|a| vec![a])
    } else {
        acct.import(st.mailbox, &msgs)
    };
    let added = match added {
        Ok(a) => a,
        Err(e) => return s.store_error(st.tag, e, "APPEND"),
    };
    let Some(first) = added.first() else {
        return s.no(st.tag, Some(Code::ServerBug), "nothing appended");
    };
    let code = Code::AppendUid {
        uid_validity: first.uidvalidity,
        uids: UidSet::from_sorted(added.iter().map(|a| a.uid)),
    };
    s.ok(st.tag, Some(code), "APPEND completed")
}
