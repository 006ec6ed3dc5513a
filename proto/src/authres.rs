//! The Authentication-Results header (RFC 8601) written on inbound mail, as
//! part of the stored message prefix.

/// One method's result: `spf=pass smtp.mailfrom=example.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// `spf`, `dkim`, `dmarc`, `iprev`, `auth`, …
    pub method: String,
    /// `pass`, `fail`, `none`, `temperror`, …
    pub result: String,
    /// A comment written after the result, in parentheses.
    pub comment: Option<String>,
    /// `reason="…"` (RFC 8601 2.2).
    pub reason: Option<String>,
    /// `ptype.property=value` pairs, e.g. ("smtp.mailfrom", "a@example.com").
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    /// A result without comment, reason or properties.
    pub fn new(method: &str, result: impl ToString) -> MethodResult {
        MethodResult {
            method: method.into(),
            result: result.to_string(),
            comment: None,
            reason: None,
            props: Vec::new(),
        }
    }

    /// Adds a property.
    pub fn prop(mut self, name: &str, value: impl Into<String>) -> MethodResult {
        self.props.push((name.into(), value.into()));
        self
    }

    /// Sets the comment.
    pub fn comment(mut self, c: impl Into<String>) -> MethodResult {
        self.comment = Some(c.into());
        self
    }

    /// Sets the reason.
    pub fn reason(mut self, r: impl Into<String>) -> MethodResult {
        self.reason = Some(r.into());
        self
    }

    /// The words of this result, each to be kept unbroken when folding.
    fn words(&self) -> Vec<String> {
        let mut w = vec![format!("{}={}", self.method, self.result)];
        if let Some(c) = &self.comment {
            w.push(format!("({})", comment_text(c)));
        }
        if let Some(r) = &self.reason {
            w.push(format!("reason={}", quoted(r)));
        }
        for (k, v) in &self.props {
            w.push(format!("{k}={}", pvalue(v)));
        }
        w
    }
}

/// Formats the whole header, `Authentication-Results: ` included, folded
/// at 78 columns with CRLF line ends and a final CRLF. With no results the
/// header says `none` (RFC 8601 2.2).
pub fn header(authserv_id: &str, results: &[MethodResult]) -> String {
    let mut out = String::from("Authentication-Results: ");
    out.push_str(authserv_id);
    let mut col = out.len();
    let mut put = |out: &mut String, word: &str, sep: &str| {
        if col + sep.len() + word.len() > 78 {
            out.push_str(sep.trim_end());
            out.push_str("\r\n\t");
            col = 8;
        } else {
            out.push_str(sep);
            col += sep.len();
        }
        out.push_str(word);
        col += word.len();
    };
    if results.is_empty() {
        put(&mut out, "none", "; ");
    }
    for r in results {
        for (i, w) in r.words().iter().enumerate() {
            put(&mut out, w, if i == 0 { "; " } else { " " });
        }
    }
    out.push_str("\r\n");
    out
}

/// A property value: a token or address as is, else a quoted string
/// (RFC 8601 2.2 `pvalue`, RFC 2045 token).
fn pvalue(v: &str) -> String {
    let token_ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>,;:\\\"/[]?=".contains(&b))
    };
    match v.rsplit_once('@') {
        Some((local, domain)) if token_ok(domain) && (local.is_empty() || token_ok(local)) => {
            v.to_string()
        }
        _ if token_ok(v)
            || v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"./_-+=:".contains(&b))
                && !v.is_empty() =>
        {
            v.to_string()
        }
        _ => quoted(v),
    }
}

fn quoted(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// Comment text without unbalanced parentheses or control characters.
fn comment_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && *c != '(' && *c != ')' && *c != '\\')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_header_on_one_line() {
        let h = header(
            "mx.example.org",
            &[MethodResult::new("spf", "pass").prop("smtp.mailfrom", "example.com")],
        );
        assert_eq!(
            h,
            "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com\r\n"
        );
        assert_eq!(
            header("mx.example.org", &[]),
            "Authentication-Results: mx.example.org; none\r\n"
        );
    }

    #[test]
    fn folds_and_quotes() {
        let h = header(
            "mx.example.org",
            &[
                MethodResult::new("iprev", "pass")
                    .prop("policy.iprev", "192.0.2.1")
                    .comment("mail.example.com"),
                MethodResult::new("spf", "fail")
                    .prop("smtp.mailfrom", "bounce+x@example.com")
                    .reason("sender (not permitted) \"ip\""),
                MethodResult::new("dkim", "pass")
                    .prop("header.d", "example.com")
                    .prop("header.s", "2024a")
                    .prop("header.a", "ed25519-sha256")
                    .prop("header.b", "AbCdEf+/"),
                MethodResult::new("dmarc", "pass")
                    .comment("p=reject dis=none")
                    .prop("header.from", "example.com"),
            ],
        );
        let lines: Vec<&str> = h.split("\r\n").collect();
        assert!(lines.iter().all(|l| l.len() <= 78), "{h}");
        assert_eq!(
            h,
            "Authentication-Results: mx.example.org; iprev=pass (mail.example.com)\r\n\
             \tpolicy.iprev=192.0.2.1; spf=fail\r\n\
             \treason=\"sender (not permitted) \\\"ip\\\"\"\r\n\
             \tsmtp.mailfrom=bounce+x@example.com; dkim=pass header.d=example.com\r\n\
             \theader.s=2024a header.a=ed25519-sha256 header.b=AbCdEf+/; dmarc=pass\r\n\
             \t(p=reject dis=none) header.from=example.com\r\n"
        );
        assert_eq!(pvalue("two words"), "\"two words\"");
        assert_eq!(comment_text("a(b)\r\nc"), "abc");
    }
}
