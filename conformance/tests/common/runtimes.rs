//! A fresh localserve for every loopback transcript, served by either
//! runtime: the library set-up in a temporary directory, then the accept
//! loops of smol ([`serve_smol`]) or tokio ([`serve_tokio`]) on a thread.
//! Included by the `*loopback_{smol,tokio}.rs` tests.
#![allow(dead_code)] // each test crate uses one runtime

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;

use moxide::listen::Security;
use moxide::localserve::{self, Options, Prepared};
use moxide::session::Session;
use moxide_engine::imap::PeerInfo;

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
