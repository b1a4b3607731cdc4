//! A JS string made from bytes, one character per byte (latin1): header bytes cross untouched.
#![allow(unsafe_code)]

use napi::bindgen_prelude::{ToNapiValue, TypeName, ValueType};
use napi::{sys, Error, Result, Status};

/// Bytes that become a latin1 JS string.
pub struct Latin1(pub Vec<u8>);

impl TypeName for Latin1 {
    fn type_name() -> &'static str {
        "String(latin1)"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ToNapiValue for Latin1 {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let mut out = std::ptr::null_mut();
        // SAFETY: `env` is the live env of the calling JS thread (guaranteed by napi-rs, which
        // only converts values inside a callback scope) and the pointer/length describe `val.0`.
        let status = unsafe {
            sys::napi_create_string_latin1(
                env,
                val.0.as_ptr().cast(),
                val.0.len() as isize,
                &mut out,
            )
        };
        if status != sys::Status::napi_ok {
            return Err(Error::new(
                Status::GenericFailure,
                "cannot create latin1 string",
            ));
        }
        Ok(out)
    }
}

/// JS strings reach Rust as UTF-8; header text is latin1, so map each char back to one byte.
pub fn to_latin1_bytes(s: String) -> Vec<u8> {
    if s.is_ascii() {
        return s.into_bytes();
    }
    s.chars()
        .map(|c| {
            if (c as u32) < 256 {
                c as u32 as u8
            } else {
                b'?'
            }
        })
        .collect()
}
