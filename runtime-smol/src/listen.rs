//! Listening sockets, independent of the async runtime.

use std::io;
use std::net::{SocketAddr, TcpListener};

/// How a listener uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plaintext first; the connection may ask for STARTTLS.
    StartTls,
    /// TLS from the first byte (IMAPS).
    Implicit,
}

/// Binds a non-blocking listening socket (ready for either runtime). An
/// address in use comes back as [`io::ErrorKind::AddrInUse`].
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let l = TcpListener::bind(addr)?;
    l.set_nonblocking(true)?;
    Ok(l)
}
