//! SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3) with CONDSTORE and QRESYNC
//! parameters (RFC 7162 3.1.8, 3.2.5): VANISHED (EARLIER) and FETCH for
//! what changed since the client's modseq.

use moxide_proto::imap::cmd::SelectParams;
use moxide_proto::imap::core::{FlagPerm, Mailbox, SequenceSet, Tag, UidSet};
use moxide_proto::imap::resp::{Code, Data, FetchItem, ListData, Response, Status};

use super::storage_name;
use crate::imap::Session;
use crate::imap::convert;
use crate::imap::selected::Selected;
use crate::imap::uid_runs::UidRuns;

fn untagged_ok(s: &mut Session, code: Code, text: &str) {
    s.send(Response::Status(Status::ok(None, Some(code), text)));
}

/// SELECT (`examine` false) or EXAMINE.
pub(crate) fn run(s: &mut Session, tag: Tag, m: &Mailbox, params: &SelectParams, examine: bool) {
    if params.qresync.is_some() && !s.ext.qresync {
        return s.bad(tag, "QRESYNC must be enabled first");
    }
    // RFC 9051 6.3.2: a SELECT first closes the selected mailbox and says
    // so with [CLOSED] (RFC 7162 3.2.11 for QRESYNC clients; IMAP4rev1
    // clients without either are not told).
    if s.sel.take().is_some() && (s.ext.qresync || s.ext.rev2) {
        untagged_ok(s, Code::Closed, "previous mailbox closed");
    }
    if params.condstore {
        s.ext.condstore = true;
    }
    let Some(acct) = s.account() else {
        return s.bad(tag, "not authenticated");
    };
    let Some(name) = storage_name(m) else {
        return s.no(tag, Some(Code::NonExistent), "no such mailbox");
    };
    // Changes queued so far are about a previous state: drop them before
    // reading the mailbox (the feed then holds only newer ones).
    if let Some(u) = s.user.as_mut() {
        u.reader.poll();
    }
    s.own_modseqs.clear();
    let mb = match acct.mailbox(&name) {
        Ok(mb) => mb,
        Err(e) => return s.store_error(tag, e, "SELECT"),
    };
    let uids = match acct.uid_runs(&mb) {
        Ok(u) => UidRuns::from_runs(&u),
        Err(e) => return s.store_error(tag, e, "SELECT"),
    };
    let sel = Selected {
        id: mb.id,
        name: mb.name.clone(),
        read_only: examine,
        uids,
        keywords: mb.keywords.clone(),
        saved: Vec::new(),
    };
    s.data(Data::Flags(convert::mailbox_flags(&mb.keywords)));
    let perm: Vec<FlagPerm> = if examine {
        Vec::new()
    } else {
        let mut p: Vec<FlagPerm> = convert::mailbox_flags(&mb.keywords)
            .into_iter()
            .map(FlagPerm::Flag)
            .collect();
        p.push(FlagPerm::Any);
        p
    };
    untagged_ok(s, Code::PermanentFlags(perm), "flags permitted");
    s.data(Data::Exists(sel.exists()));
    if !s.ext.rev2 {
        s.data(Data::Recent(0));
        // RFC 3501 7.1: [UNSEEN n], the first message without \Seen.
        match acct.first_unseen(&mb) {
            Ok(first) => {
                if let Some(seq) = first.and_then(|uid| sel.seq_of(uid)) {
                    untagged_ok(s, Code::Unseen(seq), "first unseen");
                }
            }
            Err(e) => return s.store_error(tag, e, "SELECT"),
        }
    }
    untagged_ok(s, Code::UidValidity(mb.uidvalidity), "uidvalidity");
    untagged_ok(s, Code::UidNext(mb.uidnext), "next uid");
    untagged_ok(s, Code::HighestModSeq(mb.modseq.max(1)), "highest modseq");
    if s.ext.rev2 {
        // RFC 9051 6.3.2: the LIST response for the mailbox name, with
        // accurate attributes.
        let attrs = match acct.mailboxes() {
            Ok(all) => super::list::mailbox_attrs(&all, &mb),
            Err(e) => return s.store_error(tag, e, "SELECT"),
        };
        s.data(Data::List(ListData {
            attrs,
            delimiter: Some('/'),
            mailbox: super::wire_name(&mb.name),
            extended: Vec::new(),
        }));
    }
    if let Some(q) = &params.qresync
        && q.uid_validity == mb.uidvalidity
    {
        let known = |uid: u32| match &q.known_uids {
            Some(set @ SequenceSet::Ranges(_)) => set.contains(uid, u32::MAX),
            _ => true,
        };
        match acct.vanished_since(mb.id, q.modseq) {
            Ok(v) => {
                let v: Vec<u32> = v.into_iter().filter(|&u| known(u)).collect();
                if !v.is_empty() {
                    s.data(Data::Vanished {
                        earlier: true,
                        uids: UidSet::from_sorted(v),
                    });
                }
            }
            Err(e) => return s.store_error(tag, e, "SELECT QRESYNC"),
        }
        match acct.changed_since(mb.id, q.modseq) {
            Ok(changed) => {
                for m in changed {
                    if let Some(seq) = sel.seq_of(m.uid) {
                        s.data(Data::Fetch {
                            seq,
                            items: vec![
                                FetchItem::Uid(m.uid),
                                FetchItem::Flags(convert::flag_fetch(m.flags, &m.keywords)),
                                FetchItem::ModSeq(m.modseq),
                            ],
                        });
                    }
                }
            }
            Err(e) => return s.store_error(tag, e, "SELECT QRESYNC"),
        }
    }
    s.sel = Some(sel);
    let (code, text) = if examine {
        (Code::ReadOnly, "EXAMINE completed")
    } else {
        (Code::ReadWrite, "SELECT completed")
    };
    s.ok(tag, Some(code), text);
}
