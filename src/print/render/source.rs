//! Where pages come from: PDF pages rendered by hayro straight onto the sheet at the
//! printer's resolution, and images (JPEG, PNG, TIFF decoded by `image`, or a scanned page's
//! pixels) resampled onto it.
//!
//! hayro is pure Rust without `unsafe`; a panic inside it on a hostile file is caught and
//! becomes [`ErrorKind::InvalidInput`], like any document it cannot read.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use bytes::Bytes;
use hayro::hayro_interpret::util::TransformExt;
use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::page::Page as PdfPage;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::vello_cpu::{PixmapMut, RasterizerSettings, RenderContext, Resources, TargetInit};
use hayro::{RenderCache, RenderSettings};

use super::layout::Placement;
use super::sheet::{check_size, Sheet};
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{Page, PageData, PixelFormat};

/// The largest image this crate decodes, in pixels a side.
pub const MAX_IMAGE_SIDE: u32 = 30_000;
/// The most memory one image decode may take.
pub const MAX_IMAGE_ALLOC: u64 = 512 * 1024 * 1024;

fn unreadable(what: &str, detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput, "render", format!("read {what}")).with_detail(detail)
}

/// The panic message, for an error.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// Opens a PDF.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for a file hayro cannot read (encrypted, malformed), or with
/// no pages.
pub fn open_pdf(data: Bytes) -> Result<Pdf> {
    let pdf = catch_unwind(|| Pdf::new(Arc::new(data)))
        .map_err(|p| unreadable("PDF", format!("the PDF reader failed: {}", panic_text(&*p))))?
        .map_err(|e| unreadable("PDF", format!("not a PDF this crate can read: {e:?}")))?;
    if pdf.pages().is_empty() {
        return Err(unreadable("PDF", "the PDF has no pages"));
    }
    Ok(pdf)
}

/// Renders PDF pages, reusing its buffers and caches from page to page.
pub struct PdfRenderer<'a> {
    cache: RenderCache<'a>,
    settings: InterpreterSettings,
    ctx: RenderContext,
    resources: Resources,
    /// The last sheet; the renderer draws straight into its buffer, reused page to page.
    sheet: Sheet,
}

impl<'a> PdfRenderer<'a> {
    /// A renderer for the pages of one PDF.
    pub fn new() -> Self {
        PdfRenderer {
            cache: RenderCache::new(),
            settings: InterpreterSettings::default(),
            ctx: RenderContext::new(1, 1),
            resources: Resources::default(),
            sheet: Sheet::default(),
        }
    }

    /// Renders `page` onto a white `size` sheet with `placement` (content in points).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for a sheet over the size limits or a page that made the
    /// renderer fail.
    pub fn render(
        &mut self,
        page: &'a PdfPage<'a>,
        size: (u32, u32),
        placement: &Placement,
    ) -> Result<&Sheet> {
        check_size(size.0, size.1)?;
        let (Ok(w), Ok(h)) = (u16::try_from(size.0), u16::try_from(size.1)) else {
            return Err(unreadable(
                "PDF",
                format!(
                    "a {}x{} sheet is larger than the renderer's 65535 pixels",
                    size.0, size.1
                ),
            ));
        };
        let transform =
            hayro::kurbo::Affine::new(placement.affine) * page.initial_transform(true).to_kurbo();
        let this = &mut *self;
        let sheet = &mut this.sheet;
        sheet.width = size.0;
        sheet.height = size.1;
        // Same-size sheets keep their buffer: no allocation, no clearing but the renderer's.
        sheet
            .rgba
            .resize(size.0 as usize * size.1 as usize * 4, 255);
        catch_unwind(AssertUnwindSafe(|| {
            this.ctx.reset_and_resize(w, h);
            hayro::render_into(
                page,
                &this.cache,
                &this.settings,
                &RenderSettings::default(),
                &mut this.ctx,
                transform,
            );
            this.ctx.flush();
            if let Some(target) = PixmapMut::new(w, h, &mut this.sheet.rgba) {
                this.ctx.render_with(
                    target,
                    &mut this.resources,
                    RasterizerSettings {
                        target_init: TargetInit::Clear(WHITE),
                        ..Default::default()
                    },
                );
            }
        }))
        .map_err(|p| unreadable("PDF", format!("the renderer failed: {}", panic_text(&*p))))?;
        Ok(&self.sheet)
    }
}

impl Default for PdfRenderer<'_> {
    fn default() -> Self {
        PdfRenderer::new()
    }
}

/// The size of a PDF page as rendered (crop box, turned by /Rotate), in points.
pub fn pdf_page_size(page: &PdfPage<'_>) -> (f64, f64) {
    let (w, h) = page.render_dimensions();
    (f64::from(w), f64::from(h))
}

/// A decoded image: 8-bit RGB pixels and the resolution it was made at, if it says.
pub struct Picture {
    /// The pixels.
    pub rgb: image::RgbImage,
    /// Resolution in dpi, when the file or page names one.
    pub dpi: Option<(f64, f64)>,
}

impl Picture {
    /// Its own size in points (72 dpi when it names no resolution).
    pub fn size_pt(&self) -> (f64, f64) {
        let (dx, dy) = self.dpi.unwrap_or((72.0, 72.0));
        (
            f64::from(self.rgb.width()) * 72.0 / dx,
            f64::from(self.rgb.height()) * 72.0 / dy,
        )
    }
}

/// The resolution a JPEG (JFIF APP0) or PNG (pHYs) names, if any.
fn density(data: &[u8]) -> Option<(f64, f64)> {
    let be16 = |i: usize| {
        data.get(i..i + 2)
            .map(|b| f64::from(u16::from_be_bytes([b[0], b[1]])))
    };
    let ok = |d: (f64, f64)| {
        (d.0 >= 10.0 && d.1 >= 10.0 && d.0 <= 20_000.0 && d.1 <= 20_000.0).then_some(d)
    };
    if data.starts_with(&[0xFF, 0xD8, 0xFF, 0xE0]) && data.get(6..11) == Some(b"JFIF\0") {
        let unit = *data.get(13)?;
        let d = (be16(14)?, be16(16)?);
        return match unit {
            1 => ok(d),
            2 => ok((d.0 * 2.54, d.1 * 2.54)),
            _ => None,
        };
    }
    if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        let mut i = 8usize;
        // Chunks before the image data; at most 64 of them are looked at.
        for _ in 0..64 {
            let len = u32::from_be_bytes(data.get(i..i + 4)?.try_into().ok()?) as usize;
            let kind = data.get(i + 4..i + 8)?;
            if kind == b"IDAT" {
                return None;
            }
            if kind == b"pHYs" && len == 9 {
                let b = data.get(i + 8..i + 17)?;
                let x = f64::from(u32::from_be_bytes(b[0..4].try_into().ok()?));
                let y = f64::from(u32::from_be_bytes(b[4..8].try_into().ok()?));
                return if b[8] == 1 {
                    ok((x * 0.0254, y * 0.0254))
                } else {
                    None
                };
            }
            i = i.checked_add(12)?.checked_add(len)?;
        }
    }
    None
}

/// Decodes a JPEG, PNG or TIFF file (the format is read from its first bytes).
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for an unknown or broken image, or one above
/// [`MAX_IMAGE_SIDE`] / [`MAX_IMAGE_ALLOC`].
pub fn decode_image(data: &[u8]) -> Result<Picture> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .map_err(|e| unreadable("image", e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_IMAGE_ALLOC);
    reader.limits(limits);
    let img = catch_unwind(AssertUnwindSafe(|| reader.decode()))
        .map_err(|p| unreadable("image", format!("the decoder failed: {}", panic_text(&*p))))?
        .map_err(|e| unreadable("image", e.to_string()))?;
    let (w, h) = (img.width(), img.height());
    if u64::from(w) * u64::from(h) * 3 > MAX_IMAGE_ALLOC {
        return Err(unreadable("image", format!("{w}x{h} is too large")));
    }
    Ok(Picture {
        rgb: img.to_rgb8(),
        dpi: density(data),
    })
}

/// A scanned page's pixels (raw or JPEG) as a picture at the page's resolution.
///
/// # Errors
/// As [`decode_image`] for a JPEG page; [`ErrorKind::InvalidInput`] for a raw page whose
/// buffer does not match its size.
pub fn page_picture(page: &Page) -> Result<Picture> {
    let dpi = Some((f64::from(page.dpi.0), f64::from(page.dpi.1)));
    let (format, pixels) = match &page.data {
        PageData::Jpeg { data, .. } => {
            let mut p = decode_image(data)?;
            p.dpi = dpi;
            return Ok(p);
        }
        PageData::Raw { format, pixels } => (*format, pixels),
    };
    let (w, h) = (page.width, page.height);
    let row = format.row_bytes(w);
    if pixels.len() != row * h as usize || u64::from(w) * u64::from(h) * 3 > MAX_IMAGE_ALLOC {
        return Err(unreadable(
            "page",
            format!("{w}x{h} {format:?} with {} bytes", pixels.len()),
        ));
    }
    let mut rgb = image::RgbImage::new(w, h);
    for (y, src) in pixels.chunks(row.max(1)).enumerate().take(h as usize) {
        for x in 0..w as usize {
            let b = |i: usize| src.get(i).copied().unwrap_or(255);
            let px = match format {
                PixelFormat::Bw1 => {
                    let v = if b(x / 8) >> (7 - (x % 8)) & 1 == 1 {
                        0
                    } else {
                        255
                    };
                    [v, v, v]
                }
                PixelFormat::Gray8 => [b(x); 3],
                PixelFormat::Gray16 => [b(2 * x); 3],
                PixelFormat::Rgb8 => [b(3 * x), b(3 * x + 1), b(3 * x + 2)],
                PixelFormat::Rgb16 => [b(6 * x), b(6 * x + 2), b(6 * x + 4)],
                #[allow(unreachable_patterns)]
                _ => [255; 3],
            };
            rgb.put_pixel(x as u32, y as u32, image::Rgb(px));
        }
    }
    Ok(Picture { rgb, dpi })
}

/// Draws `pic` onto a white `size` sheet with `placement` (content in points), bilinear.
/// A picture much larger than its place on the sheet is first shrunk (triangle filter), so
/// that no detail aliases.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] for a sheet over the size limits.
pub fn draw_picture(pic: &Picture, size: (u32, u32), placement: &Placement) -> Result<Sheet> {
    let mut sheet = Sheet::white(size.0, size.1)?;
    let (cw, ch) = pic.size_pt();
    let (iw, ih) = (pic.rgb.width(), pic.rgb.height());
    // The picture's extent on the sheet, in pixels.
    let (x0, y0) = placement.apply(0.0, 0.0);
    let (x1, y1) = placement.apply(cw, ch);
    let (bw, bh) = ((x1 - x0).abs(), (y1 - y0).abs());
    let (tw, th) = if placement.turned { (bh, bw) } else { (bw, bh) };
    let shrunk;
    let src = if f64::from(iw) > 2.0 * tw.max(1.0) || f64::from(ih) > 2.0 * th.max(1.0) {
        let nw = (tw.ceil() as u32).clamp(1, iw);
        let nh = (th.ceil() as u32).clamp(1, ih);
        shrunk = image::imageops::resize(&pic.rgb, nw, nh, image::imageops::FilterType::Triangle);
        &shrunk
    } else {
        &pic.rgb
    };
    let (sw, sh) = (src.width(), src.height());
    // Sheet pixel centre -> content points -> source pixels.
    let Some([a, b, c, d, e, f]) = placement.invert() else {
        return Ok(sheet);
    };
    let (kx, ky) = (f64::from(sw) / cw.max(1e-9), f64::from(sh) / ch.max(1e-9));
    let (lo_x, hi_x) = (
        x0.min(x1).floor().max(0.0) as u32,
        (x0.max(x1).ceil() as u32).min(size.0),
    );
    let (lo_y, hi_y) = (
        y0.min(y1).floor().max(0.0) as u32,
        (y0.max(y1).ceil() as u32).min(size.1),
    );
    let raw = src.as_raw();
    let at = |x: u32, y: u32, k: usize| -> f64 {
        f64::from(
            raw.get((y as usize * sw as usize + x as usize) * 3 + k)
                .copied()
                .unwrap_or(255),
        )
    };
    let row_len = size.0 as usize * 4;
    for y in lo_y..hi_y {
        let Some(row) = sheet
            .rgba
            .get_mut(y as usize * row_len..(y as usize + 1) * row_len)
        else {
            continue;
        };
        for x in lo_x..hi_x {
            let (px, py) = (f64::from(x) + 0.5, f64::from(y) + 0.5);
            let u = (a * px + c * py + e) * kx - 0.5;
            let v = (b * px + d * py + f) * ky - 0.5;
            if u < -0.5 || v < -0.5 || u > f64::from(sw) - 0.5 || v > f64::from(sh) - 0.5 {
                continue;
            }
            let (u, v) = (
                u.clamp(0.0, f64::from(sw - 1)),
                v.clamp(0.0, f64::from(sh - 1)),
            );
            let (ux, vy) = (u.floor() as u32, v.floor() as u32);
            let (ux1, vy1) = ((ux + 1).min(sw - 1), (vy + 1).min(sh - 1));
            let (fu, fv) = (u - f64::from(ux), v - f64::from(vy));
            if let Some(dst) = row.get_mut(x as usize * 4..x as usize * 4 + 3) {
                for (k, out) in dst.iter_mut().enumerate() {
                    let top = at(ux, vy, k) * (1.0 - fu) + at(ux1, vy, k) * fu;
                    let bot = at(ux, vy1, k) * (1.0 - fu) + at(ux1, vy1, k) * fu;
                    *out = (top * (1.0 - fv) + bot * fv).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
    }
    Ok(sheet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::render::layout::{place, A4};
    use crate::print::PrintScaling;

    #[test]
    fn densities() {
        let mut jfif = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        jfif.extend_from_slice(b"JFIF\0\x01\x01\x01\x01\x2c\x01\x2c");
        assert_eq!(density(&jfif), Some((300.0, 300.0)));
        assert_eq!(density(b"nothing"), None);
    }

    #[test]
    fn a_picture_lands_where_placed() {
        // 2x1 picture, left black, right white, at 1 dpi: 144 x 72 points on A4, not scaled.
        let mut rgb = image::RgbImage::from_pixel(2, 1, image::Rgb([255, 255, 255]));
        rgb.put_pixel(0, 0, image::Rgb([0, 0, 0]));
        let pic = Picture {
            rgb,
            dpi: Some((1.0, 1.0)),
        };
        let p = place(
            pic.size_pt(),
            A4,
            (72, 72),
            PrintScaling::None,
            Some(crate::print::Orientation::Portrait),
        );
        let size = A4.pixels((72, 72));
        let s = draw_picture(&pic, size, &p).unwrap();
        let px = |x: u32, y: u32| s.rgba[(y * size.0 + x) as usize * 4];
        let (cx, cy) = (size.0 / 2, size.1 / 2);
        assert_eq!(px(cx - 50, cy), 0, "left half black");
        assert_eq!(px(cx + 50, cy), 255, "right half white");
        assert_eq!(px(5, 5), 255, "outside the picture white");
    }

    #[test]
    fn broken_documents_are_invalid_input() {
        assert_eq!(
            open_pdf(Bytes::from_static(b"%PDF-1.7 junk"))
                .err()
                .map(|e| e.kind()),
            Some(ErrorKind::InvalidInput)
        );
        assert_eq!(
            decode_image(b"\x89PNG\r\n\x1a\nbroken")
                .err()
                .map(|e| e.kind()),
            Some(ErrorKind::InvalidInput)
        );
    }
}
