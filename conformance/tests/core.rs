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
