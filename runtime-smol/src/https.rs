//! HTTPS GET, answering [`Need::Https`] (the MTA-STS policy fetch, RFC
//! 8461 3.3) in both runtimes and for the queue runner.
//!
//! Public API:
//! - [`get`]`(req, tls)`: one GET as the contract of [`HttpsRequest`] says.
//! - [`HttpsTls`]: the rustls client configuration it verifies with,
//!   trusting the Mozilla roots of webpki-roots (the same on every box, no
//!   dependency on the host's CA bundle) plus optional extra CA
//!   certificates ([`HttpsTls::with_extra_roots`], [`HttpsTls::with_extra_pem`],
//!   [`load_ca_file`]); tests pass their test CA this way.
//! - [`shared`] / [`install_shared`] / [`get_shared`]: the process's
//!   configuration, used by the drive loops.
//!
//! How: the host resolved through the process's resolver
//! ([`crate::dns::shared`]), IPv6 addresses first; TCP through async-io;
//! TLS through futures-rustls with the server's certificate verified for
//! the URL's host (PKIX); HTTP/1.1 through hyper's client connection. One
//! request per connection (`Connection: close`), no redirects followed, no
//! caching; a deadline over the whole exchange; the body read no further
//! than the request allows.
//!
//! Works from any executor (smol, tokio, `block_on`): the sockets and the
//! timer run on async-io's reactor.
//!
//! [`Need::Https`]: moxide_proto::conn::Need::Https

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_io::Timer;
use futures_lite::future;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
use moxide_proto::conn::{HttpsError, HttpsErrorKind, HttpsRequest, HttpsResponse};
use moxide_proto::dns::{Lookup, Query, Rdata, RecordType, normalize_name};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use smol::net::TcpStream;
use smol_hyper::rt::FuturesIo;

/// The `User-Agent` sent.
const USER_AGENT_VALUE: &str = concat!("moxide/", env!("CARGO_PKG_VERSION"));

/// The TLS side of [`get`]: a rustls client configuration (ring provider,
/// HTTP/1.1 by ALPN) whose trusted roots are the Mozilla set of
/// webpki-roots plus any extra CA certificates given (a private CA, or a
/// test CA). Cheap to clone; build it once and reuse it.
#[derive(Clone)]
pub struct HttpsTls {
    config: Arc<ClientConfig>,
}

impl std::fmt::Debug for HttpsTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsTls").finish_non_exhaustive()
    }
}

impl HttpsTls {
    /// Trusts the webpki-roots set only.
    pub fn webpki_roots() -> Result<HttpsTls, HttpsError> {
        HttpsTls::with_extra_roots(&[])
    }

    /// Trusts the webpki-roots set and `extra_roots`. Fails only if the
    /// ring provider lacks the default TLS versions.
    pub fn with_extra_roots(
        extra_roots: &[CertificateDer<'static>],
    ) -> Result<HttpsTls, HttpsError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let (_, _) = roots.add_parsable_certificates(extra_roots.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut cfg = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpsError::new(HttpsErrorKind::Tls, format!("TLS set-up: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(HttpsTls {
            config: Arc::new(cfg),
        })
    }

    /// Trusts the webpki-roots set and the CA certificates of a PEM text
    /// (e.g. a test CA); an error says what is wrong with the PEM.
    pub fn with_extra_pem(pem: &[u8]) -> Result<HttpsTls, String> {
        let certs = parse_ca_pem(pem)?;
        HttpsTls::with_extra_roots(&certs).map_err(|e| e.detail)
    }

    /// The rustls configuration.
    pub fn client_config(&self) -> &Arc<ClientConfig> {
        &self.config
    }
}

/// The CA certificates of a PEM text: at least one, each usable as a
/// trust anchor; an error says what is wrong.
pub fn parse_ca_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no \"BEGIN CERTIFICATE\" block found".into());
    }
    let mut check = RootCertStore::empty();
    let (_, bad) = check.add_parsable_certificates(certs.iter().cloned());
    if bad > 0 {
        return Err(format!(
            "{bad} of {} certificates cannot be used as trust anchors",
            certs.len()
        ));
    }
    Ok(certs)
}

/// The CA certificates of a PEM file ([`parse_ca_pem`]); an error names
/// the file and what is wrong.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    parse_ca_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))
}

/// The TLS configuration of the process's HTTPS requests.
static SHARED: OnceLock<Result<HttpsTls, HttpsError>> = OnceLock::new();

/// Makes `tls` the configuration [`shared`] returns (call once at
/// start-up, before serving, e.g. with a CA from the config). Returns
/// `tls` back when one is already in use.
pub fn install_shared(tls: HttpsTls) -> Result<(), HttpsTls> {
    SHARED.set(Ok(tls.clone())).map_err(|_| tls)
}

/// The process's HTTPS client configuration: the installed one, else
/// [`HttpsTls::webpki_roots`].
pub fn shared() -> Result<HttpsTls, HttpsError> {
    SHARED.get_or_init(HttpsTls::webpki_roots).clone()
}

/// [`get`] with the process's configuration ([`shared`]).
pub async fn get_shared(req: &HttpsRequest) -> Result<HttpsResponse, HttpsError> {
    get(req, &shared()?).await
}

/// Performs `req` as the contract of [`HttpsRequest`] says: PKIX
/// verification of the URL's host against `tls`'s roots, no redirects
/// followed (a 3xx is the response), one deadline (`req.timeout`) over
/// resolving, connecting, TLS, request and body. A 200 whose body exceeds
/// `max_body` is [`HttpsErrorKind::TooLarge`], detected while reading; the
/// body of any other status is cut at `max_body` (not an error), so that
/// e.g. a large 404 page still reports 404.
pub async fn get(req: &HttpsRequest, tls: &HttpsTls) -> Result<HttpsResponse, HttpsError> {
    let deadline = async {
        Timer::after(req.timeout).await;
        Err(HttpsError::new(
            HttpsErrorKind::Timeout,
            format!(
                "no complete response from {} within {} s",
                req.url,
                req.timeout.as_secs_f32()
            ),
        ))
    };
    future::or(exchange(req, tls.config.clone()), deadline).await
}

/// Where a URL points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// A canonical domain name, or an IP address.
    host: Host,
    port: u16,
    /// The `Host` header: as in the URL.
    authority: String,
    /// Path and query, starting with `/`.
    path: String,
}

#[derive(Debug, PartialEq, Eq)]
enum Host {
    Name(String),
    Ip(IpAddr),
}

fn url_error(url: &str, why: &str) -> HttpsError {
    HttpsError::new(HttpsErrorKind::Url, format!("URL {url:?}: {why}"))
}

/// Splits `https://host[:port][/path]`.
fn parse_url(url: &str) -> Result<Target, HttpsError> {
    let rest = url
        .get(..8)
        .filter(|s| s.eq_ignore_ascii_case("https://"))
        .and_then(|_| url.get(8..))
        .ok_or_else(|| url_error(url, "not an https:// URL"))?;
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let path = path.split('#').next().unwrap_or_default();
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    if authority.contains('@') {
        return Err(url_error(url, "user information is not supported"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (ip, after) = v6
            .split_once(']')
            .ok_or_else(|| url_error(url, "unclosed '[' in host"))?;
        let ip: IpAddr = ip.parse().map_err(|_| url_error(url, "bad IPv6 address"))?;
        match after {
            "" => (Host::Ip(ip), None),
            p => (
                Host::Ip(ip),
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| url_error(url, "bad port"))?,
                ),
            ),
        }
    } else {
        let (h, p) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let host = match h.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip),
            Err(_) => Host::Name(
                normalize_name(h).map_err(|e| url_error(url, &format!("host {h:?}: {e}")))?,
            ),
        };
        (host, p)
    };
    let port = match port {
        None => 443,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| url_error(url, &format!("port {p:?} is not 1 to 65535")))?,
    };
    Ok(Target {
        host,
        port,
        authority: authority.to_string(),
        path,
    })
}

async fn exchange(req: &HttpsRequest, tls: Arc<ClientConfig>) -> Result<HttpsResponse, HttpsError> {
    let target = parse_url(&req.url)?;
    let server_name = match &target.host {
        Host::Name(n) => ServerName::try_from(n.clone()),
        Host::Ip(ip) => Ok(ServerName::from(*ip)),
    }
    .map_err(|e| url_error(&req.url, &format!("host: {e}")))?;
    let tcp = connect(&target).await?;
    let host_text = server_name.to_str().into_owned();
    let stream = futures_rustls::TlsConnector::from(tls)
        .connect(server_name, tcp)
        .await
        .map_err(|e| tls_error(&host_text, &e))?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(FuturesIo::new(stream))
            .await
            .map_err(|e| http_error(&e))?;
    let request = hyper::Request::get(target.path.as_str())
        .header(HOST, target.authority.as_str())
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(CONNECTION, "close")
        .body(Empty::new())
        .map_err(|e| url_error(&req.url, &e.to_string()))?;
    let max_body = req.max_body;
    let talk = async move {
        let resp = sender
            .send_request(request)
            .await
            .map_err(|e| http_error(&e))?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let declared = resp
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let too_large = || {
            HttpsError::new(
                HttpsErrorKind::TooLarge,
                format!("body larger than {max_body} bytes"),
            )
        };
        let cut = status != 200;
        if !cut && declared.is_some_and(|n| n > max_body as u64) {
            return Err(too_large());
        }
        let mut body_stream = resp.into_body();
        let mut body = Vec::new();
        while let Some(frame) = body_stream.frame().await {
            let frame = frame.map_err(|e| http_error(&e))?;
            let Ok(data) = frame.into_data() else {
                continue; // trailers
            };
            let room = max_body.saturating_sub(body.len());
            if data.len() > room {
                if !cut {
                    return Err(too_large());
                }
                body.extend_from_slice(data.get(..room).unwrap_or_default());
                break;
            }
            body.extend_from_slice(&data);
        }
        Ok(HttpsResponse {
            status,
            content_type,
            body,
        })
    };
    // The connection task runs alongside; when it ends the request side
    // sees the error (or has its response already).
    let drive = async {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "HTTPS connection ended");
        }
        future::pending::<Result<HttpsResponse, HttpsError>>().await
    };
    future::or(talk, drive).await
}

/// The addresses of the target, IPv6 first, through the process's resolver.
async fn addresses(target: &Target) -> Result<Vec<IpAddr>, HttpsError> {
    let name = match &target.host {
        Host::Ip(ip) => return Ok(vec![*ip]),
        Host::Name(n) => n,
    };
    let resolver = crate::dns::shared();
    let (aaaa, a) = future::zip(
        resolver.lookup(Query::new(name.clone(), RecordType::Aaaa)),
        resolver.lookup(Query::new(name.clone(), RecordType::A)),
    )
    .await;
    let ips: Vec<IpAddr> = aaaa
        .data()
        .iter()
        .chain(a.data())
        .filter_map(|d| match d {
            Rdata::A(ip) => Some(IpAddr::V4(*ip)),
            Rdata::Aaaa(ip) => Some(IpAddr::V6(*ip)),
            _ => None,
        })
        .collect();
    if !ips.is_empty() {
        return Ok(ips);
    }
    let why = match (&a, &aaaa) {
        (Lookup::NxDomain { .. }, _) => "no such domain (NXDOMAIN)".to_string(),
        (Lookup::Failed(f), _) | (_, Lookup::Failed(f)) => format!("lookup failed: {f}"),
        _ => "no A or AAAA records".to_string(),
    };
    Err(HttpsError::new(
        HttpsErrorKind::Dns,
        format!("{name}: {why}"),
    ))
}

/// How long one address may take to accept before the next is tried, so
/// that an unreachable IPv6 address that drops packets does not use up
/// the whole request's deadline before IPv4 is tried.
const CONNECT_ATTEMPT: Duration = Duration::from_secs(10);

/// A TCP connection to the first address that accepts, each tried for at
/// most [`CONNECT_ATTEMPT`].
async fn connect(target: &Target) -> Result<TcpStream, HttpsError> {
    let mut failures = Vec::new();
    for ip in addresses(target).await? {
        let addr = SocketAddr::new(ip, target.port);
        let attempt = async { Some(TcpStream::connect(addr).await) };
        let give_up = async {
            Timer::after(CONNECT_ATTEMPT).await;
            None
        };
        match future::or(attempt, give_up).await {
            Some(Ok(s)) => return Ok(s),
            Some(Err(e)) => failures.push(format!("{addr}: {e}")),
            None => failures.push(format!(
                "{addr}: no answer within {} s",
                CONNECT_ATTEMPT.as_secs()
            )),
        }
    }
    Err(HttpsError::new(
        HttpsErrorKind::Connect,
        format!("cannot connect: {}", failures.join("; ")),
    ))
}

/// A failed handshake; a certificate the roots do not vouch for (or that
/// does not name the host) is [`HttpsErrorKind::Certificate`].
fn tls_error(host: &str, e: &io::Error) -> HttpsError {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(c)) => HttpsError::new(
            HttpsErrorKind::Certificate,
            format!("TLS: certificate of {host} not valid: {c:?}"),
        ),
        Some(other) => HttpsError::new(HttpsErrorKind::Tls, format!("TLS with {host}: {other}")),
        None => HttpsError::new(HttpsErrorKind::Tls, format!("TLS with {host}: {e}")),
    }
}

fn http_error(e: &dyn std::error::Error) -> HttpsError {
    let mut detail = format!("HTTP: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        detail.push_str(&format!(": {s}"));
        source = s.source();
    }
    HttpsError::new(HttpsErrorKind::Http, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            parse_url("https://MTA-STS.Example.com/.well-known/mta-sts.txt").unwrap(),
            Target {
                host: Host::Name("mta-sts.example.com".into()),
                port: 443,
                authority: "MTA-STS.Example.com".into(),
                path: "/.well-known/mta-sts.txt".into(),
            }
        );
        assert_eq!(
            parse_url("https://127.0.0.1:8443").unwrap(),
            Target {
                host: Host::Ip("127.0.0.1".parse().unwrap()),
                port: 8443,
                authority: "127.0.0.1:8443".into(),
                path: "/".into(),
            }
        );
        assert_eq!(
            parse_url("https://[::1]:9/x?y#z").unwrap(),
            Target {
                host: Host::Ip("::1".parse().unwrap()),
                port: 9,
                authority: "[::1]:9".into(),
                path: "/x?y".into(),
            }
        );
        let bad = |u: &str| {
            let e = parse_url(u).unwrap_err();
            assert_eq!(e.kind, HttpsErrorKind::Url);
            e.detail
        };
        assert_eq!(
            bad("http://example.com/"),
            "URL \"http://example.com/\": not an https:// URL"
        );
        assert_eq!(
            bad("https://a:0/"),
            "URL \"https://a:0/\": port \"0\" is not 1 to 65535"
        );
        assert_eq!(
            bad("https://u@a/"),
            "URL \"https://u@a/\": user information is not supported"
        );
        assert!(bad("https://[::1/").contains("unclosed"));
        assert!(bad("https:///x").contains("host \"\""));
        assert!(bad("ht").contains("not an https"));
    }
}
