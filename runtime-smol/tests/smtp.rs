//! `moxide localserve` SMTP end to end: Python's smtplib over SMTP
//! (STARTTLS), submission (AUTH PLAIN on loopback) and submissions
//! (implicit TLS), each message read back over IMAPS; the recipients that
//! fail on purpose. Skips, saying so, only when python3 is missing.

const BIN: &str = env!("CARGO_BIN_EXE_moxide");

mod common;

include!("cases/smtp.rs");
