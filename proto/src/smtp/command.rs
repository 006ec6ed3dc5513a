//! SMTP commands and their parameters: types and parser (RFC 5321 4.1.1,
//! RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 3030 BDAT/BINARYMIME, RFC 6531
//! SMTPUTF8, RFC 8689 REQUIRETLS, RFC 4954 AUTH, RFC 3461 DSN, RFC 3207
//! STARTTLS).
//!
//! [`parse_command`] takes one command line without its CRLF.

use base64::Engine as _;

use super::address::{self, Cursor, ForwardPath, Host, ReversePath};
pub use super::params::{Body, MailParams, Notify, Orcpt, RcptParams, Ret, xtext_decode};
use super::params::{mail_params, rcpt_params};
use crate::secret::Secret;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO domain-or-literal`.
    Ehlo(Host),
    /// `HELO domain-or-literal`.
    Helo(Host),
    /// `MAIL FROM:<path> params`.
    Mail {
        /// The reverse path, `None` for `<>`.
        from: ReversePath,
        /// Its parameters.
        params: MailParams,
    },
    /// `RCPT TO:<path> params`.
    Rcpt {
        /// The forward path.
        to: ForwardPath,
        /// Its parameters.
        params: RcptParams,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030 2).
    Bdat {
        /// Octets of the chunk that follow the command line.
        size: u64,
        /// The chunk is the last of the message.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `NOOP [string]`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `VRFY string`.
    Vrfy(String),
    /// `EXPN string`.
    Expn(String),
    /// `HELP [string]` (RFC 5321 4.1.1.8); the argument is ignored.
    Help,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 4).
    Auth {
        /// The mechanism name as sent.
        mechanism: String,
        /// The decoded initial response; `=` gives an empty one.
        initial: Option<Secret<Vec<u8>>>,
    },
}

/// Why a command line was refused; each maps to one reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// Not a command this server knows: `500 5.5.1`.
    #[error("unknown command")]
    Unknown,
    /// Bad arguments: `501 5.5.4 text`.
    #[error("syntax error: {0}")]
    Syntax(&'static str),
    /// An unknown MAIL/RCPT parameter: `555 5.5.4`.
    #[error("unsupported parameter {0}")]
    UnsupportedParameter(String),
    /// A BDAT line whose size cannot be read: the chunk cannot be skipped,
    /// so the connection must close.
    #[error("invalid BDAT command")]
    BadBdat,
}

type Result<T> = std::result::Result<T, CommandError>;

/// Parses one command line (without CRLF).
pub fn parse_command(line: &[u8]) -> Result<Command> {
    let mut c = Cursor::new(line);
    let verb = c.take_while(|b| b != b' ');
    let verb = std::str::from_utf8(verb).map_err(|_| CommandError::Unknown)?;
    let verb = verb.to_ascii_uppercase();
    let has_args = c.eat(b' ');
    let args = c.rest();
    let no_args = |cmd: Command| {
        if has_args && !args.iter().all(|&b| b == b' ') {
            Err(CommandError::Syntax("no arguments allowed"))
        } else {
            Ok(cmd)
        }
    };
    match verb.as_str() {
        "EHLO" => helo_arg(args).map(Command::Ehlo),
        "HELO" => helo_arg(args).map(Command::Helo),
        "MAIL" => mail(args),
        "RCPT" => rcpt(args),
        "DATA" => no_args(Command::Data),
        "BDAT" => bdat(args),
        "RSET" => no_args(Command::Rset),
        "NOOP" => Ok(Command::Noop),
        "HELP" => Ok(Command::Help),
        "QUIT" => no_args(Command::Quit),
        "STARTTLS" => no_args(Command::StartTls),
        "VRFY" | "EXPN" => {
            let arg = String::from_utf8_lossy(args).trim().to_string();
            if arg.is_empty() {
                return Err(CommandError::Syntax("argument expected"));
            }
            Ok(if verb == "VRFY" {
                Command::Vrfy(arg)
            } else {
                Command::Expn(arg)
            })
        }
        "AUTH" => auth(args),
        _ => Err(CommandError::Unknown),
    }
}

/// `( Domain / address-literal )`, trailing spaces allowed.
fn helo_arg(args: &[u8]) -> Result<Host> {
    let mut c = Cursor::new(args);
    let h = address::host(&mut c, true).map_err(CommandError::Syntax)?;
    c.take_while(|b| b == b' ');
    if !c.at_end() {
        return Err(CommandError::Syntax("unexpected text after the domain"));
    }
    Ok(h)
}

/// `"MAIL FROM:" Reverse-path [SP Mail-parameters]`; a space after the
/// colon is tolerated, as most servers do.
fn mail(args: &[u8]) -> Result<Command> {
    let mut c = Cursor::new(args);
    if !c.eat_ci(b"FROM:") {
        return Err(CommandError::Syntax("expected FROM:<address>"));
    }
    c.take_while(|b| b == b' ');
    let from = address::reverse_path(&mut c).map_err(CommandError::Syntax)?;
    if !c.at_end() && c.peek() != Some(b' ') {
        return Err(CommandError::Syntax("space expected after the address"));
    }
    let params = mail_params(&mut c)?;
    Ok(Command::Mail { from, params })
}

/// `"RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
/// [SP Rcpt-parameters]`.
fn rcpt(args: &[u8]) -> Result<Command> {
    let mut c = Cursor::new(args);
    if !c.eat_ci(b"TO:") {
        return Err(CommandError::Syntax("expected TO:<address>"));
    }
    c.take_while(|b| b == b' ');
    let to = address::forward_path(&mut c).map_err(CommandError::Syntax)?;
    if !c.at_end() && c.peek() != Some(b' ') {
        return Err(CommandError::Syntax("space expected after the address"));
    }
    let params = rcpt_params(&mut c)?;
    Ok(Command::Rcpt { to, params })
}

/// `"BDAT" SP chunk-size [ SP end-marker ]` (RFC 3030 2).
fn bdat(args: &[u8]) -> Result<Command> {
    let mut c = Cursor::new(args);
    let digits = c.take_while(|b| b.is_ascii_digit());
    if digits.is_empty() || digits.len() > 19 {
        return Err(CommandError::BadBdat);
    }
    let size = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse::<u64>().ok())
        .ok_or(CommandError::BadBdat)?;
    let last = if c.eat(b' ') {
        c.eat_ci(b"LAST")
    } else {
        false
    };
    c.take_while(|b| b == b' ');
    if !c.at_end() {
        return Err(CommandError::BadBdat);
    }
    Ok(Command::Bdat { size, last })
}

/// `"AUTH" SP sasl-mech [SP initial-response]` (RFC 4954 4).
fn auth(args: &[u8]) -> Result<Command> {
    let mut c = Cursor::new(args);
    let mech = c.take_while(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if mech.is_empty() || mech.len() > 20 {
        return Err(CommandError::Syntax("mechanism expected"));
    }
    let mechanism = String::from_utf8_lossy(mech).to_ascii_uppercase();
    let initial = if c.eat(b' ') {
        let ir = c.take_while(|b| b != b' ');
        Some(Secret::new(
            decode_sasl(ir).ok_or(CommandError::Syntax("invalid base64"))?,
        ))
    } else {
        None
    };
    if !c.at_end() {
        return Err(CommandError::Syntax(
            "unexpected text after the initial response",
        ));
    }
    Ok(Command::Auth { mechanism, initial })
}

/// Decodes a SASL response: base64, or `=` for an empty initial response.
pub(crate) fn decode_sasl(b: &[u8]) -> Option<Vec<u8>> {
    if b == b"=" {
        return Some(Vec::new());
    }
    base64::engine::general_purpose::STANDARD.decode(b).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::address::Mailbox;

    fn p(s: &str) -> Result<Command> {
        parse_command(s.as_bytes())
    }

    #[test]
    fn verbs() {
        assert_eq!(
            p("ehlo x.example"),
            Ok(Command::Ehlo(Host::Domain("x.example".into())))
        );
        assert_eq!(p("HELO x "), Ok(Command::Helo(Host::Domain("x".into()))));
        assert_eq!(p("DATA"), Ok(Command::Data));
        assert_eq!(
            p("DATA x"),
            Err(CommandError::Syntax("no arguments allowed"))
        );
        assert_eq!(p("NOOP anything"), Ok(Command::Noop));
        assert_eq!(p("help"), Ok(Command::Help));
        assert_eq!(p("HELP MAIL"), Ok(Command::Help));
        assert_eq!(p("QUIT"), Ok(Command::Quit));
        assert_eq!(p("RsEt"), Ok(Command::Rset));
        assert_eq!(p("STARTTLS"), Ok(Command::StartTls));
        assert_eq!(p("VRFY bob"), Ok(Command::Vrfy("bob".into())));
        assert_eq!(p("EXPN list"), Ok(Command::Expn("list".into())));
        assert_eq!(p("VRFY"), Err(CommandError::Syntax("argument expected")));
        assert_eq!(p("TURN"), Err(CommandError::Unknown));
        assert_eq!(p(""), Err(CommandError::Unknown));
        assert_eq!(p("EHLO"), Err(CommandError::Syntax("domain expected")));
        assert_eq!(
            p("BDAT 10 LAST"),
            Ok(Command::Bdat {
                size: 10,
                last: true
            })
        );
        assert_eq!(
            p("BDAT 0"),
            Ok(Command::Bdat {
                size: 0,
                last: false
            })
        );
        for bad in [
            "BDAT",
            "BDAT x",
            "BDAT 1 FIRST",
            "BDAT -1",
            "BDAT 99999999999999999999",
        ] {
            assert_eq!(p(bad), Err(CommandError::BadBdat), "{bad}");
        }
    }

    #[test]
    fn mail_params() {
        let Ok(Command::Mail { from, params }) = p(
            "MAIL FROM:<a@x> SIZE=1000 BODY=8bitmime SMTPUTF8 REQUIRETLS AUTH=<> RET=HDRS ENVID=QQ+2B1",
        ) else {
            panic!("parse");
        };
        assert_eq!(from.map(|m| m.to_string()), Some("a@x".to_string()));
        assert_eq!(
            params,
            MailParams {
                size: Some(1000),
                body: Some(Body::EightBitMime),
                smtputf8: true,
                requiretls: true,
                auth: Some("<>".into()),
                ret: Some(Ret::Hdrs),
                envid: Some("QQ+1".into()),
            }
        );
        assert!(matches!(
            p("mail from: <>"),
            Ok(Command::Mail { from: None, .. })
        ));
        let err = |s: &str| p(s).err();
        assert_eq!(
            err("MAIL FROM:<> SIZE=x"),
            Some(CommandError::Syntax("invalid SIZE"))
        );
        assert_eq!(
            err("MAIL FROM:<> SIZE"),
            Some(CommandError::Syntax("parameter value expected"))
        );
        assert_eq!(
            err("MAIL FROM:<> BODY=9BIT"),
            Some(CommandError::Syntax("invalid BODY"))
        );
        assert_eq!(
            err("MAIL FROM:<> SMTPUTF8=1"),
            Some(CommandError::Syntax("parameter takes no value"))
        );
        assert_eq!(
            err("MAIL FROM:<> RET=ALL"),
            Some(CommandError::Syntax("invalid RET"))
        );
        assert_eq!(
            err("MAIL FROM:<> ENVID=a+zz"),
            Some(CommandError::Syntax("invalid ENVID"))
        );
        assert_eq!(
            err("MAIL FROM:<> SIZE=1 SIZE=2"),
            Some(CommandError::Syntax("duplicate parameter"))
        );
        assert_eq!(
            err("MAIL FROM:<> FOO=1"),
            Some(CommandError::UnsupportedParameter("FOO".into()))
        );
        assert_eq!(
            err("MAIL TO:<>"),
            Some(CommandError::Syntax("expected FROM:<address>"))
        );
        assert_eq!(
            err("MAIL FROM:<>x"),
            Some(CommandError::Syntax("space expected after the address"))
        );
        assert!(matches!(
            p("MAIL FROM:<> SIZE=99999999999999999999"),
            Ok(Command::Mail {
                params: MailParams {
                    size: Some(u64::MAX),
                    ..
                },
                ..
            })
        ));
    }

    #[test]
    fn rcpt_params() {
        let Ok(Command::Rcpt { to, params }) =
            p("RCPT TO:<b@y> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+40y")
        else {
            panic!("parse");
        };
        assert_eq!(
            to,
            ForwardPath::Mailbox(Mailbox {
                local_part: "b".into(),
                host: Host::Domain("y".into())
            })
        );
        assert_eq!(
            params.notify,
            Some(Notify::On {
                success: true,
                failure: false,
                delay: true
            })
        );
        assert_eq!(
            params.orcpt,
            Some(Orcpt {
                addr_type: "rfc822".into(),
                addr: "b@y".into()
            })
        );
        assert!(matches!(
            p("RCPT TO:<b@y> NOTIFY=NEVER"),
            Ok(Command::Rcpt {
                params: RcptParams {
                    notify: Some(Notify::Never),
                    ..
                },
                ..
            })
        ));
        assert_eq!(
            p("RCPT TO:<b@y> NOTIFY=SOMETIMES").err(),
            Some(CommandError::Syntax("invalid NOTIFY"))
        );
        assert_eq!(
            p("RCPT TO:<b@y> ORCPT=rfc822").err(),
            Some(CommandError::Syntax("invalid ORCPT"))
        );
        assert_eq!(
            p("RCPT TO:<>").err(),
            Some(CommandError::Syntax("invalid local part"))
        );
        assert_eq!(
            p("RCPT TO:<b@y> SIZE=1").err(),
            Some(CommandError::UnsupportedParameter("SIZE".into()))
        );
    }

    #[test]
    fn auth_lines() {
        let Ok(Command::Auth { mechanism, initial }) = p("AUTH plain AHRpbQB0YW5zdGFhZg==") else {
            panic!("parse");
        };
        assert_eq!(mechanism, "PLAIN");
        assert_eq!(
            initial.map(|s| s.into_inner()),
            Some(b"\0tim\0tanstaaf".to_vec())
        );
        assert!(matches!(
            p("AUTH LOGIN"),
            Ok(Command::Auth { initial: None, .. })
        ));
        let Ok(Command::Auth { initial, .. }) = p("AUTH PLAIN =") else {
            panic!("parse")
        };
        assert_eq!(initial.map(|s| s.into_inner()), Some(Vec::new()));
        assert_eq!(
            p("AUTH PLAIN !!").err(),
            Some(CommandError::Syntax("invalid base64"))
        );
        assert_eq!(
            p("AUTH").err(),
            Some(CommandError::Syntax("mechanism expected"))
        );
        assert_eq!(xtext_decode("a+2Bb"), Some("a+b".into()));
        assert_eq!(xtext_decode("a+2b"), None);
        assert_eq!(xtext_decode("a+2"), None);
    }
}
