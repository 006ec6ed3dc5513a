//! Reading SMTP replies in tests that speak SMTP over a socket themselves.
//! Include with `#[path = "common/smtp_reply.rs"] mod smtp_reply;`.
#![allow(dead_code)] // each test crate uses a part

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

/// Reads one SMTP reply with all its lines: a line with `-` after the
/// code continues it, the first other line (or end of input) ends it
/// (RFC 5321 4.2.1).
pub fn read_reply(r: &mut impl BufRead) -> String {
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        reply.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return reply;
        }
    }
}

/// One SMTP exchange: sends `line` (unless empty), returns the reply.
pub fn exchange(r: &mut BufReader<TcpStream>, line: &str) -> String {
    if !line.is_empty() {
        r.get_mut().write_all(line.as_bytes()).unwrap();
    }
    read_reply(r)
}
