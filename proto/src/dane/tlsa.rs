//! TLSA records for SMTP (RFC 6698 2.1, RFC 7671, RFC 7672 3.1): which
//! records are usable, the names they live at, and matching a certificate.

use std::fmt;

use ring::digest;

use crate::dns::Rdata;

/// Certificate usage DANE-TA(2): a trust anchor of the chain (RFC 7218).
pub const USAGE_DANE_TA: u8 = 2;
/// Certificate usage DANE-EE(3): the server's own certificate or key.
pub const USAGE_DANE_EE: u8 = 3;
/// Selector Cert(0): the whole DER certificate.
pub const SELECTOR_CERT: u8 = 0;
/// Selector SPKI(1): the DER SubjectPublicKeyInfo.
pub const SELECTOR_SPKI: u8 = 1;
/// Matching type Full(0): the selected data itself.
pub const MATCHING_FULL: u8 = 0;
/// Matching type SHA2-256(1).
pub const MATCHING_SHA256: u8 = 1;
/// Matching type SHA2-512(2).
pub const MATCHING_SHA512: u8 = 2;

/// One usable TLSA record: usage DANE-TA or DANE-EE, a known selector and
/// matching type, data of the right length.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlsaRecord {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

impl fmt::Display for TlsaRecord {
    /// The presentation form, `3 1 1 <hex>` (RFC 6698 2.2).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} ", self.usage, self.selector, self.matching)?;
        for b in &self.data {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Why a TLSA record cannot be used for SMTP (RFC 7672 3.1.3: such records
/// are ignored; a set of only unusable records means "TLS without
/// authentication").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// PKIX-TA(0) or PKIX-EE(1): SMTP has no agreed PKIX trust anchors
    /// (RFC 7672 3.1.3).
    PkixUsage(u8),
    /// A usage not defined for DANE.
    UnknownUsage(u8),
    UnknownSelector(u8),
    UnknownMatching(u8),
    /// A digest whose length is not that of its matching type, or empty
    /// full data.
    BadLength {
        matching: u8,
        len: usize,
    },
    /// Not a TLSA record at all.
    NotTlsa,
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::PkixUsage(u) => write!(
                f,
                "usage {u} (PKIX-{}) is not usable for SMTP (RFC 7672 3.1.3)",
                if *u == 0 { "TA" } else { "EE" }
            ),
            Unusable::UnknownUsage(u) => write!(f, "unknown certificate usage {u}"),
            Unusable::UnknownSelector(s) => write!(f, "unknown selector {s}"),
            Unusable::UnknownMatching(m) => write!(f, "unknown matching type {m}"),
            Unusable::BadLength { matching, len } => {
                write!(f, "{len} bytes of data do not fit matching type {matching}")
            }
            Unusable::NotTlsa => f.write_str("not a TLSA record"),
        }
    }
}

/// The usable form of a TLSA record, or why it is not usable.
pub fn usable(rdata: &Rdata) -> Result<TlsaRecord, Unusable> {
    let Rdata::Tlsa {
        usage,
        selector,
        matching,
        data,
    } = rdata
    else {
        return Err(Unusable::NotTlsa);
    };
    let (usage, selector, matching) = (*usage, *selector, *matching);
    match usage {
        0 | 1 => return Err(Unusable::PkixUsage(usage)),
        USAGE_DANE_TA | USAGE_DANE_EE => {}
        u => return Err(Unusable::UnknownUsage(u)),
    }
    if selector > SELECTOR_SPKI {
        return Err(Unusable::UnknownSelector(selector));
    }
    let want = match matching {
        MATCHING_FULL => None,
        MATCHING_SHA256 => Some(32),
        MATCHING_SHA512 => Some(64),
        m => return Err(Unusable::UnknownMatching(m)),
    };
    let len_ok = match want {
        Some(n) => data.len() == n,
        None => !data.is_empty(),
    };
    if !len_ok {
        return Err(Unusable::BadLength {
            matching,
            len: data.len(),
        });
    }
    Ok(TlsaRecord {
        usage,
        selector,
        matching,
        data: data.clone(),
    })
}

/// The TLSA owner name for a service: `_25._tcp.mx.example.com` (RFC 6698
/// 3, RFC 7672 2.2.3). `host` is a canonical name (no trailing dot).
pub fn tlsa_name(port: u16, host: &str) -> String {
    format!("_{port}._tcp.{}", host.trim_end_matches('.'))
}

impl TlsaRecord {
    /// Whether the record matches a certificate: `cert_der` is the whole
    /// certificate and `spki_der` its SubjectPublicKeyInfo (RFC 6698 2.1.3,
    /// 2.1.4).
    pub fn matches(&self, cert_der: &[u8], spki_der: &[u8]) -> bool {
        let selected = match self.selector {
            SELECTOR_CERT => cert_der,
            SELECTOR_SPKI => spki_der,
            _ => return false,
        };
        match self.matching {
            MATCHING_FULL => selected == self.data.as_slice(),
            MATCHING_SHA256 => digest::digest(&digest::SHA256, selected).as_ref() == self.data,
            MATCHING_SHA512 => digest::digest(&digest::SHA512, selected).as_ref() == self.data,
            _ => false,
        }
    }

    /// A record of `usage`, `selector`, `matching` for a certificate (for
    /// tests and tools that print the record to publish).
    pub fn for_certificate(
        usage: u8,
        selector: u8,
        matching: u8,
        cert_der: &[u8],
        spki_der: &[u8],
    ) -> TlsaRecord {
        let selected = if selector == SELECTOR_CERT {
            cert_der
        } else {
            spki_der
        };
        let data = match matching {
            MATCHING_SHA256 => digest::digest(&digest::SHA256, selected).as_ref().to_vec(),
            MATCHING_SHA512 => digest::digest(&digest::SHA512, selected).as_ref().to_vec(),
            _ => selected.to_vec(),
        };
        TlsaRecord {
            usage,
            selector,
            matching,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlsa(usage: u8, selector: u8, matching: u8, len: usize) -> Rdata {
        Rdata::Tlsa {
            usage,
            selector,
            matching,
            data: vec![7; len],
        }
    }

    #[test]
    fn usability() {
        assert!(usable(&tlsa(3, 1, 1, 32)).is_ok());
        assert!(usable(&tlsa(2, 0, 2, 64)).is_ok());
        assert!(usable(&tlsa(3, 0, 0, 5)).is_ok());
        assert_eq!(usable(&tlsa(0, 1, 1, 32)), Err(Unusable::PkixUsage(0)));
        assert_eq!(usable(&tlsa(1, 1, 1, 32)), Err(Unusable::PkixUsage(1)));
        assert_eq!(usable(&tlsa(4, 1, 1, 32)), Err(Unusable::UnknownUsage(4)));
        assert_eq!(
            usable(&tlsa(3, 2, 1, 32)),
            Err(Unusable::UnknownSelector(2))
        );
        assert_eq!(
            usable(&tlsa(3, 1, 3, 32)),
            Err(Unusable::UnknownMatching(3))
        );
        assert_eq!(
            usable(&tlsa(3, 1, 1, 31)),
            Err(Unusable::BadLength {
                matching: 1,
                len: 31
            })
        );
        assert_eq!(
            usable(&tlsa(3, 1, 2, 32)),
            Err(Unusable::BadLength {
                matching: 2,
                len: 32
            })
        );
        assert_eq!(
            usable(&tlsa(3, 1, 0, 0)),
            Err(Unusable::BadLength {
                matching: 0,
                len: 0
            })
        );
        assert_eq!(usable(&Rdata::Ptr("x".into())), Err(Unusable::NotTlsa));
        assert_eq!(tlsa_name(25, "mx.example.com."), "_25._tcp.mx.example.com");
        let r = TlsaRecord {
            usage: 3,
            selector: 1,
            matching: 1,
            data: vec![0xab, 0x01],
        };
        assert_eq!(r.to_string(), "3 1 1 ab01");
    }

    #[test]
    fn matching() {
        let (cert, spki) = (b"certificate".as_slice(), b"spki".as_slice());
        for (sel, mt) in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)] {
            let r = TlsaRecord::for_certificate(3, sel, mt, cert, spki);
            assert!(r.matches(cert, spki), "{sel} {mt}");
            assert!(!r.matches(b"other", b"other"), "{sel} {mt}");
            // The selector decides which part is compared.
            assert!(!r.matches(spki, cert), "{sel} {mt}");
        }
        let r = TlsaRecord::for_certificate(3, 1, 1, cert, spki);
        assert_eq!(
            r.to_string(),
            format!(
                "3 1 1 {}",
                hex(digest::digest(&digest::SHA256, spki).as_ref())
            )
        );
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }
}
