//! Every IMAP transcript on the bare core, with snapshots in `snapshots/`
//! and the store's consistency check after each.

#[test]
fn imap_transcripts_on_the_core() {
    let results = moxide_conformance::run_core_all().unwrap();
    assert!(!results.is_empty(), "no transcripts found");
    let failed = moxide_conformance::report("core", &results);
    assert!(
        failed.is_empty(),
        "failed transcripts:\n{}",
        failed.join("\n")
    );
}

/// RFC 9051 2.2: the server reads a byte stream; however the client's
/// bytes are cut into reads, the exchange is the same. Every transcript
/// runs with a few seeded cuttings (and byte by byte when short) and must
/// log exactly what the whole-send run logs.
#[test]
fn imap_transcripts_under_any_chunking() {
    use moxide_conformance::chunked::{Cuts, client_bytes, run_core_chunked};
    let transcripts = moxide_conformance::imap_transcripts().unwrap();
    let failed: Vec<String> = moxide_conformance::par_map(&transcripts, |t| {
        let whole = moxide_conformance::run_core(t).snapshot();
        let mut cuttings = vec![Cuts::Seeded(0x9e37_79b9_7f4a_7c15), Cuts::Seeded(7)];
        if client_bytes(t) <= 600 {
            cuttings.push(Cuts::Bytes);
        }
        let mut failed = Vec::new();
        for cuts in cuttings {
            let chunked = run_core_chunked(t, cuts).snapshot();
            if chunked != whole {
                failed.push(format!(
                    "{} with {cuts:?}:\n--- whole\n{whole}--- chunked\n{chunked}",
                    t.name
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
