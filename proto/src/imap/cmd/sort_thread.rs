//! `[UID] SORT` and `[UID] THREAD` (RFC 5256), with DISPLAYFROM and
//! DISPLAYTO (RFC 5957).

use super::CommandBody;
use super::search_key::{SearchKey, search_keys, write_keys};
use super::syntax::{charset, cut, expect, word, write_charset};
use crate::imap::core::string::atom;
use crate::imap::core::{Atom, Ctx, IResult, ParseError, byte, sp};

/// A SORT key (RFC 5256 3, RFC 5957).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// `ARRIVAL`: internal date.
    Arrival,
    /// `CC`
    Cc,
    /// `DATE`: sent date.
    Date,
    /// `FROM`
    From,
    /// `SIZE`
    Size,
    /// `SUBJECT`: base subject.
    Subject,
    /// `TO`
    To,
    /// `DISPLAYFROM` (RFC 5957)
    DisplayFrom,
    /// `DISPLAYTO` (RFC 5957)
    DisplayTo,
}

impl SortKey {
    /// Every sort key.
    pub const ALL: [SortKey; 9] = [
        SortKey::Arrival,
        SortKey::Cc,
        SortKey::Date,
        SortKey::From,
        SortKey::Size,
        SortKey::Subject,
        SortKey::To,
        SortKey::DisplayFrom,
        SortKey::DisplayTo,
    ];

    /// The key name.
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Arrival => "ARRIVAL",
            SortKey::Cc => "CC",
            SortKey::Date => "DATE",
            SortKey::From => "FROM",
            SortKey::Size => "SIZE",
            SortKey::Subject => "SUBJECT",
            SortKey::To => "TO",
            SortKey::DisplayFrom => "DISPLAYFROM",
            SortKey::DisplayTo => "DISPLAYTO",
        }
    }
}

/// `["REVERSE" SP] sort-key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortCriterion {
    /// `REVERSE`
    pub reverse: bool,
    /// The key.
    pub key: SortKey,
}

/// A SORT or UID SORT command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortCommand {
    /// UID SORT.
    pub uid: bool,
    /// One or more sort criteria.
    pub criteria: Vec<SortCriterion>,
    /// The charset of the search strings.
    pub charset: String,
    /// Search keys (raw strings in `charset`).
    pub keys: Vec<SearchKey>,
}

/// A threading algorithm (RFC 5256 3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThreadAlgorithm {
    /// `ORDEREDSUBJECT`
    OrderedSubject,
    /// `REFERENCES`
    References,
    /// Another algorithm name (the server answers NO).
    Other(Atom),
}

/// A THREAD or UID THREAD command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCommand {
    /// UID THREAD.
    pub uid: bool,
    /// Algorithm.
    pub algorithm: ThreadAlgorithm,
    /// The charset of the search strings.
    pub charset: String,
    /// Search keys.
    pub keys: Vec<SearchKey>,
}

const EXPECTED_SORT_KEY: &str =
    "expected a sort key (ARRIVAL CC DATE FROM SIZE SUBJECT TO DISPLAYFROM DISPLAYTO)";

fn sort_criterion(i: &[u8]) -> IResult<'_, SortCriterion> {
    let (mut rest, mut w) = expect(i, EXPECTED_SORT_KEY, word(i))?;
    let mut at = i;
    let reverse = w.eq_ignore_ascii_case(b"REVERSE");
    if reverse {
        let (r, ()) = sp(rest)?;
        at = r;
        (rest, w) = expect(r, EXPECTED_SORT_KEY, word(r))?;
    }
    SortKey::ALL
        .into_iter()
        .find(|k| w.eq_ignore_ascii_case(k.as_str().as_bytes()))
        .map(|key| (rest, SortCriterion { reverse, key }))
        .ok_or_else(|| ParseError::fail(at, EXPECTED_SORT_KEY))
}

/// `SP charset 1*(SP search-key)`.
fn search_criteria(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, (String, Vec<SearchKey>)> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, cs) = charset(ctx)(i)?;
        let (i, ()) = sp(i)?;
        let (i, keys) = search_keys(ctx)(i)?;
        Ok((i, (cs, keys)))
    }
}

/// `SP "(" sort-criterion *(SP sort-criterion) ")" SP charset keys` after
/// `[UID] SORT`.
pub(crate) fn sort_args(ctx: Ctx, uid: bool) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (mut i, ()) = byte(b'(')(i)?;
        let mut criteria = Vec::new();
        loop {
            let (rest, c) = cut(sort_criterion(i))?;
            criteria.push(c);
            match rest.first() {
                Some(b' ') => i = &rest[1..],
                Some(b')') => {
                    i = &rest[1..];
                    break;
                }
                Some(_) => {
                    return Err(ParseError::fail(rest, "expected ' ' or ')' after sort key"));
                }
                None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            }
        }
        let (i, (charset, keys)) = search_criteria(ctx)(i)?;
        Ok((
            i,
            CommandBody::Sort(SortCommand {
                uid,
                criteria,
                charset,
                keys,
            }),
        ))
    }
}

/// `SP thread-alg SP charset keys` after `[UID] THREAD`.
pub(crate) fn thread_args(ctx: Ctx, uid: bool) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, alg) = expect(i, "expected a threading algorithm", atom(i))?;
        let algorithm = if alg.as_str().eq_ignore_ascii_case("ORDEREDSUBJECT") {
            ThreadAlgorithm::OrderedSubject
        } else if alg.as_str().eq_ignore_ascii_case("REFERENCES") {
            ThreadAlgorithm::References
        } else {
            ThreadAlgorithm::Other(alg)
        };
        let (i, (charset, keys)) = search_criteria(ctx)(i)?;
        Ok((
            i,
            CommandBody::Thread(ThreadCommand {
                uid,
                algorithm,
                charset,
                keys,
            }),
        ))
    }
}

impl SortCommand {
    /// Writes `[UID] SORT (…) charset keys`.
    pub fn write(&self, out: &mut Vec<u8>, ctx: Ctx) {
        if self.uid {
            out.extend_from_slice(b"UID ");
        }
        out.extend_from_slice(b"SORT (");
        for (n, c) in self.criteria.iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            if c.reverse {
                out.extend_from_slice(b"REVERSE ");
            }
            out.extend_from_slice(c.key.as_str().as_bytes());
        }
        out.extend_from_slice(b") ");
        write_charset(out, &self.charset, ctx);
        out.push(b' ');
        write_keys(out, &self.keys, ctx);
    }
}

impl ThreadCommand {
    /// Writes `[UID] THREAD alg charset keys`.
    pub fn write(&self, out: &mut Vec<u8>, ctx: Ctx) {
        if self.uid {
            out.extend_from_slice(b"UID ");
        }
        out.extend_from_slice(b"THREAD ");
        out.extend_from_slice(match &self.algorithm {
            ThreadAlgorithm::OrderedSubject => b"ORDEREDSUBJECT",
            ThreadAlgorithm::References => b"REFERENCES",
            ThreadAlgorithm::Other(a) => a.as_str().as_bytes(),
        });
        out.push(b' ');
        write_charset(out, &self.charset, ctx);
        out.push(b' ');
        write_keys(out, &self.keys, ctx);
    }
}
