//! SMTP transcripts (`conformance/smtp/*.txt`, format in
//! `conformance/README.md`, section SMTP): the IMAP line syntax of
//! [`crate::transcript`] plus the SMTP directives `@port`, `@stored`,
//! `@wait` and `@production`, and the bare-core run with snapshots
//! (`snapshots/smtp__<name>.snap`).
//!
//! - [`smtp_transcripts`] reads and parses every transcript;
//! - [`run_core_all`] runs them on the bare core ([`crate::smtp_core`]),
//!   compares, snapshots (the exchange and then every stored message) and
//!   runs the store's consistency check;
//! - [`crate::smtp_loopback::run_all`] runs them over real sockets.

use std::path::{Path, PathBuf};

use crate::transcript::{self, ParseError, Step, Transcript};
use crate::{Verdict, judge};

/// Which listener a connection goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// Inbound SMTP (port 25; localserve 1025), STARTTLS offered.
    Smtp,
    /// Submission with STARTTLS (587; localserve 1587), AUTH required.
    Submission,
    /// Submission with implicit TLS (465; localserve 1465).
    Submissions,
}

impl Port {
    fn parse(s: &str) -> Option<Port> {
        match s {
            "smtp" => Some(Port::Smtp),
            "submission" => Some(Port::Submission),
            "submissions" => Some(Port::Submissions),
            _ => None,
        }
    }
}

/// One instruction of an SMTP transcript, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmtpStep {
    /// A step of the shared syntax (`C:`, `C~`, `S:`, `@session`, `@eof`).
    Line(Step),
    /// `@port P`: connections opened from here on go to `P`.
    Port(Port),
    /// `@stored N`: the store holds exactly `N` messages now (every account
    /// and mailbox).
    Stored(usize),
    /// `@wait S`: `S` seconds pass without input (the core's clock jumps;
    /// timers that come due fire). Core only.
    Wait(u64),
}

/// A parsed SMTP transcript.
#[derive(Debug, Clone, Default)]
pub struct SmtpTranscript {
    /// Name, marks (`@known-failure`, `@core-only`, `@plain`, `@password`);
    /// its `steps` are empty (see [`SmtpTranscript::steps`]).
    pub meta: Transcript,
    /// `@production`: the core runs the production policy (no catch-all,
    /// no failures on purpose) instead of localserve's; not run over the
    /// runtimes, which serve localserve.
    pub production: bool,
    /// The steps in order.
    pub steps: Vec<SmtpStep>,
}

/// Parses SMTP transcript text: lines of the shared syntax are parsed by
/// [`transcript::parse`] in runs between the SMTP directives (line numbers
/// stay those of the file).
pub fn parse(name: &str, text: &str) -> Result<SmtpTranscript, ParseError> {
    let mut t = SmtpTranscript {
        meta: Transcript {
            name: name.to_string(),
            ..Transcript::default()
        },
        ..SmtpTranscript::default()
    };
    let lines: Vec<&str> = text.lines().collect();
    // The run of shared-syntax lines since the last directive; other lines
    // are blank so that errors name the right line.
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, t: &mut SmtpTranscript| -> Result<(), ParseError> {
        let part = transcript::parse(name, &run.join("\n"))?;
        if part.known_failure.is_some() {
            t.meta.known_failure = part.known_failure;
        }
        if part.core_only.is_some() {
            t.meta.core_only = part.core_only;
        }
        t.meta.plain |= part.plain;
        if part.scram_password != "moxmoxmox" || t.meta.scram_password.is_empty() {
            t.meta.scram_password = part.scram_password;
        }
        t.steps.extend(part.steps.into_iter().map(SmtpStep::Line));
        run.iter_mut().for_each(|l| *l = "");
        Ok(())
    };
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim_end_matches('\r');
        let err = |reason: String| ParseError {
            line: i + 1,
            reason,
        };
        let directive = line
            .strip_prefix('@')
            .map(|d| d.split_once(' ').unwrap_or((d, "")))
            .map(|(w, a)| (w, a.trim()));
        match directive {
            Some(("port", arg)) => {
                flush(&mut run, &mut t)?;
                let p = Port::parse(arg).ok_or_else(|| {
                    err(format!("@port smtp|submission|submissions, not {arg:?}"))
                })?;
                t.steps.push(SmtpStep::Port(p));
                run.push("");
            }
            Some(("stored", arg)) => {
                flush(&mut run, &mut t)?;
                let n = arg
                    .parse()
                    .map_err(|_| err(format!("@stored needs a number, not {arg:?}")))?;
                t.steps.push(SmtpStep::Stored(n));
                run.push("");
            }
            Some(("wait", arg)) => {
                flush(&mut run, &mut t)?;
                let n = arg
                    .parse()
                    .map_err(|_| err(format!("@wait needs seconds, not {arg:?}")))?;
                t.steps.push(SmtpStep::Wait(n));
                run.push("");
            }
            Some(("production", "")) => {
                t.production = true;
                run.push("");
            }
            _ => run.push(line),
        }
    }
    flush(&mut run, &mut t)?;
    let waits = t.steps.iter().any(|s| matches!(s, SmtpStep::Wait(_)));
    if waits && t.meta.core_only.is_none() {
        t.meta.core_only = Some("@wait: the core's clock jumps, a real one would not".into());
    }
    if t.production && t.meta.core_only.is_none() {
        t.meta.core_only =
            Some("@production: the runtimes serve localserve's policy, not production's".into());
    }
    let submissions_plain = t.meta.plain && t.steps.contains(&SmtpStep::Port(Port::Submissions));
    if submissions_plain {
        return Err(ParseError {
            line: 0,
            reason: "@plain with @port submissions: that port is TLS only".into(),
        });
    }
    Ok(t)
}

/// The directory of the SMTP transcripts.
pub fn smtp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp")
}

/// Every SMTP transcript, sorted by name; `TRANSCRIPT=substring` in the
/// environment selects some.
pub fn smtp_transcripts() -> Result<Vec<SmtpTranscript>, String> {
    let dir = smtp_dir();
    let filter = std::env::var("TRANSCRIPT").ok();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        out.push(parse(&name, &text).map_err(|e| format!("{}: {e}", p.display()))?);
    }
    Ok(out)
}

/// Runs one transcript on a fresh bare core.
pub fn run_core(t: &SmtpTranscript) -> crate::Outcome {
    run_core_cut(t, None)
}

/// Runs one transcript on a fresh bare core, every client send cut as
/// `cuts` says (see [`crate::chunked`]).
pub fn run_core_cut(t: &SmtpTranscript, cuts: Option<crate::chunked::Cuts>) -> crate::Outcome {
    match crate::smtp_core::SmtpCore::new(t.meta.plain, t.production, cuts) {
        Ok(c) => crate::smtp_runner::run(t, c),
        Err(e) => crate::Outcome {
            failure: Some(e),
            log: Vec::new(),
        },
    }
}

/// Runs every SMTP transcript on the bare core, checks each snapshot
/// (`snapshots/smtp__<name>.snap`), and returns (name, verdict) pairs.
pub fn run_core_all() -> Result<Vec<(String, Verdict)>, String> {
    let transcripts = smtp_transcripts()?;
    let outcomes = crate::par_map(&transcripts, run_core);
    let mut results = Vec::new();
    for (t, o) in transcripts.iter().zip(outcomes) {
        let mut v = judge(&t.meta, &o);
        if let Err(e) = check_snapshot(&t.meta.name, &o.snapshot())
            && matches!(v, Verdict::Passed | Verdict::KnownFailure { .. })
        {
            v = Verdict::Failed(format!("snapshot: {e}"));
        }
        results.push((t.meta.name.clone(), v));
    }
    Ok(results)
}

/// Compares (or, as insta decides, writes) the snapshot `smtp__<name>`.
fn check_snapshot(name: &str, content: &str) -> Result<(), String> {
    let mut settings = insta::Settings::clone_current();
    // Relative to this file (conformance/src/smtp.rs).
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    let name = format!("smtp__{name}");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, content));
    }));
    result.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "snapshot assertion failed".to_string())
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_split_the_runs() {
        let t = parse(
            "x",
            "# c\n@port submission\n@plain\nC: EHLO a\nS: 250 {{any}}\n@stored 0\n@session 2\n@port smtp\nC: QUIT\n",
        )
        .unwrap();
        assert!(t.meta.plain);
        assert_eq!(
            t.steps,
            vec![
                SmtpStep::Port(Port::Submission),
                SmtpStep::Line(Step::Send(b"EHLO a\r\n".to_vec())),
                SmtpStep::Line(Step::Expect("250 {{any}}".into())),
                SmtpStep::Stored(0),
                SmtpStep::Line(Step::Session(2)),
                SmtpStep::Port(Port::Smtp),
                SmtpStep::Line(Step::Send(b"QUIT\r\n".to_vec())),
            ]
        );
        let e = parse("x", "C: NOOP\n\n@port imap\n").unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("x", "C: NOOP\n@bogus\n").unwrap_err();
        assert_eq!(e.line, 2);
        let t = parse("x", "@production\n@known-failure why\nC: NOOP\n").unwrap();
        assert!(t.production && t.meta.core_only.is_some());
        assert_eq!(t.meta.known_failure.as_deref(), Some("why"));
    }
}
