//! Response bodies: whole, streamed from the application, or read from a file by the core.
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

use crate::blocking;
use crate::compress::Encoder;
use crate::exchange::StreamShared;
use crate::sendfile::{FileSpans, REGION_LEN};

/// One item of a streamed body: bytes, or an order to abort the response mid-way.
#[derive(Debug)]
pub(crate) enum Chunk {
    Data(Bytes),
    Abort,
}

/// The body of a response the core writes.
pub struct ResponseBody {
    kind: Kind,
    /// Told when the body is done with: written whole, or dropped unfinished.
    release: Option<Arc<dyn Release>>,
}

/// What must learn that a response is over (its connection's activity, for the idle timer).
pub(crate) trait Release: Send + Sync {
    fn release(&self);
}

enum Kind {
    Full(Option<Bytes>),
    Stream {
        rx: mpsc::UnboundedReceiver<Chunk>,
        shared: Arc<StreamShared>,
        finished: bool,
        aborting: bool,
    },
    File {
        file: Arc<std::fs::File>,
        offset: u64,
        remaining: u64,
        /// A read the page cache could not answer, running on the blocking pool.
        reading: Option<tokio::task::JoinHandle<io::Result<Bytes>>>,
        /// Where cached chunks go as stand-ins for `sendfile`, on a connection that can (see
        /// `sendfile.rs`); read and yielded as bytes otherwise.
        spans: Option<Arc<FileSpans>>,
    },
    Compressed {
        inner: Box<ResponseBody>,
        encoder: Option<Encoder>,
    },
}

/// A read of a file body: 256 KiB, a buffer each (sent with `sendfile`, a chunk is up to 2 MiB).
const FILE_CHUNK: usize = 256 * 1024;
/// Files up to this size are read whole when the response is built: one read, and the head and the
/// body leave in one write. A bigger one goes by `sendfile` where the connection can: at 20, 32 and
/// 64 KiB the two copies cost more than `sendfile`'s extra call (bench/RESULTS.md).
const READ_WHOLE: usize = 16 * 1024;
/// A file body up to this size is compressed whole, with a Content-Length, when the page cache holds
/// it (see `into_full`).
const COMPRESS_WHOLE: usize = 64 * 1024;

impl ResponseBody {
    fn of(kind: Kind) -> Self {
        ResponseBody {
            kind,
            release: None,
        }
    }

    /// Tells `release` when this body is done with (written whole, or dropped unfinished).
    pub(crate) fn on_release(&mut self, release: Arc<dyn Release>) {
        self.release = Some(release);
    }

    /// A body that is all there at once (possibly empty).
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        ResponseBody::of(Kind::Full((!bytes.is_empty()).then_some(bytes)))
    }

    /// An empty body.
    pub fn empty() -> Self {
        ResponseBody::of(Kind::Full(None))
    }

    pub(crate) fn stream(rx: mpsc::UnboundedReceiver<Chunk>, shared: Arc<StreamShared>) -> Self {
        ResponseBody::of(Kind::Stream {
            rx,
            shared,
            finished: false,
            aborting: false,
        })
    }

    /// The whole body when it is all there; the body itself otherwise.
    // Called once per compressed response and moved straight on: boxing would only add an allocation.
    #[allow(clippy::result_large_err)]
    pub(crate) fn into_full(mut self) -> Result<Bytes, ResponseBody> {
        let whole = match &mut self.kind {
            Kind::Full(bytes) => return Ok(bytes.take().unwrap_or_default()),
            Kind::File {
                file,
                offset: 0,
                remaining,
                reading: None,
                ..
            } if *remaining <= COMPRESS_WHOLE as u64 => read_whole(file, *remaining),
            _ => None,
        };
        match whole {
            Some(Ok(bytes)) => Ok(bytes),
            _ => Err(self),
        }
    }

    /// This body passed through `encoder`, chunk by chunk.
    pub(crate) fn compressed(self, encoder: Encoder) -> ResponseBody {
        ResponseBody::of(Kind::Compressed {
            inner: Box::new(self),
            encoder: Some(encoder),
        })
    }

    /// A file body of `len` bytes, read chunk by chunk (see `blocking.rs` for where) or sent with
    /// `sendfile`. A small file the page cache holds is read whole at once.
    pub(crate) fn file(file: std::fs::File, len: u64) -> std::io::Result<Self> {
        if len <= READ_WHOLE as u64 {
            if let Some(bytes) = read_whole(&file, len).transpose()? {
                return Ok(ResponseBody::full(bytes));
            }
        }
        Ok(ResponseBody::of(Kind::File {
            file: Arc::new(file),
            offset: 0,
            remaining: len,
            reading: None,
            spans: None,
        }))
    }

    /// Lets a file body send its cached chunks through `spans`, a plain HTTP/1.1 socket's (see
    /// `sendfile.rs`). Any other body is left as it is: a compressed file is read and compressed.
    pub(crate) fn send_file_through(&mut self, spans: &Arc<FileSpans>) {
        if let Kind::File { spans: slot, .. } = &mut self.kind {
            *slot = Some(spans.clone());
        }
    }
}

/// A file that ended before the length its response announced: the body fails, so that the
/// connection is cut rather than left with a client waiting for bytes that will never come.
pub(crate) fn file_shrank() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "file shorter than announced")
}

/// All `len` bytes of `file` if the page cache holds them; `None` if it does not (or the file is
/// shorter now), so the caller reads it the slow way.
fn read_whole(file: &std::fs::File, len: u64) -> Option<io::Result<Bytes>> {
    match blocking::read_cached(file, 0, len as usize)? {
        Ok(bytes) if bytes.len() as u64 == len => Some(Ok(bytes)),
        Ok(_) => None,
        Err(e) => Some(Err(e)),
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Compressed { inner, encoder } => loop {
                let Some(enc) = encoder.as_mut() else {
                    return Poll::Ready(None);
                };
                match Pin::new(inner.as_mut()).poll_frame(cx) {
                    Poll::Ready(Some(Ok(frame))) => {
                        let Ok(data) = frame.into_data() else {
                            continue;
                        };
                        match enc.chunk(&data) {
                            Ok(out) if out.is_empty() => continue,
                            Ok(out) => return Poll::Ready(Some(Ok(Frame::data(out)))),
                            Err(e) => return Poll::Ready(Some(Err(e))),
                        }
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                    Poll::Ready(None) => {
                        let last = encoder.take().map(Encoder::finish);
                        return match last {
                            Some(Ok(out)) if !out.is_empty() => {
                                Poll::Ready(Some(Ok(Frame::data(out))))
                            }
                            Some(Err(e)) => Poll::Ready(Some(Err(e))),
                            _ => Poll::Ready(None),
                        };
                    }
                    Poll::Pending => return Poll::Pending,
                }
            },
            Kind::Stream {
                finished,
                aborting: true,
                ..
            } => {
                *finished = true;
                Poll::Ready(Some(Err(io::Error::other(
                    "response aborted by the application",
                ))))
            }
            Kind::Stream {
                rx,
                shared,
                finished,
                aborting,
            } => match rx.poll_recv(cx) {
                Poll::Ready(Some(Chunk::Data(bytes))) => {
                    shared.consumed(bytes.len());
                    Poll::Ready(Some(Ok(Frame::data(bytes))))
                }
                Poll::Ready(Some(Chunk::Abort)) => {
                    // Yield once so hyper flushes the head and chunks already written (the client
                    // sees the partial response), then fail on the next poll to cut the connection.
                    *aborting = true;
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Poll::Ready(None) => {
                    *finished = true;
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            },
            Kind::File {
                file,
                offset,
                remaining,
                reading,
                spans,
            } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                if let Some(spans) = spans.as_ref().filter(|_| reading.is_none()) {
                    let len = (*remaining).min(REGION_LEN as u64) as usize;
                    if blocking::cached(file, *offset, len, FILE_CHUNK) {
                        let stand_in = spans.stand_in(file, *offset, len);
                        *remaining -= len as u64;
                        *offset += len as u64;
                        return Poll::Ready(Some(Ok(Frame::data(stand_in))));
                    }
                }
                let want = (*remaining).min(FILE_CHUNK as u64) as usize;
                let read = loop {
                    if let Some(job) = reading.as_mut() {
                        let Poll::Ready(done) = Pin::new(job).poll(cx) else {
                            return Poll::Pending;
                        };
                        *reading = None;
                        break done.unwrap_or_else(|e| Err(io::Error::other(e)));
                    }
                    match blocking::read_cached(file, *offset, want) {
                        Some(read) => break read,
                        None => *reading = Some(blocking::read_on_pool(file, *offset, want)),
                    }
                };
                match read {
                    // The file shrank after its length was announced: abort rather than send a
                    // short body the client would wait on.
                    Ok(chunk) if chunk.is_empty() => {
                        *remaining = 0;
                        Poll::Ready(Some(Err(file_shrank())))
                    }
                    Ok(chunk) => {
                        let n = (chunk.len() as u64).min(*remaining);
                        *remaining -= n;
                        *offset += n;
                        Poll::Ready(Some(Ok(Frame::data(chunk))))
                    }
                    Err(e) => Poll::Ready(Some(Err(e))),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Stream { finished, .. } => *finished,
            Kind::File { remaining, .. } => *remaining == 0,
            Kind::Compressed { encoder, .. } => encoder.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream { .. } => SizeHint::default(),
            Kind::File { remaining, .. } => SizeHint::with_exact(*remaining),
            Kind::Compressed { .. } => SizeHint::default(),
        }
    }
}

impl Drop for ResponseBody {
    fn drop(&mut self) {
        if let Some(release) = self.release.take() {
            release.release();
        }
        if let Kind::Stream {
            shared, finished, ..
        } = &self.kind
        {
            if !*finished {
                // hyper drops the body when the client goes away mid-response.
                shared.body_dropped();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn file_of(len: usize) -> (std::path::PathBuf, Vec<u8>) {
        let path = std::env::temp_dir().join(format!("starling-body-{len}-{}", std::process::id()));
        let content: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        (path, content)
    }

    async fn read_all(body: ResponseBody) -> Vec<u8> {
        body.collect().await.unwrap().to_bytes().to_vec()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_file_body_reads_every_byte_in_chunks() {
        let (path, content) = file_of(3 * FILE_CHUNK + 17);
        let file = std::fs::File::open(&path).unwrap();
        let body = ResponseBody::file(file, content.len() as u64).unwrap();
        assert_eq!(read_all(body).await, content);
        std::fs::remove_file(path).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "current_thread")]
    async fn a_file_the_page_cache_dropped_is_read_on_the_pool() {
        let (path, content) = file_of(2 * FILE_CHUNK);
        let file = std::fs::File::open(&path).unwrap();
        file.sync_all().unwrap();
        rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
        let cached = blocking::read_cached(&file, 0, 4096);
        let body = ResponseBody::file(file, content.len() as u64).unwrap();
        assert_eq!(read_all(body).await, content);
        // Where the kernel did drop the pages, the fast path declined (and the pool read them).
        if let Some(read) = cached {
            assert_eq!(read.unwrap().len(), 4096);
        }
        std::fs::remove_file(path).unwrap();
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_mid_sized_file_stays_a_file_yet_compresses_whole() {
        let (path, content) = file_of(40 * 1024);
        let file = std::fs::File::open(&path).unwrap();
        let body = ResponseBody::file(file, content.len() as u64).unwrap();
        assert!(matches!(body.kind, Kind::File { .. }));
        let whole = body.into_full().ok().unwrap();
        assert_eq!(&whole[..], &content[..]);
        std::fs::remove_file(path).unwrap();
    }

    #[tokio::test]
    async fn a_small_file_is_read_whole_when_cached() {
        let (path, content) = file_of(1000);
        let file = std::fs::File::open(&path).unwrap();
        let body = ResponseBody::file(file, 1000).unwrap();
        assert!(matches!(body.kind, Kind::Full(_)));
        assert_eq!(read_all(body).await, content);
        std::fs::remove_file(path).unwrap();
    }
}
