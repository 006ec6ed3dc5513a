//! Every SMTP transcript on the bare core, with snapshots in `snapshots/`
//! (the exchange and every stored message) and the store's consistency
//! check after each; then the same under any chunking of the input.

#[test]
fn smtp_transcripts_on_the_core() {
    let results = moxide_conformance::smtp::run_core_all().unwrap();
    assert!(
        results.len() >= 55 || std::env::var("TRANSCRIPT").is_ok(),
        "only {} SMTP transcripts",
        results.len()
    );
    let failed = moxide_conformance::report("smtp core", &results);
    assert!(
        failed.is_empty(),
        "failed transcripts:\n{}",
        failed.join("\n")
    );
}

/// RFC 5321 2.3.8 and 4.5.3.1: the server reads a byte stream; however
/// the client's bytes are cut into reads (byte by byte, or pieces of 1 to
/// 16 bytes), the exchange and what is stored are the same.
#[test]
fn smtp_transcripts_under_any_chunking() {
    use moxide_conformance::chunked::Cuts;
    use moxide_conformance::smtp::{SmtpStep, SmtpTranscript};
    use moxide_conformance::smtp::{run_core, run_core_cut, smtp_transcripts};
    use moxide_conformance::transcript::Step;

    /// The client bytes of `t`.
    fn client_bytes(t: &SmtpTranscript) -> usize {
        t.steps
            .iter()
            .map(|s| match s {
                SmtpStep::Line(Step::Send(b)) => b.len(),
                _ => 0,
            })
            .sum()
    }

    /// A send with bytes after `STARTTLS` CRLF (command injection): the
    /// server discards what it has read with the command (RFC 3207 4);
    /// bytes cut off into a later read would reach a real server's TLS
    /// handshake as garbage, which the core (pretended TLS) cannot model.
    fn injects_after_starttls(t: &SmtpTranscript) -> bool {
        t.steps.iter().any(|s| match s {
            SmtpStep::Line(Step::Send(b)) => b
                .windows(10)
                .position(|w| w.eq_ignore_ascii_case(b"STARTTLS\r\n"))
                .is_some_and(|i| i + 10 < b.len()),
            _ => false,
        })
    }

    let transcripts: Vec<_> = smtp_transcripts()
        .unwrap()
        .into_iter()
        .filter(|t| !injects_after_starttls(t))
        .collect();
    let failed: Vec<String> = moxide_conformance::par_map(&transcripts, |t| {
        let whole = run_core(t).snapshot();
        let mut failed = Vec::new();
        let mut cuttings = vec![Cuts::Seeded(0x9e37_79b9_7f4a_7c15)];
        if client_bytes(t) <= 2000 {
            cuttings.push(Cuts::Bytes);
        }
        for cuts in cuttings {
            let chunked = run_core_cut(t, Some(cuts)).snapshot();
            if chunked != whole {
                failed.push(format!(
                    "{} with {cuts:?}:\n--- whole\n{whole}--- chunked\n{chunked}",
                    t.meta.name
                ));
            }
        }
        failed
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
