//! JS strings across the boundary, each the cheapest way for what it carries: header text as
//! latin1 (one byte per character, both ways: header bytes cross untouched) and body text as UTF-8
//! written in one pass.
#![allow(unsafe_code)]

use napi::bindgen_prelude::{FromNapiValue, ToNapiValue, TypeName, ValidateNapiValue, ValueType};
use napi::{sys, Error, Result, Status};

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::StringExpected,
            format!("{what}: a string was expected"),
        ))
    }
}

/// Bytes that become a latin1 JS string (the batch's strings).
pub struct Latin1<'a>(pub &'a [u8]);

impl TypeName for Latin1<'_> {
    fn type_name() -> &'static str {
        "String(latin1)"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ToNapiValue for Latin1<'_> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let mut out = std::ptr::null_mut();
        // SAFETY: `env` is the live env of the calling JS thread (napi-rs converts values only
        // inside a callback scope) and the pointer/length describe `val.0`.
        let status = unsafe {
            sys::napi_create_string_latin1(
                env,
                val.0.as_ptr().cast(),
                val.0.len() as isize,
                &mut out,
            )
        };
        check(status, "napi_create_string_latin1")?;
        Ok(out)
    }
}

/// A JS string read one byte per character: the packed header text (`name\0value\0`…). A
/// character past U+00FF keeps its low byte (such a header is invalid whatever is sent).
pub struct HeaderText(pub Vec<u8>);

/// A JS string read as UTF-8 (body text).
pub struct Utf8Text(pub Vec<u8>);

/// Reads a string with `read(buffer, capacity, written)` into a buffer of `capacity` bytes.
unsafe fn read_into(
    capacity: usize,
    read: impl FnOnce(*mut std::os::raw::c_char, usize, &mut usize) -> sys::napi_status,
    what: &str,
) -> Result<Vec<u8>> {
    // One extra byte: N-API always writes a terminating NUL.
    let mut out: Vec<u8> = Vec::with_capacity(capacity + 1);
    let mut written = 0;
    check(
        read(out.as_mut_ptr().cast(), capacity + 1, &mut written),
        what,
    )?;
    // SAFETY: N-API wrote `written` bytes (at most `capacity`) into the buffer.
    unsafe { out.set_len(written) };
    Ok(out)
}

/// The string's length in UTF-16 code units (constant time in V8).
unsafe fn utf16_len(env: sys::napi_env, value: sys::napi_value) -> Result<usize> {
    let mut len = 0;
    // SAFETY: a length query; `value` is a live value of this env.
    let status =
        unsafe { sys::napi_get_value_string_utf16(env, value, std::ptr::null_mut(), 0, &mut len) };
    check(status, "napi_get_value_string_utf16")?;
    Ok(len)
}

impl FromNapiValue for HeaderText {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        // SAFETY: `env` and `value` come from napi-rs inside a JS call.
        let len = unsafe { utf16_len(env, value)? };
        let bytes = unsafe {
            read_into(
                len,
                |buf, cap, written| {
                    sys::napi_get_value_string_latin1(env, value, buf, cap, written)
                },
                "napi_get_value_string_latin1",
            )?
        };
        Ok(HeaderText(bytes))
    }
}

impl FromNapiValue for Utf8Text {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        // SAFETY: as above. A UTF-16 unit never takes more than three UTF-8 bytes, so this
        // capacity holds the whole string and V8 writes it in one pass (no length pass first).
        let len = unsafe { utf16_len(env, value)? };
        let bytes = unsafe {
            read_into(
                len * 3,
                |buf, cap, written| sys::napi_get_value_string_utf8(env, value, buf, cap, written),
                "napi_get_value_string_utf8",
            )?
        };
        Ok(Utf8Text(bytes))
    }
}

// What napi-rs needs to take `HeaderText` as a `#[napi]` argument (`Utf8Text` is read only by
// the raw functions of `fast_calls.rs`).
impl TypeName for HeaderText {
    fn type_name() -> &'static str {
        "string"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}
impl ValidateNapiValue for HeaderText {}
