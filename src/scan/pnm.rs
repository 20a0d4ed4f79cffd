//! Binary PNM (netpbm) images: reader and writer for P4 (1-bit), P5 (gray) and P6 (RGB),
//! maxval 255 and 65535 (other maxvals are scaled to 8 or 16 bits).
//!
//! The reader is bounded and panic-free: every length is checked against the input, a header
//! announcing more than [`MAX_PAGE_BYTES`] of pixels is refused before anything is allocated,
//! and malformed or truncated input is an [`ErrorKind::Protocol`] error naming the image.
//! [`read_header`] reads only the header, so a file reader can check the file's size before
//! it reads the raster. The
//! P4 bit layout (MSB first, rows padded to a byte, 1 = black) is exactly
//! [`PixelFormat::Bw1`]; 16-bit samples are big-endian in both.
//!
//! ```
//! use buergerkoffer::scan::{pnm, PixelFormat};
//! let file = pnm::encode(PixelFormat::Gray8, 2, 1, &[0, 255])?;
//! assert_eq!(&file[..], b"P5\n2 1\n255\n\x00\xff");
//! let img = pnm::decode(&file, "two.pgm")?;
//! assert_eq!((img.width, img.height, img.format), (2, 1, PixelFormat::Gray8));
//! assert_eq!(&img.pixels[..], &[0, 255]);
//! # Ok::<(), buergerkoffer::Error>(())
//! ```

use bytes::Bytes;

use super::{Page, PageData, PixelFormat, MAX_PAGE_BYTES};
use crate::error::{Error, ErrorKind, Result};

/// Largest width or height accepted (a 2 m long scan at 1200 dpi is ~95 000 pixels).
pub const MAX_DIMENSION: u32 = 1 << 20;

/// A decoded PNM image.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PnmImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel layout of [`pixels`](Self::pixels).
    pub format: PixelFormat,
    /// The file's maxval (1 for P4).
    pub maxval: u16,
    /// The pixels, `height` rows of [`PixelFormat::row_bytes`].
    pub pixels: Bytes,
}

impl PnmImage {
    /// Turns the image into a raw [`Page`].
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when a dimension or the dpi is zero.
    pub fn into_page(self, index: u32, dpi: (u32, u32)) -> Result<Page> {
        Page::raw(
            index,
            self.width,
            self.height,
            dpi,
            self.format,
            self.pixels,
        )
    }
}

fn bad(name: &str, what: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, name.to_owned(), "read PNM image").with_detail(what)
}

/// A cursor over the header.
struct Header<'a> {
    data: &'a [u8],
    pos: usize,
    name: &'a str,
}

impl Header<'_> {
    /// Skips whitespace and `#` comments (to the end of the line).
    fn skip_space(&mut self) {
        while let Some(&c) = self.data.get(self.pos) {
            if c == b'#' {
                while let Some(&c) = self.data.get(self.pos) {
                    self.pos += 1;
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                }
            } else if c.is_ascii_whitespace() {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn number(&mut self, what: &str) -> Result<u32> {
        self.skip_space();
        let start = self.pos;
        let mut v: u64 = 0;
        while let Some(&c) = self.data.get(self.pos) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v * 10 + u64::from(c - b'0');
            self.pos += 1;
            if v > u64::from(u32::MAX) {
                return Err(bad(self.name, format!("{what} is too large")));
            }
        }
        if self.pos == start {
            return Err(bad(
                self.name,
                match self.data.get(self.pos) {
                    None => format!("truncated header: {what} missing"),
                    Some(c) => format!("expected {what}, found byte 0x{c:02X}"),
                },
            ));
        }
        Ok(v as u32)
    }
}

/// Longest header accepted, comments included (64 KiB).
pub const MAX_HEADER_BYTES: usize = 64 << 10;

/// What a PNM header says: enough to know how many bytes the file must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PnmHeader {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pixel layout of the decoded raster.
    pub format: PixelFormat,
    /// The file's maxval (1 for P4).
    pub maxval: u16,
    /// Offset of the raster: the header's length.
    pub data_offset: usize,
    /// Bytes of raster the header announces (at most [`MAX_PAGE_BYTES`]).
    pub raster_bytes: u64,
}

impl PnmHeader {
    /// Bytes the file needs: header plus raster.
    pub fn file_bytes(&self) -> u64 {
        self.data_offset as u64 + self.raster_bytes
    }
}

/// Reads the header of a binary PNM image (P4, P5 or P6) from the start of a file; `data`
/// needs to hold only the header (at most [`MAX_HEADER_BYTES`]). Check the file's size
/// against [`PnmHeader::file_bytes`] before reading the raster.
///
/// # Errors
/// [`ErrorKind::Protocol`] for a malformed or truncated header, a header longer than
/// [`MAX_HEADER_BYTES`], zero or too large dimensions (above [`MAX_DIMENSION`], or a raster
/// above [`MAX_PAGE_BYTES`]), maxval 0 or above 65535; [`ErrorKind::Unsupported`] for ASCII
/// (P1-P3) and PAM (P7) files.
pub fn read_header(data: &[u8], name: &str) -> Result<PnmHeader> {
    let limited = data.get(..MAX_HEADER_BYTES).unwrap_or(data);
    let magic = limited
        .get(..2)
        .ok_or_else(|| bad(name, "too short for a PNM header"))?;
    let kind = match magic {
        b"P4" => 4,
        b"P5" => 5,
        b"P6" => 6,
        b"P1" | b"P2" | b"P3" | b"P7" => {
            return Err(
                Error::new(ErrorKind::Unsupported, name.to_owned(), "read PNM image")
                    .with_detail("only binary P4, P5 and P6 images are supported"),
            )
        }
        _ => return Err(bad(name, "not a PNM image (no P4/P5/P6 magic)")),
    };
    let too_long = |e: Error| {
        if data.len() > MAX_HEADER_BYTES {
            bad(
                name,
                format!("no complete header in the first {MAX_HEADER_BYTES} bytes"),
            )
        } else {
            e
        }
    };
    let mut h = Header {
        data: limited,
        pos: 2,
        name,
    };
    let width = h.number("width").map_err(too_long)?;
    let height = h.number("height").map_err(too_long)?;
    let maxval = if kind == 4 {
        1
    } else {
        h.number("maxval").map_err(too_long)?
    };
    if width == 0 || height == 0 || width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(bad(
            name,
            format!("size {width}x{height} outside 1..={MAX_DIMENSION}"),
        ));
    }
    if maxval == 0 || maxval > 65_535 {
        return Err(bad(name, format!("maxval {maxval} outside 1..=65535")));
    }
    // Exactly one whitespace byte ends the header.
    match limited.get(h.pos) {
        Some(c) if c.is_ascii_whitespace() => h.pos += 1,
        Some(c) => {
            return Err(bad(
                name,
                format!("expected whitespace after the header, found byte 0x{c:02X}"),
            ))
        }
        None => return Err(too_long(bad(name, "truncated: no raster"))),
    }
    let wide = maxval > 255;
    let format = match (kind, wide) {
        (4, _) => PixelFormat::Bw1,
        (5, false) => PixelFormat::Gray8,
        (5, true) => PixelFormat::Gray16,
        (_, false) => PixelFormat::Rgb8,
        (_, true) => PixelFormat::Rgb16,
    };
    let raster_bytes = format.row_bytes(width) as u64 * u64::from(height);
    if raster_bytes > MAX_PAGE_BYTES {
        return Err(bad(
            name,
            format!(
                "{width}x{height} {format:?} is {raster_bytes} bytes, \
                 more than the {MAX_PAGE_BYTES} accepted"
            ),
        ));
    }
    Ok(PnmHeader {
        width,
        height,
        format,
        maxval: maxval as u16,
        data_offset: h.pos,
        raster_bytes,
    })
}

/// Decodes a binary PNM image (P4, P5 or P6). `name` (e.g. the file name) is used in errors.
/// Data after the first image is ignored.
///
/// # Errors
/// As [`read_header`], and [`ErrorKind::Protocol`] for a truncated raster or a sample above
/// maxval.
pub fn decode(data: &[u8], name: &str) -> Result<PnmImage> {
    decode_impl(data, None, name)
}

/// Like [`decode`], but takes the file as [`Bytes`]: an 8-bit (maxval 255), 16-bit (maxval
/// 65535) or 1-bit raster is then shared with `data` instead of copied, which saves a copy of
/// every page read from a file.
///
/// # Errors
/// As [`decode`].
pub fn decode_bytes(data: Bytes, name: &str) -> Result<PnmImage> {
    decode_impl(&data, Some(&data), name)
}

fn decode_impl(data: &[u8], owned: Option<&Bytes>, name: &str) -> Result<PnmImage> {
    let PnmHeader {
        width,
        height,
        format,
        maxval,
        data_offset: start,
        raster_bytes: need,
    } = read_header(data, name)?;
    let raster = data.get(start..).unwrap_or_default();
    if (raster.len() as u64) < need {
        return Err(bad(
            name,
            format!(
                "truncated raster: {width}x{height} needs {need} bytes, file has {}",
                raster.len()
            ),
        ));
    }
    let raster = raster.get(..need as usize).unwrap_or_default();
    let m = u32::from(maxval);
    let pixels = match (format, maxval) {
        (PixelFormat::Bw1, _) | (_, 255) | (_, 65_535) => match owned {
            Some(b) => b.slice(start..start + raster.len()),
            None => Bytes::copy_from_slice(raster),
        },
        (_, m8) if m8 < 255 => {
            let mut out = Vec::with_capacity(raster.len());
            for &v in raster {
                if u32::from(v) > m {
                    return Err(bad(name, format!("sample {v} above maxval {m}")));
                }
                out.push(((u32::from(v) * 255 + m / 2) / m) as u8);
            }
            Bytes::from(out)
        }
        _ => {
            let mut out = Vec::with_capacity(raster.len());
            for s in raster.chunks_exact(2) {
                let v = u32::from(u16::from_be_bytes([s[0], s[1]]));
                if v > m {
                    return Err(bad(name, format!("sample {v} above maxval {m}")));
                }
                let scaled = ((v * 65_535 + m / 2) / m) as u16;
                out.extend_from_slice(&scaled.to_be_bytes());
            }
            Bytes::from(out)
        }
    };
    Ok(PnmImage {
        width,
        height,
        format,
        maxval,
        pixels,
    })
}

/// Encodes pixels as a binary PNM image: P4 for [`PixelFormat::Bw1`], P5 (maxval 255 or
/// 65535) for gray, P6 for RGB.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] when a dimension is zero or `pixels` is not exactly `height`
/// rows of [`PixelFormat::row_bytes`].
pub fn encode(format: PixelFormat, width: u32, height: u32, pixels: &[u8]) -> Result<Vec<u8>> {
    let need = format.row_bytes(width) as u64 * u64::from(height);
    if width == 0 || height == 0 || pixels.len() as u64 != need {
        return Err(
            Error::new(ErrorKind::InvalidInput, "pnm", "write PNM image").with_detail(format!(
                "{width}x{height} {format:?} needs {need} bytes, got {}",
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
    let mut out = Vec::with_capacity(header.len() + pixels.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(pixels);
    Ok(out)
}

/// Encodes a raw page as PNM.
///
/// # Errors
/// [`ErrorKind::Unsupported`] for a JPEG page; otherwise as [`encode`].
pub fn encode_page(page: &Page) -> Result<Vec<u8>> {
    match &page.data {
        PageData::Raw { format, pixels } => encode(*format, page.width, page.height, pixels),
        PageData::Jpeg { .. } => Err(Error::new(ErrorKind::Unsupported, "pnm", "write PNM image")
            .with_detail("the page is a JPEG; decode it first")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_whitespace_in_header() {
        let img = decode(b"P6 # a comment\n 1\t1 #x\n255\n\x01\x02\x03", "c.ppm").unwrap();
        assert_eq!(img.format, PixelFormat::Rgb8);
        assert_eq!(&img.pixels[..], &[1, 2, 3]);
    }

    #[test]
    fn odd_maxvals_are_scaled() {
        let img = decode(b"P5 2 1 15\n\x00\x0f", "m.pgm").unwrap();
        assert_eq!(&img.pixels[..], &[0, 255]);
        let img = decode(b"P5 1 1 1023\n\x03\xff", "m.pgm").unwrap();
        assert_eq!(img.format, PixelFormat::Gray16);
        assert_eq!(&img.pixels[..], &[0xff, 0xff]);
        let e = decode(b"P5 1 1 15\n\x10", "m.pgm").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
    }
}
