//! Throughput of the SMTP server connection on message delivery.
//!
//! Run: `cargo bench -p moxide-proto --bench smtp_parse`.
//!
//! Sessions deliver 10 KB and 1 MB messages through `SmtpServer` (MAIL,
//! RCPT, DATA with dot-stuffed lines; and the same with BDAT), fed as one
//! byte stream in 16 KiB reads, with a scripted caller that accepts every
//! event and counts the message bytes. Reported in MB/s of client input
//! and messages/s.

use std::hint::black_box;
use std::time::{Duration, Instant};

use moxide_proto::conn::Conn;
use moxide_proto::smtp::{SmtpConfig, SmtpEvent, SmtpServer};

/// A message of about `size` bytes whose lines are 76 characters, one in
/// ten starting with a dot (stuffed on the wire).
fn message(size: usize) -> Vec<u8> {
    let mut m = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: bench\r\n\r\n".to_vec();
    let mut i = 0u32;
    while m.len() < size {
        if i.is_multiple_of(10) {
            m.push(b'.');
        }
        m.extend((0..74).map(|j| b'a' + ((i + j) % 26) as u8));
        m.extend_from_slice(b"\r\n");
        i += 1;
    }
    m
}

/// The wire form: DATA with dot-stuffing, or one BDAT LAST chunk.
fn session(msg: &[u8], count: usize, bdat: bool) -> Vec<u8> {
    let mut s = b"EHLO client.example\r\n".to_vec();
    for _ in 0..count {
        s.extend_from_slice(
            b"MAIL FROM:<a@example.org> SIZE=2000000\r\nRCPT TO:<b@example.net>\r\n",
        );
        if bdat {
            s.extend_from_slice(format!("BDAT {} LAST\r\n", msg.len()).as_bytes());
            s.extend_from_slice(msg);
        } else {
            s.extend_from_slice(b"DATA\r\n");
            for line in msg.split_inclusive(|&b| b == b'\n') {
                if line.first() == Some(&b'.') {
                    s.push(b'.');
                }
                s.extend_from_slice(line);
            }
            s.extend_from_slice(b".\r\n");
        }
    }
    s.extend_from_slice(b"QUIT\r\n");
    s
}

/// Feeds the stream in 16 KiB reads; returns (messages, message bytes).
fn run(stream: &[u8]) -> (usize, usize) {
    let now = Instant::now();
    let cfg = SmtpConfig {
        hostname: "mx.example".to_string(),
        ..SmtpConfig::default()
    };
    let mut srv = SmtpServer::new(cfg, now);
    let mut out = Vec::new();
    let (mut messages, mut bytes) = (0, 0);
    for chunk in stream.chunks(16 * 1024) {
        srv.handle_input(now, chunk);
        while let Some(ev) = srv.poll_event() {
            match ev {
                SmtpEvent::DataChunk(d) => bytes += black_box(d).len(),
                SmtpEvent::DataEnd => {
                    messages += 1;
                    srv.accept();
                }
                SmtpEvent::Ehlo { .. }
                | SmtpEvent::MailFrom { .. }
                | SmtpEvent::RcptTo { .. }
                | SmtpEvent::DataStart { .. } => srv.accept(),
                _ => {}
            }
        }
        srv.poll_transmit(&mut out);
        out.clear();
    }
    (messages, bytes)
}

fn bench(name: &str, msg_size: usize, count: usize, bdat: bool) {
    let msg = message(msg_size);
    let stream = session(&msg, count, bdat);
    let (m, b) = run(&stream);
    assert_eq!(m, count, "{name}: messages");
    assert_eq!(b, msg.len() * count, "{name}: bytes");
    let mut rounds = 0u32;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(2) {
        black_box(run(black_box(&stream)));
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let mb = stream.len() as f64 * f64::from(rounds) / secs / 1e6;
    let per_sec = (count as f64) * f64::from(rounds) / secs;
    println!(
        "{name:<28} {:>8.1} MB/s {:>10.0} messages/s ({} messages of {} bytes per session)",
        mb,
        per_sec,
        count,
        msg.len()
    );
}

fn main() {
    bench("DATA 10 KB", 10 * 1024, 200, false);
    bench("DATA 1 MB", 1024 * 1024, 4, false);
    bench("BDAT 10 KB", 10 * 1024, 200, true);
    bench("BDAT 1 MB", 1024 * 1024, 4, true);
}
