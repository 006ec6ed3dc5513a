//! Transcript tests of `ServerConn`: `c()` feeds client bytes, `s()`
//! asserts the exact server output since the last check.

use std::time::{Duration, Instant};

use super::*;
use crate::imap::cmd::CommandBody;
use crate::imap::resp::{Code, Continue, Data, Response, Status};

pub(super) struct T {
    pub(super) conn: ServerConn,
    pub(super) now: Instant,
}

impl T {
    pub(super) fn new() -> T {
        T::with(ServerConfig::default())
    }

    pub(super) fn with(cfg: ServerConfig) -> T {
        let now = Instant::now();
        T {
            conn: ServerConn::new(cfg, now),
            now,
        }
    }

    /// Client sends.
    pub(super) fn c(&mut self, bytes: &[u8]) {
        self.conn.handle_input(self.now, bytes);
    }

    /// Everything the server sent since the last call.
    pub(super) fn out(&mut self) -> Vec<u8> {
        let mut v = Vec::new();
        self.conn.poll_transmit(&mut v);
        v
    }

    /// Asserts the server sent exactly `want`.
    pub(super) fn s(&mut self, want: &str) {
        let got = self.out();
        assert_eq!(String::from_utf8_lossy(&got), want);
    }

    pub(super) fn ev(&mut self) -> Option<Event> {
        self.conn.poll_event()
    }

    /// Polls one event that must be a command; returns its body.
    pub(super) fn cmd(&mut self, tag: &str) -> CommandBody {
        match self.ev() {
            Some(Event::Command(c)) => {
                assert_eq!(c.tag.as_str(), tag);
                c.body
            }
            other => panic!("expected command {tag}, got {other:?}"),
        }
    }

    pub(super) fn status(&mut self, s: Status) {
        self.conn.send(&Response::Status(s));
    }

    pub(super) fn ok(&mut self, tag: &str) {
        self.status(Status::ok(Tag::try_from(tag).ok(), None, "done"));
    }

    pub(super) fn login(&mut self) {
        self.c(b"a0 LOGIN mjl pw\r\n");
        self.cmd("a0");
        self.ok("a0");
        self.s("a0 OK done\r\n");
        assert_eq!(self.conn.state(), ServerState::Authenticated);
    }
}

fn tag(s: &str) -> Option<Tag> {
    Tag::try_from(s).ok()
}

#[test]
fn greeting_and_login() {
    let mut t = T::new();
    t.status(Status::ok(None, None, "moxide ready"));
    t.s("* OK moxide ready\r\n");
    t.c(b"a1 LOGIN mjl {6}\r\n");
    t.s("+ Ready for literal data\r\n");
    assert_eq!(t.ev(), None);
    t.c(b"secret\r\n");
    match t.cmd("a1") {
        CommandBody::Login { username, password } => {
            assert_eq!(username, "mjl");
            assert_eq!(password.expose(), "secret");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.conn.state(), ServerState::NotAuthenticated);
    t.ok("a1");
    t.s("a1 OK done\r\n");
    assert_eq!(t.conn.state(), ServerState::Authenticated);
}

#[test]
fn preauth_greeting_authenticates() {
    let mut t = T::new();
    t.status(Status::preauth(None, "welcome back"));
    t.s("* PREAUTH welcome back\r\n");
    assert_eq!(t.conn.state(), ServerState::Authenticated);
}

#[test]
fn state_errors_get_bad_without_event() {
    let mut t = T::new();
    t.c(b"a1 SELECT INBOX\r\na2 FETCH 1 FLAGS\r\n");
    t.s(
        "a1 BAD SELECT needs authentication: LOGIN or AUTHENTICATE first\r\n\
         a2 BAD FETCH needs authentication: LOGIN or AUTHENTICATE first\r\n",
    );
    assert_eq!(t.ev(), None);
    t.login();
    t.c(b"a3 LOGIN a b\r\na4 UID FETCH 1 FLAGS\r\na5 NOOP\r\n");
    t.s("a3 BAD LOGIN is only allowed before authentication\r\n\
         a4 BAD UID FETCH needs a selected mailbox: SELECT first\r\n");
    assert_eq!(t.cmd("a5"), CommandBody::Noop);
}

#[test]
fn commands_are_handed_out_one_at_a_time() {
    let mut t = T::new();
    t.c(b"a1 NOOP\r\na2 CAPABILITY\r\na3 BOGUS\r\n");
    assert_eq!(t.cmd("a1"), CommandBody::Noop);
    assert_eq!(t.ev(), None);
    t.s("");
    t.ok("a1");
    // The BAD for a3 comes only after a2 is answered.
    assert_eq!(t.cmd("a2"), CommandBody::Capability);
    t.s("a1 OK done\r\n");
    t.ok("a2");
    t.s("a2 OK done\r\na3 BAD unknown command (at byte 3)\r\n");
    assert_eq!(t.ev(), None);
}

#[test]
fn invalid_command_before_literal_gets_bad_and_no_continuation() {
    let mut t = T::new();
    t.c(b"a1 LOGIN (x) {5}\r\n");
    let out = t.out();
    assert!(
        out.starts_with(b"a1 BAD "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(!out.windows(2).any(|w| w == b"+ "));
    // The client did not send the literal; the next line is a command.
    t.c(b"a2 NOOP\r\n");
    assert_eq!(t.cmd("a2"), CommandBody::Noop);
}

#[test]
fn literal_over_limit_is_refused_and_its_data_skipped() {
    let cfg = ServerConfig {
        max_command: 200,
        ..ServerConfig::default()
    };
    let mut t = T::with(cfg);
    t.c(b"a1 LOGIN {500}\r\n");
    t.s("a1 BAD command too long\r\n");
    // Non-synchronising: the bytes come anyway and must not run.
    let mut data = b"a2 LOGIN {500+}\r\n".to_vec();
    let inner = b"a9 LOGOUT\r\n";
    for _ in 0..(500 / inner.len()) {
        data.extend_from_slice(inner);
    }
    data.resize(17 + 500, b'x');
    data.extend_from_slice(b" pw\r\na3 NOOP\r\n");
    t.c(&data);
    t.s("a2 BAD command too long\r\n");
    assert_eq!(t.cmd("a3"), CommandBody::Noop);
    assert_eq!(t.ev(), None);
    assert_eq!(t.conn.state(), ServerState::NotAuthenticated);
}

#[test]
fn line_over_limit() {
    let cfg = ServerConfig {
        max_line: 100,
        ..ServerConfig::default()
    };
    let mut t = T::with(cfg);
    let mut line = b"a1 LOGIN ".to_vec();
    line.resize(1000, b'u');
    // Fed in pieces: nothing is answered before the line ends.
    for c in line.chunks(64) {
        t.c(c);
        t.s("");
    }
    t.c(b" pw\r\na2 NOOP\r\n");
    t.s("a1 BAD line too long\r\n");
    assert_eq!(t.cmd("a2"), CommandBody::Noop);
    assert!(t.conn.buffer_capacity() < 1000);
}

#[test]
fn untagged_bad_when_no_tag() {
    let mut t = T::new();
    t.c(b"\r\n+x NOOP\r\n(a) NOOP\r\na1\r\n");
    t.s("* BAD expected a tag (at byte 0)\r\n\
         * BAD expected a tag (at byte 0)\r\n\
         * BAD expected a tag (at byte 0)\r\n\
         a1 BAD expected a space (at byte 2)\r\n");
}

#[test]
fn authenticate_plain_with_initial_response() {
    let mut t = T::new();
    t.c(b"a1 AUTHENTICATE PLAIN AG1qbABwdw==\r\n");
    match t.cmd("a1") {
        CommandBody::Authenticate {
            mechanism,
            initial_response,
        } => {
            assert_eq!(mechanism.as_str(), "PLAIN");
            assert_eq!(initial_response.unwrap().expose(), b"\0mjl\0pw");
        }
        other => panic!("{other:?}"),
    }
    t.ok("a1");
    assert_eq!(t.conn.state(), ServerState::Authenticated);
}

#[test]
fn authenticate_with_continuation() {
    let mut t = T::new();
    t.c(b"a1 AUTHENTICATE PLAIN\r\n");
    t.cmd("a1");
    t.conn.auth_challenge(b"");
    t.s("+ \r\n");
    // A command-looking line is the SASL response, not a command.
    t.c(b"AG1qbABwdw==\r\n");
    assert_eq!(
        t.ev(),
        Some(Event::AuthResponse(Secret::new(b"\0mjl\0pw".to_vec())))
    );
    t.ok("a1");
    t.s("a1 OK done\r\n");
    assert_eq!(t.conn.state(), ServerState::Authenticated);
}

#[test]
fn authenticate_cancel_and_bad_base64() {
    let mut t = T::new();
    t.c(b"a1 AUTHENTICATE SCRAM-SHA-256\r\n");
    t.cmd("a1");
    t.conn.auth_challenge(b"r=abc");
    t.s("+ cj1hYmM=\r\n");
    t.c(b"*\r\n");
    assert_eq!(t.ev(), Some(Event::AuthCancel));
    t.status(Status::bad(tag("a1"), None, "authentication cancelled"));
    t.s("a1 BAD authentication cancelled\r\n");
    assert_eq!(t.conn.state(), ServerState::NotAuthenticated);

    t.c(b"a2 AUTHENTICATE PLAIN\r\n");
    t.cmd("a2");
    t.conn.auth_challenge(b"");
    t.c(b"a3 NOOP\r\na4 NOOP\r\n");
    t.s("+ \r\na2 BAD invalid base64 in authentication response\r\n");
    assert_eq!(
        t.ev(),
        Some(Event::Aborted {
            tag: tag("a2").unwrap(),
            reason: "invalid base64 in authentication response".to_string()
        })
    );
    assert_eq!(t.cmd("a4"), CommandBody::Noop);
}

#[test]
fn idle_and_done() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 IDLE\r\n");
    assert_eq!(t.cmd("a1"), CommandBody::Idle);
    t.conn
        .send(&Response::Continue(Continue::Text("idling".to_string())));
    t.s("+ idling\r\n");
    t.conn.send(&Response::Data(Data::Exists(3)));
    t.s("* 3 EXISTS\r\n");
    t.c(b"DO");
    assert_eq!(t.ev(), None);
    t.c(b"NE\r\na2 NOOP\r\n");
    assert_eq!(t.ev(), Some(Event::IdleDone));
    t.ok("a1");
    t.s("a1 OK done\r\n");
    assert_eq!(t.cmd("a2"), CommandBody::Noop);
}

#[test]
fn idle_ended_by_something_else() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 IDLE\r\n");
    t.cmd("a1");
    t.conn
        .send(&Response::Continue(Continue::Text("idling".to_string())));
    t.c(b"a2 NOOP\r\n");
    t.s("+ idling\r\na1 BAD expected DONE to end IDLE\r\n");
    assert!(matches!(t.ev(), Some(Event::Aborted { .. })));
    assert_eq!(t.ev(), None);
}

#[test]
fn select_examine_close_states() {
    let mut t = T::new();
    t.login();
    t.c(b"a1 SELECT INBOX\r\n");
    t.cmd("a1");
    t.ok("a1");
    assert_eq!(t.conn.state(), ServerState::Selected { read_only: false });
    t.c(b"a2 SELECT Archive\r\n");
    t.cmd("a2");
    t.status(Status::ok(tag("a2"), Some(Code::ReadOnly), "done"));
    assert_eq!(t.conn.state(), ServerState::Selected { read_only: true });
    // RFC 9051 6.3.2: a failed SELECT deselects.
    t.c(b"a3 EXAMINE Nope\r\n");
    t.cmd("a3");
    t.status(Status::no(tag("a3"), None, "no such mailbox"));
    assert_eq!(t.conn.state(), ServerState::Authenticated);
    t.c(b"a4 EXAMINE INBOX\r\n");
    t.cmd("a4");
    t.ok("a4");
    assert_eq!(t.conn.state(), ServerState::Selected { read_only: true });
    t.c(b"a5 UNSELECT\r\n");
    t.cmd("a5");
    t.ok("a5");
    assert_eq!(t.conn.state(), ServerState::Authenticated);
}

#[test]
fn starttls_discards_injected_commands() {
    let mut t = T::new();
    t.c(b"a1 STARTTLS\r\na2 LOGIN mjl pw\r\n");
    assert_eq!(t.cmd("a1"), CommandBody::StartTls);
    t.ok("a1");
    t.s("a1 OK done\r\n");
    assert_eq!(t.conn.poll_action(), Some(Action::StartTls));
    assert_eq!(t.conn.poll_action(), None);
    assert_eq!(t.ev(), None);
    t.c(b"a3 NOOP\r\n");
    assert_eq!(t.cmd("a3"), CommandBody::Noop);
    assert_eq!(t.conn.state(), ServerState::NotAuthenticated);
}

#[test]
fn enable_utf8_switches_mailbox_decoding() {
    let mut t = T::new();
    t.login();
    t.c("a1 SELECT \"Entwürfe\"\r\n".as_bytes());
    let out = t.out();
    assert!(
        out.starts_with(b"a1 BAD "),
        "{}",
        String::from_utf8_lossy(&out)
    );
    t.c(b"a2 SELECT Entw&APw-rfe\r\n");
    match t.cmd("a2") {
        CommandBody::Select { mailbox, .. } => assert_eq!(mailbox.as_str(), "Entwürfe"),
        other => panic!("{other:?}"),
    }
    t.status(Status::no(tag("a2"), None, "no"));
    t.c(b"a3 ENABLE UTF8=ACCEPT\r\n");
    t.cmd("a3");
    t.conn.send(&Response::Data(Data::Enabled(vec![
        "UTF8=ACCEPT".to_string(),
    ])));
    t.ok("a3");
    assert!(t.conn.ctx().utf8);
    t.c("a4 SELECT \"Entwürfe\"\r\n".as_bytes());
    match t.cmd("a4") {
        CommandBody::Select { mailbox, .. } => assert_eq!(mailbox.as_str(), "Entwürfe"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn timeouts_from_now_only() {
    let mut t = T::new();
    let start = t.now;
    assert_eq!(t.conn.poll_timeout(), Some(start + Duration::from_secs(30)));
    // A spurious early timeout is a no-op.
    t.conn.handle_timeout(start + Duration::from_secs(10));
    t.s("");
    t.now = start + Duration::from_secs(20);
    t.c(b"a1 LOGIN mjl pw\r\n");
    t.cmd("a1");
    // While the caller works, no deadline.
    assert_eq!(t.conn.poll_timeout(), None);
    t.ok("a1");
    // The caller's work took unknown time: re-arm at the next `now`.
    assert_eq!(t.conn.poll_timeout(), Some(t.now));
    let later = start + Duration::from_secs(100);
    t.conn.handle_timeout(later);
    assert_eq!(
        t.conn.poll_timeout(),
        Some(later + Duration::from_secs(30 * 60))
    );
    t.out();
    t.conn.handle_timeout(later + Duration::from_secs(30 * 60));
    t.s("* BYE autologout; idle for too long\r\n");
    assert_eq!(t.conn.poll_action(), Some(Action::Close));
    assert_eq!(t.conn.poll_timeout(), None);
    t.c(b"a2 NOOP\r\n");
    assert_eq!(t.ev(), None);
    t.s("");
}

#[test]
fn logout_closes_after_bye_and_ok() {
    let mut t = T::new();
    t.c(b"a1 LOGOUT\r\na2 NOOP\r\n");
    assert_eq!(t.cmd("a1"), CommandBody::Logout);
    t.status(Status::bye(None, "bye"));
    assert_eq!(t.conn.poll_action(), None);
    t.ok("a1");
    t.s("* BYE bye\r\na1 OK done\r\n");
    assert_eq!(t.conn.poll_action(), Some(Action::Close));
    assert_eq!(t.conn.state(), ServerState::Logout);
    assert_eq!(t.ev(), None);
    assert!(!t.conn.wants_read());
    t.ok("a2");
    t.s("");
}

#[test]
fn eof_closes() {
    let mut t = T::new();
    t.conn.handle_eof(t.now);
    assert_eq!(t.conn.poll_action(), Some(Action::Close));
    assert_eq!(t.conn.poll_action(), None);
}

#[test]
fn backpressure_while_busy() {
    let mut t = T::new();
    t.c(b"a1 NOOP\r\n");
    t.cmd("a1");
    assert!(t.conn.wants_read());
    let many = b"a2 NOOP\r\n".repeat(10_000);
    t.c(&many);
    assert!(!t.conn.wants_read());
    t.ok("a1");
    t.cmd("a2");
}

#[test]
fn events_queued_before_a_fatal_close_stay() {
    // Found by the imap_framing fuzzer: dropping queued events at close
    // made the events depend on how the input was split.
    let mut t = T::new();
    t.c(b"a1 AUTHENTICATE PLAIN\r\n");
    t.cmd("a1");
    t.c(b"not base64!\r\nb1 LOGIN {99999999999999999999+}\r\n");
    t.conn.auth_challenge(b"");
    t.s("+ \r\na1 BAD invalid base64 in authentication response\r\n\
         b1 BAD number too large (at byte 10)\r\n\
         * BYE literal size too large to skip; closing\r\n");
    assert!(matches!(t.ev(), Some(Event::Aborted { .. })));
    assert_eq!(t.conn.poll_action(), Some(Action::Close));
}
