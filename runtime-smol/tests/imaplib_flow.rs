//! Python's imaplib over IMAPS against a running `moxide localserve`: the
//! whole flow of a simple client (LOGIN, CREATE, APPEND, SELECT, FETCH,
//! SEARCH, STORE, IDLE with a message appended by a second connection,
//! LOGOUT), each response compared exactly. Skips, saying so, only when
//! python3 is missing.

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;

use std::process::Command;

/// The client: prints `name: repr(result)` per exchange.
const FLOW: &str = r#"
import imaplib, ssl, sys
host, port = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
MSG = b"From: a@example.org\r\nSubject: flow one\r\n\r\nfirst\r\n"
MSG2 = b"From: b@example.org\r\nSubject: flow two\r\n\r\nsecond\r\n"
def show(name, value):
    print(f"{name}: {value!r}", flush=True)
m = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=20)
show("login", m.login("mox@localhost", "moxmoxmox")[0])
show("create", m.create("Flow"))
show("append", m.append("Flow", r"(\Flagged)", None, MSG)[0])
show("select", m.select("Flow"))
show("fetch", m.fetch("1", "(FLAGS RFC822.SIZE BODY.PEEK[])")[1])
show("search", m.search(None, "SUBJECT", '"flow one"'))
show("search-none", m.search(None, "SUBJECT", '"nothing"'))
show("store", m.store("1", "+FLAGS", r"(\Seen)"))
tag = m._new_tag()
m.send(tag + b" IDLE\r\n")
show("idle", m.readline())
other = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=20)
other.login("mox@localhost", "moxmoxmox")
show("append-other", other.append("Flow", None, None, MSG2)[0])
other.logout()
show("idle-update", m.readline())
m.send(b"DONE\r\n")
show("idle-done", m.readline().startswith(tag + b" OK "))
show("search-all", m.search(None, "ALL"))
show("logout", m.logout()[0])
"#;

#[test]
fn imaplib_login_create_append_select_fetch_search_store_idle_logout() {
    if common::python("imaplib flow").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (imap, imaps) = common::free_ports();
    let server = common::Server::start(dir.path(), imap, imaps);
    let out = Command::new("python3")
        .arg("-c")
        .arg(FLOW)
        .arg("127.0.0.1")
        .arg(server.imaps.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = "\
login: 'OK'
create: ('OK', [b'CREATE completed'])
append: 'OK'
select: ('OK', [b'1'])
fetch: [(b'1 (FLAGS (\\\\Flagged) RFC822.SIZE 49 BODY[] {49}', b'From: a@example.org\\r\\nSubject: flow one\\r\\n\\r\\nfirst\\r\\n'), b')']
search: ('OK', [b'1'])
search-none: ('OK', [b''])
store: ('OK', [b'1 (FLAGS (\\\\Seen \\\\Flagged))'])
idle: b'+ idling\\r\\n'
append-other: 'OK'
idle-update: b'* 2 EXISTS\\r\\n'
idle-done: True
search-all: ('OK', [b'1 2'])
logout: 'BYE'
";
    assert_eq!(stdout, want);
    drop(server);
}
