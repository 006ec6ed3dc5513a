//! Settings of outgoing delivery that do not change per job.

use moxide_proto::smtp::client::Timeouts;

use super::mx::AddressPolicy;
use super::tls_policy::TlsSwitches;

/// How delivery attempts are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Our host name, sent in EHLO.
    pub ehlo_name: String,
    /// Address families and whether loopback addresses may be dialed.
    pub addresses: AddressPolicy,
    /// PKIX (MTA-STS) and DANE verification, each on or off.
    pub tls: TlsSwitches,
    /// The SMTP client's timeouts (RFC 5321 4.5.3.2).
    pub timeouts: Timeouts,
}

impl DeliveryConfig {
    /// Defaults for `ehlo_name`: IPv6 then IPv4, no loopback, PKIX and
    /// DANE on, RFC 5321 timeouts.
    pub fn new(ehlo_name: &str) -> DeliveryConfig {
        DeliveryConfig {
            ehlo_name: ehlo_name.to_string(),
            addresses: AddressPolicy::default(),
            tls: TlsSwitches::default(),
            timeouts: Timeouts::default(),
        }
    }
}
