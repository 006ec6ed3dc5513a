//! `moxide::https::get` against an HTTPS server on 127.0.0.1 started by
//! the test, with a test CA: a 200 with its body and the request sent, a
//! redirect returned as such, body limits, certificate failures, a
//! timeout and connection/URL errors; and the smol drive loop answering
//! a connection's `Need::Https`.

#[path = "common/https_line.rs"]
mod https_line;
#[path = "common/https_server.rs"]
mod https_server;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use https_server::{TestCa, response, serve};
use moxide::https::{HttpsTls, get};
use moxide_proto::conn::{HttpsErrorKind, HttpsRequest, HttpsResponse};

fn req(port: u16, path: &str, max_body: usize) -> HttpsRequest {
    HttpsRequest {
        url: format!("https://127.0.0.1:{port}{path}"),
        max_body,
        timeout: Duration::from_secs(20),
    }
}

#[test]
fn fetches_a_body_and_sends_a_plain_get() {
    let ca = TestCa::new("Test CA");
    let body = b"version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n";
    let s = serve(
        ca.server_config(&["127.0.0.1"]),
        response(
            "200 OK",
            &[("Content-Type", "text/plain; charset=utf-8")],
            body,
        ),
        Duration::ZERO,
    );
    let tls = HttpsTls::with_extra_roots(std::slice::from_ref(&ca.der)).unwrap();
    let got = smol::block_on(get(&req(s.port, "/.well-known/mta-sts.txt", 65536), &tls));
    assert_eq!(
        got,
        Ok(HttpsResponse {
            status: 200,
            content_type: Some("text/plain; charset=utf-8".into()),
            body: body.to_vec(),
        })
    );
    let heads = s.requests.lock().unwrap().clone();
    assert_eq!(heads.len(), 1);
    let head = heads[0].to_ascii_lowercase();
    assert!(
        head.starts_with("get /.well-known/mta-sts.txt http/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains(&format!("\r\nhost: 127.0.0.1:{}\r\n", s.port)),
        "{head}"
    );
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    assert!(head.contains("\r\nuser-agent: moxide/"), "{head}");
}

#[test]
fn redirect_is_returned_not_followed() {
    let ca = TestCa::new("Test CA");
    let s = serve(
        ca.server_config(&["127.0.0.1"]),
        response(
            "301 Moved Permanently",
            &[
                ("Location", "https://elsewhere.example/"),
                ("Content-Type", "text/html"),
            ],
            b"<a href=\"https://elsewhere.example/\">moved</a>",
        ),
        Duration::ZERO,
    );
    let tls = HttpsTls::with_extra_roots(std::slice::from_ref(&ca.der)).unwrap();
    let got = smol::block_on(get(&req(s.port, "/", 65536), &tls)).unwrap();
    assert_eq!(
        (got.status, got.content_type.as_deref()),
        (301, Some("text/html"))
    );
    assert_eq!(s.requests.lock().unwrap().len(), 1);
}

#[test]
fn body_over_the_limit() {
    let ca = TestCa::new("Test CA");
    let cfg = ca.server_config(&["127.0.0.1"]);
    let tls = HttpsTls::with_extra_roots(std::slice::from_ref(&ca.der)).unwrap();
    // Declared too large.
    let big = serve(
        cfg.clone(),
        response("200 OK", &[("Content-Type", "text/plain")], &[b'a'; 2000]),
        Duration::ZERO,
    );
    let e = smol::block_on(get(&req(big.port, "/", 1999), &tls)).unwrap_err();
    assert_eq!(
        (e.kind, e.detail.as_str()),
        (HttpsErrorKind::TooLarge, "body larger than 1999 bytes")
    );
    // Exactly at the limit: fine.
    let got = smol::block_on(get(&req(big.port, "/", 2000), &tls)).unwrap();
    assert_eq!(got.body.len(), 2000);
    // No length, read until close: stopped past the limit.
    let mut raw =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n".to_vec();
    raw.extend_from_slice(&[b'b'; 5000]);
    let stream = serve(cfg.clone(), raw, Duration::ZERO);
    let e = smol::block_on(get(&req(stream.port, "/", 4096), &tls)).unwrap_err();
    assert_eq!(e.kind, HttpsErrorKind::TooLarge);
    // Another status: the body is cut, the status kept.
    let page = serve(
        cfg,
        response(
            "404 Not Found",
            &[("Content-Type", "text/html")],
            &[b'c'; 3000],
        ),
        Duration::ZERO,
    );
    let got = smol::block_on(get(&req(page.port, "/", 100), &tls)).unwrap();
    assert_eq!((got.status, got.body), (404, vec![b'c'; 100]));
}

#[test]
fn certificate_failures() {
    let ca = TestCa::new("Test CA");
    let other = TestCa::new("Other CA");
    let ok_body = response("200 OK", &[("Content-Type", "text/plain")], b"x");
    let tls = HttpsTls::with_extra_roots(std::slice::from_ref(&ca.der)).unwrap();
    // Signed by a CA we do not trust.
    let s = serve(
        other.server_config(&["127.0.0.1"]),
        ok_body.clone(),
        Duration::ZERO,
    );
    let e = smol::block_on(get(&req(s.port, "/", 100), &tls)).unwrap_err();
    assert_eq!(e.kind, HttpsErrorKind::Certificate, "{e}");
    assert!(e.detail.contains("UnknownIssuer"), "{e}");
    // Trusted CA, but not for this host.
    let s = serve(
        ca.server_config(&["mta-sts.other.test"]),
        ok_body,
        Duration::ZERO,
    );
    let e = smol::block_on(get(&req(s.port, "/", 100), &tls)).unwrap_err();
    assert_eq!(e.kind, HttpsErrorKind::Certificate, "{e}");
    assert!(e.detail.contains("NotValidForName"), "{e}");
    // The request never reached the server.
    assert!(s.requests.lock().unwrap().is_empty());
}

#[test]
fn timeout_refused_and_bad_urls() {
    let ca = TestCa::new("Test CA");
    let tls = HttpsTls::with_extra_roots(std::slice::from_ref(&ca.der)).unwrap();
    let slow = serve(
        ca.server_config(&["127.0.0.1"]),
        response("200 OK", &[], b"late"),
        Duration::from_secs(5),
    );
    let mut r = req(slow.port, "/", 100);
    r.timeout = Duration::from_millis(300);
    let start = Instant::now();
    let e = smol::block_on(get(&r, &tls)).unwrap_err();
    assert_eq!(e.kind, HttpsErrorKind::Timeout, "{e}");
    assert!(start.elapsed() < Duration::from_secs(3));
    // A port nobody listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let e = smol::block_on(get(&req(port, "/", 100), &tls)).unwrap_err();
    assert_eq!(e.kind, HttpsErrorKind::Connect, "{e}");
    assert!(
        e.detail
            .starts_with(&format!("cannot connect: 127.0.0.1:{port}: ")),
        "{e}"
    );
    let mut r = req(port, "/", 100);
    r.url = "http://127.0.0.1/".into();
    let e = smol::block_on(get(&r, &tls)).unwrap_err();
    assert_eq!(e.kind, HttpsErrorKind::Url);
}

/// The smol drive loop answers a connection's `Need::Https` with the
/// process's HTTPS configuration (`moxide::https::install_shared`), also
/// after the peer closed its side.
#[test]
fn drive_loop_answers_need_https() {
    let ca = TestCa::new("Test CA");
    moxide::https::install_shared(
        HttpsTls::with_extra_roots(std::slice::from_ref(&ca.der)).unwrap(),
    )
    .unwrap();
    let ok = serve(
        ca.server_config(&["127.0.0.1"]),
        response("200 OK", &[("Content-Type", "text/plain")], b"fetched"),
        Duration::ZERO,
    );
    let untrusted = serve(
        TestCa::new("Other CA").server_config(&["127.0.0.1"]),
        response("200 OK", &[], b"never"),
        Duration::ZERO,
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (stream, _) = listener.accept().unwrap();
            smol::block_on(async {
                let stream = async_io::Async::new(stream).unwrap();
                let (_tx, rx) = smol::channel::bounded::<()>(1);
                moxide::serve::drive(Box::new(https_line::https_line()), stream, &rx)
                    .await
                    .unwrap();
            });
        }
    });
    https_line::check_answers(addr, ok.port, untrusted.port, &ok.requests, || {
        server.join().unwrap()
    });
}
