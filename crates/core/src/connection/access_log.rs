//! The access log's side of a request: what of the request head it keeps, and the line it writes.
use http::Response;
use hyper::body::Body;
use std::time::Instant;

use crate::body::ResponseBody;
use crate::event::ConnInfo;
use crate::log;

/// Writes the request's access-log line once its response is made.
pub(super) fn log_access(
    conn: &ConnInfo,
    response: &Response<ResponseBody>,
    started: Instant,
    colors: bool,
) {
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

/// The request line, kept on the response (an extension) for the log line.
#[derive(Clone)]
pub(super) struct LogHead {
    method: String,
    target: String,
    version: http::Version,
}

impl LogHead {
    /// What the access log needs of a request, kept on the response once the head is gone.
    pub(super) fn of(parts: &http::request::Parts) -> LogHead {
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

/// `res` carrying its request's `LogHead` when the access log is on.
pub(super) fn with_log_head(
    mut res: Response<ResponseBody>,
    parts: &http::request::Parts,
    enabled: bool,
) -> Response<ResponseBody> {
    if enabled {
        res.extensions_mut().insert(LogHead::of(parts));
    }
    res
}
