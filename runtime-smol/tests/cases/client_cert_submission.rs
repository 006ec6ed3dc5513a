// Submission cases of TLS client-certificate login (no AUTH needed, one
// AUTH for the same account, 538 without TLS, unknown keys); needs
// client_cert_common.rs included first.

/// Reads one SMTP reply (all its lines).
fn smtp_reply(s: &mut impl std::io::Read) -> String {
    let mut all = String::new();
    loop {
        let l = read_line(s);
        let last = l.as_bytes().get(3) == Some(&b' ');
        all.push_str(&l);
        if last {
            return all;
        }
    }
}

fn smtp(s: &mut Tls, line: &str) -> String {
    s.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    smtp_reply(s)
}

/// The AUTH line of an EHLO reply.
fn auth_line(ehlo: &str) -> Option<&str> {
    ehlo.lines()
        .find(|l| l.get(4..).is_some_and(|k| k.starts_with("AUTH")))
}

/// Sends a message from `from` to mox@localhost on an authenticated
/// submission connection; returns the final reply.
fn submit(s: &mut Tls, from: &str, subject: &str) -> String {
    let r = smtp(s, &format!("MAIL FROM:<{from}>"));
    assert!(r.starts_with("250 "), "{r}");
    let r = smtp(s, "RCPT TO:<mox@localhost>");
    assert!(r.starts_with("250 "), "{r}");
    let r = smtp(s, "DATA");
    assert!(r.starts_with("354 "), "{r}");
    smtp(
        s,
        &format!("From: <{from}>\r\nSubject: {subject}\r\n\r\nhello\r\n."),
    )
}

/// The subjects in mox's Inbox, read over IMAPS with the PREAUTH key.
fn inbox_subjects(server: &Server, dir: &Path, keys: &Keys) -> Vec<String> {
    let (mut s, greeting) = imaps(server, dir, Some(&keys.preauth));
    assert!(greeting.starts_with("* PREAUTH "));
    imap(&mut s, "s SELECT INBOX");
    imap(&mut s, "f FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .iter()
        .filter_map(|l| l.strip_prefix("Subject: "))
        .map(|l| l.trim_end().to_string())
        .collect()
}

#[test]
fn submission_with_a_key_needs_no_auth() {
    let dir = tempfile::tempdir().unwrap();
    let (server, keys) = start(dir.path());

    // submissions (implicit TLS): MAIL FROM right away, for any address of
    // the account.
    let (mut s, _) = tls(
        cert_client(dir.path(), Some(&keys.preauth)),
        connect(server.submissions),
    );
    assert!(smtp_reply(&mut s).starts_with("220 "));
    let ehlo = smtp(&mut s, "EHLO client.example");
    assert!(ehlo.starts_with("250-"), "{ehlo}");
    let r = submit(&mut s, "alias@localhost", "by-key-implicit");
    assert!(r.starts_with("250 2.0.0 message accepted"), "{r}");
    // A sender address of another account is still refused.
    assert_eq!(
        smtp(&mut s, "MAIL FROM:<other@localhost>"),
        "550 5.7.1 MAIL FROM address not allowed for the authenticated account\r\n"
    );

    // One AUTH is still allowed, for the same account only.
    let (mut s, _) = tls(
        cert_client(dir.path(), Some(&keys.preauth)),
        connect(server.submissions),
    );
    smtp_reply(&mut s);
    smtp(&mut s, "EHLO client.example");
    let r = smtp(&mut s, &format!("AUTH EXTERNAL {}", b64("other@localhost")));
    assert!(r.starts_with("535 5.7.8 "), "{r}");
    let r = smtp(&mut s, "AUTH EXTERNAL =");
    assert!(r.starts_with("235 2.7.0 "), "{r}");

    // Submission with STARTTLS and the key of account other.
    let mut tcp = connect(server.submission);
    assert!(smtp_reply(&mut tcp).starts_with("220 "));
    tcp.write_all(b"EHLO client.example\r\n").unwrap();
    let ehlo = smtp_reply(&mut tcp);
    assert_eq!(
        auth_line(&ehlo),
        Some("250 AUTH SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN")
    );
    // EXTERNAL without TLS.
    tcp.write_all(b"AUTH EXTERNAL =\r\n").unwrap();
    assert_eq!(
        smtp_reply(&mut tcp),
        "538 5.7.11 encryption required for requested authentication mechanism\r\n"
    );
    tcp.write_all(b"STARTTLS\r\n").unwrap();
    assert!(smtp_reply(&mut tcp).starts_with("220 "));
    let (mut s, _) = tls(cert_client(dir.path(), Some(&keys.other)), tcp);
    let ehlo = smtp(&mut s, "EHLO client.example");
    assert!(ehlo.starts_with("250-"), "{ehlo}");
    let r = submit(&mut s, "other@localhost", "by-key-starttls");
    assert!(r.starts_with("250 2.0.0 message accepted"), "{r}");

    // An unknown key is not authenticated.
    let (mut s, _) = tls(
        cert_client(dir.path(), Some(&keys.unknown)),
        connect(server.submissions),
    );
    smtp_reply(&mut s);
    smtp(&mut s, "EHLO client.example");
    let r = smtp(&mut s, "MAIL FROM:<mox@localhost>");
    assert!(r.starts_with("530 5.7.0 "), "{r}");

    assert_eq!(
        inbox_subjects(&server, dir.path(), &keys),
        ["by-key-implicit", "by-key-starttls"]
    );
    drop(server);
}
