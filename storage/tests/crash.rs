//! Crash safety with a real process: a child delivers 1,000 messages and
//! acknowledges each on stdout after `deliver` returns; the parent kills it
//! with SIGKILL at random moments (at least 20 times), reopens the store and
//! checks that every acknowledged message is there, intact, and that the
//! consistency check passes.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use moxide_storage::{Flags, NewAccount, NewMessage, Store, StoreConfig, StoreError};

const TOTAL: u32 = 1000;
const ENV: &str = "MOXIDE_STORAGE_CRASH_DIR";

/// Message `n`: a few hundred bytes to a few KB, content derived from `n`.
fn message(n: u32) -> Vec<u8> {
    let mut m = format!(
        "From: <c@example.org>\r\nMessage-ID: <crash{n}@example.org>\r\nSubject: {n}\r\n\r\n"
    )
    .into_bytes();
    let lines = 5 + (n * 7919) % 60;
    for i in 0..lines {
        m.extend_from_slice(
            format!(
                "line {i} of message {n} {}\r\n",
                "x".repeat((i % 40) as usize)
            )
            .as_bytes(),
        );
    }
    m
}

/// Child side: only does something when started by `kill_and_reopen`.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(ENV) else { return };
    let store = Store::open(&dir, StoreConfig::default()).unwrap();
    let acct = match store.account("c") {
        Ok(a) => a,
        Err(StoreError::NoSuchAccount(_)) => {
            store.create_account("c", NewAccount::default()).unwrap()
        }
        Err(e) => panic!("{e}"),
    };
    let inbox = acct.mailbox("Inbox").unwrap();
    let mut n = inbox.uidnext;
    while n <= TOTAL {
        // Every 10th step is a group commit of up to 5 messages (import).
        let count = if n % 10 == 0 { 5.min(TOTAL - n + 1) } else { 1 };
        let datas: Vec<Vec<u8>> = (n..n + count).map(message).collect();
        let msgs: Vec<NewMessage<'_>> = datas
            .iter()
            .zip(n..)
            .map(|(data, k)| NewMessage {
                data,
                prefix: format!("X-Prefix: {k}\r\n").into_bytes(),
                flags: if k % 3 == 0 { Flags::SEEN } else { Flags::NONE },
                keywords: Vec::new(),
                received: 1_700_000_000 + i64::from(k),
                received_tz: 0,
                saved: 1_700_000_000,
            })
            .collect();
        let added = acct.import(inbox.id, &msgs).unwrap();
        for (a, k) in added.iter().zip(n..) {
            assert_eq!(a.uid, k);
            println!("ACK {k}");
        }
        n += count;
    }
    println!("DONE");
}

/// xorshift64: deterministic per run, seeded from the clock.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn verify(dir: &std::path::Path, acked: u32) -> u32 {
    let store = Store::open(dir, StoreConfig::default()).unwrap();
    let problems = store.check_consistency().unwrap();
    assert!(
        problems.is_empty(),
        "after kill with {acked} acked:\n{}",
        problems.join("\n")
    );
    let Ok(acct) = store.account("c") else {
        assert_eq!(acked, 0, "account lost");
        return 0;
    };
    let inbox = acct.mailbox("Inbox").unwrap();
    let present = inbox.uidnext - 1;
    assert!(
        present >= acked,
        "{acked} acknowledged but only {present} stored"
    );
    for n in 1..=present {
        let m = acct.message(inbox.id, n).unwrap();
        let mut want = format!("X-Prefix: {n}\r\n").into_bytes();
        want.extend_from_slice(&message(n));
        assert_eq!(acct.read_message(&m).unwrap(), want, "message {n} damaged");
        assert_eq!(m.flags, if n % 3 == 0 { Flags::SEEN } else { Flags::NONE });
    }
    assert_eq!(inbox.counts.total, u64::from(present));
    present
}

#[test]
fn kill_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let exe = std::env::current_exe().unwrap();
    let mut kills = 0;
    let mut acked = 0u32;
    loop {
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        // Kill after a random number of acknowledgements (0 = during start-up)
        // plus a random delay, so the kill lands anywhere in a delivery.
        let kill_after = rng.below(45);
        let mut seen = 0;
        let mut done = false;
        if kill_after > 0 {
            for line in lines.by_ref() {
                let line = line.unwrap();
                if let Some(n) = line.strip_prefix("ACK ") {
                    acked = n.parse().unwrap();
                    seen += 1;
                    if seen >= kill_after {
                        break;
                    }
                } else if line == "DONE" {
                    done = true;
                    break;
                }
            }
        }
        if done {
            child.wait().unwrap();
        } else {
            std::thread::sleep(Duration::from_micros(rng.below(4000)));
            child.kill().unwrap(); // SIGKILL on Unix
            kills += 1;
            child.wait().unwrap();
            // Acks written before the kill still count.
            for line in lines.map_while(Result::ok) {
                if let Some(n) = line.strip_prefix("ACK ") {
                    acked = n.parse().unwrap();
                } else if line == "DONE" {
                    done = true;
                }
            }
        }
        let present = verify(dir.path(), acked);
        if done || present == TOTAL {
            assert_eq!(present, TOTAL);
            break;
        }
    }
    assert!(kills >= 20, "only {kills} kills");
    eprintln!("crash test: {kills} kills, {acked} acknowledged");
}
