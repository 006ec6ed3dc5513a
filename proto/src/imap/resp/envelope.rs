//! The ENVELOPE fetch item (RFC 9051 7.5.2, 9 `envelope`, `address`).
//!
//! Strings are kept as the raw header bytes (`nstring`: None is NIL); RFC
//! 2047 encoded words are not decoded here.

use super::super::core::error::{IResult, ParseError};
use super::super::core::string::{nstring, write_nstring};
use super::super::core::{Ctx, byte, keyword, sp};

/// An `nstring` value: None is NIL.
pub type NString = Option<Vec<u8>>;

/// The envelope of a message (RFC 9051 7.5.2 ENVELOPE).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// `Date:` header.
    pub date: NString,
    /// `Subject:` header.
    pub subject: NString,
    /// `From:` addresses (empty is NIL).
    pub from: Vec<Address>,
    /// `Sender:` addresses; servers repeat From when absent.
    pub sender: Vec<Address>,
    /// `Reply-To:` addresses; servers repeat From when absent.
    pub reply_to: Vec<Address>,
    /// `To:` addresses.
    pub to: Vec<Address>,
    /// `Cc:` addresses.
    pub cc: Vec<Address>,
    /// `Bcc:` addresses.
    pub bcc: Vec<Address>,
    /// `In-Reply-To:` header.
    pub in_reply_to: NString,
    /// `Message-ID:` header.
    pub message_id: NString,
}

/// One address (RFC 9051 9 `address`). Groups (RFC 5322) are flattened
/// with markers, per RFC 9051 7.5.2: a group starts with an address whose
/// host is NIL and whose mailbox is the group name, and ends with one whose
/// mailbox and host are both NIL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    /// Display name.
    pub name: NString,
    /// Source route (obsolete; normally NIL).
    pub adl: NString,
    /// Local part, or the group name in a group-start marker.
    pub mailbox: NString,
    /// Domain; NIL in group markers.
    pub host: NString,
}

impl Address {
    /// The marker that starts group `name`.
    pub fn group_start(name: &[u8]) -> Address {
        Address {
            mailbox: Some(name.to_vec()),
            ..Address::default()
        }
    }

    /// The marker that ends a group.
    pub fn group_end() -> Address {
        Address::default()
    }

    /// Whether this is a group-start or group-end marker.
    pub fn is_group_marker(&self) -> bool {
        self.host.is_none()
    }
}

fn write_ns(out: &mut Vec<u8>, s: &NString, ctx: Ctx) {
    write_nstring(out, s.as_deref(), ctx);
}

/// Writes `(addr addr …)` or NIL for an empty list. Addresses are adjacent
/// with no space between them (RFC 9051 9 `env-from`).
fn write_addresses(out: &mut Vec<u8>, list: &[Address], ctx: Ctx) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        write_ns(out, &a.name, ctx);
        out.push(b' ');
        write_ns(out, &a.adl, ctx);
        out.push(b' ');
        write_ns(out, &a.mailbox, ctx);
        out.push(b' ');
        write_ns(out, &a.host, ctx);
        out.push(b')');
    }
    out.push(b')');
}

impl Envelope {
    /// Appends `(date subject from sender reply-to to cc bcc in-reply-to
    /// message-id)`.
    pub fn encode(&self, out: &mut Vec<u8>, ctx: Ctx) {
        out.push(b'(');
        write_ns(out, &self.date, ctx);
        out.push(b' ');
        write_ns(out, &self.subject, ctx);
        for list in [
            &self.from,
            &self.sender,
            &self.reply_to,
            &self.to,
            &self.cc,
            &self.bcc,
        ] {
            out.push(b' ');
            write_addresses(out, list, ctx);
        }
        out.push(b' ');
        write_ns(out, &self.in_reply_to, ctx);
        out.push(b' ');
        write_ns(out, &self.message_id, ctx);
        out.push(b')');
    }
}

pub(crate) fn ns(i: &[u8], ctx: Ctx) -> IResult<'_, NString> {
    nstring(ctx)(i).map(|(r, v)| (r, v.map(|c| c.into_owned())))
}

fn address(i: &[u8], ctx: Ctx) -> IResult<'_, Address> {
    let (i, ()) = byte(b'(')(i)?;
    let (i, name) = ns(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, adl) = ns(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, mailbox) = ns(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, host) = ns(i, ctx)?;
    let (i, ()) = byte(b')')(i)?;
    Ok((
        i,
        Address {
            name,
            adl,
            mailbox,
            host,
        },
    ))
}

/// `"(" 1*address ")" / nil`. A space between addresses is tolerated (the
/// RFC 9051 7.5.2 example has one).
fn addresses(i: &[u8], ctx: Ctx) -> IResult<'_, Vec<Address>> {
    if let Some(b'N' | b'n') = i.first() {
        let (r, ()) = keyword("NIL")(i)?;
        return Ok((r, Vec::new()));
    }
    let (mut i, ()) = byte(b'(')(i)?;
    let mut v = Vec::new();
    loop {
        let (r, a) = address(i, ctx)?;
        v.push(a);
        let r = match r.first() {
            Some(b' ') => &r[1..],
            _ => r,
        };
        match r.first() {
            Some(b')') => return Ok((&r[1..], v)),
            Some(b'(') => i = r,
            Some(_) => return Err(ParseError::fail(r, "expected an address or ')'")),
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
    }
}

/// `envelope` (RFC 9051 9).
pub(crate) fn envelope(i: &[u8], ctx: Ctx) -> IResult<'_, Envelope> {
    let (i, ()) = byte(b'(')(i)?;
    let (i, date) = ns(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, subject) = ns(i, ctx)?;
    let mut lists: [Vec<Address>; 6] = Default::default();
    let mut i = i;
    for l in lists.iter_mut() {
        let (r, ()) = sp(i)?;
        let (r, v) = addresses(r, ctx)?;
        *l = v;
        i = r;
    }
    let (i, ()) = sp(i)?;
    let (i, in_reply_to) = ns(i, ctx)?;
    let (i, ()) = sp(i)?;
    let (i, message_id) = ns(i, ctx)?;
    let (i, ()) = byte(b')')(i)?;
    let [from, sender, reply_to, to, cc, bcc] = lists;
    Ok((
        i,
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
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_nil() {
        let input = b"(NIL \"s\" ((NIL NIL \"undisclosed\" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL NIL NIL NIL) ";
        let (rest, e) = envelope(input, Ctx::REV1).unwrap();
        assert_eq!(rest, b" ");
        assert_eq!(
            e.from,
            vec![Address::group_start(b"undisclosed"), Address::group_end()]
        );
        assert!(e.from.iter().all(Address::is_group_marker));
        let mut out = Vec::new();
        e.encode(&mut out, Ctx::REV1);
        assert_eq!(out, &input[..input.len() - 1]);
        assert!(envelope(b"(NIL NIL () NIL NIL NIL NIL NIL NIL NIL) ", Ctx::REV1).is_err());
        assert!(matches!(
            envelope(b"(NIL NIL ((NIL", Ctx::REV1),
            Err(nom::Err::Incomplete(_))
        ));
    }
}
