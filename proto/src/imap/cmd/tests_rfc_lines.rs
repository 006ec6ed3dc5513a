//! Every client example line of RFC 3501 6 and RFC 9051 6 and of the
//! extension RFCs parses completely, and re-encoding it gives a command that
//! parses to the same value (in both contexts).

use super::*;

const LINES: &[&[u8]] = &[
    // RFC 3501 6 / RFC 9051 6
    b"abcd CAPABILITY\r\n",
    b"a002 NOOP\r\n",
    b"A023 LOGOUT\r\n",
    b"a001 STARTTLS\r\n",
    b"A001 AUTHENTICATE GSSAPI\r\n",
    b"a001 LOGIN SMITH SESAME\r\n",
    b"A142 SELECT INBOX\r\n",
    b"A932 EXAMINE blurdybloop\r\n",
    b"A003 CREATE owatagusiam/\r\n",
    b"A004 CREATE owatagusiam/blurdybloop\r\n",
    b"A682 LIST \"\" *\r\n",
    b"A683 DELETE blurdybloop\r\n",
    b"A685 DELETE foo/bar\r\n",
    b"A684 RENAME foo zowie\r\n",
    b"A002 SUBSCRIBE #news.comp.mail.mime\r\n",
    b"A002 UNSUBSCRIBE #news.comp.mail.mime\r\n",
    b"A101 LIST \"\" \"\"\r\n",
    b"A102 LIST #news.comp.mail.misc \"\"\r\n",
    b"A103 LIST /usr/staff/jones \"\"\r\n",
    b"A202 LIST ~/Mail/ %\r\n",
    b"A002 LSUB \"#news.\" \"comp.mail.*\"\r\n",
    b"A003 LSUB \"#news.\" \"comp.%\"\r\n",
    b"A042 STATUS blurdybloop (UIDNEXT MESSAGES)\r\n",
    b"FXXZ CHECK\r\n",
    b"A341 CLOSE\r\n",
    b"A202 EXPUNGE\r\n",
    b"A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
    b"A283 SEARCH TEXT \"string not in mailbox\"\r\n",
    b"A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n",
    b"A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])\r\n",
    b"A003 STORE 2:4 +FLAGS (\\Deleted)\r\n",
    b"A003 COPY 2:4 MEETING\r\n",
    b"A999 UID FETCH 4827313:4828442 FLAGS\r\n",
    b"a047 NAMESPACE\r\n",
    b"A342 UNSELECT\r\n",
    b"A002 IDLE\r\n",
    b"A003 APPEND saved-messages (\\Seen) \"07-Feb-1994 21:52:25 -0800\" {5}\r\nHello\r\n",
    // ENABLE, SASL-IR
    b"a1 ENABLE IMAP4rev2\r\n",
    b"t2 ENABLE CONDSTORE QRESYNC\r\n",
    b"A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n",
    b"A01 AUTHENTICATE EXTERNAL =\r\n",
    // LIST-EXTENDED, LIST-STATUS, SPECIAL-USE
    b"A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n",
    b"A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n",
    b"A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n",
    b"A04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n",
    b"A05 LIST (REMOTE) \"\" \"*\"\r\n",
    b"A06 LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")\r\n",
    b"t1 LIST (SPECIAL-USE) \"\" \"*\"\r\n",
    b"t2 LIST \"\" \"%\" RETURN (SPECIAL-USE)\r\n",
    b"t1 CREATE MySpecial (USE (\\Drafts \\Sent))\r\n",
    // STATUS=SIZE, ESEARCH, SEARCHRES
    b"A042 STATUS blurdybloop (UIDNEXT MESSAGES SIZE DELETED)\r\n",
    b"A284 SEARCH RETURN (ALL) OR (FROM \"a\" SUBJECT \"b\") (TO c HEADER \"X-Foo\" \"\")\r\n",
    b"A300 SEARCH RETURN (SAVE) SINCE 1-Jan-2004 NOT FROM \"Smith\"\r\n",
    b"A301 UID SEARCH UID $ SMALLER 4096\r\n",
    b"A302 UID FETCH $ (UID FLAGS)\r\n",
    b"A303 SEARCH BEFORE \"1-Feb-1994\"\r\n",
    b"A304 SEARCH SENTSINCE \"1-Feb-1994\" LARGER 1000 KEYWORD $Forwarded UNKEYWORD Junk\r\n",
    // MOVE, UIDPLUS, ID
    b"A003 MOVE 2:4 MEETING\r\n",
    b"A202 UID EXPUNGE 3000:3002\r\n",
    b"a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")\r\n",
    // CONDSTORE, QRESYNC
    b"A160 SELECT INBOX (CONDSTORE)\r\n",
    b"A142 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n",
    b"B142 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))\r\n",
    b"a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)\r\n",
    b"a104 STORE 7,5,9 (UNCHANGEDSINCE 0) FLAGS.SILENT (\\Seen)\r\n",
    b"s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
    b"a SEARCH OR NOT MODSEQ 720162338 LARGER 50000\r\n",
    // BINARY, LITERAL+
    b"a FETCH 1 (BINARY.PEEK[1.2]<0.1024> BINARY.SIZE[1] BINARY[])\r\n",
    b"a FETCH 1 (BODY.PEEK[1.2.MIME] BODY[TEXT]<0.100> BODY[] RFC822.SIZE ENVELOPE INTERNALDATE BODYSTRUCTURE MODSEQ)\r\n",
    b"A003 APPEND Drafts (\\Draft) ~{5}\r\nhe\0lo\r\n",
    b"A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n",
    b"A004 STORE 1 -FLAGS \\Seen \\Flagged\r\n",
    // QUOTA, COMPRESS, SORT, THREAD
    b"G0001 GETQUOTA \"!partition/sda4\"\r\n",
    b"S0000 SETQUOTA \"#user/alice\" (STORAGE 510)\r\n",
    b"a COMPRESS DEFLATE\r\n",
    b"A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"\r\n",
    b"A284 THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"\r\n",
];

#[test]
fn rfc_example_lines_parse_and_round_trip() {
    for line in LINES {
        let show = String::from_utf8_lossy(line);
        let (n, cmd) = match parse_command(line, Ctx::REV1) {
            Ok(v) => v,
            Err(e) => panic!("{show}: {e:?}"),
        };
        assert_eq!(n, line.len(), "{show}");
        for ctx in [Ctx::REV1, Ctx::UTF8] {
            let mut out = Vec::new();
            cmd.encode(&mut out, ctx);
            assert_eq!(
                parse_command(&out, ctx),
                Ok((out.len(), cmd.clone())),
                "{show} re-encoded as {:?}",
                String::from_utf8_lossy(&out)
            );
        }
    }
}
