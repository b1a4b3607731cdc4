//! The server: bind, accept, and shut down gracefully.
use http::header::HeaderValue;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

use crate::config::{Bind, Config};
use crate::connection::{self, Protocol, Shared};
use crate::event::{ConnInfo, EventSink};
use crate::exchange::Exchanges;
use crate::listener::{self, Listener};
use crate::log;
use crate::tls;
use tokio_rustls::TlsAcceptor;

/// A running server. Dropping it does not stop it: call [`Server::shutdown`].
pub struct Server {
    local_addr: Option<SocketAddr>,
    exchanges: Exchanges,
    graceful: watch::Sender<bool>,
    force: watch::Sender<bool>,
    live: Arc<Live>,
    shared: Arc<Shared>,
}

/// Counts live connections and WebSocket sessions so shutdown can wait for the last one.
pub(crate) struct Live {
    count: AtomicUsize,
    idle: Notify,
    /// Of the connections, those parked now (see `connection/lifecycle.rs`).
    parked: AtomicUsize,
}

/// One connection (or WebSocket session) counted in [`Live`] while it lives, or one counted as
/// parked while it is.
pub(crate) struct LiveGuard {
    live: Arc<Live>,
    parked: bool,
}

impl LiveGuard {
    pub(crate) fn new(live: &Arc<Live>) -> LiveGuard {
        LiveGuard::counting(live, false)
    }

    pub(crate) fn parked(live: &Arc<Live>) -> LiveGuard {
        LiveGuard::counting(live, true)
    }

    fn counting(live: &Arc<Live>, parked: bool) -> LiveGuard {
        live.counter(parked).fetch_add(1, Ordering::AcqRel);
        LiveGuard {
            live: live.clone(),
            parked,
        }
    }
}

impl Live {
    fn counter(&self, parked: bool) -> &AtomicUsize {
        if parked {
            &self.parked
        } else {
            &self.count
        }
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        let was = self
            .live
            .counter(self.parked)
            .fetch_sub(1, Ordering::AcqRel);
        if !self.parked && was == 1 {
            self.live.idle.notify_waiters();
        }
    }
}

impl Server {
    /// Binds the listener and starts accepting on the current tokio runtime (call it inside the
    /// runtime's context: it spawns the accept loop).
    pub fn bind(config: Config, sink: Arc<dyn EventSink>) -> io::Result<Server> {
        let listener = match &config.bind {
            Bind::Memory => None,
            Bind::Tcp { host, port } => {
                Some(Listener::Tcp(listener::bind_tcp(host, *port, &config)?))
            }
            #[cfg(unix)]
            Bind::Unix(path) => Some(Listener::Unix(listener::bind_unix(path)?)),
            #[cfg(not(unix))]
            Bind::Unix(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "unix sockets need a unix OS",
                ))
            }
        };
        let local_addr = match &listener {
            None => None,
            Some(Listener::Tcp(l)) => Some(l.local_addr()?),
            #[cfg(unix)]
            Some(Listener::Unix(_)) => None,
        };
        let exchanges = Exchanges::new(sink);
        let server_header = config
            .server_header
            .as_deref()
            .and_then(|s| HeaderValue::from_str(s).ok());
        let (graceful, graceful_rx) = watch::channel(false);
        let (force, force_rx) = watch::channel(false);
        let live = Arc::new(Live {
            count: AtomicUsize::new(0),
            idle: Notify::new(),
            parked: AtomicUsize::new(0),
        });
        let shared = Arc::new(Shared {
            config,
            exchanges: exchanges.clone(),
            in_flight: AtomicUsize::new(0),
            server_header,
            live: live.clone(),
            graceful: graceful_rx.clone(),
        });
        if let Some(listener) = listener {
            let tls = match &shared.config.tls {
                Some(files) => Some(tls::acceptor(files)?),
                None => None,
            };
            crate::task::spawn(accept_loop(
                listener,
                shared.clone(),
                graceful_rx,
                force_rx,
                live.clone(),
                tls,
            ));
        }
        Ok(Server {
            local_addr,
            exchanges,
            graceful,
            force,
            live,
            shared,
        })
    }

    /// Opens a connection with no socket: the core serves the returned stream's other end exactly as
    /// it serves TCP clients (the TestClient drives the production path through this).
    pub fn connect_memory(&self) -> tokio::io::DuplexStream {
        let (client, server) = tokio::io::duplex(256 * 1024);
        let conn = Arc::new(ConnInfo::new(None, None, self.shared.config.scheme));
        let guard = LiveGuard::new(&self.live);
        let shared = self.shared.clone();
        let (graceful, force) = (self.graceful.subscribe(), self.force.subscribe());
        crate::task::spawn(async move {
            let _guard = guard;
            connection::serve(server, Protocol::Detect, conn, shared, graceful, force).await;
        });
        client
    }

    /// The bound address (`None` for a Unix socket); the real port when 0 was asked for.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The registry through which the application answers requests.
    pub fn exchanges(&self) -> &Exchanges {
        &self.exchanges
    }

    /// Connections currently open.
    pub fn connections(&self) -> usize {
        self.live.count.load(Ordering::Acquire)
    }

    /// Connections parked now: idle, without a session of hyper's (see `connection/lifecycle.rs`).
    pub fn parked(&self) -> usize {
        self.live.parked.load(Ordering::Acquire)
    }

    /// Stops accepting, lets in-flight requests finish within `deadline`, closes idle keep-alive
    /// connections, then cuts whatever is left.
    pub async fn shutdown(&self, deadline: Duration) {
        let _ = self.graceful.send(true);
        let drained = async {
            loop {
                let idle = self.live.idle.notified();
                if self.live.count.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        };
        if tokio::time::timeout(deadline, drained).await.is_err() {
            let _ = self.force.send(true);
        }
    }
}

async fn accept_loop(
    listener: Listener,
    shared: Arc<Shared>,
    mut graceful: watch::Receiver<bool>,
    force: watch::Receiver<bool>,
    live: Arc<Live>,
    tls: Option<TlsAcceptor>,
) {
    let scheme = if tls.is_some() {
        "https"
    } else {
        shared.config.scheme
    };
    loop {
        let accepted = tokio::select! {
            _ = graceful.changed() => return,
            accepted = accept(&listener) => accepted,
        };
        let (io, client, server) = match accepted {
            Ok(x) => x,
            Err(err) => {
                // EMFILE and friends: wait a little instead of spinning.
                log::error("accept", &err);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let conn = Arc::new(ConnInfo::new(client, server, scheme));
        let guard = LiveGuard::new(&live);
        let (shared, graceful, force) = (shared.clone(), graceful.clone(), force.clone());
        let tls = tls.clone();
        crate::task::spawn(async move {
            let _guard = guard;
            match (io, tls) {
                (Io::Tcp(stream), Some(tls)) => {
                    // Boxed: the handshake's state is large and only TLS connections need it.
                    Box::pin(async move {
                        // The handshake counts against the head-read bound, as slow headers would.
                        let limit = shared.config.header_read_timeout;
                        let Ok(Ok(stream)) = tokio::time::timeout(limit, tls.accept(stream)).await
                        else {
                            return;
                        };
                        let protocol = Protocol::from_alpn(stream.get_ref().1.alpn_protocol());
                        connection::serve(stream, protocol, conn, shared, graceful, force).await;
                    })
                    .await
                }
                (Io::Tcp(stream), None) => {
                    connection::serve(stream, Protocol::Detect, conn, shared, graceful, force).await
                }
                #[cfg(unix)]
                (Io::Unix(stream), _) => {
                    connection::serve(stream, Protocol::Detect, conn, shared, graceful, force).await
                }
            }
        });
    }
}

enum Io {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

type Accepted = (Io, Option<SocketAddr>, Option<SocketAddr>);

async fn accept(listener: &Listener) -> io::Result<Accepted> {
    match listener {
        Listener::Tcp(l) => {
            let (stream, peer) = l.accept().await?;
            // Nagle against delayed ACKs turns pipelined keep-alive into 40 ms stalls.
            stream.set_nodelay(true)?;
            let local = stream.local_addr().ok();
            Ok((Io::Tcp(stream), Some(peer), local))
        }
        #[cfg(unix)]
        Listener::Unix(l) => {
            let (stream, _) = l.accept().await?;
            Ok((Io::Unix(stream), None, None))
        }
    }
}
