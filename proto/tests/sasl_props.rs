//! Property tests: no client input makes a SASL mechanism panic, and once an
//! exchange has ended every call fails.

use moxide_proto::sasl::{
    ChannelBindings, CramMd5Keys, Mechanism, MechanismContext, PasswordSecrets, ScramHash,
    ScramKeys, ServerMechanism, Step,
};
use proptest::prelude::*;

/// Cheap secrets (one PBKDF2 iteration) so many cases run quickly.
fn secrets() -> PasswordSecrets {
    PasswordSecrets {
        scram_sha256: ScramKeys::derive(ScramHash::Sha256, "pw", b"salt", 1),
        scram_sha1: ScramKeys::derive(ScramHash::Sha1, "pw", b"salt", 1),
        cram_md5: CramMd5Keys::derive("pw"),
    }
}

/// Client messages near the grammar of the mechanisms.
fn client_data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..80),
        prop::collection::vec(
            prop::sample::select(vec![
                "n",
                "y",
                "p=tls-exporter",
                "p=x",
                ",",
                "a=",
                "n=",
                "r=",
                "c=",
                "p=",
                "m=",
                "=2C",
                "=3D",
                "=",
                "biws",
                "user",
                "\0",
                " ",
                "0123456789abcdef",
                "eSws",
                "cD10bHMtZXhwb3J0ZXIsLA==",
            ]),
            0..16,
        )
        .prop_map(|v| v.concat().into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_exchanges_do_not_panic(
        mech in prop::sample::select(Mechanism::ALL.to_vec()),
        initial in prop::option::of(client_data()),
        answers in prop::collection::vec((client_data(), any::<bool>()), 0..4),
        plus_advertised in any::<bool>(),
    ) {
        let ctx = MechanismContext {
            nonce: b"servernonce".to_vec(),
            challenge: b"<1.2@host>".to_vec(),
            channel_bindings: ChannelBindings {
                tls_exporter: Some(vec![1; 32]),
                tls_server_end_point: None,
            },
            plus_advertised,
            external_identity: None,
            unknown_user_key: b"server secret".to_vec(),
        };
        let mut m = ServerMechanism::new(mech, ctx);
        let mut step = m.start(initial.as_deref());
        let mut ended = false;
        for (data, known_user) in answers {
            if ended {
                prop_assert!(matches!(m.step(&data), Step::Failure(_)));
                continue;
            }
            step = match step {
                Step::NeedSecrets { .. } => m.provide_secrets(known_user.then(secrets)),
                Step::Challenge(_) => m.step(&data),
                Step::Success { .. } | Step::Failure(_) => {
                    ended = true;
                    m.step(&data)
                }
            };
        }
    }
}
