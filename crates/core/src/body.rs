//! Response bodies: whole, streamed from the application, or read from a file by the core.
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

use crate::compress::Encoder;
use crate::exchange::StreamShared;

/// One item of a streamed body: bytes, or an order to abort the response mid-way.
#[derive(Debug)]
pub(crate) enum Chunk {
    Data(Bytes),
    Abort,
}

/// The body of a response the core writes.
pub struct ResponseBody {
    kind: Kind,
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
        file: std::fs::File,
        remaining: u64,
    },
    Compressed {
        inner: Box<ResponseBody>,
        encoder: Option<Encoder>,
    },
}

const FILE_CHUNK: usize = 256 * 1024;
/// Files up to this size are read in one go when the response is built.
const WHOLE_FILE: usize = 64 * 1024;

impl ResponseBody {
    /// A body that is all there at once (possibly empty).
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        ResponseBody {
            kind: Kind::Full((!bytes.is_empty()).then_some(bytes)),
        }
    }

    /// An empty body.
    pub fn empty() -> Self {
        ResponseBody {
            kind: Kind::Full(None),
        }
    }

    pub(crate) fn stream(rx: mpsc::UnboundedReceiver<Chunk>, shared: Arc<StreamShared>) -> Self {
        ResponseBody {
            kind: Kind::Stream {
                rx,
                shared,
                finished: false,
                aborting: false,
            },
        }
    }

    /// The whole body when it is all there; the body itself otherwise.
    // Called once per compressed response and moved straight on: boxing would only add an allocation.
    #[allow(clippy::result_large_err)]
    pub(crate) fn into_full(mut self) -> Result<Bytes, ResponseBody> {
        match &mut self.kind {
            Kind::Full(bytes) => Ok(bytes.take().unwrap_or_default()),
            _ => Err(self),
        }
    }

    /// This body passed through `encoder`, chunk by chunk.
    pub(crate) fn compressed(self, encoder: Encoder) -> ResponseBody {
        ResponseBody {
            kind: Kind::Compressed {
                inner: Box::new(self),
                encoder: Some(encoder),
            },
        }
    }

    /// A file body of `len` bytes. Small files are read whole at once; larger ones chunk by chunk.
    ///
    /// Reads are plain blocking reads on the tokio worker, as nginx does without aio: a page-cache
    /// read costs microseconds, far less than a hop to a blocking-pool thread per chunk.
    pub(crate) fn file(mut file: std::fs::File, len: u64) -> std::io::Result<Self> {
        if len <= WHOLE_FILE as u64 {
            let mut bytes = bytes::BytesMut::zeroed(len as usize);
            std::io::Read::read_exact(&mut file, &mut bytes)?;
            return Ok(ResponseBody::full(bytes.freeze()));
        }
        Ok(ResponseBody {
            kind: Kind::File {
                file,
                remaining: len,
            },
        })
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
            Kind::File { file, remaining } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                let want = (*remaining).min(FILE_CHUNK as u64) as usize;
                let mut chunk = bytes::BytesMut::zeroed(want);
                match std::io::Read::read(file, &mut chunk) {
                    // The file shrank after its length was announced: abort rather than send a
                    // short body the client would wait on.
                    Ok(0) => {
                        *remaining = 0;
                        Poll::Ready(Some(Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "file shorter than announced",
                        ))))
                    }
                    Ok(n) => {
                        *remaining -= n as u64;
                        chunk.truncate(n);
                        Poll::Ready(Some(Ok(Frame::data(chunk.freeze()))))
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
