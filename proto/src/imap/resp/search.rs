//! SEARCH, SORT and ESEARCH responses (RFC 3501 7.2.5, RFC 5256 4, RFC 4731,
//! RFC 9051 7.3.4, RFC 7162 3.1.5 MODSEQ).

use super::super::core::error::{IResult, ParseError};
use super::super::core::seq::{UidSet, uid_set, write_uid_set};
use super::super::core::string::{atom_str, string, write_string};
use super::super::core::{Ctx, byte, keyword, number, number64, nz_number, sp, write_number};
use super::lossy;

/// The ESEARCH response (RFC 4731 3, RFC 9051 7.3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ESearch {
    /// `(TAG "tag")`: the tag of the command this answers.
    pub tag: Option<String>,
    /// `UID`: the numbers are UIDs.
    pub uid: bool,
    /// The returned data, in order.
    pub items: Vec<ESearchItem>,
}

/// One `search-return-data` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ESearchItem {
    /// `MIN n`
    Min(u32),
    /// `MAX n`
    Max(u32),
    /// `ALL set` (not empty).
    All(UidSet),
    /// `COUNT n`
    Count(u32),
    /// `MODSEQ n` (RFC 7162)
    ModSeq(u64),
}

impl ESearch {
    /// Appends `ESEARCH …` without CRLF.
    pub(crate) fn encode(&self, out: &mut Vec<u8>, ctx: Ctx) {
        out.extend_from_slice(b"ESEARCH");
        if let Some(t) = &self.tag {
            out.extend_from_slice(b" (TAG ");
            write_string(out, t.as_bytes(), ctx);
            out.push(b')');
        }
        if self.uid {
            out.extend_from_slice(b" UID");
        }
        for item in &self.items {
            out.push(b' ');
            match item {
                ESearchItem::Min(n) => {
                    out.extend_from_slice(b"MIN ");
                    write_number(out, *n);
                }
                ESearchItem::Max(n) => {
                    out.extend_from_slice(b"MAX ");
                    write_number(out, *n);
                }
                ESearchItem::Count(n) => {
                    out.extend_from_slice(b"COUNT ");
                    write_number(out, *n);
                }
                ESearchItem::ModSeq(n) => {
                    out.extend_from_slice(b"MODSEQ ");
                    write_number(out, *n);
                }
                ESearchItem::All(set) => {
                    out.extend_from_slice(b"ALL ");
                    write_uid_set(out, set);
                }
            }
        }
    }
}

/// Appends ` n n …` and ` (MODSEQ m)` for SEARCH and SORT.
pub(crate) fn encode_nums(out: &mut Vec<u8>, nums: &[u32], modseq: Option<u64>) {
    for n in nums {
        out.push(b' ');
        write_number(out, *n);
    }
    if let Some(m) = modseq {
        out.extend_from_slice(b" (MODSEQ ");
        write_number(out, m);
        out.push(b')');
    }
}

/// After `SEARCH`/`SORT`: `*(SP nz-number) [SP "(" "MODSEQ" SP n ")"]`.
pub(crate) fn nums(mut i: &[u8]) -> IResult<'_, (Vec<u32>, Option<u64>)> {
    let mut v = Vec::new();
    loop {
        match i.first() {
            Some(b' ') => {}
            Some(_) => return Ok((i, (v, None))),
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
        let r = &i[1..];
        if let Some(b'(') = r.first() {
            let (r, ()) = keyword("(MODSEQ ")(r)?;
            let (r, m) = number64(r)?;
            let (r, ()) = byte(b')')(r)?;
            return Ok((r, (v, Some(m))));
        }
        let (r, n) = nz_number(r)?;
        v.push(n);
        i = r;
    }
}

/// After `ESEARCH`: `[SP "(" "TAG" SP string ")"] [SP "UID"] *(SP
/// search-return-data)`.
pub(crate) fn esearch(mut i: &[u8], ctx: Ctx) -> IResult<'_, ESearch> {
    let mut e = ESearch {
        tag: None,
        uid: false,
        items: Vec::new(),
    };
    let mut first = true;
    loop {
        match i.first() {
            Some(b' ') => {}
            Some(_) => return Ok((i, e)),
            None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        }
        let r = &i[1..];
        if first && r.first() == Some(&b'(') {
            let (r, ()) = keyword("(TAG ")(r)?;
            let (r, t) = string(ctx)(r)?;
            let (r, ()) = byte(b')')(r)?;
            e.tag = Some(lossy(t));
            first = false;
            i = r;
            continue;
        }
        let (r, name) = atom_str(r)?;
        let upper = name.to_ascii_uppercase();
        if upper == "UID" && !e.uid && e.items.is_empty() {
            e.uid = true;
            first = false;
            i = r;
            continue;
        }
        first = false;
        let (r, ()) = sp(r)?;
        let (r, item) = match upper.as_str() {
            "MIN" => number(r).map(|(r, n)| (r, ESearchItem::Min(n)))?,
            "MAX" => number(r).map(|(r, n)| (r, ESearchItem::Max(n)))?,
            "COUNT" => number(r).map(|(r, n)| (r, ESearchItem::Count(n)))?,
            "MODSEQ" => number64(r).map(|(r, n)| (r, ESearchItem::ModSeq(n)))?,
            "ALL" => uid_set(r).map(|(r, s)| (r, ESearchItem::All(s)))?,
            _ => {
                return Err(ParseError::fail(
                    &i[1..],
                    "expected MIN, MAX, ALL, COUNT or MODSEQ",
                ));
            }
        };
        e.items.push(item);
        i = r;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::resp::{Data, Response, parse_response};

    fn rt(line: &[u8]) -> Response {
        let (n, r) = parse_response(line, Ctx::REV1).unwrap();
        assert_eq!(n, line.len());
        let mut out = Vec::new();
        r.encode(&mut out, Ctx::REV1);
        assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(line));
        r
    }

    #[test]
    fn search_lines() {
        assert_eq!(
            rt(b"* SEARCH 2 84 882\r\n"),
            Response::Data(Data::Search {
                nums: vec![2, 84, 882],
                modseq: None
            })
        );
        rt(b"* SEARCH\r\n");
        assert_eq!(
            rt(b"* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n"),
            Response::Data(Data::Search {
                nums: vec![2, 5, 6, 7, 11, 12, 18, 19, 20, 23],
                modseq: Some(917162500)
            })
        );
        // RFC 9051 6.4.4
        assert_eq!(
            rt(b"* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n"),
            Response::Data(Data::ESearch(ESearch {
                tag: Some("A282".into()),
                uid: false,
                items: vec![ESearchItem::Min(2), ESearchItem::Count(3)]
            }))
        );
        rt(b"* ESEARCH (TAG \"A283\") ALL 2,10:11\r\n");
        rt(b"* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800\r\n");
        rt(b"* ESEARCH (TAG \"A286\") COUNT 15\r\n");
        rt(b"* ESEARCH UID COUNT 17 ALL 4:18,21,28\r\n");
        rt(b"* ESEARCH\r\n");
        assert!(parse_response(b"* ESEARCH FOO 1\r\n", Ctx::REV1).is_err());
        assert!(parse_response(b"* SEARCH 0\r\n", Ctx::REV1).is_err());
    }
}
