//! Test helpers: DNS responses built by hand with hickory-proto.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, PTR, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record};

/// A response echoing the id and question of `query` (a UDP query, or a
/// TCP one with its length prefix), with RA set and NOERROR.
pub fn response_to(query: &[u8]) -> Message {
    let q = Message::from_vec(query)
        .or_else(|_| Message::from_vec(query.get(2..).unwrap_or_default()))
        .unwrap();
    let mut m = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.metadata.recursion_available = true;
    m.add_queries(q.queries.clone());
    m
}

pub fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

pub fn rr(owner: &str, ttl: u32, data: RData) -> Record {
    Record::from_rdata(name(owner), ttl, data)
}

pub fn a(owner: &str, ttl: u32, ip: [u8; 4]) -> Record {
    rr(owner, ttl, RData::A(A(Ipv4Addr::from(ip))))
}

pub fn aaaa(owner: &str, ttl: u32, ip: Ipv6Addr) -> Record {
    rr(owner, ttl, RData::AAAA(AAAA(ip)))
}

pub fn cname(owner: &str, ttl: u32, target: &str) -> Record {
    rr(owner, ttl, RData::CNAME(CNAME(name(target))))
}

pub fn mx(owner: &str, ttl: u32, pref: u16, exchange: &str) -> Record {
    rr(owner, ttl, RData::MX(MX::new(pref, name(exchange))))
}

pub fn ptr(owner: &str, ttl: u32, target: &str) -> Record {
    rr(owner, ttl, RData::PTR(PTR(name(target))))
}

pub fn ns(owner: &str, ttl: u32, target: &str) -> Record {
    rr(owner, ttl, RData::NS(NS(name(target))))
}

pub fn txt(owner: &str, ttl: u32, parts: &[&[u8]]) -> Record {
    rr(owner, ttl, RData::TXT(TXT::from_bytes(parts.to_vec())))
}

/// An SOA record for `zone` with record TTL `ttl` and MINIMUM `minimum`.
pub fn soa(zone: &str, ttl: u32, minimum: u32) -> Record {
    rr(
        zone,
        ttl,
        RData::SOA(SOA::new(
            name(&format!("ns.{zone}")),
            name(&format!("hostmaster.{zone}")),
            1,
            3600,
            600,
            86400,
            minimum,
        )),
    )
}

/// Sets the RCODE.
pub fn rcode(mut m: Message, code: ResponseCode) -> Message {
    m.metadata.response_code = code;
    m
}

pub fn bytes(m: &Message) -> Vec<u8> {
    m.to_vec().unwrap()
}
