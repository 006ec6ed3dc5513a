//! A whole IMAP session against `ServerConn` through its public API only,
//! driven the way a runtime and the engine drive it: feed bytes, poll
//! events, answer with responses, drain output and actions.

use std::time::{Duration, Instant};

use moxide_proto::conn::{Action, Conn};
use moxide_proto::imap::cmd::CommandBody;
use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::{Continue, Data, Response, Status};
use moxide_proto::imap::server::{Event, ServerConfig, ServerConn, ServerState};

struct Session {
    conn: ServerConn,
    now: Instant,
}

impl Session {
    fn client(&mut self, bytes: &str) {
        self.conn.handle_input(self.now, bytes.as_bytes());
    }

    fn server(&mut self) -> String {
        let mut out = Vec::new();
        self.conn.poll_transmit(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn send(&mut self, r: Response) {
        self.conn.send(&r);
    }

    fn ok(&mut self, tag: &str, text: &str) {
        self.send(Response::Status(Status::ok(
            Tag::try_from(tag).ok(),
            None,
            text,
        )));
    }

    fn command(&mut self) -> (String, CommandBody) {
        match self.conn.poll_event() {
            Some(Event::Command(c)) => (c.tag.as_str().to_string(), c.body),
            other => panic!("expected a command, got {other:?}"),
        }
    }
}

#[test]
fn full_session() {
    let now = Instant::now();
    let mut s = Session {
        conn: ServerConn::new(ServerConfig::default(), now),
        now,
    };
    s.send(Response::Status(Status::ok(None, None, "moxide ready")));
    assert_eq!(s.server(), "* OK moxide ready\r\n");

    // Pipelined LOGIN and SELECT: handed out one at a time.
    s.client("a1 LOGIN mjl {9+}\r\nmoxmoxmox\r\na2 SELECT INBOX\r\n");
    let (tag, body) = s.command();
    assert_eq!(tag, "a1");
    assert!(matches!(body, CommandBody::Login { ref username, .. } if username == "mjl"));
    assert_eq!(s.conn.poll_event(), None);
    s.ok("a1", "logged in");
    assert_eq!(s.conn.state(), ServerState::Authenticated);
    let (tag, _) = s.command();
    assert_eq!(tag, "a2");
    s.send(Response::Data(Data::Exists(1)));
    s.ok("a2", "selected");
    assert_eq!(s.conn.state(), ServerState::Selected { read_only: false });
    assert_eq!(
        s.server(),
        "a1 OK logged in\r\n* 1 EXISTS\r\na2 OK selected\r\n"
    );

    // APPEND with a synchronising literal, accepted and streamed.
    s.client("a3 APPEND INBOX {7}\r\n");
    match s.conn.poll_event() {
        Some(Event::AppendBegin { head, message }) => {
            assert_eq!(head.mailbox.as_str(), "INBOX");
            assert_eq!(message.literal.len, 7);
        }
        other => panic!("{other:?}"),
    }
    s.conn.accept_append();
    assert_eq!(s.server(), "+ Ready for literal data\r\n");
    s.client("Hi\r\n");
    s.client("x\r\n\r\n");
    let mut data = Vec::new();
    loop {
        match s.conn.poll_event() {
            Some(Event::AppendData(d)) => data.extend_from_slice(&d),
            Some(Event::AppendEnd { last: true }) => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(data, b"Hi\r\nx\r\n");
    s.ok("a3", "appended");

    // A FETCH whose literal the caller streams itself.
    s.client("a4 FETCH 1 BODY[]\r\n");
    assert_eq!(s.command().0, "a4");
    s.conn
        .send_raw(b"* 1 FETCH (BODY[] {7}\r\nHi\r\nx\r\n)\r\n");
    s.ok("a4", "fetched");
    assert_eq!(
        s.server(),
        "a3 OK appended\r\n* 1 FETCH (BODY[] {7}\r\nHi\r\nx\r\n)\r\na4 OK fetched\r\n"
    );

    // IDLE, with the IDLE timeout applying while idling.
    s.client("a5 IDLE\r\n");
    assert_eq!(s.command().1, CommandBody::Idle);
    s.send(Response::Continue(Continue::Text("idling".to_string())));
    s.conn.handle_timeout(s.now);
    assert_eq!(
        s.conn.poll_timeout(),
        Some(s.now + Duration::from_secs(30 * 60))
    );
    s.client("DONE\r\n");
    assert_eq!(s.conn.poll_event(), Some(Event::IdleDone));
    s.ok("a5", "idle done");
    assert_eq!(s.server(), "+ idling\r\na5 OK idle done\r\n");

    // LOGOUT: BYE, tagged OK, then Close.
    s.client("a6 LOGOUT\r\n");
    assert_eq!(s.command().1, CommandBody::Logout);
    s.send(Response::Status(Status::bye(None, "bye")));
    s.ok("a6", "logged out");
    assert_eq!(s.server(), "* BYE bye\r\na6 OK logged out\r\n");
    assert_eq!(s.conn.poll_action(), Some(Action::Close));
    assert_eq!(s.conn.state(), ServerState::Logout);
    assert_eq!(s.conn.poll_timeout(), None);
}

#[test]
fn bad_input_goes_on_with_the_next_line() {
    let now = Instant::now();
    let mut conn = ServerConn::new(ServerConfig::default(), now);
    conn.handle_input(now, b"a1 FETCH\r\n* NOOP\r\na2 LOGIN \"x\r\na3 NOOP\r\n");
    let mut out = Vec::new();
    conn.poll_transmit(&mut out);
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("a1 BAD "));
    assert!(lines[1].starts_with("* BAD "));
    assert!(lines[2].starts_with("a2 BAD "));
    assert!(matches!(conn.poll_event(), Some(Event::Command(c)) if c.tag.as_str() == "a3"));
}
