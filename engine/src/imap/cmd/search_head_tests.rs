//! Header search keys read a message only through the end of its header;
//! these tests prove they match exactly as when the whole message is
//! loaded, and that TEXT still searches header and body.

use moxide_proto::imap::cmd::SearchKey;
use moxide_storage::{Account, Message, NewAccount, NewMessage, Store, StoreConfig};

use super::{Candidate, EvalCtx, eval};

fn deliver_all(acct: &Account, msgs: &[(&str, &str)]) -> Vec<Message> {
    let inbox = acct.mailbox("INBOX").unwrap();
    for (data, prefix) in msgs {
        acct.deliver(
            inbox.id,
            &NewMessage {
                data: data.as_bytes(),
                prefix: prefix.as_bytes().to_vec(),
                received: 1_700_000_000,
                ..Default::default()
            },
        )
        .unwrap();
    }
    acct.records_in(inbox.id, 1..=u32::MAX).unwrap()
}

const MESSAGES: &[(&str, &str)] = &[
    ("", ""),
    ("Subject: no separator\r\nFrom: Ann <ann@example.org>", ""),
    (
        "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nFrom: bob@example.org\r\n\r\nSubject: in the body\r\nFrom: body@example.org\r\n",
        "",
    ),
    (
        "Subject: prefixed\r\n\r\nbody\r\n",
        "Received: from relay.example\r\nFrom: prefix@example.org\r\n",
    ),
    ("no header at all", ""),
];

fn s(v: &str) -> Vec<u8> {
    v.as_bytes().to_vec()
}

#[test]
fn header_keys_match_as_with_the_whole_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let acct = store.create_account("a", NewAccount::default()).unwrap();
    let records = deliver_all(&acct, MESSAGES);
    let ctx = EvalCtx {
        acct: &acct,
        exists: 5,
        last_uid: 5,
        saved: &[],
        now: 1_700_000_000,
    };
    type K = SearchKey;
    // (key, UIDs it matches)
    let cases: Vec<(SearchKey, Vec<u32>)> = vec![
        (K::Subject(s("")), vec![2, 3, 4]),
        (K::Subject(s("grüße")), vec![3]),
        (K::Subject(s("in the body")), vec![]),
        (K::From(s("ann")), vec![2]),
        (K::From(s("body@")), vec![]),
        (K::From(s("prefix@")), vec![4]),
        (K::Header(s("Received"), s("relay")), vec![4]),
        (K::Header(s("X-None"), s("")), vec![]),
        (K::Text(s("in the body")), vec![3]),
        (K::Text(s("relay.example")), vec![4]),
    ];
    for (key, want) in &cases {
        let header_key = !matches!(key, K::Text(_));
        let mut got = Vec::new();
        for m in &records {
            let mut c = Candidate::new(m, m.uid);
            let hit = eval(&ctx, &mut c, key).unwrap();
            if header_key {
                assert!(
                    c.raw.is_none(),
                    "{key:?} uid {} read the whole message",
                    m.uid
                );
            }
            // The same key with the whole message loaded first.
            let mut full = Candidate::new(m, m.uid);
            full.load(&acct).unwrap();
            assert_eq!(
                eval(&ctx, &mut full, key).unwrap(),
                hit,
                "{key:?} uid {}",
                m.uid
            );
            if hit {
                got.push(m.uid);
            }
        }
        assert_eq!(&got, want, "{key:?}");
    }
}
