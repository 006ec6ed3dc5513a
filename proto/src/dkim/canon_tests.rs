use super::*;

fn body(b: &[u8], canon: Canon) -> Vec<u8> {
    let mut out = Vec::new();
    canonical_body(b, canon, &mut |p| out.extend_from_slice(p));
    out
}

fn relaxed(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    canonical_header_relaxed(field, true, &mut out);
    out
}

#[test]
fn rfc6376_3_4_5_example() {
    // RFC 6376 3.4.5: "A: <SP> X <CRLF>" / "B <SP> : <SP> <HTAB> Y <HTAB><CRLF>
    // <HTAB> Z <SP><SP><CRLF>" with body " C <SP><CRLF> D <SP><HTAB><SP> E
    // <CRLF> <CRLF> <CRLF>".
    assert_eq!(relaxed(b"A: X\r\n"), b"a:X\r\n");
    assert_eq!(relaxed(b"B : Y\t\r\n\tZ  \r\n"), b"b:Y Z\r\n");
    let mut simple = Vec::new();
    canonical_header_simple(b"B : Y\t\r\n\tZ  \r\n", &mut simple);
    assert_eq!(simple, b"B : Y\t\r\n\tZ  \r\n");
    let b = b" C \r\nD \t E\r\n\r\n\r\n";
    assert_eq!(body(b, Canon::Relaxed), b" C\r\nD E\r\n");
    assert_eq!(body(b, Canon::Simple), b" C \r\nD \t E\r\n");
}

#[test]
fn relaxed_header_rules() {
    // Name lower-cased, WSP before the colon removed.
    assert_eq!(relaxed(b"SUBJect \t: hi\r\n"), b"subject:hi\r\n");
    // Leading WSP of the value removed, inner runs one space, trailing gone.
    assert_eq!(relaxed(b"To:\t a  \t b \r\n"), b"to:a b\r\n");
    // Unfolding joins continuation lines with one space.
    assert_eq!(
        relaxed(b"X: one\r\n two\r\n\t three\r\n"),
        b"x:one two three\r\n"
    );
    // An empty value stays empty.
    assert_eq!(relaxed(b"Empty:  \r\n"), b"empty:\r\n");
    // Without the final CRLF (the DKIM-Signature header itself).
    let mut out = Vec::new();
    canonical_header_relaxed(b"DKIM-Signature: v=1; b=", false, &mut out);
    assert_eq!(out, b"dkim-signature:v=1; b=");
}

#[test]
fn simple_body_rules() {
    // Trailing empty lines go; one CRLF remains.
    assert_eq!(body(b"a\r\n\r\n\r\n", Canon::Simple), b"a\r\n");
    // A missing final CRLF is added.
    assert_eq!(body(b"a\r\nb", Canon::Simple), b"a\r\nb\r\n");
    // An empty body is one CRLF (RFC 6376 3.4.3).
    assert_eq!(body(b"", Canon::Simple), b"\r\n");
    assert_eq!(body(b"\r\n\r\n", Canon::Simple), b"\r\n");
    // A line of spaces is not empty in simple.
    assert_eq!(body(b"a\r\n \r\n", Canon::Simple), b"a\r\n \r\n");
    // Inner empty lines and whitespace are kept.
    assert_eq!(
        body(b"a  b\r\n\r\nc\r\n", Canon::Simple),
        b"a  b\r\n\r\nc\r\n"
    );
}

#[test]
fn relaxed_body_rules() {
    // An empty body stays empty (RFC 6376 3.4.4, errata 1384).
    assert_eq!(body(b"", Canon::Relaxed), b"");
    assert_eq!(body(b"\r\n\r\n", Canon::Relaxed), b"");
    // Whitespace-only lines at the end are empty lines, removed.
    assert_eq!(body(b"a\r\n \t\r\n\r\n", Canon::Relaxed), b"a\r\n");
    // Whitespace-only lines inside stay as empty lines.
    assert_eq!(body(b"a\r\n \r\nb\r\n", Canon::Relaxed), b"a\r\n\r\nb\r\n");
    // A missing final CRLF is added to a non-empty body.
    assert_eq!(body(b"a", Canon::Relaxed), b"a\r\n");
    // Leading WSP becomes one space; tabs become spaces.
    assert_eq!(body(b"\t\ta\tb  c \r\n", Canon::Relaxed), b" a b c\r\n");
    // Bare CR and LF are ordinary bytes inside a line.
    assert_eq!(body(b"a\nb\rc\r\n", Canon::Relaxed), b"a\nb\rc\r\n");
}

#[test]
fn body_hash_empty_bodies() {
    // RFC 6376 3.4.3/3.4.4: the known hashes of the empty body.
    use base64::Engine;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let simple = body_hash(b"", Canon::Simple, HashAlgorithm::Sha256, None);
    assert_eq!(
        b64(&simple.digest),
        "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="
    );
    assert_eq!(simple.canonical_len, 2);
    let relaxed = body_hash(b"", Canon::Relaxed, HashAlgorithm::Sha256, None);
    assert_eq!(
        b64(&relaxed.digest),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
    assert_eq!(relaxed.canonical_len, 0);
    let sha1 = body_hash(b"", Canon::Simple, HashAlgorithm::Sha1, None);
    assert_eq!(b64(&sha1.digest), "uoq1oCgLlTqpdDX/iUbLy7J1Wic=");
}

#[test]
fn body_hash_with_length() {
    // l=3 hashes "abc" of "abc\r\nd\r\n"; the canonical length is still 8.
    let h = body_hash(
        b"abc\r\nd\r\n",
        Canon::Simple,
        HashAlgorithm::Sha256,
        Some(3),
    );
    let expect = ring::digest::digest(&ring::digest::SHA256, b"abc");
    assert_eq!(h.digest, expect.as_ref());
    assert_eq!(h.canonical_len, 8);
    // A limit over the length hashes everything.
    let all = body_hash(
        b"abc\r\nd\r\n",
        Canon::Simple,
        HashAlgorithm::Sha256,
        Some(100),
    );
    let expect = ring::digest::digest(&ring::digest::SHA256, b"abc\r\nd\r\n");
    assert_eq!(all.digest, expect.as_ref());
    // l=0 hashes nothing.
    let none = body_hash(b"abc\r\n", Canon::Relaxed, HashAlgorithm::Sha256, Some(0));
    let expect = ring::digest::digest(&ring::digest::SHA256, b"");
    assert_eq!(none.digest, expect.as_ref());
}

/// RFC 6376 3.4.4 read literally: split into CRLF lines, fix each line,
/// drop trailing empty lines, end with CRLF unless empty.
fn relaxed_reference(body: &[u8]) -> Vec<u8> {
    let text: Vec<u8> = body.to_vec();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'\r' && text.get(i + 1) == Some(&b'\n') {
            lines.push(std::mem::take(&mut cur));
            i += 2;
        } else {
            cur.push(text[i]);
            i += 1;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    let fixed: Vec<Vec<u8>> = lines
        .into_iter()
        .map(|l| {
            let mut o: Vec<u8> = Vec::new();
            for &b in &l {
                let w = b == b' ' || b == b'\t';
                if w {
                    if o.last() != Some(&b' ') || o.is_empty() {
                        o.push(b' ');
                    }
                } else {
                    o.push(b);
                }
            }
            while o.last() == Some(&b' ') {
                o.pop();
            }
            o
        })
        .collect();
    let keep = fixed
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |p| p + 1);
    let mut out = Vec::new();
    for l in &fixed[..keep] {
        out.extend_from_slice(l);
        out.extend_from_slice(b"\r\n");
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
    #[test]
    fn relaxed_body_matches_reference(
        body in proptest::collection::vec(proptest::sample::select(vec![b'a', b' ', b'\t', b'\r', b'\n', b'x']), 0..200)
    ) {
        proptest::prop_assert_eq!(body_of(&body, Canon::Relaxed), relaxed_reference(&body));
    }

    #[test]
    fn simple_body_ends_in_one_crlf(
        body in proptest::collection::vec(proptest::sample::select(vec![b'a', b' ', b'\r', b'\n']), 0..100)
    ) {
        let out = body_of(&body, Canon::Simple);
        proptest::prop_assert!(out.ends_with(b"\r\n"));
        proptest::prop_assert!(out == b"\r\n" || !out.ends_with(b"\r\n\r\n"));
    }
}

fn body_of(b: &[u8], canon: Canon) -> Vec<u8> {
    body(b, canon)
}
