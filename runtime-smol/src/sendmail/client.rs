//! A small blocking SMTP submission client (RFC 5321, RFC 6409, RFC 3207
//! STARTTLS, RFC 4954 AUTH PLAIN) over std::net and rustls, for
//! `moxide sendmail`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::{Config, TlsMode};

/// The system's CA bundle (Debian and derivatives).
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Network timeout per read or write.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

struct Session {
    r: BufReader<Box<dyn Stream>>,
}

impl Session {
    /// Reads one reply: its code and text lines.
    fn reply(&mut self) -> Result<(u16, String), String> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self
                .r
                .read_line(&mut line)
                .map_err(|e| format!("reading from the server: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            let line = line.trim_end();
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("malformed reply {line:?}"))?;
            text.push_str(line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, text));
            }
            text.push('\n');
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        let w = self.r.get_mut();
        w.write_all(bytes)
            .and_then(|()| w.flush())
            .map_err(|e| format!("writing to the server: {e}"))
    }

    /// Sends a command and expects a reply of class `want` (2 or 3).
    fn command(&mut self, cmd: &str, shown: &str, want: u16) -> Result<String, String> {
        self.send(format!("{cmd}\r\n").as_bytes())?;
        self.expect(shown, want)
    }

    fn expect(&mut self, what: &str, want: u16) -> Result<String, String> {
        let (code, text) = self.reply()?;
        if code / 100 != want {
            return Err(format!("{what}: the server said: {text}"));
        }
        Ok(text)
    }
}

fn tls_config(cfg: &Config) -> Result<Arc<ClientConfig>, String> {
    let path = cfg.tls_ca.clone().unwrap_or_else(|| SYSTEM_CAS.into());
    let mut roots = RootCertStore::empty();
    let iter = CertificateDer::pem_file_iter(&path)
        .map_err(|e| format!("reading certificates from {}: {e}", path.display()))?;
    for c in iter {
        let c = c.map_err(|e| format!("reading certificates from {}: {e}", path.display()))?;
        roots
            .add(c)
            .map_err(|e| format!("certificate in {}: {e}", path.display()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS set-up: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

fn tls_stream(cfg: &Config, host: &str, tcp: TcpStream) -> Result<Box<dyn Stream>, String> {
    let name = cfg
        .tls_server_name
        .clone()
        .unwrap_or_else(|| host.to_string());
    let server_name =
        ServerName::try_from(name.clone()).map_err(|e| format!("TLS server name {name:?}: {e}"))?;
    let conn = ClientConnection::new(tls_config(cfg)?, server_name)
        .map_err(|e| format!("TLS set-up: {e}"))?;
    let mut s = StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn
            .complete_io(&mut s.sock)
            .map_err(|e| format!("TLS handshake with {}: {e}", cfg.server))?;
    }
    Ok(Box::new(s))
}

/// Connects, authenticates and submits `message` for `rcpts`.
pub fn submit(
    cfg: &Config,
    password: &str,
    sender: &str,
    rcpts: &[String],
    message: &[u8],
) -> Result<(), String> {
    let host = cfg
        .server
        .rsplit_once(':')
        .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']'))
        .ok_or_else(|| format!("server {:?}: want host:port", cfg.server))?
        .to_string();
    let addrs: Vec<_> = cfg
        .server
        .to_socket_addrs()
        .map_err(|e| format!("resolving {}: {e}", cfg.server))?
        .collect();
    if cfg.tls == TlsMode::Plain && !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err(format!(
            "server {}: tls = \"plain\" is only allowed to loopback addresses",
            cfg.server
        ));
    }
    let tcp = TcpStream::connect(addrs.as_slice())
        .map_err(|e| format!("connecting to {}: {e}", cfg.server))?;
    let _ = tcp.set_read_timeout(Some(IO_TIMEOUT));
    let _ = tcp.set_write_timeout(Some(IO_TIMEOUT));
    // For STARTTLS: the same socket, to continue with TLS once the
    // plaintext session is dropped.
    let raw = match cfg.tls {
        TlsMode::Starttls => Some(
            tcp.try_clone()
                .map_err(|e| format!("connecting to {}: {e}", cfg.server))?,
        ),
        _ => None,
    };
    let stream: Box<dyn Stream> = match cfg.tls {
        TlsMode::Tls => tls_stream(cfg, &host, tcp)?,
        TlsMode::Starttls | TlsMode::Plain => Box::new(tcp),
    };
    let mut s = Session {
        r: BufReader::new(stream),
    };
    s.expect("greeting", 2)?;
    let ehlo = "EHLO localhost";
    s.command(ehlo, "EHLO", 2)?;
    if let Some(tcp) = raw {
        s.command("STARTTLS", "STARTTLS", 2)?;
        // No input may be buffered past the 220 (RFC 3207 5).
        if !s.r.buffer().is_empty() {
            return Err("the server sent data after STARTTLS".into());
        }
        s = Session {
            r: BufReader::new(tls_stream(cfg, &host, tcp)?),
        };
        s.command(ehlo, "EHLO after STARTTLS", 2)?;
    }
    let plain =
        base64::engine::general_purpose::STANDARD.encode(format!("\0{}\0{password}", cfg.username));
    s.send(format!("AUTH PLAIN {plain}\r\n").as_bytes())?;
    s.expect("AUTH (check username and password)", 2)?;
    s.command(&format!("MAIL FROM:<{sender}>"), "MAIL FROM", 2)?;
    for r in rcpts {
        s.command(&format!("RCPT TO:<{r}>"), &format!("RCPT TO {r}"), 2)?;
    }
    s.command("DATA", "DATA", 3)?;
    let mut data = Vec::with_capacity(message.len() + 64);
    for line in message.split_inclusive(|&b| b == b'\n') {
        // RFC 5321 4.5.2: dot-stuffing.
        if line.first() == Some(&b'.') {
            data.push(b'.');
        }
        data.extend_from_slice(line);
    }
    if !data.ends_with(b"\r\n") {
        data.extend_from_slice(b"\r\n");
    }
    data.extend_from_slice(b".\r\n");
    s.send(&data)?;
    s.expect("message", 2)?;
    let _ = s.command("QUIT", "QUIT", 2);
    Ok(())
}
