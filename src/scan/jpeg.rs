//! Reads a JPEG's header (size, components, density) without decoding it, so already-encoded
//! pages can pass through to PDF untouched. Bounded and panic-free.

use crate::error::{Error, ErrorKind, Result};

/// What the frame header and JFIF segment of a JPEG say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JpegHeader {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colour components: 1 (gray), 3 (YCbCr/RGB) or 4 (CMYK).
    pub components: u8,
    /// Bits per sample (8 for baseline).
    pub precision: u8,
    /// Whether the frame is progressive (SOF2).
    pub progressive: bool,
    /// Density in dots per inch from the JFIF APP0 segment, if it gives one.
    pub dpi: Option<(u32, u32)>,
}

fn bad(name: &str, what: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, name.to_owned(), "read JPEG header").with_detail(what.into())
}

/// Parses the markers up to the first start-of-frame.
///
/// # Errors
/// [`ErrorKind::Protocol`] when the data is not a JPEG, is truncated before the frame header,
/// or uses an encoding PDF cannot carry (arithmetic coding, lossless, 12-bit).
pub fn parse_header(name: &str, data: &[u8]) -> Result<JpegHeader> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(bad(name, "no SOI marker: not a JPEG"));
    }
    let mut pos = 2usize;
    let mut dpi = None;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        let mut marker = *data
            .get(pos + 1)
            .ok_or_else(|| bad(name, "truncated before the frame header"))?;
        if data.get(pos) != Some(&0xFF) {
            return Err(bad(name, format!("expected a marker at byte {pos}")));
        }
        while marker == 0xFF {
            pos += 1;
            marker = *data
                .get(pos + 1)
                .ok_or_else(|| bad(name, "truncated in fill bytes"))?;
        }
        pos += 2;
        if matches!(marker, 0xD0..=0xD7 | 0x01) {
            continue; // markers without a length
        }
        let len_bytes = data
            .get(pos..pos + 2)
            .ok_or_else(|| bad(name, "truncated segment length"))?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(bad(name, format!("segment length {len} at byte {pos}")));
        }
        let seg = data
            .get(pos + 2..pos + len)
            .ok_or_else(|| bad(name, "segment runs past the end"))?;
        match marker {
            0xE0 if seg.starts_with(b"JFIF\0") && seg.len() >= 12 => {
                let unit = seg[7];
                let x = u32::from(u16::from_be_bytes([seg[8], seg[9]]));
                let y = u32::from(u16::from_be_bytes([seg[10], seg[11]]));
                dpi = match unit {
                    1 if x > 0 && y > 0 => Some((x, y)),
                    // dots per cm
                    2 if x > 0 && y > 0 => Some((
                        (x as f64 * 2.54).round() as u32,
                        (y as f64 * 2.54).round() as u32,
                    )),
                    _ => None,
                };
            }
            0xC0..=0xC2 => {
                let [precision, h1, h0, w1, w0, components, ..] = *seg else {
                    return Err(bad(name, "frame header too short"));
                };
                let (width, height) = (
                    u32::from(u16::from_be_bytes([w1, w0])),
                    u32::from(u16::from_be_bytes([h1, h0])),
                );
                if width == 0 || height == 0 {
                    return Err(bad(
                        name,
                        format!("frame size {width}x{height} (height from DNL is not supported)"),
                    ));
                }
                if precision != 8 || !matches!(components, 1 | 3 | 4) {
                    return Err(bad(
                        name,
                        format!(
                            "{precision}-bit, {components} components: not a JPEG PDF can carry"
                        ),
                    ));
                }
                return Ok(JpegHeader {
                    width,
                    height,
                    components,
                    precision,
                    progressive: marker == 0xC2,
                    dpi,
                });
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(bad(
                    name,
                    format!(
                        "SOF{:X}: lossless/hierarchical/arithmetic JPEG is not supported",
                        marker - 0xC0
                    ),
                ));
            }
            0xD9 | 0xDA => return Err(bad(name, "no frame header before the scan data")),
            _ => {}
        }
        pos += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal JFIF + SOF0 header (no scan data needed to read the header).
    pub(crate) fn header_bytes(w: u16, h: u16, comps: u8, dpi: u16) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        v.extend_from_slice(b"JFIF\0\x01\x01\x01");
        v.extend_from_slice(&dpi.to_be_bytes());
        v.extend_from_slice(&dpi.to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        let sof_len = 8 + 3 * u16::from(comps);
        v.extend_from_slice(&[0xFF, 0xC0]);
        v.extend_from_slice(&sof_len.to_be_bytes());
        v.push(8);
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&w.to_be_bytes());
        v.push(comps);
        for i in 0..comps {
            v.extend_from_slice(&[i + 1, 0x11, 0]);
        }
        v.extend_from_slice(&[0xFF, 0xD9]);
        v
    }

    #[test]
    fn reads_size_components_dpi() {
        let h = parse_header("a.jpg", &header_bytes(2480, 3508, 3, 300)).unwrap();
        assert_eq!(
            (h.width, h.height, h.components, h.dpi),
            (2480, 3508, 3, Some((300, 300)))
        );
        let g = parse_header("g.jpg", &header_bytes(10, 20, 1, 0)).unwrap();
        assert_eq!((g.components, g.dpi), (1, None));
    }

    #[test]
    fn truncations_and_garbage_are_errors() {
        let full = header_bytes(100, 50, 3, 200);
        let sof_end = full.len() - 2;
        for n in 0..sof_end {
            assert_eq!(
                parse_header("t.jpg", &full[..n]).unwrap_err().kind(),
                ErrorKind::Protocol,
                "at {n}"
            );
        }
        let mut x = 0x1234_5678u32;
        for _ in 0..2000 {
            let mut buf = vec![0xFF, 0xD8];
            for _ in 0..(x % 64) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                buf.push(x as u8);
            }
            let _ = parse_header("r.jpg", &buf);
        }
    }
}
