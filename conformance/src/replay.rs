//! `moxide replay FILE` (issue 4): runs a transcript on the bare core (a
//! fresh temporary account, fixed clock, fixed UIDVALIDITY and ids,
//! deterministic nonces) and renders the whole exchange, so client
//! behaviour can be tried without a network. Two runs of the same file
//! give the same bytes.

use std::path::Path;

use crate::runner::run_echo;
use crate::transcript::{Step, parse};

/// Exit status: the `S:` lines matched, or the file has none.
pub const STATUS_OK: u8 = 0;
/// Exit status: an `S:` expectation failed (or the store's check did).
pub const STATUS_MISMATCH: u8 = 1;
/// Exit status: the file could not be read or parsed.
pub const STATUS_BAD_FILE: u8 = 2;

/// The result of a replay: the text to print and the exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// `C: ` client lines, `S: ` server lines, `@session N` switches, then
    /// a `# result:` line.
    pub output: String,
    /// [`STATUS_OK`], [`STATUS_MISMATCH`] or [`STATUS_BAD_FILE`].
    pub status: u8,
}

/// Replays the transcript in file `path`.
pub fn replay_file(path: &Path) -> Replay {
    let text = match std::fs::read(path) {
        Ok(b) => match String::from_utf8(b) {
            Ok(t) => t,
            Err(_) => return bad(format!("{}: not UTF-8 text", path.display())),
        },
        Err(e) => return bad(format!("{}: {e}", path.display())),
    };
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "replay".to_string());
    replay_text(&name, &text).unwrap_or_else(|e| bad(format!("{}: {e}", path.display())))
}

/// Replays transcript text; `Err` when it does not parse (or has no
/// client line).
pub fn replay_text(name: &str, text: &str) -> Result<Replay, String> {
    let t = parse(name, text).map_err(|e| e.to_string())?;
    if !t.steps.iter().any(|s| !matches!(s, Step::Expect(_))) {
        return Err("no C: line: nothing to replay".to_string());
    }
    let has_expectations = t.steps.iter().any(|s| matches!(s, Step::Expect(_)));
    let outcome = match crate::core::Core::for_transcript(&t) {
        Ok(mut c) => run_echo(&t, &mut c),
        Err(e) => return Err(e),
    };
    let mut output = outcome.log.join("\n");
    output.push('\n');
    let status = match &outcome.failure {
        None if has_expectations => {
            output.push_str("# result: every S: expectation matched\n");
            STATUS_OK
        }
        None => {
            output.push_str("# result: no S: expectations in the file\n");
            STATUS_OK
        }
        Some(f) => {
            output.push_str("# result: FAILED: ");
            output.push_str(f);
            output.push('\n');
            STATUS_MISMATCH
        }
    };
    Ok(Replay { output, status })
}

fn bad(message: String) -> Replay {
    Replay {
        output: format!("moxide replay: {message}\n"),
        status: STATUS_BAD_FILE,
    }
}
