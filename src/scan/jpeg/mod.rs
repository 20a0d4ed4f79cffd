//! JPEG files without decoding them: [`read_header`] reads size, components, bit depth,
//! progressive flag and the JFIF density; [`validate`] checks that a file is a complete JPEG a
//! PDF reader can decode (`DCTDecode`), so that it can be passed through into a PDF untouched.
//!
//! Bounded and panic-free: the marker walk checks every segment length against the input, and
//! malformed or truncated input is an [`ErrorKind::Protocol`] error naming the image. A marker
//! is `0xFF`, any number of `0xFF` fill bytes, then a marker code; codes that are no JPEG
//! marker (`0x02..=0xBF`) and the extension markers libjpeg refuses (`JPG`, `JPGn`, `DHP`,
//! `EXP`) are errors.
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
//! // A header is not an image: no tables, no scan, no EOI.
//! assert!(jpeg::validate(&data, "scan.jpg").is_err());
//! # Ok::<(), buergerkoffer::Error>(())
//! ```

mod validate;

pub use validate::{validate, JpegLayout};

use crate::error::{Error, ErrorKind, Result};

/// Largest JPEG file [`validate`] accepts (256 MiB; a 600 dpi A4 colour scan at quality 95 is
/// about 10 MB). Readers check a file's size against it before reading the file.
pub const MAX_JPEG_BYTES: u64 = 256 << 20;

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
    Error::new(ErrorKind::Protocol, name.to_owned(), "read JPEG").with_detail(what)
}

fn unsupported(name: &str, what: impl Into<String>) -> Error {
    Error::new(ErrorKind::Unsupported, name.to_owned(), "pass JPEG through").with_detail(what)
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

/// Whether `m` is a start-of-frame marker (SOF0..SOF15 without DHT, JPG and DAC).
fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC)
}

/// A cursor over the markers of one file.
struct Walker<'a> {
    data: &'a [u8],
    pos: usize,
    name: &'a str,
}

impl<'a> Walker<'a> {
    /// Reads the next marker (`0xFF`, fill bytes, code) and returns its code. `what` says
    /// what was expected, for the truncation error.
    fn marker(&mut self, what: &str) -> Result<u8> {
        let at = self.pos;
        match self.data.get(at) {
            Some(0xFF) => {}
            Some(b) => {
                return Err(bad(
                    self.name,
                    format!("expected a marker at byte {at}, found 0x{b:02X}"),
                ))
            }
            None => return Err(bad(self.name, format!("truncated before {what}"))),
        }
        while self.data.get(self.pos) == Some(&0xFF) {
            self.pos += 1;
        }
        let code = *self
            .data
            .get(self.pos)
            .ok_or_else(|| bad(self.name, "truncated inside a marker"))?;
        self.pos += 1;
        match code {
            0x00 => Err(bad(
                self.name,
                format!("stuffed byte outside scan data at byte {at}"),
            )),
            0x02..=0xBF => Err(bad(
                self.name,
                format!("byte 0x{code:02X} after 0xFF at byte {at} is not a JPEG marker"),
            )),
            0xC8 | 0xDE | 0xDF | 0xF0..=0xFD => Err(bad(
                self.name,
                format!("extension marker 0xFF{code:02X} at byte {at} (not baseline JPEG)"),
            )),
            _ => Ok(code),
        }
    }

    /// Reads the length and payload of the segment of `marker` just read.
    fn segment(&mut self, marker: u8) -> Result<&'a [u8]> {
        let name = self.name;
        let pos = self.pos;
        let len =
            be16(self.data, pos).ok_or_else(|| bad(name, "truncated segment length"))? as usize;
        if len < 2 {
            return Err(bad(
                name,
                format!("segment 0xFF{marker:02X} has length {len}"),
            ));
        }
        let seg = self.data.get(pos + 2..pos + len).ok_or_else(|| {
            bad(
                name,
                format!(
                    "segment 0xFF{marker:02X} of {len} bytes at byte {pos} runs past the end \
                     ({} bytes)",
                    self.data.len()
                ),
            )
        })?;
        self.pos += len;
        Ok(seg)
    }

    /// Skips entropy-coded data (stuffed `FF 00`, restart markers, fill bytes) up to the next
    /// marker; returns the bytes skipped.
    fn entropy(&mut self) -> Result<usize> {
        let start = self.pos;
        loop {
            let rest = self.data.get(self.pos..).unwrap_or_default();
            let Some(ff) = rest.iter().position(|&b| b == 0xFF) else {
                return Err(bad(
                    self.name,
                    format!(
                        "scan data runs to the end of the file at byte {}: no EOI marker",
                        self.data.len()
                    ),
                ));
            };
            let at = self.pos + ff;
            match self.data.get(at + 1) {
                None => return Err(bad(self.name, "truncated in scan data: no EOI marker")),
                Some(0x00 | 0xD0..=0xD7) => self.pos = at + 2,
                Some(0xFF) => self.pos = at + 1,
                Some(_) => {
                    self.pos = at;
                    return Ok(at - start);
                }
            }
        }
    }
}

/// Density from a JFIF APP0 payload.
fn jfif_density(seg: &[u8]) -> Option<(u32, u32)> {
    if !seg.starts_with(b"JFIF\0") {
        return None;
    }
    // version(2) units(1) Xdensity(2) Ydensity(2)
    let (units, x, y) = (*seg.get(7)?, be16(seg, 8)?, be16(seg, 10)?);
    let (x, y) = (u32::from(x), u32::from(y));
    match units {
        1 if x > 0 && y > 0 => Some((x, y)),
        2 if x > 0 && y > 0 => Some((((x * 254 + 50) / 100).max(1), ((y * 254 + 50) / 100).max(1))),
        _ => None,
    }
}

/// One frame component: id, horizontal and vertical sampling, quantisation table.
#[derive(Clone, Copy, Default)]
struct Component {
    id: u8,
    h: u8,
    v: u8,
    tq: u8,
}

/// A parsed frame header.
struct Frame {
    info: JpegInfo,
    marker: u8,
    comps: [Component; 4],
}

impl Frame {
    fn comps(&self) -> &[Component] {
        self.comps
            .get(..usize::from(self.info.components))
            .unwrap_or_default()
    }

    /// 8x8 blocks in the image over all components (each holds at least one bit of
    /// Huffman-coded data in any sequential or progressive scan set).
    fn blocks(&self) -> u64 {
        let hmax = self
            .comps()
            .iter()
            .map(|c| u64::from(c.h))
            .max()
            .unwrap_or(1);
        let vmax = self
            .comps()
            .iter()
            .map(|c| u64::from(c.v))
            .max()
            .unwrap_or(1);
        let (w, h) = (u64::from(self.info.width), u64::from(self.info.height));
        self.comps()
            .iter()
            .map(|c| {
                let cw = (w * u64::from(c.h)).div_ceil(hmax);
                let ch = (h * u64::from(c.v)).div_ceil(vmax);
                cw.div_ceil(8) * ch.div_ceil(8)
            })
            .sum()
    }
}

fn parse_sof(name: &str, marker: u8, seg: &[u8], density: Option<(u32, u32)>) -> Result<Frame> {
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
    let mut comps = [Component::default(); 4];
    for (i, c) in comps.iter_mut().take(usize::from(components)).enumerate() {
        let at = 6 + 3 * i;
        let (Some(&id), Some(&hv), Some(&tq)) = (seg.get(at), seg.get(at + 1), seg.get(at + 2))
        else {
            return Err(bad(name, "frame header too short for its components"));
        };
        *c = Component {
            id,
            h: hv >> 4,
            v: hv & 0x0F,
            tq,
        };
    }
    Ok(Frame {
        info: JpegInfo {
            width: u32::from(width),
            height: u32::from(height),
            components,
            bits,
            progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
            density_dpi: density,
        },
        marker,
        comps,
    })
}

/// Reads the header of a JPEG file up to its frame header (SOFn). `name` is used in errors.
///
/// # Errors
/// [`ErrorKind::Protocol`] when the data is not a JPEG, a marker or segment is truncated or
/// malformed, the scan starts before a frame header, or width, height or component count is
/// zero or invalid.
pub fn read_header(data: &[u8], name: &str) -> Result<JpegInfo> {
    if data.get(..2) != Some(&[0xFF, 0xD8][..]) {
        return Err(bad(name, "not a JPEG (no SOI marker)"));
    }
    let mut w = Walker { data, pos: 2, name };
    let mut density = None;
    loop {
        let marker = w.marker("the frame header")?;
        match marker {
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 => return Err(bad(name, "second SOI marker")),
            0xD9 => return Err(bad(name, "end of image before the frame header")),
            0xDA => return Err(bad(name, "scan data before the frame header")),
            _ => {}
        }
        let seg = w.segment(marker)?;
        if marker == 0xE0 {
            density = jfif_density(seg).or(density);
        } else if is_sof(marker) {
            return Ok(parse_sof(name, marker, seg, density)?.info);
        }
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
