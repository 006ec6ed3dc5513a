//! Shared helpers of the integration tests of both runtimes: starting
//! `localserve` of the binary `crate::BIN` on free loopback ports in a
//! temporary directory.
#![allow(dead_code)] // each test crate uses a part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::BIN;
const STARTUP: Duration = Duration::from_secs(60);

/// Two ports free on 127.0.0.1 right now (the OS picks them).
pub fn free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// SMTP listeners on ports the OS picks (read back from the banner).
pub const SMTP_PORTS_ZERO: [&str; 6] = [
    "--smtp-port",
    "0",
    "--submission-port",
    "0",
    "--submissions-port",
    "0",
];

pub fn localserve(dir: &Path, imap: u16, imaps: u16) -> Command {
    let mut c = Command::new(BIN);
    c.arg("localserve")
        .arg("--dir")
        .arg(dir)
        .arg("--imap-port")
        .arg(imap.to_string())
        .arg("--imaps-port")
        .arg(imaps.to_string())
        .args(SMTP_PORTS_ZERO)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// A running localserve; killed when dropped.
pub struct Server {
    pub child: Child,
    pub imap: u16,
    pub imaps: u16,
    /// SMTP, submission (STARTTLS) and submissions (TLS) ports.
    pub smtp: u16,
    pub submission: u16,
    pub submissions: u16,
}

impl Server {
    /// Starts localserve and waits for its banner, which must be exact.
    pub fn start(dir: &Path, imap: u16, imaps: u16) -> Server {
        Server::start_with(localserve(dir, imap, imaps), dir, imap, imaps)
    }

    /// Starts `cmd`, a localserve expected to use `dir` and the ports, and
    /// waits for its banner, which must be exact.
    pub fn start_with(mut cmd: Command, dir: &Path, imap: u16, imaps: u16) -> Server {
        let mut child = cmd.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(STARTUP) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                panic!("localserve printed nothing within {STARTUP:?}");
            }
        };
        let mut server = Server {
            child,
            imap,
            imaps,
            smtp: 0,
            submission: 0,
            submissions: 0,
        };
        let v6 = if ipv6_loopback() {
            format!(" and [::1]:{imap}")
        } else {
            String::new()
        };
        // The SMTP ports are the OS's choice: read them, then compare all.
        let port_after = |key: &str| -> u16 {
            line.split_once(key)
                .and_then(|(_, rest)| rest.split([',', ' ']).next())
                .and_then(|p| p.parse().ok())
                .unwrap_or(0)
        };
        server.smtp = port_after(", SMTP :");
        server.submission = port_after(", submission :");
        server.submissions = port_after(", submissions :");
        let want = format!(
            "moxide localserve: IMAP 127.0.0.1:{imap}{v6} (STARTTLS), IMAPS :{imaps}, SMTP :{}, submission :{} (STARTTLS), submissions :{}, login mox@localhost / moxmoxmox, data in {}\n",
            server.smtp,
            server.submission,
            server.submissions,
            dir.display()
        );
        if line != want || server.smtp == 0 {
            let _ = server.child.kill();
            let mut err = String::new();
            let _ = server.child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("banner {line:?}, want {want:?}; stderr: {err}");
        }
        server
    }

    /// Sends SIGINT (what Ctrl-C sends) and returns the exit status and
    /// stderr.
    pub fn interrupt(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let st = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(st.success(), "kill -INT {pid}");
        let status = wait_timeout(&mut self.child, Duration::from_secs(30));
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status, err)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `python3` when it runs here; else `None` after saying that `test` is
/// skipped, except under CI=true (.ci/run installs it), where it fails.
pub fn python(test: &str) -> Option<&'static str> {
    match Command::new("python3").arg("--version").output() {
        Ok(o) if o.status.success() => Some("python3"),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: python3 is not installed (CI=true: .ci/run installs it)"
            );
            eprintln!("SKIPPED {test}: python3 is not installed");
            None
        }
    }
}

pub fn wait_timeout(child: &mut Child, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// A client trusting the certificate localserve made in `dir`.
pub fn client_config(dir: &std::path::Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(dir.join("tls/cert.pem")).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

pub fn read_line(r: &mut impl Read) -> String {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        assert_eq!(r.read(&mut b).unwrap(), 1, "EOF after {line:?}");
        line.push(b[0]);
    }
    String::from_utf8(line).unwrap()
}

pub type Tls = StreamOwned<ClientConnection, TcpStream>;

/// Completes the handshake and returns the stream and its RFC 9266
/// exporter value.
pub fn tls(cfg: Arc<ClientConfig>, tcp: TcpStream) -> (Tls, Vec<u8>) {
    let name = ServerName::try_from("localhost").unwrap();
    let mut s = StreamOwned::new(ClientConnection::new(cfg, name).unwrap(), tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).unwrap();
    }
    let ekm = s
        .conn
        .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
        .unwrap();
    (s, ekm.to_vec())
}

/// Every message of mox@localhost's Inbox at the localserve in `dir`, as
/// its IMAPS port `imaps` returns them: the whole transcript of LOGIN,
/// SELECT INBOX, FETCH 1:* BODY.PEEK[] and LOGOUT.
pub fn imaps_inbox(dir: &Path, imaps: u16) -> String {
    let tcp = TcpStream::connect(("127.0.0.1", imaps)).unwrap();
    let (mut s, _) = tls(client_config(dir), tcp);
    read_line(&mut s);
    let mut all = String::new();
    for (tag, cmd) in [
        ("a", "LOGIN mox@localhost moxmoxmox"),
        ("b", "SELECT INBOX"),
        ("c", "FETCH 1:* BODY.PEEK[]"),
        ("d", "LOGOUT"),
    ] {
        s.write_all(format!("{tag} {cmd}\r\n").as_bytes()).unwrap();
        loop {
            let line = read_line(&mut s);
            all.push_str(&line);
            if line.starts_with(&format!("{tag} ")) {
                break;
            }
        }
    }
    all
}
