//! SCRAM-SHA-1 / SCRAM-SHA-256 and their -PLUS variants, server side
//! (RFC 5802, RFC 7677; channel binding types tls-exporter (RFC 9266) and
//! tls-server-end-point (RFC 5929)).
//!
//! A user without secrets (unknown, or without a password) gets a simulated
//! exchange: a salt and keys derived from the server's
//! [`MechanismContext::unknown_user_key`] and the username, the same every
//! time, so the exchange fails only at the proof, as a wrong password does
//! (RFC 5802 9 leaves this to the server; not revealing which users exist
//! is the safe choice).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::secrets::{ScramHash, ScramKeys, constant_time_eq};
use super::{MechanismContext, PasswordSecrets, SaslError, Step, utf8};

/// What client-first established.
struct ClientFirst {
    /// `client-first-message-bare`, part of AuthMessage.
    bare: Vec<u8>,
    /// Client nonce.
    nonce: Vec<u8>,
    authcid: String,
    authzid: Option<String>,
    /// Expected `c=` content: gs2-header plus channel-binding data.
    cbind_input: Vec<u8>,
}

enum State {
    WantClientFirst,
    WantSecrets(ClientFirst),
    WantClientFinal {
        first: ClientFirst,
        server_first: Vec<u8>,
        keys: ScramKeys,
        /// The keys are simulated: fail at the proof whatever it is.
        unknown: bool,
    },
    Done,
}

/// SCRAM server state.
pub(super) struct Scram {
    hash: ScramHash,
    plus: bool,
    /// Server nonce as sent (printable, no comma).
    server_nonce: Vec<u8>,
    ctx: MechanismContext,
    state: State,
}

impl Scram {
    pub(super) fn new(hash: ScramHash, plus: bool, ctx: MechanismContext) -> Scram {
        let printable = ctx
            .nonce
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) && b != b',');
        let server_nonce = if printable && !ctx.nonce.is_empty() {
            ctx.nonce.clone()
        } else {
            B64.encode(&ctx.nonce).into_bytes()
        };
        Scram {
            hash,
            plus,
            server_nonce,
            ctx,
            state: State::WantClientFirst,
        }
    }

    pub(super) fn step(&mut self, data: &[u8]) -> Step {
        match std::mem::replace(&mut self.state, State::Done) {
            State::WantClientFirst => match self.client_first(data) {
                Ok(first) => {
                    let step = Step::NeedSecrets {
                        authcid: first.authcid.clone(),
                        authzid: first.authzid.clone(),
                    };
                    self.state = State::WantSecrets(first);
                    step
                }
                Err(e) => Step::Failure(e),
            },
            State::WantClientFinal {
                first,
                server_first,
                keys,
                unknown,
            } => match self.client_final(data, &first, &server_first, &keys) {
                // A proof can only match simulated keys by a hash preimage;
                // refuse anyway.
                Ok(_) if unknown => Step::Failure(SaslError::UnknownUser),
                Err(SaslError::BadCredentials) if unknown => Step::Failure(SaslError::UnknownUser),
                Ok(server_final) => Step::Success {
                    authcid: first.authcid,
                    authzid: first.authzid,
                    final_data: Some(server_final),
                },
                Err(e) => Step::Failure(e),
            },
            State::WantSecrets(_) | State::Done => Step::Failure(SaslError::OutOfOrder),
        }
    }

    /// Sends server-first once the account's keys are known (RFC 5802 7):
    /// `r=` c-nonce s-nonce `,s=` salt `,i=` iteration-count.
    pub(super) fn provide_secrets(&mut self, secrets: Option<PasswordSecrets>) -> Step {
        let State::WantSecrets(first) = std::mem::replace(&mut self.state, State::Done) else {
            return Step::Failure(SaslError::OutOfOrder);
        };
        let unknown = secrets.is_none();
        let keys = match secrets {
            Some(secrets) => secrets.scram(self.hash).clone(),
            None => simulated_keys(self.hash, &self.ctx.unknown_user_key, &first.authcid),
        };
        let mut server_first = b"r=".to_vec();
        server_first.extend_from_slice(&first.nonce);
        server_first.extend_from_slice(&self.server_nonce);
        server_first.extend_from_slice(b",s=");
        server_first.extend_from_slice(B64.encode(&keys.salt).as_bytes());
        server_first.extend_from_slice(format!(",i={}", keys.iterations).as_bytes());
        let step = Step::Challenge(server_first.clone());
        self.state = State::WantClientFinal {
            first,
            server_first,
            keys,
            unknown,
        };
        step
    }

    /// client-first-message = gs2-header client-first-message-bare
    /// (RFC 5802 7), with the channel-binding rules of RFC 5802 6.
    fn client_first(&self, data: &[u8]) -> Result<ClientFirst, SaslError> {
        let mut it = data.splitn(3, |&b| b == b',');
        let (Some(flag), Some(authz), Some(bare)) = (it.next(), it.next(), it.next()) else {
            return Err(SaslError::Malformed("SCRAM gs2-header incomplete"));
        };
        let gs2_len = flag.len() + authz.len() + 2;
        let gs2_header = data.get(..gs2_len).unwrap_or_default();
        let mut cbind_input = gs2_header.to_vec();
        match flag {
            b"n" | b"y" if self.plus => return Err(SaslError::ChannelBindingRequired),
            b"n" => {}
            // The client could bind but thinks we cannot; we offered -PLUS,
            // so someone removed it (RFC 5802 6).
            b"y" if self.ctx.plus_advertised => return Err(SaslError::ChannelBindingDowngrade),
            b"y" => {}
            _ => {
                let Some(cb_name) = flag.strip_prefix(b"p=") else {
                    return Err(SaslError::Malformed("SCRAM gs2-cbind-flag"));
                };
                if !self.plus {
                    return Err(SaslError::ChannelBindingNotAllowed);
                }
                let cb_data = self
                    .ctx
                    .channel_bindings
                    .get(cb_name)
                    .ok_or(SaslError::ChannelBindingUnsupported)?;
                cbind_input.extend_from_slice(cb_data);
            }
        }
        let authzid = match authz {
            b"" => None,
            _ => match authz.strip_prefix(b"a=") {
                Some(name) => Some(decode_saslname(name)?),
                None => return Err(SaslError::Malformed("SCRAM authzid")),
            },
        };
        let mut attrs = bare.split(|&b| b == b',');
        let user = attrs.next().unwrap_or_default();
        if user.starts_with(b"m=") {
            return Err(SaslError::UnsupportedExtension);
        }
        let authcid = match user.strip_prefix(b"n=") {
            Some(name) if !name.is_empty() => decode_saslname(name)?,
            _ => return Err(SaslError::Malformed("SCRAM username")),
        };
        let nonce = match attrs.next().and_then(|a| a.strip_prefix(b"r=")) {
            Some(n) if !n.is_empty() && n.iter().all(|&b| (0x21..=0x7e).contains(&b)) => n,
            _ => return Err(SaslError::Malformed("SCRAM client nonce")),
        };
        Ok(ClientFirst {
            bare: bare.to_vec(),
            nonce: nonce.to_vec(),
            authcid,
            authzid,
            cbind_input,
        })
    }

    /// client-final-message = channel-binding "," nonce ["," extensions]
    /// "," proof (RFC 5802 7). Returns server-final-message `v=` signature.
    fn client_final(
        &self,
        data: &[u8],
        first: &ClientFirst,
        server_first: &[u8],
        keys: &ScramKeys,
    ) -> Result<Vec<u8>, SaslError> {
        let proof_at = data
            .windows(3)
            .rposition(|w| w == b",p=")
            .ok_or(SaslError::Malformed("SCRAM proof missing"))?;
        let without_proof = data.get(..proof_at).unwrap_or_default();
        let proof_b64 = data.get(proof_at + 3..).unwrap_or_default();
        let mut attrs = without_proof.split(|&b| b == b',');
        let cbind = attrs
            .next()
            .and_then(|a| a.strip_prefix(b"c="))
            .ok_or(SaslError::Malformed("SCRAM channel binding missing"))?;
        let cbind = B64
            .decode(cbind)
            .map_err(|_| SaslError::Malformed("SCRAM channel binding base64"))?;
        if !constant_time_eq(&cbind, &first.cbind_input) {
            return Err(SaslError::ChannelBindingMismatch);
        }
        let nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix(b"r="))
            .ok_or(SaslError::Malformed("SCRAM nonce missing"))?;
        let mut expected_nonce = first.nonce.clone();
        expected_nonce.extend_from_slice(&self.server_nonce);
        if nonce != expected_nonce.as_slice() {
            return Err(SaslError::NonceMismatch);
        }
        let proof = B64
            .decode(proof_b64)
            .map_err(|_| SaslError::Malformed("SCRAM proof base64"))?;
        if proof.len() != self.hash.output_len() {
            return Err(SaslError::Malformed("SCRAM proof length"));
        }
        // RFC 5802 3: AuthMessage, ClientSignature, ClientKey = proof XOR sig.
        let mut auth_message = first.bare.clone();
        auth_message.push(b',');
        auth_message.extend_from_slice(server_first);
        auth_message.push(b',');
        auth_message.extend_from_slice(without_proof);
        let signature = self.hash.hmac(&keys.stored_key, &auth_message);
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        if !constant_time_eq(&self.hash.hash(&client_key), &keys.stored_key) {
            return Err(SaslError::BadCredentials);
        }
        let server_signature = self.hash.hmac(&keys.server_key, &auth_message);
        let mut out = b"v=".to_vec();
        out.extend_from_slice(B64.encode(server_signature).as_bytes());
        Ok(out)
    }
}

/// Keys for a user without secrets: salt, StoredKey and ServerKey are
/// HMACs of the username under the server's secret, so they are stable per
/// user (as a real account's are) and unpredictable without the secret.
/// The iteration count is the one new accounts get.
fn simulated_keys(hash: ScramHash, secret: &[u8], username: &str) -> ScramKeys {
    let derive = |label: &[u8]| {
        let mut data = label.to_vec();
        data.extend_from_slice(match hash {
            ScramHash::Sha1 => b"SHA-1".as_slice(),
            ScramHash::Sha256 => b"SHA-256".as_slice(),
        });
        data.push(0);
        data.extend_from_slice(username.as_bytes());
        hash.hmac(secret, &data)
    };
    let mut salt = derive(b"salt\0");
    salt.truncate(16);
    ScramKeys {
        hash,
        iterations: super::secrets::SCRAM_ITERATIONS,
        salt,
        stored_key: derive(b"stored\0"),
        server_key: derive(b"server\0"),
    }
}

/// saslname (RFC 5802 7): `=2C` is `,` and `=3D` is `=`; any other `=` is an
/// error.
fn decode_saslname(s: &[u8]) -> Result<String, SaslError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'=' {
            match s.get(i + 1..i + 3) {
                Some(b"2C") => out.push(b','),
                Some(b"3D") => out.push(b'='),
                _ => return Err(SaslError::Malformed("SCRAM saslname escape")),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    utf8(&out)
}
