//! One server's events on their way to JS: a queue, and the server's `onEvents` callback.
#![allow(unsafe_code)]

use crossbeam_queue::SegQueue;
use napi::bindgen_prelude::ToNapiValue;
use napi::sys;
use parking_lot::Mutex;
use starling_core::{Event, EventSink};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::driver::Ready;
use crate::encode::Encoder;

/// At most this many events per JS call; the rest go in the next pass of the same tick.
const MAX_BATCH: usize = 1024;

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

/// A persistent reference to the JS callback. Only ever touched on the JS thread that made it.
struct Callback(sys::napi_ref);
// SAFETY: the reference is created, used and deleted on its JS thread only (the driver's
// deliveries and the server's JS-called methods all run there); other threads only move it.
unsafe impl Send for Callback {}

pub struct Lane {
    queue: SegQueue<LaneEvent>,
    /// Set while the lane sits in the driver's ready list, so it is listed once.
    armed: AtomicBool,
    callback: Mutex<Option<Callback>>,
    ready: Arc<Ready>,
}

impl Lane {
    /// A lane calling `callback` (a JS function value, referenced here) with each batch.
    pub fn new(
        env: sys::napi_env,
        callback: sys::napi_value,
        ready: Arc<Ready>,
    ) -> napi::Result<Arc<Lane>> {
        let mut reference = std::ptr::null_mut();
        // SAFETY: called from a JS call on this thread with a live function value.
        let status = unsafe { sys::napi_create_reference(env, callback, 1, &mut reference) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason(
                "cannot reference the event callback",
            ));
        }
        Ok(Arc::new(Lane {
            queue: SegQueue::new(),
            armed: AtomicBool::new(false),
            callback: Mutex::new(Some(Callback(reference))),
            ready,
        }))
    }

    pub fn push(self: &Arc<Self>, event: LaneEvent) {
        self.queue.push(event);
        if !self.armed.swap(true, Ordering::AcqRel) {
            self.ready.add(self.clone());
        }
    }

    /// Calls JS with up to `MAX_BATCH` queued events; a lane with more left lists itself again.
    pub fn deliver(self: &Arc<Self>, env: sys::napi_env, context: sys::napi_async_context) {
        self.armed.store(false, Ordering::Release);
        let mut encoder = Encoder::default();
        for _ in 0..MAX_BATCH {
            match self.queue.pop() {
                Some(event) => encoder.push(event),
                None => break,
            }
        }
        if !self.queue.is_empty() && !self.armed.swap(true, Ordering::AcqRel) {
            self.ready.add(self.clone());
        }
        if encoder.is_empty() {
            return;
        }
        // Not held across the call: JS may dispose of the lane from inside it.
        let Some(reference) = self.callback.lock().as_ref().map(|c| c.0) else {
            return;
        };
        // SAFETY: on the JS thread (a libuv callback of its loop), with `env` its live env; every
        // value made here lives in the handle scope opened here.
        unsafe { call(env, context, reference, encoder) };
    }

    /// Drops the JS callback so the function can be collected; later events are discarded.
    pub fn dispose(&self, env: sys::napi_env) {
        if let Some(Callback(reference)) = self.callback.lock().take() {
            // SAFETY: called from JS on the thread that made the reference.
            unsafe { sys::napi_delete_reference(env, reference) };
        }
    }
}

/// `callback(meta, strs, bin)` through `napi_make_callback`, which also runs the microtasks the
/// call queued: promise continuations of the handlers answer within the same tick.
unsafe fn call(
    env: sys::napi_env,
    context: sys::napi_async_context,
    reference: sys::napi_ref,
    encoder: Encoder,
) {
    let mut scope = std::ptr::null_mut();
    unsafe {
        if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
            return;
        }
        let (meta, strs, bin) = encoder.finish();
        let args = (|| -> napi::Result<[sys::napi_value; 3]> {
            Ok([
                ToNapiValue::to_napi_value(env, meta)?,
                ToNapiValue::to_napi_value(env, strs)?,
                ToNapiValue::to_napi_value(env, bin)?,
            ])
        })();
        let mut function = std::ptr::null_mut();
        let mut global = std::ptr::null_mut();
        if let Ok(args) = args {
            if sys::napi_get_reference_value(env, reference, &mut function) == sys::Status::napi_ok
                && sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
            {
                let mut result = std::ptr::null_mut();
                let status = sys::napi_make_callback(
                    env,
                    context,
                    global,
                    function,
                    3,
                    args.as_ptr(),
                    &mut result,
                );
                if status == sys::Status::napi_pending_exception {
                    // A throw escaped the bridge: it is an uncaught exception like any other.
                    let mut error = std::ptr::null_mut();
                    sys::napi_get_and_clear_last_exception(env, &mut error);
                    sys::napi_fatal_exception(env, error);
                }
            }
        }
        sys::napi_close_handle_scope(env, scope);
    }
}

/// The core's sink, feeding a lane.
pub struct LaneSink(pub Arc<Lane>);

impl EventSink for LaneSink {
    fn push(&self, event: Event) {
        self.0.push(LaneEvent::Core(event));
    }
}
