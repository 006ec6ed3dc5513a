//! A private Postfix instance (the Debian package) on loopback for the
//! interop tests: its own config, queue, data and mail directories in a
//! temporary directory, smtpd on 127.0.0.1:<free port> only, no DNS, the
//! log in a file. It never touches the system instance (/etc/postfix is
//! only read, as `meta_directory`) nor port 25. Stopped (`postfix stop`,
//! which waits for its processes) when dropped.
//!
//! What it does with mail:
//! - for `localhost`, when a relay port is given: relays it to
//!   `[127.0.0.1]:<relay port>` (moxide) with `smtp_tls_security_level =
//!   encrypt`: STARTTLS or no delivery;
//! - for [`VIRTUAL_DOMAIN`]: delivers [`VIRTUAL_USER`] into a Maildir in
//!   the temporary directory (Postfix's `virtual` agent, as `nobody`);
//! - its smtpd offers STARTTLS with a self-signed certificate.
//!
//! Postfix's master runs as root: the tests need root (CI runs as root).
#![allow(dead_code)] // each test crate uses a part

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Postfix's `myhostname` (its EHLO name and the `by` of its Received).
pub const HOSTNAME: &str = "postfix.interop.test";
/// The domain Postfix delivers itself, into a Maildir.
pub const VIRTUAL_DOMAIN: &str = "postfix.test";
/// The one mailbox of [`VIRTUAL_DOMAIN`].
pub const VIRTUAL_USER: &str = "user@postfix.test";

/// Why Postfix cannot run here, or `None` when it can. Under `CI=true`
/// a reason is a failure (.ci/run installs postfix and runs as root).
pub fn unavailable() -> Option<String> {
    let why = if !Path::new("/usr/sbin/postfix").exists()
        || !Path::new("/usr/lib/postfix/sbin/master").exists()
    {
        "postfix is not installed (apt-get install postfix)".to_string()
    } else if run("id", &["-u"]).trim() != "0" {
        "Postfix's master must start as root".to_string()
    } else {
        return None;
    };
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    Some(why)
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(out.status.success(), "{cmd} {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// A running private Postfix.
pub struct Postfix {
    /// Its SMTP port on 127.0.0.1.
    pub port: u16,
    etc: PathBuf,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

impl Postfix {
    /// Starts an instance; with `relay_port`, relaying mail for
    /// `localhost` to `[127.0.0.1]:relay_port` over mandatory STARTTLS.
    pub fn start(relay_port: Option<u16>) -> Postfix {
        let dir = tempfile::Builder::new()
            .prefix("moxide-postfix.")
            .tempdir()
            .unwrap();
        let root = dir.path().to_path_buf();
        // Postfix's unprivileged processes walk into the queue directory.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let etc = root.join("etc");
        for d in ["etc", "queue", "data", "vmail"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        let (uid, gid) = (
            run("id", &["-u", "nobody"]).trim().parse::<u32>().unwrap(),
            run("id", &["-g", "nobody"]).trim().parse::<u32>().unwrap(),
        );
        let postfix_uid = run("id", &["-u", "postfix"]).trim().parse::<u32>().unwrap();
        std::os::unix::fs::chown(root.join("data"), Some(postfix_uid), None).unwrap();
        std::os::unix::fs::chown(root.join("vmail"), Some(uid), Some(gid)).unwrap();
        write_cert(&etc);
        let port = free_port();
        let r = root.display();
        let relay = match relay_port {
            Some(p) => format!(
                "transport_maps = inline:{{ localhost=smtp:[127.0.0.1]:{p} }}\nsmtp_tls_security_level = encrypt\n"
            ),
            None => String::new(),
        };
        let main_cf = format!(
            "compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
meta_directory = /etc/postfix
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
command_directory = /usr/sbin
mail_owner = postfix
setgid_group = postdrop
maillog_file = {r}/maillog
maillog_file_prefixes = {r}
myhostname = {HOSTNAME}
mydomain = interop.test
myorigin = interop.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_dns_support_level = disabled
smtp_host_lookup = native
{relay}smtp_tls_loglevel = 1
smtpd_tls_security_level = may
smtpd_tls_cert_file = {r}/etc/cert.pem
smtpd_tls_key_file = {r}/etc/key.pem
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
virtual_mailbox_domains = {VIRTUAL_DOMAIN}
virtual_mailbox_base = {r}/vmail
virtual_mailbox_maps = inline:{{ {VIRTUAL_USER}=user/ }}
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
smtputf8_enable = no
biff = no
"
        );
        std::fs::write(etc.join("main.cf"), main_cf).unwrap();
        std::fs::write(etc.join("master.cf"), master_cf(port)).unwrap();
        let out = Command::new("postfix")
            .arg("-c")
            .arg(&etc)
            .arg("start")
            .output()
            .unwrap();
        let pf = Postfix {
            port,
            etc,
            root,
            _dir: dir,
        };
        assert!(
            out.status.success(),
            "postfix start: {out:?}\nlog:\n{}",
            pf.log()
        );
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "Postfix does not listen on {port}; log:\n{}",
                pf.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        pf
    }

    /// Postfix's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("maillog")).unwrap_or_default()
    }

    /// Waits up to 60 s for a log line containing every one of `parts`
    /// and returns it.
    pub fn wait_log_line(&self, parts: &[&str]) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if let Some(l) = log.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
                return l.to_string();
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no log line with {parts:?} within 60 s; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The messages delivered to [`VIRTUAL_USER`]'s Maildir (`new/`), in
    /// no particular order.
    pub fn delivered(&self) -> Vec<Vec<u8>> {
        let new = self.root.join("vmail/user/new");
        let Ok(entries) = std::fs::read_dir(&new) else {
            return Vec::new();
        };
        entries
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        // Waits until master has exited (then kills its group).
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(&self.etc)
            .arg("stop")
            .output();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A self-signed certificate for [`HOSTNAME`] as `cert.pem`/`key.pem`.
fn write_cert(etc: &Path) {
    let c = rcgen::generate_simple_self_signed(vec![HOSTNAME.to_string()]).unwrap();
    std::fs::write(etc.join("cert.pem"), c.cert.pem()).unwrap();
    let key = etc.join("key.pem");
    std::fs::write(&key, c.signing_key.serialize_pem()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Debian's services without chroot (no copies of /etc files needed),
/// smtpd only on 127.0.0.1:`port`, plus `virtual` and `tlsmgr`.
fn master_cf(port: u16) -> String {
    format!(
        "127.0.0.1:{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
virtual unix - n n - - virtual
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"
    )
}
