//! The answer queue: whole responses that JS queues while a delivery runs, handed to the core when
//! the delivery's call returns, instead of one N-API call each.
//!
//! A call from JS into the addon costs V8's API-call path, N-API's argument fetching and a read of
//! each argument: about 800 instructions of a plain request's answer, where writing four words and
//! the body into a buffer both sides see costs JS about a quarter of that. The queue is open only
//! while the lane's callback runs (its microtasks included: a handler that awaits nothing answers
//! within them); an answer given at any other time, one with headers as text, a large body, or one
//! past a full queue goes by call as before. The layout is `wire::answers`.
#![allow(unsafe_code)]

use bytes::Bytes;
use napi::sys;
use starling_core::{Exchanges, HeaderBlock};

use crate::header_lists::header_list;
use crate::wire::answers as layout;

/// One server's queue: its buffer (referenced here, so it outlives every JS view of it) and the
/// exchanges its answers go to.
pub struct AnswerQueue {
    reference: sys::napi_ref,
    data: *mut u8,
    exchanges: Exchanges,
}
// SAFETY: made, read and released on its JS thread only (the lane's calls and the server's
// methods run there); other threads only move it.
unsafe impl Send for AnswerQueue {}

/// The words before the arena.
const WORDS: usize = layout::FIRST + layout::MOST * layout::WORDS;

impl AnswerQueue {
    /// A queue answering through `exchanges`, and the `ArrayBuffer` JS writes it through.
    ///
    /// # Safety
    /// On the JS thread, with `env` its live env.
    pub unsafe fn make(
        env: sys::napi_env,
        exchanges: Exchanges,
    ) -> napi::Result<(sys::napi_value, AnswerQueue)> {
        let mut data = std::ptr::null_mut();
        let mut buffer = std::ptr::null_mut();
        let mut reference = std::ptr::null_mut();
        // SAFETY: value creation and a reference on the live env; V8 zeroes the buffer and keeps
        // its backing store in place while the reference holds it.
        let made = unsafe {
            sys::napi_create_arraybuffer(env, layout::BYTES, &mut data, &mut buffer)
                == sys::Status::napi_ok
                && sys::napi_create_reference(env, buffer, 1, &mut reference)
                    == sys::Status::napi_ok
        };
        if !made {
            return Err(napi::Error::from_reason("cannot make the answer queue"));
        }
        let queue = AnswerQueue {
            reference,
            data: data.cast(),
            exchanges,
        };
        Ok((buffer, queue))
    }

    /// Word `i` (of the `WORDS` before the arena).
    fn word(&self, i: usize) -> u32 {
        assert!(i < WORDS);
        // SAFETY: in the buffer, 4-byte aligned (an ArrayBuffer's store is 8-byte aligned), and JS
        // does not run during the lane's and the server's own calls.
        unsafe { self.data.cast::<u32>().add(i).read() }
    }

    fn set(&self, i: usize, value: u32) {
        assert!(i < WORDS);
        // SAFETY: as `word`.
        unsafe { self.data.cast::<u32>().add(i).write(value) }
    }

    fn arena(&self) -> &[u8] {
        // SAFETY: the arena follows the words, to the buffer's end.
        unsafe { std::slice::from_raw_parts(self.data.add(WORDS * 4), layout::ARENA_BYTES) }
    }

    /// Lets JS queue: a delivery's call begins.
    pub fn open(&self) {
        self.set(layout::OPEN, 1);
    }

    /// Hands what JS queued to the core, and closes the queue: the call has returned.
    pub fn drain(&self) {
        let count = (self.word(layout::COUNT) as usize).min(layout::MOST);
        let mut at = 0;
        for n in 0..count {
            let first = layout::FIRST + n * layout::WORDS;
            let word = |i| self.word(first + i);
            let len = word(layout::LEN) as usize;
            // JS never queues past the arena; a queue that says otherwise ends here.
            let Some(body) = self.arena().get(at..at + len) else {
                break;
            };
            at += len;
            let (id, status) = (word(layout::ID), word(layout::STATUS) as u16);
            match header_list(word(layout::LIST)) {
                Some(block) => self.exchanges.respond(
                    id,
                    status,
                    HeaderBlock(block),
                    Bytes::copy_from_slice(body),
                ),
                // JS queues only the ids it was given.
                None => self.exchanges.respond_status(id, 500),
            };
        }
        for i in [layout::COUNT, layout::USED, layout::OPEN] {
            self.set(i, 0);
        }
    }

    /// Answers what is queued and drops the buffer's reference.
    ///
    /// # Safety
    /// On the JS thread that made the queue, with `env` its live env.
    pub unsafe fn release(self, env: sys::napi_env) {
        self.drain();
        // SAFETY: the reference this queue made on this thread.
        unsafe { sys::napi_delete_reference(env, self.reference) };
    }
}
