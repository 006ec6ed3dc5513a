//! Account administration: exact output and errors, data in the store.

use std::path::PathBuf;

use moxide_storage::{Store, StoreConfig};

use super::*;
use crate::config::Domain;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    (dir, store)
}

fn domains() -> Domains {
    let mut d = Domains {
        path: PathBuf::from("/etc/moxide/domains.toml"),
        ..Domains::default()
    };
    d.domains.insert("a.test".into(), Domain::default());
    d
}

#[test]
fn add_list_passwd_quota_remove() {
    let (_dir, store) = store();
    assert_eq!(
        add(
            &store,
            "alice",
            "Alice@A.test",
            Some("pw1"),
            Some(&domains())
        )
        .unwrap(),
        "added account \"alice\" with address alice@a.test\n"
    );
    assert_eq!(
        add(&store, "bob", "bob@b.test", None, None).unwrap(),
        "added account \"bob\" with address bob@b.test (no password: set one with `account passwd` before logging in)\n"
    );
    let acct = store.account("alice").unwrap();
    let mut names: Vec<String> = acct
        .mailboxes()
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["Archive", "Drafts", "Inbox", "Junk", "Sent", "Trash"]
    );
    assert!(acct.password_secrets().unwrap().is_some());
    assert_eq!(
        list(&store).unwrap(),
        "account\tquota\tpassword\taddresses\tlogin\nalice\tdefault\tset\talice@a.test\tenabled\nbob\tdefault\tnone\tbob@b.test\tenabled\n"
    );
    assert_eq!(
        set_password(&store, "bob", "pw2").unwrap(),
        "password of account \"bob\" set\n"
    );
    assert!(
        store
            .account("bob")
            .unwrap()
            .password_secrets()
            .unwrap()
            .is_some()
    );
    assert_eq!(
        set_quota(&store, "bob", "2m").unwrap(),
        "quota of account \"bob\" set to 2097152\n"
    );
    assert_eq!(
        store.account("bob").unwrap().settings().unwrap().quota,
        2 << 20
    );
    assert_eq!(
        set_quota(&store, "alice", "unlimited").unwrap(),
        "quota of account \"alice\" set to unlimited\n"
    );
    assert_eq!(
        list(&store).unwrap(),
        "account\tquota\tpassword\taddresses\tlogin\nalice\tunlimited\tset\talice@a.test\tenabled\nbob\t2097152\tset\tbob@b.test\tenabled\n"
    );
    assert_eq!(
        remove(&store, "bob").unwrap(),
        "removed account \"bob\" with its messages and addresses bob@b.test\n"
    );
    assert_eq!(store.account_names().unwrap(), vec!["alice"]);
    assert_eq!(store.account_for_address("bob@b.test").unwrap(), None);
}

#[test]
fn addresses_added_and_removed() {
    let (_dir, store) = store();
    add(&store, "alice", "alice@a.test", None, None).unwrap();
    add(&store, "carol", "carol@a.test", None, None).unwrap();
    assert_eq!(
        add_address(&store, "alice", "Postmaster@a.test", Some(&domains())).unwrap(),
        "added address postmaster@a.test to account \"alice\"\n"
    );
    assert_eq!(
        store
            .account_for_address("postmaster@a.test")
            .unwrap()
            .as_deref(),
        Some("alice")
    );
    assert_eq!(
        add_address(&store, "alice", "x@b.test", Some(&domains()))
            .unwrap_err()
            .0,
        "b.test is not a configured domain; add [domains.\"b.test\"] to /etc/moxide/domains.toml first"
    );
    assert_eq!(
        add_address(&store, "carol", "postmaster@a.test", None)
            .unwrap_err()
            .0,
        "address postmaster@a.test belongs to account \"alice\" already; remove it there first (`account rmaddr postmaster@a.test`)"
    );
    assert_eq!(
        add_address(&store, "alice", "alice@a.test", None)
            .unwrap_err()
            .0,
        "account \"alice\" has address alice@a.test already"
    );
    assert_eq!(
        remove_address(&store, "ALICE@a.test").unwrap(),
        "removed address alice@a.test from account \"alice\"\n"
    );
    assert_eq!(
        store
            .account("alice")
            .unwrap()
            .settings()
            .unwrap()
            .addresses,
        vec!["postmaster@a.test"]
    );
    assert_eq!(
        remove_address(&store, "postmaster@a.test").unwrap_err().0,
        "postmaster@a.test is the last address of account \"alice\"; add another first, or remove the account"
    );
    assert_eq!(
        remove_address(&store, "nobody@a.test").unwrap_err().0,
        "no account has address nobody@a.test (`moxide config account list` shows the addresses)"
    );
}

#[test]
fn errors_name_the_account_or_address() {
    let (_dir, store) = store();
    add(&store, "alice", "alice@a.test", None, None).unwrap();
    assert_eq!(
        add(&store, "alice", "other@a.test", None, None)
            .unwrap_err()
            .0,
        "account \"alice\" exists already; pick another name"
    );
    assert_eq!(
        add(&store, "al2", "alice@a.test", None, None)
            .unwrap_err()
            .0,
        "address alice@a.test belongs to account \"alice\" already; remove it there first (`account rmaddr alice@a.test`)"
    );
    for (addr, why) in [
        ("alice", "\"alice\" is not an email address: no @"),
        (
            "@a.test",
            "\"@a.test\" is not an email address: empty local part",
        ),
        (
            "a b@a.test",
            "\"a b@a.test\" is not an email address: space or control character in the local part",
        ),
        (
            "a@a..test",
            "\"a@a..test\" is not an email address: \"a..test\" is not a domain name: empty label in domain name",
        ),
    ] {
        assert_eq!(add(&store, "x", addr, None, None).unwrap_err().0, why);
    }
    for r in [
        remove(&store, "nobody"),
        set_password(&store, "nobody", "p"),
        set_quota(&store, "nobody", "1"),
        add_address(&store, "nobody", "n@a.test", None),
    ] {
        assert_eq!(
            r.unwrap_err().0,
            "no account \"nobody\" (`moxide config account list` shows the accounts)"
        );
    }
    assert_eq!(store.account_names().unwrap(), vec!["alice"]);
}

#[test]
fn quotas_and_passwords_parse() {
    assert_eq!(parse_quota("1024").unwrap(), 1024);
    assert_eq!(parse_quota("1k").unwrap(), 1024);
    assert_eq!(parse_quota("3G").unwrap(), 3 << 30);
    assert_eq!(parse_quota("1t").unwrap(), 1 << 40);
    assert_eq!(parse_quota("Unlimited").unwrap(), -1);
    assert_eq!(parse_quota("default").unwrap(), 0);
    let hint =
        "give bytes (e.g. 1073741824 or 1g; suffixes k, m, g, t), \"unlimited\" or \"default\"";
    for bad in [
        "",
        "x",
        "1.5g",
        "-1",
        "k",
        "99999999999999999999",
        "9000000000t",
    ] {
        assert_eq!(
            parse_quota(bad).unwrap_err().0,
            format!("quota {bad:?}: {hint}")
        );
    }
    assert_eq!(
        parse_quota("0").unwrap_err().0,
        "quota \"0\" is zero; use \"default\" for the store's default"
    );
    assert_eq!(
        password_from_input(b"s3cret\r\nignored\n").unwrap(),
        "s3cret"
    );
    assert_eq!(password_from_input(b"only").unwrap(), "only");
    assert_eq!(
        password_from_input(b"\n").unwrap_err().0,
        "empty password on standard input; write the password as its first line"
    );
    assert_eq!(
        password_from_input(b"\xff\n").unwrap_err().0,
        "the password on standard input is not UTF-8"
    );
}

#[test]
fn idn_addresses_are_stored_in_a_labels() {
    let (_dir, store) = store();
    let mut d = domains();
    d.domains
        .insert("xn--exmple-cua.test".into(), Domain::default());
    assert_eq!(
        add(&store, "j", "Jörg@Exämple.test", None, Some(&d)).unwrap(),
        "added account \"j\" with address jörg@xn--exmple-cua.test (no password: set one with `account passwd` before logging in)\n"
    );
    assert_eq!(
        add_address(&store, "j", "alias@XN--EXMPLE-CUA.test", Some(&d)).unwrap(),
        "added address alias@xn--exmple-cua.test to account \"j\"\n"
    );
    assert_eq!(
        add_address(&store, "j", "jörg@exämple.test", Some(&d))
            .unwrap_err()
            .0,
        "account \"j\" has address jörg@xn--exmple-cua.test already"
    );
    assert_eq!(
        add_address(&store, "j", "x@xn--a.test", Some(&d))
            .unwrap_err()
            .0,
        "\"x@xn--a.test\" is not an email address: \"xn--a.test\" is not a domain name: invalid internationalized domain name (IDNA)"
    );
    assert_eq!(
        remove_address(&store, "ALIAS@exämple.test").unwrap(),
        "removed address alias@xn--exmple-cua.test from account \"j\"\n"
    );
    assert_eq!(
        store
            .account_for_address("JÖRG@exämple.TEST")
            .unwrap()
            .as_deref(),
        Some("j")
    );
}

#[test]
fn disable_and_enable_login() {
    let (_dir, store) = store();
    add(&store, "a", "a@a.test", Some("pw"), None).unwrap();
    assert_eq!(
        disable(&store, "a", "  moved to mail.example.org ").unwrap(),
        "login of account \"a\" disabled: moved to mail.example.org (mail is still delivered; sessions logged in now continue)\n"
    );
    assert_eq!(
        store
            .account("a")
            .unwrap()
            .login_disabled()
            .unwrap()
            .as_deref(),
        Some("moved to mail.example.org")
    );
    assert_eq!(
        list(&store).unwrap(),
        "account\tquota\tpassword\taddresses\tlogin\na\tdefault\tset\ta@a.test\tdisabled: moved to mail.example.org\n"
    );
    // A new message replaces the old one.
    disable(&store, "a", "on holiday").unwrap();
    assert_eq!(
        store
            .account("a")
            .unwrap()
            .login_disabled()
            .unwrap()
            .as_deref(),
        Some("on holiday")
    );
    for bad in [
        "",
        "   ",
        "two\nlines",
        "tab\there",
        "caf\u{e9}",
        &"x".repeat(201),
    ] {
        let e = disable(&store, "a", bad).unwrap_err().0;
        assert!(e.starts_with("the message "), "{bad:?}: {e}");
    }
    assert_eq!(
        disable(&store, "a", "").unwrap_err().0,
        "the message is empty; say why, e.g. --message \"account moved to mail.example.org\""
    );
    assert_eq!(
        disable(&store, "a", "caf\u{e9}").unwrap_err().0,
        "the message must be at most 200 printable ASCII characters (it is sent in IMAP and SMTP replies)"
    );
    assert!(disable(&store, "a", &"x".repeat(200)).is_ok());
    assert_eq!(
        disable(&store, "nobody", "x").unwrap_err().0,
        "no account \"nobody\" (`moxide config account list` shows the accounts)"
    );
    assert_eq!(
        enable(&store, "a").unwrap(),
        "login of account \"a\" enabled\n"
    );
    assert_eq!(
        enable(&store, "a").unwrap(),
        "login of account \"a\" is enabled already\n"
    );
    assert_eq!(store.account("a").unwrap().login_disabled().unwrap(), None);
    assert_eq!(
        enable(&store, "nobody").unwrap_err().0,
        "no account \"nobody\" (`moxide config account list` shows the accounts)"
    );
}
