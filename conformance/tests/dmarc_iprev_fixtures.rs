//! The DMARC and iprev fixtures of `dns/dmarc/*.yaml` and `dns/iprev/*.yaml`
//! (format in README.md, "DNS fixtures"): every test's evaluation answered
//! from its document's zone, compared with the expected values.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use moxide_conformance::dns_fixture::{load_documents, scalar, zone_of_document};
use moxide_proto::dmarc::{self, CheckOutcome, Identifier};
use moxide_proto::dns::run;
use moxide_proto::iprev;
use yaml_rust2::Yaml;

fn files(topic: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("dns")
        .join(topic);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no fixtures in {}", dir.display());
    v
}

fn text(y: &Yaml, key: &str) -> Option<String> {
    scalar(&y[key])
}

fn outcome(s: &str) -> CheckOutcome {
    match s {
        "pass" => CheckOutcome::Pass,
        "temperror" => CheckOutcome::TempError,
        "other" => CheckOutcome::Other,
        _ => panic!("unknown outcome {s:?}"),
    }
}

fn identifier(y: &Yaml) -> Identifier {
    let d = scalar(&y[0]).expect("identifier domain");
    let o = scalar(&y[1]).expect("identifier outcome");
    Identifier {
        domain: d,
        outcome: outcome(&o),
    }
}

/// Runs every test of every document of `topic` with `check`, which returns
/// the differences from the expectations; fails listing them all.
fn run_all(
    topic: &str,
    check: impl Fn(&moxide_proto::dns::Zone, &str, &Yaml) -> Vec<String>,
) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for path in files(topic) {
        for doc in load_documents(&path).unwrap() {
            let zone = zone_of_document(&doc).unwrap();
            let Yaml::Hash(tests) = &doc["tests"] else {
                panic!("{}: no tests", path.display())
            };
            for (name, t) in tests {
                let name = scalar(name).unwrap();
                count += 1;
                for f in check(&zone, &name, t) {
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
    count
}

#[test]
fn dmarc_fixtures() {
    let n = run_all("dmarc", |zone, _name, t| {
        let input = dmarc::Input {
            from_domain: text(t, "from").expect("from"),
            spf: match &t["spf"] {
                Yaml::BadValue => None,
                y => Some(identifier(y)),
            },
            dkim: match &t["dkim"] {
                Yaml::Array(a) => a.iter().map(identifier).collect(),
                _ => Vec::new(),
            },
            sample: t["sample"].as_i64().map_or(0, |s| u8::try_from(s).unwrap()),
        };
        let now = Instant::now();
        let mut ev = dmarc::Evaluator::new(input, now + Duration::from_secs(20));
        let (e, asked) = run(&mut ev, zone, now);
        let mut diffs = Vec::new();
        let mut want = |key: &str, got: String| {
            if let Some(w) = text(t, key)
                && w != got
            {
                diffs.push(format!("{key}: want {w}, got {got}"));
            }
        };
        want("result", e.result.to_string());
        want("disposition", e.disposition.to_string());
        want("policy-domain", e.policy_domain.clone().unwrap_or_default());
        if let Yaml::Array(l) = &t["lookups"] {
            let want: Vec<String> = l.iter().filter_map(scalar).collect();
            let got: Vec<String> = asked.iter().map(|q| q.name.clone()).collect();
            if want != got {
                diffs.push(format!("lookups: want {want:?}, got {got:?}"));
            }
        }
        diffs
    });
    assert!(n >= 16, "only {n} DMARC fixtures ran");
}

#[test]
fn iprev_fixtures() {
    let n = run_all("iprev", |zone, _name, t| {
        let ip = text(t, "ip").expect("ip").parse().expect("ip address");
        let now = Instant::now();
        let mut ev = iprev::Evaluator::new(ip, now + Duration::from_secs(20));
        let (r, _) = run(&mut ev, zone, now);
        let mut diffs = Vec::new();
        if text(t, "result").as_deref() != Some(&r.result.to_string()) {
            diffs.push(format!(
                "result: want {:?}, got {}",
                text(t, "result"),
                r.result
            ));
        }
        if text(t, "host") != r.host {
            diffs.push(format!(
                "host: want {:?}, got {:?}",
                text(t, "host"),
                r.host
            ));
        }
        diffs
    });
    assert!(n >= 6, "only {n} iprev fixtures ran");
}
