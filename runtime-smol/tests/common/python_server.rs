//! Starting a test server written in Python (a dnslib DNS zone): the script
//! binds a loopback port, prints `PORT <n>` and serves until its standard
//! input closes, which happens when the test process exits.

#![allow(dead_code)] // each test crate uses a part

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};

/// Runs `script` with python3 and returns the address it printed, or
/// `None` (the caller skips its test) when python3 is not installed.
/// Panics with the install hint when the script does not start (dnslib
/// missing).
pub fn start(script: &str) -> Option<SocketAddr> {
    start_with_args(script, &[])
}

/// [`start`] with `args` as the script's `sys.argv[1..]`.
pub fn start_with_args(script: &str, args: &[&str]) -> Option<SocketAddr> {
    if Command::new("python3").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 is not installed (CI=true: .ci/run installs it)"
        );
        eprintln!("SKIP: python3 is not installed; this test needs it and dnslib");
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", script])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words.first(),
        Some(&"PORT"),
        "the dnslib server did not start (python3 -m pip install dnslib)"
    );
    // Keep stdin open: the server exits with this process.
    std::mem::forget(child.stdin.take());
    std::mem::forget(child);
    Some(SocketAddr::from((
        Ipv4Addr::LOCALHOST,
        words[1].parse().unwrap(),
    )))
}
