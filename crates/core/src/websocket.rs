//! WebSocket sessions: the core completes the upgrade once the app accepts, then owns framing,
//! fragmentation, UTF-8 checks, ping/pong, size limits, permessage-deflate and the close handshake
//! (yawc). Messages cross to the app as events; the app sends through [`crate::Exchanges::ws_send`].
use bytes::Bytes;
use futures_util::SinkExt;
use http::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    UPGRADE,
};
use http::{Request, Response};
use hyper_util::rt::TokioIo;
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::watch;
use yawc::close::CloseCode;
use yawc::frame::{Frame, OpCode};
use yawc::{DeflateOptions, Options, Role, WebSocket, WebSocketError};

use crate::body::ResponseBody;
use crate::connection::Shared;
use crate::event::Event;
use crate::exchange::{Exchanges, WsHandle, WsShared};
use crate::headers::HeaderBlock;
use crate::on_wake::OnWake;
use crate::server::LiveGuard;
use crate::ws_guard::{FrameGuard, Violation};
use crate::ws_mailbox::{mailbox, Inbox};

/// What the app sends on an open WebSocket.
#[derive(Debug)]
pub(crate) enum WsOut {
    /// UTF-8, checked when queued.
    Text(Bytes),
    Binary(Bytes),
    Close(u16, String),
}

/// Messages the core hands to the app before it must wait for the app to take them.
pub(crate) const INITIAL_CREDIT: usize = 16;

/// Whether a request asks for a WebSocket upgrade (RFC 6455 §4.2.1).
pub(crate) fn is_upgrade(method: &http::Method, headers: &http::HeaderMap) -> bool {
    let has_token = |name, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    method == http::Method::GET
        && has_token(UPGRADE, "websocket")
        && has_token(CONNECTION, "upgrade")
        && headers.contains_key(SEC_WEBSOCKET_KEY)
}

/// Limits and keep-alive settings of sessions.
#[derive(Clone, Debug)]
pub(crate) struct WsSettings {
    pub max_size: usize,
    pub ping_interval: Option<Duration>,
    pub ping_timeout: Option<Duration>,
    pub deflate: bool,
}

impl WsSettings {
    fn options(&self) -> Options {
        let options = Options::default()
            .with_max_payload_read(self.max_size.saturating_add(1))
            .with_max_read_buffer(self.max_size.saturating_add(1))
            .with_utf8()
            .with_no_delay()
            // Idle sockets dominate memory; big frames grow the buffer and it shrinks back.
            .with_read_buffer_capacity(1024)
            .with_write_buffer_capacity(1024);
        if self.deflate {
            options.with_compression_level(DeflateOptions::low_latency().level)
        } else {
            options.without_compression()
        }
    }
}

/// Leaves only the client's first permessage-deflate offer in the request: a client may list several,
/// in order of preference (RFC 7692 §5), and yawc reads one offer, declining the whole header
/// otherwise.
fn first_deflate_offer(headers: &mut http::HeaderMap) {
    let offers: Vec<String> = headers
        .get_all(SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|offer| offer.trim().to_owned())
        .collect();
    let first = offers.iter().find(|offer| {
        offer
            .split(';')
            .next()
            .is_some_and(|name| name.trim().eq_ignore_ascii_case("permessage-deflate"))
    });
    match first.map(|offer| HeaderValue::from_str(offer)) {
        Some(Ok(value)) if offers.len() > 1 => {
            headers.insert(SEC_WEBSOCKET_EXTENSIONS, value);
        }
        Some(_) => {}
        None => {
            headers.remove(SEC_WEBSOCKET_EXTENSIONS);
        }
    }
}

/// A handshake the core checked, waiting for the app's answer.
pub(crate) struct Handshake {
    response: Response<http_body_util::Empty<Bytes>>,
    upgrade: Upgrade,
}

/// The connection once the 101 is out, and what the handshake settled for the session.
pub(crate) struct Upgrade {
    on_upgrade: hyper::upgrade::OnUpgrade,
    options: Options,
    extensions: Option<String>,
}

impl Upgrade {
    /// The session's socket: the codec reads the client's frames through the RFC checks.
    async fn open(self, violation: Violation) -> Option<Ws> {
        let upgraded = self.on_upgrade.await.ok()?;
        let extensions = self.extensions.as_deref();
        let deflate = extensions.is_some_and(|e| e.contains("permessage-deflate"));
        let io = FrameGuard::new(TokioIo::new(upgraded), deflate, violation);
        WebSocket::from_stream_with_extensions(io, Role::Server, extensions, self.options).ok()
    }
}

impl Handshake {
    /// Validates the handshake and negotiates extensions; `None` if it is not a valid one. Boxed:
    /// it waits across the app's answer, and plain requests should not carry its size.
    pub(crate) fn start<B>(req: &mut Request<B>, settings: &WsSettings) -> Option<Box<Handshake>> {
        // Taken before yawc looks: the session wraps the upgraded socket itself (see `ws_guard`).
        let on_upgrade = hyper::upgrade::on(&mut *req);
        first_deflate_offer(req.headers_mut());
        let options = settings.options();
        let (response, _) = WebSocket::upgrade_with_options(req, options.clone()).ok()?;
        let extensions = response
            .headers()
            .get(SEC_WEBSOCKET_EXTENSIONS)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Some(Box::new(Handshake {
            response,
            upgrade: Upgrade {
                on_upgrade,
                options,
                extensions,
            },
        }))
    }

    /// The 101 answer, with the app's subprotocol and headers.
    pub(crate) fn accept(
        self: Box<Self>,
        subprotocol: Option<&str>,
        headers: HeaderBlock,
    ) -> (Response<ResponseBody>, Upgrade) {
        let (parts, _) = self.response.into_parts();
        let mut res = Response::from_parts(parts, ResponseBody::empty());
        let map = res.headers_mut();
        for (name, value) in headers.into_map() {
            if let Some(name) = name {
                map.append(name, value);
            }
        }
        if let Some(Ok(proto)) = subprotocol.map(HeaderValue::from_str) {
            map.insert(SEC_WEBSOCKET_PROTOCOL, proto);
        }
        (res, self.upgrade)
    }
}

/// The session's ends of a WebSocket exchange, made before the app answers the handshake.
pub(crate) struct WsEnds {
    inbox: Inbox,
    shared: Arc<WsShared>,
}

impl WsEnds {
    pub(crate) fn attach(exchanges: &Exchanges, id: u32) -> WsEnds {
        let (outbox, inbox) = mailbox();
        let shared = WsShared::new(id);
        exchanges.attach_ws(
            id,
            WsHandle {
                outbox,
                shared: shared.clone(),
            },
        );
        WsEnds { inbox, shared }
    }

    /// Runs the accepted session on its own task, counted as live until it ends.
    pub(crate) fn start_session(self, id: u32, shared: &Shared, upgraded: Upgrade) {
        let session = Session {
            id,
            exchanges: shared.exchanges.clone(),
            inbox: self.inbox,
            shared: self.shared,
            settings: shared.ws_settings(),
            graceful: shared.graceful.clone(),
            violation: Violation::default(),
        };
        let guard = LiveGuard::new(&shared.live);
        crate::task::spawn(async move {
            let _guard = guard;
            session.run(upgraded).await;
        });
    }
}

pub(crate) struct Session {
    pub id: u32,
    pub exchanges: Exchanges,
    /// The app's messages and credit.
    pub inbox: Inbox,
    pub shared: Arc<WsShared>,
    pub settings: WsSettings,
    pub graceful: watch::Receiver<bool>,
    /// What the RFC checks found wrong in the client's frames (see `ws_guard`).
    pub violation: Violation,
}

fn close_code_for(err: &WebSocketError) -> u16 {
    match err {
        WebSocketError::FrameTooLarge => 1009,
        WebSocketError::InvalidUTF8 => 1007,
        WebSocketError::InvalidOpCode(_) => 1003,
        WebSocketError::ConnectionClosed => 1006,
        e if e.is_protocol_error() => 1002,
        _ => 1006,
    }
}

/// What woke the session.
enum Wake {
    Frame(Result<Frame, WebSocketError>),
    Command(Option<WsOut>),
    Credit(Option<usize>),
    Ping,
    PongLate,
    Shutdown,
    CloseTimeout,
}

type Ws = WebSocket<FrameGuard<TokioIo<hyper::upgrade::Upgraded>>>;

/// Writes the frames yawc queued by itself (close answers): they go out on `poll_ready`, not on a
/// plain flush.
async fn flush_queued(ws: &mut Ws) {
    let _ = poll_fn(|cx| ws.poll_ready_unpin(cx)).await;
    let _ = ws.flush().await;
}

/// Keeps the socket open (reading what still parses) for up to a second after a failure close, so
/// the peer reads our close before the socket goes: closing on unread data would reset it first.
async fn linger(ws: &mut Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            match ws.next_frame().await {
                Ok(frame) if frame.opcode() == OpCode::Close => return,
                Ok(_) => {}
                // The reader is failed or closed: just wait out the rest of the second.
                Err(_) => std::future::pending::<()>().await,
            }
        }
    })
    .await;
}

impl Session {
    /// Runs the session on the upgraded connection until either side closes.
    pub(crate) async fn run(mut self, upgrade: Upgrade) {
        let Some(mut ws) = upgrade.open(self.violation.clone()).await else {
            self.exchanges.ws_finished(self.id, 1006, "");
            return;
        };
        let (code, reason) = self.pump(&mut ws).await;
        self.exchanges.ws_finished(self.id, code, &reason);
    }

    async fn send(&self, ws: &mut Ws, frame: Frame, counted: usize) -> bool {
        let sent = ws.send(frame).await.is_ok();
        if counted > 0 {
            self.shared.sent(counted, &self.exchanges);
        }
        sent
    }

    /// Before a failing connection closes, sends what the app answers to the messages it was
    /// given: a strict peer expects the echo of a valid message that preceded the bad frame. The
    /// app's answers come within the tick's next passes; a few scheduler rounds cover them.
    async fn answer_delivered(&mut self, ws: &mut Ws) {
        for _ in 0..4 {
            tokio::task::yield_now().await;
            while let Some(command) = self.inbox.try_message() {
                let (frame, len) = match command {
                    WsOut::Text(text) => {
                        let len = text.len();
                        (Frame::text(text), len)
                    }
                    WsOut::Binary(data) => {
                        let len = data.len();
                        (Frame::binary(data), len)
                    }
                    WsOut::Close(..) => return,
                };
                if !self.send(ws, frame, len).await {
                    return;
                }
            }
        }
    }

    async fn pump(&mut self, ws: &mut Ws) -> (u16, String) {
        let mut credit = INITIAL_CREDIT;
        let mut closing: Option<(u16, String)> = None;
        let far = || tokio::time::Instant::now() + Duration::from_secs(3600 * 24 * 365);
        let ping_every = self.settings.ping_interval;
        // The ping timer and the shutdown signal are polled when they fire, not on every wake.
        let ping = OnWake::new(tokio::time::sleep_until(
            ping_every.map_or_else(far, |d| tokio::time::Instant::now() + d),
        ));
        let pong = tokio::time::sleep_until(far());
        let close_deadline = tokio::time::sleep_until(far());
        let mut graceful = self.graceful.clone();
        let shutdown = OnWake::new(async move {
            // A closed channel means the server is gone: treat it as shutdown too.
            let _ = graceful.wait_for(|closing| *closing).await;
        });
        tokio::pin!(ping, pong, close_deadline, shutdown);
        let mut shutdown_seen = false;
        let mut awaiting_pong = false;
        loop {
            let wake = poll_fn(|cx| {
                if credit > 0 {
                    if let Poll::Ready(frame) = ws.poll_next_frame(cx) {
                        return Poll::Ready(Wake::Frame(frame));
                    }
                }
                if closing.is_none() {
                    if let Poll::Ready(command) = self.inbox.poll_message(cx) {
                        return Poll::Ready(Wake::Command(command));
                    }
                    if !shutdown_seen && shutdown.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Wake::Shutdown);
                    }
                } else if close_deadline.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::CloseTimeout);
                }
                if let Poll::Ready(more) = self.inbox.poll_credit(cx) {
                    return Poll::Ready(Wake::Credit(more));
                }
                if ping_every.is_some() && ping.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Ping);
                }
                if awaiting_pong && pong.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::PongLate);
                }
                Poll::Pending
            })
            .await;
            match wake {
                Wake::Frame(Ok(frame)) => match frame.opcode() {
                    OpCode::Text | OpCode::Binary => {
                        credit -= 1;
                        let text = frame.opcode() == OpCode::Text;
                        let data = frame.into_payload();
                        self.exchanges.sink().push(Event::WsMessage {
                            id: self.id,
                            data,
                            text,
                        });
                    }
                    OpCode::Pong => awaiting_pong = false,
                    OpCode::Close => {
                        // yawc queued the answer to the close; send it before the socket goes.
                        flush_queued(ws).await;
                        let code = frame.close_code().map_or(1005, u16::from);
                        let reason = frame
                            .close_reason()
                            .ok()
                            .flatten()
                            .unwrap_or("")
                            .to_string();
                        return closing.take().unwrap_or((code, reason));
                    }
                    _ => {}
                },
                Wake::Frame(Err(err)) => {
                    if closing.is_some() {
                        return closing.take().unwrap_or((1006, String::new()));
                    }
                    if let Some(code) = self.violation.code() {
                        // The checks ended the input before a bad frame: the app answers what
                        // it was given, then the connection fails with the RFC's code.
                        self.answer_delivered(ws).await;
                        // No lingering: the codec reads nothing more, and a failing peer is
                        // expected to see the TCP connection end right after the close.
                        let _ = ws.send(Frame::close(CloseCode::from(code), b"")).await;
                        return (code, String::new());
                    }
                    let code = close_code_for(&err);
                    if code != 1006 {
                        // yawc queued a close with the right code: send it, then keep reading
                        // (and dropping) until the peer answers, so the socket is not closed on
                        // unread data, which would reset it before our close arrives.
                        flush_queued(ws).await;
                        // Errors found above the framing layer (UTF-8, reassembly) queue no close:
                        // send ours. After yawc's own close the writer refuses this one.
                        let _ = ws.send(Frame::close(CloseCode::from(code), b"")).await;
                        if code == 1009 {
                            // The peer is likely still sending the oversized message.
                            linger(ws).await;
                        }
                    }
                    return (code, String::new());
                }
                Wake::Command(Some(WsOut::Text(text))) => {
                    let len = text.len();
                    if !self.send(ws, Frame::text(text), len).await {
                        return (1006, String::new());
                    }
                }
                Wake::Command(Some(WsOut::Binary(data))) => {
                    let len = data.len();
                    if !self.send(ws, Frame::binary(data), len).await {
                        return (1006, String::new());
                    }
                }
                Wake::Command(Some(WsOut::Close(code, reason))) => {
                    if !self
                        .send(
                            ws,
                            Frame::close(CloseCode::from(code), reason.as_bytes()),
                            0,
                        )
                        .await
                    {
                        return (code, reason);
                    }
                    closing = Some((code, reason));
                    close_deadline
                        .as_mut()
                        .reset(tokio::time::Instant::now() + Duration::from_secs(5));
                    credit = usize::MAX;
                }
                Wake::Command(None) => return (1006, String::new()),
                Wake::Credit(Some(n)) => credit = credit.saturating_add(n),
                Wake::Credit(None) => return closing.take().unwrap_or((1006, String::new())),
                Wake::Ping => {
                    if let Some(every) = ping_every {
                        ping.as_mut()
                            .rearm()
                            .reset(tokio::time::Instant::now() + every);
                    }
                    if !awaiting_pong {
                        awaiting_pong = true;
                        let timeout = self
                            .settings
                            .ping_timeout
                            .unwrap_or(Duration::from_secs(3600 * 24 * 365));
                        pong.as_mut().reset(tokio::time::Instant::now() + timeout);
                    }
                    if !self.send(ws, Frame::ping(Bytes::new()), 0).await {
                        return (1006, String::new());
                    }
                }
                Wake::PongLate => {
                    let reason = "keepalive ping timeout";
                    let _ = self
                        .send(
                            ws,
                            Frame::close(CloseCode::from(1011), reason.as_bytes()),
                            0,
                        )
                        .await;
                    return (1011, reason.into());
                }
                Wake::Shutdown => {
                    shutdown_seen = true;
                    let _ = self
                        .send(ws, Frame::close(CloseCode::from(1001), b""), 0)
                        .await;
                    closing = Some((1001, String::new()));
                    close_deadline
                        .as_mut()
                        .reset(tokio::time::Instant::now() + Duration::from_secs(2));
                    credit = usize::MAX;
                }
                Wake::CloseTimeout => return closing.take().unwrap_or((1006, String::new())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offers(values: &[&str]) -> Vec<String> {
        let mut headers = http::HeaderMap::new();
        for v in values {
            headers.append(SEC_WEBSOCKET_EXTENSIONS, HeaderValue::from_str(v).unwrap());
        }
        first_deflate_offer(&mut headers);
        headers
            .get_all(SEC_WEBSOCKET_EXTENSIONS)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn the_first_deflate_offer_is_kept_alone() {
        assert_eq!(
            offers(&[
                "permessage-deflate; server_max_window_bits=9, permessage-deflate; server_no_context_takeover",
                "permessage-deflate"
            ]),
            ["permessage-deflate; server_max_window_bits=9"]
        );
        assert_eq!(
            offers(&["x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"]),
            ["permessage-deflate; client_max_window_bits"]
        );
        assert_eq!(
            offers(&["permessage-deflate; client_max_window_bits"]),
            ["permessage-deflate; client_max_window_bits"]
        );
        assert!(offers(&["x-webkit-deflate-frame"]).is_empty());
        assert!(offers(&[]).is_empty());
    }
}
