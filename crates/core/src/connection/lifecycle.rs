//! What a connection lives by besides hyper: which protocol it speaks, when it counts as in use,
//! the one timer that bounds its wait for a request head, graceful and forced shutdown, and the
//! lingering close after a refusal.
use bytes::Bytes;
use hyper::body::{Body, Incoming};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::body::ResponseBody;
use crate::cork::Corked;
use crate::log;
use crate::sendfile::FileSpans;
use crate::socket::Socket;

use crate::on_wake::OnWake;
use crate::server::{Live, LiveGuard};

/// Per-connection activity, for the keep-alive timer.
pub(super) struct Activity {
    pub(super) active: AtomicUsize,
    /// When a request last finished (or the connection opened).
    pub(super) last: Stamp,
    /// The core refused a request and closes: let the client finish sending first (see `linger`).
    pub(super) refused: AtomicBool,
    /// Where this connection's file bodies send their chunks with `sendfile`; `None` where they
    /// cannot (see `sendfile.rs`).
    pub(super) file_spans: Option<Arc<FileSpans>>,
}

impl crate::body::Release for Activity {
    fn release(&self) {
        self.last.set(Instant::now());
        self.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An instant kept as nanoseconds since the first one kept: set on every response and read by the
/// idle timer, it needs no lock (a lock is two atomic operations a request).
pub(super) struct Stamp(AtomicU64);

impl Stamp {
    fn base() -> Instant {
        static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *BASE.get_or_init(Instant::now)
    }

    pub(super) fn new(at: Instant) -> Stamp {
        let stamp = Stamp(AtomicU64::new(0));
        stamp.set(at);
        stamp
    }

    pub(super) fn set(&self, at: Instant) {
        let nanos = at.saturating_duration_since(Self::base()).as_nanos();
        self.0
            .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Release);
    }

    pub(super) fn get(&self) -> Instant {
        Self::base() + std::time::Duration::from_nanos(self.0.load(Ordering::Acquire))
    }
}

/// A request in flight on its connection until its response body is done with: the guard is
/// handed to the body, or releases itself if the request is dropped first.
pub(super) struct ActiveGuard(Option<Arc<Activity>>);

impl ActiveGuard {
    pub(super) fn enter(activity: Arc<Activity>) -> ActiveGuard {
        activity.active.fetch_add(1, Ordering::AcqRel);
        ActiveGuard(Some(activity))
    }

    /// The core refused the request and closes: the connection lingers once hyper is done.
    pub(super) fn refuse(&self) {
        if let Some(activity) = &self.0 {
            activity.refused.store(true, Ordering::Release);
        }
    }

    /// Gives `body` the connection's part in it: the activity it releases when written, and the
    /// `sendfile` spans a file body sends through.
    pub(super) fn hand_to(mut self, body: &mut ResponseBody) {
        if let Some(activity) = self.0.take() {
            if let Some(spans) = &activity.file_spans {
                body.send_file_through(spans);
            }
            body.on_release(activity);
        }
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        if let Some(activity) = self.0.take() {
            crate::body::Release::release(&*activity);
        }
    }
}

/// Which HTTP a connection speaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Protocol {
    Http1,
    Http2,
    /// Cleartext: HTTP/2 if the client opens with its preface (h2c prior knowledge), else HTTP/1.1.
    Detect,
}

impl Protocol {
    /// What TLS ALPN negotiated is trusted: `h2` speaks HTTP/2 only, anything else HTTP/1.1 only.
    pub(crate) fn from_alpn(alpn: Option<&[u8]>) -> Protocol {
        if alpn == Some(b"h2") {
            Protocol::Http2
        } else {
            Protocol::Http1
        }
    }

    /// Decides `Detect` from the client's first bytes; `None` if it said nothing in time or the
    /// server began to shut down first.
    pub(super) async fn settle<I>(
        self,
        io: &Corked<I>,
        limit: std::time::Duration,
        graceful: &mut watch::Receiver<bool>,
    ) -> Option<Protocol>
    where
        I: AsyncRead + AsyncWrite + Socket + Unpin + Send + 'static,
    {
        if self != Protocol::Detect {
            return Some(self);
        }
        // A client that connects and says nothing is bounded as a slow head would be.
        let first = tokio::time::timeout(limit, io.sniff_h2_preface());
        match tokio::select! {
            first = first => first,
            _ = graceful.changed() => return None,
        } {
            Ok(Ok(true)) => Some(Protocol::Http2),
            Ok(Ok(false)) => Some(Protocol::Http1),
            _ => None,
        }
    }
}

/// hyper's connections of either protocol: they finish, or shut down gracefully when asked.
pub(super) trait Connection:
    std::future::Future<Output = Result<(), hyper::Error>> + Unpin
{
    fn graceful_shutdown(&mut self);
    /// What hyper had read but not yet parsed when the connection finished (nothing after an
    /// upgrade, which takes it along).
    fn into_unread(self) -> Bytes;
}

impl<I, S, B> Connection for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    Self: std::future::Future<Output = Result<(), hyper::Error>> + Unpin,
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful_shutdown(&mut self) {
        hyper::server::conn::http1::UpgradeableConnection::graceful_shutdown(Pin::new(self))
    }

    fn into_unread(self) -> Bytes {
        self.into_parts()
            .map(|parts| parts.read_buf)
            .unwrap_or_default()
    }
}

/// HTTP/2 is boxed on its own (its state is several kilobytes) and never parks.
impl<I, S, E, B> Connection for Pin<Box<hyper::server::conn::http2::Connection<I, S, E>>>
where
    hyper::server::conn::http2::Connection<I, S, E>:
        std::future::Future<Output = Result<(), hyper::Error>>,
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn graceful_shutdown(&mut self) {
        self.as_mut().graceful_shutdown()
    }

    fn into_unread(self) -> Bytes {
        Bytes::new()
    }
}

/// How long an HTTP/1.1 connection waits for its next request before it parks (at most; half its
/// idle limit if that is shorter): hyper's session (its 8 KiB read and write buffers, its parsed
/// header cache and dispatcher, some 18 KiB in all) is freed, and a new one is made when the client
/// speaks again. A busy connection never waits this long, so it never pays for the new session.
const PARK_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The soonest a connection in use looks at its idle timer again.
const BUSY_LOOK: std::time::Duration = std::time::Duration::from_millis(50);

/// What a connection lives by besides hyper: the keep-alive timer, parking when idle, graceful and
/// forced shutdown, and the lingering close after a refusal.
pub(super) struct Lifecycle<I> {
    pub(super) socket: Corked<I>,
    pub(super) activity: Arc<Activity>,
    /// How long a connection may wait for its next request head, whole (keep-alive and head-read
    /// bound in one).
    pub(super) idle_limit: std::time::Duration,
    /// Whether the connection may park when idle: HTTP/1.1 on a socket that can wait for the
    /// client without reading (see [`Socket::poll_read_ready`]).
    pub(super) parks: bool,
    pub(super) graceful: watch::Receiver<bool>,
    pub(super) force: watch::Receiver<bool>,
    /// Where the connection counts itself parked.
    pub(super) live: Arc<Live>,
}

/// hyper's session on a connection, if it has one: none while parked.
type Session<C> = Option<Box<C>>;

impl<I> Lifecycle<I>
where
    I: AsyncRead + AsyncWrite + Socket + Unpin + Send + 'static,
{
    /// Serves the connection with sessions `open` makes: one for its whole life, or one per spell
    /// of activity if it parks.
    pub(super) async fn run<C: Connection>(mut self, mut open: impl FnMut() -> C) {
        let mut session: Session<C> = Some(Box::new(open()));
        // Until shutdown begins: serve, park when idle, and close gracefully when the connection
        // waits for a head past its idle limit or the server starts to shut down. Every future here
        // lives across requests, so a wake-up costs polls, not new timer or channel registrations.
        let (limit, activity) = (self.idle_limit, &self.activity);
        let park_after = self.parks.then(|| PARK_AFTER.min(limit / 2));
        // Polled only when they fire (see `OnWake`), not on every read and reply of the connection.
        let idle = OnWake::new(tokio::time::sleep(park_after.unwrap_or(limit)));
        tokio::pin!(idle);
        let open_now = !*self.graceful.borrow();
        let draining = OnWake::new(self.graceful.changed());
        tokio::pin!(draining);
        let mut waited_out = false;
        let mut parking = false;
        // Counts the connection as parked while it is (`Server::parked`).
        let mut parked: Option<LiveGuard> = None;
        if open_now {
            loop {
                tokio::select! {
                    biased;
                    turn = serving(&mut session, &self.socket) => match turn {
                        // Parked, and the client spoke again or closed: a new session reads what came.
                        Turn::Spoke => {
                            drop(parked.take());
                            session = Some(Box::new(open()));
                        }
                        Turn::Done(Ok(())) if parking => {
                            // hyper closed its idle session for the park: the socket stays open,
                            // with whatever hyper had read of a next head given back for the next
                            // session.
                            parking = false;
                            let unread = session.take().map(|closed| closed.into_unread());
                            self.socket.parked(unread.unwrap_or_default());
                            parked.replace(LiveGuard::parked(&self.live));
                        }
                        Turn::Done(result) => {
                            // hyper answered a malformed or oversized head itself (400, 431), or
                            // the core refused the request (413, 400): the client may still be
                            // sending.
                            if result.is_err() || activity.refused.load(Ordering::Acquire) {
                                self.socket.linger().await;
                            }
                            return finished(result);
                        }
                    },
                    _ = idle.as_mut() => {
                        let last = activity.last.get();
                        let busy = activity.active.load(Ordering::Acquire) > 0;
                        let quiet = last.elapsed();
                        if !busy && quiet >= limit {
                            waited_out = true;
                            break;
                        }
                        // The park, once a session has served nothing for its delay.
                        let park = park_after.filter(|_| !parking && session.is_some());
                        if park.is_some_and(|after| !busy && quiet >= after) {
                            parking = true;
                            self.socket.set_parking(true);
                            if let Some(session) = session.as_mut() {
                                session.graceful_shutdown();
                            }
                        }
                        // Look again when the park or the idle bound is due (never at a deadline
                        // already past, which would spin): a whole step on from now if in use, and
                        // not sooner than `BUSY_LOOK` (with `timeoutKeepAlive: 0` a step is nothing).
                        let step = match park {
                            Some(after) if busy || quiet < after => after,
                            _ => limit,
                        };
                        let next = if busy {
                            Instant::now() + step.max(BUSY_LOOK)
                        } else {
                            last + step
                        };
                        idle.as_mut().rearm().reset(tokio::time::Instant::from_std(next));
                    }
                    _ = draining.as_mut() => break,
                }
            }
        }
        // Parked: nothing to say to the client; the socket closes as it drops.
        let Some(mut session) = session else {
            return;
        };
        self.socket.set_parking(false);
        session.graceful_shutdown();
        // Nothing is in flight when the wait ran out, so only a head still arriving (a client
        // trickling it, or stalled half-way) can keep hyper waiting: it gets no longer.
        let cut_short = async {
            if waited_out {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await
            } else {
                std::future::pending().await
            }
        };
        tokio::select! {
            result = session.as_mut() => finished(result),
            _ = self.force.changed() => {}
            _ = cut_short => {}
        }
    }
}

/// What a connection's session did, or its socket while parked.
enum Turn {
    Done(Result<(), hyper::Error>),
    Spoke,
}

/// The session's end, or while parked the client's next bytes (or close).
fn serving<'a, C, I>(
    session: &'a mut Session<C>,
    socket: &'a Corked<I>,
) -> impl Future<Output = Turn> + 'a
where
    C: Connection,
    I: AsyncWrite + Socket + Unpin + Send + 'static,
{
    std::future::poll_fn(move |cx| match session {
        Some(session) => Pin::new(&mut **session).poll(cx).map(Turn::Done),
        None => socket.poll_read_ready(cx).map(|_| Turn::Spoke),
    })
}

fn finished(result: Result<(), hyper::Error>) {
    if let Err(err) = result {
        if !is_benign(&err) {
            log::error("connection", &err);
        }
    }
}

/// Errors a client causes (resets, early closes, bad framing hyper already answered) are noise;
/// only set `STARLING_DEBUG` to see them.
fn is_benign(err: &hyper::Error) -> bool {
    std::env::var_os("STARLING_DEBUG").is_none()
        || err.is_incomplete_message()
        || err.is_canceled()
        || err.is_closed()
}
