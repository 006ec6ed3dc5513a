//! Properties of `SmtpServer` over generated client streams: splitting the
//! input at arbitrary points changes neither the events, the output, the
//! actions nor the stored messages; arbitrary bytes never panic and never
//! grow the buffers past the limits.

#[path = "smtp_util.rs"]
mod util;

use proptest::prelude::*;

use moxide_proto::conn::Action;
use moxide_proto::sasl::{CramMd5Keys, PasswordSecrets, ScramHash, ScramKeys};
use moxide_proto::smtp::{SmtpConfig, SmtpEvent};
use util::Harness;

fn config(submission: bool) -> SmtpConfig {
    SmtpConfig {
        hostname: "mx.example".to_string(),
        submission,
        allow_plain_auth_without_tls: submission,
        max_message_size: 300,
        max_recipients: 3,
        max_backlog: 256,
        max_errors: 30,
        ..SmtpConfig::default()
    }
}

/// A message body: lines that stress dot-stuffing and line ends, then the
/// end of data.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"Subject: hi\r\n".to_vec()),
        Just(b"..dot\r\n".to_vec()),
        Just(b".\r\n".to_vec()),
        Just(b"\n.\n".to_vec()),
        Just(b"\r.\r".to_vec()),
        Just(b"text\r\n".to_vec()),
        Just(b"x".repeat(120)),
        proptest::collection::vec(any::<u8>(), 0..20),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|v| {
        let mut m = v.concat();
        m.extend_from_slice(b"\r\n.\r\n");
        m
    })
}

/// One client item: a command, message data, or garbage.
fn item() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => Just(b"EHLO c.example\r\n".to_vec()),
        1 => Just(b"HELO c\r\n".to_vec()),
        4 => Just(b"MAIL FROM:<a@c.example>\r\n".to_vec()),
        1 => Just(b"MAIL FROM:<> SIZE=1000 BODY=BINARYMIME\r\n".to_vec()),
        1 => "[a-zA-Z0-9@<>.\" =:-]{0,24}".prop_map(|s| format!("MAIL FROM:{s}\r\n").into_bytes()),
        4 => Just(b"RCPT TO:<b@mx.example>\r\n".to_vec()),
        1 => Just(b"RCPT TO:<Green@mx.example>\r\n".to_vec()),
        1 => "[a-zA-Z0-9@<>.\" =:;+-]{0,24}".prop_map(|s| format!("RCPT TO:{s}\r\n").into_bytes()),
        3 => body().prop_map(|b| [b"DATA\r\n".to_vec(), b].concat()),
        2 => (0usize..120, any::<bool>(), any::<u8>()).prop_map(|(n, last, fill)| {
            let mut v = format!("BDAT {n}{}\r\n", if last { " LAST" } else { "" }).into_bytes();
            v.extend(std::iter::repeat_n(fill, n));
            v
        }),
        1 => Just(b"RSET\r\n".to_vec()),
        1 => Just(b"NOOP\r\n".to_vec()),
        1 => Just(b"VRFY x\r\nEXPN y\r\n".to_vec()),
        1 => Just(b"STARTTLS\r\n".to_vec()),
        1 => Just(b"AUTH PLAIN AHRpbQBwdw==\r\n".to_vec()),
        1 => Just(b"AUTH LOGIN\r\ndGlt\r\ncHc=\r\n".to_vec()),
        1 => (990usize..1010).prop_map(|n| {
            let mut v = vec![b'N'; n];
            v.extend_from_slice(b"\r\n");
            v
        }),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

/// A well-formed transaction: MAIL, recipients, then DATA or BDAT chunks.
fn transaction() -> impl Strategy<Value = Vec<u8>> {
    let data = prop_oneof![
        body().prop_map(|b| [b"DATA\r\n".to_vec(), b].concat()),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..150), 1..4).prop_map(
            |chunks| {
                let n = chunks.len();
                let mut v = Vec::new();
                for (i, c) in chunks.into_iter().enumerate() {
                    let last = if i + 1 == n { " LAST" } else { "" };
                    v.extend_from_slice(format!("BDAT {}{last}\r\n", c.len()).as_bytes());
                    v.extend_from_slice(&c);
                }
                v
            }
        ),
    ];
    (1usize..5, data).prop_map(|(rcpts, data)| {
        let mut v = b"MAIL FROM:<a@c.example>\r\n".to_vec();
        for i in 0..rcpts {
            v.extend_from_slice(format!("RCPT TO:<r{i}@mx.example>\r\n").as_bytes());
        }
        v.extend_from_slice(&data);
        v
    })
}

/// A session: EHLO, then transactions mixed with single items.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let part = prop_oneof![2 => transaction(), 3 => item()];
    proptest::collection::vec(part, 0..16).prop_map(|v| {
        let mut s = b"EHLO c.example\r\n".to_vec();
        s.extend(v.concat());
        s
    })
}

type Outcome = (Vec<SmtpEvent>, String, Vec<Action>, Vec<Vec<u8>>);

fn run(submission: bool, input: &[u8], cuts: &[usize]) -> Outcome {
    let mut h = Harness::new(config(submission));
    // One PBKDF2 iteration keeps the property cheap.
    h.accounts.push((
        "tim".to_string(),
        PasswordSecrets {
            scram_sha256: ScramKeys::derive(ScramHash::Sha256, "pw", b"salt", 1),
            scram_sha1: ScramKeys::derive(ScramHash::Sha1, "pw", b"salt", 1),
            cram_md5: CramMd5Keys::derive("pw"),
        },
    ));
    let mut out = h.take_output();
    let mut pos = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    points.push(input.len());
    for p in points {
        if p < pos {
            continue;
        }
        out.push_str(&h.input(&input[pos..p]));
        let bound = 2 * 12288 + 64 * 1024 + (p - pos);
        assert!(
            h.srv.buffer_capacity() <= bound,
            "buffer {} over {bound}",
            h.srv.buffer_capacity()
        );
        pos = p;
    }
    out.push_str(&h.eof());
    (h.events, out, h.actions, h.messages)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn split_input_gives_the_same_session(
        input in stream(),
        cuts in proptest::collection::vec(any::<usize>(), 1..12),
        submission in any::<bool>(),
    ) {
        let whole = run(submission, &input, &[]);
        let split = run(submission, &input, &cuts);
        prop_assert_eq!(&whole.0, &split.0);
        prop_assert_eq!(&whole.1, &split.1);
        prop_assert_eq!(&whole.2, &split.2);
        prop_assert_eq!(&whole.3, &split.3);
        // Every stored message is within the limit and every reply line
        // ends in CRLF.
        for m in &whole.3 {
            prop_assert!(m.len() <= 300);
        }
        prop_assert!(whole.1.is_empty() || whole.1.ends_with("\r\n"));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in proptest::collection::vec(any::<u8>(), 0..3000),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        submission in any::<bool>(),
    ) {
        let (_, out, actions, _) = run(submission, &input, &cuts);
        prop_assert!(out.starts_with("220 mx.example ESMTP moxide\r\n"));
        prop_assert_eq!(actions.last(), Some(&Action::Close));
    }

    #[test]
    fn prefixed_garbage_never_panics(
        prefix in stream(),
        tail in proptest::collection::vec(any::<u8>(), 0..500),
    ) {
        let input = [prefix, tail].concat();
        let (_, _, actions, _) = run(true, &input, &[7, 100, 1001]);
        prop_assert_eq!(actions.last(), Some(&Action::Close));
    }
}
