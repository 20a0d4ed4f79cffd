//! One rendered sheet (RGBA, 8 bits a channel, opaque) and its encodings: rows of a raster
//! type with the back-side transform applied, then a PWG raster page, a URF page or a JPEG.

use crate::error::{Error, ErrorKind, Result};
use crate::print::raster::{PageHeader, RasterType, RowCompressor, HEADER_LEN};
use crate::print::urf::{self, UrfPage};

/// The most pixels one sheet may have (A3 at 1200 dpi is 280 M; A4 at 600 dpi 35 M).
pub const MAX_SHEET_PIXELS: u64 = 150_000_000;

/// A rendered sheet: `width * height` RGBA pixels, rows top to bottom.
#[derive(Clone, Debug, Default)]
pub struct Sheet {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// RGBA bytes, `4 * width * height`.
    pub rgba: Vec<u8>,
}

impl Sheet {
    /// A white sheet.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] above [`MAX_SHEET_PIXELS`] or for an empty size.
    pub fn white(width: u32, height: u32) -> Result<Sheet> {
        check_size(width, height)?;
        Ok(Sheet {
            width,
            height,
            rgba: vec![255; width as usize * height as usize * 4],
        })
    }
}

/// Checks a sheet size against [`MAX_SHEET_PIXELS`].
///
/// # Errors
/// [`ErrorKind::InvalidInput`] naming the size.
pub fn check_size(width: u32, height: u32) -> Result<()> {
    let n = u64::from(width) * u64::from(height);
    if n == 0 || n > MAX_SHEET_PIXELS {
        return Err(
            Error::new(ErrorKind::InvalidInput, "render", "render page").with_detail(format!(
                "a {width}x{height} pixel sheet is more than this crate renders ({MAX_SHEET_PIXELS} pixels)"
            )),
        );
    }
    Ok(())
}

/// Rec. 709 luma of an RGBA pixel, rounded (weights in 1/65536: 0.2126, 0.7152, 0.0722,
/// summing to 1 so white stays 255); integer multiply-adds so rows vectorize.
#[inline]
fn luma(p: [u8; 4]) -> u8 {
    let (r, g, b) = (u32::from(p[0]), u32::from(p[1]), u32::from(p[2]));
    ((r * 13_933 + g * 46_871 + b * 4_732 + 32_768) >> 16) as u8
}

/// Converts one RGBA row to `raster` into `dst` (`raster.bytes_per_line(width)` bytes, zeroed
/// for `black_1`), mirrored left to right if `mirror`.
fn convert_row(src: &[u8], dst: &mut [u8], raster: RasterType, mirror: bool) {
    let (px, _) = src.as_chunks::<4>();
    match (raster, mirror) {
        (RasterType::Sgray8, false) => {
            // Sixteen pixels at a time; white ones (most of a printed page) without arithmetic.
            let (groups, rest) = px.as_chunks::<16>();
            let (dgroups, drest) = dst.as_chunks_mut::<16>();
            for (d, g) in dgroups.iter_mut().zip(groups) {
                if g.as_flattened().iter().fold(255u8, |a, b| a & b) == 255 {
                    *d = [255; 16];
                } else {
                    for (o, p) in d.iter_mut().zip(g) {
                        *o = luma(*p);
                    }
                }
            }
            for (d, p) in drest.iter_mut().zip(rest) {
                *d = luma(*p);
            }
        }
        (RasterType::Sgray8, true) => {
            for (d, p) in dst.iter_mut().zip(px.iter().rev()) {
                *d = luma(*p);
            }
        }
        (RasterType::Srgb8, false) => {
            let (d3, _) = dst.as_chunks_mut::<3>();
            for (d, p) in d3.iter_mut().zip(px) {
                *d = [p[0], p[1], p[2]];
            }
        }
        (RasterType::Srgb8, true) => {
            let (d3, _) = dst.as_chunks_mut::<3>();
            for (d, p) in d3.iter_mut().zip(px.iter().rev()) {
                *d = [p[0], p[1], p[2]];
            }
        }
        (RasterType::Black1, _) => {
            let w = px.len();
            for x in 0..w {
                let sx = if mirror { w - 1 - x } else { x };
                if luma(px[sx]) < 128 {
                    if let Some(b) = dst.get_mut(x / 8) {
                        *b |= 0x80 >> (x % 8);
                    }
                }
            }
        }
    }
}

/// Converts the sheet row by row to `raster`, mirrored left to right if `flip.0` and upside
/// down if `flip.1`, handing each row (one reused buffer) to `each`, top to bottom.
fn for_each_row(
    sheet: &Sheet,
    raster: RasterType,
    flip: (bool, bool),
    mut each: impl FnMut(&[u8]),
) {
    let w = sheet.width as usize;
    let mut row = vec![0u8; raster.bytes_per_line(sheet.width) as usize];
    if w == 0 || row.is_empty() {
        return;
    }
    let src: Vec<&[u8]> = sheet.rgba.chunks_exact(w * 4).collect();
    for y in 0..sheet.height as usize {
        let sy = if flip.1 {
            src.len().wrapping_sub(1 + y)
        } else {
            y
        };
        row.fill(0);
        if let Some(s) = src.get(sy) {
            convert_row(s, &mut row, raster, flip.0);
        }
        each(&row);
    }
}

/// The sheet's rows as `raster` (sGray 0 = black, black_1 1 = black with a 50 % threshold,
/// sRGB), mirrored left to right if `flip.0` and upside down if `flip.1`.
pub fn rows(sheet: &Sheet, raster: RasterType, flip: (bool, bool)) -> Vec<u8> {
    let row_out = raster.bytes_per_line(sheet.width) as usize;
    let mut out = Vec::with_capacity(row_out * sheet.height as usize);
    for_each_row(sheet, raster, flip, |r| out.extend_from_slice(r));
    out.resize(row_out * sheet.height as usize, 0);
    out
}

/// What a raster page is written with.
#[derive(Clone, Debug)]
pub struct PageFormat {
    /// Colour space and depth.
    pub raster: RasterType,
    /// Resolution in dpi.
    pub dpi: (u32, u32),
    /// Duplex: (two-sided, short edge).
    pub duplex: (bool, bool),
    /// Back-side transform of this page.
    pub flip: (bool, bool),
    /// PWG media name for the header.
    pub media_name: Option<String>,
    /// Pages in the document.
    pub total_pages: u32,
}

/// One PWG raster page (header and compressed rows; the stream's `RaS2` comes first, once).
pub fn pwg_page(sheet: &Sheet, f: &PageFormat) -> Vec<u8> {
    let header = PageHeader {
        raster: f.raster,
        width: sheet.width,
        height: sheet.height,
        dpi: f.dpi,
        page_size_name: f.media_name.clone(),
        total_pages: f.total_pages,
        duplex: f.duplex,
        flipped: f.flip,
    };
    let rb = f.raster.bytes_per_line(sheet.width) as usize;
    let mut out = Vec::with_capacity(HEADER_LEN + rb * sheet.height as usize / 8);
    out.extend_from_slice(&header.to_bytes());
    // Row by row: each row is compressed as it is made, no page-sized buffer.
    let mut c = RowCompressor::new(f.raster);
    for_each_row(sheet, f.raster, f.flip, |r| c.push(r, &mut out));
    c.finish(&mut out);
    out
}

/// One URF page (header and compressed rows; the file header comes first, once).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for a 1-bit raster type.
pub fn urf_page(sheet: &Sheet, f: &PageFormat) -> Result<Vec<u8>> {
    let page = UrfPage {
        raster: f.raster,
        width: sheet.width,
        height: sheet.height,
        dpi: f.dpi.0,
        duplex: f.duplex.0.then_some(f.duplex.1),
        quality: None,
    };
    let data = rows(sheet, f.raster, f.flip);
    let mut out = Vec::with_capacity(urf::PAGE_HEADER_LEN + data.len() / 8);
    urf::encode_page(&page, &data, &mut out)?;
    Ok(out)
}

/// The sheet as a JPEG (sRGB or gray, quality 85) with its resolution in the JFIF header.
///
/// # Errors
/// Those of the JPEG encoder.
pub fn jpeg(sheet: &Sheet, gray: bool, dpi: (u32, u32)) -> Result<Vec<u8>> {
    let raster = if gray {
        RasterType::Sgray8
    } else {
        RasterType::Srgb8
    };
    let data = rows(sheet, raster, (false, false));
    encode_jpeg(&data, sheet.width, sheet.height, gray, dpi)
}

/// Encodes 8-bit gray or RGB pixels as JPEG (quality 85).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for a size over 65535 pixels or a buffer of the wrong size.
pub fn encode_jpeg(
    data: &[u8],
    width: u32,
    height: u32,
    gray: bool,
    dpi: (u32, u32),
) -> Result<Vec<u8>> {
    let bad =
        |d: String| Error::new(ErrorKind::InvalidInput, "render", "encode JPEG").with_detail(d);
    let (Ok(w), Ok(h)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err(bad(format!("{width}x{height} is larger than JPEG allows")));
    };
    let color = if gray {
        jpeg_encoder::ColorType::Luma
    } else {
        jpeg_encoder::ColorType::Rgb
    };
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 85);
    let d16 = |d: u32| u16::try_from(d).unwrap_or(u16::MAX);
    enc.set_density(jpeg_encoder::PixelDensity {
        density: (d16(dpi.0), d16(dpi.1)),
        unit: jpeg_encoder::PixelDensityUnit::Inches,
    });
    enc.encode(data, w, h, color)
        .map_err(|e| bad(format!("{width}x{height}: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Sheet {
        // 10x2: left pixel of row 0 black, everything else white.
        let mut s = Sheet::white(10, 2).unwrap();
        s.rgba[..4].copy_from_slice(&[0, 0, 0, 255]);
        s
    }

    #[test]
    fn rows_with_back_side_transforms() {
        let s = sheet();
        assert_eq!(
            rows(&s, RasterType::Black1, (false, false)),
            vec![0x80, 0, 0, 0]
        );
        assert_eq!(
            rows(&s, RasterType::Black1, (true, false)),
            vec![0, 0x40, 0, 0]
        );
        assert_eq!(
            rows(&s, RasterType::Black1, (false, true)),
            vec![0, 0, 0x80, 0]
        );
        assert_eq!(
            rows(&s, RasterType::Black1, (true, true)),
            vec![0, 0, 0, 0x40]
        );
        let g = rows(&s, RasterType::Sgray8, (true, true));
        assert_eq!((g[0], g[19]), (255, 0));
        assert_eq!(rows(&s, RasterType::Srgb8, (false, false)).len(), 60);
    }

    #[test]
    fn gray_rows_match_the_luma_of_every_pixel() {
        // 37 pixels a row (two groups of 16 and a rest), white stretches and noise.
        let (w, h) = (37u32, 5u32);
        let mut s = Sheet::white(w, h).unwrap();
        for (i, px) in s.rgba.chunks_exact_mut(4).enumerate() {
            if i % 37 > 20 || i / 37 == 3 {
                let v = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes();
                px.copy_from_slice(&[v[1], v[2], v[3], 255]);
            }
        }
        for flip in [(false, false), (true, false), (true, true)] {
            let g = rows(&s, RasterType::Sgray8, flip);
            for y in 0..h as usize {
                for x in 0..w as usize {
                    let sx = if flip.0 { w as usize - 1 - x } else { x };
                    let sy = if flip.1 { h as usize - 1 - y } else { y };
                    let i = (sy * w as usize + sx) * 4;
                    let p = [s.rgba[i], s.rgba[i + 1], s.rgba[i + 2], 255];
                    assert_eq!(g[y * w as usize + x], luma(p), "({x},{y}) {flip:?}");
                }
            }
        }
        // White stays white, black black.
        assert_eq!(luma([255; 4]), 255);
        assert_eq!(luma([0, 0, 0, 255]), 0);
    }

    #[test]
    fn pwg_pages_compress_the_rows_made_row_by_row() {
        let mut s = Sheet::white(50, 40).unwrap();
        for (i, px) in s
            .rgba
            .chunks_exact_mut(4)
            .enumerate()
            .filter(|(i, _)| i % 7 == 0)
        {
            px.copy_from_slice(&[(i % 256) as u8, 0, 90, 255]);
        }
        for raster in [RasterType::Black1, RasterType::Sgray8, RasterType::Srgb8] {
            for flip in [(false, false), (true, true)] {
                let f = PageFormat {
                    raster,
                    dpi: (300, 300),
                    duplex: (false, false),
                    flip,
                    media_name: None,
                    total_pages: 1,
                };
                let page = pwg_page(&s, &f);
                let mut want = Vec::new();
                let rb = raster.bytes_per_line(50) as usize;
                crate::print::raster::compress_rows(
                    rows(&s, raster, flip).chunks(rb),
                    raster,
                    &mut want,
                );
                assert_eq!(&page[HEADER_LEN..], &want[..], "{raster:?} {flip:?}");
            }
        }
    }

    #[test]
    fn oversized_sheets_are_refused() {
        assert!(Sheet::white(20_000, 20_000).is_err());
        assert!(Sheet::white(0, 5).is_err());
    }

    #[test]
    fn jpeg_has_its_magic() {
        let j = jpeg(&sheet(), true, (300, 300)).unwrap();
        assert_eq!(&j[..2], &[0xFF, 0xD8]);
    }
}
