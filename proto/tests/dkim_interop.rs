//! Interop with dkimpy (Debian python3-dkim, run with /usr/bin/python3):
//! messages signed here verify there, and messages it signs verify here
//! (keys answered from a Zone). RSA and ed25519, simple and relaxed, with
//! and without l=. Skips (with a message) when dkimpy is not installed;
//! .ci/run installs it.

mod dkim_keys;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use moxide_proto::dkim::{Canon, PrivateKey, Signer, SignerSelector, Status, Verifier};
use moxide_proto::dns::{Zone, run};
use ring::rand::SystemRandom;

const PYTHON: &str = "/usr/bin/python3";

const MSG: &str = "From: Joe SixPack <joe@football.example.com>\r\n\
To: Suzie Q <suzie@shopping.example.net>\r\n\
Subject: Is dinner ready?\r\n\
Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n\
Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n\
\r\n\
Hi.\r\n\
\r\n\
We lost the game.\t Are you   hungry yet?  \r\n\
\r\n\
Joe.\r\n\
\r\n\
\r\n";

fn dkimpy_available() -> bool {
    Command::new(PYTHON)
        .args(["-c", "import dkim, nacl"])
        .output()
        .is_ok_and(|o| o.status.success())
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("moxide-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn write(&self, name: &str, data: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, data).unwrap();
        p.to_str().unwrap().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the helper on a manifest and returns its output lines.
fn dkimpy(dir: &TempDir, manifest: &str) -> Vec<String> {
    let m = dir.write("manifest", manifest.as_bytes());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dkim_interop.py");
    let out = Command::new(PYTHON).arg(script).arg(m).output().unwrap();
    assert!(
        out.status.success(),
        "dkimpy helper failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn combos() -> Vec<(&'static str, Canon, Canon, bool)> {
    let mut v = Vec::new();
    for key in ["rsa", "ed"] {
        for (hc, bc) in [
            (Canon::Simple, Canon::Simple),
            (Canon::Relaxed, Canon::Relaxed),
        ] {
            for len in [false, true] {
                v.push((key, hc, bc, len));
            }
        }
    }
    v
}

fn key(kind: &str) -> PrivateKey {
    match kind {
        "rsa" => PrivateKey::from_pem(dkim_keys::RSA2048.as_bytes()).unwrap(),
        _ => PrivateKey::ed25519_from_seed(&dkim_keys::ED25519_SEED).unwrap(),
    }
}

#[test]
fn moxide_signs_dkimpy_verifies() {
    if !dkimpy_available() {
        eprintln!(
            "skipping: /usr/bin/python3 cannot import dkim and nacl (apt-get install python3-dkim)"
        );
        return;
    }
    let dir = TempDir::new("dkim-sign");
    let rng = SystemRandom::new();
    let mut manifest = String::new();
    let mut expected = Vec::new();
    for (n, (kind, hc, bc, len)) in combos().into_iter().enumerate() {
        let mut sel = SignerSelector::new("football.example.com", &format!("s{n}"), key(kind));
        sel.header_canon = hc;
        sel.body_canon = bc;
        sel.body_length = len;
        let record = sel.key.dns_record();
        let header = Signer::new(vec![sel])
            .sign(MSG.as_bytes(), 1_700_000_000, &rng)
            .unwrap();
        let msg = dir.write(&format!("m{n}.eml"), format!("{header}{MSG}").as_bytes());
        let rec = dir.write(&format!("r{n}.txt"), record.as_bytes());
        manifest.push_str(&format!(
            "verify {msg} 0 s{n}._domainkey.football.example.com {rec}\n"
        ));
        expected.push("pass".to_string());
        // A changed body must fail there too (with l=, change inside it).
        let tampered = format!("{header}{}", MSG.replace("hungry", "HUNGRY"));
        let msg = dir.write(&format!("t{n}.eml"), tampered.as_bytes());
        manifest.push_str(&format!(
            "verify {msg} 0 s{n}._domainkey.football.example.com {rec}\n"
        ));
        expected.push("fail".to_string());
    }
    assert_eq!(dkimpy(&dir, &manifest), expected);
}

#[test]
fn dkimpy_signs_moxide_verifies() {
    if !dkimpy_available() {
        eprintln!(
            "skipping: /usr/bin/python3 cannot import dkim and nacl (apt-get install python3-dkim)"
        );
        return;
    }
    let dir = TempDir::new("dkim-verify");
    let msg_file = dir.write("m.eml", MSG.as_bytes());
    let rsa_file = dir.write("rsa.pem", dkim_keys::RSA2048_PKCS1.as_bytes());
    let ed_file = dir.write(
        "ed.key",
        STANDARD.encode(dkim_keys::ED25519_SEED).as_bytes(),
    );
    let mut manifest = String::new();
    let mut zone = Zone::new();
    for (n, (kind, hc, bc, len)) in combos().into_iter().enumerate() {
        let (file, alg) = match kind {
            "rsa" => (&rsa_file, "rsa-sha256"),
            _ => (&ed_file, "ed25519-sha256"),
        };
        manifest.push_str(&format!(
            "sign {msg_file} s{n} football.example.com {file} {alg} {}/{} {}\n",
            hc.as_str(),
            bc.as_str(),
            u8::from(len)
        ));
        zone.add_txt(
            &format!("s{n}._domainkey.football.example.com"),
            &key(kind).dns_record(),
        );
    }
    let headers = dkimpy(&dir, &manifest);
    assert_eq!(headers.len(), 8);
    for (n, (h, (kind, hc, bc, len))) in headers.iter().zip(combos()).enumerate() {
        let header = String::from_utf8(STANDARD.decode(h).unwrap()).unwrap();
        assert!(header.starts_with("DKIM-Signature: "), "{header}");
        assert_eq!(header.contains(" l="), len, "{header}");
        let signed = format!("{header}{MSG}");
        let (v, _) = run(
            &mut Verifier::new(signed.as_bytes(), 1_700_000_000),
            &zone,
            Instant::now(),
        );
        let r = &v.results[0];
        assert_eq!(
            r.status,
            Status::Pass,
            "case {n} {kind} {hc:?}/{bc:?} l={len}: {}\n{header}",
            r.reason()
        );
        let sig = r.signature.as_ref().unwrap();
        assert_eq!((sig.header_canon, sig.body_canon), (hc, bc));
        // Changing the body breaks it here as well.
        let tampered = format!("{header}{}", MSG.replace("hungry", "HUNGRY"));
        let (v, _) = run(
            &mut Verifier::new(tampered.as_bytes(), 1_700_000_000),
            &zone,
            Instant::now(),
        );
        assert_eq!(v.results[0].status, Status::Fail, "case {n}");
    }
}

#[test]
fn pkcs1_and_pkcs8_pem_are_the_same_key() {
    let a = PrivateKey::from_pem(dkim_keys::RSA2048.as_bytes()).unwrap();
    let b = PrivateKey::from_pem(dkim_keys::RSA2048_PKCS1.as_bytes()).unwrap();
    assert_eq!(a.dns_record(), b.dns_record());
}
