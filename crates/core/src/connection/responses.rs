//! The responses the core itself puts together: its plain answers (400, 413, 500, 503, …) and the
//! response for each of the app's replies (whole, streamed, a file), each with the server's `server`
//! header.
use bytes::Bytes;
use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{Response, StatusCode};

use super::Shared;
use crate::body::ResponseBody;
use crate::exchange::Reply;
use crate::headers::add_server;
use crate::log;

/// An answer the core makes itself: the status's reason as plain text, with the server's `server`
/// header.
pub(super) fn plain(
    status: StatusCode,
    close: bool,
    server: Option<&HeaderValue>,
) -> Response<ResponseBody> {
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
    add_server(headers, server);
    res
}

/// The response for the app's `reply`; `server` is the server's own `server` header (see
/// [`HeaderBlock::into_map_for`](crate::headers::HeaderBlock::into_map_for)).
pub(super) fn build(reply: Reply, server: Option<&HeaderValue>) -> Response<ResponseBody> {
    let (status, headers, body) = match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            // Statuses without a body keep what the app said (hyper writes no length for them).
            let whole = (200..).contains(&status) && status != 204 && status != 304;
            let headers = headers.into_map_for(whole.then_some(body.len()), server);
            return response_with(status, headers, ResponseBody::full(body));
        }
        Reply::Stream {
            status,
            headers,
            rx,
            shared,
        } => (status, headers, ResponseBody::stream(rx, shared)),
        Reply::Accept { .. } => return plain(StatusCode::INTERNAL_SERVER_ERROR, false, server),
        Reply::File {
            status,
            headers,
            path,
        } => match open_file(&path) {
            Ok((body, len)) => {
                let mut res = response_with(status, headers.into_map_for(None, server), body);
                res.headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(len));
                return res;
            }
            Err(err) => {
                log::error(&format!("sending file {}", path.display()), &err);
                return plain(StatusCode::INTERNAL_SERVER_ERROR, false, server);
            }
        },
    };
    response_with(status, headers.into_map_for(None, server), body)
}

/// `res` with the server's `server` header, unless it names one: for the responses made with
/// headers of their own (an app's get it as their headers are decoded, see
/// `HeaderBlock::into_map_for`; the core's plain answers in `plain`).
pub(super) fn with_server(
    mut res: Response<ResponseBody>,
    shared: &Shared,
) -> Response<ResponseBody> {
    add_server(res.headers_mut(), shared.server_header.as_ref());
    res
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
