//! AUTHENTICATE (RFC 9051 6.2.2) with SASL-IR (RFC 4959): PLAIN, CRAM-MD5,
//! SCRAM-SHA-1/256 and their -PLUS variants (tls-exporter channel binding,
//! RFC 9266), and EXTERNAL with the TLS client certificate (RFC 4422
//! appendix A). SCRAM's server-final message goes out as one more challenge
//! whose empty answer completes the exchange.

use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::Code;
use moxide_proto::sasl::{ChannelBindings, Mechanism, MechanismContext, ServerMechanism, Step};
use moxide_storage::Account;

use super::login::{
    Attempt, external, fail, find_account, plaintext_allowed, sasl_secrets, succeed,
    verify_password,
};
use crate::imap::Session;

/// The exchange in progress.
pub(crate) struct AuthState {
    tag: Tag,
    phase: Phase,
}

enum Phase {
    /// PLAIN waiting for its (only) message.
    Plain,
    /// A mechanism of `moxide_proto::sasl`; `account` once looked up.
    Sasl {
        mech: Box<ServerMechanism>,
        account: Option<Account>,
        /// The authentication identity, once the client gave it.
        username: String,
    },
    /// The server-final message was sent; the client's empty answer
    /// completes the exchange.
    Final {
        account: Account,
        mechanism: Mechanism,
        username: String,
    },
}

/// AUTHENTICATE mechanism [initial-response].
pub(crate) fn start(s: &mut Session, tag: Tag, mechanism: &str, initial: Option<&[u8]>) {
    let Some(mech) = Mechanism::from_name(mechanism) else {
        return s.no(tag, None, "unsupported authentication mechanism");
    };
    if mech.is_plaintext() && !plaintext_allowed(s) {
        return s.no(
            tag,
            Some(Code::PrivacyRequired),
            "plaintext authentication needs TLS",
        );
    }
    if mech.is_plus() && s.peer.tls_exporter.is_none() {
        return s.no(tag, None, "channel binding needs TLS");
    }
    // EXTERNAL is advertised only with TLS and a client certificate; the
    // mechanism itself fails without an identity.
    if mech == Mechanism::External && !s.peer.tls {
        let a = Attempt {
            mechanism: mech.name(),
            username: "",
            account: None,
        };
        return fail(s, tag, a, "EXTERNAL without TLS");
    }
    if mech == Mechanism::Plain {
        return match initial {
            Some(data) => plain(s, tag, data),
            None => {
                s.auth = Some(AuthState {
                    tag,
                    phase: Phase::Plain,
                });
                s.conn.auth_challenge(b"");
            }
        };
    }
    let random = (s.nonce)();
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let ctx = MechanismContext {
        nonce: hex.as_bytes().to_vec(),
        challenge: format!("<{}.{}@moxide>", &hex[..16], s.unix_now()).into_bytes(),
        channel_bindings: ChannelBindings {
            tls_exporter: s.peer.tls_exporter.clone(),
            tls_server_end_point: None,
        },
        plus_advertised: s.peer.tls_exporter.is_some(),
        external_identity: s.peer.client_key.clone(),
        unknown_user_key: crate::sasl_key::unknown_user_key(&s.store, &random),
    };
    let mut m = Box::new(ServerMechanism::new(mech, ctx));
    let step = m.start(initial);
    drive(s, tag, m, None, String::new(), step);
}

/// Acts on a step of a SASL mechanism.
fn drive(
    s: &mut Session,
    tag: Tag,
    mut mech: Box<ServerMechanism>,
    mut account: Option<Account>,
    mut username: String,
    mut step: Step,
) {
    let mechanism = mech.mechanism();
    loop {
        match step {
            Step::Challenge(data) => {
                s.auth = Some(AuthState {
                    tag,
                    phase: Phase::Sasl {
                        mech,
                        account,
                        username,
                    },
                });
                s.conn.auth_challenge(&data);
                return;
            }
            Step::NeedSecrets { authcid, .. } => {
                username.clone_from(&authcid);
                let found = match find_account(&s.store, &authcid) {
                    Ok(a) => a,
                    Err(e) => return s.store_error(tag, e, "AUTHENTICATE account lookup"),
                };
                let secrets = match found.as_ref().map(sasl_secrets).transpose() {
                    Ok(sec) => sec.flatten(),
                    Err(e) => return s.store_error(tag, e, "AUTHENTICATE secrets"),
                };
                account = found;
                step = mech.provide_secrets(secrets);
            }
            Step::Success {
                authcid,
                authzid,
                final_data,
            } => {
                if mechanism == Mechanism::External {
                    // authcid is the client key's fingerprint.
                    return external(s, tag, &authcid, authzid.as_deref());
                }
                let name = account.as_ref().map(|a| a.name().to_string());
                let a = Attempt {
                    mechanism: mechanism.name(),
                    username: &authcid,
                    account: name.as_deref(),
                };
                let Some(acct) = account.take() else {
                    return fail(s, tag, a, "unknown user");
                };
                if authzid
                    .as_ref()
                    .is_some_and(|z| !z.is_empty() && *z != authcid)
                {
                    return fail(s, tag, a, "authorization identity differs");
                }
                match final_data {
                    Some(data) => {
                        s.auth = Some(AuthState {
                            tag,
                            phase: Phase::Final {
                                account: acct,
                                mechanism,
                                username: authcid,
                            },
                        });
                        s.conn.auth_challenge(&data);
                    }
                    None => succeed(s, tag, acct, "AUTHENTICATE", a),
                }
                return;
            }
            Step::Failure(e) => {
                tracing::debug!(error = %e, "sasl failure");
                let name = account.as_ref().map(|a| a.name().to_string());
                let a = Attempt {
                    mechanism: mechanism.name(),
                    username: &username,
                    account: name.as_deref(),
                };
                return fail(s, tag, a, &e.to_string());
            }
        }
    }
}

/// PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`.
fn plain(s: &mut Session, tag: Tag, data: &[u8]) {
    let mut it = data.split(|&b| b == 0);
    let (Some(authz), Some(authc), Some(pass), None) = (it.next(), it.next(), it.next(), it.next())
    else {
        return s.bad(tag, "malformed PLAIN message");
    };
    let mut a = Attempt {
        mechanism: "PLAIN",
        username: "",
        account: None,
    };
    let (Ok(authz), Ok(authc), Ok(pass)) = (
        std::str::from_utf8(authz),
        std::str::from_utf8(authc),
        std::str::from_utf8(pass),
    ) else {
        return fail(s, tag, a, "identity or password not UTF-8");
    };
    a.username = authc;
    if !authz.is_empty() && authz != authc {
        return fail(s, tag, a, "authorization identity differs");
    }
    let acct = match find_account(&s.store, authc) {
        Ok(Some(a)) => a,
        Ok(None) => return fail(s, tag, a, "unknown user"),
        Err(e) => return s.store_error(tag, e, "AUTHENTICATE account lookup"),
    };
    let name = acct.name().to_string();
    a.account = Some(&name);
    match verify_password(&acct, pass) {
        Ok(true) => succeed(s, tag, acct, "AUTHENTICATE", a),
        Ok(false) => fail(s, tag, a, "bad password"),
        Err(e) => s.store_error(tag, e, "AUTHENTICATE password check"),
    }
}

/// The client's answer to a challenge.
pub(crate) fn response(s: &mut Session, data: &[u8]) {
    let Some(st) = s.auth.take() else {
        return;
    };
    match st.phase {
        Phase::Plain => plain(s, st.tag, data),
        Phase::Sasl {
            mut mech,
            account,
            username,
        } => {
            let step = mech.step(data);
            drive(s, st.tag, mech, account, username, step);
        }
        Phase::Final {
            account,
            mechanism,
            username,
        } => {
            let name = account.name().to_string();
            let a = Attempt {
                mechanism: mechanism.name(),
                username: &username,
                account: Some(&name),
            };
            if data.is_empty() {
                succeed(s, st.tag, account, "AUTHENTICATE", a);
            } else {
                fail(s, st.tag, a, "non-empty answer to the server-final message");
            }
        }
    }
}

/// `*`: the client gave up (RFC 9051 6.2.2).
pub(crate) fn cancel(s: &mut Session) {
    if let Some(st) = s.auth.take() {
        s.bad(st.tag, "authentication cancelled");
    }
}
