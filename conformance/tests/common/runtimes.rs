//! A fresh localserve for every loopback transcript, served by either
//! runtime: the library set-up in a temporary directory, then the accept
//! loops of smol ([`serve_smol`]) or tokio ([`serve_tokio`]) on a thread;
//! and the IMAP and SMTP transcript runs of the `*loopback_{smol,tokio}.rs`
//! tests ([`run_imap`], [`run_smtp`]), which include this file.
#![allow(dead_code)] // each test crate uses one runtime

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

use moxide::listen::Security;
use moxide::localserve::{self, Options, Prepared};
use moxide::session::Session;
use moxide_conformance::loopback::{self, Mode, Server};
use moxide_conformance::smtp_loopback::{self, SmtpServer};
use moxide_engine::imap::PeerInfo;
use moxide_engine::smtp::Role;

/// A running server; stopped (and its directory removed) when dropped.
pub struct Running {
    stop: Option<Box<dyn FnOnce() + Send>>,
    thread: Option<JoinHandle<()>>,
    _prepared: Prepared,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// localserve prepared in a fresh temporary directory, every listener on
/// a port the OS picks.
pub fn prepare() -> Result<(Prepared, tempfile::TempDir), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let prepared = localserve::prepare(Options {
        dir: Some(dir.path().to_path_buf()),
        imap_port: Some(0),
        imaps_port: Some(0),
    })?;
    Ok((prepared, dir))
}

/// The first IPv4 address of `listeners` that `pick` accepts.
pub fn find<B>(
    listeners: &[B],
    pick: impl Fn(&B) -> Option<&TcpListener>,
    what: &str,
) -> Result<SocketAddr, String> {
    listeners
        .iter()
        .filter_map(pick)
        .filter_map(|l| l.local_addr().ok())
        .find(SocketAddr::is_ipv4)
        .ok_or_else(|| format!("no IPv4 {what} listener"))
}

/// A listener to serve, with the sessions it makes.
pub struct Listener<F> {
    pub listener: TcpListener,
    pub addr: SocketAddr,
    pub security: Security,
    pub make: Arc<F>,
}

/// Serves `listeners` with smol accept loops on a thread until the
/// returned [`Running`] is dropped.
pub fn serve_smol<C, F>(
    prepared: Prepared,
    dir: tempfile::TempDir,
    listeners: Vec<Listener<F>>,
) -> Result<Running, String>
where
    C: Session,
    F: Fn(PeerInfo) -> C + Send + Sync + 'static,
{
    let ex = Arc::new(smol::Executor::new());
    let acceptor = futures_rustls::TlsAcceptor::from(prepared.tls.clone());
    let mut tasks = Vec::new();
    for b in listeners {
        let l = moxide::serve::async_listener(b.listener).map_err(|e| e.to_string())?;
        tasks.push(ex.spawn(moxide::serve::accept_loop(
            ex.clone(),
            l,
            b.security,
            acceptor.clone(),
            b.make,
        )));
    }
    let (stop_tx, stop_rx) = smol::channel::bounded::<()>(1);
    let thread = std::thread::spawn(move || {
        smol::block_on(ex.run(async {
            let _ = stop_rx.recv().await;
            // The accept loops hold the executor: cancel them so that
            // dropping it ends the connections and frees the store.
            for t in tasks {
                t.cancel().await;
            }
        }));
    });
    Ok(Running {
        stop: Some(Box::new(move || drop(stop_tx))),
        thread: Some(thread),
        _prepared: prepared,
        _dir: dir,
    })
}

/// Serves `listeners` with tokio accept loops on a current-thread runtime
/// in a thread until the returned [`Running`] is dropped.
pub fn serve_tokio<C, F>(
    prepared: Prepared,
    dir: tempfile::TempDir,
    listeners: Vec<Listener<F>>,
) -> Result<Running, String>
where
    C: Session,
    F: Fn(PeerInfo) -> C + Send + Sync + 'static,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let acceptor = tokio_rustls::TlsAcceptor::from(prepared.tls.clone());
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopped = stop.clone();
    let thread = std::thread::spawn(move || {
        rt.block_on(async {
            for b in listeners {
                match tokio::net::TcpListener::from_std(b.listener) {
                    Ok(l) => {
                        let accept = moxide_tokio::serve::accept_loop(
                            l,
                            b.security,
                            acceptor.clone(),
                            b.make,
                        );
                        tokio::spawn(accept);
                    }
                    Err(e) => eprintln!("listening on {}: {e}", b.addr),
                }
            }
            stopped.notified().await;
        });
        // Dropping the runtime ends the accept loops and connections.
        drop(rt);
    });
    Ok(Running {
        stop: Some(Box::new(move || stop.notify_one())),
        thread: Some(thread),
        _prepared: prepared,
        _dir: dir,
    })
}

/// A runtime whose accept loops serve the transcripts.
pub trait Runtime {
    /// Its name in the reports ("smol", "tokio").
    const NAME: &'static str;

    /// Serves `listeners` until the returned [`Running`] is dropped.
    fn serve<C, F>(
        prepared: Prepared,
        dir: tempfile::TempDir,
        listeners: Vec<Listener<F>>,
    ) -> Result<Running, String>
    where
        C: Session,
        F: Fn(PeerInfo) -> C + Send + Sync + 'static;
}

/// [`serve_smol`].
pub struct Smol;

impl Runtime for Smol {
    const NAME: &'static str = "smol";

    fn serve<C, F>(
        prepared: Prepared,
        dir: tempfile::TempDir,
        listeners: Vec<Listener<F>>,
    ) -> Result<Running, String>
    where
        C: Session,
        F: Fn(PeerInfo) -> C + Send + Sync + 'static,
    {
        serve_smol(prepared, dir, listeners)
    }
}

/// [`serve_tokio`].
pub struct Tokio;

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";

    fn serve<C, F>(
        prepared: Prepared,
        dir: tempfile::TempDir,
        listeners: Vec<Listener<F>>,
    ) -> Result<Running, String>
    where
        C: Session,
        F: Fn(PeerInfo) -> C + Send + Sync + 'static,
    {
        serve_tokio(prepared, dir, listeners)
    }
}

/// A fresh localserve serving its IMAP listeners on `R`.
pub fn start_imap<R: Runtime>() -> Result<(Server, Running), String> {
    let (mut prepared, dir) = prepare()?;
    let on = |s: Security| {
        let what = format!("{s:?}");
        find(
            &prepared.listeners,
            move |b| (b.security == s).then_some(&b.listener),
            &what,
        )
    };
    let server = Server {
        imap: on(Security::StartTls)?,
        imaps: on(Security::Implicit)?,
    };
    let make = Arc::new(prepared.session_factory());
    let listeners = std::mem::take(&mut prepared.listeners)
        .into_iter()
        .map(|b| Listener {
            listener: b.listener,
            addr: b.addr,
            security: b.security,
            make: make.clone(),
        })
        .collect();
    Ok((server, R::serve(prepared, dir, listeners)?))
}

/// A fresh localserve serving its SMTP and submission listeners on `R`.
pub fn start_smtp<R: Runtime>() -> Result<(SmtpServer, Running), String> {
    let (mut prepared, dir) = prepare()?;
    let on = |role: Role, s: Security| {
        let what = format!("{role:?} {s:?}");
        find(
            &prepared.smtp_listeners,
            move |b| (b.role == role && b.security == s).then_some(&b.listener),
            &what,
        )
    };
    let server = SmtpServer {
        smtp: on(Role::Inbound, Security::StartTls)?,
        submission: on(Role::Submission, Security::StartTls)?,
        submissions: on(Role::Submission, Security::Implicit)?,
        store: prepared.store.clone(),
    };
    let inbound = Arc::new(prepared.smtp_factory(Role::Inbound));
    let submission = Arc::new(prepared.smtp_factory(Role::Submission));
    let listeners = std::mem::take(&mut prepared.smtp_listeners)
        .into_iter()
        .map(|b| Listener {
            listener: b.listener,
            addr: b.addr,
            security: b.security,
            make: match b.role {
                Role::Inbound => inbound.clone(),
                Role::Submission => submission.clone(),
            },
        })
        .collect();
    Ok((server, R::serve(prepared, dir, listeners)?))
}

/// Runs every IMAP transcript in `mode` against its own [`start_imap`]
/// server on `R`, reports them as "`R::NAME` `what`" and panics listing
/// the failed ones.
pub fn run_imap<R: Runtime>(mode: Mode, what: &str) {
    let transcripts = moxide_conformance::imap_transcripts().unwrap();
    assert!(!transcripts.is_empty(), "no transcripts found");
    let results = loopback::run_all(&transcripts, mode, start_imap::<R>);
    let failed = moxide_conformance::report(&format!("{} {what}", R::NAME), &results);
    assert!(
        failed.is_empty(),
        "failed transcripts:\n{}",
        failed.join("\n")
    );
}

/// Runs every SMTP transcript against its own [`start_smtp`] server on
/// `R`, reports them as "smtp `R::NAME`" and panics listing the failed
/// ones.
pub fn run_smtp<R: Runtime>() {
    let transcripts = moxide_conformance::smtp::smtp_transcripts().unwrap();
    assert!(!transcripts.is_empty(), "no transcripts found");
    let results = smtp_loopback::run_all(&transcripts, start_smtp::<R>);
    let failed = moxide_conformance::report(&format!("smtp {}", R::NAME), &results);
    assert!(
        failed.is_empty(),
        "failed transcripts:\n{}",
        failed.join("\n")
    );
}
