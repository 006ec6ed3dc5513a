//! A line protocol for the drive-loop tests of `Need::Https` (both
//! runtimes): each input line is a URL; the connection asks the runtime to
//! GET it and writes `URL STATUS BODY` or `URL error KIND` per answer.
//! After EOF it closes once every request was answered. Include it with
//! `#[path = ".../common/https_line.rs"] mod https_line;`.
#![allow(dead_code)] // each test crate uses a part

#[path = "need_line.rs"]
mod need_line;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::Duration;

use moxide_proto::conn::{Answer, HttpsRequest, Need};
pub use need_line::NeedLine;

/// The connection: GETs each line's URL (1000 bytes of body at most,
/// 10 s), writes `URL STATUS BODY` or `URL error KIND`.
pub fn https_line() -> NeedLine {
    NeedLine::new(
        |url| {
            Need::Https(HttpsRequest {
                url,
                max_body: 1000,
                timeout: Duration::from_secs(10),
            })
        },
        |answer| match answer {
            Answer::Https(Ok(r)) => format!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
            Answer::Https(Err(e)) => format!("error {:?}", e.kind),
            other => format!("unexpected {other:?}"),
        },
    )
}

/// The client side of the drive-loop test of `Need::Https` (both
/// runtimes): on `addr` a loop drives [`HttpsLine`] for two connections;
/// `ok_port` serves `200 fetched` with the test CA (its request heads in
/// `requests`), `untrusted_port` with another CA. Asks for both and a
/// non-HTTPS URL, then asks and closes the write side (the answer still
/// comes); `join` waits for the server side before the heads are checked.
pub fn check_answers(
    addr: SocketAddr,
    ok_port: u16,
    untrusted_port: u16,
    requests: &Mutex<Vec<String>>,
    join: impl FnOnce(),
) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut ask = |url: String| {
        c.write_all(format!("{url}\n").as_bytes()).unwrap();
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        line
    };
    let url = format!("https://127.0.0.1:{}/p", ok_port);
    assert_eq!(ask(url.clone()), format!("{url} 200 fetched\r\n"));
    let url = format!("https://127.0.0.1:{}/p", untrusted_port);
    assert_eq!(ask(url.clone()), format!("{url} error Certificate\r\n"));
    assert_eq!(
        ask("http://127.0.0.1/".into()),
        "http://127.0.0.1/ error Url\r\n"
    );
    drop((c, r));

    // Asked, then the write side closed: the answer still comes.
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let url = format!("https://127.0.0.1:{}/late", ok_port);
    c.write_all(format!("{url}\n").as_bytes()).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut all = String::new();
    c.read_to_string(&mut all).unwrap();
    assert_eq!(all, format!("{url} 200 fetched\r\n"));
    join();
    let heads = requests.lock().unwrap().clone();
    assert_eq!(heads.len(), 2);
    assert!(
        heads[1].starts_with("GET /late HTTP/1.1\r\n"),
        "{}",
        heads[1]
    );
}
