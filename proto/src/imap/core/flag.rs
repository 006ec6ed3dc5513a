//! Message flags (RFC 9051 2.3.2, 9 `flag`, `flag-fetch`, `flag-perm`).

use super::error::{IResult, ParseError};
use super::string::atom_str;
use super::{Atom, paren_list};

/// A flag a client may set or search for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `\Answered`
    Answered,
    /// `\Flagged`
    Flagged,
    /// `\Deleted`
    Deleted,
    /// `\Seen`
    Seen,
    /// `\Draft`
    Draft,
    /// A keyword (`$Forwarded`, `$Junk`, `NonJunk`, …): an atom, compared
    /// case-insensitively but kept as given.
    Keyword(Atom),
    /// An unknown `\`-flag (`flag-extension`); servers refuse to store them.
    Extension(Atom),
}

impl Flag {
    /// Parses the text of a flag (`\Seen`, `$Junk`) as a client sends it.
    pub fn parse_str(s: &str) -> Option<Flag> {
        match flag(s.as_bytes()) {
            Ok((b"", f)) => Some(f),
            Err(nom::Err::Incomplete(_)) => {
                let mut v = s.as_bytes().to_vec();
                v.push(b' ');
                match flag(&v) {
                    Ok((b" ", f)) => Some(f),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The flag as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Flag::Answered => "\\Answered",
            Flag::Flagged => "\\Flagged",
            Flag::Deleted => "\\Deleted",
            Flag::Seen => "\\Seen",
            Flag::Draft => "\\Draft",
            Flag::Keyword(a) => a.as_str(),
            Flag::Extension(a) => a.as_str(),
        }
    }

    /// Appends the flag as written on the wire.
    pub fn write(&self, out: &mut Vec<u8>) {
        if let Flag::Extension(_) = self {
            out.push(b'\\');
        }
        out.extend_from_slice(self.as_str().as_bytes());
    }
}

/// A flag in a FETCH response: a [`Flag`] or the obsolete `\Recent`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagFetch {
    /// A settable flag.
    Flag(Flag),
    /// `\Recent` (IMAP4rev1 only; RFC 9051 removed it).
    Recent,
}

/// A flag in PERMANENTFLAGS: a [`Flag`] or `\*` (new keywords allowed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FlagPerm {
    /// A settable flag.
    Flag(Flag),
    /// `\*`
    Any,
}

/// `flag` (RFC 9051 9).
pub fn flag(i: &[u8]) -> IResult<'_, Flag> {
    if let Some(b'\\') = i.first() {
        let (rest, name) = atom_str(&i[1..])?;
        let f = match name.to_ascii_lowercase().as_str() {
            "answered" => Flag::Answered,
            "flagged" => Flag::Flagged,
            "deleted" => Flag::Deleted,
            "seen" => Flag::Seen,
            "draft" => Flag::Draft,
            _ => {
                Flag::Extension(Atom::try_from(name).map_err(|_| ParseError::fail(i, "bad flag"))?)
            }
        };
        return Ok((rest, f));
    }
    let (rest, name) = atom_str(i).map_err(|e| match e {
        nom::Err::Error(_) => ParseError::fail(i, "expected a flag"),
        e => e,
    })?;
    let a = Atom::try_from(name).map_err(|_| ParseError::fail(i, "expected a flag"))?;
    Ok((rest, Flag::Keyword(a)))
}

/// `flag-fetch` (RFC 9051 9, with rev1's `\Recent`).
pub fn flag_fetch(i: &[u8]) -> IResult<'_, FlagFetch> {
    let (rest, f) = flag(i)?;
    match f {
        Flag::Extension(a) if a.as_str().eq_ignore_ascii_case("recent") => {
            Ok((rest, FlagFetch::Recent))
        }
        f => Ok((rest, FlagFetch::Flag(f))),
    }
}

/// `flag-perm` (RFC 9051 9).
pub fn flag_perm(i: &[u8]) -> IResult<'_, FlagPerm> {
    if i.starts_with(b"\\*") {
        return Ok((&i[2..], FlagPerm::Any));
    }
    if i == b"\\" {
        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
    }
    flag(i).map(|(r, f)| (r, FlagPerm::Flag(f)))
}

/// `flag-list` (RFC 9051 9): `"(" [flag *(SP flag)] ")"`.
pub fn flag_list(i: &[u8]) -> IResult<'_, Vec<Flag>> {
    paren_list(0, flag)(i)
}

/// Writes `(flag flag …)`.
pub fn write_flag_list<'f>(out: &mut Vec<u8>, flags: impl IntoIterator<Item = &'f Flag>) {
    out.push(b'(');
    for (n, f) in flags.into_iter().enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        f.write(out);
    }
    out.push(b')');
}

/// Writes a `flag-fetch`.
pub fn write_flag_fetch(out: &mut Vec<u8>, f: &FlagFetch) {
    match f {
        FlagFetch::Flag(f) => f.write(out),
        FlagFetch::Recent => out.extend_from_slice(b"\\Recent"),
    }
}

/// Writes a `flag-perm`.
pub fn write_flag_perm(out: &mut Vec<u8>, f: &FlagPerm) {
    match f {
        FlagPerm::Flag(f) => f.write(out),
        FlagPerm::Any => out.extend_from_slice(b"\\*"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        let (_, v) = flag_list(b"(\\seen \\Deleted $Junk \\Foo) ").unwrap();
        assert_eq!(v[0], Flag::Seen);
        assert_eq!(v[1], Flag::Deleted);
        assert_eq!(v[2], Flag::Keyword(Atom::try_from("$Junk").unwrap()));
        assert_eq!(v[3], Flag::Extension(Atom::try_from("Foo").unwrap()));
        let mut out = Vec::new();
        write_flag_list(&mut out, &v);
        assert_eq!(out, b"(\\Seen \\Deleted $Junk \\Foo)");
        assert_eq!(flag_perm(b"\\* ").unwrap().1, FlagPerm::Any);
        assert_eq!(flag_fetch(b"\\Recent ").unwrap().1, FlagFetch::Recent);
        assert!(flag(b"( ").is_err());
        assert_eq!(Flag::parse_str("\\Draft"), Some(Flag::Draft));
        assert_eq!(Flag::parse_str("a b"), None);
    }
}
