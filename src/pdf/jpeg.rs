//! The JPEG encoders of page encoding: libjpeg-turbo when the system has it (loaded at run
//! time, [`super::turbo_ffi`]), otherwise the pure-Rust `jpeg-encoder` (with SIMD).
//!
//! Both get the same settings (quality, 4:2:0 chroma below quality 90 and 4:4:4 from 90), so
//! a page comes out of either with the same size and the same quality within a measured
//! bound (see the `jpeg_encoders_agree` test).

use super::encode::ImageColor;
use super::turbo_ffi;
use crate::error::{Error, ErrorKind, Result};

/// A JPEG encoder: which one to use ([`EncodeOptions::jpeg_encoder`]), and which one ran
/// ([`EncodedImage::jpeg_encoder`]).
///
/// [`EncodeOptions::jpeg_encoder`]: super::EncodeOptions::jpeg_encoder
/// [`EncodedImage::jpeg_encoder`]: super::EncodedImage::jpeg_encoder
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum JpegEncoder {
    /// libjpeg-turbo when it can be loaded ([`JpegEncoder::libjpeg_turbo_available`]),
    /// otherwise the pure-Rust encoder. Never the encoder that ran.
    #[default]
    Auto,
    /// `jpeg-encoder` (pure Rust, AVX2 when the CPU has it): always there.
    PureRust,
    /// libjpeg-turbo's TurboJPEG API, loaded at run time from `libturbojpeg.so.0` (Debian
    /// `libturbojpeg0`), or the file named by the environment variable
    /// `BUERGERKOFFER_LIBTURBOJPEG` (`none` switches it off). About 2.5x faster than
    /// the pure-Rust encoder. Asking for it when it is missing is an
    /// [`ErrorKind::Unsupported`] error.
    LibjpegTurbo,
}

impl JpegEncoder {
    /// Whether libjpeg-turbo is loaded (it is loaded on the first call); `Err` says why not.
    ///
    /// # Errors
    /// A message naming the library that could not be loaded and why.
    pub fn libjpeg_turbo_available() -> std::result::Result<&'static str, &'static str> {
        turbo_ffi::loaded()
    }

    /// The encoder [`JpegEncoder::Auto`] stands for on this machine; any other value as is.
    pub fn resolve(self) -> JpegEncoder {
        match self {
            JpegEncoder::Auto if turbo_ffi::loaded().is_ok() => JpegEncoder::LibjpegTurbo,
            JpegEncoder::Auto => JpegEncoder::PureRust,
            e => e,
        }
    }
}

impl std::fmt::Display for JpegEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JpegEncoder::Auto => f.write_str("auto"),
            JpegEncoder::PureRust => f.write_str("jpeg-encoder (pure Rust)"),
            JpegEncoder::LibjpegTurbo => match turbo_ffi::loaded() {
                Ok(file) => write!(f, "libjpeg-turbo ({file})"),
                Err(_) => f.write_str("libjpeg-turbo"),
            },
        }
    }
}

impl std::str::FromStr for JpegEncoder {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(JpegEncoder::Auto),
            "rust" | "pure-rust" | "jpeg-encoder" => Ok(JpegEncoder::PureRust),
            "turbo" | "turbojpeg" | "libjpeg-turbo" => Ok(JpegEncoder::LibjpegTurbo),
            _ => Err(
                Error::new(ErrorKind::InvalidInput, "pdf", "parse JPEG encoder")
                    .with_detail(format!("`{s}`: expected auto, rust or turbo")),
            ),
        }
    }
}

/// Encodes 8-bit samples with the chosen encoder; returns the JPEG and the encoder that ran.
/// With [`JpegEncoder::Auto`], a libjpeg-turbo failure falls back to the pure-Rust encoder
/// (and is logged).
pub(super) fn encode(
    which: JpegEncoder,
    samples: &[u8],
    w: u16,
    h: u16,
    color: ImageColor,
    quality: u8,
    dpi: (u32, u32),
) -> std::result::Result<(Vec<u8>, JpegEncoder), crate::error::BoxError> {
    let channels = match color {
        ImageColor::Gray => 1,
        ImageColor::Rgb => 3,
    };
    if which.resolve() == JpegEncoder::LibjpegTurbo {
        match turbo_ffi::compress(samples, w, h, channels, quality) {
            Ok(out) => return Ok((out, JpegEncoder::LibjpegTurbo)),
            Err(e) if which == JpegEncoder::Auto => {
                tracing::warn!(error = %e, "libjpeg-turbo failed; encoding with jpeg-encoder");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((
        rust(samples, w, h, color, quality, dpi)?,
        JpegEncoder::PureRust,
    ))
}

/// JPEG with `jpeg-encoder` (pure Rust, AVX2 when the CPU has it).
fn rust(
    samples: &[u8],
    w: u16,
    h: u16,
    color: ImageColor,
    quality: u8,
    dpi: (u32, u32),
) -> std::result::Result<Vec<u8>, crate::error::BoxError> {
    let mut out = Vec::with_capacity(samples.len() / 8);
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_density(jpeg_encoder::PixelDensity {
        density: (
            dpi.0.min(u32::from(u16::MAX)) as u16,
            dpi.1.min(u32::from(u16::MAX)) as u16,
        ),
        unit: jpeg_encoder::PixelDensityUnit::Inches,
    });
    let ct = match color {
        ImageColor::Gray => jpeg_encoder::ColorType::Luma,
        ImageColor::Rgb => jpeg_encoder::ColorType::Rgb,
    };
    enc.encode(samples, w, h, ct)?;
    Ok(out)
}
