//! The invisible text layer of a searchable page ([`PageText`]): words drawn in text render
//! mode 3 (neither filled nor stroked) over the page image, each at its place and stretched
//! to its width, so viewers select and search them and `pdftotext` extracts them.
//!
//! The font is the one Tesseract's and OCRmyPDF's text layers use: a Type 0 font over a
//! CIDFontType2 whose embedded TrueType program has a single empty glyph (Tesseract's
//! "GlyphLessFont", `glyphless.ttf`, 572 bytes, Apache-2.0, copied from Debian's
//! `tesseract-ocr` as `pdf.ttf`). Text is written as UTF-16BE codes with `Identity-H`; every
//! code maps to glyph 1 (`CIDToGIDMap`) and back to itself as Unicode (`ToUnicode`); every
//! glyph is 500/1000 em wide (`DW` 500, the font's own advance 1024/2048), so the embedded
//! program and the widths agree, as PDF/A-2 asks. The font objects are written once per
//! document, with the first page that has text.

use std::fmt::Write as _;

use pdf_writer::{Chunk, Filter, Name, Rect, Ref, Settings, Str};

/// One recognised word, in pixels of its page image (origin top left).
#[derive(Clone, Debug, PartialEq)]
pub struct TextWord {
    /// The word, as Unicode text.
    pub text: String,
    /// Left edge, pixels.
    pub left: u32,
    /// Right edge, pixels.
    pub right: u32,
    /// The baseline (y of the bottom of letters without descenders), pixels from the top.
    pub baseline: f64,
    /// The font size, pixels (the height of the word's line).
    pub size: f64,
}

/// The text of one page, in reading order: what OCR found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageText {
    /// The words.
    pub words: Vec<TextWord>,
}

/// The glyphless TrueType font (Tesseract's `pdf.ttf`).
const GLYPHLESS_TTF: &[u8] = include_bytes!("glyphless.ttf");

/// The resource name of the font on each page.
pub(super) const FONT_NAME: &[u8] = b"F0";

/// The font objects, one chunk each, under the given references (the Type 0 font first).
pub(super) fn font_chunks(refs: [Ref; 6], settings: Settings) -> Vec<(Ref, Chunk)> {
    let [type0, cid, descriptor, file, cid_to_gid, to_unicode] = refs;
    let name = Name(b"GlyphLessFont");
    let chunk = || Chunk::with_settings(settings);
    let mut out = Vec::with_capacity(6);

    let mut c = chunk();
    c.type0_font(type0)
        .base_font(name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(to_unicode);
    out.push((type0, c));

    let mut c = chunk();
    c.cid_font(cid)
        .subtype(pdf_writer::types::CidFontType::Type2)
        .base_font(name)
        .system_info(pdf_writer::types::SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        })
        .font_descriptor(descriptor)
        .default_width(500.0)
        .cid_to_gid_map_stream(cid_to_gid);
    out.push((cid, c));

    let mut c = chunk();
    c.font_descriptor(descriptor)
        .name(name)
        .flags(pdf_writer::types::FontFlags::SYMBOLIC | pdf_writer::types::FontFlags::FIXED_PITCH)
        .bbox(Rect::new(0.0, 0.0, 500.0, 1000.0))
        .italic_angle(0.0)
        .ascent(1000.0)
        .descent(0.0)
        .cap_height(1000.0)
        .stem_v(80.0)
        .font_file2(file);
    out.push((descriptor, c));

    let mut c = chunk();
    c.stream(file, GLYPHLESS_TTF)
        .pair(Name(b"Length1"), GLYPHLESS_TTF.len() as i32);
    out.push((file, c));

    // Every CID (0..=0xFFFF) -> glyph 1, compressed (128 KiB of 00 01 -> ~200 bytes).
    let map: Vec<u8> = std::iter::repeat_n([0u8, 1u8], 65536).flatten().collect();
    let map = deflate(&map);
    let mut c = chunk();
    c.stream(cid_to_gid, &map).filter(Filter::FlateDecode);
    out.push((cid_to_gid, c));

    let mut c = chunk();
    c.stream(to_unicode, IDENTITY_TO_UNICODE.as_bytes());
    out.push((to_unicode, c));
    out
}

/// `ToUnicode`: every 2-byte code is the UTF-16BE code unit it names.
const IDENTITY_TO_UNICODE: &str = "/CIDInit /ProcSet findresource begin\n\
12 dict begin\nbegincmap\n\
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n\
1 beginbfrange\n<0000> <FFFF> <0000>\nendbfrange\n\
endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n";

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// The content-stream operators that draw `text` invisibly over a page of `height_px`
/// pixels at `dpi`.
pub(super) fn content(text: &PageText, height_px: u32, dpi: (u32, u32)) -> String {
    let sx = 72.0 / f64::from(dpi.0.max(1));
    let sy = 72.0 / f64::from(dpi.1.max(1));
    let mut s = String::with_capacity(64 * text.words.len() + 16);
    s.push_str("BT\n3 Tr\n");
    for w in &text.words {
        let units: Vec<u16> = w.text.encode_utf16().collect();
        if units.is_empty() || w.right <= w.left {
            continue;
        }
        let size = (w.size * sy).max(1.0);
        let x = f64::from(w.left) * sx;
        let y = (f64::from(height_px) - w.baseline) * sy;
        let width = f64::from(w.right - w.left) * sx;
        // Each glyph advances size / 2: stretch the word to its width.
        let stretch = 100.0 * width / (units.len() as f64 * size * 0.5);
        let _ = write!(
            s,
            "/{} {size:.2} Tf {stretch:.2} Tz 1 0 0 1 {x:.2} {y:.2} Tm <",
            std::str::from_utf8(FONT_NAME).unwrap_or("F0")
        );
        for u in units {
            let _ = write!(s, "{u:04X}");
        }
        s.push_str("> Tj\n");
    }
    s.push_str("ET\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_placed_and_stretched_in_points() {
        let t = PageText {
            words: vec![TextWord {
                text: "Aß€".into(),
                left: 300,
                right: 600,
                baseline: 200.0,
                size: 50.0,
            }],
        };
        let c = content(&t, 3000, (300, 300));
        // x 72 pt, y (3000-200)/300*72 = 672, size 12 pt, 3 glyphs of 6 pt for 72 pt: 400 %.
        assert!(
            c.contains("/F0 12.00 Tf 400.00 Tz 1 0 0 1 72.00 672.00 Tm <004100DF20AC> Tj"),
            "{c}"
        );
        assert!(c.starts_with("BT\n3 Tr\n") && c.ends_with("ET\n"));
        assert_eq!(&GLYPHLESS_TTF[..4], &[0, 1, 0, 0], "a TrueType font");
    }
}
