//! Header lists JS packs once (a `Response`'s own `content-length` and `content-type`, see
//! `src/server/headers.ts`), registered here so that an answer names one by a number: the addon then
//! copies bytes it already holds instead of reading a string out of V8 (a length query and a copy,
//! about 700 instructions a response).
use bytes::Bytes;
use napi_derive::napi;
use std::cell::RefCell;

use crate::strings::HeaderText;

/// The most lists a thread registers; later ones travel as text. JS registers a list once, and only
/// lists made of interned header arrays (themselves bounded), so this holds an app's usual answers.
const MOST: usize = 4096;

thread_local! {
    /// By id. JS keeps one table per thread too (the memo lives in the thread's isolate), so ids
    /// never cross threads.
    static LISTS: RefCell<Vec<Bytes>> = const { RefCell::new(Vec::new()) };
}

fn register(text: &[u8]) -> i32 {
    LISTS.with(|lists| {
        let mut lists = lists.borrow_mut();
        if lists.len() >= MOST {
            return -1;
        }
        lists.push(Bytes::copy_from_slice(text));
        (lists.len() - 1) as i32
    })
}

/// `registerHeaderList(text)`: the id an answer may give instead of `text`, or -1 when the table is
/// full (the answer then gives the text).
#[napi(js_name = "registerHeaderList")]
pub fn register_header_list(text: HeaderText) -> i32 {
    register(&text.0)
}

/// The packed text of list `id`, shared with the answer (no copy); `None` for an id never given.
pub(crate) fn header_list(id: u32) -> Option<Bytes> {
    LISTS.with(|lists| lists.borrow().get(id as usize).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_get_ids_in_order_until_the_table_is_full() {
        let first = register(b"content-type\0text/plain\0");
        assert!(first >= 0);
        assert_eq!(
            header_list(first as u32).as_deref(),
            Some(&b"content-type\0text/plain\0"[..])
        );
        assert_eq!(header_list(u32::MAX), None);
        while register(b"x\0y\0") >= 0 {}
        assert_eq!(register(b"z\0w\0"), -1);
        assert_eq!(LISTS.with(|lists| lists.borrow().len()), MOST);
    }
}
