//! Spawning, with a count of the work done, so that an embedder can drive the runtime in slices.
//!
//! A binding that runs the core on someone else's event loop (Node's, through libuv) calls the
//! runtime's `block_on` for one short slice per loop turn and must know when a slice has left
//! nothing behind: a task woken by the last I/O poll of a slice would otherwise wait for the next
//! unrelated wake-up. Every task the core spawns is [`Counted`]: each poll and each wake of it
//! bumps one counter, so "the counter did not move across a full scheduler pass" means "no task
//! ran and none is queued".
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

static ACTIVITY: AtomicU64 = AtomicU64::new(0);

/// How many task polls and wake-ups the core has seen so far (it only ever grows).
pub fn activity() -> u64 {
    ACTIVITY.load(Ordering::Acquire)
}

/// Counts work done outside a task (e.g. a waker that only schedules a flush).
pub(crate) fn note_activity() {
    ACTIVITY.fetch_add(1, Ordering::AcqRel);
}

/// Spawns `future` on the current runtime, counted.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(Counted::new(future))
}

/// hyper's executor (HTTP/2 streams), spawning counted tasks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Executor;

impl<F> hyper::rt::Executor<F> for Executor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        spawn(future);
    }
}

pin_project_lite::pin_project! {
    /// A future whose polls and wake-ups are counted in [`activity`].
    pub struct Counted<F> {
        #[pin]
        inner: F,
        waker: Option<(Arc<CountingWaker>, Waker)>,
    }
}

impl<F> Counted<F> {
    /// Wraps `inner`.
    pub fn new(inner: F) -> Self {
        Counted { inner, waker: None }
    }
}

/// Wraps the runtime's waker of one task; counts, then forwards.
pub struct CountingWaker(Waker);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        ACTIVITY.fetch_add(1, Ordering::AcqRel);
        self.0.wake_by_ref();
    }
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        ACTIVITY.fetch_add(1, Ordering::AcqRel);
        let this = self.project();
        // A task's waker is stable, so the wrapper is built once per task, not once per poll.
        let fresh = !matches!(this.waker, Some((inner, _)) if inner.0.will_wake(cx.waker()));
        if fresh {
            let inner = Arc::new(CountingWaker(cx.waker().clone()));
            *this.waker = Some((inner.clone(), Waker::from(inner)));
        }
        let waker = &this.waker.as_ref().expect("set above").1;
        this.inner.poll(&mut Context::from_waker(waker))
    }
}
