//! The streaming PDF writer and encoders, checked with qpdf and poppler-utils on hand-made
//! pages. Needs `qpdf` and `poppler-utils`; fails (never skips) without them.

mod pdf_util;

use std::path::Path;

use buergerkoffer::pdf::{
    encode_page, EncodeOptions, Encoding, ImageFilter, Metadata, PdfOptions, PdfWriter,
};
use buergerkoffer::scan::{Page, PixelFormat};
use pdf_util::*;

/// A w x h page with a dark left half and a light gradient on the right.
fn page(format: PixelFormat, w: u32, h: u32, dpi: u32) -> Page {
    let mut px = Vec::new();
    for y in 0..h {
        match format {
            PixelFormat::Bw1 => {
                let mut row = vec![0u8; format.row_bytes(w)];
                for x in 0..w / 2 {
                    row[(x / 8) as usize] |= 0x80 >> (x % 8);
                }
                px.extend_from_slice(&row);
            }
            _ => {
                for x in 0..w {
                    let v: u8 = if x < w / 2 {
                        10
                    } else {
                        180 + ((x + y) % 60) as u8
                    };
                    let n = format.channels() as usize * (format.bits_per_sample() / 8) as usize;
                    px.resize(px.len() + n, v);
                }
            }
        }
    }
    Page::raw(0, w, h, (dpi, dpi), format, px).unwrap()
}

fn write_pdf(path: &Path, pages: &[Page], enc: Encoding, options: &PdfOptions) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = PdfWriter::new(std::io::BufWriter::new(file), options).unwrap();
    let eo = EncodeOptions {
        encoding: enc,
        ..EncodeOptions::default()
    };
    for p in pages {
        w.add_page(&encode_page(p, &eo).unwrap()).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn every_encoding_passes_qpdf_and_lists_the_right_images() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, PixelFormat, Encoding, &str, &str, u32)> = vec![
        (
            "gray-jpeg",
            PixelFormat::Gray8,
            Encoding::Jpeg,
            "jpeg",
            "gray",
            8,
        ),
        (
            "rgb-jpeg",
            PixelFormat::Rgb8,
            Encoding::Jpeg,
            "jpeg",
            "rgb",
            8,
        ),
        (
            "gray-flate",
            PixelFormat::Gray8,
            Encoding::Flate,
            "image",
            "gray",
            8,
        ),
        (
            "rgb16-flate",
            PixelFormat::Rgb16,
            Encoding::Flate,
            "image",
            "rgb",
            8,
        ),
        (
            "gray16-jpeg",
            PixelFormat::Gray16,
            Encoding::Jpeg,
            "jpeg",
            "gray",
            8,
        ),
        ("bw-g4", PixelFormat::Bw1, Encoding::G4, "ccitt", "gray", 1),
        (
            "bw-auto",
            PixelFormat::Bw1,
            Encoding::Auto,
            "ccitt",
            "gray",
            1,
        ),
        (
            "rgb-auto",
            PixelFormat::Rgb8,
            Encoding::Auto,
            "jpeg",
            "rgb",
            8,
        ),
        (
            "bw-flate",
            PixelFormat::Bw1,
            Encoding::Flate,
            "image",
            "gray",
            1,
        ),
    ];
    for (name, format, enc, want_enc, want_color, want_bpc) in cases {
        let path = dir.path().join(format!("{name}.pdf"));
        let pages = [page(format, 200, 100, 100), page(format, 300, 120, 150)];
        write_pdf(&path, &pages, enc, &PdfOptions::new());
        qpdf_check(&path);
        let rows = pdfimages_list(&path);
        assert_eq!(rows.len(), 2, "{name}: one image per page: {rows:?}");
        for (i, (row, p)) in rows.iter().zip(&pages).enumerate() {
            assert_eq!(row.page, i as u32 + 1, "{name}");
            assert_eq!((row.width, row.height), (p.width, p.height), "{name}");
            assert_eq!(row.enc, want_enc, "{name}");
            assert_eq!(row.color, want_color, "{name}");
            assert_eq!(row.bpc, want_bpc, "{name}");
        }
        // Page size follows pixels and dpi: 200 px at 100 dpi = 2 in = 144 pt.
        let info = pdfinfo(&path, &["-f", "1", "-l", "2"]);
        assert!(
            info.contains("Page    1 size:  144 x 72 pts"),
            "{name}: {info}"
        );
        assert!(
            info.contains("Page    2 size:  144 x 57.6 pts"),
            "{name}: {info}"
        );
    }
}

#[test]
fn black_stays_black_in_every_one_bit_encoding() {
    let dir = tempfile::tempdir().unwrap();
    for enc in [Encoding::G4, Encoding::Flate, Encoding::Jpeg] {
        let path = dir.path().join(format!("bw-{enc}.pdf"));
        // 144 x 72 px at 72 dpi: rendering at 72 dpi maps pixels 1:1.
        write_pdf(
            &path,
            &[page(PixelFormat::Bw1, 144, 72, 72)],
            enc,
            &PdfOptions::new(),
        );
        qpdf_check(&path);
        let (w, h, px) = render_gray(&path, 1, 72);
        assert_eq!((w, h), (144, 72));
        let at = |x: usize, y: usize| px[y * w + x];
        assert!(
            at(10, 36) < 40,
            "{enc}: left half must be black, got {}",
            at(10, 36)
        );
        assert!(
            at(130, 36) > 215,
            "{enc}: right half must be white, got {}",
            at(130, 36)
        );
    }
}

#[test]
fn gray_renders_with_the_scanned_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gray.pdf");
    write_pdf(
        &path,
        &[page(PixelFormat::Gray8, 144, 72, 72)],
        Encoding::Flate,
        &PdfOptions::new(),
    );
    let (w, _, px) = render_gray(&path, 1, 72);
    assert!(
        (i32::from(px[36 * w + 10]) - 10).abs() <= 2,
        "{}",
        px[36 * w + 10]
    );
    assert!(px[36 * w + 130] >= 178, "{}", px[36 * w + 130]);
}

#[test]
fn jpeg_pages_pass_through_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pass.pdf");
    // A "scanner JPEG": any encoder's output will do.
    let raw = page(PixelFormat::Rgb8, 160, 80, 100);
    let jpeg = encode_page(
        &raw,
        &EncodeOptions {
            encoding: Encoding::Jpeg,
            quality: 70,
            ..EncodeOptions::default()
        },
    )
    .unwrap()
    .data;
    let p = Page::jpeg(0, 160, 80, (100, 100), 3, jpeg.clone()).unwrap();
    let img = encode_page(&p, &EncodeOptions::default()).unwrap();
    assert_eq!(img.filter, ImageFilter::Dct);
    assert_eq!(img.data, jpeg);
    write_pdf(&path, &[p], Encoding::Flate, &PdfOptions::new());
    qpdf_check(&path);
    let rows = pdfimages_list(&path);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].enc.as_str(), rows[0].color.as_str()),
        ("jpeg", "rgb")
    );
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.windows(jpeg.len()).any(|w| w == &jpeg[..]),
        "the JPEG must appear unchanged in the file"
    );
}

#[test]
fn pdfa_output_carries_xmp_output_intent_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pdf");
    let meta = Metadata::titled("Antrag auf Wohngeld")
        .author("Bürgeramt Mitte")
        .created_unix(1_709_210_096);
    let opts = PdfOptions::new().pdfa(true).metadata(meta);
    write_pdf(
        &path,
        &[
            page(PixelFormat::Rgb8, 100, 100, 100),
            page(PixelFormat::Bw1, 100, 100, 100),
        ],
        Encoding::Auto,
        &opts,
    );
    qpdf_check(&path);
    let xmp = pdfinfo(&path, &["-meta"]);
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"), "{xmp}");
    assert!(
        xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "{xmp}"
    );
    assert!(xmp.contains("Antrag auf Wohngeld"), "{xmp}");
    assert!(xmp.contains("<xmp:CreatorTool>buergerkoffer"), "{xmp}");
    assert!(xmp.contains("2024-02-29T12:34:56Z"), "{xmp}");
    let info = pdfinfo(&path, &[]);
    assert!(
        info.contains("Title:           Antrag auf Wohngeld"),
        "{info}"
    );
    assert!(info.contains("Author:          Bürgeramt Mitte"), "{info}");
    assert!(info.contains("Pages:           2"), "{info}");

    // The catalog's output intent and the trailer's ID, as qpdf sees them.
    let o = run("qpdf", &["--show-object=trailer", path.to_str().unwrap()]);
    let trailer = String::from_utf8_lossy(&o.stdout);
    assert!(trailer.contains("/ID [ <"), "{trailer}");
    let o = run(
        "qpdf",
        &[
            "--json=2",
            "--json-key=qpdf",
            "--json-stream-data=none",
            path.to_str().unwrap(),
        ],
    );
    let json = String::from_utf8_lossy(&o.stdout);
    for want in [
        "\"/OutputIntents\"",
        "\"/S\": \"/GTS_PDFA1\"",
        "\"/DestOutputProfile\"",
        "\"/Subtype\": \"/XML\"",
        "\"/N\": 3",
    ] {
        assert!(json.contains(want), "qpdf --json lacks {want}");
    }
}

#[test]
fn plain_pdf_has_no_pdfa_parts_and_many_pages_stay_valid() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.pdf");
    let p = page(PixelFormat::Gray8, 32, 32, 72);
    let pages: Vec<Page> = (0..150).map(|_| p.clone()).collect();
    write_pdf(&path, &pages, Encoding::Jpeg, &PdfOptions::new());
    qpdf_check(&path);
    assert_eq!(page_count(&path), 150);
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.windows(14).any(|w| w == b"/OutputIntents"));
}
