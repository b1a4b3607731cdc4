//! The calls the bridge makes per request and per message, as raw N-API functions bound to one
//! server's exchanges: `respondText`/`respondBytes` (nearly every plain request ends with one),
//! `write`/`writeText` (each chunk of a streamed response), `wsSendText`/`wsSendBytes` (each
//! WebSocket message) and `wsCredit`.
//!
//! A `#[napi]` method pays, per call, for napi-rs's borrow tracking of its receiver and arguments
//! (a scope allocated and registered in a thread-local table, then released) and for
//! `napi_unwrap` of `this` with its type-tag check: measured under callgrind, about 3,500
//! instructions of a request's ~30,000, and about 4,800 of a WebSocket echo's. These functions
//! carry their server's [`Exchanges`] as the function's own data, read their arguments directly and
//! borrow nothing past the call. `NativeServer::fast_calls` makes them once per server and JS sets
//! them on the server object, where `src/server/native.ts` declares them beside its methods: they
//! are the only implementation of these calls.
#![allow(unsafe_code)]

use bytes::Bytes;
use napi::bindgen_prelude::FromNapiValue;
use napi::sys;
use starling_core::{Exchanges, HeaderBlock, WriteOutcome};
use std::ffi::c_void;
use std::ptr::null_mut;

use crate::header_lists::header_list;
use crate::strings::{HeaderText, Utf8Text};

/// What a call answers JS with.
enum Answer {
    Bool(bool),
    /// A write's outcome: 1 = write more, 0 = wait for a drain event, -1 = closed.
    Outcome(WriteOutcome),
}

/// A call's body: reads the arguments (missing ones are `undefined`) and acts on `exchanges`, or
/// names what was wrong with them (thrown as a TypeError, as the `#[napi]` methods did).
type Body =
    unsafe fn(&Exchanges, sys::napi_env, &[sys::napi_value; 4]) -> Result<Answer, &'static str>;

/// Runs `body` for the call `info`: the one place arguments are fetched and answers made.
unsafe fn call(env: sys::napi_env, info: sys::napi_callback_info, body: Body) -> sys::napi_value {
    let mut argc = 4;
    let mut args = [null_mut(); 4];
    let mut data = null_mut();
    // SAFETY: N-API fills at most `argc` arguments (missing ones read as `undefined`).
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            args.as_mut_ptr(),
            null_mut(),
            &mut data,
        )
    };
    if status != sys::Status::napi_ok || data.is_null() {
        return unsafe { throw(env, "cannot read the call's arguments") };
    }
    // SAFETY: `data` is the `Exchanges` this function was made with; it lives until the function is
    // collected (see `finalize`), which cannot happen during a call of it.
    let exchanges = unsafe { &*data.cast::<Exchanges>() };
    let mut result = null_mut();
    // SAFETY: plain value creations on the calling env.
    match unsafe { body(exchanges, env, &args) } {
        Ok(Answer::Bool(b)) => unsafe { sys::napi_get_boolean(env, b, &mut result) },
        Ok(Answer::Outcome(o)) => {
            let code = match o {
                WriteOutcome::Ready => 1,
                WriteOutcome::Full => 0,
                WriteOutcome::Closed => -1,
            };
            unsafe { sys::napi_create_int32(env, code, &mut result) }
        }
        Err(message) => return unsafe { throw(env, message) },
    };
    result
}

/// Declares `extern "C"` functions that run a [`Body`] through [`call`].
macro_rules! fast_call {
    ($($(#[$doc:meta])* $name:ident => $body:expr;)*) => {$(
        $(#[$doc])*
        unsafe extern "C" fn $name(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
            let body: Body = $body;
            // SAFETY: called by N-API on the JS thread with its env and callback info.
            unsafe { call(env, info, body) }
        }
    )*};
}

fast_call! {
    /// `respondText(id, status, headers, body)`: the body a string, sent as UTF-8.
    respond_text => |ex, env, [id, status, headers, body]| unsafe {
        let body = text(env, *body).ok_or("respondText: the body must be a string")?;
        respond(ex, env, *id, *status, *headers, Bytes::from(body))
    };
    /// `respondBytes(id, status, headers, body)`: the body a Uint8Array (any typed view).
    respond_bytes => |ex, env, [id, status, headers, body]| unsafe {
        let body = bytes(env, *body).ok_or("respondBytes: the body must be a Uint8Array")?;
        respond(ex, env, *id, *status, *headers, Bytes::copy_from_slice(body))
    };
    /// `write(id, chunk)`: a chunk of a streamed response.
    write => |ex, env, [id, chunk, ..]| unsafe {
        let chunk = bytes(env, *chunk).ok_or("write: the chunk must be a Uint8Array")?;
        Ok(Answer::Outcome(ex.write(uint(env, *id)?, Bytes::copy_from_slice(chunk))))
    };
    /// `writeText(id, chunk)`: a string chunk, sent as UTF-8.
    write_text => |ex, env, [id, chunk, ..]| unsafe {
        let chunk = text(env, *chunk).ok_or("writeText: the chunk must be a string")?;
        Ok(Answer::Outcome(ex.write(uint(env, *id)?, Bytes::from(chunk))))
    };
    /// `wsSendText(id, text)`: a text message.
    ws_send_text => |ex, env, [id, message, ..]| unsafe {
        let message = text(env, *message).ok_or("wsSendText: the message must be a string")?;
        Ok(Answer::Outcome(ex.ws_send(uint(env, *id)?, Bytes::from(message), true)))
    };
    /// `wsSendBytes(id, data)`: a binary message.
    ws_send_bytes => |ex, env, [id, message, ..]| unsafe {
        let message = bytes(env, *message).ok_or("wsSendBytes: the data must be a Uint8Array")?;
        Ok(Answer::Outcome(ex.ws_send(uint(env, *id)?, Bytes::copy_from_slice(message), false)))
    };
    /// `wsCredit(id, n)`: the app took `n` more messages.
    ws_credit => |ex, env, [id, n, ..]| unsafe {
        Ok(Answer::Bool(ex.ws_credit(uint(env, *id)?, uint(env, *n)? as usize)))
    };
}

/// Answers a request whole: the shared part of `respondText` and `respondBytes`.
unsafe fn respond(
    exchanges: &Exchanges,
    env: sys::napi_env,
    id: sys::napi_value,
    status: sys::napi_value,
    headers: sys::napi_value,
    body: Bytes,
) -> Result<Answer, &'static str> {
    // SAFETY: reads of live values of the calling env.
    let (id, status, headers) = unsafe {
        (
            uint(env, id)?,
            uint(env, status)?,
            header_block(env, headers)?,
        )
    };
    Ok(Answer::Bool(exchanges.respond(
        id,
        status as u16,
        headers,
        body,
    )))
}

/// A JS number as u32.
unsafe fn uint(env: sys::napi_env, value: sys::napi_value) -> Result<u32, &'static str> {
    let mut out = 0;
    // SAFETY: a read of a live value of the calling env.
    (unsafe { sys::napi_get_value_uint32(env, value, &mut out) } == sys::Status::napi_ok)
        .then_some(out)
        .ok_or("the id, status and count arguments must be numbers")
}

/// A JS string as UTF-8 bytes, or None if it is not a string.
unsafe fn text(env: sys::napi_env, value: sys::napi_value) -> Option<Vec<u8>> {
    // SAFETY: a live value of the calling env.
    unsafe { Utf8Text::from_napi_value(env, value) }
        .ok()
        .map(|t| t.0)
}

/// The bytes of a Uint8Array (a Buffer, or any such view), valid for the call; None for other values.
unsafe fn bytes<'a>(env: sys::napi_env, value: sys::napi_value) -> Option<&'a [u8]> {
    let mut kind = 0;
    let mut len = 0;
    let mut data = null_mut();
    // SAFETY: an info query on a live value; `data` points at the view's first byte.
    let status = unsafe {
        sys::napi_get_typedarray_info(
            env,
            value,
            &mut kind,
            &mut len,
            &mut data,
            null_mut(),
            null_mut(),
        )
    };
    if status != sys::Status::napi_ok || kind != sys::TypedarrayType::uint8_array {
        return None;
    }
    if len == 0 {
        return Some(&[]);
    }
    // SAFETY: V8 keeps the view's `len` bytes alive during the call; callers copy them out.
    Some(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) })
}

/// The packed header text, or the id of a registered list (see `header_lists.rs`), or none for
/// `null`/`undefined`.
unsafe fn header_block(
    env: sys::napi_env,
    value: sys::napi_value,
) -> Result<HeaderBlock, &'static str> {
    let mut kind = 0;
    // SAFETY: a type query on a live value.
    unsafe { sys::napi_typeof(env, value, &mut kind) };
    if kind == sys::ValueType::napi_null || kind == sys::ValueType::napi_undefined {
        return Ok(HeaderBlock::default());
    }
    if kind == sys::ValueType::napi_number {
        // SAFETY: as above.
        let id = unsafe { uint(env, value)? };
        return header_list(id)
            .map(HeaderBlock)
            .ok_or("respond: no header list has that id");
    }
    // SAFETY: as above.
    unsafe { HeaderText::from_napi_value(env, value) }
        .map(|h| HeaderBlock::from(h.0))
        .map_err(|_| "respond: the headers must be a string, a list id or null")
}

unsafe fn throw(env: sys::napi_env, message: &'static str) -> sys::napi_value {
    let mut text = Vec::with_capacity(message.len() + 1);
    text.extend_from_slice(message.as_bytes());
    text.push(0);
    // SAFETY: a NUL-terminated message; N-API copies it.
    unsafe { sys::napi_throw_type_error(env, null_mut(), text.as_ptr().cast()) };
    null_mut()
}

/// Frees a function's `Exchanges` once V8 has collected the function.
unsafe extern "C" fn finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the box `function` leaked for this function, finalized once.
    drop(unsafe { Box::from_raw(data.cast::<Exchanges>()) });
}

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// A JS function named `name` running `callback` with its own handle on `exchanges`.
unsafe fn function(
    env: sys::napi_env,
    name: &'static str,
    callback: Callback,
    exchanges: &Exchanges,
) -> napi::Result<sys::napi_value> {
    let data = Box::into_raw(Box::new(exchanges.clone())).cast::<c_void>();
    let mut value = null_mut();
    // SAFETY: `env` is live (we are in a JS call); `data` outlives the function (finalizer below).
    let made = unsafe {
        sys::napi_create_function(
            env,
            name.as_ptr().cast(),
            name.len() as isize,
            Some(callback),
            data,
            &mut value,
        )
    };
    if made != sys::Status::napi_ok
        || unsafe {
            sys::napi_add_finalizer(env, value, data, Some(finalize), null_mut(), null_mut())
        } != sys::Status::napi_ok
    {
        // SAFETY: the function was not made, or will never free `data`: free it here.
        drop(unsafe { Box::from_raw(data.cast::<Exchanges>()) });
        return Err(napi::Error::from_reason(format!("cannot make {name}")));
    }
    Ok(value)
}

/// An object of the fast calls answering `exchanges`, by their JS names.
pub(crate) fn functions(
    env: sys::napi_env,
    exchanges: &Exchanges,
) -> napi::Result<sys::napi_value> {
    let calls: [(&'static str, Callback); 7] = [
        ("respondText", respond_text),
        ("respondBytes", respond_bytes),
        ("write", write),
        ("writeText", write_text),
        ("wsSendText", ws_send_text),
        ("wsSendBytes", ws_send_bytes),
        ("wsCredit", ws_credit),
    ];
    // SAFETY: called from a JS call on this thread, with its live env.
    unsafe {
        let mut object = null_mut();
        if sys::napi_create_object(env, &mut object) != sys::Status::napi_ok {
            return Err(napi::Error::from_reason("cannot make the fast calls"));
        }
        for (name, callback) in calls {
            let value = function(env, name, callback, exchanges)?;
            let key = std::ffi::CString::new(name).expect("no NUL in the name");
            if sys::napi_set_named_property(env, object, key.as_ptr(), value)
                != sys::Status::napi_ok
            {
                return Err(napi::Error::from_reason(format!("cannot set {name}")));
            }
        }
        Ok(object)
    }
}
