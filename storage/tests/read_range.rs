//! Reads of message data by byte range: every (offset, length) of a
//! message with and without a stored prefix gives exactly the bytes of
//! prefix + file, a large message reads whole and in pieces, the content
//! record taken once serves several reads, and a file shorter than its
//! record (damage) gives fewer bytes instead of a panic.

mod common;

use std::path::{Path, PathBuf};

use common::{account, new_msg};
use moxide_storage::{Account, Message, StoreError};

/// The file of message identity `msg_id` under the data directory.
fn file_of(dir: &Path, msg_id: u64) -> PathBuf {
    let mut stack = vec![dir.join("accounts")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().and_then(|n| n.to_str()) == Some(&msg_id.to_string()) {
                return p;
            }
        }
    }
    panic!("no file for message {msg_id}");
}

fn deliver(a: &Account, data: &[u8], prefix: &[u8]) -> Message {
    let inbox = a.mailbox("INBOX").unwrap();
    let mut nm = new_msg(data);
    nm.prefix = prefix.to_vec();
    let added = a.deliver(inbox.id, &nm).unwrap();
    a.message(inbox.id, added.uid).unwrap()
}

/// Every range of `want`, through both `read_range` and one content record.
fn check_all_ranges(a: &Account, m: &Message, want: &[u8]) {
    let c = a.message_content(m).unwrap();
    let n = want.len() as u64;
    for off in 0..=n + 2 {
        for len in 0..=n + 2 - off {
            let s = (off as usize).min(want.len());
            let e = ((off + len) as usize).min(want.len());
            let exp = &want[s..e];
            assert_eq!(
                a.read_range(m, off, len).unwrap(),
                exp,
                "off {off} len {len}"
            );
            assert_eq!(
                a.read_content_range(m, &c, off, len).unwrap(),
                exp,
                "content off {off} len {len}"
            );
        }
    }
    assert_eq!(a.read_message(m).unwrap(), want);
    assert_eq!(a.read_range(m, 0, u64::MAX).unwrap(), want);
    assert_eq!(a.read_range(m, u64::MAX, u64::MAX).unwrap(), b"");
}

#[test]
fn every_range_with_and_without_prefix() {
    let (_d, _s, a) = account();
    let data = b"Subject: x\r\n\r\nbody\r\n";
    let plain = deliver(&a, data, b"");
    check_all_ranges(&a, &plain, data);
    let prefixed = deliver(&a, data, b"Received: by y\r\n");
    let mut want = b"Received: by y\r\n".to_vec();
    want.extend_from_slice(data);
    check_all_ranges(&a, &prefixed, &want);
    // A message without a header/body separator, and one of a single byte.
    let bare = deliver(&a, b"no separator here", b"");
    check_all_ranges(&a, &bare, b"no separator here");
    let one = deliver(&a, b"x", b"");
    check_all_ranges(&a, &one, b"x");
}

#[test]
fn large_message_whole_and_in_pieces() {
    let (_d, _s, a) = account();
    let mut data = b"Subject: big\r\n\r\n".to_vec();
    let mut i = 0u32;
    while data.len() < 3 << 20 {
        data.extend_from_slice(format!("line {i} of a large message\r\n").as_bytes());
        i += 1;
    }
    let m = deliver(&a, &data, b"X-Prefix: 1\r\n");
    let mut want = b"X-Prefix: 1\r\n".to_vec();
    want.extend_from_slice(&data);
    assert_eq!(a.read_message(&m).unwrap(), want);
    let c = a.message_content(&m).unwrap();
    let mut pieces = Vec::new();
    let mut off = 0u64;
    while off < m.size {
        pieces.extend(a.read_content_range(&m, &c, off, 65_537).unwrap());
        off += 65_537;
    }
    assert_eq!(pieces, want);
    // Spans count from the start of prefix + file.
    assert_eq!(c.structure().unwrap().root().header.end, 13 + 16);
}

#[test]
fn content_of_another_message_is_refused() {
    let (_d, _s, a) = account();
    let m1 = deliver(&a, b"Subject: 1\r\n\r\none\r\n", b"");
    let m2 = deliver(&a, b"Subject: 2\r\n\r\ntwo\r\n", b"");
    let c1 = a.message_content(&m1).unwrap();
    assert!(matches!(
        a.read_content_range(&m2, &c1, 0, 10),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn file_shorter_than_record_reads_what_is_there() {
    let (d, _s, a) = account();
    let m = deliver(&a, b"Subject: t\r\n\r\ntruncated later\r\n", b"P: 1\r\n");
    let f = file_of(d.path(), m.msg_id);
    std::fs::write(&f, b"Subject: t\r\n").unwrap();
    assert_eq!(a.read_message(&m).unwrap(), b"P: 1\r\nSubject: t\r\n");
    assert_eq!(a.read_range(&m, 10, 100).unwrap(), b"ect: t\r\n");
    assert_eq!(a.read_range(&m, 20, 100).unwrap(), b"");
    std::fs::remove_file(&f).unwrap();
    assert!(matches!(a.read_message(&m), Err(StoreError::Io { .. })));
}
