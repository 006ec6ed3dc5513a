//! Inbound sender authentication end to end: `moxide localserve` with
//! `resolver = [...]` in moxide.toml, a nameserver on 127.0.0.1 written
//! here (it answers from a `moxide_proto::dns::Zone` holding the SPF, DKIM
//! and DMARC records of the test domains, encoded with hickory-proto), and
//! an SMTP client on port `smtp_port` connecting from 127.0.0.1:
//! a signed message from a domain whose SPF allows 127.0.0.1 gets
//! `spf=pass dkim=pass dmarc=pass` in Authentication-Results; a message
//! from a `p=reject` domain whose SPF does not allow 127.0.0.1 is refused
//! with 550 5.7.1 and not stored.

#[path = "common/cli.rs"]
mod cli;
mod common;
#[path = "common/smtp_reply.rs"]
mod smtp_reply;

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR, TXT};
use hickory_proto::rr::{Name, RData, Record};
use moxide_proto::dkim::{PrivateKey, Signer, SignerSelector};
use moxide_proto::dns::{Lookup, Query, Rdata, RecordType, Zone};

use cli::{BIN, run_moxide};
use common::{Server, free_ports};
use smtp_reply::read_reply;

const SEED: [u8; 32] = [9; 32];

/// Serves `zone` over UDP on 127.0.0.1 (a thread, for the test's life).
fn nameserver(zone: Zone) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = sock.recv_from(&mut buf) {
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(question) = q.queries.first().cloned() else {
                continue;
            };
            let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
            m.metadata.recursion_desired = true;
            m.metadata.recursion_available = true;
            m.add_query(question.clone());
            let name = question.name().to_ascii();
            let rtype = RecordType::from_name(&question.query_type().to_string());
            if let Some(rtype) = rtype {
                match zone.answer(&Query::new(
                    name.trim_end_matches('.').to_ascii_lowercase(),
                    rtype,
                )) {
                    Lookup::Records(r) => {
                        for d in r.data {
                            m.add_answer(Record::from_rdata(question.name().clone(), 60, rdata(d)));
                        }
                    }
                    Lookup::NxDomain { .. } => m.metadata.response_code = ResponseCode::NXDomain,
                    Lookup::NoData { .. } => {}
                    Lookup::Failed(_) => m.metadata.response_code = ResponseCode::ServFail,
                }
            }
            let _ = sock.send_to(&m.to_vec().unwrap(), peer);
        }
    });
    addr
}

fn rdata(d: Rdata) -> RData {
    let name = |s: &str| Name::from_ascii(format!("{s}.")).unwrap();
    match d {
        Rdata::A(a) => RData::A(A(a)),
        Rdata::Aaaa(a) => RData::AAAA(AAAA(a)),
        Rdata::Mx {
            preference,
            exchange,
        } => RData::MX(MX::new(preference, name(&exchange))),
        Rdata::Txt(parts) => RData::TXT(TXT::from_bytes(
            parts.iter().map(|p| p.as_slice()).collect(),
        )),
        Rdata::Ptr(p) => RData::PTR(PTR(name(&p))),
        Rdata::Cname(c) => RData::CNAME(CNAME(name(&c))),
        other => panic!("the test zone has no {other:?}"),
    }
}

fn zone() -> Zone {
    let key = PrivateKey::ed25519_from_seed(&SEED).unwrap();
    let mut z = Zone::parse(
        "1.0.0.127.in-addr.arpa PTR mail.good.test\n\
         mail.good.test A 127.0.0.1\n\
         good.test TXT \"v=spf1 ip4:127.0.0.1 -all\"\n\
         _dmarc.good.test TXT \"v=DMARC1; p=reject\"\n\
         evil.test TXT \"v=spf1 -all\"\n\
         _dmarc.evil.test TXT \"v=DMARC1; p=reject\"\n",
    )
    .unwrap();
    z.add_txt("sel._domainkey.good.test", &key.dns_record());
    z
}

/// Sends one message over SMTP to `port`; returns the DATA reply.
fn send(port: u16, from: &str, message: &str) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut r = BufReader::new(tcp.try_clone().unwrap());
    assert!(read_reply(&mut r).starts_with("220 "));
    for (cmd, want) in [
        ("EHLO mail.good.test\r\n".to_string(), "250"),
        (format!("MAIL FROM:<{from}>\r\n"), "250"),
        ("RCPT TO:<mox@localhost>\r\n".to_string(), "250"),
        ("DATA\r\n".to_string(), "354"),
    ] {
        tcp.write_all(cmd.as_bytes()).unwrap();
        let got = read_reply(&mut r);
        assert!(got.starts_with(want), "{cmd:?}: {got}");
    }
    tcp.write_all(format!("{message}.\r\n").as_bytes()).unwrap();
    let got = read_reply(&mut r);
    tcp.write_all(b"QUIT\r\n").unwrap();
    got
}

const GOOD: &str = "From: <alice@good.test>\r\nTo: <mox@localhost>\r\nSubject: checked\r\nMessage-ID: <e2e-1@good.test>\r\n\r\nhello\r\n";
const EVIL: &str =
    "From: <ceo@evil.test>\r\nTo: <mox@localhost>\r\nSubject: wire money\r\n\r\nnow\r\n";

#[test]
fn localserve_checks_spf_dkim_dmarc_on_port_25() {
    let ns = nameserver(zone());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("moxide.toml"),
        format!(
            "ips = [\"127.0.0.1\", \"::1\"]\nimap_port = 1143\nimaps_port = 1993\nresolver = [\"{ns}\"]\n"
        ),
    )
    .unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);

    let key = PrivateKey::ed25519_from_seed(&SEED).unwrap();
    let signer = Signer::new(vec![SignerSelector::new("good.test", "sel", key)]);
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sig = signer
        .sign(GOOD.as_bytes(), unix, &ring::rand::SystemRandom::new())
        .unwrap();
    let signed = format!("{sig}{GOOD}");
    let r = send(server.smtp, "alice@good.test", &signed);
    assert!(r.starts_with("250 2.0.0 message accepted"), "{r}");
    let r = send(server.smtp, "ceo@evil.test", EVIL);
    assert_eq!(
        r,
        "550 5.7.1 rejecting message: DMARC policy of evil.test (p=reject): no aligned SPF or DKIM pass\r\n"
    );

    let (status, stderr) = server.interrupt();
    assert!(status.success(), "{status}: {stderr}");
    let (store, _) = moxide::localserve::open_store(dir.path()).unwrap();
    let acct = store.account("mox").unwrap();
    let inbox = acct.mailbox("Inbox").unwrap();
    let msgs = acct.messages_in(inbox.id, 1..=u32::MAX).unwrap();
    assert_eq!(msgs.len(), 1, "only the good message is stored");
    let stored = String::from_utf8(acct.read_message(&msgs[0]).unwrap()).unwrap();
    let unfolded = stored.replace("\r\n\t", " ");
    assert!(
        unfolded.starts_with(
            "Authentication-Results: localhost; iprev=pass (mail.good.test) policy.iprev=127.0.0.1;"
        ),
        "{stored}"
    );
    for want in [
        "spf=pass smtp.mailfrom=alice@good.test;",
        "dkim=pass header.d=good.test header.s=sel header.a=ed25519-sha256",
        "dmarc=pass (p=reject dis=none) header.from=good.test\r\n",
        "\r\nReceived-SPF: pass (localhost: domain of alice@good.test designates 127.0.0.1 as permitted sender)",
    ] {
        assert!(unfolded.contains(want), "missing {want:?} in {stored}");
    }
    assert!(stored.ends_with(&signed));
}

/// (exit code, -1 for a signal; stdout then stderr) of `moxide ARGS`
/// with `stdin`.
fn cli(args: &[&str], stdin: &str) -> (i32, String) {
    let out = run_moxide(args, stdin.as_bytes());
    (out.code.unwrap_or(-1), out.stdout + &out.stderr)
}

#[test]
fn dmarc_lookup_and_verify_commands() {
    let ns = nameserver(zone()).to_string();
    let (code, out) = cli(
        &["dmarc", "lookup", "mail.good.test", "--resolver", &ns],
        "",
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        "organizational domain: good.test\n\
         _dmarc.mail.good.test: NXDOMAIN\n\
         _dmarc.good.test: TXT \"v=DMARC1; p=reject\"\n\
         record: v=DMARC1; p=reject; adkim=r; aspf=r; pct=100; fo=0; rf=afrf; ri=86400\n\
         applies to mail.good.test as a subdomain: policy reject\n"
    );
    let (code, out) = cli(&["dmarc", "lookup", "nothing.test", "--resolver", &ns], "");
    assert_eq!(
        (code, out.as_str()),
        (
            1,
            "organizational domain: nothing.test\n_dmarc.nothing.test: NXDOMAIN\nno DMARC record applies\n"
        )
    );

    let (code, out) = cli(
        &[
            "dmarc",
            "verify",
            "127.0.0.1",
            "ceo@evil.test",
            "mail.good.test",
            "--resolver",
            &ns,
        ],
        EVIL,
    );
    assert_eq!(code, 1, "{out}");
    let unfolded = out.replace("\r\n\t", " ");
    assert!(
        unfolded.contains("spf=fail smtp.mailfrom=ceo@evil.test"),
        "{out}"
    );
    assert!(
        unfolded.contains("dmarc=fail (p=reject dis=reject) header.from=evil.test"),
        "{out}"
    );
    assert!(out.ends_with("verdict: refused: 550 5.7.1 rejecting message: DMARC policy of evil.test (p=reject): no aligned SPF or DKIM pass\n"), "{out}");

    let (code, out) = cli(
        &[
            "dmarc",
            "verify",
            "127.0.0.1",
            "alice@good.test",
            "mail.good.test",
            "--resolver",
            &ns,
        ],
        GOOD,
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.replace("\r\n\t", " ")
            .contains("dmarc=pass (p=reject dis=none) header.from=good.test"),
        "{out}"
    );
    assert!(out.ends_with("verdict: delivered to the Inbox\n"), "{out}");
}
