//! The tokio drive loop answers a connection's `Need::Https` with the
//! process's HTTPS configuration (`moxide::https`, the same client as the
//! smol binary's), also after the peer closed its side. The HTTPS servers
//! are the smol tests' (test CA, 127.0.0.1), and so is the client side
//! (`https_line::check_answers`).

#[path = "../../runtime-smol/tests/common/https_line.rs"]
mod https_line;
#[path = "../../runtime-smol/tests/common/https_server.rs"]
mod https_server;

use std::time::Duration;

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
                moxide_tokio::serve::drive(Box::new(https_line::https_line()), stream, &notify)
                    .await
                    .unwrap();
            }
        });
    });
    https_line::check_answers(addr, ok.port, untrusted.port, &ok.requests, || {
        server.join().unwrap()
    });
}
