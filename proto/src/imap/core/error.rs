//! The parse error type: where parsing stopped and what was expected there, so
//! a `BAD` reply can say what was wrong.

use std::fmt;

/// The nom result type used by every IMAP parser.
pub type IResult<'a, T> = nom::IResult<&'a [u8], T, ParseError<'a>>;

/// A parse error: the remaining input where it happened and a human-readable
/// statement of what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError<'a> {
    /// The input from the point of failure to the end of the buffer.
    pub input: &'a [u8],
    /// What was expected, e.g. "expected a space" or "unknown command".
    pub expected: &'static str,
    /// True once a named context set `expected`; generic nom kinds do not
    /// overwrite it.
    specific: bool,
}

impl<'a> ParseError<'a> {
    /// A recoverable error (`nom::Err::Error`) at `input`.
    pub fn fail(input: &'a [u8], expected: &'static str) -> nom::Err<Self> {
        nom::Err::Error(Self::new(input, expected))
    }

    /// A non-recoverable error (`nom::Err::Failure`): `alt` does not try other
    /// branches after it.
    pub fn cut(input: &'a [u8], expected: &'static str) -> nom::Err<Self> {
        nom::Err::Failure(Self::new(input, expected))
    }

    /// An error value at `input`.
    pub fn new(input: &'a [u8], expected: &'static str) -> Self {
        ParseError {
            input,
            expected,
            specific: true,
        }
    }

    /// Turns this error into an owned failure report relative to `whole`, the
    /// buffer parsing started on.
    pub fn into_failure(self, whole: &[u8]) -> ParseFailure {
        let offset = whole.len().saturating_sub(self.input.len());
        ParseFailure {
            offset,
            expected: self.expected,
        }
    }
}

impl<'a> nom::error::ParseError<&'a [u8]> for ParseError<'a> {
    fn from_error_kind(input: &'a [u8], kind: nom::error::ErrorKind) -> Self {
        let expected = match kind {
            nom::error::ErrorKind::Tag => "unexpected token",
            nom::error::ErrorKind::Digit => "expected a number",
            nom::error::ErrorKind::Eof => "unexpected end of command",
            _ => "syntax error",
        };
        ParseError {
            input,
            expected,
            specific: false,
        }
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        // Prefer the error that got furthest: it says more about the input.
        if other.input.len() < self.input.len() || (!self.specific && other.specific) {
            other
        } else {
            self
        }
    }
}

impl<'a> nom::error::ContextError<&'a [u8]> for ParseError<'a> {
    fn add_context(input: &'a [u8], ctx: &'static str, other: Self) -> Self {
        if other.specific {
            other
        } else {
            ParseError {
                input,
                expected: ctx,
                specific: true,
            }
        }
    }
}

impl<'a, E> nom::error::FromExternalError<&'a [u8], E> for ParseError<'a> {
    fn from_external_error(input: &'a [u8], _kind: nom::error::ErrorKind, _e: E) -> Self {
        ParseError::new(input, "invalid value")
    }
}

/// An owned parse failure: byte offset into the parsed buffer and what was
/// expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    /// Offset from the start of the command or response.
    pub offset: usize,
    /// What was expected.
    pub expected: &'static str,
}

impl fmt::Display for ParseFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.expected, self.offset)
    }
}

impl std::error::Error for ParseFailure {}
