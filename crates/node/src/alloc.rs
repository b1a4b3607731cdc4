//! The addon's allocator: mimalloc, entered through its plain `mi_malloc` where that already gives
//! the alignment asked for.
//!
//! The `mimalloc` crate sends every allocation through `mi_malloc_aligned`, whose fast path only
//! covers blocks of up to 1 KiB: a larger block (hyper's 8 KiB read buffer, a header map's table)
//! takes its generic path, about 200 instructions against `mi_malloc`'s 20 to 100. Every mimalloc
//! block is at least 8-byte aligned, so a layout asking for no more than that needs no aligned entry.
#![allow(unsafe_code)]

use libmimalloc_sys as ffi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// The alignment every mimalloc block has, whatever its size.
const BLOCK_ALIGN: usize = 8;

pub struct Allocator;

// SAFETY: each method forwards to the mimalloc entry that honours `layout`'s alignment; every block
// is freed by `mi_free`, which takes blocks from either entry.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            unsafe { ffi::mi_malloc(layout.size()) }.cast()
        } else {
            unsafe { ffi::mi_malloc_aligned(layout.size(), layout.align()) }.cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            unsafe { ffi::mi_zalloc(layout.size()) }.cast()
        } else {
            unsafe { ffi::mi_zalloc_aligned(layout.size(), layout.align()) }.cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { ffi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            unsafe { ffi::mi_realloc(ptr.cast::<c_void>(), new_size) }.cast()
        } else {
            unsafe { ffi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()) }
                .cast()
        }
    }
}
