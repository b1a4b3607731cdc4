//! Flow control between the application and a connection, one type for streamed responses and
//! WebSockets alike: the app's writes add bytes, the connection's progress takes them away, and the
//! app is told to wait above a high-water mark and to resume (a `Drain` event) below a low one.
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::event::{Event, EventSink};
use crate::exchange::WriteOutcome;

/// The app pauses above this many buffered bytes...
const HIGH_WATER: usize = 256 * 1024;
/// ...and resumes below this many.
const LOW_WATER: usize = 64 * 1024;

/// Buffered bytes of one exchange, and whether its app waits for a drain.
pub(crate) struct Watermark {
    id: u32,
    buffered: AtomicUsize,
    want_drain: AtomicBool,
}

impl Watermark {
    pub(crate) fn new(id: u32) -> Watermark {
        Watermark {
            id,
            buffered: AtomicUsize::new(0),
            want_drain: AtomicBool::new(false),
        }
    }

    /// The app handed over `n` more bytes (already queued): may it write more?
    pub(crate) fn added(&self, n: usize) -> WriteOutcome {
        let total = self.buffered.fetch_add(n, Ordering::AcqRel) + n;
        if total < HIGH_WATER {
            return WriteOutcome::Ready;
        }
        self.want_drain.store(true, Ordering::Release);
        // The connection may have drained between the add and the store; whoever clears the flag
        // first owns the wake-up, so exactly one of "Ready" or a Drain event happens.
        if self.buffered.load(Ordering::Acquire) < LOW_WATER
            && self.want_drain.swap(false, Ordering::AcqRel)
        {
            return WriteOutcome::Ready;
        }
        WriteOutcome::Full
    }

    /// Bytes queued without asking (a last chunk): counted, never paused on.
    pub(crate) fn add_silently(&self, n: usize) {
        self.buffered.fetch_add(n, Ordering::AcqRel);
    }

    /// The connection took `n` bytes; below the low-water mark a waiting app hears `Drain`.
    pub(crate) fn taken(&self, n: usize, sink: &dyn EventSink) {
        let left = self.buffered.fetch_sub(n, Ordering::AcqRel) - n;
        if left < LOW_WATER && self.want_drain.swap(false, Ordering::AcqRel) {
            sink.push(Event::Drain { id: self.id });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    #[derive(Default)]
    struct Drains(Mutex<Vec<u32>>);
    impl EventSink for Drains {
        fn push(&self, event: Event) {
            if let Event::Drain { id } = event {
                self.0.lock().push(id);
            }
        }
    }

    #[test]
    fn pauses_above_the_high_mark_and_drains_once_below_the_low_one() {
        let sink = Drains::default();
        let mark = Watermark::new(7);
        assert_eq!(mark.added(HIGH_WATER - 1), WriteOutcome::Ready);
        assert_eq!(mark.added(1), WriteOutcome::Full);
        mark.taken(HIGH_WATER - LOW_WATER, &sink);
        assert!(sink.0.lock().is_empty(), "still at the low-water mark");
        mark.taken(1, &sink);
        mark.taken(1, &sink);
        assert_eq!(*sink.0.lock(), vec![7], "one drain for one pause");
    }

    #[test]
    fn a_silent_add_never_pauses_but_is_counted() {
        let sink = Drains::default();
        let mark = Watermark::new(1);
        mark.add_silently(HIGH_WATER * 2);
        assert_eq!(mark.added(1), WriteOutcome::Full);
        mark.taken(HIGH_WATER * 2 + 1, &sink);
        assert_eq!(*sink.0.lock(), vec![1]);
    }
}
