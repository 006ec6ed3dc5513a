// The STARTTLS cases shared by both runtimes' tests; included by
// tests/starttls.rs of each crate, which defines BIN and mod common.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{Server, client_config, free_ports, read_line, tls};

#[test]
fn commands_sent_with_starttls_are_not_run_inside_tls() {
    // RFC 3207 5 / RFC 9051 11.1: what follows STARTTLS in the same
    // packet was not protected and must be discarded, not executed.
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = free_ports();
    let server = Server::start(dir.path(), imap, imaps);
    let mut tcp = TcpStream::connect(("127.0.0.1", server.imap)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    read_line(&mut tcp);
    tcp.write_all(b"a1 STARTTLS\r\na2 LOGIN mox@localhost moxmoxmox\r\n")
        .unwrap();
    assert!(read_line(&mut tcp).starts_with("a1 OK "));
    let (mut s, _) = tls(client_config(dir.path()), tcp);
    s.write_all(b"a3 NOOP\r\n").unwrap();
    assert!(read_line(&mut s).starts_with("a3 OK "));
    // Not logged in: the injected LOGIN did not run.
    s.write_all(b"a4 SELECT INBOX\r\n").unwrap();
    assert!(read_line(&mut s).starts_with("a4 BAD "));
}
