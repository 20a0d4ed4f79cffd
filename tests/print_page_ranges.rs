//! `page-ranges`: a PDF goes as it is (with the attribute) only to a printer that selects
//! pages itself; otherwise exactly the chosen pages are rendered, in order, and read back with
//! the tests' own PWG reader (`print_raster/pwg.rs`); ranges that choose nothing are typed
//! errors. Default features, no printer.

#[path = "print_raster/pwg.rs"]
mod pwg;

use buergerkoffer::pdf::{encode_page, EncodeOptions, PdfOptions, PdfWriter};
use buergerkoffer::print::convert::{self, Plan, Target};
use buergerkoffer::print::raster::RasterType;
use buergerkoffer::print::{
    Document, DocumentFormat, PageRange, PrintOptions, PrintScaling, PrinterCapabilities,
    RasterSupport,
};
use buergerkoffer::scan::{Page, PixelFormat};
use buergerkoffer::ErrorKind;

/// A PDF of `n` pages; page k (1-based) is a black bar k inches wide and 1 inch high, so the
/// ink on a sheet printed at actual size tells which page it is.
fn bars_pdf(n: u32) -> Vec<u8> {
    let mut out = PdfWriter::new(Vec::new(), &PdfOptions::new()).unwrap();
    for k in 1..=n {
        let (w, h) = (72 * k, 72);
        let page = Page::raw(
            0,
            w,
            h,
            (72, 72),
            PixelFormat::Gray8,
            vec![0; (w * h) as usize],
        )
        .unwrap();
        out.add_page(&encode_page(&page, &EncodeOptions::default()).unwrap())
            .unwrap();
    }
    out.finish().unwrap()
}

fn raster_printer() -> PrinterCapabilities {
    let mut raster = RasterSupport::default();
    raster.pwg_types = vec![RasterType::Sgray8];
    raster.pwg_resolutions = vec![(75, 75)];
    PrinterCapabilities::new(vec![DocumentFormat::PwgRaster]).with_raster(raster)
}

fn options(ranges: &str) -> PrintOptions {
    PrintOptions::new()
        .scaling(PrintScaling::None)
        .page_ranges(PageRange::parse_list(ranges).unwrap())
}

async fn rendered(
    doc: Document,
    o: &PrintOptions,
    caps: &PrinterCapabilities,
) -> Vec<pwg::PwgPage> {
    let plan = convert::plan("test", &doc, o, &Target::new(caps)).unwrap();
    assert!(matches!(plan, Plan::Render(_)), "{plan:?}");
    let bytes = convert::body_bytes("test", doc, &plan, None).await.unwrap();
    pwg::pages(&bytes).expect("well-formed PWG raster")
}

#[tokio::test]
async fn only_the_chosen_pages_are_rendered_in_order() {
    let caps = raster_printer();
    let all = rendered(Document::pdf(bars_pdf(5)), &options("1-5"), &caps).await;
    assert_eq!(all.len(), 5);
    let ink: Vec<f64> = all.iter().map(pwg::PwgPage::ink).collect();
    // Page k carries k times the ink of page 1.
    for (k, i) in ink.iter().enumerate() {
        let ratio = i / ink[0];
        assert!(
            (ratio - (k + 1) as f64).abs() < 0.1,
            "page {} has {ratio:.2}x the ink of page 1",
            k + 1
        );
    }
    let some = rendered(Document::pdf(bars_pdf(5)), &options("2,4-5"), &caps).await;
    let got: Vec<f64> = some.iter().map(pwg::PwgPage::ink).collect();
    assert_eq!(got.len(), 3);
    for (g, want) in got.iter().zip([ink[1], ink[3], ink[4]]) {
        assert!(
            (g - want).abs() < 1e-9,
            "{got:?} vs pages 2, 4, 5 of {ink:?}"
        );
    }
    // Every sheet is A4 at 75 dpi.
    for p in &some {
        assert_eq!((p.width, p.height, p.dpi), (620, 877, (75, 75)));
    }
}

#[tokio::test]
async fn a_printer_that_selects_pages_gets_the_pdf_as_it_is() {
    let mut caps = PrinterCapabilities::new(vec![DocumentFormat::Pdf, DocumentFormat::PwgRaster])
        .with_raster(raster_printer().raster);
    let doc = || Document::pdf(bars_pdf(3));
    caps.page_ranges = true;
    let plan = convert::plan("test", &doc(), &options("2"), &Target::new(&caps)).unwrap();
    assert_eq!(plan, Plan::AsIs(DocumentFormat::Pdf));
    // Without page-ranges-supported the chosen page is rendered instead.
    caps.page_ranges = false;
    let pages = rendered(doc(), &options("2"), &caps).await;
    assert_eq!(pages.len(), 1);
    // A PDF-only printer that cannot select pages: nothing fits, and the error says why.
    let pdf_only = PrinterCapabilities::new(vec![DocumentFormat::Pdf]);
    let e = convert::plan("test", &doc(), &options("2"), &Target::new(&pdf_only)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("page-ranges-supported"), "{e}");
    // Without page ranges the PDF goes as it is.
    let plan = convert::plan(
        "test",
        &doc(),
        &PrintOptions::new(),
        &Target::new(&pdf_only),
    );
    assert_eq!(plan.unwrap(), Plan::AsIs(DocumentFormat::Pdf));
}

#[tokio::test]
async fn one_chosen_page_of_a_long_pdf_can_go_to_a_jpeg_printer() {
    let caps =
        PrinterCapabilities::new(vec![DocumentFormat::Jpeg]).with_resolutions(vec![(72, 72)]);
    let doc = || Document::pdf(bars_pdf(4));
    let plan = convert::plan("test", &doc(), &options("3"), &Target::new(&caps)).unwrap();
    let jpeg = convert::body_bytes("test", doc(), &plan, None)
        .await
        .unwrap();
    let img = image::load_from_memory(&jpeg).unwrap();
    // Page 3 at its own size: 3 x 1 inch.
    let dpi = img.width() as f64 / 3.0;
    assert!(
        (img.height() as f64 - dpi).abs() <= 1.0,
        "{}x{}",
        img.width(),
        img.height()
    );
    // All four pages cannot be one JPEG.
    let e = match convert::body_bytes("test", doc(), &plan_all(&caps), None).await {
        Err(e) => e,
        Ok(b) => panic!("four pages made one JPEG of {} bytes", b.len()),
    };
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

fn plan_all(caps: &PrinterCapabilities) -> Plan {
    convert::plan(
        "test",
        &Document::pdf(bars_pdf(4)),
        &PrintOptions::new(),
        &Target::new(caps),
    )
    .unwrap()
}

#[tokio::test]
async fn ranges_that_choose_nothing_are_errors() {
    let caps = raster_printer();
    let doc = Document::pdf(bars_pdf(3));
    let plan = convert::plan("test", &doc, &options("4-9"), &Target::new(&caps)).unwrap();
    let e = match convert::body_bytes("test", doc, &plan, None).await {
        Err(e) => e,
        Ok(b) => panic!("{} bytes rendered from ranges beyond the document", b.len()),
    };
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.to_string().contains("3 page"), "{e}");
    // A one-page document: only page 1 can be chosen.
    let png = Document::file("photo.png");
    let e = convert::plan("test", &png, &options("2"), &Target::new(&caps)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    // Bad ranges are refused before anything is read.
    let bad = PrintOptions::new().page_ranges(vec![PageRange::new(3, 2)]);
    assert_eq!(
        bad.validate("test").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[tokio::test]
async fn pages_leave_in_order_whatever_the_number_of_render_threads() {
    let caps = raster_printer();
    let doc = || Document::pdf(bars_pdf(7));
    let o = options("1-2,4-7");
    let Plan::Render(spec) = convert::plan("test", &doc(), &o, &Target::new(&caps)).unwrap() else {
        panic!("a raster printer gets the PDF rendered");
    };
    let mut outputs = Vec::new();
    for threads in [1, 2, 3, 4] {
        let mut s = spec.clone();
        s.threads = threads;
        let bytes = convert::body_bytes("test", doc(), &Plan::Render(s), None)
            .await
            .unwrap();
        outputs.push(bytes);
    }
    for (i, o) in outputs.iter().enumerate().skip(1) {
        assert!(
            o == &outputs[0],
            "{} threads made other bytes than one",
            i + 1
        );
    }
    let pages = pwg::pages(&outputs[0]).unwrap();
    let ink: Vec<f64> = pages.iter().map(pwg::PwgPage::ink).collect();
    assert_eq!(ink.len(), 6);
    assert!(
        ink.windows(2).all(|w| w[0] < w[1]),
        "bars grow page by page: {ink:?}"
    );
}
