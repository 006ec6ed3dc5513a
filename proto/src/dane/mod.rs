//! DANE for SMTP (RFC 7672, RFC 6698, RFC 7671): TLSA record usability,
//! the TLSA lookup for an MX host as an [`Evaluate`](crate::dns::Evaluate)
//! evaluator, and a rustls certificate verifier that authenticates the
//! server by those records.
//!
//! Flow: run [`TlsaLookup`] for the MX host; on [`TlsaOutcome::Dane`] build
//! a [`DaneVerifier`] from the policy, hand it to a rustls client config
//! (`dangerous().with_custom_certificate_verifier`), do STARTTLS, and read
//! [`DaneVerifier::verification`] for the log or the TLS report.

mod lookup;
mod tlsa;
mod verify;
#[cfg(test)]
mod verify_tests;

pub use lookup::{
    DanePolicy, TLSA_LOOKUP_TIME, TlsaAnswer, TlsaLookup, TlsaLookupResult, TlsaOutcome,
};
pub use tlsa::{
    MATCHING_FULL, MATCHING_SHA256, MATCHING_SHA512, SELECTOR_CERT, SELECTOR_SPKI, TlsaRecord,
    USAGE_DANE_EE, USAGE_DANE_TA, Unusable, tlsa_name, usable,
};
pub use verify::{
    DaneFailure, DaneVerification, DaneVerifier, FailureKind, has_trust_anchor_record,
};
