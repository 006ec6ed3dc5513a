//! Queries and answers exchanged between evaluators and resolvers.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The record types mail policy needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordType {
    A,
    Aaaa,
    Mx,
    Txt,
    Tlsa,
    Ptr,
    Cname,
    Ns,
}

impl RecordType {
    /// The type's number on the wire (RFC 1035 3.2.2, RFC 3596, RFC 6698).
    pub fn code(self) -> u16 {
        match self {
            RecordType::A => 1,
            RecordType::Ns => 2,
            RecordType::Cname => 5,
            RecordType::Ptr => 12,
            RecordType::Mx => 15,
            RecordType::Txt => 16,
            RecordType::Aaaa => 28,
            RecordType::Tlsa => 52,
        }
    }

    /// The type for a mnemonic such as `"MX"` or `"aaaa"`.
    pub fn from_name(s: &str) -> Option<RecordType> {
        Some(match s.to_ascii_uppercase().as_str() {
            "A" => RecordType::A,
            "AAAA" => RecordType::Aaaa,
            "MX" => RecordType::Mx,
            "TXT" => RecordType::Txt,
            "TLSA" => RecordType::Tlsa,
            "PTR" => RecordType::Ptr,
            "CNAME" => RecordType::Cname,
            "NS" => RecordType::Ns,
            _ => return None,
        })
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Tlsa => "TLSA",
            RecordType::Ptr => "PTR",
            RecordType::Cname => "CNAME",
            RecordType::Ns => "NS",
        })
    }
}

/// One question: a name in canonical form (see
/// [`normalize_name`](super::normalize_name)) and a type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Query {
    pub name: String,
    pub rtype: RecordType,
}

impl Query {
    /// A query for `name`, which the caller has already normalised.
    pub fn new(name: impl Into<String>, rtype: RecordType) -> Query {
        Query {
            name: name.into(),
            rtype,
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.rtype)
    }
}

/// The data of one record. Names inside records are in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rdata {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Mx {
        preference: u16,
        exchange: String,
    },
    /// The character-strings of one TXT record, in order (RFC 1035 3.3.14).
    /// Policy records are their concatenation: see [`Rdata::txt_joined`].
    Txt(Vec<Vec<u8>>),
    Tlsa {
        usage: u8,
        selector: u8,
        matching: u8,
        data: Vec<u8>,
    },
    Ptr(String),
    Cname(String),
    Ns(String),
}

impl Rdata {
    /// The record type this data belongs to.
    pub fn rtype(&self) -> RecordType {
        match self {
            Rdata::A(_) => RecordType::A,
            Rdata::Aaaa(_) => RecordType::Aaaa,
            Rdata::Mx { .. } => RecordType::Mx,
            Rdata::Txt(_) => RecordType::Txt,
            Rdata::Tlsa { .. } => RecordType::Tlsa,
            Rdata::Ptr(_) => RecordType::Ptr,
            Rdata::Cname(_) => RecordType::Cname,
            Rdata::Ns(_) => RecordType::Ns,
        }
    }

    /// A TXT record's strings joined without separator, as SPF (RFC 7208
    /// 3.3), DKIM (RFC 6376 3.6.2.2), DMARC, MTA-STS and TLSRPT read them.
    /// `None` for other types.
    pub fn txt_joined(&self) -> Option<Vec<u8>> {
        match self {
            Rdata::Txt(parts) => Some(parts.concat()),
            _ => None,
        }
    }
}

/// Records found for a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Records {
    /// The owner name of the records: the query name, or the target of the
    /// last CNAME followed (needed by DANE and MX delivery).
    pub canonical: String,
    /// The records of the queried type; never empty.
    pub data: Vec<Rdata>,
    /// Seconds the answer may be cached (the smallest TTL involved).
    pub ttl: u32,
    /// The validating resolver set the AD bit (RFC 4035 3.2.3): the whole
    /// answer, CNAMEs included, was DNSSEC-verified.
    pub authentic: bool,
}

/// Why a lookup gave no usable answer. Every failure is temporary for the
/// evaluators (SPF/DKIM/DMARC temperror): the data may exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No nameserver answered before the deadline.
    Timeout,
    /// A nameserver answered SERVFAIL (also: DNSSEC validation failed).
    ServFail,
    /// Every nameserver refused the query.
    Refused,
    /// CNAMEs loop or chain too long.
    CnameLoop,
    /// An answer could not be understood, or the name could not be sent.
    Malformed(String),
    /// Sockets failed (no route, no nameserver configured, …).
    Network(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Timeout => f.write_str("dns: timeout"),
            Failure::ServFail => f.write_str("dns: server failure"),
            Failure::Refused => f.write_str("dns: refused"),
            Failure::CnameLoop => f.write_str("dns: cname loop or chain too long"),
            Failure::Malformed(s) => write!(f, "dns: malformed: {s}"),
            Failure::Network(s) => write!(f, "dns: network: {s}"),
        }
    }
}

/// The outcome of one lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// At least one record of the queried type.
    Records(Records),
    /// The name does not exist (RCODE 3, RFC 8020).
    NxDomain { authentic: bool },
    /// The name exists but has no record of this type (RFC 2308 2.2).
    NoData { authentic: bool },
    /// No answer: see [`Failure`].
    Failed(Failure),
}

impl Lookup {
    /// NXDOMAIN or NODATA: a "void lookup" in RFC 7208 4.6.4's sense.
    pub fn is_void(&self) -> bool {
        matches!(self, Lookup::NxDomain { .. } | Lookup::NoData { .. })
    }

    /// The records, or an empty slice when there are none.
    pub fn data(&self) -> &[Rdata] {
        match self {
            Lookup::Records(r) => &r.data,
            _ => &[],
        }
    }

    /// Whether the answer (positive or negative) was DNSSEC-verified.
    /// Failures are never authentic.
    pub fn authentic(&self) -> bool {
        match self {
            Lookup::Records(r) => r.authentic,
            Lookup::NxDomain { authentic } | Lookup::NoData { authentic } => *authentic,
            Lookup::Failed(_) => false,
        }
    }
}
