//! The few libuv calls the driver needs. Node exports libuv's symbols, so they resolve when Node
//! loads the addon; handles are allocated by `uv_handle_size` because their layout is libuv's.
#![allow(unsafe_code, non_camel_case_types)]

use napi::sys::uv_loop_s;
use std::os::raw::{c_int, c_void};

type uv_handle = c_void;
type PollCallback = unsafe extern "C" fn(*mut uv_handle, c_int, c_int);
type Callback = unsafe extern "C" fn(*mut uv_handle);

extern "C" {
    fn uv_handle_size(kind: c_int) -> usize;
    fn uv_poll_init(event_loop: *mut uv_loop_s, handle: *mut uv_handle, fd: c_int) -> c_int;
    fn uv_poll_start(handle: *mut uv_handle, events: c_int, cb: PollCallback) -> c_int;
    fn uv_timer_init(event_loop: *mut uv_loop_s, handle: *mut uv_handle) -> c_int;
    fn uv_timer_start(handle: *mut uv_handle, cb: Callback, timeout: u64, repeat: u64) -> c_int;
    fn uv_timer_stop(handle: *mut uv_handle) -> c_int;
    fn uv_async_init(event_loop: *mut uv_loop_s, handle: *mut uv_handle, cb: Callback) -> c_int;
    fn uv_async_send(handle: *mut uv_handle) -> c_int;
    fn uv_unref(handle: *mut uv_handle);
    fn uv_close(handle: *mut uv_handle, cb: Option<Callback>);
}

// `uv_handle_type` values (uv.h: UV_HANDLE_TYPE_MAP order, after UV_UNKNOWN_HANDLE = 0).
const UV_ASYNC: c_int = 1;
const UV_POLL: c_int = 8;
const UV_TIMER: c_int = 13;
const UV_READABLE: c_int = 1;

/// A handle allocated for libuv. Its memory is never freed (a few hundred bytes per JS thread that
/// ever served): libuv may touch a handle until its close callback, and the loop is ending then
/// anyway. Every handle is unref'd, so none of them keeps the loop alive.
fn alloc(kind: c_int) -> *mut uv_handle {
    // SAFETY: a pure size query.
    let size = unsafe { uv_handle_size(kind) };
    Box::leak(vec![0u64; size.div_ceil(8)].into_boxed_slice())
        .as_mut_ptr()
        .cast()
}

fn check(what: &str, code: c_int) -> napi::Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(napi::Error::from_reason(format!(
            "libuv {what} failed ({code})"
        )))
    }
}

/// Calls `cb` whenever a file descriptor is readable (level-triggered).
pub struct Poll(*mut uv_handle);

impl Poll {
    pub fn start(event_loop: *mut uv_loop_s, fd: c_int, cb: fn()) -> napi::Result<Poll> {
        let handle = alloc(UV_POLL);
        // SAFETY: `handle` is a fresh allocation of the right size; the loop is Node's live loop.
        unsafe {
            check("poll_init", uv_poll_init(event_loop, handle, fd))?;
            set_callback(handle, cb);
            check("poll_start", uv_poll_start(handle, UV_READABLE, on_poll))?;
            uv_unref(handle);
        }
        Ok(Poll(handle))
    }
}

/// A repeating timer.
pub struct Timer(*mut uv_handle);

impl Timer {
    pub fn new(event_loop: *mut uv_loop_s, cb: fn()) -> napi::Result<Timer> {
        let handle = alloc(UV_TIMER);
        // SAFETY: as for `Poll::start`.
        unsafe {
            check("timer_init", uv_timer_init(event_loop, handle))?;
            set_callback(handle, cb);
            uv_unref(handle);
        }
        Ok(Timer(handle))
    }

    pub fn start(&self, every_ms: u64) {
        // SAFETY: an initialised timer of this thread's loop.
        unsafe { uv_timer_start(self.0, on_timer, every_ms, every_ms) };
    }

    pub fn stop(&self) {
        // SAFETY: as above.
        unsafe { uv_timer_stop(self.0) };
    }
}

/// A wake-up any thread may send; the callback runs on the loop's thread.
pub struct Async(*mut uv_handle);

// SAFETY: `uv_async_send` is the one libuv call documented as safe from any thread.
unsafe impl Send for Async {}
unsafe impl Sync for Async {}

impl Async {
    pub fn new(event_loop: *mut uv_loop_s, cb: fn()) -> napi::Result<Async> {
        let handle = alloc(UV_ASYNC);
        // SAFETY: as for `Poll::start`.
        unsafe {
            check("async_init", uv_async_init(event_loop, handle, on_async))?;
            set_callback(handle, cb);
            uv_unref(handle);
        }
        Ok(Async(handle))
    }

    pub fn send(&self) {
        // SAFETY: see the `Send` impl.
        unsafe { uv_async_send(self.0) };
    }
}

/// Handles the driver closes when its environment is torn down.
pub trait Handle {
    fn raw(&self) -> *mut uv_handle;

    /// Closes the handle; `closed` runs on the loop once libuv is done with it.
    fn close(&self, closed: fn()) {
        // SAFETY: an initialised handle of this thread's loop, closed once (the driver's teardown).
        unsafe {
            set_callback(self.raw(), closed);
            uv_close(self.raw(), Some(on_closed));
        }
    }
}

impl Handle for Poll {
    fn raw(&self) -> *mut uv_handle {
        self.0
    }
}

impl Handle for Timer {
    fn raw(&self) -> *mut uv_handle {
        self.0
    }
}

impl Handle for Async {
    fn raw(&self) -> *mut uv_handle {
        self.0
    }
}

unsafe extern "C" fn on_closed(handle: *mut uv_handle) {
    unsafe { callback(handle)() }
}

// The callback is kept in the handle's `data` field, the first word of every uv handle.
unsafe fn set_callback(handle: *mut uv_handle, cb: fn()) {
    unsafe { *handle.cast::<*mut c_void>() = cb as *mut c_void };
}

unsafe fn callback(handle: *mut uv_handle) -> fn() {
    // SAFETY: set by `set_callback` before the handle was started.
    unsafe { std::mem::transmute::<*mut c_void, fn()>(*handle.cast::<*mut c_void>()) }
}

unsafe extern "C" fn on_poll(handle: *mut uv_handle, _status: c_int, _events: c_int) {
    unsafe { callback(handle)() }
}

unsafe extern "C" fn on_timer(handle: *mut uv_handle) {
    unsafe { callback(handle)() }
}

unsafe extern "C" fn on_async(handle: *mut uv_handle) {
    unsafe { callback(handle)() }
}
