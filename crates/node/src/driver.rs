//! The core on the JS thread: a current-thread tokio runtime driven by Node's own libuv loop.
//!
//! libuv watches the runtime's epoll descriptor (readable whenever a socket the runtime owns is
//! ready, or when another thread woke one of its tasks) and a coarse timer for its timers. Each
//! wake-up runs one *tick*: short `block_on` passes that run every ready task, poll I/O without
//! blocking, and hand the events they produced to JS, one call per server per pass. JS answers
//! synchronously inside that call, so its replies wake tasks into the same tick: a request is read,
//! answered and written without any other thread taking part.
#![allow(unsafe_code)]

use napi::sys;
use parking_lot::Mutex;
use std::cell::Cell;
use std::sync::Arc;
use tokio::runtime::Runtime;

use crate::lane::Lane;
use crate::uv;

/// Timer granularity of the runtime's own timers (keep-alive, header-read bound, pings).
const TIMER_MS: u64 = 10;
/// Where the runtime's descriptor cannot be watched (no /proc), the timer polls it instead.
const FALLBACK_POLL_MS: u64 = 1;
/// Busy passes one tick may run before yielding to the rest of the event loop.
const MAX_PASSES: usize = 16;

/// The lanes with events waiting, and the wake-up for events pushed outside a tick.
pub struct Ready {
    lanes: Mutex<Vec<Arc<Lane>>>,
    wake: uv::Async,
}

thread_local! {
    static IN_TICK: Cell<bool> = const { Cell::new(false) };
    static DRIVER: Cell<Option<&'static Driver>> = const { Cell::new(None) };
}

impl Ready {
    /// Queues `lane` for the next delivery; outside a tick, also makes sure a tick comes.
    pub fn add(&self, lane: Arc<Lane>) {
        self.lanes.lock().push(lane);
        if !IN_TICK.with(Cell::get) {
            self.wake.send();
        }
    }
}

/// One per JS thread. Its runtime is shut down, and its libuv handles closed, when the thread's
/// environment is torn down (a worker thread ending, or the process exiting).
pub struct Driver {
    /// Taken out while a tick runs it, and for good at teardown.
    rt: Cell<Option<Runtime>>,
    handle: tokio::runtime::Handle,
    pub env: sys::napi_env,
    async_context: sys::napi_async_context,
    pub ready: Arc<Ready>,
    timer: uv::Timer,
    timer_on: Cell<bool>,
    poll: Option<uv::Poll>,
    /// The runtime's descriptor could not be watched: the timer polls at a fine grain.
    polling: bool,
}

fn check(status: sys::napi_status, what: &str) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_reason(format!(
            "{what} failed ({status})"
        )))
    }
}

impl Driver {
    /// This thread's driver, built on first use (inside a JS call, with `env` live).
    pub fn get(env: sys::napi_env) -> napi::Result<&'static Driver> {
        if let Some(driver) = DRIVER.with(Cell::get) {
            return Ok(driver);
        }
        let driver: &'static Driver = Box::leak(Box::new(Driver::new(env)?));
        DRIVER.with(|d| d.set(Some(driver)));
        let mut hook = std::ptr::null_mut();
        // SAFETY: `env` is live; the hook runs on this thread when the environment is torn down.
        check(
            unsafe {
                sys::napi_add_async_cleanup_hook(
                    env,
                    Some(teardown),
                    std::ptr::null_mut(),
                    &mut hook,
                )
            },
            "napi_add_async_cleanup_hook",
        )?;
        Ok(driver)
    }

    /// This thread's driver, if one was built.
    pub fn current() -> Option<&'static Driver> {
        DRIVER.with(Cell::get)
    }

    fn new(env: sys::napi_env) -> napi::Result<Driver> {
        let mut event_loop = std::ptr::null_mut();
        // SAFETY: `env` is the live env of this thread (we are inside a JS call).
        check(
            unsafe { sys::napi_get_uv_event_loop(env, &mut event_loop) },
            "napi_get_uv_event_loop",
        )?;
        let before = epoll_fds();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            // Run many ready tasks between I/O polls: each poll is a syscall.
            .event_interval(256)
            // File reads that would wait on the disk and big compressions (see the core's blocking.rs).
            .max_blocking_threads(4)
            .build()
            .map_err(|e| napi::Error::from_reason(format!("cannot start the runtime: {e}")))?;
        let ours = match (before, epoll_fds()) {
            (Some(before), Some(after)) => {
                let new: Vec<i32> = after
                    .into_iter()
                    .filter(|fd| !before.contains(fd))
                    .collect();
                (new.len() == 1).then(|| new[0])
            }
            _ => None,
        };
        let poll = match ours {
            Some(fd) => Some(uv::Poll::start(event_loop, fd, on_wake)?),
            None => None,
        };
        let timer = uv::Timer::new(event_loop, on_wake)?;
        let ready = Arc::new(Ready {
            lanes: Mutex::new(Vec::new()),
            wake: uv::Async::new(event_loop, on_wake)?,
        });
        let async_context = new_async_context(env)?;
        starling_core::cork_writes();
        Ok(Driver {
            handle: rt.handle().clone(),
            rt: Cell::new(Some(rt)),
            env,
            async_context,
            ready,
            timer,
            timer_on: Cell::new(false),
            polling: poll.is_none(),
            poll,
        })
    }

    /// Runs passes until one finds nothing to do (or the busy bound is hit).
    fn tick(&'static self) {
        if IN_TICK.with(|t| t.replace(true)) {
            return;
        }
        let Some(rt) = self.rt.take() else {
            IN_TICK.with(|t| t.set(false));
            return;
        };
        // Unconstrained: the pass loop writes sockets (`flush_settled`), and tokio's cooperative
        // budget (128 operations a poll) would otherwise stall the 129th connection's write.
        let busy = rt.block_on(tokio::task::unconstrained(self.passes()));
        self.rt.set(Some(rt));
        // What the connections wrote during the tick leaves now, one write per connection.
        starling_core::flush_corked();
        IN_TICK.with(|t| t.set(false));
        if busy {
            // Let timers and other I/O of the event loop run, then come straight back.
            self.ready.wake.send();
        }
        self.arm_timer();
    }

    /// True when the tick stopped at the bound with work left.
    async fn passes(&'static self) -> bool {
        for _ in 0..MAX_PASSES {
            let before = starling_core::activity();
            let delivered = self.deliver();
            // One scheduler pass: every queued task runs, then I/O and timers are polled once.
            tokio::task::yield_now().await;
            // Answers of connections that are done writing leave now, not at the tick's end, so
            // clients get to work while the tick goes on.
            starling_core::flush_settled();
            // Nothing ran and nothing was woken across the whole pass: nothing is queued.
            if !delivered
                && starling_core::activity() == before
                && self.ready.lanes.lock().is_empty()
            {
                return false;
            }
        }
        true
    }

    /// Hands every waiting lane's events to JS. True if any were delivered.
    fn deliver(&self) -> bool {
        let lanes = std::mem::take(&mut *self.ready.lanes.lock());
        let any = !lanes.is_empty();
        for lane in lanes {
            lane.deliver(self.env, self.async_context);
        }
        any
    }

    /// The runtime's timers need a wake-up only while it has tasks.
    fn arm_timer(&self) {
        let want = self.handle.metrics().num_alive_tasks() > 0;
        if want != self.timer_on.get() {
            self.timer_on.set(want);
            if want {
                self.timer.start(if self.polling {
                    FALLBACK_POLL_MS
                } else {
                    TIMER_MS
                });
            } else {
                self.timer.stop();
            }
        }
    }

    /// Spawns onto the runtime from outside it (a JS call); the tick that runs it is arranged.
    pub fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        let guard = self.handle.enter();
        self.tick_soon();
        guard
    }

    /// A JS call outside a tick may have spawned work (listen, close, an in-memory connection):
    /// a tick soon starts it and arms the timer (on the polling fallback nothing else would).
    fn tick_soon(&self) {
        if !IN_TICK.with(Cell::get) {
            self.ready.wake.send();
        }
    }
}

thread_local! {
    /// The cleanup hook to remove, and how many handles are still closing.
    static TEARDOWN: Cell<(sys::napi_async_cleanup_hook_handle, usize)> =
        const { Cell::new((std::ptr::null_mut(), 0)) };
}

/// The environment ends: stop the runtime (its tasks and sockets are dropped) and close the
/// handles; Node waits for the hook to be removed before it closes the loop.
unsafe extern "C" fn teardown(
    hook: sys::napi_async_cleanup_hook_handle,
    _arg: *mut std::ffi::c_void,
) {
    let Some(driver) = Driver::current() else {
        // SAFETY: the handle Node just gave us.
        unsafe { sys::napi_remove_async_cleanup_hook(hook) };
        return;
    };
    DRIVER.with(|d| d.set(None));
    if let Some(rt) = driver.rt.take() {
        rt.shutdown_background();
    }
    use uv::Handle;
    let mut handles: Vec<&dyn Handle> = vec![&driver.timer, &driver.ready.wake];
    if let Some(poll) = &driver.poll {
        handles.push(poll);
    }
    TEARDOWN.with(|t| t.set((hook, handles.len())));
    for handle in handles {
        handle.close(on_closed);
    }
}

fn on_closed() {
    let (hook, left) = TEARDOWN.with(Cell::get);
    TEARDOWN.with(|t| t.set((hook, left - 1)));
    if left == 1 {
        // SAFETY: the hook registered by `Driver::get`, removed once, on its thread.
        unsafe { sys::napi_remove_async_cleanup_hook(hook) };
    }
}

fn on_wake() {
    if let Some(driver) = Driver::current() {
        driver.tick();
    }
}

/// The async context JS callbacks run in (so async hooks and domains see a proper callback).
fn new_async_context(env: sys::napi_env) -> napi::Result<sys::napi_async_context> {
    let mut resource = std::ptr::null_mut();
    let mut name = std::ptr::null_mut();
    let mut context = std::ptr::null_mut();
    let mut reference = std::ptr::null_mut();
    // SAFETY: plain N-API calls on this thread's live env.
    unsafe {
        check(
            sys::napi_create_object(env, &mut resource),
            "napi_create_object",
        )?;
        // Held for the life of the thread: the context refers to it.
        check(
            sys::napi_create_reference(env, resource, 1, &mut reference),
            "napi_create_reference",
        )?;
        check(
            sys::napi_create_string_utf8(env, c"starling".as_ptr(), 8, &mut name),
            "napi_create_string_utf8",
        )?;
        check(
            sys::napi_async_init(env, resource, name, &mut context),
            "napi_async_init",
        )?;
    }
    Ok(context)
}

/// The epoll descriptors open in this process (None where /proc cannot tell).
fn epoll_fds() -> Option<Vec<i32>> {
    let dir = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(
        dir.filter_map(|entry| {
            let entry = entry.ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            (target.as_os_str() == "anon_inode:[eventpoll]")
                .then(|| entry.file_name().to_str()?.parse().ok())
                .flatten()
        })
        .collect(),
    )
}
