//! `scan_to_pdf` with blank-page removal: blank back sides are dropped and counted, printed
//! pages kept in order; off by default; a batch of only blank pages writes no file. And the
//! summary names the JPEG encoder that ran.

mod pdf_util;

use buergerkoffer::mock::render_page;
use buergerkoffer::pdf::{Encoding, JpegEncoder};
use buergerkoffer::pipeline::{pages_to_pdf, ScanToPdfOptions};
use buergerkoffer::scan::{Page, PageStream, PixelFormat, ScanArea};
use buergerkoffer::ErrorKind;
use pdf_util::*;

const DPI: u32 = 150;

/// An empty page as a scanner sees it: off-white with +-8 of deterministic noise.
fn blank(index: u32) -> Page {
    let (w, h) = ScanArea::A4.pixels(DPI);
    let mut x = 0x9E37_79B9_u32.wrapping_add(index);
    let px: Vec<u8> = (0..w * h)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (232 + (x % 17) as i32 - 8) as u8
        })
        .collect();
    Page::raw(index, w, h, (DPI, DPI), PixelFormat::Gray8, px).expect("page")
}

fn printed(index: u32) -> Page {
    let (w, h) = ScanArea::A4.pixels(DPI);
    let px = render_page(PixelFormat::Gray8, w, h, DPI);
    Page::raw(index, w, h, (DPI, DPI), PixelFormat::Gray8, px).expect("page")
}

fn stream(pages: Vec<Page>) -> PageStream {
    PageStream::new(futures_util::stream::iter(pages.into_iter().map(Ok)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blank_back_sides_are_dropped_and_counted_only_when_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let duplex = || vec![printed(0), blank(1), printed(2), blank(3), blank(4)];
    let out = dir.path().join("dropped.pdf");
    let opts = ScanToPdfOptions::new().drop_blank(true).threads(2);
    let done = pages_to_pdf("test", stream(duplex()), &out, &opts)
        .await
        .expect("scan to pdf");
    assert_eq!((done.pages, done.blank_pages_dropped), (2, 3));
    assert_eq!(page_count(&out), 2);
    qpdf_check(&out);
    assert_eq!(done.jpeg_encoder, Some(JpegEncoder::Auto.resolve()));

    // Off by default: every page is kept.
    let out = dir.path().join("kept.pdf");
    let done = pages_to_pdf("test", stream(duplex()), &out, &ScanToPdfOptions::new())
        .await
        .expect("scan to pdf");
    assert_eq!((done.pages, done.blank_pages_dropped), (5, 0));
    assert_eq!(page_count(&out), 5);

    // Flate pages: no JPEG encoder ran.
    let out = dir.path().join("flate.pdf");
    let opts = ScanToPdfOptions::new().encoding(Encoding::Flate);
    let done = pages_to_pdf("test", stream(vec![printed(0)]), &out, &opts)
        .await
        .expect("scan to pdf");
    assert_eq!(done.jpeg_encoder, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_only_blank_pages_writes_no_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("empty.pdf");
    let opts = ScanToPdfOptions::new().drop_blank(true);
    let e = pages_to_pdf("test", stream(vec![blank(0), blank(1)]), &out, &opts)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoDocuments);
    assert!(e.to_string().contains("all 2 pages were blank"), "{e}");
    assert_eq!(e.pages(), Some(0));
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}
