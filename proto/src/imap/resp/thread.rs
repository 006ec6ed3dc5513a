//! The THREAD response (RFC 5256 4):
//!
//! ```text
//! thread-data    = "THREAD" [SP 1*thread-list]
//! thread-list    = "(" (thread-members / thread-nested) ")"
//! thread-members = nz-number *(SP nz-number) [SP thread-nested]
//! thread-nested  = 2*thread-list
//! ```

use super::super::core::error::{IResult, ParseError};
use super::super::core::{byte, nz_number, write_number};
use super::MAX_DEPTH;
use super::data::Data;

/// One thread: a chain of messages, then the subthreads that branch after
/// the last of them.
///
/// The wire form has no way to say "one branch": a single child is the
/// continuation of the chain. So a normal value has `children` empty or with
/// at least two entries, and at least two when `members` is empty. The
/// encoder writes other values in that normal form (a single child is merged
/// into the chain), which is what the parser returns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Thread {
    /// Message numbers (or UIDs) in parent → child order.
    pub members: Vec<u32>,
    /// Subthreads after the last member.
    pub children: Vec<Thread>,
}

/// Appends `THREAD` and the threads without CRLF.
pub(crate) fn encode_threads(out: &mut Vec<u8>, threads: &[Thread]) {
    out.extend_from_slice(b"THREAD");
    if !threads.is_empty() {
        out.push(b' ');
        for t in threads {
            write_thread_list(out, t);
        }
    }
}

/// `"(" … ")"` for one thread.
fn write_thread_list(out: &mut Vec<u8>, t: &Thread) {
    out.push(b'(');
    let mut sep = false;
    let mut cur = t;
    loop {
        for m in &cur.members {
            if sep {
                out.push(b' ');
            }
            write_number(out, *m);
            sep = true;
        }
        match cur.children.as_slice() {
            [only] => cur = only,
            children => {
                if !children.is_empty() {
                    if sep {
                        out.push(b' ');
                    }
                    for c in children {
                        write_thread_list(out, c);
                    }
                }
                break;
            }
        }
    }
    out.push(b')');
}

/// `thread-list` at nesting `depth`.
fn thread_list(i: &[u8], depth: usize) -> IResult<'_, Thread> {
    if depth > MAX_DEPTH {
        return Err(ParseError::cut(i, "threads nested too deeply"));
    }
    let (mut i, ()) = byte(b'(')(i)?;
    let mut t = Thread::default();
    loop {
        match i.first() {
            Some(b'(') => {
                let (r, children) = thread_nested(i, depth)?;
                t.children = children;
                let (r, ()) = byte(b')')(r)?;
                return Ok((r, t));
            }
            Some(_) => {
                let (r, n) = nz_number(i)?;
                t.members.push(n);
                match r.first() {
                    Some(b' ') => i = &r[1..],
                    Some(b')') => return Ok((&r[1..], t)),
                    Some(_) => return Err(ParseError::fail(r, "expected ' ' or ')' in thread")),
                    None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
                }
            }
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
    }
}

/// `thread-nested`: two or more adjacent thread lists (one is accepted and
/// merged into its parent's chain, as the encoder would write it).
fn thread_nested(mut i: &[u8], depth: usize) -> IResult<'_, Vec<Thread>> {
    let mut v = Vec::new();
    while let Some(b'(') = i.first() {
        let (r, t) = thread_list(i, depth + 1)?;
        v.push(t);
        i = r;
    }
    if i.is_empty() {
        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
    }
    Ok((i, v))
}

/// Brings a parsed thread into normal form (see [`Thread`]).
fn normalize(mut t: Thread) -> Thread {
    while t.children.len() == 1 {
        if let Some(only) = t.children.pop() {
            t.members.extend(only.members);
            t.children = only.children;
        }
    }
    t.children = t.children.into_iter().map(normalize).collect();
    t
}

/// After `THREAD`: `[SP 1*thread-list]`.
pub(crate) fn thread_data(i: &[u8]) -> IResult<'_, Data> {
    match i.first() {
        Some(b' ') => {
            let (r, threads) = thread_nested(&i[1..], 0)?;
            if threads.is_empty() {
                return Err(ParseError::fail(&i[1..], "expected '('"));
            }
            Ok((
                r,
                Data::Thread(threads.into_iter().map(normalize).collect()),
            ))
        }
        Some(_) => Ok((i, Data::Thread(Vec::new()))),
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::core::Ctx;
    use crate::imap::resp::{Response, parse_response};

    fn leaf(m: &[u32]) -> Thread {
        Thread {
            members: m.to_vec(),
            children: vec![],
        }
    }

    #[test]
    fn thread_lines() {
        // RFC 5256 4
        let line = b"* THREAD (2)(3 6 (4 23)(44 7 96))\r\n";
        let (n, r) = parse_response(line, Ctx::REV1).unwrap();
        assert_eq!(n, line.len());
        let expect = vec![
            leaf(&[2]),
            Thread {
                members: vec![3, 6],
                children: vec![leaf(&[4, 23]), leaf(&[44, 7, 96])],
            },
        ];
        assert_eq!(r, Response::Data(Data::Thread(expect.clone())));
        let mut out = Vec::new();
        Data::Thread(expect).encode(&mut out, Ctx::REV1);
        assert_eq!(out, line);
        // A nested-only thread and a single child written inline.
        let line = b"* THREAD ((3)(5))\r\n";
        let (_, r) = parse_response(line, Ctx::REV1).unwrap();
        assert_eq!(
            r,
            Response::Data(Data::Thread(vec![Thread {
                members: vec![],
                children: vec![leaf(&[3]), leaf(&[5])]
            }]))
        );
        out.clear();
        Data::Thread(vec![Thread {
            members: vec![1],
            children: vec![leaf(&[2])],
        }])
        .encode(&mut out, Ctx::REV1);
        assert_eq!(out, b"* THREAD (1 2)\r\n");
        let (_, r) = parse_response(b"* THREAD (1 (2))\r\n", Ctx::REV1).unwrap();
        assert_eq!(r, Response::Data(Data::Thread(vec![leaf(&[1, 2])])));
        assert!(parse_response(b"* THREAD ()\r\n", Ctx::REV1).is_err());
        let deep = format!("* THREAD {}1{}\r\n", "(".repeat(200), ")".repeat(200));
        assert!(parse_response(deep.as_bytes(), Ctx::REV1).is_err());
    }
}
