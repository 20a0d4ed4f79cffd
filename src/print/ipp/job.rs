//! Print jobs: format negotiation (send as is, or convert a scanned page to PWG raster,
//! JPEG or PDF), the job template attributes, and the document body as a stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use ipp::attribute::IppAttribute;
use ipp::model::DelimiterTag;
use ipp::value::IppValue;
use tokio::io::{AsyncRead, ReadBuf};

use super::attrs::PrinterAttrs;
use super::raster::{self, RasterType};
use crate::error::{Error, ErrorKind, Result};
use crate::print::{
    Document, DocumentBody, DocumentFormat, Orientation, PrintColor, PrintOptions,
    PrinterCapabilities, Sides,
};
use crate::scan::{Page, PageData, PixelFormat};

/// How a document is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Unchanged, in its own format.
    AsIs(DocumentFormat),
    /// A raw page encoded as PWG raster of this type at this resolution.
    Raster(RasterType, (u32, u32)),
    /// A raw page encoded as JPEG.
    Jpeg,
    /// A page (raw or JPEG) wrapped in a one-page PDF.
    Pdf,
}

impl Plan {
    /// The format the printer receives.
    pub fn format(&self) -> DocumentFormat {
        match self {
            Plan::AsIs(f) => f.clone(),
            Plan::Raster(..) => DocumentFormat::PwgRaster,
            Plan::Jpeg => DocumentFormat::Jpeg,
            Plan::Pdf => DocumentFormat::Pdf,
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

/// The raster type for a page of `format` with colour mode `color`, among `supported`
/// (all three are assumed when the printer lists none).
fn raster_type(
    format: PixelFormat,
    color: PrintColor,
    printer_color: bool,
    supported: &[RasterType],
) -> RasterType {
    let all = [RasterType::Black1, RasterType::Sgray8, RasterType::Srgb8];
    let supported: &[RasterType] = if supported.is_empty() {
        &all
    } else {
        supported
    };
    let has = |t: RasterType| supported.contains(&t);
    let want_color = match color {
        PrintColor::Monochrome => false,
        PrintColor::Color => true,
        _ => printer_color,
    };
    let prefs: &[RasterType] = match format {
        PixelFormat::Bw1 => &[RasterType::Black1, RasterType::Sgray8, RasterType::Srgb8],
        PixelFormat::Rgb8 | PixelFormat::Rgb16 if want_color => {
            &[RasterType::Srgb8, RasterType::Sgray8, RasterType::Black1]
        }
        _ => &[RasterType::Sgray8, RasterType::Black1, RasterType::Srgb8],
    };
    prefs
        .iter()
        .copied()
        .find(|t| has(*t))
        .unwrap_or(RasterType::Sgray8)
}

/// The raster resolution for a page at `dpi`: its own if supported, else the closest.
fn raster_dpi(dpi: (u32, u32), supported: &[(u32, u32)]) -> (u32, u32) {
    if supported.is_empty() || supported.contains(&dpi) {
        return dpi;
    }
    supported
        .iter()
        .copied()
        .min_by_key(|(x, y)| x.abs_diff(dpi.0) + y.abs_diff(dpi.1))
        .unwrap_or(dpi)
}

/// Chooses how to send `doc` to a printer with attributes `pa`.
///
/// # Errors
/// [`ErrorKind::Unsupported`] naming the formats the printer accepts when nothing fits.
pub fn plan(device: &str, doc: &Document, color: PrintColor, pa: &PrinterAttrs) -> Result<Plan> {
    let caps = &pa.caps;
    let unsupported = |why: String| {
        Error::new(ErrorKind::Unsupported, device.to_owned(), "print").with_detail(format!(
            "{why}; the printer accepts {}",
            accepted_list(caps)
        ))
    };
    match &doc.body {
        DocumentBody::Page(page) => match &page.data {
            PageData::Raw { format, .. } => {
                if caps.accepts(&DocumentFormat::PwgRaster) {
                    let t = raster_type(*format, color, caps.color, &pa.raster_types);
                    Ok(Plan::Raster(
                        t,
                        raster_dpi(page.dpi, &pa.raster_resolutions),
                    ))
                } else if caps.accepts(&DocumentFormat::Jpeg) {
                    Ok(Plan::Jpeg)
                } else if caps.accepts(&DocumentFormat::Pdf) {
                    Ok(Plan::Pdf)
                } else {
                    Err(unsupported(
                        "a scanned page can be sent as image/pwg-raster, image/jpeg or application/pdf, and the printer takes none of them".into(),
                    ))
                }
            }
            PageData::Jpeg { .. } => {
                if caps.accepts(&DocumentFormat::Jpeg) {
                    Ok(Plan::AsIs(DocumentFormat::Jpeg))
                } else if caps.accepts(&DocumentFormat::Pdf) {
                    Ok(Plan::Pdf)
                } else {
                    Err(unsupported(
                        "a JPEG page can be sent as image/jpeg or wrapped in application/pdf (this crate does not decode JPEG to raster), and the printer takes neither".into(),
                    ))
                }
            }
        },
        _ => {
            if caps.accepts(&doc.format) {
                Ok(Plan::AsIs(doc.format.clone()))
            } else {
                let hint = match doc.format {
                    DocumentFormat::Pdf => " (this crate does not rasterize PDF)",
                    DocumentFormat::Jpeg => {
                        " (this crate does not decode JPEG; send a raw page instead)"
                    }
                    _ => "",
                };
                Err(unsupported(format!("{} is not accepted{hint}", doc.format)))
            }
        }
    }
}

/// Checks options against the capabilities before anything is sent.
///
/// # Errors
/// [`ErrorKind::InvalidInput`] naming the option and what the printer supports.
pub fn check_options(device: &str, o: &PrintOptions, pa: &PrinterAttrs) -> Result<()> {
    let caps = &pa.caps;
    let bad = |what: String| {
        Error::new(ErrorKind::InvalidInput, device.to_owned(), "print").with_detail(what)
    };
    if o.copies == 0 || o.copies > caps.max_copies.max(1) {
        return Err(bad(format!(
            "{} copies; the printer takes 1..={}",
            o.copies,
            caps.max_copies.max(1)
        )));
    }
    if o.sides != Sides::OneSided && !caps.sides.contains(&o.sides) {
        let s: Vec<&str> = caps.sides.iter().map(|s| s.keyword()).collect();
        return Err(bad(format!(
            "sides {} is not supported; the printer supports {}",
            o.sides.keyword(),
            if s.is_empty() {
                "one-sided only".to_owned()
            } else {
                s.join(", ")
            }
        )));
    }
    if let Some(m) = &o.media {
        if !caps.media_supported.is_empty() && !caps.media_supported.contains(m) {
            return Err(bad(format!(
                "media {m} is not supported; the printer supports {}",
                caps.media_supported.join(", ")
            )));
        }
    }
    if o.color == PrintColor::Color && !caps.color {
        return Err(bad(
            "colour printing requested from a monochrome printer".to_owned()
        ));
    }
    Ok(())
}

fn attr(
    name: &str,
    value: std::result::Result<IppValue, ipp::parser::IppParseError>,
) -> Option<IppAttribute> {
    value
        .ok()
        .and_then(|v| IppAttribute::with_name(name, v).ok())
}

/// Operation attributes (besides charset, language and printer-uri) of a job request.
pub fn operation_attributes(
    user: &str,
    job_name: &str,
    document_name: Option<&str>,
    format: &DocumentFormat,
) -> Vec<IppAttribute> {
    let mut v = Vec::new();
    v.extend(attr(
        "requesting-user-name",
        IppValue::new_name_without_language(user),
    ));
    v.extend(attr(
        "job-name",
        IppValue::new_name_without_language(truncate(job_name, 255)),
    ));
    if let Some(d) = document_name {
        v.extend(attr(
            "document-name",
            IppValue::new_name_without_language(truncate(d, 255)),
        ));
    }
    v.extend(attr(
        "document-format",
        IppValue::new_mime_media_type(format.mime()),
    ));
    v
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_owned()
}

/// Job template attributes for `o`.
pub fn job_attributes(o: &PrintOptions, pa: &PrinterAttrs) -> Vec<IppAttribute> {
    let mut v = Vec::new();
    if o.copies != 1 {
        v.extend(attr(
            "copies",
            Ok(IppValue::Integer(
                i32::try_from(o.copies).unwrap_or(i32::MAX),
            )),
        ));
    }
    if o.sides != Sides::OneSided || !pa.caps.sides.is_empty() {
        v.extend(attr("sides", IppValue::new_keyword(o.sides.keyword())));
    }
    if let Some(m) = &o.media {
        v.extend(attr("media", IppValue::new_keyword(m.as_str())));
    }
    match o.color {
        PrintColor::Color => v.extend(attr("print-color-mode", IppValue::new_keyword("color"))),
        PrintColor::Monochrome => v.extend(attr(
            "print-color-mode",
            IppValue::new_keyword("monochrome"),
        )),
        _ => {}
    }
    if let Some(or) = o.orientation {
        let e = match or {
            Orientation::Landscape => 4,
            _ => 3,
        };
        if pa.orientations.is_empty() || pa.orientations.contains(&e) {
            v.extend(attr("orientation-requested", Ok(IppValue::Enum(e))));
        }
    }
    v
}

/// Adds operation and job attributes to a request.
pub fn add_attributes(
    req: &mut ipp::request::IppRequestResponse,
    op: Vec<IppAttribute>,
    job: Vec<IppAttribute>,
) {
    for a in op {
        req.attributes_mut()
            .add(DelimiterTag::OperationAttributes, a);
    }
    for a in job {
        req.attributes_mut().add(DelimiterTag::JobAttributes, a);
    }
}

/// A tokio reader seen as a `futures` reader, as the `ipp` crate's payload wants it.
pub struct Compat(pub Pin<Box<dyn AsyncRead + Send>>);

impl futures_util::io::AsyncRead for Compat {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut rb = ReadBuf::new(buf);
        match self.0.as_mut().poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Turns the document into a stream in the planned format. Files and readers are streamed;
/// pages are converted on a blocking thread.
///
/// # Errors
/// [`ErrorKind::NotFound`] / [`ErrorKind::Io`] for an unreadable file; conversion errors.
pub async fn body(
    device: &str,
    doc: Document,
    plan: &Plan,
    media: Option<&str>,
) -> Result<Pin<Box<dyn AsyncRead + Send>>> {
    let reader = |b: Bytes| -> Pin<Box<dyn AsyncRead + Send>> { Box::pin(io::Cursor::new(b)) };
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

    fn pa(formats: &[DocumentFormat]) -> PrinterAttrs {
        let mut p = PrinterAttrs::default();
        p.caps.formats = formats.to_vec();
        p.caps.max_copies = 99;
        p.raster_types = vec![RasterType::Black1, RasterType::Sgray8];
        p.raster_resolutions = vec![(300, 300), (600, 600)];
        p
    }

    fn raw_page(format: PixelFormat, dpi: u32) -> Document {
        let n = format.row_bytes(8) * 8;
        Document::page(Page::raw(0, 8, 8, (dpi, dpi), format, vec![200u8; n]).unwrap())
    }

    #[test]
    fn negotiation() {
        let pwg = pa(&[DocumentFormat::PwgRaster]);
        assert_eq!(
            plan(
                "d",
                &raw_page(PixelFormat::Rgb8, 200),
                PrintColor::Auto,
                &pwg
            )
            .unwrap(),
            Plan::Raster(RasterType::Sgray8, (300, 300))
        );
        assert_eq!(
            plan(
                "d",
                &raw_page(PixelFormat::Bw1, 600),
                PrintColor::Auto,
                &pwg
            )
            .unwrap(),
            Plan::Raster(RasterType::Black1, (600, 600))
        );
        let e = plan("d", &Document::pdf(&b"%PDF"[..]), PrintColor::Auto, &pwg).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported);
        assert!(
            e.to_string().contains("application/pdf is not accepted"),
            "{e}"
        );
        assert!(e.to_string().contains("accepts image/pwg-raster"), "{e}");
        let jpeg = pa(&[DocumentFormat::Jpeg]);
        assert_eq!(
            plan(
                "d",
                &raw_page(PixelFormat::Gray8, 300),
                PrintColor::Auto,
                &jpeg
            )
            .unwrap(),
            Plan::Jpeg
        );
        let pdf = pa(&[DocumentFormat::Pdf]);
        assert_eq!(
            plan(
                "d",
                &raw_page(PixelFormat::Gray8, 300),
                PrintColor::Auto,
                &pdf
            )
            .unwrap(),
            Plan::Pdf
        );
        assert_eq!(
            plan("d", &Document::pdf(&b"%PDF"[..]), PrintColor::Auto, &pdf).unwrap(),
            Plan::AsIs(DocumentFormat::Pdf)
        );
    }

    #[test]
    fn options_are_checked() {
        let p = pa(&[DocumentFormat::Pdf]);
        let e = check_options("d", &PrintOptions::new().copies(0), &p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let e = check_options("d", &PrintOptions::new().sides(Sides::TwoSidedLongEdge), &p)
            .unwrap_err();
        assert!(e.to_string().contains("one-sided only"), "{e}");
        assert!(check_options("d", &PrintOptions::new().copies(3), &p).is_ok());
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
