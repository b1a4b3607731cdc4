//! Corked writes: on a thread whose embedder drives the runtime in slices, what a connection
//! writes during a slice is gathered and written once, when the slice ends.
//!
//! hyper writes each response as it completes. With sixteen pipelined requests per connection that
//! is sixteen `writev`s, each paying loopback TCP's whole send path; corked, it is one. hyper's own
//! `pipeline_flush` does the same but drops a buffered answer when a parse error closes the
//! connection with unread input, so the core corks below hyper instead, where a shutdown always
//! writes what is pending first. Threads that never call [`cork_writes`] write straight through.
use bytes::Bytes;
use parking_lot::Mutex;
use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Wake, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::sendfile::{region_offset, FileSpans};
use crate::socket::Socket;

/// A write at least this big, with nothing pending before it, goes straight to the socket.
const WRITE_THROUGH: usize = 16 * 1024;
/// A write buffer up to this size is kept between answers (one allocation per connection, not per
/// answer); a bigger one is released once written.
const KEEP_BUFFER: usize = 2048;
/// Past this many pending bytes a write waits for them to drain.
const MAX_PENDING: usize = 256 * 1024;

thread_local! {
    /// Connections with pending bytes; `None` where writes are not corked.
    static PENDING: RefCell<Option<Vec<Arc<dyn Flush>>>> = const { RefCell::new(None) };
}

/// Corks the writes of connections served on this thread from now on; the caller must call
/// [`flush_corked`] at the end of every slice in which the runtime ran.
pub fn cork_writes() {
    PENDING.with(|p| {
        p.borrow_mut().get_or_insert_with(Vec::new);
    });
}

/// Writes what the connections of this thread gathered during the slice.
pub fn flush_corked() {
    flush(false);
}

/// Writes what the connections that wrote nothing since the last call gathered: they have
/// settled (the client waits for their answers), while a connection still writing (working
/// through pipelined requests) keeps gathering. Call it between the steps of a slice, so that
/// answers leave while the slice goes on; the slice's end still calls [`flush_corked`].
pub fn flush_settled() {
    flush(true);
}

fn flush(settled_only: bool) {
    let list = PENDING.with(|p| p.borrow_mut().as_mut().map(std::mem::take));
    let Some(mut list) = list else { return };
    for conn in list.drain(..) {
        if settled_only && conn.clone().still_writing() {
            push(conn);
        } else {
            conn.flush_pending();
        }
    }
    // The emptied list goes back with its room, unless connections were listed meanwhile: a list
    // grown afresh each slice cost a reallocation or two per request.
    PENDING.with(|p| {
        if let Some(pending) = p.borrow_mut().as_mut().filter(|p| p.capacity() == 0) {
            *pending = list;
        }
    });
}

fn corking() -> bool {
    PENDING.with(|p| p.borrow().is_some())
}

trait Flush: Send + Sync {
    fn flush_pending(self: Arc<Self>);
    /// True if it wrote since the last time it was asked (and forgets that it did).
    fn still_writing(self: Arc<Self>) -> bool;
    fn relist(self: Arc<Self>);
}

struct State<I> {
    io: I,
    out: Vec<u8>,
    /// In this thread's pending list.
    listed: bool,
    /// Wrote since `still_writing` last asked.
    fresh: bool,
    /// The task that last flushed, woken when a slice-end write fails.
    waker: Option<Waker>,
    /// The task whose own write found the socket full. The socket keeps one write waker, and a
    /// slice-end flush that also finds it full registers its `Relist` over this one; so `Relist`
    /// wakes it too, or that task (a file body in mid-write) would sleep until its idle timer.
    blocked: Option<Waker>,
    /// A slice-end write failed; the next write reports it.
    error: Option<io::Error>,
    /// Bytes read but not yet taken, given back to the next reads: what was read ahead to tell the
    /// protocol apart, or what hyper had buffered when its session was parked.
    replay: Bytes,
    /// hyper is closing its session to park the connection (see `connection/lifecycle.rs`): its
    /// shutdown must flush but leave the socket open.
    parking: bool,
    /// The file spans whose stand-ins this stream sends with `sendfile`; `None` where the stream
    /// cannot (see `sendfile.rs`).
    spans: Option<Arc<FileSpans>>,
}

/// How much [`Corked::sniff_h2_preface`] reads at most: a request line or an HTTP/2 preface fits.
const SNIFF_BYTES: usize = 512;
/// How every HTTP/2 connection opens (RFC 9113 §3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A connection's stream with corked writes. The connection task keeps a clone to linger on it
/// after hyper is done.
pub(crate) struct Corked<I> {
    state: Arc<Mutex<State<I>>>,
}

impl<I> Clone for Corked<I> {
    fn clone(&self) -> Self {
        Corked {
            state: self.state.clone(),
        }
    }
}

/// How long, and how much, a closing connection keeps reading what its client still sends.
const LINGER_FOR: std::time::Duration = std::time::Duration::from_secs(2);
const LINGER_BYTES: usize = 4 * 1024 * 1024;

impl<I> State<I> {
    /// Passes `poll` through, remembering the task if the socket was full (see `blocked`).
    fn noting_blocked<T>(&mut self, cx: &Context<'_>, poll: Poll<T>) -> Poll<T> {
        if poll.is_pending()
            && !self
                .blocked
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
        {
            self.blocked = Some(cx.waker().clone());
        }
        poll
    }
}

impl<I: AsyncWrite + Unpin> State<I> {
    /// Writes pending bytes until none are left or the socket is full.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(err) = self.error.take() {
            return Poll::Ready(Err(err));
        }
        let mut written = 0;
        let result = loop {
            if written == self.out.len() {
                break Poll::Ready(Ok(()));
            }
            match Pin::new(&mut self.io).poll_write(cx, &self.out[written..]) {
                Poll::Ready(Ok(0)) => break Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(e)) => break Poll::Ready(Err(e)),
                Poll::Pending => break Poll::Pending,
            }
        };
        if written == self.out.len() {
            // A small buffer is kept for the next answer; a big one is not held by an idle connection.
            if self.out.capacity() > KEEP_BUFFER {
                self.out = Vec::new();
            } else {
                self.out.clear();
            }
        } else {
            self.out.drain(..written);
        }
        result
    }
}

/// How [`State::write_through`] writes: as it is, or as the start of a longer message.
#[derive(Clone, Copy, PartialEq)]
enum Then {
    Done,
    FileFollows,
}

impl<I: AsyncWrite + Socket + Unpin> State<I> {
    fn write_vectored(
        io: &mut I,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
        then: Then,
    ) -> Poll<io::Result<usize>> {
        match then {
            Then::Done => Pin::new(io).poll_write_vectored(cx, bufs),
            Then::FileFollows => io.poll_write_more(cx, bufs),
        }
    }

    /// Writes pending bytes and `bufs` in one vectored write; reports how much of `bufs` went.
    fn write_through(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
        then: Then,
    ) -> Poll<io::Result<usize>> {
        loop {
            let pending = self.out.len();
            if pending == 0 {
                return Self::write_vectored(&mut self.io, cx, bufs, then);
            }
            let mut all = Vec::with_capacity(bufs.len() + 1);
            all.push(IoSlice::new(&self.out));
            all.extend_from_slice(bufs);
            let n = std::task::ready!(Self::write_vectored(&mut self.io, cx, &all, then))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            if n < pending {
                self.out.drain(..n);
                continue;
            }
            self.out = Vec::new();
            if n > pending {
                return Poll::Ready(Ok(n - pending));
            }
        }
    }
}

impl<I: AsyncWrite + Socket + Unpin> State<I> {
    /// Writes `before` (after what is pending), then sends the file bytes `stand_in` stands for;
    /// reports how much of both went.
    fn write_with_file(
        &mut self,
        cx: &mut Context<'_>,
        spans: &FileSpans,
        before: &[IoSlice<'_>],
        stand_in: &[u8],
        at: usize,
    ) -> Poll<io::Result<usize>> {
        let before_len: usize = before.iter().map(|b| b.len()).sum();
        if before_len > 0 {
            // The head (and any answers pending before it) in one vectored write.
            let written = std::task::ready!(self.write_through(cx, before, Then::FileFollows))?;
            if written < before_len {
                return Poll::Ready(Ok(written));
            }
        } else if !self.out.is_empty() {
            let drained = self.drain(cx);
            std::task::ready!(self.noting_blocked(cx, drained))?;
        }
        let io = &mut self.io;
        let sent = spans.send_front(at, stand_in.len(), |file, offset, len| {
            io.poll_send_file(cx, file, offset, len)
        });
        match sent {
            Poll::Pending if before_len > 0 => Poll::Ready(Ok(before_len)),
            Poll::Pending => self.noting_blocked(cx, Poll::Pending),
            Poll::Ready(sent) => Poll::Ready(sent.map(|n| before_len + n)),
        }
    }
}

impl<I: AsyncWrite + Unpin + Send + 'static> Flush for Mutex<State<I>> {
    fn flush_pending(self: Arc<Self>) {
        let mut state = self.lock();
        state.listed = false;
        let mut done = state.drain(&mut Context::from_waker(Waker::noop()));
        if done.is_pending() {
            // The socket is full (rare, so the waker is made only now): once it drains, this waker
            // puts the connection back on the list, whatever its own task is doing (or after an
            // upgrade, when that task is gone). Polling again registers it.
            let weak: Weak<dyn Flush> = Arc::downgrade(&self) as Weak<dyn Flush>;
            let relist = Waker::from(Arc::new(Relist(weak)));
            done = state.drain(&mut Context::from_waker(&relist));
        }
        if let Poll::Ready(Err(e)) = done {
            state.error = Some(e);
            if let Some(waker) = state.waker.take() {
                waker.wake();
            }
        }
    }

    fn still_writing(self: Arc<Self>) -> bool {
        std::mem::take(&mut self.lock().fresh)
    }

    fn relist(self: Arc<Self>) {
        let mut state = self.lock();
        if let Some(blocked) = state.blocked.take() {
            blocked.wake();
        }
        if !state.listed && !state.out.is_empty() {
            state.listed = true;
            drop(state);
            push(self);
        }
    }
}

/// Wakes a corked connection whose socket can take more: it is flushed at the end of this slice.
struct Relist(Weak<dyn Flush>);

impl Wake for Relist {
    fn wake(self: Arc<Self>) {
        if let Some(conn) = self.0.upgrade() {
            conn.relist();
            // The slice sees work done, so it runs to its end, where the flush happens.
            crate::task::note_activity();
        }
    }
}

fn push(conn: Arc<dyn Flush>) {
    PENDING.with(|p| {
        if let Some(list) = p.borrow_mut().as_mut() {
            list.push(conn);
        }
    });
}

impl<I: AsyncWrite + Socket + Unpin + Send + 'static> Corked<I> {
    pub(crate) fn new(io: I) -> Self {
        let spans = io.zero_copy().then(Arc::default);
        Corked {
            state: Arc::new(Mutex::new(State {
                io,
                spans,
                out: Vec::new(),
                listed: false,
                fresh: false,
                waker: None,
                blocked: None,
                error: None,
                replay: Bytes::new(),
                parking: false,
            })),
        }
    }

    /// Closes the way nginx's lingering close does: write what is pending, shut the write side,
    /// then read and discard what the client still sends (bounded in time and bytes), so that the
    /// kernel does not answer its late bytes with a reset that destroys the answer unread.
    pub(crate) async fn linger(&self)
    where
        I: AsyncRead,
    {
        let shut = std::future::poll_fn(|cx| {
            let mut state = self.state.lock();
            std::task::ready!(state.drain(cx))?;
            Pin::new(&mut state.io).poll_shutdown(cx)
        });
        // hyper may have shut the write side already; a second shutdown failing changes nothing.
        let _ = shut.await;
        let mut discarded = 0;
        // On the heap: an array here would sit in every connection's future, lingering or not.
        let mut scratch = vec![0u8; 8192];
        let drain = std::future::poll_fn(|cx| loop {
            let mut buf = ReadBuf::new(&mut scratch);
            let mut state = self.state.lock();
            match std::task::ready!(Pin::new(&mut state.io).poll_read(cx, &mut buf)) {
                Ok(()) if !buf.filled().is_empty() && discarded < LINGER_BYTES => {
                    discarded += buf.filled().len();
                }
                _ => return Poll::Ready(()),
            }
        });
        let _ = tokio::time::timeout(LINGER_FOR, drain).await;
    }

    /// Reads the first bytes and tells whether they open HTTP/2 (the client's first read is what
    /// it sent, up to a request line's worth); what was read is replayed to the next reads.
    pub(crate) async fn sniff_h2_preface(&self) -> io::Result<bool>
    where
        I: AsyncRead,
    {
        let mut seen = vec![0u8; SNIFF_BYTES];
        let mut end = 0;
        let h2 = std::future::poll_fn(|cx| loop {
            let common = end.min(H2_PREFACE.len());
            if seen[..common] != H2_PREFACE[..common] {
                return Poll::Ready(Ok::<bool, io::Error>(false));
            }
            if common == H2_PREFACE.len() {
                return Poll::Ready(Ok(true));
            }
            let mut buf = ReadBuf::new(&mut seen[end..]);
            std::task::ready!(Pin::new(&mut self.state.lock().io).poll_read(cx, &mut buf))?;
            let read = buf.filled().len();
            if read == 0 {
                // Closed before it said anything that decides: HTTP/1.1 sees the end.
                return Poll::Ready(Ok(false));
            }
            end += read;
        })
        .await?;
        seen.truncate(end);
        self.replay(seen.into());
        Ok(h2)
    }

    /// Gives `bytes` back: the next reads take them before anything new.
    pub(crate) fn replay(&self, bytes: Bytes) {
        if !bytes.is_empty() {
            let mut state = self.state.lock();
            debug_assert!(state.replay.is_empty());
            state.replay = bytes;
        }
    }

    /// While set, a shutdown flushes what is pending and leaves the socket open.
    pub(crate) fn set_parking(&self, parking: bool) {
        self.state.lock().parking = parking;
    }

    /// hyper's session closed for the park, leaving `unread` (bytes of a next head it had read):
    /// they go to the next session, and the write buffer kept for the next answer is let go.
    pub(crate) fn parked(&self, unread: Bytes) {
        let mut state = self.state.lock();
        state.parking = false;
        if state.out.is_empty() {
            state.out = Vec::new();
        }
        drop(state);
        self.replay(unread);
    }

    /// Ready once the client sent something (or closed), with nothing read; see [`Socket`].
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.state.lock().io.poll_read_ready(cx)
    }

    /// True where [`Corked::poll_read_ready`] works.
    pub(crate) fn waits_readable(&self) -> bool {
        self.state.lock().io.waits_readable()
    }

    /// Where file bodies can send their chunks as `sendfile` stand-ins; `None` if this stream
    /// cannot take them.
    pub(crate) fn file_spans(&self) -> Option<Arc<FileSpans>> {
        self.state.lock().spans.clone()
    }

    fn gather(&self, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let mut state = self.state.lock();
        if let Some(err) = state.error.take() {
            return Poll::Ready(Err(err));
        }
        if let Some(spans) = &state.spans {
            let stand_in = bufs
                .iter()
                .enumerate()
                .find_map(|(i, b)| Some((i, region_offset(b)?)));
            if let Some((i, at)) = stand_in {
                let spans = spans.clone();
                return state.write_with_file(cx, &spans, &bufs[..i], &bufs[i], at);
            }
        }
        let len: usize = bufs.iter().map(|b| b.len()).sum();
        if !corking() {
            return Pin::new(&mut state.io).poll_write_vectored(cx, bufs);
        }
        if len >= WRITE_THROUGH {
            // A big chunk (a file, a large body) is not copied: what is pending goes first, in
            // the same `writev`.
            let written = state.write_through(cx, bufs, Then::Done);
            return state.noting_blocked(cx, written);
        }
        if state.out.len() + len > MAX_PENDING {
            let drained = state.drain(cx);
            std::task::ready!(state.noting_blocked(cx, drained))?;
        }
        for buf in bufs {
            state.out.extend_from_slice(buf);
        }
        state.fresh = true;
        Poll::Ready(Ok(len))
    }
}

impl<I: AsyncWrite + Socket + Unpin + Send + 'static> AsyncWrite for Corked<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.gather(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.gather(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.state.lock();
        if state.out.is_empty() || !corking() {
            std::task::ready!(state.drain(cx))?;
            return Pin::new(&mut state.io).poll_flush(cx);
        }
        if !state
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.waker = Some(cx.waker().clone());
        }
        if !state.listed {
            state.listed = true;
            drop(state);
            push(self.state.clone());
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.state.lock();
        std::task::ready!(state.drain(cx))?;
        if state.parking {
            return Pin::new(&mut state.io).poll_flush(cx);
        }
        Pin::new(&mut state.io).poll_shutdown(cx)
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Corked<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut state = self.state.lock();
        if !state.replay.is_empty() {
            let n = buf.remaining().min(state.replay.len());
            buf.put_slice(&state.replay[..n]);
            // Advanced, not split: a split would make the buffer shared (an allocation).
            bytes::Buf::advance(&mut state.replay, n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut state.io).poll_read(cx, buf)
    }
}
