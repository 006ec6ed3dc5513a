//! `[UID] SEARCH [RETURN (…)] [CHARSET x] keys` (RFC 9051 6.4.4) with
//! ESEARCH return options (RFC 4731) and SEARCHRES `SAVE` (RFC 5182), and
//! `[UID] SORT` and `[UID] THREAD` (RFC 5256) with DISPLAYFROM and DISPLAYTO
//! (RFC 5957). The keys themselves are in [`super::search_key`].

use super::CommandBody;
use super::search_key::{SearchKey, search_keys, write_keys};
use super::syntax::{charset, cut, expect, peek_sp_word, word, write_charset};
use crate::imap::core::string::atom;
use crate::imap::core::{Atom, Ctx, IResult, ParseError, byte, paren_list, sp};

/// An ESEARCH return option (RFC 4731 3.1, RFC 5182 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchReturnOpt {
    /// `MIN`
    Min,
    /// `MAX`
    Max,
    /// `ALL`
    All,
    /// `COUNT`
    Count,
    /// `SAVE` (RFC 5182)
    Save,
}

impl SearchReturnOpt {
    /// The option name.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchReturnOpt::Min => "MIN",
            SearchReturnOpt::Max => "MAX",
            SearchReturnOpt::All => "ALL",
            SearchReturnOpt::Count => "COUNT",
            SearchReturnOpt::Save => "SAVE",
        }
    }
}

/// A SEARCH or UID SEARCH command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCommand {
    /// UID SEARCH.
    pub uid: bool,
    /// `RETURN (…)`: None for a plain SEARCH (untagged `SEARCH` reply);
    /// `Some(vec![])` for `RETURN ()`, which means ALL (RFC 4731 3.1).
    pub returns: Option<Vec<SearchReturnOpt>>,
    /// `CHARSET x`, as given.
    pub charset: Option<String>,
    /// The keys, all of which must match. Strings are raw bytes in
    /// `charset` (see [`super::decode_search_strings`]).
    pub keys: Vec<SearchKey>,
}

fn return_opt(i: &[u8]) -> IResult<'_, SearchReturnOpt> {
    const EXPECTED: &str = "expected MIN, MAX, ALL, COUNT or SAVE";
    let (rest, w) = expect(i, EXPECTED, word(i))?;
    for o in [
        SearchReturnOpt::Min,
        SearchReturnOpt::Max,
        SearchReturnOpt::All,
        SearchReturnOpt::Count,
        SearchReturnOpt::Save,
    ] {
        if w.eq_ignore_ascii_case(o.as_str().as_bytes()) {
            return Ok((rest, o));
        }
    }
    Err(ParseError::fail(i, EXPECTED))
}

/// `[SP "RETURN" SP "(" …")"]`: the ESEARCH return options.
pub(crate) fn search_return(i: &[u8]) -> IResult<'_, Option<Vec<SearchReturnOpt>>> {
    if peek_sp_word(i, "RETURN")? {
        let (rest, ()) = sp(&i[7..])?;
        let (rest, opts) = cut(paren_list(0, return_opt)(rest))?;
        return Ok((rest, Some(opts)));
    }
    Ok((i, None))
}

/// `[SP "RETURN" …] [SP "CHARSET" SP charset] 1*(SP search-key)` after
/// `[UID] SEARCH`.
pub(crate) fn search_args(ctx: Ctx, uid: bool) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, returns) = search_return(i)?;
        let (i, charset) = if peek_sp_word(i, "CHARSET")? {
            let (rest, ()) = sp(&i[8..])?;
            let (rest, c) = charset(ctx)(rest)?;
            (rest, Some(c))
        } else {
            (i, None)
        };
        let (i, ()) = sp(i)?;
        let (i, keys) = search_keys(ctx)(i)?;
        Ok((
            i,
            CommandBody::Search(SearchCommand {
                uid,
                returns,
                charset,
                keys,
            }),
        ))
    }
}

/// Writes ` RETURN (opt …)` when `returns` is set.
pub(crate) fn write_return(out: &mut Vec<u8>, returns: Option<&[SearchReturnOpt]>) {
    if let Some(opts) = returns {
        out.extend_from_slice(b" RETURN (");
        for (n, o) in opts.iter().enumerate() {
            if n > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(o.as_str().as_bytes());
        }
        out.push(b')');
    }
}

impl SearchCommand {
    /// Writes `[UID] SEARCH …`.
    pub fn write(&self, out: &mut Vec<u8>, ctx: Ctx) {
        if self.uid {
            out.extend_from_slice(b"UID ");
        }
        out.extend_from_slice(b"SEARCH");
        write_return(out, self.returns.as_deref());
        if let Some(c) = &self.charset {
            out.extend_from_slice(b" CHARSET ");
            write_charset(out, c, ctx);
        }
        out.push(b' ');
        write_keys(out, &self.keys, ctx);
    }
}

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
