//! Response codes: the bracketed part of a status response (RFC 9051 7.1,
//! 9 `resp-text-code`; RFC 4315 UIDPLUS; RFC 7162 CONDSTORE/QRESYNC; RFC
//! 5530 extended codes; RFC 9208 QUOTA; RFC 4978 COMPRESS; RFC 6154
//! USEATTR; RFC 8514 SAVEDATE; RFC 3516 BINARY).

use super::super::core::error::{IResult, ParseError};
use super::super::core::flag::{FlagPerm, flag_perm, write_flag_perm};
use super::super::core::seq::{UidSet, uid_set, write_uid_set};
use super::super::core::string::{atom_str, quoted};
use super::super::core::{Atom, Ctx, number, number64, paren_list, sp, write_number};
use super::{atoms_after, lossy, write_atom_or_quoted, write_atoms};

/// A response code (`[ALERT]`, `[UIDNEXT 4392]`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// `ALERT`: show the text to the user.
    Alert,
    /// `BADCHARSET [(charset …)]`: the charsets the server supports (empty:
    /// no list).
    BadCharset(Vec<String>),
    /// `CAPABILITY cap …`: each must be an atom (others are not written).
    Capability(Vec<String>),
    /// `PARSE`: a message could not be parsed.
    Parse,
    /// `PERMANENTFLAGS (flag-perm …)`
    PermanentFlags(Vec<FlagPerm>),
    /// `READ-ONLY`
    ReadOnly,
    /// `READ-WRITE`
    ReadWrite,
    /// `TRYCREATE`
    TryCreate,
    /// `UIDNEXT n`
    UidNext(u32),
    /// `UIDVALIDITY n`
    UidValidity(u32),
    /// `UNSEEN n` (IMAP4rev1)
    Unseen(u32),
    /// `APPENDUID uidvalidity uid-set` (RFC 4315; a set with MULTIAPPEND).
    AppendUid {
        /// UIDVALIDITY of the destination.
        uid_validity: u32,
        /// UIDs given to the appended messages.
        uids: UidSet,
    },
    /// `COPYUID uidvalidity source-uids dest-uids` (RFC 4315).
    CopyUid {
        /// UIDVALIDITY of the destination.
        uid_validity: u32,
        /// UIDs in the source mailbox.
        source: UidSet,
        /// Corresponding UIDs in the destination.
        dest: UidSet,
    },
    /// `UIDNOTSTICKY` (RFC 4315)
    UidNotSticky,
    /// `HIGHESTMODSEQ n` (RFC 7162)
    HighestModSeq(u64),
    /// `NOMODSEQ` (RFC 7162)
    NoModSeq,
    /// `MODIFIED set`: messages that failed the UNCHANGEDSINCE test (RFC
    /// 7162); sequence numbers or UIDs as the command used.
    Modified(UidSet),
    /// `CLOSED` (RFC 7162)
    Closed,
    /// `OVERQUOTA` (RFC 9208)
    OverQuota,
    /// `ALREADYEXISTS` (RFC 5530)
    AlreadyExists,
    /// `NONEXISTENT`
    NonExistent,
    /// `CANNOT`
    Cannot,
    /// `LIMIT`
    Limit,
    /// `AUTHENTICATIONFAILED`
    AuthenticationFailed,
    /// `AUTHORIZATIONFAILED`
    AuthorizationFailed,
    /// `EXPIRED`
    Expired,
    /// `PRIVACYREQUIRED`
    PrivacyRequired,
    /// `CONTACTADMIN`
    ContactAdmin,
    /// `NOPERM`
    NoPerm,
    /// `INUSE`
    InUse,
    /// `EXPUNGEISSUED`
    ExpungeIssued,
    /// `CORRUPTION`
    Corruption,
    /// `SERVERBUG`
    ServerBug,
    /// `CLIENTBUG`
    ClientBug,
    /// `UNAVAILABLE`
    Unavailable,
    /// `HASCHILDREN` (RFC 9051)
    HasChildren,
    /// `TOOBIG` (RFC 4469 / 9051)
    TooBig,
    /// `COMPRESSIONACTIVE` (RFC 4978)
    CompressionActive,
    /// `USEATTR` (RFC 6154)
    UseAttr,
    /// `NOTSAVED` (RFC 5182)
    NotSaved,
    /// `UNKNOWN-CTE` (RFC 3516)
    UnknownCte,
    /// Any other code: `atom [SP text]`. The atom must not be one of the names
    /// above (it would read back as that code); `]`, CR and LF in the text
    /// are written as spaces.
    Other(Atom, Option<String>),
}

/// Codes without arguments and their names.
static SIMPLE: [(&str, Code); 34] = [
    ("ALERT", Code::Alert),
    ("PARSE", Code::Parse),
    ("READ-ONLY", Code::ReadOnly),
    ("READ-WRITE", Code::ReadWrite),
    ("TRYCREATE", Code::TryCreate),
    ("UIDNOTSTICKY", Code::UidNotSticky),
    ("NOMODSEQ", Code::NoModSeq),
    ("CLOSED", Code::Closed),
    ("OVERQUOTA", Code::OverQuota),
    ("ALREADYEXISTS", Code::AlreadyExists),
    ("NONEXISTENT", Code::NonExistent),
    ("CANNOT", Code::Cannot),
    ("LIMIT", Code::Limit),
    ("AUTHENTICATIONFAILED", Code::AuthenticationFailed),
    ("AUTHORIZATIONFAILED", Code::AuthorizationFailed),
    ("EXPIRED", Code::Expired),
    ("PRIVACYREQUIRED", Code::PrivacyRequired),
    ("CONTACTADMIN", Code::ContactAdmin),
    ("NOPERM", Code::NoPerm),
    ("INUSE", Code::InUse),
    ("EXPUNGEISSUED", Code::ExpungeIssued),
    ("CORRUPTION", Code::Corruption),
    ("SERVERBUG", Code::ServerBug),
    ("CLIENTBUG", Code::ClientBug),
    ("UNAVAILABLE", Code::Unavailable),
    ("HASCHILDREN", Code::HasChildren),
    ("TOOBIG", Code::TooBig),
    ("COMPRESSIONACTIVE", Code::CompressionActive),
    ("USEATTR", Code::UseAttr),
    ("NOTSAVED", Code::NotSaved),
    ("UNKNOWN-CTE", Code::UnknownCte),
    ("BADCHARSET", Code::BadCharset(Vec::new())),
    ("CAPABILITY", Code::Capability(Vec::new())),
    ("PERMANENTFLAGS", Code::PermanentFlags(Vec::new())),
];

/// Names of every code with a meaning of its own (not [`Code::Other`]).
pub const KNOWN_NAMES: [&str; 41] = [
    "ALERT",
    "PARSE",
    "READ-ONLY",
    "READ-WRITE",
    "TRYCREATE",
    "UIDNOTSTICKY",
    "NOMODSEQ",
    "CLOSED",
    "OVERQUOTA",
    "ALREADYEXISTS",
    "NONEXISTENT",
    "CANNOT",
    "LIMIT",
    "AUTHENTICATIONFAILED",
    "AUTHORIZATIONFAILED",
    "EXPIRED",
    "PRIVACYREQUIRED",
    "CONTACTADMIN",
    "NOPERM",
    "INUSE",
    "EXPUNGEISSUED",
    "CORRUPTION",
    "SERVERBUG",
    "CLIENTBUG",
    "UNAVAILABLE",
    "HASCHILDREN",
    "TOOBIG",
    "COMPRESSIONACTIVE",
    "USEATTR",
    "NOTSAVED",
    "UNKNOWN-CTE",
    "BADCHARSET",
    "CAPABILITY",
    "PERMANENTFLAGS",
    "UIDNEXT",
    "UIDVALIDITY",
    "UNSEEN",
    "APPENDUID",
    "COPYUID",
    "HIGHESTMODSEQ",
    "MODIFIED",
];

impl Code {
    /// The code's name on the wire (`ALERT`, `UIDNEXT`, the atom of `Other`).
    pub fn name(&self) -> &str {
        match self {
            Code::UidNext(_) => "UIDNEXT",
            Code::UidValidity(_) => "UIDVALIDITY",
            Code::Unseen(_) => "UNSEEN",
            Code::AppendUid { .. } => "APPENDUID",
            Code::CopyUid { .. } => "COPYUID",
            Code::HighestModSeq(_) => "HIGHESTMODSEQ",
            Code::Modified(_) => "MODIFIED",
            Code::BadCharset(_) => "BADCHARSET",
            Code::Capability(_) => "CAPABILITY",
            Code::PermanentFlags(_) => "PERMANENTFLAGS",
            Code::Other(a, _) => a.as_str(),
            simple => SIMPLE
                .iter()
                .find(|(_, c)| c == simple)
                .map_or("ALERT", |(n, _)| *n),
        }
    }

    /// Appends the code without its brackets.
    pub fn encode(&self, out: &mut Vec<u8>, _ctx: Ctx) {
        out.extend_from_slice(self.name().as_bytes());
        match self {
            Code::BadCharset(cs) if !cs.is_empty() => {
                out.extend_from_slice(b" (");
                for (n, c) in cs.iter().enumerate() {
                    if n > 0 {
                        out.push(b' ');
                    }
                    write_atom_or_quoted(out, c);
                }
                out.push(b')');
            }
            Code::Capability(caps) => write_atoms(out, caps),
            Code::PermanentFlags(flags) => {
                out.extend_from_slice(b" (");
                for (n, f) in flags.iter().enumerate() {
                    if n > 0 {
                        out.push(b' ');
                    }
                    write_flag_perm(out, f);
                }
                out.push(b')');
            }
            Code::UidNext(n) | Code::UidValidity(n) | Code::Unseen(n) => {
                out.push(b' ');
                write_number(out, *n);
            }
            Code::AppendUid { uid_validity, uids } => {
                out.push(b' ');
                write_number(out, *uid_validity);
                out.push(b' ');
                write_uid_set(out, uids);
            }
            Code::CopyUid {
                uid_validity,
                source,
                dest,
            } => {
                out.push(b' ');
                write_number(out, *uid_validity);
                out.push(b' ');
                write_uid_set(out, source);
                out.push(b' ');
                write_uid_set(out, dest);
            }
            Code::HighestModSeq(n) => {
                out.push(b' ');
                write_number(out, *n);
            }
            Code::Modified(set) => {
                out.push(b' ');
                write_uid_set(out, set);
            }
            Code::Other(_, Some(text)) => {
                out.push(b' ');
                for &b in text.as_bytes() {
                    out.push(if matches!(b, b']' | b'\r' | b'\n' | 0) {
                        b' '
                    } else {
                        b
                    });
                }
            }
            _ => {}
        }
    }
}

/// `charset` (RFC 9051 9): `atom / quoted`.
fn charset(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, String> {
    move |i: &[u8]| match i.first() {
        Some(b'"') => quoted(ctx)(i).map(|(r, v)| (r, lossy(v))),
        _ => atom_str(i).map(|(r, a)| (r, a.to_string())),
    }
}

/// `resp-text-code` (RFC 9051 9), after the `[` and up to (not including)
/// the `]`.
pub(crate) fn code(i: &[u8], ctx: Ctx) -> IResult<'_, Code> {
    let start = i;
    let (i, name) = atom_str(i)?;
    let upper = name.to_ascii_uppercase();
    match upper.as_str() {
        "BADCHARSET" => match i.first() {
            Some(b' ') => {
                let (i, cs) = paren_list(1, charset(ctx))(&i[1..])?;
                Ok((i, Code::BadCharset(cs)))
            }
            _ => Ok((i, Code::BadCharset(Vec::new()))),
        },
        "CAPABILITY" => {
            let (i, caps) = atoms_after(i)?;
            if caps.is_empty() {
                return Err(ParseError::fail(i, "expected a capability"));
            }
            Ok((i, Code::Capability(caps)))
        }
        "PERMANENTFLAGS" => {
            let (i, ()) = sp(i)?;
            let (i, f) = paren_list(0, flag_perm)(i)?;
            Ok((i, Code::PermanentFlags(f)))
        }
        "UIDNEXT" | "UIDVALIDITY" | "UNSEEN" => {
            let (i, ()) = sp(i)?;
            let (i, n) = number(i)?;
            let c = match upper.as_str() {
                "UIDNEXT" => Code::UidNext(n),
                "UIDVALIDITY" => Code::UidValidity(n),
                _ => Code::Unseen(n),
            };
            Ok((i, c))
        }
        "APPENDUID" => {
            let (i, ()) = sp(i)?;
            let (i, uid_validity) = number(i)?;
            let (i, ()) = sp(i)?;
            let (i, uids) = uid_set(i)?;
            Ok((i, Code::AppendUid { uid_validity, uids }))
        }
        "COPYUID" => {
            let (i, ()) = sp(i)?;
            let (i, uid_validity) = number(i)?;
            let (i, ()) = sp(i)?;
            let (i, source) = uid_set(i)?;
            let (i, ()) = sp(i)?;
            let (i, dest) = uid_set(i)?;
            Ok((
                i,
                Code::CopyUid {
                    uid_validity,
                    source,
                    dest,
                },
            ))
        }
        "HIGHESTMODSEQ" => {
            let (i, ()) = sp(i)?;
            let (i, n) = number64(i)?;
            Ok((i, Code::HighestModSeq(n)))
        }
        "MODIFIED" => {
            let (i, ()) = sp(i)?;
            let (i, set) = uid_set(i)?;
            Ok((i, Code::Modified(set)))
        }
        _ => {
            if let Some((_, c)) = SIMPLE.iter().find(|(n, _)| *n == upper) {
                return Ok((i, c.clone()));
            }
            let atom = Atom::try_from(name)
                .map_err(|_| ParseError::fail(start, "expected a response code"))?;
            match i.first() {
                Some(b' ') => {
                    // `1*<any TEXT-CHAR except "]">`
                    let body = &i[1..];
                    let n = body
                        .iter()
                        .take_while(|b| !matches!(b, b']' | b'\r' | b'\n' | 0))
                        .count();
                    if n == body.len() {
                        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
                    }
                    let text = String::from_utf8_lossy(&body[..n]).into_owned();
                    Ok((&body[n..], Code::Other(atom, Some(text))))
                }
                _ => Ok((i, Code::Other(atom, None))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(code_text: &[u8]) -> Vec<u8> {
        let (rest, c) = code(code_text, Ctx::REV1).unwrap();
        assert_eq!(rest, b"]");
        let mut out = Vec::new();
        c.encode(&mut out, Ctx::REV1);
        out
    }

    #[test]
    fn codes() {
        assert_eq!(rt(b"uidnext 4392]"), b"UIDNEXT 4392");
        assert_eq!(
            rt(b"PERMANENTFLAGS (\\Deleted \\Seen \\*)]"),
            b"PERMANENTFLAGS (\\Deleted \\Seen \\*)"
        );
        assert_eq!(
            rt(b"COPYUID 38505 304,319:320 3956:3958]"),
            b"COPYUID 38505 304,319:320 3956:3958"
        );
        assert_eq!(
            rt(b"BADCHARSET (UTF-8 \"a b\")]"),
            b"BADCHARSET (UTF-8 \"a b\")"
        );
        assert_eq!(rt(b"BADCHARSET]"), b"BADCHARSET");
        assert_eq!(rt(b"X-FOO some text]"), b"X-FOO some text");
        assert_eq!(rt(b"unknown-cte]"), b"UNKNOWN-CTE");
        assert_eq!(
            code(b"CAPABILITY IMAP4rev2 IDLE]", Ctx::REV1).unwrap().1,
            Code::Capability(vec!["IMAP4rev2".into(), "IDLE".into()])
        );
        assert!(code(b"UIDNEXT x]", Ctx::REV1).is_err());
        assert!(matches!(
            code(b"UIDNEXT 12", Ctx::REV1),
            Err(nom::Err::Incomplete(_))
        ));
    }

    #[test]
    fn names_cover_every_code() {
        for (n, c) in &SIMPLE {
            assert_eq!(c.name(), *n);
            assert!(KNOWN_NAMES.contains(n));
        }
    }
}
