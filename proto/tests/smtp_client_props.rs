//! Server replies split anywhere give the same client transcript and
//! outcome; arbitrary server bytes never panic and always end in one
//! outcome.

#[path = "smtp_client_util.rs"]
mod util;

use moxide_proto::conn::Conn;
use moxide_proto::smtp::client::{Delivery, StartTls};
use proptest::prelude::*;
use util::{Client, config, envelope};

/// A whole conversation's server side: multi-line EHLO, pipelined replies
/// with one refusal, the data reply, the QUIT reply.
const SERVER: &[u8] = b"220-mx.example ESMTP\r\n220 second line\r\n\
250-mx.example\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n\
250 2.1.0 ok\r\n250 2.1.5 ok\r\n550-5.1.1 no\r\n550 5.1.1 such user\r\n354 go\r\n\
250 2.0.0 queued\r\n221 2.0.0 bye\r\n";

fn client() -> Client {
    Client::new(
        config(StartTls::Opportunistic),
        envelope("a@x.example", &["b@y.example", "c@y.example"]),
        b"Subject: s\r\n\r\n.x\r\n",
    )
}

/// Feeds `SERVER` in the pieces that end at `cuts`; the client's bytes
/// and the outcome.
fn run(cuts: &[usize]) -> (String, Delivery) {
    let mut c = client();
    let mut sent = String::new();
    let mut at = 0;
    for &cut in cuts.iter().chain([SERVER.len()].iter()) {
        let cut = cut.clamp(at, SERVER.len());
        sent.push_str(&c.raw(&SERVER[at..cut]));
        at = cut;
    }
    (sent, c.outcome().clone())
}

#[test]
fn every_single_split_gives_the_same_transcript() {
    let whole = run(&[]);
    assert_eq!(
        whole.0,
        "EHLO client.example\r\nMAIL FROM:<a@x.example> SIZE=18 BODY=7BIT\r\n\
RCPT TO:<b@y.example>\r\nRCPT TO:<c@y.example>\r\nDATA\r\nSubject: s\r\n\r\n..x\r\n.\r\nQUIT\r\n"
    );
    assert_eq!(whole.1.error, None);
    for cut in 0..=SERVER.len() {
        assert_eq!(run(&[cut]), whole, "split at {cut}");
    }
    let bytewise: Vec<usize> = (0..SERVER.len()).collect();
    assert_eq!(run(&bytewise), whole);
}

proptest! {
    #[test]
    fn random_splits_give_the_same_transcript(mut cuts in prop::collection::vec(0..SERVER.len(), 0..12)) {
        cuts.sort_unstable();
        prop_assert_eq!(run(&cuts), run(&[]));
    }

    #[test]
    fn arbitrary_server_bytes_end_in_one_outcome(
        pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
        prefix in 0usize..4,
    ) {
        let mut c = client();
        // Start from a sane point of the conversation, then garbage.
        let sane: &[&[u8]] = &[b"", b"220 mx\r\n", b"220 mx\r\n250-mx\r\n250 PIPELINING\r\n",
            b"220 mx\r\n250 mx\r\n250 ok\r\n"];
        c.raw(sane[prefix]);
        for p in &pieces {
            c.raw(p);
        }
        c.eof();
        prop_assert!(c.closed());
        let o = c.c.outcome().cloned();
        prop_assert!(o.is_some());
        // Closed: no more output, no more actions, no timer.
        let n = c.actions.len();
        prop_assert_eq!(c.raw(b"250 ok\r\n"), "");
        c.c.handle_timeout(c.now);
        prop_assert_eq!(c.drain(), "");
        prop_assert_eq!(c.actions.len(), n);
        prop_assert_eq!(c.c.poll_timeout(), None);
        prop_assert!(!c.c.wants_read());
    }
}
