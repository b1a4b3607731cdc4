//! The napi-rs binding of the Starling core: glue only.
//!
//! Rust → JS: one queue and one doorbell per server ([`lane`]), drained into one JS call per batch.
//! JS → Rust: synchronous methods on [`NativeServer`] that complete the core's exchanges by id.
#![deny(clippy::all)]

mod encode;
mod lane;
mod latin1;
mod options;
mod runtime;
mod server;

pub use server::NativeServer;
