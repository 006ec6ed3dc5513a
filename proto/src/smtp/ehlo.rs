//! The EHLO reply: the service extensions this connection offers
//! (RFC 5321 4.1.1.1).

use super::reply::Reply;
use crate::sasl::Mechanism;

/// What decides the capability list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Offer<'a> {
    pub(crate) hostname: &'a str,
    pub(crate) max_message_size: u64,
    pub(crate) max_recipients: u32,
    /// STARTTLS is possible (configured and not yet active).
    pub(crate) starttls: bool,
    /// The connection runs over TLS.
    pub(crate) tls: bool,
    /// AUTH may be offered (submission, not authenticated, TLS or allowed).
    pub(crate) auth: bool,
    /// -PLUS mechanisms may be offered (TLS with channel binding).
    pub(crate) plus: bool,
}

/// The mechanisms offered, strongest first.
pub(crate) fn mechanisms(plus: bool) -> impl Iterator<Item = Mechanism> {
    Mechanism::ALL
        .into_iter()
        .filter(move |m| plus || !m.is_plus())
}

/// The `250` reply to EHLO. Capability lines carry no enhanced code.
pub(crate) fn ehlo_reply(o: Offer<'_>) -> Reply {
    let mut lines = vec![
        o.hostname.to_string(),
        // RFC 2920.
        "PIPELINING".to_string(),
        // RFC 1870 4.
        format!("SIZE {}", o.max_message_size),
        // RFC 6152.
        "8BITMIME".to_string(),
        // RFC 6531.
        "SMTPUTF8".to_string(),
        // RFC 2034.
        "ENHANCEDSTATUSCODES".to_string(),
        // RFC 3030.
        "CHUNKING".to_string(),
        "BINARYMIME".to_string(),
    ];
    // RFC 3207 4.2: not offered once TLS is active.
    if o.starttls {
        lines.push("STARTTLS".to_string());
    }
    // RFC 8689 4: only over TLS.
    if o.tls {
        lines.push("REQUIRETLS".to_string());
    }
    // RFC 9422 4.
    lines.push(format!("LIMITS RCPTMAX={}", o.max_recipients));
    if o.auth {
        let names: Vec<&str> = mechanisms(o.plus).map(Mechanism::name).collect();
        lines.push(format!("AUTH {}", names.join(" ")));
    }
    Reply {
        code: 250,
        enhanced: None,
        lines,
    }
}

/// The `250` reply to HELO: the host name only.
pub(crate) fn helo_reply(hostname: &str) -> Reply {
    Reply::new(250, None, hostname)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_follow_the_connection() {
        let o = Offer {
            hostname: "mx.example",
            max_message_size: 1000,
            max_recipients: 50,
            starttls: true,
            tls: false,
            auth: false,
            plus: false,
        };
        assert_eq!(
            String::from_utf8(ehlo_reply(o).to_bytes()).unwrap(),
            "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n\
250-SMTPUTF8\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n250-BINARYMIME\r\n\
250-STARTTLS\r\n250 LIMITS RCPTMAX=50\r\n"
        );
        let o = Offer {
            starttls: false,
            tls: true,
            auth: true,
            plus: true,
            ..o
        };
        let s = String::from_utf8(ehlo_reply(o).to_bytes()).unwrap();
        assert!(s.contains("250-REQUIRETLS\r\n"), "{s}");
        assert!(s.ends_with(
            "250 AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN\r\n"
        ));
        let s = String::from_utf8(ehlo_reply(Offer { plus: false, ..o }).to_bytes()).unwrap();
        assert!(s.ends_with("250 AUTH SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN\r\n"));
    }
}
