//! Every mock-scanner fault through the public `Scanner` trait (as `dyn Scanner`, opened via
//! a `Kit`), with the exact error kind and the pages delivered before it.

use std::time::Duration;

use buergerkoffer::mock::{FolderScanner, MockKit, MockScanner, ScanFault};
use buergerkoffer::scan::{pnm, ColorMode, PageData, PixelFormat, ScanArea, ScanRequest, Source};
use buergerkoffer::{DeviceId, ErrorKind, Kit, Scanner};

static_assertions::assert_impl_all!(MockScanner: Send, Sync, Clone);
static_assertions::assert_impl_all!(FolderScanner: Send, Sync);

fn adf(dpi: u32) -> ScanRequest {
    ScanRequest::new().resolution(dpi).source(Source::Adf)
}

/// Scans until the stream ends; returns delivered page indexes and the error, if any.
async fn drain(
    scanner: &dyn Scanner,
    req: &ScanRequest,
) -> (Vec<u32>, Option<buergerkoffer::Error>) {
    let mut pages = scanner.scan(req).await.expect("job starts");
    let mut got = Vec::new();
    while let Some(p) = pages.next_page().await {
        match p {
            Ok(p) => got.push(p.index),
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

#[tokio::test]
async fn each_fault_kind_keeps_earlier_pages() {
    for kind in [
        ErrorKind::PaperJam,
        ErrorKind::CoverOpen,
        ErrorKind::Io,
        ErrorKind::DeviceGone,
        ErrorKind::Busy,
    ] {
        let mock = MockScanner::new("s").feeder(10).fail_at(4, kind);
        let (pages, err) = drain(&mock, &adf(50)).await;
        assert_eq!(pages, vec![0, 1, 2], "{kind:?}");
        let err = err.expect("the fault fired");
        assert_eq!(err.kind(), kind);
        assert_eq!(err.pages(), Some(3));
        assert!(err.to_string().contains("mock:s"), "{err}");
        assert!(err.to_string().contains("page 4"), "{err}");
        mock.done().expect("fault used up");
        assert!(!mock.is_busy());
        // The jam was one-shot: the next job scans the rest of the feeder.
        let (rest, err) = drain(&mock, &adf(50)).await;
        assert!(err.is_none());
        assert_eq!(rest.len(), 7, "{kind:?}: 10 sheets, 3 used");
    }
}

#[tokio::test]
async fn adf_runs_empty_normally_and_empty_feeder_is_no_documents() {
    let mock = MockScanner::new("s").feeder(10);
    let (pages, err) = drain(&mock, &adf(50)).await;
    assert_eq!(pages.len(), 10);
    assert!(err.is_none());
    let (pages, err) = drain(&mock, &adf(50)).await;
    assert!(pages.is_empty());
    assert_eq!(err.unwrap().kind(), ErrorKind::NoDocuments);
}

#[tokio::test]
async fn duplex_gives_two_pages_per_sheet_and_flatbed_one() {
    let mock = MockScanner::new("s").feeder(3);
    let (pages, _) = drain(&mock, &adf(50).source(Source::AdfDuplex)).await;
    assert_eq!(pages.len(), 6);
    assert_eq!(mock.feeder_sheets(), Some(0));
    let (pages, _) = drain(&mock, &ScanRequest::new().resolution(50)).await;
    assert_eq!(pages.len(), 1);
}

#[tokio::test]
async fn every_pixel_format_has_the_right_size() {
    let mock = MockScanner::new("s");
    for (mode, depth, format) in [
        (ColorMode::Lineart, 1, PixelFormat::Bw1),
        (ColorMode::Gray, 8, PixelFormat::Gray8),
        (ColorMode::Gray, 16, PixelFormat::Gray16),
        (ColorMode::Color, 8, PixelFormat::Rgb8),
        (ColorMode::Color, 16, PixelFormat::Rgb16),
    ] {
        let req = ScanRequest::new().resolution(100).mode(mode).depth(depth);
        let page = mock
            .scan(&req)
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap()
            .remove(0);
        let (w, h) = ScanArea::A4.pixels(100);
        assert_eq!((page.width, page.height, page.dpi), (w, h, (100, 100)));
        match &page.data {
            PageData::Raw { format: f, pixels } => {
                assert_eq!(*f, format);
                assert_eq!(pixels.len(), format.row_bytes(w) * h as usize);
            }
            other => panic!("unexpected {other:?}"),
        }
        let (mm_w, mm_h) = page.size_mm();
        assert!((mm_w - 210.0).abs() < 0.5 && (mm_h - 297.0).abs() < 0.5);
    }
}

#[tokio::test(start_paused = true)]
async fn delays_use_tokio_time_and_hangs_hit_the_callers_timeout() {
    let mock = MockScanner::new("s")
        .feeder(3)
        .page_delay(Duration::from_secs(2))
        .hang_at(2);
    let mut pages = mock.scan(&adf(50)).await.unwrap();
    let t0 = tokio::time::Instant::now();
    assert!(pages.next_page().await.unwrap().is_ok());
    assert_eq!(t0.elapsed(), Duration::from_secs(2));
    let r = tokio::time::timeout(Duration::from_secs(60), pages.next_page()).await;
    assert!(r.is_err(), "page 2 hangs until the caller gives up");
    drop(pages);
    assert_eq!(mock.stats().jobs_cancelled, 1);
    assert!(!mock.is_busy());
}

#[tokio::test]
async fn second_job_is_busy_and_drop_cancels() {
    let mock = MockScanner::new("s").feeder(5);
    let mut first = mock.scan(&adf(50)).await.unwrap();
    first.next_page().await.unwrap().unwrap();
    let err = mock.scan(&adf(50)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    drop(first);
    let s = mock.stats();
    assert_eq!(
        (s.jobs_started, s.jobs_cancelled, s.pages_delivered),
        (1, 1, 1)
    );
    assert!(mock.scan(&adf(50)).await.is_ok());
}

#[tokio::test]
async fn unplugged_scanner_is_gone_mid_job() {
    let kit = MockKit::standard();
    let scanner = Kit::new()
        .with_provider(kit.clone())
        .open_scanner(&DeviceId::mock("scanner"))
        .await
        .unwrap();
    let mut pages = scanner.scan(&adf(50)).await.unwrap();
    pages.next_page().await.unwrap().unwrap();
    assert!(kit.unplug(&DeviceId::mock("scanner")));
    let err = pages.next_page().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DeviceGone);
    assert_eq!(err.pages(), Some(1));
    assert_eq!(
        scanner.capabilities().await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
}

#[tokio::test]
async fn bad_requests_are_rejected_before_scanning() {
    let mock = MockScanner::new("s");
    let e = mock
        .scan(&ScanRequest::new().resolution(123))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = mock
        .scan(&ScanRequest::new().mode(ColorMode::Lineart).depth(8))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let big = ScanArea {
        width_mm: 400.0,
        ..ScanArea::A4
    };
    let e = mock.scan(&ScanRequest::new().area(big)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(mock.stats().jobs_started, 0);
}

#[tokio::test]
async fn expectations_report_differences() {
    let mock = MockScanner::new("s")
        .expect_scan(adf(50))
        .expect_scan(adf(75));
    assert!(mock.scan(&adf(50)).await.is_ok());
    // Wrong request: returned as an error, and reported by done().
    let e = mock.scan(&adf(100)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let report = mock.done().unwrap_err().to_string();
    assert!(report.contains("resolution: 75"), "{report}");

    let unused = MockScanner::new("u").expect_scan(adf(50));
    let report = unused.done().unwrap_err().to_string();
    assert!(report.contains("never happened"), "{report}");

    let fault = MockScanner::new("f").fail_at(3, ErrorKind::PaperJam);
    assert!(fault
        .done()
        .unwrap_err()
        .to_string()
        .contains("never fired"));
}

#[test]
#[should_panic(expected = "dropped without done()")]
fn dropping_a_mock_with_expectations_without_done_fails_the_test() {
    let _mock = MockScanner::new("s").expect_scan(adf(50));
}

#[tokio::test]
async fn run_time_injection_reaches_the_device_the_code_opened() {
    let kit = MockKit::standard();
    let handle = kit.scanner("scanner").unwrap();
    let opened = Kit::new()
        .with_provider(kit)
        .open_scanner(&DeviceId::mock("scanner"))
        .await
        .unwrap();
    handle.inject(2, ScanFault::Fail(ErrorKind::CoverOpen));
    let (pages, err) = drain(opened.as_ref(), &adf(50)).await;
    assert_eq!(pages, vec![0]);
    assert_eq!(err.unwrap().kind(), ErrorKind::CoverOpen);
}

#[tokio::test]
async fn folder_scanner_replays_pnm_and_jpeg_and_reports_a_corrupt_file() {
    let dir = tempdir();
    let gray: Vec<u8> = (0..20 * 10).map(|i| i as u8).collect();
    let mut f = Vec::new();
    pnm::write(&mut f, PixelFormat::Gray8, 20, 10, &gray).unwrap();
    std::fs::write(dir.join("01.pgm"), &f).unwrap();
    std::fs::write(dir.join("02.jpg"), minimal_jpeg(40, 30)).unwrap();
    std::fs::write(dir.join("notes.txt"), b"ignored").unwrap();
    std::fs::write(dir.join("03.ppm"), b"P6\n10 10\n255\n\x00\x01").unwrap();
    std::fs::write(dir.join("04.pgm"), &f).unwrap();

    let scanner = FolderScanner::new(&dir);
    assert_eq!(scanner.files().unwrap().len(), 4);
    let mut pages = scanner
        .scan(&ScanRequest::new().resolution(200))
        .await
        .unwrap();
    let p1 = pages.next_page().await.unwrap().unwrap();
    assert_eq!((p1.width, p1.height, p1.dpi), (20, 10, (200, 200)));
    assert!(matches!(&p1.data, PageData::Raw { pixels, .. } if pixels[..] == gray[..]));
    let p2 = pages.next_page().await.unwrap().unwrap();
    assert_eq!((p2.width, p2.height, p2.dpi), (40, 30, (300, 300)));
    assert!(matches!(p2.data, PageData::Jpeg { channels: 3, .. }));
    let err = pages.next_page().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol);
    assert!(err.to_string().contains("03.ppm"), "{err}");
    assert_eq!(err.pages(), Some(2));
    assert!(pages.next_page().await.is_none());

    let empty = tempdir();
    let e = FolderScanner::new(&empty)
        .scan(&ScanRequest::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoDocuments);
    let e = FolderScanner::new(empty.join("missing"))
        .scan(&ScanRequest::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let d = std::env::temp_dir().join(format!(
        "bk-mock-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// JFIF header at 300 dpi and a colour SOF0; enough for the header reader.
fn minimal_jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    v.extend_from_slice(b"JFIF\0\x01\x01\x01\x01\x2C\x01\x2C\0\0");
    v.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
    v.extend_from_slice(&h.to_be_bytes());
    v.extend_from_slice(&w.to_be_bytes());
    v.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    v.extend_from_slice(&[0xFF, 0xD9]);
    v
}
