//! Running the `moxide` binary under test as an admin runs it: arguments,
//! standard input, and what it printed with its exit code. Include with
//! `#[path = "common/cli.rs"] mod cli;`.
#![allow(dead_code)] // each test crate uses a part

use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Stdio};

/// The moxide binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_moxide");

/// What a finished `moxide` printed, and its exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliOutput {
    /// Standard output (it must be UTF-8).
    pub stdout: String,
    /// Standard error (it must be UTF-8).
    pub stderr: String,
    /// The exit code; `None` when a signal ended the process.
    pub code: Option<i32>,
}

impl CliOutput {
    /// Whether it exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// (stdout, stderr, exit code), for destructuring and comparing.
    pub fn parts(self) -> (String, String, Option<i32>) {
        (self.stdout, self.stderr, self.code)
    }
}

/// `moxide ARGS`, to add environment variables or arguments before
/// [`run`].
pub fn moxide_command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    cmd
}

/// Runs `moxide ARGS` with `stdin` and waits for it.
pub fn run_moxide<I, S>(args: I, stdin: &[u8]) -> CliOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run(&mut moxide_command(args), stdin)
}

/// Runs `cmd` (moxide from [`moxide_command`], or a tool such as openssl)
/// with `stdin` (empty: /dev/null) and waits for it; panics when its
/// output is not UTF-8.
pub fn run(cmd: &mut Command, stdin: &[u8]) -> CliOutput {
    let input = if stdin.is_empty() {
        Stdio::null()
    } else {
        Stdio::piped()
    };
    let mut child = cmd
        .stdin(input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(mut w) = child.stdin.take() {
        w.write_all(stdin).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    CliOutput {
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        code: out.status.code(),
    }
}
