//! Delivery status notifications (RFC 3464) as multipart/report (RFC
//! 6522): a human-readable part, the machine-readable
//! message/delivery-status part and the original message's header as
//! text/rfc822-headers. For a message sent with SMTPUTF8 the status and
//! header parts are message/global-delivery-status and
//! message/global-headers (RFC 6533), as mox makes them: the DSN is
//! delivered to a local account, which takes UTF-8.
//!
//! Composition is a pure function of its input (date and boundary given),
//! so the bytes are known answers in tests.

use moxide_proto::message::header::HeaderBlock;

use crate::smtp::rfc5322_date;

/// Failed or delayed (RFC 3464 2.3.3 Action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsnKind {
    /// Given up: `Action: failed`.
    Failed,
    /// Still trying: `Action: delayed`.
    Delayed,
}

/// Per-recipient fields (RFC 3464 2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    /// The recipient address (Final-Recipient).
    pub address: String,
    /// The enhanced status code (RFC 3463), e.g. `5.1.1`.
    pub status: String,
    /// What went wrong, in words (human-readable part).
    pub detail: String,
    /// The remote host whose reply this is (Remote-MTA).
    pub remote_mta: Option<String>,
    /// The remote reply, e.g. `550 5.1.1 no such user` (Diagnostic-Code).
    pub diagnostic: Option<String>,
    /// When the last attempt was (Last-Attempt-Date).
    pub last_attempt: Option<i64>,
    /// Delayed: until when we keep trying (Will-Retry-Until).
    pub will_retry_until: Option<i64>,
}

/// Everything a DSN is made from.
#[derive(Debug, Clone)]
pub struct Dsn<'a> {
    /// Failed or delayed.
    pub kind: DsnKind,
    /// Our host name (Reporting-MTA; the From is postmaster@ it).
    pub hostname: &'a str,
    /// The original envelope sender, who gets the DSN.
    pub to: &'a str,
    /// Message-ID without angle brackets.
    pub message_id: &'a str,
    /// Unix seconds of the DSN (Date).
    pub date: i64,
    /// When the original message was queued (Arrival-Date).
    pub arrival: i64,
    /// The original was sent with SMTPUTF8: RFC 6533 media types.
    pub smtputf8: bool,
    /// At least one recipient.
    pub recipients: &'a [DsnRecipient],
    /// The original message (prefix + file), when readable; only its
    /// header is included.
    pub original: Option<&'a [u8]>,
    /// The MIME boundary; extended if it occurs in the content.
    pub boundary: &'a str,
}

/// Text safe for one header or status line: no line breaks, and for a
/// non-UTF-8 DSN only printable ASCII (others become `?`).
fn clean(s: &str, utf8: bool) -> String {
    s.chars()
        .map(|c| match c {
            '\r' | '\n' | '\t' => ' ',
            c if c.is_ascii_graphic() || c == ' ' => c,
            c if utf8 && !c.is_control() => c,
            _ => '?',
        })
        .collect()
}

/// The header of the original message: its fields, each line ending in
/// CRLF, without the empty line that ends it.
fn original_header(msg: &[u8]) -> Vec<u8> {
    let end = HeaderBlock::parse(msg, 0, msg.len()).end;
    let mut out = Vec::new();
    for line in msg.get(..end).unwrap_or_default().split(|b| *b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Header lines for a 7-bit part: bytes that are neither printable ASCII
/// nor CR, LF or TAB become `?`.
fn ascii_only(header: &[u8]) -> Vec<u8> {
    header
        .iter()
        .map(|&b| match b {
            b'\r' | b'\n' | b'\t' | 0x20..=0x7e => b,
            _ => b'?',
        })
        .collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

impl Dsn<'_> {
    /// The DSN message, lines ending in CRLF.
    pub fn compose(&self) -> Vec<u8> {
        let utf8 = self.smtputf8;
        let header = self.original.map(original_header);
        let human = self.human_text(header.is_some());
        let status = self.status_fields();
        let mut boundary = self.boundary.to_string();
        let all = [
            human.as_slice(),
            status.as_slice(),
            header.as_deref().unwrap_or_default(),
        ]
        .concat();
        while contains(&all, boundary.as_bytes()) {
            boundary.push('x');
        }
        let (subject, action) = match self.kind {
            DsnKind::Failed => ("mail delivery failed", "failed"),
            DsnKind::Delayed => ("mail delivery delayed", "delayed"),
        };
        let mut m = Vec::new();
        let mut h = |k: &str, v: &str| {
            m.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        };
        h(
            "From",
            &format!("<postmaster@{}>", clean(self.hostname, utf8)),
        );
        h("To", &format!("<{}>", clean(self.to, utf8)));
        h("Subject", subject);
        h("Message-ID", &format!("<{}>", clean(self.message_id, utf8)));
        if let Some(id) = self
            .original
            .and_then(|o| HeaderBlock::parse(o, 0, o.len()).value("Message-ID"))
        {
            h("References", &clean(&String::from_utf8_lossy(&id), utf8));
        }
        h("Date", &rfc5322_date(self.date));
        // RFC 3834 5: an automatic response; vacation responders stay quiet.
        h("Auto-Submitted", &format!("auto-replied ({action})"));
        h("MIME-Version", "1.0");
        h(
            "Content-Type",
            &format!("multipart/report; report-type=delivery-status; boundary=\"{boundary}\""),
        );
        m.extend_from_slice(b"\r\nThis is a MIME-formatted delivery status notification.\r\n");
        let part = |m: &mut Vec<u8>, ctype: &str, cte: &str, body: &[u8]| {
            m.extend_from_slice(
                format!(
                    "\r\n--{boundary}\r\nContent-Type: {ctype}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
                )
                .as_bytes(),
            );
            m.extend_from_slice(body);
        };
        let bits = if utf8 { "8bit" } else { "7bit" };
        let text_type = if utf8 {
            "text/plain; charset=utf-8"
        } else {
            "text/plain; charset=us-ascii"
        };
        part(&mut m, text_type, bits, &human);
        // RFC 3464 2.1 / RFC 6533 6.1.
        let status_type = if utf8 {
            "message/global-delivery-status"
        } else {
            "message/delivery-status"
        };
        part(&mut m, status_type, bits, &status);
        if let Some(header) = header {
            // RFC 6522 4 / RFC 6533 6.3.
            let header_type = if utf8 {
                "message/global-headers"
            } else {
                "text/rfc822-headers"
            };
            let header = if utf8 { header } else { ascii_only(&header) };
            part(&mut m, header_type, bits, &header);
        }
        m.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        m
    }

    fn human_text(&self, with_header: bool) -> Vec<u8> {
        let utf8 = self.smtputf8;
        let mut t = String::new();
        match self.kind {
            DsnKind::Failed => t.push_str(
                "Your message could not be delivered to the following recipients.\r\n\
                 Delivery has stopped for them; the details are below.\r\n\r\n",
            ),
            DsnKind::Delayed => {
                t.push_str(
                    "Your message has not been delivered yet to the following recipients.\r\n\
                     Delivery is retried, you do not have to send it again.\r\n",
                );
                if let Some(until) = self.recipients.iter().find_map(|r| r.will_retry_until) {
                    t.push_str(&format!(
                        "If it still fails, delivery stops at {}.\r\n",
                        rfc5322_date(until)
                    ));
                }
                t.push_str("\r\n");
            }
        }
        for r in self.recipients {
            t.push_str(&format!(
                "<{}>: {}\r\n",
                clean(&r.address, utf8),
                clean(&r.detail, utf8)
            ));
        }
        if with_header {
            t.push_str("\r\nThe header of your message is attached.\r\n");
        }
        t.into_bytes()
    }

    /// RFC 3464 2.2 (per message) and 2.3 (per recipient) fields.
    fn status_fields(&self) -> Vec<u8> {
        let utf8 = self.smtputf8;
        let mut s = String::new();
        s.push_str(&format!(
            "Reporting-MTA: dns; {}\r\n",
            clean(self.hostname, utf8)
        ));
        s.push_str(&format!("Arrival-Date: {}\r\n", rfc5322_date(self.arrival)));
        // RFC 6533 3: utf-8 address type for the global variant.
        let addr_type = if utf8 { "utf-8" } else { "rfc822" };
        let action = match self.kind {
            DsnKind::Failed => "failed",
            DsnKind::Delayed => "delayed",
        };
        for r in self.recipients {
            s.push_str("\r\n");
            s.push_str(&format!(
                "Final-Recipient: {addr_type}; {}\r\n",
                clean(&r.address, utf8)
            ));
            s.push_str(&format!("Action: {action}\r\n"));
            s.push_str(&format!("Status: {}\r\n", clean(&r.status, false)));
            if let Some(mta) = &r.remote_mta {
                s.push_str(&format!("Remote-MTA: dns; {}\r\n", clean(mta, utf8)));
            }
            if let Some(d) = &r.diagnostic {
                s.push_str(&format!("Diagnostic-Code: smtp; {}\r\n", clean(d, utf8)));
            }
            if let Some(t) = r.last_attempt {
                s.push_str(&format!("Last-Attempt-Date: {}\r\n", rfc5322_date(t)));
            }
            if let Some(t) = r.will_retry_until {
                s.push_str(&format!("Will-Retry-Until: {}\r\n", rfc5322_date(t)));
            }
        }
        s.into_bytes()
    }
}

#[cfg(test)]
#[path = "dsn_tests.rs"]
mod tests;
