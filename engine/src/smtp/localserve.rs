//! Localserve's addresses that fail on purpose, so client developers can
//! test their error handling (as mox localserve).
//!
//! The local part decides:
//! - ends in `temperror`: `451 4.3.0`;
//! - ends in `permerror`: `550 5.0.0`;
//! - ends in a code 400..=599 (`…452`): that code, with enhanced code
//!   `4.0.0` or `5.0.0`;
//! - ends in `timeout`: no reply until [`SmtpConfig::localserve_timeout`]
//!   passes, then `421 4.4.2` and the connection closes.
//!
//! By default the failure comes at the end of DATA (for any recipient of
//! the transaction). A local part starting with `mailfrom` (in MAIL FROM)
//! or `rcptto` (in RCPT TO) moves it to that command.
//!
//! [`SmtpConfig::localserve_timeout`]: super::SmtpConfig::localserve_timeout

use moxide_proto::smtp::Reply;

/// When a failure on purpose happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// At MAIL FROM (local part starts with `mailfrom`).
    MailFrom,
    /// At RCPT TO (local part starts with `rcptto`).
    RcptTo,
    /// At the end of DATA.
    Data,
}

/// A failure on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Reply with this error.
    Reply(Reply),
    /// Give no reply until the localserve timeout, then close.
    Timeout,
}

/// The failure a local part asks for, and when; `None` for an ordinary
/// address.
pub fn failure(local_part: &str) -> Option<(Stage, Failure)> {
    let lp = local_part.to_ascii_lowercase();
    let stage = if lp.starts_with("mailfrom") {
        Stage::MailFrom
    } else if lp.starts_with("rcptto") {
        Stage::RcptTo
    } else {
        Stage::Data
    };
    let f = if lp.ends_with("temperror") {
        Failure::Reply(Reply::with(451, (4, 3, 0), "temporary error on purpose"))
    } else if lp.ends_with("permerror") {
        Failure::Reply(Reply::with(550, (5, 0, 0), "permanent error on purpose"))
    } else if lp.ends_with("timeout") {
        Failure::Timeout
    } else {
        let tail = lp.get(lp.len().checked_sub(3)?..)?;
        if !tail.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let code: u16 = tail.parse().ok()?;
        let class = match code {
            400..=499 => 4,
            500..=599 => 5,
            _ => return None,
        };
        Failure::Reply(Reply::with(code, (class, 0, 0), "error on purpose"))
    };
    Some((stage, f))
}

/// The failure for a local part at `stage`, if it asks for one then.
pub fn failure_at(local_part: &str, stage: Stage) -> Option<Failure> {
    failure(local_part).and_then(|(s, f)| (s == stage).then_some(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(lp: &str) -> Option<(Stage, Vec<u8>)> {
        failure(lp).map(|(s, f)| match f {
            Failure::Reply(r) => (s, r.to_bytes()),
            Failure::Timeout => (s, b"timeout".to_vec()),
        })
    }

    #[test]
    fn rules() {
        assert_eq!(code("mox"), None);
        assert_eq!(code("a12"), None);
        assert_eq!(code("x399"), None);
        assert_eq!(code("x600"), None);
        assert_eq!(
            code("temperror"),
            Some((
                Stage::Data,
                b"451 4.3.0 temporary error on purpose\r\n".to_vec()
            ))
        );
        assert_eq!(
            code("userPermError"),
            Some((
                Stage::Data,
                b"550 5.0.0 permanent error on purpose\r\n".to_vec()
            ))
        );
        assert_eq!(
            code("rcptto550"),
            Some((Stage::RcptTo, b"550 5.0.0 error on purpose\r\n".to_vec()))
        );
        assert_eq!(
            code("mailfrom452"),
            Some((Stage::MailFrom, b"452 4.0.0 error on purpose\r\n".to_vec()))
        );
        assert_eq!(
            code("rcpttotimeout"),
            Some((Stage::RcptTo, b"timeout".to_vec()))
        );
        assert_eq!(failure_at("rcptto550", Stage::Data), None);
        assert_eq!(failure_at("é", Stage::Data), None);
    }
}
