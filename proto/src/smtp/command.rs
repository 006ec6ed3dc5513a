//! SMTP commands and their parameters: types and parser (RFC 5321 4.1.1,
//! RFC 1870 SIZE, RFC 6152 8BITMIME, RFC 3030 BDAT/BINARYMIME, RFC 6531
//! SMTPUTF8, RFC 8689 REQUIRETLS, RFC 4954 AUTH, RFC 3461 DSN, RFC 3207
//! STARTTLS).
//!
//! [`parse_command`] takes one command line without its CRLF.

use base64::Engine as _;

use super::address::{self, Cursor, ForwardPath, Host, ReversePath};
use crate::secret::Secret;

/// `BODY=` of MAIL (RFC 6152, RFC 3030).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME`.
    EightBitMime,
    /// `BINARYMIME`: the message must come in BDAT chunks.
    BinaryMime,
}

/// `RET=` of MAIL (RFC 3461 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// `FULL`: return the whole message in a DSN.
    Full,
    /// `HDRS`: return the headers only.
    Hdrs,
}

/// Parameters of MAIL FROM.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailParams {
    /// `SIZE=n`: the declared message size (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=`.
    pub body: Option<Body>,
    /// `SMTPUTF8` (RFC 6531 3.4).
    pub smtputf8: bool,
    /// `REQUIRETLS` (RFC 8689 4).
    pub requiretls: bool,
    /// `AUTH=`: the xtext-decoded mailbox, `<>` as given (RFC 4954 5).
    pub auth: Option<String>,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=`, xtext-decoded (RFC 3461 4.4).
    pub envid: Option<String>,
}

/// `NOTIFY=` of RCPT (RFC 3461 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notify {
    /// `NEVER`.
    Never,
    /// A list of SUCCESS, FAILURE and DELAY.
    On {
        /// `SUCCESS`.
        success: bool,
        /// `FAILURE`.
        failure: bool,
        /// `DELAY`.
        delay: bool,
    },
}

/// `ORCPT=addr-type;xtext` (RFC 3461 4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orcpt {
    /// The address type, e.g. `rfc822`.
    pub addr_type: String,
    /// The xtext-decoded original recipient.
    pub addr: String,
}

/// Parameters of RCPT TO.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RcptParams {
    /// `NOTIFY=`.
    pub notify: Option<Notify>,
    /// `ORCPT=`.
    pub orcpt: Option<Orcpt>,
}

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

/// Splits `keyword[=value]` parameters separated by spaces (RFC 5321
/// 4.1.2 esmtp-param; values may hold UTF-8, RFC 6531 3.3).
fn params(c: &mut Cursor<'_>) -> Result<Vec<(String, Option<String>)>> {
    let mut out = Vec::new();
    loop {
        c.take_while(|b| b == b' ');
        if c.at_end() {
            return Ok(out);
        }
        let kw = c.take_while(|b| b.is_ascii_alphanumeric() || b == b'-');
        if kw.is_empty() || kw.first() == Some(&b'-') {
            return Err(CommandError::Syntax("invalid parameter"));
        }
        let kw = String::from_utf8_lossy(kw).to_ascii_uppercase();
        let value = if c.eat(b'=') {
            let v = c.take_while(|b| b > b' ' && b != b'=' && b != 0x7f);
            if v.is_empty() {
                return Err(CommandError::Syntax("empty parameter value"));
            }
            Some(
                String::from_utf8(v.to_vec())
                    .map_err(|_| CommandError::Syntax("invalid UTF-8 in parameter"))?,
            )
        } else {
            None
        };
        if !c.at_end() && c.peek() != Some(b' ') {
            return Err(CommandError::Syntax("invalid parameter"));
        }
        if out.iter().any(|(k, _)| *k == kw) {
            return Err(CommandError::Syntax("duplicate parameter"));
        }
        out.push((kw, value));
    }
}

/// Decodes xtext (RFC 3461 4): `+XX` hex escapes, other chars 33-126.
pub fn xtext_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&x) = b.get(i) {
        if x == b'+' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            if !hex
                .bytes()
                .all(|h| h.is_ascii_digit() || (b'A'..=b'F').contains(&h))
            {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if (33..=126).contains(&x) && x != b'=' {
            out.push(x);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

fn need_value(v: Option<String>) -> Result<String> {
    v.ok_or(CommandError::Syntax("parameter value expected"))
}

fn no_value(v: &Option<String>) -> Result<()> {
    match v {
        Some(_) => Err(CommandError::Syntax("parameter takes no value")),
        None => Ok(()),
    }
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
    let mut p = MailParams::default();
    for (kw, v) in params(&mut c)? {
        match kw.as_str() {
            // RFC 1870 3: size-value = 1*20DIGIT.
            "SIZE" => {
                let v = need_value(v)?;
                if v.len() > 20 || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(CommandError::Syntax("invalid SIZE"));
                }
                p.size = Some(v.parse().unwrap_or(u64::MAX));
            }
            "BODY" => {
                let v = need_value(v)?;
                p.body = Some(match v.to_ascii_uppercase().as_str() {
                    "7BIT" => Body::SevenBit,
                    "8BITMIME" => Body::EightBitMime,
                    "BINARYMIME" => Body::BinaryMime,
                    _ => return Err(CommandError::Syntax("invalid BODY")),
                });
            }
            "SMTPUTF8" => {
                no_value(&v)?;
                p.smtputf8 = true;
            }
            "REQUIRETLS" => {
                no_value(&v)?;
                p.requiretls = true;
            }
            "AUTH" => {
                let v = need_value(v)?;
                p.auth = Some(xtext_decode(&v).ok_or(CommandError::Syntax("invalid AUTH"))?);
            }
            "RET" => {
                let v = need_value(v)?;
                p.ret = Some(match v.to_ascii_uppercase().as_str() {
                    "FULL" => Ret::Full,
                    "HDRS" => Ret::Hdrs,
                    _ => return Err(CommandError::Syntax("invalid RET")),
                });
            }
            "ENVID" => {
                let v = need_value(v)?;
                // RFC 3461 4.4: at most 100 characters.
                let d = xtext_decode(&v).ok_or(CommandError::Syntax("invalid ENVID"))?;
                if v.len() > 100 {
                    return Err(CommandError::Syntax("ENVID too long"));
                }
                p.envid = Some(d);
            }
            _ => return Err(CommandError::UnsupportedParameter(kw)),
        }
    }
    Ok(Command::Mail { from, params: p })
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
    let mut p = RcptParams::default();
    for (kw, v) in params(&mut c)? {
        match kw.as_str() {
            "NOTIFY" => {
                let v = need_value(v)?.to_ascii_uppercase();
                p.notify = Some(if v == "NEVER" {
                    Notify::Never
                } else {
                    let (mut success, mut failure, mut delay) = (false, false, false);
                    for item in v.split(',') {
                        let flag = match item {
                            "SUCCESS" => &mut success,
                            "FAILURE" => &mut failure,
                            "DELAY" => &mut delay,
                            _ => return Err(CommandError::Syntax("invalid NOTIFY")),
                        };
                        *flag = true;
                    }
                    Notify::On {
                        success,
                        failure,
                        delay,
                    }
                });
            }
            "ORCPT" => {
                let v = need_value(v)?;
                let (t, a) = v
                    .split_once(';')
                    .ok_or(CommandError::Syntax("invalid ORCPT"))?;
                let ok_type =
                    !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                let addr = xtext_decode(a).filter(|a| !a.is_empty() && ok_type);
                p.orcpt = Some(Orcpt {
                    addr_type: t.to_string(),
                    addr: addr.ok_or(CommandError::Syntax("invalid ORCPT"))?,
                });
            }
            _ => return Err(CommandError::UnsupportedParameter(kw)),
        }
    }
    Ok(Command::Rcpt { to, params: p })
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
