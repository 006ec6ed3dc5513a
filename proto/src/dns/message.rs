//! DNS messages on the wire, built and read with hickory-proto: the query a
//! stub resolver sends and what a recursive resolver's response means for
//! that query (records after CNAME chasing, NXDOMAIN, NODATA, truncation,
//! server errors), with the TTLs a cache needs.
//!
//! Randomness (the message id, the 0x20 case pattern) is an argument: this
//! module never calls an RNG.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query as WireQuery, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType as WireType};

use super::types::{Failure, Lookup, Query, Rdata, RecordType, Records};

/// The EDNS0 UDP payload size we advertise (the DNS flag day 2020 value:
/// no IP fragmentation on common paths).
pub const UDP_PAYLOAD: u16 = 1232;
/// CNAMEs followed for one lookup, in answers and by new queries together.
pub const MAX_CNAME_CHAIN: usize = 8;

/// What a response must echo to belong to a query we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentQuery {
    /// The message id.
    pub id: u16,
    /// The question name as sent (with its 0x20 case pattern).
    name: Name,
    /// The question type.
    pub rtype: RecordType,
    /// The name was sent with randomised case: the response must echo it
    /// exactly (draft-vixie-dnsext-dns0x20).
    exact_case: bool,
}

/// How a response answers the query it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The final outcome. `cache_ttl` is how long it may be cached: the
    /// smallest TTL in the CNAME chain and records, or for a negative
    /// answer the SOA's negative TTL (RFC 2308 5); 0 means "do not cache".
    Final { lookup: Lookup, cache_ttl: u32 },
    /// The answer holds a CNAME chain ending at `target`, whose records
    /// the server did not include: ask for `target` next. `hops` CNAMEs
    /// were followed, `ttl` is the chain's smallest TTL.
    Alias {
        target: String,
        hops: usize,
        ttl: u32,
        authentic: bool,
    },
    /// TC bit: the answer did not fit; ask again over TCP (RFC 1035 4.2.1,
    /// RFC 7766).
    Truncated,
    /// The server could not answer; another server may.
    ServerError(ServerError),
}

/// A response that says the server did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerError {
    /// RCODE 2 (also DNSSEC validation failure at a validating resolver).
    ServFail,
    /// RCODE 5.
    Refused,
    /// Another RCODE (FORMERR, NOTIMP, …), by number.
    Rcode(u16),
    /// No answer, no SOA, no recursion: the server is not a resolver for
    /// us (a referral).
    LameReferral,
    /// The response has our id but cannot be decoded.
    Malformed(String),
}

impl ServerError {
    /// The failure a lookup reports when this was the last word.
    pub fn failure(&self) -> Failure {
        match self {
            ServerError::ServFail => Failure::ServFail,
            ServerError::Refused => Failure::Refused,
            ServerError::Rcode(c) => {
                Failure::Malformed(format!("nameserver answered with RCODE {c}"))
            }
            ServerError::LameReferral => {
                Failure::Malformed("nameserver does not recurse (referral answer)".into())
            }
            ServerError::Malformed(s) => Failure::Malformed(s.clone()),
        }
    }
}

/// Why a datagram is not a response to the query: it is ignored, the query
/// waits on (RFC 5452 9.1: only a matching id and question are accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Shorter than a DNS header.
    TooShort,
    WrongId,
    /// The QR bit is clear: a query, not a response.
    NotResponse,
    WrongOpcode,
    /// The question section does not echo our question.
    WrongQuestion,
}

/// Builds the query for `q` with message id `id`: RD set (a recursive
/// resolver answers), EDNS0 with a [`UDP_PAYLOAD`] payload and the DO bit,
/// so a validating resolver reports the AD bit (RFC 6840 5.7, RFC 4035
/// 3.2.1). With `case_seed`, the letters of the name get a case pattern
/// derived from it (0x20 randomisation) that the response must echo.
pub fn encode_query(
    q: &Query,
    id: u16,
    case_seed: Option<u64>,
) -> Result<(SentQuery, Vec<u8>), Failure> {
    let name = wire_name(&q.name, case_seed)?;
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    let mut wq = WireQuery::query(name.clone(), WireType::from(q.rtype.code()));
    wq.set_query_class(DNSClass::IN);
    msg.add_query(wq);
    let mut edns = Edns::new();
    edns.set_max_payload(UDP_PAYLOAD);
    edns.set_dnssec_ok(true);
    msg.set_edns(edns);
    let bytes = msg
        .to_vec()
        .map_err(|e| Failure::Malformed(format!("cannot encode query for {q}: {e}")))?;
    let sent = SentQuery {
        id,
        name,
        rtype: q.rtype,
        exact_case: case_seed.is_some(),
    };
    Ok((sent, bytes))
}

/// The wire name for a canonical text name; the letters whose bit in the
/// expanded `case_seed` is 1 are upper-cased.
fn wire_name(name: &str, case_seed: Option<u64>) -> Result<Name, Failure> {
    let mut bits = CaseBits::new(case_seed);
    let labels: Vec<Vec<u8>> = name
        .split('.')
        .map(|l| {
            l.bytes()
                .map(|b| {
                    if b.is_ascii_alphabetic() && bits.next() {
                        b.to_ascii_uppercase()
                    } else {
                        b.to_ascii_lowercase()
                    }
                })
                .collect()
        })
        .collect();
    Name::from_labels(labels)
        .map_err(|e| Failure::Malformed(format!("cannot send name {name:?}: {e}")))
}

/// A stream of bits from a seed (splitmix64): deterministic, so the caller
/// owns the randomness.
struct CaseBits {
    state: Option<u64>,
    word: u64,
    left: u32,
}

impl CaseBits {
    fn new(seed: Option<u64>) -> CaseBits {
        CaseBits {
            state: seed,
            word: 0,
            left: 0,
        }
    }

    fn next(&mut self) -> bool {
        let Some(state) = self.state.as_mut() else {
            return false;
        };
        if self.left == 0 {
            *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            self.word = z ^ (z >> 31);
            self.left = 64;
        }
        let bit = self.word & 1 == 1;
        self.word >>= 1;
        self.left -= 1;
        bit
    }
}

/// The canonical text form of a wire name: lower case, no trailing dot;
/// bytes that are not printable ASCII, and dots inside labels, as `\DDD`.
pub fn text_name(name: &Name) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, label) in name.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        for &b in label {
            if b.is_ascii_graphic() && b != b'.' {
                out.push(char::from(b.to_ascii_lowercase()));
            } else {
                out.push_str(&format!("\\{b:03}"));
            }
        }
    }
    out
}

/// Reads `bytes` as the response to `sent`.
pub fn decode_response(sent: &SentQuery, bytes: &[u8]) -> Result<Reply, Ignored> {
    // The header is checked by hand first, so that a response with our id
    // that hickory cannot decode is still recognised as ours.
    let (Some(&[id_hi, id_lo]), Some(&flags)) = (bytes.get(0..2), bytes.get(2)) else {
        return Err(Ignored::TooShort);
    };
    if bytes.len() < 12 {
        return Err(Ignored::TooShort);
    }
    if u16::from_be_bytes([id_hi, id_lo]) != sent.id {
        return Err(Ignored::WrongId);
    }
    if flags & 0x80 == 0 {
        return Err(Ignored::NotResponse);
    }
    if (flags >> 3) & 0x0f != 0 {
        return Err(Ignored::WrongOpcode);
    }
    let truncated = flags & 0x02 != 0;
    let msg = match Message::from_vec(bytes) {
        Ok(m) => m,
        // A truncated message may end mid-record (RFC 2181 9 allows it).
        Err(_) if truncated => return Ok(Reply::Truncated),
        Err(e) => {
            return Ok(Reply::ServerError(ServerError::Malformed(format!(
                "undecodable response: {e}"
            ))));
        }
    };
    let rcode = msg.metadata.response_code;
    let answering = matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain);
    match msg.queries.as_slice() {
        [q] if question_matches(sent, q) => {}
        // Servers may drop the question from an error response (FORMERR).
        [] if !answering => {}
        _ => return Err(Ignored::WrongQuestion),
    }
    if truncated {
        return Ok(Reply::Truncated);
    }
    match rcode {
        ResponseCode::NoError | ResponseCode::NXDomain => {}
        ResponseCode::ServFail => return Ok(Reply::ServerError(ServerError::ServFail)),
        ResponseCode::Refused => return Ok(Reply::ServerError(ServerError::Refused)),
        other => return Ok(Reply::ServerError(ServerError::Rcode(u16::from(other)))),
    }
    Ok(interpret(sent, &msg))
}

fn question_matches(sent: &SentQuery, q: &WireQuery) -> bool {
    let name_ok = if sent.exact_case {
        q.name().eq_case(&sent.name)
    } else {
        *q.name() == sent.name
    };
    name_ok
        && q.query_type() == WireType::from(sent.rtype.code())
        && q.query_class() == DNSClass::IN
}

/// The answer of a NOERROR or NXDOMAIN response: follow the CNAME chain
/// from the question name through the answer section (RFC 1034 3.6.2,
/// RFC 6604: the RCODE belongs to the last name of the chain).
fn interpret(sent: &SentQuery, msg: &Message) -> Reply {
    let authentic = msg.metadata.authentic_data;
    let wire_type = WireType::from(sent.rtype.code());
    let answers: Vec<&Record> = msg
        .answers
        .iter()
        .filter(|r| r.dns_class == DNSClass::IN)
        .collect();
    let mut name = sent.name.clone();
    let mut visited: Vec<Name> = Vec::new();
    let mut ttl = u32::MAX;
    loop {
        let found: Vec<&&Record> = answers
            .iter()
            .filter(|r| r.record_type() == wire_type && r.name == name)
            .collect();
        let data: Vec<Rdata> = found.iter().filter_map(|r| rdata(&r.data)).collect();
        if !data.is_empty() {
            let rr_ttl = found.iter().map(|r| r.ttl).min().unwrap_or(0);
            let ttl = ttl.min(rr_ttl);
            return Reply::Final {
                lookup: Lookup::Records(Records {
                    canonical: text_name(&name),
                    data,
                    ttl,
                    authentic,
                }),
                cache_ttl: ttl,
            };
        }
        let cname = answers.iter().find_map(|r| match &r.data {
            RData::CNAME(t) if r.name == name && sent.rtype != RecordType::Cname => {
                Some((t.0.clone(), r.ttl))
            }
            _ => None,
        });
        match cname {
            Some((target, rr_ttl)) => {
                visited.push(name);
                if visited.len() > MAX_CNAME_CHAIN || visited.contains(&target) {
                    return Reply::Final {
                        lookup: Lookup::Failed(Failure::CnameLoop),
                        cache_ttl: 0,
                    };
                }
                ttl = ttl.min(rr_ttl);
                name = target;
            }
            None => break,
        }
    }
    let soa_ttl = negative_ttl(msg);
    let rcode = msg.metadata.response_code;
    if !visited.is_empty() && rcode == ResponseCode::NoError && soa_ttl.is_none() {
        // The chain leads out of what the server told us (no SOA says the
        // target has no data): ask for the target.
        return Reply::Alias {
            target: text_name(&name),
            hops: visited.len(),
            ttl,
            authentic,
        };
    }
    if rcode == ResponseCode::NoError
        && answers.is_empty()
        && soa_ttl.is_none()
        && !msg.metadata.authoritative
        && !msg.metadata.recursion_available
    {
        return Reply::ServerError(ServerError::LameReferral);
    }
    // RFC 2308 5: negative answers are cached for the SOA's negative TTL;
    // without an SOA they are not cached.
    let cache_ttl = soa_ttl.map_or(0, |s| s.min(ttl));
    let lookup = if rcode == ResponseCode::NXDomain {
        Lookup::NxDomain { authentic }
    } else {
        Lookup::NoData { authentic }
    };
    Reply::Final { lookup, cache_ttl }
}

/// min(SOA TTL, SOA MINIMUM) of the authority section (RFC 2308 5).
fn negative_ttl(msg: &Message) -> Option<u32> {
    msg.authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
            _ => None,
        })
        .min()
}

/// Our record data for hickory's; `None` for types mail policy does not use.
fn rdata(data: &RData) -> Option<Rdata> {
    Some(match data {
        RData::A(a) => Rdata::A(a.0),
        RData::AAAA(a) => Rdata::Aaaa(a.0),
        RData::MX(mx) => Rdata::Mx {
            preference: mx.preference,
            exchange: text_name(&mx.exchange),
        },
        RData::TXT(txt) => Rdata::Txt(txt.txt_data.iter().map(|s| s.to_vec()).collect()),
        RData::TLSA(t) => Rdata::Tlsa {
            usage: u8::from(t.cert_usage),
            selector: u8::from(t.selector),
            matching: u8::from(t.matching),
            data: t.cert_data.clone(),
        },
        RData::PTR(p) => Rdata::Ptr(text_name(&p.0)),
        RData::CNAME(c) => Rdata::Cname(text_name(&c.0)),
        RData::NS(n) => Rdata::Ns(text_name(&n.0)),
        _ => return None,
    })
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
