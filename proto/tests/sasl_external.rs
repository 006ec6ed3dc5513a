//! SASL EXTERNAL (RFC 4422 appendix A) over the server mechanism API.

use moxide_proto::sasl::{Mechanism, MechanismContext, SaslError, ServerMechanism, Step};

fn external(identity: Option<&str>) -> ServerMechanism {
    ServerMechanism::new(
        Mechanism::External,
        MechanismContext {
            external_identity: identity.map(str::to_string),
            ..MechanismContext::default()
        },
    )
}

#[test]
fn names() {
    assert_eq!(Mechanism::External.name(), "EXTERNAL");
    assert_eq!(Mechanism::from_name("external"), Some(Mechanism::External));
    // Never offered with the password mechanisms.
    assert!(!Mechanism::ALL.contains(&Mechanism::External));
    assert!(!Mechanism::External.is_plaintext());
    assert!(!Mechanism::External.is_plus());
}

#[test]
fn empty_authzid_as_initial_response() {
    let mut m = external(Some("fp1"));
    assert_eq!(
        m.start(Some(b"")),
        Step::Success {
            authcid: "fp1".into(),
            authzid: None,
            final_data: None
        }
    );
    // Sticky end.
    assert_eq!(m.step(b""), Step::Failure(SaslError::OutOfOrder));
}

#[test]
fn authzid_after_empty_challenge() {
    let mut m = external(Some("fp1"));
    assert_eq!(m.start(None), Step::Challenge(Vec::new()));
    assert_eq!(
        m.step(b"mjl@example.org"),
        Step::Success {
            authcid: "fp1".into(),
            authzid: Some("mjl@example.org".into()),
            final_data: None
        }
    );
}

#[test]
fn failures() {
    let mut m = external(None);
    assert_eq!(
        m.start(Some(b"")),
        Step::Failure(SaslError::NoExternalIdentity)
    );
    let mut m = external(Some("fp1"));
    assert_eq!(
        m.start(Some(b"\xff")),
        Step::Failure(SaslError::InvalidUtf8)
    );
    let mut m = external(Some("fp1"));
    assert_eq!(
        m.provide_secrets(None),
        Step::Failure(SaslError::OutOfOrder)
    );
}
