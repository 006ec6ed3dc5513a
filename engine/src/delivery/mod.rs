//! Outgoing delivery: turning one queued [`Job`](crate::queue::Job) into
//! delivery attempts and a [`JobResult`](crate::queue::JobResult).
//!
//! - [`mx`]: MX resolution (RFC 5321 5.1, null MX RFC 7505) and host
//!   addresses.
//! - [`tls_policy`]: the TLS decision per host (DANE RFC 7672, MTA-STS
//!   RFC 8461, REQUIRETLS and `TLS-Required: No` RFC 8689).
//! - [`attempt`]: [`Attempt`], the sans-IO state machine of one attempt.
//! - [`tls_report`]: TLS results for TLSRPT (RFC 8460), stored per day.
//! - [`transport`]: direct and smarthost transports, per-host limits.

pub mod attempt;
pub mod config;
pub mod mx;
pub mod tls_policy;
pub mod tls_report;
pub mod transport;

pub use attempt::{Attempt, AttemptPoll};
pub use config::DeliveryConfig;
pub use mx::{
    AddressPolicy, Destinations, HostAddresses, HostLookup, IpFamilies, MxError, MxHost, MxLookup,
};
pub use tls_policy::{StartTlsMode, TlsPlan, TlsSwitches, VerifyMode};
pub use tls_report::store_tls_results;
pub use transport::{
    HostLimits, HostPermit, SMTP_PORT, Smarthost, SmarthostAuth, SmarthostVerify, Transport,
};
