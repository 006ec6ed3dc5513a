//! The transcript format (see `conformance/README.md`): parsing a `.txt`
//! file into directives and steps.
//!
//! ```text
//! # a comment
//! @known-failure the engine sends X, RFC 9051 6.3.1 requires Y
//! C: a1 LOGIN mox@localhost moxmoxmox
//! S: a1 OK [CAPABILITY {{any}}] {{any}}
//! C: a2 APPEND Inbox {?+}
//! C| Subject: hi
//! C|
//! C| hello
//! C:
//! S: a2 OK [APPENDUID {{n}} 1] {{any}}
//! ```

use base64::Engine as _;

/// One instruction of a transcript, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Make connection `n` (1-based) the current one; opened on first use.
    Session(usize),
    /// Bytes the client sends on the current connection.
    Send(Vec<u8>),
    /// One line the server must send next on the current connection.
    Expect(String),
    /// `@eof`: the client closes the current connection (end of input).
    Eof,
    /// A `C:` line holding `{{scram-final}}` or `{{cram-md5 USER}}`: the
    /// bytes are computed from the last `+` line the server sent.
    SendComputed {
        prefix: String,
        suffix: String,
        what: Computed,
    },
}

/// What a `SendComputed` line holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Computed {
    /// The SCRAM client-final message (RFC 5802).
    ScramFinal,
    /// The CRAM-MD5 response for this user (RFC 2195).
    CramMd5 { user: String },
}

/// A parsed transcript.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// File stem, also the snapshot name.
    pub name: String,
    /// `@known-failure <reason>`: the transcript states correct behaviour
    /// the engine does not have yet.
    pub known_failure: Option<String>,
    /// `@core-only <reason>`: not run over the runtimes.
    pub core_only: Option<String>,
    /// `@plain`: the connections are not TLS (no STARTTLS over loopback).
    pub plain: bool,
    /// `@scram-user <user>` / the password used by `{{scram-final}}`.
    pub scram_password: String,
    /// `@client-key NAME [options]`: the client presents a TLS client
    /// certificate (issue 8).
    pub client_key: Option<ClientKey>,
    /// The steps in order.
    pub steps: Vec<Step>,
}

/// `@client-key NAME [no-preauth] [unregistered] [account=other]`: every
/// connection presents the fixture certificate NAME (`p256`, `ed25519`,
/// `rsa2048`) in its TLS handshake: at connect, or with `@plain` at
/// STARTTLS. The key is registered for account `mox` (login address
/// `mox@localhost`) unless `unregistered` (an unknown key) or
/// `account=other` (the second account, `other@localhost`); `no-preauth`
/// sets its "no IMAP preauth" flag. The core then also has the account
/// `other` (password `otherother`) and the address `alias@localhost` on
/// `mox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKey {
    /// The fixture name.
    pub name: String,
    /// The key has "no IMAP preauth".
    pub no_preauth: bool,
    /// The key is not registered at all.
    pub unregistered: bool,
    /// The account the key is registered for.
    pub account: String,
}

impl ClientKey {
    fn parse(arg: &str) -> Result<ClientKey, String> {
        let mut words = arg.split_whitespace();
        let name = match words.next() {
            Some(n @ ("p256" | "ed25519" | "rsa2048")) => n.to_string(),
            other => {
                return Err(format!(
                    "@client-key needs a fixture name (p256, ed25519, rsa2048), not {other:?}"
                ));
            }
        };
        let mut k = ClientKey {
            name,
            no_preauth: false,
            unregistered: false,
            account: "mox".to_string(),
        };
        for w in words {
            match w {
                "no-preauth" => k.no_preauth = true,
                "unregistered" => k.unregistered = true,
                "account=other" => k.account = "other".to_string(),
                _ => return Err(format!("unknown @client-key option {w:?}")),
            }
        }
        Ok(k)
    }
}

/// A line of the file that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Parses transcript text.
pub fn parse(name: &str, text: &str) -> Result<Transcript, ParseError> {
    let mut t = Transcript {
        name: name.to_string(),
        scram_password: "moxmoxmox".to_string(),
        ..Transcript::default()
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let no = i + 1;
        let line = lines[i].trim_end_matches('\r');
        i += 1;
        let err = |reason: String| ParseError { line: no, reason };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(d) = line.strip_prefix('@') {
            let (word, arg) = d.split_once(' ').unwrap_or((d, ""));
            let arg = arg.trim();
            match word {
                "known-failure" if !arg.is_empty() => t.known_failure = Some(arg.to_string()),
                "core-only" if !arg.is_empty() => t.core_only = Some(arg.to_string()),
                "plain" => t.plain = true,
                "eof" => t.steps.push(Step::Eof),
                "password" if !arg.is_empty() => t.scram_password = arg.to_string(),
                "client-key" => t.client_key = Some(ClientKey::parse(arg).map_err(err)?),
                "session" => match arg.parse::<usize>() {
                    Ok(n) if n >= 1 => t.steps.push(Step::Session(n)),
                    _ => return Err(err(format!("@session needs a number ≥ 1, not {arg:?}"))),
                },
                _ => return Err(err(format!("unknown directive or missing reason: @{d}"))),
            }
            continue;
        }
        if let Some(rest) = strip_kind(line, "S:") {
            t.steps.push(Step::Expect(rest.to_string()));
            continue;
        }
        if let Some(rest) = strip_kind(line, "C~") {
            t.steps.push(Step::Send(unescape(rest).map_err(err)?));
            continue;
        }
        if strip_kind(line, "C|").is_some() {
            return Err(err(
                "literal data (C|) without a C: line holding {?} before it".into(),
            ));
        }
        if let Some(rest) = strip_kind(line, "C:") {
            if let Some((prefix, suffix)) = rest.split_once("{{scram-final}}") {
                t.steps.push(Step::SendComputed {
                    prefix: prefix.to_string(),
                    suffix: suffix.to_string(),
                    what: Computed::ScramFinal,
                });
                continue;
            }
            if let Some((prefix, after)) = rest.split_once("{{cram-md5 ") {
                let (user, suffix) = after
                    .split_once("}}")
                    .ok_or_else(|| err("unterminated {{cram-md5".into()))?;
                t.steps.push(Step::SendComputed {
                    prefix: prefix.to_string(),
                    suffix: suffix.to_string(),
                    what: Computed::CramMd5 {
                        user: user.to_string(),
                    },
                });
                continue;
            }
            let mut text = expand_b64(rest).map_err(err)?;
            // A size placeholder takes the length of the next C| block.
            if let Some(pos) = find_placeholder(&text) {
                let mut j = i;
                while j < lines.len() && strip_kind(lines[j], "C|").is_none() {
                    j += 1;
                }
                let mut data = Vec::new();
                let mut k = j;
                while let Some(d) = lines.get(k).and_then(|l| strip_kind(l, "C|")) {
                    data.extend_from_slice(d.as_bytes());
                    data.extend_from_slice(b"\r\n");
                    k += 1;
                }
                if data.is_empty() {
                    return Err(err("{?} without C| lines after it".into()));
                }
                text.splice(pos + 1..pos + 2, data.len().to_string().into_bytes());
                // The C| block itself is sent where it stands.
                let mut before = std::mem::take(&mut text);
                before.extend_from_slice(b"\r\n");
                t.steps.push(Step::Send(before));
                while i < j {
                    let l = lines[i].trim_end_matches('\r');
                    i += 1;
                    if let Some(e) = strip_kind(l, "S:") {
                        t.steps.push(Step::Expect(e.to_string()));
                    } else if !(l.trim().is_empty() || l.starts_with('#')) {
                        return Err(ParseError {
                            line: i,
                            reason: "only S: lines may stand between {?} and its C| lines".into(),
                        });
                    }
                }
                t.steps.push(Step::Send(data));
                i = k;
                continue;
            }
            text.extend_from_slice(b"\r\n");
            t.steps.push(Step::Send(text));
            continue;
        }
        return Err(err(format!("unknown line kind: {line:?}")));
    }
    Ok(t)
}

/// `C: rest`, `C:` (empty), same for the other kinds.
fn strip_kind<'a>(line: &'a str, kind: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(kind)?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_prefix(' ')
}

/// The position of `{` of a `{?}` or `{?+}` placeholder.
fn find_placeholder(text: &[u8]) -> Option<usize> {
    text.windows(3)
        .position(|w| w == b"{?}")
        .or_else(|| text.windows(4).position(|w| w == b"{?+}"))
}

/// Replaces `{{b64:TEXT}}` by the base64 of TEXT (after `\0` and other
/// escapes of [`unescape`]).
fn expand_b64(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{b64:") {
        out.extend_from_slice(&rest.as_bytes()[..start]);
        let after = &rest[start + 6..];
        let end = after.find("}}").ok_or("unterminated {{b64:")?;
        let raw = unescape(&after[..end])?;
        out.extend_from_slice(
            base64::engine::general_purpose::STANDARD
                .encode(raw)
                .as_bytes(),
        );
        rest = &after[end + 2..];
    }
    out.extend_from_slice(rest.as_bytes());
    Ok(out)
}

/// Escapes of `C~` lines and `{{b64:…}}`: `\r`, `\n`, `\0`, `\\`, `\xNN`.
pub fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b'0') => out.push(0),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hex = s.get(i + 2..i + 4).ok_or("short \\x escape")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| "bad \\x escape")?);
                i += 2;
            }
            _ => return Err(format!("unknown escape at byte {i} of {s:?}")),
        }
        i += 2;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_sizes_and_steps() {
        let t = parse(
            "x",
            "@known-failure why\nC: a APPEND Inbox {?}\nS: + Ready\nC| ab\nC|\nC:\nS: a OK done\n",
        )
        .unwrap();
        assert_eq!(t.known_failure.as_deref(), Some("why"));
        assert_eq!(
            t.steps,
            vec![
                Step::Send(b"a APPEND Inbox {6}\r\n".to_vec()),
                Step::Expect("+ Ready".into()),
                Step::Send(b"ab\r\n\r\n".to_vec()),
                Step::Send(b"\r\n".to_vec()),
                Step::Expect("a OK done".into()),
            ]
        );
    }

    #[test]
    fn raw_and_base64() {
        let t = parse("x", "C~ a NOOP\\r\nC: {{b64:\\0u\\0p}} x\n").unwrap();
        assert_eq!(
            t.steps,
            vec![
                Step::Send(b"a NOOP\r".to_vec()),
                Step::Send(b"AHUAcA== x\r\n".to_vec()),
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("x", "C: a\n@bogus\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse("x", "C| data\n").is_err());
    }
}
