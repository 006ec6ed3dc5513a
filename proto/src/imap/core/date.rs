//! Dates (`date`, used by SEARCH) and date-times (`date-time`, used by
//! APPEND and INTERNALDATE), RFC 9051 9.

use super::error::{IResult, ParseError};
use super::{byte, sp};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar date, as in `SINCE 1-Feb-1994`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// Four-digit year.
    pub year: u16,
    /// 1–12.
    pub month: u8,
    /// 1–31 (checked against the month).
    pub day: u8,
}

/// A date and time with zone, as in `"17-Jul-1996 02:44:25 -0700"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// The date.
    pub date: Date,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
    /// 0–60 (leap second).
    pub second: u8,
    /// Offset from UTC in minutes, -2359..=2359 as hhmm → minutes.
    pub zone_minutes: i16,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        _ => 28,
    }
}

impl Date {
    /// A valid date, or None.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month) {
            Some(Date { year, month, day })
        } else {
            None
        }
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(&self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }

    /// The date of a day number since 1970-01-01.
    pub fn from_days_since_epoch(z: i64) -> Date {
        let z = z + 719468;
        let era = z.div_euclid(146097);
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)).clamp(0, 9999) as u16;
        Date { year, month, day }
    }

    /// Writes `d-Mon-yyyy`.
    pub fn write(&self, out: &mut Vec<u8>) {
        super::write_number(out, self.day);
        out.push(b'-');
        out.extend_from_slice(MONTHS[usize::from(self.month.clamp(1, 12) - 1)].as_bytes());
        out.push(b'-');
        write_digits(out, u32::from(self.year), 4);
    }
}

impl DateTime {
    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.date.days_since_epoch() * 86400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.zone_minutes) * 60
    }

    /// The date-time of a Unix timestamp, expressed in the zone `zone_minutes`.
    pub fn from_unix_seconds(t: i64, zone_minutes: i16) -> DateTime {
        let local = t + i64::from(zone_minutes) * 60;
        let days = local.div_euclid(86400);
        let secs = local.rem_euclid(86400);
        DateTime {
            date: Date::from_days_since_epoch(days),
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
            zone_minutes,
        }
    }

    /// Writes `"dd-Mon-yyyy hh:mm:ss +hhmm"` with the quotes (RFC 9051
    /// `date-time`; the day is padded with a space).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        if self.date.day < 10 {
            out.push(b' ');
        }
        self.date.write(out);
        out.push(b' ');
        write_digits(out, u32::from(self.hour), 2);
        out.push(b':');
        write_digits(out, u32::from(self.minute), 2);
        out.push(b':');
        write_digits(out, u32::from(self.second), 2);
        out.push(b' ');
        out.push(if self.zone_minutes < 0 { b'-' } else { b'+' });
        let z = self.zone_minutes.unsigned_abs();
        write_digits(out, u32::from(z / 60 * 100 + z % 60), 4);
        out.push(b'"');
    }
}

/// Writes `v` as exactly `width` digits, zero-padded (larger values are
/// written in full). Allocates nothing.
fn write_digits(out: &mut Vec<u8>, v: u32, width: usize) {
    let mut buf = [b'0'; 10];
    let mut n = v;
    let mut len = 0;
    while n > 0 || len == 0 {
        buf[9 - len] = b'0' + (n % 10) as u8;
        n /= 10;
        len += 1;
    }
    let len = len.max(width.min(10));
    out.extend_from_slice(&buf[10 - len..]);
}

fn digits(i: &[u8], min: usize, max: usize) -> IResult<'_, u32> {
    let n = i
        .iter()
        .take(max)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if n == i.len() && n < max {
        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
    }
    if n < min {
        return Err(ParseError::fail(i, "expected digits"));
    }
    let v = i[..n]
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Ok((&i[n..], v))
}

fn month(i: &[u8]) -> IResult<'_, u8> {
    if i.len() < 3 {
        return Err(nom::Err::Incomplete(nom::Needed::new(3 - i.len())));
    }
    for (n, m) in MONTHS.iter().enumerate() {
        if i[..3].eq_ignore_ascii_case(m.as_bytes()) {
            return Ok((&i[3..], n as u8 + 1));
        }
    }
    Err(ParseError::fail(i, "expected a month name (Jan…Dec)"))
}

fn date_text(i: &[u8]) -> IResult<'_, Date> {
    let start = i;
    let (i, day) = digits(i, 1, 2)?;
    let (i, ()) = byte(b'-')(i)?;
    let (i, m) = month(i)?;
    let (i, ()) = byte(b'-')(i)?;
    let (i, year) = digits(i, 4, 4)?;
    let d = Date::new(year as u16, m, day as u8)
        .ok_or_else(|| ParseError::fail(start, "no such date"))?;
    Ok((i, d))
}

/// `date` (RFC 9051 9): `date-text / DQUOTE date-text DQUOTE`.
pub fn date(i: &[u8]) -> IResult<'_, Date> {
    match i.first() {
        Some(b'"') => {
            let (i, d) = date_text(&i[1..])?;
            let (i, ()) = byte(b'"')(i)?;
            Ok((i, d))
        }
        _ => date_text(i),
    }
}

/// `date-time` (RFC 9051 9): `DQUOTE date-day-fixed "-" date-month "-"
/// date-year SP time SP zone DQUOTE`. A day written without its padding
/// space is accepted too (clients do send it).
pub fn date_time(i: &[u8]) -> IResult<'_, DateTime> {
    let start = i;
    let (i, ()) = byte(b'"')(i)?;
    let i = match i.first() {
        Some(b' ') => &i[1..],
        _ => i,
    };
    let (i, date) = date_text(i)?;
    let (i, ()) = sp(i)?;
    let (i, hour) = digits(i, 2, 2)?;
    let (i, ()) = byte(b':')(i)?;
    let (i, minute) = digits(i, 2, 2)?;
    let (i, ()) = byte(b':')(i)?;
    let (i, second) = digits(i, 2, 2)?;
    let (i, ()) = sp(i)?;
    let (i, neg) = match i.first() {
        Some(b'+') => (&i[1..], false),
        Some(b'-') => (&i[1..], true),
        Some(_) => return Err(ParseError::fail(i, "expected a zone (+hhmm or -hhmm)")),
        None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
    };
    let (i, zone) = digits(i, 4, 4)?;
    let (i, ()) = byte(b'"')(i)?;
    if hour > 23 || minute > 59 || second > 60 || zone % 100 > 59 {
        return Err(ParseError::fail(start, "invalid time or zone"));
    }
    let z = (zone / 100 * 60 + zone % 100) as i16;
    Ok((
        i,
        DateTime {
            date,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            zone_minutes: if neg { -z } else { z },
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        let (_, d) = date(b"1-Feb-1994 ").unwrap();
        assert_eq!(d, Date::new(1994, 2, 1).unwrap());
        assert_eq!(date(b"\"01-feb-1994\" ").unwrap().1, d);
        assert!(date(b"30-Feb-1994 ").is_err());
        assert!(date(b"1-Foo-1994 ").is_err());
        let mut out = Vec::new();
        d.write(&mut out);
        assert_eq!(out, b"1-Feb-1994");
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(
            Date::from_days_since_epoch(0),
            Date::new(1970, 1, 1).unwrap()
        );
        assert_eq!(
            Date::from_days_since_epoch(11016),
            Date::new(2000, 2, 29).unwrap()
        );
    }

    #[test]
    fn date_times() {
        let (_, dt) = date_time(b"\"17-Jul-1996 02:44:25 -0700\" ").unwrap();
        assert_eq!(dt.zone_minutes, -420);
        assert_eq!(dt.unix_seconds(), 837_596_665);
        let mut out = Vec::new();
        dt.write(&mut out);
        assert_eq!(out, b"\"17-Jul-1996 02:44:25 -0700\"");
        let (_, dt) = date_time(b"\" 7-Jul-1996 02:44:25 +0130\" ").unwrap();
        out.clear();
        dt.write(&mut out);
        assert_eq!(out, b"\" 7-Jul-1996 02:44:25 +0130\"");
        assert_eq!(DateTime::from_unix_seconds(dt.unix_seconds(), 90), dt);
        assert!(date_time(b"\"17-Jul-1996 24:44:25 -0700\" ").is_err());
        assert!(matches!(
            date_time(b"\"17-Jul-19"),
            Err(nom::Err::Incomplete(_))
        ));
    }
}
