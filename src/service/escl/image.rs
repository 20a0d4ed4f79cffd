//! A scanned page as an eSCL document: JPEG (jpeg-encoder, as the PDF writer uses) or PNG
//! (the `png` crate), 8 bits per sample, gray or RGB.

use crate::error::{Error, ErrorKind, Result};
use crate::scan::{Page, PageData, PixelFormat};

/// The document formats the eSCL scanner sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Jpeg,
    Png,
}

impl Format {
    pub fn from_mime(mime: &str) -> Option<Format> {
        match mime.trim().to_ascii_lowercase().as_str() {
            "image/jpeg" => Some(Format::Jpeg),
            "image/png" => Some(Format::Png),
            _ => None,
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }
}

fn unsupported(what: String) -> Error {
    Error::new(ErrorKind::Unsupported, "eSCL", "encode a page").with_detail(what)
}

/// Encodes a page. CPU work: call it on a blocking thread.
///
/// # Errors
/// [`ErrorKind::Unsupported`] for a page that is not 8-bit gray or RGB (a JPEG page asked
/// for as PNG, 1-bit or 16-bit pixels), or larger than 65535 pixels a side for JPEG;
/// [`ErrorKind::Io`] when the encoder fails.
pub(crate) fn encode(page: &Page, format: Format) -> Result<Vec<u8>> {
    let (pixels, fmt) = match &page.data {
        PageData::Jpeg { data, .. } if format == Format::Jpeg => return Ok(data.to_vec()),
        PageData::Jpeg { .. } => {
            return Err(unsupported(
                "the scanner sent JPEG; ask for image/jpeg".into(),
            ))
        }
        PageData::Raw { format, pixels } => (pixels, *format),
    };
    let gray = match fmt {
        PixelFormat::Gray8 => true,
        PixelFormat::Rgb8 => false,
        other => return Err(unsupported(format!("{other:?} pixels"))),
    };
    let io = |e: String| Error::new(ErrorKind::Io, "eSCL", "encode a page").with_detail(e);
    let mut out = Vec::with_capacity(pixels.len() / 4);
    match format {
        Format::Jpeg => {
            let (Ok(w), Ok(h)) = (u16::try_from(page.width), u16::try_from(page.height)) else {
                return Err(unsupported("page too large for JPEG".into()));
            };
            let color = if gray {
                jpeg_encoder::ColorType::Luma
            } else {
                jpeg_encoder::ColorType::Rgb
            };
            let mut enc = jpeg_encoder::Encoder::new(&mut out, 85);
            enc.set_density(jpeg_encoder::PixelDensity {
                density: (
                    u16::try_from(page.dpi.0).unwrap_or(300),
                    u16::try_from(page.dpi.1).unwrap_or(300),
                ),
                unit: jpeg_encoder::PixelDensityUnit::Inches,
            });
            enc.encode(pixels, w, h, color)
                .map_err(|e| io(e.to_string()))?;
        }
        Format::Png => {
            let mut enc = png::Encoder::new(&mut out, page.width, page.height);
            enc.set_color(if gray {
                png::ColorType::Grayscale
            } else {
                png::ColorType::Rgb
            });
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::Fast);
            let per_metre = |dpi: u32| (f64::from(dpi) / 0.0254).round() as u32;
            enc.set_pixel_dims(Some(png::PixelDimensions {
                xppu: per_metre(page.dpi.0),
                yppu: per_metre(page.dpi.1),
                unit: png::Unit::Meter,
            }));
            let mut w = enc.write_header().map_err(|e| io(e.to_string()))?;
            w.write_image_data(pixels).map_err(|e| io(e.to_string()))?;
            w.finish().map_err(|e| io(e.to_string()))?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_gray_and_rgb() {
        let g = Page::raw(0, 4, 3, (75, 75), PixelFormat::Gray8, vec![128u8; 12]).unwrap();
        let c = Page::raw(0, 4, 3, (75, 75), PixelFormat::Rgb8, vec![9u8; 36]).unwrap();
        for p in [&g, &c] {
            let j = encode(p, Format::Jpeg).unwrap();
            assert_eq!(&j[..2], &[0xFF, 0xD8]);
            let n = encode(p, Format::Png).unwrap();
            assert_eq!(&n[1..4], b"PNG");
        }
        let bw = Page::raw(0, 8, 1, (75, 75), PixelFormat::Bw1, vec![0u8; 1]).unwrap();
        assert_eq!(
            encode(&bw, Format::Png).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
    }
}
