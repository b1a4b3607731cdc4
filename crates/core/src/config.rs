//! Server configuration with documented defaults.
use std::path::PathBuf;
use std::time::Duration;

use crate::statics::Statics;
use crate::tls::TlsFiles;

/// Where the server listens.
#[derive(Clone, Debug)]
pub enum Bind {
    /// A TCP host and port; port 0 asks the OS for an ephemeral port.
    Tcp {
        /// Host name or IP literal (`127.0.0.1`, `::1`, `0.0.0.0`, `localhost`).
        host: String,
        /// Port, 0 for ephemeral.
        port: u16,
    },
    /// A Unix domain socket path (removed first if a stale socket file is there).
    Unix(PathBuf),
    /// No listener: connections come only through [`crate::Server::connect_memory`].
    Memory,
}

/// Everything the core needs to serve; `Config::default()` gives uvicorn-like defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen.
    pub bind: Bind,
    /// Listen backlog (default 2048, as uvicorn).
    pub backlog: u32,
    /// Set SO_REUSEPORT so several processes can share the port (default true on TCP).
    pub reuse_port: bool,
    /// Close idle keep-alive connections after this long (default 5 s).
    pub keep_alive_timeout: Duration,
    /// Bound on receiving a whole request head: slowloris protection (default 30 s).
    pub header_read_timeout: Duration,
    /// Largest request head in bytes before 431 (default 64 KiB).
    pub max_header_size: usize,
    /// Most header lines in an HTTP/1.1 request head before 431 (default 2000, as Node's). The
    /// size bound does the real limiting; this only keeps a head of empty lines from counting free.
    pub max_header_count: usize,
    /// Largest request body in bytes before 413 (default: no limit).
    pub max_body_size: Option<u64>,
    /// Requests allowed in flight at once; the next gets 503 (default: no limit).
    pub limit_concurrency: Option<usize>,
    /// Bodies up to this size are read before the request is handed over (default 64 KiB).
    pub inline_body_limit: usize,
    /// Whether to write an access log line per request (default true).
    pub access_log: bool,
    /// Colour the access log as uvicorn does on a terminal: level, request line, status (default false).
    pub log_colors: bool,
    /// The value of the `server` header added when the app sets none (`None` to add nothing).
    pub server_header: Option<String>,
    /// The scheme reported for requests (`http`, or `https` behind TLS).
    pub scheme: &'static str,
    /// Largest WebSocket message in bytes; bigger ones close the socket with 1009 (default 16 MiB).
    pub ws_max_size: usize,
    /// Send a ping this often on idle WebSockets (default 20 s; `None` for never).
    pub ws_ping_interval: Option<Duration>,
    /// Close a WebSocket whose pong is this late, with 1011 (default 20 s).
    pub ws_ping_timeout: Option<Duration>,
    /// Negotiate permessage-deflate with clients that offer it (default true).
    pub ws_per_message_deflate: bool,
    /// Static file trees the core answers without the app (empty by default).
    pub statics: Statics,
    /// Terminate TLS on TCP listeners with these files (default: plain HTTP).
    pub tls: Option<TlsFiles>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: Bind::Tcp {
                host: "127.0.0.1".into(),
                port: 8000,
            },
            backlog: 2048,
            // Off: a second server on a taken port must fail, not silently take half its connections.
            reuse_port: false,
            keep_alive_timeout: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(30),
            max_header_size: 64 * 1024,
            max_header_count: 2000,
            max_body_size: None,
            limit_concurrency: None,
            inline_body_limit: 64 * 1024,
            access_log: true,
            log_colors: false,
            server_header: Some("starling".into()),
            scheme: "http",
            ws_max_size: 16 * 1024 * 1024,
            ws_ping_interval: Some(Duration::from_secs(20)),
            ws_ping_timeout: Some(Duration::from_secs(20)),
            ws_per_message_deflate: true,
            statics: Statics::default(),
            tls: None,
        }
    }
}
