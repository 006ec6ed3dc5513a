//! The control socket of `moxide serve` and `moxide localserve`: the
//! admin commands `moxide queue …`, `moxide config account|tlspubkey …`
//! and the data part of `moxide backup`
//! run inside the server that holds the store (the database allows one
//! process at a time), as mox's `ctl` socket does. The server listens on
//! the unix socket `ctl` in its data directory; the CLI connects to it when
//! it answers and opens the store itself when no server runs. Either way
//! the same function ([`crate::cli_queue::execute`],
//! [`crate::config_cli::execute_account`],
//! [`crate::config_cli::execute_tlspubkey`]) makes the output and makes the
//! change durable before it is printed, so what the admin sees is byte for
//! byte the same.
//!
//! Protocol, version 1, one request per connection:
//! - The client sends the greeting `moxide-ctl 1\n`, a 4-byte big-endian
//!   length (at most [`MAX_REQUEST`]) and that many bytes of JSON: a
//!   [`Request`] (the parsed command-line arguments, and the password an
//!   account command read from standard input).
//! - The server answers with the greeting, one status byte (0: done,
//!   1: failed), an 8-byte big-endian length and that many bytes: after 0
//!   what the command prints on standard output, after 1 the error message
//!   (the CLI prints it after "moxide queue: " or "moxide config: ").
//!   Then it closes the connection.
//! - A connection that does not start with the greeting, sends a request
//!   that does not parse (e.g. from a `moxide` of another version), takes
//!   longer than [`REQUEST_TIMEOUT`] to send it, or comes from a user not
//!   allowed, is answered with status 1 and the reason and closed.
//!
//! Access: the socket file has mode 0600, and the peer's user (SO_PEERCRED)
//! must be root, the owner of the data directory or the server's own user.
//! The file is removed when the server stops; a socket file left by a
//! server that died is found by a refused connection and replaced.

use std::io::{self, Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_io::{Async, Timer};
use futures_lite::{AsyncReadExt, AsyncWriteExt, future};
use moxide_engine::config::Domains;
use moxide_engine::queue::Queue;
use serde::{Deserialize, Serialize};
use smol::Executor;

use crate::cli_queue::QueueCommand;
use crate::config_cli::{AccountCommand, TlsPubKeyCommand};

/// The socket's file name in the data directory.
pub const SOCKET_NAME: &str = "ctl";
/// The greeting both sides send first.
pub const GREETING: &[u8] = b"moxide-ctl 1\n";
/// The largest request, in bytes of JSON.
pub const MAX_REQUEST: u32 = 1 << 20;
/// How long a client may take to send its request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the CLI waits for the server's answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest path a unix socket address holds (Linux `sun_path` is 108
/// bytes with the terminating NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// One admin command, as the CLI parsed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// `moxide queue …`.
    Queue(QueueCommand),
    /// `moxide config account …`, with the password read from standard
    /// input for `add --password-stdin` and `passwd`.
    Account {
        /// The command.
        command: AccountCommand,
        /// The password, when the command reads one.
        password: Option<String>,
    },
    /// `moxide config --dir DIR tlspubkey …` (localserve only), with the
    /// certificate `add` read from standard input.
    Tlspubkey {
        /// The command.
        command: TlsPubKeyCommand,
        /// The PEM input of `add`, else empty.
        pem: Vec<u8>,
    },
    /// `moxide backup`: the server copies its data into `dest`, a new
    /// data directory (absolute path; the CLI copies the configuration
    /// and verifies the copy).
    Backup {
        /// The destination data directory.
        dest: PathBuf,
    },
}

/// What a command prints on standard output, or the error message.
pub type Outcome = Result<Vec<u8>, String>;

/// Runs a request against the server's store and queue.
pub type Handler = Arc<dyn Fn(Request) -> Outcome + Send + Sync>;

/// The control socket's path for a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// Sends `req` to the server of `data_dir`. `None` when no server answers
/// there (no socket file, or a stale one): the caller then opens the store
/// itself. Otherwise the command's outcome, or an error saying the server
/// could not be asked or did not answer.
pub fn request(data_dir: &Path, req: &Request) -> Option<Outcome> {
    let path = socket_path(data_dir);
    let stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound
                    | io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::InvalidInput
            ) =>
        {
            return None;
        }
        Err(e) => {
            return Some(Err(format!(
                "connecting to the control socket {} of moxide serve: {e}{}",
                path.display(),
                if e.kind() == io::ErrorKind::PermissionDenied {
                    " (run this as root or as the owner of the data directory)"
                } else {
                    ""
                }
            )));
        }
    };
    Some(exchange(stream, req).unwrap_or_else(|e| {
        Err(format!(
            "talking to moxide serve over {}: {e}",
            path.display()
        ))
    }))
}

/// Writes the request and reads the answer.
fn exchange(mut s: UnixStream, req: &Request) -> Result<Outcome, String> {
    let json = serde_json::to_vec(req).map_err(|e| format!("encoding the request: {e}"))?;
    let len = u32::try_from(json.len())
        .ok()
        .filter(|n| *n <= MAX_REQUEST)
        .ok_or_else(|| format!("the request is longer than {MAX_REQUEST} bytes"))?;
    let io_err = |what: &str, e: io::Error| format!("{what}: {e}");
    s.set_write_timeout(Some(REQUEST_TIMEOUT))
        .and_then(|()| s.set_read_timeout(Some(RESPONSE_TIMEOUT)))
        .map_err(|e| io_err("setting timeouts", e))?;
    let mut msg = Vec::with_capacity(GREETING.len() + 4 + json.len());
    msg.extend_from_slice(GREETING);
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend_from_slice(&json);
    s.write_all(&msg)
        .and_then(|()| s.flush())
        .map_err(|e| io_err("sending the request (the command was not run)", e))?;
    let broke = "reading the answer (the command may have been run; check with a list command)";
    let mut head = [0u8; GREETING.len() + 1 + 8];
    s.read_exact(&mut head).map_err(|e| io_err(broke, e))?;
    let (greeting, rest) = head.split_at(GREETING.len());
    if greeting != GREETING {
        return Err(format!(
            "the answer does not start with {:?}: is this moxide the same version as the server?",
            String::from_utf8_lossy(GREETING)
        ));
    }
    let (status, len) = rest.split_at(1);
    let mut len_bytes = [0u8; 8];
    len_bytes.copy_from_slice(len);
    let len = u64::from_be_bytes(len_bytes);
    let mut body = Vec::new();
    let got = s
        .take(len)
        .read_to_end(&mut body)
        .map_err(|e| io_err(broke, e))?;
    if u64::try_from(got).ok() != Some(len) {
        return Err(format!(
            "{broke}: the answer ended after {got} of {len} bytes"
        ));
    }
    match status[0] {
        0 => Ok(Ok(body)),
        1 => Ok(Err(String::from_utf8_lossy(&body).into_owned())),
        other => Err(format!("the answer has an unknown status {other}")),
    }
}

/// The listening control socket of a server; removes its file when
/// dropped.
#[derive(Debug)]
pub struct CtlSocket {
    path: PathBuf,
    listener: Option<UnixListener>,
    /// Device and inode of the socket file this server made.
    file: (u64, u64),
    /// The users allowed besides root: the data directory's owner and the
    /// server's own.
    allowed: [u32; 2],
}

impl CtlSocket {
    /// Creates the socket `ctl` in `data_dir` (mode 0600), replacing one
    /// left by a server that died. The caller holds the store, so no other
    /// server of this data directory runs; a socket that still answers is
    /// refused all the same.
    pub fn bind(data_dir: &Path) -> Result<CtlSocket, String> {
        let path = socket_path(data_dir);
        let n = path.as_os_str().len();
        if n > MAX_SOCKET_PATH {
            return Err(format!(
                "control socket {}: the path is {n} bytes long, a unix socket path may have at most {MAX_SOCKET_PATH} (choose a shorter data_dir)",
                path.display()
            ));
        }
        let what = |e: io::Error| format!("control socket {}: {e}", path.display());
        match std::fs::symlink_metadata(&path) {
            Ok(m) if !m.file_type().is_socket() => {
                return Err(format!(
                    "control socket {}: the file exists and is not a socket (remove it)",
                    path.display()
                ));
            }
            Ok(_) => {
                if UnixStream::connect(&path).is_ok() {
                    return Err(format!(
                        "control socket {}: another server answers on it (stop it first)",
                        path.display()
                    ));
                }
                std::fs::remove_file(&path).map_err(what)?;
                tracing::info!(path = %path.display(), "replaced a stale control socket");
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(what(e)),
        }
        let listener = UnixListener::bind(&path).map_err(what)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(what)?;
        let m = std::fs::metadata(&path).map_err(what)?;
        let owner = std::fs::metadata(data_dir)
            .map_err(|e| format!("data_dir {}: {e}", data_dir.display()))?
            .uid();
        Ok(CtlSocket {
            path,
            listener: Some(listener),
            file: (m.dev(), m.ino()),
            allowed: [owner, rustix::process::geteuid().as_raw()],
        })
    }

    /// The socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The loop accepting connections, each served on `ex`, its command
    /// run by `handler` on the blocking pool. Call once.
    pub fn accept_loop(
        &mut self,
        ex: Arc<Executor<'static>>,
        handler: Handler,
    ) -> Result<impl Future<Output = ()> + Send + 'static, String> {
        let listener = self
            .listener
            .take()
            .ok_or_else(|| "the control socket is already served".to_string())?;
        let listener = Async::new(listener)
            .map_err(|e| format!("control socket {}: {e}", self.path.display()))?;
        let allowed = self.allowed;
        Ok(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        ex.spawn(serve_connection(stream, handler.clone(), allowed))
                            .detach();
                    }
                    Err(e) => {
                        tracing::warn!("control socket: accepting: {e}");
                        Timer::after(Duration::from_millis(100)).await;
                    }
                }
            }
        })
    }
}

impl Drop for CtlSocket {
    fn drop(&mut self) {
        // Only the file this server made (never one that replaced it).
        if let Ok(m) = std::fs::symlink_metadata(&self.path)
            && (m.dev(), m.ino()) == self.file
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Serves one connection: reads the request, runs it, answers.
async fn serve_connection(mut s: Async<UnixStream>, handler: Handler, allowed: [u32; 2]) {
    let outcome = match peer_allowed(&s, allowed) {
        Err(e) => Err(e),
        Ok(()) => {
            let timeout = async {
                Timer::after(REQUEST_TIMEOUT).await;
                Err(format!(
                    "no complete request within {} s",
                    REQUEST_TIMEOUT.as_secs()
                ))
            };
            match future::or(read_request(&mut s), timeout).await {
                Ok(req) => crate::blocking_pool::unblock(move || handler(req)).await,
                Err(e) => Err(e),
            }
        }
    };
    if let Err(e) = &outcome {
        tracing::debug!("control socket: {e}");
    }
    let (status, body) = match outcome {
        Ok(out) => (0u8, out),
        Err(e) => (1u8, e.into_bytes()),
    };
    let mut head = Vec::with_capacity(GREETING.len() + 9);
    head.extend_from_slice(GREETING);
    head.push(status);
    head.extend_from_slice(&u64::try_from(body.len()).unwrap_or(u64::MAX).to_be_bytes());
    let write = async {
        s.write_all(&head).await?;
        s.write_all(&body).await?;
        s.flush().await
    };
    let timeout = async {
        Timer::after(REQUEST_TIMEOUT).await;
        Err(io::Error::from(io::ErrorKind::TimedOut))
    };
    if let Err(e) = future::or(write, timeout).await {
        tracing::warn!("control socket: answering: {e}");
        return;
    }
    // Closing with unread input would reset the connection and could lose
    // the answer at the client: end the answer, then read what the client
    // still sends (a rejected request's rest) until it closes.
    let _ = s.get_ref().shutdown(std::net::Shutdown::Write);
    let drain = async {
        let mut buf = [0u8; 4096];
        let mut left = MAX_REQUEST as usize;
        while left > 0 {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let give_up = async {
        Timer::after(Duration::from_secs(1)).await;
    };
    future::or(drain, give_up).await;
}

/// Root, the data directory's owner and the server's user may connect.
fn peer_allowed(s: &Async<UnixStream>, allowed: [u32; 2]) -> Result<(), String> {
    let cred = rustix::net::sockopt::socket_peercred(s.get_ref())
        .map_err(|e| format!("reading the peer's credentials: {e}"))?;
    let uid = cred.uid.as_raw();
    if uid == 0 || allowed.contains(&uid) {
        Ok(())
    } else {
        Err(format!(
            "user {uid} may not use the control socket (only root and the owner of the data directory)"
        ))
    }
}

/// Reads the greeting and the request.
async fn read_request(s: &mut Async<UnixStream>) -> Result<Request, String> {
    let mut greeting = [0u8; GREETING.len()];
    s.read_exact(&mut greeting)
        .await
        .map_err(|e| format!("reading the greeting: {e}"))?;
    if greeting != GREETING {
        return Err(format!(
            "not a moxide control request: expected the greeting {:?}",
            String::from_utf8_lossy(GREETING)
        ));
    }
    let mut len = [0u8; 4];
    s.read_exact(&mut len)
        .await
        .map_err(|e| format!("reading the request length: {e}"))?;
    let len = u32::from_be_bytes(len);
    if len > MAX_REQUEST {
        return Err(format!(
            "the request is {len} bytes long, at most {MAX_REQUEST} are allowed"
        ));
    }
    let mut json = vec![0u8; len as usize];
    s.read_exact(&mut json)
        .await
        .map_err(|e| format!("reading the request: {e}"))?;
    serde_json::from_slice(&json).map_err(|e| {
        format!("the request does not parse ({e}): is this moxide the same version as the server?")
    })
}

/// The handler of a server: runs queue commands on its queue (so
/// `schedule` and `unhold` wake its queue runner, if it has one) and
/// account commands on its store, one command at a time. `domains`: those
/// of `moxide serve` (addresses must be in them; `tlspubkey` is refused as
/// on the command line); `None` for localserve (any domain; `tlspubkey`
/// allowed). `running` is held while a command runs; the server takes it
/// before it stops so a command in progress finishes first.
pub fn server_handler(
    queue: Arc<Queue>,
    domains: Option<Domains>,
    running: Arc<Mutex<()>>,
) -> Handler {
    Arc::new(move |req| {
        let _one = running.lock().unwrap_or_else(|e| e.into_inner());
        let store = queue.store();
        let text = |r: Result<String, String>| r.map(String::into_bytes);
        match req {
            Request::Queue(cmd) => {
                crate::cli_queue::execute(&queue, cmd, crate::cli_queue::unix_now())
            }
            Request::Account { command, password } => text(crate::config_cli::execute_account(
                store,
                domains.as_ref(),
                command,
                password,
            )),
            Request::Backup { dest } => {
                crate::cli_backup::backup_data(store, &dest).map(String::into_bytes)
            }
            Request::Tlspubkey { .. } if domains.is_some() => {
                Err("tlspubkey works on the localserve directory; use --dir, not --config".into())
            }
            Request::Tlspubkey { command, pem } => text(crate::config_cli::execute_tlspubkey(
                store,
                command,
                &pem,
                crate::cli_queue::unix_now(),
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Request {
        Request::Queue(QueueCommand::List {
            ids: vec![],
            domain: None,
            held: false,
            not_held: false,
        })
    }

    #[test]
    fn no_socket_or_a_dead_one_means_no_server() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(request(dir.path(), &list()), None);
        // A socket file whose listener is gone refuses connections.
        drop(UnixListener::bind(dir.path().join(SOCKET_NAME)).unwrap());
        assert_eq!(request(dir.path(), &list()), None);
        // bind replaces it, and removes its own file when dropped.
        let s = CtlSocket::bind(dir.path()).unwrap();
        let m = std::fs::metadata(s.path()).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o600);
        drop(s);
        assert!(!dir.path().join(SOCKET_NAME).exists());
    }

    #[test]
    fn bind_refuses_a_live_socket_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SOCKET_NAME);
        let live = UnixListener::bind(&path).unwrap();
        assert_eq!(
            CtlSocket::bind(dir.path()).unwrap_err(),
            format!(
                "control socket {}: another server answers on it (stop it first)",
                path.display()
            )
        );
        drop(live);
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "x").unwrap();
        assert_eq!(
            CtlSocket::bind(dir.path()).unwrap_err(),
            format!(
                "control socket {}: the file exists and is not a socket (remove it)",
                path.display()
            )
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
    }

    #[test]
    fn a_request_round_trips_through_a_server() {
        let dir = tempfile::tempdir().unwrap();
        let mut sock = CtlSocket::bind(dir.path()).unwrap();
        let ex = Arc::new(Executor::new());
        let handler: Handler = Arc::new(|req| match req {
            Request::Queue(QueueCommand::List { .. }) => Ok(b"listed\n".to_vec()),
            Request::Account { password, .. } => Err(format!("pw {password:?}")),
            other => Err(format!("{other:?}")),
        });
        ex.spawn(sock.accept_loop(ex.clone(), handler).unwrap())
            .detach();
        let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
        let runner = {
            let ex = ex.clone();
            std::thread::spawn(move || smol::block_on(ex.run(stop_rx.recv())))
        };
        assert_eq!(request(dir.path(), &list()), Some(Ok(b"listed\n".to_vec())));
        let passwd = Request::Account {
            command: AccountCommand::Passwd { name: "a".into() },
            password: Some("s3cret".into()),
        };
        assert_eq!(
            request(dir.path(), &passwd),
            Some(Err("pw Some(\"s3cret\")".into()))
        );
        // Another version's greeting.
        let mut s = UnixStream::connect(sock.path()).unwrap();
        s.write_all(b"moxide-ctl 2\n\0\0\0\x02{}").unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        assert_eq!(&answer[..GREETING.len() + 1], b"moxide-ctl 1\n\x01");
        // An oversized request length.
        let mut s = UnixStream::connect(sock.path()).unwrap();
        s.write_all(b"moxide-ctl 1\n\xff\xff\xff\xff").unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&answer[GREETING.len() + 9..]),
            format!("the request is 4294967295 bytes long, at most {MAX_REQUEST} are allowed")
        );
        drop(stop_tx);
        runner.join().unwrap().unwrap_err();
    }
}
