//! `moxide config dkim add DOMAIN SELECTOR`: a new DKIM key file next to
//! `domains.toml`, the selector added to the domain (and to its `sign`
//! list) with the file's comments and layout kept, and the DNS record to
//! publish.

use std::io::Write;
use std::path::{Path, PathBuf};

use moxide_proto::dkim::{PrivateKey, SecureRandom, generate_ed25519, generate_rsa, pkcs8_pem};

use super::{Domains, domain_name, read_text};

/// The kind of key to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519 (RFC 8463): short keys and signatures; not every receiver
    /// verifies it yet, so sign with an RSA selector too.
    Ed25519,
    /// RSA with 2048 bits (rsa-sha256).
    Rsa2048,
}

impl KeyAlgorithm {
    /// Parses `ed25519` or `rsa2048`.
    pub fn parse(s: &str) -> Result<KeyAlgorithm, String> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" => Ok(KeyAlgorithm::Ed25519),
            "rsa2048" => Ok(KeyAlgorithm::Rsa2048),
            _ => Err(format!("algorithm {s:?}: use ed25519 or rsa2048")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::Rsa2048 => "rsa2048",
        }
    }
}

/// What `dkim add` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimAdded {
    /// The key file written.
    pub key_file: PathBuf,
    /// The DNS name of the record: `SELECTOR._domainkey.DOMAIN`.
    pub record_name: String,
    /// The TXT record text (`v=DKIM1; k=…; p=…`).
    pub record: String,
}

impl DkimAdded {
    /// The zone-file line to publish: the record split into strings of at
    /// most 255 characters (RFC 1035 3.3.14), as RSA keys need.
    pub fn zone_line(&self) -> String {
        let chunks: Vec<String> = self
            .record
            .as_bytes()
            .chunks(255)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect();
        format!("{}. TXT {}", self.record_name, chunks.join(" "))
    }
}

/// Generates a key and adds it as `selector` of `domain` to the domains
/// file at `path`, signing with it. The key file is
/// `dkim-DOMAIN-SELECTOR-ALG.pem` in the same directory (never
/// overwritten); the domains file is replaced atomically, and only with a
/// text that checks.
pub fn add_selector(
    path: &Path,
    domain: &str,
    selector: &str,
    algorithm: KeyAlgorithm,
    rng: &dyn SecureRandom,
) -> Result<DkimAdded, String> {
    let domain = domain_name(domain)?;
    let selector = domain_name(selector)
        .ok()
        .filter(|s| !s.contains('.'))
        .ok_or_else(|| {
            format!("selector {selector:?}: use one DNS label (letters, digits, hyphens), e.g. \"2024a\"")
        })?;
    let text = read_text(path).map_err(|e| e.to_string())?;
    let current = Domains::parse(path, &text).map_err(|e| e.to_string())?;
    let Some(dom) = current.domains.get(&domain) else {
        return Err(format!(
            "{}: {domain} is not a configured domain; add a [domains.\"{domain}\"] table first",
            path.display()
        ));
    };
    if dom.selectors.contains_key(&selector) {
        return Err(format!(
            "{}: domain {domain} has selector {selector} already; pick another name",
            path.display()
        ));
    }
    // The domain's key in the file as written (case, trailing dot).
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let written = doc
        .get("domains")
        .and_then(|d| d.as_table_like())
        .and_then(|t| {
            t.iter()
                .map(|(k, _)| k.to_string())
                .find(|k| domain_name(k).ok().as_deref() == Some(domain.as_str()))
        })
        .ok_or_else(|| format!("{}: domain {domain} not found", path.display()))?;
    let der = match algorithm {
        KeyAlgorithm::Ed25519 => generate_ed25519(rng),
        KeyAlgorithm::Rsa2048 => generate_rsa(rng, 2048),
    }
    .map_err(|e| format!("generating the key: {e}"))?;
    let pem = pkcs8_pem(&der);
    let key = PrivateKey::from_pem(pem.as_bytes()).map_err(|e| format!("the new key: {e}"))?;
    let file_name = format!("dkim-{domain}-{selector}-{}.pem", algorithm.as_str());
    let key_file = super::dir_of(path).join(&file_name);

    let not_table = |what: &str| {
        format!(
            "{}: {what} is not written as a [table] section; rewrite it as one to add selectors",
            path.display()
        )
    };
    let root = doc.as_table_mut();
    let domains = sub_table(root, "domains", true).ok_or_else(|| not_table("domains"))?;
    let dom = sub_table(domains, &written, false)
        .ok_or_else(|| not_table(&format!("domains.{written:?}")))?;
    let dkim = sub_table(dom, "dkim", false)
        .ok_or_else(|| not_table(&format!("domains.{written:?}.dkim")))?;
    match dkim.get_mut("sign") {
        Some(item) => item
            .as_array_mut()
            .ok_or_else(|| {
                format!(
                    "{}: domains.{written:?}.dkim.sign is not a list",
                    path.display()
                )
            })?
            .push(selector.as_str()),
        None => {
            let mut a = toml_edit::Array::new();
            a.push(selector.as_str());
            dkim.insert("sign", toml_edit::value(a));
        }
    }
    let selectors = sub_table(dkim, "selectors", true)
        .ok_or_else(|| not_table(&format!("domains.{written:?}.dkim.selectors")))?;
    let mut sel = toml_edit::Table::new();
    sel.insert("private_key_file", toml_edit::value(file_name.as_str()));
    selectors.insert(&selector, toml_edit::Item::Table(sel));
    let new_text = doc.to_string();

    write_new(&key_file, pem.as_bytes())?;
    // The new text must check (with the key file in place) before it
    // replaces the old one.
    if let Err(e) = Domains::parse(path, &new_text) {
        let _ = std::fs::remove_file(&key_file);
        return Err(format!("internal: the edited file does not check: {e}"));
    }
    if let Err(e) = replace_file(path, new_text.as_bytes()) {
        let _ = std::fs::remove_file(&key_file);
        return Err(e);
    }
    Ok(DkimAdded {
        key_file,
        record_name: format!("{selector}._domainkey.{domain}"),
        record: key.dns_record(),
    })
}

/// The table at `key` of `t`, created (implicit: no header line of its
/// own when empty) if missing; `None` when `key` holds something else (an
/// inline table or a value).
fn sub_table<'a>(
    t: &'a mut toml_edit::Table,
    key: &str,
    implicit: bool,
) -> Option<&'a mut toml_edit::Table> {
    t.entry(key)
        .or_insert_with(|| {
            let mut n = toml_edit::Table::new();
            n.set_implicit(implicit);
            toml_edit::Item::Table(n)
        })
        .as_table_mut()
}

/// Writes a new file readable by its owner only, durably; an existing
/// file is an error.
fn write_new(path: &Path, data: &[u8]) -> Result<(), String> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!(
                "{}: exists already; remove it or pick another selector",
                path.display()
            )
        } else {
            format!("{}: {e}", path.display())
        }
    })?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Replaces `path` by `data` atomically (temporary file, fsync, rename,
/// directory fsync).
fn replace_file(path: &Path, data: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("toml.new");
    let err = |e: std::io::Error| format!("{}: {e}", tmp.display());
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(data).and_then(|()| f.sync_all()).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Ok(d) = std::fs::File::open(super::dir_of(path)) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use moxide_proto::dkim::{Algorithm, SystemRandom};

    #[test]
    fn adds_the_selector_keeping_comments_and_signs_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("domains.toml");
        std::fs::write(
            &path,
            "# my domains\n[domains.\"A.test\"] # main\n\n[domains.\"b.test\"]\n",
        )
        .unwrap();
        let rng = SystemRandom::new();
        let added = add_selector(&path, "a.test", "s1", KeyAlgorithm::Ed25519, &rng).unwrap();
        assert_eq!(
            added.key_file,
            dir.path().join("dkim-a.test-s1-ed25519.pem")
        );
        assert_eq!(added.record_name, "s1._domainkey.a.test");
        assert!(
            added.record.starts_with("v=DKIM1; k=ed25519; h=sha256; p="),
            "{}",
            added.record
        );
        assert_eq!(
            added.zone_line(),
            format!("s1._domainkey.a.test. TXT \"{}\"", added.record)
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "# my domains\n[domains.\"A.test\"] # main\n\n[domains.\"A.test\".dkim]\nsign = [\"s1\"]\n\n[domains.\"A.test\".dkim.selectors.s1]\nprivate_key_file = \"dkim-a.test-s1-ed25519.pem\"\n\n[domains.\"b.test\"]\n"
        );
        let add2 = add_selector(&path, "a.test", "S2", KeyAlgorithm::Ed25519, &rng).unwrap();
        let d = Domains::load(&path).unwrap();
        let dom = &d.domains["a.test"];
        assert_eq!(dom.sign, vec!["s1", "s2"]);
        assert_eq!(dom.selectors["s2"].algorithm, Algorithm::Ed25519Sha256);
        assert_eq!(dom.selectors["s2"].private_key_file, add2.key_file);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&add2.key_file)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            add_selector(&path, "a.test", "s1", KeyAlgorithm::Ed25519, &rng).unwrap_err(),
            format!(
                "{}: domain a.test has selector s1 already; pick another name",
                path.display()
            )
        );
        assert_eq!(
            add_selector(&path, "c.test", "s1", KeyAlgorithm::Ed25519, &rng).unwrap_err(),
            format!(
                "{}: c.test is not a configured domain; add a [domains.\"c.test\"] table first",
                path.display()
            )
        );
        assert_eq!(
            add_selector(&path, "a.test", "x.y", KeyAlgorithm::Ed25519, &rng).unwrap_err(),
            "selector \"x.y\": use one DNS label (letters, digits, hyphens), e.g. \"2024a\""
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
        assert_eq!(KeyAlgorithm::parse("RSA2048"), Ok(KeyAlgorithm::Rsa2048));
        assert_eq!(
            KeyAlgorithm::parse("rsa"),
            Err("algorithm \"rsa\": use ed25519 or rsa2048".into())
        );
    }

    #[test]
    fn long_records_are_split_into_255_character_strings() {
        let a = DkimAdded {
            key_file: PathBuf::from("k"),
            record_name: "s._domainkey.a.test".into(),
            record: "x".repeat(300),
        };
        assert_eq!(
            a.zone_line(),
            format!(
                "s._domainkey.a.test. TXT \"{}\" \"{}\"",
                "x".repeat(255),
                "x".repeat(45)
            )
        );
    }
}
