//! `moxide config account …` as an admin runs it, with `--config` (a
//! moxide.toml for a.test) and with `--dir` (a localserve directory):
//! exact output and exit statuses, and the data in the store afterwards.

use std::path::Path;

use moxide_storage::{Store, StoreConfig};

#[path = "common/cli.rs"]
mod cli;

use cli::run_moxide;

/// (stdout, stderr, exit code; -1 for a signal) of `moxide config ARGS`
/// with `stdin`.
fn config(args: &[&str], stdin: &str) -> (String, String, i32) {
    let (out, err, code) = run_moxide(["config"].iter().chain(args), stdin.as_bytes()).parts();
    (out, err, code.unwrap_or(-1))
}

fn ok(s: &str) -> (String, String, i32) {
    (s.to_string(), String::new(), 0)
}

fn err(s: &str) -> (String, String, i32) {
    (String::new(), format!("moxide config: {s}\n"), 1)
}

fn write_config(d: &Path) -> String {
    std::fs::write(d.join("c.pem"), "x").unwrap();
    std::fs::write(d.join("k.pem"), "x").unwrap();
    std::fs::write(
        d.join("moxide.toml"),
        "hostname = \"mail.a.test\"\ndata_dir = \"data\"\n[[listeners]]\nips = [\"127.0.0.1\"]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nimaps = 0\n",
    )
    .unwrap();
    std::fs::write(d.join("domains.toml"), "[domains.\"a.test\"]\n").unwrap();
    d.join("moxide.toml").to_str().unwrap().to_string()
}

#[test]
fn accounts_of_a_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = write_config(d);
    let c = |args: &[&str], stdin: &str| {
        let mut all = vec!["--config", cfg.as_str(), "account"];
        all.extend_from_slice(args);
        config(&all, stdin)
    };
    assert_eq!(
        c(
            &["add", "alice", "Alice@a.test", "--password-stdin"],
            "pw1\n"
        ),
        ok("added account \"alice\" with address alice@a.test\n")
    );
    assert_eq!(
        c(&["add", "bob", "bob@b.test"], ""),
        err(&format!(
            "b.test is not a configured domain; add [domains.\"b.test\"] to {} first",
            d.join("domains.toml").display()
        ))
    );
    assert_eq!(
        c(&["add", "bob", "bob@a.test"], ""),
        ok(
            "added account \"bob\" with address bob@a.test (no password: set one with `account passwd` before logging in)\n"
        )
    );
    assert_eq!(
        c(&["passwd", "bob"], ""),
        err("empty password on standard input; write the password as its first line")
    );
    assert_eq!(
        c(&["passwd", "bob"], "pw2\n"),
        ok("password of account \"bob\" set\n")
    );
    assert_eq!(
        c(&["addaddr", "bob", "postmaster@a.test"], ""),
        ok("added address postmaster@a.test to account \"bob\"\n")
    );
    assert_eq!(
        c(&["rmaddr", "bob@a.test"], ""),
        ok("removed address bob@a.test from account \"bob\"\n")
    );
    assert_eq!(
        c(&["quota", "alice", "1g"], ""),
        ok("quota of account \"alice\" set to 1073741824\n")
    );
    assert_eq!(
        c(&["list"], ""),
        ok(
            "account\tquota\tpassword\taddresses\tlogin\nalice\t1073741824\tset\talice@a.test\tenabled\nbob\tdefault\tset\tpostmaster@a.test\tenabled\n"
        )
    );
    assert_eq!(
        c(&["rm", "alice"], ""),
        err("removing account \"alice\" deletes all its messages for good; add --yes to do it")
    );
    assert_eq!(
        c(&["rm", "alice", "--yes"], ""),
        ok("removed account \"alice\" with its messages and addresses alice@a.test\n")
    );
    assert_eq!(
        c(&["rm", "alice", "--yes"], ""),
        err("no account \"alice\" (`moxide config account list` shows the accounts)")
    );
    // The store in the configured data directory holds what was said.
    let store = Store::open(d.join("data"), StoreConfig::default()).unwrap();
    assert_eq!(store.account_names().unwrap(), vec!["bob"]);
    let bob = store.account("bob").unwrap().settings().unwrap();
    assert_eq!(bob.addresses, vec!["postmaster@a.test"]);
    assert!(bob.has_password);
    assert_eq!(store.account_for_address("alice@a.test").unwrap(), None);
    assert!(store.check_consistency().unwrap().is_empty());
    drop(store);
    // A configuration error is reported as such.
    std::fs::write(d.join("domains.toml"), "[domains.\"a.test\"]\nx = 1\n").unwrap();
    let (out, e, code) = c(&["list"], "");
    assert_eq!((out.as_str(), code), ("", 1));
    assert!(
        e.starts_with(&format!(
            "moxide config: {}: TOML parse error at line 2, column 1\n",
            d.join("domains.toml").display()
        )),
        "{e}"
    );
    // --config and --dir exclude each other.
    let (_, e, code) = config(
        &["--config", cfg.as_str(), "--dir", "/x", "account", "list"],
        "",
    );
    assert_eq!(code, 2);
    assert!(e.contains("cannot be used with"), "{e}");
}

#[test]
fn accounts_of_a_localserve_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // Any domain goes without a configuration; the directory's store gets
    // localserve's account on first open.
    assert_eq!(
        config(
            &["--dir", d, "account", "add", "x", "x@anything.example"],
            ""
        ),
        ok(
            "added account \"x\" with address x@anything.example (no password: set one with `account passwd` before logging in)\n"
        )
    );
    assert_eq!(
        config(&["--dir", d, "account", "list"], ""),
        ok(
            "account\tquota\tpassword\taddresses\tlogin\nmox\tdefault\tset\tmox@localhost\tenabled\nx\tdefault\tnone\tx@anything.example\tenabled\n"
        )
    );
    assert_eq!(
        config(&["--dir", d, "dkim", "add", "a.test", "s1"], ""),
        err("dkim add edits domains.toml: give --config PATH/moxide.toml")
    );
}

#[test]
fn dkim_add_writes_a_key_and_signs_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = write_config(d);
    let (out, e, code) = config(
        &["--config", cfg.as_str(), "dkim", "add", "A.test", "Sel1"],
        "",
    );
    assert_eq!((e.as_str(), code), ("", 0));
    let key_file = d.join("dkim-a.test-sel1-ed25519.pem");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], format!("wrote {}", key_file.display()));
    assert_eq!(
        lines[1],
        format!(
            "added selector sel1 to {} (signing with it); restart moxide serve to use it",
            d.join("domains.toml").display()
        )
    );
    assert_eq!(lines[2], "publish this DNS record:");
    let record = lines[3]
        .strip_prefix("sel1._domainkey.a.test. TXT \"v=DKIM1; k=ed25519; h=sha256; p=")
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{}", lines[3]));
    // An ed25519 public key is 32 bytes: 44 characters of base64.
    assert_eq!(record.len(), 44, "{record}");
    assert!(
        std::fs::read_to_string(&key_file)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    // The configuration now names the selector and signs with it.
    let c = moxide_engine::config::load(Path::new(&cfg)).unwrap();
    let a = &c.domains.domains["a.test"];
    assert_eq!(a.sign, vec!["sel1".to_string()]);
    assert_eq!(a.selectors["sel1"].private_key_file, key_file);
    // The same selector again is refused and changes nothing.
    let before = std::fs::read_to_string(d.join("domains.toml")).unwrap();
    assert_eq!(
        config(
            &["--config", cfg.as_str(), "dkim", "add", "a.test", "sel1"],
            ""
        ),
        err(&format!(
            "{}: domain a.test has selector sel1 already; pick another name",
            d.join("domains.toml").display()
        ))
    );
    assert_eq!(
        config(
            &[
                "--config",
                cfg.as_str(),
                "dkim",
                "add",
                "a.test",
                "s2",
                "--algorithm",
                "dsa"
            ],
            ""
        ),
        err("algorithm \"dsa\": use ed25519 or rsa2048")
    );
    assert_eq!(
        std::fs::read_to_string(d.join("domains.toml")).unwrap(),
        before
    );
}
