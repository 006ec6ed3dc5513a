//! Client commands (RFC 9051 6, RFC 3501 6 and the extensions moxide
//! advertises): one file per command family with its types, parser and
//! encoder, and [`parse_command`], which reads one whole command.
//!
//! Parsers are nom 8 streaming parsers over a buffer that holds the whole
//! command (its lines and literal data inline): `Err::Incomplete` means the
//! buffer is a valid prefix, which is what the framer checks before it sends a
//! `+` continuation for a synchronising literal.

pub mod append;
pub mod auth;
pub mod charset;
pub mod fetch;
pub mod list;
pub mod mailbox;
pub mod misc;
pub mod search;
pub mod search_key;
pub mod store;
mod syntax;

#[cfg(test)]
pub(crate) mod strategy;
#[cfg(test)]
mod tests_bad;
#[cfg(test)]
mod tests_kat;
#[cfg(test)]
mod tests_rfc_lines;

use crate::imap::core::error::ParseFailure;
use crate::imap::core::string::tag;
use crate::imap::core::{Atom, Ctx, Mailbox, SeqNum, SequenceSet, StatusAttr, Tag, crlf, sp};
use crate::secret::Secret;

pub use append::{AppendData, AppendHead, AppendKind, AppendMessage, MessageHead};
pub use charset::{CharsetError, check_charset, decode_search_strings};
pub use fetch::{FetchAttr, FetchAttrs, FetchCommand, FetchMacro};
pub use list::{ListCommand, ListReturn, ListSelect};
pub use mailbox::{QResync, SelectParams};
pub use search::{SearchCommand, SearchReturnOpt};
pub use search::{SortCommand, SortCriterion, SortKey, ThreadAlgorithm, ThreadCommand};
pub use search_key::{ModSeqEntry, ModSeqEntryType, SearchKey};
pub use store::{StoreCommand, StoreMode};

use syntax::{cut, word};

/// A tagged client command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The tag the server echoes in the completion response.
    pub tag: Tag,
    /// What the client asks for.
    pub body: CommandBody,
}

/// Every client command moxide understands. `uid` fields mark the `UID`
/// prefix (RFC 9051 6.4.9): set numbers are then UIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody {
    /// `CAPABILITY` (RFC 9051 6.1.1)
    Capability,
    /// `NOOP` (RFC 9051 6.1.2)
    Noop,
    /// `LOGOUT` (RFC 9051 6.1.3)
    Logout,
    /// `STARTTLS` (RFC 9051 6.2.1)
    StartTls,
    /// `AUTHENTICATE mech [initial-response]` (RFC 9051 6.2.2, RFC 4959).
    /// The initial response is base64-decoded; `=` is an empty response.
    Authenticate {
        /// SASL mechanism name as given (compare case-insensitively).
        mechanism: Atom,
        /// Decoded initial response, if any.
        initial_response: Option<Secret<Vec<u8>>>,
    },
    /// `LOGIN user password` (RFC 9051 6.2.3)
    Login {
        /// User name.
        username: String,
        /// Password.
        password: Secret<String>,
    },
    /// `ENABLE cap…` (RFC 5161)
    Enable(Vec<Atom>),
    /// `SELECT mailbox [(CONDSTORE) / (QRESYNC …)]` (RFC 9051 6.3.2, RFC 7162)
    Select {
        /// Mailbox to select.
        mailbox: Mailbox,
        /// Select parameters.
        params: SelectParams,
    },
    /// `EXAMINE` (RFC 9051 6.3.3): SELECT read-only.
    Examine {
        /// Mailbox to examine.
        mailbox: Mailbox,
        /// Select parameters.
        params: SelectParams,
    },
    /// `CREATE mailbox [(USE (\attr …))]` (RFC 9051 6.3.4, RFC 6154 3).
    Create {
        /// Name to create.
        mailbox: Mailbox,
        /// Special-use attributes, without the backslash (`Drafts`).
        special_use: Vec<Atom>,
    },
    /// `DELETE mailbox` (RFC 9051 6.3.5)
    Delete(Mailbox),
    /// `RENAME from to` (RFC 9051 6.3.6)
    Rename {
        /// Existing name.
        from: Mailbox,
        /// New name.
        to: Mailbox,
    },
    /// `SUBSCRIBE mailbox` (RFC 9051 6.3.7)
    Subscribe(Mailbox),
    /// `UNSUBSCRIBE mailbox` (RFC 9051 6.3.8)
    Unsubscribe(Mailbox),
    /// `LIST …` with RFC 5258/5819/6154 options (RFC 9051 6.3.9)
    List(ListCommand),
    /// `LSUB reference pattern` (RFC 3501 6.3.9)
    Lsub {
        /// Reference name.
        reference: Mailbox,
        /// Pattern with `%`/`*` wildcards.
        pattern: String,
    },
    /// `NAMESPACE` (RFC 9051 6.3.10)
    Namespace,
    /// `STATUS mailbox (attr…)` (RFC 9051 6.3.11)
    Status {
        /// Mailbox to report on.
        mailbox: Mailbox,
        /// Requested attributes.
        attrs: Vec<StatusAttr>,
    },
    /// `APPEND mailbox message…` (RFC 9051 6.3.12, RFC 3502 MULTIAPPEND).
    Append {
        /// Destination.
        mailbox: Mailbox,
        /// One or more messages.
        messages: Vec<AppendMessage>,
    },
    /// `[UID] REPLACE n mailbox message` (RFC 8508)
    Replace {
        /// `UID REPLACE`: `target` is a UID.
        uid: bool,
        /// The message to replace.
        target: SeqNum,
        /// Where the new message goes.
        mailbox: Mailbox,
        /// The new message.
        message: AppendMessage,
    },
    /// `IDLE` (RFC 9051 6.3.13, RFC 2177); ended by `DONE`, which the framer
    /// handles.
    Idle,
    /// `CHECK` (RFC 3501 6.4.1)
    Check,
    /// `CLOSE` (RFC 9051 6.4.1)
    Close,
    /// `UNSELECT` (RFC 9051 6.4.2)
    Unselect,
    /// `EXPUNGE` (RFC 9051 6.4.3)
    Expunge,
    /// `UID EXPUNGE set` (RFC 9051 6.4.9, RFC 4315)
    UidExpunge(SequenceSet),
    /// `[UID] SEARCH …` (RFC 9051 6.4.4)
    Search(SearchCommand),
    /// `[UID] FETCH …` (RFC 9051 6.4.5)
    Fetch(FetchCommand),
    /// `[UID] STORE …` (RFC 9051 6.4.6)
    Store(StoreCommand),
    /// `[UID] COPY set mailbox` (RFC 9051 6.4.7)
    Copy {
        /// UID COPY.
        uid: bool,
        /// Messages to copy.
        set: SequenceSet,
        /// Destination.
        mailbox: Mailbox,
    },
    /// `[UID] MOVE set mailbox` (RFC 9051 6.4.8, RFC 6851)
    Move {
        /// UID MOVE.
        uid: bool,
        /// Messages to move.
        set: SequenceSet,
        /// Destination.
        mailbox: Mailbox,
    },
    /// `[UID] SORT …` (RFC 5256)
    Sort(SortCommand),
    /// `[UID] THREAD …` (RFC 5256)
    Thread(ThreadCommand),
    /// `ID NIL` / `ID (key value …)` (RFC 2971)
    Id(Option<Vec<(String, Option<String>)>>),
    /// `COMPRESS mechanism` (RFC 4978)
    Compress(Atom),
    /// `GETQUOTA root` (RFC 9208 4.2)
    GetQuota(String),
    /// `GETQUOTAROOT mailbox` (RFC 9208 4.3)
    GetQuotaRoot(Mailbox),
    /// `SETQUOTA root (resource limit …)` (RFC 9208 4.1.4)
    SetQuota {
        /// Quota root.
        root: String,
        /// Resource names (`STORAGE`, `MESSAGE`, …) and limits.
        limits: Vec<(Atom, u64)>,
    },
}

/// In which connection state a command is allowed (RFC 9051 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateReq {
    /// Any state.
    Any,
    /// Only before authentication.
    NotAuthenticated,
    /// Authenticated or selected state.
    Authenticated,
    /// Only with a mailbox selected.
    Selected,
}

impl CommandBody {
    /// The command name as the client wrote it, upper case (`"UID FETCH"`).
    pub fn name(&self) -> &'static str {
        use CommandBody as C;
        let uid_name = |uid: bool, with: &'static str, without: &'static str| {
            if uid { with } else { without }
        };
        match self {
            C::Capability => "CAPABILITY",
            C::Noop => "NOOP",
            C::Logout => "LOGOUT",
            C::StartTls => "STARTTLS",
            C::Authenticate { .. } => "AUTHENTICATE",
            C::Login { .. } => "LOGIN",
            C::Enable(_) => "ENABLE",
            C::Select { .. } => "SELECT",
            C::Examine { .. } => "EXAMINE",
            C::Create { .. } => "CREATE",
            C::Delete(_) => "DELETE",
            C::Rename { .. } => "RENAME",
            C::Subscribe(_) => "SUBSCRIBE",
            C::Unsubscribe(_) => "UNSUBSCRIBE",
            C::List(_) => "LIST",
            C::Lsub { .. } => "LSUB",
            C::Namespace => "NAMESPACE",
            C::Status { .. } => "STATUS",
            C::Append { .. } => "APPEND",
            C::Replace { uid, .. } => uid_name(*uid, "UID REPLACE", "REPLACE"),
            C::Idle => "IDLE",
            C::Check => "CHECK",
            C::Close => "CLOSE",
            C::Unselect => "UNSELECT",
            C::Expunge => "EXPUNGE",
            C::UidExpunge(_) => "UID EXPUNGE",
            C::Search(s) => uid_name(s.uid, "UID SEARCH", "SEARCH"),
            C::Fetch(f) => uid_name(f.uid, "UID FETCH", "FETCH"),
            C::Store(s) => uid_name(s.uid, "UID STORE", "STORE"),
            C::Copy { uid, .. } => uid_name(*uid, "UID COPY", "COPY"),
            C::Move { uid, .. } => uid_name(*uid, "UID MOVE", "MOVE"),
            C::Sort(s) => uid_name(s.uid, "UID SORT", "SORT"),
            C::Thread(t) => uid_name(t.uid, "UID THREAD", "THREAD"),
            C::Id(_) => "ID",
            C::Compress(_) => "COMPRESS",
            C::GetQuota(_) => "GETQUOTA",
            C::GetQuotaRoot(_) => "GETQUOTAROOT",
            C::SetQuota { .. } => "SETQUOTA",
        }
    }

    /// The state the command needs (RFC 9051 6.1–6.4 and the extensions).
    pub fn state(&self) -> StateReq {
        use CommandBody as C;
        match self {
            C::Capability | C::Noop | C::Logout | C::Id(_) => StateReq::Any,
            C::StartTls | C::Authenticate { .. } | C::Login { .. } => StateReq::NotAuthenticated,
            C::Enable(_)
            | C::Select { .. }
            | C::Examine { .. }
            | C::Create { .. }
            | C::Delete(_)
            | C::Rename { .. }
            | C::Subscribe(_)
            | C::Unsubscribe(_)
            | C::List(_)
            | C::Lsub { .. }
            | C::Namespace
            | C::Status { .. }
            | C::Append { .. }
            | C::Idle
            | C::Compress(_)
            | C::GetQuota(_)
            | C::GetQuotaRoot(_)
            | C::SetQuota { .. } => StateReq::Authenticated,
            C::Replace { .. }
            | C::Check
            | C::Close
            | C::Unselect
            | C::Expunge
            | C::UidExpunge(_)
            | C::Search(_)
            | C::Fetch(_)
            | C::Store(_)
            | C::Copy { .. }
            | C::Move { .. }
            | C::Sort(_)
            | C::Thread(_) => StateReq::Selected,
        }
    }
}

/// Why [`parse_command`] could not produce a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// The buffer is a valid prefix of a command: more bytes are needed.
    Incomplete,
    /// The command is malformed. `tag` is set when a tag could be read, so
    /// the `BAD` reply can be tagged.
    Invalid {
        /// The command's tag, if one was read.
        tag: Option<Tag>,
        /// Where parsing stopped and what was expected there.
        failure: ParseFailure,
    },
}

/// Parses one command from `input`, which starts at the tag and holds the
/// whole command including its final CRLF and all literal data inline.
/// Returns the number of bytes consumed and the command.
pub fn parse_command(input: &[u8], ctx: Ctx) -> Result<(usize, Command), CommandError> {
    let invalid = |tag: Option<Tag>, e: nom::Err<crate::imap::core::ParseError<'_>>| match e {
        nom::Err::Incomplete(_) => CommandError::Incomplete,
        nom::Err::Error(e) | nom::Err::Failure(e) => CommandError::Invalid {
            tag,
            failure: e.into_failure(input),
        },
    };
    let (rest, t) = tag(input).map_err(|e| invalid(None, e))?;
    let result = sp(rest)
        .and_then(|(rest, ())| command_body(ctx)(rest))
        .and_then(|(rest, body)| crlf(rest).map(|(rest, ())| (rest, body)));
    match result {
        Ok((rest, body)) => Ok((input.len() - rest.len(), Command { tag: t, body })),
        Err(e) => Err(invalid(Some(t), e)),
    }
}

/// The part of a command after `tag SP`, without the final CRLF.
pub fn command_body(ctx: Ctx) -> impl Fn(&[u8]) -> crate::imap::core::IResult<'_, CommandBody> {
    move |i: &[u8]| {
        let (rest, name) = word(i).map_err(|e| match e {
            nom::Err::Incomplete(n) => nom::Err::Incomplete(n),
            _ => crate::imap::core::ParseError::fail(i, "expected a command name"),
        })?;
        let mut buf = [0; syntax::MAX_KEYWORD];
        let r = match syntax::upper(name, &mut buf) {
            b"UID" => {
                let (rest, ()) = cut(sp(rest))?;
                let (after, sub) = cut(word(rest))?;
                let mut buf = [0; syntax::MAX_KEYWORD];
                let r = match syntax::upper(sub, &mut buf) {
                    b"FETCH" => fetch::fetch_args(ctx, true)(after),
                    b"SEARCH" => search::search_args(ctx, true)(after),
                    b"STORE" => store::store_args(true)(after),
                    b"COPY" => store::copy_args(ctx, true)(after),
                    b"MOVE" => store::move_args(ctx, true)(after),
                    b"EXPUNGE" => misc::uid_expunge_args(after),
                    b"SORT" => search::sort_args(ctx, true)(after),
                    b"THREAD" => search::thread_args(ctx, true)(after),
                    b"REPLACE" => append::replace_args(ctx, true)(after),
                    _ => Err(crate::imap::core::ParseError::fail(
                        rest,
                        "expected COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE, SORT, THREAD or REPLACE after UID",
                    )),
                };
                return cut(r);
            }
            b"CAPABILITY" => Ok((rest, CommandBody::Capability)),
            b"NOOP" => Ok((rest, CommandBody::Noop)),
            b"LOGOUT" => Ok((rest, CommandBody::Logout)),
            b"STARTTLS" => Ok((rest, CommandBody::StartTls)),
            b"NAMESPACE" => Ok((rest, CommandBody::Namespace)),
            b"IDLE" => Ok((rest, CommandBody::Idle)),
            b"CHECK" => Ok((rest, CommandBody::Check)),
            b"CLOSE" => Ok((rest, CommandBody::Close)),
            b"UNSELECT" => Ok((rest, CommandBody::Unselect)),
            b"EXPUNGE" => Ok((rest, CommandBody::Expunge)),
            b"AUTHENTICATE" => auth::authenticate_args(rest),
            b"LOGIN" => auth::login_args(ctx)(rest),
            b"ENABLE" => misc::enable_args(rest),
            b"ID" => misc::id_args(ctx)(rest),
            b"COMPRESS" => misc::compress_args(rest),
            b"SELECT" => mailbox::select_args(ctx, false)(rest),
            b"EXAMINE" => mailbox::select_args(ctx, true)(rest),
            b"CREATE" => mailbox::create_args(ctx)(rest),
            b"DELETE" => mailbox::delete_args(ctx)(rest),
            b"RENAME" => mailbox::rename_args(ctx)(rest),
            b"SUBSCRIBE" => mailbox::subscribe_args(ctx)(rest),
            b"UNSUBSCRIBE" => mailbox::unsubscribe_args(ctx)(rest),
            b"LIST" => list::list_args(ctx)(rest),
            b"LSUB" => list::lsub_args(ctx)(rest),
            b"STATUS" => list::status_args(ctx)(rest),
            b"APPEND" => append::append_args(ctx)(rest),
            b"REPLACE" => append::replace_args(ctx, false)(rest),
            b"SEARCH" => search::search_args(ctx, false)(rest),
            b"FETCH" => fetch::fetch_args(ctx, false)(rest),
            b"STORE" => store::store_args(false)(rest),
            b"COPY" => store::copy_args(ctx, false)(rest),
            b"MOVE" => store::move_args(ctx, false)(rest),
            b"SORT" => search::sort_args(ctx, false)(rest),
            b"THREAD" => search::thread_args(ctx, false)(rest),
            b"GETQUOTA" => misc::getquota_args(ctx)(rest),
            b"GETQUOTAROOT" => misc::getquotaroot_args(ctx)(rest),
            b"SETQUOTA" => misc::setquota_args(ctx)(rest),
            _ => return Err(crate::imap::core::ParseError::fail(i, "unknown command")),
        };
        cut(r)
    }
}

impl Command {
    /// Writes the command as a client sends it, literals inline (`{n+}` when
    /// `ctx.literal_plus`), ending with CRLF. The inverse of
    /// [`parse_command`].
    pub fn encode(&self, out: &mut Vec<u8>, ctx: Ctx) {
        out.extend_from_slice(self.tag.as_str().as_bytes());
        out.push(b' ');
        self.body.encode(out, ctx);
        out.extend_from_slice(b"\r\n");
    }
}

impl CommandBody {
    /// Writes the command without tag and final CRLF.
    pub fn encode(&self, out: &mut Vec<u8>, ctx: Ctx) {
        use CommandBody as C;
        match self {
            C::Capability
            | C::Noop
            | C::Logout
            | C::StartTls
            | C::Namespace
            | C::Idle
            | C::Check
            | C::Close
            | C::Unselect
            | C::Expunge => out.extend_from_slice(self.name().as_bytes()),
            C::Authenticate {
                mechanism,
                initial_response,
            } => auth::write_authenticate(out, mechanism, initial_response.as_ref()),
            C::Login { username, password } => auth::write_login(out, username, password, ctx),
            C::Enable(caps) => misc::write_enable(out, caps),
            C::Id(params) => misc::write_id(out, params.as_deref(), ctx),
            C::Compress(mech) => misc::write_compress(out, mech),
            C::UidExpunge(set) => misc::write_uid_expunge(out, set),
            C::Select { mailbox, params } | C::Examine { mailbox, params } => {
                mailbox::write_select(out, self.name(), mailbox, params, ctx)
            }
            C::Create {
                mailbox,
                special_use,
            } => mailbox::write_create(out, mailbox, special_use, ctx),
            C::Delete(m) | C::Subscribe(m) | C::Unsubscribe(m) => {
                mailbox::write_simple(out, self.name(), m, ctx)
            }
            C::Rename { from, to } => mailbox::write_rename(out, from, to, ctx),
            C::List(l) => list::write_list(out, l, ctx),
            C::Lsub { reference, pattern } => list::write_lsub(out, reference, pattern, ctx),
            C::Status { mailbox, attrs } => list::write_status(out, mailbox, attrs, ctx),
            C::Append { mailbox, messages } => append::write_append(out, mailbox, messages, ctx),
            C::Replace {
                uid,
                target,
                mailbox,
                message,
            } => append::write_replace(out, *uid, *target, mailbox, message, ctx),
            C::Search(s) => s.write(out, ctx),
            C::Fetch(f) => f.write(out, ctx),
            C::Store(s) => s.write(out),
            C::Copy { uid, set, mailbox } | C::Move { uid, set, mailbox } => {
                let _ = uid;
                store::write_copy_move(out, self.name(), set, mailbox, ctx)
            }
            C::Sort(s) => s.write(out, ctx),
            C::Thread(t) => t.write(out, ctx),
            C::GetQuota(root) => misc::write_getquota(out, root, ctx),
            C::GetQuotaRoot(m) => misc::write_getquotaroot(out, m, ctx),
            C::SetQuota { root, limits } => misc::write_setquota(out, root, limits, ctx),
        }
    }
}
