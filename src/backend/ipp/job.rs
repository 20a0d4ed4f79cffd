//! Print jobs: the printer's attributes as a conversion target (the conversion itself is
//! [`crate::print::convert`], shared with the mock printer), the job template attributes, and
//! the document body as a stream.

use std::collections::BTreeMap;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ipp::attribute::IppAttribute;
use ipp::model::DelimiterTag;
use ipp::value::{IppName, IppValue};
use tokio::io::{AsyncRead, ReadBuf};

use super::attrs::PrinterAttrs;
use crate::error::{Error, ErrorKind, Result};
use crate::print::convert::{self, Plan, Target};
#[cfg(test)]
use crate::print::raster::RasterType;
use crate::print::{
    Document, DocumentFormat, Orientation, PrintColor, PrintOptions, PrintScaling, Sides,
};

/// Chooses how to send `doc` to a printer with attributes `pa` (see
/// [`convert::plan`](crate::print::convert::plan)).
///
/// # Errors
/// [`ErrorKind::Unsupported`] naming the formats the printer accepts when nothing fits.
pub fn plan(
    device: &str,
    doc: &Document,
    options: &PrintOptions,
    pa: &PrinterAttrs,
) -> Result<Plan> {
    convert::plan(device, doc, options, &Target::new(&pa.caps))
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
    o.validate(device)?;
    caps.check_job_template(device, o)?;
    let handling = copy_handling(o);
    if let Some(h) = handling {
        if !pa.copy_handling.is_empty() && !pa.copy_handling.iter().any(|k| k == h) {
            return Err(bad(format!(
                "{h} is not supported; the printer has {}",
                pa.copy_handling.join(", ")
            )));
        }
    }
    Ok(())
}

/// The `multiple-document-handling` keyword for more than one copy.
fn copy_handling(o: &PrintOptions) -> Option<&'static str> {
    (o.copies > 1).then_some(if o.collate {
        "separate-documents-collated-copies"
    } else {
        "separate-documents-uncollated-copies"
    })
}

fn attr(
    name: &str,
    value: std::result::Result<IppValue, ipp::parser::IppParseError>,
) -> Option<IppAttribute> {
    value
        .ok()
        .and_then(|v| IppAttribute::with_name(name, v).ok())
}

/// `requesting-user-name`, sent with every request that names a user.
pub fn user_attribute(user: &str) -> Option<IppAttribute> {
    attr(
        "requesting-user-name",
        IppValue::new_name_without_language(user),
    )
}

/// Operation attributes (besides charset, language and printer-uri) of a job request.
pub fn operation_attributes(
    user: &str,
    job_name: &str,
    document_name: Option<&str>,
    format: &DocumentFormat,
) -> Vec<IppAttribute> {
    let mut v = Vec::new();
    v.extend(user_attribute(user));
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

/// `media-col` with the media size name, `media-source` and `media-type` (PWG 5100.7).
fn media_col(o: &PrintOptions) -> Option<IppAttribute> {
    let mut m = BTreeMap::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            if let (Ok(n), Ok(v)) = (IppName::new(k), IppValue::new_keyword(v.as_str())) {
                m.insert(n, v);
            }
        }
    };
    put("media-size-name", &o.media);
    put("media-source", &o.media_source);
    put("media-type", &o.media_type);
    IppAttribute::with_name("media-col", IppValue::Collection(m)).ok()
}

/// Job template attributes for `o`. `page_ranges` says whether the printer selects the pages
/// (a PDF it takes as it is); when this crate renders, it has selected them already.
pub fn job_attributes(o: &PrintOptions, pa: &PrinterAttrs, page_ranges: bool) -> Vec<IppAttribute> {
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
    if o.media_source.is_some() || o.media_type.is_some() {
        // media-col replaces media (a printer rejects both in one job).
        v.extend(media_col(o));
    } else if let Some(m) = &o.media {
        v.extend(attr("media", IppValue::new_keyword(m.as_str())));
    }
    if let Some(h) = copy_handling(o) {
        v.extend(attr("multiple-document-handling", IppValue::new_keyword(h)));
    }
    if let Some(q) = o.quality {
        v.extend(attr("print-quality", Ok(IppValue::Enum(q.ipp()))));
    }
    if page_ranges && !o.page_ranges.is_empty() {
        let r: Vec<IppValue> = o
            .page_ranges
            .iter()
            .map(|r| {
                let n = |x: u32| i32::try_from(x).unwrap_or(i32::MAX);
                IppValue::RangeOfInteger {
                    min: n(r.first),
                    max: n(r.last),
                }
            })
            .collect();
        v.extend(attr("page-ranges", Ok(IppValue::Array(r))));
    }
    match o.color {
        PrintColor::Color => v.extend(attr("print-color-mode", IppValue::new_keyword("color"))),
        PrintColor::Monochrome => v.extend(attr(
            "print-color-mode",
            IppValue::new_keyword("monochrome"),
        )),
        _ => {}
    }
    if o.scaling != PrintScaling::Auto
        && (pa.scaling.is_empty() || pa.scaling.iter().any(|k| k == o.scaling.keyword()))
    {
        v.extend(attr(
            "print-scaling",
            IppValue::new_keyword(o.scaling.keyword()),
        ));
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

/// Turns the document into a stream in the planned format (see
/// [`convert::body`](crate::print::convert::body), shared with the mock printer).
///
/// # Errors
/// As [`convert::body`](crate::print::convert::body).
pub async fn body(
    device: &str,
    doc: Document,
    plan: &Plan,
    media: Option<&str>,
) -> Result<Pin<Box<dyn AsyncRead + Send>>> {
    convert::body(device, doc, plan, media).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pa(formats: &[DocumentFormat]) -> PrinterAttrs {
        let mut p = PrinterAttrs::default();
        p.caps.formats = formats.to_vec();
        p.caps.max_copies = 99;
        p.caps.raster.pwg_types = vec![RasterType::Black1, RasterType::Sgray8];
        p.caps.raster.pwg_resolutions = vec![(300, 300), (600, 600)];
        p
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
}
