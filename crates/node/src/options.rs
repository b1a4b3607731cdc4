//! The options object JS passes, converted into the core's configuration.
use napi_derive::napi;
use starling_core::{Bind, Config, StaticMount, Statics, TlsFiles};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A top-level `StaticFiles` mount the core may answer by itself.
#[napi(object)]
pub struct StaticMountOptions {
    pub prefix: String,
    pub directories: Vec<String>,
    pub follow_symlink: Option<bool>,
    pub cache_control: Option<String>,
}

/// Server options as `serve()` passes them (durations in seconds, sizes in bytes).
#[napi(object)]
#[derive(Default)]
pub struct ServerOptions {
    pub host: Option<String>,
    pub port: Option<u32>,
    pub uds: Option<String>,
    pub backlog: Option<u32>,
    pub reuse_port: Option<bool>,
    pub timeout_keep_alive: Option<f64>,
    pub timeout_header_read: Option<f64>,
    pub max_header_size: Option<u32>,
    pub max_header_count: Option<u32>,
    pub max_body_size: Option<f64>,
    pub limit_concurrency: Option<u32>,
    pub inline_body_limit: Option<u32>,
    pub access_log: Option<bool>,
    pub log_colors: Option<bool>,
    pub server_header: Option<String>,
    pub ws_max_size: Option<f64>,
    pub ws_ping_interval: Option<f64>,
    pub ws_ping_timeout: Option<f64>,
    pub ws_per_message_deflate: Option<bool>,
    pub static_mounts: Option<Vec<StaticMountOptions>>,
    /// `ext\0type\0...`: the media-type table of the TS side, so both answer alike.
    pub media_types: Option<String>,
    /// No listener: only in-memory connections (the TestClient's native transport).
    pub memory: Option<bool>,
    /// PEM certificate chain; with `ssl_key_file`, TLS is terminated in the core.
    pub ssl_cert_file: Option<String>,
    pub ssl_key_file: Option<String>,
}

fn seconds(value: Option<f64>, default: Duration) -> Duration {
    value
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map_or(default, Duration::from_secs_f64)
}

/// `0` or a negative number turns a periodic duty off; absent keeps the default.
fn optional_seconds(value: Option<f64>, default: Option<Duration>) -> Option<Duration> {
    match value {
        None => default,
        Some(v) if v.is_finite() && v > 0.0 => Some(Duration::from_secs_f64(v)),
        Some(_) => None,
    }
}

fn statics(mounts: Option<Vec<StaticMountOptions>>, media_types: Option<String>) -> Statics {
    let mounts = mounts
        .unwrap_or_default()
        .into_iter()
        .map(|m| StaticMount {
            prefix: m.prefix.trim_end_matches('/').to_string(),
            roots: m
                .directories
                .iter()
                .filter_map(|d| std::fs::canonicalize(d).ok())
                .collect(),
            follow_symlink: m.follow_symlink.unwrap_or(false),
            cache_control: m.cache_control,
        })
        .filter(|m| !m.roots.is_empty())
        .collect();
    let table = media_types.unwrap_or_default();
    let mut parts = table.split('\0');
    let mut types = HashMap::new();
    while let (Some(ext), Some(media)) = (parts.next(), parts.next()) {
        types.insert(ext.to_ascii_lowercase(), media.to_string());
    }
    Statics {
        mounts,
        media_types: Arc::new(types),
    }
}

impl From<ServerOptions> for Config {
    fn from(o: ServerOptions) -> Config {
        let d = Config::default();
        let bind = match o.uds {
            _ if o.memory == Some(true) => Bind::Memory,
            Some(path) => Bind::Unix(path.into()),
            None => Bind::Tcp {
                host: o.host.unwrap_or_else(|| "127.0.0.1".into()),
                port: o.port.unwrap_or(8000).min(u16::MAX as u32) as u16,
            },
        };
        Config {
            bind,
            backlog: o.backlog.unwrap_or(d.backlog),
            reuse_port: o.reuse_port.unwrap_or(d.reuse_port),
            keep_alive_timeout: seconds(o.timeout_keep_alive, d.keep_alive_timeout),
            header_read_timeout: seconds(o.timeout_header_read, d.header_read_timeout),
            max_header_size: o.max_header_size.map_or(d.max_header_size, |v| v as usize),
            max_header_count: o
                .max_header_count
                .filter(|v| *v > 0)
                .map_or(d.max_header_count, |v| v as usize),
            max_body_size: o.max_body_size.filter(|v| *v >= 0.0).map(|v| v as u64),
            limit_concurrency: o.limit_concurrency.map(|v| v as usize),
            inline_body_limit: o
                .inline_body_limit
                .map_or(d.inline_body_limit, |v| v as usize),
            access_log: o.access_log.unwrap_or(d.access_log),
            log_colors: o.log_colors.unwrap_or(d.log_colors),
            server_header: match o.server_header {
                Some(s) if s.is_empty() => None,
                Some(s) => Some(s),
                None => d.server_header,
            },
            scheme: d.scheme,
            ws_max_size: o
                .ws_max_size
                .filter(|v| *v > 0.0)
                .map_or(d.ws_max_size, |v| v as usize),
            ws_ping_interval: optional_seconds(o.ws_ping_interval, d.ws_ping_interval),
            ws_ping_timeout: optional_seconds(o.ws_ping_timeout, d.ws_ping_timeout),
            ws_per_message_deflate: o.ws_per_message_deflate.unwrap_or(d.ws_per_message_deflate),
            statics: statics(o.static_mounts, o.media_types),
            tls: o
                .ssl_cert_file
                .zip(o.ssl_key_file)
                .map(|(cert, key)| TlsFiles {
                    cert_file: cert.into(),
                    key_file: key.into(),
                }),
        }
    }
}
