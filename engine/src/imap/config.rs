//! Session configuration: limits, timeouts and the capabilities advertised
//! (RFC 9051 6.1.1 and the extensions' capability names).

use std::time::Duration;

use moxide_proto::imap::server::ServerConfig;

use super::login_limit::LoginLimiter;

/// Configuration shared by all IMAP sessions of a listener.
#[derive(Debug)]
pub struct ImapConfig {
    /// Framing limits and timeouts of the connection (30 s before login,
    /// 30 min after, IDLE up to 30 min, as mox).
    pub server: ServerConfig,
    /// Greeting text after `* OK [CAPABILITY …]`.
    pub greeting: String,
    /// Allow LOGIN and AUTHENTICATE PLAIN without TLS (localserve on
    /// loopback). Without it a plaintext connection advertises LOGINDISABLED
    /// (RFC 9051 6.2.3).
    pub allow_plaintext_auth: bool,
    /// Whether STARTTLS is offered on plaintext connections.
    pub starttls: bool,
    /// Failed logins per client IP, shared by all sessions.
    pub login_limit: LoginLimiter,
    /// The value of `ID` fields the server returns (RFC 2971).
    pub id_name: String,
}

impl Default for ImapConfig {
    fn default() -> Self {
        ImapConfig {
            server: ServerConfig::default(),
            greeting: "moxide IMAP ready".to_string(),
            allow_plaintext_auth: false,
            starttls: true,
            login_limit: LoginLimiter::default(),
            id_name: "moxide".to_string(),
        }
    }
}

impl ImapConfig {
    /// APPENDLIMIT (RFC 7889): the largest message APPEND accepts.
    pub fn append_limit(&self) -> u64 {
        self.server.max_append
    }

    /// The inactivity timeout before authentication.
    pub fn timeout_unauth(&self) -> Duration {
        self.server.timeout_unauth
    }

    /// The capabilities for a connection in the given situation.
    ///
    /// `tls`: the connection is encrypted; `authenticated`: after login;
    /// `plus`: channel binding is available (-PLUS mechanisms).
    pub fn capabilities(&self, tls: bool, authenticated: bool, plus: bool) -> Vec<String> {
        let mut caps: Vec<String> = ["IMAP4rev2", "IMAP4rev1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if !authenticated {
            if !tls && self.starttls {
                caps.push("STARTTLS".into());
            }
            let plaintext_ok = tls || self.allow_plaintext_auth;
            if !plaintext_ok {
                // RFC 9051 6.2.3: LOGIN refused without TLS.
                caps.push("LOGINDISABLED".into());
            }
            if plus {
                caps.push("AUTH=SCRAM-SHA-256-PLUS".into());
            }
            caps.push("AUTH=SCRAM-SHA-256".into());
            if plus {
                caps.push("AUTH=SCRAM-SHA-1-PLUS".into());
            }
            caps.push("AUTH=SCRAM-SHA-1".into());
            caps.push("AUTH=CRAM-MD5".into());
            if plaintext_ok {
                caps.push("AUTH=PLAIN".into());
            }
        }
        let common = [
            "ENABLE",
            "LITERAL+",
            "IDLE",
            "SASL-IR",
            "BINARY",
            "UNSELECT",
            "UIDPLUS",
            "ESEARCH",
            "SEARCHRES",
            "MOVE",
            "UTF8=ACCEPT",
            "LIST-EXTENDED",
            "SPECIAL-USE",
            "CREATE-SPECIAL-USE",
            "LIST-STATUS",
            "NAMESPACE",
            "ID",
            "CHILDREN",
            "CONDSTORE",
            "QRESYNC",
            "STATUS=SIZE",
            "MULTIAPPEND",
            "REPLACE",
            "SAVEDATE",
            "WITHIN",
            "QUOTA",
            "QUOTA=RES-STORAGE",
            "SORT",
            "SORT=DISPLAY",
            "THREAD=ORDEREDSUBJECT",
            "THREAD=REFERENCES",
            "PREVIEW",
            "COMPRESS=DEFLATE",
        ];
        caps.extend(common.iter().map(|s| s.to_string()));
        caps.push(format!("APPENDLIMIT={}", self.append_limit()));
        caps
    }
}
