//! The rule for work that could stall the thread the connections live on: it runs inline while it
//! is certainly short, and on tokio's blocking pool otherwise.
//!
//! - File reads: served inline when the page cache has the bytes (`preadv2(RWF_NOWAIT)` says so
//!   without waiting); a read that would go to the disk goes to the pool. Platforms without that
//!   call read inline, as nginx does without aio. A chunk sent with `sendfile` (see `sendfile.rs`)
//!   is checked by one-byte reads of the same kind, every 256 KiB and at its last byte: the page
//!   cache evicts in runs, so a chunk whose probes hit and whose pages between them are gone is
//!   rare, and that one `sendfile` then waits for the disk, as nginx's does.
//! - Compression of a whole body: inline up to [`INLINE_COMPRESS`] bytes (tens of microseconds),
//!   on the pool above it (a megabyte of JSON at gzip level 6 is several milliseconds).
use bytes::{Bytes, BytesMut};
use std::fs::File;
use std::io;
use std::sync::Arc;

/// Whole bodies up to this size are compressed inline.
pub(crate) const INLINE_COMPRESS: usize = 32 * 1024;

/// Runs `work` on the blocking pool and waits for it without blocking this thread.
pub(crate) async fn offload<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
}

/// Reads up to `len` bytes at `offset` if the page cache holds them; `None` if it would block.
#[cfg(target_os = "linux")]
pub(crate) fn read_cached(file: &File, offset: u64, len: usize) -> Option<io::Result<Bytes>> {
    use rustix::io::{preadv2, Errno, ReadWriteFlags};
    let mut buf = BytesMut::zeroed(len);
    let read = preadv2(
        file,
        &mut [io::IoSliceMut::new(&mut buf)],
        offset,
        ReadWriteFlags::NOWAIT,
    );
    match read {
        Ok(n) => {
            buf.truncate(n);
            Some(Ok(buf.freeze()))
        }
        // Not cached, or a file system that cannot tell: let the pool read it.
        Err(Errno::AGAIN | Errno::OPNOTSUPP | Errno::NOSYS) => None,
        Err(e) => Some(Err(e.into())),
    }
}

/// Whether the page cache holds a byte every `step` bytes of the `len` at `offset`, and the last.
#[cfg(target_os = "linux")]
pub(crate) fn cached(file: &File, offset: u64, len: usize, step: usize) -> bool {
    use rustix::io::{preadv2, ReadWriteFlags};
    let mut byte = [0u8; 1];
    let mut cached = |at: u64| {
        let slices = &mut [io::IoSliceMut::new(&mut byte)];
        matches!(preadv2(file, slices, at, ReadWriteFlags::NOWAIT), Ok(1))
    };
    let last = offset + len as u64 - 1;
    len > 0 && (offset..last).step_by(step).all(&mut cached) && cached(last)
}

/// No `sendfile` stand-ins elsewhere, so nothing to check.
#[cfg(not(target_os = "linux"))]
pub(crate) fn cached(_file: &File, _offset: u64, _len: usize, _step: usize) -> bool {
    false
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn read_cached(file: &File, offset: u64, len: usize) -> Option<io::Result<Bytes>> {
    Some(read_at(file, offset, len))
}

/// A plain positioned read, for the pool.
pub(crate) fn read_at(file: &File, offset: u64, len: usize) -> io::Result<Bytes> {
    let mut buf = BytesMut::zeroed(len);
    #[cfg(unix)]
    let n = std::os::unix::fs::FileExt::read_at(file, &mut buf, offset)?;
    #[cfg(windows)]
    let n = std::os::windows::fs::FileExt::seek_read(file, &mut buf, offset)?;
    buf.truncate(n);
    Ok(buf.freeze())
}

/// A pool read of `len` bytes at `offset`.
pub(crate) fn read_on_pool(
    file: &Arc<File>,
    offset: u64,
    len: usize,
) -> tokio::task::JoinHandle<io::Result<Bytes>> {
    let file = file.clone();
    tokio::task::spawn_blocking(move || read_at(&file, offset, len))
}
