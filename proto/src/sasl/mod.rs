//! Server-side SASL mechanisms, sans-IO (used by IMAP AUTHENTICATE and SMTP
//! AUTH).
//!
//! All data is raw bytes: the protocol layers do the base64. Randomness and
//! channel-binding data come from the caller through [`MechanismContext`].
//!
//! Calling contract:
//! 1. [`ServerMechanism::new`] with the mechanism and context.
//! 2. [`ServerMechanism::start`] with the initial response, if the client sent
//!    one (`Some(b"")` for an empty one), else `None`.
//! 3. Act on the returned [`Step`]:
//!    * `Challenge(data)`: send it; pass the client's answer to
//!      [`ServerMechanism::step`].
//!    * `NeedSecrets { authcid, .. }`: look up the account and call
//!      [`ServerMechanism::provide_secrets`] (`None` for an unknown user),
//!      which returns the next step.
//!    * `Success { final_data, .. }`: authenticated. `final_data` (SCRAM's
//!      server-final message) MUST reach the client: as additional data with
//!      success where the protocol has it, else as one more challenge whose
//!      (empty) answer the protocol layer consumes before reporting success.
//!    * `Failure(err)`: authentication failed.
//!
//! After `Success` or `Failure` every further call returns `Failure`
//! (errors are sticky).

mod crammd5;
mod external;
mod login;
mod plain;
mod scram;
pub mod secrets;

pub use secrets::{CramMd5Keys, PasswordSecrets, ScramHash, ScramKeys, SecretsError};

use crate::secret::Secret;

/// A SASL mechanism this server implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// PLAIN (RFC 4616).
    Plain,
    /// LOGIN (draft-murchison-sasl-login).
    Login,
    /// CRAM-MD5 (RFC 2195).
    CramMd5,
    /// SCRAM-SHA-1 (RFC 5802).
    ScramSha1,
    /// SCRAM-SHA-1-PLUS (RFC 5802, channel binding).
    ScramSha1Plus,
    /// SCRAM-SHA-256 (RFC 7677).
    ScramSha256,
    /// SCRAM-SHA-256-PLUS (RFC 7677, channel binding).
    ScramSha256Plus,
    /// EXTERNAL (RFC 4422 appendix A): the TLS client certificate. Not in
    /// [`Mechanism::ALL`]: it is offered only on connections with a client
    /// certificate.
    External,
}

impl Mechanism {
    /// All password mechanisms, strongest first (without
    /// [`Mechanism::External`]).
    pub const ALL: [Mechanism; 7] = [
        Mechanism::ScramSha256Plus,
        Mechanism::ScramSha256,
        Mechanism::ScramSha1Plus,
        Mechanism::ScramSha1,
        Mechanism::CramMd5,
        Mechanism::Plain,
        Mechanism::Login,
    ];

    /// The IANA mechanism name.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::ScramSha1 => "SCRAM-SHA-1",
            Mechanism::ScramSha1Plus => "SCRAM-SHA-1-PLUS",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha256Plus => "SCRAM-SHA-256-PLUS",
            Mechanism::External => "EXTERNAL",
        }
    }

    /// Looks a mechanism up by name, ASCII case-insensitively.
    pub fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .chain([Mechanism::External])
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// True for mechanisms that send the password in the clear (PLAIN,
    /// LOGIN), which need TLS.
    pub fn is_plaintext(self) -> bool {
        matches!(self, Mechanism::Plain | Mechanism::Login)
    }

    /// True for the -PLUS variants, which need channel binding.
    pub fn is_plus(self) -> bool {
        matches!(self, Mechanism::ScramSha1Plus | Mechanism::ScramSha256Plus)
    }
}

/// Channel-binding data of the TLS connection the exchange runs over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelBindings {
    /// `tls-exporter` (RFC 9266): 32 bytes exported with label
    /// "EXPORTER-Channel-Binding" and no context.
    pub tls_exporter: Option<Vec<u8>>,
    /// `tls-server-end-point` (RFC 5929 4): hash of the server certificate.
    pub tls_server_end_point: Option<Vec<u8>>,
}

impl ChannelBindings {
    /// The data for a channel-binding type name, if available.
    pub fn get(&self, cb_name: &[u8]) -> Option<&[u8]> {
        match cb_name {
            b"tls-exporter" => self.tls_exporter.as_deref(),
            b"tls-server-end-point" => self.tls_server_end_point.as_deref(),
            _ => None,
        }
    }

    /// True when any channel binding is available (the server may advertise
    /// -PLUS mechanisms).
    pub fn any(&self) -> bool {
        self.tls_exporter.is_some() || self.tls_server_end_point.is_some()
    }
}

/// What a mechanism needs from the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MechanismContext {
    /// SCRAM server nonce: fresh random, at least 16 bytes of entropy.
    /// Printable ASCII except `,` is used as is; anything else is base64
    /// encoded first.
    pub nonce: Vec<u8>,
    /// CRAM-MD5 challenge: a unique msg-id like string, e.g.
    /// `<1896.697170952@postoffice.example.net>` (RFC 2195 2).
    pub challenge: Vec<u8>,
    /// Channel-binding data of this connection (none without TLS).
    pub channel_bindings: ChannelBindings,
    /// Whether the server offered -PLUS mechanisms to this client; a SCRAM
    /// client answering with the `y` flag then fails (RFC 5802 6).
    pub plus_advertised: bool,
    /// The identity established outside the exchange, for EXTERNAL: the
    /// fingerprint of the TLS client certificate's key (see
    /// [`crate::tls_key::spki_fingerprint`]); `None` without one.
    pub external_identity: Option<String>,
    /// A secret of the server, stable across restarts (at least 16 random
    /// bytes, never sent). SCRAM derives from it the salt and keys of a
    /// user without SCRAM secrets (unknown, or no password), so that user
    /// gets a server-first message like any other and fails only at the
    /// proof: an attacker cannot tell which accounts exist. Empty is
    /// allowed (tests) but makes those salts predictable.
    pub unknown_user_key: Vec<u8>,
}

/// The outcome of one exchange step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Step {
    /// Send this challenge and call [`ServerMechanism::step`] with the answer.
    Challenge(Vec<u8>),
    /// Look up the account and call [`ServerMechanism::provide_secrets`].
    NeedSecrets {
        /// The authentication identity (user name) the client claims.
        authcid: String,
        /// The authorisation identity requested, if any.
        authzid: Option<String>,
    },
    /// Authenticated.
    Success {
        /// The authenticated identity.
        authcid: String,
        /// The authorisation identity requested, if any; the caller decides
        /// whether `authcid` may act as it.
        authzid: Option<String>,
        /// Final server data to deliver (SCRAM server-final message).
        final_data: Option<Vec<u8>>,
    },
    /// Authentication failed.
    Failure(SaslError),
}

/// Why an exchange failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The client message does not follow the mechanism's syntax.
    #[error("malformed client message: {0}")]
    Malformed(&'static str),
    /// A name is not valid UTF-8.
    #[error("identity is not UTF-8")]
    InvalidUtf8,
    /// The account does not exist (the caller passed no secrets).
    #[error("unknown user")]
    UnknownUser,
    /// Wrong password, digest or SCRAM proof.
    #[error("invalid credentials")]
    BadCredentials,
    /// The SCRAM client-final nonce differs from the combined nonce.
    #[error("nonce mismatch")]
    NonceMismatch,
    /// The channel-binding data does not match this connection.
    #[error("channel binding mismatch")]
    ChannelBindingMismatch,
    /// A -PLUS mechanism was used without channel binding.
    #[error("channel binding required")]
    ChannelBindingRequired,
    /// The client asked for a channel-binding type we cannot provide.
    #[error("unsupported channel binding type")]
    ChannelBindingUnsupported,
    /// Channel binding requested with a mechanism without -PLUS.
    #[error("channel binding not allowed with this mechanism")]
    ChannelBindingNotAllowed,
    /// The client claims the server lacks channel binding although -PLUS was
    /// offered: a possible downgrade (RFC 5802 6).
    #[error("channel binding downgrade detected")]
    ChannelBindingDowngrade,
    /// A mandatory SCRAM extension (`m=`) we do not support.
    #[error("unsupported mandatory extension")]
    UnsupportedExtension,
    /// The mechanism does not accept an initial response.
    #[error("initial response not allowed")]
    InitialResponseNotAllowed,
    /// A call that does not fit the exchange's state.
    #[error("unexpected call in this state")]
    OutOfOrder,
    /// EXTERNAL without an external identity (no TLS client certificate).
    #[error("no external identity (no TLS client certificate)")]
    NoExternalIdentity,
}

/// Per-mechanism state.
enum Machine {
    Plain(plain::Plain),
    Login(login::Login),
    CramMd5(crammd5::CramMd5),
    Scram(Box<scram::Scram>),
    External(external::External),
}

/// One server-side SASL exchange. See the module docs for the calling
/// contract.
pub struct ServerMechanism {
    mechanism: Mechanism,
    machine: Machine,
    started: bool,
    done: Option<SaslError>,
}

impl std::fmt::Debug for ServerMechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerMechanism")
            .field("mechanism", &self.mechanism)
            .field("started", &self.started)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl ServerMechanism {
    /// Creates the server side of one exchange.
    pub fn new(mechanism: Mechanism, ctx: MechanismContext) -> ServerMechanism {
        let machine = match mechanism {
            Mechanism::External => {
                Machine::External(external::External::new(ctx.external_identity))
            }
            Mechanism::Plain => Machine::Plain(plain::Plain::new()),
            Mechanism::Login => Machine::Login(login::Login::new()),
            Mechanism::CramMd5 => Machine::CramMd5(crammd5::CramMd5::new(ctx.challenge)),
            Mechanism::ScramSha1 | Mechanism::ScramSha1Plus => Machine::Scram(Box::new(
                scram::Scram::new(ScramHash::Sha1, mechanism.is_plus(), ctx),
            )),
            Mechanism::ScramSha256 | Mechanism::ScramSha256Plus => Machine::Scram(Box::new(
                scram::Scram::new(ScramHash::Sha256, mechanism.is_plus(), ctx),
            )),
        };
        ServerMechanism {
            mechanism,
            machine,
            started: false,
            done: None,
        }
    }

    /// The mechanism of this exchange.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Begins the exchange with the client's initial response (`None` when
    /// the client sent none).
    pub fn start(&mut self, initial_response: Option<&[u8]>) -> Step {
        if self.started {
            return self.finish(Step::Failure(SaslError::OutOfOrder));
        }
        self.started = true;
        let step = match (&mut self.machine, initial_response) {
            (Machine::Plain(_) | Machine::Scram(_), None) => Step::Challenge(Vec::new()),
            (Machine::Plain(m), Some(data)) => m.step(data),
            (Machine::Scram(m), Some(data)) => m.step(data),
            (Machine::Login(m), None) => m.start(),
            (Machine::Login(m), Some(data)) => m.step(data),
            (Machine::CramMd5(m), None) => m.start(),
            (Machine::CramMd5(_), Some(_)) => Step::Failure(SaslError::InitialResponseNotAllowed),
            // RFC 4422 A.1: the server sends an empty challenge first.
            (Machine::External(_), None) => Step::Challenge(Vec::new()),
            (Machine::External(m), Some(data)) => m.step(data),
        };
        self.finish(step)
    }

    /// Handles the client's answer to the last challenge. Called before
    /// [`ServerMechanism::start`], it acts as `start(Some(data))`.
    pub fn step(&mut self, client_data: &[u8]) -> Step {
        if let Some(err) = &self.done {
            return Step::Failure(err.clone());
        }
        if !self.started {
            return self.start(Some(client_data));
        }
        let step = match &mut self.machine {
            Machine::Plain(m) => m.step(client_data),
            Machine::Login(m) => m.step(client_data),
            Machine::CramMd5(m) => m.step(client_data),
            Machine::Scram(m) => m.step(client_data),
            Machine::External(m) => m.step(client_data),
        };
        self.finish(step)
    }

    /// Answers [`Step::NeedSecrets`] with the account's secrets (`None` when
    /// there is no such account).
    pub fn provide_secrets(&mut self, secrets: Option<PasswordSecrets>) -> Step {
        if let Some(err) = &self.done {
            return Step::Failure(err.clone());
        }
        let step = match &mut self.machine {
            Machine::Plain(m) => m.provide_secrets(secrets),
            Machine::Login(m) => m.provide_secrets(secrets),
            Machine::CramMd5(m) => m.provide_secrets(secrets),
            Machine::Scram(m) => m.provide_secrets(secrets),
            Machine::External(_) => Step::Failure(SaslError::OutOfOrder),
        };
        self.finish(step)
    }

    /// Records the end of the exchange so later calls fail.
    fn finish(&mut self, step: Step) -> Step {
        if let Some(err) = &self.done {
            return Step::Failure(err.clone());
        }
        match &step {
            Step::Failure(err) => self.done = Some(err.clone()),
            Step::Success { .. } => self.done = Some(SaslError::OutOfOrder),
            Step::Challenge(_) | Step::NeedSecrets { .. } => {}
        }
        step
    }
}

/// Converts a client-supplied identity to a string.
fn utf8(bytes: &[u8]) -> Result<String, SaslError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| SaslError::InvalidUtf8)
}

/// Checks a plaintext password held until the secrets arrive.
fn check_password(
    secrets: Option<PasswordSecrets>,
    password: &Secret<String>,
    authcid: String,
    authzid: Option<String>,
) -> Step {
    match secrets {
        None => Step::Failure(SaslError::UnknownUser),
        Some(s) if s.verify_plain(password.expose()) => Step::Success {
            authcid,
            authzid,
            final_data: None,
        },
        Some(_) => Step::Failure(SaslError::BadCredentials),
    }
}
