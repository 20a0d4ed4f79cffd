//! This test process's threads, counted by name (Linux `/proc/self/task/*/comm`; the kernel
//! cuts names to 15 bytes).
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Threads of this process named `name`.
pub fn named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|c| c.trim() == name)
        .count()
}

/// Waits until exactly `want` threads are named `name`; panics after `within`.
pub async fn wait_for(name: &str, want: usize, within: Duration) {
    let t = Instant::now();
    while named(name) != want {
        assert!(
            t.elapsed() < within,
            "{name}: {} threads after {within:?}, expected {want}",
            named(name)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
