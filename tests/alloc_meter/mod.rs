//! A counting global allocator for test binaries that check memory bounds: it records the
//! largest single allocation (or reallocation) and refuses any request above a cap, so a
//! parser that sizes a buffer by its input fails visibly (a fallible `try_reserve` gets an
//! error, an infallible allocation aborts the test binary) instead of eating the machine's
//! memory. Install it with `mod alloc_meter;` — the module declares the `#[global_allocator]`.
//! [`largest`] is process-wide (for code that allocates on other threads); [`largest_here`]
//! counts only the calling thread (for parsers fuzzed in parallel tests).
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

thread_local! {
    // Const-initialised and without destructor: usable inside the allocator.
    static LARGEST_HERE: Cell<usize> = const { Cell::new(0) };
}

/// The allocator: `System` plus bookkeeping.
pub struct Meter;

/// Requests above this many bytes are refused (default 512 MiB).
static CAP: AtomicUsize = AtomicUsize::new(512 << 20);
static LARGEST: AtomicUsize = AtomicUsize::new(0);
static REFUSED: AtomicUsize = AtomicUsize::new(0);
static REFUSED_LARGEST: AtomicUsize = AtomicUsize::new(0);

#[global_allocator]
static GLOBAL: Meter = Meter;

impl Meter {
    fn admit(size: usize) -> bool {
        if size > CAP.load(Ordering::Relaxed) {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            REFUSED_LARGEST.fetch_max(size, Ordering::Relaxed);
            return false;
        }
        LARGEST.fetch_max(size, Ordering::Relaxed);
        let _ = LARGEST_HERE.try_with(|l| l.set(l.get().max(size)));
        true
    }
}

// SAFETY: every method forwards to `System` with the caller's layout unchanged, or returns
// null (a valid "allocation failed" answer) without touching memory.
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours; the layout is the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !Self::admit(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` (via `alloc`/`realloc` above) with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !Self::admit(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr`/`layout` are the caller's, from `System`; on null the old block stays.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Sets the cap (bytes) above which requests are refused.
pub fn set_cap(bytes: usize) {
    CAP.store(bytes, Ordering::Relaxed);
}

/// Forgets the largest allocation and the refusals seen so far.
pub fn reset() {
    LARGEST.store(0, Ordering::Relaxed);
    REFUSED.store(0, Ordering::Relaxed);
    REFUSED_LARGEST.store(0, Ordering::Relaxed);
}

/// The largest single allocation admitted since the last [`reset`].
pub fn largest() -> usize {
    LARGEST.load(Ordering::Relaxed)
}

/// Requests refused since the last [`reset`], and the largest of them.
pub fn refused() -> (usize, usize) {
    (
        REFUSED.load(Ordering::Relaxed),
        REFUSED_LARGEST.load(Ordering::Relaxed),
    )
}

/// The largest single allocation admitted on this thread since [`reset_here`].
pub fn largest_here() -> usize {
    LARGEST_HERE.with(Cell::get)
}

/// Forgets this thread's largest allocation.
pub fn reset_here() {
    LARGEST_HERE.with(|l| l.set(0));
}
