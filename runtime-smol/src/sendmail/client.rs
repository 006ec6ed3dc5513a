//! A small blocking SMTP submission client (RFC 5321, RFC 6409, RFC 3207
//! STARTTLS, RFC 4954 AUTH PLAIN and EXTERNAL with a TLS client
//! certificate) over std::net and rustls, for `moxide sendmail`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
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
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots);
    let cfg = match client_identity(cfg)? {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("client certificate: {e}"))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

/// A certificate chain and private key to present.
type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// The TLS client certificate of the configuration: the key and
/// certificates of `client_cert`, or a certificate made for the ed25519
/// key of `client_key_seed` (its common name the username, else
/// "moxide-sendmail"; the server only looks at the key).
pub fn client_identity(cfg: &Config) -> Result<Option<Identity>, String> {
    if let Some(path) = &cfg.client_cert {
        let shown = path.display();
        let key = PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => {
                format!("client_cert {shown}: no private key in the file")
            }
            e => format!("client_cert {shown}: {e}"),
        })?;
        let chain = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("client_cert {shown}: {e}"))?;
        if chain.is_empty() {
            return Err(format!("client_cert {shown}: no certificate in the file"));
        }
        return Ok(Some((chain, key)));
    }
    if let Some(seed) = &cfg.client_key_seed {
        let name = cfg.username.as_deref().unwrap_or("moxide-sendmail");
        let g = moxide_engine::admin::keygen::from_seed_text(seed, name)
            .map_err(|e| format!("client_key_seed: {e}"))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(g.key_der));
        return Ok(Some((vec![CertificateDer::from(g.cert_der)], key)));
    }
    Ok(None)
}

/// The SASL mechanisms of an EHLO reply's AUTH line (RFC 4954 3); `None`
/// when the server offers no AUTH.
fn auth_mechanisms(ehlo: &str) -> Option<Vec<String>> {
    ehlo.lines().find_map(|l| {
        let kw = l.get(4..)?;
        let mut words = kw.split_ascii_whitespace();
        let first = words.next()?;
        first
            .eq_ignore_ascii_case("AUTH")
            .then(|| words.map(|w| w.to_ascii_uppercase()).collect())
    })
}

/// How to log in after EHLO.
#[derive(Debug, PartialEq, Eq)]
enum Login {
    /// AUTH EXTERNAL with this initial response (base64 of the
    /// authorization identity, "=" for none; RFC 4954 4).
    External(String),
    /// AUTH PLAIN with this initial response.
    Plain(String),
    /// No AUTH: the server offers none; with a client certificate, the
    /// connection was authenticated by it.
    None,
}

/// Chooses the login: EXTERNAL when a client certificate is presented and
/// the server offers it, nothing when a certificate is presented and the
/// server offers no AUTH, else PLAIN with the password.
fn choose_login(
    cfg: &Config,
    password: Option<&str>,
    ehlo: &str,
    tls: bool,
) -> Result<Login, String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mechs = auth_mechanisms(ehlo);
    if cfg.has_client_cert() && tls {
        match &mechs {
            Some(m) if m.iter().any(|m| m == "EXTERNAL") => {
                let authz = cfg.username.as_deref().map_or("=".to_string(), b64);
                return Ok(Login::External(authz));
            }
            None => return Ok(Login::None),
            Some(_) => {}
        }
    }
    match (password, &cfg.username) {
        (Some(p), Some(u)) => Ok(Login::Plain(b64(&format!("\0{u}\0{p}")))),
        _ => Err(format!(
            "the server does not offer AUTH EXTERNAL for the client certificate (it offers: {})",
            mechs.unwrap_or_default().join(" ")
        )),
    }
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
    password: Option<&str>,
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
    let mut ehlo_reply = s.command(ehlo, "EHLO", 2)?;
    if let Some(tcp) = raw {
        s.command("STARTTLS", "STARTTLS", 2)?;
        // No input may be buffered past the 220 (RFC 3207 5).
        if !s.r.buffer().is_empty() {
            return Err("the server sent data after STARTTLS".into());
        }
        s = Session {
            r: BufReader::new(tls_stream(cfg, &host, tcp)?),
        };
        ehlo_reply = s.command(ehlo, "EHLO after STARTTLS", 2)?;
    }
    match choose_login(cfg, password, &ehlo_reply, cfg.tls != TlsMode::Plain)? {
        Login::External(authz) => {
            s.send(format!("AUTH EXTERNAL {authz}\r\n").as_bytes())?;
            s.expect(
                "AUTH EXTERNAL (is the client certificate registered with `moxide config tlspubkey add`?)",
                2,
            )?;
        }
        Login::Plain(plain) => {
            s.send(format!("AUTH PLAIN {plain}\r\n").as_bytes())?;
            s.expect("AUTH (check username and password)", 2)?;
        }
        Login::None => {}
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(username: Option<&str>, seed: bool) -> Config {
        Config {
            server: "127.0.0.1:1".into(),
            tls: TlsMode::Tls,
            tls_ca: None,
            tls_server_name: None,
            username: username.map(str::to_string),
            password: None,
            password_file: None,
            from: None,
            client_cert: None,
            client_key_seed: seed.then(|| "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A".into()),
        }
    }

    const EHLO_EXTERNAL: &str =
        "250-localhost\n250-PIPELINING\n250-AUTH PLAIN EXTERNAL\n250 8BITMIME";
    const EHLO_PLAIN: &str = "250-localhost\n250-AUTH PLAIN SCRAM-SHA-256\n250 8BITMIME";
    const EHLO_NO_AUTH: &str = "250-localhost\n250 8BITMIME";

    #[test]
    fn auth_line_is_read() {
        assert_eq!(
            auth_mechanisms(EHLO_EXTERNAL),
            Some(vec!["PLAIN".to_string(), "EXTERNAL".to_string()])
        );
        assert_eq!(auth_mechanisms("250 AUTH"), Some(vec![]));
        assert_eq!(auth_mechanisms(EHLO_NO_AUTH), None);
    }

    #[test]
    fn login_prefers_external_with_a_certificate() {
        let c = config(Some("mox@localhost"), true);
        assert_eq!(
            choose_login(&c, None, EHLO_EXTERNAL, true).unwrap(),
            Login::External("bW94QGxvY2FsaG9zdA==".into())
        );
        let c = config(None, true);
        assert_eq!(
            choose_login(&c, None, EHLO_EXTERNAL, true).unwrap(),
            Login::External("=".into())
        );
        assert_eq!(
            choose_login(&c, None, EHLO_NO_AUTH, true).unwrap(),
            Login::None
        );
        assert_eq!(
            choose_login(&c, None, EHLO_PLAIN, true).unwrap_err(),
            "the server does not offer AUTH EXTERNAL for the client certificate (it offers: PLAIN SCRAM-SHA-256)"
        );
        // A password is the fall-back.
        let c = config(Some("u"), true);
        assert_eq!(
            choose_login(&c, Some("p"), EHLO_PLAIN, true).unwrap(),
            Login::Plain("AHUAcA==".into())
        );
        // Without a certificate, PLAIN even when EXTERNAL is offered.
        let c = config(Some("u"), false);
        assert_eq!(
            choose_login(&c, Some("p"), EHLO_EXTERNAL, true).unwrap(),
            Login::Plain("AHUAcA==".into())
        );
    }

    #[test]
    fn identity_from_a_seed_and_from_bad_files() {
        let c = config(Some("me"), true);
        let (chain, key) = client_identity(&c).unwrap().unwrap();
        assert_eq!(chain.len(), 1);
        let k = moxide_proto::tls_key::parse_certificate(&chain[0]).unwrap();
        assert_eq!(k.default_name, "me");
        let g = moxide_engine::admin::keygen::from_seed_text(
            "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "x",
        )
        .unwrap();
        assert_eq!(k.fingerprint, g.fingerprint);
        assert!(matches!(key, PrivateKeyDer::Pkcs8(_)));
        assert_eq!(client_identity(&config(None, false)).unwrap(), None);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.pem");
        let mut c = config(None, false);
        c.client_cert = Some(path.clone());
        let err = |c: &Config| client_identity(c).unwrap_err();
        let missing = err(&c);
        assert!(
            missing.starts_with(&format!("client_cert {}: ", path.display())),
            "{missing}"
        );
        std::fs::write(&path, &g.cert_pem).unwrap();
        assert_eq!(
            err(&c),
            format!("client_cert {}: no private key in the file", path.display())
        );
        std::fs::write(&path, &g.key_pem).unwrap();
        assert_eq!(
            err(&c),
            format!("client_cert {}: no certificate in the file", path.display())
        );
        std::fs::write(&path, format!("{}{}", g.key_pem, g.cert_pem)).unwrap();
        let (chain, _) = client_identity(&c).unwrap().unwrap();
        assert_eq!(chain, vec![CertificateDer::from(g.cert_der)]);
    }
}
