use super::*;
use crate::dns::{Evaluate, LookupId, Poll, run};

fn q(name: &str, rtype: RecordType) -> Query {
    Query::new(name, rtype)
}

const TEXT: &str = r#"
# a small zone
example.com       TXT   "v=spf1 " "mx -all"
example.com       MX    10 Mail.Example.com.
mail.example.com  A     192.0.2.1
mail.example.com  AAAA  2001:db8::1
www.example.com   CNAME example.com
loop1.example     CNAME loop2.example
loop2.example     CNAME loop1.example
*.wild.example    TXT   unquoted text with "quotes" # comment
deep.sub.nt.example A   192.0.2.9
slow.example      TXT   !timeout
down.example      *     !servfail
_25._tcp.mail.example.com TLSA 3 1 1 00ff10
esc.example       TXT   "a\"b\\c\065"
insecure example.org
ins.example.org   A     192.0.2.2
"#;

fn zone() -> Zone {
    Zone::parse(TEXT).unwrap()
}

#[test]
fn records_and_multi_string_txt() {
    let z = zone();
    let Lookup::Records(r) = z.answer(&q("EXAMPLE.com.", RecordType::Txt)) else {
        panic!()
    };
    assert_eq!(r.canonical, "example.com");
    assert_eq!(
        r.data,
        vec![Rdata::Txt(vec![b"v=spf1 ".to_vec(), b"mx -all".to_vec()])]
    );
    assert_eq!(r.data[0].txt_joined().unwrap(), b"v=spf1 mx -all");
    assert!(r.authentic);
    assert_eq!(
        z.answer(&q("example.com", RecordType::Mx)).data(),
        &[Rdata::Mx {
            preference: 10,
            exchange: "mail.example.com".into()
        }]
    );
    assert_eq!(
        z.answer(&q("_25._tcp.mail.example.com", RecordType::Tlsa))
            .data(),
        &[Rdata::Tlsa {
            usage: 3,
            selector: 1,
            matching: 1,
            data: vec![0, 0xff, 0x10]
        }]
    );
    assert_eq!(
        z.answer(&q("esc.example", RecordType::Txt)).data(),
        &[Rdata::Txt(vec![b"a\"b\\cA".to_vec()])]
    );
}

#[test]
fn nxdomain_nodata_and_empty_non_terminal() {
    let z = zone();
    assert_eq!(
        z.answer(&q("nope.example.com", RecordType::A)),
        Lookup::NxDomain { authentic: true }
    );
    assert_eq!(
        z.answer(&q("mail.example.com", RecordType::Txt)),
        Lookup::NoData { authentic: true }
    );
    // sub.nt.example has no records but a descendant: it exists (RFC 8020).
    assert_eq!(
        z.answer(&q("sub.nt.example", RecordType::A)),
        Lookup::NoData { authentic: true }
    );
    assert!(z.answer(&q("sub.nt.example", RecordType::A)).is_void());
}

#[test]
fn cname_chasing_and_loops() {
    let z = zone();
    let Lookup::Records(r) = z.answer(&q("www.example.com", RecordType::Mx)) else {
        panic!()
    };
    assert_eq!(r.canonical, "example.com");
    assert_eq!(
        z.answer(&q("www.example.com", RecordType::Cname)).data(),
        &[Rdata::Cname("example.com".into())]
    );
    assert_eq!(
        z.answer(&q("loop1.example", RecordType::A)),
        Lookup::Failed(Failure::CnameLoop)
    );
}

#[test]
fn wildcards_at_the_closest_encloser_only() {
    let z = zone();
    assert_eq!(
        z.answer(&q("anything.wild.example", RecordType::Txt))
            .data(),
        &[Rdata::Txt(vec![b"unquoted text with \"quotes\"".to_vec()])]
    );
    assert_eq!(
        z.answer(&q("anything.wild.example", RecordType::A)),
        Lookup::NoData { authentic: true }
    );
    assert!(z.answer(&q("wild.example", RecordType::Txt)).is_void());
}

#[test]
fn failures_and_insecure_names() {
    let z = zone();
    assert_eq!(
        z.answer(&q("slow.example", RecordType::Txt)),
        Lookup::Failed(Failure::Timeout)
    );
    assert_eq!(
        z.answer(&q("slow.example", RecordType::A)),
        Lookup::NoData { authentic: true }
    );
    assert_eq!(
        z.answer(&q("down.example", RecordType::Mx)),
        Lookup::Failed(Failure::ServFail)
    );
    let a = z.answer(&q("ins.example.org", RecordType::A));
    assert_eq!(a.data(), &[Rdata::A("192.0.2.2".parse().unwrap())]);
    assert!(!a.authentic());
    assert_eq!(
        z.answer(&q("x.example.org", RecordType::A)),
        Lookup::NxDomain { authentic: false }
    );
}

#[test]
fn bad_lines_name_their_line() {
    let e = Zone::parse("a.example A 1.2.3\n").unwrap_err();
    assert_eq!(e.line, 1);
    let e = Zone::parse("# c\na.example BOGUS x\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("BOGUS"), "{e}");
    assert!(Zone::parse("a.example TXT \"open\n").is_err());
    assert!(Zone::parse("a.example TLSA 3 1 1 abc\n").is_err());
    assert!(Zone::parse("a.example MX mail.example\n").is_err());
}

/// A toy evaluator: looks up TXT at a name, then A at the name the TXT holds.
struct Chain {
    step: u8,
    target: Option<String>,
    out: Option<String>,
}

impl Evaluate for Chain {
    type Output = String;
    fn poll(&mut self, _now: std::time::Instant) -> Poll<String> {
        if let Some(o) = &self.out {
            return Poll::Ready(o.clone());
        }
        match (self.step, &self.target) {
            (0, _) => {
                self.step = 1;
                Poll::Lookup(LookupId(1), q("ptr.example", RecordType::Txt))
            }
            (1, Some(t)) => {
                self.step = 2;
                Poll::Lookup(LookupId(2), q(t, RecordType::A))
            }
            _ => Poll::Pending,
        }
    }
    fn handle_answer(&mut self, _now: std::time::Instant, id: LookupId, answer: Lookup) {
        match id.0 {
            1 => match answer.data().first().and_then(Rdata::txt_joined) {
                Some(t) => self.target = Some(String::from_utf8_lossy(&t).into_owned()),
                None => self.out = Some("none".into()),
            },
            _ => self.out = Some(format!("{:?}", answer.data())),
        }
    }
    fn deadline(&self) -> Option<std::time::Instant> {
        None
    }
}

#[test]
fn run_answers_from_the_zone_in_order() {
    let mut z = Zone::new();
    z.add_txt("ptr.example", "host.example")
        .add("host.example", Rdata::A("192.0.2.7".parse().unwrap()));
    let mut ev = Chain {
        step: 0,
        target: None,
        out: None,
    };
    let (out, asked) = run(&mut ev, &z, std::time::Instant::now());
    assert_eq!(out, "[A(192.0.2.7)]");
    assert_eq!(
        asked,
        vec![
            q("ptr.example", RecordType::Txt),
            q("host.example", RecordType::A)
        ]
    );
}
