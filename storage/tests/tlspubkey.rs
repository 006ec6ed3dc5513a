//! TLS client keys and login attempts in storage.

use moxide_storage::{
    LoginAttempt, MAX_ATTEMPTS_PER_ACCOUNT, NewAccount, Store, StoreConfig, StoreError, TlsPubKey,
};

const P256_PEM: &[u8] = include_bytes!("../../proto/tests/fixtures/tls_key/p256.pem");
const ED_PEM: &[u8] = include_bytes!("../../proto/tests/fixtures/tls_key/ed25519-nocn.pem");

fn key(pem: &[u8], account: &str, address: &str) -> TlsPubKey {
    let der = moxide_proto::tls_key::parse_pem(pem).unwrap();
    let k = moxide_proto::tls_key::parse_certificate(&der).unwrap();
    TlsPubKey {
        fingerprint: k.fingerprint,
        key_type: k.key_type.to_string(),
        name: k.default_name,
        account: account.into(),
        login_address: address.into(),
        no_imap_preauth: false,
        cert_der: der,
        created_unix: 1_700_000_000,
    }
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    for (name, addrs) in [
        ("mjl", vec!["mjl@example.org", "other@example.org"]),
        ("bob", vec!["bob@example.org"]),
    ] {
        store
            .create_account(
                name,
                NewAccount {
                    addresses: addrs.into_iter().map(String::from).collect(),
                    ..NewAccount::default()
                },
            )
            .unwrap();
    }
    (dir, store)
}

#[test]
fn add_get_list_remove() {
    let (dir, store) = store();
    let k1 = key(P256_PEM, "mjl", "Other@Example.org");
    store.tls_pubkey_add(&k1).unwrap();
    let k2 = key(ED_PEM, "bob", "bob@example.org");
    store.tls_pubkey_add(&k2).unwrap();
    let mut stored1 = k1.clone();
    stored1.login_address = "other@example.org".into();
    assert_eq!(
        store
            .tls_pubkey("jo5cxFEDD6j3o0Wgn5xilh99lJ0x3W7GDe6lue0-64g")
            .unwrap(),
        Some(stored1.clone())
    );
    assert_eq!(stored1.key_type, "ecdsa-p256");
    assert_eq!(stored1.name, "phone");
    assert_eq!(store.tls_pubkey("nope").unwrap(), None);
    assert_eq!(
        store.tls_pubkeys(Some("mjl")).unwrap(),
        vec![stored1.clone()]
    );
    assert_eq!(store.tls_pubkeys(Some("bob")).unwrap(), vec![k2.clone()]);
    assert_eq!(store.tls_pubkeys(Some("nobody")).unwrap(), vec![]);
    assert_eq!(
        store.tls_pubkeys(None).unwrap(),
        vec![k2.clone(), stored1.clone()]
    );
    assert_eq!(store.check_consistency().unwrap(), Vec::<String>::new());

    // Durable across reopen.
    drop(store);
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    assert_eq!(store.tls_pubkeys(None).unwrap().len(), 2);

    assert!(store.tls_pubkey_remove(&k1.fingerprint).unwrap());
    assert!(!store.tls_pubkey_remove(&k1.fingerprint).unwrap());
    assert_eq!(store.tls_pubkeys(Some("mjl")).unwrap(), vec![]);
    assert_eq!(store.tls_pubkeys_remove_account("bob").unwrap(), 1);
    assert_eq!(store.tls_pubkeys(None).unwrap(), vec![]);
    assert_eq!(store.check_consistency().unwrap(), Vec::<String>::new());
}

#[test]
fn add_errors() {
    let (_dir, store) = store();
    let k = key(P256_PEM, "mjl", "mjl@example.org");
    store.tls_pubkey_add(&k).unwrap();
    // The same key again, also for another account.
    let err = store
        .tls_pubkey_add(&key(P256_PEM, "bob", "bob@example.org"))
        .unwrap_err();
    assert!(matches!(&err, StoreError::TlsPubKeyExists(fp) if *fp == k.fingerprint));
    assert_eq!(
        err.to_string(),
        "TLS public key \"jo5cxFEDD6j3o0Wgn5xilh99lJ0x3W7GDe6lue0-64g\" is already registered"
    );
    // An address of another account.
    let err = store
        .tls_pubkey_add(&key(ED_PEM, "mjl", "bob@example.org"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "address \"bob@example.org\" is not an address of account \"mjl\""
    );
    // Unknown account.
    let err = store
        .tls_pubkey_add(&key(ED_PEM, "eve", "eve@example.org"))
        .unwrap_err();
    assert!(matches!(err, StoreError::NoSuchAccount(a) if a == "eve"));
    // Fingerprint not of this certificate.
    let mut bad = key(ED_PEM, "mjl", "mjl@example.org");
    bad.fingerprint = k.fingerprint.clone();
    bad.fingerprint.push('x');
    assert!(matches!(
        store.tls_pubkey_add(&bad).unwrap_err(),
        StoreError::InvalidTlsPubKey { .. }
    ));
    // Wrong key type.
    let mut bad = key(ED_PEM, "mjl", "mjl@example.org");
    bad.key_type = "rsa-2048".into();
    assert!(matches!(
        store.tls_pubkey_add(&bad).unwrap_err(),
        StoreError::InvalidTlsPubKey { .. }
    ));
    // A weak key.
    let weak = moxide_proto::tls_key::parse_pem(include_bytes!(
        "../../proto/tests/fixtures/tls_key/rsa1024.pem"
    ))
    .unwrap();
    let mut bad = key(ED_PEM, "mjl", "mjl@example.org");
    bad.cert_der = weak;
    assert_eq!(
        store.tls_pubkey_add(&bad).unwrap_err().to_string(),
        "invalid TLS public key: RSA key of 1024 bits is too weak: at least 2048 bits are required"
    );
    assert_eq!(store.tls_pubkeys(None).unwrap(), vec![k]);
}

#[test]
fn consistency_reports_a_key_whose_address_moved() {
    let (_dir, store) = store();
    store
        .tls_pubkey_add(&key(P256_PEM, "mjl", "other@example.org"))
        .unwrap();
    let acct = store.account("mjl").unwrap();
    acct.set_addresses(&["mjl@example.org".to_string()])
        .unwrap();
    assert_eq!(
        store.check_consistency().unwrap(),
        vec![
            "TLS public key \"jo5cxFEDD6j3o0Wgn5xilh99lJ0x3W7GDe6lue0-64g\": login address \"other@example.org\" is not an address of account \"mjl\""
                .to_string()
        ]
    );
}

fn attempt(unix: i64, account: Option<&str>, success: bool) -> LoginAttempt {
    LoginAttempt {
        unix,
        account: account.map(String::from),
        address: "mjl@example.org".into(),
        key_fingerprint: Some("fp".into()),
        mechanism: "EXTERNAL".into(),
        protocol: "imap".into(),
        remote_ip: "192.0.2.1".into(),
        success,
        failure: if success { String::new() } else { "bad".into() },
    }
}

#[test]
fn login_attempts_newest_first_and_bounded() {
    let (_dir, store) = store();
    let t = 1_700_000_000;
    store
        .record_login_attempt(&attempt(t, Some("mjl"), true))
        .unwrap();
    store
        .record_login_attempt(&attempt(t, Some("mjl"), false))
        .unwrap();
    store
        .record_login_attempt(&attempt(t + 1, None, false))
        .unwrap();
    assert_eq!(
        store.login_attempts(Some("mjl"), 10).unwrap(),
        vec![
            attempt(t, Some("mjl"), false),
            attempt(t, Some("mjl"), true)
        ]
    );
    assert_eq!(
        store.login_attempts(Some("mjl"), 1).unwrap(),
        vec![attempt(t, Some("mjl"), false)]
    );
    assert_eq!(
        store.login_attempts(None, 10).unwrap(),
        vec![attempt(t + 1, None, false)]
    );
    assert_eq!(store.login_attempts(Some("bob"), 10).unwrap(), vec![]);

    // Older than 30 days goes when a new attempt is recorded.
    store
        .record_login_attempt(&attempt(t + 31 * 86400, Some("mjl"), true))
        .unwrap();
    assert_eq!(
        store.login_attempts(Some("mjl"), 10).unwrap(),
        vec![attempt(t + 31 * 86400, Some("mjl"), true)]
    );

    // At most MAX per account.
    for i in 0..MAX_ATTEMPTS_PER_ACCOUNT + 5 {
        store
            .record_login_attempt(&attempt(t + 40 * 86400 + i as i64, Some("bob"), true))
            .unwrap();
    }
    let all = store.login_attempts(Some("bob"), usize::MAX).unwrap();
    assert_eq!(all.len(), MAX_ATTEMPTS_PER_ACCOUNT);
    assert_eq!(
        all[0].unix,
        t + 40 * 86400 + (MAX_ATTEMPTS_PER_ACCOUNT + 4) as i64
    );
    assert_eq!(all.last().unwrap().unix, t + 40 * 86400 + 5);
}
