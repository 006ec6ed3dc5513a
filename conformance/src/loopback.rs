//! Running transcripts over real sockets against a server on loopback:
//! IMAP with STARTTLS, IMAP with implicit TLS (IMAPS), and plain IMAP for
//! `@plain` transcripts. The TLS client accepts any certificate (the
//! servers under test use self-signed ones).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

use crate::runner::{Driver, run, take_line};
use crate::{Transcript, Verdict, judge};

/// How long a read waits for a line the transcript expects.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// How the transcript's connections reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The IMAP port, `STARTTLS` first (the greeting is not compared).
    StartTls,
    /// The IMAPS port, TLS from the start.
    Imaps,
}

/// The addresses of a running server.
#[derive(Debug, Clone, Copy)]
pub struct Server {
    /// IMAP with STARTTLS.
    pub imap: SocketAddr,
    /// IMAP with implicit TLS.
    pub imaps: SocketAddr,
}

/// A connection to the server under test, before or after its TLS
/// handshake.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }

    /// Writes and flushes all of `b`.
    pub(crate) fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(b).and_then(|()| s.flush()),
            Stream::Tls(s) => s.write_all(b).and_then(|()| s.flush()),
        }
    }

    /// The tls-exporter channel binding (RFC 9266); `None` without TLS.
    pub(crate) fn tls_exporter(&self) -> Option<Vec<u8>> {
        match self {
            Stream::Tls(s) => s
                .conn
                .export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", None)
                .ok()
                .map(|b| b.to_vec()),
            Stream::Plain(_) => None,
        }
    }
}

/// The TLS handshake over `tcp` as a client of "localhost" with `cfg`.
pub(crate) fn tls_wrap(cfg: &Arc<ClientConfig>, mut tcp: TcpStream) -> Result<Stream, String> {
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut c = ClientConnection::new(cfg.clone(), name).map_err(|e| e.to_string())?;
    while c.is_handshaking() {
        c.complete_io(&mut tcp)
            .map_err(|e| format!("TLS handshake: {e}"))?;
    }
    Ok(Stream::Tls(Box::new(StreamOwned::new(c, tcp))))
}

struct Connection {
    stream: Stream,
    received: Vec<u8>,
    eof: bool,
}

/// A [`Driver`] over sockets to `server`.
pub struct Loopback {
    server: Server,
    mode: Mode,
    plain: bool,
    tls: Arc<ClientConfig>,
    conns: Vec<Option<Connection>>,
}

impl Loopback {
    /// Connections in `mode`; `plain` transcripts use the IMAP port without
    /// STARTTLS.
    pub fn new(server: Server, mode: Mode, plain: bool) -> Loopback {
        Loopback {
            server,
            mode,
            plain,
            tls: client_config(),
            conns: Vec::new(),
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
        if c.eof {
            return Ok(false);
        }
        match c.stream.read(&mut buf) {
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
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => c.eof = true,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => c.eof = true,
            Err(e) => return Err(format!("reading: {e}")),
        }
    }
    Ok(true)
}

impl Driver for Loopback {
    fn open(&mut self, n: usize) -> Result<(), String> {
        let addr = match (self.plain, self.mode) {
            (true, _) | (false, Mode::StartTls) => self.server.imap,
            (false, Mode::Imaps) => self.server.imaps,
        };
        let tcp = TcpStream::connect(addr).map_err(|e| format!("connecting to {addr}: {e}"))?;
        tcp.set_read_timeout(Some(READ_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        let stream = if self.plain {
            Stream::Plain(tcp)
        } else if self.mode == Mode::Imaps {
            tls_wrap(&self.tls, tcp)?
        } else {
            // The greeting, then STARTTLS (RFC 9051 6.2.1).
            let mut c = Connection {
                stream: Stream::Plain(tcp.try_clone().map_err(|e| e.to_string())?),
                received: Vec::new(),
                eof: false,
            };
            fill_line(&mut c)?;
            take_line(&mut c.received).ok_or("no greeting")?;
            c.stream
                .write_all(b"tls0 STARTTLS\r\n")
                .map_err(|e| e.to_string())?;
            fill_line(&mut c)?;
            let reply = take_line(&mut c.received).ok_or("no reply to STARTTLS")?;
            if !reply.starts_with(b"tls0 OK") {
                return Err(format!("STARTTLS: {}", crate::runner::render(&reply)));
            }
            tls_wrap(&self.tls, tcp)?
        };
        if self.conns.len() < n {
            self.conns.resize_with(n, || None);
        }
        self.conns[n - 1] = Some(Connection {
            stream,
            received: Vec::new(),
            eof: false,
        });
        Ok(())
    }

    fn send(&mut self, n: usize, bytes: &[u8]) -> Result<(), String> {
        let c = self.conn(n)?;
        c.stream
            .write_all(bytes)
            .map_err(|e| format!("session {n}: writing: {e}"))
    }

    fn next_line(&mut self, n: usize) -> Result<Option<Vec<u8>>, String> {
        let c = self.conn(n)?;
        fill_line(c)?;
        Ok(take_line(&mut c.received))
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
        self.plain || self.mode == Mode::Imaps
    }

    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }

    fn tls_exporter(&mut self, n: usize) -> Option<Vec<u8>> {
        self.conn(n).ok()?.stream.tls_exporter()
    }
}

/// Runs the transcripts in `mode`, each against a fresh server from
/// `start` (which returns its addresses and a guard that stops it when
/// dropped), a few at a time, and returns (name, verdict) pairs in order.
pub fn run_all<G>(
    transcripts: &[Transcript],
    mode: Mode,
    start: impl Fn() -> Result<(Server, G), String> + Sync,
) -> Vec<(String, Verdict)> {
    let verdicts = crate::par_map(transcripts, |t| {
        if let Some(reason) = &t.core_only {
            return Verdict::Skipped {
                reason: reason.clone(),
            };
        }
        match start() {
            Ok((server, guard)) => {
                let mut d = Loopback::new(server, mode, t.plain);
                let o = run(t, &mut d);
                drop(d);
                drop(guard);
                judge(t, &o)
            }
            Err(e) => Verdict::Failed(format!("starting the server: {e}")),
        }
    });
    transcripts
        .iter()
        .map(|t| t.name.clone())
        .zip(verdicts)
        .collect()
}

/// A client configuration that accepts any server certificate.
pub fn client_config() -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
                .with_no_client_auth()
        });
    match cfg {
        Ok(c) => Arc::new(c),
        // The ring provider supports the default versions.
        Err(e) => panic!("TLS client configuration: {e}"),
    }
}

/// Accepts every certificate, still checking handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
