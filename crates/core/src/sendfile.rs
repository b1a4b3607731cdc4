//! Zero-copy file bodies: on Linux, a file body on a plain TCP or Unix-socket HTTP/1.1 connection
//! goes from the page cache to the socket with `sendfile`, never through user space, as nginx sends
//! it. Read and written instead, a 100 KiB file costs two copies and a zeroed buffer per request.
//!
//! hyper writes what a body yields and cannot be handed a file, so such a body yields stand-ins: a
//! chunk's length of one shared, never-written [`region`], each stand-in owned by a [`Placeholder`]
//! that stands for a [`Span`] of the file queued on the connection's [`FileSpans`]. hyper's vectored
//! write strategy (the one it picks for [`crate::cork::Corked`]) queues a body's bytes as they are
//! and hands them to the stream, which knows the region by its address and sends the front span's
//! bytes with `sendfile` in its place. A stand-in that reaches the stream other than as the front
//! span's unsent rest fails the connection: zeros never reach a client.
//!
//! Only HTTP/1.1 on plain sockets gets stand-ins (`connection::finish` decides): TLS, HTTP/2 and
//! compression read the bytes they are given.
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::sync::{Arc, OnceLock};
use std::task::Poll;

/// The longest stand-in: one `sendfile` call sends at most this much (nginx's `sendfile_max_chunk`
/// default), so a socket with room takes a big file in few calls.
pub(crate) const REGION_LEN: usize = 2 * 1024 * 1024;

/// The memory every stand-in points into: allocated zeroed at the first stand-in and never written
/// (an allocation this big is mapped fresh, so its pages usually stay unbacked); nothing reads it
/// either, as the module note explains.
static REGION: OnceLock<&'static [u8]> = OnceLock::new();

fn region() -> &'static [u8] {
    REGION.get_or_init(|| Box::leak(vec![0u8; REGION_LEN].into_boxed_slice()))
}

/// Where `buf` starts inside the stand-in region, if it lies there (never, before a first stand-in).
pub(crate) fn region_offset(buf: &[u8]) -> Option<usize> {
    let start = REGION.get()?.as_ptr() as usize;
    let at = (buf.as_ptr() as usize).checked_sub(start)?;
    (at < REGION_LEN && !buf.is_empty()).then_some(at)
}

/// A stretch of a file that a stand-in stands for.
struct Span {
    id: u64,
    file: Arc<File>,
    offset: u64,
    len: usize,
    sent: usize,
}

#[derive(Default)]
struct Queue {
    spans: VecDeque<Span>,
    next_id: u64,
}

/// One connection's file spans, in the order their stand-ins were yielded (the order hyper writes
/// them in).
#[derive(Default)]
pub(crate) struct FileSpans {
    queue: Mutex<Queue>,
}

/// Owns a stand-in's bytes; dropped unsent (a HEAD answer, a connection torn down), it takes its
/// span off the queue, so the queue holds exactly the stand-ins hyper still means to write.
struct Placeholder {
    spans: Arc<FileSpans>,
    id: u64,
    len: usize,
}

impl AsRef<[u8]> for Placeholder {
    fn as_ref(&self) -> &[u8] {
        &region()[..self.len]
    }
}

impl Drop for Placeholder {
    fn drop(&mut self) {
        let mut queue = self.spans.queue.lock();
        if let Some(i) = queue.spans.iter().position(|s| s.id == self.id) {
            queue.spans.remove(i);
        }
    }
}

impl FileSpans {
    /// The stand-in for `len` bytes (at most [`REGION_LEN`]) of `file` at `offset`.
    pub(crate) fn stand_in(self: &Arc<Self>, file: &Arc<File>, offset: u64, len: usize) -> Bytes {
        debug_assert!(len > 0 && len <= REGION_LEN);
        let mut queue = self.queue.lock();
        let id = queue.next_id;
        queue.next_id += 1;
        queue.spans.push_back(Span {
            id,
            file: file.clone(),
            offset,
            len,
            sent: 0,
        });
        drop(queue);
        Bytes::from_owner(Placeholder {
            spans: self.clone(),
            id,
            len,
        })
    }

    /// Sends what the stand-in slice at `at` with `len` bytes stands for through `send(file,
    /// offset, len)`, which reports how much went. An error if the slice is not the front span's
    /// unsent rest: hyper hands a queued chunk over whole, less what it already wrote.
    pub(crate) fn send_front(
        &self,
        at: usize,
        len: usize,
        send: impl FnOnce(&File, u64, usize) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        let (file, offset) = {
            let queue = self.queue.lock();
            match queue.spans.front() {
                Some(span) if span.sent == at && at + len == span.len => {
                    (span.file.clone(), span.offset + at as u64)
                }
                _ => return Poll::Ready(Err(io::Error::other("file body written out of order"))),
            }
        };
        let sent = std::task::ready!(send(&file, offset, len))?;
        if sent == 0 {
            return Poll::Ready(Err(crate::body::file_shrank()));
        }
        let mut queue = self.queue.lock();
        if let Some(span) = queue.spans.front_mut() {
            span.sent += sent;
            if span.sent == span.len {
                queue.spans.pop_front();
            }
        }
        Poll::Ready(Ok(sent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans_over(len: usize) -> (Arc<FileSpans>, Arc<File>) {
        let name = format!("starling-spans-{}-{len}", std::process::id());
        let path = std::env::temp_dir().join(name);
        std::fs::write(&path, vec![7u8; len]).unwrap();
        let file = Arc::new(File::open(&path).unwrap());
        std::fs::remove_file(path).unwrap();
        (Arc::default(), file)
    }

    #[test]
    fn a_stand_in_points_into_the_region_and_sends_its_span_in_order() {
        let (spans, file) = spans_over(100);
        let first = spans.stand_in(&file, 0, 60);
        let second = spans.stand_in(&file, 60, 40);
        assert_eq!(region_offset(&first), Some(0));
        assert_eq!(region_offset(b"elsewhere"), None);
        // The second cannot go before the first, nor the first in part.
        let early = spans.send_front(0, 40, |_, _, _| unreachable!());
        assert!(matches!(early, Poll::Ready(Err(_))));
        let early = spans.send_front(10, 50, |_, _, _| unreachable!());
        assert!(matches!(early, Poll::Ready(Err(_))));
        let mut asked = vec![];
        let mut send = |at, len| {
            spans.send_front(at, len, |_, offset, len| {
                asked.push((offset, len));
                Poll::Ready(Ok(len.min(25)))
            })
        };
        assert!(matches!(send(0, 60), Poll::Ready(Ok(25))));
        assert!(matches!(send(25, 35), Poll::Ready(Ok(25))));
        assert!(matches!(send(50, 10), Poll::Ready(Ok(10))));
        assert!(matches!(send(0, 40), Poll::Ready(Ok(25))));
        assert_eq!(asked, [(0, 60), (25, 35), (50, 10), (60, 40)]);
        drop((first, second));
        assert!(spans.queue.lock().spans.is_empty());
    }

    #[test]
    fn a_dropped_stand_in_leaves_the_queue_and_a_short_file_fails() {
        let (spans, file) = spans_over(10);
        let unsent = spans.stand_in(&file, 0, 10);
        let next = spans.stand_in(&file, 0, 10);
        drop(unsent);
        let short = spans.send_front(0, 10, |_, _, _| Poll::Ready(Ok(0)));
        assert!(matches!(short, Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof));
        drop(next);
        assert!(spans.queue.lock().spans.is_empty());
    }
}
