//! The DKIM fixtures of `dns/dkim/*.yaml` (format at the top of
//! `dns/dkim/verify.yaml`): every message verified with keys answered from
//! its document's zone; statuses, reasons and lookups compared.

use std::path::{Path, PathBuf};
use std::time::Instant;

use moxide_conformance::dns_fixture::{load_documents, scalar, zone_of_document};
use moxide_proto::dkim::Verifier;
use moxide_proto::dns::run;
use yaml_rust2::Yaml;

fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dns/dkim");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures in {}", dir.display());
    v
}

fn list(y: &Yaml) -> Option<Vec<String>> {
    match y {
        Yaml::Array(a) => Some(a.iter().map(|x| scalar(x).unwrap_or_default()).collect()),
        _ => None,
    }
}

/// The differences between one test's expectations and the verification.
fn check(zone: &moxide_proto::dns::Zone, t: &Yaml) -> Vec<String> {
    let msg = scalar(&t["message"])
        .expect("message")
        .replace('\n', "\r\n");
    let now = t["now"].as_i64().map_or(0, |n| u64::try_from(n).unwrap());
    let (v, asked) = run(
        &mut Verifier::new(msg.as_bytes(), now),
        zone,
        Instant::now(),
    );
    let mut diffs = Vec::new();
    let got: Vec<String> = v.results.iter().map(|r| r.status.to_string()).collect();
    let want = list(&t["results"]).expect("results");
    if got != want {
        let reasons: Vec<String> = v.results.iter().map(|r| r.reason()).collect();
        diffs.push(format!("results: want {want:?}, got {got:?} ({reasons:?})"));
    }
    if let Some(reasons) = list(&t["reasons"]) {
        for (i, want) in reasons.iter().enumerate() {
            let got = v.results.get(i).map(|r| r.reason()).unwrap_or_default();
            if !got.contains(want.as_str()) {
                diffs.push(format!("reason {}: want {want:?} in {got:?}", i + 1));
            }
        }
    }
    if let Some(lookups) = list(&t["lookups"]) {
        let got: Vec<String> = asked.iter().map(|q| q.name.clone()).collect();
        if got != lookups {
            diffs.push(format!("lookups: want {lookups:?}, got {got:?}"));
        }
    }
    diffs
}

#[test]
fn dkim_fixtures() {
    let mut failures = Vec::new();
    let mut count = 0;
    for path in files() {
        for doc in load_documents(&path).unwrap() {
            let zone = zone_of_document(&doc).unwrap();
            let Yaml::Hash(tests) = &doc["tests"] else {
                panic!("{}: no tests", path.display())
            };
            for (name, t) in tests {
                let name = scalar(name).unwrap();
                count += 1;
                for f in check(&zone, t) {
                    failures.push(format!("{}: {name}: {f}", path.display()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(count, 9, "every fixture ran");
}
