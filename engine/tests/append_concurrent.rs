//! APPENDs from several sessions at once: a single-message APPEND goes
//! through the account's group commit (storage's group_commit tests show
//! that queued deliveries share one commit), so every session must still
//! get its own exact APPENDUID, and every message must be stored once with
//! its bytes and flags.

mod common;

use std::collections::BTreeMap;

use common::{Env, message};
use moxide_storage::Flags;

const SESSIONS: usize = 4;
const PER_SESSION: usize = 25;

#[test]
fn concurrent_single_message_appends_each_get_their_own_uid() {
    let env = Env::new();
    // (uid, message, seen) of every APPEND, from its tagged OK.
    let appended: Vec<(u32, String, bool)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..SESSIONS)
            .map(|t| {
                let env = &env;
                s.spawn(move || {
                    let mut c = env.login();
                    let mut mine = Vec::new();
                    for i in 0..PER_SESSION {
                        let msg = message(&format!("s{t}-m{i}"), &format!("body {t} {i}"));
                        let seen = i % 3 == 0;
                        let tag = format!("t{t}x{i}");
                        let out = c.append(&tag, "Inbox", if seen { "\\Seen" } else { "" }, &msg);
                        let rest = out
                            .strip_prefix(&format!("{tag} OK [APPENDUID 1 "))
                            .and_then(|r| r.strip_suffix("] APPEND completed\r\n"))
                            .unwrap_or_else(|| panic!("unexpected reply: {out:?}"));
                        mine.push((rest.parse::<u32>().unwrap(), msg, seen));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let total = SESSIONS * PER_SESSION;
    let by_uid: BTreeMap<u32, (String, bool)> = appended
        .into_iter()
        .map(|(uid, msg, seen)| (uid, (msg, seen)))
        .collect();
    // No UID given twice, and together they are 1..=total.
    assert_eq!(
        by_uid.keys().copied().collect::<Vec<_>>(),
        (1..=total as u32).collect::<Vec<_>>()
    );
    let acct = env.store.account("mox").unwrap();
    let inbox = acct.mailbox("Inbox").unwrap();
    assert_eq!(inbox.uidnext, total as u32 + 1);
    assert_eq!(inbox.counts.total, total as u64);
    let stored = acct.messages_in(inbox.id, 1..=u32::MAX).unwrap();
    assert_eq!(stored.len(), total);
    for m in &stored {
        let (msg, seen) = &by_uid[&m.uid];
        assert_eq!(
            acct.read_message(m).unwrap(),
            msg.as_bytes(),
            "uid {}",
            m.uid
        );
        assert_eq!(m.flags.contains(Flags::SEEN), *seen, "uid {}", m.uid);
    }
    let seen = stored
        .iter()
        .filter(|m| m.flags.contains(Flags::SEEN))
        .count();
    assert_eq!(seen, SESSIONS * PER_SESSION.div_ceil(3));
    env.check();
}
