//! The tokio drive loop answers a connection's `Need::Https` with the
//! process's HTTPS configuration (`moxide::https`, the same client as the
//! smol binary's), also after the peer closed its side. The HTTPS servers
//! are the smol tests' (test CA, 127.0.0.1).

#[path = "../../runtime-smol/tests/common/https_line.rs"]
mod https_line;
#[path = "../../runtime-smol/tests/common/https_server.rs"]
mod https_server;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

use https_line::HttpsLine;
use https_server::{TestCa, response, serve};
use moxide::https::HttpsTls;

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
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            for _ in 0..2 {
                let (stream, _) = listener.accept().await.unwrap();
                let notify = tokio::sync::Notify::new();
                moxide_tokio::serve::drive(Box::new(HttpsLine::default()), stream, &notify)
                    .await
                    .unwrap();
            }
        });
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut ask = |url: String| {
        c.write_all(format!("{url}\n").as_bytes()).unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        line
    };
    let url = format!("https://127.0.0.1:{}/p", ok.port);
    assert_eq!(ask(url.clone()), format!("{url} 200 fetched\r\n"));
    let url = format!("https://127.0.0.1:{}/p", untrusted.port);
    assert_eq!(ask(url.clone()), format!("{url} error Certificate\r\n"));
    assert_eq!(
        ask("http://127.0.0.1/".into()),
        "http://127.0.0.1/ error Url\r\n"
    );
    drop((c, r));

    // Asked, then the write side closed: the answer still comes.
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let url = format!("https://127.0.0.1:{}/late", ok.port);
    c.write_all(format!("{url}\n").as_bytes()).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut all = String::new();
    c.read_to_string(&mut all).unwrap();
    assert_eq!(all, format!("{url} 200 fetched\r\n"));
    server.join().unwrap();
    let heads = ok.requests.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    assert!(
        heads[1].starts_with("GET /late HTTP/1.1\r\n"),
        "{}",
        heads[1]
    );
}
