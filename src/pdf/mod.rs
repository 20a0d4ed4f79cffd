//! Streaming PDF writer and page encoders (JPEG, Flate, CCITT G4), optional PDF/A-2b.
//!
//! - [`encode_page`] turns one scanned [`Page`](crate::scan::Page) into an [`EncodedImage`]:
//!   JPEG for gray and colour, Flate (lossless), CCITT G4 for 1-bit pages, or the page's own
//!   JPEG passed through untouched. CPU work: run it on a blocking thread. JPEG is encoded by
//!   libjpeg-turbo when the system has it (`libturbojpeg.so.0`, loaded at run time), by the
//!   pure-Rust `jpeg-encoder` otherwise ([`JpegEncoder`]).
//! - [`PdfWriter`] appends encoded pages to any `Write` one object at a time, keeping only
//!   the cross-reference offsets, so a 500-page batch needs no more memory than a 5-page one.
//! - [`PdfOptions::pdfa`] makes the file PDF/A-2b: XMP metadata (`pdfaid:part` 2,
//!   conformance B), an sRGB output intent with an ICC profile generated in code
//!   ([`srgb_icc_profile`]), and a document ID.
//!
//! [`crate::pipeline::scan_to_pdf`] ties these to a [`Scanner`](crate::Scanner).

mod encode;
mod jpeg;
mod pdfa;
mod text;
#[allow(unsafe_code)]
mod turbo_ffi;
mod writer;

pub use encode::{
    encode_page, reduce_16_to_8, EncodeOptions, EncodedImage, Encoding, ImageColor, ImageFilter,
};
pub use jpeg::JpegEncoder;
pub use pdfa::{document_id, srgb_icc_profile, Metadata, PRODUCER, SRGB_CONDITION};
pub use text::{PageText, TextWord};
pub use writer::{PdfOptions, PdfWriter};
