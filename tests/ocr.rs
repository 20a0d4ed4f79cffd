//! OCR text layer (feature `ocr`) against the real Tesseract: pages with known German and
//! English text are rendered with ImageMagick at test setup, scanned to a PDF/A-2b with
//! `--ocr deu+eng`, and `pdftotext` must find the text (character accuracy bounded) with each
//! word at its place; a page whose OCR fails is kept without text and reported; a missing
//! language fails before scanning.
//!
//! Needs the Debian packages `tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng imagemagick
//! fonts-dejavu-core poppler-utils qpdf`; without them these tests fail and say so.
#![cfg(feature = "ocr")]

mod pdf_util;

use std::path::Path;
use std::process::Command;

use buergerkoffer::ocr::{tesseract_version, OcrEngine, OcrOptions};
use buergerkoffer::pipeline::{pages_to_pdf, ScanToPdfOptions};
use buergerkoffer::scan::{pnm, Page, PageStream, PixelFormat};
use buergerkoffer::ErrorKind;
use pdf_util::*;

const INSTALL: &str = "apt-get install tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng imagemagick fonts-dejavu-core poppler-utils qpdf";
const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const DPI: u32 = 300;

/// The lines of the test pages, and where they are drawn (pixels from the top left, 300 dpi,
/// 12 pt DejaVu Sans: ~50 px high).
const PAGES: [&[&str]; 2] = [
    &[
        "Antrag auf Erteilung eines Personalausweises",
        "Name: Müller, Vorname: Jürgen",
        "Anschrift: Hauptstraße 12, 04109 Leipzig",
    ],
    &[
        "The quick brown fox jumps over the lazy dog",
        "Bescheinigung über die Meldung der Wohnung",
        "Datum: 02.12.2026 Unterschrift",
    ],
];
const LEFT: u32 = 200;
const TOP: u32 = 300;
const STEP: u32 = 150;

fn need_tools() {
    if let Err(e) = tesseract_version() {
        panic!("Tesseract is needed ({e}): {INSTALL}");
    }
    for tool in ["/usr/bin/convert", "/usr/bin/pdftotext", FONT] {
        assert!(Path::new(tool).exists(), "{tool} is missing: {INSTALL}");
    }
}

/// Renders `lines` on a white 2480 x 1200 gray page (A4 width at 300 dpi) with ImageMagick.
fn render(dir: &Path, index: u32, lines: &[&str]) -> Page {
    let file = dir.join(format!("p{index}.pgm"));
    let mut cmd = Command::new("/usr/bin/convert");
    cmd.args([
        "-size",
        "2480x1200",
        "xc:white",
        "-font",
        FONT,
        "-pointsize",
        "50",
    ]);
    cmd.args(["-fill", "black"]);
    for (i, line) in lines.iter().enumerate() {
        let y = TOP + STEP * i as u32;
        cmd.arg("-annotate").arg(format!("+{LEFT}+{y}")).arg(line);
    }
    cmd.args(["-colorspace", "Gray", "-depth", "8"]).arg(&file);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run convert ({e}): {INSTALL}"));
    assert!(
        out.status.success(),
        "convert: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = std::fs::read(&file).expect("read page");
    pnm::decode(&data, "test page")
        .expect("pnm")
        .into_page(index, (DPI, DPI))
        .expect("page")
}

fn stream(pages: Vec<Page>) -> PageStream {
    PageStream::new(futures_util::stream::iter(pages.into_iter().map(Ok)))
}

/// Levenshtein distance over chars.
fn distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Character accuracy of `got` against `want`, whitespace collapsed: 1 - distance / length.
fn accuracy(want: &str, got: &str) -> f64 {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .collect::<Vec<_>>()
    };
    let (w, g) = (norm(want), norm(got));
    1.0 - distance(&w, &g) as f64 / w.len().max(1) as f64
}

fn pdftotext(pdf: &Path, extra: &[&str]) -> String {
    let mut args: Vec<&str> = extra.to_vec();
    args.push(pdf.to_str().expect("utf-8 path"));
    args.push("-");
    let o = run("pdftotext", &args);
    assert!(
        o.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocr_makes_a_searchable_pdfa_with_the_words_at_their_places() {
    need_tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let pages: Vec<Page> = PAGES
        .iter()
        .enumerate()
        .map(|(i, l)| render(dir.path(), i as u32, l))
        .collect();
    let out = dir.path().join("searchable.pdf");
    let opts = ScanToPdfOptions::new()
        .pdfa(true)
        .threads(2)
        .ocr(OcrOptions::new("deu+eng"));
    let done = pages_to_pdf("test", stream(pages), &out, &opts)
        .await
        .expect("scan to pdf");
    assert_eq!((done.pages, done.pages_with_text), (2, 2));
    assert!(done.ocr_failures.is_empty(), "{:?}", done.ocr_failures);
    qpdf_check(&out);
    // The text-layer font is embedded (PDF/A-2b): pdffonts says `emb yes`.
    let fonts = String::from_utf8_lossy(&run("pdffonts", &[out.to_str().expect("path")]).stdout)
        .into_owned();
    assert!(
        fonts.contains("GlyphLessFont") && fonts.contains("CID TrueType"),
        "{fonts}"
    );
    let row = fonts
        .lines()
        .find(|l| l.contains("GlyphLessFont"))
        .expect("font row");
    assert!(row.contains(" yes "), "font not embedded: {row}");
    let meta = pdfinfo(&out, &["-meta"]);
    assert!(meta.contains("pdfaid:part"), "{meta}");

    for (i, lines) in PAGES.iter().enumerate() {
        let p = (i + 1).to_string();
        let text = pdftotext(&out, &["-f", &p, "-l", &p]);
        let want = lines.join("\n");
        let acc = accuracy(&want, &text);
        eprintln!("page {p}: character accuracy {acc:.4}\n{text}");
        // Measured: 1.0000 on both pages (Tesseract 5.3.0, deu+eng, 300 dpi, 12 pt).
        assert!(
            acc >= 0.97,
            "page {p}: accuracy {acc:.3}\nwant:\n{want}\ngot:\n{text}"
        );
    }

    // Words at their places: the first word of each line starts at LEFT and sits on its
    // line's baseline (pdftotext -bbox reports points from the top of the page).
    let bbox = pdftotext(&out, &["-bbox", "-f", "1", "-l", "1"]);
    let pt = |px: u32| f64::from(px) * 72.0 / f64::from(DPI);
    for (i, line) in PAGES[0].iter().enumerate() {
        let first = line.split_whitespace().next().expect("word");
        let row = bbox
            .lines()
            .find(|l| l.contains(&format!(">{first}</word>")))
            .unwrap_or_else(|| panic!("`{first}` not in the text layer:\n{bbox}"));
        let num = |key: &str| -> f64 {
            let at = row.find(&format!("{key}=\"")).expect("attribute") + key.len() + 2;
            row[at..]
                .split('"')
                .next()
                .expect("value")
                .parse()
                .expect("number")
        };
        let baseline = pt(TOP + STEP * i as u32);
        assert!((num("xMin") - pt(LEFT)).abs() < 3.0, "{first}: {row}");
        assert!(
            num("yMin") < baseline && baseline < num("yMax") + 1.0,
            "{first} (baseline {baseline}): {row}"
        );
        assert!(baseline - num("yMin") < 20.0, "{first}: {row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_ocr_fails_is_kept_without_text_and_reported() {
    need_tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let good = render(dir.path(), 0, PAGES[0]);
    // 40000 px wide: Tesseract refuses to recognise it (TessBaseAPIRecognize returns -1).
    let wide = Page::raw(
        1,
        40_000,
        8,
        (DPI, DPI),
        PixelFormat::Gray8,
        vec![255u8; 320_000],
    )
    .expect("page");
    let out = dir.path().join("partly.pdf");
    let opts = ScanToPdfOptions::new().ocr(OcrOptions::new("deu"));
    let done = pages_to_pdf("test", stream(vec![good, wide]), &out, &opts)
        .await
        .expect("scan to pdf");
    assert_eq!((done.pages, done.pages_with_text), (2, 1));
    assert_eq!(done.ocr_failures.len(), 1, "{:?}", done.ocr_failures);
    assert_eq!(done.ocr_failures[0].page, 2);
    assert!(
        done.ocr_failures[0].reason.contains("Recognize"),
        "{:?}",
        done.ocr_failures
    );
    assert_eq!(page_count(&out), 2);
    qpdf_check(&out);
    assert!(pdftotext(&out, &["-f", "1", "-l", "1"]).contains("Personalausweises"));
}

#[tokio::test]
async fn a_missing_language_fails_before_scanning_and_names_the_package() {
    need_tools();
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("never.pdf");
    let opts = ScanToPdfOptions::new().ocr(OcrOptions::new("xyz"));
    let e = pages_to_pdf("test", stream(Vec::new()), &out, &opts)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.to_string().contains("tesseract-ocr-"), "{e}");
    assert!(!out.exists());
    let e = OcrEngine::new(&OcrOptions::new("deu; rm")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // An engine is reusable page after page.
    let mut engine = OcrEngine::new(&OcrOptions::new("eng")).expect("engine");
    for _ in 0..2 {
        let text = engine
            .recognize(&[255u8; 64 * 64], 64, 64, 1, 300)
            .expect("blank page");
        assert!(text.words.is_empty());
    }
}
