//! Unit tests of the account and mailbox rules: accounts, naming, Inbox
//! rename, children on rename, UIDVALIDITY on name reuse, quota, subscriptions.

mod common;

use common::{account, assert_consistent, msg, new_msg};
use moxide_storage::{ExpungeSet, NewAccount, SpecialUse, Store, StoreConfig, StoreError};

#[test]
fn new_account_has_inbox_and_modseq_starts_at_2() {
    let (_d, s, a) = account();
    let mbs = a.mailboxes().unwrap();
    assert_eq!(mbs.len(), 1);
    assert_eq!(mbs[0].name, "Inbox");
    assert_eq!(mbs[0].uidvalidity, 1);
    assert_eq!(mbs[0].uidnext, 1);
    // The first change of an account gets modseq 2 (as mox).
    assert_eq!(mbs[0].createseq, 2);
    assert_eq!(a.highest_modseq(), 2);
    assert_eq!(
        s.account_for_address("MJL@example.org").unwrap().as_deref(),
        Some("mjl")
    );
    assert!(a.settings().unwrap().has_password);
    let secrets = a.password_secrets().unwrap().unwrap();
    assert!(secrets.verify_plain("test1234"));
    assert!(!secrets.verify_plain("test12345"));
    a.set_password("other").unwrap();
    assert!(a.password_secrets().unwrap().unwrap().verify_plain("other"));
    assert_consistent(&s);
}

#[test]
fn account_errors() {
    let (_d, s, a) = account();
    assert!(
        matches!(s.create_account("mjl", NewAccount::default()), Err(StoreError::AccountExists(n)) if n == "mjl")
    );
    assert!(matches!(s.account("nobody"), Err(StoreError::NoSuchAccount(n)) if n == "nobody"));
    assert!(matches!(
        s.create_account("", NewAccount::default()),
        Err(StoreError::InvalidAccountName { .. })
    ));
    let r = s.create_account(
        "other",
        NewAccount {
            addresses: vec!["Mjl@Example.org".into()],
            ..Default::default()
        },
    );
    match r {
        Err(StoreError::AddressInUse { address, account }) => {
            assert_eq!(
                (address.as_str(), account.as_str()),
                ("mjl@example.org", "mjl")
            );
        }
        other => panic!("{other:?}"),
    }
    a.set_addresses(&["New@Example.org".to_string()]).unwrap();
    assert_eq!(s.account_for_address("mjl@example.org").unwrap(), None);
    assert_eq!(
        s.account_for_address("new@example.org").unwrap().as_deref(),
        Some("mjl")
    );
    assert_eq!(
        a.settings().unwrap().addresses,
        vec!["new@example.org".to_string()]
    );
    assert_consistent(&s);
}

#[test]
fn mailbox_naming_rules() {
    let (_d, s, a) = account();
    for (name, reason) in [
        ("", "empty name"),
        ("a//b", "has an empty hierarchy element (//)"),
        ("a/../b", "has a . or .. hierarchy element"),
        ("/a", "starts with /"),
        ("x/", "ends with /"),
    ] {
        match a.create_mailbox(name, SpecialUse::NONE) {
            Err(StoreError::InvalidMailboxName { name: n, reason: r }) => {
                assert_eq!((n.as_str(), r), (name, reason))
            }
            other => panic!("{name:?}: {other:?}"),
        }
    }
    assert!(
        matches!(a.create_mailbox("inBOX", SpecialUse::NONE), Err(StoreError::MailboxExists(n)) if n == "Inbox")
    );
    let sub = a.create_mailbox("inbox/Sub", SpecialUse::NONE).unwrap();
    assert_eq!(sub.name, "Inbox/Sub");
    // Parents are created.
    a.create_mailbox("a/b/c", SpecialUse::NONE).unwrap();
    let names: Vec<String> = a.mailboxes().unwrap().into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["Inbox", "Inbox/Sub", "a", "a/b", "a/b/c"]);
    // NFC: the decomposed and composed forms are one mailbox.
    a.create_mailbox("caf\u{65}\u{301}", SpecialUse::NONE)
        .unwrap();
    assert_eq!(a.mailbox("caf\u{e9}").unwrap().name, "caf\u{e9}");
    assert_consistent(&s);
}

#[test]
fn inbox_rename_moves_messages_with_new_uids() {
    let (_d, s, a) = account();
    let inbox = a.mailbox("Inbox").unwrap().id;
    a.create_mailbox("Inbox/Child", SpecialUse::NONE).unwrap();
    for n in 1..=3 {
        let d = msg(n);
        a.deliver(inbox, &new_msg(&d)).unwrap();
    }
    a.expunge(inbox, ExpungeSet::Uids(&[1])).unwrap();
    let old = a.mailbox_by_id(inbox).unwrap();
    let target = a.rename_mailbox("INBOX", "Old/Mail").unwrap();
    assert_eq!(target.name, "Old/Mail");
    assert_ne!(target.uidvalidity, old.uidvalidity);
    assert_eq!(a.uids(target.id).unwrap(), vec![1, 2]);
    assert_eq!(target.uidnext, 3);
    assert_eq!(target.counts.total, 2);
    let m = a.message(target.id, 1).unwrap();
    assert_eq!(
        a.structure(&m).unwrap().message_id(),
        Some("m2@example.org")
    );
    // Inbox stays, empty, same uidvalidity, and its child stays where it was.
    let inbox_now = a.mailbox("Inbox").unwrap();
    assert_eq!(
        (inbox_now.id, inbox_now.uidvalidity, inbox_now.uidnext),
        (inbox, old.uidvalidity, 4)
    );
    assert_eq!(inbox_now.counts.exists(), 0);
    assert!(a.uids(inbox).unwrap().is_empty());
    assert_eq!(a.vanished_since(inbox, old.modseq).unwrap(), vec![2, 3]);
    assert!(a.mailbox("Inbox/Child").is_ok());
    assert!(a.mailbox("Old").is_ok());
    assert_consistent(&s);
}

#[test]
fn rename_takes_children_along() {
    let (_d, s, a) = account();
    let c = a.create_mailbox("a/b/c", SpecialUse::NONE).unwrap();
    a.create_mailbox("ab", SpecialUse::NONE).unwrap();
    let r = a.rename_mailbox("a", "x/y").unwrap();
    assert_eq!(r.name, "x/y");
    let names: Vec<String> = a.mailboxes().unwrap().into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["Inbox", "ab", "x", "x/y", "x/y/b", "x/y/b/c"]);
    let c2 = a.mailbox("x/y/b/c").unwrap();
    assert_eq!((c2.id, c2.uidvalidity), (c.id, c.uidvalidity));
    assert!(matches!(
        a.rename_mailbox("x", "x/z"),
        Err(StoreError::MailboxNotAllowed { .. })
    ));
    assert!(matches!(a.rename_mailbox("x", "ab"), Err(StoreError::MailboxExists(n)) if n == "ab"));
    assert!(
        matches!(a.rename_mailbox("nope", "q"), Err(StoreError::NoSuchMailbox(n)) if n == "nope")
    );
    assert_consistent(&s);
}

#[test]
fn uidvalidity_changes_when_a_name_is_reused() {
    let (_d, s, a) = account();
    let first = a.create_mailbox("Lists", SpecialUse::NONE).unwrap();
    let d = msg(1);
    a.deliver(first.id, &new_msg(&d)).unwrap();
    a.delete_mailbox("Lists").unwrap();
    assert!(matches!(
        a.mailbox("Lists"),
        Err(StoreError::NoSuchMailbox(_))
    ));
    let second = a.create_mailbox("Lists", SpecialUse::NONE).unwrap();
    assert_ne!(second.id, first.id);
    assert!(second.uidvalidity > first.uidvalidity);
    assert_eq!(second.uidnext, 1);
    assert_eq!(a.quota().unwrap().usage, 0);
    // Deleting Inbox or a parent is refused.
    assert!(matches!(
        a.delete_mailbox("inbox"),
        Err(StoreError::MailboxNotAllowed {
            reason: "Inbox cannot be deleted",
            ..
        })
    ));
    a.create_mailbox("p/q", SpecialUse::NONE).unwrap();
    assert!(matches!(
        a.delete_mailbox("p"),
        Err(StoreError::MailboxNotAllowed {
            reason: "has child mailboxes",
            ..
        })
    ));
    assert_consistent(&s);
}

#[test]
fn quota_refusal_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(
        dir.path(),
        StoreConfig {
            quota_default: 300,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    let a = s.create_account("q", NewAccount::default()).unwrap();
    let inbox = a.mailbox("Inbox").unwrap().id;
    let small = vec![b'x'; 200];
    a.deliver(inbox, &new_msg(&small)).unwrap();
    let before = a.highest_modseq();
    match a.deliver(inbox, &new_msg(&small)) {
        Err(StoreError::OverQuota {
            limit,
            usage,
            needed,
        }) => assert_eq!((limit, usage, needed), (300, 200, 200)),
        other => panic!("{other:?}"),
    }
    assert_eq!(a.highest_modseq(), before);
    assert_eq!(a.uids(inbox).unwrap(), vec![1]);
    assert_consistent(&s); // no orphan file left behind
    // Copy is refused too.
    assert!(matches!(
        a.copy(inbox, &[1], inbox),
        Err(StoreError::OverQuota { .. })
    ));
    // Override: negative = unlimited, positive = own limit.
    a.set_quota(-1).unwrap();
    a.deliver(inbox, &new_msg(&small)).unwrap();
    assert_eq!(a.quota().unwrap().limit, None);
    a.set_quota(1000).unwrap();
    assert_eq!(a.quota().unwrap().limit, Some(1000));
    assert_eq!(a.quota().unwrap().usage, 400);
    assert_consistent(&s);
}

#[test]
fn subscriptions_outlive_mailboxes() {
    let (_d, s, a) = account();
    a.create_mailbox("Lists", SpecialUse::NONE).unwrap();
    a.set_subscribed("Lists", true).unwrap();
    a.set_subscribed("Future", true).unwrap();
    assert!(a.mailbox("Lists").unwrap().subscribed);
    assert_eq!(a.subscriptions().unwrap(), ["Future", "Inbox", "Lists"]);
    // RFC 9051 6.3.7: deleting a mailbox does not remove its subscription.
    a.delete_mailbox("Lists").unwrap();
    assert_eq!(a.subscriptions().unwrap(), ["Future", "Inbox", "Lists"]);
    // A mailbox created under a subscribed name is subscribed.
    assert!(
        a.create_mailbox("Future", SpecialUse::NONE)
            .unwrap()
            .subscribed
    );
    // Rename moves the subscription; one on the target name applies.
    a.rename_mailbox("Future", "Past").unwrap();
    assert_eq!(a.subscriptions().unwrap(), ["Inbox", "Lists", "Past"]);
    a.create_mailbox("Other", SpecialUse::NONE).unwrap();
    a.rename_mailbox("Other", "Lists").unwrap();
    assert!(a.mailbox("Lists").unwrap().subscribed);
    a.set_subscribed("Lists", false).unwrap();
    assert!(!a.mailbox("Lists").unwrap().subscribed);
    assert_eq!(a.subscriptions().unwrap(), ["Inbox", "Past"]);
    assert_consistent(&s);
}
