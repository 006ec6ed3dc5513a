//! Feeds arbitrary bytes to a `ServerConn` in chunks whose sizes come from
//! the first input bytes, with a scripted caller that answers every command.
//! Checks: no panic, the same events and output as feeding the stream whole,
//! and input buffers within the configured limits.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use moxide_proto::conn::Conn;
use moxide_proto::imap::cmd::CommandBody;
use moxide_proto::imap::resp::{Continue, Response, Status};
use moxide_proto::imap::server::{Event, ServerConfig, ServerConn};

fn config() -> ServerConfig {
    ServerConfig {
        max_line: 256,
        max_command: 2048,
        max_append: 4096,
        max_backlog: 1024,
        ..ServerConfig::default()
    }
}

/// Answers every event like a simple server would; returns the events with
/// adjacent data chunks joined.
fn drive(conn: &mut ServerConn, log: &mut Vec<Event>) {
    while let Some(ev) = conn.poll_event() {
        match &ev {
            Event::Command(c) => {
                let tag = Some(c.tag.clone());
                match c.body {
                    CommandBody::Idle => {
                        conn.send(&Response::Continue(Continue::Text("idling".into())))
                    }
                    CommandBody::Authenticate { .. } => conn.auth_challenge(b"challenge"),
                    CommandBody::StartTls | CommandBody::Compress(_) => {
                        conn.send(&Response::Status(Status::no(tag, None, "not now")))
                    }
                    CommandBody::Logout => {
                        conn.send(&Response::Status(Status::bye(None, "bye")));
                        conn.send(&Response::Status(Status::ok(tag, None, "done")));
                    }
                    _ => conn.send(&Response::Status(Status::ok(tag, None, "done"))),
                }
            }
            Event::AppendBegin { .. } => conn.accept_append(),
            Event::AppendEnd { last: true }
            | Event::IdleDone
            | Event::AuthResponse(_)
            | Event::AuthCancel => {
                let tag = conn.in_flight().cloned();
                conn.send(&Response::Status(Status::ok(tag, None, "done")));
            }
            _ => {}
        }
        if let (Event::AppendData(d), Some(Event::AppendData(prev))) = (&ev, log.last_mut()) {
            prev.extend_from_slice(d);
        } else {
            log.push(ev);
        }
    }
}

fn run(chunks: &[&[u8]]) -> (Vec<Event>, Vec<u8>) {
    let now = Instant::now();
    let cfg = config();
    let bound = cfg.max_command + cfg.max_line + 8192;
    let mut conn = ServerConn::new(cfg, now);
    let mut log = Vec::new();
    let mut out = Vec::new();
    for c in chunks {
        conn.handle_input(now, c);
        drive(&mut conn, &mut log);
        conn.poll_transmit(&mut out);
        while conn.poll_action().is_some() {}
        assert!(conn.buffer_capacity() <= bound + c.len() * 2);
    }
    (log, out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let sizes = &rest[..rest.len().min(usize::from(n % 16))];
    let mut stream = &rest[sizes.len()..];
    let whole = run(&[stream]);
    let mut chunks = Vec::new();
    if sizes.is_empty() {
        chunks.push(stream);
    }
    for &s in sizes.iter().cycle() {
        if stream.is_empty() {
            break;
        }
        let k = (usize::from(s) + 1).min(stream.len());
        chunks.push(&stream[..k]);
        stream = &stream[k..];
    }
    let split = run(&chunks);
    assert_eq!(whole, split);
});
