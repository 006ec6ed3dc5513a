//! [`Attempt`]: one delivery attempt of a queued [`Job`], sans-IO. It
//! resolves where the mail goes (MX, MTA-STS policy, addresses, TLSA),
//! decides the TLS policy per host, hands out connections for the runtime
//! to dial and drive, reads their outcomes and gives the [`JobResult`].
//!
//! Hosts are tried in MX order (RFC 5321 5.1), each host's addresses in
//! order until a TCP connection is made; a temporary failure of the SMTP
//! session moves on to the next host, a permanent one (5xx) ends the
//! attempt. Once a transaction reached the recipients, its per-recipient
//! results are final for this attempt. A failed TLS session is retried on
//! the same address with the next fallback of the host's plan (never when
//! TLS was required).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use moxide_proto::conn::{Answer, Need, NeedId};
use moxide_proto::dane::{TlsaLookup, TlsaOutcome};
use moxide_proto::dns::{Evaluate, Lookup, LookupId, Poll};
use moxide_proto::mtasts::{CachedPolicy, Mode, Policy};
use moxide_proto::sasl::Mechanism;
use moxide_proto::smtp::Reply;
use moxide_proto::smtp::client::{
    ClientAuth, ClientConfig, ClientConn, Delivery, Envelope, RcptResult as ClientRcpt, StartTls,
    TlsPolicy, Verify,
};
use moxide_storage::{Store, StoreError, TlsPolicyDescription, TlsResultUpdate};

use super::config::DeliveryConfig;
use super::mx::{
    AddressPolicy, HostAddresses, HostLookup, MxError, MxHost, MxLookup, refused_address,
};
use super::tls_policy::{
    HostDecision, HostInputs, HostPlan, HostSkip, MxCheck, StartTlsMode, TlsPlan, VerifyMode,
    check_mx, decide, detail, needs_tlsa, sts_description,
};
use super::tls_report::{TlsReport, session_tls, store_tls_results};
use super::transport::{Smarthost, SmarthostVerify, Transport};
use crate::mtasts::{CacheUpdate, PolicyLookup, PolicyPoll, PolicyResult, apply_cache_update};
use crate::queue::{Job, JobResult, RcptResult};

/// The first two need ids belong to the MTA-STS lookup (its TXT query and
/// its fetch); the attempt numbers its own from here.
const FIRST_OWN_ID: u64 = 2;

/// What [`Attempt::poll`] gives.
#[derive(Debug)]
pub enum AttemptPoll {
    /// Perform this request (DNS, or the MTA-STS policy fetch) and pass the
    /// answer to [`Attempt::handle_answer`].
    Need(NeedId, Need),
    /// Dial `addr`, drive `conn` (the TLS handshake with `tls`), and when
    /// it has finished (or the dial failed: [`ClientConn::connect_failed`])
    /// hand it back with [`Attempt::handle_connection`]. The runner takes
    /// a [`HostLimits`](super::HostLimits) permit for `host` first, and
    /// sets a SASL nonce when `conn.config().auth` is set.
    Connect {
        id: NeedId,
        addr: SocketAddr,
        host: String,
        conn: Box<ClientConn>,
        tls: TlsPolicy,
    },
    /// Waiting for answers or a connection; poll again after the next
    /// `handle_*`, or at [`Attempt::deadline`].
    Pending,
    /// The attempt is over; polling again gives the same result.
    Done(JobResult),
}

/// Who asked a DNS question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Mx,
    Host(usize),
    Tlsa(usize),
}

#[derive(Debug)]
enum Step {
    /// Waiting for the MX lookup (and the MTA-STS policy).
    Resolve,
    /// Address lookups of host `index`.
    Addresses(usize, HostLookup),
    /// TLSA lookup of host `index`.
    Tlsa(usize, HostAddresses, TlsaLookup),
    /// Connections to host `index`: address `ip`, fallback `attempt`.
    Connect {
        index: usize,
        addrs: HostAddresses,
        plan: HostPlan,
        ip: usize,
        try_index: usize,
        waiting: Option<NeedId>,
    },
    Done(JobResult),
}

/// One delivery attempt. Contract: call [`poll`](Self::poll) until it
/// gives `Pending` or `Done`, performing each `Need` and `Connect`; pass
/// their outcomes to [`handle_answer`](Self::handle_answer) and
/// [`handle_connection`](Self::handle_connection) (unknown ids are
/// ignored), then poll again; at [`deadline`](Self::deadline) poll with
/// that time. After `Done`, call [`store_results`](Self::store_results).
#[derive(Debug)]
pub struct Attempt {
    job: Job,
    transport: Transport,
    cfg: DeliveryConfig,
    now_unix: i64,
    mx: Option<MxLookup>,
    mx_authentic: bool,
    policy: Option<PolicyLookup>,
    policy_result: Option<PolicyResult>,
    hosts: Vec<MxHost>,
    /// A literal address per host (IP-literal domains, smarthost IPs).
    literal: Option<IpAddr>,
    step: Step,
    next_id: u64,
    lookups: Vec<(NeedId, Owner, LookupId)>,
    /// Recipients still without a final result.
    pending: Vec<String>,
    results: Vec<(String, RcptResult)>,
    last_error: Option<(String, Option<Reply>)>,
    remote_mta: Option<String>,
    requiretls_unmet: usize,
    report: TlsReport,
}

impl Attempt {
    /// An attempt for `job` at `now` (`now_unix`: the wall-clock time, for
    /// the MTA-STS cache and TLS result days). `cached` is the recipient
    /// domain's cached MTA-STS policy ([`crate::mtasts::load_cached`]);
    /// `seed` orders MX hosts of equal preference.
    pub fn new(
        job: Job,
        transport: Transport,
        cfg: DeliveryConfig,
        now_unix: i64,
        cached: Option<CachedPolicy>,
        seed: u64,
    ) -> Attempt {
        let domain = ascii_domain(&job.domain);
        let mut a = Attempt {
            pending: job.recipients.clone(),
            report: TlsReport::new(&domain),
            job,
            cfg,
            now_unix,
            mx: None,
            mx_authentic: false,
            policy: None,
            policy_result: None,
            hosts: Vec::new(),
            literal: None,
            step: Step::Resolve,
            next_id: FIRST_OWN_ID,
            lookups: Vec::new(),
            results: Vec::new(),
            last_error: None,
            remote_mta: None,
            requiretls_unmet: 0,
            transport,
        };
        match &a.transport {
            Transport::Smarthost(s) => {
                let host = s.host.trim_end_matches('.').to_ascii_lowercase();
                a.literal = host.parse::<IpAddr>().ok();
                a.hosts = vec![MxHost {
                    name: host,
                    preference: None,
                }];
                a.next_host(0);
            }
            Transport::Direct { .. } => {
                if let Some(ip) = ip_literal(&domain) {
                    // RFC 5321 5.1: an address literal is the destination.
                    a.literal = Some(ip);
                    a.hosts = vec![MxHost {
                        name: domain,
                        preference: None,
                    }];
                    a.next_host(0);
                } else {
                    a.mx = Some(MxLookup::new(&domain, seed));
                    if a.cfg.tls.pkix {
                        a.policy = Some(
                            PolicyLookup::new(&domain, cached, now_unix).with_first_id(NeedId(0)),
                        );
                    }
                }
            }
        }
        a
    }

    /// The TLS results found so far (all of them once `Done`).
    pub fn tls_results(&self) -> &[TlsResultUpdate] {
        self.report.updates()
    }

    /// What the MTA-STS lookup wants changed in the policy cache.
    pub fn mtasts_cache_update(&self) -> Option<&CacheUpdate> {
        self.policy_result.as_ref().map(|r| &r.cache)
    }

    /// Records the attempt's TLS results and applies its MTA-STS cache
    /// update.
    pub fn store_results(&self, store: &Store) -> Result<(), StoreError> {
        if let Some(u) = self.mtasts_cache_update() {
            apply_cache_update(store, &self.report_domain(), u)?;
        }
        store_tls_results(store, self.now_unix, self.tls_results())
    }

    fn report_domain(&self) -> String {
        ascii_domain(&self.job.domain)
    }

    fn port(&self) -> u16 {
        match &self.transport {
            Transport::Direct { port } => *port,
            Transport::Smarthost(s) => s.port,
        }
    }

    fn alloc(&mut self, owner: Owner, lid: LookupId) -> NeedId {
        let id = NeedId(self.next_id);
        self.next_id += 1;
        self.lookups.push((id, owner, lid));
        id
    }

    /// Moves on to host `index` (or ends the attempt after the last).
    fn next_host(&mut self, index: usize) {
        if index >= self.hosts.len() {
            self.step = Step::Done(self.finish());
            return;
        }
        let policy = match &self.transport {
            // A relay on this host or network is a normal set-up.
            Transport::Smarthost(_) => AddressPolicy {
                allow_loopback: true,
                ..self.cfg.addresses
            },
            Transport::Direct { .. } => self.cfg.addresses,
        };
        let name = self.hosts[index].name.clone();
        match self.literal {
            Some(ip) => {
                if let Some(why) = refused_address(ip, &policy) {
                    self.last_error = Some((format!("{name}: {ip} is a {why}"), None));
                    self.step = Step::Done(self.finish());
                    return;
                }
                let addrs = HostAddresses {
                    host: name.clone(),
                    canonical: name,
                    ips: vec![ip],
                    refused: Vec::new(),
                    authentic: false,
                    dual_stack: false,
                };
                self.plan_host(index, addrs, None);
            }
            None => {
                if matches!(self.transport, Transport::Direct { .. })
                    && let Some(MxCheck::Skip(skip)) = check_mx(&HostInputs {
                        host: &name,
                        mx_authentic: self.mx_authentic,
                        mtasts: self.sts(),
                        tlsa: None,
                        requiretls: self.job.requiretls,
                        switches: self.cfg.tls,
                    })
                {
                    // RFC 8461 4.1: not even looked up.
                    self.skip_host(index, skip);
                    return;
                }
                self.step = Step::Addresses(index, HostLookup::new(&name, policy));
            }
        }
    }

    /// The result: recipients with a final result as they are, the others
    /// temporary (or permanent when every host lacked what REQUIRETLS
    /// needs, RFC 8689 4.1).
    fn finish(&self) -> JobResult {
        if !self.hosts.is_empty() && self.requiretls_unmet == self.hosts.len() {
            let reply = Reply::with(
                554,
                (5, 7, 30),
                "REQUIRETLS: no MX host of the recipient domain supports verified TLS",
            );
            return self.finish_all(true, "REQUIRETLS cannot be met by any MX host", Some(reply));
        }
        let (detail, reply) = self
            .last_error
            .clone()
            .unwrap_or_else(|| ("no host could be reached".to_string(), None));
        self.finish_all(false, &detail, reply)
    }

    fn finish_all(&self, permanent: bool, detail: &str, reply: Option<Reply>) -> JobResult {
        let mut recipients = self.results.clone();
        for r in &self.pending {
            let res = if permanent {
                RcptResult::Permanent {
                    detail: detail.to_string(),
                    reply: reply.clone(),
                }
            } else {
                RcptResult::Temporary {
                    detail: detail.to_string(),
                    reply: reply.clone(),
                }
            };
            recipients.push((r.clone(), res));
        }
        // In the job's order.
        recipients.sort_by_key(|(r, _)| {
            self.job
                .recipients
                .iter()
                .position(|j| j == r)
                .unwrap_or(usize::MAX)
        });
        JobResult {
            recipients,
            remote_mta: self.remote_mta.clone(),
            error: if self.pending.is_empty() {
                None
            } else {
                Some(detail.to_string())
            },
        }
    }

    /// The MTA-STS policy to apply, if any.
    fn sts(&self) -> Option<&Policy> {
        self.policy_result.as_ref().and_then(|r| r.policy.as_ref())
    }

    fn domain_policy(&self) -> TlsPolicyDescription {
        match self.sts() {
            Some(p) if self.cfg.tls.pkix && p.mode != Mode::None => sts_description(p),
            _ => TlsPolicyDescription::none(),
        }
    }

    /// Advances the attempt.
    pub fn poll(&mut self, now: Instant) -> AttemptPoll {
        loop {
            match &mut self.step {
                Step::Done(r) => return AttemptPoll::Done(r.clone()),
                Step::Resolve => {
                    if let Some(p) = self.policy.as_mut() {
                        match p.poll(now) {
                            PolicyPoll::Need(id, need) => return AttemptPoll::Need(id, need),
                            PolicyPoll::Pending => {}
                            PolicyPoll::Ready(r) => {
                                self.policy = None;
                                self.policy_found(r);
                            }
                        }
                    }
                    let mx_result = match self.mx.as_mut().map(|m| m.poll(now)) {
                        Some(Poll::Lookup(lid, q)) => {
                            let id = self.alloc(Owner::Mx, lid);
                            return AttemptPoll::Need(id, Need::Dns(q));
                        }
                        Some(Poll::Pending) | None => None,
                        Some(Poll::Ready(r)) => Some(r),
                    };
                    match mx_result {
                        // A failed MX lookup ends the attempt at once.
                        Some(Err(e)) => {
                            self.mx = None;
                            let perm = e.permanent();
                            let reply = mx_reply(&e);
                            self.step = Step::Done(self.finish_all(perm, &e.to_string(), reply));
                        }
                        Some(Ok(d)) if self.policy.is_none() => {
                            self.mx = None;
                            self.mx_authentic = d.authentic;
                            self.hosts = d.hosts;
                            self.next_host(0);
                        }
                        _ => return AttemptPoll::Pending,
                    }
                }
                Step::Addresses(index, lookup) => {
                    let index = *index;
                    match lookup.poll(now) {
                        Poll::Lookup(lid, q) => {
                            let id = self.alloc(Owner::Host(index), lid);
                            return AttemptPoll::Need(id, Need::Dns(q));
                        }
                        Poll::Pending => return AttemptPoll::Pending,
                        Poll::Ready(Err(e)) => {
                            self.last_error = Some((e, None));
                            self.next_host(index + 1);
                        }
                        Poll::Ready(Ok(addrs)) => self.addresses_found(index, addrs),
                    }
                }
                Step::Tlsa(index, _, lookup) => {
                    let index = *index;
                    match lookup.poll(now) {
                        Poll::Lookup(lid, q) => {
                            let id = self.alloc(Owner::Tlsa(index), lid);
                            return AttemptPoll::Need(id, Need::Dns(q));
                        }
                        Poll::Pending => return AttemptPoll::Pending,
                        Poll::Ready(r) => {
                            let Step::Tlsa(_, addrs, _) =
                                std::mem::replace(&mut self.step, Step::Resolve)
                            else {
                                continue;
                            };
                            self.plan_host(index, addrs, Some(r.outcome));
                        }
                    }
                }
                Step::Connect {
                    waiting: Some(_), ..
                } => return AttemptPoll::Pending,
                Step::Connect {
                    index,
                    addrs,
                    plan,
                    ip,
                    try_index,
                    waiting,
                } => {
                    let index = *index;
                    let (Some(&addr_ip), Some(tls)) =
                        (addrs.ips.get(*ip), plan.tries.get(*try_index))
                    else {
                        self.next_host(index + 1);
                        continue;
                    };
                    let tls = client_tls(tls);
                    let id = NeedId(self.next_id);
                    self.next_id += 1;
                    *waiting = Some(id);
                    let host = self
                        .hosts
                        .get(index)
                        .map(|h| h.name.clone())
                        .unwrap_or_default();
                    let conn = self.client_conn(now, tls.clone());
                    return AttemptPoll::Connect {
                        id,
                        addr: SocketAddr::new(addr_ip, self.port()),
                        host,
                        conn: Box::new(conn),
                        tls,
                    };
                }
            }
        }
    }

    fn policy_found(&mut self, r: PolicyResult) {
        if let Some(f) = &r.fetch_error {
            // RFC 8460 4.3.2.1: a failed policy fetch is a failed session
            // for the domain's policy (the cached one, or none).
            let finding = super::tls_policy::Finding {
                is_host: false,
                detail: detail("", f.kind.result_type(), "", &f.detail),
            };
            self.policy_result = Some(r);
            let dp = self.domain_policy();
            self.report.finding(&finding, &dp, None, true);
        } else {
            self.policy_result = Some(r);
        }
    }

    fn addresses_found(&mut self, index: usize, addrs: HostAddresses) {
        let direct = matches!(self.transport, Transport::Direct { .. }) && self.literal.is_none();
        if direct && needs_tlsa(self.cfg.tls, self.mx_authentic, addrs.authentic) {
            let name = self
                .hosts
                .get(index)
                .map(|h| h.name.clone())
                .unwrap_or_default();
            let port = self.port();
            self.step = Step::Tlsa(index, addrs, TlsaLookup::new(&name, port));
            return;
        }
        self.plan_host(index, addrs, None);
    }

    fn plan_host(&mut self, index: usize, addrs: HostAddresses, tlsa: Option<TlsaOutcome>) {
        let plan = match &self.transport {
            Transport::Smarthost(s) => smarthost_plan(s),
            Transport::Direct { .. } if self.literal.is_some() => HostPlan {
                tries: vec![
                    TlsPlan {
                        starttls: StartTlsMode::Opportunistic,
                        verify: VerifyMode::Any,
                    },
                    TlsPlan {
                        starttls: StartTlsMode::Never,
                        verify: VerifyMode::Any,
                    },
                ],
                domain_policy: TlsPolicyDescription::none(),
                host_policy: None,
                findings: Vec::new(),
            },
            Transport::Direct { .. } => {
                let host = self
                    .hosts
                    .get(index)
                    .map(|h| h.name.clone())
                    .unwrap_or_default();
                let inputs = HostInputs {
                    host: &host,
                    mx_authentic: self.mx_authentic,
                    mtasts: self.sts(),
                    tlsa: tlsa.as_ref(),
                    requiretls: self.job.requiretls,
                    switches: self.cfg.tls,
                };
                match decide(&inputs) {
                    HostDecision::Connect(p) => {
                        for f in &p.findings {
                            self.report
                                .finding(f, &p.domain_policy, p.host_policy.as_ref(), false);
                        }
                        p
                    }
                    HostDecision::Skip(s) => {
                        self.skip_host(index, s);
                        return;
                    }
                }
            }
        };
        self.step = Step::Connect {
            index,
            addrs,
            plan,
            ip: 0,
            try_index: 0,
            waiting: None,
        };
    }

    /// Records why host `index` is not used and moves on.
    fn skip_host(&mut self, index: usize, s: HostSkip) {
        if let Some(f) = &s.failure {
            let dp = self.domain_policy();
            self.report.finding(f, &dp, None, true);
        }
        if s.requiretls_unmet {
            self.requiretls_unmet += 1;
        }
        let reply = s
            .requiretls_unmet
            .then(|| Reply::with(554, (5, 7, 30), s.detail.clone()));
        self.last_error = Some((s.detail, reply));
        self.next_host(index + 1);
    }

    fn client_conn(&self, now: Instant, tls: TlsPolicy) -> ClientConn {
        let (implicit_tls, auth) = match &self.transport {
            Transport::Smarthost(s) => (
                s.implicit_tls,
                s.auth.as_ref().map(|a| ClientAuth {
                    username: a.username.clone(),
                    password: a.password.clone(),
                    mechanisms: if a.mechanisms.is_empty() {
                        Mechanism::ALL.to_vec()
                    } else {
                        a.mechanisms.clone()
                    },
                }),
            ),
            Transport::Direct { .. } => (false, None),
        };
        let cfg = ClientConfig {
            ehlo_name: self.cfg.ehlo_name.clone(),
            tls,
            implicit_tls,
            auth,
            timeouts: self.cfg.timeouts,
        };
        let env = Envelope {
            mail_from: self.job.mail_from.clone(),
            recipients: self.pending.clone(),
            smtputf8: self.job.smtputf8,
            body: self.job.body,
            requiretls: self.job.requiretls == Some(true),
        };
        ClientConn::new(now, cfg, env, Arc::clone(&self.job.message))
    }

    /// The answer to the `Need` with `id`.
    pub fn handle_answer(&mut self, now: Instant, id: NeedId, answer: Answer) {
        if id.0 < FIRST_OWN_ID {
            if let Some(p) = self.policy.as_mut() {
                p.handle_answer(now, id, answer);
            }
            return;
        }
        let Some(pos) = self.lookups.iter().position(|(n, _, _)| *n == id) else {
            return;
        };
        let (_, owner, lid) = self.lookups.swap_remove(pos);
        let lookup = match answer {
            Answer::Dns(l) => l,
            other => Lookup::Failed(moxide_proto::dns::Failure::Malformed(format!(
                "not a DNS answer: {other:?}"
            ))),
        };
        match (&mut self.step, owner) {
            (Step::Resolve, Owner::Mx) => {
                if let Some(m) = self.mx.as_mut() {
                    m.handle_answer(now, lid, lookup);
                }
            }
            (Step::Addresses(i, l), Owner::Host(o)) if *i == o => l.handle_answer(now, lid, lookup),
            (Step::Tlsa(i, _, l), Owner::Tlsa(o)) if *i == o => l.handle_answer(now, lid, lookup),
            _ => {}
        }
    }

    /// A connection handed out by `Connect` with `id` has finished (or
    /// could not be made).
    pub fn handle_connection(&mut self, _now: Instant, id: NeedId, conn: ClientConn) {
        let Step::Connect {
            index,
            addrs,
            plan,
            ip,
            try_index,
            waiting,
        } = &mut self.step
        else {
            return;
        };
        if *waiting != Some(id) {
            return;
        }
        *waiting = None;
        let index = *index;
        let host = self
            .hosts
            .get(index)
            .map(|h| h.name.clone())
            .unwrap_or_default();
        let addr_ip = addrs.ips.get(*ip).copied();
        let starttls = plan.tries.get(*try_index).map(|t| t.starttls);
        let d = match conn.outcome() {
            Some(d) => d.clone(),
            None => {
                // The runner gave back a connection that has not finished.
                self.last_error =
                    Some((format!("connection to {host} ended without a result"), None));
                self.next_host(index + 1);
                return;
            }
        };
        // TLS results, for direct delivery sessions that tried TLS.
        if matches!(self.transport, Transport::Direct { .. })
            && self.literal.is_none()
            && starttls.is_some_and(|s| s != StartTlsMode::Never)
            && let (Some(t), Some(ipaddr)) = (session_tls(&d), addr_ip)
        {
            let (dp, hp) = (plan.domain_policy.clone(), plan.host_policy.clone());
            self.report.session(&host, ipaddr, &t, &dp, hp.as_ref());
        }
        if d.greeting.is_some() {
            self.remote_mta = Some(host.clone());
        }
        if self.take_recipient_results(&d) {
            self.step = Step::Done(self.finish());
            return;
        }
        let Step::Connect {
            ip,
            try_index,
            plan,
            ..
        } = &mut self.step
        else {
            return;
        };
        let Some(e) = d.error else {
            // No error and no recipient result cannot happen with a
            // finished client; treat it as a temporary failure.
            self.last_error = Some((format!("{host}: no result for any recipient"), None));
            self.next_host(index + 1);
            return;
        };
        let detail = format!("{host}: {}", e.detail);
        self.last_error = Some((detail.clone(), e.reply.clone()));
        if e.tls_failure.is_some() && *try_index + 1 < plan.tries.len() {
            // The next fallback of the plan, on the same address.
            *try_index += 1;
            return;
        }
        if e.stage == moxide_proto::smtp::client::Stage::Connect {
            *ip += 1;
            *try_index = 0;
            return;
        }
        if e.reply.as_ref().and_then(|r| r.enhanced) == Some((5, 7, 30)) {
            // This server cannot take REQUIRETLS mail; others may.
            self.requiretls_unmet += 1;
            self.next_host(index + 1);
            return;
        }
        if e.permanent {
            self.step = Step::Done(self.finish_all(true, &detail, e.reply));
            return;
        }
        self.next_host(index + 1);
    }

    /// Takes the final results a transaction gave; `true` when the
    /// transaction reached the recipients (the attempt then ends).
    fn take_recipient_results(&mut self, d: &Delivery) -> bool {
        let reached = d
            .recipients
            .iter()
            .any(|(_, r)| !matches!(r, ClientRcpt::NotAttempted));
        if !reached {
            return false;
        }
        let fallback = d
            .error
            .as_ref()
            .map_or_else(|| "not attempted".to_string(), |e| e.detail.clone());
        for (rcpt, r) in &d.recipients {
            let res = match r {
                ClientRcpt::Delivered(_) => RcptResult::Delivered,
                ClientRcpt::Failed { reply, permanent } => {
                    let detail = show_reply(reply);
                    if *permanent {
                        RcptResult::Permanent {
                            detail,
                            reply: Some(reply.clone()),
                        }
                    } else {
                        RcptResult::Temporary {
                            detail,
                            reply: Some(reply.clone()),
                        }
                    }
                }
                ClientRcpt::NotAttempted => RcptResult::Temporary {
                    detail: fallback.clone(),
                    reply: d.error.as_ref().and_then(|e| e.reply.clone()),
                },
            };
            self.pending.retain(|p| p != rcpt);
            self.results.push((rcpt.clone(), res));
        }
        true
    }

    /// When [`poll`](Self::poll) must be called even without an answer.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.step {
            Step::Resolve => self.mx.as_ref().and_then(|m| m.deadline()),
            Step::Addresses(_, l) => l.deadline(),
            Step::Tlsa(_, _, l) => l.deadline(),
            Step::Connect { .. } | Step::Done(_) => None,
        }
    }
}

fn show_reply(r: &Reply) -> String {
    let text = r.lines.join(" ");
    match r.enhanced {
        Some((a, b, c)) => format!("{} {a}.{b}.{c} {text}", r.code),
        None => format!("{} {text}", r.code),
    }
}

/// The DSN status of an MX failure.
fn mx_reply(e: &MxError) -> Option<Reply> {
    match e {
        // RFC 7505 4.1: 556 5.1.10 for a domain with a null MX.
        MxError::NullMx => Some(Reply::with(556, (5, 1, 10), e.to_string())),
        MxError::NoSuchDomain | MxError::InvalidDomain(_) => {
            Some(Reply::with(550, (5, 1, 2), e.to_string()))
        }
        MxError::Temporary(_) => None,
    }
}

fn client_tls(p: &TlsPlan) -> TlsPolicy {
    TlsPolicy {
        starttls: match p.starttls {
            StartTlsMode::Never => StartTls::Never,
            StartTlsMode::Opportunistic => StartTls::Opportunistic,
            StartTlsMode::Required => StartTls::Required,
        },
        verify: match &p.verify {
            VerifyMode::Any => Verify::Any,
            VerifyMode::Pkix { server_name } => Verify::Pkix {
                server_name: server_name.clone(),
            },
            VerifyMode::Dane {
                policy,
                server_name,
            } => Verify::Dane {
                policy: policy.clone(),
                server_name: server_name.clone(),
            },
        },
    }
}

fn smarthost_plan(s: &Smarthost) -> HostPlan {
    let host = s.host.trim_end_matches('.').to_ascii_lowercase();
    let tls = match s.verify {
        SmarthostVerify::Pkix => TlsPlan {
            starttls: StartTlsMode::Required,
            verify: VerifyMode::Pkix { server_name: host },
        },
        SmarthostVerify::Any => TlsPlan {
            starttls: StartTlsMode::Required,
            verify: VerifyMode::Any,
        },
        SmarthostVerify::None => TlsPlan {
            starttls: StartTlsMode::Never,
            verify: VerifyMode::Any,
        },
    };
    HostPlan {
        tries: vec![tls],
        domain_policy: TlsPolicyDescription::none(),
        host_policy: None,
        findings: Vec::new(),
    }
}

/// The address of an address-literal domain (`[192.0.2.1]`,
/// `[IPv6:2001:db8::1]`, RFC 5321 4.1.3).
fn ip_literal(domain: &str) -> Option<IpAddr> {
    let inner = domain.strip_prefix('[')?.strip_suffix(']')?;
    match inner.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("ipv6:") => inner
            .get(5..)?
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(IpAddr::V6),
        _ => inner.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// A recipient domain for lookups and reports: A-labels, lower case, no
/// trailing dot (RFC 5891 5.4); an invalid name as written, lower case
/// (its lookups then fail and say so).
fn ascii_domain(domain: &str) -> String {
    moxide_proto::dns::domain_to_ascii(domain)
        .unwrap_or_else(|_| domain.trim_end_matches('.').to_ascii_lowercase())
}

#[cfg(test)]
#[path = "attempt_tests.rs"]
mod tests;
