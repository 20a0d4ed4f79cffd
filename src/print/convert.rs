//! How a document reaches a printer: sent as it is when the printer accepts its format,
//! otherwise a scanned page is converted (raw pixels to PWG raster, else JPEG, else a one-page
//! PDF; a JPEG page as JPEG or wrapped in PDF).
//!
//! Every printer backend and the mock printer use these same two functions ([`plan`], then
//! [`convert_page`]), so a document a mock accepts is one the real printer accepts too, in the
//! same format.

use std::io;
use std::pin::Pin;

use bytes::Bytes;
use tokio::io::AsyncRead;

use crate::error::{Error, ErrorKind, Result};
use crate::print::raster::{self, RasterType};
use crate::print::render::{self, Input, MediaSize, Output, RenderSpec, A4};
use crate::print::{
    Document, DocumentBody, DocumentFormat, PrintColor, PrintOptions, PrinterCapabilities,
};
use crate::scan::{Page, PageData, PixelFormat};

/// The largest document read into memory to be rendered (PDF or image file).
pub const MAX_DOCUMENT_BYTES: u64 = 256 * 1024 * 1024;

/// What a printer can receive, as far as conversion is concerned: its capabilities
/// (accepted formats, colour, media, resolutions and [`raster`](PrinterCapabilities::raster)).
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The printer's capabilities.
    pub caps: &'a PrinterCapabilities,
}

impl<'a> Target<'a> {
    /// The target of a printer with these capabilities.
    pub fn new(caps: &'a PrinterCapabilities) -> Self {
        Target { caps }
    }
}

/// How a document is sent.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Plan {
    /// Unchanged, in its own format.
    AsIs(DocumentFormat),
    /// A raw page encoded as PWG raster of this type at this resolution.
    Raster(RasterType, (u32, u32)),
    /// A raw page encoded as JPEG.
    Jpeg,
    /// A page (raw or JPEG) wrapped in a one-page PDF.
    Pdf,
    /// Rendered in-process ([`render`]): PDF pages or an image on sheets, as PWG
    /// raster, URF or JPEG.
    Render(RenderSpec),
}

impl Plan {
    /// The format the printer receives.
    pub fn format(&self) -> DocumentFormat {
        match self {
            Plan::AsIs(f) => f.clone(),
            Plan::Raster(..) => DocumentFormat::PwgRaster,
            Plan::Jpeg => DocumentFormat::Jpeg,
            Plan::Pdf => DocumentFormat::Pdf,
            Plan::Render(spec) => DocumentFormat::from_mime(spec.mime()),
        }
    }
}

fn accepted_list(caps: &PrinterCapabilities) -> String {
    if caps.formats.is_empty() {
        return "no document-format-supported at all".to_owned();
    }
    let v: Vec<&str> = caps.formats.iter().map(DocumentFormat::mime).collect();
    v.join(", ")
}

fn want_color(color: PrintColor, printer_color: bool) -> bool {
    match color {
        PrintColor::Monochrome => false,
        PrintColor::Color => true,
        _ => printer_color,
    }
}

/// The first of `prefs` in `supported` (all of `prefs` when the printer lists none).
fn pick(prefs: &[RasterType], supported: &[RasterType]) -> RasterType {
    prefs
        .iter()
        .copied()
        .find(|t| supported.is_empty() || supported.contains(t))
        .or_else(|| supported.first().copied())
        .unwrap_or(RasterType::Sgray8)
}

/// The raster type for a page of `format` with colour mode `color`, among `supported`
/// (all three are assumed when the printer lists none).
fn raster_type(
    format: PixelFormat,
    color: PrintColor,
    printer_color: bool,
    supported: &[RasterType],
) -> RasterType {
    let prefs: &[RasterType] = match format {
        PixelFormat::Bw1 => &[RasterType::Black1, RasterType::Sgray8, RasterType::Srgb8],
        PixelFormat::Rgb8 | PixelFormat::Rgb16 if want_color(color, printer_color) => {
            &[RasterType::Srgb8, RasterType::Sgray8, RasterType::Black1]
        }
        _ => &[RasterType::Sgray8, RasterType::Black1, RasterType::Srgb8],
    };
    pick(prefs, supported)
}

/// The raster resolution for a page at `dpi`: its own if supported, else the closest.
fn raster_dpi(dpi: (u32, u32), supported: &[(u32, u32)]) -> (u32, u32) {
    if supported.is_empty() || supported.contains(&dpi) {
        return dpi;
    }
    supported
        .iter()
        .copied()
        .min_by_key(|(x, y)| (x.abs_diff(dpi.0) + y.abs_diff(dpi.1), u32::MAX - x))
        .unwrap_or(dpi)
}

/// How a document is rendered to `output` for a printer with `caps`: the type (colour when
/// asked or, on `Auto`, when the printer prints colour), the resolution closest to 300 dpi
/// (ties to the higher), the job's media (else `media-default`, else A4) and the back sides
/// the printer asks for.
pub fn render_spec(output: Output, caps: &PrinterCapabilities, o: &PrintOptions) -> RenderSpec {
    let r = &caps.raster;
    let urf_default = [RasterType::Sgray8, RasterType::Srgb8];
    let (types, resolutions, back): (&[RasterType], &[(u32, u32)], _) = match output {
        Output::PwgRaster => (&r.pwg_types, &r.pwg_resolutions, r.pwg_sheet_back),
        Output::Urf if r.urf_types.is_empty() => {
            (&urf_default, &r.urf_resolutions, r.urf_sheet_back)
        }
        Output::Urf => (&r.urf_types, &r.urf_resolutions, r.urf_sheet_back),
        _ => (&urf_default, &caps.resolutions, r.pwg_sheet_back),
    };
    let prefs: &[RasterType] = if want_color(o.color, caps.color) {
        &[RasterType::Srgb8, RasterType::Sgray8, RasterType::Black1]
    } else {
        &[RasterType::Sgray8, RasterType::Black1, RasterType::Srgb8]
    };
    let mut spec = RenderSpec::new(
        output,
        pick(prefs, types),
        raster_dpi((300, 300), resolutions),
    );
    let name = o
        .media
        .clone()
        .or_else(|| caps.media_default.clone())
        .or_else(|| caps.media_ready.first().cloned());
    let size = name.as_deref().and_then(MediaSize::from_pwg);
    spec.media = size.unwrap_or(A4);
    spec.media_name = if size.is_some() {
        name
    } else {
        Some("iso_a4_210x297mm".to_owned())
    };
    spec.scaling = o.scaling;
    spec.orientation = o.orientation;
    spec.sides = o.sides;
    spec.sheet_back = back;
    spec.pages = o.page_ranges.clone();
    spec
}

/// The raster format this crate renders to for the printer: PWG raster, else URF.
fn raster_output(caps: &PrinterCapabilities) -> Option<Output> {
    if caps.accepts(&DocumentFormat::PwgRaster) {
        Some(Output::PwgRaster)
    } else if caps.accepts(&DocumentFormat::Urf) {
        Some(Output::Urf)
    } else {
        None
    }
}

/// Chooses how to send `doc` with `options` to a printer described by `target`.
///
/// - A document in a format the printer accepts goes as it is (PDF pass-through).
/// - A PDF otherwise is rendered to PWG raster, else URF, else (one page only) JPEG.
/// - A JPEG, PNG or TIFF otherwise becomes JPEG (re-encoded), else PWG raster or URF.
/// - A scanned page: raw pixels as PWG raster at the page's resolution, else JPEG, else a
///   one-page PDF, else URF; a JPEG page as JPEG, else PDF, else PWG raster or URF.
///
/// # Errors
/// [`ErrorKind::Unsupported`] naming the formats the printer accepts when nothing fits.
pub fn plan(
    device: &str,
    doc: &Document,
    options: &PrintOptions,
    target: &Target<'_>,
) -> Result<Plan> {
    let caps = target.caps;
    let color = options.color;
    let unsupported = |why: String| {
        Error::new(ErrorKind::Unsupported, device.to_owned(), "print").with_detail(format!(
            "{why}; the printer accepts {}",
            accepted_list(caps)
        ))
    };
    let rendered = |output: Output| Plan::Render(render_spec(output, caps, options));
    let raster = raster_output(caps).map(rendered);
    let one_page = matches!(doc.body, DocumentBody::Page(_))
        || matches!(
            doc.format,
            DocumentFormat::Jpeg | DocumentFormat::Png | DocumentFormat::Tiff
        );
    if one_page && !options.prints_page(1) {
        return Err(
            Error::new(ErrorKind::InvalidInput, device.to_owned(), "print")
                .with_detail("the page-ranges select no page of a one-page document".to_owned()),
        );
    }
    // A PDF with page-ranges goes as it is only to a printer that selects pages itself;
    // otherwise the chosen pages are rendered here.
    let select_here = !options.page_ranges.is_empty()
        && doc.format == DocumentFormat::Pdf
        && !one_page
        && !caps.page_ranges;
    match &doc.body {
        DocumentBody::Page(page) => match &page.data {
            PageData::Raw { format, .. } => {
                if caps.accepts(&DocumentFormat::PwgRaster) {
                    let t = raster_type(*format, color, caps.color, &caps.raster.pwg_types);
                    Ok(Plan::Raster(t, raster_dpi(page.dpi, &caps.raster.pwg_resolutions)))
                } else if caps.accepts(&DocumentFormat::Jpeg) {
                    Ok(Plan::Jpeg)
                } else if caps.accepts(&DocumentFormat::Pdf) {
                    Ok(Plan::Pdf)
                } else {
                    raster.ok_or_else(|| unsupported(
                        "a scanned page can be sent as image/pwg-raster, image/jpeg, application/pdf or image/urf, and the printer takes none of them".into(),
                    ))
                }
            }
            PageData::Jpeg { .. } => {
                if caps.accepts(&DocumentFormat::Jpeg) {
                    Ok(Plan::AsIs(DocumentFormat::Jpeg))
                } else if caps.accepts(&DocumentFormat::Pdf) {
                    Ok(Plan::Pdf)
                } else {
                    raster.ok_or_else(|| unsupported(
                        "a JPEG page can be sent as image/jpeg, wrapped in application/pdf, or rendered to image/pwg-raster or image/urf, and the printer takes none of them".into(),
                    ))
                }
            }
        },
        _ if caps.accepts(&doc.format) && !select_here => Ok(Plan::AsIs(doc.format.clone())),
        _ => match doc.format {
            DocumentFormat::Pdf => raster
                .or_else(|| caps.accepts(&DocumentFormat::Jpeg).then(|| rendered(Output::Jpeg)))
                .ok_or_else(|| unsupported(if select_here {
                    "the printer cannot select pages of a PDF (no page-ranges-supported), and the chosen pages are rendered to image/pwg-raster, image/urf or (one page) image/jpeg, which it does not take".into()
                } else {
                    "a PDF is rendered to image/pwg-raster, image/urf or (one page) image/jpeg, and the printer takes none of them".into()
                })),
            DocumentFormat::Jpeg | DocumentFormat::Png | DocumentFormat::Tiff => {
                if caps.accepts(&DocumentFormat::Jpeg) {
                    Ok(rendered(Output::Jpeg))
                } else {
                    raster.ok_or_else(|| unsupported(format!(
                        "{} is sent as image/jpeg or rendered to image/pwg-raster or image/urf, and the printer takes none of them",
                        doc.format
                    )))
                }
            }
            _ => Err(unsupported(format!("{} is not accepted", doc.format))),
        },
    }
}

/// Reads a document whole for rendering, at most [`MAX_DOCUMENT_BYTES`].
async fn read_bounded(device: &str, body: DocumentBody) -> Result<Bytes> {
    use tokio::io::AsyncReadExt;
    let too_big = || {
        Error::new(
            ErrorKind::InvalidInput,
            device.to_owned(),
            "print: read document",
        )
        .with_detail(format!(
            "the document is larger than {MAX_DOCUMENT_BYTES} bytes, the most this crate renders"
        ))
    };
    let mut reader: Pin<Box<dyn AsyncRead + Send>> = match body {
        DocumentBody::Bytes(b) if b.len() as u64 > MAX_DOCUMENT_BYTES => return Err(too_big()),
        DocumentBody::Bytes(b) => return Ok(b),
        DocumentBody::File(p) => {
            let f = tokio::fs::File::open(&p)
                .await
                .map_err(|e| Error::io(device.to_owned(), format!("open {}", p.display()), e))?;
            Box::pin(f)
        }
        DocumentBody::Reader(r) => r,
        DocumentBody::Page(_) => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                device.to_owned(),
                "print: read document",
            ))
        }
    };
    let mut v = Vec::new();
    (&mut reader)
        .take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut v)
        .await
        .map_err(|e| Error::io(device.to_owned(), "print: read document", e))?;
    if v.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(too_big());
    }
    Ok(Bytes::from(v))
}

/// Turns the document into a stream in the planned format: files and readers sent as they
/// are stream; pages are converted and documents rendered on a blocking thread, page by
/// page. The IPP backend sends this stream; the mock printer records it.
///
/// # Errors
/// [`ErrorKind::NotFound`] / [`ErrorKind::Io`] for an unreadable file; conversion and
/// rendering errors ([`ErrorKind::InvalidInput`] for a document that cannot be read,
/// [`ErrorKind::Unsupported`] for a multi-page document to a JPEG-only printer).
pub async fn body(
    device: &str,
    doc: Document,
    plan: &Plan,
    media: Option<&str>,
) -> Result<Pin<Box<dyn AsyncRead + Send>>> {
    let reader = |b: Bytes| -> Pin<Box<dyn AsyncRead + Send>> { Box::pin(io::Cursor::new(b)) };
    if let Plan::Render(spec) = plan {
        let input = match doc.body {
            DocumentBody::Page(page) => Input::Page(page),
            body if doc.format == DocumentFormat::Pdf => {
                Input::Pdf(read_bounded(device, body).await?)
            }
            body => Input::Image(read_bounded(device, body).await?),
        };
        return Ok(render::render(device, input, spec.clone()).await?.reader);
    }
    match doc.body {
        DocumentBody::Bytes(b) => Ok(reader(b)),
        DocumentBody::File(p) => {
            let f = tokio::fs::File::open(&p)
                .await
                .map_err(|e| Error::io(device.to_owned(), format!("open {}", p.display()), e))?;
            Ok(Box::pin(f))
        }
        DocumentBody::Reader(r) => Ok(r),
        DocumentBody::Page(page) => {
            let plan = plan.clone();
            let media = media.map(str::to_owned);
            let dev = device.to_owned();
            let bytes =
                tokio::task::spawn_blocking(move || convert_page(&page, &plan, media.as_deref()))
                    .await
                    .map_err(|e| {
                        Error::new(ErrorKind::Backend, dev, "convert page").with_source(e)
                    })?
                    .map_err(|e| e.with_operation("print: convert page"))?;
            Ok(reader(bytes))
        }
    }
}

/// Reads [`body`] whole, as a printer would receive it (for mocks and checks); an error of
/// the renderer comes back as itself.
///
/// # Errors
/// As [`body`]; rendering errors of later pages.
pub async fn body_bytes(
    device: &str,
    doc: Document,
    plan: &Plan,
    media: Option<&str>,
) -> Result<Bytes> {
    use tokio::io::AsyncReadExt;
    let mut r = body(device, doc, plan, media).await?;
    let mut v = Vec::new();
    if let Err(e) = r.read_to_end(&mut v).await {
        return Err(match e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
            Some(_) => match e.into_inner().map(|i| i.downcast::<Error>()) {
                Some(Ok(inner)) => *inner,
                _ => Error::new(
                    ErrorKind::Backend,
                    device.to_owned(),
                    "print: render document",
                ),
            },
            None => Error::io(device.to_owned(), "print: read document", e),
        });
    }
    Ok(Bytes::from(v))
}

/// Converts a page to the planned format.
///
/// # Errors
/// Those of the encoders.
pub fn convert_page(page: &Page, plan: &Plan, media: Option<&str>) -> Result<Bytes> {
    use crate::pdf::{encode_page, EncodeOptions, Encoding, PdfOptions, PdfWriter};
    match plan {
        Plan::AsIs(_) => match &page.data {
            PageData::Jpeg { data, .. } => Ok(data.clone()),
            PageData::Raw { .. } => {
                Err(
                    Error::new(ErrorKind::Unsupported, "pwg-raster", "convert page")
                        .with_detail("a raw page needs a conversion"),
                )
            }
        },
        Plan::Raster(t, dpi) => raster::encode_page(page, *t, *dpi, media).map(Bytes::from),
        Plan::Render(_) => Err(
            Error::new(ErrorKind::InvalidInput, "render", "convert page")
                .with_detail("a rendered plan goes through convert::body"),
        ),
        Plan::Jpeg => {
            let opts = EncodeOptions {
                encoding: Encoding::Jpeg,
                ..EncodeOptions::default()
            };
            Ok(encode_page(page, &opts)?.data)
        }
        Plan::Pdf => {
            let img = encode_page(page, &EncodeOptions::default())?;
            let mut w = PdfWriter::new(Vec::new(), &PdfOptions::new())?;
            w.add_page(&img)?;
            Ok(Bytes::from(w.finish()?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::{RasterSupport, SheetBack, Sides};

    fn pa(formats: &[DocumentFormat]) -> PrinterCapabilities {
        let mut r = RasterSupport {
            pwg_types: vec![RasterType::Black1, RasterType::Sgray8],
            pwg_resolutions: vec![(300, 300), (600, 600)],
            pwg_sheet_back: SheetBack::Rotated,
            ..RasterSupport::default()
        };
        r.read_urf(&["W8", "SRGB24", "RS600", "DM2"]);
        PrinterCapabilities::new(formats.to_vec())
            .with_max_copies(99)
            .with_raster(r)
    }

    fn plan(
        device: &str,
        doc: &Document,
        color: PrintColor,
        caps: &PrinterCapabilities,
    ) -> Result<Plan> {
        super::plan(
            device,
            doc,
            &PrintOptions::new().color(color),
            &Target::new(caps),
        )
    }

    fn raw_page(format: PixelFormat, dpi: u32) -> Document {
        let n = format.row_bytes(8) * 8;
        Document::page(Page::raw(0, 8, 8, (dpi, dpi), format, vec![200u8; n]).unwrap())
    }

    #[test]
    fn negotiation() {
        let pwg = pa(&[DocumentFormat::PwgRaster]);
        let auto = PrintColor::Auto;
        assert_eq!(
            plan("d", &raw_page(PixelFormat::Rgb8, 200), auto, &pwg).unwrap(),
            Plan::Raster(RasterType::Sgray8, (300, 300))
        );
        assert_eq!(
            plan("d", &raw_page(PixelFormat::Bw1, 600), auto, &pwg).unwrap(),
            Plan::Raster(RasterType::Black1, (600, 600))
        );
        let Plan::Render(spec) = plan("d", &Document::pdf(&b"%PDF"[..]), auto, &pwg).unwrap()
        else {
            panic!("a PDF to a raster printer is rendered")
        };
        assert_eq!(
            (spec.output, spec.raster, spec.dpi),
            (Output::PwgRaster, RasterType::Sgray8, (300, 300))
        );
        assert_eq!(spec.sheet_back, SheetBack::Rotated);
        let jpeg = pa(&[DocumentFormat::Jpeg]);
        assert_eq!(
            plan("d", &raw_page(PixelFormat::Gray8, 300), auto, &jpeg).unwrap(),
            Plan::Jpeg
        );
        let Plan::Render(spec) = plan(
            "d",
            &Document::new(DocumentFormat::Png, DocumentBody::Bytes(Bytes::new())),
            auto,
            &jpeg,
        )
        .unwrap() else {
            panic!("a PNG to a JPEG printer is re-encoded")
        };
        assert_eq!(spec.output, Output::Jpeg);
        let pdf = pa(&[DocumentFormat::Pdf]);
        assert_eq!(
            plan("d", &raw_page(PixelFormat::Gray8, 300), auto, &pdf).unwrap(),
            Plan::Pdf
        );
        assert_eq!(
            plan("d", &Document::pdf(&b"%PDF"[..]), auto, &pdf).unwrap(),
            Plan::AsIs(DocumentFormat::Pdf)
        );
        let e = plan("d", &Document::jpeg(&b"x"[..]), auto, &pdf).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(e.to_string().contains("accepts application/pdf"), "{e}");
        let mut urf = pa(&[DocumentFormat::Urf]);
        urf.color = true;
        let opts = PrintOptions::new()
            .sides(Sides::TwoSidedLongEdge)
            .media("na_letter_8.5x11in");
        let Plan::Render(spec) =
            super::plan("d", &Document::pdf(&b"%PDF"[..]), &opts, &Target::new(&urf)).unwrap()
        else {
            panic!("URF")
        };
        assert_eq!(
            (spec.output, spec.raster, spec.dpi),
            (Output::Urf, RasterType::Srgb8, (600, 600))
        );
        assert_eq!(
            (spec.sheet_back, spec.media.width),
            (SheetBack::Flipped, 612.0)
        );
        assert_eq!(spec.media_name.as_deref(), Some("na_letter_8.5x11in"));
    }

    #[test]
    fn converted_pages_have_their_magic() {
        let doc = raw_page(PixelFormat::Gray8, 300);
        let DocumentBody::Page(page) = doc.body else {
            unreachable!()
        };
        let r = convert_page(&page, &Plan::Raster(RasterType::Sgray8, (300, 300)), None).unwrap();
        assert_eq!(&r[..4], b"RaS2");
        let j = convert_page(&page, &Plan::Jpeg, None).unwrap();
        assert_eq!(&j[..2], &[0xFF, 0xD8]);
        let p = convert_page(&page, &Plan::Pdf, None).unwrap();
        assert_eq!(&p[..5], b"%PDF-");
    }
}
