//! iprev (RFC 8601 3): the connecting IP address's reverse name(s), confirmed
//! by a forward lookup that yields the same address ("forward-confirmed
//! reverse DNS").

use std::fmt;
use std::net::IpAddr;
use std::time::Instant;

use crate::dns::{Evaluate, Lookup, LookupId, Poll, Query, Rdata, RecordType};

/// At most this many PTR names are checked forward, as SPF's `ptr` limit
/// (RFC 7208 4.6.4) and mox do.
pub const MAX_PTR_NAMES: usize = 10;

/// The iprev result (RFC 8601 2.7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IprevResult {
    /// A reverse name resolves back to the address.
    Pass,
    /// Reverse names exist, none resolves back to the address.
    Fail,
    /// A lookup failed temporarily and nothing matched.
    TempError,
    /// No reverse name is published for the address.
    PermError,
}

impl fmt::Display for IprevResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IprevResult::Pass => "pass",
            IprevResult::Fail => "fail",
            IprevResult::TempError => "temperror",
            IprevResult::PermError => "permerror",
        })
    }
}

/// The outcome: the result and, on pass, the confirmed host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iprev {
    pub result: IprevResult,
    pub ip: IpAddr,
    /// The reverse name that resolved back to `ip` (on pass).
    pub host: Option<String>,
    /// Every reverse name found (at most [`MAX_PTR_NAMES`] checked).
    pub names: Vec<String>,
}

impl Iprev {
    /// The `iprev=` entry of an Authentication-Results header.
    pub fn auth_results_entry(&self) -> String {
        match &self.host {
            Some(h) => format!("iprev={} policy.iprev={} ({h})", self.result, self.ip),
            None => format!("iprev={} policy.iprev={}", self.result, self.ip),
        }
    }
}

/// The name a PTR query for `ip` asks for (RFC 1035 3.5, RFC 3596 2.5).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(72);
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

#[derive(Debug)]
enum Stage {
    Start,
    Reverse,
    /// Forward lookups: (name, answered) per PTR name, queued from index `next`.
    Forward {
        next: usize,
        outstanding: usize,
        temp: bool,
    },
    Done(Iprev),
}

/// iprev as an [`Evaluate`]: one PTR lookup, then A or AAAA for each name
/// (concurrently).
#[derive(Debug)]
pub struct Evaluator {
    ip: IpAddr,
    deadline: Instant,
    names: Vec<String>,
    stage: Stage,
}

const PTR: LookupId = LookupId(0);

impl Evaluator {
    /// Starts checking `ip`; gives `temperror` at `deadline`.
    pub fn new(ip: IpAddr, deadline: Instant) -> Evaluator {
        Evaluator {
            ip,
            deadline,
            names: Vec::new(),
            stage: Stage::Start,
        }
    }

    fn done(&mut self, result: IprevResult, host: Option<String>) {
        self.stage = Stage::Done(Iprev {
            result,
            ip: self.ip,
            host,
            names: self.names.clone(),
        });
    }
}

impl Evaluate for Evaluator {
    type Output = Iprev;

    fn poll(&mut self, now: Instant) -> Poll<Iprev> {
        match &mut self.stage {
            Stage::Done(r) => return Poll::Ready(r.clone()),
            Stage::Start => {
                self.stage = Stage::Reverse;
                return Poll::Lookup(PTR, Query::new(reverse_name(self.ip), RecordType::Ptr));
            }
            Stage::Forward {
                next, outstanding, ..
            } if *next < self.names.len() => {
                let i = *next;
                *next += 1;
                *outstanding += 1;
                let rtype = if self.ip.is_ipv4() {
                    RecordType::A
                } else {
                    RecordType::Aaaa
                };
                let id = LookupId(u32::try_from(i + 1).unwrap_or(u32::MAX));
                return Poll::Lookup(id, Query::new(self.names[i].clone(), rtype));
            }
            Stage::Reverse | Stage::Forward { .. } => {}
        }
        if now >= self.deadline {
            self.done(IprevResult::TempError, None);
            return self.poll(now);
        }
        Poll::Pending
    }

    fn handle_answer(&mut self, _now: Instant, id: LookupId, answer: Lookup) {
        match &mut self.stage {
            Stage::Reverse if id == PTR => match answer {
                Lookup::Failed(_) => self.done(IprevResult::TempError, None),
                Lookup::NxDomain { .. } | Lookup::NoData { .. } => {
                    self.done(IprevResult::PermError, None)
                }
                Lookup::Records(r) => {
                    for d in r.data {
                        if let Rdata::Ptr(name) = d
                            && !self.names.contains(&name)
                        {
                            self.names.push(name);
                        }
                    }
                    self.names.truncate(MAX_PTR_NAMES);
                    if self.names.is_empty() {
                        self.done(IprevResult::PermError, None);
                    } else {
                        self.stage = Stage::Forward {
                            next: 0,
                            outstanding: 0,
                            temp: false,
                        };
                    }
                }
            },
            Stage::Forward {
                outstanding,
                temp,
                next,
            } => {
                let Some(i) = (id.0 as usize).checked_sub(1).filter(|i| i < next) else {
                    return;
                };
                *outstanding = outstanding.saturating_sub(1);
                let ip = self.ip;
                let matches = answer.data().iter().any(|d| match (d, ip) {
                    (Rdata::A(a), IpAddr::V4(want)) => *a == want,
                    (Rdata::Aaaa(a), IpAddr::V6(want)) => *a == want,
                    _ => false,
                });
                if matches {
                    let host = self.names.get(i).cloned();
                    self.done(IprevResult::Pass, host);
                    return;
                }
                *temp |= matches!(answer, Lookup::Failed(_));
                let (all_asked, none_left, temp) =
                    (*next >= self.names.len(), *outstanding == 0, *temp);
                if all_asked && none_left {
                    self.done(
                        if temp {
                            IprevResult::TempError
                        } else {
                            IprevResult::Fail
                        },
                        None,
                    );
                }
            }
            _ => {}
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match self.stage {
            Stage::Done(_) => None,
            _ => Some(self.deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::dns::{Zone, run};

    fn check(zone: &str, ip: &str) -> (Iprev, Vec<String>) {
        let z = Zone::parse(zone).unwrap();
        let now = Instant::now();
        let mut ev = Evaluator::new(ip.parse().unwrap(), now + Duration::from_secs(5));
        let (r, asked) = run(&mut ev, &z, now);
        (r, asked.iter().map(|q| q.to_string()).collect())
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("192.0.2.10".parse().unwrap()),
            "10.2.0.192.in-addr.arpa"
        );
        assert_eq!(
            reverse_name("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }

    #[test]
    fn pass_when_a_name_resolves_back() {
        let zone = "10.2.0.192.in-addr.arpa PTR other.example\n\
                    10.2.0.192.in-addr.arpa PTR mail.example\n\
                    other.example A 192.0.2.99\n\
                    mail.example A 192.0.2.10\n";
        let (r, asked) = check(zone, "192.0.2.10");
        assert_eq!(r.result, IprevResult::Pass);
        assert_eq!(r.host.as_deref(), Some("mail.example"));
        assert_eq!(
            asked,
            [
                "10.2.0.192.in-addr.arpa PTR",
                "other.example A",
                "mail.example A"
            ]
        );
        assert_eq!(
            r.auth_results_entry(),
            "iprev=pass policy.iprev=192.0.2.10 (mail.example)"
        );
    }

    #[test]
    fn ipv6_uses_aaaa() {
        let rev = reverse_name("2001:db8::25".parse().unwrap());
        let zone =
            format!("{rev} PTR mx.example\nmx.example AAAA 2001:db8::25\nmx.example A 192.0.2.1\n");
        let (r, asked) = check(&zone, "2001:db8::25");
        assert_eq!(r.result, IprevResult::Pass);
        assert_eq!(asked[1], "mx.example AAAA");
    }

    #[test]
    fn fail_permerror_temperror() {
        let (r, _) = check(
            "10.2.0.192.in-addr.arpa PTR mail.example\nmail.example A 192.0.2.11\n",
            "192.0.2.10",
        );
        assert_eq!((r.result, r.host), (IprevResult::Fail, None));
        assert_eq!(r.names, ["mail.example"]);
        let (r, _) = check("", "192.0.2.10");
        assert_eq!(r.result, IprevResult::PermError);
        let (r, _) = check("10.2.0.192.in-addr.arpa PTR !servfail\n", "192.0.2.10");
        assert_eq!(r.result, IprevResult::TempError);
        let zone = "10.2.0.192.in-addr.arpa PTR a.example\n10.2.0.192.in-addr.arpa PTR b.example\n\
                    a.example A !timeout\nb.example A 192.0.2.1\n";
        let (r, _) = check(zone, "192.0.2.10");
        assert_eq!(r.result, IprevResult::TempError);
    }

    #[test]
    fn at_most_ten_names() {
        let mut zone = String::new();
        for i in 0..12 {
            zone.push_str(&format!("10.2.0.192.in-addr.arpa PTR n{i}.example\n"));
        }
        zone.push_str("n11.example A 192.0.2.10\n");
        let (r, asked) = check(&zone, "192.0.2.10");
        assert_eq!(r.result, IprevResult::Fail);
        assert_eq!(asked.len(), 1 + MAX_PTR_NAMES);
    }

    #[test]
    fn deadline_and_stray_answers() {
        let now = Instant::now();
        let mut ev = Evaluator::new("192.0.2.10".parse().unwrap(), now + Duration::from_secs(1));
        assert!(matches!(ev.poll(now), Poll::Lookup(PTR, _)));
        ev.handle_answer(now, LookupId(7), Lookup::NoData { authentic: false });
        assert_eq!(ev.poll(now), Poll::Pending);
        let Poll::Ready(r) = ev.poll(now + Duration::from_secs(1)) else {
            panic!()
        };
        assert_eq!(r.result, IprevResult::TempError);
    }
}
