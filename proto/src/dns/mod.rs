//! DNS for mail policy: the shapes every evaluator shares, an in-memory zone
//! for tests, and (in the resolver modules) DNS messages and the stub
//! resolver state machine.
//!
//! The evaluators (SPF, DKIM, DMARC, MTA-STS, DANE, iprev) never see DNS
//! messages. They ask for a [`Query`] (a name and a record type) through
//! [`Poll::Lookup`] and get a [`Lookup`] back through
//! [`Evaluate::handle_answer`]: records after CNAME chasing, NXDOMAIN,
//! NODATA or a failure, each with the DNSSEC "authentic data" bit taken from
//! the validating resolver. Who answers (the stub resolver and the runtime's
//! sockets, or a [`Zone`] in tests) is not their concern.

mod eval;
mod idna;
mod name;
mod types;
mod zone;

pub use eval::{Evaluate, LookupId, Poll, run};
pub use idna::{IdnaError, address_to_ascii, domain_to_ascii, domain_to_unicode};
pub use name::{NameError, normalize_name};
pub use types::{Failure, Lookup, Query, Rdata, RecordType, Records};
pub use zone::{Zone, ZoneError};

// The stub resolver: DNS messages, its settings, cache and state machine.
mod cache;
pub mod message;
mod resolv_conf;
mod resolver;
#[cfg(test)]
mod test_wire;

pub use cache::Cache;
pub use resolv_conf::{DNS_PORT, MAX_NAMESERVERS, ResolverConfig};
pub use resolver::{LookupHandle, Random, Resolver, Transmit, Transport};
