//! One connection: the protocol it speaks, the request service, and each request's way to the app and back.
use bytes::Bytes;
use http::header::{
    HeaderValue, ACCEPT_ENCODING, CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING,
    UPGRADE,
};
use http::{Request, Response, StatusCode};
use hyper::body::{Body, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{oneshot, watch};

use crate::body::ResponseBody;
use crate::compress;
use crate::config::Config;
use crate::cork::Corked;
use crate::event::{ConnInfo, Event, RequestHead};
use crate::exchange::{Exchanges, Reply};
use crate::server::Live;
use crate::socket::Socket;
use crate::websocket::{self, Handshake, WsEnds, WsSettings};
use access_log::{log_access, with_log_head, LogHead};
use responses::{build, plain, with_server};

mod access_log;
mod lifecycle;
mod request_body;
mod responses;

pub(crate) use lifecycle::Protocol;
use lifecycle::{ActiveGuard, Activity, Lifecycle};
use request_body::{read_first, stream_body, FirstBody};

/// State every connection of a server shares.
pub(crate) struct Shared {
    pub config: Config,
    pub exchanges: Exchanges,
    pub in_flight: AtomicUsize,
    pub server_header: Option<HeaderValue>,
    pub live: Arc<Live>,
    pub graceful: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn ws_settings(&self) -> WsSettings {
        WsSettings {
            max_size: self.config.ws_max_size,
            ping_interval: self.config.ws_ping_interval,
            ping_timeout: self.config.ws_ping_timeout,
            deflate: self.config.ws_per_message_deflate,
        }
    }
}

/// Serves one connection until it closes, the keep-alive timer fires, or shutdown forces it.
pub(crate) async fn serve<I>(
    io: I,
    protocol: Protocol,
    conn: Arc<ConnInfo>,
    shared: Arc<Shared>,
    mut graceful: watch::Receiver<bool>,
    force: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Socket + Unpin + Send + 'static,
{
    let io = Corked::new(io);
    let config = &shared.config;
    let Some(protocol) = protocol
        .settle(&io, config.header_read_timeout, &mut graceful)
        .await
    else {
        return;
    };
    let activity = Arc::new(Activity {
        active: AtomicUsize::new(0),
        last: lifecycle::Stamp::new(Instant::now()),
        refused: AtomicBool::new(false),
        // File bodies go out with `sendfile` on HTTP/1.1 over a plain socket; HTTP/2 frames their bytes.
        file_spans: (protocol != Protocol::Http2)
            .then(|| io.file_spans())
            .flatten(),
    });
    let lifecycle = Lifecycle {
        socket: io.clone(),
        activity: activity.clone(),
        // hyper's own head-read timer would cost a timer per request; it runs from the moment a
        // head is awaited, as the keep-alive timer does, so one timer with the smaller bound serves.
        idle_limit: config.keep_alive_timeout.min(config.header_read_timeout),
        parks: protocol != Protocol::Http2 && io.waits_readable(),
        graceful,
        force,
        live: shared.live.clone(),
    };
    if protocol == Protocol::Http2 {
        let mut builder = hyper::server::conn::http2::Builder::new(crate::task::Executor);
        builder
            .timer(TokioTimer::new())
            .max_header_list_size(config.max_header_size.min(u32::MAX as usize) as u32);
        let service = service(&activity, conn, &shared);
        let mut connection = Some(Box::pin(
            builder.serve_connection(TokioIo::new(io), service),
        ));
        // Made once: HTTP/2 never parks.
        Box::pin(lifecycle.run(move || connection.take().expect("one HTTP/2 session"))).await;
    } else {
        // No timer: hyper's only HTTP/1.1 timer is its head-read bound, which would arm (and
        // allocate) a sleep for every request; the lifecycle's idle timer bounds head reads instead.
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .header_read_timeout(None)
            .keep_alive(true)
            // Pipelined responses leave in one write, not one per response (see `cork`).
            .pipeline_flush(false)
            // The head must fit in the read buffer, so its size bounds the head: past it, 431.
            .max_buf_size(config.max_header_size.max(8192))
            .max_headers(config.max_header_count);
        let open = move || {
            let service = service(&activity, conn.clone(), &shared);
            builder
                .serve_connection(TokioIo::new(io.clone()), service)
                .with_upgrades()
        };
        Box::pin(lifecycle.run(open)).await;
    }
}

/// One request's answer in the making (boxed: a service's future type must be nameable).
type ResponseFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>,
>;

/// The request service of one connection: every request goes through [`begin`], and what is left
/// to wait for goes in a small boxed future.
///
/// The future is kept small on purpose: hyper takes it boxed, and boxing moves the whole future (an
/// `async` block is as large as its largest state). Built around one `async fn` doing all of a
/// request's steps it was 5 KB, copied into a fresh block for every request; the steps that need no
/// waiting run before it is made, and each way a request goes has a future of its own (one for all
/// three, holding any of them, was 1 KB): an answer the core made is ready at once, a request
/// handed to the app waits for its reply only, and the large body-reading path is the one place
/// its state is carried.
fn service(
    activity: &Arc<Activity>,
    conn: Arc<ConnInfo>,
    shared: &Arc<Shared>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<ResponseBody>,
    Error = Infallible,
    Future = ResponseFuture,
> + Clone {
    let activity = activity.clone();
    let shared = shared.clone();
    hyper::service::service_fn(move |req| {
        let guard = ActiveGuard::enter(activity.clone());
        let started = shared.config.access_log.then(Instant::now);
        let (begun, in_flight) = begin(req, &conn, &shared);
        let closing = Closing {
            guard,
            started,
            in_flight,
            conn: conn.clone(),
        };
        match begun {
            Begun::Answered(response) => {
                Box::pin(std::future::ready(Ok(closing.finish(response)))) as ResponseFuture
            }
            Begun::Announced(mut announced) => {
                let shared = shared.clone();
                // `Announced::response` spelled out: its own future here would hold the request
                // a second time.
                Box::pin(async move {
                    let reply = std::future::poll_fn(|cx| announced.poll_reply(cx)).await;
                    let response = match announced.answer(reply, &shared) {
                        Ok(response) => response,
                        Err(compressing) => compressing.await,
                    };
                    Ok(closing.finish(response))
                })
            }
            Begun::Reading(reading) => {
                let shared = shared.clone();
                Box::pin(async move {
                    let response = reading.dispatch(&closing.conn, &shared).await;
                    Ok(closing.finish(response))
                })
            }
        }
    })
}

/// What a request's last step needs, carried from its first.
struct Closing {
    guard: ActiveGuard,
    started: Option<Instant>,
    in_flight: InFlight,
    conn: Arc<ConnInfo>,
}

impl Closing {
    /// The last steps of every response: the request stops counting as in flight, the access log
    /// line, a refusal noted for the lingering close, and the connection kept in use until the body
    /// is written. (The `server` header is added where a response is made: see `with_server`.)
    fn finish(self, mut response: Response<ResponseBody>) -> Response<ResponseBody> {
        let Closing {
            guard,
            started,
            in_flight,
            conn,
        } = self;
        let shared = in_flight.end();
        if let Some(started) = started {
            log_access(&conn, &response, started, shared.config.log_colors);
        }
        if response.status().is_client_error()
            && response
                .headers()
                .get(CONNECTION)
                .is_some_and(|v| v == "close")
        {
            guard.refuse();
        }
        // The connection stays in use until the body is written (a long stream is not idle), and a
        // file body sends through the connection's `sendfile` spans where it has some.
        guard.hand_to(response.body_mut());
        response
    }
}

/// Tells the application the request is gone if its answer stops being awaited first: the client
/// left, or the connection ended, before the app replied (also before the wait began: hyper may drop
/// a request's future unpolled when the connection fails).
struct DisconnectGuard {
    id: u32,
    exchanges: Exchanges,
    armed: bool,
}

impl Drop for DisconnectGuard {
    fn drop(&mut self) {
        if self.armed {
            self.exchanges.disconnect(self.id);
        }
    }
}

/// One request counted in `Shared::in_flight` until its response is made.
struct InFlight(Option<Arc<Shared>>);

impl InFlight {
    /// The count goes down now; the server's state stays at hand.
    fn end(mut self) -> Arc<Shared> {
        let shared = self.0.take().expect("counted until now");
        shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        shared
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// What the core decides on in a request's headers, read in one pass over them: each lookup by
/// name would hash the name and probe the map, and a plain request needs seven.
#[derive(Default)]
struct HeadFacts {
    hosts: usize,
    transfer_encoding: bool,
    /// `Content-Length`, present (hyper has refused conflicting ones).
    content_length: Option<HeaderValue>,
    expects_continue: bool,
    accept_encoding: Option<HeaderValue>,
    /// An `Upgrade` header is there: the request may be a WebSocket handshake.
    upgrade: bool,
}

impl HeadFacts {
    fn of(headers: &http::HeaderMap) -> HeadFacts {
        let mut facts = HeadFacts::default();
        for (name, value) in headers {
            if name == HOST {
                facts.hosts += 1;
            } else if name == CONTENT_LENGTH {
                facts.content_length.get_or_insert_with(|| value.clone());
            } else if name == TRANSFER_ENCODING {
                facts.transfer_encoding = true;
            } else if name == ACCEPT_ENCODING {
                facts.accept_encoding.get_or_insert_with(|| value.clone());
            } else if name == EXPECT {
                facts.expects_continue |= value.as_bytes().eq_ignore_ascii_case(b"100-continue");
            } else if name == UPGRADE {
                facts.upgrade = true;
            }
        }
        facts
    }

    /// The declared body length, when it is a number.
    fn declared(&self) -> Option<u64> {
        self.content_length
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    }
}

/// Where a request stands once everything that needs no waiting is done.
enum Begun {
    /// Answered by the core: refused, or a static file.
    Answered(Response<ResponseBody>),
    /// Handed to the app, which answers through the exchange.
    Announced(Announced),
    /// A body arrives with the head and is read before the app hears of the request.
    Reading(Box<Reading>),
}

/// The steps of a request up to the wait for its answer: the core's own checks and refusals, a
/// static file, and for a request without a body (most are) its announcement to the app.
fn begin(
    mut req: Request<Incoming>,
    conn: &Arc<ConnInfo>,
    shared: &Arc<Shared>,
) -> (Begun, InFlight) {
    let facts = HeadFacts::of(req.headers());
    let upgrade = (facts.upgrade && websocket::is_upgrade(req.method(), req.headers()))
        .then(|| Handshake::start(&mut req, &shared.ws_settings()))
        .flatten();
    let (parts, body) = req.into_parts();
    let in_flight = shared.in_flight.fetch_add(1, Ordering::AcqRel);
    let counted = InFlight(Some(shared.clone()));
    let config = &shared.config;
    let server = shared.server_header.as_ref();

    let begun = if config
        .limit_concurrency
        .is_some_and(|limit| in_flight >= limit)
    {
        Begun::Answered(plain(StatusCode::SERVICE_UNAVAILABLE, false, server))
    } else if facts.transfer_encoding && facts.content_length.is_some() {
        // Both framings at once is how requests get smuggled past proxies: refuse outright.
        Begun::Answered(plain(StatusCode::BAD_REQUEST, true, server))
    } else if parts.version == http::Version::HTTP_11 && facts.hosts != 1 {
        // RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host.
        Begun::Answered(plain(StatusCode::BAD_REQUEST, true, server))
    } else if facts
        .declared()
        .zip(config.max_body_size)
        .is_some_and(|(len, max)| len > max)
    {
        Begun::Answered(plain(StatusCode::PAYLOAD_TOO_LARGE, true, server))
    } else if let Some(res) = upgrade
        .is_none()
        .then(|| config.statics.serve(&parts))
        .flatten()
    {
        Begun::Answered(with_log_head(
            with_server(res, shared),
            &parts,
            config.access_log,
        ))
    } else if body.is_end_stream() {
        let first = FirstBody {
            body: Bytes::new(),
            complete: true,
        };
        Begun::Announced(announce(
            parts,
            body,
            first,
            &facts,
            conn.clone(),
            shared,
            upgrade,
        ))
    } else {
        Begun::Reading(Box::new(Reading {
            parts,
            body,
            facts,
            upgrade,
        }))
    };
    (begun, counted)
}

/// A request whose body is read (in part) before the app hears of it.
struct Reading {
    parts: http::request::Parts,
    body: Incoming,
    facts: HeadFacts,
    upgrade: Option<Box<Handshake>>,
}

impl Reading {
    /// Reads a small body whole (or a chunked body's first chunk), then announces the request and
    /// waits for the app's answer.
    async fn dispatch(self, conn: &Arc<ConnInfo>, shared: &Shared) -> Response<ResponseBody> {
        let Reading {
            parts,
            mut body,
            facts,
            upgrade,
        } = self;
        let config = &shared.config;
        let first =
            match read_first(&mut body, facts.declared(), facts.expects_continue, config).await {
                Ok(first) => first,
                Err(status) => return plain(status, true, shared.server_header.as_ref()),
            };
        announce(parts, body, first, &facts, conn.clone(), shared, upgrade)
            .response(shared)
            .await
    }
}

/// A request the app has heard of, waiting for its answer.
struct Announced {
    reply: oneshot::Receiver<Reply>,
    /// Also names the exchange (`gone.id`).
    gone: DisconnectGuard,
    upgrade: Option<Box<Handshake>>,
    ws_ends: Option<WsEnds>,
    accept_encoding: Option<HeaderValue>,
    /// Boxed: kept only with the access log on, it would otherwise widen every request's future.
    log_head: Option<Box<LogHead>>,
}

/// Hands a request to the application: registers its exchange (a pump streams the rest of the
/// body, if any) and announces it with what of its body has arrived.
fn announce(
    parts: http::request::Parts,
    body: Incoming,
    first: FirstBody,
    facts: &HeadFacts,
    conn: Arc<ConnInfo>,
    shared: &Shared,
    upgrade: Option<Box<Handshake>>,
) -> Announced {
    let config = &shared.config;
    let log_head = config.access_log.then(|| Box::new(LogHead::of(&parts)));
    let exchanges = &shared.exchanges;
    let (reply_tx, reply) = oneshot::channel();
    let id = if first.complete {
        exchanges.register(reply_tx, None)
    } else {
        let read = first.body.len() as u64;
        stream_body(body, reply_tx, exchanges, config.max_body_size, read)
    };
    let ws_ends = upgrade.is_some().then(|| WsEnds::attach(exchanges, id));
    exchanges.sink().push(Event::Request {
        id,
        more_body: !first.complete,
        body: first.body,
        websocket: upgrade.is_some(),
        head: RequestHead {
            method: parts.method,
            uri: parts.uri,
            version: parts.version,
            headers: parts.headers,
            conn,
        },
    });
    Announced {
        reply,
        gone: DisconnectGuard {
            id,
            exchanges: exchanges.clone(),
            armed: true,
        },
        upgrade,
        ws_ends,
        accept_encoding: facts.accept_encoding.clone(),
        log_head,
    }
}

impl Announced {
    /// Waits for the app's reply and turns it into the response.
    async fn response(mut self, shared: &Shared) -> Response<ResponseBody> {
        let reply = std::future::poll_fn(|cx| self.poll_reply(cx)).await;
        match self.answer(reply, shared) {
            Ok(response) => response,
            Err(compressing) => compressing.await,
        }
    }

    /// The app's reply once it came; `None`: the app dropped the request without answering. Until
    /// then, dropping `self` tells the app the client left (see `DisconnectGuard`).
    fn poll_reply(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Reply>> {
        use std::future::Future;
        let reply = std::task::ready!(std::pin::Pin::new(&mut self.reply).poll(cx)).ok();
        self.gone.armed = false;
        std::task::Poll::Ready(reply)
    }

    /// The response to `reply`: at once, or (`Err`) once the hinted compression is done.
    fn answer(
        self,
        reply: Option<Reply>,
        shared: &Shared,
    ) -> Result<Response<ResponseBody>, compress::Compressing> {
        let Announced {
            gone,
            upgrade,
            ws_ends,
            accept_encoding,
            log_head,
            ..
        } = self;
        let id = gone.id;
        let mut response = match (reply, upgrade, ws_ends) {
            (
                Some(Reply::Accept {
                    subprotocol,
                    headers,
                }),
                Some(handshake),
                Some(ends),
            ) => {
                let (response, upgraded) = handshake.accept(subprotocol.as_deref(), headers);
                ends.start_session(id, shared, upgraded);
                with_server(response, shared)
            }
            (Some(Reply::Accept { .. }), ..) => {
                plain(StatusCode::BAD_REQUEST, true, shared.server_header.as_ref())
            }
            (Some(reply), ..) => {
                // A denied (or plain HTTP) answer to a handshake ends the exchange.
                shared.exchanges.ws_forget(id);
                build(reply, shared.server_header.as_ref())
            }
            // The application dropped the request without answering.
            (None, ..) => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                false,
                shared.server_header.as_ref(),
            ),
        };
        // Kept through compression, which rebuilds the response from its parts.
        if let Some(head) = log_head {
            response.extensions_mut().insert(*head);
        }
        compress::apply(response, accept_encoding)
    }
}
