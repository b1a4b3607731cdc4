//! What the core tells its binding: requests, body chunks, disconnects and drains.
use bytes::Bytes;
use http::{HeaderMap, Method, Uri, Version};
use std::net::SocketAddr;
use std::sync::Arc;

/// Facts about a connection, shared by every request on it.
#[derive(Debug)]
pub struct ConnInfo {
    /// The peer's address (`None` on a Unix socket).
    pub client: Option<SocketAddr>,
    /// The local address (`None` on a Unix socket).
    pub server: Option<SocketAddr>,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// A binding's own encoding of these facts, made once per connection instead of per request.
    pub memo: std::sync::OnceLock<Box<[u8]>>,
    /// A number naming the connection among those of the process (it wraps after 2^32), so that
    /// a binding can keep what it derived from these facts for the connection's next requests.
    pub serial: u32,
}

/// The serial of the next connection.
static NEXT_SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

impl ConnInfo {
    /// Facts about a new connection.
    pub fn new(
        client: Option<SocketAddr>,
        server: Option<SocketAddr>,
        scheme: &'static str,
    ) -> ConnInfo {
        ConnInfo {
            client,
            server,
            scheme,
            memo: std::sync::OnceLock::new(),
            serial: NEXT_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// The head of a request as parsed by hyper.
#[derive(Debug)]
pub struct RequestHead {
    /// Request method.
    pub method: Method,
    /// Request target as sent (path and query, still percent-encoded).
    pub uri: Uri,
    /// HTTP version.
    pub version: Version,
    /// Header fields, names lower-case.
    pub headers: HeaderMap,
    /// The connection this request came on.
    pub conn: Arc<ConnInfo>,
}

/// One thing the binding must hand to the application.
// Requests dominate the traffic, so the big variant is the common one: boxing it would add an
// allocation per request to save bytes on rarer events.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Event {
    /// A new request. `body` holds what was read already; `more_body` says whether to ask for more.
    Request {
        /// Exchange id used in every later call.
        id: u32,
        /// Method, target, headers.
        head: RequestHead,
        /// The body, whole when `more_body` is false.
        body: Bytes,
        /// True when the body continues: call [`crate::Exchanges::read_more`].
        more_body: bool,
        /// A WebSocket handshake: answer with [`crate::Exchanges::ws_accept`] or an HTTP response.
        websocket: bool,
    },
    /// A chunk of request body asked for with `read_more`.
    Body {
        /// Exchange id.
        id: u32,
        /// The bytes.
        chunk: Bytes,
        /// True when more follows.
        more_body: bool,
    },
    /// The client went away, or the request can no longer be answered.
    Disconnect {
        /// Exchange id.
        id: u32,
    },
    /// A message on an accepted WebSocket.
    WsMessage {
        /// Exchange id.
        id: u32,
        /// The payload (UTF-8 when `text`).
        data: Bytes,
        /// Text (true) or binary (false).
        text: bool,
    },
    /// The WebSocket closed (by the peer, an error, or after the app's close).
    WsClose {
        /// Exchange id.
        id: u32,
        /// Close code (1006 when the connection dropped without one).
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// A streaming response's (or WebSocket's) buffer drained below its low-water mark.
    Drain {
        /// Exchange id.
        id: u32,
    },
}

/// Receives events on tokio threads. Must not block.
pub trait EventSink: Send + Sync + 'static {
    /// Hands one event over.
    fn push(&self, event: Event);
}
