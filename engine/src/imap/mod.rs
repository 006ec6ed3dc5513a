//! The IMAP session: executes the commands that
//! [`ServerConn`](moxide_proto::imap::server::ServerConn) parses against the
//! storage, one file per command under `cmd/`.
//!
//! # Runtime contract
//!
//! A [`Session`] is a [`Conn`]. A runtime:
//! 1. accepts a connection (and does the TLS handshake for implicit TLS),
//!    builds a [`PeerInfo`] and calls [`Session::new`], which queues the
//!    greeting;
//! 2. registers a wake-up with [`Session::set_notify`]: the callback runs on
//!    the thread of whichever session commits a change to the same account,
//!    and MUST only wake the runtime's task, which then calls
//!    [`Session::handle_changes`];
//! 3. loops: read → [`Conn::handle_input`]; then drain
//!    [`Conn::poll_transmit`] (call it until it appends nothing, writing
//!    what it gave in between: a large FETCH comes in chunks), then [`Conn::poll_action`] until `None`
//!    (`StartTls`: flush, do the handshake, then call
//!    [`Session::tls_established`]; `Close`: flush and close), then sleep
//!    until [`Conn::poll_timeout`] (calling [`Conn::handle_timeout`] when it
//!    passes), input arrives, or the notify callback fires;
//! 4. on EOF calls [`Conn::handle_eof`] and drops the session.
//!
//! Wall-clock time (APPEND's INTERNALDATE, SAVEDATE, OLDER/YOUNGER) is
//! derived from the [`WallClock`] given at construction and the `now`
//! arguments; randomness (SASL nonces and challenges) comes from the
//! [`NonceSource`] given at construction.
//!
//! # Updates from other sessions
//!
//! Every session of an account subscribes to its changes feed at login.
//! Pending changes to the selected mailbox (new messages, flag changes,
//! expunges) are sent as untagged responses before the tagged response of
//! the next command (RFC 9051 5.2, 7.4.1, 7.5.1): expunges are held back
//! during FETCH, STORE and SEARCH by sequence number; during IDLE they are
//! sent as soon as [`Session::handle_changes`] is called.

pub mod config;
pub mod login_limit;

mod cmd;
mod convert;
mod selected;
mod uid_runs;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use moxide_proto::conn::{Action, Answer, Conn, NeedId};
use moxide_proto::imap::cmd::{Command, CommandBody};
use moxide_proto::imap::core::Tag;
use moxide_proto::imap::resp::{Code, Data, Response, Status};
use moxide_proto::imap::server::{Event, ServerConn, ServerState};
use moxide_storage::{Account, ChangeReader, Notify, Store, StoreError};

pub use config::ImapConfig;
pub use login_limit::LoginLimiter;

use cmd::append::AppendState;
use cmd::authenticate::AuthState;
use selected::Selected;

/// Who is on the other end of the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The client's IP address (for failed-login limits and logging).
    pub ip: IpAddr,
    /// The connection is TLS (implicit TLS or after STARTTLS).
    pub tls: bool,
    /// The TLS exporter channel binding (RFC 9266), when TLS is up.
    pub tls_exporter: Option<Vec<u8>>,
    /// The fingerprint of the TLS client certificate's public key
    /// ([`moxide_proto::tls_key::spki_fingerprint`]) from the handshake;
    /// `None` without TLS or without a client certificate.
    pub client_key: Option<String>,
}

/// The mapping from the monotonic `now` arguments to wall-clock time,
/// sampled once by the runtime: wall time = `unix_at + (now − instant_at)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WallClock {
    /// Unix seconds at `instant_at`.
    pub unix_at: i64,
    /// The instant at which `unix_at` was sampled.
    pub instant_at: Instant,
}

impl WallClock {
    /// Unix seconds at `now`.
    pub fn unix(&self, now: Instant) -> i64 {
        let elapsed = now.saturating_duration_since(self.instant_at).as_secs();
        self.unix_at
            .saturating_add(i64::try_from(elapsed).unwrap_or(i64::MAX))
    }
}

/// Fresh random bytes for SASL nonces and CRAM-MD5 challenges.
pub type NonceSource = Box<dyn FnMut() -> [u8; 18] + Send>;

/// An authenticated user: the account and its changes feed.
pub(crate) struct User {
    pub(crate) account: Account,
    pub(crate) reader: ChangeReader,
}

/// Extensions the client turned on (RFC 5161 ENABLE, RFC 7162 3.1).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Enabled {
    pub(crate) rev2: bool,
    pub(crate) utf8: bool,
    pub(crate) condstore: bool,
    pub(crate) qresync: bool,
}

/// A response held back until `at` (answers to failed logins).
struct Delayed {
    at: Instant,
    resp: Response,
}

/// One IMAP session; see the module documentation for the runtime contract.
pub struct Session {
    pub(crate) cfg: Arc<ImapConfig>,
    pub(crate) store: Arc<Store>,
    pub(crate) peer: PeerInfo,
    pub(crate) clock: WallClock,
    pub(crate) nonce: NonceSource,
    pub(crate) conn: ServerConn,
    pub(crate) now: Instant,
    pub(crate) user: Option<User>,
    pub(crate) sel: Option<Selected>,
    pub(crate) ext: Enabled,
    pub(crate) auth: Option<AuthState>,
    pub(crate) append: Option<AppendState>,
    pub(crate) idle: Option<Tag>,
    /// A FETCH being answered chunk by chunk.
    pub(crate) fetch: Option<cmd::fetch::FetchCursor>,
    /// Whether the command being executed may be followed by EXPUNGE
    /// responses (not during FETCH, STORE, SEARCH by sequence number,
    /// RFC 9051 7.5.1).
    pub(crate) expunge_ok: bool,
    /// Modseqs of this session's own flag changes, whose echo from the
    /// changes feed is not sent again.
    pub(crate) own_modseqs: Vec<u64>,
    notify: Option<Notify>,
    delayed: Option<Delayed>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("peer", &self.peer)
            .field("state", &self.conn.state())
            .field(
                "user",
                &self.user.as_ref().map(|u| u.account.name().to_string()),
            )
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A new session; queues the greeting (`* OK [CAPABILITY …]`).
    pub fn new(
        cfg: Arc<ImapConfig>,
        store: Arc<Store>,
        peer: PeerInfo,
        clock: WallClock,
        nonce: NonceSource,
    ) -> Session {
        let now = clock.instant_at;
        let conn = ServerConn::new(cfg.server.clone(), now);
        let mut s = Session {
            cfg,
            store,
            peer,
            clock,
            nonce,
            conn,
            now,
            user: None,
            sel: None,
            ext: Enabled::default(),
            auth: None,
            append: None,
            idle: None,
            fetch: None,
            expunge_ok: true,
            own_modseqs: Vec::new(),
            notify: None,
            delayed: None,
        };
        let greeting = s.cfg.greeting.clone();
        // Issue 8: a known TLS client key on implicit TLS logs in at once
        // (RFC 9051 7.1.4 PREAUTH), unless the key asks not to.
        if let Some((acct, key)) = cmd::login::preauth_account(&s) {
            s.cfg.login_limit.succeeded(s.peer.ip);
            let a = cmd::login::Attempt {
                mechanism: "PREAUTH",
                username: &key.login_address,
                account: Some(&key.account),
            };
            cmd::login::record(&s, a, "");
            tracing::info!(account = %key.account, ip = %s.peer.ip, "imap preauth with TLS client key");
            s.login_as(acct);
            let caps = s
                .cfg
                .capabilities(s.peer.tls, true, s.peer.tls_exporter.is_some());
            s.send(Response::Status(Status::preauth(
                Some(Code::Capability(caps)),
                format!("{greeting}, logged in as {}", key.login_address),
            )));
            return s;
        }
        let caps = s.capabilities();
        s.send(Response::Status(Status::ok(
            None,
            Some(Code::Capability(caps)),
            greeting,
        )));
        s
    }

    /// Registers the callback that wakes the runtime when another session
    /// (or this one) commits a change to the account; see the module docs.
    pub fn set_notify(&mut self, notify: Notify) {
        if let Some(u) = self.user.as_mut() {
            u.reader.set_notify(notify.clone());
        }
        self.notify = Some(notify);
    }

    /// Called by the runtime after the notify callback fired: during IDLE
    /// the changes are sent at once; otherwise they wait for the next
    /// command.
    pub fn handle_changes(&mut self, now: Instant) {
        self.now = now;
        if self.idle.is_some() {
            self.flush_updates();
        }
    }

    /// Called by the runtime once the TLS handshake after STARTTLS
    /// completed, with the channel binding of the new TLS session and the
    /// fingerprint of the client certificate's key, if one was presented.
    /// A known key never yields PREAUTH after STARTTLS; it only enables
    /// AUTHENTICATE EXTERNAL.
    pub fn tls_established(&mut self, tls_exporter: Option<Vec<u8>>, client_key: Option<String>) {
        self.peer.tls = true;
        self.peer.tls_exporter = tls_exporter;
        self.peer.client_key = client_key;
    }

    /// The protocol state.
    pub fn state(&self) -> ServerState {
        self.conn.state()
    }

    /// Unix seconds now, from the wall clock given at construction.
    pub(crate) fn unix_now(&self) -> i64 {
        self.clock.unix(self.now)
    }

    /// The capabilities for the current state.
    pub(crate) fn capabilities(&self) -> Vec<String> {
        let authed = !matches!(self.conn.state(), ServerState::NotAuthenticated);
        let mut caps =
            self.cfg
                .capabilities(self.peer.tls, authed, self.peer.tls_exporter.is_some());
        // Issue 8: EXTERNAL only with TLS and a client certificate (known
        // or not: an unknown key fails at AUTHENTICATE).
        if !authed && self.peer.tls && self.peer.client_key.is_some() {
            let at = caps
                .iter()
                .position(|c| c.starts_with("AUTH="))
                .unwrap_or(caps.len());
            caps.insert(at, "AUTH=EXTERNAL".to_string());
        }
        caps
    }

    /// Logs the user in: opens the changes feed.
    pub(crate) fn login_as(&mut self, account: Account) {
        let mut reader = account.subscribe();
        if let Some(n) = &self.notify {
            reader.set_notify(n.clone());
        }
        self.user = Some(User { account, reader });
    }

    /// Sends a response.
    pub(crate) fn send(&mut self, r: Response) {
        self.conn.send(&r);
    }

    /// Sends untagged data.
    pub(crate) fn data(&mut self, d: Data) {
        self.conn.send(&Response::Data(d));
    }

    /// Completes the command with `tag OK`, after pending updates.
    pub(crate) fn ok(&mut self, tag: Tag, code: Option<Code>, text: &str) {
        self.flush_updates();
        self.send(Response::Status(Status::ok(Some(tag), code, text)));
    }

    /// Completes the command with `tag NO`, after pending updates.
    pub(crate) fn no(&mut self, tag: Tag, code: Option<Code>, text: &str) {
        self.flush_updates();
        self.send(Response::Status(Status::no(Some(tag), code, text)));
    }

    /// Completes the command with `tag BAD`.
    pub(crate) fn bad(&mut self, tag: Tag, text: &str) {
        self.send(Response::Status(Status::bad(Some(tag), None, text)));
    }

    /// Holds `resp` back until `at` (failed logins); nothing else is
    /// processed meanwhile.
    pub(crate) fn send_delayed(&mut self, at: Instant, resp: Response) {
        if at <= self.now {
            self.send(resp);
        } else {
            self.delayed = Some(Delayed { at, resp });
        }
    }

    /// Completes the command with the NO (or BAD) a storage error calls
    /// for (RFC 5530 codes); unexpected errors are logged.
    pub(crate) fn store_error(&mut self, tag: Tag, err: StoreError, what: &str) {
        let (code, text) = match &err {
            StoreError::NoSuchMailbox(_) => (Code::NonExistent, "no such mailbox".to_string()),
            StoreError::MailboxExists(_) => (Code::AlreadyExists, "mailbox exists".to_string()),
            StoreError::OverQuota { .. } => (Code::OverQuota, "over quota".to_string()),
            StoreError::InvalidMailboxName { .. } | StoreError::MailboxNotAllowed { .. } => {
                (Code::Cannot, err.to_string())
            }
            StoreError::InvalidKeyword { .. } => (Code::ClientBug, err.to_string()),
            StoreError::NoSuchMessage { .. } => {
                (Code::ExpungeIssued, "message was expunged".to_string())
            }
            _ => {
                tracing::error!(error = %err, account = ?self.user.as_ref().map(|u| u.account.name().to_string()), "{what}");
                (Code::ServerBug, format!("{what} failed: internal error"))
            }
        };
        self.no(tag, Some(code), &text);
    }

    /// The logged-in account. Commands that need one only run after login
    /// (the connection checks the state), so `None` is a server bug.
    pub(crate) fn account(&self) -> Option<Account> {
        self.user.as_ref().map(|u| u.account.clone())
    }

    /// Handles the events the connection produced.
    fn process(&mut self) {
        while self.delayed.is_none() && self.fetch.is_none() {
            let Some(ev) = self.conn.poll_event() else {
                break;
            };
            match ev {
                Event::Command(c) => self.command(c),
                Event::AppendBegin { head, message } => {
                    if self.append.is_none() {
                        self.expunge_ok = true;
                    }
                    cmd::append::begin(self, head, message)
                }
                Event::AppendData(d) => cmd::append::data(self, d),
                Event::AppendEnd { last } => cmd::append::end(self, last),
                Event::AuthResponse(r) => cmd::authenticate::response(self, r.expose()),
                Event::AuthCancel => cmd::authenticate::cancel(self),
                Event::IdleDone => cmd::idle::done(self),
                Event::Aborted { .. } => {
                    self.append = None;
                    self.auth = None;
                    self.idle = None;
                }
            }
        }
    }

    /// Executes one command; every path ends with a tagged response (or a
    /// continuation for IDLE and AUTHENTICATE).
    fn command(&mut self, c: Command) {
        use CommandBody as C;
        let Command { tag, body } = c;
        // Only the name: arguments may hold passwords.
        tracing::debug!(tag = %tag, command = body.name(), ip = %self.peer.ip, "imap command");
        // RFC 9051 7.5.1: no EXPUNGE during FETCH, STORE, SEARCH (and
        // SORT/THREAD) by sequence number.
        self.expunge_ok = !matches!(
            &body,
            C::Fetch(f) if !f.uid
        ) && !matches!(&body, C::Store(s) if !s.uid)
            && !matches!(&body, C::Search(s) if !s.uid)
            && !matches!(&body, C::Sort(s) if !s.uid)
            && !matches!(&body, C::Thread(t) if !t.uid);
        match body {
            C::Capability => cmd::capability::run(self, tag),
            C::Noop | C::Check => cmd::noop_check_logout::noop(self, tag),
            C::Logout => cmd::noop_check_logout::logout(self, tag),
            C::StartTls => cmd::starttls::run(self, tag),
            C::Authenticate {
                mechanism,
                initial_response,
            } => cmd::authenticate::start(
                self,
                tag,
                mechanism.as_str(),
                initial_response.as_ref().map(|s| s.expose().as_slice()),
            ),
            C::Login { username, password } => {
                cmd::login::run(self, tag, &username, password.expose())
            }
            C::Enable(caps) => cmd::enable::run(self, tag, &caps),
            C::Select { mailbox, params } => cmd::select::run(self, tag, &mailbox, &params, false),
            C::Examine { mailbox, params } => cmd::select::run(self, tag, &mailbox, &params, true),
            C::Create {
                mailbox,
                special_use,
            } => cmd::create::run(self, tag, &mailbox, &special_use),
            C::Delete(m) => cmd::delete::run(self, tag, &m),
            C::Rename { from, to } => cmd::rename::run(self, tag, &from, &to),
            C::Subscribe(m) => cmd::subscribe::run(self, tag, &m, true),
            C::Unsubscribe(m) => cmd::subscribe::run(self, tag, &m, false),
            C::List(l) => cmd::list::list(self, tag, &l),
            C::Lsub { reference, pattern } => cmd::list::lsub(self, tag, &reference, &pattern),
            C::Namespace => cmd::namespace::run(self, tag),
            C::Status { mailbox, attrs } => cmd::status::run(self, tag, &mailbox, &attrs),
            C::Append { .. } | C::Replace { .. } => {
                // The connection streams APPEND/REPLACE as AppendBegin events.
                self.bad(tag, "APPEND must be streamed");
            }
            C::Idle => cmd::idle::start(self, tag),
            C::Close => cmd::close::close(self, tag),
            C::Unselect => cmd::close::unselect(self, tag),
            C::Expunge => cmd::expunge::run(self, tag, None),
            C::UidExpunge(set) => cmd::expunge::run(self, tag, Some(&set)),
            C::Search(s) => cmd::search::run(self, tag, &s),
            C::Fetch(f) => cmd::fetch::run(self, tag, &f),
            C::Store(s) => cmd::store::run(self, tag, &s),
            C::Copy { uid, set, mailbox } => cmd::copy::run(self, tag, uid, &set, &mailbox),
            C::Move { uid, set, mailbox } => cmd::r#move::run(self, tag, uid, &set, &mailbox),
            C::Sort(s) => cmd::sort::run(self, tag, &s),
            C::Thread(t) => cmd::thread::run(self, tag, &t),
            C::Id(params) => cmd::id::run(self, tag, params.as_deref()),
            C::Compress(mech) => cmd::compress::run(self, tag, mech.as_str()),
            C::GetQuota(root) => cmd::quota::getquota(self, tag, &root),
            C::GetQuotaRoot(m) => cmd::quota::getquotaroot(self, tag, &m),
            C::SetQuota { .. } => cmd::quota::setquota(self, tag),
        }
    }
}

impl Conn for Session {
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        self.now = now;
        self.conn.handle_input(now, bytes);
        self.process();
    }

    fn handle_eof(&mut self, now: Instant) {
        self.now = now;
        self.conn.handle_eof(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if let Some(d) = self.delayed.take() {
            if d.at <= now {
                self.send(d.resp);
            } else {
                self.delayed = Some(d);
            }
        }
        self.conn.handle_timeout(now);
        self.process();
    }

    fn handle_answer(&mut self, now: Instant, id: NeedId, answer: Answer) {
        self.now = now;
        self.conn.handle_answer(now, id, answer);
    }

    /// Appends output. A large FETCH is produced in chunks: each call that
    /// finds nothing queued produces the next chunk, so the runtime calls
    /// this until it appends nothing, writing each chunk out in between.
    fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        let before = out.len();
        self.conn.poll_transmit(out);
        if out.len() == before && self.fetch.is_some() {
            cmd::fetch::resume(self);
            self.process();
            self.conn.poll_transmit(out);
        }
    }

    fn poll_action(&mut self) -> Option<Action> {
        self.conn.poll_action()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        let conn = self.conn.poll_timeout();
        match (&self.delayed, conn) {
            (Some(d), Some(c)) => Some(d.at.min(c)),
            (Some(d), None) => Some(d.at),
            (None, c) => c,
        }
    }

    fn wants_read(&self) -> bool {
        self.conn.wants_read()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runtimes move sessions between threads.
    #[test]
    fn session_is_send() {
        fn send<T: Send>() {}
        send::<Session>();
    }

    #[test]
    fn wall_clock() {
        let t0 = Instant::now();
        let c = WallClock {
            unix_at: 1000,
            instant_at: t0,
        };
        assert_eq!(c.unix(t0), 1000);
        assert_eq!(c.unix(t0 + std::time::Duration::from_millis(2500)), 1002);
    }
}
