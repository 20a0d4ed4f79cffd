//! Documents rendered in-process on raster-only printers: `ippeveprinter` taking only
//! `image/pwg-raster`, only `image/urf` or only `image/jpeg` gets a real PDF (a Debian
//! documentation PDF nobody here wrote), a generated two-page PDF and a PNG; what it spools is
//! read back with independent tools (cups-filters' `rastertopdf` = libcups' raster reader,
//! then poppler; ImageMagick for JPEG) for page count, page size and resolution. And the
//! renderer against poppler's `pdftoppm` at 300 dpi on real PDFs: mean absolute difference
//! per page, bounded.
//!
//! Needs the Debian packages `cups-ipp-utils avahi-daemon dbus cups-filters poppler-utils
//! imagemagick libtasn1-doc shared-mime-info`.

#![cfg(feature = "ipp")]

#[path = "peer_ipp/support.rs"]
mod support;

#[path = "print_raster/check.rs"]
mod check;

#[path = "print_raster/docs.rs"]
mod docs;

use std::path::Path;
use std::time::Duration;

use buergerkoffer::backend::ipp::IppPrinter;
use buergerkoffer::print::raster::{decode_rows, RasterType, HEADER_LEN};
use buergerkoffer::print::render::{self, source, Input, MediaSize, Output, RenderSpec};
use buergerkoffer::print::{
    Document, DocumentBody, DocumentFormat, JobState, Orientation, PageRange, PrintOptions,
    PrintScaling, Printer,
};
use buergerkoffer::scan::PixelFormat;
use support::Peer;
use tokio::io::AsyncReadExt;

/// Real PDFs shipped by Debian packages (LaTeX/pdfTeX output).
const REAL_PDFS: &[(&str, &str)] = &[
    (
        "/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf",
        "shared-mime-info",
    ),
    ("/usr/share/doc/libtasn1-doc/libtasn1.pdf", "libtasn1-doc"),
];

fn real_pdf(i: usize) -> &'static Path {
    let (p, pkg) = REAL_PDFS[i];
    let p = Path::new(p);
    assert!(
        p.is_file(),
        "{} missing: apt-get install {pkg}",
        p.display()
    );
    p
}

fn png() -> Vec<u8> {
    let p = docs::test_page();
    let PixelFormat::Gray8 = PixelFormat::Gray8 else {
        unreachable!()
    };
    let buergerkoffer::scan::PageData::Raw { pixels, .. } = &p.data else {
        unreachable!()
    };
    let img = image::GrayImage::from_raw(p.width, p.height, pixels.to_vec()).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn print_and_wait(printer: &IppPrinter, doc: Document) -> u32 {
    print_and_wait_with(printer, doc, &PrintOptions::new()).await
}

async fn print_and_wait_with(printer: &IppPrinter, doc: Document, options: &PrintOptions) -> u32 {
    let job = printer
        .print(doc, options)
        .await
        .unwrap_or_else(|e| panic!("print: {e}"));
    let st = printer
        .wait_for_job(job, Duration::from_secs(300), Duration::from_millis(200))
        .await
        .unwrap();
    assert_eq!(st.state, JobState::Completed, "{st:?}");
    job.0
}

fn spooled(peer: &Peer, job: u32) -> std::path::PathBuf {
    let (name, _) = peer.job_file(job);
    peer.dir.path().join(name)
}

/// `n` US letter sheets (ippeveprinter's media-default) at `dpi` as libcups and poppler
/// see them.
fn assert_letter(pages: &[check::SeenPage], n: usize, dpi: u32, what: &str) {
    assert_eq!(pages.len(), n, "{what}: pages {pages:?}");
    for p in pages {
        assert_eq!(p.size_pt, (612, 792), "{what}: letter in points");
        assert_eq!(
            p.pixels,
            (dpi * 17 / 2, dpi * 11),
            "{what}: letter at {dpi} dpi"
        );
        assert_eq!(p.ppi, (dpi, dpi), "{what}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pwg_raster_printer_prints_a_real_pdf_and_images() {
    let peer = Peer::start_fast("image/pwg-raster", false);
    let printer = IppPrinter::connect(&peer.uri, Duration::from_secs(10))
        .await
        .unwrap();
    let pdf = real_pdf(0);
    let job = print_and_wait(&printer, Document::pdf_file(pdf)).await;
    let seen = check::raster_pages(&spooled(&peer, job), "image/pwg-raster");
    // Every page there, on the printer's media-default, at the resolution closest to 300.
    let caps = printer.capabilities().await.unwrap();
    let dpi = caps
        .raster
        .pwg_resolutions
        .iter()
        .map(|r| r.0)
        .min_by_key(|d| d.abs_diff(300))
        .unwrap();
    assert_letter(&seen, 17, dpi, "real PDF");
    assert!(seen.iter().all(|p| p.color == "gray"), "{seen:?}");
    // page-ranges: the printer takes no PDF, so only the chosen pages are rendered.
    let some = PrintOptions::new().page_ranges(PageRange::parse_list("2-3,17").unwrap());
    let job = print_and_wait_with(&printer, Document::pdf_file(pdf), &some).await;
    let chosen = check::raster_pages(&spooled(&peer, job), "image/pwg-raster");
    assert_letter(&chosen, 3, dpi, "pages 2-3,17 of the real PDF");
    let png = Document::new(DocumentFormat::Png, DocumentBody::Bytes(png().into()));
    let job = print_and_wait(&printer, png).await;
    assert_letter(
        &check::raster_pages(&spooled(&peer, job), "image/pwg-raster"),
        1,
        dpi,
        "PNG",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn urf_printer_prints_pdfs_and_images() {
    let peer = Peer::start_fast("image/urf", false);
    let printer = IppPrinter::connect(&peer.uri, Duration::from_secs(10))
        .await
        .unwrap();
    let caps = printer.capabilities().await.unwrap();
    assert!(caps.accepts(&DocumentFormat::Urf), "{caps:?}");
    assert!(
        !caps.raster.urf_resolutions.is_empty(),
        "urf-supported read: {caps:?}"
    );
    let job = print_and_wait(&printer, Document::pdf(docs::pdf(2))).await;
    let path = spooled(&peer, job);
    assert_eq!(&std::fs::read(&path).unwrap()[..8], b"UNIRAST\0");
    let seen = check::raster_pages(&path, "image/urf");
    assert_eq!(seen.len(), 2, "{seen:?}");
    let dpi = caps
        .raster
        .urf_resolutions
        .iter()
        .map(|r| r.0)
        .min_by_key(|d| d.abs_diff(300))
        .unwrap();
    assert_letter(&seen, 2, dpi, "two-page PDF");
    let job = print_and_wait(
        &printer,
        Document::jpeg(std::fs::read(spooled_jpeg()).unwrap()),
    )
    .await;
    assert_eq!(
        check::raster_pages(&spooled(&peer, job), "image/urf").len(),
        1
    );
}

/// A JPEG made by ImageMagick from the PNG (a producer other than this crate).
fn spooled_jpeg() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("bk-print-raster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png_path = dir.join("in.png");
    std::fs::write(&png_path, png()).unwrap();
    let jpg = dir.join("in.jpg");
    let ok = std::process::Command::new("convert")
        .arg(&png_path)
        .args(["-density", "150", "-units", "PixelsPerInch"])
        .arg(&jpg)
        .status()
        .expect("ImageMagick `convert` (Debian package imagemagick)");
    assert!(ok.success());
    jpg
}

#[tokio::test(flavor = "multi_thread")]
async fn jpeg_printer_gets_a_one_page_pdf_and_a_png_as_jpeg() {
    let peer = Peer::start_fast("image/jpeg", false);
    let printer = IppPrinter::connect(&peer.uri, Duration::from_secs(10))
        .await
        .unwrap();
    // A one-page PDF (2 x 1 inch) rendered at 300 dpi at its own size.
    let job = print_and_wait(&printer, Document::pdf(docs::pdf(1))).await;
    let (w, h, dx, dy, _) = check::jpeg_info(&spooled(&peer, job));
    let caps = printer.capabilities().await.unwrap();
    let dpi = caps
        .resolutions
        .iter()
        .map(|r| r.0)
        .min_by_key(|d| d.abs_diff(300))
        .unwrap_or(300);
    assert_eq!((w, h), (2 * dpi, dpi), "2 x 1 inch at {dpi} dpi");
    assert_eq!((dx.round() as u32, dy.round() as u32), (dpi, dpi));
    // A PNG re-encoded as JPEG at its own size.
    let png = Document::new(DocumentFormat::Png, DocumentBody::Bytes(png().into()));
    let job = print_and_wait(&printer, png).await;
    let (w, h, ..) = check::jpeg_info(&spooled(&peer, job));
    assert_eq!((w, h), (300, 150));
    // A 17-page PDF cannot be one JPEG: Unsupported, and nothing is sent.
    let e = printer
        .print(Document::pdf_file(real_pdf(0)), &PrintOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), buergerkoffer::ErrorKind::Unsupported, "{e}");
    assert_eq!(peer.files().len(), 2);
}

/// Renders pages `0..n` of `pdf` gray at 300 dpi, each on a sheet of its own size.
async fn ours(pdf: &Path, n: usize) -> Vec<(u32, u32, Vec<u8>)> {
    let data = bytes::Bytes::from(std::fs::read(pdf).unwrap());
    let doc = source::open_pdf(data.clone()).unwrap();
    let sizes: Vec<(f64, f64)> = doc
        .pages()
        .iter()
        .take(n)
        .map(source::pdf_page_size)
        .collect();
    let mut out = Vec::new();
    for (i, (w, h)) in sizes.into_iter().enumerate() {
        // One page at a time: a PDF holding only page i is not at hand, so render the whole
        // document on sheets of page i's size and keep page i.
        let mut spec = RenderSpec::new(Output::PwgRaster, RasterType::Sgray8, (300, 300));
        spec.media = MediaSize {
            width: w,
            height: h,
        };
        spec.scaling = PrintScaling::None;
        spec.orientation = Some(Orientation::Portrait);
        let mut r = render::render("test", Input::Pdf(data.clone()), spec)
            .await
            .unwrap();
        let mut all = Vec::new();
        r.reader.read_to_end(&mut all).await.unwrap();
        // Walk to page i.
        let mut pos = 4;
        for k in 0..=i {
            let hd = &all[pos..pos + HEADER_LEN];
            let be = |o: usize| u32::from_be_bytes(hd[o..o + 4].try_into().unwrap());
            let (pw, ph) = (be(372), be(376));
            let rows_start = pos + HEADER_LEN;
            let rows = decode_rows(&all[rows_start..], RasterType::Sgray8, pw, ph).unwrap();
            if k == i {
                out.push((pw, ph, rows));
                break;
            }
            // Skip this page's compressed data: re-encode length is unknown, so find the
            // next header by its "PwgRaster" media class.
            let next = all[rows_start..]
                .windows(10)
                .position(|w| w == b"PwgRaster\0")
                .unwrap();
            pos = rows_start + next;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn renders_real_pdfs_like_pdftoppm() {
    // Mean absolute difference (0..255) per page against poppler at 300 dpi, gray.
    const BOUND: f64 = 8.0;
    const PAGES: usize = 2;
    for i in 0..REAL_PDFS.len() {
        let pdf = real_pdf(i);
        let theirs = check::pdftoppm_gray(pdf, 300, 1, PAGES);
        let mine = ours(pdf, PAGES).await;
        assert_eq!(mine.len(), theirs.len());
        for (k, (m, t)) in mine.iter().zip(&theirs).enumerate() {
            assert!(
                m.0.abs_diff(t.0) <= 1 && m.1.abs_diff(t.1) <= 1,
                "{} page {}: {}x{} vs pdftoppm {}x{}",
                pdf.display(),
                k + 1,
                m.0,
                m.1,
                t.0,
                t.1
            );
            let mad = check::mean_abs_diff((m.0, m.1, &m.2), (t.0, t.1, &t.2));
            let (ink_m, ink_t) = (check::ink(&m.2), check::ink(&t.2));
            println!(
                "{} page {}: mean abs diff {mad:.2}, ink {:.3}% vs pdftoppm {:.3}%",
                pdf.display(),
                k + 1,
                ink_m * 100.0,
                ink_t * 100.0
            );
            assert!(
                mad < BOUND,
                "{} page {}: mean abs diff {mad:.2}",
                pdf.display(),
                k + 1
            );
            // Text is there: ink coverage within a third of poppler's.
            assert!(
                ink_t > 0.001 && (ink_m / ink_t - 1.0).abs() < 0.34,
                "ink {ink_m} vs {ink_t}"
            );
        }
    }
}
