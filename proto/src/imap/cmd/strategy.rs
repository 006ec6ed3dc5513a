//! proptest strategies for every command value: used by the round-trip
//! property here and by the connection tests (split-input property).
//! Values are in normal form (what the parser produces), so encode → parse
//! is the identity on them for both `Ctx::REV1` and `Ctx::UTF8`.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::Union;

use super::*;
use crate::imap::core::string::LiteralHead;
use crate::imap::core::{Date, DateTime, Flag, Section, SectionText, SeqRange};

/// A valid tag.
pub(crate) fn arb_tag() -> impl Strategy<Value = Tag> {
    "[A-Za-z0-9.]{1,8}".prop_map(|s| Tag::try_from(s.as_str()).unwrap_or_else(|_| unreachable!()))
}

/// A valid atom.
pub(crate) fn arb_atom() -> impl Strategy<Value = Atom> {
    "[A-Za-z0-9$_.-]{1,10}"
        .prop_map(|s| Atom::try_from(s.as_str()).unwrap_or_else(|_| unreachable!()))
}

/// Text without NUL (control characters, 8-bit and quotes included).
fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,12}",
        "[^\u{0}]{0,12}",
        Just(String::new()),
        Just("NIL".to_string()),
        Just("a\"b\\c".to_string()),
    ]
}

/// Bytes without NUL (a literal cannot carry NUL).
fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,12}".prop_map(String::into_bytes),
        vec(1u8..=255, 0..16),
        Just(b"NIL".to_vec()),
        Just("café".as_bytes().to_vec()),
    ]
}

fn arb_mailbox() -> impl Strategy<Value = Mailbox> {
    prop_oneof![
        Just(Mailbox::new("INBOX")),
        Just(Mailbox::new("inbox")),
        "[a-zA-Z0-9/._ &-]{0,12}".prop_map(Mailbox::new),
        "[^\u{0}-\u{1f}]{0,8}".prop_map(Mailbox::new),
    ]
}

fn arb_pattern() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z0-9/%*._&-]{0,12}", "[^\u{0}-\u{1f}]{0,8}"]
}

fn arb_flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Seen),
        Just(Flag::Draft),
        arb_atom().prop_map(Flag::Keyword),
        "X[A-Za-z]{0,6}".prop_map(|s| Flag::Extension(
            Atom::try_from(s.as_str()).unwrap_or_else(|_| unreachable!())
        )),
    ]
}

fn arb_seq_num() -> impl Strategy<Value = SeqNum> {
    prop_oneof![4 => (1u32..).prop_map(SeqNum::Value), 1 => Just(SeqNum::Last)]
}

fn arb_seq_set() -> impl Strategy<Value = SequenceSet> {
    prop_oneof![
        6 => vec((arb_seq_num(), arb_seq_num()), 1..4).prop_map(|v| SequenceSet::Ranges(
            v.into_iter().map(|(start, end)| SeqRange { start, end }).collect()
        )),
        1 => Just(SequenceSet::LastResult),
    ]
}

fn arb_date() -> impl Strategy<Value = Date> {
    (1900u16..2100, 1u8..=12, 1u8..=28)
        .prop_map(|(y, m, d)| Date::new(y, m, d).unwrap_or_else(|| unreachable!()))
}

fn arb_date_time() -> impl Strategy<Value = DateTime> {
    (arb_date(), 0u8..24, 0u8..60, 0u8..=60, -1439i16..=1439).prop_map(
        |(date, hour, minute, second, zone_minutes)| DateTime {
            date,
            hour,
            minute,
            second,
            zone_minutes,
        },
    )
}

fn modseq() -> impl Strategy<Value = u64> {
    1u64..=i64::MAX as u64
}

/// Every search key kind, nested up to a few levels.
pub(crate) fn arb_search_key() -> impl Strategy<Value = SearchKey> {
    use SearchKey as K;
    let leaf = Union::new(vec![
        Just(K::All).boxed(),
        Just(K::Answered).boxed(),
        Just(K::Deleted).boxed(),
        Just(K::Draft).boxed(),
        Just(K::Flagged).boxed(),
        Just(K::New).boxed(),
        Just(K::Old).boxed(),
        Just(K::Recent).boxed(),
        Just(K::Seen).boxed(),
        Just(K::Unanswered).boxed(),
        Just(K::Undeleted).boxed(),
        Just(K::Undraft).boxed(),
        Just(K::Unflagged).boxed(),
        Just(K::Unseen).boxed(),
        Just(K::SaveDateSupported).boxed(),
        arb_bytes().prop_map(K::Bcc).boxed(),
        arb_bytes().prop_map(K::Body).boxed(),
        arb_bytes().prop_map(K::Cc).boxed(),
        arb_bytes().prop_map(K::From).boxed(),
        arb_bytes().prop_map(K::Subject).boxed(),
        arb_bytes().prop_map(K::Text).boxed(),
        arb_bytes().prop_map(K::To).boxed(),
        (arb_bytes(), arb_bytes())
            .prop_map(|(n, v)| K::Header(n, v))
            .boxed(),
        arb_date().prop_map(K::Before).boxed(),
        arb_date().prop_map(K::On).boxed(),
        arb_date().prop_map(K::Since).boxed(),
        arb_date().prop_map(K::SentBefore).boxed(),
        arb_date().prop_map(K::SentOn).boxed(),
        arb_date().prop_map(K::SentSince).boxed(),
        arb_date().prop_map(K::SavedBefore).boxed(),
        arb_date().prop_map(K::SavedOn).boxed(),
        arb_date().prop_map(K::SavedSince).boxed(),
        arb_atom().prop_map(K::Keyword).boxed(),
        arb_atom().prop_map(K::Unkeyword).boxed(),
        (0u64..=i64::MAX as u64).prop_map(K::Larger).boxed(),
        (0u64..=i64::MAX as u64).prop_map(K::Smaller).boxed(),
        (1u32..).prop_map(K::Older).boxed(),
        (1u32..).prop_map(K::Younger).boxed(),
        arb_seq_set().prop_map(K::Uid).boxed(),
        arb_seq_set().prop_map(K::SequenceSet).boxed(),
        (
            proptest::option::of((
                "/flags/\\\\[A-Za-z$]{1,8}",
                prop_oneof![
                    Just(ModSeqEntryType::All),
                    Just(ModSeqEntryType::Priv),
                    Just(ModSeqEntryType::Shared)
                ],
            )),
            0u64..=i64::MAX as u64,
        )
            .prop_map(|(e, modseq)| K::ModSeq {
                entry: e.map(|(name, kind)| ModSeqEntry { name, kind }),
                modseq,
            })
            .boxed(),
    ]);
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| K::Not(Box::new(k))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| K::Or(Box::new(a), Box::new(b))),
            vec(inner, 1..4).prop_map(K::And),
        ]
    })
}

fn arb_keys() -> impl Strategy<Value = Vec<SearchKey>> {
    vec(arb_search_key(), 1..4)
}

fn arb_charset() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("UTF-8".to_string()),
        Just("US-ASCII".to_string()),
        "[A-Za-z0-9_-]{1,12}",
        Just("a b".to_string()),
    ]
}

fn arb_section() -> impl Strategy<Value = Section> {
    (vec(1u32.., 0..3), 0u8..6, vec("[A-Za-z-]{1,10}", 1..3)).prop_map(|(part, kind, fields)| {
        let text = match kind {
            0 => None,
            1 => Some(SectionText::Header),
            2 => Some(SectionText::Text),
            3 => Some(SectionText::HeaderFields(fields)),
            4 => Some(SectionText::HeaderFieldsNot(fields)),
            _ if !part.is_empty() => Some(SectionText::Mime),
            _ => None,
        };
        Section { part, text }
    })
}

fn arb_partial() -> impl Strategy<Value = Option<(u64, u64)>> {
    proptest::option::of((0u64..=i64::MAX as u64, 1u64..=i64::MAX as u64))
}

/// Every fetch attribute kind.
pub(crate) fn arb_fetch_attr() -> impl Strategy<Value = FetchAttr> {
    use FetchAttr as F;
    Union::new(vec![
        Just(F::Envelope).boxed(),
        Just(F::Flags).boxed(),
        Just(F::InternalDate).boxed(),
        Just(F::Rfc822).boxed(),
        Just(F::Rfc822Header).boxed(),
        Just(F::Rfc822Size).boxed(),
        Just(F::Rfc822Text).boxed(),
        Just(F::Body).boxed(),
        Just(F::BodyStructure).boxed(),
        Just(F::Uid).boxed(),
        Just(F::ModSeq).boxed(),
        Just(F::SaveDate).boxed(),
        any::<bool>().prop_map(|lazy| F::Preview { lazy }).boxed(),
        (any::<bool>(), arb_section(), arb_partial())
            .prop_map(|(peek, section, partial)| F::BodySection {
                peek,
                section,
                partial,
            })
            .boxed(),
        (any::<bool>(), vec(1u32.., 0..3), arb_partial())
            .prop_map(|(peek, part, partial)| F::Binary {
                peek,
                part,
                partial,
            })
            .boxed(),
        vec(1u32.., 0..3).prop_map(F::BinarySize).boxed(),
    ])
}

fn arb_select_params() -> impl Strategy<Value = SelectParams> {
    let qresync = (
        1u32..,
        modseq(),
        proptest::option::of(arb_seq_set()),
        proptest::option::of((arb_seq_set(), arb_seq_set())),
    )
        .prop_map(|(uid_validity, modseq, known_uids, seq_match)| QResync {
            uid_validity,
            modseq,
            known_uids,
            seq_match,
        });
    (any::<bool>(), proptest::option::of(qresync))
        .prop_map(|(condstore, qresync)| SelectParams { condstore, qresync })
}

fn arb_append_message() -> impl Strategy<Value = AppendMessage> {
    let data = prop_oneof![
        arb_bytes().prop_map(AppendData::Literal),
        vec(any::<u8>(), 0..40).prop_map(AppendData::Literal8),
        vec(any::<u8>(), 0..40).prop_map(AppendData::Utf8),
    ];
    (
        vec(arb_flag(), 0..3),
        proptest::option::of(arb_date_time()),
        data,
    )
        .prop_map(|(flags, date, data)| AppendMessage { flags, date, data })
}

fn arb_list() -> impl Strategy<Value = ListCommand> {
    let select = prop_oneof![
        Just(ListSelect::Subscribed),
        Just(ListSelect::Remote),
        Just(ListSelect::RecursiveMatch),
        Just(ListSelect::SpecialUse),
    ];
    let ret = prop_oneof![
        Just(ListReturn::Subscribed),
        Just(ListReturn::Children),
        Just(ListReturn::SpecialUse),
        vec(proptest::sample::select(StatusAttr::ALL.to_vec()), 1..4).prop_map(ListReturn::Status),
    ];
    (
        vec(select, 0..3),
        arb_mailbox(),
        vec(arb_pattern(), 1..3),
        vec(ret, 0..3),
    )
        .prop_map(|(mut selection, reference, patterns, returns)| {
            // RFC 5258 3.1: RECURSIVEMATCH only with SUBSCRIBED.
            if selection.contains(&ListSelect::RecursiveMatch)
                && !selection.contains(&ListSelect::Subscribed)
            {
                selection.push(ListSelect::Subscribed);
            }
            ListCommand {
                selection,
                reference,
                patterns,
                returns,
            }
        })
}

fn arb_sort_criterion() -> impl Strategy<Value = SortCriterion> {
    (
        any::<bool>(),
        proptest::sample::select(SortKey::ALL.to_vec()),
    )
        .prop_map(|(reverse, key)| SortCriterion { reverse, key })
}

/// Every command body variant.
pub(crate) fn arb_command_body() -> impl Strategy<Value = CommandBody> {
    use CommandBody as C;
    let ret_opt = prop_oneof![
        Just(SearchReturnOpt::Min),
        Just(SearchReturnOpt::Max),
        Just(SearchReturnOpt::All),
        Just(SearchReturnOpt::Count),
        Just(SearchReturnOpt::Save),
    ];
    Union::new(vec![
        Just(C::Capability).boxed(),
        Just(C::Noop).boxed(),
        Just(C::Logout).boxed(),
        Just(C::StartTls).boxed(),
        Just(C::Namespace).boxed(),
        Just(C::Idle).boxed(),
        Just(C::Check).boxed(),
        Just(C::Close).boxed(),
        Just(C::Unselect).boxed(),
        Just(C::Expunge).boxed(),
        (arb_atom(), proptest::option::of(vec(any::<u8>(), 0..20)))
            .prop_map(|(mechanism, ir)| C::Authenticate {
                mechanism,
                initial_response: ir.map(Secret::new),
            })
            .boxed(),
        (arb_text(), arb_text())
            .prop_map(|(username, p)| C::Login {
                username,
                password: Secret::new(p),
            })
            .boxed(),
        vec(arb_atom(), 1..4).prop_map(C::Enable).boxed(),
        (arb_mailbox(), arb_select_params())
            .prop_map(|(mailbox, params)| C::Select { mailbox, params })
            .boxed(),
        (arb_mailbox(), arb_select_params())
            .prop_map(|(mailbox, params)| C::Examine { mailbox, params })
            .boxed(),
        (arb_mailbox(), vec(arb_atom(), 0..3))
            .prop_map(|(mailbox, special_use)| C::Create {
                mailbox,
                special_use,
            })
            .boxed(),
        arb_mailbox().prop_map(C::Delete).boxed(),
        (arb_mailbox(), arb_mailbox())
            .prop_map(|(from, to)| C::Rename { from, to })
            .boxed(),
        arb_mailbox().prop_map(C::Subscribe).boxed(),
        arb_mailbox().prop_map(C::Unsubscribe).boxed(),
        arb_list().prop_map(C::List).boxed(),
        (arb_mailbox(), arb_pattern())
            .prop_map(|(reference, pattern)| C::Lsub { reference, pattern })
            .boxed(),
        (
            arb_mailbox(),
            vec(proptest::sample::select(StatusAttr::ALL.to_vec()), 1..5),
        )
            .prop_map(|(mailbox, attrs)| C::Status { mailbox, attrs })
            .boxed(),
        (arb_mailbox(), vec(arb_append_message(), 1..3))
            .prop_map(|(mailbox, messages)| C::Append { mailbox, messages })
            .boxed(),
        (
            any::<bool>(),
            arb_seq_num(),
            arb_mailbox(),
            arb_append_message(),
        )
            .prop_map(|(uid, target, mailbox, message)| C::Replace {
                uid,
                target,
                mailbox,
                message,
            })
            .boxed(),
        arb_seq_set().prop_map(C::UidExpunge).boxed(),
        (
            any::<bool>(),
            proptest::option::of(vec(ret_opt, 0..3)),
            proptest::option::of(arb_charset()),
            arb_keys(),
        )
            .prop_map(|(uid, returns, charset, keys)| {
                C::Search(SearchCommand {
                    uid,
                    returns,
                    charset,
                    keys,
                })
            })
            .boxed(),
        (
            any::<bool>(),
            arb_seq_set(),
            prop_oneof![
                Just(FetchAttrs::Macro(FetchMacro::All)),
                Just(FetchAttrs::Macro(FetchMacro::Fast)),
                Just(FetchAttrs::Macro(FetchMacro::Full)),
                vec(arb_fetch_attr(), 1..4).prop_map(FetchAttrs::List),
            ],
            proptest::option::of(modseq()),
            any::<bool>(),
        )
            .prop_map(|(uid, set, attrs, changed_since, vanished)| {
                C::Fetch(FetchCommand {
                    uid,
                    set,
                    attrs,
                    // RFC 7162 3.2.6: VANISHED only with UID and CHANGEDSINCE.
                    vanished: vanished && uid && changed_since.is_some(),
                    changed_since,
                })
            })
            .boxed(),
        (
            any::<bool>(),
            arb_seq_set(),
            proptest::option::of(0u64..=i64::MAX as u64),
            prop_oneof![
                Just(StoreMode::Replace),
                Just(StoreMode::Add),
                Just(StoreMode::Remove)
            ],
            any::<bool>(),
            vec(arb_flag(), 0..4),
        )
            .prop_map(|(uid, set, unchanged_since, mode, silent, flags)| {
                C::Store(StoreCommand {
                    uid,
                    set,
                    unchanged_since,
                    mode,
                    silent,
                    flags,
                })
            })
            .boxed(),
        (any::<bool>(), arb_seq_set(), arb_mailbox())
            .prop_map(|(uid, set, mailbox)| C::Copy { uid, set, mailbox })
            .boxed(),
        (any::<bool>(), arb_seq_set(), arb_mailbox())
            .prop_map(|(uid, set, mailbox)| C::Move { uid, set, mailbox })
            .boxed(),
        (
            any::<bool>(),
            vec(arb_sort_criterion(), 1..4),
            arb_charset(),
            arb_keys(),
        )
            .prop_map(|(uid, criteria, charset, keys)| {
                C::Sort(SortCommand {
                    uid,
                    criteria,
                    charset,
                    keys,
                })
            })
            .boxed(),
        (
            any::<bool>(),
            prop_oneof![
                Just(ThreadAlgorithm::OrderedSubject),
                Just(ThreadAlgorithm::References),
                "X[A-Z]{0,6}".prop_map(|s| ThreadAlgorithm::Other(
                    Atom::try_from(s.as_str()).unwrap_or_else(|_| unreachable!())
                )),
            ],
            arb_charset(),
            arb_keys(),
        )
            .prop_map(|(uid, algorithm, charset, keys)| {
                C::Thread(ThreadCommand {
                    uid,
                    algorithm,
                    charset,
                    keys,
                })
            })
            .boxed(),
        proptest::option::of(vec((arb_text(), proptest::option::of(arb_text())), 0..3))
            .prop_map(C::Id)
            .boxed(),
        arb_atom().prop_map(C::Compress).boxed(),
        arb_text().prop_map(C::GetQuota).boxed(),
        arb_mailbox().prop_map(C::GetQuotaRoot).boxed(),
        (arb_text(), vec((arb_atom(), 0u64..=i64::MAX as u64), 0..3))
            .prop_map(|(root, limits)| C::SetQuota { root, limits })
            .boxed(),
    ])
}

/// A whole command.
pub(crate) fn arb_command() -> impl Strategy<Value = Command> {
    (arb_tag(), arb_command_body()).prop_map(|(tag, body)| Command { tag, body })
}

/// A literal head, for tests of the APPEND pieces.
#[allow(dead_code)]
pub(crate) fn arb_literal_head() -> impl Strategy<Value = LiteralHead> {
    (0u64..100_000, any::<bool>(), any::<bool>()).prop_map(|(len, non_sync, binary)| LiteralHead {
        len,
        non_sync,
        binary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(cmd: &Command, ctx: Ctx) -> Result<(), TestCaseError> {
        let mut out = Vec::new();
        cmd.encode(&mut out, ctx);
        match parse_command(&out, ctx) {
            Ok((n, parsed)) => {
                prop_assert_eq!(n, out.len());
                prop_assert_eq!(&parsed, cmd, "wire: {:?}", String::from_utf8_lossy(&out));
            }
            Err(e) => {
                return Err(TestCaseError::fail(format!(
                    "{e:?} on {:?}",
                    String::from_utf8_lossy(&out)
                )));
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn encode_then_parse_is_identity(cmd in arb_command(), lp in any::<bool>()) {
            round_trip(&cmd, Ctx { literal_plus: lp, ..Ctx::REV1 })?;
            round_trip(&cmd, Ctx { literal_plus: lp, ..Ctx::UTF8 })?;
        }

        #[test]
        fn every_prefix_is_incomplete(cmd in arb_command(), utf8 in any::<bool>()) {
            // The framer relies on this: a strict prefix of a valid command
            // is never an error.
            let ctx = if utf8 { Ctx::UTF8 } else { Ctx::REV1 };
            let mut out = Vec::new();
            cmd.encode(&mut out, ctx);
            for cut in 0..out.len() {
                prop_assert_eq!(
                    parse_command(&out[..cut], ctx).err(),
                    Some(CommandError::Incomplete),
                    "prefix {:?}", String::from_utf8_lossy(&out[..cut])
                );
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(input in vec(any::<u8>(), 0..200)) {
            let _ = parse_command(&input, Ctx::REV1);
            let _ = parse_command(&input, Ctx::UTF8);
        }

        #[test]
        fn mutated_commands_never_panic(cmd in arb_command(), pos in any::<usize>(), b in any::<u8>()) {
            let mut out = Vec::new();
            cmd.encode(&mut out, Ctx::REV1);
            let p = pos % out.len();
            out[p] = b;
            let _ = parse_command(&out, Ctx::REV1);
            out.truncate(p);
            let _ = parse_command(&out, Ctx::REV1);
        }
    }
}
