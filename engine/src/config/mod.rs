//! The production configuration of `moxide serve`: `moxide.toml` (the
//! static settings: host name, data directory, listeners, resolver,
//! outgoing transports and routes) and `domains.toml` (the local domains
//! and their DKIM selectors), as mox's `mox.conf` and `domains.conf`.
//!
//! Both files are TOML; unknown fields are errors, and every error names
//! the file, the field and what to do ([`ConfigError`]). Relative paths
//! resolve against the directory of the file they are written in.
//! [`example::SERVER`] and [`example::DOMAINS`] document every field; they
//! are what `moxide serve --example-config` prints, and parse as they are.
//!
//! Accounts are not in these files: they live in the store and are
//! managed with `moxide config account …` ([`crate::admin::account`]).

pub mod dkim_add;
pub mod domains;
pub mod example;
pub mod outgoing;
pub mod server;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use domains::{Domain, Domains, Selector};
pub use server::{Config, DeliveryTls, Listener, Route, Service, Transport};

/// Why a configuration file cannot be used. The `Display` text is the
/// message for the admin: file, field, problem and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error and what to do.
        message: String,
    },
    /// The file is not valid TOML or has an unknown or mistyped field.
    #[error(
        "{}: {message}\n(every field is described in the output of `moxide serve --example-config`)",
        path.display()
    )]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A field has a value that cannot be used.
    #[error("{}: {field}: {message}", path.display())]
    Field {
        /// The file.
        path: PathBuf,
        /// Where in the file, e.g. `listeners[0].tls_cert` or
        /// `domains."a.test".dkim.sign`.
        field: String,
        /// What is wrong and what to do.
        message: String,
    },
}

impl ConfigError {
    /// A [`ConfigError::Field`].
    pub fn field(path: &Path, field: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Field {
            path: path.to_path_buf(),
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Reads a configuration file as UTF-8 text.
pub(crate) fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        message: match e.kind() {
            std::io::ErrorKind::NotFound => {
                "no such file (write one; `moxide serve --example-config` prints an example)"
                    .to_string()
            }
            _ => format!("cannot read: {e}"),
        },
    })
}

/// Parses TOML text into `T`, mapping parser errors to
/// [`ConfigError::Syntax`].
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })
}

/// `p` resolved against `base` (the directory of the file it is written
/// in) when relative.
pub(crate) fn resolve_path(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// The directory of a configuration file (`.` for a bare file name).
pub(crate) fn dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A domain name in canonical form (A-labels, ASCII lower case, no
/// trailing dot), or the message for the admin. U-labels (`exämple.test`)
/// and A-labels (`xn--exmple-cua.test`) give the same name (IDNA, RFC
/// 5891; [`moxide_proto::dns::domain_to_ascii`]).
pub fn domain_name(name: &str) -> Result<String, String> {
    moxide_proto::dns::domain_to_ascii(name)
        .map_err(|e| format!("{name:?} is not a domain name: {e}"))
}

/// Loads `moxide.toml` at `path` and the domains file it names.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    Config::load(path)
}
