//! The fast FETCH path for metadata-only requests (the bulk of what mail
//! clients ask for when they synchronise: `UID FETCH 1:* (FLAGS)`,
//! `FETCH 1:* (ENVELOPE)`): the response bytes are written straight from
//! the stored record and the stored ENVELOPE encoding, with no response
//! values built per message. The bytes are the same as the general path's
//! (`fetch_items` encoded by the protocol core); the tests check it.

use moxide_proto::imap::cmd::FetchAttr;
use moxide_proto::imap::core::Atom;
use moxide_proto::imap::core::write_number;
use moxide_storage::{Account, FetchView, Flags, FlagsView, StoreError};

use crate::imap::convert;

/// An item the fast path writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FastItem {
    Uid,
    Flags,
    ModSeq,
    Size,
    InternalDate,
    SaveDate,
    Envelope,
}

/// How a FETCH is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Only UID, FLAGS and MODSEQ: a flags-only scan of the records.
    FlagsOnly(Vec<FastItem>),
    /// Metadata from the record and the stored envelope.
    Fast(Vec<FastItem>),
    /// Anything else: the general path.
    General,
}

impl Plan {
    /// The plan for the (expanded) items of a FETCH.
    pub(crate) fn of(attrs: &[FetchAttr]) -> Plan {
        let mut items = Vec::with_capacity(attrs.len());
        for a in attrs {
            items.push(match a {
                FetchAttr::Uid => FastItem::Uid,
                FetchAttr::Flags => FastItem::Flags,
                FetchAttr::ModSeq => FastItem::ModSeq,
                FetchAttr::Rfc822Size => FastItem::Size,
                FetchAttr::InternalDate => FastItem::InternalDate,
                FetchAttr::SaveDate => FastItem::SaveDate,
                FetchAttr::Envelope => FastItem::Envelope,
                _ => return Plan::General,
            });
        }
        let flags_only = items
            .iter()
            .all(|i| matches!(i, FastItem::Uid | FastItem::Flags | FastItem::ModSeq));
        if flags_only {
            Plan::FlagsOnly(items)
        } else {
            Plan::Fast(items)
        }
    }
}

/// `FLAGS (…)`: system flags in a fixed order, then the keywords that are
/// atoms (as `convert::flag_fetch`).
fn write_flags<'k>(out: &mut Vec<u8>, flags: Flags, keywords: impl Iterator<Item = &'k str>) {
    out.extend_from_slice(b"FLAGS (");
    let mut first = true;
    let mut sep = |out: &mut Vec<u8>| {
        if !first {
            out.push(b' ');
        }
        first = false;
    };
    for (f, name) in [
        (Flags::SEEN, &b"\\Seen"[..]),
        (Flags::ANSWERED, b"\\Answered"),
        (Flags::FLAGGED, b"\\Flagged"),
        (Flags::DELETED, b"\\Deleted"),
        (Flags::DRAFT, b"\\Draft"),
    ] {
        if flags.contains(f) {
            sep(out);
            out.extend_from_slice(name);
        }
    }
    for k in keywords {
        if Atom::try_from(k).is_ok() {
            sep(out);
            out.extend_from_slice(k.as_bytes());
        }
    }
    out.push(b')');
}

fn head(out: &mut Vec<u8>, seq: u32) {
    out.extend_from_slice(b"* ");
    write_number(out, seq);
    out.extend_from_slice(b" FETCH (");
}

/// Writes `* seq FETCH (…)` CRLF for a flags-only plan.
pub(crate) fn write_flags_only(out: &mut Vec<u8>, seq: u32, items: &[FastItem], v: &FlagsView<'_>) {
    head(out, seq);
    for (n, it) in items.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        match it {
            FastItem::Uid => {
                out.extend_from_slice(b"UID ");
                write_number(out, v.uid);
            }
            FastItem::Flags => write_flags(out, v.flags, v.keywords.iter().copied()),
            FastItem::ModSeq => {
                out.extend_from_slice(b"MODSEQ (");
                write_number(out, v.modseq);
                out.push(b')');
            }
            // Not in a flags-only plan (see `Plan::of`).
            FastItem::Size | FastItem::InternalDate | FastItem::SaveDate | FastItem::Envelope => {}
        }
    }
    out.extend_from_slice(b")\r\n");
}

/// Whether a fast plan's items include ENVELOPE (the scan then reads the
/// stored envelopes too).
pub(crate) fn wants_envelope(items: &[FastItem]) -> bool {
    items.contains(&FastItem::Envelope)
}

/// Writes `* seq FETCH (…)` CRLF for a fast plan. The ENVELOPE comes from
/// the stored encoding the scan read (`utf8`: the session has UTF-8
/// enabled), or from the structure for a message stored without one.
pub(crate) fn write_fast(
    out: &mut Vec<u8>,
    seq: u32,
    items: &[FastItem],
    acct: &Account,
    m: &FetchView<'_>,
    utf8: bool,
) -> Result<(), StoreError> {
    let start = out.len();
    head(out, seq);
    for (n, it) in items.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        match it {
            FastItem::Uid => {
                out.extend_from_slice(b"UID ");
                write_number(out, m.uid);
            }
            FastItem::Flags => write_flags(out, m.flags, m.keywords.iter().copied()),
            FastItem::ModSeq => {
                out.extend_from_slice(b"MODSEQ (");
                write_number(out, m.modseq);
                out.push(b')');
            }
            FastItem::Size => {
                out.extend_from_slice(b"RFC822.SIZE ");
                write_number(out, m.size);
            }
            FastItem::InternalDate => {
                out.extend_from_slice(b"INTERNALDATE ");
                convert::datetime(m.received, m.received_tz).write(out);
            }
            FastItem::SaveDate => {
                out.extend_from_slice(b"SAVEDATE ");
                if m.saved != 0 {
                    convert::datetime(m.saved, 0).write(out);
                } else {
                    out.extend_from_slice(b"NIL");
                }
            }
            FastItem::Envelope => {
                out.extend_from_slice(b"ENVELOPE ");
                match &m.envelope {
                    Some(e) => out.extend_from_slice(e.bytes(utf8)),
                    None => match acct.structure(&m.to_message()) {
                        Ok(st) => out.extend_from_slice(&st.envelope().encode_imap(utf8)),
                        Err(e) => {
                            out.truncate(start);
                            return Err(e);
                        }
                    },
                }
            }
        }
    }
    out.extend_from_slice(b")\r\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use moxide_proto::imap::core::Ctx;
    use moxide_proto::imap::resp::{Data, Response};
    use moxide_storage::{NewAccount, NewMessage, Store, StoreConfig};

    use super::super::fetch_items::{Loaded, items};
    use super::*;

    fn attrs() -> Vec<FetchAttr> {
        vec![
            FetchAttr::Uid,
            FetchAttr::Flags,
            FetchAttr::ModSeq,
            FetchAttr::Rfc822Size,
            FetchAttr::InternalDate,
            FetchAttr::SaveDate,
            FetchAttr::Envelope,
        ]
    }

    /// The fast writers produce exactly what the general path encodes.
    #[test]
    fn fast_path_bytes_equal_the_general_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let acct = store.create_account("a", NewAccount::default()).unwrap();
        let inbox = acct.mailbox("INBOX").unwrap();
        let msgs: [(&str, Flags, Vec<String>, i64); 4] = [
            (
                "From: \"A \\\"q\\\"\" <a@example.org>\r\nSubject: plain\r\nDate: Tue, 02 Jan 2024 10:00:00 +0100\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n",
                Flags::NONE,
                vec![],
                0,
            ),
            (
                "Subject: caf\u{e9} \"x\"\r\nTo: g: a@b, c@d;\r\nCc: undisclosed-recipients:;\r\n\r\n",
                Flags::SEEN.with(Flags::DRAFT).with(Flags::DELETED),
                vec!["$Forwarded".into(), "work".into()],
                1_700_000_000,
            ),
            ("", Flags::ANSWERED.with(Flags::FLAGGED), vec![], 5),
            (
                "Subject: =?utf-8?q?caf=C3=A9?=\r\nReply-To: r@x\r\nSender: s@x\r\n\r\nx",
                Flags::NONE,
                vec!["$label1".into()],
                0,
            ),
        ];
        for (data, flags, keywords, saved) in &msgs {
            acct.deliver(
                inbox.id,
                &NewMessage {
                    data: data.as_bytes(),
                    flags: *flags,
                    keywords: keywords.clone(),
                    received: 1_700_000_000,
                    received_tz: -300,
                    saved: *saved,
                    ..Default::default()
                },
            )
            .unwrap();
        }
        let records = acct.records_in(inbox.id, 1..=u32::MAX).unwrap();
        assert_eq!(records.len(), 4);
        for utf8 in [false, true] {
            let ctx = Ctx {
                utf8,
                literal_plus: false,
            };
            let all = attrs();
            for attrs in [&all[..], &all[6..], &all[..3], &all[1..2]] {
                let (Plan::Fast(fast) | Plan::FlagsOnly(fast)) = Plan::of(attrs) else {
                    panic!("not a fast plan: {attrs:?}");
                };
                let mut seen = 0;
                acct.scan_fetch(inbox.id, 1..=u32::MAX, wants_envelope(&fast), |v| {
                    let m = &records[seen];
                    seen += 1;
                    assert_eq!(v.to_message(), *m);
                    let seq = m.uid + 10;
                    let mut want = Vec::new();
                    let its = items(&mut Loaded::new(&acct, m), attrs).ok().unwrap();
                    Response::Data(Data::Fetch { seq, items: its }).encode(&mut want, ctx);
                    let mut got = Vec::new();
                    write_fast(&mut got, seq, &fast, &acct, v, utf8).unwrap();
                    assert_eq!(
                        String::from_utf8_lossy(&got),
                        String::from_utf8_lossy(&want),
                        "utf8 {utf8} uid {} {attrs:?}",
                        m.uid
                    );
                    ControlFlow::Continue(())
                })
                .unwrap();
                assert_eq!(seen, records.len());
            }
        }
        // The flags-only writer, from the flags scan.
        let mut got = Vec::new();
        let items = [FastItem::Uid, FastItem::Flags, FastItem::ModSeq];
        acct.scan_flags(inbox.id, 1..=u32::MAX, |v| {
            write_flags_only(&mut got, v.uid, &items, &v);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            "* 1 FETCH (UID 1 FLAGS () MODSEQ (3))\r\n\
             * 2 FETCH (UID 2 FLAGS (\\Seen \\Deleted \\Draft $forwarded work) MODSEQ (4))\r\n\
             * 3 FETCH (UID 3 FLAGS (\\Answered \\Flagged) MODSEQ (5))\r\n\
             * 4 FETCH (UID 4 FLAGS ($label1) MODSEQ (6))\r\n"
        );
    }

    #[test]
    fn plans() {
        assert_eq!(
            Plan::of(&[FetchAttr::Uid, FetchAttr::Flags]),
            Plan::FlagsOnly(vec![FastItem::Uid, FastItem::Flags])
        );
        assert_eq!(
            Plan::of(&[FetchAttr::Envelope]),
            Plan::Fast(vec![FastItem::Envelope])
        );
        assert_eq!(
            Plan::of(&[FetchAttr::Flags, FetchAttr::BodyStructure]),
            Plan::General
        );
    }
}
