//! SASL server mechanisms: RFC known-answer exchanges and failures.
//! Exchanges read as transcripts: `c` is what the client sends, the
//! asserted `Step` is what the server answers.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use moxide_proto::sasl::{
    ChannelBindings, CramMd5Keys, Mechanism, MechanismContext, PasswordSecrets, SaslError,
    ScramHash, ScramKeys, ServerMechanism, Step,
};

/// Secrets for "pencil" with the salts of the RFC 5802 / RFC 7677 examples.
fn pencil() -> PasswordSecrets {
    let salt1 = B64.decode("QSXCR+Q6sek8bf92").expect("salt");
    let salt256 = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
    PasswordSecrets {
        scram_sha256: ScramKeys::derive(ScramHash::Sha256, "pencil", &salt256, 4096),
        scram_sha1: ScramKeys::derive(ScramHash::Sha1, "pencil", &salt1, 4096),
        cram_md5: CramMd5Keys::derive("pencil"),
    }
}

fn need(authcid: &str, authzid: Option<&str>) -> Step {
    Step::NeedSecrets {
        authcid: authcid.into(),
        authzid: authzid.map(Into::into),
    }
}

fn challenge(s: &str) -> Step {
    Step::Challenge(s.as_bytes().to_vec())
}

fn success(authcid: &str, authzid: Option<&str>, final_data: Option<&str>) -> Step {
    Step::Success {
        authcid: authcid.into(),
        authzid: authzid.map(Into::into),
        final_data: final_data.map(|s| s.as_bytes().to_vec()),
    }
}

fn scram(mech: Mechanism, nonce: &str) -> ServerMechanism {
    ServerMechanism::new(
        mech,
        MechanismContext {
            nonce: nonce.as_bytes().to_vec(),
            ..MechanismContext::default()
        },
    )
}

#[test]
fn scram_sha1_rfc5802_example() {
    let mut m = scram(Mechanism::ScramSha1, "3rfcNHYJY1ZVvWVs7j");
    assert_eq!(m.start(None), challenge(""));
    assert_eq!(
        m.step(b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"),
        need("user", None)
    );
    assert_eq!(
        m.provide_secrets(Some(pencil())),
        challenge("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
    );
    assert_eq!(
        m.step(
            b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        ),
        success("user", None, Some("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="))
    );
    // Sticky end: nothing more is accepted.
    assert_eq!(m.step(b""), Step::Failure(SaslError::OutOfOrder));
}

#[test]
fn scram_sha256_rfc7677_example() {
    let mut m = scram(Mechanism::ScramSha256, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    assert_eq!(
        m.start(Some(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO")),
        need("user", None)
    );
    assert_eq!(
        m.provide_secrets(Some(pencil())),
        challenge(
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        )
    );
    assert_eq!(
        m.step(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
        success("user", None, Some("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="))
    );
}

/// Runs a SCRAM exchange as a client would, returning the server's answer to
/// client-final. `gs2` is the gs2-header, `cb` the client's binding data.
fn run_scram_client(
    mech: Mechanism,
    ctx: MechanismContext,
    gs2: &str,
    cb: &[u8],
    password: &str,
    tamper_nonce: bool,
) -> Step {
    let hash = match mech {
        Mechanism::ScramSha1 | Mechanism::ScramSha1Plus => ScramHash::Sha1,
        _ => ScramHash::Sha256,
    };
    let mut m = ServerMechanism::new(mech, ctx);
    let bare = "n=user,r=clientnonce";
    let first = format!("{gs2}{bare}");
    match m.start(Some(first.as_bytes())) {
        Step::NeedSecrets { .. } => {}
        other => return other,
    }
    let Step::Challenge(server_first) = m.provide_secrets(Some(pencil())) else {
        panic!("expected server-first");
    };
    let server_first = String::from_utf8(server_first).expect("utf8");
    let mut nonce = server_first
        .split(',')
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .expect("nonce")
        .to_string();
    if tamper_nonce {
        nonce.push('x');
    }
    let keys = ScramKeys::derive(
        hash,
        password,
        &pencil().scram(hash).salt,
        pencil().scram(hash).iterations,
    );
    let mut cbind = gs2.as_bytes().to_vec();
    cbind.extend_from_slice(cb);
    let without_proof = format!("c={},r={nonce}", B64.encode(&cbind));
    let auth_message = format!("{bare},{server_first},{without_proof}");
    // ClientKey = HMAC(SaltedPassword, "Client Key"); proof = key ^ sig.
    let salted = hash.salted_password(password.as_bytes(), &keys.salt, keys.iterations);
    let client_key = hash.hmac(&salted, b"Client Key");
    let signature = hash.hmac(&hash.hash(&client_key), auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let final_msg = format!("{without_proof},p={}", B64.encode(proof));
    m.step(final_msg.as_bytes())
}

fn tls_ctx(plus_advertised: bool) -> MechanismContext {
    MechanismContext {
        nonce: vec![0xff, 0x00, b','],
        channel_bindings: ChannelBindings {
            tls_exporter: Some(vec![7; 32]),
            tls_server_end_point: Some(vec![9; 32]),
        },
        plus_advertised,
        ..MechanismContext::default()
    }
}

#[test]
fn scram_plus_with_channel_binding() {
    for (gs2, cb) in [
        ("p=tls-exporter,,", [7u8; 32]),
        ("p=tls-server-end-point,a=user,", [9u8; 32]),
    ] {
        let step = run_scram_client(
            Mechanism::ScramSha256Plus,
            tls_ctx(true),
            gs2,
            &cb,
            "pencil",
            false,
        );
        assert!(
            matches!(&step, Step::Success { authcid, .. } if authcid == "user"),
            "{gs2}: {step:?}"
        );
    }
    let step = run_scram_client(
        Mechanism::ScramSha1Plus,
        tls_ctx(true),
        "p=tls-exporter,,",
        &[7; 32],
        "pencil",
        false,
    );
    assert!(matches!(step, Step::Success { .. }), "{step:?}");
}

/// Mechanism, context, gs2-header, client binding data, password, tamper
/// with the nonce, expected error.
type FailureCase = (
    Mechanism,
    MechanismContext,
    &'static str,
    Vec<u8>,
    &'static str,
    bool,
    SaslError,
);

#[test]
fn scram_failures() {
    let cases: Vec<FailureCase> = vec![
        // Wrong password.
        (
            Mechanism::ScramSha256,
            tls_ctx(false),
            "n,,",
            vec![],
            "pencil2",
            false,
            SaslError::BadCredentials,
        ),
        // Tampered combined nonce.
        (
            Mechanism::ScramSha256,
            tls_ctx(false),
            "n,,",
            vec![],
            "pencil",
            true,
            SaslError::NonceMismatch,
        ),
        // -PLUS without channel binding.
        (
            Mechanism::ScramSha256Plus,
            tls_ctx(true),
            "n,,",
            vec![],
            "pencil",
            false,
            SaslError::ChannelBindingRequired,
        ),
        (
            Mechanism::ScramSha256Plus,
            tls_ctx(true),
            "y,,",
            vec![],
            "pencil",
            false,
            SaslError::ChannelBindingRequired,
        ),
        // Wrong binding data (e.g. a TLS proxy in between).
        (
            Mechanism::ScramSha256Plus,
            tls_ctx(true),
            "p=tls-exporter,,",
            vec![1; 32],
            "pencil",
            false,
            SaslError::ChannelBindingMismatch,
        ),
        // Binding type we cannot provide.
        (
            Mechanism::ScramSha256Plus,
            tls_ctx(true),
            "p=tls-unique,,",
            vec![],
            "pencil",
            false,
            SaslError::ChannelBindingUnsupported,
        ),
        (
            Mechanism::ScramSha256Plus,
            MechanismContext::default(),
            "p=tls-exporter,,",
            vec![],
            "pencil",
            false,
            SaslError::ChannelBindingUnsupported,
        ),
        // "y": client could bind, thinks we cannot, but we offered -PLUS.
        (
            Mechanism::ScramSha256,
            tls_ctx(true),
            "y,,",
            vec![],
            "pencil",
            false,
            SaslError::ChannelBindingDowngrade,
        ),
        // Binding requested with the non-PLUS mechanism.
        (
            Mechanism::ScramSha1,
            tls_ctx(true),
            "p=tls-exporter,,",
            vec![7; 32],
            "pencil",
            false,
            SaslError::ChannelBindingNotAllowed,
        ),
    ];
    for (mech, ctx, gs2, cb, pw, tamper, want) in cases {
        assert_eq!(
            run_scram_client(mech, ctx, gs2, &cb, pw, tamper),
            Step::Failure(want.clone()),
            "{mech:?} {gs2} {pw} {tamper}"
        );
    }
    // "y" is fine when we did not offer -PLUS.
    let step = run_scram_client(
        Mechanism::ScramSha256,
        tls_ctx(false),
        "y,,",
        &[],
        "pencil",
        false,
    );
    assert!(matches!(step, Step::Success { .. }), "{step:?}");
}

#[test]
fn scram_malformed_and_unknown_user() {
    let mut m = scram(Mechanism::ScramSha256, "abc");
    assert_eq!(
        m.start(Some(b"n,,m=ext,n=user,r=x")),
        Step::Failure(SaslError::UnsupportedExtension)
    );
    for bad in [
        &b"n,,"[..],
        b"x,,n=user,r=abc",
        b"n,,n=us=er,r=abc",
        b"n,,n=user",
        b"n,b,n=u,r=a",
    ] {
        let mut m = scram(Mechanism::ScramSha256, "abc");
        assert!(
            matches!(m.start(Some(bad)), Step::Failure(SaslError::Malformed(_))),
            "{bad:?}"
        );
    }
    let mut m = scram(Mechanism::ScramSha256, "abc");
    assert_eq!(
        m.start(Some(b"n,a=adm=2Cin,n=us=3Der,r=abc")),
        need("us=er", Some("adm,in"))
    );
    // An unknown user gets a server-first like any account's (salt from
    // the server secret) and fails only at the proof.
    let Step::Challenge(server_first) = m.provide_secrets(None) else {
        panic!("unknown user must get a server-first message");
    };
    let server_first = String::from_utf8(server_first).expect("utf8");
    assert!(server_first.starts_with("r=abcabc,s="), "{server_first}");
    assert!(server_first.ends_with(",i=4096"), "{server_first}");
    assert_eq!(
        m.step(b"c=biws,r=abcabc,p=AAAA"),
        Step::Failure(SaslError::ChannelBindingMismatch)
    );
}

/// The first message of an exchange for `user` with secrets `secrets`
/// under the server secret `key`: what a client sees before its proof.
fn server_first_for(user: &str, secrets: Option<PasswordSecrets>, key: &[u8]) -> String {
    let mut m = ServerMechanism::new(
        Mechanism::ScramSha256,
        MechanismContext {
            nonce: b"snonce".to_vec(),
            unknown_user_key: key.to_vec(),
            ..MechanismContext::default()
        },
    );
    let first = format!("n,,n={user},r=cnonce");
    assert_eq!(m.start(Some(first.as_bytes())), need(user, None));
    match m.provide_secrets(secrets) {
        Step::Challenge(c) => String::from_utf8(c).expect("utf8"),
        other => panic!("expected server-first, got {other:?}"),
    }
}

#[test]
fn scram_unknown_user_is_indistinguishable_until_the_proof() {
    let key = b"0123456789abcdef0123456789abcdef";
    let real = server_first_for("user", Some(pencil()), key);
    let ghost = server_first_for("ghost", None, key);
    // Same shape: nonce, a 16-byte salt, the iteration count of accounts.
    let shape = |s: &str| {
        let parts: Vec<&str> = s.split(',').collect();
        assert_eq!(parts.len(), 3, "{s}");
        let salt = B64
            .decode(parts[1].strip_prefix("s=").expect("salt"))
            .expect("salt base64");
        (parts[0].to_string(), salt.len(), parts[2].to_string())
    };
    assert_eq!(shape(&real), shape(&ghost));
    // Stable per user (as a stored salt is), different per user and per
    // server secret.
    assert_eq!(ghost, server_first_for("ghost", None, key));
    assert_ne!(ghost, server_first_for("ghost2", None, key));
    assert_ne!(
        ghost,
        server_first_for("ghost", None, b"another server secret")
    );

    // The exchange fails only at the proof, as UnknownUser (for the log;
    // the client sees the same reply as for a wrong password).
    let ctx = MechanismContext {
        nonce: b"snonce".to_vec(),
        unknown_user_key: key.to_vec(),
        ..MechanismContext::default()
    };
    let mut m = ServerMechanism::new(Mechanism::ScramSha256, ctx);
    assert_eq!(m.start(Some(b"n,,n=ghost,r=cnonce")), need("ghost", None));
    let Step::Challenge(sf) = m.provide_secrets(None) else {
        panic!("server-first");
    };
    let sf = String::from_utf8(sf).expect("utf8");
    let salt = B64
        .decode(
            sf.split(',')
                .nth(1)
                .and_then(|s| s.strip_prefix("s="))
                .expect("s="),
        )
        .expect("b64");
    let hash = ScramHash::Sha256;
    let without_proof = "c=biws,r=cnoncesnonce";
    let auth_message = format!("n=ghost,r=cnonce,{sf},{without_proof}");
    let salted = hash.salted_password(b"guess", &salt, 4096);
    let client_key = hash.hmac(&salted, b"Client Key");
    let signature = hash.hmac(&hash.hash(&client_key), auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let final_msg = format!("{without_proof},p={}", B64.encode(proof));
    assert_eq!(
        m.step(final_msg.as_bytes()),
        Step::Failure(SaslError::UnknownUser)
    );
}

#[test]
fn cram_md5_rfc2195_example() {
    let ctx = MechanismContext {
        challenge: b"<1896.697170952@postoffice.reston.mci.net>".to_vec(),
        ..MechanismContext::default()
    };
    let tim = PasswordSecrets::derive("tanstaaftanstaaf", [1; 16], [2; 16]);
    let mut m = ServerMechanism::new(Mechanism::CramMd5, ctx.clone());
    assert_eq!(
        m.start(None),
        challenge("<1896.697170952@postoffice.reston.mci.net>")
    );
    assert_eq!(
        m.step(b"tim b913a602c7eda7a495b4e6e7334d3890"),
        need("tim", None)
    );
    assert_eq!(
        m.provide_secrets(Some(tim.clone())),
        success("tim", None, None)
    );

    let mut m = ServerMechanism::new(Mechanism::CramMd5, ctx.clone());
    let _ = m.start(None);
    assert_eq!(
        m.step(b"tim b913a602c7eda7a495b4e6e7334d3891"),
        need("tim", None)
    );
    assert_eq!(
        m.provide_secrets(Some(tim)),
        Step::Failure(SaslError::BadCredentials)
    );

    let mut m = ServerMechanism::new(Mechanism::CramMd5, ctx.clone());
    assert_eq!(
        m.start(Some(b"tim x")),
        Step::Failure(SaslError::InitialResponseNotAllowed)
    );
    let mut m = ServerMechanism::new(Mechanism::CramMd5, ctx);
    let _ = m.start(None);
    assert!(matches!(
        m.step(b"tim b913"),
        Step::Failure(SaslError::Malformed(_))
    ));
}

#[test]
fn plain_with_and_without_authzid() {
    let secrets = PasswordSecrets::derive("pencil", [1; 16], [2; 16]);
    let mut m = ServerMechanism::new(Mechanism::Plain, MechanismContext::default());
    assert_eq!(m.start(Some(b"\0user\0pencil")), need("user", None));
    assert_eq!(
        m.provide_secrets(Some(secrets.clone())),
        success("user", None, None)
    );

    let mut m = ServerMechanism::new(Mechanism::Plain, MechanismContext::default());
    assert_eq!(m.start(None), challenge(""));
    assert_eq!(m.step(b"admin\0user\0pencil"), need("user", Some("admin")));
    assert_eq!(
        m.provide_secrets(Some(secrets.clone())),
        success("user", Some("admin"), None)
    );

    let mut m = ServerMechanism::new(Mechanism::Plain, MechanismContext::default());
    assert_eq!(m.start(Some(b"\0user\0wrong")), need("user", None));
    assert_eq!(
        m.provide_secrets(Some(secrets)),
        Step::Failure(SaslError::BadCredentials)
    );
    assert_eq!(
        m.step(b"\0user\0pencil"),
        Step::Failure(SaslError::BadCredentials)
    );

    let mut m = ServerMechanism::new(Mechanism::Plain, MechanismContext::default());
    assert_eq!(m.start(Some(b"\0user\0pencil")), need("user", None));
    assert_eq!(
        m.provide_secrets(None),
        Step::Failure(SaslError::UnknownUser)
    );

    for bad in [
        &b""[..],
        b"user\0pencil",
        b"\0\0pencil",
        b"\0user\0",
        b"a\0b\0c\0d",
        b"\0us\xffer\0p",
    ] {
        let mut m = ServerMechanism::new(Mechanism::Plain, MechanismContext::default());
        assert!(matches!(m.start(Some(bad)), Step::Failure(_)), "{bad:?}");
    }
}

#[test]
fn login_exchange() {
    let secrets = PasswordSecrets::derive("pencil", [1; 16], [2; 16]);
    let mut m = ServerMechanism::new(Mechanism::Login, MechanismContext::default());
    assert_eq!(m.start(None), challenge("Username:"));
    assert_eq!(m.step(b"user"), challenge("Password:"));
    assert_eq!(m.step(b"pencil"), need("user", None));
    assert_eq!(
        m.provide_secrets(Some(secrets.clone())),
        success("user", None, None)
    );

    // Username as initial response.
    let mut m = ServerMechanism::new(Mechanism::Login, MechanismContext::default());
    assert_eq!(m.start(Some(b"user")), challenge("Password:"));
    assert_eq!(m.step(b"bad"), need("user", None));
    assert_eq!(
        m.provide_secrets(Some(secrets)),
        Step::Failure(SaslError::BadCredentials)
    );
}

#[test]
fn out_of_order_calls_fail() {
    let mut m = ServerMechanism::new(Mechanism::Plain, MechanismContext::default());
    assert_eq!(
        m.provide_secrets(None),
        Step::Failure(SaslError::OutOfOrder)
    );
    assert_eq!(m.step(b"\0u\0p"), Step::Failure(SaslError::OutOfOrder));
    let mut m = ServerMechanism::new(Mechanism::ScramSha256, MechanismContext::default());
    let _ = m.start(None);
    assert_eq!(m.start(None), Step::Failure(SaslError::OutOfOrder));
}

#[test]
fn mechanism_names() {
    for m in Mechanism::ALL {
        assert_eq!(
            Mechanism::from_name(&m.name().to_ascii_lowercase()),
            Some(m)
        );
    }
    assert_eq!(
        Mechanism::from_name("SCRAM-SHA-256-PLUS"),
        Some(Mechanism::ScramSha256Plus)
    );
    assert_eq!(Mechanism::from_name("GSSAPI"), None);
    assert!(Mechanism::ScramSha1Plus.is_plus() && !Mechanism::ScramSha1.is_plus());
    assert!(Mechanism::Login.is_plaintext() && !Mechanism::CramMd5.is_plaintext());
}
