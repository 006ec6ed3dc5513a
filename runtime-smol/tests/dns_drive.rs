//! The drive loop answers a connection's `Need::Dns` through the process
//! resolver (`moxide::dns::shared`), also after the peer closed its side.
//! The nameserver is a minimal UDP responder on loopback written here (it
//! answers every A query with 192.0.2.77), so no Python is needed.

#[path = "common/need_line.rs"]
mod need_line;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use async_io::Async;
use moxide::dns::Resolver;
use moxide::serve;
use moxide_proto::conn::{Answer, Need};
use moxide_proto::dns::{Lookup, Query, RecordType};
use need_line::NeedLine;

/// Answers every query with one A record 192.0.2.77 (TTL 60): the question
/// is echoed, the EDNS OPT record (the query's last 11 bytes) dropped.
fn responder() -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = sock.recv_from(&mut buf) {
            let q = &buf[..n];
            let mut r = q[..n - 11].to_vec();
            r[2] = 0x81; // QR, RD
            r[3] = 0x80; // RA, NOERROR
            r[6..12].copy_from_slice(&[0, 1, 0, 0, 0, 0]); // AN 1, NS 0, AR 0
            // Name pointer to the question, A, IN, TTL 60, 4 bytes.
            r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 77]);
            let _ = sock.send_to(&r, peer);
        }
    });
    addr
}

/// A line protocol: each line is a name; the reply line is the name and
/// its A lookup. Closes after EOF once every lookup was answered.
fn dns_line() -> NeedLine {
    NeedLine::new(
        |name| Need::Dns(Query::new(name, RecordType::A)),
        |answer| match answer {
            Answer::Dns(Lookup::Records(r)) => format!("{:?}", r.data),
            other => format!("{other:?}"),
        },
    )
}

#[test]
fn need_dns_is_answered_by_the_shared_resolver() {
    let ns = responder();
    moxide::dns::install_shared(Resolver::with_servers(vec![ns])).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (stream, _) = listener.accept().unwrap();
            smol::block_on(async {
                let stream = Async::new(stream).unwrap();
                let (_tx, rx) = smol::channel::bounded::<()>(1);
                serve::drive(Box::new(dns_line()), stream, &rx)
                    .await
                    .unwrap();
            });
        }
    });
    let deadline = Duration::from_secs(10);

    // Two lookups on one connection, answered in turn.
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(deadline)).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    c.write_all(b"one.test\n").unwrap();
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "one.test [A(192.0.2.77)]\r\n");
    c.write_all(b"two.test\n").unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert_eq!(line, "two.test [A(192.0.2.77)]\r\n");
    drop((c, r));

    // The client closes its side right after asking: the answer still
    // comes, then the connection closes.
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(deadline)).unwrap();
    c.write_all(b"three.test\n").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut all = String::new();
    c.read_to_string(&mut all).unwrap();
    assert_eq!(all, "three.test [A(192.0.2.77)]\r\n");
    server.join().unwrap();
}
