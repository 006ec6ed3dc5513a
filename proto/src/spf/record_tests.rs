use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn parse(s: &str) -> Result<Record, ParseError> {
    Record::parse(s.as_bytes())
}

fn kind(s: &str) -> ParseErrorKind {
    parse(s).unwrap_err().kind
}

fn ms(s: &str) -> MacroString {
    MacroString::parse(s, false).unwrap()
}

#[test]
fn record_selection() {
    assert!(is_spf_record(b"v=spf1"));
    assert!(is_spf_record(b"V=SpF1 -all"));
    assert!(!is_spf_record(b"v=spf10"));
    assert!(!is_spf_record(b"v=spf1-all"));
    assert!(!is_spf_record(b" v=spf1"));
    assert!(!is_spf_record(b"v=spf"));
}

#[test]
fn every_mechanism_and_modifier() {
    let r = parse(
        "v=spf1 +all -include:_spf.example.com ~a ?a:mail.example.com/24//64 mx/30 \
         mx:%{d}//48 ptr ptr:example.org ip4:192.0.2.0/24 ip6:2001:db8::/32 \
         exists:%{ir}.bl.example redirect=_spf.example.net exp=exp.%{d} x-custom=%{l}  ",
    )
    .unwrap();
    let mechs: Vec<(Qualifier, Mechanism)> = r
        .directives
        .iter()
        .map(|d| (d.qualifier, d.mechanism.clone()))
        .collect();
    assert_eq!(
        mechs,
        vec![
            (Qualifier::Pass, Mechanism::All),
            (Qualifier::Fail, Mechanism::Include(ms("_spf.example.com"))),
            (
                Qualifier::SoftFail,
                Mechanism::A {
                    domain: None,
                    cidr: DualCidr { v4: 32, v6: 128 }
                }
            ),
            (
                Qualifier::Neutral,
                Mechanism::A {
                    domain: Some(ms("mail.example.com")),
                    cidr: DualCidr { v4: 24, v6: 64 }
                }
            ),
            (
                Qualifier::Pass,
                Mechanism::Mx {
                    domain: None,
                    cidr: DualCidr { v4: 30, v6: 128 }
                }
            ),
            (
                Qualifier::Pass,
                Mechanism::Mx {
                    domain: Some(ms("%{d}")),
                    cidr: DualCidr { v4: 32, v6: 48 }
                }
            ),
            (Qualifier::Pass, Mechanism::Ptr(None)),
            (Qualifier::Pass, Mechanism::Ptr(Some(ms("example.org")))),
            (
                Qualifier::Pass,
                Mechanism::Ip4 {
                    addr: Ipv4Addr::new(192, 0, 2, 0),
                    prefix: 24
                }
            ),
            (
                Qualifier::Pass,
                Mechanism::Ip6 {
                    addr: "2001:db8::".parse::<Ipv6Addr>().unwrap(),
                    prefix: 32
                }
            ),
            (Qualifier::Pass, Mechanism::Exists(ms("%{ir}.bl.example"))),
        ]
    );
    assert_eq!(r.directives[3].text, "?a:mail.example.com/24//64");
    assert_eq!(r.redirect, Some(ms("_spf.example.net")));
    assert_eq!(r.exp, Some(ms("exp.%{d}")));
    assert_eq!(r.unknown, vec![("x-custom".to_string(), ms("%{l}"))]);
}

#[test]
fn domain_spec_may_hold_colons_and_slashes() {
    let r = parse("v=spf1 a:foo:bar/baz.example.com mx:example.com/24").unwrap();
    assert_eq!(
        r.directives[0].mechanism,
        Mechanism::A {
            domain: Some(ms("foo:bar/baz.example.com")),
            cidr: DualCidr::default()
        }
    );
    assert_eq!(
        r.directives[1].mechanism,
        Mechanism::Mx {
            domain: Some(ms("example.com")),
            cidr: DualCidr { v4: 24, v6: 128 }
        }
    );
    // Trailing dot, and a macro as the domain end.
    assert!(parse("v=spf1 include:o.spf.example.com. redirect=%{d}.d.spf.example.com.").is_ok());
    assert!(parse("v=spf1 a:%{H}").is_ok());
    assert!(parse("v=spf1 a:foo.example.xn--zckzah").is_ok());
}

#[test]
fn syntax_errors_name_the_term() {
    let e = parse("v=spf1 ip4:1.2.3.4 a:foo-bar -all").unwrap_err();
    assert_eq!(e.position, 19);
    assert_eq!(e.term, "a:foo-bar");
    assert_eq!(e.kind, ParseErrorKind::BadDomainEnd);
    assert_eq!(
        e.to_string(),
        "term \"a:foo-bar\" at byte 19: domain must end in a macro or a \".\" and a top-level \
         label (letters, digits, inner dashes, not all digits)"
    );
    let e = parse("v=spf1 -all moo").unwrap_err();
    assert_eq!((e.position, e.term.as_str()), (12, "moo"));
    assert_eq!(e.kind, ParseErrorKind::UnknownMechanism("moo".into()));
    assert_eq!(kind("v=spf2 -all"), ParseErrorKind::NoVersion);
}

#[test]
fn rfc7208_grammar_violations() {
    use ParseErrorKind as K;
    assert_eq!(kind("v=spf1 -all."), K::UnknownMechanism("all.".into()));
    assert_eq!(kind("v=spf1 -all:foo"), K::AllArgument);
    assert_eq!(kind("v=spf1 -all/8"), K::AllArgument);
    assert_eq!(kind("v=spf1 include"), K::MissingDomain);
    assert_eq!(kind("v=spf1 include:"), K::EmptyDomain);
    assert_eq!(kind("v=spf1 include:x.example.com/24"), K::BadDomainEnd);
    assert_eq!(kind("v=spf1 exists"), K::MissingDomain);
    assert_eq!(kind("v=spf1 ptr/0"), K::UnexpectedCidr);
    assert_eq!(kind("v=spf1 ptr:"), K::EmptyDomain);
    assert_eq!(kind("v=spf1 a/33"), K::BadCidr("/33".into()));
    assert_eq!(kind("v=spf1 a//129"), K::BadCidr("/129".into()));
    assert_eq!(kind("v=spf1 a/24/64"), K::BadCidr("/64".into()));
    assert_eq!(kind("v=spf1 ip4:1.2.3.4/032"), K::BadCidr("/032".into()));
    assert_eq!(kind("v=spf1 ip4:1.2.3.4//32"), K::BadCidr("//32".into()));
    assert_eq!(kind("v=spf1 ip4:1.2.3"), K::BadIp4("1.2.3".into()));
    assert_eq!(
        kind("v=spf1 ip4:1.2.3.4:8080"),
        K::BadIp4("1.2.3.4:8080".into())
    );
    assert_eq!(kind("v=spf1 ip4"), K::MissingDomain);
    assert_eq!(
        kind("v=spf1 ip6::CAFE::BABE"),
        K::BadIp6(":CAFE::BABE".into())
    );
    assert_eq!(kind("v=spf1 ip6:::1/129"), K::BadCidr("/129".into()));
    assert_eq!(kind("v=spf1 a:museum"), K::BadDomainEnd);
    assert_eq!(kind("v=spf1 a:museum."), K::BadDomainEnd);
    assert_eq!(kind("v=spf1 a:abc.123"), K::BadDomainEnd);
    assert_eq!(kind("v=spf1 a:example.-com"), K::BadDomainEnd);
    assert_eq!(kind("v=spf1 a:example.com:8080"), K::BadDomainEnd);
    assert_eq!(
        kind("v=spf1 redirect:x.example.com"),
        K::UnknownMechanism("redirect".into())
    );
    assert_eq!(
        kind("v=spf1 redirect=a.example redirect=a.example"),
        K::DuplicateModifier("redirect")
    );
    assert_eq!(
        kind("v=spf1 exp=a.example exp=b.example"),
        K::DuplicateModifier("exp")
    );
    assert_eq!(kind("v=spf1 exp="), K::EmptyDomain);
    assert_eq!(kind("v=spf1 redirect=-all"), K::BadDomainEnd);
    assert_eq!(
        kind("v=spf1 1up=foo"),
        K::UnknownMechanism("1up=foo".into())
    );
    assert_eq!(kind("v=spf1 =all"), K::UnknownMechanism("=all".into()));
    assert_eq!(
        kind("v=spf1 moo.cow/far_out=man:dog/cat"),
        K::UnknownMechanism("moo.cow".into())
    );
    assert_eq!(kind("v=spf1 foo=%abc"), K::Macro(MacroError::BadPercent(0)));
    assert_eq!(
        kind("v=spf1 exp=%{r}.example.com"),
        K::Macro(MacroError::BadLetter('r', 0))
    );
    assert_eq!(kind("v=spf1 a:ctrl.example.com\rptr"), K::BadByte(b'\r'));
    assert_eq!(kind("v=spf1 a:foo.example.com\0"), K::BadByte(0));
    assert_eq!(kind("v=spf1 \u{80}a:example.net"), K::BadByte(0xc2));
    // Unknown modifiers are fine, even repeated.
    assert!(parse("v=spf1 moo.cow-far_out=man:dog/cat default=pass default=+ ip4:1.2.3.4").is_ok());
}
