//! The request body on its way to the app: what arrives with the head is read at once (a small
//! declared body whole, a chunked body's first chunk), the rest is pulled one chunk per credit.
use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::event::Event;
use crate::exchange::{Exchanges, Reply};

/// What arrives with the request: the whole body when it is empty or declared small enough, the
/// first chunk of a chunked one, or nothing yet of a large one (the rest streams as the app asks).
pub(super) struct FirstBody {
    pub(super) body: Bytes,
    pub(super) complete: bool,
}

pub(super) async fn read_first(
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
pub(super) fn stream_body(
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
