//! One server's events on their way to JS: a queue, and the server's `onEvents` callback.
#![allow(unsafe_code)]

use napi::bindgen_prelude::ToNapiValue;
use napi::sys;
use parking_lot::Mutex;
use starling_core::{Event, EventSink};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::answers::AnswerQueue;
use crate::driver::Ready;
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

/// A persistent reference to the JS callback. Only ever touched on the JS thread that made it.
struct Callback(sys::napi_ref);
// SAFETY: the reference is created, used and deleted on its JS thread only (the driver's
// deliveries and the server's JS-called methods all run there); other threads only move it.
unsafe impl Send for Callback {}

/// A typed array a lane copies each batch's records (a `Uint32Array`) or WebSocket text (a
/// `Buffer`) into, made once (and again, larger, when a batch outgrows it): an array made per batch
/// costs V8 an external backing store and its finalizer, about 5,000 instructions, where the copy
/// costs a few dozen. JS reads it during the call only.
struct Kept {
    reference: sys::napi_ref,
    data: *mut u8,
    bytes: usize,
}
// SAFETY: as `Callback`: made, written and released on its JS thread only.
unsafe impl Send for Kept {}

/// The kinds of kept array, and how much the first of each holds.
#[derive(Clone, Copy)]
enum KeptKind {
    /// 64 KiB: room for some 1,000 requests' records.
    Records,
    /// 16 KiB of short ASCII messages (up to 1 MiB, `TEXTS_MAX` in encode.rs).
    Texts,
}

impl KeptKind {
    fn first_bytes(self) -> usize {
        match self {
            KeptKind::Records => 64 * 1024,
            KeptKind::Texts => 16 * 1024,
        }
    }

    /// A new array of `bytes` bytes and its data.
    unsafe fn make(self, env: sys::napi_env, bytes: usize) -> Option<(sys::napi_value, *mut u8)> {
        let mut data = std::ptr::null_mut();
        let mut value = std::ptr::null_mut();
        // SAFETY: plain value creations on the live env; V8 owns the backing store, which stays
        // put while a reference keeps the array alive.
        let made = unsafe {
            match self {
                KeptKind::Records => {
                    let mut buffer = std::ptr::null_mut();
                    sys::napi_create_arraybuffer(env, bytes, &mut data, &mut buffer)
                        == sys::Status::napi_ok
                        && sys::napi_create_typedarray(
                            env,
                            sys::TypedarrayType::uint32_array,
                            bytes / 4,
                            buffer,
                            0,
                            &mut value,
                        ) == sys::Status::napi_ok
                }
                // A Buffer: JS decodes each message from it with `latin1Slice`, a string of its
                // own (a slice of one batch-wide string would keep all of it alive).
                KeptKind::Texts => {
                    sys::napi_create_buffer(env, bytes, &mut data, &mut value)
                        == sys::Status::napi_ok
                }
            }
        };
        made.then_some((value, data.cast()))
    }
}

pub struct Lane {
    /// The events since the last delivery, encoded as they come: no queue node per event, and a
    /// request's head (its header map, its URI) is dropped where it was made, not moved twice.
    batch: Mutex<Batch>,
    /// Set while the lane sits in the driver's ready list, so it is listed once.
    armed: AtomicBool,
    callback: Mutex<Option<Callback>>,
    records: Mutex<Option<Kept>>,
    texts: Mutex<Option<Kept>>,
    /// Whole answers JS queues during a call (see `answers.rs`), once the server listens.
    answers: Mutex<Option<AnswerQueue>>,
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
            batch: Mutex::new(Batch::default()),
            armed: AtomicBool::new(false),
            callback: Mutex::new(Some(Callback(reference))),
            records: Mutex::new(None),
            texts: Mutex::new(None),
            answers: Mutex::new(None),
            ready,
        }))
    }

    pub fn push(self: &Arc<Self>, event: LaneEvent) {
        self.batch.lock().push(event);
        if !self.armed.swap(true, Ordering::AcqRel) {
            self.ready.add(self.clone());
        }
    }

    /// Calls JS with the events encoded since the last delivery: one pass's worth, bounded by the
    /// connections (one request head each in flight) and by the credit that lets request bodies and
    /// WebSocket messages through; the records array grows to fit. A heavy pass (see `Batch`) takes
    /// one call per encoder.
    pub fn deliver(self: &Arc<Self>, env: sys::napi_env, context: sys::napi_async_context) {
        self.armed.store(false, Ordering::Release);
        let mut batch = self.batch.lock().take_events();
        if batch.is_empty() {
            return;
        }
        for encoder in batch.encoders() {
            // Looked up for each call and not held across it: JS may dispose of the lane from
            // inside one, and the later events are then discarded.
            let Some(reference) = self.callback.lock().as_ref().map(|c| c.0) else {
                return;
            };
            // SAFETY: on the JS thread (a libuv callback of its loop), with `env` its live env;
            // every value made here lives in the handle scope opened here.
            unsafe { self.call(env, context, reference, encoder) };
        }
        // The emptied batch keeps its buffers for the next one, unless events came meanwhile.
        batch.clear();
        self.batch.lock().reuse(batch);
    }

    /// The lane's array of `kind` holding `bytes` bytes (this lane's, or a larger one made now),
    /// with `content` copied in.
    unsafe fn kept(
        &self,
        env: sys::napi_env,
        kind: KeptKind,
        content: &[u8],
    ) -> Option<sys::napi_value> {
        let mut kept = match kind {
            KeptKind::Records => self.records.lock(),
            KeptKind::Texts => self.texts.lock(),
        };
        let bytes = content.len();
        let mut value = std::ptr::null_mut();
        let data = match kept.as_ref().filter(|k| k.bytes >= bytes) {
            Some(k) => {
                // SAFETY: a reference this lane made on this thread and still holds.
                let got = unsafe { sys::napi_get_reference_value(env, k.reference, &mut value) };
                if got != sys::Status::napi_ok {
                    return None;
                }
                k.data
            }
            None => {
                let bytes = bytes.max(kind.first_bytes()).next_power_of_two();
                let mut reference = std::ptr::null_mut();
                // SAFETY: value creation and a reference on the live env of this thread.
                unsafe {
                    let (made, data) = kind.make(env, bytes)?;
                    if sys::napi_create_reference(env, made, 1, &mut reference)
                        != sys::Status::napi_ok
                    {
                        return None;
                    }
                    if let Some(old) = kept.replace(Kept {
                        reference,
                        data,
                        bytes,
                    }) {
                        sys::napi_delete_reference(env, old.reference);
                    }
                    value = made;
                    data
                }
            }
        };
        // SAFETY: `data` has room for `bytes` bytes (checked or made above) and JS is not running.
        unsafe { std::ptr::copy_nonoverlapping(content.as_ptr(), data, bytes) };
        Some(value)
    }

    /// Takes the answers JS queues during this lane's calls from now on.
    pub fn answer_through(&self, env: sys::napi_env, queue: AnswerQueue) {
        if let Some(old) = self.answers.lock().replace(queue) {
            // SAFETY: called from JS on the thread that made the queue.
            unsafe { old.release(env) };
        }
    }

    /// Drops the JS callback so the function can be collected; later events are discarded.
    pub fn dispose(&self, env: sys::napi_env) {
        if let Some(queue) = self.answers.lock().take() {
            // SAFETY: called from JS on the thread that made the queue.
            unsafe { queue.release(env) };
        }
        if let Some(Callback(reference)) = self.callback.lock().take() {
            // SAFETY: called from JS on the thread that made the reference.
            unsafe { sys::napi_delete_reference(env, reference) };
        }
        for kept in [self.records.lock().take(), self.texts.lock().take()]
            .into_iter()
            .flatten()
        {
            // SAFETY: as above.
            unsafe { sys::napi_delete_reference(env, kept.reference) };
        }
    }

    /// `callback(records, strs, bin, words, texts)` through `napi_make_callback`, which also runs the
    /// microtasks the call queued: promise continuations of the handlers answer within the same
    /// tick. `records` and `texts` (or null) are the lane's arrays, valid for the call only; the
    /// first `words` words of `records` are this batch's.
    unsafe fn call(
        &self,
        env: sys::napi_env,
        context: sys::napi_async_context,
        reference: sys::napi_ref,
        encoder: &mut Encoder,
    ) {
        let mut scope = std::ptr::null_mut();
        unsafe {
            if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
                return;
            }
            let words = encoder.records().len();
            let args = (|| {
                let records = encoder.records();
                // SAFETY: the records as bytes, for the copy.
                let record_bytes = std::slice::from_raw_parts(records.as_ptr().cast(), words * 4);
                let records = self.kept(env, KeptKind::Records, record_bytes)?;
                let texts = match encoder.texts() {
                    [] => {
                        let mut null = std::ptr::null_mut();
                        sys::napi_get_null(env, &mut null);
                        null
                    }
                    texts => self.kept(env, KeptKind::Texts, texts)?,
                };
                let (strs, bin) = encoder.take_strings_and_bytes();
                Some([
                    records,
                    ToNapiValue::to_napi_value(env, strs).ok()?,
                    ToNapiValue::to_napi_value(env, bin).ok()?,
                    ToNapiValue::to_napi_value(env, words as u32).ok()?,
                    texts,
                ])
            })();
            let mut function = std::ptr::null_mut();
            let mut global = std::ptr::null_mut();
            if let Some(args) = args {
                if sys::napi_get_reference_value(env, reference, &mut function)
                    == sys::Status::napi_ok
                    && sys::napi_get_global(env, &mut global) == sys::Status::napi_ok
                {
                    let mut result = std::ptr::null_mut();
                    if let Some(queue) = self.answers.lock().as_ref() {
                        queue.open();
                    }
                    let status = sys::napi_make_callback(
                        env,
                        context,
                        global,
                        function,
                        args.len(),
                        args.as_ptr(),
                        &mut result,
                    );
                    // The call and its microtasks are over: what they answered goes to the core.
                    if let Some(queue) = self.answers.lock().as_ref() {
                        queue.drain();
                    }
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
}

/// The core's sink, feeding a lane.
pub struct LaneSink(pub Arc<Lane>);

impl EventSink for LaneSink {
    fn push(&self, event: Event) {
        self.0.push(LaneEvent::Core(event));
    }
}
