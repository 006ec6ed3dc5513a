//! The changes feed: every committed change of an account is pushed to the
//! account's open readers (IMAP IDLE/NOTIFY, webmail). Pull-based: a reader
//! collects what was queued with [`ChangeReader::poll`]; an optional notify
//! callback tells a runtime when there is something to poll.

use std::sync::{Arc, Mutex, Weak};

use crate::account::AccountShared;
use crate::records::{Flags, MailboxCounts, SpecialUse};
use crate::store::lock;

/// One committed change. The writer's own readers see it too.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A message was added (deliver, append, copy, move, import).
    MessageAdded {
        /// Mailbox id.
        mailbox: u32,
        /// New UID.
        uid: u32,
        /// Modseq of the change.
        modseq: u64,
        /// Flags of the message.
        flags: Flags,
        /// Keywords of the message.
        keywords: Vec<String>,
    },
    /// Flags or keywords of a message changed.
    FlagsChanged {
        /// Mailbox id.
        mailbox: u32,
        /// UID.
        uid: u32,
        /// Modseq of the change.
        modseq: u64,
        /// New flags.
        flags: Flags,
        /// New keywords.
        keywords: Vec<String>,
    },
    /// Messages were expunged (or moved away).
    Expunged {
        /// Mailbox id.
        mailbox: u32,
        /// UIDs, ascending.
        uids: Vec<u32>,
        /// Modseq of the change.
        modseq: u64,
    },
    /// A mailbox was created.
    MailboxCreated {
        /// Mailbox id.
        mailbox: u32,
        /// Name.
        name: String,
    },
    /// A mailbox was renamed.
    MailboxRenamed {
        /// Mailbox id.
        mailbox: u32,
        /// Old name.
        old: String,
        /// New name.
        new: String,
    },
    /// A mailbox was deleted.
    MailboxDeleted {
        /// Mailbox id.
        mailbox: u32,
        /// Its last name.
        name: String,
    },
    /// Subscription or special-use of a mailbox changed.
    MailboxAttributes {
        /// Mailbox id.
        mailbox: u32,
        /// Subscribed now.
        subscribed: bool,
        /// Special use now.
        special_use: SpecialUse,
    },
    /// A name was subscribed or unsubscribed (RFC 9051 6.3.7); the mailbox
    /// may not exist.
    Subscription {
        /// The name.
        name: String,
        /// Subscribed now.
        subscribed: bool,
    },
    /// The set of keywords used in a mailbox grew.
    MailboxKeywords {
        /// Mailbox id.
        mailbox: u32,
        /// All keywords now.
        keywords: Vec<String>,
    },
    /// Counts of a mailbox after a commit.
    MailboxCounts {
        /// Mailbox id.
        mailbox: u32,
        /// New counts.
        counts: MailboxCounts,
    },
}

/// Wake-up callback; called after a commit queued changes for a reader.
pub type Notify = Arc<dyn Fn() + Send + Sync>;

pub(crate) struct ReaderShared {
    state: Mutex<ReaderState>,
}

struct ReaderState {
    queue: Vec<Change>,
    /// Modseq of the newest commit queued for this reader.
    pushed: u64,
    /// Modseq of the newest commit the reader has pulled.
    pulled: u64,
    notify: Option<Notify>,
}

/// The readers of one account and expunged files waiting for them.
#[derive(Default)]
pub(crate) struct Hub {
    readers: Vec<Weak<ReaderShared>>,
    /// (modseq of the expunge, msg id) of files not yet erased.
    pub pending_erase: Vec<(u64, u64)>,
}

impl Hub {
    /// Queue `changes` (committed at `modseq`) for every reader; returns the
    /// callbacks to call once the caller has released its locks.
    pub fn publish(&mut self, modseq: u64, changes: &[Change]) -> Vec<Notify> {
        let mut wake = Vec::new();
        self.readers.retain(|w| w.strong_count() > 0);
        if changes.is_empty() {
            return wake;
        }
        for r in self.readers.iter().filter_map(Weak::upgrade) {
            let mut st = lock(&r.state);
            st.queue.extend_from_slice(changes);
            st.pushed = modseq;
            if let Some(n) = &st.notify {
                wake.push(n.clone());
            }
        }
        wake
    }

    /// Lowest modseq every open reader has pulled; `None` without readers.
    pub fn min_pulled(&mut self) -> Option<u64> {
        self.readers.retain(|w| w.strong_count() > 0);
        self.readers
            .iter()
            .filter_map(Weak::upgrade)
            .map(|r| lock(&r.state).pulled)
            .min()
    }

    /// Take the pending erasures every reader has pulled past.
    pub fn take_erasable(&mut self) -> Vec<u64> {
        let min = self.min_pulled();
        let mut out = Vec::new();
        self.pending_erase.retain(|&(m, id)| {
            let ok = min.is_none_or(|min| m <= min);
            if ok {
                out.push(id);
            }
            !ok
        });
        out
    }
}

/// A subscription to an account's changes. Dropping it unsubscribes.
///
/// Files of expunged messages are kept until every reader has polled past
/// the expunge, so a session can still FETCH what it has not yet been told
/// is gone.
pub struct ChangeReader {
    shared: Arc<ReaderShared>,
    account: Arc<AccountShared>,
    store: Arc<crate::store::Inner>,
}

impl std::fmt::Debug for ChangeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeReader")
            .field("account", &self.account.name)
            .finish()
    }
}

impl ChangeReader {
    pub(crate) fn register(
        store: Arc<crate::store::Inner>,
        account: Arc<AccountShared>,
    ) -> ChangeReader {
        // Taking the writer lock orders registration with commits: this
        // reader sees exactly the commits after this point.
        let state = lock(&account.write);
        let shared = Arc::new(ReaderShared {
            state: Mutex::new(ReaderState {
                queue: Vec::new(),
                pushed: state.modseq,
                pulled: state.modseq,
                notify: None,
            }),
        });
        lock(&account.hub).readers.push(Arc::downgrade(&shared));
        drop(state);
        ChangeReader {
            shared,
            account,
            store,
        }
    }

    /// Take all changes committed since the last poll, in commit order.
    /// Also erases files of expunged messages no reader can still ask for.
    pub fn poll(&mut self) -> Vec<Change> {
        let out = {
            let mut st = lock(&self.shared.state);
            st.pulled = st.pushed;
            std::mem::take(&mut st.queue)
        };
        crate::expunge::erase_ready(&self.store, &self.account);
        out
    }

    /// Whether changes are waiting.
    pub fn has_changes(&self) -> bool {
        !lock(&self.shared.state).queue.is_empty()
    }

    /// Set the callback called (on the committing thread, without locks
    /// held) after each commit that queued changes for this reader.
    pub fn set_notify(&mut self, notify: Notify) {
        lock(&self.shared.state).notify = Some(notify);
    }
}

impl Drop for ChangeReader {
    fn drop(&mut self) {
        {
            let mut hub = lock(&self.account.hub);
            let me = Arc::as_ptr(&self.shared);
            hub.readers
                .retain(|w| w.as_ptr() != me && w.strong_count() > 0);
        }
        crate::expunge::erase_ready(&self.store, &self.account);
    }
}
