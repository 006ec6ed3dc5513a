//! Tests of `moxide config tlspubkey` on a real store.

use moxide_storage::{NewAccount, Store, StoreConfig};

use super::keygen::from_seed;
use super::tlspubkey::*;

/// An RSA 1024-bit certificate (openssl req -x509 -newkey rsa:1024).
const RSA_1024: &str = "-----BEGIN CERTIFICATE-----\nMIIB/DCCAWWgAwIBAgIUQ1CAQ8eKl+DEcZ2Q72FgPjFltZYwDQYJKoZIhvcNAQEL\nBQAwDzENMAsGA1UEAwwEd2VhazAgFw0yNjExMzAwNTExNTBaGA8yMTI2MTEwNjA1\nMTE1MFowDzENMAsGA1UEAwwEd2VhazCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkC\ngYEAvIMsrXIUqDQbfi+DQWSeB5YxucE71EWug7Ph8m0oMZgVGuVp0QvcdKgo7fU2\nHzpenRrBMVftoc4hZ4Zbm5k/gNg/5xN6m22NhYxOyzKekVHhNNHhrEmzV9mz7EM2\nd5xNxyFP9CF/1M0z4y4Y4WgnkdE2WO5rWw2EgMhZStgZr6ECAwEAAaNTMFEwHQYD\nVR0OBBYEFNS93n9X5iPAeJeYKlF0GQ7EFRweMB8GA1UdIwQYMBaAFNS93n9X5iPA\neJeYKlF0GQ7EFRweMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADgYEA\nSt25RXUxu6aWsLkSXdLM/jf0Zxmda8/s/WGiaoN+n1p96xcVjqfMyNx1dm4R7Tx4\nI1UP/VOIDo32xYFCQ6me3rq+P4clzZcOrZhbPWB2M8K6Rw2N+KtnNTAbAAMpD8Gh\nzMjVHeYLhU6uX6CpHcqpvaYmHuLD+8G7jiLSekyZY4M=\n-----END CERTIFICATE-----\n";
/// An RSA 2048-bit certificate, CN=rsa-laptop.
const RSA_2048: &str = "-----BEGIN CERTIFICATE-----\nMIIDDTCCAfWgAwIBAgIUDe9JLhsiKQtufuvQKZLxvcoaGdYwDQYJKoZIhvcNAQEL\nBQAwFTETMBEGA1UEAwwKcnNhLWxhcHRvcDAgFw0yNjExMzAwNTExNTBaGA8yMTI2\nMTEwNjA1MTE1MFowFTETMBEGA1UEAwwKcnNhLWxhcHRvcDCCASIwDQYJKoZIhvcN\nAQEBBQADggEPADCCAQoCggEBAJXklKpfADtJo5N6iftUPBBIk8vCA7xbcRLDPPRS\nS+TVzfcMLB9PLB7Z5RtCdQBzmQJ0uTRshcB22Kt2SvgnHjPgd0KpXOn+sd+4P7ch\njSdOLTAY5rhDia10Q3ZlDElIJ1Dv1VQTL1umufxAW0bBrbVnFq++kJfUofHnQjZ3\nuHy1EvrTW0MH4urFeRrhbAX6NCxTwLSZxYhjiPzsga9EhZxuOkwwag7u2qtaUpLe\nmBZTbnWfDuw1+PkrgastX7/6M0CNV6iKg3WFKsgpymgsFbjvJ9fKIz3clQv+C0qg\nH8sJZRkCx7aTZeL2fE1cQDqjdwlMvGBY/1OxqwVZro+IKisCAwEAAaNTMFEwHQYD\nVR0OBBYEFMu2D3jSeLuybu57a5mDfXeIfgfUMB8GA1UdIwQYMBaAFMu2D3jSeLuy\nbu57a5mDfXeIfgfUMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQELBQADggEB\nAIjbGdbqhSCLDjZCWSzbUWyJOhBl4/JPEihTFkvjRZa+EdBKWd51f4eRlmNiI9Dn\nBRrQll8ju3CNkvHyTmWXyudPlPZM4LZh5XCNWS06oxRtt4ef2hAEyryJCRW1EZSA\nzqkC+X1vyf4D1ZKQ7OYvgZnDzpDT4vn2gRi96I4qYGm9KhecOD8PLoSX6hcIiGA0\nelPDuZ+us3MXALMEXVu/DM/IZoAV3RM7yY34uWg5tXe7bp2jF15q0twpkb1AcR/K\nkBGMyZlldFFzd39Ki5Ev/6fo4NjFSWh9gedoVfnvSY3/uZgeMuvR0alBfMr388GC\n5M/BELTn3+goabvhWs0nqSA=\n-----END CERTIFICATE-----\n";

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreConfig::default()).unwrap();
    for (name, addrs) in [
        ("mox", vec!["mox@localhost", "alias@localhost"]),
        ("other", vec!["other@localhost"]),
    ] {
        let new = NewAccount {
            addresses: addrs.into_iter().map(str::to_string).collect(),
            password: None,
            quota: 0,
            default_mailboxes: false,
        };
        store.create_account(name, new).unwrap();
    }
    (dir, store)
}

fn req<'a>(address: &'a str, pem: &'a [u8]) -> AddKey<'a> {
    AddKey {
        address,
        name: None,
        no_imap_preauth: false,
        pem,
        now_unix: 1_700_000_000,
    }
}

#[test]
fn add_list_get_remove() {
    let (_dir, store) = store();
    let ed = from_seed(&[7u8; 32], "phone").unwrap();
    // A combined PEM (key first) is fine: the certificate is taken.
    let both = format!("{}{}", ed.key_pem, ed.cert_pem);
    let k = add(&store, req("Alias@LocalHost", both.as_bytes())).unwrap();
    assert_eq!(k.fingerprint, ed.fingerprint);
    assert_eq!(k.key_type, "ed25519");
    assert_eq!(k.name, "phone");
    assert_eq!(k.account, "mox");
    assert_eq!(k.login_address, "alias@localhost");
    assert_eq!(k.cert_der, ed.cert_der);
    assert_eq!(store.tls_pubkey(&k.fingerprint).unwrap(), Some(k.clone()));

    let mut r = req("other@localhost", RSA_2048.as_bytes());
    r.name = Some("work laptop");
    r.no_imap_preauth = true;
    let rsa = add(&store, r).unwrap();
    assert_eq!(rsa.key_type, "rsa-2048");
    assert_eq!(rsa.account, "other");

    assert_eq!(
        list(&store, None).unwrap(),
        format!(
            "{LIST_HEADER}\n{}\ted25519\tmox\talias@localhost\tyes\tphone\n{}\trsa-2048\tother\tother@localhost\tno\twork laptop\n",
            k.fingerprint, rsa.fingerprint
        )
    );
    assert_eq!(
        list(&store, Some("other")).unwrap(),
        format!(
            "{LIST_HEADER}\n{}\trsa-2048\tother\tother@localhost\tno\twork laptop\n",
            rsa.fingerprint
        )
    );
    assert_eq!(
        list(&store, Some("nobody")).unwrap_err().to_string(),
        "unknown account \"nobody\""
    );

    let shown = get(&store, &k.fingerprint).unwrap();
    assert_eq!(
        shown,
        format!(
            "fingerprint: {}\ntype: ed25519\nname: phone\naccount: mox\nlogin address: alias@localhost\nno imap preauth: false\ncreated: 1700000000\n{}",
            k.fingerprint,
            certificate_pem(&ed.cert_der)
        )
    );
    // The PEM printed is the certificate uploaded.
    assert_eq!(
        moxide_proto::tls_key::parse_pem(certificate_pem(&ed.cert_der).as_bytes()).unwrap(),
        ed.cert_der
    );

    let removed = remove(&store, &k.fingerprint).unwrap();
    assert_eq!(removed, k);
    assert_eq!(store.tls_pubkey(&k.fingerprint).unwrap(), None);
    assert_eq!(
        remove(&store, &k.fingerprint).unwrap_err().to_string(),
        format!(
            "no TLS public key with fingerprint {:?} (see `moxide config tlspubkey list`)",
            k.fingerprint
        )
    );
    assert_eq!(
        get(&store, "nope").unwrap_err().to_string(),
        "no TLS public key with fingerprint \"nope\" (see `moxide config tlspubkey list`)"
    );
    assert!(store.check_consistency().unwrap().is_empty());
}

#[test]
fn bad_input_is_named() {
    let (_dir, store) = store();
    let err = |r: AddKey<'_>| add(&store, r).unwrap_err().to_string();
    assert_eq!(
        err(req("mox@localhost", RSA_1024.as_bytes())),
        "certificate on standard input: RSA key of 1024 bits is too weak: at least 2048 bits are required"
    );
    assert_eq!(
        err(req("mox@localhost", b"hello")),
        "certificate on standard input: no CERTIFICATE block in PEM input"
    );
    assert!(
        err(req(
            "mox@localhost",
            b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"
        ))
        .starts_with("certificate on standard input: malformed PEM: "),
    );
    assert_eq!(
        err(req(
            "mox@localhost",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        )),
        "certificate on standard input: malformed certificate: certificate is not a SEQUENCE"
    );
    let ed = from_seed(&[9u8; 32], "x").unwrap();
    assert_eq!(
        err(req("nobody@localhost", ed.cert_pem.as_bytes())),
        "unknown address \"nobody@localhost\": no account has it"
    );
    let mut r = req("mox@localhost", ed.cert_pem.as_bytes());
    r.name = Some(" ");
    assert_eq!(
        err(r),
        "key name \" \": must be non-empty and without control characters"
    );
    add(&store, req("mox@localhost", ed.cert_pem.as_bytes())).unwrap();
    assert_eq!(
        err(req("other@localhost", ed.cert_pem.as_bytes())),
        format!(
            "TLS public key {} is already registered (account \"mox\", name \"x\")",
            ed.fingerprint
        )
    );
    // Nothing but the first key was stored.
    assert_eq!(store.tls_pubkeys(None).unwrap().len(), 1);
}
