//! The tokio runtime that owns all I/O, shared by every server in the process.
use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The I/O runtime, built on first use with `STARLING_IO_THREADS` or `cpus - 1` (1..=8) workers:
/// the remaining core belongs to the JS thread.
pub fn get() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        let threads = std::env::var("STARLING_IO_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or_else(|| {
                let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
                cpus.saturating_sub(1).clamp(1, 8)
            });
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("starling-io")
            .enable_all()
            .build()
            .expect("cannot start the tokio runtime")
    })
}
