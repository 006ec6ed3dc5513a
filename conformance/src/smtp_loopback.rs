//! Running SMTP transcripts over real sockets against a running
//! localserve: SMTP and submission with STARTTLS done before the
//! transcript (unless `@plain`), submissions with implicit TLS. Under
//! `@plain` a `STARTTLS` the transcript sends is followed by a real TLS
//! handshake once the server's `220` arrives (RFC 3207 4). `@stored`
//! counts the messages in the server's store.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use moxide_storage::Store;
use rustls::ClientConfig;

use crate::loopback::{Stream, tls_wrap};
use crate::runner::{Driver, render, take_line};
use crate::smtp::{Port, SmtpTranscript};
use crate::smtp_runner::{SmtpDriver, run};
use crate::{Verdict, judge};

/// How long a read waits for a line the transcript expects.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// A running server: its SMTP addresses and its store.
#[derive(Clone)]
pub struct SmtpServer {
    /// Inbound SMTP (STARTTLS offered).
    pub smtp: SocketAddr,
    /// Submission with STARTTLS.
    pub submission: SocketAddr,
    /// Submission with implicit TLS.
    pub submissions: SocketAddr,
    /// The server's store, for `@stored`.
    pub store: Arc<Store>,
}

struct Connection {
    stream: Option<Stream>,
    received: Vec<u8>,
    eof: bool,
    /// The client sent STARTTLS in plaintext: a `220` reply starts TLS.
    starttls_sent: bool,
}

/// A [`SmtpDriver`] over sockets to a running server.
pub struct SmtpLoopback {
    server: SmtpServer,
    port: Port,
    plain: bool,
    tls: Arc<ClientConfig>,
    conns: Vec<Option<Connection>>,
    greeting_visible: bool,
}

impl SmtpLoopback {
    /// Connections to `server`; `plain` transcripts get no TLS before
    /// they start.
    pub fn new(server: SmtpServer, plain: bool) -> SmtpLoopback {
        SmtpLoopback {
            server,
            port: Port::Smtp,
            plain,
            tls: crate::loopback::client_config(),
            conns: Vec::new(),
            greeting_visible: true,
        }
    }

    fn conn(&mut self, n: usize) -> Result<&mut Connection, String> {
        match self.conns.get_mut(n.wrapping_sub(1)) {
            Some(Some(c)) => Ok(c),
            _ => Err(format!("session {n} is not open")),
        }
    }
}

/// Reads until `c.received` holds a CRLF; false on timeout or EOF.
fn fill_line(c: &mut Connection) -> Result<bool, String> {
    let mut buf = [0u8; 16 * 1024];
    while !c.received.windows(2).any(|w| w == b"\r\n") {
        let Some(stream) = c.stream.as_mut() else {
            return Ok(false);
        };
        if c.eof {
            return Ok(false);
        }
        match stream.read(&mut buf) {
            Ok(0) => c.eof = true,
            Ok(n) => c.received.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Ok(false);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                c.eof = true
            }
            Err(e) => return Err(format!("reading: {e}")),
        }
    }
    Ok(true)
}

/// Reads one reply (all its lines); returns its last line.
fn read_reply(c: &mut Connection) -> Result<Vec<u8>, String> {
    loop {
        fill_line(c)?;
        let line = take_line(&mut c.received).ok_or("no reply")?;
        if line.get(3) != Some(&b'-') {
            return Ok(line);
        }
    }
}

impl Driver for SmtpLoopback {
    fn open(&mut self, n: usize) -> Result<(), String> {
        let addr = match self.port {
            Port::Smtp => self.server.smtp,
            Port::Submission => self.server.submission,
            Port::Submissions => self.server.submissions,
        };
        let tcp = TcpStream::connect(addr).map_err(|e| format!("connecting to {addr}: {e}"))?;
        tcp.set_read_timeout(Some(READ_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        let stream = if self.port == Port::Submissions {
            self.greeting_visible = true;
            tls_wrap(&self.tls, tcp)?
        } else if self.plain {
            self.greeting_visible = true;
            Stream::Plain(tcp)
        } else {
            // The greeting, EHLO, then STARTTLS (RFC 3207 4); the
            // transcript starts on the TLS connection, before its EHLO.
            self.greeting_visible = false;
            let mut c = Connection {
                stream: Some(Stream::Plain(tcp.try_clone().map_err(|e| e.to_string())?)),
                received: Vec::new(),
                eof: false,
                starttls_sent: false,
            };
            let plain = |c: &mut Connection, cmd: &[u8]| -> Result<Vec<u8>, String> {
                if let Some(s) = c.stream.as_mut() {
                    s.write_all(cmd).map_err(|e| e.to_string())?;
                }
                read_reply(c)
            };
            read_reply(&mut c)?;
            plain(&mut c, b"EHLO conformance.example\r\n")?;
            let reply = plain(&mut c, b"STARTTLS\r\n")?;
            if !reply.starts_with(b"220 ") {
                return Err(format!("STARTTLS: {}", render(&reply)));
            }
            tls_wrap(&self.tls, tcp)?
        };
        if self.conns.len() < n {
            self.conns.resize_with(n, || None);
        }
        self.conns[n - 1] = Some(Connection {
            stream: Some(stream),
            received: Vec::new(),
            eof: false,
            starttls_sent: false,
        });
        Ok(())
    }

    fn send(&mut self, n: usize, bytes: &[u8]) -> Result<(), String> {
        let c = self.conn(n)?;
        if matches!(c.stream, Some(Stream::Plain(_)))
            && bytes
                .split(|&b| b == b'\n')
                .any(|l| l.eq_ignore_ascii_case(b"STARTTLS\r"))
        {
            c.starttls_sent = true;
        }
        let Some(s) = c.stream.as_mut() else {
            return Err(format!("session {n}: sending after @eof"));
        };
        s.write_all(bytes)
            .map_err(|e| format!("session {n}: writing: {e}"))
    }

    fn next_line(&mut self, n: usize) -> Result<Option<Vec<u8>>, String> {
        let cfg = self.tls.clone();
        let c = self.conn(n)?;
        fill_line(c)?;
        let line = take_line(&mut c.received);
        if c.starttls_sent
            && let Some(l) = &line
        {
            c.starttls_sent = false;
            if l.starts_with(b"220 ") {
                if !c.received.is_empty() {
                    return Err("the server sent more after its 220 to STARTTLS".into());
                }
                match c.stream.take() {
                    Some(Stream::Plain(tcp)) => c.stream = Some(tls_wrap(&cfg, tcp)?),
                    other => c.stream = other,
                }
            }
        }
        Ok(line)
    }

    fn pending_lines(&mut self, n: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if let Ok(c) = self.conn(n) {
            while let Some(l) = take_line(&mut c.received) {
                out.push(l);
            }
        }
        out
    }

    fn greeting_visible(&self) -> bool {
        self.greeting_visible
    }

    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }

    fn tls_exporter(&mut self, n: usize) -> Option<Vec<u8>> {
        self.conn(n).ok()?.stream.as_ref()?.tls_exporter()
    }

    /// Ends the client's side (TLS close_notify, then a TCP half-close);
    /// the server's last lines can still be read.
    fn eof(&mut self, n: usize) -> Result<(), String> {
        let c = self.conn(n)?;
        match c.stream.as_mut() {
            Some(Stream::Plain(s)) => {
                let _ = s.shutdown(Shutdown::Write);
            }
            Some(Stream::Tls(s)) => {
                s.conn.send_close_notify();
                let _ = s.flush();
                let _ = s.sock.shutdown(Shutdown::Write);
            }
            None => {}
        }
        Ok(())
    }
}

impl SmtpDriver for SmtpLoopback {
    fn set_port(&mut self, port: Port) {
        self.port = port;
    }

    fn stored_count(&mut self) -> Result<usize, String> {
        Ok(crate::smtp_core::stored_messages(&self.server.store)?.len())
    }

    /// The server's clock and ids are real: nothing to snapshot.
    fn stored_dump(&mut self) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }
}

/// Runs the transcripts, each against a fresh server from `start` (its
/// addresses and store, and a guard that stops it when dropped), a few at
/// a time, and returns (name, verdict) pairs in order.
pub fn run_all<G>(
    transcripts: &[SmtpTranscript],
    start: impl Fn() -> Result<(SmtpServer, G), String> + Sync,
) -> Vec<(String, Verdict)> {
    let verdicts = crate::par_map(transcripts, |t| {
        if let Some(reason) = &t.meta.core_only {
            return Verdict::Skipped {
                reason: reason.clone(),
            };
        }
        match start() {
            Ok((server, guard)) => {
                let o = run(t, SmtpLoopback::new(server, t.meta.plain));
                drop(guard);
                judge(&t.meta, &o)
            }
            Err(e) => Verdict::Failed(format!("starting the server: {e}")),
        }
    });
    transcripts
        .iter()
        .map(|t| t.meta.name.clone())
        .zip(verdicts)
        .collect()
}
