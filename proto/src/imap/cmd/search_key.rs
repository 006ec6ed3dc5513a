//! Search keys (RFC 9051 6.4.4 and 9 `search-key`) with the extensions'
//! keys: MODSEQ (RFC 7162 3.1.5), OLDER/YOUNGER (RFC 5032), SAVEDBEFORE,
//! SAVEDON, SAVEDSINCE, SAVEDATESUPPORTED (RFC 8514) and `$` (RFC 5182).
//!
//! Strings are kept as the raw bytes the client sent; the charset of the
//! command says how to read them (see [`super::charset`]).

use super::syntax::{MAX_KEYWORD, expect, upper, word};
use crate::imap::core::date::date;
use crate::imap::core::seq::{sequence_set, write_sequence_set};
use crate::imap::core::string::{astring, atom, quoted, utf8, write_astring, write_quoted};
use crate::imap::core::{
    Atom, Ctx, Date, IResult, ParseError, SequenceSet, number64, nz_number, sp, write_number,
};

/// Deepest nesting of NOT, OR and parentheses accepted.
pub const MAX_SEARCH_DEPTH: usize = 32;

/// One search key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SearchKey {
    /// `ALL`
    All,
    /// `ANSWERED`
    Answered,
    /// `BCC string`
    Bcc(Vec<u8>),
    /// `BEFORE date` (internal date)
    Before(Date),
    /// `BODY string`
    Body(Vec<u8>),
    /// `CC string`
    Cc(Vec<u8>),
    /// `DELETED`
    Deleted,
    /// `DRAFT`
    Draft,
    /// `FLAGGED`
    Flagged,
    /// `FROM string`
    From(Vec<u8>),
    /// `HEADER field-name string`
    Header(Vec<u8>, Vec<u8>),
    /// `KEYWORD flag`
    Keyword(Atom),
    /// `LARGER n`
    Larger(u64),
    /// `NEW` (rev1)
    New,
    /// `NOT key`
    Not(Box<SearchKey>),
    /// `OLD` (rev1)
    Old,
    /// `ON date`
    On(Date),
    /// `OR key key`
    Or(Box<SearchKey>, Box<SearchKey>),
    /// `RECENT` (rev1)
    Recent,
    /// `SEEN`
    Seen,
    /// `SENTBEFORE date`
    SentBefore(Date),
    /// `SENTON date`
    SentOn(Date),
    /// `SENTSINCE date`
    SentSince(Date),
    /// `SINCE date`
    Since(Date),
    /// `SMALLER n`
    Smaller(u64),
    /// `SUBJECT string`
    Subject(Vec<u8>),
    /// `TEXT string`
    Text(Vec<u8>),
    /// `TO string`
    To(Vec<u8>),
    /// `UID set`
    Uid(SequenceSet),
    /// `UNANSWERED`
    Unanswered,
    /// `UNDELETED`
    Undeleted,
    /// `UNDRAFT`
    Undraft,
    /// `UNFLAGGED`
    Unflagged,
    /// `UNKEYWORD flag`
    Unkeyword(Atom),
    /// `UNSEEN`
    Unseen,
    /// A bare sequence set (or `$`).
    SequenceSet(SequenceSet),
    /// `(key …)`: all must match.
    And(Vec<SearchKey>),
    /// `MODSEQ [entry type] n` (RFC 7162 3.1.5).
    ModSeq {
        /// `"/flags/\\Seen" all|priv|shared`, if given.
        entry: Option<ModSeqEntry>,
        /// The mod-sequence (0 allowed).
        modseq: u64,
    },
    /// `OLDER seconds` (RFC 5032)
    Older(u32),
    /// `YOUNGER seconds` (RFC 5032)
    Younger(u32),
    /// `SAVEDBEFORE date` (RFC 8514)
    SavedBefore(Date),
    /// `SAVEDON date` (RFC 8514)
    SavedOn(Date),
    /// `SAVEDSINCE date` (RFC 8514)
    SavedSince(Date),
    /// `SAVEDATESUPPORTED` (RFC 8514)
    SaveDateSupported,
}

/// The metadata entry of a MODSEQ search key (RFC 7162 3.1.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModSeqEntry {
    /// The entry name, e.g. `/flags/\draft` (unescaped).
    pub name: String,
    /// Which annotations count.
    pub kind: ModSeqEntryType,
}

/// `entry-type-req` (RFC 7162 3.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModSeqEntryType {
    /// `all`
    All,
    /// `priv`
    Priv,
    /// `shared`
    Shared,
}

const EXPECTED_KEY: &str = "expected a search key";

fn string_arg(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Vec<u8>> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (rest, s) = expect(i, "expected a search string", astring(ctx)(i))?;
        Ok((rest, s.into_owned()))
    }
}

fn date_arg(i: &[u8]) -> IResult<'_, Date> {
    let (i, ()) = sp(i)?;
    expect(i, "expected a date like 1-Feb-1994", date(i))
}

fn atom_arg(i: &[u8]) -> IResult<'_, Atom> {
    let (i, ()) = sp(i)?;
    expect(i, "expected a keyword", atom(i))
}

fn modseq_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, SearchKey> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, entry) = match i.first() {
            Some(b'"') => {
                let (rest, raw) = quoted(ctx)(i)?;
                let name = utf8(i, raw)?;
                let (rest, ()) = sp(rest)?;
                let (after, w) = expect(rest, "expected all, priv or shared", word(rest))?;
                let kind = if w.eq_ignore_ascii_case(b"all") {
                    ModSeqEntryType::All
                } else if w.eq_ignore_ascii_case(b"priv") {
                    ModSeqEntryType::Priv
                } else if w.eq_ignore_ascii_case(b"shared") {
                    ModSeqEntryType::Shared
                } else {
                    return Err(ParseError::fail(rest, "expected all, priv or shared"));
                };
                let (after, ()) = sp(after)?;
                (after, Some(ModSeqEntry { name, kind }))
            }
            _ => (i, None),
        };
        let (i, modseq) = expect(i, "expected a mod-sequence", number64(i))?;
        Ok((i, SearchKey::ModSeq { entry, modseq }))
    }
}

/// `search-key` with nesting limited to [`MAX_SEARCH_DEPTH`].
pub fn search_key(ctx: Ctx, depth: usize) -> impl Fn(&[u8]) -> IResult<'_, SearchKey> {
    move |i: &[u8]| {
        if depth >= MAX_SEARCH_DEPTH {
            return Err(ParseError::cut(i, "search nesting too deep"));
        }
        match i.first() {
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            Some(b'(') => {
                let mut keys = Vec::new();
                let mut i = &i[1..];
                loop {
                    let (rest, k) = search_key(ctx, depth + 1)(i)?;
                    keys.push(k);
                    match rest.first() {
                        Some(b' ') => i = &rest[1..],
                        Some(b')') => return Ok((&rest[1..], SearchKey::And(keys))),
                        Some(_) => {
                            return Err(ParseError::fail(
                                rest,
                                "expected ' ' or ')' after search key",
                            ));
                        }
                        None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
                    }
                }
            }
            Some(b) if b.is_ascii_digit() || *b == b'*' || *b == b'$' => {
                let (rest, set) = sequence_set(i)?;
                return Ok((rest, SearchKey::SequenceSet(set)));
            }
            Some(_) => {}
        }
        let (rest, w) = expect(i, EXPECTED_KEY, word(i))?;
        let mut buf = [0; MAX_KEYWORD];
        let upper = upper(w, &mut buf);
        let simple = match upper {
            b"ALL" => SearchKey::All,
            b"ANSWERED" => SearchKey::Answered,
            b"DELETED" => SearchKey::Deleted,
            b"DRAFT" => SearchKey::Draft,
            b"FLAGGED" => SearchKey::Flagged,
            b"NEW" => SearchKey::New,
            b"OLD" => SearchKey::Old,
            b"RECENT" => SearchKey::Recent,
            b"SEEN" => SearchKey::Seen,
            b"UNANSWERED" => SearchKey::Unanswered,
            b"UNDELETED" => SearchKey::Undeleted,
            b"UNDRAFT" => SearchKey::Undraft,
            b"UNFLAGGED" => SearchKey::Unflagged,
            b"UNSEEN" => SearchKey::Unseen,
            b"SAVEDATESUPPORTED" => SearchKey::SaveDateSupported,
            b"BCC" => return string_arg(ctx)(rest).map(|(r, s)| (r, SearchKey::Bcc(s))),
            b"BODY" => return string_arg(ctx)(rest).map(|(r, s)| (r, SearchKey::Body(s))),
            b"CC" => return string_arg(ctx)(rest).map(|(r, s)| (r, SearchKey::Cc(s))),
            b"FROM" => return string_arg(ctx)(rest).map(|(r, s)| (r, SearchKey::From(s))),
            b"SUBJECT" => return string_arg(ctx)(rest).map(|(r, s)| (r, SearchKey::Subject(s))),
            b"TEXT" => return string_arg(ctx)(rest).map(|(r, s)| (r, SearchKey::Text(s))),
            b"TO" => return string_arg(ctx)(rest).map(|(r, s)| (r, SearchKey::To(s))),
            b"HEADER" => {
                let (r, name) = string_arg(ctx)(rest)?;
                let (r, value) = string_arg(ctx)(r)?;
                return Ok((r, SearchKey::Header(name, value)));
            }
            b"BEFORE" => return date_arg(rest).map(|(r, d)| (r, SearchKey::Before(d))),
            b"ON" => return date_arg(rest).map(|(r, d)| (r, SearchKey::On(d))),
            b"SINCE" => return date_arg(rest).map(|(r, d)| (r, SearchKey::Since(d))),
            b"SENTBEFORE" => return date_arg(rest).map(|(r, d)| (r, SearchKey::SentBefore(d))),
            b"SENTON" => return date_arg(rest).map(|(r, d)| (r, SearchKey::SentOn(d))),
            b"SENTSINCE" => return date_arg(rest).map(|(r, d)| (r, SearchKey::SentSince(d))),
            b"SAVEDBEFORE" => return date_arg(rest).map(|(r, d)| (r, SearchKey::SavedBefore(d))),
            b"SAVEDON" => return date_arg(rest).map(|(r, d)| (r, SearchKey::SavedOn(d))),
            b"SAVEDSINCE" => return date_arg(rest).map(|(r, d)| (r, SearchKey::SavedSince(d))),
            b"KEYWORD" => return atom_arg(rest).map(|(r, a)| (r, SearchKey::Keyword(a))),
            b"UNKEYWORD" => return atom_arg(rest).map(|(r, a)| (r, SearchKey::Unkeyword(a))),
            b"LARGER" | b"SMALLER" => {
                let (r, ()) = sp(rest)?;
                let (r, n) = expect(r, "expected a size", number64(r))?;
                let k = if upper.first() == Some(&b'L') {
                    SearchKey::Larger(n)
                } else {
                    SearchKey::Smaller(n)
                };
                return Ok((r, k));
            }
            b"OLDER" | b"YOUNGER" => {
                let (r, ()) = sp(rest)?;
                let (r, n) = expect(r, "expected a number of seconds", nz_number(r))?;
                let k = if upper.first() == Some(&b'O') {
                    SearchKey::Older(n)
                } else {
                    SearchKey::Younger(n)
                };
                return Ok((r, k));
            }
            b"UID" => {
                let (r, ()) = sp(rest)?;
                let (r, set) = sequence_set(r)?;
                return Ok((r, SearchKey::Uid(set)));
            }
            b"MODSEQ" => return modseq_args(ctx)(rest),
            b"NOT" => {
                let (r, ()) = sp(rest)?;
                let (r, k) = search_key(ctx, depth + 1)(r)?;
                return Ok((r, SearchKey::Not(Box::new(k))));
            }
            b"OR" => {
                let (r, ()) = sp(rest)?;
                let (r, a) = search_key(ctx, depth + 1)(r)?;
                let (r, ()) = sp(r)?;
                let (r, b) = search_key(ctx, depth + 1)(r)?;
                return Ok((r, SearchKey::Or(Box::new(a), Box::new(b))));
            }
            _ => return Err(ParseError::fail(i, EXPECTED_KEY)),
        };
        Ok((rest, simple))
    }
}

/// One or more search keys separated by SP, until a byte that cannot
/// continue them (CRLF).
pub fn search_keys(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, Vec<SearchKey>> {
    move |i: &[u8]| {
        let (mut i, k) = search_key(ctx, 0)(i)?;
        let mut keys = vec![k];
        loop {
            match i.first() {
                Some(b' ') => {
                    let (rest, k) = search_key(ctx, 0)(&i[1..])?;
                    keys.push(k);
                    i = rest;
                }
                None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
                Some(_) => return Ok((i, keys)),
            }
        }
    }
}

impl SearchKey {
    /// Writes the key; strings as atoms, quoted strings or literals.
    pub fn write(&self, out: &mut Vec<u8>, ctx: Ctx) {
        use SearchKey as K;
        let (name, rest): (&[u8], Arg<'_>) = match self {
            K::All => (b"ALL", Arg::None),
            K::Answered => (b"ANSWERED", Arg::None),
            K::Deleted => (b"DELETED", Arg::None),
            K::Draft => (b"DRAFT", Arg::None),
            K::Flagged => (b"FLAGGED", Arg::None),
            K::New => (b"NEW", Arg::None),
            K::Old => (b"OLD", Arg::None),
            K::Recent => (b"RECENT", Arg::None),
            K::Seen => (b"SEEN", Arg::None),
            K::Unanswered => (b"UNANSWERED", Arg::None),
            K::Undeleted => (b"UNDELETED", Arg::None),
            K::Undraft => (b"UNDRAFT", Arg::None),
            K::Unflagged => (b"UNFLAGGED", Arg::None),
            K::Unseen => (b"UNSEEN", Arg::None),
            K::SaveDateSupported => (b"SAVEDATESUPPORTED", Arg::None),
            K::Bcc(s) => (b"BCC", Arg::Str(s)),
            K::Body(s) => (b"BODY", Arg::Str(s)),
            K::Cc(s) => (b"CC", Arg::Str(s)),
            K::From(s) => (b"FROM", Arg::Str(s)),
            K::Subject(s) => (b"SUBJECT", Arg::Str(s)),
            K::Text(s) => (b"TEXT", Arg::Str(s)),
            K::To(s) => (b"TO", Arg::Str(s)),
            K::Header(n, v) => {
                out.extend_from_slice(b"HEADER ");
                write_astring(out, n, ctx);
                out.push(b' ');
                write_astring(out, v, ctx);
                return;
            }
            K::Before(d) => (b"BEFORE", Arg::Date(d)),
            K::On(d) => (b"ON", Arg::Date(d)),
            K::Since(d) => (b"SINCE", Arg::Date(d)),
            K::SentBefore(d) => (b"SENTBEFORE", Arg::Date(d)),
            K::SentOn(d) => (b"SENTON", Arg::Date(d)),
            K::SentSince(d) => (b"SENTSINCE", Arg::Date(d)),
            K::SavedBefore(d) => (b"SAVEDBEFORE", Arg::Date(d)),
            K::SavedOn(d) => (b"SAVEDON", Arg::Date(d)),
            K::SavedSince(d) => (b"SAVEDSINCE", Arg::Date(d)),
            K::Keyword(a) => (b"KEYWORD", Arg::Raw(a.as_str().as_bytes())),
            K::Unkeyword(a) => (b"UNKEYWORD", Arg::Raw(a.as_str().as_bytes())),
            K::Larger(n) => (b"LARGER", Arg::Num(*n)),
            K::Smaller(n) => (b"SMALLER", Arg::Num(*n)),
            K::Older(n) => (b"OLDER", Arg::Num(u64::from(*n))),
            K::Younger(n) => (b"YOUNGER", Arg::Num(u64::from(*n))),
            K::Uid(set) => {
                out.extend_from_slice(b"UID ");
                write_sequence_set(out, set);
                return;
            }
            K::SequenceSet(set) => {
                write_sequence_set(out, set);
                return;
            }
            K::Not(k) => {
                out.extend_from_slice(b"NOT ");
                k.write(out, ctx);
                return;
            }
            K::Or(a, b) => {
                out.extend_from_slice(b"OR ");
                a.write(out, ctx);
                out.push(b' ');
                b.write(out, ctx);
                return;
            }
            K::And(keys) => {
                out.push(b'(');
                write_keys(out, keys, ctx);
                out.push(b')');
                return;
            }
            K::ModSeq { entry, modseq } => {
                out.extend_from_slice(b"MODSEQ ");
                if let Some(e) = entry {
                    write_quoted(out, e.name.as_bytes());
                    out.extend_from_slice(match e.kind {
                        ModSeqEntryType::All => b" all ",
                        ModSeqEntryType::Priv => b" priv ",
                        ModSeqEntryType::Shared => b" shared ",
                    });
                }
                write_number(out, *modseq);
                return;
            }
        };
        out.extend_from_slice(name);
        match rest {
            Arg::None => {}
            Arg::Str(s) => {
                out.push(b' ');
                write_astring(out, s, ctx);
            }
            Arg::Date(d) => {
                out.push(b' ');
                d.write(out);
            }
            Arg::Raw(s) => {
                out.push(b' ');
                out.extend_from_slice(s);
            }
            Arg::Num(n) => {
                out.push(b' ');
                write_number(out, n);
            }
        }
    }
}

enum Arg<'a> {
    None,
    Str(&'a [u8]),
    Date(&'a Date),
    Raw(&'a [u8]),
    Num(u64),
}

/// Writes keys separated by SP.
pub fn write_keys(out: &mut Vec<u8>, keys: &[SearchKey], ctx: Ctx) {
    for (n, k) in keys.iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        k.write(out, ctx);
    }
}
