//! The consistency check: recompute every derived value from the records and
//! the files, and report each difference precisely. Tests run it after every
//! mutation; `moxide verifydata` runs it on a live data directory.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::account::Account;
use crate::error::{Result, StoreError};
use crate::keys;
use crate::mailbox_name;
use crate::records::{self, ContentRecord, Mailbox, MailboxCounts};
use crate::store::{Store, lock};

impl Store {
    /// Check every account; problems are prefixed with the account name.
    pub fn check_consistency(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        out.extend(self.check_addresses()?);
        out.extend(self.check_tls_pubkeys()?);
        out.extend(self.check_queue()?);
        for name in self.account_names()? {
            let acct = self.account(&name)?;
            out.extend(
                acct.check_consistency()?
                    .into_iter()
                    .map(|p| format!("account {name:?}: {p}")),
            );
        }
        Ok(out)
    }
}

impl Store {
    /// The address index and the accounts' address lists agree.
    fn check_addresses(&self) -> Result<Vec<String>> {
        let meta = &self.inner.ks.meta;
        let mut p = Vec::new();
        let mut listed = BTreeSet::new();
        for name in self.account_names()? {
            let rec: crate::records::AccountRecord = match meta.get(keys::account(&name))? {
                Some(v) => records::decode(&v, || format!("account record {name:?}"))?,
                None => continue,
            };
            for a in rec.addresses {
                match meta.get(keys::address(&a))? {
                    Some(v) if *v == *name.as_bytes() => {}
                    _ => p.push(format!(
                        "address {a:?} of account {name:?} missing from the address index"
                    )),
                }
                listed.insert(a);
            }
        }
        for kv in meta.prefix([keys::TAG_ADDRESS]) {
            let k = kv.key()?;
            let a = String::from_utf8_lossy(k.get(1..).unwrap_or_default()).into_owned();
            if !listed.contains(&a) {
                p.push(format!("address index entry {a:?} belongs to no account"));
            }
        }
        Ok(p)
    }
}

impl Account {
    /// Recompute counts, UIDNEXT, modseqs, disk usage, sizes, indexes and
    /// file references; return one line per difference (empty = consistent).
    /// Writers of the account wait while it runs.
    pub fn check_consistency(&self) -> Result<Vec<String>> {
        let writer = lock(&self.shared.write);
        let state = writer.clone();
        let _hub = lock(&self.shared.hub);
        let a = self.shared.id;
        let ks = &self.store.ks;
        let mut p: Vec<String> = Vec::new();

        // Mailboxes and the name index.
        let mut mailboxes: BTreeMap<u32, Mailbox> = BTreeMap::new();
        for kv in ks.meta.prefix(keys::mailbox_prefix(a)) {
            let (k, v) = kv.into_inner()?;
            let id = keys::be_u32(&k, 5).ok_or_else(|| StoreError::corrupt("mailbox key"))?;
            let mut mb: Mailbox = records::decode(&v, || format!("mailbox #{id}"))?;
            mb.id = id;
            mailboxes.insert(id, mb);
        }
        let mut uidvalidities = HashMap::new();
        for mb in mailboxes.values() {
            let n = &mb.name;
            if mb.id >= state.next_mailbox_id {
                p.push(format!(
                    "mailbox {n:?} id {} not below next mailbox id {}",
                    mb.id, state.next_mailbox_id
                ));
            }
            if mb.uidvalidity >= state.next_uidvalidity {
                p.push(format!(
                    "mailbox {n:?} uidvalidity {} not below next uidvalidity {}",
                    mb.uidvalidity, state.next_uidvalidity
                ));
            }
            if let Some(other) = uidvalidities.insert(mb.uidvalidity, mb.id) {
                p.push(format!(
                    "mailbox {n:?} shares uidvalidity {} with mailbox #{other}",
                    mb.uidvalidity
                ));
            }
            if !(mb.createseq <= mb.modseq && mb.modseq <= state.modseq) {
                p.push(format!(
                    "mailbox {n:?} createseq {} modseq {} account modseq {}: not ordered",
                    mb.createseq, mb.modseq, state.modseq
                ));
            }
            if !mb.deleted {
                match mailbox_name::normalize(n) {
                    Ok(norm) if norm == *n => {}
                    _ => p.push(format!("mailbox {n:?} name is not normalised")),
                }
                if self.mailbox_id(n)? != Some(mb.id) {
                    p.push(format!(
                        "mailbox {n:?} (#{}) missing from the name index",
                        mb.id
                    ));
                }
                let sub = ks.meta.get(keys::subscription(a, n))?.is_some();
                if sub != mb.subscribed {
                    p.push(format!(
                        "mailbox {n:?} subscribed is {} but the subscription list says {sub}",
                        mb.subscribed
                    ));
                }
                for parent in mailbox_name::parents(n) {
                    if self.mailbox_id(parent)?.is_none() {
                        p.push(format!("mailbox {n:?} has no parent {parent:?}"));
                    }
                }
            }
        }
        let skip = keys::name_prefix(a).len();
        for kv in ks.meta.prefix(keys::name_prefix(a)) {
            let (k, v) = kv.into_inner()?;
            let name = String::from_utf8_lossy(k.get(skip..).unwrap_or_default()).into_owned();
            let id = keys::be_u32(&v, 0).unwrap_or(u32::MAX);
            match mailboxes.get(&id) {
                Some(mb) if !mb.deleted && mb.name == name => {}
                _ => p.push(format!("name index entry {name:?} points to #{id}, which is not a live mailbox of that name")),
            }
        }
        if self.mailbox_id(mailbox_name::INBOX)?.is_none() {
            p.push("no Inbox".to_string());
        }

        // Pending erasures.
        let mut erase = BTreeSet::new();
        for kv in ks.meta.prefix(keys::erase_prefix(a)) {
            let k = kv.key()?;
            erase.insert(keys::be_u64(&k, 5).ok_or_else(|| StoreError::corrupt("erase key"))?);
        }

        // Messages.
        let mut live: BTreeMap<u64, (u32, u32)> = BTreeMap::new();
        let mut usage = 0u64;
        let mut records = 0usize;
        let mut contents: HashMap<u64, ContentRecord> = HashMap::new();
        for kv in ks.content.prefix(a.to_be_bytes()) {
            let (k, v) = kv.into_inner()?;
            let id = keys::be_u64(&k, 4).ok_or_else(|| StoreError::corrupt("content key"))?;
            contents.insert(id, records::decode(&v, || format!("content record {id}"))?);
        }
        let mut msgid_expected = BTreeSet::new();
        let mut flag_entries = BTreeMap::new();
        for mb in mailboxes.values() {
            let n = &mb.name;
            let msgs = self.records_in(mb.id, 1..=u32::MAX)?;
            if mb.deleted && !msgs.is_empty() {
                p.push(format!(
                    "deleted mailbox {n:?} (#{}) still has {} message records",
                    mb.id,
                    msgs.len()
                ));
            }
            let mut counts = MailboxCounts::default();
            for m in &msgs {
                records += 1;
                flag_entries.insert((mb.id, m.uid), crate::flags_index::Entry::of(m));
                let at = format!("mailbox {n:?} uid {}", m.uid);
                if m.uid == 0 || m.uid >= mb.uidnext {
                    p.push(format!("{at}: uid not in 1..uidnext {}", mb.uidnext));
                }
                if !(m.createseq <= m.modseq && m.modseq <= mb.modseq && mb.modseq <= state.modseq)
                {
                    p.push(format!("{at}: createseq {} modseq {} mailbox modseq {} account modseq {}: not ordered", m.createseq, m.modseq, mb.modseq, state.modseq));
                }
                if m.msg_id >= state.next_msg_id {
                    p.push(format!(
                        "{at}: message id {} not below next message id {}",
                        m.msg_id, state.next_msg_id
                    ));
                }
                if ks
                    .modseq
                    .get(keys::modseq(a, mb.id, m.modseq, m.uid))?
                    .is_none()
                {
                    p.push(format!(
                        "{at}: modseq index entry for modseq {} missing",
                        m.modseq
                    ));
                }
                if m.expunged {
                    continue;
                }
                if let Some((omb, ouid)) = live.insert(m.msg_id, (mb.id, m.uid)) {
                    p.push(format!(
                        "{at}: message id {} also live in mailbox #{omb} uid {ouid}",
                        m.msg_id
                    ));
                }
                if erase.contains(&m.msg_id) {
                    p.push(format!(
                        "{at}: message id {} is live but scheduled for erasure",
                        m.msg_id
                    ));
                }
                counts.add(MailboxCounts::of(m.flags, m.size));
                usage = usage.saturating_add(m.size);
                if m.flags != m.flags.valid() {
                    p.push(format!("{at}: undefined flag bits {:#x}", m.flags.0));
                }
                if crate::flags::normalize_keywords(&m.keywords).ok().as_ref() != Some(&m.keywords)
                {
                    p.push(format!("{at}: keywords {:?} not normalised", m.keywords));
                }
                for k in &m.keywords {
                    if mb.keywords.binary_search(k).is_err() {
                        p.push(format!("{at}: keyword {k:?} missing from mailbox keywords"));
                    }
                }
                let Some(c) = contents.get(&m.msg_id) else {
                    p.push(format!(
                        "{at}: content record of message id {} missing",
                        m.msg_id
                    ));
                    continue;
                };
                if !c.message_id.is_empty() {
                    msgid_expected.insert(keys::message_id(a, &c.message_id, mb.id, m.uid));
                }
                let file = crate::files::rel_path(a, m.msg_id);
                match crate::files::file_size(&self.store.dir, a, m.msg_id) {
                    Ok(fsize) => {
                        let want = (c.prefix.len() as u64).saturating_add(fsize);
                        if want != m.size {
                            p.push(format!(
                                "{at}: size {} but prefix {} + file {} = {want} (file {})",
                                m.size,
                                c.prefix.len(),
                                fsize,
                                file.display()
                            ));
                        }
                    }
                    Err(_) => p.push(format!(
                        "{at}: message file {} of message id {} missing",
                        file.display(),
                        m.msg_id
                    )),
                }
            }
            if !mb.deleted && counts != mb.counts {
                p.push(format!(
                    "mailbox {n:?}: counts {:?}, recomputed {:?}",
                    mb.counts, counts
                ));
            }
        }
        if usage != state.disk_usage {
            p.push(format!(
                "disk usage {} bytes, recomputed {usage}",
                state.disk_usage
            ));
        }

        // Indexes.
        let mut index_entries = 0usize;
        for kv in ks.modseq.prefix(a.to_be_bytes()) {
            let k = kv.key()?;
            index_entries += 1;
            let (Some(mb), Some(ms), Some(uid)) = (
                keys::be_u32(&k, 4),
                keys::be_u64(&k, 8),
                keys::be_u32(&k, 16),
            ) else {
                p.push("malformed modseq index key".to_string());
                continue;
            };
            match self.message_opt(mb, uid)? {
                Some(m) if m.modseq == ms => {}
                _ => p.push(format!(
                    "stale modseq index entry mailbox #{mb} modseq {ms} uid {uid}"
                )),
            }
        }
        if index_entries != records {
            p.push(format!(
                "{index_entries} modseq index entries for {records} message records"
            ));
        }
        p.extend(self.check_flags_index(flag_entries)?);
        let mut found = BTreeSet::new();
        for kv in ks.msgid.prefix(a.to_be_bytes()) {
            found.insert(kv.key()?.to_vec());
        }
        for k in found.symmetric_difference(&msgid_expected) {
            let what = if found.contains(k) {
                "stale"
            } else {
                "missing"
            };
            p.push(format!(
                "{what} message-id index entry {:?}",
                String::from_utf8_lossy(k.get(4..).unwrap_or_default())
            ));
        }
        for id in contents.keys() {
            if !live.contains_key(id) && !erase.contains(id) {
                p.push(format!(
                    "content record of message id {id} belongs to no live message"
                ));
            }
        }
        p.extend(self.check_envelopes(&contents)?);
        for id in &erase {
            if !contents.contains_key(id) {
                p.push(format!(
                    "message id {id} scheduled for erasure has no content record"
                ));
            }
        }

        // Files: every file belongs to a live message or waits for erasure.
        for f in crate::files::list(&self.store.dir, a)? {
            match f {
                Err(path) => p.push(format!(
                    "unexpected file {}",
                    path.strip_prefix(&self.store.dir)
                        .unwrap_or(&path)
                        .display()
                )),
                Ok((id, _)) if !live.contains_key(&id) && !erase.contains(&id) => {
                    p.push(format!(
                        "orphan file {}: message id {id} is not a live message",
                        crate::files::rel_path(a, id).display()
                    ));
                }
                Ok(_) => {}
            }
        }
        Ok(p)
    }
}
