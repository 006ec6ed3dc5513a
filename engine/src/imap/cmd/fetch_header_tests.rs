//! HEADER, HEADER.FIELDS (…), HEADER.FIELDS.NOT (…) and RFC822.HEADER of
//! the message itself read only the message through the end of its
//! header; these tests prove the bytes are those the whole-message path
//! gives, for messages with and without a stored prefix, without a
//! header/body separator, empty, large, and with the header ending at
//! common buffer sizes.

use moxide_proto::imap::cmd::FetchAttr;
use moxide_proto::imap::core::{Ctx, Section, SectionText};
use moxide_proto::imap::resp::{Data, Response};
use moxide_storage::{Account, Message, NewAccount, NewMessage, Store, StoreConfig};

use super::{Loaded, items};

fn body_section(text: Option<SectionText>, partial: Option<(u64, u64)>) -> FetchAttr {
    FetchAttr::BodySection {
        peek: true,
        section: Section {
            part: Vec::new(),
            text,
        },
        partial,
    }
}

fn fields(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// Header requests as clients send them (Thunderbird's sync among them).
fn header_attrs() -> Vec<Vec<FetchAttr>> {
    let sync = fields(&[
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Date",
        "Message-ID",
        "Priority",
        "X-Priority",
        "References",
        "Newsgroups",
        "In-Reply-To",
        "Content-Type",
        "Reply-To",
    ]);
    vec![
        vec![
            FetchAttr::Uid,
            FetchAttr::Rfc822Size,
            FetchAttr::Flags,
            body_section(Some(SectionText::HeaderFields(sync)), None),
        ],
        vec![body_section(
            Some(SectionText::HeaderFieldsNot(fields(&[
                "Subject", "Received",
            ]))),
            None,
        )],
        vec![body_section(Some(SectionText::Header), None)],
        vec![body_section(Some(SectionText::Header), Some((3, 20)))],
        vec![body_section(
            Some(SectionText::HeaderFields(fields(&["subject"]))),
            Some((0, 5)),
        )],
        vec![FetchAttr::Rfc822Header],
    ]
}

/// The message's items encoded as the server writes them.
fn encode(l: &mut Loaded<'_>, attrs: &[FetchAttr]) -> Vec<u8> {
    let its = items(l, attrs).ok().unwrap();
    let mut out = Vec::new();
    Response::Data(Data::Fetch { seq: 1, items: its }).encode(
        &mut out,
        Ctx {
            utf8: false,
            literal_plus: false,
        },
    );
    out
}

/// A header whose end (through the blank line) is exactly `end` bytes.
fn header_of_len(end: usize) -> String {
    let mut h = String::from("Subject: boundary\r\n");
    let mut i = 0;
    while h.len() + 2 < end {
        let room = end - 2 - h.len();
        let line = format!("X-Fill-{i}: ");
        if room < line.len() + 3 {
            // Too little room for another field: pad the last one.
            h.insert_str(h.len() - 2, &"y".repeat(room));
            break;
        }
        let pad = (room - line.len() - 2).min(200);
        h.push_str(&line);
        h.push_str(&"z".repeat(pad));
        h.push_str("\r\n");
        i += 1;
    }
    h.push_str("\r\n");
    assert_eq!(h.len(), end);
    h
}

fn messages() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut big = String::from("From: a@example.org\r\nSubject: large\r\n\r\n");
    while big.len() < 3 << 20 {
        big.push_str("a line of a large body, Subject: not a header\r\n");
    }
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (b"".to_vec(), b"".to_vec()),
        (b"Subject: no separator\r\nFrom: a@example.org".to_vec(), b"".to_vec()),
        (b"Subject: only a header\r\n\r\n".to_vec(), b"".to_vec()),
        (b"no header at all, one line".to_vec(), b"".to_vec()),
        (b"\r\nbody after an empty header\r\n".to_vec(), b"".to_vec()),
        (b"Subject: bare LF\nTo: b@example.org\n\nbody\n".to_vec(), b"".to_vec()),
        (
            b"Subject: with prefix\r\nReceived: from file\r\n\r\nbody\r\n".to_vec(),
            b"Received: from prefix\r\nAuthentication-Results: x; none\r\n".to_vec(),
        ),
        (big.into_bytes(), b"X-Prefix: 1\r\n".to_vec()),
        (
            b"Subject: outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n"
                .to_vec(),
            b"".to_vec(),
        ),
    ];
    for end in [4096, 8192, 65536] {
        let mut m = header_of_len(end).into_bytes();
        m.extend_from_slice(b"body\r\n");
        out.push((m, Vec::new()));
    }
    out
}

fn deliver_all(acct: &Account) -> Vec<Message> {
    let inbox = acct.mailbox("INBOX").unwrap();
    for (data, prefix) in messages() {
        acct.deliver(
            inbox.id,
            &NewMessage {
                data: &data,
                prefix,
                received: 1_700_000_000,
                ..Default::default()
            },
        )
        .unwrap();
    }
    acct.records_in(inbox.id, 1..=u32::MAX).unwrap()
}

/// The header path gives the bytes of the whole-message path and reads
/// only through the end of the header.
#[test]
fn header_sections_equal_the_whole_message_path() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let acct = store.create_account("a", NewAccount::default()).unwrap();
    let records = deliver_all(&acct);
    assert_eq!(records.len(), messages().len());
    for m in &records {
        let whole = acct.read_message(m).unwrap();
        let end = acct.structure(m).unwrap().root().header.end;
        for attrs in header_attrs() {
            let mut head = Loaded::new(&acct, m);
            let got = encode(&mut head, &attrs);
            assert!(
                head.raw.is_none(),
                "uid {} {attrs:?} read the whole message",
                m.uid
            );
            let read = head.head.as_deref().unwrap();
            assert_eq!(read, &whole[..end as usize], "uid {} head bytes", m.uid);
            // The general path with the whole message loaded first.
            let mut full = Loaded::new(&acct, m);
            encode(&mut full, &[body_section(None, None)]);
            assert!(full.raw.is_some());
            let want = encode(&mut full, &attrs);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "uid {} {attrs:?}",
                m.uid
            );
        }
    }
}

/// Known answers: the header path's exact bytes for the edge cases.
#[test]
fn header_sections_known_answers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let acct = store.create_account("a", NewAccount::default()).unwrap();
    let records = deliver_all(&acct);
    let subject = vec![body_section(
        Some(SectionText::HeaderFields(fields(&["Subject"]))),
        None,
    )];
    let header = vec![body_section(Some(SectionText::Header), None)];
    let got = |i: usize, attrs: &[FetchAttr]| {
        String::from_utf8(encode(&mut Loaded::new(&acct, &records[i]), attrs)).unwrap()
    };
    // Empty message: empty header, and no fields.
    assert_eq!(got(0, &header), "* 1 FETCH (BODY[HEADER] \"\")\r\n");
    assert_eq!(
        got(0, &subject),
        "* 1 FETCH (BODY[HEADER.FIELDS (Subject)] \"\")\r\n"
    );
    // No separator: the whole message is the header.
    assert_eq!(
        got(1, &header),
        "* 1 FETCH (BODY[HEADER] {42}\r\nSubject: no separator\r\nFrom: a@example.org)\r\n"
    );
    // RFC 9051 6.4.5: no blank line is added for a message that has none.
    assert_eq!(
        got(1, &subject),
        "* 1 FETCH (BODY[HEADER.FIELDS (Subject)] {23}\r\nSubject: no separator\r\n)\r\n"
    );
    // A stored prefix is part of the header.
    assert_eq!(
        got(
            6,
            &[body_section(
                Some(SectionText::HeaderFields(fields(&["Received"]))),
                None
            )]
        ),
        "* 1 FETCH (BODY[HEADER.FIELDS (Received)] {46}\r\nReceived: from prefix\r\nReceived: from file\r\n\r\n)\r\n"
    );
    // The large message: only its 39-byte header (plus the 13-byte
    // prefix) is read.
    let mut l = Loaded::new(&acct, &records[7]);
    assert_eq!(
        String::from_utf8(encode(&mut l, &subject)).unwrap(),
        "* 1 FETCH (BODY[HEADER.FIELDS (Subject)] {18}\r\nSubject: large\r\n\r\n)\r\n"
    );
    assert_eq!(l.head.as_deref().map(<[u8]>::len), Some(13 + 39));
}
