//! A small PWG raster encoder (PWG 5102.4): the `RaS2` sync word, one 1796-byte big-endian
//! page header per page, and the line compression (a line-repeat byte, then PackBits-like
//! runs of whole pixels).
//!
//! It writes the three IPP Everywhere colour spaces a scanned page needs: `black_1`
//! (1 bit, 1 = black), `sgray_8` and `srgb_8`. 16-bit pages are reduced to 8 bits.
//!
//! ```
//! use buergerkoffer::print::raster::{RasterType, encode_page};
//! use buergerkoffer::scan::{Page, PixelFormat};
//! let page = Page::raw(0, 16, 2, (300, 300), PixelFormat::Gray8, vec![255u8; 32])?;
//! let pwg = encode_page(&page, RasterType::Sgray8, (300, 300), None)?;
//! assert_eq!(&pwg[..4], b"RaS2");
//! assert_eq!(&pwg[4..13], b"PwgRaster");
//! # Ok::<(), buergerkoffer::Error>(())
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::scan::{Page, PageData, PixelFormat, MAX_PAGE_BYTES};

/// The PWG raster sync word at the start of a stream.
pub const SYNC: &[u8; 4] = b"RaS2";
/// The size of a PWG raster page header.
pub const HEADER_LEN: usize = 1796;

/// A PWG raster colour space and bit depth (`pwg-raster-document-type-supported` keyword).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RasterType {
    /// `black_1`: 1 bit per pixel, 1 = black.
    Black1,
    /// `sgray_8`: 8-bit sGray, 0 = black.
    Sgray8,
    /// `srgb_8`: 8-bit sRGB.
    Srgb8,
}

impl RasterType {
    /// The IPP keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RasterType::Black1 => "black_1",
            RasterType::Sgray8 => "sgray_8",
            RasterType::Srgb8 => "srgb_8",
        }
    }

    /// From an IPP keyword; other types (`cmyk_8`, 16-bit, ...) give `None`.
    pub fn from_keyword(k: &str) -> Option<Self> {
        match k {
            "black_1" => Some(RasterType::Black1),
            "sgray_8" => Some(RasterType::Sgray8),
            "srgb_8" => Some(RasterType::Srgb8),
            _ => None,
        }
    }

    /// Bits per pixel.
    pub fn bits_per_pixel(self) -> u32 {
        match self {
            RasterType::Black1 => 1,
            RasterType::Sgray8 => 8,
            RasterType::Srgb8 => 24,
        }
    }

    fn bits_per_color(self) -> u32 {
        match self {
            RasterType::Black1 => 1,
            _ => 8,
        }
    }

    fn num_colors(self) -> u32 {
        match self {
            RasterType::Srgb8 => 3,
            _ => 1,
        }
    }

    /// The cupsColorSpace value: black 3, sGray 18, sRGB 19.
    fn color_space(self) -> u32 {
        match self {
            RasterType::Black1 => 3,
            RasterType::Sgray8 => 18,
            RasterType::Srgb8 => 19,
        }
    }

    /// Bytes per line for `width` pixels.
    pub fn bytes_per_line(self, width: u32) -> u64 {
        (u64::from(width) * u64::from(self.bits_per_pixel())).div_ceil(8)
    }

    /// Bytes of one compression unit ("pixel"): one byte for `black_1` (8 pixels).
    fn unit(self) -> usize {
        match self {
            RasterType::Black1 | RasterType::Sgray8 => 1,
            RasterType::Srgb8 => 3,
        }
    }
}

/// The fields of one page header that vary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageHeader {
    /// Colour space and depth.
    pub raster: RasterType,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Resolution (x, y) in dpi.
    pub dpi: (u32, u32),
    /// PWG media name, e.g. `iso_a4_210x297mm` (at most 63 bytes are written).
    pub page_size_name: Option<String>,
    /// Total number of pages in the stream, 0 if unknown.
    pub total_pages: u32,
    /// Duplex: (printed two-sided, short-edge "tumble").
    pub duplex: (bool, bool),
    /// The back-side transform applied to this page: (rows mirrored left to right, page
    /// upside down), written as CrossFeedTransform / FeedTransform -1.
    pub flipped: (bool, bool),
}

fn put_u32(h: &mut [u8], off: usize, v: u32) {
    if let Some(dst) = h.get_mut(off..off + 4) {
        dst.copy_from_slice(&v.to_be_bytes());
    }
}

fn put_str(h: &mut [u8], off: usize, s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(63);
    if let (Some(dst), Some(src)) = (h.get_mut(off..off + n), b.get(..n)) {
        dst.copy_from_slice(src);
    }
}

impl PageHeader {
    /// The 1796-byte header (PWG 5102.4 section 4.3), big-endian.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        put_str(&mut h, 0, "PwgRaster");
        // MediaColor, MediaType, PrintContentOptimize: empty (printer default).
        put_u32(&mut h, 272, u32::from(self.duplex.0));
        put_u32(&mut h, 368, u32::from(self.duplex.0 && self.duplex.1));
        put_u32(&mut h, 276, self.dpi.0);
        put_u32(&mut h, 280, self.dpi.1);
        put_u32(&mut h, 340, 1); // NumCopies: copies are a job attribute
                                 // PageSize in points.
        let pts = |px: u32, dpi: u32| (u64::from(px) * 72 / u64::from(dpi.max(1))) as u32;
        put_u32(&mut h, 352, pts(self.width, self.dpi.0));
        put_u32(&mut h, 356, pts(self.height, self.dpi.1));
        put_u32(&mut h, 372, self.width);
        put_u32(&mut h, 376, self.height);
        put_u32(&mut h, 384, self.raster.bits_per_color());
        put_u32(&mut h, 388, self.raster.bits_per_pixel());
        put_u32(
            &mut h,
            392,
            u32::try_from(self.raster.bytes_per_line(self.width)).unwrap_or(u32::MAX),
        );
        put_u32(&mut h, 396, 0); // ColorOrder: chunky
        put_u32(&mut h, 400, self.raster.color_space());
        put_u32(&mut h, 420, self.raster.num_colors());
        put_u32(&mut h, 452, self.total_pages);
        let transform = |flip: bool| if flip { u32::MAX } else { 1 }; // -1 or 1
        put_u32(&mut h, 456, transform(self.flipped.0)); // CrossFeedTransform
        put_u32(&mut h, 460, transform(self.flipped.1)); // FeedTransform
        put_u32(&mut h, 480, 0x00ff_ffff); // AlternatePrimary: white
        if let Some(name) = &self.page_size_name {
            put_str(&mut h, 1732, name);
        }
        h
    }
}

/// Compresses one line: PackBits-like runs of whole `unit`-byte pixels. A control byte
/// 0..=127 repeats the next pixel 1..=128 times; 257-n (n in 2..=127) is followed by n
/// literal pixels.
fn compress_line(line: &[u8], unit: usize, out: &mut Vec<u8>) {
    match unit {
        3 => compress_pixels::<3>(line, out),
        _ => compress_pixels::<1>(line, out),
    }
}

/// [`compress_line`] for `U`-byte pixels (fixed-size, so comparing two is inlined).
fn compress_pixels<const U: usize>(line: &[u8], out: &mut Vec<u8>) {
    let (pixels, _) = line.as_chunks::<U>();
    let n = pixels.len();
    let mut i = 0;
    while i < n {
        // Length of the run of equal pixels starting at i.
        let first = pixels[i];
        let max = (n - i).min(128);
        let mut run = 1;
        // Sixteen pixels at a time through long runs (white space), then one by one.
        while run + 16 <= max && pixels[i + run..i + run + 16] == [first; 16] {
            run += 16;
        }
        while run < max && pixels[i + run] == first {
            run += 1;
        }
        if run >= 2 || i + 1 == n {
            out.push((run - 1) as u8);
            out.extend_from_slice(&first);
            i += run;
            continue;
        }
        // Literal run: up to the next pair of equal pixels, at most 127.
        let start = i;
        let mut len = 0;
        while i < n && len < 127 {
            if i + 1 < n && pixels[i] == pixels[i + 1] {
                break;
            }
            i += 1;
            len += 1;
        }
        if len == 1 {
            out.push(0);
        } else {
            out.push((257 - len) as u8);
        }
        out.extend_from_slice(pixels[start..start + len].as_flattened());
    }
}

/// Appends the compressed rows (each `row_bytes` long) of one page to `out`; runs of equal
/// rows are written once with a repeat count.
pub fn compress_rows<'a>(
    rows: impl Iterator<Item = &'a [u8]>,
    raster: RasterType,
    out: &mut Vec<u8>,
) {
    let mut c = RowCompressor::new(raster);
    for row in rows {
        c.push(row, out);
    }
    c.finish(out);
}

/// Compresses a page row by row as the rows are made (so no page-sized buffer is needed):
/// each row is compared with the one before and runs of equal rows are written once.
#[derive(Debug)]
pub struct RowCompressor {
    unit: usize,
    prev: Vec<u8>,
    has_prev: bool,
    repeat: u8,
}

impl RowCompressor {
    /// A compressor for rows of `raster`.
    pub fn new(raster: RasterType) -> Self {
        RowCompressor {
            unit: raster.unit(),
            prev: Vec::new(),
            has_prev: false,
            repeat: 0,
        }
    }

    /// Adds the next row; a finished run of rows is appended to `out`.
    pub fn push(&mut self, row: &[u8], out: &mut Vec<u8>) {
        if self.has_prev && self.prev == row && self.repeat < 255 {
            self.repeat += 1;
            return;
        }
        self.flush(out);
        self.prev.clear();
        self.prev.extend_from_slice(row);
        self.has_prev = true;
    }

    fn flush(&mut self, out: &mut Vec<u8>) {
        if self.has_prev {
            out.push(self.repeat);
            compress_line(&self.prev, self.unit, out);
        }
        self.repeat = 0;
    }

    /// Appends the last run of rows.
    pub fn finish(mut self, out: &mut Vec<u8>) {
        self.flush(out);
    }
}

fn bad(detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, "pwg-raster", "encode page").with_detail(detail)
}

/// Converts a raw page's rows to `raster` (8-bit, 0 = black for gray; 1 = black for
/// `black_1`) and resamples to `dpi` (nearest neighbour) if it differs from the page's.
/// Returns (width, height, rows).
fn convert(page: &Page, raster: RasterType, dpi: (u32, u32)) -> Result<(u32, u32, Vec<u8>)> {
    let (format, pixels) = match &page.data {
        PageData::Raw { format, pixels } => (*format, pixels),
        PageData::Jpeg { .. } => {
            return Err(
                Error::new(ErrorKind::Unsupported, "pwg-raster", "encode page")
                    .with_detail("the page is a JPEG; this crate does not decode JPEG"),
            )
        }
    };
    let (w, h) = (page.width, page.height);
    let row_in = format.row_bytes(w);
    if w == 0 || h == 0 || pixels.len() != row_in * h as usize {
        return Err(bad(format!(
            "{w}x{h} {format:?} needs {} bytes, got {}",
            row_in * h as usize,
            pixels.len()
        )));
    }
    let scale = |px: u32, from: u32, to: u32| -> u32 {
        ((u64::from(px) * u64::from(to)) / u64::from(from.max(1))).max(1) as u32
    };
    let (ow, oh) = (scale(w, page.dpi.0, dpi.0), scale(h, page.dpi.1, dpi.1));
    if u64::from(ow) * u64::from(oh) > 400_000_000 {
        return Err(bad(format!("{ow}x{oh} pixels is too large a page")));
    }
    // Reads pixel (x, y) of the source as (r, g, b) 8-bit, 0 = black.
    let get = |x: u32, y: u32| -> (u8, u8, u8) {
        let row = pixels
            .get(y as usize * row_in..(y as usize + 1) * row_in)
            .unwrap_or_default();
        let x = x as usize;
        let b = |i: usize| row.get(i).copied().unwrap_or(255);
        match format {
            PixelFormat::Bw1 => {
                let bit = b(x / 8) >> (7 - (x % 8)) & 1;
                let v = if bit == 1 { 0 } else { 255 };
                (v, v, v)
            }
            PixelFormat::Gray8 => (b(x), b(x), b(x)),
            PixelFormat::Gray16 => (b(2 * x), b(2 * x), b(2 * x)),
            PixelFormat::Rgb8 => (b(3 * x), b(3 * x + 1), b(3 * x + 2)),
            PixelFormat::Rgb16 => (b(6 * x), b(6 * x + 2), b(6 * x + 4)),
            #[allow(unreachable_patterns)]
            _ => (255, 255, 255),
        }
    };
    let luma = |(r, g, b): (u8, u8, u8)| -> u8 {
        ((u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000) as u8
    };
    let row_out = raster.bytes_per_line(ow) as usize;
    let mut out = vec![0u8; row_out * oh as usize];
    for (oy, dst) in out.chunks_mut(row_out.max(1)).enumerate() {
        let sy = ((oy as u64 * u64::from(h)) / u64::from(oh)) as u32;
        for ox in 0..ow {
            let sx = ((u64::from(ox) * u64::from(w)) / u64::from(ow)) as u32;
            let px = get(sx, sy);
            let ox = ox as usize;
            match raster {
                RasterType::Black1 => {
                    if luma(px) < 128 {
                        if let Some(byte) = dst.get_mut(ox / 8) {
                            *byte |= 0x80 >> (ox % 8);
                        }
                    }
                }
                RasterType::Sgray8 => {
                    if let Some(d) = dst.get_mut(ox) {
                        *d = luma(px);
                    }
                }
                RasterType::Srgb8 => {
                    if let Some(d) = dst.get_mut(3 * ox..3 * ox + 3) {
                        d.copy_from_slice(&[px.0, px.1, px.2]);
                    }
                }
            }
        }
    }
    Ok((ow, oh, out))
}

/// Encodes one raw page as a complete PWG raster stream (sync word, header, compressed
/// rows) of type `raster` at `dpi`, resampling if the page has another resolution.
///
/// # Errors
/// [`ErrorKind::Unsupported`] for a JPEG page, [`ErrorKind::InvalidInput`] when the page's
/// buffer does not match its size or the page is absurdly large.
pub fn encode_page(
    page: &Page,
    raster: RasterType,
    dpi: (u32, u32),
    page_size_name: Option<&str>,
) -> Result<Vec<u8>> {
    if dpi.0 == 0 || dpi.1 == 0 {
        return Err(bad("resolution 0 dpi"));
    }
    let (w, h, rows) = convert(page, raster, dpi)?;
    let header = PageHeader {
        raster,
        width: w,
        height: h,
        dpi,
        page_size_name: page_size_name.map(str::to_owned),
        total_pages: 1,
        duplex: (false, false),
        flipped: (false, false),
    };
    let mut out = Vec::with_capacity(HEADER_LEN + 4 + rows.len() / 4);
    out.extend_from_slice(SYNC);
    out.extend_from_slice(&header.to_bytes());
    let row_bytes = raster.bytes_per_line(w) as usize;
    compress_rows(rows.chunks(row_bytes.max(1)), raster, &mut out);
    Ok(out)
}

/// Decodes the compressed rows of one page (for tests and checks): returns the raw rows.
///
/// Bounded by what arrives: the output grows line by line as the data decodes (nothing is
/// reserved from the announced size); a page announcing more than [`MAX_PAGE_BYTES`], or
/// more than its data can hold (one byte yields less than 128 bytes of a line repeated up
/// to 256 times), is refused before decoding; a line repeat past the last row is an error
/// before it is copied. Every size is computed with checked arithmetic.
///
/// # Errors
/// [`ErrorKind::Protocol`] for a truncated or overlong stream, or a page above
/// [`MAX_PAGE_BYTES`].
pub fn decode_rows(data: &[u8], raster: RasterType, width: u32, height: u32) -> Result<Vec<u8>> {
    let perr = |d: &str| {
        Error::new(ErrorKind::Protocol, "pwg-raster", "decode page").with_detail(d.to_owned())
    };
    let total = raster
        .bytes_per_line(width)
        .checked_mul(u64::from(height))
        .filter(|&t| t <= MAX_PAGE_BYTES);
    let (Some(_), Ok(row_bytes)) = (total, usize::try_from(raster.bytes_per_line(width))) else {
        return Err(perr(&format!(
            "a {width}x{height} {} page is more than {MAX_PAGE_BYTES} bytes",
            raster.keyword()
        )));
    };
    // One input byte yields less than 128 bytes of a line (a run of 128 pixels costs a
    // control byte and a pixel), and a line at most 256 rows: a stream too short for the
    // page is refused before decoding.
    let most = (data.len() as u64).saturating_mul(128 * 256);
    if total.is_some_and(|t| t > most) {
        return Err(perr(&format!(
            "{} bytes cannot hold a {width}x{height} {} page",
            data.len(),
            raster.keyword()
        )));
    }
    let unit = raster.unit();
    let mut out = Vec::new();
    let mut line = Vec::new();
    let mut pos = 0usize;
    let mut next = |n: usize| -> Result<&[u8]> {
        let s = pos
            .checked_add(n)
            .and_then(|end| data.get(pos..end))
            .ok_or_else(|| perr("truncated"))?;
        pos += n;
        Ok(s)
    };
    let mut rows = 0u32;
    while rows < height {
        let repeat = u32::from(*next(1)?.first().unwrap_or(&0)) + 1;
        if repeat > height - rows {
            return Err(perr("more rows than the height"));
        }
        line.clear();
        while line.len() < row_bytes {
            let c = *next(1)?.first().unwrap_or(&0);
            if c < 128 {
                let px = next(unit)?;
                for _ in 0..=c {
                    line.extend_from_slice(px);
                }
            } else {
                let n = 257 - usize::from(c);
                line.extend_from_slice(next(n * unit)?);
            }
        }
        if line.len() != row_bytes {
            return Err(perr("a line overruns its width"));
        }
        for _ in 0..repeat {
            out.extend_from_slice(&line);
        }
        rows += repeat;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be(h: &[u8], off: usize) -> u32 {
        u32::from_be_bytes(h[off..off + 4].try_into().unwrap())
    }

    #[test]
    fn header_fields_at_pwg_offsets() {
        let h = PageHeader {
            raster: RasterType::Srgb8,
            width: 2480,
            height: 3508,
            dpi: (300, 300),
            page_size_name: Some("iso_a4_210x297mm".into()),
            total_pages: 1,
            duplex: (true, false),
            flipped: (false, true),
        }
        .to_bytes();
        assert_eq!((be(&h, 272), be(&h, 368)), (1, 0));
        assert_eq!((be(&h, 456), be(&h, 460)), (1, u32::MAX));
        assert_eq!(&h[..10], b"PwgRaster\0");
        assert_eq!(be(&h, 276), 300);
        assert_eq!(be(&h, 352), 595); // 2480 px at 300 dpi = 595 pt
        assert_eq!(be(&h, 356), 841);
        assert_eq!(be(&h, 372), 2480);
        assert_eq!(be(&h, 376), 3508);
        assert_eq!(be(&h, 384), 8);
        assert_eq!(be(&h, 388), 24);
        assert_eq!(be(&h, 392), 2480 * 3);
        assert_eq!(be(&h, 400), 19);
        assert_eq!(be(&h, 420), 3);
        assert_eq!(&h[1732..1748], b"iso_a4_210x297mm");
    }

    #[test]
    fn compression_round_trips() {
        for raster in [RasterType::Black1, RasterType::Sgray8, RasterType::Srgb8] {
            let w = 301u32;
            let h = 7u32;
            let rb = raster.bytes_per_line(w) as usize;
            let mut rows = vec![0u8; rb * h as usize];
            for (i, b) in rows.iter_mut().enumerate() {
                // Rows 0-2 equal, then noise, then runs.
                let r = i / rb;
                *b = match r {
                    0..=2 => (i % rb / 40) as u8,
                    3 | 4 => (i.wrapping_mul(2_654_435_761) >> 7) as u8,
                    _ => 0xAA,
                };
            }
            let mut out = Vec::new();
            compress_rows(rows.chunks(rb), raster, &mut out);
            assert!(out.len() < rows.len());
            assert_eq!(decode_rows(&out, raster, w, h).unwrap(), rows, "{raster:?}");
        }
    }

    #[test]
    fn long_runs_of_equal_rows_round_trip() {
        // 600 equal rows need three repeat groups (at most 256 rows each), row by row.
        let (w, h) = (40u32, 600u32);
        let mut rows = vec![255u8; (w * h) as usize];
        rows[(w * 599) as usize] = 0;
        let mut out = Vec::new();
        let mut c = RowCompressor::new(RasterType::Sgray8);
        for r in rows.chunks(w as usize) {
            c.push(r, &mut out);
        }
        c.finish(&mut out);
        assert!(out.len() < 40, "{} bytes", out.len());
        assert_eq!(decode_rows(&out, RasterType::Sgray8, w, h).unwrap(), rows);
    }

    #[test]
    fn converts_and_resamples_a_page() {
        // 8x2 gray page at 150 dpi: left half black, right half white.
        let mut px = vec![0u8; 16];
        for (i, p) in px.iter_mut().enumerate() {
            *p = if i % 8 < 4 { 0 } else { 255 };
        }
        let page = Page::raw(0, 8, 2, (150, 150), PixelFormat::Gray8, px).unwrap();
        let pwg = encode_page(&page, RasterType::Black1, (300, 300), None).unwrap();
        let h = &pwg[4..4 + HEADER_LEN];
        assert_eq!((be(h, 372), be(h, 376)), (16, 4));
        let rows = decode_rows(&pwg[4 + HEADER_LEN..], RasterType::Black1, 16, 4).unwrap();
        assert_eq!(rows, vec![0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00]);
    }

    #[test]
    fn truncated_stream_is_a_protocol_error() {
        let e = decode_rows(&[0, 5], RasterType::Sgray8, 10, 1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }
}
