//! Helpers for the two SANE peer test binaries (`peer_sane`, `peer_sane_lifecycle`): open a
//! `test` device, scan a whole job, a scan area.

#![allow(dead_code)]

use std::time::Duration;

use buergerkoffer::backend::sane::{SaneProvider, SaneScanner};
use buergerkoffer::scan::{Page, ScanArea, ScanRequest};
use buergerkoffer::{DeviceId, Scanner};

use crate::sane_peer::{sane_env, INSTALL};

/// How long one SANE test may take.
pub const LIMIT: Duration = Duration::from_secs(120);

/// Opens `sane:test:N`, failing with what to install.
pub async fn open(n: u32) -> SaneScanner {
    sane_env();
    let id: DeviceId = format!("sane:test:{n}").parse().unwrap();
    match SaneProvider::new().open(&id).await {
        Ok(s) => s,
        Err(e) => panic!("cannot open {id}: {e} ({INSTALL})"),
    }
}

/// Scans and collects pages and the error (if any) that ended the stream.
pub async fn scan_all(
    s: &SaneScanner,
    req: &ScanRequest,
) -> (Vec<Page>, Option<buergerkoffer::Error>) {
    let mut stream = s.scan(req).await.unwrap_or_else(|e| panic!("scan: {e}"));
    let mut pages = Vec::new();
    while let Some(p) = stream.next_page().await {
        match p {
            Ok(p) => pages.push(p),
            Err(e) => return (pages, Some(e)),
        }
    }
    (pages, None)
}

pub fn area(w: f64, h: f64) -> ScanArea {
    ScanArea {
        x_mm: 0.0,
        y_mm: 0.0,
        width_mm: w,
        height_mm: h,
    }
}
