//! State-machine test: random operation sequences run against the store and
//! against a small in-memory model; after each operation the store must
//! agree with the model (mailboxes, UIDs, flags, modseqs, counts, contents,
//! changed/vanished since the previous modseq) and pass the consistency check.

mod common;
mod sm_model;

use std::collections::{BTreeMap, BTreeSet};

use common::msg;
use moxide_storage::{
    Account, ChangeReader, ExpungeSet, FlagOp, Flags, NewAccount, NewMessage, Store, StoreConfig,
};
use proptest::prelude::*;
use sm_model::*;

struct Sut {
    dir: tempfile::TempDir,
    store: Option<Store>,
    acct: Option<Account>,
    reader: Option<ChangeReader>,
}

impl Sut {
    fn a(&self) -> &Account {
        self.acct.as_ref().unwrap()
    }
    fn id(&self, name: &str) -> u32 {
        self.a().mailbox(name).unwrap().id
    }
}

fn new_message(data: &[u8], flags: Flags, kws: Vec<String>) -> NewMessage<'_> {
    NewMessage {
        data,
        prefix: Vec::new(),
        flags,
        keywords: kws,
        received: 1_700_000_000,
        received_tz: 0,
        saved: 1_700_000_000,
    }
}

fn apply(m: &mut Model, s: &mut Sut, op: &Op) {
    m.changed.clear();
    m.vanished.clear();
    match op {
        Op::Deliver { mb, flags, kw } => {
            let name = m.name(*mb);
            let n = m.next_n;
            m.next_n += 1;
            let data = msg(n);
            let (f, k) = (flags_of(*flags), kws_of(*kw));
            let got = s
                .a()
                .deliver(s.id(&name), &new_message(&data, f, k.clone()))
                .unwrap();
            let modseq = m.bump();
            let uid = m.add(
                &name,
                MMsg {
                    n,
                    flags: f,
                    kws: k,
                    modseq,
                },
            );
            assert_eq!(
                (got.uid, got.modseq, got.uidvalidity),
                (uid, modseq, m.mbs[&name].uidvalidity)
            );
        }
        Op::Import { mb, count } => {
            let name = m.name(*mb);
            let ns: Vec<u32> = (0..*count).map(|i| m.next_n + u32::from(i)).collect();
            m.next_n += u32::from(*count);
            let datas: Vec<Vec<u8>> = ns.iter().map(|&n| msg(n)).collect();
            let msgs: Vec<NewMessage<'_>> = datas
                .iter()
                .map(|d| new_message(d, Flags::NONE, Vec::new()))
                .collect();
            let got = s.a().import(s.id(&name), &msgs).unwrap();
            let modseq = m.bump();
            let uids: Vec<u32> = ns
                .iter()
                .map(|&n| {
                    m.add(
                        &name,
                        MMsg {
                            n,
                            flags: Flags::NONE,
                            kws: vec![],
                            modseq,
                        },
                    )
                })
                .collect();
            assert_eq!(got.iter().map(|a| a.uid).collect::<Vec<_>>(), uids);
        }
        Op::Create { name } => {
            let name = norm(NAMES[*name]);
            let got = s
                .a()
                .create_mailbox(&name, moxide_storage::SpecialUse::NONE);
            if m.mbs.contains_key(&name) {
                assert_eq!(kind(&got.unwrap_err()), "exists");
            } else {
                got.unwrap();
                m.create_parents(&name);
                m.new_mailbox(&name);
                m.bump();
            }
        }
        Op::Delete { name } => {
            let name = norm(NAMES[*name]);
            let got = s.a().delete_mailbox(&name);
            let has_children = m.mbs.keys().any(|k| k.starts_with(&format!("{name}/")));
            if name == "Inbox" {
                assert_eq!(kind(&got.unwrap_err()), "notallowed");
            } else if !m.mbs.contains_key(&name) {
                assert_eq!(kind(&got.unwrap_err()), "nosuch");
            } else if has_children {
                assert_eq!(kind(&got.unwrap_err()), "notallowed");
            } else {
                got.unwrap();
                m.mbs.remove(&name);
                m.bump();
            }
        }
        Op::Rename { from, to } => {
            let (from, to) = (norm(NAMES[*from]), norm(NAMES[*to]));
            let got = s.a().rename_mailbox(&from, &to);
            if !m.mbs.contains_key(&from) {
                assert_eq!(kind(&got.unwrap_err()), "nosuch");
            } else if m.mbs.contains_key(&to) {
                assert_eq!(kind(&got.unwrap_err()), "exists");
            } else if from == "Inbox" {
                got.unwrap();
                m.create_parents(&to);
                m.new_mailbox(&to);
                let modseq = m.bump();
                let uids: Vec<u32> = m.mbs["Inbox"].msgs.keys().copied().collect();
                for uid in uids {
                    let mut msg = m.remove("Inbox", uid);
                    msg.modseq = modseq;
                    m.add(&to, msg);
                }
            } else if to.starts_with(&format!("{from}/")) {
                assert_eq!(kind(&got.unwrap_err()), "notallowed");
            } else {
                let moving: Vec<String> = m
                    .mbs
                    .keys()
                    .filter(|k| **k == from || k.starts_with(&format!("{from}/")))
                    .cloned()
                    .collect();
                let clash = moving
                    .iter()
                    .any(|k| m.mbs.contains_key(&format!("{to}{}", &k[from.len()..])));
                if clash {
                    assert_eq!(kind(&got.unwrap_err()), "exists");
                } else {
                    got.unwrap();
                    m.create_parents(&to);
                    for k in moving {
                        let b = m.mbs.remove(&k).unwrap();
                        m.mbs.insert(format!("{to}{}", &k[from.len()..]), b);
                    }
                    m.bump();
                }
            }
        }
        Op::Store {
            mb,
            pick,
            op,
            flags,
            kw,
            since_back,
        } => {
            let name = m.name(*mb);
            let uids = m.picked(&name, pick);
            let since = since_back.map(|b| m.modseq.saturating_sub(u64::from(b)));
            let (f, k) = (flags_of(*flags), kws_of(*kw));
            let fop = [FlagOp::Replace, FlagOp::Add, FlagOp::Remove][usize::from(*op)];
            let got = s
                .a()
                .store_flags(s.id(&name), &uids, fop, f, &k, since)
                .unwrap();
            let mut modified = Vec::new();
            let mut updates = Vec::new();
            for uid in uids {
                let Some(cur) = m.mbs[&name].msgs.get(&uid) else {
                    continue;
                };
                if since.is_some_and(|s| cur.modseq > s) {
                    modified.push(uid);
                    continue;
                }
                let (nf, nk) = match fop {
                    FlagOp::Replace => (f, k.clone()),
                    FlagOp::Add => {
                        let mut set: BTreeSet<String> = cur.kws.iter().cloned().collect();
                        set.extend(k.iter().cloned());
                        (cur.flags.with(f), set.into_iter().collect())
                    }
                    FlagOp::Remove => (
                        cur.flags.without(f),
                        cur.kws.iter().filter(|x| !k.contains(x)).cloned().collect(),
                    ),
                };
                if nf != cur.flags || nk != cur.kws {
                    updates.push((uid, nf, nk));
                }
            }
            assert_eq!(got.modified, modified);
            assert_eq!(
                got.changed.iter().map(|x| x.uid).collect::<Vec<_>>(),
                updates.iter().map(|u| u.0).collect::<Vec<_>>()
            );
            if !updates.is_empty() {
                let modseq = m.bump();
                for (uid, nf, nk) in updates {
                    let e = m.mbs.get_mut(&name).unwrap().msgs.get_mut(&uid).unwrap();
                    (e.flags, e.kws, e.modseq) = (nf, nk, modseq);
                    m.changed.entry(name.clone()).or_default().insert(uid);
                }
            }
        }
        Op::Expunge {
            mb,
            pick,
            only_deleted,
        } => {
            let name = m.name(*mb);
            let id = s.id(&name);
            let (got, targets) = match pick {
                None => (
                    s.a().expunge(id, ExpungeSet::AllDeleted).unwrap(),
                    m.mbs[&name]
                        .msgs
                        .iter()
                        .filter(|(_, x)| x.flags.contains(Flags::DELETED))
                        .map(|(u, _)| *u)
                        .collect::<Vec<_>>(),
                ),
                Some(p) => {
                    let uids = m.picked(&name, p);
                    let set = if *only_deleted {
                        ExpungeSet::DeletedIn(&uids)
                    } else {
                        ExpungeSet::Uids(&uids)
                    };
                    let got = s.a().expunge(id, set).unwrap();
                    let t =
                        uids.iter()
                            .filter(|u| {
                                m.mbs[&name].msgs.get(u).is_some_and(|x| {
                                    !*only_deleted || x.flags.contains(Flags::DELETED)
                                })
                            })
                            .copied()
                            .collect();
                    (got, t)
                }
            };
            assert_eq!(got, targets);
            if !targets.is_empty() {
                m.bump();
                for uid in targets {
                    m.remove(&name, uid);
                }
            }
        }
        Op::Copy { from, to, pick } | Op::Move { from, to, pick } => {
            let is_move = matches!(op, Op::Move { .. });
            let (from, to) = (m.name(*from), m.name(*to));
            let uids = m.picked(&from, pick);
            let (fid, tid) = (s.id(&from), s.id(&to));
            let got = if is_move {
                s.a().move_messages(fid, &uids, tid)
            } else {
                s.a().copy(fid, &uids, tid)
            }
            .unwrap();
            let live: Vec<u32> = uids
                .into_iter()
                .filter(|u| m.mbs[&from].msgs.contains_key(u))
                .collect();
            let mut pairs = Vec::new();
            if !live.is_empty() {
                let modseq = m.bump();
                let msgs: Vec<(u32, MMsg)> = live
                    .iter()
                    .map(|u| (*u, m.mbs[&from].msgs[u].clone()))
                    .collect();
                for (u, mut x) in msgs {
                    x.modseq = modseq;
                    let nu = m.add(&to, x);
                    pairs.push((u, nu));
                }
                if is_move {
                    for u in &live {
                        m.remove(&from, *u);
                    }
                }
            }
            assert_eq!(got.uids, pairs);
        }
        Op::Poll => {
            if let Some(r) = s.reader.as_mut() {
                r.poll();
            }
        }
        Op::NewReader => s.reader = Some(s.a().subscribe()),
        Op::DropReader => s.reader = None,
        Op::Reopen => {
            s.reader = None;
            s.acct = None;
            s.store = None;
            let st = Store::open(s.dir.path(), StoreConfig::default()).unwrap();
            s.acct = Some(st.account("m").unwrap());
            s.store = Some(st);
        }
    }
}

fn check(m: &Model, s: &Sut, before: u64) {
    let a = s.a();
    let mbs = a.mailboxes().unwrap();
    assert_eq!(
        mbs.iter().map(|b| b.name.clone()).collect::<Vec<_>>(),
        m.mbs.keys().cloned().collect::<Vec<_>>()
    );
    assert_eq!(a.highest_modseq(), m.modseq);
    let mut usage = 0;
    for mb in &mbs {
        let mm = &m.mbs[&mb.name];
        assert_eq!(
            (mb.uidvalidity, mb.uidnext),
            (mm.uidvalidity, mm.uidnext),
            "mailbox {}",
            mb.name
        );
        let msgs = a.messages_in(mb.id, 1..=u32::MAX).unwrap();
        assert_eq!(
            msgs.iter().map(|x| x.uid).collect::<Vec<_>>(),
            mm.msgs.keys().copied().collect::<Vec<_>>(),
            "mailbox {}",
            mb.name
        );
        let mut counts = moxide_storage::MailboxCounts::default();
        for x in &msgs {
            let want = &mm.msgs[&x.uid];
            assert_eq!(
                (x.flags, &x.keywords, x.modseq),
                (want.flags, &want.kws, want.modseq),
                "{} uid {}",
                mb.name,
                x.uid
            );
            let data = msg(want.n);
            assert_eq!(x.size, data.len() as u64);
            assert_eq!(a.read_message(x).unwrap(), data);
            let c = moxide_storage::MailboxCounts::of(x.flags, x.size);
            counts.total += c.total;
            counts.deleted += c.deleted;
            counts.unread += c.unread;
            counts.unseen += c.unseen;
            counts.size += c.size;
        }
        usage += counts.size;
        assert_eq!(mb.counts, counts, "mailbox {}", mb.name);
        let changed: BTreeSet<u32> = a
            .changed_since(mb.id, before)
            .unwrap()
            .iter()
            .map(|x| x.uid)
            .collect();
        assert_eq!(
            changed,
            m.changed.get(&mb.name).cloned().unwrap_or_default(),
            "changed in {}",
            mb.name
        );
        let vanished: BTreeSet<u32> = a
            .vanished_since(mb.id, before)
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(
            vanished,
            m.vanished.get(&mb.name).cloned().unwrap_or_default(),
            "vanished in {}",
            mb.name
        );
    }
    assert_eq!(a.quota().unwrap().usage, usage);
    let problems = s.store.as_ref().unwrap().check_consistency().unwrap();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

proptest! {
    #![proptest_config(ProptestConfig {
        // PROPTEST_CASES overrides the default of 48 for longer runs.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]
    #[test]
    fn store_agrees_with_model(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
        let acct = store.create_account("m", NewAccount::default()).unwrap();
        let mut s = Sut { dir, store: Some(store), acct: Some(acct), reader: None };
        let mut m = Model { modseq: 2, next_uidvalidity: 2, next_n: 1, ..Model::default() };
        m.mbs.insert("Inbox".into(), MBox { uidvalidity: 1, uidnext: 1, msgs: BTreeMap::new() });
        for op in &ops {
            let before = m.modseq;
            apply(&mut m, &mut s, op);
            check(&m, &s, before);
        }
    }
}
