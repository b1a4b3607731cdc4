//! One queue and one doorbell: events from tokio threads wake the JS thread once per batch.
use crossbeam_queue::SegQueue;
use napi::bindgen_prelude::Unknown;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use parking_lot::Mutex;
use starling_core::{Event, EventSink};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::encode::{Batch, Encoder};

/// What the binding tells JS: the core's events, plus its own.
// `Closed` happens once per server; boxing `Core` would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub enum LaneEvent {
    Core(Event),
    /// `close()` finished.
    Closed,
    /// Bytes the core wrote to an in-memory connection.
    MemData {
        conn: u32,
        data: bytes::Bytes,
    },
    /// The core closed an in-memory connection.
    MemEnd {
        conn: u32,
    },
}

/// The JS callback as a threadsafe function; its own callback drains the queue. It is weak (never
/// holds the event loop open): the JS side keeps the process alive while it has reason to (a listener,
/// or open in-memory connections), so a forgotten in-memory server cannot hang a test run.
pub type Doorbell = ThreadsafeFunction<(), Unknown<'static>, Batch, napi::Status, false, true>;

/// The queue between tokio and the JS thread.
///
/// The doorbell is a threadsafe function. It rings under Node's own mutex, which the JS thread then
/// waits on when the ringing thread is preempted mid-call (half of the JS thread's sleeps under load
/// on one core); a socket pair read by a `net.Socket` avoided that but cost more JS time per batch
/// (bench/RESULTS.md), so the threadsafe function stays.
pub struct Lane {
    pub queue: SegQueue<LaneEvent>,
    pub armed: AtomicBool,
    pub doorbell: Mutex<Option<Arc<Doorbell>>>,
}

impl Lane {
    pub fn new() -> Arc<Lane> {
        Arc::new(Lane {
            queue: SegQueue::new(),
            armed: AtomicBool::new(false),
            doorbell: Mutex::new(None),
        })
    }

    /// Disarms the doorbell and encodes up to `max` queued events; if more remain, rings again so
    /// timers and I/O callbacks get a turn between batches.
    pub fn drain(&self, max: usize) -> Encoder {
        self.armed.store(false, Ordering::Release);
        let mut encoder = Encoder::default();
        for _ in 0..max {
            match self.queue.pop() {
                Some(event) => encoder.push(event),
                None => return encoder,
            }
        }
        if !self.queue.is_empty() && !self.armed.swap(true, Ordering::AcqRel) {
            self.ring();
        }
        encoder
    }

    pub fn push(&self, event: LaneEvent) {
        self.queue.push(event);
        // Ring only on the idle → armed edge: while JS has a wake-up pending, it will see this event.
        if !self.armed.swap(true, Ordering::AcqRel) {
            self.ring();
        }
    }

    pub fn ring(&self) {
        let bell = self.doorbell.lock().clone();
        if let Some(bell) = bell {
            bell.call((), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// The core's sink, feeding a lane.
pub struct LaneSink(pub Arc<Lane>);

impl EventSink for LaneSink {
    fn push(&self, event: Event) {
        self.0.push(LaneEvent::Core(event));
    }
}
