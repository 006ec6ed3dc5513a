//! Tests of the flags index: its encoding, that every write path keeps it
//! equal to the records, the consistency check and the upgrade.

use std::ops::ControlFlow;

use super::*;
use crate::account::Account;
use crate::{ExpungeSet, FlagOp, NewAccount, NewMessage, SpecialUse, Store, StoreConfig};

type Row = (u32, u64, bool, Flags, Vec<String>);

fn index(acct: &Account, mb: u32, uids: std::ops::RangeInclusive<u32>) -> Vec<Row> {
    let mut out = Vec::new();
    acct.scan_flags(mb, uids, |v| {
        let kw = v.keywords.iter().map(|k| k.to_string()).collect();
        out.push((v.uid, v.modseq, v.expunged, v.flags, kw));
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

fn records(acct: &Account, mb: u32) -> Vec<Row> {
    acct.records_in(mb, 1..=u32::MAX)
        .unwrap()
        .into_iter()
        .map(|m| (m.uid, m.modseq, m.expunged, m.flags, m.keywords))
        .collect()
}

/// The index of each mailbox equals its records, and the store is consistent.
fn assert_exact(store: &Store, acct: &Account, mailboxes: &[u32]) {
    for &mb in mailboxes {
        assert_eq!(
            index(acct, mb, 1..=u32::MAX),
            records(acct, mb),
            "mailbox #{mb}"
        );
    }
    assert_eq!(store.check_consistency().unwrap(), Vec::<String>::new());
}

fn msg(i: u32) -> Vec<u8> {
    format!("Subject: {i}\r\nMessage-ID: <{i}@x>\r\n\r\nbody {i}\r\n").into_bytes()
}

fn chunk_keys(store: &Store, acct: u32) -> Vec<Vec<u8>> {
    store
        .inner
        .ks
        .meta
        .prefix(account_prefix(acct))
        .map(|kv| kv.key().unwrap().to_vec())
        .collect()
}

fn entry(uid: u32, modseq: u64, expunged: bool, flags: Flags, kws: &[&str]) -> Entry {
    Entry {
        uid,
        modseq,
        expunged,
        flags,
        keywords: kws.iter().map(|k| k.to_string()).collect(),
    }
}

#[test]
fn chunk_encoding_known_answer() {
    let entries = [
        entry(65, 300, false, Flags::SEEN, &[]),
        entry(127, 5, true, Flags::NONE, &["$junk", "a"]),
    ];
    let mut want = vec![1u8, 0x01, 0x01, 0xac, 0x02];
    want.extend_from_slice(&[0xff, 0x00, 0x05, 0x02, 0x05]);
    want.extend_from_slice(b"$junk");
    want.extend_from_slice(&[0x01, b'a']);
    let bytes = encode(&entries);
    assert_eq!(bytes, want);
    assert_eq!(decode_owned(7, 1, &bytes).unwrap(), entries.to_vec());
    // An empty chunk is the format byte alone.
    assert_eq!(encode(&[]), vec![1]);

    let err = |chunk: u32, b: &[u8]| decode_owned(7, chunk, b).unwrap_err().to_string();
    for (b, why) in [
        (&[2u8, 0x01, 0x00, 0x01][..], "unknown chunk format"),
        (&[], "unknown chunk format"),
        (
            &[1, 0x02, 0x00, 0x01, 0x01, 0x00, 0x01],
            "entries not ascending",
        ),
        (&[1, 0x02, 0x00], "bad modseq"),
        (&[1, 0x02], "truncated entry"),
        (
            &[1, 0x82, 0x00, 0x01, 0x01, 0x05, b'a'],
            "truncated keyword",
        ),
        (&[1, 0x82, 0x00, 0x01, 0x00], "empty keyword list"),
        (
            &[1, 0x82, 0x00, 0x01, 0x01, 0x01, 0xff],
            "keyword not UTF-8",
        ),
        (
            &[
                1, 0x02, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            "bad modseq",
        ),
    ] {
        assert_eq!(
            err(1, b),
            format!("corrupt storage: flags index of mailbox #7 chunk 1: {why}"),
            "{b:?}"
        );
    }
}

#[test]
fn every_write_path_keeps_the_index_exact() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let acct = store.create_account("a", NewAccount::default()).unwrap();
    let inbox = acct.mailbox("INBOX").unwrap().id;
    let other = acct.create_mailbox("Other", SpecialUse::NONE).unwrap().id;
    let all = [inbox, other];

    // Deliver.
    let mut modseqs = Vec::new();
    for i in 1..=3u32 {
        let data = msg(i);
        let m = NewMessage {
            data: &data,
            flags: if i == 2 { Flags::SEEN } else { Flags::NONE },
            keywords: if i == 2 { vec!["Work".into()] } else { vec![] },
            ..Default::default()
        };
        modseqs.push(acct.deliver(inbox, &m).unwrap().modseq);
    }
    assert_eq!(
        index(&acct, inbox, 1..=u32::MAX),
        vec![
            (1, modseqs[0], false, Flags::NONE, vec![]),
            (2, modseqs[1], false, Flags::SEEN, vec!["work".to_string()]),
            (3, modseqs[2], false, Flags::NONE, vec![]),
        ]
    );
    assert_exact(&store, &acct, &all);

    // Import (one commit, UIDs 4..=73 over chunks 0 and 1).
    let data: Vec<Vec<u8>> = (4..=73).map(msg).collect();
    let news: Vec<NewMessage<'_>> = data
        .iter()
        .map(|d| NewMessage {
            data: d,
            ..Default::default()
        })
        .collect();
    acct.import(inbox, &news).unwrap();
    assert_eq!(chunk_keys(&store, acct.id()).len(), 2);
    assert_exact(&store, &acct, &all);

    // STORE.
    let o = acct
        .store_flags(
            inbox,
            &[2, 64, 65],
            FlagOp::Add,
            Flags::FLAGGED,
            &["$Junk".into()],
            None,
        )
        .unwrap();
    assert_eq!(
        index(&acct, inbox, 65..=65),
        vec![(
            65,
            o.modseq,
            false,
            Flags::FLAGGED,
            vec!["$junk".to_string()]
        )]
    );
    assert_exact(&store, &acct, &all);

    // EXPUNGE leaves tombstones in the index, as in the records.
    acct.expunge(inbox, ExpungeSet::Uids(&[3, 64])).unwrap();
    let rows = index(&acct, inbox, 60..=66);
    assert_eq!(
        rows.iter().map(|r| (r.0, r.2)).collect::<Vec<_>>(),
        vec![
            (60, false),
            (61, false),
            (62, false),
            (63, false),
            (64, true),
            (65, false),
            (66, false)
        ]
    );
    assert_exact(&store, &acct, &all);

    // COPY, MOVE, REPLACE.
    acct.copy(inbox, &[1, 2], other).unwrap();
    assert_eq!(index(&acct, other, 1..=2).len(), 2);
    assert_exact(&store, &acct, &all);
    acct.move_messages(inbox, &[5], other).unwrap();
    assert!(index(&acct, inbox, 5..=5)[0].2);
    assert_exact(&store, &acct, &all);
    let d = msg(100);
    let r = acct
        .replace(
            inbox,
            &NewMessage {
                data: &d,
                flags: Flags::DRAFT,
                ..Default::default()
            },
            inbox,
            6,
        )
        .unwrap();
    assert_eq!(
        index(&acct, inbox, r.added.uid..=r.added.uid),
        vec![(r.added.uid, r.added.modseq, false, Flags::DRAFT, vec![])]
    );
    assert_exact(&store, &acct, &all);

    // RENAME keeps the mailbox id and its index; DELETE removes it.
    acct.rename_mailbox("Other", "Renamed").unwrap();
    assert_exact(&store, &acct, &all);
    acct.delete_mailbox("Renamed").unwrap();
    assert!(index(&acct, other, 1..=u32::MAX).is_empty());
    assert!(
        chunk_keys(&store, acct.id())
            .iter()
            .all(|k| k[5..9] == inbox.to_be_bytes())
    );
    assert_exact(&store, &acct, &all);

    // Breaking stops the scan.
    let mut seen = Vec::new();
    acct.scan_flags(inbox, 1..=u32::MAX, |v| {
        seen.push(v.uid);
        if v.uid == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap();
    assert_eq!(seen, vec![1, 2]);

    // Removing the account removes its index, not another account's.
    let b = store.create_account("b", NewAccount::default()).unwrap();
    let b_inbox = b.mailbox("INBOX").unwrap().id;
    let d = msg(1);
    b.deliver(
        b_inbox,
        &NewMessage {
            data: &d,
            ..Default::default()
        },
    )
    .unwrap();
    let a_id = acct.id();
    drop(acct);
    store.remove_account("a").unwrap();
    assert!(chunk_keys(&store, a_id).is_empty());
    assert_eq!(chunk_keys(&store, b.id()).len(), 1);
    assert_exact(&store, &b, &[b_inbox]);
}

#[test]
fn the_consistency_check_reports_missing_wrong_stale_and_malformed_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    let acct = store.create_account("a", NewAccount::default()).unwrap();
    let inbox = acct.mailbox("INBOX").unwrap().id;
    let mut ms = Vec::new();
    for i in 1..=2 {
        let d = msg(i);
        ms.push(
            acct.deliver(
                inbox,
                &NewMessage {
                    data: &d,
                    ..Default::default()
                },
            )
            .unwrap()
            .modseq,
        );
    }
    let a = acct.id();
    let meta = &store.inner.ks.meta;
    // Uid 1 wrong, uid 2 missing, a stale uid 200, a malformed chunk 5.
    meta.insert(
        key(a, inbox, 0),
        encode(&[entry(1, ms[0], false, Flags::SEEN, &["x"])]),
    )
    .unwrap();
    meta.insert(
        key(a, inbox, 3),
        encode(&[entry(200, 9, false, Flags::NONE, &[])]),
    )
    .unwrap();
    meta.insert(key(a, inbox, 5), vec![1, 0x02]).unwrap();
    assert_eq!(
        store.check_consistency().unwrap(),
        vec![
            format!(
                "account \"a\": flags index entry mailbox #{inbox} uid 1: modseq {0} flags 0x1 keywords [\"x\"] but the record has modseq {0} flags 0x0 keywords []",
                ms[0]
            ),
            format!("account \"a\": stale flags index entry mailbox #{inbox} uid 200"),
            format!(
                "account \"a\": malformed flags index chunk mailbox #{inbox} chunk 5: truncated entry"
            ),
            format!("account \"a\": flags index entry mailbox #{inbox} uid 2 missing"),
        ]
    );
    // A scan over a malformed chunk fails instead of skipping messages.
    let e = acct
        .scan_flags(inbox, 1..=u32::MAX, |_| ControlFlow::Continue(()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("corrupt storage: flags index of mailbox #{inbox} chunk 5: truncated entry")
    );
}

#[test]
fn the_upgrade_builds_the_index_of_a_store_written_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let (inbox, other, before) = {
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let acct = store.create_account("a", NewAccount::default()).unwrap();
        let inbox = acct.mailbox("INBOX").unwrap().id;
        let other = acct.create_mailbox("Other", SpecialUse::NONE).unwrap().id;
        let data: Vec<Vec<u8>> = (1..=130).map(msg).collect();
        let news: Vec<NewMessage<'_>> = data
            .iter()
            .map(|d| NewMessage {
                data: d,
                ..Default::default()
            })
            .collect();
        acct.import(inbox, &news).unwrap();
        acct.store_flags(
            inbox,
            &[7, 129],
            FlagOp::Add,
            Flags::SEEN,
            &["k".into()],
            None,
        )
        .unwrap();
        acct.expunge(inbox, ExpungeSet::Uids(&[8])).unwrap();
        acct.copy(inbox, &[7], other).unwrap();
        let before = (records(&acct, inbox), records(&acct, other));
        // A schema-2 store: no flags index.
        let meta = &store.inner.ks.meta;
        for k in chunk_keys(&store, acct.id()) {
            meta.remove(k).unwrap();
        }
        meta.insert(crate::keys::version(), 2u32.to_be_bytes())
            .unwrap();
        let p = store.check_consistency().unwrap();
        assert_eq!(p.len(), 131, "{p:?}");
        assert_eq!(
            p[0],
            format!("account \"a\": flags index entry mailbox #{inbox} uid 1 missing")
        );
        store.persist().unwrap();
        (inbox, other, before)
    };
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(
        crate::upgrade::stored_version(&store).unwrap(),
        Some(FLAGS_INDEX_VERSION)
    );
    let acct = store.account("a").unwrap();
    assert_eq!((records(&acct, inbox), records(&acct, other)), before);
    assert_eq!(chunk_keys(&store, acct.id()).len(), 4);
    assert_exact(&store, &acct, &[inbox, other]);
    let rows = index(&acct, inbox, 7..=8);
    assert_eq!(
        (rows[0].3, rows[0].4.clone(), rows[1].2),
        (Flags::SEEN, vec!["k".to_string()], true)
    );
}
