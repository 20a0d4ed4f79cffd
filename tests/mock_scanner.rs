//! MockScanner through `dyn Scanner`: every injected fault with its exact error kind and the
//! pages delivered before it, feeder behaviour, paused-clock delays and hangs, busy and
//! cancel-on-drop, expectations. (FolderScanner and the PNM / JPEG parsers:
//! `mock_scanner_files.rs`.)

use std::time::Duration;

use buergerkoffer::mock::{FolderScanner, MockScanner};
use buergerkoffer::scan::{
    ColorMode, PageData, PixelFormat, Resolutions, ScanArea, ScanCapabilities, ScanRequest, Source,
};
use buergerkoffer::{ErrorKind, Scanner};

static_assertions::assert_impl_all!(MockScanner: Send, Sync, Clone, std::fmt::Debug);
static_assertions::assert_impl_all!(FolderScanner: Send, Sync, Clone, std::fmt::Debug);

fn adf(dpi: u32) -> ScanRequest {
    ScanRequest::new().resolution(dpi).source(Source::Adf)
}

fn boxed(s: &MockScanner) -> Box<dyn Scanner> {
    Box::new(s.clone())
}

#[tokio::test]
async fn feeder_runs_empty_and_the_stream_ends_normally() {
    let mock = MockScanner::new("s").with_adf_pages(3);
    let scanner = boxed(&mock);
    let mut pages = scanner.scan(&adf(50)).await.unwrap();
    // No area in the request: the whole area of the source, as SANE scans it.
    let caps = scanner.capabilities().await.unwrap();
    let (w, h) = ScanArea::whole(caps.max_area_mm).pixels(50);
    for i in 0..3 {
        let p = pages.next_page().await.unwrap().unwrap();
        assert_eq!(p.index, i);
        assert_eq!((p.width, p.height, p.dpi), (w, h, (50, 50)));
        match &p.data {
            PageData::Raw { format, pixels } => {
                assert_eq!(*format, PixelFormat::Rgb8);
                assert_eq!(pixels.len(), w as usize * h as usize * 3);
            }
            other => panic!("unexpected page data {other:?}"),
        }
    }
    assert!(pages.next_page().await.is_none());
    drop(pages);
    assert_eq!(mock.jobs_completed(), 1);
    assert_eq!(mock.jobs_cancelled(), 0);
    assert_eq!(mock.pages_delivered(), 3);
    assert!(!mock.is_busy());
}

#[tokio::test]
async fn empty_feeder_is_no_documents_at_page_one() {
    let mock = MockScanner::new("s").with_adf_pages(0);
    let mut pages = boxed(&mock).scan(&adf(50)).await.unwrap();
    let e = pages.next_page().await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoDocuments);
    assert_eq!(e.pages(), Some(0));
    assert!(e.to_string().contains("mock:s"), "{e}");
    assert!(pages.next_page().await.is_none());
    // The flatbed does not need the feeder.
    let flat = boxed(&mock)
        .scan(&ScanRequest::new().resolution(50))
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(flat.len(), 1);
}

#[tokio::test]
async fn every_fault_keeps_the_pages_before_it() {
    for kind in [
        ErrorKind::PaperJam,
        ErrorKind::CoverOpen,
        ErrorKind::Io,
        ErrorKind::DeviceGone,
        ErrorKind::Backend,
        ErrorKind::Timeout,
    ] {
        for at in [1u32, 3] {
            let mock = MockScanner::new("s").with_adf_pages(5);
            mock.fail_at(at, kind);
            let scanner = boxed(&mock);
            let mut pages = scanner.scan(&adf(50)).await.unwrap();
            for i in 0..at - 1 {
                let p = pages.next_page().await.unwrap().unwrap();
                assert_eq!(p.index, i);
            }
            let e = pages.next_page().await.unwrap().unwrap_err();
            assert_eq!(e.kind(), kind);
            assert_eq!(e.pages(), Some(at as usize - 1));
            assert!(e.to_string().contains(&format!("scan page {at}")), "{e}");
            assert!(pages.next_page().await.is_none(), "nothing after the error");
            drop(pages);
            assert_eq!(mock.jobs_failed(), 1);
            assert!(!mock.is_busy());
            // Persistent: the next job fails again.
            let again = scanner.scan(&adf(50)).await.unwrap().collect_all().await;
            assert_eq!(again.unwrap_err().kind(), kind);
        }
    }
}

#[tokio::test]
async fn a_one_shot_jam_clears_for_the_retry() {
    let mock = MockScanner::new("s").with_adf_pages(4);
    mock.fail_once_at(2, ErrorKind::PaperJam);
    let scanner = boxed(&mock);
    let first = scanner.scan(&adf(50)).await.unwrap().collect_all().await;
    assert_eq!(first.unwrap_err().kind(), ErrorKind::PaperJam);
    let retry = scanner.scan(&adf(50)).await.unwrap().collect_all().await;
    assert_eq!(retry.unwrap().len(), 4);
    mock.fail_at(1, ErrorKind::CoverOpen);
    mock.clear_faults();
    assert_eq!(
        scanner
            .scan(&adf(50))
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn duplex_max_pages_and_flatbed_counts() {
    let mock = MockScanner::new("s").with_adf_pages(3);
    let s = boxed(&mock);
    let duplex = ScanRequest::new().resolution(50).source(Source::AdfDuplex);
    assert_eq!(
        s.scan(&duplex)
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap()
            .len(),
        6
    );
    let limited = adf(50).max_pages(2);
    assert_eq!(
        s.scan(&limited)
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap()
            .len(),
        2
    );
    let flat = ScanRequest::new().resolution(50).max_pages(9);
    assert_eq!(
        s.scan(&flat)
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn pixel_format_and_size_follow_the_request() {
    let mock = MockScanner::new("s");
    let s = boxed(&mock);
    let area = ScanArea {
        x_mm: 0.0,
        y_mm: 0.0,
        width_mm: 100.0,
        height_mm: 50.8,
    };
    for (mode, depth, want) in [
        (ColorMode::Lineart, 1, PixelFormat::Bw1),
        (ColorMode::Gray, 8, PixelFormat::Gray8),
        (ColorMode::Gray, 16, PixelFormat::Gray16),
        (ColorMode::Color, 8, PixelFormat::Rgb8),
        (ColorMode::Color, 16, PixelFormat::Rgb16),
    ] {
        let req = ScanRequest::new()
            .resolution(100)
            .mode(mode)
            .depth(depth)
            .area(area);
        let p = s
            .scan(&req)
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap()
            .remove(0);
        assert_eq!((p.width, p.height), (394, 200));
        let PageData::Raw { format, pixels } = &p.data else {
            panic!("raw page expected")
        };
        assert_eq!(*format, want);
        assert_eq!(pixels.len(), want.row_bytes(394) * 200);
        let mut seen = [false; 256];
        pixels.iter().for_each(|&b| seen[b as usize] = true);
        assert!(
            seen.iter().filter(|&&x| x).count() > 8,
            "{want:?} looks flat"
        );
    }
    // Content is shared between pages, not re-rendered.
    let pages = s.scan(&adf(50)).await.unwrap().collect_all().await.unwrap();
    let ptr = |p: &buergerkoffer::scan::Page| match &p.data {
        PageData::Raw { pixels, .. } => pixels.as_ptr(),
        _ => std::ptr::null(),
    };
    assert_eq!(ptr(&pages[0]), ptr(&pages[9]));
}

#[tokio::test]
async fn bad_requests_are_refused_before_a_job_starts() {
    let mock = MockScanner::new("s");
    let s = boxed(&mock);
    let e = s
        .scan(&ScanRequest::new().resolution(1200))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = s
        .scan(&ScanRequest::new().mode(ColorMode::Lineart).depth(8))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let huge = ScanArea {
        width_mm: 400.0,
        ..ScanArea::A4
    };
    let e = s.scan(&ScanRequest::new().area(huge)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let flatbed_only = MockScanner::new("f").with_capabilities(ScanCapabilities::new(
        Resolutions::List(vec![150, 300]),
        vec![ColorMode::Gray],
        vec![8],
        vec![Source::Flatbed],
        (216.0, 297.0),
    ));
    let f = boxed(&flatbed_only);
    assert_eq!(
        f.capabilities().await.unwrap().sources,
        vec![Source::Flatbed]
    );
    let e = f.scan(&adf(150).mode(ColorMode::Gray)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = f
        .scan(&ScanRequest::new().resolution(200))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert_eq!(mock.jobs_started() + flatbed_only.jobs_started(), 0);
}

#[tokio::test]
async fn injected_start_failure_and_unplug() {
    let mock = MockScanner::new("s").with_adf_pages(5);
    let s = boxed(&mock);
    mock.fail_next_scan(ErrorKind::Busy);
    assert_eq!(s.scan(&adf(50)).await.unwrap_err().kind(), ErrorKind::Busy);
    // One-shot.
    let mut pages = s.scan(&adf(50)).await.unwrap();
    assert!(pages.next_page().await.unwrap().is_ok());
    mock.set_gone(true);
    let e = pages.next_page().await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeviceGone);
    assert_eq!(e.pages(), Some(1));
    drop(pages);
    assert_eq!(
        s.scan(&adf(50)).await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    assert_eq!(
        s.capabilities().await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    mock.set_gone(false);
    assert!(s.capabilities().await.is_ok());
}

#[tokio::test]
async fn second_job_is_busy_and_dropping_the_stream_cancels() {
    let mock = MockScanner::new("s").with_adf_pages(5);
    let s = boxed(&mock);
    let mut pages = s.scan(&adf(50)).await.unwrap();
    assert!(pages.next_page().await.unwrap().is_ok());
    assert!(mock.is_busy());
    let e = s.scan(&adf(50)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Busy);
    drop(pages);
    assert!(!mock.is_busy());
    assert_eq!(mock.jobs_cancelled(), 1);
    assert_eq!(mock.pages_delivered(), 1);
    // A finished job's stream kept alive does not block the next job.
    let mut done = s.scan(&adf(50).max_pages(1)).await.unwrap();
    assert!(done.next_page().await.unwrap().is_ok());
    assert!(done.next_page().await.is_none());
    let next = s.scan(&adf(50).max_pages(1)).await.unwrap();
    assert!(mock.is_busy());
    drop(done);
    assert!(
        mock.is_busy(),
        "dropping an ended job must not release a running one"
    );
    drop(next);
    assert!(!mock.is_busy());
}

#[tokio::test(start_paused = true)]
async fn page_delay_runs_on_tokio_time() {
    let mock = MockScanner::new("s")
        .with_adf_pages(2)
        .with_page_delay(Duration::from_secs(2));
    let s = boxed(&mock);
    let mut pages = s.scan(&adf(50)).await.unwrap();
    let start = tokio::time::Instant::now();
    let early = tokio::time::timeout(Duration::from_secs(1), pages.next_page()).await;
    assert!(early.is_err(), "the page must not arrive before its delay");
    let p = pages.next_page().await.unwrap().unwrap();
    assert_eq!(p.index, 0);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert!(pages.next_page().await.unwrap().is_ok());
    assert_eq!(start.elapsed(), Duration::from_secs(4));
}

#[tokio::test(start_paused = true)]
async fn a_hanging_page_needs_the_callers_timeout() {
    let mock = MockScanner::new("s").with_adf_pages(5);
    mock.hang_at(2);
    let s = boxed(&mock);
    let mut pages = s.scan(&adf(50)).await.unwrap();
    assert!(pages.next_page().await.unwrap().is_ok());
    let r = tokio::time::timeout(Duration::from_secs(3600), pages.next_page()).await;
    assert!(r.is_err(), "page 2 must hang");
    assert!(mock.is_busy());
    drop(pages);
    assert!(!mock.is_busy());
    assert_eq!(mock.jobs_cancelled(), 1);
}

#[tokio::test]
async fn expectations_report_differences_and_unused_requests() {
    let mock = MockScanner::new("s");
    let s = boxed(&mock);
    mock.expect_scans([adf(50), adf(75)]);
    assert!(s.scan(&adf(50)).await.unwrap().collect_all().await.is_ok());
    // Wrong request: refused and reported.
    let e = s.scan(&adf(100)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = mock.done().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("resolution: 100"), "{e}");

    mock.expect_scans([adf(50), adf(75)]);
    assert!(s.scan(&adf(50)).await.is_ok());
    let e = mock.done().unwrap_err();
    assert!(e.to_string().contains("never made"), "{e}");

    mock.expect_scans([adf(50)]);
    assert!(s.scan(&adf(50)).await.is_ok());
    assert_eq!(
        s.scan(&adf(50)).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let e = mock.done().unwrap_err();
    assert!(e.to_string().contains("unexpected scan"), "{e}");

    mock.expect_scans([adf(50)]);
    assert!(s.scan(&adf(50)).await.is_ok());
    mock.done().unwrap();
}

#[tokio::test]
#[should_panic(expected = "without done()")]
async fn a_mock_with_expectations_dropped_without_done_panics() {
    let mock = MockScanner::new("s");
    mock.expect_scans([adf(50)]);
    drop(mock);
}

#[tokio::test]
async fn a_free_running_mock_never_panics_on_drop() {
    let mock = MockScanner::new("s");
    let _ = boxed(&mock)
        .scan(&adf(50))
        .await
        .unwrap()
        .collect_all()
        .await;
    drop(mock);
}
