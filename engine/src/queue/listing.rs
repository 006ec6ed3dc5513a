//! The admin's view of queue entries (`moxide queue list`): one block per
//! entry, every field an admin needs to decide what to do, and a loud
//! line when the message file is missing.

use moxide_storage::{QueueEntry, RcptState, Store};

use crate::smtp::rfc5322_date;

/// One entry as text, ending in a newline. `file_present` is whether the
/// message file exists.
pub fn format_entry(e: &QueueEntry, file_present: bool) -> String {
    let from = if e.mail_from.is_empty() {
        "<>".to_string()
    } else {
        e.mail_from.clone()
    };
    let mut s = format!(
        "{} from {} to {} ({} recipient{}), {} bytes{}\n",
        e.id,
        from,
        e.domain,
        e.recipients.len(),
        if e.recipients.len() == 1 { "" } else { "s" },
        e.size,
        if e.hold { ", ON HOLD" } else { "" },
    );
    s.push_str(&format!(
        "  account {}, queued {}\n",
        e.sender_account.as_deref().unwrap_or("(none)"),
        rfc5322_date(e.created)
    ));
    let last = e
        .last_attempt
        .map_or_else(|| "never".to_string(), rfc5322_date);
    s.push_str(&format!(
        "  attempts {}, last {}, next {}\n",
        e.attempts,
        last,
        rfc5322_date(e.next_attempt)
    ));
    let mut flags = Vec::new();
    if e.smtputf8 {
        flags.push("smtputf8".to_string());
    }
    flags.push(format!("{:?}", e.body).to_lowercase());
    match e.requiretls {
        Some(true) => flags.push("requiretls".into()),
        Some(false) => flags.push("tls-required-no".into()),
        None => {}
    }
    if let Some(t) = &e.transport {
        flags.push(format!("transport {t}"));
    }
    if e.delay_dsn_sent {
        flags.push("delay-dsn-sent".into());
    }
    s.push_str(&format!("  {}\n", flags.join(", ")));
    for r in &e.recipients {
        let state = match r.state {
            RcptState::Pending => "pending",
            RcptState::Delivered => "delivered",
            RcptState::Failed if r.dsn_done => "failed",
            RcptState::Failed => "failed, DSN not yet delivered",
        };
        match &r.last_error {
            Some(err) => s.push_str(&format!("  {} {state}: {err}\n", r.address)),
            None => s.push_str(&format!("  {} {state}\n", r.address)),
        }
    }
    if let Some(err) = &e.last_error {
        s.push_str(&format!("  last error: {err}\n"));
    }
    if !file_present {
        s.push_str(&format!(
            "  MESSAGE FILE MISSING (queue/{}): cannot be delivered; `moxide queue fail --id {}` or `drop --id {}`\n",
            e.file_id, e.id, e.id
        ));
    }
    s
}

/// All of `entries` as text, with the file check; "queue is empty" or "no
/// matching entries" when there are none.
pub fn format_list(
    store: &Store,
    entries: &[QueueEntry],
    filtered: bool,
) -> Result<String, moxide_storage::StoreError> {
    if entries.is_empty() {
        return Ok(if filtered {
            "no matching queue entries\n".to_string()
        } else {
            "queue is empty\n".to_string()
        });
    }
    let mut out = String::new();
    for e in entries {
        out.push_str(&format_entry(e, store.queue_file_exists(e)?));
    }
    Ok(out)
}

/// A one-line summary of what an operation did: `"held 2 entries: 3, 4"`.
pub fn summary(verb: &str, entries: &[QueueEntry]) -> String {
    let ids: Vec<String> = entries.iter().map(|e| e.id.to_string()).collect();
    match ids.len() {
        0 => format!("{verb} no entries (none matched)\n"),
        1 => format!("{verb} 1 entry: {}\n", ids.join(", ")),
        n => format!("{verb} {n} entries: {}\n", ids.join(", ")),
    }
}
