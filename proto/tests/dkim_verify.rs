//! DKIM verification: the RFC 6376 and RFC 8463 examples, and every reason a
//! signature does not pass, answered from an in-memory zone.

use std::time::{Duration, Instant};

mod dkim_keys;

use moxide_proto::dkim::{DkimError, Status, Verification, Verifier};
use moxide_proto::dns::{Evaluate, Failure, Lookup, LookupId, Poll, Query, RecordType, Zone, run};

fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

fn verify(msg: &[u8], zone: &Zone, now: u64) -> (Verification, Vec<Query>) {
    run(&mut Verifier::new(msg, now), zone, Instant::now())
}

/// RFC 6376 appendix A.2 (with errata 3192's body) and the key of
/// appendix C.
const RFC6376_MSG: &str = "DKIM-Signature: v=1; a=rsa-sha256; s=brisbane; d=example.com;
      c=simple/simple; q=dns/txt; i=joe@football.example.com;
      h=Received : From : To : Subject : Date : Message-ID;
      bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;
      b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB
        4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut
        KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV
        4bmp/YzhwvcubU4=;
Received: from client1.football.example.com  [192.0.2.1]
      by submitserver.example.com with SUBMISSION;
      Fri, 11 Jul 2003 21:01:54 -0700 (PDT)
From: Joe SixPack <joe@football.example.com>
To: Suzie Q <suzie@shopping.example.net>
Subject: Is dinner ready?
Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)
Message-ID: <20030712040037.46341.5F8J@football.example.com>

Hi.

We lost the game. Are you hungry yet?

Joe.
";

const RFC6376_KEY: &str = "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYtIxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhitdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB";

/// RFC 8463 appendix A.3: one message, an ed25519 and an RSA signature.
const RFC8463_MSG: &str = "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;
 d=football.example.com; i=@football.example.com;
 q=dns/txt; s=brisbane; t=1528637909; h=from : to :
 subject : date : message-id : from : subject : date;
 bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;
 b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus
 Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;
 d=football.example.com; i=@football.example.com;
 q=dns/txt; s=test; t=1528637909; h=from : to : subject :
 date : message-id : from : subject : date;
 bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;
 b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3
 DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz
 dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=
From: Joe SixPack <joe@football.example.com>
To: Suzie Q <suzie@shopping.example.net>
Subject: Is dinner ready?
Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)
Message-ID: <20030712040037.46341.5F8J@football.example.com>

Hi.

We lost the game.  Are you hungry yet?

Joe.

";

fn rfc8463_zone() -> Zone {
    let mut z = Zone::new();
    z.add_txt(
        "brisbane._domainkey.football.example.com",
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    );
    z.add_txt("test._domainkey.football.example.com", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
    z
}

#[test]
fn rfc6376_appendix_a_verifies() {
    let mut zone = Zone::new();
    zone.add_txt("brisbane._domainkey.example.com", RFC6376_KEY);
    let (v, asked) = verify(&crlf(RFC6376_MSG), &zone, 1_700_000_000);
    assert_eq!(
        asked,
        vec![Query::new(
            "brisbane._domainkey.example.com",
            RecordType::Txt
        )]
    );
    assert_eq!(v.results.len(), 1);
    let r = &v.results[0];
    assert_eq!(
        (r.status, &r.error),
        (Status::Pass, &None),
        "{}",
        r.reason()
    );
    let sig = r.signature.as_ref().unwrap();
    assert_eq!(sig.identity, "joe@football.example.com");
    assert_eq!(r.record_text.as_deref(), Some(RFC6376_KEY));
    assert_eq!(v.status(), Status::Pass);
}

#[test]
fn rfc8463_appendix_a_both_signatures_verify() {
    let (v, asked) = verify(&crlf(RFC8463_MSG), &rfc8463_zone(), 1_700_000_000);
    assert_eq!(asked.len(), 2);
    let statuses: Vec<Status> = v.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Status::Pass, Status::Pass], "{:?}", v.results);
    assert_eq!(
        v.results[0].signature.as_ref().unwrap().selector,
        "brisbane"
    );
}

#[test]
fn a_changed_body_or_header_fails() {
    let msg = crlf(RFC8463_MSG).replace_bytes(b"hungry", b"HUNGRY");
    let (v, _) = verify(&msg, &rfc8463_zone(), 0);
    for r in &v.results {
        assert_eq!(r.status, Status::Fail);
        assert_eq!(r.error, Some(DkimError::BodyHashMismatch));
    }
    let msg = crlf(RFC8463_MSG).replace_bytes(b"Is dinner", b"Is lunch");
    let (v, _) = verify(&msg, &rfc8463_zone(), 0);
    for r in &v.results {
        assert_eq!(r.error, Some(DkimError::SignatureMismatch));
        assert_eq!(r.status, Status::Fail);
    }
    // Relaxed canonicalisation tolerates whitespace and case changes.
    let msg = crlf(RFC8463_MSG).replace_bytes(b"Subject: Is dinner", b"SUBJECT:   Is \t dinner");
    let (v, _) = verify(&msg, &rfc8463_zone(), 0);
    assert!(v.results.iter().all(|r| r.status == Status::Pass));
    // An added From above the signed one breaks the over-signed signature.
    let mut msg = b"From: Mallory <m@evil.example>\r\n".to_vec();
    msg.extend(crlf(RFC8463_MSG));
    let (v, _) = verify(&msg, &rfc8463_zone(), 0);
    assert!(v.results.iter().all(|r| r.status == Status::Fail));
}

trait ReplaceBytes {
    fn replace_bytes(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
}

impl ReplaceBytes for Vec<u8> {
    fn replace_bytes(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
        let pos = self.windows(from.len()).position(|w| w == from).unwrap();
        let mut out = self[..pos].to_vec();
        out.extend_from_slice(to);
        out.extend_from_slice(&self[pos + from.len()..]);
        out
    }
}

/// A signature header with `tags` over the RFC 8463 message (not valid
/// cryptographically; for the parse errors).
fn with_sig(tags: &str) -> Vec<u8> {
    let mut msg = format!("DKIM-Signature: {tags}\r\n").into_bytes();
    msg.extend(crlf(RFC8463_MSG));
    msg
}

fn first_error(msg: &[u8], zone: &Zone, now: u64) -> (Status, DkimError) {
    let (v, _) = verify(msg, zone, now);
    let r = &v.results[0];
    (r.status, r.error.clone().unwrap())
}

const BASE: &str = "v=1; a=ed25519-sha256; d=football.example.com; s=brisbane; h=from; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=AAAA";

#[test]
fn signature_header_errors_are_permerror_with_reason() {
    let z = rfc8463_zone();
    let cases: Vec<(String, DkimError)> = vec![
        (BASE.replace("v=1; ", ""), DkimError::MissingTag("v")),
        (
            BASE.replace("v=1", "v=2"),
            DkimError::BadVersion("2".into()),
        ),
        (
            BASE.replace("a=ed25519-sha256", "a=rsa-md5"),
            DkimError::UnknownAlgorithm("rsa-md5".into()),
        ),
        (BASE.replace("b=AAAA", "b=A!A"), DkimError::BadBase64("b")),
        (BASE.replace("bh=2jU", "bh=*jU"), DkimError::BadBase64("bh")),
        (BASE.replace(" s=brisbane;", ""), DkimError::MissingTag("s")),
        (
            BASE.replace("h=from", "h=to:subject"),
            DkimError::FromNotSigned,
        ),
        (
            format!("{BASE}; i=joe@example.net"),
            DkimError::IdentityNotInDomain {
                identity: "joe@example.net".into(),
                domain: "football.example.com".into(),
            },
        ),
        (
            format!("{BASE}; c=loose/simple"),
            DkimError::BadCanonicalization("loose/simple".into()),
        ),
        (
            format!("{BASE}; q=http"),
            DkimError::BadQueryMethod("http".into()),
        ),
        (
            format!("{BASE}; t=100; x=50"),
            DkimError::ExpiresBeforeSigned {
                signed: 100,
                expires: 50,
            },
        ),
        (
            format!("{BASE}; l=-1"),
            DkimError::BadValue {
                tag: "l",
                value: "-1".into(),
            },
        ),
        (format!("{BASE}; v=1"), DkimError::DuplicateTag("v".into())),
    ];
    for (tags, expect) in cases {
        let (status, err) = first_error(&with_sig(&tags), &z, 1_000);
        assert_eq!((status, &err), (Status::PermError, &expect), "{tags}");
    }
    // A subdomain identity is fine: parsing passes, the (simple) body hash
    // then differs.
    let (_, err) = first_error(
        &with_sig(&format!("{BASE}; i=@sub.football.example.com")),
        &z,
        0,
    );
    assert_eq!(err, DkimError::BodyHashMismatch);
}

#[test]
fn expiry_against_now() {
    let z = rfc8463_zone();
    let (status, err) = first_error(&with_sig(&format!("{BASE}; t=100; x=200")), &z, 201);
    assert_eq!(status, Status::PermError);
    assert_eq!(
        err,
        DkimError::Expired {
            expires: 200,
            now: 201
        }
    );
    assert_eq!(err.to_string(), "signature expired at x=200 (now 201)");
}

#[test]
fn key_record_errors() {
    let key_ed = "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    let cases: Vec<(String, DkimError)> = vec![
        (
            "v=DKIM1; k=ed25519; p=".to_string(),
            DkimError::KeyRevoked("brisbane._domainkey.football.example.com".into()),
        ),
        (
            format!("v=DKIM1; {key_ed}"),
            DkimError::BadPublicKey("p= is not an RSA public key in DER".into()),
        ),
        (
            format!("v=DKIM2; k=ed25519; {key_ed}"),
            DkimError::BadKeyRecord {
                name: "brisbane._domainkey.football.example.com".into(),
                reason: "unsupported version v=DKIM2 (only DKIM1)".into(),
            },
        ),
        (
            format!("k=ed25519; v=DKIM1; {key_ed}"),
            DkimError::BadKeyRecord {
                name: "brisbane._domainkey.football.example.com".into(),
                reason: "v= must be the first tag".into(),
            },
        ),
        (
            format!("k=dsa; {key_ed}"),
            DkimError::BadKeyRecord {
                name: "brisbane._domainkey.football.example.com".into(),
                reason: "unknown key type k=dsa".into(),
            },
        ),
        (
            format!("k=ed25519; h=sha1; {key_ed}"),
            DkimError::HashNotAllowed {
                allowed: "sha1".into(),
                hash: "sha256".into(),
            },
        ),
        (
            format!("k=ed25519; s=tlsrpt; {key_ed}"),
            DkimError::ServiceNotEmail("tlsrpt".into()),
        ),
        (
            "k=ed25519; p=AAAA".to_string(),
            DkimError::BadPublicKey("ed25519 key must be 32 bytes, p= has 3".into()),
        ),
        (
            "k=ed25519".to_string(),
            DkimError::BadKeyRecord {
                name: "brisbane._domainkey.football.example.com".into(),
                reason: "missing required tag p=".into(),
            },
        ),
        (
            format!("v=DKIM1; k=rsa; p={}", dkim_keys::RSA512_SPKI),
            DkimError::KeyTooSmall(512),
        ),
    ];
    let msg = crlf(RFC8463_MSG);
    for (record, expect) in cases {
        let mut z = Zone::new();
        z.add_txt("brisbane._domainkey.football.example.com", &record);
        let (v, _) = verify(&msg, &z, 0);
        let r = &v.results[0];
        assert_eq!(
            (r.status, r.error.as_ref()),
            (Status::PermError, Some(&expect)),
            "{record}"
        );
        assert_eq!(r.record_text.as_deref(), Some(record.as_str()));
    }
}

#[test]
fn key_record_type_mismatch_and_strict() {
    let msg = crlf(RFC8463_MSG);
    // The RSA key at the ed25519 selector.
    let mut z2 = Zone::new();
    z2.add_txt("brisbane._domainkey.football.example.com", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB");
    let (v, _) = verify(&msg, &z2, 0);
    assert_eq!(
        v.results[0].error,
        Some(DkimError::KeyTypeMismatch {
            record: "rsa".into(),
            signature: "ed25519-sha256".into()
        })
    );
    // t=s with i= at the domain itself passes; t=y is reported in the record.
    let mut z3 = Zone::new();
    z3.add_txt(
        "brisbane._domainkey.football.example.com",
        "v=DKIM1; k=ed25519; t=s:y; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    );
    let (v, _) = verify(&msg, &z3, 0);
    assert_eq!(v.results[0].status, Status::Pass);
    let rec = v.results[0].record.as_ref().unwrap();
    assert!(rec.testing && rec.strict);
}

#[test]
fn dns_outcomes() {
    let msg = crlf(RFC8463_MSG);
    // No record: permerror (RFC 6376 6.1.2).
    let (v, _) = verify(&msg, &Zone::new(), 0);
    assert_eq!(v.results[0].status, Status::PermError);
    assert_eq!(
        v.results[0].error,
        Some(DkimError::NoKeyRecord(
            "brisbane._domainkey.football.example.com".into()
        ))
    );
    // A DNS failure: temperror.
    let mut z = rfc8463_zone();
    z.fail(
        "brisbane._domainkey.football.example.com",
        None,
        Failure::ServFail,
    );
    let (v, _) = verify(&msg, &z, 0);
    assert_eq!(v.results[0].status, Status::TempError);
    assert_eq!(v.results[1].status, Status::Pass);
    assert_eq!(
        v.results[0].reason(),
        "key lookup brisbane._domainkey.football.example.com: dns: server failure"
    );
    // Several TXT records: the first that parses is used.
    let mut z2 = Zone::new();
    z2.add_txt("brisbane._domainkey.football.example.com", "junk");
    z2.add_txt(
        "brisbane._domainkey.football.example.com",
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    );
    let (v, _) = verify(&msg, &z2, 0);
    assert_eq!(v.results[0].status, Status::Pass);
}

#[test]
fn concurrent_lookups_deadline_and_stray_answers() {
    let msg = crlf(RFC8463_MSG);
    let t0 = Instant::now();
    let mut v = Verifier::new(&msg, 0).with_timeout(Duration::from_secs(5));
    // Both lookups are asked before any answer.
    let Poll::Lookup(id1, q1) = v.poll(t0) else {
        panic!()
    };
    let Poll::Lookup(id2, q2) = v.poll(t0) else {
        panic!()
    };
    assert_eq!(q1.name, "brisbane._domainkey.football.example.com");
    assert_eq!(q2.name, "test._domainkey.football.example.com");
    assert_eq!(v.poll(t0), Poll::Pending);
    assert_eq!(v.deadline(), Some(t0 + Duration::from_secs(5)));
    // An unknown id and a repeated answer are ignored.
    v.handle_answer(t0, LookupId(99), Lookup::NxDomain { authentic: false });
    let zone = rfc8463_zone();
    v.handle_answer(t0, id2, zone.answer(&q2));
    v.handle_answer(t0, id2, Lookup::NxDomain { authentic: false });
    assert_eq!(v.poll(t0), Poll::Pending);
    // The deadline passes: the unanswered one is temperror.
    let Poll::Ready(out) = v.poll(t0 + Duration::from_secs(5)) else {
        panic!()
    };
    assert_eq!(out.results[0].status, Status::TempError);
    assert_eq!(
        out.results[0].error,
        Some(DkimError::Timeout(
            "brisbane._domainkey.football.example.com".into()
        ))
    );
    assert_eq!(out.results[1].status, Status::Pass);
    // A late answer changes nothing; polling again gives the same result.
    v.handle_answer(t0, id1, zone.answer(&q1));
    assert_eq!(v.poll(t0 + Duration::from_secs(6)), Poll::Ready(out));
    assert_eq!(v.deadline(), None);
}

#[test]
fn no_signatures_and_malformed_messages() {
    let (v, asked) = verify(b"From: a\r\n\r\nbody\r\n", &Zone::new(), 0);
    assert!(asked.is_empty());
    assert_eq!((v.results.len(), v.status()), (0, Status::None));
    let (v, _) = verify(b"From: a\r\nbroken line\r\n\r\n", &Zone::new(), 0);
    assert_eq!(v.status(), Status::PermError);
    assert_eq!(
        v.message_error.unwrap().to_string(),
        "malformed header at line 2: not a field or continuation"
    );
}

#[test]
fn many_signatures_are_bounded_and_lookups_shared() {
    // 20 copies of the RFC 8463 ed25519 signature: one lookup, 16
    // evaluated, 4 neutral.
    let full = crlf(RFC8463_MSG);
    let end = full
        .windows(18)
        .position(|w| w == b"DKIM-Signature: v=")
        .unwrap();
    let second = full[end + 1..]
        .windows(16)
        .position(|w| w == b"DKIM-Signature: ")
        .unwrap()
        + end
        + 1;
    let sig = &full[..second];
    let mut msg = Vec::new();
    for _ in 0..20 {
        msg.extend_from_slice(sig);
    }
    msg.extend_from_slice(&full[second..]);
    let (v, asked) = verify(&msg, &rfc8463_zone(), 0);
    // The RSA signature is the 21st: not evaluated, not looked up.
    assert_eq!(asked.len(), 1);
    let pass = v
        .results
        .iter()
        .filter(|r| r.status == Status::Pass)
        .count();
    let neutral: Vec<_> = v
        .results
        .iter()
        .filter(|r| r.status == Status::Neutral)
        .collect();
    assert_eq!((v.results.len(), pass, neutral.len()), (21, 16, 5));
    assert_eq!(neutral[0].error, Some(DkimError::TooManySignatures));
}
