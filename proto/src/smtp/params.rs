//! MAIL and RCPT parameters (RFC 5321 4.1.2 esmtp-param): SIZE (RFC 1870),
//! BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), REQUIRETLS (RFC 8689),
//! AUTH (RFC 4954 5), and the DSN parameters RET, ENVID, NOTIFY and ORCPT
//! (RFC 3461), which are parsed and kept (DSN is not advertised).

use super::address::Cursor;
use super::command::CommandError;

type Result<T> = std::result::Result<T, CommandError>;

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

/// The parameters after the MAIL FROM path.
pub(crate) fn mail_params(c: &mut Cursor<'_>) -> Result<MailParams> {
    let mut p = MailParams::default();
    for (kw, v) in params(c)? {
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
    Ok(p)
}

/// The parameters after the RCPT TO path.
pub(crate) fn rcpt_params(c: &mut Cursor<'_>) -> Result<RcptParams> {
    let mut p = RcptParams::default();
    for (kw, v) in params(c)? {
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
    Ok(p)
}
