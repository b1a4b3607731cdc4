//! What the app hands a WebSocket session: messages to send and credit to deliver more, in one
//! locked box that wakes the session's task.
//!
//! Two tokio channels did this before. Each made a shared block and a first 32-slot block per
//! socket (about 2.6 KiB an idle WebSocket between them) and cost a few hundred instructions a
//! message in their lock-free lists; here a send is a short lock, a push and a wake. Both ends
//! are on the JS thread in the default mode, so the lock is never contended there.
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::websocket::WsOut;

#[derive(Default)]
struct Mail {
    out: VecDeque<WsOut>,
    credit: usize,
    /// The app's end was dropped (its exchange is gone): the session should end.
    app_gone: bool,
    /// The session ended: sends fail.
    session_gone: bool,
}

#[derive(Default)]
struct Mailbox {
    mail: Mutex<Mail>,
    session: AtomicWaker,
}

/// The app's end, kept in the exchange's slot.
pub(crate) struct Outbox(Arc<Mailbox>);

/// The session's end.
pub(crate) struct Inbox(Arc<Mailbox>);

/// A connected pair of ends.
pub(crate) fn mailbox() -> (Outbox, Inbox) {
    let shared = Arc::new(Mailbox::default());
    (Outbox(shared.clone()), Inbox(shared))
}

impl Outbox {
    /// Queues a message for the session; gives it back if the session has ended.
    pub(crate) fn send(&self, message: WsOut) -> Result<(), WsOut> {
        {
            let mut mail = self.0.mail.lock();
            if mail.session_gone {
                return Err(message);
            }
            mail.out.push_back(message);
        }
        self.0.session.wake();
        Ok(())
    }

    /// Lets the session deliver `n` more messages; false if it has ended.
    pub(crate) fn credit(&self, n: usize) -> bool {
        {
            let mut mail = self.0.mail.lock();
            if mail.session_gone {
                return false;
            }
            mail.credit = mail.credit.saturating_add(n);
        }
        self.0.session.wake();
        true
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.0.mail.lock().app_gone = true;
        self.0.session.wake();
    }
}

impl Inbox {
    /// The next message to send: `Ready(None)` once the app is gone and none is left.
    pub(crate) fn poll_message(&self, cx: &mut Context<'_>) -> Poll<Option<WsOut>> {
        self.0.session.register(cx.waker());
        let mut mail = self.0.mail.lock();
        match mail.out.pop_front() {
            Some(message) => Poll::Ready(Some(message)),
            None if mail.app_gone => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    /// A message already queued, without waiting.
    pub(crate) fn try_message(&self) -> Option<WsOut> {
        self.0.mail.lock().out.pop_front()
    }

    /// Credit the app returned since the last call: `Ready(None)` once the app is gone.
    pub(crate) fn poll_credit(&self, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        self.0.session.register(cx.waker());
        let mut mail = self.0.mail.lock();
        match std::mem::take(&mut mail.credit) {
            0 if mail.app_gone => Poll::Ready(None),
            0 => Poll::Pending,
            n => Poll::Ready(Some(n)),
        }
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut mail = self.0.mail.lock();
        mail.session_gone = true;
        // Unsent messages go now, not when the app's end is dropped.
        mail.out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    struct CountWakes(AtomicUsize);
    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::AcqRel);
        }
    }

    #[test]
    fn messages_and_credit_reach_the_session_in_order_and_wake_it() {
        let (outbox, inbox) = mailbox();
        let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(inbox.poll_message(&mut cx).is_pending());
        assert!(inbox.poll_credit(&mut cx).is_pending());

        assert!(outbox.send(WsOut::Text(Bytes::from_static(b"one"))).is_ok());
        assert!(outbox
            .send(WsOut::Binary(Bytes::from_static(b"two")))
            .is_ok());
        assert!(outbox.credit(8) && outbox.credit(8));
        assert!(wakes.0.load(Ordering::Acquire) >= 1);
        assert!(
            matches!(inbox.poll_message(&mut cx), Poll::Ready(Some(WsOut::Text(t))) if t == "one")
        );
        assert!(matches!(inbox.try_message(), Some(WsOut::Binary(b)) if b == "two"));
        assert!(inbox.try_message().is_none());
        assert_eq!(inbox.poll_credit(&mut cx), Poll::Ready(Some(16)));
        assert!(inbox.poll_credit(&mut cx).is_pending());

        // The app leaving ends both, after what it queued.
        assert!(outbox.send(WsOut::Close(1000, String::new())).is_ok());
        drop(outbox);
        assert!(matches!(
            inbox.poll_message(&mut cx),
            Poll::Ready(Some(WsOut::Close(1000, _)))
        ));
        assert!(matches!(inbox.poll_message(&mut cx), Poll::Ready(None)));
        assert_eq!(inbox.poll_credit(&mut cx), Poll::Ready(None));
    }

    #[test]
    fn sends_fail_once_the_session_is_gone() {
        let (outbox, inbox) = mailbox();
        drop(inbox);
        assert!(outbox.send(WsOut::Text(Bytes::new())).is_err());
        assert!(!outbox.credit(1));
    }
}
