//! Known-answer tests: server lines from the examples of RFC 9051, RFC 3501,
//! RFC 7162, RFC 5256, RFC 4315, RFC 2342, RFC 2971, RFC 9208 and RFC 5258,
//! parsed to exact values and, where the RFC's form is the one we write,
//! encoded back to the exact bytes.

use super::*;
use crate::imap::core::{
    Atom, Date, DateTime, Flag, FlagFetch, FlagPerm, Mailbox, Section, SectionText, StatusAttr,
    UidSet,
};

fn parse(line: &str) -> Response {
    let bytes = line.as_bytes();
    match parse_response(bytes, Ctx::REV1) {
        Ok((n, r)) => {
            assert_eq!(n, bytes.len(), "{line}");
            r
        }
        Err(e) => panic!("{line}: {e}"),
    }
}

fn encode(r: &Response) -> String {
    let mut out = Vec::new();
    r.encode(&mut out, Ctx::REV1);
    String::from_utf8(out).unwrap()
}

/// Parses `line` and checks that encoding gives it back byte for byte.
fn canonical(line: &str) -> Response {
    let r = parse(line);
    assert_eq!(encode(&r), line);
    r
}

fn s(v: &str) -> Option<Vec<u8>> {
    Some(v.as_bytes().to_vec())
}

fn addr(name: Option<&str>, mailbox: &str, host: &str) -> Address {
    Address {
        name: name.and_then(s),
        adl: None,
        mailbox: s(mailbox),
        host: s(host),
    }
}

fn status(tag: Option<&str>, kind: StatusKind, code: Option<Code>, text: &str) -> Response {
    Response::Status(Status {
        tag: tag.map(|t| Tag::try_from(t).unwrap()),
        kind,
        code,
        text: text.into(),
    })
}

#[test]
fn rfc9051_fetch_full() {
    // RFC 9051 6.4.5 (the RFC wraps the line; it has a space between the two
    // addresses of Cc, which the grammar does not: we write none).
    let rfc = "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" \
        RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \
        \"IMAP4rev2 WG mtg summary and minutes\" \
        ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
        ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
        ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) \
        ((NIL NIL \"imap\" \"cac.washington.edu\")) \
        ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\") \
        (\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \
        \"<B27397-0100000@cac.washington.edu>\") \
        BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n";
    let gray = addr(Some("Terry Gray"), "gray", "cac.washington.edu");
    let expect = Response::Data(Data::Fetch {
        seq: 12,
        items: vec![
            FetchItem::Flags(vec![FlagFetch::Flag(Flag::Seen)]),
            FetchItem::InternalDate(DateTime {
                date: Date::new(1996, 7, 17).unwrap(),
                hour: 2,
                minute: 44,
                second: 25,
                zone_minutes: -420,
            }),
            FetchItem::Rfc822Size(4286),
            FetchItem::Envelope(Box::new(Envelope {
                date: s("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"),
                subject: s("IMAP4rev2 WG mtg summary and minutes"),
                from: vec![gray.clone()],
                sender: vec![gray.clone()],
                reply_to: vec![gray],
                to: vec![addr(None, "imap", "cac.washington.edu")],
                cc: vec![
                    addr(None, "minutes", "CNRI.Reston.VA.US"),
                    addr(Some("John Klensin"), "KLENSIN", "MIT.EDU"),
                ],
                bcc: vec![],
                in_reply_to: None,
                message_id: s("<B27397-0100000@cac.washington.edu>"),
            })),
            FetchItem::Body(Box::new(Body::Text {
                subtype: "PLAIN".into(),
                fields: BodyFields {
                    params: vec![("CHARSET".into(), "US-ASCII".into())],
                    id: None,
                    description: None,
                    encoding: "7BIT".into(),
                    octets: 3028,
                },
                lines: 92,
                ext: None,
            })),
        ],
    });
    assert_eq!(parse(rfc), expect);
    assert_eq!(
        encode(&expect),
        rfc.replace("\"CNRI.Reston.VA.US\") (", "\"CNRI.Reston.VA.US\")(")
    );
}

#[test]
fn rfc9051_select_and_status_lines() {
    // RFC 9051 6.3.2 (SELECT), 7.1.
    assert_eq!(
        canonical("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"),
        status(
            None,
            StatusKind::Ok,
            Some(Code::UidValidity(3857529045)),
            "UIDs valid"
        )
    );
    canonical("* 172 EXISTS\r\n");
    canonical("* OK [UIDNEXT 4392] Predicted next UID\r\n");
    canonical("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
    assert_eq!(
        canonical("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n"),
        status(
            None,
            StatusKind::Ok,
            Some(Code::PermanentFlags(vec![
                FlagPerm::Flag(Flag::Deleted),
                FlagPerm::Flag(Flag::Seen),
                FlagPerm::Any
            ])),
            "Limited"
        )
    );
    assert_eq!(
        canonical("A142 OK [READ-WRITE] SELECT completed\r\n"),
        status(
            Some("A142"),
            StatusKind::Ok,
            Some(Code::ReadWrite),
            "SELECT completed"
        )
    );
    canonical("* OK [UNSEEN 12] Message 12 is first unseen\r\n");
    canonical("* OK [ALERT] System shutdown in 10 minutes\r\n");
    canonical("* BYE IMAP4rev2 Server logging out\r\n");
    assert_eq!(
        canonical("* PREAUTH IMAP4rev2 server logged in as Smith\r\n"),
        status(
            None,
            StatusKind::PreAuth,
            None,
            "IMAP4rev2 server logged in as Smith"
        )
    );
    canonical("A001 NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
    canonical("* NO Disk is 98% full, please delete unnecessary data\r\n");
    canonical("* BAD Command line too long\r\n");
    assert_eq!(
        canonical("* CAPABILITY IMAP4rev2 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n"),
        Response::Data(Data::Capability(vec![
            "IMAP4rev2".into(),
            "STARTTLS".into(),
            "AUTH=GSSAPI".into(),
            "LOGINDISABLED".into()
        ]))
    );
    canonical("* OK [CAPABILITY IMAP4rev2 IDLE] ready\r\n");
    canonical("* ENABLED CONDSTORE QRESYNC\r\n");
    canonical("* 3 EXPUNGE\r\n");
    canonical("* 14 FETCH (FLAGS (\\Seen \\Deleted))\r\n");
    canonical("+ Ready for additional command text\r\n");
    // RFC 9051 6.2.2 (GSSAPI exchange)
    let r =
        canonical("+ YDMGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n");
    let Response::Continue(Continue::Base64(b)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(b.len(), 53);
    assert_eq!(
        canonical("+ \r\n"),
        Response::Continue(Continue::Base64(vec![]))
    );
    assert_eq!(parse("+\r\n"), Response::Continue(Continue::Base64(vec![])));
}

#[test]
fn rfc9051_list_status_esearch() {
    assert_eq!(
        parse("* LIST (\\Noselect) \"/\" \"\"\r\n"),
        Response::Data(Data::List(ListData {
            attrs: vec![MailboxAttr::NoSelect],
            delimiter: Some('/'),
            mailbox: Mailbox::new(""),
            extended: vec![],
        }))
    );
    canonical("* LIST (\\Noselect) \"/\" \"\"\r\n");
    canonical("* LIST (\\Noselect) \".\" #news.\r\n");
    canonical("* LIST () \"/\" blurdybloop\r\n");
    canonical("* LIST (\\Marked \\Noinferiors) \"/\" INBOX\r\n");
    // The RFC 9051 example spells it \\NoInferiors; the grammar says \\Noinferiors.
    assert_eq!(
        parse("* LIST (\\NoInferiors) \"/\" INBOX\r\n"),
        parse("* LIST (\\Noinferiors) \"/\" INBOX\r\n")
    );
    let r = parse("* LIST (\\Subscribed \\NonExistent) \"/\" \"Fruit/Peach\"\r\n");
    let Response::Data(Data::List(l)) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(
        l.attrs,
        vec![MailboxAttr::Subscribed, MailboxAttr::NonExistent]
    );
    assert_eq!(l.mailbox.as_str(), "Fruit/Peach");
    // RFC 9051 6.3.9.7 / RFC 5258: the item tag is an astring.
    let r = parse("* LIST () \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n");
    assert_eq!(
        encode(&r),
        "* LIST () \"/\" Foo (CHILDINFO (\"SUBSCRIBED\"))\r\n"
    );
    let r = parse("* LIST () \"/\" \"NewMailbox\" (\"OLDNAME\" (\"OldMailbox\"))\r\n");
    let Response::Data(Data::List(l)) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(
        l.extended,
        vec![ListExtItem::OldName(Mailbox::new("OldMailbox"))]
    );
    // RFC 6154 SPECIAL-USE
    canonical("* LIST (\\Sent \\HasNoChildren) \"/\" Sent\r\n");
    canonical("* LIST (\\Trash \\Junk \\Drafts \\Archive \\All \\Flagged) \"/\" x\r\n");
    canonical("* LSUB () \".\" #news.comp.mail.misc\r\n");
    // RFC 3501 modified UTF-7 example name.
    let r = canonical("* LIST () \"/\" ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n");
    let Response::Data(Data::List(l)) = &r else {
        panic!("{r:?}")
    };
    assert_eq!(l.mailbox.as_str(), "~peter/mail/台北/日本語");

    assert_eq!(
        canonical("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"),
        Response::Data(Data::Status {
            mailbox: Mailbox::new("blurdybloop"),
            items: vec![
                StatusValue {
                    attr: StatusAttr::Messages,
                    value: Some(231)
                },
                StatusValue {
                    attr: StatusAttr::UidNext,
                    value: Some(44292)
                }
            ]
        })
    );
    assert_eq!(
        canonical("* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n"),
        Response::Data(Data::ESearch(ESearch {
            tag: Some("A285".into()),
            uid: true,
            items: vec![ESearchItem::Min(7), ESearchItem::Max(3800)]
        }))
    );
    assert_eq!(
        canonical("* ESEARCH (TAG \"A283\") ALL 2,10:11\r\n"),
        Response::Data(Data::ESearch(ESearch {
            tag: Some("A283".into()),
            uid: false,
            items: vec![ESearchItem::All(UidSet(vec![(2, 2), (10, 11)]))]
        }))
    );
    canonical("* ESEARCH (TAG \"A284\") MIN 4\r\n");
    canonical("* ESEARCH (TAG \"A286\") COUNT 15\r\n");
}

#[test]
fn rfc7162_condstore_qresync() {
    assert_eq!(
        canonical("* OK [HIGHESTMODSEQ 715194045007] Highest\r\n"),
        status(
            None,
            StatusKind::Ok,
            Some(Code::HighestModSeq(715194045007)),
            "Highest"
        )
    );
    assert_eq!(
        canonical("* 1 FETCH (UID 4 MODSEQ (65402) FLAGS (\\Seen))\r\n"),
        Response::Data(Data::Fetch {
            seq: 1,
            items: vec![
                FetchItem::Uid(4),
                FetchItem::ModSeq(65402),
                FetchItem::Flags(vec![FlagFetch::Flag(Flag::Seen)])
            ]
        })
    );
    assert_eq!(
        canonical("* VANISHED (EARLIER) 41,43:116,118,120:211,214:540\r\n"),
        Response::Data(Data::Vanished {
            earlier: true,
            uids: UidSet(vec![
                (41, 41),
                (43, 116),
                (118, 118),
                (120, 211),
                (214, 540)
            ])
        })
    );
    assert_eq!(
        canonical("d105 OK [MODIFIED 7,9] Conditional STORE failed\r\n"),
        status(
            Some("d105"),
            StatusKind::Ok,
            Some(Code::Modified(UidSet(vec![(7, 7), (9, 9)]))),
            "Conditional STORE failed"
        )
    );
    assert_eq!(
        canonical("* OK [HIGHESTMODSEQ 715194045007]\r\n"),
        status(
            None,
            StatusKind::Ok,
            Some(Code::HighestModSeq(715194045007)),
            ""
        )
    );
    canonical("* OK [NOMODSEQ] Sorry, this mailbox format doesn't support modsequences\r\n");
    assert_eq!(
        canonical("* OK [CLOSED]\r\n"),
        status(None, StatusKind::Ok, Some(Code::Closed), "")
    );
    canonical("* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n");
    canonical("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 7500 HIGHESTMODSEQ 7011231777)\r\n");
    canonical("* 50 FETCH (MODSEQ (12111230047))\r\n");
}

#[test]
fn rfc5256_sort_thread() {
    assert_eq!(
        canonical("* SORT 2 84 882\r\n"),
        Response::Data(Data::Sort {
            nums: vec![2, 84, 882],
            modseq: None
        })
    );
    canonical("* SORT\r\n");
    let leaf = |m: &[u32]| Thread {
        members: m.to_vec(),
        children: vec![],
    };
    assert_eq!(
        canonical("* THREAD (2)(3 6 (4 23)(44 7 96))\r\n"),
        Response::Data(Data::Thread(vec![
            leaf(&[2]),
            Thread {
                members: vec![3, 6],
                children: vec![leaf(&[4, 23]), leaf(&[44, 7, 96])]
            }
        ]))
    );
    // A longer line in the style of the RFC's REFERENCES example.
    let r = canonical(
        "* THREAD (166)(167)(168)(169)(172)(170)(171)(173)(174 (175)(176)(178)(181)(180))\
         (179)(177 (183)(182)(188)(184)(185)(186)(187)(189))(190)(191)(192)(193)(194 195)\
         (196 (197)(198))(199)(200 202)(201)(203)(204)(205)(206 207)(208)\r\n",
    );
    let Response::Data(Data::Thread(t)) = r else {
        panic!()
    };
    assert_eq!(t.len(), 25);
    assert_eq!(t[8].members, vec![174]);
    assert_eq!(t[8].children.len(), 5);
    assert_eq!(t[15], leaf(&[194, 195]));
}

#[test]
fn uidplus_namespace_id_quota() {
    // RFC 4315 3
    assert_eq!(
        canonical("A003 OK [APPENDUID 38505 3955] APPEND completed\r\n"),
        status(
            Some("A003"),
            StatusKind::Ok,
            Some(Code::AppendUid {
                uid_validity: 38505,
                uids: UidSet(vec![(3955, 3955)])
            }),
            "APPEND completed"
        )
    );
    canonical("A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
    canonical("A005 NO [UIDNOTSTICKY] Non-persistent UIDs\r\n");
    // RFC 2342 5
    canonical("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
    canonical("* NAMESPACE NIL NIL ((\"\" \".\"))\r\n");
    canonical("* NAMESPACE ((\"\" \"/\")) NIL ((\"Public Folders/\" \"/\"))\r\n");
    canonical("* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) NIL\r\n");
    canonical(
        "* NAMESPACE ((\"\" \"/\")(\"#mh/\" \"/\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL NIL\r\n",
    );
    // RFC 2971 3.1
    assert_eq!(
        canonical(
            "* ID (\"name\" \"Cyrus\" \"version\" \"1.5\" \"os\" \"sunos\" \"os-version\" \"5.5\" \"support-url\" \"mailto:cyrus-bugs+@andrew.cmu.edu\")\r\n"
        ),
        Response::Data(Data::Id(Some(vec![
            ("name".into(), Some("Cyrus".into())),
            ("version".into(), Some("1.5".into())),
            ("os".into(), Some("sunos".into())),
            ("os-version".into(), Some("5.5".into())),
            (
                "support-url".into(),
                Some("mailto:cyrus-bugs+@andrew.cmu.edu".into())
            ),
        ])))
    );
    canonical("* ID NIL\r\n");
    // RFC 9208 4.2, 4.3
    canonical("* QUOTAROOT INBOX \"\"\r\n");
    canonical("* QUOTA \"\" (STORAGE 10 512)\r\n");
    canonical("* QUOTAROOT comp.mail.mime\r\n");
    assert_eq!(
        parse("* QUOTA \"#user/alice\" (STORAGE 54 111 MESSAGE 42 1000)\r\n"),
        Response::Data(Data::Quota {
            root: "#user/alice".into(),
            resources: vec![
                QuotaResource {
                    name: Atom::try_from("STORAGE").unwrap(),
                    usage: 54,
                    limit: 111
                },
                QuotaResource {
                    name: Atom::try_from("MESSAGE").unwrap(),
                    usage: 42,
                    limit: 1000
                },
            ]
        })
    );
    canonical("A003 NO [OVERQUOTA] APPEND Failed\r\n");
}

#[test]
fn bodystructure_and_sections() {
    // RFC 3501 7.4.2 (BODYSTRUCTURE without extension data).
    let line = "* 1 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1152 23)(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\" \"NAME\" \"cc.diff\") \"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" \"BASE64\" 4554 73) \"MIXED\"))\r\n";
    let r = canonical(line);
    let Response::Data(Data::Fetch { items, .. }) = &r else {
        panic!()
    };
    let FetchItem::BodyStructure(b) = &items[0] else {
        panic!()
    };
    let Body::Multipart {
        parts,
        subtype,
        ext,
    } = b.as_ref()
    else {
        panic!()
    };
    assert_eq!(subtype, "MIXED");
    assert_eq!(ext, &None);
    assert_eq!(parts.len(), 2);
    let Body::Text { fields, lines, .. } = &parts[1] else {
        panic!()
    };
    assert_eq!(fields.description, s("Compiler diff"));
    assert_eq!(fields.octets, 4554);
    assert_eq!(*lines, 73);

    // Full extension data as servers send it.
    canonical(
        "* 2 FETCH (BODYSTRUCTURE ((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"QUOTED-PRINTABLE\" 20 1 NIL (\"inline\" NIL) (\"en\" \"de\") NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") NIL NIL \"BASE64\" 4 NIL (\"attachment\" (\"FILENAME\" \"a.pdf\")) \"en\" \"http://x/\" 7 (\"x\" NIL)) \"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL))\r\n",
    );
    // A partial extension (md5 only) reads as the rest absent.
    let r = parse(
        "* 3 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1 \"abc\"))\r\n",
    );
    assert_eq!(
        encode(&r),
        "* 3 FETCH (BODYSTRUCTURE (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1 \"abc\" NIL NIL NIL))\r\n"
    );
    // message/rfc822 with nested envelope and body.
    canonical(
        "* 4 FETCH (BODY (\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 100 (NIL \"hi\" NIL NIL NIL NIL NIL NIL NIL NIL) (\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 5 1) 4))\r\n",
    );

    let r = canonical("* 5 FETCH (BODY[HEADER.FIELDS (DATE FROM)] {8}\r\nDate: x\n UID 9)\r\n");
    assert_eq!(
        r,
        Response::Data(Data::Fetch {
            seq: 5,
            items: vec![
                FetchItem::BodySection {
                    section: Section {
                        part: vec![],
                        text: Some(SectionText::HeaderFields(vec![
                            "DATE".into(),
                            "FROM".into()
                        ]))
                    },
                    origin: None,
                    data: s("Date: x\n")
                },
                FetchItem::Uid(9)
            ]
        })
    );
    canonical("* 6 FETCH (BODY[1.2.TEXT]<0> \"abc\" BODY[4.MIME] NIL RFC822.HEADER NIL)\r\n");
    canonical("* 7 FETCH (BINARY[1] ~{3}\r\na\0b BINARY.SIZE[1] 3 BINARY[2]<4> \"xy\")\r\n");
    canonical("* 8 FETCH (SAVEDATE \"22-Sep-2020 11:33:10 +0000\" PREVIEW \"Hello there\")\r\n");
    canonical("* 9 FETCH (SAVEDATE NIL PREVIEW NIL FLAGS (\\Recent $Forwarded))\r\n");
}
