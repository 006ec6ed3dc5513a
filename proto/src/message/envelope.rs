//! The IMAP ENVELOPE of a message (RFC 9051 7.5.2) and the message-id based
//! fields used for threading (RFC 5256 2.2, RFC 5322 3.6.4).

use mail_parser::DateTime;

use super::address::{Address, parse_address_list};
use super::header::HeaderBlock;

/// ENVELOPE fields of one message, kept as written in the header.
///
/// `date`, `subject`, `in_reply_to` and `message_id` are the unfolded,
/// trimmed header values (`None` when the field is absent). Address lists are
/// parsed into ENVELOPE address structures; an empty list is NIL. Sender and
/// Reply-To are stored as they appear: use [`Envelope::sender_or_from`] and
/// [`Envelope::reply_to_or_from`] for the values IMAP sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Envelope {
    /// Raw `Date` value.
    pub date: Option<Vec<u8>>,
    /// Raw `Subject` value (encoded-words not decoded).
    pub subject: Option<Vec<u8>>,
    /// `From` addresses.
    pub from: Vec<Address>,
    /// `Sender` addresses as present in the header.
    pub sender: Vec<Address>,
    /// `Reply-To` addresses as present in the header.
    pub reply_to: Vec<Address>,
    /// `To` addresses.
    pub to: Vec<Address>,
    /// `Cc` addresses.
    pub cc: Vec<Address>,
    /// `Bcc` addresses.
    pub bcc: Vec<Address>,
    /// Raw `In-Reply-To` value.
    pub in_reply_to: Option<Vec<u8>>,
    /// Raw `Message-ID` value (with angle brackets as written).
    pub message_id: Option<Vec<u8>>,
}

impl Envelope {
    /// Builds the envelope from a parsed header block. The first occurrence
    /// of each field is used.
    pub fn from_header(block: &HeaderBlock<'_>) -> Envelope {
        let addrs = |name: &str| {
            block
                .first(name)
                .map(|f| parse_address_list(&f.value()))
                .unwrap_or_default()
        };
        Envelope {
            date: block.value("date"),
            subject: block.value("subject"),
            from: addrs("from"),
            sender: addrs("sender"),
            reply_to: addrs("reply-to"),
            to: addrs("to"),
            cc: addrs("cc"),
            bcc: addrs("bcc"),
            in_reply_to: block.value("in-reply-to"),
            message_id: block.value("message-id"),
        }
    }

    /// The ENVELOPE sender: Sender, or From when Sender is absent or empty
    /// (RFC 9051 7.5.2).
    pub fn sender_or_from(&self) -> &[Address] {
        if self.sender.is_empty() {
            &self.from
        } else {
            &self.sender
        }
    }

    /// The ENVELOPE reply-to: Reply-To, or From when Reply-To is absent or
    /// empty (RFC 9051 7.5.2).
    pub fn reply_to_or_from(&self) -> &[Address] {
        if self.reply_to.is_empty() {
            &self.from
        } else {
            &self.reply_to
        }
    }

    /// The Date header as seconds since the Unix epoch, `None` when absent or
    /// not a valid RFC 5322 date.
    pub fn parsed_date(&self) -> Option<i64> {
        parse_date(self.date.as_deref()?)
    }
}

/// Parses an RFC 5322 3.3 date-time (with the obsolete forms mail-parser
/// accepts) to Unix seconds.
pub fn parse_date(raw: &[u8]) -> Option<i64> {
    let text = String::from_utf8_lossy(raw);
    let dt = DateTime::parse_rfc822(&text)?;
    dt.is_valid().then(|| dt.to_timestamp())
}

/// Extracts the message-ids (`<id>`, RFC 5322 3.6.4) of a header value,
/// without angle brackets and with any whitespace inside removed. Text outside
/// angle brackets (obsolete phrases, comments) is ignored.
pub fn message_ids(raw: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(open) = rest.iter().position(|&b| b == b'<') {
        let after = rest.get(open + 1..).unwrap_or_default();
        let Some(close) = after.iter().position(|&b| b == b'>') else {
            break;
        };
        let id: Vec<u8> = after
            .get(..close)
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if !id.is_empty() && !id.contains(&b'<') {
            out.push(String::from_utf8_lossy(&id).into_owned());
        }
        rest = after.get(close + 1..).unwrap_or_default();
    }
    out
}

/// The Message-ID without angle brackets: the first `<id>` of the value, or
/// the whole trimmed value when it has no brackets and no whitespace.
pub fn message_id(raw: &[u8]) -> Option<String> {
    if let Some(id) = message_ids(raw).into_iter().next() {
        return Some(id);
    }
    let trimmed = String::from_utf8_lossy(raw).trim().to_string();
    if trimmed.is_empty() || trimmed.contains(|c: char| c.is_whitespace() || c == '<') {
        None
    } else {
        Some(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_from_header() {
        let msg = b"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\nFrom: Terry Gray <gray@cac.washington.edu>\r\nSubject: IMAP4rev1 WG mtg summary and\r\n minutes\r\nTo: imap@cac.washington.edu\r\ncc: minutes@CNRI.Reston.VA.US,\r\n \"John Klensin\" <KLENSIN@MIT.EDU>\r\nMessage-Id: <B27397-0100000@cac.washington.edu>\r\n\r\nbody";
        let block = HeaderBlock::parse(msg, 0, msg.len());
        let env = Envelope::from_header(&block);
        assert_eq!(
            env.date.as_deref(),
            Some(&b"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"[..])
        );
        assert_eq!(
            env.subject.as_deref(),
            Some(&b"IMAP4rev1 WG mtg summary and minutes"[..])
        );
        assert_eq!(env.cc.len(), 2);
        assert_eq!(env.cc[1].name.as_deref(), Some(&b"John Klensin"[..]));
        assert_eq!(env.cc[1].mailbox.as_deref(), Some(&b"KLENSIN"[..]));
        assert_eq!(env.cc[1].host.as_deref(), Some(&b"MIT.EDU"[..]));
        assert!(env.sender.is_empty());
        assert_eq!(env.sender_or_from(), &env.from[..]);
        assert_eq!(env.reply_to_or_from(), &env.from[..]);
        assert_eq!(env.parsed_date(), Some(837_595_405));
        assert_eq!(
            message_id(env.message_id.as_deref().unwrap_or_default()).as_deref(),
            Some("B27397-0100000@cac.washington.edu")
        );
    }

    #[test]
    fn ids() {
        assert_eq!(
            message_ids(b"<a@b> (comment) <c\r\n @d> junk <e"),
            vec!["a@b".to_string(), "c@d".to_string()]
        );
        assert_eq!(message_id(b"bare@id").as_deref(), Some("bare@id"));
        assert_eq!(message_id(b"two words"), None);
        assert_eq!(message_id(b""), None);
    }

    #[test]
    fn invalid_dates() {
        assert_eq!(parse_date(b"yesterday"), None);
        assert_eq!(parse_date(b""), None);
        assert_eq!(parse_date(b"Thu, 1 Jan 1970 00:00:00 +0000"), Some(0));
    }
}
