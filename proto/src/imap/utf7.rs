//! Modified UTF-7 for mailbox names (RFC 3501 5.1.3), used with IMAP4rev1
//! clients that have not enabled UTF-8.
//!
//! Printable ASCII except `&` stands for itself; `&` is `&-`; anything else is
//! UTF-16 in base64 with `,` for `/`, between `&` and `-`, without padding.
//! Decoding is strict: it refuses encodings another implementation would
//! write differently, so every name has exactly one wire form.

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Why a name is not valid modified UTF-7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utf7Error(&'static str);

impl fmt::Display for Utf7Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Utf7Error {}

/// Encodes UTF-8 text as modified UTF-7.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}

fn flush(out: &mut String, pending: &mut Vec<u16>) {
    if pending.is_empty() {
        return;
    }
    out.push('&');
    let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for k in 0..chars {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * k) & 63) as usize]));
        }
    }
    out.push('-');
    pending.clear();
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// Decodes modified UTF-7 to UTF-8 text.
pub fn decode(s: &str) -> Result<String, Utf7Error> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut prev_was_encoded = false;
    while i < b.len() {
        let c = b[i];
        if !(0x20..=0x7e).contains(&c) {
            return Err(Utf7Error("only printable ASCII is allowed"));
        }
        if c != b'&' {
            out.push(char::from(c));
            i += 1;
            prev_was_encoded = false;
            continue;
        }
        let end = b[i + 1..]
            .iter()
            .position(|&c| c == b'-')
            .ok_or(Utf7Error("'&' without closing '-'"))?
            + i
            + 1;
        let run = &b[i + 1..end];
        i = end + 1;
        if run.is_empty() {
            out.push('&');
            prev_was_encoded = false;
            continue;
        }
        if prev_was_encoded {
            return Err(Utf7Error("two encoded runs must be one"));
        }
        prev_was_encoded = true;
        let mut bits: u32 = 0;
        let mut nbits = 0;
        let mut units: Vec<u16> = Vec::new();
        for &c in run {
            let v = value(c).ok_or(Utf7Error("invalid character in encoded run"))?;
            bits = (bits << 6 | v) & 0xff_ffff;
            nbits += 6;
            if nbits >= 16 {
                nbits -= 16;
                units.push((bits >> nbits) as u16);
            }
        }
        if nbits >= 6 || bits & ((1 << nbits) - 1) != 0 {
            return Err(Utf7Error("encoded run has leftover bits"));
        }
        let decoded: String = char::decode_utf16(units.iter().copied())
            .collect::<Result<_, _>>()
            .map_err(|_| Utf7Error("invalid UTF-16 in encoded run"))?;
        if decoded.chars().any(|c| (' '..='~').contains(&c)) {
            return Err(Utf7Error("printable ASCII must not be encoded"));
        }
        out.push_str(&decoded);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // RFC 3501 5.1.3 example.
        assert_eq!(
            encode("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(
            decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-").unwrap(),
            "~peter/mail/台北/日本語"
        );
        assert_eq!(encode("a&b"), "a&-b");
        assert_eq!(decode("a&-b").unwrap(), "a&b");
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(encode("😀"), "&2D3eAA-");
        assert_eq!(decode("&2D3eAA-").unwrap(), "😀");
    }

    #[test]
    fn strict_decoding() {
        assert!(decode("&Jjo").is_err());
        assert!(decode("&Jj-").is_err()); // leftover bits
        assert!(decode("&AGE-").is_err()); // encodes "a"
        assert!(decode("&U,A-&U,A-").is_err());
        assert!(decode("é").is_err());
        assert!(decode("&2D0-").is_err()); // lone surrogate
    }

    proptest::proptest! {
        #[test]
        fn round_trip(s in "\\PC*") {
            proptest::prop_assert_eq!(decode(&encode(&s)).unwrap(), s);
        }
    }
}
