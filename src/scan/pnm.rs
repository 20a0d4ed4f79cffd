//! PNM (Netpbm) images: binary P4 (1-bit), P5 (gray), P6 (RGB), maxval 255 or 65535.
//!
//! Reading is bounded and panic-free; the pixel layouts match [`PixelFormat`] exactly (P4 is
//! 1 = black like [`PixelFormat::Bw1`], 16-bit samples are big-endian), so no conversion is
//! needed in either direction.

use std::io::Write;

use crate::error::{Error, ErrorKind, Result};
use crate::scan::PixelFormat;

/// Largest width or height accepted (a 1200 dpi A3 scan is ~20 000 px).
pub const MAX_DIMENSION: u32 = 65_535;

/// The header of a PNM file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PnmHeader {
    /// Pixel layout of the raster.
    pub format: PixelFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Byte offset of the raster in the file.
    pub data_offset: usize,
}

fn bad(name: &str, what: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, name.to_owned(), "read PNM").with_detail(what.into())
}

/// Parses the header. `name` is used in error messages (file name).
///
/// # Errors
/// [`ErrorKind::Protocol`] for a malformed or unsupported header (ASCII P1-P3, maxval other
/// than 255/65535 for P5/P6, zero or oversized dimensions).
pub fn parse_header(name: &str, data: &[u8]) -> Result<PnmHeader> {
    let mut pos = 0usize;
    let magic = data
        .get(0..2)
        .ok_or_else(|| bad(name, "shorter than a PNM magic"))?;
    let kind = match magic {
        b"P4" => 4,
        b"P5" => 5,
        b"P6" => 6,
        b"P1" | b"P2" | b"P3" => {
            return Err(bad(
                name,
                "ASCII PNM (P1-P3) is not supported, use binary P4-P6",
            ))
        }
        _ => return Err(bad(name, "not a PNM file (magic is not P4, P5 or P6)")),
    };
    pos += 2;
    let fields = if kind == 4 { 2 } else { 3 };
    let mut values = [0u32; 3];
    for v in values.iter_mut().take(fields) {
        // Skip whitespace and comments.
        loop {
            match data.get(pos) {
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C) => pos += 1,
                Some(b'#') => {
                    while let Some(&c) = data.get(pos) {
                        pos += 1;
                        if c == b'\n' || c == b'\r' {
                            break;
                        }
                    }
                }
                Some(_) => break,
                None => return Err(bad(name, "header ends early")),
            }
        }
        let start = pos;
        while data.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        let digits = data.get(start..pos).unwrap_or_default();
        if digits.is_empty() || digits.len() > 6 {
            return Err(bad(name, format!("bad header number at byte {start}")));
        }
        *v = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    }
    // Exactly one whitespace byte before the raster.
    match data.get(pos) {
        Some(b' ' | b'\t' | b'\n' | b'\r') => pos += 1,
        _ => return Err(bad(name, "no whitespace after the header")),
    }
    let (width, height) = (values[0], values[1]);
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(bad(
            name,
            format!("dimensions {width}x{height} outside 1..={MAX_DIMENSION}"),
        ));
    }
    let format = match (kind, values[2]) {
        (4, _) => PixelFormat::Bw1,
        (5, 255) => PixelFormat::Gray8,
        (5, 65535) => PixelFormat::Gray16,
        (6, 255) => PixelFormat::Rgb8,
        (6, 65535) => PixelFormat::Rgb16,
        (_, m) => {
            return Err(bad(
                name,
                format!("maxval {m} not supported (use 255 or 65535)"),
            ))
        }
    };
    Ok(PnmHeader {
        format,
        width,
        height,
        data_offset: pos,
    })
}

/// Parses a whole PNM file and returns the header and its raster (exactly `height` rows).
///
/// # Errors
/// As [`parse_header`]; [`ErrorKind::Protocol`] when the raster is truncated.
pub fn parse(name: &str, data: &[u8]) -> Result<(PnmHeader, std::ops::Range<usize>)> {
    let h = parse_header(name, data)?;
    let len = h.format.row_bytes(h.width) as u64 * u64::from(h.height);
    let end = (h.data_offset as u64)
        .checked_add(len)
        .filter(|&e| e <= data.len() as u64);
    match end {
        Some(end) => Ok((h, h.data_offset..end as usize)),
        None => Err(bad(
            name,
            format!(
                "raster truncated: {}x{} {:?} needs {len} bytes, file has {}",
                h.width,
                h.height,
                h.format,
                data.len().saturating_sub(h.data_offset)
            ),
        )),
    }
}

/// Writes a PNM header and raster for `format`.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] when `pixels` does not hold `height` rows; I/O errors of `out`.
pub fn write(
    out: &mut impl Write,
    format: PixelFormat,
    width: u32,
    height: u32,
    pixels: &[u8],
) -> Result<()> {
    let want = format.row_bytes(width) as u64 * u64::from(height);
    if pixels.len() as u64 != want {
        return Err(
            Error::new(ErrorKind::InvalidInput, "pnm", "write PNM").with_detail(format!(
                "{width}x{height} {format:?} needs {want} bytes, got {}",
                pixels.len()
            )),
        );
    }
    let header = match format {
        PixelFormat::Bw1 => format!("P4\n{width} {height}\n"),
        PixelFormat::Gray8 => format!("P5\n{width} {height}\n255\n"),
        PixelFormat::Gray16 => format!("P5\n{width} {height}\n65535\n"),
        PixelFormat::Rgb8 => format!("P6\n{width} {height}\n255\n"),
        PixelFormat::Rgb16 => format!("P6\n{width} {height}\n65535\n"),
    };
    out.write_all(header.as_bytes())
        .and_then(|()| out.write_all(pixels))
        .map_err(|e| Error::io("pnm", "write PNM", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_format() {
        for (format, w, h) in [
            (PixelFormat::Bw1, 13, 3),
            (PixelFormat::Gray8, 4, 2),
            (PixelFormat::Gray16, 4, 2),
            (PixelFormat::Rgb8, 3, 3),
            (PixelFormat::Rgb16, 2, 5),
        ] {
            let pixels: Vec<u8> = (0..format.row_bytes(w) * h as usize)
                .map(|i| (i * 37) as u8)
                .collect();
            let mut file = Vec::new();
            write(&mut file, format, w, h, &pixels).unwrap();
            let (hd, range) = parse("t.pnm", &file).unwrap();
            assert_eq!((hd.format, hd.width, hd.height), (format, w, h));
            assert_eq!(&file[range], &pixels[..]);
        }
    }

    #[test]
    fn comments_and_whitespace() {
        let f = b"P5\n# scanned by buergerkoffer\n2 1\n# c\n255\n\x00\xFF";
        let (h, r) = parse("c.pgm", f).unwrap();
        assert_eq!((h.width, h.height, r.len()), (2, 1, 2));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let mut file = Vec::new();
        write(&mut file, PixelFormat::Rgb16, 3, 2, &[7u8; 36]).unwrap();
        for n in 0..file.len() {
            let e = parse("t.ppm", &file[..n]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "at {n}");
        }
    }

    #[test]
    fn rejects_unsupported() {
        for f in [
            &b"P2\n1 1\n255\n0"[..],
            b"P5\n1 1\n15\n\x00",
            b"P5\n0 1\n255\n",
            b"P5\n99999999 1\n255\n",
            b"GIF89a",
            b"P6 1 1 255",
        ] {
            assert_eq!(parse("x", f).unwrap_err().kind(), ErrorKind::Protocol);
        }
    }
}
