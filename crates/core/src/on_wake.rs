//! A future that a combinator polls only when it was woken, not whenever its sibling was.
//!
//! A connection's task races hyper's connection against its idle timer and the shutdown signal,
//! and a WebSocket session its socket and the app's messages against its ping timer and the same
//! signal. The task wakes for every read and every reply, and `select!` would poll all of them each
//! time: a timer and the watch channel cost about 800 instructions a request between them, for
//! events that come once in a connection's life. Wrapped here, each is polled on its first turn, after its
//! own waker fired, and after [`OnWake::rearm`] (a reset timer must be polled to register anew).
use futures_util::task::AtomicWaker;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Whether the inner future was woken, and the task to wake in turn.
struct Gate {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Gate {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

pin_project_lite::pin_project! {
    pub(crate) struct OnWake<F> {
        #[pin]
        inner: F,
        gate: Arc<Gate>,
        waker: Waker,
        // The task's waker the gate holds, while no wake can have taken it: then a turn that finds
        // the gate unwoken returns without the three atomic operations of registering and
        // swapping (a connection's task turns two or three times a request, with two gates).
        armed: Option<Waker>,
    }
}

impl<F: Future> OnWake<F> {
    pub(crate) fn new(inner: F) -> Self {
        let gate = Arc::new(Gate {
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        OnWake {
            inner,
            waker: Waker::from(gate.clone()),
            gate,
            armed: None,
        }
    }

    /// The inner future, to change it (say, reset a timer); it is polled on the next turn.
    pub(crate) fn rearm(self: Pin<&mut Self>) -> Pin<&mut F> {
        let this = self.project();
        this.gate.woken.store(true, Ordering::Release);
        this.inner
    }
}

impl<F: Future> Future for OnWake<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        // A wake stores the flag before it takes the waker: unwoken, the gate still holds it.
        let unwoken = !this.gate.woken.load(Ordering::Acquire);
        if unwoken && this.armed.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        // Registered before the flag is read: a wake between the two still reaches the task.
        this.gate.task.register(cx.waker());
        if !this.gate.woken.swap(false, Ordering::AcqRel) {
            // No wake came since the registration, so the gate holds this waker.
            *this.armed = Some(cx.waker().clone());
            return Poll::Pending;
        }
        // A wake (or a rearm) came: it may have taken the waker registered just now.
        *this.armed = None;
        this.inner.poll(&mut Context::from_waker(this.waker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts its polls; ready once `ready` is set, waking through the last waker it was given.
    struct Probe {
        polls: Arc<AtomicUsize>,
        ready: Arc<AtomicBool>,
        waker: Arc<parking_lot::Mutex<Option<Waker>>>,
    }

    impl Future for Probe {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            self.polls.fetch_add(1, Ordering::AcqRel);
            if self.ready.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            *self.waker.lock() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::AcqRel);
        }
    }

    #[test]
    fn polls_the_inner_future_only_after_its_own_wake_or_a_rearm() {
        let polls = Arc::new(AtomicUsize::new(0));
        let ready = Arc::new(AtomicBool::new(false));
        let inner_waker = Arc::new(parking_lot::Mutex::new(None::<Waker>));
        let task = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(task.clone());
        let mut cx = Context::from_waker(&waker);
        let mut gated = Box::pin(OnWake::new(Probe {
            polls: polls.clone(),
            ready: ready.clone(),
            waker: inner_waker.clone(),
        }));

        // The first turn polls it; turns woken by something else do not.
        assert!(gated.as_mut().poll(&mut cx).is_pending());
        assert!(gated.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.load(Ordering::Acquire), 1);

        // Its own wake reaches the task and lets the next turn poll it.
        inner_waker.lock().take().expect("registered").wake();
        assert_eq!(task.0.load(Ordering::Acquire), 1);
        assert!(gated.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.load(Ordering::Acquire), 2);

        // A rearm does too, without a wake.
        let probe = gated.as_mut().rearm();
        assert_eq!(probe.polls.load(Ordering::Acquire), 2);
        ready.store(true, Ordering::Release);
        assert!(gated.as_mut().poll(&mut cx).is_ready());
        assert_eq!(polls.load(Ordering::Acquire), 3);
    }
}
