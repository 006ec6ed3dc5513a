//! The operations and the in-memory model of the state-machine test.

use std::collections::{BTreeMap, BTreeSet};

use moxide_storage::{Flags, StoreError};
use proptest::prelude::*;

pub const NAMES: [&str; 7] = ["Inbox", "a", "a/b", "b", "b/c/d", "inbox/x", "a/b/c"];
pub const KWS: [&str; 2] = ["$junk", "work"];

#[derive(Clone, Debug)]
pub enum Op {
    Deliver {
        mb: usize,
        flags: u8,
        kw: u8,
    },
    Import {
        mb: usize,
        count: u8,
    },
    Create {
        name: usize,
    },
    Delete {
        name: usize,
    },
    Rename {
        from: usize,
        to: usize,
    },
    Store {
        mb: usize,
        pick: Vec<usize>,
        op: u8,
        flags: u8,
        kw: u8,
        since_back: Option<u8>,
    },
    Expunge {
        mb: usize,
        pick: Option<Vec<usize>>,
        only_deleted: bool,
    },
    Copy {
        from: usize,
        to: usize,
        pick: Vec<usize>,
    },
    Move {
        from: usize,
        to: usize,
        pick: Vec<usize>,
    },
    Poll,
    NewReader,
    DropReader,
    Reopen,
}

pub fn op() -> impl Strategy<Value = Op> {
    let pick = || prop::collection::vec(0usize..1000, 0..4);
    prop_oneof![
        4 => (0usize..8, 0u8..32, 0u8..4).prop_map(|(mb, flags, kw)| Op::Deliver { mb, flags, kw }),
        1 => (0usize..8, 1u8..6).prop_map(|(mb, count)| Op::Import { mb, count }),
        2 => (0usize..NAMES.len()).prop_map(|name| Op::Create { name }),
        1 => (0usize..NAMES.len()).prop_map(|name| Op::Delete { name }),
        1 => (0usize..NAMES.len(), 0usize..NAMES.len()).prop_map(|(from, to)| Op::Rename { from, to }),
        3 => (0usize..8, pick(), 0u8..3, 0u8..32, 0u8..4, prop::option::of(0u8..3))
            .prop_map(|(mb, pick, op, flags, kw, since_back)| Op::Store { mb, pick, op, flags, kw, since_back }),
        2 => (0usize..8, prop::option::of(pick()), any::<bool>())
            .prop_map(|(mb, pick, only_deleted)| Op::Expunge { mb, pick, only_deleted }),
        1 => (0usize..8, 0usize..8, pick()).prop_map(|(from, to, pick)| Op::Copy { from, to, pick }),
        1 => (0usize..8, 0usize..8, pick()).prop_map(|(from, to, pick)| Op::Move { from, to, pick }),
        1 => Just(Op::Poll),
        1 => Just(Op::NewReader),
        1 => Just(Op::DropReader),
        1 => Just(Op::Reopen),
    ]
}

#[derive(Clone, Debug, PartialEq)]
pub struct MMsg {
    pub n: u32,
    pub flags: Flags,
    pub kws: Vec<String>,
    pub modseq: u64,
}

#[derive(Clone, Debug, Default)]
pub struct MBox {
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub msgs: BTreeMap<u32, MMsg>,
}

#[derive(Default)]
pub struct Model {
    pub mbs: BTreeMap<String, MBox>,
    pub modseq: u64,
    pub next_uidvalidity: u32,
    pub next_n: u32,
    /// Per mailbox name: UIDs added/changed and expunged by the last op.
    pub changed: BTreeMap<String, BTreeSet<u32>>,
    pub vanished: BTreeMap<String, BTreeSet<u32>>,
}

pub fn norm(n: &str) -> String {
    moxide_storage::mailbox_name::normalize(n).unwrap()
}

pub fn flags_of(bits: u8) -> Flags {
    let mut f = Flags::NONE;
    for (bit, flag) in [
        (1, Flags::SEEN),
        (2, Flags::FLAGGED),
        (4, Flags::DELETED),
        (8, Flags::ANSWERED),
        (16, Flags::DRAFT),
    ] {
        if bits & bit != 0 {
            f = f.with(flag);
        }
    }
    f
}

pub fn kws_of(bits: u8) -> Vec<String> {
    KWS.iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, k)| k.to_string())
        .collect()
}

pub fn kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::MailboxExists(_) => "exists",
        StoreError::NoSuchMailbox(_) => "nosuch",
        StoreError::MailboxNotAllowed { .. } => "notallowed",
        other => panic!("unexpected error {other}"),
    }
}

impl Model {
    pub fn name(&self, i: usize) -> String {
        self.mbs.keys().nth(i % self.mbs.len()).unwrap().clone()
    }
    pub fn bump(&mut self) -> u64 {
        self.modseq += 1;
        self.modseq
    }
    pub fn new_mailbox(&mut self, name: &str) {
        let uv = self.next_uidvalidity;
        self.next_uidvalidity += 1;
        self.mbs.insert(
            name.to_string(),
            MBox {
                uidvalidity: uv,
                uidnext: 1,
                msgs: BTreeMap::new(),
            },
        );
    }
    pub fn create_parents(&mut self, name: &str) {
        let parents: Vec<String> = moxide_storage::mailbox_name::parents(name)
            .into_iter()
            .map(String::from)
            .collect();
        for p in parents {
            if !self.mbs.contains_key(&p) {
                self.new_mailbox(&p);
            }
        }
    }
    pub fn picked(&self, mb: &str, pick: &[usize]) -> Vec<u32> {
        let live: Vec<u32> = self.mbs[mb].msgs.keys().copied().collect();
        let mut out: Vec<u32> = pick
            .iter()
            .map(|&p| {
                if p >= 990 || live.is_empty() {
                    9999
                } else {
                    live[p % live.len()]
                }
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
    pub fn add(&mut self, mb: &str, m: MMsg) -> u32 {
        let b = self.mbs.get_mut(mb).unwrap();
        let uid = b.uidnext;
        b.uidnext += 1;
        b.msgs.insert(uid, m);
        self.changed.entry(mb.to_string()).or_default().insert(uid);
        uid
    }
    pub fn remove(&mut self, mb: &str, uid: u32) -> MMsg {
        self.vanished.entry(mb.to_string()).or_default().insert(uid);
        self.mbs.get_mut(mb).unwrap().msgs.remove(&uid).unwrap()
    }
}
