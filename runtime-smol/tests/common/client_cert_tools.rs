//! Helpers of the client-certificate tests with real tools
//! (`client_cert_clients.rs`, `client_cert_submit_clients.rs`): running a
//! `moxide config tlspubkey`, `openssl s_client`. The including crate
//! declares `mod cli` (common/cli.rs).
#![allow(dead_code)] // each test crate uses a part

use std::path::Path;
use std::process::{Command, Stdio};

use crate::cli::{moxide_command, run};

/// Whether `tool arg` runs; says the test is skipped when not.
pub fn have(tool: &str, arg: &str, test: &str) -> bool {
    let ok = Command::new(tool)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED {test}: {tool} is not installed");
    }
    ok
}

/// `moxide config --dir DIR tlspubkey ARGS < stdin`: exit code, stdout,
/// stderr.
pub fn tlspubkey(dir: &Path, args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let out = run(
        moxide_command(["config", "--dir"])
            .arg(dir)
            .arg("tlspubkey")
            .args(args),
        stdin,
    );
    (out.code.unwrap(), out.stdout, out.stderr)
}

/// The value of a `name: value` line.
pub fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no {name} in {out:?}"))
}

/// `openssl s_client -quiet -cert -key` to `port`, sending `input`; what
/// the server said.
pub fn s_client(port: u16, cert: &Path, key: &Path, input: &str) -> String {
    let out = run(
        Command::new("openssl")
            .args(["s_client", "-quiet", "-connect"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key),
        input.as_bytes(),
    );
    out.stdout
}
