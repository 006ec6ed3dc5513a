//! A `moxide serve` process for the tests: a configuration for `a.test`
//! on free loopback ports (all services on port 0 of 127.0.0.1), the
//! server started and its ports read from its banner (common/cli.rs runs
//! the CLI). Include with
//! `#[path = "common/serve_process.rs"] mod serve_process;`.
#![allow(dead_code)] // each test crate uses a part

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The moxide binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_moxide");

/// Bytes as text (lossy), for assertions.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Writes moxide.toml (all services on port 0 of 127.0.0.1), domains.toml
/// and the certificate into `dir`; returns the moxide.toml path.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let ck =
        rcgen::generate_simple_self_signed(vec!["mail.a.test".into(), "127.0.0.1".into()]).unwrap();
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    std::fs::write(dir.join("tls/cert.pem"), ck.cert.pem()).unwrap();
    std::fs::write(dir.join("tls/key.pem"), ck.signing_key.serialize_pem()).unwrap();
    let cfg = dir.join("moxide.toml");
    std::fs::write(
        &cfg,
        format!(
            "hostname = \"mail.a.test\"\ndata_dir = \"data\"\nsender_checks = false\n{extra}\n[[listeners]]\nname = \"loop\"\nips = [\"127.0.0.1\"]\ntls_cert = \"tls/cert.pem\"\ntls_key = \"tls/key.pem\"\nsmtp = 0\nsubmission = 0\nsubmissions = 0\nimap = 0\nimaps = 0\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("domains.toml"),
        "# test domains\n[domains.\"a.test\"]\n",
    )
    .unwrap();
    cfg
}

/// A running `moxide serve`; killed when dropped.
pub struct Serve {
    /// The process.
    pub child: Child,
    /// Each service and its port, in banner order.
    pub ports: Vec<(String, u16)>,
}

impl Serve {
    /// Starts the server and reads the ports from its banner.
    pub fn start(config: &Path) -> Serve {
        let mut child = Command::new(BIN)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            panic!("moxide serve printed nothing within 60 s");
        };
        // "moxide serve: mail.a.test: smtp 127.0.0.1:P, …; data in D"
        let data = config.parent().unwrap().join("data");
        let Some(list) = line
            .strip_prefix("moxide serve: mail.a.test: ")
            .and_then(|r| r.strip_suffix(&format!("; data in {}\n", data.display())))
        else {
            let _ = child.kill();
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("banner {line:?}; stderr {err}");
        };
        let ports: Vec<(String, u16)> = list
            .split(", ")
            .map(|s| {
                let (svc, addr) = s.split_once(" 127.0.0.1:").unwrap();
                (svc.to_string(), addr.parse().unwrap())
            })
            .collect();
        let names: Vec<&str> = ports.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(
            names,
            ["smtp", "submission", "submissions", "imap", "imaps"]
        );
        assert!(ports.iter().all(|(_, p)| *p != 0));
        Serve { child, ports }
    }

    pub fn port(&self, service: &str) -> u16 {
        self.ports.iter().find(|(s, _)| s == service).unwrap().1
    }

    /// Sends SIGTERM; the exit status and stderr.
    pub fn terminate(self) -> (ExitStatus, String) {
        self.signal("-TERM")
    }

    /// Sends `signal` (`-TERM`, `-INT`); the exit status and stderr.
    pub fn signal(mut self, signal: &str) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
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

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
