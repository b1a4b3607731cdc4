//! The napi-rs binding of the Starling core: glue only.
//!
//! The core runs on the JS thread, driven by Node's libuv loop ([`driver`]).
//! Rust → JS: one queue per server ([`lane`]), delivered in one JS call per pass of a tick.
//! JS → Rust: synchronous methods on [`NativeServer`] that complete the core's exchanges by id.
#![deny(clippy::all)]

mod alloc;
mod answers;
mod driver;
mod encode;
mod fast_calls;
mod header_lists;
mod lane;
mod options;
mod paths;
mod server;
mod strings;
mod uv;
mod wire;

pub use header_lists::register_header_list;
pub use server::NativeServer;

/// The core allocates and frees small blocks per request (futures, header maps, buffers); mimalloc's
/// thread-local free lists serve that pattern in a fraction of glibc malloc's time.
#[global_allocator]
static ALLOCATOR: alloc::Allocator = alloc::Allocator;
