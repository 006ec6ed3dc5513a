use super::*;

fn ctx(ip: &str) -> MacroContext<'static> {
    MacroContext {
        sender: "strong-bad@email.example.com",
        local: "strong-bad",
        sender_domain: "email.example.com",
        domain: "email.example.com",
        ip: ip.parse().unwrap(),
        helo: "mx.example.org",
        validated: "mx.example.org",
        receiver: "rcv.example.net",
        timestamp: 1_700_000_000,
    }
}

fn expand(s: &str, ip: &str) -> String {
    MacroString::parse(s, true).unwrap().expand(&ctx(ip))
}

/// RFC 7208 7.4, the examples as listed.
#[test]
fn rfc7208_examples() {
    let ip4 = "192.0.2.3";
    for (m, want) in [
        ("%{s}", "strong-bad@email.example.com"),
        ("%{o}", "email.example.com"),
        ("%{d}", "email.example.com"),
        ("%{d4}", "email.example.com"),
        ("%{d3}", "email.example.com"),
        ("%{d2}", "example.com"),
        ("%{d1}", "com"),
        ("%{dr}", "com.example.email"),
        ("%{d2r}", "example.email"),
        ("%{l}", "strong-bad"),
        ("%{l-}", "strong.bad"),
        ("%{lr}", "strong-bad"),
        ("%{lr-}", "bad.strong"),
        ("%{l1r-}", "strong"),
        (
            "%{ir}.%{v}._spf.%{d2}",
            "3.2.0.192.in-addr._spf.example.com",
        ),
        ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
        (
            "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
            "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
        ),
        (
            "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
            "3.2.0.192.in-addr.strong.lp._spf.example.com",
        ),
        (
            "%{d2}.trusted-domains.example.net",
            "example.com.trusted-domains.example.net",
        ),
    ] {
        assert_eq!(expand(m, ip4), want, "{m}");
    }
    assert_eq!(
        expand("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
        "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
    );
}

#[test]
fn escapes_letters_and_url_encoding() {
    let ip = "192.0.2.3";
    assert_eq!(expand("%%%_%-", ip), "% %20");
    assert_eq!(
        expand("%{c} %{r} %{t} %{h} %{p}", ip),
        "192.0.2.3 rcv.example.net 1700000000 mx.example.org mx.example.org"
    );
    assert_eq!(expand("%{c}", "2001:DB8::CB01"), "2001:db8::cb01");
    assert_eq!(expand("%{v}", "2001:db8::1"), "ip6");
    let mut c = ctx(ip);
    c.local = "~jack&jill=up-a_b3.c";
    let m = MacroString::parse("%{L}", false).unwrap();
    assert_eq!(m.expand(&c), "~jack%26jill%3Dup-a_b3.c");
    assert_eq!(url_escape("a b/ü"), "a%20b%2F%C3%BC");
    // Several delimiters, and more parts asked for than there are.
    c.local = "foo-bar+zip+quux";
    let m = MacroString::parse("%{l2r+-}.%{l99}", false).unwrap();
    assert_eq!(m.expand(&c), "bar.foo.foo-bar+zip+quux");
}

#[test]
fn letters_only_where_allowed() {
    assert_eq!(
        MacroString::parse("%{c}", false),
        Err(MacroError::BadLetter('c', 0))
    );
    assert_eq!(
        MacroString::parse("a.%{t}", false),
        Err(MacroError::BadLetter('t', 2))
    );
    assert!(MacroString::parse("%{c} %{r} %{t}", true).is_ok());
    assert_eq!(
        MacroString::parse("%{a}", true),
        Err(MacroError::BadLetter('a', 0))
    );
    assert_eq!(
        MacroString::parse("x%{d0}", false),
        Err(MacroError::ZeroDigits(1))
    );
    assert_eq!(
        MacroString::parse("%{d2x}", false),
        Err(MacroError::BadTransformer('x', 0))
    );
    assert_eq!(
        MacroString::parse("%{d", false),
        Err(MacroError::Unterminated(0))
    );
    assert_eq!(
        MacroString::parse("foo%", false),
        Err(MacroError::BadPercent(3))
    );
    assert_eq!(
        MacroString::parse("%(ir)", false),
        Err(MacroError::BadPercent(0))
    );
    assert_eq!(
        MacroString::parse("a b", false),
        Err(MacroError::BadChar(1))
    );
    assert!(MacroString::parse("a b", true).is_ok());
    assert_eq!(MacroString::parse("é", true), Err(MacroError::BadChar(0)));
}

#[test]
fn domain_expansion_drops_the_dot_and_truncates_on_the_left() {
    let c = ctx("192.0.2.3");
    let m = MacroString::parse("%{d}.", false).unwrap();
    assert_eq!(m.expand_domain(&c), "email.example.com");
    assert_eq!(m.expand(&c), "email.example.com.");
    let label = "a".repeat(60);
    let long = format!("{label}.{label}.{label}.{label}.{label}.example.com");
    let m = MacroString::parse(&long, false).unwrap();
    let got = m.expand_domain(&c);
    // 316 octets; without one label still 255: two labels go.
    assert_eq!(got, format!("{label}.{label}.{label}.example.com"));
    assert!(got.len() <= 253);
}
