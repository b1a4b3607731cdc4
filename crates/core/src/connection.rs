//! One connection: hyper's HTTP/1.1 state machine, the request service, and the keep-alive timer.
use bytes::Bytes;
use http::header::{
    HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, SERVER, TRANSFER_ENCODING,
};
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot, watch};

use crate::body::ResponseBody;
use crate::compress;
use crate::config::Config;
use crate::cork::Corked;
use crate::event::{ConnInfo, Event, RequestHead};
use crate::exchange::{Exchanges, Reply};
use crate::log;
use crate::server::Live;
use crate::websocket::{self, Handshake, WsEnds, WsSettings};

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

/// Per-connection activity, for the keep-alive timer.
struct Activity {
    active: AtomicUsize,
    last: Mutex<Instant>,
    /// The core refused a request and closes: let the client finish sending first (see `linger`).
    refused: AtomicBool,
}

impl crate::body::Release for Activity {
    fn release(&self) {
        *self.last.lock() = Instant::now();
        self.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request in flight on its connection until its response body is done with: the guard is
/// handed to the body, or releases itself if the request is dropped first.
struct ActiveGuard(Option<Arc<Activity>>);

impl ActiveGuard {
    fn enter(activity: Arc<Activity>) -> ActiveGuard {
        activity.active.fetch_add(1, Ordering::AcqRel);
        ActiveGuard(Some(activity))
    }

    fn hand_to(mut self, body: &mut ResponseBody) {
        if let Some(activity) = self.0.take() {
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
    async fn settle<I>(
        self,
        io: &Corked<I>,
        limit: std::time::Duration,
        graceful: &mut watch::Receiver<bool>,
    ) -> Option<Protocol>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
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

/// Serves one connection until it closes, the keep-alive timer fires, or shutdown forces it.
pub(crate) async fn serve<I>(
    io: I,
    protocol: Protocol,
    conn: Arc<ConnInfo>,
    shared: Arc<Shared>,
    mut graceful: watch::Receiver<bool>,
    force: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
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
        last: Mutex::new(Instant::now()),
        refused: AtomicBool::new(false),
    });
    let service = service(&activity, conn, &shared);
    let lifecycle = Lifecycle {
        socket: io.clone(),
        activity: activity.clone(),
        // hyper's own head-read timer would cost a timer per request; it runs from the moment a
        // head is awaited, as the keep-alive timer does, so one timer with the smaller bound serves.
        idle_limit: config.keep_alive_timeout.min(config.header_read_timeout),
        graceful,
        force,
    };
    // Each protocol's connection state is boxed on its own, so a connection holds only the state
    // of the protocol it speaks (HTTP/2's is several kilobytes).
    if protocol == Protocol::Http2 {
        let connection = hyper::server::conn::http2::Builder::new(crate::task::Executor)
            .timer(TokioTimer::new())
            .max_header_list_size(config.max_header_size.min(u32::MAX as usize) as u32)
            .serve_connection(TokioIo::new(io), service);
        Box::pin(lifecycle.run(connection)).await;
    } else {
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .keep_alive(true)
            // Pipelined responses leave in one write, not one per response (see `cork`).
            .pipeline_flush(false)
            // The head must fit in the read buffer, so its size bounds the head: past it, 431.
            .max_buf_size(config.max_header_size.max(8192))
            .max_headers(config.max_header_count)
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        Box::pin(lifecycle.run(connection)).await;
    }
}

/// One request's answer in the making (boxed: the future is large, and hyper moves what it is given).
type ResponseFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response<ResponseBody>, Infallible>> + Send>,
>;

/// The request service of one connection: every request goes through [`handle`].
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
        let shared = shared.clone();
        let conn = conn.clone();
        let activity = activity.clone();
        Box::pin(async move {
            let guard = ActiveGuard::enter(activity);
            let mut response = handle(req, conn, &shared).await;
            if response.status().is_client_error()
                && response
                    .headers()
                    .get(CONNECTION)
                    .is_some_and(|v| v == "close")
            {
                if let Some(activity) = &guard.0 {
                    activity.refused.store(true, Ordering::Release);
                }
            }
            // The connection stays in use until the body is written (a long stream is not idle).
            guard.hand_to(response.body_mut());
            Ok::<_, Infallible>(response)
        }) as _
    })
}

/// hyper's connections of either protocol: they finish, or shut down gracefully when asked.
trait Connection: std::future::Future<Output = Result<(), hyper::Error>> {
    fn graceful_shutdown(self: std::pin::Pin<&mut Self>);
}

impl<I, S, B> Connection for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    Self: std::future::Future<Output = Result<(), hyper::Error>>,
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn graceful_shutdown(self: std::pin::Pin<&mut Self>) {
        hyper::server::conn::http1::UpgradeableConnection::graceful_shutdown(self)
    }
}

impl<I, S, E, B> Connection for hyper::server::conn::http2::Connection<I, S, E>
where
    Self: std::future::Future<Output = Result<(), hyper::Error>>,
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn graceful_shutdown(self: std::pin::Pin<&mut Self>) {
        hyper::server::conn::http2::Connection::graceful_shutdown(self)
    }
}

/// What a connection lives by besides hyper: the keep-alive timer, graceful and forced shutdown,
/// and the lingering close after a refusal.
struct Lifecycle<I> {
    socket: Corked<I>,
    activity: Arc<Activity>,
    /// How long a connection may wait for its next request head, whole (keep-alive and head-read
    /// bound in one).
    idle_limit: std::time::Duration,
    graceful: watch::Receiver<bool>,
    force: watch::Receiver<bool>,
}

impl<I> Lifecycle<I>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn run(mut self, connection: impl Connection) {
        tokio::pin!(connection);
        // Until shutdown begins: serve, and close gracefully when the connection waits for a head past its
        // idle limit or the server starts to shut down. Every future here lives across
        // requests, so a wake-up costs polls, not new timer or channel registrations.
        let (limit, activity) = (self.idle_limit, &self.activity);
        let idle = tokio::time::sleep(limit);
        tokio::pin!(idle);
        let open = !*self.graceful.borrow();
        let draining = self.graceful.changed();
        tokio::pin!(draining);
        let mut waited_out = false;
        if open {
            loop {
                tokio::select! {
                    biased;
                    result = connection.as_mut() => {
                        // hyper answered a malformed or oversized head itself (400, 431), or the
                        // core refused the request (413, 400): the client may still be sending.
                        if result.is_err() || activity.refused.load(Ordering::Acquire) {
                            self.socket.linger().await;
                        }
                        return finished(result);
                    }
                    _ = idle.as_mut() => {
                        let last = *activity.last.lock();
                        let busy = activity.active.load(Ordering::Acquire) > 0;
                        if !busy && last.elapsed() >= limit {
                            waited_out = true;
                            break;
                        }
                        // In use: look again a whole bound later (never at a deadline already
                        // past, which would spin). Idle: when the bound runs out.
                        let next = if busy { Instant::now() } else { last } + limit;
                        idle.as_mut().reset(tokio::time::Instant::from_std(next));
                    }
                    _ = draining.as_mut() => break,
                }
            }
        }
        connection.as_mut().graceful_shutdown();
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
            result = connection.as_mut() => finished(result),
            _ = self.force.changed() => {}
            _ = cut_short => {}
        }
    }
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

fn plain(status: StatusCode, close: bool) -> Response<ResponseBody> {
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut res = Response::new(ResponseBody::full(Bytes::from_static(reason.as_bytes())));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(reason.len()));
    if close {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// Tells the application the request is gone if the service future is dropped while it waits.
struct DisconnectGuard<'a> {
    id: u32,
    exchanges: &'a Exchanges,
    armed: bool,
}

impl Drop for DisconnectGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.exchanges.disconnect(self.id);
        }
    }
}

struct InFlight<'a>(&'a AtomicUsize);
impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn handle(
    mut req: Request<Incoming>,
    conn: Arc<ConnInfo>,
    shared: &Shared,
) -> Response<ResponseBody> {
    let started = shared.config.access_log.then(Instant::now);
    let upgrade = websocket::is_upgrade(req.method(), req.headers())
        .then(|| Handshake::start(&mut req, &shared.ws_settings()))
        .flatten();
    let (parts, body) = req.into_parts();
    let in_flight = shared.in_flight.fetch_add(1, Ordering::AcqRel);
    let _in_flight = InFlight(&shared.in_flight);
    let config = &shared.config;

    let mut response = if config
        .limit_concurrency
        .is_some_and(|limit| in_flight >= limit)
    {
        plain(StatusCode::SERVICE_UNAVAILABLE, false)
    } else if parts.headers.contains_key(TRANSFER_ENCODING)
        && parts.headers.contains_key(CONTENT_LENGTH)
    {
        // Both framings at once is how requests get smuggled past proxies: refuse outright.
        plain(StatusCode::BAD_REQUEST, true)
    } else if parts.version == http::Version::HTTP_11
        && parts.headers.get_all(HOST).iter().count() != 1
    {
        // RFC 9112 §3.2: an HTTP/1.1 request carries exactly one Host.
        plain(StatusCode::BAD_REQUEST, true)
    } else {
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared
            .zip(config.max_body_size)
            .is_some_and(|(len, max)| len > max)
        {
            plain(StatusCode::PAYLOAD_TOO_LARGE, true)
        } else if let Some(res) = upgrade
            .is_none()
            .then(|| config.statics.serve(&parts))
            .flatten()
        {
            with_log_head(res, &parts, config.access_log)
        } else {
            dispatch(parts, body, declared, conn.clone(), shared, upgrade).await
        }
    };

    if let Some(server) = &shared.server_header {
        response
            .headers_mut()
            .entry(SERVER)
            .or_insert_with(|| server.clone());
    }
    if config.access_log {
        log_access(
            &conn,
            &response,
            started.unwrap_or_else(Instant::now),
            config.log_colors,
        );
    }
    response
}

fn log_access(conn: &ConnInfo, response: &Response<ResponseBody>, started: Instant, colors: bool) {
    let (method, target, version) = response
        .extensions()
        .get::<LogHead>()
        .map(|h| (h.method.as_str(), h.target.as_str(), h.version))
        .unwrap_or(("-", "-", http::Version::HTTP_11));
    log::access(log::AccessLine {
        conn,
        method,
        target,
        version,
        status: response.status().as_u16(),
        bytes: response.body().size_hint().exact(),
        elapsed: started.elapsed(),
        colors,
    });
}

#[derive(Clone)]
struct LogHead {
    method: String,
    target: String,
    version: http::Version,
}

impl LogHead {
    /// What the access log needs of a request, kept on the response once the head is gone.
    fn of(parts: &http::request::Parts) -> LogHead {
        LogHead {
            method: parts.method.to_string(),
            target: parts
                .uri
                .path_and_query()
                .map_or("/".into(), |p| p.to_string()),
            version: parts.version,
        }
    }
}

/// Hands one request to the application and turns its reply into the response, in steps: read a
/// small body whole, register the exchange, announce it, wait for the reply, answer.
async fn dispatch(
    parts: http::request::Parts,
    mut body: Incoming,
    declared: Option<u64>,
    conn: Arc<ConnInfo>,
    shared: &Shared,
    upgrade: Option<Box<Handshake>>,
) -> Response<ResponseBody> {
    let config = &shared.config;
    let log_head = config.access_log.then(|| LogHead::of(&parts));
    let expects_continue = parts
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let first = match read_first(&mut body, declared, expects_continue, config).await {
        Ok(first) => first,
        Err(status) => return plain(status, true),
    };
    let exchanges = &shared.exchanges;
    let (reply_tx, reply_rx) = oneshot::channel();
    let id = if first.complete {
        exchanges.register(reply_tx, None)
    } else {
        let read = first.body.len() as u64;
        stream_body(body, reply_tx, exchanges, config.max_body_size, read)
    };
    let accept_encoding = compress::accept_encoding(&parts.headers);
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
    let reply = wait_for_reply(id, exchanges, reply_rx).await;
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
            response
        }
        (Some(Reply::Accept { .. }), ..) => plain(StatusCode::BAD_REQUEST, true),
        (Some(reply), ..) => {
            // A denied (or plain HTTP) answer to a handshake ends the exchange.
            exchanges.ws_forget(id);
            compress::apply(build(reply), accept_encoding.as_ref()).await
        }
        // The application dropped the request without answering.
        (None, ..) => plain(StatusCode::INTERNAL_SERVER_ERROR, false),
    };
    if let Some(head) = log_head {
        response.extensions_mut().insert(head);
    }
    response
}

/// What arrives with the request: the whole body when it is empty or declared small enough, the
/// first chunk of a chunked one, or nothing yet of a large one (the rest streams as the app asks).
struct FirstBody {
    body: Bytes,
    complete: bool,
}

async fn read_first(
    body: &mut Incoming,
    declared: Option<u64>,
    expects_continue: bool,
    config: &Config,
) -> Result<FirstBody, StatusCode> {
    let whole = |body| FirstBody {
        body,
        complete: true,
    };
    if body.is_end_stream() {
        return Ok(whole(Bytes::new()));
    }
    if declared.is_some_and(|len| len <= config.inline_body_limit as u64) {
        return collect(body, config.max_body_size).await.map(whole);
    }
    if declared.is_none() && !expects_continue {
        // Chunked: a first chunk that came with the head is read now, so a broken chunk size is
        // the request's 400, not a close after the app's 200. Only what has arrived: a client that
        // sends its body once it has the response's head (duplex streaming) is not waited for.
        // (With `Expect: 100-continue` the app decides first whether the body is wanted.)
        use std::task::Poll;
        let arrived =
            std::future::poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *body).poll_frame(cx)))
                .await;
        match arrived {
            Poll::Pending => {}
            Poll::Ready(None) => return Ok(whole(Bytes::new())),
            Poll::Ready(Some(Err(_))) => return Err(StatusCode::BAD_REQUEST),
            Poll::Ready(Some(Ok(frame))) => {
                // Trailers with no data before them end an empty body.
                let data = frame.into_data().unwrap_or_default();
                if config
                    .max_body_size
                    .is_some_and(|max| data.len() as u64 > max)
                {
                    return Err(StatusCode::PAYLOAD_TOO_LARGE);
                }
                return Ok(FirstBody {
                    complete: body.is_end_stream() || data.is_empty(),
                    body: data,
                });
            }
        }
    }
    Ok(FirstBody {
        body: Bytes::new(),
        complete: false,
    })
}

/// Registers an exchange whose body the app pulls: a pump reads one chunk per credit.
fn stream_body(
    body: Incoming,
    reply: oneshot::Sender<Reply>,
    exchanges: &Exchanges,
    max: Option<u64>,
    read: u64,
) -> u32 {
    let (credit_tx, credit_rx) = mpsc::unbounded_channel();
    let id = exchanges.register(reply, Some(credit_tx));
    crate::task::spawn(pump(id, body, credit_rx, exchanges.clone(), max, read));
    id
}

/// Waits for the app's reply; if the client leaves first (this future is dropped), the app hears
/// of it. `None`: the app dropped the request without answering.
async fn wait_for_reply(
    id: u32,
    exchanges: &Exchanges,
    reply: oneshot::Receiver<Reply>,
) -> Option<Reply> {
    let mut guard = DisconnectGuard {
        id,
        exchanges,
        armed: true,
    };
    let reply = reply.await.ok();
    guard.armed = false;
    reply
}

fn with_log_head(
    mut res: Response<ResponseBody>,
    parts: &http::request::Parts,
    enabled: bool,
) -> Response<ResponseBody> {
    if enabled {
        res.extensions_mut().insert(LogHead::of(parts));
    }
    res
}

async fn collect(body: &mut Incoming, max: Option<u64>) -> Result<Bytes, StatusCode> {
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| StatusCode::BAD_REQUEST)?;
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
            if max.is_some_and(|max| buf.len() as u64 > max) {
                return Err(StatusCode::PAYLOAD_TOO_LARGE);
            }
        }
    }
    Ok(buf.freeze())
}

/// Reads the request body one chunk per credit, so a slow handler pushes back on the client.
async fn pump(
    id: u32,
    mut body: Incoming,
    mut credit: mpsc::UnboundedReceiver<()>,
    exchanges: Exchanges,
    max: Option<u64>,
    read: u64,
) {
    let mut total = read;
    while credit.recv().await.is_some() {
        loop {
            match body.frame().await {
                None => {
                    exchanges.sink().push(Event::Body {
                        id,
                        chunk: Bytes::new(),
                        more_body: false,
                    });
                    return;
                }
                Some(Ok(frame)) => {
                    let Ok(chunk) = frame.into_data() else {
                        continue;
                    };
                    total += chunk.len() as u64;
                    if max.is_some_and(|max| total > max) {
                        exchanges.fail(id, StatusCode::PAYLOAD_TOO_LARGE);
                        return;
                    }
                    let more_body = !body.is_end_stream();
                    exchanges.sink().push(Event::Body {
                        id,
                        chunk,
                        more_body,
                    });
                    if !more_body {
                        return;
                    }
                    break;
                }
                Some(Err(_)) => {
                    // A broken chunk encoding or a client that left mid-body.
                    exchanges.fail(id, StatusCode::BAD_REQUEST);
                    return;
                }
            }
        }
    }
}

fn build(reply: Reply) -> Response<ResponseBody> {
    let (status, headers, body) = match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => (status, headers, ResponseBody::full(body)),
        Reply::Stream {
            status,
            headers,
            rx,
            shared,
        } => (status, headers, ResponseBody::stream(rx, shared)),
        Reply::Accept { .. } => return plain(StatusCode::INTERNAL_SERVER_ERROR, false),
        Reply::File {
            status,
            headers,
            path,
        } => match open_file(&path) {
            Ok((body, len)) => {
                let mut res = response_with(status, headers.into_map(), body);
                res.headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(len));
                return res;
            }
            Err(err) => {
                log::error(&format!("sending file {}", path.display()), &err);
                return plain(StatusCode::INTERNAL_SERVER_ERROR, false);
            }
        },
    };
    response_with(status, headers.into_map(), body)
}

fn response_with(
    status: u16,
    headers: http::HeaderMap,
    body: ResponseBody,
) -> Response<ResponseBody> {
    let mut res = Response::new(body);
    *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *res.headers_mut() = headers;
    res
}

fn open_file(path: &std::path::Path) -> std::io::Result<(ResponseBody, u64)> {
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    Ok((ResponseBody::file(file, len)?, len))
}
