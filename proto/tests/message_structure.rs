//! MessageStructure: part tree, spans, envelope and the binary codec.

use moxide_proto::message::{Address, MessageStructure, Part, PartKind, StructureError};

fn slice<'a>(msg: &'a [u8], part: &Part) -> (&'a [u8], &'a [u8]) {
    (
        part.header.slice(msg).expect("header in range"),
        part.body.slice(msg).expect("body in range"),
    )
}

fn ty(part: &Part) -> String {
    format!(
        "{}/{}",
        String::from_utf8_lossy(&part.content_type.media_type),
        String::from_utf8_lossy(&part.content_type.subtype)
    )
}

fn roundtrip(s: &MessageStructure) -> Vec<u8> {
    let enc = s.encode();
    assert_eq!(MessageStructure::decode(&enc).as_ref(), Ok(s));
    enc
}

const SIMPLE: &[u8] = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example>\r\n\
Subject: Re: afternoon meeting\r\n\
To: mooch@owatagu.siam.edu.example\r\n\
Message-Id: <B27397-0100000@Blurdybloop.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

#[test]
fn simple_text_message() {
    let s = MessageStructure::parse(SIMPLE);
    let root = s.root();
    let (h, b) = slice(SIMPLE, root);
    assert!(h.starts_with(b"Date: "));
    assert!(h.ends_with(b"US-ASCII\r\n\r\n"));
    assert_eq!(
        b,
        b"Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n"
    );
    assert_eq!(root.header.start, 0);
    assert_eq!(root.body.end, SIMPLE.len() as u64);
    assert_eq!(ty(root), "TEXT/PLAIN");
    assert_eq!(root.content_type.param("charset"), Some(&b"US-ASCII"[..]));
    assert_eq!(root.content_type.params[0].name, b"CHARSET");
    assert_eq!(root.size(), 55);
    assert_eq!(root.lines, 1);
    assert_eq!(root.encoding_or_default(), b"7BIT");
    assert_eq!(root.kind, PartKind::Basic);
    assert_eq!(s.message_id(), Some("B27397-0100000@Blurdybloop.example"));
    assert_eq!(s.date(), Some(760_686_745));
    assert_eq!(s.base_subject().text, "afternoon meeting");
    assert!(s.base_subject().is_reply_or_forward);
    let env = s.envelope();
    assert_eq!(
        env.from,
        vec![Address::mailbox(
            Some(b"Fred Foobar".to_vec()),
            b"foobar".to_vec(),
            b"Blurdybloop.example".to_vec()
        )]
    );
    assert_eq!(env.sender_or_from(), &env.from[..]);
    assert_eq!(env.to[0].mailbox.as_deref(), Some(&b"mooch"[..]));
    assert!(env.cc.is_empty() && env.bcc.is_empty());
    // Section 1 of a non-multipart message is the body itself.
    assert_eq!(s.part(&[1]), Some(root));
    assert_eq!(s.part(&[2]), None);
    let enc = roundtrip(&s);
    let addr_bytes = |list: &[Address]| -> usize {
        list.iter()
            .map(|a| {
                [&a.name, &a.adl, &a.mailbox, &a.host]
                    .iter()
                    .map(|f| f.as_ref().map_or(0, Vec::len))
                    .sum::<usize>()
            })
            .sum()
    };
    let strings = [&env.date, &env.subject, &env.message_id]
        .iter()
        .map(|v| v.as_ref().map_or(0, Vec::len))
        .sum::<usize>()
        + addr_bytes(&env.from)
        + addr_bytes(&env.to);
    // A few dozen bytes of structure beyond the envelope strings.
    assert!(
        enc.len() <= strings + 32,
        "encoded {} bytes, strings {strings}",
        enc.len()
    );
}

#[test]
fn default_content_type_and_no_body() {
    let msg = b"Subject: x\r\nFrom: a@b";
    let s = MessageStructure::parse(msg);
    let root = s.root();
    assert_eq!(ty(root), "text/plain");
    assert_eq!(root.content_type.param("charset"), Some(&b"us-ascii"[..]));
    assert_eq!(root.header.end, msg.len() as u64);
    assert_eq!(root.body.start, msg.len() as u64);
    assert!(root.body.is_empty());
    assert_eq!(root.lines, 0);
    assert_eq!(s.envelope().from[0].host.as_deref(), Some(&b"b"[..]));
    roundtrip(&s);

    let msg = b"Subject: x\r\n\r\n";
    let s = MessageStructure::parse(msg);
    assert_eq!(s.root().header.end, 14);
    assert!(s.root().body.is_empty());
    roundtrip(&s);

    let s = MessageStructure::parse(b"");
    assert_eq!(s.root().header.len(), 0);
    assert_eq!(s.message_id(), None);
    assert_eq!(s.date(), None);
    roundtrip(&s);
}

const NESTED: &[u8] = b"From: a@example.org\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
This is the preamble.\r\n\
--outer\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Line one\r\n\
--outer is not a boundary here\r\n\
\x20--outer\r\n\
--outerx\r\n\
last line\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=inner\r\n\
\r\n\
--inner\r\n\
\r\n\
plain\r\n\
--inner\r\n\
Content-Type: text/html\r\n\
\r\n\
<p>html</p>\r\n\
--inner--\r\n\
inner epilogue\r\n\
--outer\r\n\
Content-Type: message/rfc822\r\n\
Content-Disposition: attachment; filename=\"fwd.eml\"; size=10\r\n\
Content-ID: <cid@x>\r\n\
Content-Description: forwarded\r\n\
Content-Language: en, de\r\n\
Content-Location: http://x.test/a\r\n\
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\
\r\n\
Subject: inner message\r\n\
From: \"B, C\" <b@example.net>\r\n\
Content-Type: multipart/mixed; boundary=deep\r\n\
\r\n\
--deep\r\n\
Content-Type: application/octet-stream\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAAA\r\n\
--deep\r\n\
\r\n\
text\r\n\
--deep--\r\n\
--outer--\r\n\
epilogue\r\n";

#[test]
fn nested_multipart_with_message_rfc822() {
    let s = MessageStructure::parse(NESTED);
    let root = s.root();
    assert_eq!(ty(root), "multipart/mixed");
    assert_eq!(root.content_type.param("boundary"), Some(&b"outer"[..]));
    let children = root.children();
    assert_eq!(children.len(), 3);

    let p1 = s.part(&[1]).expect("part 1");
    let (h, b) = slice(NESTED, p1);
    assert_eq!(
        h,
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
    );
    assert_eq!(
        b,
        b"Line one\r\n--outer is not a boundary here\r\n --outer\r\n--outerx\r\nlast line"
    );
    assert_eq!(p1.lines, 5);
    assert_eq!(p1.encoding.as_deref(), Some(&b"quoted-printable"[..]));

    let p2 = s.part(&[2]).expect("part 2");
    assert_eq!(ty(p2), "multipart/alternative");
    let p21 = s.part(&[2, 1]).expect("2.1");
    assert_eq!(slice(NESTED, p21), (&b"\r\n"[..], &b"plain"[..]));
    assert_eq!(ty(p21), "text/plain");
    assert_eq!(p21.content_type.param("charset"), Some(&b"us-ascii"[..]));
    let p22 = s.part(&[2, 2]).expect("2.2");
    assert_eq!(slice(NESTED, p22).1, b"<p>html</p>");
    assert_eq!(p22.content_type.params, vec![]);
    assert_eq!(s.part(&[2, 3]), None);

    let p3 = s.part(&[3]).expect("part 3");
    assert_eq!(ty(p3), "message/rfc822");
    assert_eq!(p3.id.as_deref(), Some(&b"<cid@x>"[..]));
    assert_eq!(p3.description.as_deref(), Some(&b"forwarded"[..]));
    assert_eq!(p3.language, vec![b"en".to_vec(), b"de".to_vec()]);
    assert_eq!(p3.location.as_deref(), Some(&b"http://x.test/a"[..]));
    assert_eq!(p3.md5.as_deref(), Some(&b"Q2hlY2sgSW50ZWdyaXR5IQ=="[..]));
    let disp = p3.disposition.as_ref().expect("disposition");
    assert_eq!(disp.kind, b"attachment");
    assert_eq!(disp.params.len(), 2);
    assert_eq!(disp.params[0].value, b"fwd.eml");
    assert_eq!(p3.lines, 13);
    let PartKind::Message(nested) = &p3.kind else {
        panic!("part 3 is not a message: {:?}", p3.kind)
    };
    assert_eq!(
        nested.envelope.subject.as_deref(),
        Some(&b"inner message"[..])
    );
    assert_eq!(nested.envelope.from[0].name.as_deref(), Some(&b"B, C"[..]));
    // 3.HEADER and 3.TEXT are the embedded message's header and text.
    let (h, b) = slice(NESTED, &nested.root);
    assert!(h.starts_with(b"Subject: inner message\r\n"));
    assert!(h.ends_with(b"boundary=deep\r\n\r\n"));
    assert!(b.starts_with(b"--deep\r\n"));
    assert!(b.ends_with(b"--deep--"));
    assert_eq!(nested.root.header.start, p3.body.start);

    let p31 = s.part(&[3, 1]).expect("3.1");
    assert_eq!(ty(p31), "application/octet-stream");
    assert_eq!(slice(NESTED, p31).1, b"AAAA");
    assert_eq!(p31.lines, 0);
    let p32 = s.part(&[3, 2]).expect("3.2");
    assert_eq!(slice(NESTED, p32).1, b"text");
    assert_eq!(s.part(&[1, 1]), None);
    assert_eq!(s.part(&[0]), None);
    roundtrip(&s);
}

#[test]
fn missing_final_boundary_and_lf_only() {
    let msg = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\none\n--b\n\ntwo\nthree\n";
    let s = MessageStructure::parse(msg);
    let c = s.root().children();
    assert_eq!(c.len(), 2);
    assert_eq!(
        slice(msg, &c[0]),
        (&b"Content-Type: text/plain\n\n"[..], &b"one"[..])
    );
    assert_eq!(slice(msg, &c[1]), (&b"\n"[..], &b"two\nthree\n"[..]));
    assert_eq!(c[1].lines, 2);
    assert_eq!(c[1].body.end, msg.len() as u64);
    roundtrip(&s);
}

#[test]
fn digest_children_default_to_message() {
    let msg = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nbody\r\n--d--\r\n";
    let s = MessageStructure::parse(msg);
    let p1 = s.part(&[1]).expect("1");
    assert_eq!(ty(p1), "message/rfc822");
    let PartKind::Message(nested) = &p1.kind else {
        panic!("not a message")
    };
    assert_eq!(nested.envelope.subject.as_deref(), Some(&b"one"[..]));
    assert_eq!(s.part(&[1, 1]).map(|p| slice(msg, p).1), Some(&b"body"[..]));
    roundtrip(&s);
}

#[test]
fn unsplittable_parts_stay_leaves() {
    // Multipart without boundary, or without any delimiter line.
    for msg in [
        &b"Content-Type: multipart/mixed\r\n\r\n--x\r\nhi\r\n"[..],
        &b"Content-Type: multipart/mixed; boundary=q\r\n\r\n--x\r\nhi\r\n"[..],
        &b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA==\r\n"[..],
    ] {
        let s = MessageStructure::parse(msg);
        assert_eq!(s.root().kind, PartKind::Basic);
        roundtrip(&s);
    }
}

#[test]
fn invalid_content_type_uses_default() {
    let msg = b"Content-Type: garbage\r\n\r\nx";
    let s = MessageStructure::parse(msg);
    assert_eq!(ty(s.root()), "text/plain");
    assert_eq!(
        s.root().content_type.param("charset"),
        Some(&b"us-ascii"[..])
    );
}

#[test]
fn threading_fields() {
    let msg = b"Message-ID: <m3@x>\r\nIn-Reply-To: <m2@x>\r\nReferences: <m1@x>\r\n <m2@x>\r\nSubject: =?utf-8?q?Re=3A_Fwd=3A_caf=C3=A9?=\r\n\r\n";
    let s = MessageStructure::parse(msg);
    assert_eq!(s.message_id(), Some("m3@x"));
    assert_eq!(s.references(), &["m1@x".to_string(), "m2@x".to_string()]);
    assert_eq!(s.in_reply_to(), &["m2@x".to_string()]);
    assert_eq!(s.thread_references(), s.references());
    assert_eq!(s.base_subject().text, "café");
    roundtrip(&s);

    let s = MessageStructure::parse(b"In-Reply-To: <a@x> <b@x>\r\n\r\n");
    assert_eq!(s.thread_references(), &["a@x".to_string()]);
}

#[test]
fn decode_rejects_corrupt_data() {
    let s = MessageStructure::parse(NESTED);
    let enc = s.encode();
    assert_eq!(
        MessageStructure::decode(&[]),
        Err(StructureError::Truncated)
    );
    assert_eq!(
        MessageStructure::decode(&[9]),
        Err(StructureError::UnknownVersion(9))
    );
    // Every strict prefix fails, and trailing bytes are rejected.
    for n in 0..enc.len() {
        assert!(MessageStructure::decode(&enc[..n]).is_err(), "prefix {n}");
    }
    let mut longer = enc.clone();
    longer.push(0);
    assert_eq!(
        MessageStructure::decode(&longer),
        Err(StructureError::TrailingBytes(1))
    );
}
