//! WebSocket sessions: the core completes the upgrade once the app accepts, then owns framing,
//! fragmentation, UTF-8 checks, ping/pong, size limits and the close handshake. Messages cross to
//! the app as events; the app sends through [`crate::Exchanges::ws_send`].
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    UPGRADE,
};
use http::{Response, StatusCode};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::body::ResponseBody;
use crate::event::Event;
use crate::exchange::{Exchanges, WsShared};
use crate::headers::HeaderBlock;

/// What the app sends on an open WebSocket.
#[derive(Debug)]
pub(crate) enum WsOut {
    Text(String),
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

/// The 101 answer to an accepted handshake.
pub(crate) fn switching_protocols(
    key: &HeaderValue,
    subprotocol: Option<&str>,
    headers: HeaderBlock,
) -> Response<ResponseBody> {
    let mut res = Response::new(ResponseBody::empty());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let map = res.headers_mut();
    for (name, value) in headers.into_map() {
        if let Some(name) = name {
            map.append(name, value);
        }
    }
    map.insert(UPGRADE, HeaderValue::from_static("websocket"));
    map.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        map.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(Ok(proto)) = subprotocol.map(HeaderValue::from_str) {
        map.insert(SEC_WEBSOCKET_PROTOCOL, proto);
    }
    res
}

/// Limits and keep-alive settings of sessions.
#[derive(Clone, Debug)]
pub(crate) struct WsSettings {
    pub max_size: usize,
    pub ping_interval: Option<Duration>,
    pub ping_timeout: Option<Duration>,
}

pub(crate) struct Session {
    pub id: u32,
    pub exchanges: Exchanges,
    pub commands: mpsc::UnboundedReceiver<WsOut>,
    pub credit: mpsc::UnboundedReceiver<usize>,
    pub shared: Arc<WsShared>,
    pub settings: WsSettings,
    pub graceful: watch::Receiver<bool>,
}

fn close_code_for(err: &WsError) -> u16 {
    match err {
        WsError::Capacity(CapacityError::MessageTooLong { .. }) => 1009,
        WsError::Capacity(_) => 1009,
        WsError::Utf8(_) => 1007,
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => 1006,
        WsError::Protocol(_) => 1002,
        _ => 1006,
    }
}

impl Session {
    /// Runs the session on the upgraded connection until either side closes.
    pub(crate) async fn run(mut self, on_upgrade: OnUpgrade) {
        let Ok(upgraded) = on_upgrade.await else {
            self.exchanges.ws_finished(self.id, 1006, "");
            return;
        };
        // tungstenite reserves its read buffer per connection: 128 KiB by default, which is most of
        // an idle socket's memory. Large messages just take more reads.
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .max_message_size(Some(self.settings.max_size))
            .max_frame_size(Some(self.settings.max_size));
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        let (code, reason) = self.pump(ws).await;
        self.exchanges.ws_finished(self.id, code, &reason);
    }

    /// Sends what the app queued, until it has been quiet for a moment (or closes).
    async fn flush_pending<K>(&mut self, sink: &mut K)
    where
        K: futures_util::Sink<Message> + Unpin,
    {
        loop {
            let command =
                tokio::time::timeout(Duration::from_millis(50), self.commands.recv()).await;
            let message = match command {
                Ok(Some(WsOut::Text(text))) => Message::Text(text.into()),
                Ok(Some(WsOut::Binary(data))) => Message::Binary(data),
                _ => return,
            };
            if sink.send(message).await.is_err() {
                return;
            }
        }
    }

    async fn pump<S>(&mut self, ws: WebSocketStream<S>) -> (u16, String)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let (mut sink, mut stream) = ws.split();
        let mut credit = INITIAL_CREDIT;
        let mut closing: Option<(u16, String)> = None;
        let mut ping = self.settings.ping_interval.map(|every| {
            let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            timer
        });
        let mut awaiting_pong: Option<tokio::time::Instant> = None;
        let close_deadline = tokio::time::sleep(Duration::from_secs(3600 * 24 * 365));
        tokio::pin!(close_deadline);
        loop {
            let pong_deadline = awaiting_pong
                .zip(self.settings.ping_timeout)
                .map(|(sent, t)| sent + t);
            tokio::select! {
                incoming = stream.next(), if credit > 0 => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        credit -= 1;
                        self.exchanges.sink().push(Event::WsMessage { id: self.id, data: Bytes::from(text), text: true });
                    }
                    Some(Ok(Message::Binary(data))) => {
                        credit -= 1;
                        self.exchanges.sink().push(Event::WsMessage { id: self.id, data, text: false });
                    }
                    Some(Ok(Message::Pong(_))) => awaiting_pong = None,
                    Some(Ok(Message::Ping(_))) | Some(Ok(Message::Frame(_))) => {}
                    Some(Ok(Message::Close(frame))) => {
                        // tungstenite queues the echo of the close frame; flushing sends it.
                        let _ = sink.flush().await;
                        return match (closing.take(), frame) {
                            (Some(ours), _) => ours,
                            (None, Some(f)) => (u16::from(f.code), f.reason.to_string()),
                            (None, None) => (1005, String::new()),
                        };
                    }
                    Some(Err(err)) => {
                        let code = close_code_for(&err);
                        if code != 1006 {
                            // Strict peers expect the replies to what the app already got before
                            // the close: give the app a moment to send them.
                            self.flush_pending(&mut sink).await;
                            let frame = CloseFrame { code: CloseCode::from(code), reason: "".into() };
                            let _ = sink.send(Message::Close(Some(frame))).await;
                            // Keep reading (and dropping) until the peer answers, so the socket is not
                            // closed on unread data: that would reset it before our close arrives.
                            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                                while let Some(Ok(message)) = stream.next().await {
                                    if message.is_close() {
                                        break;
                                    }
                                }
                            })
                            .await;
                        }
                        return (code, String::new());
                    }
                    None => return closing.take().unwrap_or((1006, String::new())),
                },
                more = self.credit.recv() => match more {
                    Some(n) => credit += n,
                    None => return closing.take().unwrap_or((1006, String::new())),
                },
                command = self.commands.recv(), if closing.is_none() => match command {
                    Some(WsOut::Text(text)) => {
                        let len = text.len();
                        let sent = sink.send(Message::Text(text.into())).await;
                        self.shared.sent(len, &self.exchanges);
                        if sent.is_err() { return (1006, String::new()); }
                    }
                    Some(WsOut::Binary(data)) => {
                        let len = data.len();
                        let sent = sink.send(Message::Binary(data)).await;
                        self.shared.sent(len, &self.exchanges);
                        if sent.is_err() { return (1006, String::new()); }
                    }
                    Some(WsOut::Close(code, reason)) => {
                        let frame = CloseFrame { code: CloseCode::from(code), reason: reason.clone().into() };
                        if sink.send(Message::Close(Some(frame))).await.is_err() {
                            return (code, reason);
                        }
                        closing = Some((code, reason));
                        close_deadline.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(5));
                        // Keep reading (with unlimited credit) until the peer answers the close.
                        credit = usize::MAX;
                    }
                    None => return (1006, String::new()),
                },
                _ = async { ping.as_mut().unwrap().tick().await }, if ping.is_some() => {
                    if awaiting_pong.is_none() {
                        awaiting_pong = Some(tokio::time::Instant::now());
                    }
                    if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                        return (1006, String::new());
                    }
                }
                _ = async { tokio::time::sleep_until(pong_deadline.unwrap()).await }, if pong_deadline.is_some() => {
                    let frame = CloseFrame { code: CloseCode::from(1011), reason: "keepalive ping timeout".into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    return (1011, "keepalive ping timeout".into());
                }
                _ = self.graceful.changed(), if closing.is_none() => {
                    let frame = CloseFrame { code: CloseCode::Away, reason: "".into() };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    closing = Some((1001, String::new()));
                    close_deadline.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(2));
                    credit = usize::MAX;
                }
                _ = &mut close_deadline, if closing.is_some() => {
                    return closing.take().unwrap_or((1006, String::new()));
                }
            }
        }
    }
}
