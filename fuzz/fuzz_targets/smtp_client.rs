//! The SMTP client (`ClientConn`) on arbitrary server bytes: the first
//! byte picks the TLS policy, pipelining and the handshake answer; the rest
//! is fed in pieces split at 0xFF bytes. Never a panic; the connection
//! always ends with one outcome, after which it does nothing.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use moxide_proto::conn::{Action, Answer, Conn, Need, TlsFailure, TlsInfo};
use moxide_proto::smtp::client::{
    Body, ClientConfig, ClientConn, Envelope, StartTls, Timeouts, TlsPolicy, Verify,
};

fuzz_target!(|data: &[u8]| {
    let (flags, rest) = data.split_first().unwrap_or((&0, &[]));
    let now = Instant::now();
    let cfg = ClientConfig {
        ehlo_name: "client.example".into(),
        tls: TlsPolicy {
            starttls: match flags % 3 {
                0 => StartTls::Never,
                1 => StartTls::Opportunistic,
                _ => StartTls::Required,
            },
            verify: Verify::Any,
        },
        implicit_tls: flags & 0x10 != 0,
        auth: None,
        timeouts: Timeouts::default(),
    };
    let env = Envelope {
        mail_from: "a@x.example".into(),
        recipients: vec!["b@y.example".into(), "c@y.example".into()],
        smtputf8: flags & 0x20 != 0,
        body: if flags & 0x40 != 0 {
            Body::EightBitMime
        } else {
            Body::SevenBit
        },
        requiretls: flags & 0x80 != 0,
    };
    let mut c = ClientConn::new(
        now,
        cfg,
        env,
        Arc::from(&b"Subject: x\r\n\r\n.body\r\n"[..]),
    );
    let mut out = Vec::new();
    let mut closed = false;
    let step = |c: &mut ClientConn, closed: &mut bool, out: &mut Vec<u8>| {
        c.poll_transmit(out);
        while let Some(a) = c.poll_action() {
            match a {
                Action::Need(id, Need::TlsHandshake) => {
                    let answer = if flags & 0x08 != 0 {
                        Ok(TlsInfo {
                            protocol: "TLSv1_3".into(),
                            cipher: "x".into(),
                            exporter: None,
                        })
                    } else {
                        Err(TlsFailure {
                            result_type: "validation-failure".into(),
                            detail: "x".into(),
                        })
                    };
                    c.handle_answer(now, id, Answer::TlsHandshake(answer));
                    c.poll_transmit(out);
                }
                Action::Close => *closed = true,
                _ => {}
            }
        }
    };
    step(&mut c, &mut closed, &mut out);
    for piece in rest.split(|&b| b == 0xff) {
        c.handle_input(now, piece);
        step(&mut c, &mut closed, &mut out);
    }
    c.handle_timeout(now + Duration::from_secs(3600));
    step(&mut c, &mut closed, &mut out);
    c.handle_eof(now);
    step(&mut c, &mut closed, &mut out);
    assert!(closed);
    assert!(c.outcome().is_some());
    let len = out.len();
    c.handle_input(now, b"250 ok\r\n");
    step(&mut c, &mut closed, &mut out);
    assert_eq!(out.len(), len);
});
