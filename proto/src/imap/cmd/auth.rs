//! `LOGIN` (RFC 9051 6.2.3) and `AUTHENTICATE` with SASL-IR (RFC 9051 6.2.2,
//! RFC 4959). `STARTTLS` has no arguments and is handled in the dispatcher.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::CommandBody;
use super::syntax::{astring_text, expect};
use crate::imap::core::string::{atom, write_astring};
use crate::imap::core::{Atom, Ctx, IResult, ParseError, sp};
use crate::secret::Secret;

/// `SP userid SP password` after `LOGIN`.
pub(crate) fn login_args(ctx: Ctx) -> impl Fn(&[u8]) -> IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (i, ()) = sp(i)?;
        let (i, username) = expect(i, "expected a user name", astring_text(ctx)(i))?;
        let (i, ()) = sp(i)?;
        let (i, password) = expect(i, "expected a password", astring_text(ctx)(i))?;
        Ok((
            i,
            CommandBody::Login {
                username,
                password: Secret::new(password),
            },
        ))
    }
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// `SP auth-type [SP initial-resp]` after `AUTHENTICATE` (RFC 4959 7:
/// `initial-resp = (base64 / "=")`).
pub(crate) fn authenticate_args(i: &[u8]) -> IResult<'_, CommandBody> {
    let (i, ()) = sp(i)?;
    let (i, mechanism) = expect(i, "expected a SASL mechanism name", atom(i))?;
    let (i, initial_response) = match i.first() {
        Some(b' ') => {
            let start = &i[1..];
            let n = start.iter().take_while(|b| is_base64_char(**b)).count();
            if n == start.len() {
                return Err(nom::Err::Incomplete(nom::Needed::new(1)));
            }
            let text = &start[..n];
            let data = if text == b"=" {
                Vec::new()
            } else if text.is_empty() {
                return Err(ParseError::fail(
                    start,
                    "expected a base64 initial response",
                ));
            } else {
                STANDARD
                    .decode(text)
                    .map_err(|_| ParseError::fail(start, "invalid base64 in initial response"))?
            };
            (&start[n..], Some(Secret::new(data)))
        }
        Some(_) => (i, None),
        None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
    };
    Ok((
        i,
        CommandBody::Authenticate {
            mechanism,
            initial_response,
        },
    ))
}

/// Writes `AUTHENTICATE mech [initial-response]`.
pub(crate) fn write_authenticate(
    out: &mut Vec<u8>,
    mechanism: &Atom,
    ir: Option<&Secret<Vec<u8>>>,
) {
    out.extend_from_slice(b"AUTHENTICATE ");
    out.extend_from_slice(mechanism.as_str().as_bytes());
    if let Some(ir) = ir {
        out.push(b' ');
        if ir.expose().is_empty() {
            out.push(b'=');
        } else {
            out.extend_from_slice(STANDARD.encode(ir.expose()).as_bytes());
        }
    }
}

/// Writes `LOGIN user password`.
pub(crate) fn write_login(out: &mut Vec<u8>, username: &str, password: &Secret<String>, ctx: Ctx) {
    out.extend_from_slice(b"LOGIN ");
    write_astring(out, username.as_bytes(), ctx);
    out.push(b' ');
    write_astring(out, password.expose().as_bytes(), ctx);
}

#[cfg(test)]
mod tests {
    use super::super::parse_command;
    use super::*;

    fn body(line: &[u8]) -> CommandBody {
        parse_command(line, Ctx::REV1).unwrap().1.body
    }

    #[test]
    fn login_and_authenticate() {
        assert_eq!(
            body(b"a001 LOGIN SMITH SESAME\r\n"),
            CommandBody::Login {
                username: "SMITH".into(),
                password: Secret::new("SESAME".into())
            }
        );
        assert_eq!(
            body(b"a LOGIN {4}\r\nfred \"a b\"\r\n"),
            CommandBody::Login {
                username: "fred".into(),
                password: Secret::new("a b".into())
            }
        );
        assert_eq!(
            body(b"A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n"),
            CommandBody::Authenticate {
                mechanism: Atom::try_from("PLAIN").unwrap(),
                initial_response: Some(Secret::new(b"test\0test\0test".to_vec()))
            }
        );
        assert_eq!(
            body(b"A01 AUTHENTICATE EXTERNAL =\r\n"),
            CommandBody::Authenticate {
                mechanism: Atom::try_from("EXTERNAL").unwrap(),
                initial_response: Some(Secret::new(Vec::new()))
            }
        );
        assert_eq!(
            body(b"A01 AUTHENTICATE GSSAPI\r\n"),
            CommandBody::Authenticate {
                mechanism: Atom::try_from("GSSAPI").unwrap(),
                initial_response: None
            }
        );
        assert!(parse_command(b"A AUTHENTICATE PLAIN ab*c\r\n", Ctx::REV1).is_err());
    }
}
