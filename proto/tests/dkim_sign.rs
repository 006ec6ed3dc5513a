//! DKIM signing: exact headers, folding, over-signing, round trips through
//! the verifier, key loading and generation, published records.

mod dkim_keys;

use std::time::Instant;

use moxide_proto::dkim::{
    Canon, DkimError, KeyError, KeyRecord, KeyType, PrivateKey, SignError, Signer, SignerSelector,
    Status, Verifier, generate_ed25519, generate_rsa, pkcs8_pem,
};
use moxide_proto::dns::{Zone, run};
use ring::rand::SystemRandom;

const MSG: &str = "From: Joe <joe@example.org>\r\n\
To: Suzie <suzie@example.net>\r\n\
Subject: dinner\r\n\
Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n\
Message-ID: <1@example.org>\r\n\
\r\n\
Hi.\r\n\
\r\n\
We lost the game.  Are you hungry yet?\r\n\
\r\n\
\r\n";

fn ed_key() -> PrivateKey {
    PrivateKey::ed25519_from_seed(&dkim_keys::ED25519_SEED).unwrap()
}

fn rsa_key() -> PrivateKey {
    PrivateKey::from_pem(dkim_keys::RSA2048.as_bytes()).unwrap()
}

fn zone_for(selectors: &[&SignerSelector]) -> Zone {
    let mut z = Zone::new();
    for s in selectors {
        z.add_txt(
            &format!("{}._domainkey.{}", s.selector, s.domain),
            &s.key.dns_record(),
        );
    }
    z
}

#[test]
fn ed25519_signature_exact_bytes() {
    // Ed25519 is deterministic: the whole header is known.
    let sel = SignerSelector::new("example.org", "ed", ed_key());
    let signer = Signer::new(vec![sel]);
    let header = signer
        .sign(MSG.as_bytes(), 1_700_000_000, &SystemRandom::new())
        .unwrap();
    let expect = "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=ed; c=relaxed/relaxed;\r
 t=1700000000; h=From:From:To:To:Cc:Bcc:Reply-To:References:In-Reply-To:\r
 Subject:Subject:Date:Date:Message-ID:Message-ID:Content-Type;\r
 bh=aB3JHhL6YfMiNbWX8XRnLJvbWmh93GDFE5RlKDnCXMM=; b=iRx111w7mkWy6/1qssp8SOo5b1\r
 glknL/6qgPW4Pii2In77L7Ea/gTK95x5B/xuexIhVkKCSBWWwd/o/RFLfDBQ==\r\n";
    assert_eq!(header, expect);
    assert!(header.ends_with("\r\n"));
    for line in header.split("\r\n") {
        assert!(line.len() <= 78, "line too long: {line:?}");
    }
    // The record to publish.
    assert_eq!(
        signer.selectors[0].key.dns_record(),
        "v=DKIM1; k=ed25519; h=sha256; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    );
    let signed = format!("{header}{MSG}");
    let (v, _) = run(
        &mut Verifier::new(signed.as_bytes(), 1_700_000_001),
        &zone_for(&[&signer.selectors[0]]),
        Instant::now(),
    );
    assert_eq!(
        v.results[0].status,
        Status::Pass,
        "{}",
        v.results[0].reason()
    );
}

#[test]
fn round_trips_rsa_and_ed25519_all_canonicalisations_and_lengths() {
    let rng = SystemRandom::new();
    let mut selectors = Vec::new();
    for (n, (hc, bc, len)) in [
        (Canon::Simple, Canon::Simple, false),
        (Canon::Relaxed, Canon::Relaxed, true),
        (Canon::Simple, Canon::Relaxed, true),
        (Canon::Relaxed, Canon::Simple, false),
    ]
    .into_iter()
    .enumerate()
    {
        for (k, key) in [("rsa", rsa_key()), ("ed", ed_key())] {
            let mut sel = SignerSelector::new("example.org", &format!("{k}{n}"), key);
            sel.header_canon = hc;
            sel.body_canon = bc;
            sel.body_length = len;
            sel.expiration = Some(3600);
            sel.identity = Some("joe@mail.example.org".into());
            selectors.push(sel);
        }
    }
    let signer = Signer::new(selectors);
    let headers = signer.sign(MSG.as_bytes(), 1_000, &rng).unwrap();
    assert_eq!(headers.matches("DKIM-Signature:").count(), 8);
    assert!(headers.contains("x=4600;"));
    assert!(headers.contains("l=46;"));
    let zone = zone_for(&signer.selectors.iter().collect::<Vec<_>>());
    let signed = format!("{headers}{MSG}");
    let (v, asked) = run(
        &mut Verifier::new(signed.as_bytes(), 2_000),
        &zone,
        Instant::now(),
    );
    assert_eq!(asked.len(), 8);
    for r in &v.results {
        assert_eq!(r.status, Status::Pass, "{} {}", r.header, r.reason());
    }
    // With l=, text appended to the body still passes; without, it fails.
    let appended = format!("{signed}P.S. buy now\r\n");
    let (v, _) = run(
        &mut Verifier::new(appended.as_bytes(), 2_000),
        &zone,
        Instant::now(),
    );
    let with_l: Vec<Status> = v.results.iter().map(|r| r.status).collect();
    assert_eq!(
        with_l,
        [
            Status::Fail,
            Status::Fail,
            Status::Pass,
            Status::Pass,
            Status::Pass,
            Status::Pass,
            Status::Fail,
            Status::Fail
        ]
    );
    // After x= the signatures are expired.
    let (v, _) = run(
        &mut Verifier::new(signed.as_bytes(), 4_601),
        &zone,
        Instant::now(),
    );
    assert_eq!(
        v.results[0].error,
        Some(DkimError::Expired {
            expires: 4_600,
            now: 4_601
        })
    );
}

#[test]
fn body_length_longer_than_body_is_permerror() {
    let mut sel = SignerSelector::new("example.org", "ed", ed_key());
    sel.body_length = true;
    let signer = Signer::new(vec![sel]);
    let headers = signer
        .sign(MSG.as_bytes(), 1, &SystemRandom::new())
        .unwrap();
    // Cut the body: l=46 is now longer than it.
    let signed = format!("{headers}{}", &MSG[..MSG.len() - 20]);
    let (v, _) = run(
        &mut Verifier::new(signed.as_bytes(), 1),
        &zone_for(&[&signer.selectors[0]]),
        Instant::now(),
    );
    assert_eq!(v.results[0].status, Status::PermError);
    assert_eq!(
        v.results[0].error,
        Some(DkimError::BodyLengthTooLong {
            length: 46,
            body: 32
        })
    );
}

#[test]
fn sign_errors() {
    let rng = SystemRandom::new();
    let signer = Signer::new(vec![SignerSelector::new("example.org", "ed", ed_key())]);
    assert_eq!(
        signer.sign(b"To: a\r\n\r\nx", 0, &rng),
        Err(SignError::From(0))
    );
    assert_eq!(
        signer.sign(b"From: a\r\nFrom: b\r\n\r\nx", 0, &rng),
        Err(SignError::From(2))
    );
    assert_eq!(
        signer
            .sign(b" From: a\r\n\r\nx", 0, &rng)
            .unwrap_err()
            .to_string(),
        "message: malformed header at line 1: not a field or continuation"
    );
    let mut sel = SignerSelector::new("example.org", "ed", ed_key());
    sel.identity = Some("joe@example.net".into());
    assert_eq!(
        Signer::new(vec![sel]).sign(MSG.as_bytes(), 0, &rng),
        Err(SignError::Selector {
            selector: "ed".into(),
            reason: "identity joe@example.net is not in domain example.org".into()
        })
    );
}

#[test]
fn over_signing_can_be_turned_off() {
    let mut sel = SignerSelector::new("example.org", "ed", ed_key());
    sel.oversign = false;
    sel.headers = vec!["Subject".into(), "X-Absent".into()];
    let h = Signer::new(vec![sel])
        .sign(MSG.as_bytes(), 5, &SystemRandom::new())
        .unwrap();
    assert!(h.contains(" h=From:Subject;"), "{h}");
}

#[test]
fn keys_load_generate_and_publish() {
    let rng = SystemRandom::new();
    // Ed25519: generated PKCS#8 loads back, DER and PEM.
    let der = generate_ed25519(&rng).unwrap();
    let key = PrivateKey::from_der(&der).unwrap();
    let pem = pkcs8_pem(&der);
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let again = PrivateKey::from_pem(pem.as_bytes()).unwrap();
    assert_eq!(key.public_key_data(), again.public_key_data());
    let rec = KeyRecord::parse(key.dns_record().as_bytes()).unwrap();
    assert_eq!(rec.key_type, KeyType::Ed25519);
    // RSA 2048 generated, loaded, published.
    let der = generate_rsa(&rng, 2048).unwrap();
    let key = PrivateKey::from_der(&der).unwrap();
    let rec = KeyRecord::parse(key.dns_record().as_bytes()).unwrap();
    assert_eq!(rec.key_type, KeyType::Rsa);
    assert!(
        key.dns_record().starts_with(
            "v=DKIM1; k=rsa; h=sha256; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
        )
    );
    assert_eq!(
        generate_rsa(&rng, 1024).unwrap_err(),
        KeyError::BadSize(1024)
    );
    // ring does not sign with 1024-bit keys (they still verify).
    assert_eq!(
        PrivateKey::from_pem(dkim_keys::RSA1024.as_bytes()).unwrap_err(),
        KeyError::Unusable("rsa key too small for signing (at least 2048 bits)".into())
    );
    // The 2048-bit PEM key publishes a 2048-bit SPKI.
    let rec = rsa_key().dns_record();
    assert!(
        rec.starts_with("v=DKIM1; k=rsa; h=sha256; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"),
        "{rec}"
    );
    assert_eq!(PrivateKey::from_pem(b"junk").unwrap_err(), KeyError::NoPem);
    assert!(matches!(
        PrivateKey::from_der(b"junk"),
        Err(KeyError::Unusable(_))
    ));
}
