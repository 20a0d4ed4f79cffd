//! Helpers shared by the record/replay tests: session directories and a recorded scan job.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use buergerkoffer::mock::MockScanner;
use buergerkoffer::record::Recorder;
use buergerkoffer::scan::{ColorMode, Page, ScanArea, ScanRequest, Scanner, Source};
use buergerkoffer::{DeviceId, ErrorKind};
pub fn session_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    (tmp, dir)
}

pub fn session_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("session.jsonl")).unwrap()
}

pub fn small_request(dpi: u32) -> ScanRequest {
    let area = ScanArea {
        x_mm: 0.0,
        y_mm: 0.0,
        width_mm: 30.0,
        height_mm: 20.0,
    };
    ScanRequest::new()
        .resolution(dpi)
        .mode(ColorMode::Gray)
        .source(Source::Adf)
        .area(area)
}

/// What a scan program saw: pages, and the error that ended the job.
#[derive(Debug, PartialEq)]
pub struct Batch {
    pub pages: Vec<Page>,
    pub error: Option<(ErrorKind, String, Option<usize>)>,
}

pub async fn scan_batch(s: &dyn Scanner, dpi: u32) -> buergerkoffer::Result<Batch> {
    s.capabilities().await?;
    let mut stream = s.scan(&small_request(dpi)).await?;
    let mut pages = Vec::new();
    let mut error = None;
    while let Some(p) = stream.next_page().await {
        match p {
            Ok(p) => pages.push(p),
            Err(e) => error = Some((e.kind(), e.to_string(), e.pages())),
        }
    }
    Ok(Batch { pages, error })
}

/// Records a 5-sheet feeder job that jams at page 3.
pub async fn record_jam(dir: &Path) -> (Batch, DeviceId) {
    let mock = MockScanner::new("scanner").with_adf_pages(5);
    mock.fail_at(3, ErrorKind::PaperJam);
    let rec = Recorder::create(dir).unwrap();
    let scanner = rec.scanner(Box::new(mock.clone()));
    let batch = scan_batch(&scanner, 50).await.unwrap();
    rec.finish().unwrap();
    (batch, mock.info().id.clone())
}
