//! A DNS zone served by dnslib (PyPI) on loopback for the CLI tests, from
//! records given by the test: other names are NXDOMAIN, other types of a
//! known name NODATA. Started through [`crate::python_server`]; include
//! both with
//! `#[path = "common/python_server.rs"] mod python_server;` and
//! `#[path = "common/dnslib.rs"] mod dnslib;`.
#![allow(dead_code)] // each test crate uses a part

use std::net::SocketAddr;

/// The server: records arrive as `name<TAB>type<TAB>value` lines in argv[1].
/// Types: A, AAAA, TXT (its character-strings separated by tabs), MX
/// (`pref host`), CNAME.
const SERVER: &str = r#"
import os, socket, sys, threading
from dnslib import DNSRecord, RR, QTYPE, RCODE, A, AAAA, TXT, MX, CNAME

DATA = {}
for line in sys.argv[1].splitlines():
    if not line.strip():
        continue
    name, rtype, value = line.split("\t", 2)
    name = name.rstrip(".").lower()
    if rtype == "A":
        rd = A(value)
    elif rtype == "AAAA":
        rd = AAAA(value)
    elif rtype == "TXT":
        rd = TXT([v.encode() for v in value.split("\t")])
    elif rtype == "MX":
        pref, host = value.split()
        rd = MX(host, int(pref))
    elif rtype == "CNAME":
        rd = CNAME(value)
    else:
        raise SystemExit("unsupported type " + rtype)
    DATA.setdefault((name, rtype), []).append(rd)
NAMES = {n for (n, _) in DATA}

def serve(u):
    while True:
        data, peer = u.recvfrom(4096)
        try:
            req = DNSRecord.parse(data)
        except Exception:
            continue
        name = str(req.q.qname).rstrip(".").lower()
        rtype = QTYPE[req.q.qtype]
        reply = req.reply()
        if (name, rtype) in DATA:
            for rd in DATA[(name, rtype)]:
                reply.add_answer(RR(name, req.q.qtype, rdata=rd, ttl=60))
        elif name not in NAMES:
            reply.header.rcode = RCODE.NXDOMAIN
        u.sendto(reply.pack(), peer)

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
threading.Thread(target=serve, args=(u,), daemon=True).start()
print("PORT", u.getsockname()[1], flush=True)
sys.stdin.read()
os._exit(0)
"#;

/// Starts a server answering `records` (`(name, type, value)`, several
/// records of a name and type in the order given; a TXT value with tabs is
/// a record of several character-strings) that runs until the test process
/// exits; its address, or `None` (the test skips) when python3 is not
/// installed.
pub fn dnslib_server(records: &[(&str, &str, &str)]) -> Option<SocketAddr> {
    let zone: String = records
        .iter()
        .map(|(n, t, v)| format!("{n}\t{t}\t{v}\n"))
        .collect();
    crate::python_server::start_with_args(SERVER, &[&zone])
}
