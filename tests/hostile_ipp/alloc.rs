//! A counting global allocator for the hostile-peer tests: the largest single allocation
//! and the peak of live heap bytes since the last [`reset`], and a guard that refuses any
//! allocation that would take the live heap past [`GUARD`] (the process then aborts with
//! "memory allocation failed" instead of taking the machine's memory).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// Live heap beyond which allocations fail.
pub const GUARD: usize = 1 << 30;

pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn grew(old: usize, new: usize) -> bool {
    let added = new.saturating_sub(old);
    let live = LIVE.fetch_add(added, Relaxed) + added;
    if live > GUARD {
        LIVE.fetch_sub(added, Relaxed);
        return false;
    }
    PEAK.fetch_max(live, Relaxed);
    LARGEST.fetch_max(new, Relaxed);
    true
}

// SAFETY: every method forwards to `System` with the caller's layout; the counters do not
// touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !grew(0, layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !grew(0, layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            if !grew(layout.size(), new_size) {
                return std::ptr::null_mut();
            }
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Relaxed);
        }
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What the heap did since [`reset`].
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// The largest single allocation (or reallocation target), bytes.
    pub largest: usize,
    /// The peak of live heap bytes above the live bytes at [`reset`].
    pub peak_growth: usize,
}

static BASE: AtomicUsize = AtomicUsize::new(0);

/// Starts a new measurement.
pub fn reset() {
    let live = LIVE.load(Relaxed);
    BASE.store(live, Relaxed);
    PEAK.store(live, Relaxed);
    LARGEST.store(0, Relaxed);
}

/// The figures since [`reset`].
pub fn stats() -> Stats {
    Stats {
        largest: LARGEST.load(Relaxed),
        peak_growth: PEAK.load(Relaxed).saturating_sub(BASE.load(Relaxed)),
    }
}

/// Bytes in MiB, for messages.
pub fn mib(n: usize) -> String {
    format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
}
