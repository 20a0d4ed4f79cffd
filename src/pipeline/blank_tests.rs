//! Tests of the blank-page check on generated A4 pages at 300 dpi: scanner noise, dust and
//! edge shadows are blank; one short thin pen line is not.

use super::*;
use crate::scan::{PixelFormat, ScanArea};

const DPI: u32 = 300;

/// xorshift64*: deterministic noise without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Roughly Gaussian, sigma ~`sigma` (sum of 4 uniforms).
    fn gauss(&mut self, sigma: f64) -> f64 {
        let s: f64 = (0..4)
            .map(|_| (self.next() >> 11) as f64 / (1u64 << 53) as f64)
            .sum();
        (s - 2.0) * sigma * 1.732
    }
}

/// An empty back side as an ADF scans it: off-white paper with sigma-10 noise, 40 dust
/// specks of 1..3 px, and a dark shadow along the top and left edges.
fn noisy_blank(seed: u64) -> (u32, u32, Vec<u8>) {
    let (w, h) = ScanArea::A4.pixels(DPI);
    let mut rng = Rng(seed);
    let mut px: Vec<u8> = (0..w * h)
        .map(|_| (236.0 + rng.gauss(10.0)).clamp(0.0, 255.0) as u8)
        .collect();
    for _ in 0..40 {
        let (x, y) = (
            (rng.next() % u64::from(w - 4)) as u32,
            (rng.next() % u64::from(h - 4)) as u32,
        );
        let size = 1 + (rng.next() % 3) as u32;
        for dy in 0..size {
            for dx in 0..size {
                px[((y + dy) * w + x + dx) as usize] = 40;
            }
        }
    }
    for y in 0..h {
        for x in 0..12 {
            px[(y * w + x) as usize] = 60;
        }
    }
    for y in 0..10 {
        for x in 0..w {
            px[(y * w + x) as usize] = 70;
        }
    }
    (w, h, px)
}

/// Draws a short handwritten-like stroke: 3 cm long, 2 px wide, wavy, mid-dark blue-gray
/// (luminance ~100), in the middle of the page.
fn pen_line(w: u32, px: &mut [u8]) {
    let len = (30.0 / MM_PER_INCH * f64::from(DPI)) as u32; // 3 cm
    let (x0, y0) = (900u32, 1700u32);
    for i in 0..len {
        let y = y0 as f64 + 6.0 * (f64::from(i) / 25.0).sin();
        for t in 0..2 {
            let idx = ((y as u32 + t) * w + x0 + i) as usize;
            px[idx] = 100;
        }
    }
}

fn gray(px: Vec<u8>, w: u32, h: u32) -> Page {
    Page::raw(0, w, h, (DPI, DPI), PixelFormat::Gray8, px).expect("page")
}

#[test]
fn scanner_noise_dust_and_edge_shadows_are_blank() {
    let (w, h, px) = noisy_blank(7);
    let page = gray(px, w, h);
    let ink = BlankPages::default().measure(&page).expect("measure");
    assert!(ink.mm2 < 3.0, "noise measured as {} mm² of ink", ink.mm2);
    assert!(BlankPages::default().is_blank(&page).expect("check"));
}

#[test]
fn one_short_thin_pen_line_keeps_the_page() {
    let (w, h, mut px) = noisy_blank(11);
    pen_line(w, &mut px);
    let page = gray(px, w, h);
    let ink = BlankPages::default().measure(&page).expect("measure");
    // 3 cm of a 2 px stroke crosses ~45 cells of 0.68 mm: ~20 mm², well above 3 mm².
    assert!(
        ink.mm2 > 10.0,
        "a 3 cm pen line measured as only {} mm²",
        ink.mm2
    );
    assert!(!BlankPages::default().is_blank(&page).expect("check"));
}

#[test]
fn colour_jpeg_and_bw_pages_are_checked_too() {
    // Colour: the noisy blank as RGB with a slight yellow tint is blank; with the line it is not.
    let (w, h, px) = noisy_blank(3);
    let rgb: Vec<u8> = px
        .iter()
        .flat_map(|&v| [v, v, v.saturating_sub(12)])
        .collect();
    let page = Page::raw(0, w, h, (DPI, DPI), PixelFormat::Rgb8, rgb.clone()).expect("page");
    let ink = BlankPages::default().measure(&page).expect("rgb");
    assert!(ink.mm2 < 3.0, "RGB noise measured {} mm²", ink.mm2);

    // A JPEG page (as a network scanner sends it) is decoded and checked.
    let mut file = Vec::new();
    jpeg_encoder::Encoder::new(&mut file, 80)
        .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .expect("jpeg");
    let jpeg_page = Page::jpeg(0, w, h, (DPI, DPI), 3, file).expect("page");
    let ink = BlankPages::default().measure(&jpeg_page).expect("jpeg");
    assert!(ink.mm2 < 3.0, "JPEG of noise measured {} mm²", ink.mm2);
    let (w2, h2, mut lined) = noisy_blank(5);
    pen_line(w2, &mut lined);
    let mut file = Vec::new();
    jpeg_encoder::Encoder::new(&mut file, 80)
        .encode(&lined, w2 as u16, h2 as u16, jpeg_encoder::ColorType::Luma)
        .expect("jpeg");
    let jpeg_page = Page::jpeg(0, w2, h2, (DPI, DPI), 1, file).expect("page");
    assert!(!BlankPages::default()
        .is_blank(&jpeg_page)
        .expect("jpeg line"));

    // 1-bit: all white is blank; a 3 cm, 3 px line is not.
    let row = PixelFormat::Bw1.row_bytes(w) as u32;
    let mut bw = vec![0u8; (row * h) as usize];
    assert!(BlankPages::default()
        .is_blank(&Page::raw(0, w, h, (DPI, DPI), PixelFormat::Bw1, bw.clone()).expect("bw"))
        .expect("bw"));
    for y in 1700..1703 {
        for x in 900..1254u32 {
            bw[(y * row + x / 8) as usize] |= 0x80 >> (x % 8);
        }
    }
    assert!(!BlankPages::default()
        .is_blank(&Page::raw(0, w, h, (DPI, DPI), PixelFormat::Bw1, bw).expect("bw"))
        .expect("bw line"));
}

#[test]
fn a_printed_page_is_not_blank_and_a_broken_page_is_an_error() {
    let (w, h) = ScanArea::A4.pixels(150);
    let px = crate::mock::render_page(PixelFormat::Gray8, w, h, 150);
    let page = Page::raw(0, w, h, (150, 150), PixelFormat::Gray8, px).expect("page");
    let ink = BlankPages::default().measure(&page).expect("measure");
    assert!(ink.mm2 > 1000.0, "a printed page measured {} mm²", ink.mm2);
    let fake = Page::jpeg(2, 100, 100, (300, 300), 3, vec![0xFF, 0xD8, 0, 0]).expect("page");
    let e = BlankPages::default().is_blank(&fake).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::Protocol);
    assert!(e.to_string().contains("page 3"), "{e}");
}
