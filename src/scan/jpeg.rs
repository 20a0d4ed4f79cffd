//! JPEG header reader: size, components, bit depth, progressive flag and the JFIF density,
//! without decoding the image. Used to pass JPEG pages through untouched.
//!
//! Bounded and panic-free: the marker walk checks every segment length against the input, and
//! malformed or truncated input is an [`ErrorKind::Protocol`] error naming the image.
//!
//! ```
//! use buergerkoffer::scan::jpeg;
//! // SOI, APP0 JFIF at 300 dpi, SOF0 640x480 with 3 components.
//! let mut data = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
//! data.extend_from_slice(b"JFIF\0\x01\x02\x01\x01\x2C\x01\x2C\0\0");
//! data.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 8, 0x01, 0xE0, 0x02, 0x80, 3]);
//! data.extend_from_slice(&[1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
//! let info = jpeg::read_header(&data, "scan.jpg")?;
//! assert_eq!((info.width, info.height, info.components), (640, 480, 3));
//! assert_eq!(info.density_dpi, Some((300, 300)));
//! # Ok::<(), buergerkoffer::Error>(())
//! ```

use crate::error::{Error, ErrorKind, Result};

/// What a JPEG header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JpegInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colour components: 1 (gray), 3 (YCbCr/RGB) or 4 (CMYK/YCCK).
    pub components: u8,
    /// Bits per sample (8 for baseline).
    pub bits: u8,
    /// Whether the frame is progressive.
    pub progressive: bool,
    /// Resolution from the JFIF APP0 segment in dots per inch (converted from dots per cm if
    /// needed); `None` when there is no JFIF segment or it gives only an aspect ratio.
    pub density_dpi: Option<(u32, u32)>,
}

fn bad(name: &str, what: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, name.to_owned(), "read JPEG header").with_detail(what)
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

/// Reads the header of a JPEG file up to its frame header (SOFn). `name` is used in errors.
///
/// # Errors
/// [`ErrorKind::Protocol`] when the data is not a JPEG, a segment is truncated or malformed,
/// the scan starts before a frame header, or width, height or component count is zero or
/// invalid.
pub fn read_header(data: &[u8], name: &str) -> Result<JpegInfo> {
    if data.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err(bad(name, "not a JPEG (no SOI marker)"));
    }
    let mut pos = 2usize;
    let mut density = None;
    loop {
        match data.get(pos) {
            Some(0xFF) => {}
            Some(b) => {
                return Err(bad(
                    name,
                    format!("expected a marker at byte {pos}, found 0x{b:02X}"),
                ))
            }
            None => return Err(bad(name, "truncated before the frame header")),
        }
        // Skip fill bytes.
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *data
            .get(pos)
            .ok_or_else(|| bad(name, "truncated inside a marker"))?;
        pos += 1;
        match marker {
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 => return Err(bad(name, "second SOI marker")),
            0xD9 => return Err(bad(name, "end of image before the frame header")),
            0xDA => return Err(bad(name, "scan data before the frame header")),
            0x00 => return Err(bad(name, "stuffed byte outside scan data")),
            _ => {}
        }
        let len = be16(data, pos).ok_or_else(|| bad(name, "truncated segment length"))? as usize;
        if len < 2 {
            return Err(bad(
                name,
                format!("segment 0xFF{marker:02X} has length {len}"),
            ));
        }
        let seg = data.get(pos + 2..pos + len).ok_or_else(|| {
            bad(
                name,
                format!(
                    "segment 0xFF{marker:02X} of {len} bytes at byte {pos} runs past the end ({} bytes)",
                    data.len()
                ),
            )
        })?;
        match marker {
            0xE0 if seg.starts_with(b"JFIF\0") => {
                // version(2) units(1) Xdensity(2) Ydensity(2)
                if let (Some(&units), Some(x), Some(y)) = (seg.get(7), be16(seg, 8), be16(seg, 10))
                {
                    let (x, y) = (u32::from(x), u32::from(y));
                    density = match units {
                        1 if x > 0 && y > 0 => Some((x, y)),
                        2 if x > 0 && y > 0 => {
                            Some((((x * 254 + 50) / 100).max(1), ((y * 254 + 50) / 100).max(1)))
                        }
                        _ => None,
                    };
                }
            }
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let (Some(&bits), Some(height), Some(width), Some(&components)) =
                    (seg.first(), be16(seg, 1), be16(seg, 3), seg.get(5))
                else {
                    return Err(bad(name, "frame header too short"));
                };
                if width == 0 || height == 0 {
                    return Err(bad(
                        name,
                        format!("frame size {width}x{height} (zero or defined later by DNL)"),
                    ));
                }
                if !matches!(components, 1 | 3 | 4) {
                    return Err(bad(name, format!("{components} colour components")));
                }
                if seg.len() < 6 + 3 * usize::from(components) {
                    return Err(bad(name, "frame header too short for its components"));
                }
                return Ok(JpegInfo {
                    width: u32::from(width),
                    height: u32::from(height),
                    components,
                    bits,
                    progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                    density_dpi: density,
                });
            }
            _ => {}
        }
        pos += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(units: u8, x: u16, sof: u8) -> Vec<u8> {
        let mut d = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        d.extend_from_slice(b"JFIF\0\x01\x01");
        d.push(units);
        d.extend_from_slice(&x.to_be_bytes());
        d.extend_from_slice(&x.to_be_bytes());
        d.extend_from_slice(&[0, 0]);
        d.extend_from_slice(&[
            0xFF, 0xFF, sof, 0x00, 0x0B, 8, 0x00, 0x10, 0x00, 0x20, 1, 1, 0x11, 0,
        ]);
        d
    }

    #[test]
    fn dots_per_cm_and_progressive() {
        let i = read_header(&minimal(2, 118, 0xC2), "a.jpg").unwrap();
        assert_eq!(i.density_dpi, Some((300, 300)));
        assert!(i.progressive);
        assert_eq!((i.width, i.height, i.components), (32, 16, 1));
        let i = read_header(&minimal(0, 1, 0xC0), "a.jpg").unwrap();
        assert_eq!(i.density_dpi, None);
    }
}
