//! [`SmtpSession`]: the protocol core plus the answers to its questions.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use moxide_proto::conn::{Action, Answer, Conn, Need, NeedId};
use moxide_proto::dns::Query;
use moxide_proto::sasl::{ChannelBindings, Mechanism, MechanismContext};
use moxide_proto::smtp::{ForwardPath, Reply, SmtpEvent, SmtpServer};
use moxide_storage::{Account, LoginAttempt, Store, TlsPubKey};

use super::auth_checks::{self, Answers, CheckInput};
use super::deliver::{self, Delivery, MessageBuffer, ReceivedInfo};
use super::inbound::{self, Recipient};
use super::localserve::{self, Failure, Stage};
use super::submission;
use super::verdict::{self, Verdict};
use super::{NonceSource, PeerInfo, Role, SmtpConfig, WallClock, rfc5322_date};

/// The mail transaction as the session sees it.
#[derive(Debug, Default)]
struct Txn {
    /// The envelope sender (`None` for `<>`).
    from: Option<String>,
    /// MAIL had the SMTPUTF8 parameter (RFC 6531 3.4).
    smtputf8: bool,
    rcpts: Vec<Recipient>,
    /// Local parts of the recipients (localserve failures at DATA).
    rcpt_locals: Vec<String>,
    data: Option<MessageBuffer>,
    /// Submission with a queue: recipients that are not local.
    remote: Vec<String>,
    /// MAIL's BODY parameter (RFC 6152, RFC 3030).
    body: Option<moxide_proto::smtp::Body>,
    /// MAIL's REQUIRETLS parameter (RFC 8689 4).
    requiretls: bool,
}

/// One SMTP session; see the module documentation of [`super`].
pub struct SmtpSession {
    cfg: Arc<SmtpConfig>,
    store: Arc<Store>,
    peer: PeerInfo,
    clock: WallClock,
    nonce: NonceSource,
    conn: SmtpServer,
    now: Instant,
    /// The account found for the SASL identity being checked.
    sasl_account: Option<Account>,
    /// The authenticated account (submission).
    account: Option<Account>,
    /// The registered key of the TLS client certificate, when it
    /// authenticated the connection (issue 8).
    key: Option<TlsPubKey>,
    /// Output is held until then after a failed AUTH (per-IP delays).
    delay: Option<Instant>,
    txn: Txn,
    /// Deliveries so far, for unique ids.
    counter: u64,
    /// A localserve `timeout` failure: the answer is held until then.
    hold: Option<Instant>,
    /// Sender authentication of a received message waiting for DNS; the
    /// DATA reply is held until it is done.
    checks: Option<Box<PendingChecks>>,
    /// Actions of the session itself (DNS lookups), before the core's.
    actions: VecDeque<Action>,
    /// The id of the next `Need`.
    next_need: u64,
}

/// A received message whose checks wait for DNS answers.
struct PendingChecks {
    txn: Txn,
    message: Vec<u8>,
    stamp: Stamp,
    input: CheckInput,
    answers: Answers,
    /// Lookups asked of the runtime and not answered yet.
    outstanding: HashMap<NeedId, Query>,
    deadline: Instant,
}

/// The identity of one received message: id, date and the client's names.
struct Stamp {
    id: String,
    date: String,
    unix: i64,
    helo: String,
    ehlo: bool,
}

impl std::fmt::Debug for SmtpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSession")
            .field("peer", &self.peer)
            .field("conn", &self.conn)
            .field(
                "account",
                &self.account.as_ref().map(|a| a.name().to_string()),
            )
            .finish_non_exhaustive()
    }
}

impl SmtpSession {
    /// A new session; the `220` greeting is queued.
    pub fn new(
        cfg: Arc<SmtpConfig>,
        store: Arc<Store>,
        peer: PeerInfo,
        clock: WallClock,
        nonce: NonceSource,
    ) -> SmtpSession {
        let now = clock.instant_at;
        let mut server = cfg.server.clone();
        server.submission = cfg.role == Role::Submission;
        server.tls = peer.tls;
        let conn = SmtpServer::new(server, now);
        let mut s = SmtpSession {
            cfg,
            store,
            peer,
            clock,
            nonce,
            conn,
            now,
            sasl_account: None,
            account: None,
            key: None,
            delay: None,
            txn: Txn::default(),
            counter: 0,
            hold: None,
            checks: None,
            actions: VecDeque::new(),
            next_need: 0,
        };
        s.apply_client_key();
        s
    }

    /// The TLS handshake after STARTTLS completed, with the channel binding
    /// of the new TLS session and the fingerprint of the client
    /// certificate's key, if one was presented.
    pub fn tls_established(&mut self, tls_exporter: Option<Vec<u8>>, client_key: Option<String>) {
        self.peer.tls = true;
        self.peer.tls_exporter = tls_exporter;
        self.peer.client_key = client_key;
        // RFC 3207 4.2: nothing learned before TLS counts.
        self.account = None;
        self.key = None;
        self.apply_client_key();
    }

    /// The authenticated account's name, after AUTH.
    pub fn account_name(&self) -> Option<&str> {
        self.account.as_ref().map(Account::name)
    }

    /// Takes events from the core and answers them, until it waits for
    /// input (or a held localserve answer).
    fn process(&mut self) {
        while self.hold.is_none() && self.checks.is_none() {
            let Some(ev) = self.conn.poll_event() else {
                break;
            };
            self.on_event(ev);
        }
    }

    fn on_event(&mut self, ev: SmtpEvent) {
        match ev {
            SmtpEvent::Ehlo { .. } => {
                self.txn = Txn::default();
                self.conn.accept();
            }
            SmtpEvent::MailFrom { from, params } => {
                self.on_mail(from.map(|m| m.to_string()), params.smtputf8);
                self.txn.body = params.body;
                self.txn.requiretls = params.requiretls;
            }
            SmtpEvent::RcptTo { to, .. } => self.on_rcpt(&to),
            SmtpEvent::DataStart { .. } => {
                self.txn.data = Some(MessageBuffer::new(self.cfg.server.max_message_size));
                self.conn.accept();
            }
            SmtpEvent::DataChunk(chunk) => {
                if let Some(b) = self.txn.data.as_mut() {
                    b.push(&chunk);
                }
            }
            SmtpEvent::DataEnd => self.on_data_end(),
            SmtpEvent::DataAborted(reason) => {
                tracing::debug!(?reason, ip = %self.peer.ip, "smtp transaction aborted, nothing stored");
                self.txn = Txn::default();
            }
            SmtpEvent::Reset | SmtpEvent::StartTls => self.txn = Txn::default(),
            SmtpEvent::AuthStart { .. } => {
                let random = (self.nonce)();
                let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
                let unix = self.clock.unix(self.now);
                let ctx = MechanismContext {
                    nonce: hex.as_bytes().to_vec(),
                    challenge: format!(
                        "<{}.{unix}@{}>",
                        hex.get(..16).unwrap_or(""),
                        self.cfg.server.hostname
                    )
                    .into_bytes(),
                    channel_bindings: ChannelBindings {
                        tls_exporter: self.peer.tls_exporter.clone(),
                        tls_server_end_point: None,
                    },
                    plus_advertised: false,
                    external_identity: self.peer.client_key.clone(),
                    unknown_user_key: crate::sasl_key::unknown_user_key(&self.store, &random),
                };
                self.sasl_account = None;
                self.conn.start_auth(ctx);
            }
            SmtpEvent::NeedSecrets { username } => {
                let found =
                    submission::find_account(&self.store, &username).and_then(|a| match a {
                        Some(a) => Ok(a.password_secrets()?.map(|s| (a, s))),
                        None => Ok(None),
                    });
                match found {
                    Ok(Some((a, secrets))) => {
                        self.sasl_account = Some(a);
                        self.conn.provide_secrets(Some(secrets));
                    }
                    Ok(None) => self.conn.provide_secrets(None),
                    Err(e) => {
                        tracing::error!(error = %e, "smtp auth account lookup");
                        self.conn.provide_secrets(None);
                    }
                }
            }
            SmtpEvent::Auth {
                mechanism,
                authcid,
                authzid,
            } => self.on_auth(mechanism, authcid, authzid),
            SmtpEvent::AuthFailed {
                mechanism,
                username,
                error,
            } => {
                tracing::info!(?username, ip = %self.peer.ip, "smtp login failed");
                let account = self.sasl_account.take().map(|a| a.name().to_string());
                let why = error.map_or_else(|| "cancelled".to_string(), |e| e.to_string());
                self.record(
                    mechanism.name(),
                    username.as_deref().unwrap_or(""),
                    account.as_deref(),
                    &why,
                );
                self.delay_after_failure();
            }
            SmtpEvent::Quit => {}
        }
    }

    /// Issue 8: a TLS client certificate makes EXTERNAL available; on
    /// submission a registered key authenticates the connection as its
    /// account (MAIL FROM any of its addresses, one AUTH still allowed).
    fn apply_client_key(&mut self) {
        let Some(fp) = self.peer.client_key.clone().filter(|_| self.peer.tls) else {
            return;
        };
        self.conn.set_client_certificate(true);
        if self.cfg.role != Role::Submission {
            return;
        }
        let key = match self.store.tls_pubkey(&fp) {
            Ok(Some(k)) => k,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "smtp client key lookup");
                return;
            }
        };
        let owner = self.store.account_for_address(&key.login_address);
        if !matches!(owner, Ok(Some(ref o)) if *o == key.account) {
            return;
        }
        match self.store.account(&key.account) {
            Ok(acct) if !matches!(acct.login_disabled(), Ok(None)) => {
                // Disabled (or unreadable): no login by the key alone; an
                // AUTH then gets the admin's message.
                tracing::info!(account = acct.name(), ip = %self.peer.ip, "smtp client key login refused: login disabled");
                self.record(
                    "TLS",
                    &key.login_address,
                    Some(&key.account),
                    "login disabled",
                );
            }
            Ok(acct) => {
                tracing::info!(account = acct.name(), ip = %self.peer.ip, "smtp login with TLS client key");
                self.cfg.login_limit.succeeded(self.peer.ip);
                self.record("TLS", &key.login_address, Some(&key.account), "");
                self.conn
                    .set_key_authenticated(Some(key.login_address.clone()));
                self.account = Some(acct);
                self.key = Some(key);
            }
            Err(e) => tracing::error!(error = %e, account = %key.account, "account of client key"),
        }
    }

    /// A completed SASL exchange: EXTERNAL maps the key to its account,
    /// the password mechanisms found theirs at `NeedSecrets`. On a
    /// connection authenticated by a key the account must be the key's.
    fn on_auth(&mut self, mechanism: Mechanism, authcid: String, authzid: Option<String>) {
        let found = if mechanism == Mechanism::External {
            self.external_account(&authcid, authzid.as_deref())
        } else {
            let authz_ok = authzid
                .as_ref()
                .is_none_or(|z| z.is_empty() || *z == authcid);
            match self.sasl_account.take() {
                Some(a) if authz_ok => Ok((a, authcid)),
                Some(a) => Err((
                    Some(a.name().to_string()),
                    authcid,
                    "authorization identity differs",
                )),
                None => Err((None, authcid, "unknown user")),
            }
        };
        let (acct, username) = match found {
            Ok(v) => v,
            Err((account, username, why)) => {
                self.record(mechanism.name(), &username, account.as_deref(), why);
                self.delay_after_failure();
                return self.conn.reject(Reply::auth_failed());
            }
        };
        if let Some(key) = &self.key
            && key.account != acct.name()
        {
            let why = "account differs from the TLS client key's";
            self.record(mechanism.name(), &username, Some(acct.name()), why);
            self.delay_after_failure();
            return self.conn.reject(Reply::auth_failed());
        }
        match acct.login_disabled() {
            Ok(None) => {}
            Ok(Some(message)) => {
                tracing::info!(account = acct.name(), ip = %self.peer.ip, "smtp login refused: login disabled");
                self.record(
                    mechanism.name(),
                    &username,
                    Some(acct.name()),
                    "login disabled",
                );
                return self.conn.reject(login_disabled_reply(&message));
            }
            Err(e) => {
                tracing::error!(error = %e, "smtp login-disabled lookup");
                return self
                    .conn
                    .reject(Reply::local_error("error reading the account"));
            }
        }
        tracing::info!(account = acct.name(), ip = %self.peer.ip, mechanism = mechanism.name(), "smtp login");
        self.cfg.login_limit.succeeded(self.peer.ip);
        self.record(mechanism.name(), &username, Some(acct.name()), "");
        self.account = Some(acct);
        self.conn.accept();
    }

    /// EXTERNAL (RFC 4422 appendix A): `fingerprint` is the client key,
    /// `authzid` must be an address of the key's account (default: the
    /// key's login address). Errors carry (account, username, reason).
    fn external_account(
        &self,
        fingerprint: &str,
        authzid: Option<&str>,
    ) -> Result<(Account, String), (Option<String>, String, &'static str)> {
        let username = authzid.unwrap_or("").to_string();
        let key = match self.store.tls_pubkey(fingerprint) {
            Ok(Some(k)) => k,
            Ok(None) => return Err((None, username, "unknown TLS client key")),
            Err(e) => {
                tracing::error!(error = %e, "smtp client key lookup");
                return Err((None, username, "key lookup failed"));
            }
        };
        let address = authzid.unwrap_or(&key.login_address).to_string();
        let owner = self.store.account_for_address(&address).ok().flatten();
        if owner.as_deref() != Some(key.account.as_str()) {
            return Err((
                Some(key.account),
                address,
                "identity is not an address of the key's account",
            ));
        }
        match self.store.account(&key.account) {
            Ok(a) => Ok((a, address)),
            Err(_) => Err((Some(key.account), address, "account of the key is gone")),
        }
    }

    /// Records a login attempt; failing to record is logged only.
    fn record(&self, mechanism: &str, username: &str, account: Option<&str>, failure: &str) {
        let attempt = LoginAttempt {
            unix: self.clock.unix(self.now),
            account: account.map(str::to_string),
            address: username.to_string(),
            key_fingerprint: self.peer.client_key.clone(),
            mechanism: mechanism.to_string(),
            protocol: "submission".to_string(),
            remote_ip: self.peer.ip.to_string(),
            success: failure.is_empty(),
            failure: failure.to_string(),
        };
        if let Err(e) = self.store.record_login_attempt(&attempt) {
            tracing::error!(error = %e, "recording smtp login attempt");
        }
    }

    /// Counts a failed AUTH for the client's IP and holds the output (the
    /// `535`) for the delay the limiter asks for (issue 5).
    fn delay_after_failure(&mut self) {
        let d = self.cfg.login_limit.failed(self.peer.ip, self.now);
        if !d.is_zero() {
            self.delay = self.now.checked_add(d);
        }
    }

    /// Applies a localserve failure on purpose: replies now, or holds the
    /// answer (`timeout`).
    fn fail_on_purpose(&mut self, f: Failure) {
        match f {
            Failure::Reply(r) => self.conn.reject(r),
            Failure::Timeout => {
                self.hold = self.now.checked_add(self.cfg.localserve_timeout);
            }
        }
    }

    fn on_mail(&mut self, from: Option<String>, smtputf8: bool) {
        self.txn = Txn::default();
        if self.cfg.localserve
            && let Some(f) = from
                .as_deref()
                .and_then(|a| localserve::failure_at(local_part(a), Stage::MailFrom))
        {
            return self.fail_on_purpose(f);
        }
        if self.cfg.role == Role::Submission {
            let Some(acct) = self.account.as_ref() else {
                return self.conn.reject(Reply::auth_required());
            };
            let addresses = match acct.settings() {
                Ok(s) => s.addresses,
                Err(e) => {
                    tracing::error!(error = %e, "smtp account settings");
                    return self
                        .conn
                        .reject(Reply::local_error("error reading the account"));
                }
            };
            if let Err(r) = submission::check_mail_from(from.as_deref(), &addresses) {
                return self.conn.reject(r);
            }
        }
        self.txn.from = from;
        self.txn.smtputf8 = smtputf8;
        self.conn.accept();
    }

    fn on_rcpt(&mut self, to: &ForwardPath) {
        let local = match to {
            ForwardPath::Postmaster => String::new(),
            ForwardPath::Mailbox(m) => m.local_part.clone(),
        };
        if self.cfg.localserve
            && let Some(f) = localserve::failure_at(&local, Stage::RcptTo)
        {
            return self.fail_on_purpose(f);
        }
        // Local recipients are delivered through the inbound path (also
        // in submission, see the module docs); others are relayed through
        // the queue by submission only.
        match inbound::resolve(&self.store, to, &self.cfg) {
            Ok(r) => {
                self.txn.rcpts.push(r);
                self.txn.rcpt_locals.push(local);
                self.conn.accept();
            }
            Err(inbound::RecipientError::NotLocal { .. })
                if self.cfg.role == Role::Submission
                    && matches!(self.cfg.outgoing, super::Outgoing::Queue(_)) =>
            {
                // Into the outgoing queue at DATA.
                self.txn.remote.push(inbound::path_address(to));
                self.conn.accept();
            }
            Err(inbound::RecipientError::NotLocal { .. }) if self.cfg.role == Role::Submission => {
                self.conn.reject(no_queue_reply());
            }
            // Every domain counts as local: an unknown address may be
            // another domain's, which cannot be reached without a queue.
            Err(inbound::RecipientError::Unknown)
                if self.cfg.role == Role::Submission
                    && self.cfg.local_domains == super::LocalDomains::Any
                    && matches!(self.cfg.outgoing, super::Outgoing::Loopback) =>
            {
                self.conn.reject(no_queue_reply());
            }
            Err(e) => self.conn.reject(e.reply()),
        }
    }

    fn on_data_end(&mut self) {
        let txn = std::mem::take(&mut self.txn);
        let reply = self.finish(txn);
        match reply {
            Ok(Some(r)) => self.conn.accept_with(r),
            Ok(None) => {}
            Err(r) => self.conn.reject(r),
        }
    }

    /// Checks and stores the message; `Ok(None)` when the answer is held.
    fn finish(&mut self, mut txn: Txn) -> Result<Option<Reply>, Reply> {
        if self.cfg.localserve {
            let fail = txn
                .rcpt_locals
                .iter()
                .find_map(|lp| localserve::failure_at(lp, Stage::Data));
            if let Some(f) = fail {
                return match f {
                    Failure::Reply(r) => Err(r),
                    Failure::Timeout => {
                        self.fail_on_purpose(Failure::Timeout);
                        Ok(None)
                    }
                };
            }
        }
        let Some(mut buf) = txn.data.take() else {
            return Err(Reply::local_error("no message data"));
        };
        if buf.overflowed() {
            return Err(Reply::too_big());
        }
        let mut message = buf.take();
        let unix = self.clock.unix(self.now);
        let date = rfc5322_date(unix);
        self.counter = self.counter.wrapping_add(1);
        let random = (self.nonce)();
        let id: String = random
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .chain(std::iter::once(format!("{:x}", self.counter)))
            .collect();
        let helo = self
            .conn
            .helo()
            .map(|(h, _)| h.to_string())
            .unwrap_or_default();
        let ehlo = self.conn.helo().is_some_and(|(_, e)| e);
        let stamp = Stamp {
            id,
            date,
            unix,
            helo,
            ehlo,
        };
        let (id, date, helo) = (&stamp.id, &stamp.date, &stamp.helo);
        match self.cfg.role {
            Role::Submission => {
                let addresses = match self.account.as_ref().map(Account::settings) {
                    Some(Ok(s)) => s.addresses,
                    Some(Err(e)) => {
                        tracing::error!(error = %e, "smtp account settings");
                        return Err(Reply::local_error("error reading the account"));
                    }
                    None => return Err(Reply::auth_required()),
                };
                submission::check_from_header(&message, &addresses)?;
                let mut added = submission::missing_header_lines(
                    &message,
                    &self.cfg.server.hostname,
                    &format!("{id}.{unix}"),
                    date,
                );
                if !added.is_empty() {
                    added.extend_from_slice(&message);
                    message = added;
                }
                // DKIM over the final message (super::dkim_sign).
                let mut signed = self.cfg.dkim.header_for_submission(&message, unix);
                if !signed.is_empty() {
                    signed.extend_from_slice(&message);
                    message = signed;
                }
                self.store_message(&txn, &message, &stamp, verdict::unchecked())
            }
            Role::Inbound if self.cfg.sender_checks => {
                let sample = (self.nonce)().first().map_or(0, |b| b % 100);
                let input = CheckInput {
                    ip: self.peer.ip,
                    helo: helo.clone(),
                    mail_from: txn.from.clone(),
                    hostname: self.cfg.server.hostname.clone(),
                    now: self.now,
                    unix,
                    dmarc_sample: sample,
                };
                let deadline = self.now + auth_checks::CHECK_TIMEOUT;
                self.checks = Some(Box::new(PendingChecks {
                    txn,
                    message,
                    stamp,
                    input,
                    answers: Answers::default(),
                    outstanding: HashMap::new(),
                    deadline,
                }));
                Ok(self.advance_checks())
            }
            Role::Inbound => self.store_message(&txn, &message, &stamp, verdict::unchecked()),
        }
    }

    /// Runs the pending checks with the answers so far: asks for the
    /// lookups still missing, or (all done) decides, stores and returns the
    /// DATA reply. `None` while waiting.
    fn advance_checks(&mut self) -> Option<Reply> {
        let p = self.checks.as_mut()?;
        match auth_checks::run(&p.input, &p.message, &p.answers) {
            Err(missing) => {
                for q in missing {
                    if p.outstanding.values().any(|o| *o == q) {
                        continue;
                    }
                    let id = NeedId(self.next_need);
                    self.next_need = self.next_need.wrapping_add(1);
                    p.outstanding.insert(id, q.clone());
                    self.actions.push_back(Action::Need(id, Need::Dns(q)));
                }
                None
            }
            Ok(results) => {
                let p = self.checks.take()?;
                let v = verdict::decide(&results, &self.cfg.server.hostname);
                tracing::info!(
                    ip = %p.input.ip,
                    iprev = %results.iprev.result,
                    spf = %results.spf.result(),
                    dkim = %results.dkim.status(),
                    dmarc = ?results.dmarc.as_ref().map(|d| d.result),
                    "smtp sender checks"
                );
                Some(match self.store_message(&p.txn, &p.message, &p.stamp, v) {
                    Ok(Some(r)) | Err(r) => r,
                    Ok(None) => return None,
                })
            }
        }
    }

    /// Sends the DATA reply of a message whose checks finished, and goes
    /// on with the events that waited.
    fn finish_checks(&mut self) {
        if let Some(reply) = self.advance_checks() {
            if reply.code < 400 {
                self.conn.accept_with(reply);
            } else {
                self.conn.reject(reply);
            }
            self.process();
        }
    }

    /// Applies the verdict and stores the message for every recipient;
    /// the DATA reply.
    fn store_message(
        &mut self,
        txn: &Txn,
        message: &[u8],
        stamp: &Stamp,
        v: Verdict,
    ) -> Result<Option<Reply>, Reply> {
        let (checks_prefix, junk) = match v {
            Verdict::Reject(r) => return Err(r),
            Verdict::Deliver { prefix, junk } => (prefix, junk),
        };
        let Stamp {
            id,
            date,
            unix,
            helo,
            ehlo,
        } = stamp;
        let (unix, ehlo) = (*unix, *ehlo);
        let with =
            deliver::with_protocol(ehlo, txn.smtputf8, self.peer.tls, self.account.is_some());
        let info = ReceivedInfo {
            helo,
            ip: self.peer.ip,
            hostname: &self.cfg.server.hostname,
            with: &with,
            id,
            date,
        };
        let prefixes: Vec<Vec<u8>> = txn
            .rcpts
            .iter()
            .map(|r| {
                let mut p = checks_prefix.as_bytes().to_vec();
                p.extend_from_slice(&deliver::received_header(&info, &r.address));
                p
            })
            .collect();
        let copies: Vec<Delivery<'_>> = txn
            .rcpts
            .iter()
            .zip(&prefixes)
            .map(|(r, prefix)| Delivery {
                account: &r.account,
                prefix,
                data: message,
                junk,
                unix,
            })
            .collect();
        if let (false, super::Outgoing::Queue(queue)) = (txn.remote.is_empty(), &self.cfg.outgoing)
        {
            // Submission to other domains: queue and local copies for one
            // reply (submission::queue_and_deliver).
            let outgoing = crate::queue::NewOutgoing {
                sender_account: self.account.as_ref().map(|a| a.name().to_string()),
                mail_from: txn.from.clone().unwrap_or_default(),
                recipients: txn.remote.clone(),
                prefix: submission::queue_received_header(&info),
                message,
                smtputf8: txn.smtputf8,
                body: crate::queue::body_for(txn.body, message),
                requiretls: submission::requiretls_of(txn.requiretls, message),
                transport: None,
            };
            let (ids, uids) =
                submission::queue_and_deliver(&self.store, queue, unix, outgoing, &copies)?;
            for (d, uid) in copies.iter().zip(uids) {
                tracing::info!(account = %d.account, uid, id = %id, "smtp delivered");
            }
            tracing::info!(queue_ids = ?ids, id = %id, "smtp submission queued");
            return Ok(Some(Reply::with(
                250,
                (2, 0, 0),
                format!("message queued, id {id}"),
            )));
        }
        // One reply for the whole message (see `deliver_all`): quotas of
        // every recipient first, 451 when a failure follows a commit.
        let uids = deliver::deliver_all(&self.store, &copies, deliver::deliver)?;
        for (d, uid) in copies.iter().zip(uids) {
            tracing::info!(account = %d.account, uid, id = %id, "smtp delivered");
        }
        // The core's idle timer restarts after this storage work.
        Ok(Some(Reply::with(
            250,
            (2, 0, 0),
            format!("message accepted, id {id}"),
        )))
    }
}

/// AUTH of an account whose login the admin disabled, with the admin's
/// message (as mox): `525 5.7.13` (RFC 5248: user account disabled).
fn login_disabled_reply(message: &str) -> Reply {
    Reply::with(
        525,
        (5, 7, 13),
        format!("login disabled for account: {message}"),
    )
}

/// Submission of mail for another domain without an outgoing queue.
fn no_queue_reply() -> Reply {
    Reply::with(
        550,
        (5, 1, 1),
        "no outgoing queue yet: only local recipients can be reached",
    )
}

/// The local part of an address as written (`a@b` → `a`).
fn local_part(address: &str) -> &str {
    address
        .rsplit_once('@')
        .map_or(address, |(l, _)| l)
        .trim_matches('"')
}

impl Conn for SmtpSession {
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        self.conn.handle_input(now, bytes);
        self.process();
    }

    fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.hold = None;
        // The client left before the DATA reply: it did not see 250, so
        // it will send again; store nothing (RFC 5321 6.1 duplicates are
        // the sender's to avoid here).
        if self.checks.take().is_some() {
            tracing::info!(ip = %self.peer.ip, "smtp client left during sender checks, nothing stored");
        }
        self.conn.handle_eof(now);
        self.process();
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if let Some(at) = self.delay {
            if now >= at {
                self.delay = None;
            }
            return;
        }
        if let Some(p) = self.checks.as_mut() {
            if now < p.deadline {
                return;
            }
            // DNS took too long: what is still unanswered is a timeout
            // (temperror in the evaluators), and so are later lookups.
            let late: Vec<Query> = p.outstanding.drain().map(|(_, q)| q).collect();
            auth_checks::time_out(&mut p.answers, &late);
            while let Some(p) = self.checks.as_mut()
                && let Err(missing) = auth_checks::run(&p.input, &p.message, &p.answers)
            {
                auth_checks::time_out(&mut p.answers, &missing);
            }
            self.finish_checks();
            return;
        }
        if let Some(at) = self.hold {
            if now < at {
                return;
            }
            self.hold = None;
            // The held localserve `timeout` answer: give up and close.
            let host = self.cfg.server.hostname.clone();
            self.conn.reject(Reply::timeout(&host));
            self.conn.handle_eof(now);
            self.process();
            return;
        }
        self.conn.handle_timeout(now);
        self.process();
    }

    fn handle_answer(&mut self, now: Instant, id: NeedId, answer: Answer) {
        self.now = now;
        if let Some(p) = self.checks.as_mut()
            && let Some(q) = p.outstanding.remove(&id)
        {
            if let Answer::Dns(lookup) = answer {
                p.answers.insert(q, lookup);
            } else {
                p.answers.insert(
                    q,
                    moxide_proto::dns::Lookup::Failed(moxide_proto::dns::Failure::Network(
                        "no DNS answer".into(),
                    )),
                );
            }
            if p.outstanding.is_empty() {
                self.finish_checks();
            }
            return;
        }
        self.conn.handle_answer(now, id, answer);
        self.process();
    }

    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        if self.delay.is_none() {
            self.conn.poll_transmit(out);
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        if self.delay.is_some() {
            return None;
        }
        self.actions.pop_front().or_else(|| self.conn.poll_action())
    }

    fn poll_timeout(&self) -> Option<Instant> {
        if self.delay.is_some() {
            return self.delay;
        }
        if let Some(p) = &self.checks {
            return Some(p.deadline);
        }
        match self.hold {
            Some(at) => Some(at),
            None => self.conn.poll_timeout(),
        }
    }

    fn wants_read(&self) -> bool {
        self.delay.is_none() && self.conn.wants_read()
    }
}
