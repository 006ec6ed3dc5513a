//! Applying a [`JobResult`] to its queue entry: recipient states, giving
//! up at the end of the schedule, and the DSNs that follow (failure DSN
//! for recipients that failed, one delay DSN when delivery is slow).
//!
//! DSNs are delivered into the sender account's Inbox before the queue
//! commit that records them, so a crash in between repeats a DSN rather
//! than losing it.

use std::collections::BTreeMap;

use moxide_proto::smtp::Reply;
use moxide_storage::{QueueChange, QueueEntry, RcptState, StoreError};

use super::dsn::{Dsn, DsnKind, DsnRecipient};
use super::{JobResult, Queue, RcptResult};
use crate::smtp::deliver::{self, DeliverError, Delivery};

/// What the last attempt said about one recipient, for its DSN.
#[derive(Debug, Clone, Default)]
pub(crate) struct RcptInfo {
    status: Option<String>,
    diagnostic: Option<String>,
    remote_mta: Option<String>,
    last_attempt: Option<i64>,
}

/// Per recipient (lower case) what the attempt said.
pub(crate) type AttemptInfo = BTreeMap<String, RcptInfo>;

/// The reply as one line: its lines joined by spaces (RFC 3464 2.3.6).
fn reply_line(r: &Reply) -> String {
    String::from_utf8_lossy(&r.to_bytes())
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The enhanced status of a reply when it has one of the right class,
/// else a generic one of the reply's class (RFC 3463 3.1).
fn status_of(r: &Reply) -> String {
    let class = u8::try_from(r.code / 100).unwrap_or(5);
    match r.enhanced {
        Some((c, s, d)) if c == class => format!("{c}.{s}.{d}"),
        _ => format!("{class}.0.0"),
    }
}

/// Applies `result` of the attempt on entry `e` at `now`; sends the DSNs
/// that are due. Returns what to do with the entry.
pub(crate) fn apply_result(
    q: &Queue,
    e: &mut QueueEntry,
    result: &JobResult,
    now: i64,
) -> QueueChange {
    let mut info = AttemptInfo::new();
    let mut first_error: Option<String> = None;
    for r in e
        .recipients
        .iter_mut()
        .filter(|r| r.state == RcptState::Pending)
    {
        let fallback = RcptResult::Temporary {
            detail: result
                .error
                .clone()
                .unwrap_or_else(|| "no result for this recipient".to_string()),
            reply: None,
        };
        let res = result.for_rcpt(&r.address).unwrap_or(&fallback);
        let (detail, reply) = match res {
            RcptResult::Delivered => {
                r.state = RcptState::Delivered;
                r.last_error = None;
                continue;
            }
            RcptResult::Temporary { detail, reply } => (detail, reply),
            RcptResult::Permanent { detail, reply } => {
                r.state = RcptState::Failed;
                r.dsn_done = false;
                (detail, reply)
            }
        };
        r.last_error = Some(detail.clone());
        first_error.get_or_insert_with(|| detail.clone());
        info.insert(
            r.address.to_ascii_lowercase(),
            RcptInfo {
                status: reply.as_ref().map(status_of),
                diagnostic: reply.as_ref().map(reply_line),
                remote_mta: reply.as_ref().and(result.remote_mta.clone()),
                last_attempt: e.last_attempt,
            },
        );
    }
    e.last_error = first_error;
    let retry = q.config().retry;
    if e.pending().next().is_some() && retry.expired(e.created, now) {
        // RFC 5321 4.5.4.1: give up; the sender learns why.
        for r in e
            .recipients
            .iter_mut()
            .filter(|r| r.state == RcptState::Pending)
        {
            r.state = RcptState::Failed;
            r.dsn_done = false;
            let last = r.last_error.clone().unwrap_or_default();
            r.last_error = Some(format!(
                "gave up after {} attempts over {} hours; last error: {last}",
                e.attempts,
                retry.give_up_after / 3600
            ));
        }
    }
    if e.pending().next().is_some()
        && !e.delay_dsn_sent
        && e.attempts >= retry.delay_dsn_after_attempts
    {
        e.delay_dsn_sent = send_delay_dsn(q, e, now, &info);
    }
    send_failure_dsns(q, e, now, Some(&info))
}

/// Whether the sender is owed DSNs at all: a local account and a non-null
/// MAIL FROM (RFC 3464 2: never for `<>`; DSNs themselves have `<>`).
fn dsn_owed(e: &QueueEntry) -> bool {
    e.sender_account.is_some() && !e.mail_from.is_empty()
}

fn dsn_recipients(
    e: &QueueEntry,
    kind: DsnKind,
    info: Option<&AttemptInfo>,
    until: Option<i64>,
) -> Vec<DsnRecipient> {
    let wanted = match kind {
        DsnKind::Failed => RcptState::Failed,
        DsnKind::Delayed => RcptState::Pending,
    };
    e.recipients
        .iter()
        .filter(|r| r.state == wanted && !(kind == DsnKind::Failed && r.dsn_done))
        .map(|r| {
            let i = info
                .and_then(|m| m.get(&r.address.to_ascii_lowercase()))
                .cloned()
                .unwrap_or_default();
            let generic = match kind {
                DsnKind::Failed => "5.0.0",
                DsnKind::Delayed => "4.0.0",
            };
            // A temporary reply on a recipient that failed by expiry is
            // reported with the failure class (RFC 3464 2.3.4).
            let status = match (kind, i.status) {
                (DsnKind::Failed, Some(s)) if s.starts_with('5') => s,
                (DsnKind::Failed, Some(s)) => format!("5{}", s.get(1..).unwrap_or(".0.0")),
                (_, Some(s)) => s,
                (_, None) => generic.to_string(),
            };
            DsnRecipient {
                address: r.address.clone(),
                status,
                detail: r
                    .last_error
                    .clone()
                    .unwrap_or_else(|| "delivery failed".to_string()),
                remote_mta: i.remote_mta,
                diagnostic: i.diagnostic,
                last_attempt: i.last_attempt.or(e.last_attempt),
                will_retry_until: until,
            }
        })
        .collect()
}

/// Composes and delivers one DSN to the entry's sender account. `true`
/// when it is done (delivered, or the account no longer exists), `false`
/// when it should be tried again.
fn deliver_dsn(q: &Queue, e: &QueueEntry, kind: DsnKind, rcpts: &[DsnRecipient], now: i64) -> bool {
    let Some(account) = e.sender_account.as_deref() else {
        return true;
    };
    let original = q.store().queue_message(e).ok();
    let tag = match kind {
        DsnKind::Failed => "failed",
        DsnKind::Delayed => "delayed",
    };
    let hostname = &q.config().hostname;
    let message_id = format!("dsn-{tag}-{}-{now}@{hostname}", e.id);
    let boundary = format!("dsn-{tag}-{}-{now}", e.id);
    let dsn = Dsn {
        kind,
        hostname,
        to: &e.mail_from,
        message_id: &message_id,
        date: now,
        arrival: e.created,
        smtputf8: e.smtputf8,
        recipients: rcpts,
        original: original.as_deref(),
        boundary: &boundary,
    }
    .compose();
    let d = Delivery {
        account,
        prefix: b"",
        data: &dsn,
        junk: false,
        unix: now,
    };
    match deliver::deliver(q.store(), &d) {
        Ok(uid) => {
            tracing::info!(
                id = e.id,
                account,
                uid,
                kind = tag,
                "queue: DSN delivered to the sender"
            );
            true
        }
        Err(DeliverError::Store(StoreError::NoSuchAccount(_))) => {
            tracing::warn!(
                id = e.id,
                account,
                kind = tag,
                "queue: sender account is gone, DSN dropped"
            );
            true
        }
        Err(err) => {
            tracing::error!(id = e.id, account, kind = tag, error = ?err, "queue: delivering the DSN failed, will retry");
            false
        }
    }
}

/// Sends the one delay DSN for the pending recipients; `true` when done.
fn send_delay_dsn(q: &Queue, e: &QueueEntry, now: i64, info: &AttemptInfo) -> bool {
    if !dsn_owed(e) {
        return true;
    }
    let until = q.config().retry.expires(e.created);
    let rcpts = dsn_recipients(e, DsnKind::Delayed, Some(info), Some(until));
    rcpts.is_empty() || deliver_dsn(q, e, DsnKind::Delayed, &rcpts, now)
}

/// Sends the failure DSN for failed recipients that have none yet, and
/// says whether the entry is finished (remove) or stays (update). When the
/// DSN cannot be delivered, the entry is due again after the first retry
/// delay, when the scheduler tries the DSN again.
pub(crate) fn send_failure_dsns(
    q: &Queue,
    e: &mut QueueEntry,
    now: i64,
    info: Option<&AttemptInfo>,
) -> QueueChange {
    let rcpts = dsn_recipients(e, DsnKind::Failed, info, None);
    let done = rcpts.is_empty() || !dsn_owed(e) || deliver_dsn(q, e, DsnKind::Failed, &rcpts, now);
    if done {
        for r in e
            .recipients
            .iter_mut()
            .filter(|r| r.state == RcptState::Failed)
        {
            r.dsn_done = true;
        }
    } else if e.pending().next().is_none() {
        e.next_attempt = now.saturating_add(q.config().retry.first_delay);
    }
    if e.finished() {
        QueueChange::Remove
    } else {
        QueueChange::Update
    }
}
