//! 8-bit samples of any page (gray or RGB, rows without padding), for the checks that look
//! at the pixels: the blank-page check and OCR. Raw 8-bit pages are borrowed; 16-bit pages
//! are reduced, 1-bit pages expanded, JPEG pages decoded (zune-jpeg through `image`).

use std::borrow::Cow;

use crate::error::{Error, ErrorKind, Result};
use crate::pdf::reduce_16_to_8;
use crate::scan::{Page, PageData, PixelFormat, MAX_PAGE_BYTES};

/// A page as 8-bit samples: `channels` 1 (gray, 0 = black) or 3 (RGB), `width * channels`
/// bytes per row.
pub(crate) struct Samples<'a> {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) channels: u8,
    pub(crate) data: Cow<'a, [u8]>,
}

fn bad(page: &Page, op: &str, detail: impl Into<String>) -> Error {
    Error::new(
        ErrorKind::Protocol,
        "pipeline",
        format!("{op} page {}", page.index + 1),
    )
    .with_detail(detail)
}

/// The page's pixels as 8-bit gray or RGB. `op` names the check for errors.
///
/// # Errors
/// [`ErrorKind::Protocol`] when a raw page's buffer does not match its size, or a JPEG page
/// does not decode to the page's size and channels.
pub(crate) fn samples8<'a>(page: &'a Page, op: &str) -> Result<Samples<'a>> {
    let (w, h) = (page.width, page.height);
    match &page.data {
        PageData::Raw { format, pixels } => {
            let want = format.row_bytes(w) as u64 * u64::from(h);
            if w == 0 || h == 0 || pixels.len() as u64 != want {
                return Err(bad(
                    page,
                    op,
                    format!(
                        "{w}x{h} {format:?} needs {want} bytes, got {}",
                        pixels.len()
                    ),
                ));
            }
            let (channels, data) = match format {
                PixelFormat::Gray8 => (1, Cow::Borrowed(&pixels[..])),
                PixelFormat::Rgb8 => (3, Cow::Borrowed(&pixels[..])),
                PixelFormat::Gray16 => (1, Cow::Owned(reduce_16_to_8(pixels))),
                PixelFormat::Rgb16 => (3, Cow::Owned(reduce_16_to_8(pixels))),
                PixelFormat::Bw1 => (1, Cow::Owned(bw1_to_gray8(pixels, w))),
            };
            Ok(Samples {
                width: w,
                height: h,
                channels,
                data,
            })
        }
        PageData::Jpeg { channels, data } => {
            use image::ImageDecoder;
            let mut dec = image::codecs::jpeg::JpegDecoder::new(std::io::Cursor::new(&data[..]))
                .map_err(|e| bad(page, op, format!("JPEG: {e}")).with_source(e))?;
            let mut limits = image::Limits::default();
            limits.max_alloc = Some(MAX_PAGE_BYTES);
            dec.set_limits(limits)
                .map_err(|e| bad(page, op, format!("JPEG: {e}")).with_source(e))?;
            let (dw, dh) = dec.dimensions();
            let got = match dec.color_type() {
                image::ColorType::L8 => 1,
                image::ColorType::Rgb8 => 3,
                other => {
                    return Err(bad(page, op, format!("JPEG decodes to {other:?}")));
                }
            };
            if (dw, dh, got) != (w, h, *channels) {
                return Err(bad(
                    page,
                    op,
                    format!("the page says {w}x{h}x{channels}, its JPEG {dw}x{dh}x{got}"),
                ));
            }
            let total = dec.total_bytes();
            if total > MAX_PAGE_BYTES {
                return Err(bad(page, op, format!("JPEG of {total} bytes decoded")));
            }
            let mut buf = vec![0u8; total as usize];
            dec.read_image(&mut buf)
                .map_err(|e| bad(page, op, format!("JPEG: {e}")).with_source(e))?;
            Ok(Samples {
                width: w,
                height: h,
                channels: got,
                data: Cow::Owned(buf),
            })
        }
    }
}

/// Expands 1-bit rows (1 = black, rows padded to bytes) to 8-bit gray (0 = black).
fn bw1_to_gray8(pixels: &[u8], width: u32) -> Vec<u8> {
    let row_bytes = PixelFormat::Bw1.row_bytes(width).max(1);
    let mut out = Vec::with_capacity(width as usize * (pixels.len() / row_bytes));
    for row in pixels.chunks_exact(row_bytes) {
        out.extend((0..width as usize).map(|x| {
            let bit = (row[x / 8] >> (7 - x % 8)) & 1;
            if bit == 1 {
                0
            } else {
                255
            }
        }));
    }
    out
}
