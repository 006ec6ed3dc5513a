//! THREAD and UID THREAD (RFC 5256 4): ORDEREDSUBJECT, and REFERENCES
//! (RFC 5256 2.2: parent/child links from References and In-Reply-To, loops
//! refused, empty containers pruned, roots with the same base subject
//! merged, siblings by date).

use std::collections::HashMap;

use moxide_proto::imap::cmd::{ThreadAlgorithm, ThreadCommand};
use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::{Data, Thread};

use super::search::matching;
use crate::imap::Session;

/// Per-message threading data.
#[derive(Debug, Clone)]
struct Info {
    num: u32,
    seq: u32,
    sent: i64,
    subject: String,
    message_id: Option<String>,
    refs: Vec<String>,
    /// The subject had a reply or forward marker (RFC 5256 2.1).
    reply: bool,
}

/// RFC 5256 2.1 ORDEREDSUBJECT: messages grouped by base subject, each
/// group sorted by date, groups by the date of their first message.
fn ordered_subject(mut msgs: Vec<Info>) -> Vec<Thread> {
    msgs.sort_by_key(|m| (m.sent, m.seq));
    let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for m in msgs {
        match index.get(&m.subject) {
            Some(&i) => {
                if let Some(g) = groups.get_mut(i) {
                    g.1.push(m.num);
                }
            }
            None => {
                index.insert(m.subject.clone(), groups.len());
                groups.push((m.subject, vec![m.num]));
            }
        }
    }
    groups
        .into_iter()
        .map(|(_, nums)| {
            let (first, rest) = nums.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
            Thread {
                members: vec![first],
                children: rest
                    .iter()
                    .map(|&n| Thread {
                        members: vec![n],
                        children: Vec::new(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A node of the REFERENCES tree.
#[derive(Debug, Clone, Default)]
struct Node {
    msg: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Tree {
    nodes: Vec<Node>,
    by_id: HashMap<String, usize>,
}

impl Tree {
    fn node(&mut self, id: &str) -> usize {
        if let Some(&n) = self.by_id.get(id) {
            return n;
        }
        self.nodes.push(Node::default());
        let n = self.nodes.len() - 1;
        self.by_id.insert(id.to_string(), n);
        n
    }

    /// Whether `a` is `b` or an ancestor of `b`.
    fn is_ancestor(&self, a: usize, b: usize) -> bool {
        let mut cur = Some(b);
        let mut steps = 0;
        while let Some(c) = cur {
            if c == a {
                return true;
            }
            steps += 1;
            if steps > self.nodes.len() {
                return true;
            }
            cur = self.nodes.get(c).and_then(|n| n.parent);
        }
        false
    }

    fn link(&mut self, parent: usize, child: usize) {
        if self.is_ancestor(child, parent) {
            return;
        }
        if let Some(old) = self.nodes.get(child).and_then(|n| n.parent)
            && let Some(o) = self.nodes.get_mut(old)
        {
            o.children.retain(|&c| c != child);
        }
        if let Some(c) = self.nodes.get_mut(child) {
            c.parent = Some(parent);
        }
        if let Some(p) = self.nodes.get_mut(parent) {
            p.children.push(child);
        }
    }
}

/// RFC 5256 2.2 REFERENCES (without the subject merge).
fn references(msgs: Vec<Info>) -> Vec<Thread> {
    let mut t = Tree {
        nodes: Vec::new(),
        by_id: HashMap::new(),
    };
    for (i, m) in msgs.iter().enumerate() {
        // Step 1A: a message without (or with a duplicate) Message-ID gets
        // a unique one.
        let own = match &m.message_id {
            Some(id)
                if t.by_id
                    .get(id)
                    .is_none_or(|&n| t.nodes.get(n).is_some_and(|x| x.msg.is_none())) =>
            {
                t.node(id)
            }
            _ => t.node(&format!("\0{i}")),
        };
        if let Some(n) = t.nodes.get_mut(own) {
            n.msg = Some(i);
        }
        // Step 1B: link the references in order, not overriding links.
        let mut prev: Option<usize> = None;
        for r in &m.refs {
            let n = t.node(r);
            if let Some(p) = prev
                && t.nodes.get(n).is_some_and(|x| x.parent.is_none())
                && !t.is_ancestor(n, p)
            {
                t.link(p, n);
            }
            prev = Some(n);
        }
        // Step 1C: the last reference is the parent.
        match prev {
            Some(p) if p != own => t.link(p, own),
            _ => {
                if let Some(old) = t.nodes.get(own).and_then(|n| n.parent) {
                    if let Some(o) = t.nodes.get_mut(old) {
                        o.children.retain(|&c| c != own);
                    }
                    if let Some(n) = t.nodes.get_mut(own) {
                        n.parent = None;
                    }
                }
            }
        }
    }
    let roots: Vec<usize> = (0..t.nodes.len())
        .filter(|&n| t.nodes.get(n).is_some_and(|x| x.parent.is_none()))
        .collect();
    let mut out: Vec<(i64, u32, Thread)> = roots
        .into_iter()
        .flat_map(|r| build(&t, &msgs, r, true, 0))
        .collect();
    out.sort_by_key(|x| (x.0, x.1));
    let by_num: HashMap<u32, &Info> = msgs.iter().map(|m| (m.num, m)).collect();
    merge_subjects(out.into_iter().map(|x| x.2).collect(), &by_num)
}

/// (date, seq) of a thread's first message, for ordering.
fn sort_key(t: &Thread, by_num: &HashMap<u32, &Info>) -> (i64, u32) {
    match t.members.first().and_then(|n| by_num.get(n)) {
        Some(m) => (m.sent, m.seq),
        None => t
            .children
            .first()
            .map_or((i64::MAX, u32::MAX), |c| sort_key(c, by_num)),
    }
}

/// The message that gives a thread its subject (its first message, or the
/// first child's for a dummy).
fn subject_of<'a>(t: &Thread, by_num: &HashMap<u32, &'a Info>) -> Option<&'a Info> {
    match t.members.first() {
        Some(n) => by_num.get(n).copied(),
        None => t.children.first().and_then(|c| subject_of(c, by_num)),
    }
}

/// RFC 5256 2.2 step 5: threads whose roots share a base subject are
/// merged; then step 6 orders them again by date.
fn merge_subjects(roots: Vec<Thread>, by_num: &HashMap<u32, &Info>) -> Vec<Thread> {
    let mut out: Vec<Thread> = Vec::new();
    let mut table: HashMap<String, usize> = HashMap::new();
    for r in roots {
        let Some(info) = subject_of(&r, by_num).filter(|i| !i.subject.is_empty()) else {
            out.push(r);
            continue;
        };
        let Some(&i) = table.get(&info.subject) else {
            table.insert(info.subject.clone(), out.len());
            out.push(r);
            continue;
        };
        let Some(existing) = out.get_mut(i) else {
            continue;
        };
        let old = std::mem::take(existing);
        let old_reply = subject_of(&old, by_num).is_some_and(|m| m.reply);
        let merged = match (old.members.is_empty(), r.members.is_empty()) {
            // Both dummies: one dummy with all children.
            (true, true) => {
                let mut t = old;
                t.children.extend(r.children);
                t
            }
            // The real message becomes a child of the dummy.
            (true, false) => {
                let mut t = old;
                t.children.push(r);
                t
            }
            (false, true) => {
                let mut t = r;
                t.children.push(old);
                t
            }
            // A reply goes below the message that is not one.
            (false, false) if !old_reply && info.reply => {
                let mut t = old;
                t.children.push(r);
                t
            }
            (false, false) if old_reply && !info.reply => {
                let mut t = r;
                t.children.push(old);
                t
            }
            (false, false) => Thread {
                members: Vec::new(),
                children: vec![old, r],
            },
        };
        *existing = merged;
        if let Some(t) = out.get_mut(i) {
            t.children.sort_by_key(|c| sort_key(c, by_num));
        }
    }
    out.sort_by_key(|t| sort_key(t, by_num));
    out
}

/// Steps 3, 4 and 6: prunes empty nodes and sorts siblings by date; returns
/// (date, seq, thread) for each thread this node becomes.
fn build(t: &Tree, msgs: &[Info], n: usize, root: bool, depth: usize) -> Vec<(i64, u32, Thread)> {
    let Some(node) = t.nodes.get(n) else {
        return Vec::new();
    };
    if depth > 1000 {
        return Vec::new();
    }
    let mut kids: Vec<(i64, u32, Thread)> = node
        .children
        .iter()
        .flat_map(|&c| build(t, msgs, c, false, depth + 1))
        .collect();
    kids.sort_by_key(|x| (x.0, x.1));
    match node.msg.and_then(|i| msgs.get(i)) {
        Some(m) => vec![(
            m.sent,
            m.seq,
            Thread {
                members: vec![m.num],
                children: kids.into_iter().map(|k| k.2).collect(),
            },
        )],
        // An empty root with several children stays as a dummy; otherwise
        // its children take its place.
        None if root && kids.len() > 1 => {
            let (d, s) = kids.first().map_or((i64::MAX, u32::MAX), |k| (k.0, k.1));
            vec![(
                d,
                s,
                Thread {
                    members: Vec::new(),
                    children: kids.into_iter().map(|k| k.2).collect(),
                },
            )]
        }
        None => kids,
    }
}

/// [UID] THREAD algorithm charset keys.
pub(crate) fn run(s: &mut Session, tag: Tag, c: &ThreadCommand) {
    if let ThreadAlgorithm::Other(_) = c.algorithm {
        return s.bad(tag, "unsupported threading algorithm");
    }
    let mut infos = Vec::new();
    let uid = c.uid;
    let hits = matching(s, &c.keys, Some(&c.charset), |cand, ctx| {
        let (m, seq) = (cand.m, cand.seq);
        let st = cand.structure(ctx.acct)?;
        infos.push(Info {
            num: if uid { m.uid } else { seq },
            seq,
            sent: st.date().unwrap_or(m.received),
            subject: st.base_subject().text.to_ascii_uppercase(),
            reply: st.base_subject().is_reply_or_forward,
            message_id: st.message_id().map(str::to_string),
            refs: st.thread_references().to_vec(),
        });
        Ok(())
    });
    if let Err(f) = hits {
        return s.search_fail(tag, f, "THREAD");
    }
    let threads = match c.algorithm {
        ThreadAlgorithm::OrderedSubject => ordered_subject(infos),
        _ => references(infos),
    };
    s.data(Data::Thread(threads));
    s.ok(tag, None, "THREAD completed");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(num: u32, sent: i64, subject: &str, id: &str, refs: &[&str]) -> Info {
        Info {
            num,
            seq: num,
            sent,
            subject: subject.to_string(),
            message_id: Some(id.to_string()),
            refs: refs.iter().map(|r| r.to_string()).collect(),
            reply: false,
        }
    }

    #[test]
    fn references_tree() {
        let msgs = vec![
            info(1, 10, "A", "a@x", &[]),
            info(2, 20, "A", "b@x", &["a@x"]),
            info(3, 30, "B", "c@x", &[]),
            info(4, 40, "A", "d@x", &["a@x"]),
            info(5, 50, "A", "e@x", &["a@x", "b@x"]),
            info(6, 5, "Z", "f@x", &["missing@x"]),
            info(7, 6, "Z", "g@x", &["missing@x"]),
        ];
        let t = references(msgs);
        let mut out = Vec::new();
        moxide_proto::imap::resp::Response::Data(Data::Thread(t))
            .encode(&mut out, moxide_proto::imap::core::Ctx::REV1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "* THREAD ((6)(7))(1 (2 5)(4))(3)\r\n"
        );
    }

    #[test]
    fn references_merges_subjects() {
        let mut reply = info(8, 60, "B", "h@x", &[]);
        reply.reply = true;
        let msgs = vec![
            info(3, 30, "B", "c@x", &[]),
            reply,
            info(9, 70, "C", "i@x", &[]),
            info(10, 80, "C", "j@x", &[]),
        ];
        let mut out = Vec::new();
        moxide_proto::imap::resp::Response::Data(Data::Thread(references(msgs)))
            .encode(&mut out, moxide_proto::imap::core::Ctx::REV1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "* THREAD (3 8)((9)(10))\r\n"
        );
    }

    #[test]
    fn ordered_subject_groups() {
        let msgs = vec![
            info(1, 10, "A", "a", &[]),
            info(2, 5, "B", "b", &[]),
            info(3, 30, "A", "c", &[]),
            info(4, 40, "A", "d", &[]),
        ];
        let mut out = Vec::new();
        moxide_proto::imap::resp::Response::Data(Data::Thread(ordered_subject(msgs)))
            .encode(&mut out, moxide_proto::imap::core::Ctx::REV1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "* THREAD (2)(1 (3)(4))\r\n"
        );
    }
}
