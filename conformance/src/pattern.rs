//! Expected-line patterns: exact text except `{{any}}` (any text, possibly
//! empty: human-readable response text, which the RFCs leave to the
//! server), `{{var}}` (any text that varies from run to run, such as SCRAM
//! salts and proofs) and `{{n}}` (one or more digits: UIDVALIDITY, modseqs).

/// A piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// `{{any}}`, or `{{var}}` when masked.
    Any {
        masked: bool,
    },
    Number,
}

fn pieces(pattern: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = pattern;
    loop {
        let found = [
            ("{{any}}", Piece::Any { masked: false }),
            ("{{var}}", Piece::Any { masked: true }),
            ("{{n}}", Piece::Number),
        ]
        .into_iter()
        .filter_map(|(m, p)| rest.find(m).map(|i| (i, m.len(), p)))
        .min_by_key(|(i, _, _)| *i);
        let Some((pos, len, piece)) = found else {
            if !rest.is_empty() {
                out.push(Piece::Text(rest.to_string()));
            }
            return out;
        };
        if pos > 0 {
            out.push(Piece::Text(rest[..pos].to_string()));
        }
        out.push(piece);
        rest = &rest[pos + len..];
    }
}

/// Matches `line` against `pattern`. On a match, returns the line as the
/// snapshot records it: the actual text with the `{{var}}` parts masked
/// (everything else stays, so snapshots pin it on the bare core).
pub fn matches(pattern: &str, line: &str) -> Option<String> {
    let ps = pieces(pattern);
    let mut out = String::new();
    if go(&ps, line, &mut out) {
        Some(out)
    } else {
        None
    }
}

fn go(ps: &[Piece], line: &str, out: &mut String) -> bool {
    let Some((first, rest)) = ps.split_first() else {
        return line.is_empty();
    };
    let mark = out.len();
    match first {
        Piece::Text(t) => {
            if let Some(after) = line.strip_prefix(t.as_str()) {
                out.push_str(t);
                if go(rest, after, out) {
                    return true;
                }
            }
        }
        Piece::Number => {
            let digits = line.bytes().take_while(u8::is_ascii_digit).count();
            // Longest first; a following text piece may start with a digit.
            for n in (1..=digits).rev() {
                out.truncate(mark);
                out.push_str(&line[..n]);
                if go(rest, &line[n..], out) {
                    return true;
                }
            }
        }
        Piece::Any { masked } => {
            for (i, _) in line
                .char_indices()
                .chain(std::iter::once((line.len(), ' ')))
            {
                out.truncate(mark);
                out.push_str(if *masked { "{{var}}" } else { &line[..i] });
                if go(rest, &line[i..], out) {
                    return true;
                }
            }
        }
    }
    out.truncate(mark);
    false
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn exact_text() {
        assert_eq!(
            matches("a OK done", "a OK done").as_deref(),
            Some("a OK done")
        );
        assert_eq!(matches("a OK done", "a OK done."), None);
        assert_eq!(matches("a OK done", "a OK don"), None);
    }

    #[test]
    fn wildcards() {
        assert_eq!(
            matches(
                "* OK [UIDVALIDITY {{n}}] {{any}}",
                "* OK [UIDVALIDITY 7] x y"
            )
            .as_deref(),
            Some("* OK [UIDVALIDITY 7] x y")
        );
        assert_eq!(matches("+ {{var}}", "+ cj1h").as_deref(), Some("+ {{var}}"));
        assert_eq!(
            matches("* OK [UIDVALIDITY {{n}}]", "* OK [UIDVALIDITY ]"),
            None
        );
        assert_eq!(matches("+ {{any}}", "+ ").as_deref(), Some("+ "));
        assert_eq!(matches("{{n}}1 x", "11 x").as_deref(), Some("11 x"));
        assert_eq!(matches("a {{any}} c", "a b"), None);
    }
}
