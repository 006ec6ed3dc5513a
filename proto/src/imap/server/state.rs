//! The command in flight and the state changes the connection infers from
//! the caller's responses (RFC 9051 3, 6.2.1, 6.3.2, 6.4.1; RFC 4978; RFC
//! 5161; RFC 6855).

use crate::conn::Action;
use crate::imap::cmd::{AppendHead, AppendKind, CommandBody, StateReq};
use crate::imap::core::Tag;
use crate::imap::resp::{Code, Data, Response, StatusKind};

use super::compress::{Deflater, Inflater};
use super::{ServerConn, ServerState};

/// What the command in flight waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wait {
    /// The caller's response (nothing is read meanwhile).
    Caller,
    /// The client's response line to an AUTHENTICATE challenge.
    AuthLine,
    /// The client's DONE ending IDLE.
    IdleLine,
    /// The caller's accept or refusal of an announced APPEND message.
    AppendAccept,
    /// APPEND message data from the client.
    AppendData,
}

/// Which kind of command is in flight, for inferring state changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pending {
    /// Nothing to infer.
    Other,
    /// LOGIN or AUTHENTICATE: OK moves to authenticated state.
    Login,
    /// AUTHENTICATE: continuations are challenges.
    Authenticate,
    /// SELECT (false) or EXAMINE (true).
    Select { examine: bool },
    /// CLOSE or UNSELECT: OK moves to authenticated state.
    Deselect,
    /// LOGOUT: OK closes the connection.
    Logout,
    /// STARTTLS: OK starts TLS.
    StartTls,
    /// COMPRESS: OK starts DEFLATE.
    Compress,
    /// IDLE: a continuation starts idling.
    Idle,
}

impl Pending {
    /// The kind of a parsed command.
    pub(super) fn of(body: &CommandBody) -> Pending {
        match body {
            CommandBody::Login { .. } => Pending::Login,
            CommandBody::Authenticate { .. } => Pending::Authenticate,
            CommandBody::Select { .. } => Pending::Select { examine: false },
            CommandBody::Examine { .. } => Pending::Select { examine: true },
            CommandBody::Close | CommandBody::Unselect => Pending::Deselect,
            CommandBody::Logout => Pending::Logout,
            CommandBody::StartTls => Pending::StartTls,
            CommandBody::Compress(_) => Pending::Compress,
            CommandBody::Idle => Pending::Idle,
            _ => Pending::Other,
        }
    }
}

/// The command the caller is working on.
#[derive(Debug, Clone)]
pub(super) struct InFlight {
    /// Its tag.
    pub(super) tag: Tag,
    /// Its kind.
    pub(super) kind: Pending,
    /// What it waits for.
    pub(super) wait: Wait,
}

/// Checks that a command needing `req` may run in `state` (RFC 9051 3);
/// the error is the text of the BAD reply.
pub(super) fn allowed(state: ServerState, req: StateReq, name: &str) -> Result<(), String> {
    use ServerState as S;
    match (req, state) {
        (_, S::Logout) => Err(format!("{name} after LOGOUT")),
        (StateReq::Any, _)
        | (StateReq::NotAuthenticated, S::NotAuthenticated)
        | (StateReq::Authenticated, S::Authenticated | S::Selected { .. })
        | (StateReq::Selected, S::Selected { .. }) => Ok(()),
        (StateReq::NotAuthenticated, _) => {
            Err(format!("{name} is only allowed before authentication"))
        }
        (StateReq::Authenticated | StateReq::Selected, S::NotAuthenticated) => Err(format!(
            "{name} needs authentication: LOGIN or AUTHENTICATE first"
        )),
        (StateReq::Selected, S::Authenticated) => {
            Err(format!("{name} needs a selected mailbox: SELECT first"))
        }
    }
}

/// The state an APPEND/REPLACE head needs, and its name.
pub(super) fn append_req(head: &AppendHead) -> (StateReq, &'static str) {
    match head.kind {
        AppendKind::Append => (StateReq::Authenticated, "APPEND"),
        AppendKind::Replace { uid: false, .. } => (StateReq::Selected, "REPLACE"),
        AppendKind::Replace { uid: true, .. } => (StateReq::Selected, "UID REPLACE"),
    }
}

impl ServerConn {
    /// Infers state changes from a response just written.
    pub(super) fn observe(&mut self, resp: &Response) {
        match resp {
            Response::Status(s) => match (s.kind, &s.tag) {
                (StatusKind::Ok | StatusKind::No | StatusKind::Bad, Some(_)) => {
                    let read_only = s.code == Some(Code::ReadOnly);
                    self.complete(s.kind == StatusKind::Ok, read_only);
                }
                (StatusKind::PreAuth, _) => self.state = ServerState::Authenticated,
                (StatusKind::Bye, _) => {
                    let logout = self.inflight.as_ref().map(|f| f.kind) == Some(Pending::Logout);
                    if !logout {
                        self.close();
                    }
                }
                _ => {}
            },
            // RFC 9051 6.3.1, RFC 6855 3: UTF-8 from the ENABLED response on.
            Response::Data(Data::Enabled(caps)) => {
                if caps.iter().any(|c| {
                    c.eq_ignore_ascii_case("IMAP4rev2") || c.eq_ignore_ascii_case("UTF8=ACCEPT")
                }) {
                    self.ctx.utf8 = true;
                }
            }
            Response::Continue(_) => {
                let Some(f) = self.inflight.as_mut() else {
                    return;
                };
                if f.wait != Wait::Caller {
                    return;
                }
                match f.kind {
                    Pending::Authenticate => f.wait = Wait::AuthLine,
                    Pending::Idle => f.wait = Wait::IdleLine,
                    _ => return,
                }
                self.timer.rearm = true;
            }
            Response::Data(_) => {}
        }
    }

    /// The command in flight was completed with a tagged status.
    fn complete(&mut self, ok: bool, read_only: bool) {
        let Some(f) = self.inflight.take() else {
            return;
        };
        // Events of this command not polled yet are moot; the rest of an
        // APPEND's data is discarded unparsed.
        self.events.clear();
        self.queued_data = 0;
        self.framer.abort();
        self.timer.rearm = true;
        match (f.kind, ok) {
            (Pending::Login | Pending::Authenticate, true) => {
                self.state = ServerState::Authenticated;
            }
            (Pending::Select { examine }, true) => {
                self.state = ServerState::Selected {
                    read_only: examine || read_only,
                };
            }
            // RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected.
            (Pending::Select { .. }, false) => {
                if let ServerState::Selected { .. } = self.state {
                    self.state = ServerState::Authenticated;
                }
            }
            (Pending::Deselect, true) => self.state = ServerState::Authenticated,
            (Pending::Logout, true) => {
                self.state = ServerState::Logout;
                self.close();
            }
            // RFC 9051 6.2.1: input received before the TLS switch is
            // discarded (STARTTLS command injection).
            (Pending::StartTls, true) => {
                self.framer.discard_input();
                self.actions.push_back(Action::StartTls);
            }
            // RFC 4978 3: both directions are compressed from right after
            // the tagged OK; anything the client sent before it saw the OK
            // breaks that rule and is discarded, as for STARTTLS.
            (Pending::Compress, true) => {
                self.framer.discard_input();
                self.deflate = Some(Deflater::new());
                self.inflate = Some(Inflater::new());
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_rules() {
        let na = ServerState::NotAuthenticated;
        let au = ServerState::Authenticated;
        let se = ServerState::Selected { read_only: false };
        assert!(allowed(na, StateReq::Any, "NOOP").is_ok());
        assert!(allowed(na, StateReq::NotAuthenticated, "LOGIN").is_ok());
        assert_eq!(
            allowed(au, StateReq::NotAuthenticated, "LOGIN"),
            Err("LOGIN is only allowed before authentication".to_string())
        );
        assert_eq!(
            allowed(na, StateReq::Selected, "FETCH"),
            Err("FETCH needs authentication: LOGIN or AUTHENTICATE first".to_string())
        );
        assert_eq!(
            allowed(au, StateReq::Selected, "FETCH"),
            Err("FETCH needs a selected mailbox: SELECT first".to_string())
        );
        assert!(allowed(se, StateReq::Authenticated, "LIST").is_ok());
        assert!(allowed(se, StateReq::Selected, "FETCH").is_ok());
        assert!(allowed(ServerState::Logout, StateReq::Any, "NOOP").is_err());
    }
}
