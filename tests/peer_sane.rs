//! The SANE backend against libsane's `test` backend (Debian `libsane1 sane-utils`).
//!
//! Each test uses its own test device (`sane:test:N`) so the tests run in parallel: the
//! process gets its own SANE configuration (`SANE_CONFIG_DIR`: `dll.conf` with only `test`,
//! `test.conf` with 40 devices). Pixel sizes and bytes are compared with what `scanimage`
//! produces for the same options. Without libsane or scanimage the tests FAIL naming the
//! packages to install.
#![cfg(feature = "sane")]

mod pdf_util;
mod sane_peer;
#[path = "sane_peer/scan.rs"]
mod sane_scan;
mod threads;

use std::process::Command;
use std::time::{Duration, Instant};

use buergerkoffer::backend::sane::SaneProvider;
use buergerkoffer::pipeline::{scan_to_pdf, ScanToPdfOptions};
use buergerkoffer::scan::{
    pnm, ColorMode, Page, PageData, PixelFormat, Resolutions, ScanArea, ScanRequest, Source,
};
use buergerkoffer::{Backend, DeviceId, ErrorKind, Kit, Provider, RawCode, Scanner};
use sane_peer::{sane_env, INSTALL};
use sane_scan::{area, open, scan_all, LIMIT};

/// Runs `scanimage -d test:N ARGS --format=pnm` and decodes its output.
///
/// scanimage itself sometimes hangs in `sane_exit` after writing its image (about once in a
/// thousand runs here: libsane's reader threads are cancelled asynchronously, which can leave
/// a loader lock held); it is then killed after 30 s and the complete image it wrote is used.
/// An incomplete image fails the test.
fn scanimage(n: u32, args: &[&str]) -> pnm::PnmImage {
    use std::io::Read;
    use std::process::Stdio;
    sane_env();
    let dev = format!("test:{n}");
    let mut child = Command::new("scanimage")
        .args(["-d", &dev, "--format=pnm"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run scanimage ({e}); {INSTALL}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = String::new();
        let _ = stderr.read_to_string(&mut v);
        v
    });
    let t = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if t.elapsed() > Duration::from_secs(30) {
            // Our own child, killed by its handle (pid).
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let data = out.join().unwrap();
    let err = err.join().unwrap();
    if let Some(st) = status {
        assert!(st.success(), "scanimage {args:?} failed ({st}): {err}");
    }
    pnm::decode(&data, "scanimage output")
        .unwrap_or_else(|e| panic!("scanimage {args:?} (status {status:?}): {e}; {err}"))
}

fn raw(page: &Page) -> (PixelFormat, &[u8]) {
    match &page.data {
        PageData::Raw { format, pixels } => (*format, pixels),
        other => panic!("SANE pages are raw, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_lists_the_test_devices_and_kit_opens_them() {
    sane_env();
    tokio::time::timeout(LIMIT, async {
        let provider = SaneProvider::new().with_discovery_timeout(Duration::from_secs(30));
        let devices = provider.devices().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(devices.len(), 40, "{devices:?}");
        let first = &devices[0];
        assert_eq!(first.id.to_string(), "sane:test:0");
        assert_eq!(first.id.backend(), &Backend::Sane);
        assert_eq!(first.vendor.as_deref(), Some("Noname"));
        assert_eq!(first.name, "Noname frontend-tester");
        // The ids round-trip and open through the kit.
        // Only the SANE backend: in the full-feature suite the kit also has PC/SC, whose
        // service another test binary may just have stopped.
        let kit = Kit::new().with_provider(SaneProvider::new());
        let found = kit.discover().await;
        assert!(found.failures.is_empty(), "{:?}", found.failures);
        let id: DeviceId = "sane:test:1".parse().unwrap();
        assert!(found.devices.iter().any(|d| d.id == id));
        let scanner = kit.open_scanner(&id).await.unwrap();
        assert_eq!(scanner.info().id, id);
        // An unknown device is NotFound.
        let e = provider
            .open(&"sane:nosuchbackend".parse().unwrap())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(e.to_string().contains("sane:nosuchbackend"), "{e}");
        // The same device twice is Busy (the test backend allows one open per device).
        let e = provider.open(&id).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy, "{e}");
        assert_eq!(e.raw(), Some(RawCode::Sane(3)));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_and_options_come_from_the_descriptors() {
    tokio::time::timeout(LIMIT, async {
        let s = open(2).await;
        let caps = s.capabilities().await.unwrap();
        assert_eq!(
            caps.resolutions,
            Resolutions::Range {
                min: 1,
                max: 1200,
                step: 1
            }
        );
        assert_eq!(
            caps.modes,
            vec![ColorMode::Lineart, ColorMode::Gray, ColorMode::Color]
        );
        assert_eq!(caps.depths, vec![1, 8, 16]);
        assert_eq!(caps.sources, vec![Source::Flatbed, Source::Adf]);
        assert!((caps.max_area_mm.0 - 200.0).abs() < 1e-6, "{caps:?}");
        assert!((caps.max_area_mm.1 - 200.0).abs() < 1e-6, "{caps:?}");
        let opts = s.options().await.unwrap();
        let rrv = opts
            .iter()
            .find(|o| o.name == "read-return-value")
            .expect("read-return-value option");
        assert_eq!(rrv.value.as_deref(), Some("Default"));
        assert!(rrv.allowed.contains("SANE_STATUS_JAMMED"));
        let tp = opts.iter().find(|o| o.name == "three-pass").unwrap();
        assert!(!tp.active, "three-pass is inactive in gray mode");
        let res = opts.iter().find(|o| o.name == "resolution").unwrap();
        assert!(res.settable && res.active);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_and_depth_matches_scanimage_pixel_for_pixel() {
    tokio::time::timeout(LIMIT, async {
        let s = open(3).await;
        let cases = [
            (ColorMode::Gray, 8, "Gray", PixelFormat::Gray8),
            (ColorMode::Gray, 16, "Gray", PixelFormat::Gray16),
            (ColorMode::Color, 8, "Color", PixelFormat::Rgb8),
            (ColorMode::Color, 16, "Color", PixelFormat::Rgb16),
            (ColorMode::Lineart, 1, "Gray", PixelFormat::Bw1),
        ];
        for (mode, depth, sane_mode, format) in cases {
            let req = ScanRequest::new()
                .resolution(50)
                .mode(mode)
                .depth(depth)
                .area(area(100.0, 150.0))
                .option("test-picture", "Color pattern");
            let (pages, err) = scan_all(&s, &req).await;
            assert!(err.is_none(), "{mode} {depth}: {err:?}");
            assert_eq!(pages.len(), 1, "flatbed gives one page");
            let d = depth.to_string();
            let want = scanimage(
                3,
                &[
                    "--mode",
                    sane_mode,
                    "--depth",
                    &d,
                    "--resolution",
                    "50",
                    "-l",
                    "0",
                    "-t",
                    "0",
                    "-x",
                    "100",
                    "-y",
                    "150",
                    "--test-picture",
                    "Color pattern",
                ],
            );
            let p = &pages[0];
            assert_eq!(
                (p.width, p.height),
                (want.width, want.height),
                "{mode} depth {depth}"
            );
            assert_eq!((p.width, p.height), (196, 295));
            assert_eq!(p.dpi, (50, 50));
            let (f, px) = raw(p);
            assert_eq!(f, format);
            assert_eq!(want.format, format);
            // Same bytes: 16-bit samples are big-endian like scanimage's PNM output.
            assert!(
                px == &want.pixels[..],
                "{mode} depth {depth}: pixels differ"
            );
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeder_batch_of_ten_ends_normally_and_can_run_again() {
    tokio::time::timeout(LIMIT, async {
        let s = open(4).await;
        let req = ScanRequest::new()
            .resolution(50)
            .mode(ColorMode::Gray)
            .source(Source::Adf)
            .area(area(50.0, 60.0));
        for round in 0..2 {
            let (pages, err) = scan_all(&s, &req).await;
            assert!(err.is_none(), "round {round}: {err:?}");
            assert_eq!(pages.len(), 10, "the test feeder holds 10 sheets");
            for (i, p) in pages.iter().enumerate() {
                assert_eq!(p.index as usize, i);
                assert_eq!((p.width, p.height), (98, 118));
            }
        }
        // max_pages stops early.
        let (pages, err) = scan_all(&s, &req.clone().max_pages(3)).await;
        assert!(err.is_none());
        assert_eq!(pages.len(), 3);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_scanner_with_unknown_height() {
    tokio::time::timeout(LIMIT, async {
        let s = open(5).await;
        let req = ScanRequest::new()
            .resolution(50)
            .mode(ColorMode::Gray)
            .option("hand-scanner", "yes");
        let (pages, err) = scan_all(&s, &req).await;
        assert!(err.is_none(), "{err:?}");
        let want = scanimage(5, &["--hand-scanner=yes", "--resolution", "50"]);
        assert_eq!((pages[0].width, pages[0].height), (want.width, want.height));
        assert_eq!((want.width, want.height), (216, 334));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_pass_frames_are_interleaved_like_scanimage() {
    tokio::time::timeout(LIMIT, async {
        let s = open(6).await;
        for depth in [8u8, 16] {
            let req = ScanRequest::new()
                .resolution(50)
                .mode(ColorMode::Color)
                .depth(depth)
                .area(area(80.0, 60.0))
                .option("three-pass", "yes")
                .option("three-pass-order", "BGR")
                .option("test-picture", "Color pattern");
            let (pages, err) = scan_all(&s, &req).await;
            assert!(err.is_none(), "{err:?}");
            let d = depth.to_string();
            let want = scanimage(
                6,
                &[
                    "--mode",
                    "Color",
                    "--depth",
                    &d,
                    "--resolution",
                    "50",
                    "-x",
                    "80",
                    "-y",
                    "60",
                    "--test-picture",
                    "Color pattern",
                ],
            );
            let p = &pages[0];
            assert_eq!((p.width, p.height), (want.width, want.height));
            let (f, px) = raw(p);
            assert_eq!(f, want.format);
            assert!(
                px == &want.pixels[..],
                "three-pass depth {depth}: pixels differ"
            );
        }
        // Inactive in gray mode: refused, naming the option.
        let req = ScanRequest::new()
            .resolution(50)
            .mode(ColorMode::Gray)
            .option("three-pass", "yes");
        let e = s.scan(&req).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("inactive"), "{e}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn padded_lines_fuzzy_parameters_and_short_reads_match_scanimage() {
    tokio::time::timeout(LIMIT, async {
        let s = open(7).await;
        for (mode, sane_mode) in [(ColorMode::Gray, "Gray"), (ColorMode::Color, "Color")] {
            let req = ScanRequest::new()
                .resolution(50)
                .mode(mode)
                .area(area(100.0, 100.0))
                .option("ppl-loss", "7")
                .option("fuzzy-parameters", "yes")
                .option("read-limit", "yes")
                .option("read-limit-size", "333")
                .option("non-blocking", "yes")
                .option("test-picture", "Grid");
            let (pages, err) = scan_all(&s, &req).await;
            assert!(err.is_none(), "{err:?}");
            // scanimage writes padded lines as they come, so compare with its scan without
            // the loss, cropped: the backend's pixels are the first ones of each line.
            let want = scanimage(
                7,
                &[
                    "--mode",
                    sane_mode,
                    "--resolution",
                    "50",
                    "-x",
                    "100",
                    "-y",
                    "100",
                    "--fuzzy-parameters=yes",
                    "--read-limit=yes",
                    "--read-limit-size",
                    "333",
                    "--test-picture",
                    "Grid",
                ],
            );
            let p = &pages[0];
            assert_eq!((want.width, want.height), (196, 196));
            assert_eq!((p.width, p.height), (196 - 7, 196));
            let ch = if mode == ColorMode::Color { 3 } else { 1 };
            let cropped: Vec<u8> = want
                .pixels
                .chunks_exact(196 * ch)
                .flat_map(|row| row[..189 * ch].iter().copied())
                .collect();
            assert!(raw(p).1 == &cropped[..], "{mode}: pixels differ");
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_statuses_map_to_error_kinds_and_keep_the_raw_status() {
    tokio::time::timeout(LIMIT, async {
        let s = open(8).await;
        let cases = [
            ("SANE_STATUS_JAMMED", ErrorKind::PaperJam, 6),
            ("SANE_STATUS_COVER_OPEN", ErrorKind::CoverOpen, 8),
            ("SANE_STATUS_IO_ERROR", ErrorKind::Io, 9),
            ("SANE_STATUS_NO_DOCS", ErrorKind::NoDocuments, 7),
            ("SANE_STATUS_DEVICE_BUSY", ErrorKind::Busy, 3),
            ("SANE_STATUS_NO_MEM", ErrorKind::Backend, 10),
            ("SANE_STATUS_ACCESS_DENIED", ErrorKind::InvalidInput, 11),
            ("SANE_STATUS_CANCELLED", ErrorKind::Cancelled, 2),
            ("SANE_STATUS_INVAL", ErrorKind::InvalidInput, 4),
            ("SANE_STATUS_UNSUPPORTED", ErrorKind::Unsupported, 1),
        ];
        for (status, kind, raw_status) in cases {
            let req = ScanRequest::new()
                .resolution(50)
                .mode(ColorMode::Gray)
                .source(Source::Adf)
                .area(area(30.0, 30.0))
                .option("read-return-value", status);
            // The test backend returns the status from every sane_read, so the feeder job
            // fails at its first page: nothing is kept.
            let (pages, err) = scan_all(&s, &req).await;
            let err = err.unwrap_or_else(|| panic!("{status}: no error"));
            assert!(pages.is_empty());
            assert_eq!(err.kind(), kind, "{status}: {err}");
            assert_eq!(err.raw(), Some(RawCode::Sane(raw_status)));
            assert_eq!(err.pages(), Some(0));
            let msg = err.to_string();
            assert!(msg.starts_with("sane:test:8: scan page 1: "), "{msg}");
            assert!(msg.contains(status), "{msg}");
        }
        // Back to normal: the device works again.
        let req = ScanRequest::new()
            .resolution(50)
            .mode(ColorMode::Gray)
            .area(area(30.0, 30.0))
            .option("read-return-value", "Default");
        let (pages, err) = scan_all(&s, &req).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(pages.len(), 1);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_cancels_mid_page_and_the_next_scan_works() {
    tokio::time::timeout(LIMIT, async {
        let s = open(9).await;
        // A slow page: small reads, each followed by a delay in the backend's reader.
        let slow = ScanRequest::new()
            .resolution(100)
            .mode(ColorMode::Gray)
            .area(area(200.0, 200.0))
            .option("read-limit", "yes")
            .option("read-limit-size", "64")
            .option("read-delay", "yes")
            .option("read-delay-duration", "200000");
        let mut stream = s.scan(&slow).await.unwrap();
        // A second job on the same scanner is refused while this one runs.
        let e = s.scan(&slow).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Busy);
        let got = tokio::time::timeout(Duration::from_millis(300), stream.next_page()).await;
        assert!(got.is_err(), "the slow page should still be scanning");
        let t = Instant::now();
        drop(stream);
        let fast = ScanRequest::new()
            .resolution(50)
            .mode(ColorMode::Gray)
            .area(area(40.0, 40.0))
            .option("read-limit", "no")
            .option("read-delay", "no");
        let (pages, err) = scan_all(&s, &fast).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(pages.len(), 1);
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());

        // Cancel a feeder batch after two pages; the next batch starts normally.
        let adf = fast.clone().source(Source::Adf);
        let mut stream = s.scan(&adf).await.unwrap();
        for _ in 0..2 {
            stream.next_page().await.unwrap().unwrap();
        }
        drop(stream);
        let (pages, err) = scan_all(&s, &adf.max_pages(2)).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(pages.len(), 2);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_before_scanning() {
    tokio::time::timeout(LIMIT, async {
        let s = open(10).await;
        let base = ScanRequest::new().resolution(50).mode(ColorMode::Gray);
        let e = s.scan(&base.clone().resolution(5000)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        let e = s
            .scan(&base.clone().source(Source::AdfDuplex))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
        let e = s
            .scan(&base.clone().option("no-such-option", "1"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("no-such-option"), "{e}");
        let e = s
            .scan(&base.clone().option("test-picture", "Mona Lisa"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("Solid black"), "{e}");
        let e = s
            .scan(&base.clone().area(area(250.0, 10.0)))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        // Values are matched case-insensitively and the scanner still works.
        let (pages, err) = scan_all(
            &s,
            &base
                .clone()
                .area(area(20.0, 20.0))
                .option("test-picture", "solid WHITE"),
        )
        .await;
        assert!(err.is_none(), "{err:?}");
        assert!(raw(&pages[0]).1.iter().all(|&b| b == 0xFF), "solid white");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_to_pdf_end_to_end_passes_qpdf() {
    tokio::time::timeout(LIMIT, async {
        let s = open(11).await;
        let dir = tempfile::tempdir().unwrap();
        for (mode, name) in [
            (ColorMode::Color, "color.pdf"),
            (ColorMode::Lineart, "bw.pdf"),
        ] {
            let out = dir.path().join(name);
            let req = ScanRequest::new()
                .resolution(75)
                .mode(mode)
                .source(Source::Adf)
                .area(ScanArea::A4.clone_with_height(200.0))
                .option("test-picture", "Color pattern");
            let done = scan_to_pdf(&s, &req, &out, &ScanToPdfOptions::new().threads(2))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(done.pages, 10);
            pdf_util::qpdf_check(&out);
        }
        // A failing job saves nothing and says so.
        let out = dir.path().join("jam.pdf");
        let req = ScanRequest::new()
            .resolution(50)
            .mode(ColorMode::Gray)
            .source(Source::Adf)
            .area(area(20.0, 20.0))
            .option("read-return-value", "SANE_STATUS_JAMMED");
        let e = scan_to_pdf(&s, &req, &out, &ScanToPdfOptions::new())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PaperJam);
        assert!(!out.exists());
    })
    .await
    .unwrap();
}

trait AreaExt {
    fn clone_with_height(&self, h: f64) -> ScanArea;
}

impl AreaExt for ScanArea {
    fn clone_with_height(&self, h: f64) -> ScanArea {
        ScanArea {
            height_mm: h,
            width_mm: 200.0,
            ..*self
        }
    }
}
