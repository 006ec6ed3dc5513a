// The IDLE cases shared by both runtimes' tests; included by tests/idle.rs
// of each crate, which defines BIN and mod common.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{Server, client_config, free_ports, read_line, tls};

/// Reads lines until the one starting with `tag`, which it returns.
fn until_tagged(r: &mut impl std::io::Read, tag: &str) -> String {
    loop {
        let line = read_line(r);
        if line.starts_with(tag) {
            return line;
        }
    }
}

#[test]
fn idle_hears_an_append_from_another_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);

    // The idler, over IMAPS.
    let tcp = TcpStream::connect(("127.0.0.1", server.imaps)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (mut a, _) = tls(client_config(dir.path()), tcp);
    read_line(&mut a);
    a.write_all(b"a1 LOGIN mox@localhost moxmoxmox\r\na2 SELECT INBOX\r\n")
        .unwrap();
    assert!(until_tagged(&mut a, "a1 ").starts_with("a1 OK "));
    assert!(until_tagged(&mut a, "a2 ").starts_with("a2 OK "));
    a.write_all(b"a3 IDLE\r\n").unwrap();
    assert!(read_line(&mut a).starts_with("+ "));

    // Another connection appends, over plain IMAP on loopback.
    let mut b = TcpStream::connect(("127.0.0.1", server.imap)).unwrap();
    b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    read_line(&mut b);
    let msg = b"Subject: idle\r\n\r\nwake up\r\n";
    let append = format!(
        "b1 LOGIN mox@localhost moxmoxmox\r\nb2 APPEND INBOX {{{}+}}\r\n",
        msg.len()
    );
    b.write_all(append.as_bytes()).unwrap();
    b.write_all(msg).unwrap();
    b.write_all(b"\r\n").unwrap();
    assert!(until_tagged(&mut b, "b1 ").starts_with("b1 OK "));
    assert!(until_tagged(&mut b, "b2 ").starts_with("b2 OK "));

    // The idler hears of it without sending anything (RFC 2177).
    assert_eq!(read_line(&mut a), "* 1 EXISTS\r\n");
    a.write_all(b"DONE\r\n").unwrap();
    assert!(until_tagged(&mut a, "a3 ").starts_with("a3 OK "));
}
