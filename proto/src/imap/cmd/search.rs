//! `[UID] SEARCH [RETURN (…)] [CHARSET x] keys` (RFC 9051 6.4.4) with
//! ESEARCH return options (RFC 4731) and SEARCHRES `SAVE` (RFC 5182).

use super::CommandBody;
use super::search_key::{SearchKey, search_keys, write_keys};
use super::syntax::{charset, cut, expect, peek_sp_word, word, write_charset};
use crate::imap::core::{Ctx, IResult, ParseError, paren_list, sp};

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
