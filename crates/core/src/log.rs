//! The access log: one line per request, written off the JS thread.
use std::io::Write;
use std::time::Duration;

use crate::event::ConnInfo;

pub(crate) struct AccessLine<'a> {
    pub conn: &'a ConnInfo,
    pub method: &'a str,
    pub target: &'a str,
    pub version: http::Version,
    pub status: u16,
    pub bytes: Option<u64>,
    pub elapsed: Duration,
    /// ANSI colours as uvicorn's on a terminal: the level green, the request line bold, the status
    /// by class.
    pub colors: bool,
}

pub(crate) fn access(line: AccessLine<'_>) {
    let client = match line.conn.client {
        Some(addr) => addr.to_string(),
        None => "-".into(),
    };
    let version = match line.version {
        http::Version::HTTP_10 => "1.0",
        http::Version::HTTP_2 => "2",
        _ => "1.1",
    };
    let bytes = line.bytes.map_or("-".to_string(), |b| b.to_string());
    let ms = line.elapsed.as_secs_f64() * 1000.0;
    let (method, target, status) = (line.method, line.target, line.status);
    let mut err = std::io::stderr().lock();
    let _ = if line.colors {
        let shade = match status {
            100..=199 => "97",
            200..=299 => "32",
            300..=399 => "33",
            400..=499 => "31",
            _ => "91",
        };
        writeln!(
            err,
            "\x1b[32mINFO\x1b[0m:     {client} - \"\x1b[1m{method} {target} HTTP/{version}\x1b[0m\" \
             \x1b[{shade}m{status}\x1b[0m {bytes} {ms:.2}ms"
        )
    } else {
        writeln!(
            err,
            "INFO:     {client} - \"{method} {target} HTTP/{version}\" {status} {bytes} {ms:.2}ms"
        )
    };
}

/// Logs an error with its context; the server keeps going.
pub(crate) fn error(context: &str, err: &dyn std::fmt::Display) {
    let mut out = std::io::stderr().lock();
    let _ = writeln!(out, "ERROR:    {context}: {err}");
}
