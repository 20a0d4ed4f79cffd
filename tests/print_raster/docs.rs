//! Documents the printing tests print: a framed gray gradient page (2 x 1 inch at 150 dpi)
//! and PDFs of it made with the crate's PDF writer.

#![allow(dead_code)]

use buergerkoffer::pdf::{encode_page, EncodeOptions, PdfOptions, PdfWriter};
use buergerkoffer::scan::{Page, PixelFormat};

/// A 2 x 1 inch gray gradient with a black frame at 150 dpi.
pub fn test_page() -> Page {
    let (w, h) = (300u32, 150u32);
    let px: Vec<u8> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            if x < 6 || y < 6 || x >= w - 6 || y >= h - 6 {
                0
            } else {
                (x * 255 / w) as u8
            }
        })
        .collect();
    Page::raw(0, w, h, (150, 150), PixelFormat::Gray8, px).unwrap()
}

/// A PDF of `n` test pages.
pub fn pdf(n: usize) -> Vec<u8> {
    let img = encode_page(&test_page(), &EncodeOptions::default()).unwrap();
    let mut w = PdfWriter::new(Vec::new(), &PdfOptions::new()).unwrap();
    for _ in 0..n {
        w.add_page(&img).unwrap();
    }
    w.finish().unwrap()
}
