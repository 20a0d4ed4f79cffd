//! IPP attributes to the crate's types: printer attributes to [`PrinterCapabilities`] and
//! [`PrinterStatus`] (job attributes are in `job_attrs`), and IPP/HTTP status codes to
//! [`ErrorKind`]s. Pure functions over parsed attributes, so they are tested without a printer.

use ipp::attribute::{IppAttributeGroup, IppAttributes};
use ipp::model::DelimiterTag;
use ipp::value::IppValue;

use crate::error::ErrorKind;
use crate::print::raster::RasterType;
use crate::print::{
    supplies_from_markers, supplies_from_pwg, DocumentFormat, PrintQuality, PrinterCapabilities,
    PrinterState, PrinterStatus, SheetBack, Sides, StateReason,
};

/// The printer attributes this backend asks for.
pub const PRINTER_ATTRIBUTES: &[&str] = &[
    "printer-name",
    "printer-make-and-model",
    "printer-info",
    "printer-uuid",
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    "document-format-supported",
    "media-supported",
    "media-ready",
    "media-default",
    "sides-supported",
    "color-supported",
    "print-color-mode-supported",
    "copies-supported",
    "printer-resolution-supported",
    "orientation-requested-supported",
    "operations-supported",
    "pwg-raster-document-resolution-supported",
    "pwg-raster-document-type-supported",
    "pwg-raster-document-sheet-back",
    "urf-supported",
    "print-scaling-supported",
    "marker-names",
    "marker-levels",
    "marker-low-levels",
    "marker-types",
    "marker-colors",
    "printer-supply",
    "printer-supply-description",
    "media-source-supported",
    "media-type-supported",
    "print-quality-supported",
    "page-ranges-supported",
    "multiple-document-handling-supported",
];

/// A simple view, by name, of the attributes of all groups of one kind, or of one group.
pub struct Attrs<'a> {
    groups: Vec<&'a IppAttributeGroup>,
}

impl<'a> Attrs<'a> {
    /// The attributes of groups tagged `tag`.
    pub fn new(attrs: &'a IppAttributes, tag: DelimiterTag) -> Self {
        Attrs {
            groups: attrs.groups_of(tag).collect(),
        }
    }

    /// The attributes of one group (e.g. one job of a Get-Jobs reply).
    pub fn of_group(group: &'a IppAttributeGroup) -> Self {
        Attrs {
            groups: vec![group],
        }
    }

    /// The value of the first attribute called `name`.
    pub fn get(&self, name: &str) -> Option<&'a IppValue> {
        self.groups
            .iter()
            .find_map(|g| g.get(name))
            .map(|a| a.value())
    }

    /// All values of `name` (a one-element list for a single value).
    pub fn values(&self, name: &str) -> Vec<&'a IppValue> {
        self.get(name)
            .map(|v| v.into_iter().collect())
            .unwrap_or_default()
    }

    /// All string-like values of `name`.
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.values(name)
            .into_iter()
            .filter_map(string_of)
            .collect()
    }

    /// The first string-like value of `name`.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|v| v.into_iter().next())
            .and_then(string_of)
    }

    /// The first integer or enum value of `name`.
    pub fn int(&self, name: &str) -> Option<i32> {
        match self.get(name).and_then(|v| v.into_iter().next())? {
            IppValue::Integer(i) | IppValue::Enum(i) => Some(*i),
            _ => None,
        }
    }

    /// The first boolean value of `name`.
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name).and_then(|v| v.into_iter().next())? {
            IppValue::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// All integers and enums of `name`.
    pub fn ints(&self, name: &str) -> Vec<i32> {
        self.values(name)
            .into_iter()
            .filter_map(|v| match v {
                IppValue::Integer(i) | IppValue::Enum(i) => Some(*i),
                _ => None,
            })
            .collect()
    }

    /// All resolutions of `name` in dpi (dots per cm are converted), those in
    /// `1..=`[`MAX_DPI`] dpi; others, and units other than dpi (3) and dpcm (4), are left out.
    pub fn resolutions(&self, name: &str) -> Vec<(u32, u32)> {
        self.values(name)
            .into_iter()
            .filter_map(|v| match v {
                IppValue::Resolution {
                    cross_feed,
                    feed,
                    units,
                } => Some((dpi(*cross_feed, *units)?, dpi(*feed, *units)?)),
                _ => None,
            })
            .collect()
    }
}

/// The highest resolution taken from a printer, in dpi (printers go to 9600).
pub const MAX_DPI: u32 = 20_000;

/// A resolution value in dpi: `d` in units 3 (dpi) or 4 (dots per cm, rounded), with
/// checked arithmetic; `None` outside `1..=MAX_DPI` or for other units.
pub fn dpi(d: i32, units: i8) -> Option<u32> {
    let d = u32::try_from(d).ok()?;
    let dpi = match units {
        3 => d,
        4 => d.checked_mul(254)?.checked_add(50)? / 100,
        _ => return None,
    };
    (1..=MAX_DPI).contains(&dpi).then_some(dpi)
}

/// The text of a string-like value.
pub fn string_of(v: &IppValue) -> Option<String> {
    Some(match v {
        IppValue::TextWithoutLanguage(t) => t.as_ref().to_owned(),
        IppValue::NameWithoutLanguage(t) => t.as_ref().to_owned(),
        IppValue::TextWithLanguage { text, .. } => text.as_ref().to_owned(),
        IppValue::NameWithLanguage { name, .. } => name.as_ref().to_owned(),
        IppValue::Keyword(t) => t.as_ref().to_owned(),
        IppValue::MimeMediaType(t) => t.as_ref().to_owned(),
        IppValue::Uri(t) | IppValue::UriScheme(t) => t.as_ref().to_owned(),
        IppValue::Charset(t) | IppValue::NaturalLanguage(t) => t.as_ref().to_owned(),
        IppValue::NonUtf8 { data, .. } | IppValue::OctetString(data) => {
            String::from_utf8_lossy(data).into_owned()
        }
        _ => return None,
    })
}

/// What the printer can do, from its Get-Printer-Attributes reply, plus what the PWG raster
/// encoder needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PrinterAttrs {
    /// The capabilities.
    pub caps: PrinterCapabilities,
    /// `printer-name`.
    pub name: Option<String>,
    /// `printer-make-and-model`.
    pub make_and_model: Option<String>,
    /// `printer-uuid`.
    pub uuid: Option<String>,
    /// The state.
    pub status: Option<PrinterStatus>,
    /// `printer-is-accepting-jobs`.
    pub accepting: Option<bool>,
    /// `operations-supported`.
    pub operations: Vec<i32>,
    /// `print-scaling-supported`.
    pub scaling: Vec<String>,
    /// `orientation-requested-supported` (enum values 3..6).
    pub orientations: Vec<i32>,
    /// `multiple-document-handling-supported` (collated or not).
    pub copy_handling: Vec<String>,
}

/// Reads the printer attributes group.
pub fn printer_attrs(attrs: &IppAttributes) -> PrinterAttrs {
    let a = Attrs::new(attrs, DelimiterTag::PrinterAttributes);
    let mut caps = PrinterCapabilities {
        formats: a
            .strings("document-format-supported")
            .iter()
            .map(|m| DocumentFormat::from_mime(m))
            .collect(),
        media_supported: a.strings("media-supported"),
        media_ready: a.strings("media-ready"),
        sides: a
            .strings("sides-supported")
            .iter()
            .filter_map(|s| Sides::from_keyword(s))
            .collect(),
        ..PrinterCapabilities::default()
    };
    let color_modes = a.strings("print-color-mode-supported");
    caps.color = a.bool("color-supported").unwrap_or(false)
        || color_modes
            .iter()
            .any(|m| m == "color" || m == "auto-color");
    caps.max_copies = match a.get("copies-supported") {
        Some(IppValue::RangeOfInteger { max, .. }) => u32::try_from(*max).unwrap_or(1).max(1),
        Some(IppValue::Integer(i)) => u32::try_from(*i).unwrap_or(1).max(1),
        _ => 1,
    };
    caps.resolutions = a.resolutions("printer-resolution-supported");
    caps.media_default = a.string("media-default");
    caps.raster.pwg_resolutions = a.resolutions("pwg-raster-document-resolution-supported");
    caps.raster.pwg_types = a
        .strings("pwg-raster-document-type-supported")
        .iter()
        .filter_map(|k| RasterType::from_keyword(k))
        .collect();
    caps.raster.pwg_sheet_back = a
        .string("pwg-raster-document-sheet-back")
        .and_then(|k| SheetBack::from_keyword(&k))
        .unwrap_or_default();
    caps.raster.read_urf(&a.strings("urf-supported"));
    caps.media_sources = a.strings("media-source-supported");
    caps.media_types = a.strings("media-type-supported");
    caps.qualities = a
        .ints("print-quality-supported")
        .into_iter()
        .filter_map(PrintQuality::from_ipp)
        .collect();
    caps.page_ranges = a.bool("page-ranges-supported").unwrap_or(false);
    PrinterAttrs {
        caps,
        name: a.string("printer-name"),
        make_and_model: a.string("printer-make-and-model"),
        uuid: a.string("printer-uuid"),
        status: printer_status(attrs),
        accepting: a.bool("printer-is-accepting-jobs"),
        operations: a.ints("operations-supported"),
        scaling: a.strings("print-scaling-supported"),
        orientations: a.ints("orientation-requested-supported"),
        copy_handling: a.strings("multiple-document-handling-supported"),
    }
}

/// `printer-state` (3 idle, 4 processing, 5 stopped), reasons and message; `None` when the
/// reply has no printer-state.
pub fn printer_status(attrs: &IppAttributes) -> Option<PrinterStatus> {
    let a = Attrs::new(attrs, DelimiterTag::PrinterAttributes);
    let state = match a.int("printer-state")? {
        3 => PrinterState::Idle,
        4 => PrinterState::Processing,
        // 5 and any value a printer should not send: it needs attention.
        _ => PrinterState::Stopped,
    };
    let reasons = a
        .strings("printer-state-reasons")
        .iter()
        .filter_map(|k| StateReason::from_keyword(k))
        .collect();
    let mut st = PrinterStatus::new(state, reasons);
    st.message = a.string("printer-state-message").filter(|m| !m.is_empty());
    st.supplies = supplies_from_markers(
        &a.strings("marker-names"),
        &a.ints("marker-levels"),
        &a.ints("marker-low-levels"),
        &a.strings("marker-types"),
        &a.strings("marker-colors"),
    );
    if st.supplies.is_empty() {
        // IPP Everywhere's own form (PWG 5100.13), where a printer has no marker-*.
        st.supplies = supplies_from_pwg(
            &a.strings("printer-supply"),
            &a.strings("printer-supply-description"),
        );
    }
    Some(st)
}

/// The `status-message` of a reply, if any.
pub fn status_message(attrs: &IppAttributes) -> Option<String> {
    Attrs::new(attrs, DelimiterTag::OperationAttributes)
        .string("status-message")
        .filter(|m| !m.is_empty())
}

/// The names of the attributes a printer listed as unsupported.
pub fn unsupported_attributes(attrs: &IppAttributes) -> Vec<String> {
    attrs
        .groups_of(DelimiterTag::UnsupportedAttributes)
        .flat_map(|g| g.attributes().iter())
        .map(|a| {
            let v: Vec<String> = a.value().into_iter().filter_map(string_of).collect();
            if v.is_empty() {
                a.name().as_ref().to_owned()
            } else {
                format!("{}={}", a.name().as_ref(), v.join(","))
            }
        })
        .collect()
}

/// Whether a raw IPP status code is successful (0x0000..=0x00FF).
pub fn is_success(code: u16) -> bool {
    code <= 0x00FF
}

/// The error kind for an IPP status code (RFC 8011 section 4.1.6, PWG 5100.x). Unknown
/// codes map by class: 0x04xx to [`ErrorKind::InvalidInput`], 0x05xx to
/// [`ErrorKind::Backend`], anything else to [`ErrorKind::Protocol`].
pub fn ipp_status_kind(code: u16) -> ErrorKind {
    match code {
        0x0400 => ErrorKind::Protocol,                      // bad-request
        0x0401..=0x0403 => ErrorKind::InvalidInput, // forbidden, not-authenticated/-authorized
        0x0404 => ErrorKind::InvalidInput,          // not-possible
        0x0405 => ErrorKind::Timeout,               // timeout
        0x0406 | 0x0407 => ErrorKind::NotFound,     // not-found, gone
        0x0408 | 0x0409 => ErrorKind::InvalidInput, // too long
        0x040A => ErrorKind::Unsupported,           // document-format-not-supported
        0x040B => ErrorKind::InvalidInput,          // attributes-or-values-not-supported
        0x040C | 0x040D | 0x040F => ErrorKind::Unsupported, // uri scheme, charset, compression
        0x040E => ErrorKind::InvalidInput,          // conflicting-attributes
        0x0410 | 0x0411 => ErrorKind::InvalidInput, // compression/document-format error
        0x0412 => ErrorKind::Io,                    // document-access-error
        0x0500 | 0x0504 => ErrorKind::Backend,      // internal-error, device-error
        0x0501 | 0x0503 | 0x0509 => ErrorKind::Unsupported, // operation/version/multi-doc
        0x0502 | 0x0505..=0x0507 => ErrorKind::Busy, // unavailable, temporary, not accepting, busy
        0x0508 => ErrorKind::Cancelled,             // job-canceled
        c if c >> 8 == 0x04 => ErrorKind::InvalidInput,
        c if c >> 8 == 0x05 => ErrorKind::Backend,
        _ => ErrorKind::Protocol,
    }
}

/// The IPP keyword of a status code, for messages.
pub fn ipp_status_name(code: u16) -> &'static str {
    match code {
        0x0000 => "successful-ok",
        0x0001 => "successful-ok-ignored-or-substituted-attributes",
        0x0002 => "successful-ok-conflicting-attributes",
        0x0400 => "client-error-bad-request",
        0x0401 => "client-error-forbidden",
        0x0402 => "client-error-not-authenticated",
        0x0403 => "client-error-not-authorized",
        0x0404 => "client-error-not-possible",
        0x0405 => "client-error-timeout",
        0x0406 => "client-error-not-found",
        0x0407 => "client-error-gone",
        0x0408 => "client-error-request-entity-too-large",
        0x0409 => "client-error-request-value-too-long",
        0x040A => "client-error-document-format-not-supported",
        0x040B => "client-error-attributes-or-values-not-supported",
        0x040C => "client-error-uri-scheme-not-supported",
        0x040D => "client-error-charset-not-supported",
        0x040E => "client-error-conflicting-attributes",
        0x040F => "client-error-compression-not-supported",
        0x0410 => "client-error-compression-error",
        0x0411 => "client-error-document-format-error",
        0x0412 => "client-error-document-access-error",
        0x0500 => "server-error-internal-error",
        0x0501 => "server-error-operation-not-supported",
        0x0502 => "server-error-service-unavailable",
        0x0503 => "server-error-version-not-supported",
        0x0504 => "server-error-device-error",
        0x0505 => "server-error-temporary-error",
        0x0506 => "server-error-not-accepting-jobs",
        0x0507 => "server-error-busy",
        0x0508 => "server-error-job-canceled",
        0x0509 => "server-error-multiple-document-jobs-not-supported",
        _ => "unknown status",
    }
}

/// The error kind for an HTTP status other than 2xx.
pub fn http_status_kind(code: u16) -> ErrorKind {
    match code {
        404 | 410 => ErrorKind::NotFound,
        401 | 403 => ErrorKind::InvalidInput,
        413 => ErrorKind::InvalidInput,
        426 => ErrorKind::Unsupported, // upgrade to TLS required
        408 | 504 => ErrorKind::Timeout,
        503 => ErrorKind::Busy,
        500..=599 => ErrorKind::Backend,
        _ => ErrorKind::Protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::print::{ReasonKind, Severity, SupplyLevel};
    use ipp::attribute::IppAttribute;

    fn printer(attrs: Vec<(&str, IppValue)>) -> IppAttributes {
        let mut a = IppAttributes::new();
        for (n, v) in attrs {
            a.add(
                DelimiterTag::PrinterAttributes,
                IppAttribute::with_name(n, v).unwrap(),
            );
        }
        a
    }

    fn kw(s: &str) -> IppValue {
        IppValue::new_keyword(s).unwrap()
    }

    #[test]
    fn capabilities_from_printer_attributes() {
        let a = printer(vec![
            (
                "document-format-supported",
                IppValue::Array(vec![
                    IppValue::new_mime_media_type("application/pdf").unwrap(),
                    IppValue::new_mime_media_type("image/pwg-raster").unwrap(),
                ]),
            ),
            (
                "media-supported",
                IppValue::Array(vec![kw("iso_a4_210x297mm"), kw("na_letter_8.5x11in")]),
            ),
            ("media-ready", kw("iso_a4_210x297mm")),
            (
                "sides-supported",
                IppValue::Array(vec![kw("one-sided"), kw("two-sided-long-edge")]),
            ),
            ("color-supported", IppValue::Boolean(false)),
            (
                "copies-supported",
                IppValue::RangeOfInteger { min: 1, max: 999 },
            ),
            (
                "printer-resolution-supported",
                IppValue::Array(vec![
                    IppValue::new_resolution(600, 600, 3),
                    IppValue::new_resolution(118, 118, 4),
                ]),
            ),
            (
                "pwg-raster-document-type-supported",
                IppValue::Array(vec![kw("black_1"), kw("sgray_8"), kw("cmyk_8")]),
            ),
            ("printer-state", IppValue::Enum(5)),
            (
                "printer-state-reasons",
                IppValue::Array(vec![kw("media-empty-error"), kw("toner-low-warning")]),
            ),
            (
                "printer-state-message",
                IppValue::new_text_without_language("Out of paper").unwrap(),
            ),
        ]);
        let p = printer_attrs(&a);
        assert_eq!(
            p.caps.formats,
            vec![DocumentFormat::Pdf, DocumentFormat::PwgRaster]
        );
        assert_eq!(p.caps.media_ready, vec!["iso_a4_210x297mm".to_owned()]);
        assert_eq!(p.caps.sides, vec![Sides::OneSided, Sides::TwoSidedLongEdge]);
        assert!(!p.caps.color);
        assert_eq!(p.caps.max_copies, 999);
        assert_eq!(p.caps.resolutions, vec![(600, 600), (300, 300)]);
        assert_eq!(
            p.caps.raster.pwg_types,
            vec![RasterType::Black1, RasterType::Sgray8]
        );
        let st = p.status.unwrap();
        assert_eq!(st.state, PrinterState::Stopped);
        assert_eq!(st.reasons[0].kind, ReasonKind::MediaEmpty);
        assert_eq!(st.reasons[1].severity, Severity::Warning);
        assert_eq!(st.blocking_error(), Some(ErrorKind::MediaEmpty));
        assert_eq!(st.message.as_deref(), Some("Out of paper"));
    }

    #[test]
    fn supplies_from_marker_attributes() {
        let name = |s: &str| IppValue::new_name_without_language(s).unwrap();
        let a = printer(vec![
            ("printer-state", IppValue::Enum(3)),
            (
                "marker-names",
                IppValue::Array(vec![name("Black Toner"), name("Waste Toner")]),
            ),
            (
                "marker-levels",
                IppValue::Array(vec![IppValue::Integer(5), IppValue::Integer(-3)]),
            ),
            (
                "marker-low-levels",
                IppValue::Array(vec![IppValue::Integer(10), IppValue::Integer(90)]),
            ),
            (
                "marker-types",
                IppValue::Array(vec![kw("toner"), kw("waste-toner")]),
            ),
            ("marker-colors", IppValue::Array(vec![name("#000000")])),
        ]);
        let st = printer_status(&a).unwrap();
        assert_eq!(st.supplies.len(), 2);
        let toner = &st.supplies[0];
        assert_eq!(
            (toner.name.as_str(), toner.level, toner.low_level),
            ("Black Toner", SupplyLevel::Percent(5), Some(10))
        );
        assert_eq!(toner.kind.as_deref(), Some("toner"));
        assert_eq!(toner.color.as_deref(), Some("#000000"));
        assert_eq!(st.supplies[1].level, SupplyLevel::SomeRemaining);
        assert_eq!(st.supplies[1].color, None);
        assert_eq!(
            st.low_supplies()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            ["Black Toner"]
        );
        // IPP Everywhere's printer-supply where marker-* are missing.
        let a = printer(vec![
            ("printer-state", IppValue::Enum(3)),
            (
                "printer-supply",
                IppValue::Array(vec![
                    IppValue::OctetString(
                        "index=1;type=wasteToner;maxcapacity=100;level=25;".into(),
                    ),
                    IppValue::OctetString("index=2;type=toner;level=-3;colorantname=black;".into()),
                ]),
            ),
            (
                "printer-supply-description",
                IppValue::Array(vec![
                    IppValue::new_text_without_language("Waste Toner Box").unwrap(),
                    IppValue::new_text_without_language("Black Toner").unwrap(),
                ]),
            ),
        ]);
        let st = printer_status(&a).unwrap();
        let got: Vec<_> = st
            .supplies
            .iter()
            .map(|s| (s.name.as_str(), s.level))
            .collect();
        assert_eq!(
            got,
            [
                ("Waste Toner Box", SupplyLevel::Percent(25)),
                ("Black Toner", SupplyLevel::SomeRemaining)
            ]
        );
        assert_eq!(st.supplies[0].kind.as_deref(), Some("waste-toner"));
        // No marker attributes: no supplies.
        let st = printer_status(&printer(vec![("printer-state", IppValue::Enum(3))])).unwrap();
        assert!(st.supplies.is_empty());
    }

    #[test]
    fn resolutions_from_anywhere_in_the_integer_range() {
        let res = |v: Vec<IppValue>| {
            let a = printer(vec![("printer-resolution-supported", IppValue::Array(v))]);
            printer_attrs(&a).caps.resolutions
        };
        assert_eq!(
            res(vec![
                IppValue::new_resolution(i32::MAX, i32::MAX, 4),
                IppValue::new_resolution(i32::MAX, 300, 3),
                IppValue::new_resolution(i32::MIN, -1, 3),
                IppValue::new_resolution(0, 300, 3),
                IppValue::new_resolution(300, 300, 0),
                IppValue::new_resolution(300, 300, -1),
                IppValue::new_resolution(7874, 7874, 4),
                IppValue::new_resolution(7875, 7875, 4),
                IppValue::new_resolution(20_000, 1, 3),
                IppValue::new_resolution(20_001, 300, 3),
            ]),
            vec![(20_000, 20_000), (20_000, 1)]
        );
        assert_eq!(dpi(118, 4), Some(300));
        assert_eq!(dpi(1, 4), Some(3));
        assert_eq!(dpi(i32::MAX, 4), None);
        assert_eq!(dpi(16_909_320, 4), None, "254 * d + 50 overflows u32");
        assert_eq!(dpi(16_909_321, 4), None, "254 * d overflows u32");
    }

    #[test]
    fn status_codes() {
        assert_eq!(ipp_status_kind(0x040A), ErrorKind::Unsupported);
        assert_eq!(ipp_status_kind(0x0406), ErrorKind::NotFound);
        assert_eq!(ipp_status_kind(0x0506), ErrorKind::Busy);
        assert_eq!(ipp_status_kind(0x04FF), ErrorKind::InvalidInput);
        assert_eq!(ipp_status_kind(0x0999), ErrorKind::Protocol);
        assert!(is_success(0x0001));
        assert!(!is_success(0x0400));
        assert_eq!(http_status_kind(404), ErrorKind::NotFound);
    }
}
