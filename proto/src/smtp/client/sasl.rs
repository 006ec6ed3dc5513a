//! The client side of the SASL mechanisms used for AUTH (RFC 4954):
//! SCRAM-SHA-256(-PLUS) and SCRAM-SHA-1(-PLUS) (RFC 5802, RFC 7677, with
//! the `tls-exporter` binding of RFC 9266), CRAM-MD5 (RFC 2195), PLAIN
//! (RFC 4616) and LOGIN. Data is raw bytes; the caller does the base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::sasl::{CramMd5Keys, Mechanism, ScramHash};
use crate::secret::Secret;

/// Highest PBKDF2 iteration count we compute (a hostile server could ask
/// for billions).
const MAX_ITERATIONS: u32 = 1_000_000;

/// What the mechanism sends next.
#[derive(Debug)]
pub(crate) enum Next {
    /// Send this response.
    Respond(Secret<Vec<u8>>),
    /// The exchange is complete on our side: expect `235`.
    Done,
}

/// One client exchange.
#[derive(Debug)]
pub(crate) struct ClientMechanism {
    mechanism: Mechanism,
    username: String,
    password: Secret<String>,
    state: State,
}

#[derive(Debug)]
enum State {
    Start,
    /// LOGIN: the username was sent, the password is next.
    LoginUser,
    /// Everything was sent.
    Sent,
    /// SCRAM: client-first sent; (gs2 header + binding data, bare).
    ScramFirst {
        hash: ScramHash,
        cbind_input: Vec<u8>,
        bare: String,
        nonce: String,
    },
    /// SCRAM: client-final sent; the expected server signature.
    ScramFinal {
        server_signature: Vec<u8>,
    },
    /// SCRAM: the server's signature was right.
    Verified,
}

impl ClientMechanism {
    pub(crate) fn new(mechanism: Mechanism, username: &str, password: &Secret<String>) -> Self {
        ClientMechanism {
            mechanism,
            username: username.to_string(),
            password: password.clone(),
            state: State::Start,
        }
    }

    /// The initial response sent with `AUTH`, if the mechanism has one.
    /// `channel_binding`: the `tls-exporter` data (required for -PLUS).
    /// `cb_flag_y`: we could bind but the server offers no -PLUS.
    pub(crate) fn initial(
        &mut self,
        nonce: &str,
        channel_binding: Option<&[u8]>,
        cb_flag_y: bool,
    ) -> Result<Option<Secret<Vec<u8>>>, String> {
        let hash = match self.mechanism {
            Mechanism::Plain => {
                // RFC 4616 2: authzid NUL authcid NUL passwd.
                let mut v = vec![0u8];
                v.extend_from_slice(self.username.as_bytes());
                v.push(0);
                v.extend_from_slice(self.password.expose().as_bytes());
                self.state = State::Sent;
                return Ok(Some(Secret::new(v)));
            }
            Mechanism::Login | Mechanism::CramMd5 => return Ok(None),
            Mechanism::External => return Err("EXTERNAL is not a password mechanism".into()),
            Mechanism::ScramSha1 | Mechanism::ScramSha1Plus => ScramHash::Sha1,
            Mechanism::ScramSha256 | Mechanism::ScramSha256Plus => ScramHash::Sha256,
        };
        if nonce.is_empty()
            || !nonce
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
        {
            return Err("no usable SCRAM client nonce".into());
        }
        // RFC 5802 7: the gs2-header, and cbind-input = header + binding data.
        let (gs2, cbind_input) = if self.mechanism.is_plus() {
            let cb = channel_binding.ok_or("no TLS channel binding for a -PLUS mechanism")?;
            let gs2 = "p=tls-exporter,,";
            (gs2, [gs2.as_bytes(), cb].concat())
        } else if cb_flag_y {
            ("y,,", b"y,,".to_vec())
        } else {
            ("n,,", b"n,,".to_vec())
        };
        let bare = format!("n={},r={nonce}", saslname(&self.username));
        let first = format!("{gs2}{bare}");
        self.state = State::ScramFirst {
            hash,
            cbind_input,
            bare,
            nonce: nonce.to_string(),
        };
        Ok(Some(Secret::new(first.into_bytes())))
    }

    /// The response to a server challenge (`334`, decoded).
    pub(crate) fn step(&mut self, challenge: &[u8]) -> Result<Next, String> {
        match std::mem::replace(&mut self.state, State::Sent) {
            State::Start => match self.mechanism {
                Mechanism::Login => {
                    self.state = State::LoginUser;
                    Ok(Next::Respond(Secret::new(
                        self.username.as_bytes().to_vec(),
                    )))
                }
                Mechanism::CramMd5 => {
                    // RFC 2195 2: user SP hex(HMAC-MD5(password, challenge)).
                    let mac = CramMd5Keys::derive(self.password.expose()).hmac(challenge);
                    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
                    Ok(Next::Respond(Secret::new(
                        format!("{} {hex}", self.username).into_bytes(),
                    )))
                }
                _ => Err("unexpected challenge before the initial response".into()),
            },
            State::LoginUser => Ok(Next::Respond(Secret::new(
                self.password.expose().as_bytes().to_vec(),
            ))),
            State::ScramFirst {
                hash,
                cbind_input,
                bare,
                nonce,
            } => {
                let (response, server_signature) = scram_final(
                    hash,
                    self.password.expose(),
                    &cbind_input,
                    &bare,
                    &nonce,
                    challenge,
                )?;
                self.state = State::ScramFinal { server_signature };
                Ok(Next::Respond(Secret::new(response.into_bytes())))
            }
            State::ScramFinal { server_signature } => {
                // RFC 5802 7: server-final-message = "v=" signature / "e=" error.
                let text = std::str::from_utf8(challenge).map_err(|_| "server-final not UTF-8")?;
                if let Some(e) = text.strip_prefix("e=") {
                    return Err(format!("server reports SCRAM error {e}"));
                }
                let v = text
                    .strip_prefix("v=")
                    .and_then(|v| B64.decode(v.split(',').next().unwrap_or_default()).ok())
                    .ok_or("malformed SCRAM server-final message")?;
                if !crate::sasl::secrets::constant_time_eq(&v, &server_signature) {
                    return Err("the server's SCRAM signature is wrong (not our server?)".into());
                }
                self.state = State::Verified;
                Ok(Next::Done)
            }
            State::Sent | State::Verified => {
                Err("unexpected challenge after the last response".into())
            }
        }
    }

    /// Whether a `235` is acceptable now: everything was sent and, for
    /// SCRAM, the server proved it knows the password (RFC 5802 3).
    pub(crate) fn complete(&self) -> bool {
        matches!(self.state, State::Sent | State::Verified)
    }
}

/// `saslname` of RFC 5802 5.1: `=` as `=3D`, `,` as `=2C`.
fn saslname(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// From server-first (`r=..,s=..,i=..`): client-final-message and the
/// expected server signature (RFC 5802 3).
fn scram_final(
    hash: ScramHash,
    password: &str,
    cbind_input: &[u8],
    bare: &str,
    nonce: &str,
    server_first: &[u8],
) -> Result<(String, Vec<u8>), String> {
    let text = std::str::from_utf8(server_first).map_err(|_| "server-first not UTF-8")?;
    let mut attrs = text.split(',');
    let combined = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or("server-first without nonce")?;
    if !combined.starts_with(nonce) || combined.len() == nonce.len() {
        return Err("server nonce does not extend ours".into());
    }
    let salt = attrs
        .next()
        .and_then(|a| a.strip_prefix("s="))
        .and_then(|s| B64.decode(s).ok())
        .ok_or("server-first without salt")?;
    let iterations: u32 = attrs
        .next()
        .and_then(|a| a.strip_prefix("i="))
        .and_then(|i| i.parse().ok())
        .ok_or("server-first without iteration count")?;
    if iterations == 0 || iterations > MAX_ITERATIONS {
        return Err(format!("SCRAM iteration count {iterations} out of range"));
    }
    let cbind = B64.encode(cbind_input);
    let without_proof = format!("c={cbind},r={combined}");
    let auth_message = format!("{bare},{text},{without_proof}");
    let (proof, server_signature) = scram_client_proof(
        hash,
        password.as_bytes(),
        &salt,
        iterations,
        auth_message.as_bytes(),
    );
    Ok((
        format!("{without_proof},p={}", B64.encode(proof)),
        server_signature,
    ))
}

/// ClientProof and ServerSignature of RFC 5802 3 for one AuthMessage.
pub fn scram_client_proof(
    hash: ScramHash,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    auth_message: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let salted = hash.salted_password(password, salt, iterations);
    let client_key = hash.hmac(&salted, b"Client Key");
    let stored_key = hash.hash(&client_key);
    let signature = hash.hmac(&stored_key, auth_message);
    let proof = client_key
        .iter()
        .zip(signature.iter())
        .map(|(a, b)| a ^ b)
        .collect();
    let server_key = hash.hmac(&salted, b"Server Key");
    (proof, hash.hmac(&server_key, auth_message))
}
