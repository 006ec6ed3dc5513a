// IMAP cases of TLS client-certificate login (PREAUTH, EXTERNAL, password
// logins on a certificate connection, unknown keys); needs
// client_cert_common.rs included first.

#[test]
fn imaps_preauth_none_after_starttls_none_with_no_imap_preauth() {
    let dir = tempfile::tempdir().unwrap();
    let (server, keys) = start(dir.path());

    // IMAPS with a known key: PREAUTH, authenticated as its account.
    let (mut s, greeting) = imaps(&server, dir.path(), Some(&keys.preauth));
    assert_eq!(
        greeting,
        format!(
            "* PREAUTH [CAPABILITY IMAP4rev2 IMAP4rev1 {COMMON_CAPS}] moxide localserve IMAP ready, logged in as mox@localhost\r\n"
        )
    );
    assert_account(&mut s, "mox");

    // The key of account other: PREAUTH as other.
    let (mut s, greeting) = imaps(&server, dir.path(), Some(&keys.other));
    assert!(greeting.starts_with("* PREAUTH "), "{greeting}");
    assert_account(&mut s, "other");

    // The same key after STARTTLS: no PREAUTH, EXTERNAL offered.
    let mut s = imap_starttls(&server, dir.path(), Some(&keys.preauth));
    let caps = imap(&mut s, "c CAPABILITY");
    assert_eq!(
        caps[0],
        format!(
            "* CAPABILITY IMAP4rev2 IMAP4rev1 AUTH=EXTERNAL AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1-PLUS AUTH=SCRAM-SHA-1 AUTH=CRAM-MD5 AUTH=PLAIN {COMMON_CAPS}\r\n"
        )
    );
    assert_not_authenticated(&mut s);
    let r = tagged(&mut s, "x AUTHENTICATE EXTERNAL =");
    assert!(r.starts_with("x OK "), "{r}");
    assert_account(&mut s, "mox");

    // A key with "no IMAP preauth": an OK greeting offering EXTERNAL.
    let (mut s, greeting) = imaps(&server, dir.path(), Some(&keys.no_preauth));
    assert_eq!(
        greeting,
        format!(
            "* OK [CAPABILITY IMAP4rev2 IMAP4rev1 AUTH=EXTERNAL AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1-PLUS AUTH=SCRAM-SHA-1 AUTH=CRAM-MD5 AUTH=PLAIN {COMMON_CAPS}] moxide localserve IMAP ready\r\n"
        )
    );
    assert_not_authenticated(&mut s);
    // Without an initial response: an empty challenge, an empty answer.
    s.write_all(b"x AUTHENTICATE EXTERNAL\r\n").unwrap();
    assert_eq!(read_line(&mut s), "+ \r\n");
    let r = send_until(&mut s, "", "x").pop().unwrap();
    assert!(r.starts_with("x OK "), "{r}");
    assert_account(&mut s, "mox");

    // Without a certificate: no EXTERNAL.
    let (mut s, greeting) = imaps(&server, dir.path(), None);
    assert_eq!(
        greeting,
        format!(
            "* OK [CAPABILITY IMAP4rev2 IMAP4rev1 AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1-PLUS AUTH=SCRAM-SHA-1 AUTH=CRAM-MD5 AUTH=PLAIN {COMMON_CAPS}] moxide localserve IMAP ready\r\n"
        )
    );
    let r = tagged(&mut s, "x AUTHENTICATE EXTERNAL =");
    assert!(r.starts_with("x NO "), "{r}");
    drop(server);
}

#[test]
fn external_with_authorization_identity_and_plain_on_a_certificate_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (server, keys) = start(dir.path());
    let fresh = || imaps(&server, dir.path(), Some(&keys.no_preauth)).0;

    // EXTERNAL naming another address of the same account.
    let mut s = fresh();
    let r = tagged(
        &mut s,
        &format!("x AUTHENTICATE EXTERNAL {}", b64("alias@localhost")),
    );
    assert!(r.starts_with("x OK "), "{r}");
    assert_account(&mut s, "mox");

    // EXTERNAL naming an address of another account.
    let mut s = fresh();
    let r = tagged(
        &mut s,
        &format!("x AUTHENTICATE EXTERNAL {}", b64("other@localhost")),
    );
    assert!(r.starts_with("x NO [AUTHENTICATIONFAILED] "), "{r}");
    assert_not_authenticated(&mut s);

    // EXTERNAL naming an address nobody has.
    let r = tagged(
        &mut s,
        &format!("y AUTHENTICATE EXTERNAL {}", b64("nobody@localhost")),
    );
    assert!(r.starts_with("y NO [AUTHENTICATIONFAILED] "), "{r}");

    // PLAIN for the key's account works; LOGIN too.
    let mut s = fresh();
    let plain = b64("\0mox@localhost\0moxmoxmox");
    let r = tagged(&mut s, &format!("p AUTHENTICATE PLAIN {plain}"));
    assert!(r.starts_with("p OK "), "{r}");
    assert_account(&mut s, "mox");

    // PLAIN for another account, with its right password, is refused.
    let mut s = fresh();
    let plain = b64("\0other@localhost\0otherother");
    let r = tagged(&mut s, &format!("p AUTHENTICATE PLAIN {plain}"));
    assert!(r.starts_with("p NO [AUTHENTICATIONFAILED] "), "{r}");
    let r = tagged(&mut s, "l LOGIN other@localhost otherother");
    assert!(r.starts_with("l NO [AUTHENTICATIONFAILED] "), "{r}");
    assert_not_authenticated(&mut s);

    // An unknown key: no PREAUTH, EXTERNAL fails, a password still works.
    let (mut s, greeting) = imaps(&server, dir.path(), Some(&keys.unknown));
    assert!(greeting.starts_with("* OK [CAPABILITY "), "{greeting}");
    let r = tagged(&mut s, "x AUTHENTICATE EXTERNAL =");
    assert!(r.starts_with("x NO [AUTHENTICATIONFAILED] "), "{r}");
    let r = tagged(&mut s, "l LOGIN other@localhost otherother");
    assert!(r.starts_with("l OK "), "{r}");
    assert_account(&mut s, "other");
    drop(server);
}
