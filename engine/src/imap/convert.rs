//! Conversions between storage values, the parsed message structure and
//! the IMAP response types: flags, dates, ENVELOPE and BODYSTRUCTURE (RFC
//! 9051 7.5.2).

use moxide_proto::imap::core::{Atom, DateTime, Flag, FlagFetch};
use moxide_proto::imap::resp::{
    Address, Body, BodyFields, Disposition, Envelope, ExtTail, MultiExt, SingleExt,
};
use moxide_proto::message::envelope::Envelope as MsgEnvelope;
use moxide_proto::message::{Part, PartKind};
use moxide_storage::Flags;

/// The system flags and keywords as a FLAGS fetch item.
pub(crate) fn flag_fetch(flags: Flags, keywords: &[String]) -> Vec<FlagFetch> {
    let mut out: Vec<FlagFetch> = system(flags).into_iter().map(FlagFetch::Flag).collect();
    out.extend(
        keywords
            .iter()
            .filter_map(|k| Atom::try_from(k.as_str()).ok())
            .map(|a| FlagFetch::Flag(Flag::Keyword(a))),
    );
    out
}

/// The system flags set in `flags`.
fn system(flags: Flags) -> Vec<Flag> {
    [
        (Flags::SEEN, Flag::Seen),
        (Flags::ANSWERED, Flag::Answered),
        (Flags::FLAGGED, Flag::Flagged),
        (Flags::DELETED, Flag::Deleted),
        (Flags::DRAFT, Flag::Draft),
    ]
    .into_iter()
    .filter(|(f, _)| flags.contains(*f))
    .map(|(_, n)| n)
    .collect()
}

/// The FLAGS response of a mailbox: system flags and its keywords.
pub(crate) fn mailbox_flags(keywords: &[String]) -> Vec<Flag> {
    let mut out = super::selected::system_flags();
    out.extend(
        keywords
            .iter()
            .filter_map(|k| Atom::try_from(k.as_str()).ok())
            .map(Flag::Keyword),
    );
    out
}

/// Splits client flags into system flags and keywords. `\Recent` and other
/// `\` extension flags cannot be stored and are ignored (RFC 9051 2.3.2).
pub(crate) fn split_flags(list: &[Flag]) -> (Flags, Vec<String>) {
    let mut flags = Flags::NONE;
    let mut keywords = Vec::new();
    for f in list {
        match f {
            Flag::Seen => flags = flags.with(Flags::SEEN),
            Flag::Answered => flags = flags.with(Flags::ANSWERED),
            Flag::Flagged => flags = flags.with(Flags::FLAGGED),
            Flag::Deleted => flags = flags.with(Flags::DELETED),
            Flag::Draft => flags = flags.with(Flags::DRAFT),
            Flag::Keyword(a) => keywords.push(a.as_str().to_ascii_lowercase()),
            Flag::Extension(_) => {}
        }
    }
    keywords.sort();
    keywords.dedup();
    (flags, keywords)
}

/// An INTERNALDATE or SAVEDATE value.
pub(crate) fn datetime(unix: i64, zone_minutes: i16) -> DateTime {
    DateTime::from_unix_seconds(unix, zone_minutes)
}

fn address(a: &moxide_proto::message::Address) -> Address {
    Address {
        name: a.name.clone(),
        adl: a.adl.clone(),
        mailbox: a.mailbox.clone(),
        host: a.host.clone(),
    }
}

fn addresses(list: &[moxide_proto::message::Address]) -> Vec<Address> {
    list.iter().map(address).collect()
}

/// The ENVELOPE of a message (RFC 9051 7.5.2): Sender and Reply-To default
/// to From.
pub(crate) fn envelope(e: &MsgEnvelope) -> Envelope {
    Envelope {
        date: e.date.clone(),
        subject: e.subject.clone(),
        from: addresses(&e.from),
        sender: addresses(e.sender_or_from()),
        reply_to: addresses(e.reply_to_or_from()),
        to: addresses(&e.to),
        cc: addresses(&e.cc),
        bcc: addresses(&e.bcc),
        in_reply_to: e.in_reply_to.clone(),
        message_id: e.message_id.clone(),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn upper(b: &[u8]) -> String {
    text(b).to_ascii_uppercase()
}

fn params(list: &[moxide_proto::message::Param]) -> Vec<(String, String)> {
    list.iter()
        .map(|p| (upper(&p.name), text(&p.value)))
        .collect()
}

fn tail(p: &Part) -> ExtTail {
    ExtTail {
        disposition: p.disposition.as_ref().map(|d| Disposition {
            kind: upper(&d.kind),
            params: params(&d.params),
        }),
        language: p.language.iter().map(|l| text(l)).collect(),
        location: p.location.clone(),
        extensions: Vec::new(),
    }
}

fn fields(p: &Part) -> BodyFields {
    BodyFields {
        params: params(&p.content_type.params),
        id: p.id.clone(),
        description: p.description.clone(),
        encoding: upper(p.encoding_or_default()),
        octets: u32::try_from(p.size()).unwrap_or(u32::MAX),
    }
}

/// BODY (`ext` false) or BODYSTRUCTURE (`ext` true) of a part.
pub(crate) fn body(p: &Part, ext: bool) -> Body {
    let single_ext = || {
        ext.then(|| SingleExt {
            md5: p.md5.clone(),
            tail: tail(p),
        })
    };
    match &p.kind {
        PartKind::Multipart(children) => Body::Multipart {
            parts: children.iter().map(|c| body(c, ext)).collect(),
            subtype: upper(&p.content_type.subtype),
            ext: ext.then(|| MultiExt {
                params: params(&p.content_type.params),
                tail: tail(p),
            }),
        },
        PartKind::Message(nested) => Body::Message {
            subtype: upper(&p.content_type.subtype),
            fields: fields(p),
            envelope: Box::new(envelope(&nested.envelope)),
            body: Box::new(body(&nested.root, ext)),
            lines: p.lines,
            ext: single_ext(),
        },
        PartKind::Basic if p.content_type.is_type("text") => Body::Text {
            subtype: upper(&p.content_type.subtype),
            fields: fields(p),
            lines: p.lines,
            ext: single_ext(),
        },
        PartKind::Basic => {
            let (media_type, subtype) = if p.content_type.is_encapsulated_message() {
                // Not split (e.g. base64-encoded): the message form would
                // need an envelope; describe it as opaque data.
                ("APPLICATION".to_string(), "OCTET-STREAM".to_string())
            } else {
                (
                    upper(&p.content_type.media_type),
                    upper(&p.content_type.subtype),
                )
            };
            Body::Basic {
                media_type,
                subtype,
                fields: fields(p),
                ext: single_ext(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip() {
        let list = vec![
            Flag::Seen,
            Flag::Deleted,
            Flag::Keyword(Atom::try_from("$Junk").unwrap()),
            Flag::Extension(Atom::try_from("Recent").unwrap()),
        ];
        let (f, k) = split_flags(&list);
        assert_eq!(f, Flags::SEEN.with(Flags::DELETED));
        assert_eq!(k, vec!["$junk".to_string()]);
        let back = flag_fetch(f, &k);
        assert_eq!(back.len(), 3);
        assert_eq!(back[0], FlagFetch::Flag(Flag::Seen));
    }

    #[test]
    fn bodystructure_of_simple_text() {
        let msg =
            b"Subject: hi\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhello\r\nworld\r\n";
        let st = moxide_proto::message::MessageStructure::parse(msg);
        match body(st.root(), true) {
            Body::Text {
                subtype,
                fields,
                lines,
                ..
            } => {
                assert_eq!(subtype, "PLAIN");
                assert_eq!(fields.params, vec![("CHARSET".into(), "utf-8".into())]);
                assert_eq!(fields.encoding, "7BIT");
                assert_eq!(fields.octets, 14);
                assert_eq!(lines, 2);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
