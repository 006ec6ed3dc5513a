//! Known-answer tests: client lines from the examples of RFC 9051, RFC 7162
//! and RFC 5256 (and a few extensions), parsed to exact values, and some
//! encoded back to exact bytes.

use super::*;
use crate::imap::core::{Date, DateTime, Flag, Section, SectionText};

fn parse(line: &[u8]) -> Command {
    match parse_command(line, Ctx::REV1) {
        Ok((n, c)) => {
            assert_eq!(n, line.len(), "consumed");
            c
        }
        Err(e) => panic!("{:?}: {e:?}", String::from_utf8_lossy(line)),
    }
}

fn body(line: &[u8]) -> CommandBody {
    parse(line).body
}

fn encode(c: &Command) -> Vec<u8> {
    let mut out = Vec::new();
    c.encode(&mut out, Ctx::REV1);
    out
}

fn date(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).unwrap()
}

fn atom(s: &str) -> Atom {
    Atom::try_from(s).unwrap()
}

fn search(line: &[u8]) -> SearchCommand {
    match body(line) {
        CommandBody::Search(s) => s,
        b => panic!("not SEARCH: {b:?}"),
    }
}

fn fetch(line: &[u8]) -> FetchCommand {
    match body(line) {
        CommandBody::Fetch(f) => f,
        b => panic!("not FETCH: {b:?}"),
    }
}

#[test]
fn rfc9051_any_and_auth_state() {
    let c = parse(b"abcd CAPABILITY\r\n");
    assert_eq!(c.tag.as_str(), "abcd");
    assert_eq!(c.body, CommandBody::Capability);
    assert_eq!(c.body.state(), StateReq::Any);
    assert_eq!(body(b"a002 NOOP\r\n"), CommandBody::Noop);
    assert_eq!(body(b"A023 LOGOUT\r\n"), CommandBody::Logout);
    assert_eq!(body(b"a001 STARTTLS\r\n"), CommandBody::StartTls);
    assert_eq!(body(b"a047 NAMESPACE\r\n"), CommandBody::Namespace);
    assert_eq!(body(b"A341 CLOSE\r\n"), CommandBody::Close);
    assert_eq!(body(b"A342 UNSELECT\r\n"), CommandBody::Unselect);
    assert_eq!(body(b"A202 EXPUNGE\r\n"), CommandBody::Expunge);
    assert_eq!(body(b"FXXZ CHECK\r\n"), CommandBody::Check);
    assert_eq!(body(b"A001 IDLE\r\n"), CommandBody::Idle);
    assert_eq!(
        body(b"t1 ENABLE IMAP4rev2\r\n"),
        CommandBody::Enable(vec![atom("IMAP4rev2")])
    );
    assert_eq!(
        body(b"A932 EXAMINE blurdybloop\r\n"),
        CommandBody::Examine {
            mailbox: Mailbox::new("blurdybloop"),
            params: SelectParams::default()
        }
    );
    let c = parse(b"A142 SELECT INBOX\r\n");
    assert_eq!(c.body.name(), "SELECT");
    assert_eq!(c.body.state(), StateReq::Authenticated);
    assert_eq!(encode(&c), b"A142 SELECT INBOX\r\n");
}

#[test]
fn rfc9051_list_examples() {
    let l = |line: &[u8]| match body(line) {
        CommandBody::List(l) => l,
        b => panic!("not LIST: {b:?}"),
    };
    assert_eq!(
        l(b"A682 LIST \"\" *\r\n"),
        ListCommand {
            selection: vec![],
            reference: Mailbox::new(""),
            patterns: vec!["*".into()],
            returns: vec![]
        }
    );
    assert_eq!(
        l(b"A103 LIST /usr/staff/jones \"\"\r\n").reference,
        Mailbox::new("/usr/staff/jones")
    );
    assert_eq!(
        l(b"A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n"),
        ListCommand {
            selection: vec![],
            reference: Mailbox::new(""),
            patterns: vec!["%".into()],
            returns: vec![ListReturn::Children]
        }
    );
    assert_eq!(
        l(b"A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)\r\n").selection,
        vec![ListSelect::Remote]
    );
    // RFC 5819 LIST-STATUS
    assert_eq!(
        l(b"A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n").returns,
        vec![ListReturn::Status(vec![
            StatusAttr::Messages,
            StatusAttr::Unseen
        ])]
    );
    // RFC 6154 SPECIAL-USE selection
    assert_eq!(
        l(b"t3 LIST (SPECIAL-USE) \"\" \"*\"\r\n").selection,
        vec![ListSelect::SpecialUse]
    );
    // Modified UTF-7 (RFC 3501 5.1.3) decoded, UTF-8 kept in UTF-8 mode.
    assert_eq!(
        l(b"a LIST \"\" \"&ZeVnLIqe-/%\"\r\n").patterns,
        vec!["日本語/%".to_string()]
    );
    let (_, c) = parse_command("a LIST \"\" \"日本語/%\"\r\n".as_bytes(), Ctx::UTF8).unwrap();
    let CommandBody::List(u) = c.body else {
        panic!()
    };
    assert_eq!(u.patterns, vec!["日本語/%".to_string()]);
}

#[test]
fn rfc9051_append() {
    let msg = b"Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nFrom: Fred Foobar <foobar@Blurdybloop.example>\r\nSubject: afternoon meeting\r\n\r\nHello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
    let mut line =
        format!("A003 APPEND saved-messages (\\Seen) {{{}}}\r\n", msg.len()).into_bytes();
    line.extend_from_slice(msg);
    line.extend_from_slice(b"\r\n");
    assert_eq!(
        body(&line),
        CommandBody::Append {
            mailbox: Mailbox::new("saved-messages"),
            messages: vec![AppendMessage {
                flags: vec![Flag::Seen],
                date: None,
                data: AppendData::Literal(msg.to_vec())
            }]
        }
    );
    // RFC 3502 MULTIAPPEND with dates, RFC 3516 literal8, RFC 6855 UTF8.
    let c = parse(b"A1 APPEND x \"17-Jul-1996 02:44:25 -0700\" {2+}\r\nab ~{1}\r\n\0 (\\Draft) UTF8 (~{2}\r\nhi)\r\n");
    let CommandBody::Append { messages, .. } = c.body else {
        panic!()
    };
    assert_eq!(messages.len(), 3);
    assert_eq!(
        messages[0].date,
        Some(DateTime {
            date: date(1996, 7, 17),
            hour: 2,
            minute: 44,
            second: 25,
            zone_minutes: -420
        })
    );
    assert_eq!(messages[1].data, AppendData::Literal8(vec![0]));
    assert_eq!(messages[2].flags, vec![Flag::Draft]);
    assert_eq!(messages[2].data, AppendData::Utf8(b"hi".to_vec()));
    // RFC 8508 REPLACE
    assert_eq!(
        body(b"A1 UID REPLACE 4 Drafts {1}\r\nx\r\n"),
        CommandBody::Replace {
            uid: true,
            target: SeqNum::Value(4),
            mailbox: Mailbox::new("Drafts"),
            message: AppendMessage {
                flags: vec![],
                date: None,
                data: AppendData::Literal(b"x".to_vec())
            }
        }
    );
}

#[test]
fn append_pieces_for_streaming() {
    let input = b"A003 APPEND saved-messages (\\Seen) {3}\r\nabc (\\Draft) UTF8 (~{2+}\r\nhi)\r\n";
    let (rest, head) = append::append_head(Ctx::REV1)(input).unwrap();
    assert_eq!(head.tag.as_str(), "A003");
    assert_eq!(head.kind, AppendKind::Append);
    assert_eq!(head.mailbox, Mailbox::new("saved-messages"));
    let (rest, m) = append::append_message_head(Ctx::REV1)(rest).unwrap();
    assert_eq!(m.flags, vec![Flag::Seen]);
    assert_eq!(
        (m.literal.len, m.literal.non_sync, m.utf8),
        (3, false, false)
    );
    assert_eq!(&rest[..3], b"abc");
    let (rest, m) = append::append_message_head(Ctx::REV1)(&rest[3..]).unwrap();
    assert!(m.utf8 && m.literal.binary && m.literal.non_sync);
    assert_eq!(rest, b"hi)\r\n");
    let (_, h) = append::append_head(Ctx::REV1)(b"a UID REPLACE 7 x {1}\r\n").unwrap();
    assert_eq!(
        h.kind,
        AppendKind::Replace {
            uid: true,
            target: SeqNum::Value(7)
        }
    );
    assert!(matches!(
        append::append_head(Ctx::REV1)(b"a APPEN"),
        Err(nom::Err::Incomplete(_))
    ));
    assert!(matches!(
        append::append_head(Ctx::REV1)(b"a FETCH 1 FLAGS\r\n"),
        Err(nom::Err::Error(_))
    ));
    assert!(matches!(
        append::append_message_head(Ctx::REV1)(b" (\\Seen) {12"),
        Err(nom::Err::Incomplete(_))
    ));
}

#[test]
fn rfc9051_search_examples() {
    let s =
        search(b"A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n");
    assert_eq!(
        s,
        SearchCommand {
            uid: false,
            returns: Some(vec![SearchReturnOpt::Min, SearchReturnOpt::Count]),
            charset: None,
            keys: vec![
                SearchKey::Flagged,
                SearchKey::Since(date(1994, 2, 1)),
                SearchKey::Not(Box::new(SearchKey::From(b"Smith".to_vec())))
            ]
        }
    );
    let s = search(b"A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n");
    assert_eq!(s.returns, Some(vec![]));
    let s = search(b"A284 SEARCH TEXT \"string not in mailbox\"\r\n");
    assert_eq!(
        s.keys,
        vec![SearchKey::Text(b"string not in mailbox".to_vec())]
    );
    let mut line = b"A285 SEARCH CHARSET UTF-8 TEXT {12}\r\n".to_vec();
    line.extend_from_slice("отпуск".as_bytes());
    line.extend_from_slice(b"\r\n");
    let s = search(&line);
    assert_eq!(s.charset.as_deref(), Some("UTF-8"));
    assert_eq!(s.keys, vec![SearchKey::Text("отпуск".as_bytes().to_vec())]);
    let s = search(
        b"A286 SEARCH CHARSET KOI8-R (OR $ 1,3000:3021) TEXT {6}\r\n\xcf\xd4\xd0\xd5\xd3\xcb\r\n",
    );
    assert_eq!(
        s.keys,
        vec![
            SearchKey::And(vec![SearchKey::Or(
                Box::new(SearchKey::SequenceSet(SequenceSet::LastResult)),
                Box::new(SearchKey::SequenceSet(SequenceSet::Ranges(vec![
                    crate::imap::core::SeqRange::single(SeqNum::Value(1)),
                    crate::imap::core::SeqRange {
                        start: SeqNum::Value(3000),
                        end: SeqNum::Value(3021)
                    }
                ])))
            )]),
            SearchKey::Text(b"\xcf\xd4\xd0\xd5\xd3\xcb".to_vec())
        ]
    );
    // The KOI8-R string decodes to "отпуск".
    let d = decode_search_strings(&s.keys, s.charset.as_deref(), Ctx::REV1).unwrap();
    assert_eq!(d[1], SearchKey::Text("отпуск".as_bytes().to_vec()));
    let s = search(b"A301 SEARCH $ SMALLER 4096\r\n");
    assert_eq!(
        s.keys,
        vec![
            SearchKey::SequenceSet(SequenceSet::LastResult),
            SearchKey::Smaller(4096)
        ]
    );
    let s = search(b"A002 UID SEARCH RETURN (SAVE) UNDELETED SEEN UID 1:*\r\n");
    assert!(s.uid);
    assert_eq!(s.returns, Some(vec![SearchReturnOpt::Save]));
    // RFC 5032 WITHIN, RFC 8514 SAVEDATE
    let s = search(b"a SEARCH OLDER 3600 YOUNGER 60 SAVEDON 1-Jan-2020 SAVEDATESUPPORTED\r\n");
    assert_eq!(
        s.keys,
        vec![
            SearchKey::Older(3600),
            SearchKey::Younger(60),
            SearchKey::SavedOn(date(2020, 1, 1)),
            SearchKey::SaveDateSupported
        ]
    );
    let s = search(b"a SEARCH HEADER Message-ID \"<x@y>\" KEYWORD $Junk UNKEYWORD NonJunk LARGER 10 OR SEEN (DRAFT NEW)\r\n");
    assert_eq!(s.keys.len(), 5);
    assert_eq!(
        s.keys[0],
        SearchKey::Header(b"Message-ID".to_vec(), b"<x@y>".to_vec())
    );
    assert_eq!(
        s.keys[4],
        SearchKey::Or(
            Box::new(SearchKey::Seen),
            Box::new(SearchKey::And(vec![SearchKey::Draft, SearchKey::New]))
        )
    );
}

#[test]
fn rfc9051_fetch_store_copy() {
    let f = fetch(b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n");
    assert_eq!(
        f,
        FetchCommand {
            uid: false,
            set: SequenceSet::range(2, 4),
            attrs: FetchAttrs::List(vec![
                FetchAttr::Flags,
                FetchAttr::BodySection {
                    peek: false,
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::HeaderFields(vec![
                            "DATE".into(),
                            "FROM".into()
                        ]))
                    },
                    partial: None
                }
            ]),
            changed_since: None,
            vanished: false
        }
    );
    let f = fetch(b"A999 UID FETCH 4827313:4828442 FLAGS\r\n");
    assert!(f.uid);
    assert_eq!(f.attrs, FetchAttrs::List(vec![FetchAttr::Flags]));
    let f = fetch(b"a FETCH 1 BODY.PEEK[1.2.MIME]<0.2048>\r\n");
    assert_eq!(
        f.attrs,
        FetchAttrs::List(vec![FetchAttr::BodySection {
            peek: true,
            section: Section {
                part: vec![1, 2],
                text: Some(SectionText::Mime)
            },
            partial: Some((0, 2048))
        }])
    );
    let f = fetch(b"a FETCH 1:* full\r\n");
    assert_eq!(f.attrs, FetchAttrs::Macro(FetchMacro::Full));
    // RFC 3516 BINARY, RFC 8514 SAVEDATE, RFC 8970 PREVIEW
    let f = fetch(b"a FETCH 1 (BINARY.PEEK[1]<0.100> BINARY.SIZE[2] BINARY[] SAVEDATE PREVIEW (LAZY) MODSEQ)\r\n");
    assert_eq!(
        f.attrs,
        FetchAttrs::List(vec![
            FetchAttr::Binary {
                peek: true,
                part: vec![1],
                partial: Some((0, 100))
            },
            FetchAttr::BinarySize(vec![2]),
            FetchAttr::Binary {
                peek: false,
                part: vec![],
                partial: None
            },
            FetchAttr::SaveDate,
            FetchAttr::Preview { lazy: true },
            FetchAttr::ModSeq
        ])
    );
    let f = fetch(b"a FETCH 1 PREVIEW (CHANGEDSINCE 5)\r\n");
    assert_eq!(
        f.attrs,
        FetchAttrs::List(vec![FetchAttr::Preview { lazy: false }])
    );
    assert_eq!(f.changed_since, Some(5));
    assert_eq!(
        FetchMacro::Fast.expand(),
        vec![
            FetchAttr::Flags,
            FetchAttr::InternalDate,
            FetchAttr::Rfc822Size
        ]
    );
    let c = parse(b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n");
    assert_eq!(c.body.name(), "STORE");
    assert_eq!(c.body.state(), StateReq::Selected);
    assert_eq!(encode(&c), b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n");
}

#[test]
fn rfc7162_examples() {
    let c = parse(b"a103 UID STORE 1:* (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n");
    assert_eq!(c.body.name(), "UID STORE");
    assert_eq!(
        c.body,
        CommandBody::Store(StoreCommand {
            uid: true,
            set: SequenceSet::Ranges(vec![crate::imap::core::SeqRange {
                start: SeqNum::Value(1),
                end: SeqNum::Last
            }]),
            unchanged_since: Some(320162338),
            mode: StoreMode::Add,
            silent: true,
            flags: vec![Flag::Deleted]
        })
    );
    assert_eq!(
        encode(&c),
        b"a103 UID STORE 1:* (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n"
    );
    let c = parse(b"A02 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))\r\n");
    let CommandBody::Select { mailbox, params } = &c.body else {
        panic!()
    };
    assert!(mailbox.is_inbox());
    assert_eq!(
        params.qresync,
        Some(QResync {
            uid_validity: 67890007,
            modseq: 90060115194045000,
            known_uids: Some(SequenceSet::Ranges(vec![
                crate::imap::core::SeqRange {
                    start: SeqNum::Value(41),
                    end: SeqNum::Value(211)
                },
                crate::imap::core::SeqRange {
                    start: SeqNum::Value(214),
                    end: SeqNum::Value(541)
                }
            ])),
            seq_match: None
        })
    );
    assert_eq!(
        encode(&c),
        b"A02 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))\r\n"
    );
    let f = fetch(b"s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n");
    assert_eq!(
        f,
        FetchCommand {
            uid: true,
            set: SequenceSet::range(300, 500),
            attrs: FetchAttrs::List(vec![FetchAttr::Flags]),
            changed_since: Some(12345),
            vanished: true
        }
    );
    let s = search(b"a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n");
    assert_eq!(
        s.keys,
        vec![SearchKey::ModSeq {
            entry: Some(ModSeqEntry {
                name: "/flags/\\draft".into(),
                kind: ModSeqEntryType::All
            }),
            modseq: 620162338
        }]
    );
    let s = search(b"a SEARCH MODSEQ 620162338\r\n");
    assert_eq!(
        s.keys,
        vec![SearchKey::ModSeq {
            entry: None,
            modseq: 620162338
        }]
    );
    assert_eq!(
        body(b"a ENABLE CONDSTORE QRESYNC\r\n"),
        CommandBody::Enable(vec![atom("CONDSTORE"), atom("QRESYNC")])
    );
    assert_eq!(
        body(b"C STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)\r\n"),
        CommandBody::Status {
            mailbox: Mailbox::new("blurdybloop"),
            attrs: vec![
                StatusAttr::UidNext,
                StatusAttr::Messages,
                StatusAttr::HighestModSeq
            ]
        }
    );
}

#[test]
fn rfc5256_sort_thread() {
    let c = parse(b"A283 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n");
    assert_eq!(
        c.body,
        CommandBody::Sort(SortCommand {
            uid: false,
            criteria: vec![SortCriterion {
                reverse: false,
                key: SortKey::Subject
            }],
            charset: "UTF-8".into(),
            keys: vec![SearchKey::Since(date(1994, 2, 1))]
        })
    );
    assert_eq!(
        encode(&c),
        b"A283 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n"
    );
    let CommandBody::Sort(s) = body(b"A285 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n") else {
        panic!()
    };
    assert_eq!(
        s.criteria,
        vec![
            SortCriterion {
                reverse: false,
                key: SortKey::Subject
            },
            SortCriterion {
                reverse: true,
                key: SortKey::Date
            }
        ]
    );
    let CommandBody::Sort(s) = body(b"A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"\r\n")
    else {
        panic!()
    };
    assert_eq!(s.charset, "US-ASCII");
    let CommandBody::Sort(s) = body(b"a UID SORT (DISPLAYFROM REVERSE ARRIVAL) UTF-8 ALL\r\n")
    else {
        panic!()
    };
    assert!(s.uid);
    assert_eq!(s.criteria[0].key, SortKey::DisplayFrom);
    let c = parse(b"A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000\r\n");
    assert_eq!(
        c.body,
        CommandBody::Thread(ThreadCommand {
            uid: false,
            algorithm: ThreadAlgorithm::OrderedSubject,
            charset: "UTF-8".into(),
            keys: vec![SearchKey::Since(date(2000, 3, 5))]
        })
    );
    let c = parse(b"A285 UID THREAD REFERENCES US-ASCII SINCE 5-MAR-2000\r\n");
    assert_eq!(c.body.name(), "UID THREAD");
    let CommandBody::Thread(t) = c.body else {
        panic!()
    };
    assert_eq!(t.algorithm, ThreadAlgorithm::References);
}

#[test]
fn state_requirements() {
    assert_eq!(body(b"a LOGIN a b\r\n").state(), StateReq::NotAuthenticated);
    assert_eq!(body(b"a ID NIL\r\n").state(), StateReq::Any);
    assert_eq!(body(b"a UID EXPUNGE 1\r\n").state(), StateReq::Selected);
    assert_eq!(
        body(b"a COMPRESS DEFLATE\r\n").state(),
        StateReq::Authenticated
    );
}
