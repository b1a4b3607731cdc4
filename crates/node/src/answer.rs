//! The two calls every plain request ends with, `respondText` and `respondBytes`, as raw N-API
//! functions bound to one server's exchanges.
//!
//! A `#[napi]` method pays, per call, for napi-rs's borrow tracking of its receiver and arguments
//! (a scope allocated and registered in a thread-local table, then released) and for
//! `napi_unwrap` of `this`: measured under callgrind, about 3,500 instructions of a request's
//! ~30,000. These functions carry their server's [`Exchanges`] as the function's own data, read
//! their four arguments directly and borrow nothing past the call. `NativeServer::answer_functions`
//! makes them once per server; JS installs them over the methods of the same names.
#![allow(unsafe_code)]

use bytes::Bytes;
use napi::bindgen_prelude::FromNapiValue;
use napi::sys;
use starling_core::{Exchanges, HeaderBlock};
use std::ffi::c_void;
use std::ptr::null_mut;

use crate::strings::{HeaderText, Utf8Text};

type Body = unsafe fn(sys::napi_env, sys::napi_value) -> Result<Bytes, &'static str>;

/// `respondText(id, status, headers, body)`: the body a string, sent as UTF-8.
unsafe extern "C" fn respond_text(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe fn text(env: sys::napi_env, value: sys::napi_value) -> Result<Bytes, &'static str> {
        // SAFETY: a live value of the calling env.
        unsafe { Utf8Text::from_napi_value(env, value) }
            .map(|t| Bytes::from(t.0))
            .map_err(|_| "respondText: the body must be a string")
    }
    // SAFETY: called by N-API on the JS thread with its env and callback info.
    unsafe { respond(env, info, text) }
}

/// `respondBytes(id, status, headers, body)`: the body a Uint8Array (a Buffer, or any typed view).
unsafe extern "C" fn respond_bytes(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    unsafe fn bytes(env: sys::napi_env, value: sys::napi_value) -> Result<Bytes, &'static str> {
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
            return Err("respondBytes: the body must be a Uint8Array");
        }
        if len == 0 {
            return Ok(Bytes::new());
        }
        // SAFETY: V8 keeps the view's `len` bytes alive for the call; they are copied out here.
        Ok(Bytes::copy_from_slice(unsafe {
            std::slice::from_raw_parts(data.cast::<u8>(), len)
        }))
    }
    // SAFETY: as above.
    unsafe { respond(env, info, bytes) }
}

/// The shared part: read `(id, status, headers, body)`, answer the exchange, return whether it was
/// still waiting. A wrong argument throws a TypeError, as the `#[napi]` methods did.
unsafe fn respond(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    body: Body,
) -> sys::napi_value {
    let mut argc = 4;
    let mut argv = [null_mut(); 4];
    let mut data = null_mut();
    // SAFETY: N-API fills at most `argc` arguments (missing ones read as `undefined`).
    let status = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            null_mut(),
            &mut data,
        )
    };
    if status != sys::Status::napi_ok || data.is_null() {
        return unsafe { throw(env, "respond: cannot read the call's arguments") };
    }
    // SAFETY: `data` is the `Exchanges` this function was made with; it lives until the function is
    // collected (see `finalize`), which cannot happen during a call of it.
    let exchanges = unsafe { &*data.cast::<Exchanges>() };
    let answered = (|| {
        let id = unsafe { uint(env, argv[0]) }.ok_or("respond: the id must be a number")?;
        let status = unsafe { uint(env, argv[1]) }.ok_or("respond: the status must be a number")?;
        let headers = unsafe { header_block(env, argv[2]) }?;
        let body = unsafe { body(env, argv[3]) }?;
        Ok::<_, &'static str>(exchanges.respond(id, status as u16, headers, body))
    })();
    match answered {
        Ok(answered) => {
            let mut result = null_mut();
            // SAFETY: a plain value creation on the calling env.
            unsafe { sys::napi_get_boolean(env, answered, &mut result) };
            result
        }
        Err(message) => unsafe { throw(env, message) },
    }
}

/// A JS number as u32, or None.
unsafe fn uint(env: sys::napi_env, value: sys::napi_value) -> Option<u32> {
    let mut out = 0;
    // SAFETY: a read of a live value of the calling env.
    (unsafe { sys::napi_get_value_uint32(env, value, &mut out) } == sys::Status::napi_ok)
        .then_some(out)
}

/// The packed header text, or none for `null`/`undefined`.
unsafe fn header_block(
    env: sys::napi_env,
    value: sys::napi_value,
) -> Result<HeaderBlock, &'static str> {
    let mut kind = 0;
    // SAFETY: a type query on a live value.
    unsafe { sys::napi_typeof(env, value, &mut kind) };
    if kind == sys::ValueType::napi_null || kind == sys::ValueType::napi_undefined {
        return Ok(HeaderBlock(Vec::new()));
    }
    // SAFETY: as above.
    unsafe { HeaderText::from_napi_value(env, value) }
        .map(|h| HeaderBlock(h.0))
        .map_err(|_| "respond: the headers must be a string or null")
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

/// A JS function named `name` running `callback` with its own handle on `exchanges`.
unsafe fn function(
    env: sys::napi_env,
    name: &'static str,
    callback: unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value,
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

/// `{ respondText, respondBytes }` answering `exchanges`.
pub(crate) fn functions(
    env: sys::napi_env,
    exchanges: &Exchanges,
) -> napi::Result<sys::napi_value> {
    // SAFETY: called from a JS call on this thread, with its live env.
    unsafe {
        let mut object = null_mut();
        if sys::napi_create_object(env, &mut object) != sys::Status::napi_ok {
            return Err(napi::Error::from_reason("cannot make the answer functions"));
        }
        for (name, callback) in [
            (
                "respondText",
                respond_text as unsafe extern "C" fn(_, _) -> _,
            ),
            ("respondBytes", respond_bytes),
        ] {
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
