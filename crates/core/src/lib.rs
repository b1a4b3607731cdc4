//! Starling's HTTP server core: hyper 1.x on tokio, with no knowledge of Node.
//!
//! The core owns sockets, HTTP parsing, keep-alive, limits and timeouts. It hands each request to an
//! [`EventSink`] as an [`Event`] and takes the answer back through the [`Exchanges`] registry by id,
//! so a binding (N-API, or a test) only has to move events one way and calls the other.
#![deny(missing_docs)]

mod blocking;
mod body;
mod compress;
mod config;
mod connection;
mod cork;
mod event;
mod exchange;
mod headers;
mod listener;
mod log;
mod on_wake;
mod sendfile;
mod server;
mod socket;
mod statics;
mod task;
#[cfg(test)]
mod test_rng;
mod tls;
mod watermark;
mod websocket;
mod ws_guard;
mod ws_mailbox;

pub use body::ResponseBody;
pub use config::{Bind, Config};
pub use cork::{cork_writes, flush_corked, flush_settled};
pub use event::{ConnInfo, Event, EventSink, RequestHead};
pub use exchange::{Exchanges, WriteOutcome};
pub use headers::HeaderBlock;
pub use server::Server;
pub use statics::{StaticMount, Statics};
pub use task::{activity, spawn, Counted, Executor};
pub use tls::TlsFiles;
