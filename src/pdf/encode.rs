//! Page encoders: one [`Page`] in, one [`EncodedImage`] (a PDF image stream) out.
//!
//! JPEG (`DCTDecode`: libjpeg-turbo loaded at run time when the system has it, otherwise
//! `jpeg-encoder` with SIMD; see [`super::jpeg`]), Flate (`flate2` on `zlib-rs`), CCITT Group 4
//! (`fax`), and pass-through of pages that are already JPEG. 16-bit samples are reduced to 8
//! bits first (the high byte of each big-endian sample). Encoding is CPU work: call it from a
//! blocking thread, never on the async runtime.

use std::io::Write;

use bytes::Bytes;

use super::jpeg::{self, JpegEncoder};
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{Page, PageData, PixelFormat};

/// How pages are compressed in the PDF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Encoding {
    /// CCITT G4 for 1-bit pages, JPEG for everything else; JPEG pages pass through.
    #[default]
    Auto,
    /// JPEG (`DCTDecode`) at the chosen quality; 1-bit pages are expanded to gray first.
    /// Pages that are already JPEG pass through unchanged.
    Jpeg,
    /// Lossless Flate (zlib). Pages that are already JPEG pass through unchanged.
    Flate,
    /// CCITT Group 4. Only for 1-bit pages: other pages fail with
    /// [`ErrorKind::Unsupported`].
    G4,
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Encoding::Auto => "auto",
            Encoding::Jpeg => "jpeg",
            Encoding::Flate => "flate",
            Encoding::G4 => "g4",
        })
    }
}

impl std::str::FromStr for Encoding {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Encoding::Auto),
            "jpeg" | "jpg" | "dct" => Ok(Encoding::Jpeg),
            "flate" | "zip" | "deflate" | "lossless" => Ok(Encoding::Flate),
            "g4" | "ccitt" | "fax" => Ok(Encoding::G4),
            _ => Err(Error::new(ErrorKind::InvalidInput, "pdf", "parse encoding")
                .with_detail(format!("`{s}`: expected jpeg, flate, g4 or auto"))),
        }
    }
}

/// The colour space of an encoded image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageColor {
    /// `DeviceGray`.
    Gray,
    /// `DeviceRGB`.
    Rgb,
}

/// The PDF filter of an encoded image stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFilter {
    /// `DCTDecode` (JPEG).
    Dct,
    /// `FlateDecode` (zlib), no predictor.
    Flate,
    /// `CCITTFaxDecode` with `K -1` (Group 4); black is 0 after decoding (`BlackIs1` false).
    CcittG4,
}

/// One page, encoded and ready to be written as an image XObject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedImage {
    /// Position of the page in the job, starting at 0.
    pub index: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Resolution in dpi (x, y), for the page size.
    pub dpi: (u32, u32),
    /// Colour space.
    pub color: ImageColor,
    /// Bits per component: 1 or 8.
    pub bits_per_component: u8,
    /// The stream's filter.
    pub filter: ImageFilter,
    /// The encoded bytes.
    pub data: Bytes,
    /// Bytes of the page before encoding (raw pixels or the JPEG as received).
    pub input_bytes: usize,
    /// The JPEG encoder that encoded this page; `None` when the page was not JPEG-encoded
    /// here (Flate, G4, or a JPEG page passed through).
    pub jpeg_encoder: Option<JpegEncoder>,
}

/// Encoding settings for [`encode_page`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    /// Which encoding.
    pub encoding: Encoding,
    /// JPEG quality 1..=100.
    pub quality: u8,
    /// Flate level 0..=9.
    pub flate_level: u32,
    /// Which JPEG encoder (default [`JpegEncoder::Auto`]: libjpeg-turbo when the system has
    /// it, otherwise the pure-Rust encoder).
    pub jpeg_encoder: JpegEncoder,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            encoding: Encoding::Auto,
            quality: 85,
            flate_level: 6,
            jpeg_encoder: JpegEncoder::Auto,
        }
    }
}

fn err(kind: ErrorKind, page: &Page, detail: impl Into<String>) -> Error {
    Error::new(kind, "pdf", format!("encode page {}", page.index + 1)).with_detail(detail)
}

/// Encodes one page.
///
/// A JPEG page passes through only if [`jpeg::validate`](crate::scan::jpeg::validate) accepts its data (a complete JPEG a
/// PDF reader decodes) and its header has the page's size and channels; the image goes in
/// up to its EOI marker, without anything after it.
///
/// # Errors
/// [`ErrorKind::Unsupported`] for G4 on a page that is not 1-bit, a page wider or higher
/// than 65535 pixels for JPEG, or a JPEG page PDF readers cannot decode (arithmetic coding,
/// 12-bit, ...); [`ErrorKind::Protocol`] when the page's pixel buffer does not match its size
/// (a `Page` built by hand) or its JPEG data fails [`jpeg::validate`](crate::scan::jpeg::validate) or differs from the
/// page in size or channels; [`ErrorKind::InvalidInput`] for a quality outside 1..=100.
pub fn encode_page(page: &Page, opts: &EncodeOptions) -> Result<EncodedImage> {
    let (format, pixels) = match &page.data {
        PageData::Jpeg { channels, data } => {
            let color = match channels {
                1 => ImageColor::Gray,
                3 => ImageColor::Rgb,
                c => {
                    return Err(err(
                        ErrorKind::Protocol,
                        page,
                        format!("JPEG with {c} channels"),
                    ))
                }
            };
            if opts.encoding == Encoding::G4 {
                return Err(err(
                    ErrorKind::Unsupported,
                    page,
                    "CCITT G4 needs a 1-bit page, this page is a JPEG",
                ));
            }
            // Pass through only what a PDF reader decodes, and only the image (up to EOI).
            let name = format!("page {}", page.index + 1);
            let layout = crate::scan::jpeg::validate(data, &name).map_err(|e| {
                let detail = format!("JPEG data of {name}: {e}");
                err(e.kind(), page, detail).with_source(e)
            })?;
            let info = layout.info;
            if (info.width, info.height, info.components) != (page.width, page.height, *channels) {
                return Err(err(
                    ErrorKind::Protocol,
                    page,
                    format!(
                        "the page says {}x{} with {channels} channels, its JPEG {}x{} with {}",
                        page.width, page.height, info.width, info.height, info.components
                    ),
                ));
            }
            let data = data.slice(..layout.len);
            return Ok(EncodedImage {
                index: page.index,
                width: page.width,
                height: page.height,
                dpi: page.dpi,
                color,
                bits_per_component: 8,
                filter: ImageFilter::Dct,
                input_bytes: page.byte_len(),
                data,
                jpeg_encoder: None,
            });
        }
        PageData::Raw { format, pixels } => (*format, pixels),
    };
    let want = format.row_bytes(page.width) as u64 * u64::from(page.height);
    if page.width == 0 || page.height == 0 || pixels.len() as u64 != want {
        return Err(err(
            ErrorKind::Protocol,
            page,
            format!(
                "{}x{} {format:?} needs {want} bytes, got {}",
                page.width,
                page.height,
                pixels.len()
            ),
        ));
    }
    let base = |color, bits_per_component, filter, data: Vec<u8>| EncodedImage {
        index: page.index,
        width: page.width,
        height: page.height,
        dpi: page.dpi,
        color,
        bits_per_component,
        filter,
        data: Bytes::from(data),
        input_bytes: pixels.len(),
        jpeg_encoder: None,
    };
    let encoding = match (opts.encoding, format) {
        (Encoding::Auto, PixelFormat::Bw1) => Encoding::G4,
        (Encoding::Auto, _) => Encoding::Jpeg,
        (e, _) => e,
    };
    match encoding {
        Encoding::G4 => {
            if format != PixelFormat::Bw1 {
                return Err(err(
                    ErrorKind::Unsupported,
                    page,
                    format!("CCITT G4 needs a 1-bit page, this page is {format:?}"),
                ));
            }
            let data = encode_g4(pixels, page.width, page.height);
            Ok(base(ImageColor::Gray, 1, ImageFilter::CcittG4, data))
        }
        Encoding::Flate => {
            let (color, bpc, samples) = to_flate_samples(format, pixels);
            let data = deflate(&samples, opts.flate_level)
                .map_err(|e| err(ErrorKind::Io, page, "deflate").with_source(e))?;
            Ok(base(color, bpc, ImageFilter::Flate, data))
        }
        Encoding::Jpeg | Encoding::Auto => {
            if !(1..=100).contains(&opts.quality) {
                return Err(err(
                    ErrorKind::InvalidInput,
                    page,
                    format!("JPEG quality {} outside 1..=100", opts.quality),
                ));
            }
            let (Ok(w), Ok(h)) = (u16::try_from(page.width), u16::try_from(page.height)) else {
                return Err(err(
                    ErrorKind::Unsupported,
                    page,
                    format!("JPEG cannot hold {}x{} pixels", page.width, page.height),
                ));
            };
            if opts.jpeg_encoder == JpegEncoder::LibjpegTurbo {
                if let Err(why) = JpegEncoder::libjpeg_turbo_available() {
                    return Err(err(
                        ErrorKind::Unsupported,
                        page,
                        format!("libjpeg-turbo was asked for: {why}; install the Debian package libturbojpeg0"),
                    ));
                }
            }
            let (color, samples) = to_jpeg_samples(format, pixels, page.width, page.height);
            let (out, ran) = jpeg::encode(
                opts.jpeg_encoder,
                &samples,
                w,
                h,
                color,
                opts.quality,
                page.dpi,
            )
            .map_err(|e| err(ErrorKind::Backend, page, "JPEG encoder").with_source(e))?;
            Ok(EncodedImage {
                jpeg_encoder: Some(ran),
                ..base(color, 8, ImageFilter::Dct, out)
            })
        }
    }
}

/// Reduces big-endian 16-bit samples to 8 bits (keeps the high byte).
pub fn reduce_16_to_8(samples: &[u8]) -> Vec<u8> {
    samples.chunks_exact(2).map(|s| s[0]).collect()
}

/// Expands 1-bit (1 = black) rows to 8-bit gray (0 = black).
fn bw1_to_gray8(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
    let row_bytes = PixelFormat::Bw1.row_bytes(width);
    let mut out = Vec::with_capacity(width as usize * height as usize);
    for row in pixels.chunks_exact(row_bytes.max(1)) {
        for x in 0..width as usize {
            let bit = row.get(x / 8).map_or(0, |b| (b >> (7 - x % 8)) & 1);
            out.push(if bit == 1 { 0 } else { 255 });
        }
    }
    out
}

fn to_jpeg_samples(
    format: PixelFormat,
    pixels: &Bytes,
    width: u32,
    height: u32,
) -> (ImageColor, std::borrow::Cow<'_, [u8]>) {
    use std::borrow::Cow;
    match format {
        PixelFormat::Bw1 => (
            ImageColor::Gray,
            Cow::Owned(bw1_to_gray8(pixels, width, height)),
        ),
        PixelFormat::Gray8 => (ImageColor::Gray, Cow::Borrowed(&pixels[..])),
        PixelFormat::Gray16 => (ImageColor::Gray, Cow::Owned(reduce_16_to_8(pixels))),
        PixelFormat::Rgb8 => (ImageColor::Rgb, Cow::Borrowed(&pixels[..])),
        PixelFormat::Rgb16 => (ImageColor::Rgb, Cow::Owned(reduce_16_to_8(pixels))),
    }
}

fn to_flate_samples(
    format: PixelFormat,
    pixels: &Bytes,
) -> (ImageColor, u8, std::borrow::Cow<'_, [u8]>) {
    use std::borrow::Cow;
    match format {
        // PDF 1-bit DeviceGray is 0 = black; our pages are 1 = black: invert.
        PixelFormat::Bw1 => (
            ImageColor::Gray,
            1,
            Cow::Owned(pixels.iter().map(|b| !b).collect()),
        ),
        PixelFormat::Gray8 => (ImageColor::Gray, 8, Cow::Borrowed(&pixels[..])),
        PixelFormat::Gray16 => (ImageColor::Gray, 8, Cow::Owned(reduce_16_to_8(pixels))),
        PixelFormat::Rgb8 => (ImageColor::Rgb, 8, Cow::Borrowed(&pixels[..])),
        PixelFormat::Rgb16 => (ImageColor::Rgb, 8, Cow::Owned(reduce_16_to_8(pixels))),
    }
}

fn deflate(data: &[u8], level: u32) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(data.len() / 2),
        flate2::Compression::new(level.min(9)),
    );
    enc.write_all(data)?;
    enc.finish()
}

/// CCITT G4 of 1-bit rows (1 = black). The result decodes with `BlackIs1 false`
/// (the PDF default) to an image where black stays black.
fn encode_g4(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
    use fax::{Color, VecWriter};
    let row_bytes = PixelFormat::Bw1.row_bytes(width).max(1);
    let mut enc = fax::encoder::Encoder::new(VecWriter::new());
    for row in pixels.chunks_exact(row_bytes).take(height as usize) {
        let pels = (0..width as usize).map(|x| {
            let bit = row.get(x / 8).map_or(0, |b| (b >> (7 - x % 8)) & 1);
            if bit == 1 {
                Color::Black
            } else {
                Color::White
            }
        });
        // VecWriter is infallible.
        enc.encode_line(pels, width).unwrap_or_else(|e| match e {});
    }
    enc.finish().unwrap_or_else(|e| match e {}).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(w: u32, h: u32) -> Page {
        let px: Vec<u8> = (0..w * h).map(|i| (i % 251) as u8).collect();
        Page::raw(0, w, h, (300, 300), PixelFormat::Gray8, px).unwrap()
    }

    #[test]
    fn jpeg_of_gray_is_a_jpeg() {
        let e = encode_page(&gray(64, 48), &EncodeOptions::default()).unwrap();
        assert_eq!(e.filter, ImageFilter::Dct);
        assert_eq!(e.color, ImageColor::Gray);
        assert!(e.data.starts_with(&[0xFF, 0xD8]));
        assert!(e.data.ends_with(&[0xFF, 0xD9]));
    }

    #[test]
    fn g4_refuses_gray_and_auto_picks_g4_for_bw() {
        let o = EncodeOptions {
            encoding: Encoding::G4,
            ..EncodeOptions::default()
        };
        assert_eq!(
            encode_page(&gray(8, 8), &o).unwrap_err().kind(),
            ErrorKind::Unsupported
        );
        let bw = Page::raw(
            0,
            16,
            2,
            (200, 200),
            PixelFormat::Bw1,
            vec![0xF0, 0x0F, 0, 0],
        )
        .unwrap();
        let e = encode_page(&bw, &EncodeOptions::default()).unwrap();
        assert_eq!(e.filter, ImageFilter::CcittG4);
        assert_eq!(e.bits_per_component, 1);
    }

    #[test]
    fn sixteen_bit_is_reduced_and_flate_round_trips() {
        let px: Vec<u8> = vec![0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x00];
        let p = Page::raw(0, 1, 1, (72, 72), PixelFormat::Rgb16, px).unwrap();
        let o = EncodeOptions {
            encoding: Encoding::Flate,
            ..EncodeOptions::default()
        };
        let e = encode_page(&p, &o).unwrap();
        assert_eq!((e.color, e.bits_per_component), (ImageColor::Rgb, 8));
        let mut out = Vec::new();
        use std::io::Read;
        flate2::read::ZlibDecoder::new(&e.data[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, vec![0x12, 0xAB, 0xFF]);
    }

    #[test]
    fn jpeg_passes_through_untouched_up_to_its_eoi() {
        let px = vec![200u8; 10 * 20 * 3];
        let mut file = Vec::new();
        jpeg_encoder::Encoder::new(&mut file, 80)
            .encode(&px, 10, 20, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let image = Bytes::from(file.clone());
        file.extend_from_slice(b"padding");
        let p = Page::jpeg(3, 10, 20, (150, 150), 3, file.clone()).unwrap();
        for enc in [Encoding::Auto, Encoding::Jpeg, Encoding::Flate] {
            let o = EncodeOptions {
                encoding: enc,
                ..EncodeOptions::default()
            };
            let e = encode_page(&p, &o).unwrap();
            assert_eq!(e.data, image);
            assert_eq!(e.input_bytes, file.len());
            assert_eq!(
                (e.filter, e.color, e.index),
                (ImageFilter::Dct, ImageColor::Rgb, 3)
            );
        }
        // Not a JPEG a reader decodes, or not the size the page says: the page's error.
        let fake = Page::jpeg(3, 10, 20, (150, 150), 3, vec![0xFF, 0xD8, 1, 0xFF, 0xD9]).unwrap();
        let wrong = Page::jpeg(0, 20, 10, (150, 150), 3, file).unwrap();
        for p in [fake, wrong] {
            let e = encode_page(&p, &EncodeOptions::default()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
            assert!(
                e.to_string().contains(&format!("page {}", p.index + 1)),
                "{e}"
            );
        }
    }

    #[test]
    fn bad_quality_is_invalid_input() {
        let o = EncodeOptions {
            encoding: Encoding::Jpeg,
            quality: 0,
            ..EncodeOptions::default()
        };
        assert_eq!(
            encode_page(&gray(4, 4), &o).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
