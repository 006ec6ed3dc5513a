//! Encoding speed of IMAP server responses (run with
//! `cargo bench -p moxide-proto --bench imap_encode`).
//!
//! 1. Flag-update FETCH responses, `* n FETCH (FLAGS (...) UID n MODSEQ (n))`,
//!    the bulk of what a server writes (target: at least 500,000 items/s).
//! 2. A mixed FETCH with ENVELOPE and a multipart BODYSTRUCTURE (a client's
//!    first sync of a mailbox).
//! 3. The streamed head of a `BODY[]` response.
//!
//! Values are built once and updated in place, so the loop measures the
//! encoder, which allocates nothing beyond the output buffer.

use std::hint::black_box;
use std::time::Instant;

use moxide_proto::imap::core::{Ctx, DateTime, Flag, FlagFetch, Section};
use moxide_proto::imap::resp::{
    Address, Body, BodyFields, Data, Disposition, Envelope, ExtTail, FetchItem, FetchLiteral,
    MultiExt, Response, SingleExt, encode_fetch_head, encode_fetch_tail,
};

/// Flushes the buffer (as a write to the socket would) past this size.
const FLUSH: usize = 1 << 20;

fn report(name: &str, items: u64, bytes: u64, secs: f64) {
    println!(
        "{name:<28} {items:>9} items in {secs:>6.3} s: {:>12.0} items/s, {:>8.1} MB/s",
        items as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}

fn set_numbers(r: &mut Response, n: u32) {
    if let Response::Data(Data::Fetch { seq, items }) = r {
        *seq = n;
        for it in items.iter_mut() {
            match it {
                FetchItem::Uid(u) => *u = n + 1000,
                FetchItem::ModSeq(m) => *m = u64::from(n) * 3 + 100_000,
                _ => {}
            }
        }
    }
}

fn run(name: &str, r: &mut Response, count: u32, ctx: Ctx) {
    let mut out = Vec::with_capacity(FLUSH + 64 * 1024);
    let mut bytes = 0u64;
    let start = Instant::now();
    for n in 1..=count {
        set_numbers(r, n);
        r.encode(&mut out, ctx);
        if out.len() >= FLUSH {
            bytes += out.len() as u64;
            black_box(&out);
            out.clear();
        }
    }
    bytes += out.len() as u64;
    black_box(&out);
    report(name, u64::from(count), bytes, start.elapsed().as_secs_f64());
}

fn s(v: &str) -> Option<Vec<u8>> {
    Some(v.as_bytes().to_vec())
}

fn mixed() -> Response {
    let from = vec![Address {
        name: s("Terry Gray"),
        adl: None,
        mailbox: s("gray"),
        host: s("cac.washington.edu"),
    }];
    let envelope = Envelope {
        date: s("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"),
        subject: s("IMAP4rev2 WG mtg summary and minutes"),
        from: from.clone(),
        sender: from.clone(),
        reply_to: from,
        to: vec![Address {
            name: None,
            adl: None,
            mailbox: s("imap"),
            host: s("cac.washington.edu"),
        }],
        cc: vec![],
        bcc: vec![],
        in_reply_to: None,
        message_id: s("<B27397-0100000@cac.washington.edu>"),
    };
    let text = Body::Text {
        subtype: "PLAIN".into(),
        fields: BodyFields {
            params: vec![("CHARSET".into(), "UTF-8".into())],
            id: None,
            description: None,
            encoding: "QUOTED-PRINTABLE".into(),
            octets: 3028,
        },
        lines: 92,
        ext: Some(SingleExt {
            md5: None,
            tail: ExtTail {
                disposition: None,
                language: vec![],
                location: None,
                extensions: vec![],
            },
        }),
    };
    let pdf = Body::Basic {
        media_type: "APPLICATION".into(),
        subtype: "PDF".into(),
        fields: BodyFields {
            params: vec![("NAME".into(), "minutes.pdf".into())],
            id: None,
            description: None,
            encoding: "BASE64".into(),
            octets: 84_211,
        },
        ext: Some(SingleExt {
            md5: None,
            tail: ExtTail {
                disposition: Some(Disposition {
                    kind: "attachment".into(),
                    params: vec![("FILENAME".into(), "minutes.pdf".into())],
                }),
                language: vec![],
                location: None,
                extensions: vec![],
            },
        }),
    };
    let body = Body::Multipart {
        parts: vec![text, pdf],
        subtype: "MIXED".into(),
        ext: Some(MultiExt {
            params: vec![("BOUNDARY".into(), "----=_Part_0_1".into())],
            tail: ExtTail::default(),
        }),
    };
    Response::Data(Data::Fetch {
        seq: 1,
        items: vec![
            FetchItem::Uid(1),
            FetchItem::Flags(vec![FlagFetch::Flag(Flag::Seen)]),
            FetchItem::InternalDate(DateTime::from_unix_seconds(837_596_665, -420)),
            FetchItem::Rfc822Size(88_000),
            FetchItem::ModSeq(1),
            FetchItem::Envelope(Box::new(envelope)),
            FetchItem::BodyStructure(Box::new(body)),
        ],
    })
}

fn main() {
    let ctx = Ctx::UTF8;
    let mut flags = Response::Data(Data::Fetch {
        seq: 1,
        items: vec![
            FetchItem::Flags(vec![
                FlagFetch::Flag(Flag::Seen),
                FlagFetch::Flag(Flag::Answered),
                FlagFetch::Flag(Flag::parse_str("$Forwarded").unwrap_or(Flag::Flagged)),
            ]),
            FetchItem::Uid(1),
            FetchItem::ModSeq(1),
        ],
    });
    // Warm-up, then the measured runs.
    run("warm-up", &mut flags, 100_000, ctx);
    run("FLAGS UID MODSEQ", &mut flags, 1_000_000, ctx);
    run("ENVELOPE BODYSTRUCTURE", &mut mixed(), 300_000, ctx);

    let section = Section::default();
    let before = [FetchItem::Uid(1), FetchItem::Rfc822Size(88_000)];
    let mut out = Vec::with_capacity(FLUSH + 4096);
    let mut bytes = 0u64;
    let count = 1_000_000u32;
    let start = Instant::now();
    for n in 1..=count {
        encode_fetch_head(
            &mut out,
            n,
            &before,
            FetchLiteral::BodySection {
                section: &section,
                origin: None,
            },
            88_000,
            ctx,
        );
        encode_fetch_tail(&mut out);
        if out.len() >= FLUSH {
            bytes += out.len() as u64;
            black_box(&out);
            out.clear();
        }
    }
    bytes += out.len() as u64;
    report(
        "BODY[] streamed head",
        u64::from(count),
        bytes,
        start.elapsed().as_secs_f64(),
    );
}
