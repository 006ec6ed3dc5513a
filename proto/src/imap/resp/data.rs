//! Untagged data responses (RFC 9051 7.2–7.5 and extensions): the [`Data`]
//! type, its encoder and the dispatch of its parser. The larger responses
//! live in their own files (list, search, namespace/ID/quota, thread, fetch);
//! the small ones and STATUS are here.

use super::super::core::error::{IResult, ParseError};
use super::super::core::flag::{Flag, flag_list, write_flag_list};
use super::super::core::mailbox::{mailbox, write_mailbox};
use super::super::core::section::status_attr;
use super::super::core::seq::{UidSet, uid_set, write_uid_set};
use super::super::core::string::atom_str;
use super::super::core::{
    Ctx, Mailbox, StatusAttr, crlf, keyword, number, number64, paren_list, sp, write_number,
};
use super::fetch::FetchItem;
use super::list::ListData;
use super::namespace_id_quota::{Namespaces, QuotaResource};
use super::search::ESearch;
use super::thread::Thread;
use super::{atoms_after, server_ctx, write_atoms};

/// Untagged data (`* …` other than a status response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data {
    /// `CAPABILITY cap …` (RFC 9051 7.2.2); each must be an atom, others are
    /// not written.
    Capability(Vec<String>),
    /// `ENABLED cap …` (RFC 5161); each must be an atom, others are not
    /// written.
    Enabled(Vec<String>),
    /// `LIST (attrs) delim mailbox [ext]` (RFC 9051 7.3.1, RFC 5258).
    List(ListData),
    /// `LSUB (attrs) delim mailbox` (RFC 3501 7.2.3).
    Lsub(ListData),
    /// `STATUS mailbox (attr value …)` (RFC 9051 7.3.2).
    Status {
        /// The mailbox.
        mailbox: Mailbox,
        /// The requested attributes and their values.
        items: Vec<StatusValue>,
    },
    /// `SEARCH n … [(MODSEQ n)]` (RFC 3501 7.2.5, RFC 7162 3.1.5).
    Search {
        /// Matching sequence numbers or UIDs.
        nums: Vec<u32>,
        /// Highest mod-sequence of the matches, when MODSEQ was searched.
        modseq: Option<u64>,
    },
    /// `ESEARCH …` (RFC 4731, RFC 9051 7.3.4).
    ESearch(ESearch),
    /// `FLAGS (flag …)` (RFC 9051 7.3.5).
    Flags(Vec<Flag>),
    /// `n EXISTS` (RFC 9051 7.4.1).
    Exists(u32),
    /// `n RECENT` (RFC 3501 7.3.2).
    Recent(u32),
    /// `n EXPUNGE` (RFC 9051 7.5.1).
    Expunge(u32),
    /// `n FETCH (item …)` (RFC 9051 7.5.2); at least one item.
    Fetch {
        /// Message sequence number.
        seq: u32,
        /// The data items.
        items: Vec<FetchItem>,
    },
    /// `VANISHED [(EARLIER)] uids` (RFC 7162 3.2.10); the set is not empty.
    Vanished {
        /// `(EARLIER)`: answer to a FETCH/SELECT, not a new expunge.
        earlier: bool,
        /// The expunged UIDs.
        uids: UidSet,
    },
    /// `NAMESPACE personal other shared` (RFC 2342, RFC 9051 7.3.3).
    Namespace(Namespaces),
    /// `ID (name value …)` or `ID NIL` (RFC 2971).
    Id(Option<Vec<(String, Option<String>)>>),
    /// `QUOTA root (resource usage limit …)` (RFC 9208 5.1).
    Quota {
        /// The quota root name (`""` is common).
        root: String,
        /// The resources; at least one.
        resources: Vec<QuotaResource>,
    },
    /// `QUOTAROOT mailbox root …` (RFC 9208 5.2).
    QuotaRoot {
        /// The mailbox asked about.
        mailbox: Mailbox,
        /// Its quota roots.
        roots: Vec<String>,
    },
    /// `SORT n … [(MODSEQ n)]` (RFC 5256 4, RFC 7162 3.1.5).
    Sort {
        /// Sequence numbers or UIDs in sort order.
        nums: Vec<u32>,
        /// Highest mod-sequence of the matches, when MODSEQ was searched.
        modseq: Option<u64>,
    },
    /// `THREAD (thread)…` (RFC 5256 4).
    Thread(Vec<Thread>),
}

impl Data {
    /// Appends `* …` CRLF (with literals inline).
    pub fn encode(&self, out: &mut Vec<u8>, ctx: Ctx) {
        let ctx = server_ctx(ctx);
        out.extend_from_slice(b"* ");
        match self {
            Data::Capability(caps) => {
                out.extend_from_slice(b"CAPABILITY");
                write_atoms(out, caps);
            }
            Data::Enabled(caps) => {
                out.extend_from_slice(b"ENABLED");
                write_atoms(out, caps);
            }
            Data::List(l) => {
                out.extend_from_slice(b"LIST ");
                l.encode(out, ctx);
            }
            Data::Lsub(l) => {
                out.extend_from_slice(b"LSUB ");
                l.encode(out, ctx);
            }
            Data::Status { mailbox, items } => encode_status(out, mailbox, items, ctx),
            Data::Search { nums, modseq } => {
                out.extend_from_slice(b"SEARCH");
                super::search::encode_nums(out, nums, *modseq);
            }
            Data::Sort { nums, modseq } => {
                out.extend_from_slice(b"SORT");
                super::search::encode_nums(out, nums, *modseq);
            }
            Data::ESearch(e) => e.encode(out, ctx),
            Data::Flags(flags) => {
                out.extend_from_slice(b"FLAGS ");
                write_flag_list(out, flags);
            }
            Data::Exists(n) => {
                write_number(out, *n);
                out.extend_from_slice(b" EXISTS");
            }
            Data::Recent(n) => {
                write_number(out, *n);
                out.extend_from_slice(b" RECENT");
            }
            Data::Expunge(n) => {
                write_number(out, *n);
                out.extend_from_slice(b" EXPUNGE");
            }
            Data::Fetch { seq, items } => super::fetch::write_fetch(out, *seq, items, ctx),
            Data::Vanished { earlier, uids } => {
                out.extend_from_slice(b"VANISHED ");
                if *earlier {
                    out.extend_from_slice(b"(EARLIER) ");
                }
                write_uid_set(out, uids);
            }
            Data::Namespace(ns) => ns.encode(out, ctx),
            Data::Id(params) => super::namespace_id_quota::encode_id(out, params.as_deref(), ctx),
            Data::Quota { root, resources } => {
                super::namespace_id_quota::encode_quota(out, root, resources, ctx)
            }
            Data::QuotaRoot { mailbox, roots } => {
                super::namespace_id_quota::encode_quota_root(out, mailbox, roots, ctx)
            }
            Data::Thread(threads) => super::thread::encode_threads(out, threads),
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// `nz-number SP ("EXISTS" / "RECENT" / "EXPUNGE" / "FETCH" SP msg-att)`
/// CRLF, after `* `. (RFC 9051 allows 0 EXISTS, so EXISTS/RECENT take any
/// number.)
pub(crate) fn numbered(i: &[u8], ctx: Ctx) -> IResult<'_, Data> {
    let start = i;
    let (i, n) = number(i)?;
    let (i, ()) = sp(i)?;
    let (rest, word) = atom_str(i)?;
    let (rest, d) = match word.to_ascii_uppercase().as_str() {
        "EXISTS" => (rest, Data::Exists(n)),
        "RECENT" => (rest, Data::Recent(n)),
        "EXPUNGE" => (rest, Data::Expunge(nonzero(n, start)?)),
        "FETCH" => {
            let seq = nonzero(n, start)?;
            let (rest, ()) = sp(rest)?;
            let (rest, items) = super::fetch::msg_att(rest, ctx)?;
            (rest, Data::Fetch { seq, items })
        }
        _ => {
            return Err(ParseError::fail(
                i,
                "expected EXISTS, RECENT, EXPUNGE or FETCH",
            ));
        }
    };
    let (rest, ()) = crlf(rest)?;
    Ok((rest, d))
}

fn nonzero(n: u32, at: &[u8]) -> Result<u32, nom::Err<super::super::core::ParseError<'_>>> {
    if n == 0 {
        Err(ParseError::fail(at, "message number 0 is not valid"))
    } else {
        Ok(n)
    }
}

/// The data response named `word` (already read; `rest` follows it)
/// through its CRLF. `at` is where the name starts, for errors.
pub(crate) fn named<'a>(at: &'a [u8], word: &str, rest: &'a [u8], ctx: Ctx) -> IResult<'a, Data> {
    let (rest, d) = match word.to_ascii_uppercase().as_str() {
        "CAPABILITY" => {
            let (r, caps) = atoms_after(rest)?;
            (r, Data::Capability(caps))
        }
        "ENABLED" => {
            let (r, caps) = atoms_after(rest)?;
            (r, Data::Enabled(caps))
        }
        "LIST" => {
            let (r, ()) = sp(rest)?;
            let (r, l) = super::list::list_data(r, ctx, true)?;
            (r, Data::List(l))
        }
        "LSUB" => {
            let (r, ()) = sp(rest)?;
            let (r, l) = super::list::list_data(r, ctx, false)?;
            (r, Data::Lsub(l))
        }
        "STATUS" => status_data(rest, ctx)?,
        "SEARCH" => {
            let (r, (nums, modseq)) = super::search::nums(rest)?;
            (r, Data::Search { nums, modseq })
        }
        "SORT" => {
            let (r, (nums, modseq)) = super::search::nums(rest)?;
            (r, Data::Sort { nums, modseq })
        }
        "ESEARCH" => {
            let (r, e) = super::search::esearch(rest, ctx)?;
            (r, Data::ESearch(e))
        }
        "FLAGS" => {
            let (r, ()) = sp(rest)?;
            let (r, f) = flag_list(r)?;
            (r, Data::Flags(f))
        }
        "VANISHED" => {
            let (r, ()) = sp(rest)?;
            let (r, earlier) = match r.first() {
                Some(b'(') => {
                    let (r, ()) = keyword("(EARLIER)")(r)?;
                    let (r, ()) = sp(r)?;
                    (r, true)
                }
                _ => (r, false),
            };
            let (r, uids) = uid_set(r)?;
            (r, Data::Vanished { earlier, uids })
        }
        "NAMESPACE" => super::namespace_id_quota::namespace_data(rest, ctx)?,
        "ID" => super::namespace_id_quota::id_data(rest, ctx)?,
        "QUOTA" => super::namespace_id_quota::quota_data(rest, ctx)?,
        "QUOTAROOT" => super::namespace_id_quota::quota_root_data(rest, ctx)?,
        "THREAD" => super::thread::thread_data(rest)?,
        _ => return Err(ParseError::fail(at, "unknown untagged response")),
    };
    let (rest, ()) = crlf(rest)?;
    Ok((rest, d))
}

// RFC 9051 7.3.2 STATUS (RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE, RFC 7889
// APPENDLIMIT which may be NIL).

/// One `status-att-val`: an attribute and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusValue {
    /// The attribute.
    pub attr: StatusAttr,
    /// Its value; None is written `NIL` (only meaningful for APPENDLIMIT:
    /// no limit, RFC 7889).
    pub value: Option<u64>,
}

/// Appends `STATUS mailbox (attr value …)` without CRLF.
pub(crate) fn encode_status(out: &mut Vec<u8>, mailbox: &Mailbox, items: &[StatusValue], ctx: Ctx) {
    out.extend_from_slice(b"STATUS ");
    write_mailbox(out, mailbox, ctx);
    out.extend_from_slice(b" (");
    for (n, v) in items.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(v.attr.as_str().as_bytes());
        out.push(b' ');
        match v.value {
            Some(x) => write_number(out, x),
            None => out.extend_from_slice(b"NIL"),
        }
    }
    out.push(b')');
}

fn status_att_val(i: &[u8]) -> IResult<'_, StatusValue> {
    let (i, attr) = status_attr(i)?;
    let (i, ()) = sp(i)?;
    let (i, value) = match i.first() {
        Some(b'N') | Some(b'n') => {
            let (i, ()) = keyword("NIL")(i)?;
            (i, None)
        }
        _ => {
            let (i, v) = number64(i)?;
            (i, Some(v))
        }
    };
    Ok((i, StatusValue { attr, value }))
}

/// After `STATUS`: `SP mailbox SP "(" [status-att-val *(SP …)] ")"`.
pub(crate) fn status_data(i: &[u8], ctx: Ctx) -> IResult<'_, Data> {
    let (i, ()) = sp(i)?;
    let (i, mailbox) = mailbox(ctx)(i)?;
    let (i, ()) = sp(i)?;
    let (i, items) = paren_list(0, status_att_val)(i)?;
    Ok((i, Data::Status { mailbox, items }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::resp::{Response, parse_response};

    fn rt(line: &[u8]) {
        let (n, r) = parse_response(line, Ctx::REV1).unwrap();
        assert_eq!(n, line.len());
        let mut out = Vec::new();
        r.encode(&mut out, Ctx::REV1);
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(line));
    }

    #[test]
    fn small_data() {
        rt(b"* CAPABILITY IMAP4rev2 AUTH=PLAIN\r\n");
        rt(b"* ENABLED CONDSTORE QRESYNC\r\n");
        rt(b"* ENABLED\r\n");
        rt(b"* 23 EXISTS\r\n");
        rt(b"* 0 EXISTS\r\n");
        rt(b"* 5 RECENT\r\n");
        rt(b"* 44 EXPUNGE\r\n");
        rt(b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
        rt(b"* VANISHED 405,407,410,425\r\n");
        assert_eq!(
            parse_response(b"* 0 EXPUNGE\r\n", Ctx::REV1),
            Err(crate::imap::resp::ResponseError::Invalid(
                crate::imap::core::ParseFailure {
                    offset: 2,
                    expected: "message number 0 is not valid"
                }
            ))
        );
        let (_, r) = parse_response(b"* capability IMAP4rev1 IDLE\r\n", Ctx::REV1).unwrap();
        assert_eq!(
            r,
            Response::Data(Data::Capability(vec!["IMAP4rev1".into(), "IDLE".into()]))
        );
    }

    #[test]
    fn status_lines() {
        // RFC 9051 6.3.11
        let line = b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n";
        let (n, r) = parse_response(line, Ctx::REV1).unwrap();
        assert_eq!(n, line.len());
        assert_eq!(
            r,
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
                    },
                ]
            })
        );
        let mut out = Vec::new();
        r.encode(&mut out, Ctx::REV1);
        assert_eq!(out, line);
        let line = b"* STATUS INBOX (APPENDLIMIT NIL SIZE 12345678901 HIGHESTMODSEQ 7)\r\n";
        let (_, r) = parse_response(line, Ctx::REV1).unwrap();
        out.clear();
        r.encode(&mut out, Ctx::REV1);
        assert_eq!(out, line);
        assert!(parse_response(b"* STATUS INBOX (FOO 1)\r\n", Ctx::REV1).is_err());
    }
}
