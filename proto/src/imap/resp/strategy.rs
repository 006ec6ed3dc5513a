//! proptest strategies for every response type, producing values in the
//! normal form the parser returns (so `parse(encode(v)) == v`). Other
//! modules' tests may reuse them.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::code::KNOWN_NAMES;
use super::*;
use crate::imap::core::{
    Atom, Date, DateTime, Flag, FlagFetch, FlagPerm, Mailbox, Section, SectionText, StatusAttr,
    Tag, UidSet,
};

/// Status/continuation text: no CR/LF/NUL, not starting with `[`.
pub(crate) fn text() -> impl Strategy<Value = String> {
    "([ -Z\\\\^-~é台][ -~é台]{0,20})?"
}

/// An atom.
pub(crate) fn atom_string() -> impl Strategy<Value = String> {
    "[A-Za-z0-9$=.+_-]{1,10}"
}

pub(crate) fn atom() -> impl Strategy<Value = Atom> {
    atom_string().prop_filter_map("atom", |s| Atom::try_from(s.as_str()).ok())
}

pub(crate) fn tag() -> impl Strategy<Value = Tag> {
    "[A-Za-z0-9.]{1,8}".prop_filter_map("tag", |s| Tag::try_from(s.as_str()).ok())
}

/// A short string of any characters but NUL (strings and nstrings).
pub(crate) fn any_text() -> impl Strategy<Value = String> {
    "[ -~é台\r\n\t]{0,16}"
}

/// Raw string bytes: anything but NUL (which only literal8 can carry).
pub(crate) fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(1u8..=255, 0..24)
}

pub(crate) fn nstring() -> impl Strategy<Value = Option<Vec<u8>>> {
    option::of(bytes())
}

pub(crate) fn mailbox() -> impl Strategy<Value = Mailbox> {
    prop_oneof![
        Just(Mailbox::new("INBOX")),
        "[ -~é台]{0,12}".prop_map(Mailbox::new),
    ]
}

fn plain_flag_name(s: &str) -> bool {
    ["answered", "flagged", "deleted", "seen", "draft", "recent"]
        .contains(&s.to_ascii_lowercase().as_str())
}

pub(crate) fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Seen),
        Just(Flag::Draft),
        atom().prop_map(Flag::Keyword),
        atom()
            .prop_filter("not a system flag", |a| !plain_flag_name(a.as_str()))
            .prop_map(Flag::Extension),
    ]
}

pub(crate) fn flag_fetch() -> impl Strategy<Value = FlagFetch> {
    prop_oneof![Just(FlagFetch::Recent), flag().prop_map(FlagFetch::Flag)]
}

pub(crate) fn flag_perm() -> impl Strategy<Value = FlagPerm> {
    prop_oneof![Just(FlagPerm::Any), flag().prop_map(FlagPerm::Flag)]
}

pub(crate) fn uid_set() -> impl Strategy<Value = UidSet> {
    vec((1u32.., 1u32..), 1..4).prop_map(UidSet)
}

fn u63() -> impl Strategy<Value = u64> {
    0..=i64::MAX as u64
}

pub(crate) fn code() -> impl Strategy<Value = Code> {
    let simple = prop::sample::select(vec![
        Code::Alert,
        Code::Parse,
        Code::ReadOnly,
        Code::ReadWrite,
        Code::TryCreate,
        Code::UidNotSticky,
        Code::NoModSeq,
        Code::Closed,
        Code::OverQuota,
        Code::AlreadyExists,
        Code::NonExistent,
        Code::Cannot,
        Code::Limit,
        Code::AuthenticationFailed,
        Code::AuthorizationFailed,
        Code::Expired,
        Code::PrivacyRequired,
        Code::ContactAdmin,
        Code::NoPerm,
        Code::InUse,
        Code::ExpungeIssued,
        Code::Corruption,
        Code::ServerBug,
        Code::ClientBug,
        Code::Unavailable,
        Code::HasChildren,
        Code::TooBig,
        Code::CompressionActive,
        Code::UseAttr,
        Code::NotSaved,
        Code::UnknownCte,
    ]);
    prop_oneof![
        simple,
        vec("[ -~]{0,8}", 0..3).prop_map(Code::BadCharset),
        vec(atom_string(), 1..4).prop_map(Code::Capability),
        vec(flag_perm(), 0..4).prop_map(Code::PermanentFlags),
        any::<u32>().prop_map(Code::UidNext),
        any::<u32>().prop_map(Code::UidValidity),
        any::<u32>().prop_map(Code::Unseen),
        (any::<u32>(), uid_set())
            .prop_map(|(uid_validity, uids)| Code::AppendUid { uid_validity, uids }),
        (any::<u32>(), uid_set(), uid_set()).prop_map(|(uid_validity, source, dest)| {
            Code::CopyUid {
                uid_validity,
                source,
                dest,
            }
        }),
        u63().prop_map(Code::HighestModSeq),
        uid_set().prop_map(Code::Modified),
        (
            atom().prop_filter("unknown code", |a| {
                !KNOWN_NAMES.contains(&a.as_str().to_ascii_uppercase().as_str())
            }),
            option::of("[ -\\\\^-~é]{0,12}"),
        )
            .prop_map(|(a, t)| Code::Other(a, t)),
    ]
}

pub(crate) fn status() -> impl Strategy<Value = Status> {
    let kind = prop::sample::select(vec![
        StatusKind::Ok,
        StatusKind::No,
        StatusKind::Bad,
        StatusKind::PreAuth,
        StatusKind::Bye,
    ]);
    (kind, option::of(tag()), option::of(code()), text()).prop_map(|(kind, tag, code, text)| {
        let tag = match kind {
            StatusKind::Ok | StatusKind::No | StatusKind::Bad => tag,
            _ => None,
        };
        Status {
            tag,
            kind,
            code,
            text,
        }
    })
}

pub(crate) fn continue_req() -> impl Strategy<Value = Continue> {
    prop_oneof![
        vec(any::<u8>(), 0..40).prop_map(Continue::Base64),
        text()
            .prop_filter("not base64", |t| decode_base64_line(t).is_none())
            .prop_map(Continue::Text),
    ]
}

fn delimiter() -> impl Strategy<Value = Option<char>> {
    option::of(prop::char::range(' ', '~'))
}

pub(crate) fn mailbox_attr() -> impl Strategy<Value = MailboxAttr> {
    prop_oneof![
        prop::sample::select(vec![
            MailboxAttr::NoInferiors,
            MailboxAttr::NoSelect,
            MailboxAttr::Marked,
            MailboxAttr::Unmarked,
            MailboxAttr::NonExistent,
            MailboxAttr::Subscribed,
            MailboxAttr::Remote,
            MailboxAttr::HasChildren,
            MailboxAttr::HasNoChildren,
            MailboxAttr::All,
            MailboxAttr::Archive,
            MailboxAttr::Drafts,
            MailboxAttr::Flagged,
            MailboxAttr::Junk,
            MailboxAttr::Sent,
            MailboxAttr::Trash,
        ]),
        atom().prop_filter_map("extension attribute", |a| {
            match MailboxAttr::from_name(a.as_str()) {
                Some(MailboxAttr::Extension(x)) => Some(MailboxAttr::Extension(x)),
                _ => None,
            }
        }),
    ]
}

pub(crate) fn list_data(extended: bool) -> impl Strategy<Value = ListData> {
    let ext = prop_oneof![
        vec("[A-Z]{1,10}", 1..3).prop_map(ListExtItem::ChildInfo),
        mailbox().prop_map(ListExtItem::OldName),
    ];
    let max_ext = if extended { 3 } else { 1 };
    (
        vec(mailbox_attr(), 0..4),
        delimiter(),
        mailbox(),
        vec(ext, 0..max_ext),
    )
        .prop_map(|(attrs, delimiter, mailbox, extended)| ListData {
            attrs,
            delimiter,
            mailbox,
            extended,
        })
}

fn status_value() -> impl Strategy<Value = StatusValue> {
    (
        prop::sample::select(StatusAttr::ALL.to_vec()),
        option::of(u63()),
    )
        .prop_map(|(attr, value)| StatusValue { attr, value })
}

fn esearch() -> impl Strategy<Value = ESearch> {
    let item = prop_oneof![
        any::<u32>().prop_map(ESearchItem::Min),
        any::<u32>().prop_map(ESearchItem::Max),
        any::<u32>().prop_map(ESearchItem::Count),
        u63().prop_map(ESearchItem::ModSeq),
        uid_set().prop_map(ESearchItem::All),
    ];
    (option::of(any_text()), any::<bool>(), vec(item, 0..4)).prop_map(|(tag, uid, items)| ESearch {
        tag,
        uid,
        items,
    })
}

fn namespace_list() -> impl Strategy<Value = Option<Vec<NamespaceDesc>>> {
    let desc = (
        "[ -~é台]{0,8}",
        delimiter(),
        vec((any_text(), vec(any_text(), 1..3)), 0..2),
    )
        .prop_map(|(prefix, delimiter, extensions)| NamespaceDesc {
            prefix,
            delimiter,
            extensions,
        });
    option::of(vec(desc, 1..3))
}

fn namespaces() -> impl Strategy<Value = Namespaces> {
    (namespace_list(), namespace_list(), namespace_list()).prop_map(|(personal, other, shared)| {
        Namespaces {
            personal,
            other,
            shared,
        }
    })
}

/// A thread in normal form (see [`Thread`]).
pub(crate) fn thread() -> impl Strategy<Value = Thread> {
    let leaf = vec(1u32.., 1..4).prop_map(|members| Thread {
        members,
        children: vec![],
    });
    leaf.prop_recursive(4, 24, 3, |inner| {
        (vec(1u32.., 0..3), vec(inner, 2..4))
            .prop_map(|(members, children)| Thread { members, children })
    })
}

pub(crate) fn data() -> impl Strategy<Value = Data> {
    prop_oneof![
        vec(atom_string(), 0..4).prop_map(Data::Capability),
        vec(atom_string(), 0..4).prop_map(Data::Enabled),
        list_data(true).prop_map(Data::List),
        list_data(false).prop_map(Data::Lsub),
        (mailbox(), vec(status_value(), 0..4))
            .prop_map(|(mailbox, items)| Data::Status { mailbox, items }),
        (vec(1u32.., 0..5), option::of(u63()))
            .prop_map(|(nums, modseq)| Data::Search { nums, modseq }),
        (vec(1u32.., 0..5), option::of(u63()))
            .prop_map(|(nums, modseq)| Data::Sort { nums, modseq }),
        esearch().prop_map(Data::ESearch),
        vec(flag(), 0..5).prop_map(Data::Flags),
        any::<u32>().prop_map(Data::Exists),
        any::<u32>().prop_map(Data::Recent),
        (1u32..).prop_map(Data::Expunge),
        (1u32.., vec(fetch_item(), 1..5)).prop_map(|(seq, items)| Data::Fetch { seq, items }),
        (any::<bool>(), uid_set()).prop_map(|(earlier, uids)| Data::Vanished { earlier, uids }),
        namespaces().prop_map(Data::Namespace),
        option::of(vec((any_text(), option::of(any_text())), 0..3)).prop_map(Data::Id),
        (
            any_text(),
            vec(
                (atom(), u63(), u63()).prop_map(|(name, usage, limit)| QuotaResource {
                    name,
                    usage,
                    limit
                }),
                1..3
            )
        )
            .prop_map(|(root, resources)| Data::Quota { root, resources }),
        (mailbox(), vec(any_text(), 0..3))
            .prop_map(|(mailbox, roots)| Data::QuotaRoot { mailbox, roots }),
        vec(thread(), 0..3).prop_map(Data::Thread),
    ]
}

pub(crate) fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        status().prop_map(Response::Status),
        data().prop_map(Response::Data),
        continue_req().prop_map(Response::Continue),
    ]
}

pub(crate) fn date_time() -> impl Strategy<Value = DateTime> {
    (
        0u16..=9999,
        1u8..=12,
        1u8..=28,
        0u8..24,
        0u8..60,
        0u8..=60,
        -1439i16..=1439,
    )
        .prop_map(
            |(year, month, day, hour, minute, second, zone_minutes)| DateTime {
                date: Date { year, month, day },
                hour,
                minute,
                second,
                zone_minutes,
            },
        )
}

fn section() -> impl Strategy<Value = Section> {
    let fields = vec("[A-Za-z-]{1,10}", 1..3);
    (
        vec(1u32..20, 0..3),
        option::of(prop_oneof![
            Just(SectionText::Header),
            Just(SectionText::Text),
            Just(SectionText::Mime),
            fields.clone().prop_map(SectionText::HeaderFields),
            fields.prop_map(SectionText::HeaderFieldsNot),
        ]),
    )
        .prop_map(|(part, text)| {
            let text = match text {
                Some(SectionText::Mime) if part.is_empty() => Some(SectionText::Text),
                t => t,
            };
            Section { part, text }
        })
}

pub(crate) fn address() -> impl Strategy<Value = Address> {
    (nstring(), nstring(), nstring(), nstring()).prop_map(|(name, adl, mailbox, host)| Address {
        name,
        adl,
        mailbox,
        host,
    })
}

pub(crate) fn envelope() -> impl Strategy<Value = Envelope> {
    let list = || vec(address(), 0..3);
    (
        (nstring(), nstring(), list(), list(), list()),
        (list(), list(), list(), nstring(), nstring()),
    )
        .prop_map(
            |((date, subject, from, sender, reply_to), (to, cc, bcc, in_reply_to, message_id))| {
                Envelope {
                    date,
                    subject,
                    from,
                    sender,
                    reply_to,
                    to,
                    cc,
                    bcc,
                    in_reply_to,
                    message_id,
                }
            },
        )
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    vec((any_text(), any_text()), 0..3)
}

fn body_extension() -> impl Strategy<Value = BodyExtension> {
    let leaf = prop_oneof![
        nstring().prop_map(BodyExtension::NString),
        u63().prop_map(BodyExtension::Number),
    ];
    leaf.prop_recursive(3, 8, 3, |inner| {
        vec(inner, 1..3).prop_map(BodyExtension::List)
    })
}

fn tail() -> impl Strategy<Value = ExtTail> {
    (
        option::of((any_text(), params()).prop_map(|(kind, params)| Disposition { kind, params })),
        vec(any_text(), 0..3),
        nstring(),
        vec(body_extension(), 0..3),
    )
        .prop_map(|(disposition, language, location, extensions)| ExtTail {
            disposition,
            language,
            location,
            extensions,
        })
}

fn fields() -> impl Strategy<Value = BodyFields> {
    (params(), nstring(), nstring(), any_text(), any::<u32>()).prop_map(
        |(params, id, description, encoding, octets)| BodyFields {
            params,
            id,
            description,
            encoding,
            octets,
        },
    )
}

/// A body structure; with extension data only when `ext`.
pub(crate) fn body(ext: bool) -> impl Strategy<Value = Body> {
    let single_ext = move || {
        option::of((nstring(), tail()).prop_map(|(md5, tail)| SingleExt { md5, tail }))
            .prop_map(move |e| if ext { e } else { None })
    };
    let media = prop::sample::select(vec!["APPLICATION", "IMAGE", "audio", "X-Foo", "MESSAGE"]);
    let leaf = prop_oneof![
        (media, "[A-Za-z0-9-]{1,8}", fields(), single_ext()).prop_filter_map(
            "basic",
            |(m, subtype, fields, ext)| {
                let msg = m == "MESSAGE"
                    && (subtype.eq_ignore_ascii_case("RFC822")
                        || subtype.eq_ignore_ascii_case("GLOBAL"));
                (!msg).then(|| Body::Basic {
                    media_type: m.to_string(),
                    subtype,
                    fields,
                    ext,
                })
            }
        ),
        (any_text(), fields(), u63(), single_ext()).prop_map(|(subtype, fields, lines, ext)| {
            Body::Text {
                subtype,
                fields,
                lines,
                ext,
            }
        }),
    ];
    leaf.prop_recursive(3, 12, 3, move |inner| {
        let multi_ext =
            option::of((params(), tail()).prop_map(|(params, tail)| MultiExt { params, tail }))
                .prop_map(move |e| if ext { e } else { None });
        prop_oneof![
            (vec(inner.clone(), 1..3), any_text(), multi_ext).prop_map(|(parts, subtype, ext)| {
                Body::Multipart {
                    parts,
                    subtype,
                    ext,
                }
            }),
            (
                prop::sample::select(vec!["RFC822", "GLOBAL"]),
                fields(),
                envelope(),
                inner,
                u63(),
                single_ext(),
            )
                .prop_map(|(subtype, fields, envelope, body, lines, ext)| {
                    Body::Message {
                        subtype: subtype.to_string(),
                        fields,
                        envelope: Box::new(envelope),
                        body: Box::new(body),
                        lines,
                        ext,
                    }
                }),
        ]
    })
}

pub(crate) fn fetch_item() -> impl Strategy<Value = FetchItem> {
    prop_oneof![
        vec(flag_fetch(), 0..4).prop_map(FetchItem::Flags),
        (1u32..).prop_map(FetchItem::Uid),
        date_time().prop_map(FetchItem::InternalDate),
        u63().prop_map(FetchItem::Rfc822Size),
        nstring().prop_map(FetchItem::Rfc822),
        nstring().prop_map(FetchItem::Rfc822Header),
        nstring().prop_map(FetchItem::Rfc822Text),
        envelope().prop_map(|e| FetchItem::Envelope(Box::new(e))),
        body(false).prop_map(|b| FetchItem::Body(Box::new(b))),
        body(true).prop_map(|b| FetchItem::BodyStructure(Box::new(b))),
        (section(), option::of(any::<u32>()), nstring()).prop_map(|(section, origin, data)| {
            FetchItem::BodySection {
                section,
                origin,
                data,
            }
        }),
        (
            vec(1u32..20, 0..3),
            option::of(any::<u32>()),
            option::of(vec(any::<u8>(), 0..24))
        )
            .prop_map(|(part, origin, data)| FetchItem::Binary { part, origin, data }),
        (vec(1u32..20, 0..3), any::<u32>())
            .prop_map(|(part, size)| FetchItem::BinarySize { part, size }),
        u63().prop_map(FetchItem::ModSeq),
        option::of(date_time()).prop_map(FetchItem::SaveDate),
        option::of(any_text()).prop_map(FetchItem::Preview),
    ]
}
