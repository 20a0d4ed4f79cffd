//! The SANE backend's life cycle against libsane's `test` backend (Debian `libsane1
//! sane-utils`): discovery while libsane is stuck, a missing libsane, and the libsane thread
//! that ends with its last user. Without libsane the tests FAIL naming the packages.
#![cfg(feature = "sane")]

mod sane_peer;
#[path = "sane_peer/scan.rs"]
mod sane_scan;
mod threads;

use std::process::Command;
use std::time::Duration;

use buergerkoffer::backend::sane::SaneProvider;
use buergerkoffer::scan::{ColorMode, ScanRequest};
use buergerkoffer::{ErrorKind, Kit, Provider, Scanner};
use sane_peer::sane_env;

use sane_scan::{area, open, scan_all, LIMIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_times_out_while_libsane_is_stuck_and_works_afterwards() {
    tokio::time::timeout(LIMIT, async {
        let s = open(13).await;
        // Keep the libsane thread inside slow sane_read calls (100 ms each).
        let slow = ScanRequest::new()
            .resolution(100)
            .mode(ColorMode::Gray)
            .area(area(200.0, 200.0))
            .option("read-delay", "yes")
            .option("read-delay-duration", "100000");
        let stream = s.scan(&slow).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let quick = SaneProvider::new().with_discovery_timeout(Duration::from_millis(20));
        let mut outcome = None;
        // The listing can slip in between two reads; a few tries make that vanishingly rare.
        for _ in 0..5 {
            match quick.devices().await {
                Err(e) if e.kind() == ErrorKind::Timeout => {
                    outcome = Some(e);
                    break;
                }
                Ok(_) => continue,
                Err(e) => panic!("{e}"),
            }
        }
        let e = outcome.expect("discovery never timed out");
        assert!(
            e.to_string().starts_with("sane: list devices: timed out"),
            "{e}"
        );
        drop(stream);
        let devices = SaneProvider::new().devices().await.unwrap();
        assert_eq!(devices.len(), 40);
    })
    .await
    .unwrap();
}

/// Runs one `child_*` test of this binary in a fresh process (its own libsane, nothing else
/// running) and checks that it reported success.
fn run_child(name: &str, envs: &[(&str, &str)]) {
    sane_env();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("BK_SANE_CHILD", name)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("CHILD-OK {name}")),
        "{name} did not run:\n{stdout}\n{stderr}"
    );
}

/// Whether this process runs `name` as a child of [`run_child`]. In the normal test run the
/// `child_*` tests return at once: their checks run in the child the parent test starts.
fn is_child(name: &str) -> bool {
    std::env::var("BK_SANE_CHILD").is_ok_and(|v| v == name)
}

#[test]
fn a_missing_libsane_is_not_found_naming_the_packages() {
    run_child(
        "child_missing_libsane",
        &[("BUERGERKOFFER_LIBSANE", "/nonexistent/libsane.so.1")],
    );
}

#[tokio::test]
async fn child_missing_libsane() {
    if !is_child("child_missing_libsane") {
        return;
    }
    let e = SaneProvider::new().devices().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let msg = e.to_string();
    assert!(msg.contains("/nonexistent/libsane.so.1"), "{msg}");
    assert!(msg.contains("libsane1 sane-utils"), "{msg}");
    let e = Kit::with_enabled_backends()
        .open_scanner(&"sane:test".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("libsane1 sane-utils"), "{e}");
    println!("CHILD-OK child_missing_libsane");
}

#[test]
fn the_libsane_thread_ends_with_its_last_user_and_restarts() {
    run_child("child_thread_lifecycle", &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_thread_lifecycle() {
    if !is_child("child_thread_lifecycle") {
        return;
    }
    let req = ScanRequest::new()
        .resolution(50)
        .mode(ColorMode::Gray)
        .area(area(20.0, 20.0));
    for round in 0..2 {
        let s = open(14).await;
        assert_eq!(threads::named("libsane"), 1, "round {round}");
        let (pages, err) = scan_all(&s, &req).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(pages.len(), 1);
        drop(s);
        // sane_close, sane_exit, thread gone.
        threads::wait_for("libsane", 0, Duration::from_secs(10)).await;
    }
    println!("CHILD-OK child_thread_lifecycle");
}
