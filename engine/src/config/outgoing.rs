//! From `moxide.toml` to the settings of outgoing delivery: the
//! [`DeliveryConfig`] of every attempt (`[delivery]` switches, host name)
//! and, per queued job, its [`delivery::Transport`] (`[[routes]]` and
//! `[transports.NAME]`). Smarthost passwords are read once, when the
//! routes are made, so a missing or empty password file stops the server
//! at start instead of failing deliveries later.

use std::collections::BTreeMap;
use std::path::Path;

use moxide_proto::secret::Secret;

use super::server::{Config, Route, Transport};
use super::{ConfigError, read_text};
use crate::delivery::mx::AddressPolicy;
use crate::delivery::transport::{
    SMTP_PORT, Smarthost, SmarthostAuth, SmarthostVerify, Transport as Way,
};
use crate::delivery::{DeliveryConfig, TlsSwitches};
use crate::queue::Job;

/// The [`DeliveryConfig`] of `cfg`: EHLO with the host name, the
/// `[delivery]` PKIX/DANE switches and `allow_loopback`, default address
/// families and RFC 5321 timeouts.
pub fn delivery_config(cfg: &Config) -> DeliveryConfig {
    let mut d = DeliveryConfig::new(&cfg.hostname);
    d.tls = TlsSwitches {
        pkix: cfg.delivery.pkix,
        dane: cfg.delivery.dane,
    };
    d.addresses = AddressPolicy {
        allow_loopback: cfg.delivery.allow_loopback,
        ..AddressPolicy::default()
    };
    d
}

/// Which transport each queued job takes: the routes of `moxide.toml` in
/// order (first match wins), no match: direct delivery on port 25.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRoutes {
    routes: Vec<Route>,
    transports: BTreeMap<String, Way>,
}

impl OutgoingRoutes {
    /// The routes and transports of `cfg`, smarthost passwords read from
    /// their files. An error names the file and field.
    pub fn new(cfg: &Config) -> Result<OutgoingRoutes, ConfigError> {
        let mut transports = BTreeMap::new();
        for (name, t) in &cfg.transports {
            transports.insert(name.clone(), way(&cfg.path, name, t)?);
        }
        Ok(OutgoingRoutes {
            routes: cfg.routes.clone(),
            transports,
        })
    }

    /// The transport named `name`, if configured.
    pub fn named(&self, name: &str) -> Option<&Way> {
        self.transports.get(name)
    }

    /// The transport for `job`: its own named transport when it has one
    /// that is configured, else the first route matching the sender's
    /// domain (of MAIL FROM) and the recipient domain, else direct
    /// delivery to the MX hosts on port 25.
    pub fn transport_for(&self, job: &Job) -> Way {
        if let Some(name) = &job.transport {
            match self.transports.get(name) {
                Some(w) => return w.clone(),
                None => tracing::warn!(
                    id = job.id,
                    transport = %name,
                    "queue entry names a transport that is no longer configured; using the routes"
                ),
            }
        }
        let from_domain = job
            .mail_from
            .rsplit_once('@')
            .map(|(_, d)| route_domain(d))
            .unwrap_or_default();
        let to_domain = route_domain(&job.domain);
        self.routes
            .iter()
            .find(|r| r.matches(&from_domain, &to_domain))
            .and_then(|r| self.transports.get(&r.transport))
            .cloned()
            .unwrap_or(Way::Direct { port: SMTP_PORT })
    }
}

/// A job's domain as routes compare it: in A-label form, as the routes'
/// own domains are stored (a sender or recipient domain of an SMTPUTF8
/// message may be in U-labels, RFC 6531); a name that is not a valid
/// IDN is compared as given, in lower case, and matches no route that
/// names a valid domain.
fn route_domain(d: &str) -> String {
    moxide_proto::dns::domain_to_ascii(d)
        .unwrap_or_else(|_| d.to_ascii_lowercase())
        .trim_end_matches('.')
        .to_string()
}

/// One configured transport as delivery uses it.
fn way(path: &Path, name: &str, t: &Transport) -> Result<Way, ConfigError> {
    Ok(match t {
        Transport::Direct { port } => Way::Direct {
            port: port.unwrap_or(SMTP_PORT),
        },
        Transport::Smarthost {
            host,
            port,
            implicit_tls,
            username,
            password_file,
        } => {
            let auth = match (username, password_file) {
                (Some(username), Some(file)) => Some(SmarthostAuth {
                    username: username.clone(),
                    password: Secret::new(read_password(path, name, file)?),
                    mechanisms: Vec::new(),
                }),
                _ => None,
            };
            Way::Smarthost(Smarthost {
                host: host.clone(),
                port: *port,
                implicit_tls: *implicit_tls,
                auth,
                verify: SmarthostVerify::Pkix,
            })
        }
    })
}

/// The first line of a smarthost's password file.
fn read_password(path: &Path, name: &str, file: &Path) -> Result<String, ConfigError> {
    let field = format!("transports.{name}.password_file");
    let text = read_text(file).map_err(|e| ConfigError::field(path, &field, e.to_string()))?;
    let pw = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if pw.is_empty() {
        return Err(ConfigError::field(
            path,
            field,
            format!(
                "{}: empty; write the password as its first line",
                file.display()
            ),
        ));
    }
    Ok(pw.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use moxide_proto::smtp::client::Body;

    use super::*;
    use crate::config::load;

    fn config(d: &Path, extra: &str) -> Result<Config, ConfigError> {
        std::fs::write(d.join("c.pem"), "x").unwrap();
        std::fs::write(d.join("k.pem"), "x").unwrap();
        std::fs::write(
            d.join("moxide.toml"),
            format!(
                "hostname = \"mail.a.test\"\ndata_dir = \"data\"\n[[listeners]]\nips = [\"127.0.0.1\"]\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\nsmtp = 0\n{extra}"
            ),
        )
        .unwrap();
        std::fs::write(d.join("domains.toml"), "[domains.\"a.test\"]\n").unwrap();
        load(&d.join("moxide.toml"))
    }

    fn job(from: &str, domain: &str, transport: Option<&str>) -> Job {
        Job {
            id: 7,
            domain: domain.into(),
            mail_from: from.into(),
            recipients: vec![format!("x@{domain}")],
            message: Arc::from(&b"x"[..]),
            smtputf8: false,
            body: Body::SevenBit,
            requiretls: None,
            transport: transport.map(String::from),
            attempt: 0,
        }
    }

    const ROUTES: &str = "[transports.b1025]\nkind = \"direct\"\nport = 1025\n[transports.relay]\nkind = \"smarthost\"\nhost = \"Relay.Example\"\nimplicit_tls = true\nusername = \"u@a.test\"\npassword_file = \"pw\"\n[transports.plain]\nkind = \"direct\"\n[[routes]]\nto_domains = [\"b.test\", \"B\u{fc}cher.test\"]\ntransport = \"b1025\"\n[[routes]]\nfrom_domains = [\".a.test\"]\nto_domains = [\"c.test\"]\ntransport = \"relay\"\n[[routes]]\nto_domains = [\"c.test\"]\ntransport = \"plain\"\n";

    #[test]
    fn routes_pick_transports_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("pw"), "s3cret\nignored\n").unwrap();
        let cfg = config(d, ROUTES).unwrap();
        let r = OutgoingRoutes::new(&cfg).unwrap();
        let relay = Way::Smarthost(Smarthost {
            host: "relay.example".into(),
            port: 465,
            implicit_tls: true,
            auth: Some(SmarthostAuth {
                username: "u@a.test".into(),
                password: Secret::new("s3cret".into()),
                mechanisms: Vec::new(),
            }),
            verify: SmarthostVerify::Pkix,
        });
        let cases = [
            (job("a@a.test", "b.test", None), Way::Direct { port: 1025 }),
            // Route domains compare canonically.
            (job("a@a.test", "B.Test.", None), Way::Direct { port: 1025 }),
            // U-label job domains match the routes' A-labels, and U-label
            // route domains are stored as A-labels.
            (
                job("a@a.test", "B\u{fc}cher.test", None),
                Way::Direct { port: 1025 },
            ),
            (
                job("a@a.test", "xn--bcher-kva.test", None),
                Way::Direct { port: 1025 },
            ),
            (job("x@m\u{fc}nchen.a.test", "c.test", None), relay.clone()),
            // ".a.test" is subdomains only: a.test itself falls through.
            (job("x@sub.a.test", "c.test", None), relay.clone()),
            (job("a@a.test", "c.test", None), Way::Direct { port: 25 }),
            // No route: direct on 25; `<>` has no sender domain.
            (job("a@a.test", "d.test", None), Way::Direct { port: 25 }),
            (job("", "b.test", None), Way::Direct { port: 1025 }),
            // A job's own transport wins; an unknown one falls back.
            (job("a@a.test", "d.test", Some("relay")), relay.clone()),
            (
                job("a@a.test", "b.test", Some("gone")),
                Way::Direct { port: 1025 },
            ),
        ];
        for (j, want) in cases {
            assert_eq!(r.transport_for(&j), want, "{} -> {}", j.mail_from, j.domain);
        }
        assert_eq!(r.named("plain"), Some(&Way::Direct { port: 25 }));
        assert_eq!(r.named("nope"), None);
    }

    #[test]
    fn an_empty_password_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("pw"), "\nsecond\n").unwrap();
        let cfg = config(d, ROUTES).unwrap();
        assert_eq!(
            OutgoingRoutes::new(&cfg).unwrap_err().to_string(),
            format!(
                "{}: transports.relay.password_file: {}: empty; write the password as its first line",
                d.join("moxide.toml").display(),
                d.join("pw").display()
            )
        );
    }

    #[test]
    fn delivery_switches() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cfg = config(d, "").unwrap();
        let dc = delivery_config(&cfg);
        assert_eq!(dc.ehlo_name, "mail.a.test");
        assert_eq!(
            dc.tls,
            TlsSwitches {
                pkix: true,
                dane: true
            }
        );
        assert!(!dc.addresses.allow_loopback);
        let cfg = config(
            d,
            "[delivery]\npkix = false\ndane = true\nallow_loopback = true\n",
        )
        .unwrap();
        let dc = delivery_config(&cfg);
        assert_eq!(
            dc.tls,
            TlsSwitches {
                pkix: false,
                dane: true
            }
        );
        assert!(dc.addresses.allow_loopback);
        assert_eq!(
            dc.addresses.families,
            DeliveryConfig::new("x").addresses.families
        );
    }
}
