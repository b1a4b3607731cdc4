//! The registry of requests waiting on the application, addressed by id.
//!
//! A request enters with a reply channel; the binding answers it by id with one call (`respond`),
//! or streams (`start`, `write`, `end`), or asks the core to send a file (`send_file`).
use bytes::Bytes;
use http::StatusCode;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use crate::body::Chunk;
use crate::event::{Event, EventSink};
use crate::headers::HeaderBlock;
use crate::watermark::Watermark;
use crate::websocket::WsOut;
use crate::ws_mailbox::Outbox;

/// What the application answered.
pub(crate) enum Reply {
    Full {
        status: u16,
        headers: HeaderBlock,
        body: Bytes,
    },
    Stream {
        status: u16,
        headers: HeaderBlock,
        rx: mpsc::UnboundedReceiver<Chunk>,
        shared: Arc<StreamShared>,
    },
    File {
        status: u16,
        headers: HeaderBlock,
        path: PathBuf,
    },
    /// Complete the WebSocket handshake.
    Accept {
        subprotocol: Option<String>,
        headers: HeaderBlock,
    },
}

/// What happened to a `write` on a streamed response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Taken; write more.
    Ready,
    /// Taken, but the buffer is full: wait for [`Event::Drain`] before writing more.
    Full,
    /// The response is gone (client left, or unknown id); nothing was taken.
    Closed,
}

struct Slot {
    reply: Option<oneshot::Sender<Reply>>,
    credit: Option<mpsc::UnboundedSender<()>>,
    stream: Option<(mpsc::UnboundedSender<Chunk>, Arc<StreamShared>)>,
    ws: Option<WsHandle>,
}

/// The app's end of a WebSocket session.
pub(crate) struct WsHandle {
    pub outbox: Outbox,
    pub shared: Arc<WsShared>,
}

/// Send-side flow control of a WebSocket, shared by the app and the session task.
pub(crate) struct WsShared {
    watermark: Watermark,
}

impl WsShared {
    pub(crate) fn new(id: u32) -> Arc<WsShared> {
        Arc::new(WsShared {
            watermark: Watermark::new(id),
        })
    }

    pub(crate) fn sent(&self, n: usize, exchanges: &Exchanges) {
        self.watermark.taken(n, exchanges.inner.sink.as_ref());
    }
}

struct Inner {
    /// Ids are sequential, so they are their own hash.
    slots: Mutex<HashMap<u32, Slot, nohash_hasher::BuildNoHashHasher<u32>>>,
    next_id: AtomicU32,
    sink: Arc<dyn EventSink>,
}

/// The registry, cheap to clone.
#[derive(Clone)]
pub struct Exchanges {
    inner: Arc<Inner>,
}

/// Flow-control state shared by a streamed response's writer (the app) and its body (hyper).
pub(crate) struct StreamShared {
    id: u32,
    watermark: Watermark,
    closed: AtomicBool,
    exchanges: Exchanges,
}

impl StreamShared {
    pub(crate) fn consumed(&self, n: usize) {
        self.watermark.taken(n, self.exchanges.inner.sink.as_ref());
    }

    pub(crate) fn body_dropped(&self) {
        self.closed.store(true, Ordering::Release);
        self.exchanges.disconnect(self.id);
    }
}

impl Exchanges {
    /// A registry that reports to `sink`.
    pub fn new(sink: Arc<dyn EventSink>) -> Self {
        Exchanges {
            inner: Arc::new(Inner {
                slots: Mutex::new(HashMap::default()),
                next_id: AtomicU32::new(1),
                sink,
            }),
        }
    }

    pub(crate) fn sink(&self) -> &Arc<dyn EventSink> {
        &self.inner.sink
    }

    pub(crate) fn register(
        &self,
        reply: oneshot::Sender<Reply>,
        credit: Option<mpsc::UnboundedSender<()>>,
    ) -> u32 {
        let mut slots = self.inner.slots.lock();
        let mut id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        while id == 0 || slots.contains_key(&id) {
            id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        }
        slots.insert(
            id,
            Slot {
                reply: Some(reply),
                credit,
                stream: None,
                ws: None,
            },
        );
        id
    }

    pub(crate) fn attach_ws(&self, id: u32, handle: WsHandle) {
        if let Some(slot) = self.inner.slots.lock().get_mut(&id) {
            slot.ws = Some(handle);
        }
    }

    /// Accepts a WebSocket handshake. False if the id is gone or was already answered.
    pub fn ws_accept(&self, id: u32, subprotocol: Option<String>, headers: HeaderBlock) -> bool {
        let reply = self
            .inner
            .slots
            .lock()
            .get_mut(&id)
            .and_then(|s| s.reply.take());
        match reply {
            Some(tx) => tx
                .send(Reply::Accept {
                    subprotocol,
                    headers,
                })
                .is_ok(),
            None => false,
        }
    }

    /// Sends a text (`text = true`, UTF-8) or binary message on an accepted WebSocket.
    pub fn ws_send(&self, id: u32, data: Bytes, text: bool) -> WriteOutcome {
        let slots = self.inner.slots.lock();
        let Some(ws) = slots.get(&id).and_then(|s| s.ws.as_ref()) else {
            return WriteOutcome::Closed;
        };
        let len = data.len();
        let message = if text {
            if std::str::from_utf8(&data).is_err() {
                return WriteOutcome::Closed;
            }
            WsOut::Text(data)
        } else {
            WsOut::Binary(data)
        };
        // Counted before it is queued, so the session can never take more than was added.
        let outcome = ws.shared.watermark.added(len);
        match ws.outbox.send(message) {
            Ok(()) => outcome,
            Err(_) => WriteOutcome::Closed,
        }
    }

    /// Starts the close handshake of an accepted WebSocket.
    pub fn ws_close(&self, id: u32, code: u16, reason: String) -> bool {
        let slots = self.inner.slots.lock();
        match slots.get(&id).and_then(|s| s.ws.as_ref()) {
            Some(ws) => ws.outbox.send(WsOut::Close(code, reason)).is_ok(),
            None => false,
        }
    }

    /// Lets the session hand `n` more messages to the app.
    pub fn ws_credit(&self, id: u32, n: usize) -> bool {
        let slots = self.inner.slots.lock();
        match slots.get(&id).and_then(|s| s.ws.as_ref()) {
            Some(ws) => ws.outbox.credit(n),
            None => false,
        }
    }

    /// A handshake answered with plain HTTP: drop the WebSocket half of the slot, if any is left.
    pub(crate) fn ws_forget(&self, id: u32) {
        let mut slots = self.inner.slots.lock();
        if slots
            .get(&id)
            .is_some_and(|s| s.ws.is_some() && s.stream.is_none())
        {
            slots.remove(&id);
        }
    }

    /// The session ended: forget it and tell the app how it closed.
    pub(crate) fn ws_finished(&self, id: u32, code: u16, reason: &str) {
        if self.inner.slots.lock().remove(&id).is_some() {
            self.inner.sink.push(Event::WsClose {
                id,
                code,
                reason: reason.to_string(),
            });
        }
    }

    /// Number of requests the application has not finished answering.
    pub fn pending(&self) -> usize {
        self.inner.slots.lock().len()
    }

    /// Answers a request whole: status, headers and body in one call. False if the id is gone.
    pub fn respond(&self, id: u32, status: u16, headers: HeaderBlock, body: Bytes) -> bool {
        self.finish_with(
            id,
            Reply::Full {
                status,
                headers,
                body,
            },
        )
    }

    /// Answers with the status's reason phrase as a plain-text body (the canned answers: 500 for
    /// an application that failed, 403 for a refused WebSocket). False if the id is gone.
    pub fn respond_status(&self, id: u32, status: u16) -> bool {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        self.finish_with(id, canned(status, false))
    }

    /// Answers with the file at `path` as the body, read by the core. False if the id is gone.
    pub fn send_file(&self, id: u32, status: u16, headers: HeaderBlock, path: PathBuf) -> bool {
        self.finish_with(
            id,
            Reply::File {
                status,
                headers,
                path,
            },
        )
    }

    fn finish_with(&self, id: u32, reply: Reply) -> bool {
        let slot = self.inner.slots.lock().remove(&id);
        match slot.and_then(|mut s| s.reply.take()) {
            Some(tx) => tx.send(reply).is_ok(),
            None => false,
        }
    }

    /// Starts a streamed response. False if the id is gone or already started.
    pub fn start(&self, id: u32, status: u16, headers: HeaderBlock) -> bool {
        let mut slots = self.inner.slots.lock();
        let Some(slot) = slots.get_mut(&id) else {
            return false;
        };
        let Some(reply) = slot.reply.take() else {
            return false;
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(StreamShared {
            id,
            watermark: Watermark::new(id),
            closed: AtomicBool::new(false),
            exchanges: self.clone(),
        });
        slot.stream = Some((tx, shared.clone()));
        drop(slots);
        reply
            .send(Reply::Stream {
                status,
                headers,
                rx,
                shared,
            })
            .is_ok()
    }

    /// Writes a chunk of a streamed response.
    pub fn write(&self, id: u32, chunk: Bytes) -> WriteOutcome {
        let slots = self.inner.slots.lock();
        let Some((tx, shared)) = slots.get(&id).and_then(|s| s.stream.as_ref()) else {
            return WriteOutcome::Closed;
        };
        if shared.closed.load(Ordering::Acquire) {
            return WriteOutcome::Closed;
        }
        let outcome = shared.watermark.added(chunk.len());
        match tx.send(Chunk::Data(chunk)) {
            Ok(()) => outcome,
            Err(_) => WriteOutcome::Closed,
        }
    }

    /// Ends a streamed response, optionally with a last chunk. False if the id is gone.
    pub fn end(&self, id: u32, last: Option<Bytes>) -> bool {
        let slot = self.inner.slots.lock().remove(&id);
        let Some((tx, shared)) = slot.and_then(|s| s.stream) else {
            return false;
        };
        if let Some(bytes) = last.filter(|b| !b.is_empty()) {
            shared.watermark.add_silently(bytes.len());
            let _ = tx.send(Chunk::Data(bytes));
        }
        true
    }

    /// Abandons a request: a waiting one is answered 500, a streaming one is cut off.
    pub fn abort(&self, id: u32) -> bool {
        let slot = self.inner.slots.lock().remove(&id);
        let Some(mut slot) = slot else { return false };
        if let Some((tx, _)) = slot.stream.take() {
            let _ = tx.send(Chunk::Abort);
        }
        // Dropping `reply` makes the waiting service answer 500.
        true
    }

    /// Asks for the next chunk of a request body; it arrives as [`Event::Body`].
    pub fn read_more(&self, id: u32) -> bool {
        let slots = self.inner.slots.lock();
        match slots.get(&id).and_then(|s| s.credit.as_ref()) {
            Some(credit) => credit.send(()).is_ok(),
            None => false,
        }
    }

    /// The core answers for the application (e.g. 413 mid-body) and tells it the request is gone.
    pub(crate) fn fail(&self, id: u32, status: StatusCode) {
        let slot = self.inner.slots.lock().remove(&id);
        let Some(mut slot) = slot else { return };
        if let Some(tx) = slot.reply.take() {
            let _ = tx.send(canned(status, true));
        }
        self.inner.sink.push(Event::Disconnect { id });
    }

    /// The request is gone (client left): forget it and tell the application, once.
    pub(crate) fn disconnect(&self, id: u32) {
        if self.inner.slots.lock().remove(&id).is_some() {
            self.inner.sink.push(Event::Disconnect { id });
        }
    }
}

/// A plain-text answer whose body is the status's reason phrase.
fn canned(status: StatusCode, close: bool) -> Reply {
    let mut headers = b"content-type\0text/plain; charset=utf-8\0".to_vec();
    if close {
        headers.extend_from_slice(b"connection\0close\0");
    }
    Reply::Full {
        status: status.as_u16(),
        headers: HeaderBlock::from(headers),
        body: Bytes::from_static(status.canonical_reason().unwrap_or("Error").as_bytes()),
    }
}
