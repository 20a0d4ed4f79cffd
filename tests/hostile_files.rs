//! Hostile files and pages (issue 12, defects 5-7): what a folder, a JPEG or a PWG raster
//! stream can do to the crate's readers. Sparse multi-GiB files, a symlink to `/dev/zero`,
//! a FIFO, JPEGs that are only a header or announce 65535x65535 pixels, non-marker bytes,
//! raster headers announcing 30 GB. Every case must end in a typed error (or a correct page)
//! without blocking and without a large allocation: the test binary's allocator refuses any
//! single request above 512 MiB and records the largest one. Checks PDFs with qpdf (fails,
//! never skips, without it).

mod alloc_meter;
mod pdf_util;

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use buergerkoffer::mock::FolderScanner;
use buergerkoffer::pipeline::{pages_to_pdf, scan_to_pdf, ScanToPdfOptions};
use buergerkoffer::print::raster::{decode_rows, RasterType};
use buergerkoffer::scan::{jpeg, pnm, Page, PageStream, PixelFormat, ScanRequest};
use buergerkoffer::{Error, ErrorKind, Scanner};

/// Allocations above this are a failure of the reader under test (the images here are tiny).
const SMALL: usize = 4 << 20;

/// One measured test at a time: the meter is process-wide.
static METER: Mutex<()> = Mutex::new(());

/// Runs `f` on a fresh runtime with the meter reset; returns its result and the largest
/// allocation it made.
fn measured<T>(f: impl std::future::Future<Output = T>) -> (T, usize) {
    let _one = METER.lock().unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    alloc_meter::reset();
    let out = rt.block_on(f);
    let largest = alloc_meter::largest();
    let (refused, biggest) = alloc_meter::refused();
    rt.shutdown_timeout(Duration::from_secs(5));
    assert_eq!(
        refused, 0,
        "refused {refused} allocations, the largest {biggest} bytes"
    );
    (out, largest)
}

fn scan_one(dir: &Path) -> impl std::future::Future<Output = Vec<buergerkoffer::Result<Page>>> {
    let scanner = FolderScanner::new("hostile", dir);
    async move {
        let mut pages = scanner
            .scan(&ScanRequest::new().resolution(100))
            .await
            .unwrap();
        let mut out = Vec::new();
        while let Some(p) = pages.next_page().await {
            out.push(p);
        }
        out
    }
}

fn only_error(results: Vec<buergerkoffer::Result<Page>>) -> Error {
    let mut it = results.into_iter();
    let first = it.next().expect("one result");
    assert!(it.next().is_none(), "the stream ends after the error");
    first.expect_err("an error")
}

// ---------------------------------------------------------------- defect 5: FolderScanner

#[test]
fn folder_reads_only_the_image_of_a_sparse_3_gib_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pgm");
    std::fs::write(&path, b"P5\n1 1\n255\n\x7f").unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let (results, largest) = measured(scan_one(dir.path()));
    assert_eq!(results.len(), 1);
    let page = results.into_iter().next().unwrap().unwrap();
    assert_eq!((page.width, page.height), (1, 1));
    assert_eq!(
        page.data,
        buergerkoffer::scan::PageData::Raw {
            format: PixelFormat::Gray8,
            pixels: vec![0x7f].into()
        }
    );
    assert!(largest < SMALL, "largest allocation {largest} bytes");
}

#[test]
fn folder_refuses_a_symlink_to_dev_zero_and_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.pgm")).unwrap();
    let (results, largest) = measured(scan_one(dir.path()));
    let e = only_error(results);
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("zero.pgm"), "{msg}");
    assert!(msg.contains("not a regular file"), "{msg}");
    assert!(largest < SMALL, "largest allocation {largest} bytes");

    std::fs::remove_file(dir.path().join("zero.pgm")).unwrap();
    std::fs::create_dir(dir.path().join("folder.jpg")).unwrap();
    let (results, _) = measured(scan_one(dir.path()));
    let e = only_error(results);
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("folder.jpg"), "{e}");
}

#[test]
fn folder_refuses_a_fifo_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.pgm");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils)");
    assert!(st.success());
    let scanner = FolderScanner::new("hostile", dir.path());
    let (got, _) = measured(async move {
        let mut pages = scanner.scan(&ScanRequest::new()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), pages.next_page()).await
    });
    let Ok(got) = got else {
        // Unblock the stuck reader (it waits for a writer) so the test binary can end.
        let f = fifo.clone();
        std::thread::spawn(move || drop(std::fs::OpenOptions::new().write(true).open(f)));
        panic!("next_page blocked for 10 s on a FIFO");
    };
    let e = got.expect("an item").expect_err("a FIFO is no page");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("pipe.pgm") && msg.contains("not a regular file"),
        "{msg}"
    );
}

#[test]
fn folder_refuses_a_sparse_3_gib_jpeg_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.jpg");
    std::fs::write(&path, real_jpeg(PixelFormat::Rgb8, 16, 16, false)).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let (results, largest) = measured(scan_one(dir.path()));
    let e = only_error(results);
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.to_string().contains("huge.jpg"), "{e}");
    assert!(largest < SMALL, "largest allocation {largest} bytes");
}

#[test]
fn folder_checks_the_pnm_size_against_the_file_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    // 400 MB announced (within the page limit), 100 bytes present.
    let mut short = b"P5\n20000 20000\n255\n".to_vec();
    short.extend_from_slice(&[0; 100]);
    std::fs::write(dir.path().join("a.pgm"), &short).unwrap();
    let (results, largest) = measured(scan_one(dir.path()));
    let e = only_error(results);
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.to_string().contains("a.pgm"), "{e}");
    assert!(largest < SMALL, "largest allocation {largest} bytes");

    // 3.6 GB announced: beyond the page limit whatever the file holds.
    std::fs::write(dir.path().join("a.pgm"), b"P6\n60000 20000\n255\n\0").unwrap();
    let (results, largest) = measured(scan_one(dir.path()));
    let e = only_error(results);
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(largest < SMALL, "largest allocation {largest} bytes");
    let e = pnm::decode(b"P6\n60000 20000\n255\n\0", "d.ppm").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
}

// ---------------------------------------------------------------- defect 6: JPEG pass-through

/// A real JPEG from `jpeg-encoder` (already a dependency of the crate).
fn real_jpeg(format: PixelFormat, w: u16, h: u16, progressive: bool) -> Vec<u8> {
    let (ct, n) = match format {
        PixelFormat::Gray8 => (jpeg_encoder::ColorType::Luma, 1),
        _ => (jpeg_encoder::ColorType::Rgb, 3),
    };
    let px: Vec<u8> = (0..usize::from(w) * usize::from(h) * n)
        .map(|i| (i * 37 % 251) as u8)
        .collect();
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 80);
    enc.set_progressive(progressive);
    enc.encode(&px, w, h, ct).unwrap();
    out
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The header-only JPEG of the issue: SOI, JFIF, SOF0 64x48 with three components, EOI.
const HEADER_ONLY: &str =
    "ffd8ffe000104a46494600010201012c012c0000ffc00011080030004003011100021100031100ffd9";

/// Writes `pages` (JPEG files) as a PDF at `out` through the pipeline.
async fn jpegs_to_pdf(jpegs: Vec<Vec<u8>>, out: &Path) -> buergerkoffer::Result<usize> {
    let pages: Vec<buergerkoffer::Result<Page>> = jpegs
        .into_iter()
        .enumerate()
        .map(|(i, data)| {
            let (w, h, c) = match jpeg::read_header(&data, "page") {
                Ok(info) => (info.width, info.height, info.components),
                Err(_) => (8, 8, 3),
            };
            Page::jpeg(i as u32, w, h, (100, 100), c.clamp(1, 3) | 1, data)
        })
        .collect();
    let stream = PageStream::new(futures_util::stream::iter(pages));
    let opts = ScanToPdfOptions::new().threads(1);
    pages_to_pdf("test:jpeg", stream, out, &opts)
        .await
        .map(|s| s.pages)
}

#[test]
fn header_only_jpeg_fails_its_page_and_the_saved_pdf_passes_qpdf() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("pages");
    std::fs::create_dir(&pages).unwrap();
    std::fs::write(
        pages.join("01.jpg"),
        real_jpeg(PixelFormat::Rgb8, 64, 48, false),
    )
    .unwrap();
    std::fs::write(pages.join("02.jpg"), hex(HEADER_ONLY)).unwrap();
    let out = dir.path().join("out.pdf");
    let scanner = FolderScanner::new("hostile", &pages);
    let (r, _) = measured(async {
        scan_to_pdf(
            &scanner,
            &ScanRequest::new(),
            &out,
            &ScanToPdfOptions::new(),
        )
        .await
    });
    let e = r.expect_err("a header-only JPEG is no page");
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.to_string().contains("02.jpg"), "{e}");
    assert_eq!(e.pages(), Some(1), "{e}");
    pdf_util::qpdf_check(&out);
    assert_eq!(pdf_util::page_count(&out), 1);

    // The same bytes as a page from any scanner: refused by the encoder, naming the page.
    let out2 = dir.path().join("direct.pdf");
    let (r, _) = measured(jpegs_to_pdf(vec![hex(HEADER_ONLY)], &out2));
    let e = r.expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.to_string().contains("page 1"), "{e}");
    assert!(!out2.exists(), "no PDF without a page");

    // Between good pages: the pages before it are saved, as after a scanner failure.
    let good = real_jpeg(PixelFormat::Gray8, 32, 32, false);
    let out3 = dir.path().join("between.pdf");
    let (r, _) = measured(jpegs_to_pdf(
        vec![good.clone(), hex(HEADER_ONLY), good],
        &out3,
    ));
    let e = r.expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert_eq!(e.pages(), Some(1), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("page 2") && msg.contains("between.pdf"),
        "{msg}"
    );
    pdf_util::qpdf_check(&out3);
    assert_eq!(pdf_util::page_count(&out3), 1);
}

#[test]
fn a_65535_square_jpeg_header_with_41_bytes_of_data_is_refused() {
    let mut d = hex("ffd8ffe000104a46494600010201012c012c0000");
    // SOF0 65535x65535, one component.
    d.extend_from_slice(&hex("ffc0000b08ffffffff01011100"));
    d.extend((0..41u8).map(|i| i.wrapping_mul(89)));
    d.extend_from_slice(&[0xFF, 0xD9]);
    let e = jpeg::validate(&d, "big.jpg").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.to_string().contains("big.jpg"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.pdf");
    let (r, largest) = measured(jpegs_to_pdf(vec![d], &out));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Protocol);
    assert!(!out.exists());
    assert!(largest < SMALL, "largest allocation {largest} bytes");
}

#[test]
fn jpeg_header_reader_refuses_a_non_marker_byte() {
    let mut d = vec![0xFF, 0xD8, 0xFF, 0x9C, 0x00, 0x04, 0x00, 0x00];
    d.extend_from_slice(&hex("ffc0000b08001000100101110000"));
    let e = jpeg::read_header(&d, "odd.jpg").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    assert!(e.to_string().contains("0x9C"), "{e}");
}

#[test]
fn every_pdf_reported_valid_passes_qpdf() {
    let dir = tempfile::tempdir().unwrap();
    let good = [
        real_jpeg(PixelFormat::Rgb8, 40, 24, false),
        real_jpeg(PixelFormat::Gray8, 17, 9, false),
        real_jpeg(PixelFormat::Rgb8, 24, 16, true),
    ];
    let mut variants: Vec<Vec<u8>> = good.to_vec();
    variants.push(hex(HEADER_ONLY));
    for g in &good {
        // Truncations (every 11th length), bytes flipped, a scan header removed, garbage
        // after EOI, a marker that is no marker.
        variants.extend((2..g.len()).step_by(11).map(|n| g[..n].to_vec()));
        for at in (2..g.len()).step_by(29) {
            let mut v = g.clone();
            v[at] ^= 0x5A;
            variants.push(v);
        }
        if let Some(sos) = g.windows(2).position(|w| w == [0xFF, 0xDA]) {
            let mut v = g[..sos].to_vec();
            v.extend_from_slice(&[0xFF, 0xD9]);
            variants.push(v);
        }
        let mut v = g.clone();
        v.extend_from_slice(b"trailing garbage");
        variants.push(v);
        let mut v = g.clone();
        v.splice(2..2, [0xFF, 0x9C, 0x00, 0x02]);
        variants.push(v);
    }
    let (mut ok, mut refused) = (0, 0);
    for (i, v) in variants.into_iter().enumerate() {
        let out = dir.path().join(format!("v{i}.pdf"));
        let (r, largest) = measured(jpegs_to_pdf(vec![v], &out));
        assert!(
            largest < SMALL,
            "variant {i}: largest allocation {largest} bytes"
        );
        match r {
            Ok(n) => {
                assert_eq!(n, 1);
                pdf_util::qpdf_check(&out);
                ok += 1;
            }
            Err(e) => {
                assert!(
                    matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Unsupported),
                    "variant {i}: {e}"
                );
                assert!(!out.exists(), "variant {i}: a refused page leaves no file");
                refused += 1;
            }
        }
    }
    eprintln!("{ok} variants passed through (all pass qpdf), {refused} refused");
    assert!(
        ok >= good.len() + 3,
        "the real JPEGs and their trailing-garbage forms pass"
    );
    assert!(refused > 0);
}

// ---------------------------------------------------------------- defect 7: PWG raster

#[test]
fn raster_decode_of_huge_announced_pages_allocates_only_as_data_arrives() {
    let (results, largest) = measured(async {
        [
            decode_rows(&[0, 0, 0], RasterType::Sgray8, 100_000, 100_000),
            decode_rows(&[0, 0, 0, 0, 0], RasterType::Srgb8, 100_000, 100_000),
            decode_rows(&[], RasterType::Srgb8, u32::MAX, u32::MAX),
            decode_rows(&[255, 127, 0], RasterType::Black1, u32::MAX, 1),
            decode_rows(&[0; 64], RasterType::Srgb8, u32::MAX, 2),
        ]
    });
    for (i, r) in results.into_iter().enumerate() {
        let e = r.expect_err("truncated or too large");
        assert_eq!(e.kind(), ErrorKind::Protocol, "case {i}: {e}");
    }
    assert!(largest < SMALL, "largest allocation {largest} bytes");
    // A real stream still decodes.
    let (rows, _) = measured(async { decode_rows(&[0, 3, 9], RasterType::Sgray8, 4, 1) });
    assert_eq!(rows.unwrap(), vec![9, 9, 9, 9]);
}
