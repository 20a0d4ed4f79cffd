//! eSCL documents: `ScannerCapabilities` and `ScannerStatus` written from the kit scanner's
//! capabilities and the jobs, and `ScanSettings` read (a bounded body; only the element
//! values eSCL clients send are looked at, by local name).

use std::fmt::Write;

use crate::scan::{ColorMode, Resolutions, ScanCapabilities, Source};

/// eSCL length unit: 1/300 inch.
pub(crate) const UNITS_PER_INCH: f64 = 300.0;
const MM_PER_INCH: f64 = 25.4;
/// Resolutions offered when the scanner has a continuous range.
const COMMON_DPI: &[u32] = &[75, 100, 150, 200, 300, 600];

pub(crate) fn mm_to_units(mm: f64) -> u32 {
    (mm / MM_PER_INCH * UNITS_PER_INCH).floor().max(0.0) as u32
}

/// The largest extent offered for `mm`: whole 1/300 inch, rounded down to a multiple of 4
/// (at most 0.34 mm less). Otherwise a page can be a whole and a half pixel (2551 units at
/// 150 dpi = 1275.5 px, 2550 at 75 dpi = 637.5 px), and the client and the scanner round
/// that half differently (sane-airscan cuts the page to 1275 px, the kit scans 1276). With a
/// multiple of 4 no resolution that is a multiple of 25 dpi lands on a half pixel.
pub(crate) fn max_units(mm: f64) -> u32 {
    mm_to_units(mm) & !3
}

pub(crate) fn units_to_mm(u: u32) -> f64 {
    f64::from(u) / UNITS_PER_INCH * MM_PER_INCH
}

/// Escapes text for an XML element.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
const NS: &str = r#"xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03" xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm""#;

/// The resolutions to offer, from the scanner's.
pub(crate) fn resolutions(caps: &ScanCapabilities) -> Vec<u32> {
    match &caps.resolutions {
        Resolutions::List(v) => v.iter().copied().filter(|d| *d <= 1200).collect(),
        r => COMMON_DPI
            .iter()
            .copied()
            .filter(|d| r.contains(*d))
            .collect(),
    }
}

/// The eSCL colour modes offered (8 bits per sample; 1-bit lineart is not offered).
pub(crate) fn color_modes(caps: &ScanCapabilities) -> Vec<&'static str> {
    let mut v = Vec::new();
    if caps.depths.contains(&8) {
        if caps.modes.contains(&ColorMode::Color) {
            v.push("RGB24");
        }
        if caps.modes.contains(&ColorMode::Gray) {
            v.push("Grayscale8");
        }
    }
    v
}

fn input_caps(out: &mut String, element: &str, caps: &ScanCapabilities) {
    let (w, h) = caps.max_area_mm;
    let _ = write!(
        out,
        "<scan:{element}><scan:MinWidth>16</scan:MinWidth><scan:MaxWidth>{}</scan:MaxWidth>\
         <scan:MinHeight>16</scan:MinHeight><scan:MaxHeight>{}</scan:MaxHeight>\
         <scan:MaxScanRegions>1</scan:MaxScanRegions>\
         <scan:SettingProfiles><scan:SettingProfile><scan:ColorModes>",
        max_units(w),
        max_units(h)
    );
    for m in color_modes(caps) {
        let _ = write!(out, "<scan:ColorMode>{m}</scan:ColorMode>");
    }
    out.push_str("</scan:ColorModes><scan:DocumentFormats>");
    for f in ["image/jpeg", "image/png"] {
        let _ = write!(
            out,
            "<pwg:DocumentFormat>{f}</pwg:DocumentFormat>\
             <scan:DocumentFormatExt>{f}</scan:DocumentFormatExt>"
        );
    }
    out.push_str("</scan:DocumentFormats><scan:SupportedResolutions><scan:DiscreteResolutions>");
    let dpis = resolutions(caps);
    for d in &dpis {
        let _ = write!(
            out,
            "<scan:DiscreteResolution><scan:XResolution>{d}</scan:XResolution>\
             <scan:YResolution>{d}</scan:YResolution></scan:DiscreteResolution>"
        );
    }
    let max = dpis.iter().copied().max().unwrap_or(300);
    let _ = write!(
        out,
        "</scan:DiscreteResolutions></scan:SupportedResolutions></scan:SettingProfile>\
         </scan:SettingProfiles><scan:SupportedIntents><scan:Intent>Document</scan:Intent>\
         <scan:Intent>TextAndGraphic</scan:Intent><scan:Intent>Photo</scan:Intent>\
         </scan:SupportedIntents><scan:MaxOpticalXResolution>{max}</scan:MaxOpticalXResolution>\
         <scan:MaxOpticalYResolution>{max}</scan:MaxOpticalYResolution></scan:{element}>"
    );
}

/// `ScannerCapabilities` for a scanner.
pub(crate) fn capabilities(
    make_and_model: &str,
    serial: &str,
    uuid: &str,
    caps: &ScanCapabilities,
    feeder_capacity: u32,
) -> String {
    let mut out = format!(
        "{HEAD}<scan:ScannerCapabilities {NS}><pwg:Version>2.63</pwg:Version>\
         <pwg:MakeAndModel>{}</pwg:MakeAndModel><pwg:SerialNumber>{}</pwg:SerialNumber>\
         <scan:UUID>{uuid}</scan:UUID>",
        esc(make_and_model),
        esc(serial)
    );
    if caps.sources.contains(&Source::Flatbed) {
        out.push_str("<scan:Platen>");
        input_caps(&mut out, "PlatenInputCaps", caps);
        out.push_str("</scan:Platen>");
    }
    let simplex = caps.sources.contains(&Source::Adf);
    let duplex = caps.sources.contains(&Source::AdfDuplex);
    if simplex || duplex {
        out.push_str("<scan:Adf>");
        if simplex {
            input_caps(&mut out, "AdfSimplexInputCaps", caps);
        }
        if duplex {
            input_caps(&mut out, "AdfDuplexInputCaps", caps);
        }
        let _ = write!(
            out,
            "<scan:FeederCapacity>{feeder_capacity}</scan:FeederCapacity><scan:AdfOptions>\
             <scan:AdfOption>DetectPaperLoaded</scan:AdfOption>{}</scan:AdfOptions></scan:Adf>",
            if duplex {
                "<scan:AdfOption>Duplex</scan:AdfOption>"
            } else {
                ""
            }
        );
    }
    out.push_str("</scan:ScannerCapabilities>");
    out
}

/// One job as `ScannerStatus` lists it.
pub(crate) struct JobInfo<'a> {
    pub uuid: &'a str,
    pub age_secs: u64,
    pub images_completed: u32,
    /// `Processing`, `Completed`, `Canceled` or `Aborted`.
    pub state: &'static str,
    pub reason: &'static str,
}

/// `ScannerStatus`.
pub(crate) fn status(processing: bool, adf_state: &str, jobs: &[JobInfo<'_>]) -> String {
    let mut out = format!(
        "{HEAD}<scan:ScannerStatus {NS}><pwg:Version>2.63</pwg:Version><pwg:State>{}</pwg:State>\
         <scan:AdfState>{adf_state}</scan:AdfState><scan:Jobs>",
        if processing { "Processing" } else { "Idle" }
    );
    for j in jobs {
        let _ = write!(
            out,
            "<scan:JobInfo><pwg:JobUri>/eSCL/ScanJobs/{u}</pwg:JobUri><pwg:JobUuid>{u}</pwg:JobUuid>\
             <scan:Age>{a}</scan:Age><pwg:ImagesCompleted>{c}</pwg:ImagesCompleted>\
             <pwg:ImagesToTransfer>{t}</pwg:ImagesToTransfer><pwg:JobState>{s}</pwg:JobState>\
             <pwg:JobStateReasons><pwg:JobStateReason>{r}</pwg:JobStateReason></pwg:JobStateReasons>\
             </scan:JobInfo>",
            u = j.uuid,
            a = j.age_secs,
            c = j.images_completed,
            t = u32::from(j.state == "Processing"),
            s = j.state,
            r = j.reason,
        );
    }
    out.push_str("</scan:Jobs></scan:ScannerStatus>");
    out
}

/// The text of the first element whose local name (after any `prefix:`) is `local`.
pub(crate) fn value<'a>(xml: &'a str, local: &str) -> Option<&'a str> {
    let mut rest = xml;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find(['>', ' ', '/', '\t', '\n', '\r'])?;
        let name = &rest[..end];
        let name = name.rsplit(':').next().unwrap_or(name);
        if name == local && rest[end..].starts_with('>') {
            let body = &rest[end + 1..];
            let stop = body.find('<').unwrap_or(body.len());
            return Some(body[..stop].trim());
        }
    }
    None
}

/// A scan region in eSCL units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// What a `ScanSettings` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub x_dpi: Option<u32>,
    pub y_dpi: Option<u32>,
    pub source: Option<String>,
    pub color_mode: Option<String>,
    pub format: Option<String>,
    pub duplex: bool,
    pub region: Option<Region>,
}

/// Reads a `ScanSettings` document.
///
/// # Errors
/// A message when a number is not a number or the region is incomplete.
pub(crate) fn settings(xml: &str) -> Result<Settings, String> {
    let num = |name: &str| -> Result<Option<u32>, String> {
        value(xml, name)
            .map(|v| {
                v.parse::<u32>()
                    .map_err(|_| format!("{name} is not a number: {v:?}"))
            })
            .transpose()
    };
    let region = match (num("Width")?, num("Height")?) {
        (Some(width), Some(height)) => Some(Region {
            x: num("XOffset")?.unwrap_or(0),
            y: num("YOffset")?.unwrap_or(0),
            width,
            height,
        }),
        (None, None) => None,
        _ => return Err("a ScanRegion needs Width and Height".into()),
    };
    if let Some(u) = value(xml, "ContentRegionUnits") {
        if !u.ends_with("ThreeHundredthsOfInches") {
            return Err(format!("unsupported ContentRegionUnits {u:?}"));
        }
    }
    Ok(Settings {
        x_dpi: num("XResolution")?,
        y_dpi: num("YResolution")?,
        source: value(xml, "InputSource").map(str::to_owned),
        color_mode: value(xml, "ColorMode").map(str::to_owned),
        format: value(xml, "DocumentFormatExt")
            .or_else(|| value(xml, "DocumentFormat"))
            .map(str::to_owned),
        duplex: value(xml, "Duplex").is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1"),
        region,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `ScanSettings` as sane-airscan 0.99 sends it.
    const AIRSCAN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<scan:ScanSettings xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03" xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm">
  <pwg:Version>2.0</pwg:Version>
  <pwg:ScanRegions><pwg:ScanRegion>
    <pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>
    <pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset>
    <pwg:Width>2551</pwg:Width><pwg:Height>4204</pwg:Height>
  </pwg:ScanRegion></pwg:ScanRegions>
  <pwg:InputSource>Feeder</pwg:InputSource>
  <scan:ColorMode>Grayscale8</scan:ColorMode>
  <pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat>
  <scan:DocumentFormatExt>image/png</scan:DocumentFormatExt>
  <scan:XResolution>150</scan:XResolution><scan:YResolution>150</scan:YResolution>
  <scan:Duplex>false</scan:Duplex>
</scan:ScanSettings>"#;

    #[test]
    fn reads_airscan_settings() {
        let s = settings(AIRSCAN).unwrap();
        assert_eq!(s.x_dpi, Some(150));
        assert_eq!(s.source.as_deref(), Some("Feeder"));
        assert_eq!(s.color_mode.as_deref(), Some("Grayscale8"));
        assert_eq!(s.format.as_deref(), Some("image/png"));
        assert!(!s.duplex);
        assert_eq!(
            s.region,
            Some(Region {
                x: 0,
                y: 0,
                width: 2551,
                height: 4204
            })
        );
    }

    #[test]
    fn bad_settings_are_errors_not_panics() {
        assert!(settings("<Width>x</Width><Height>1</Height>").is_err());
        assert!(settings("<Width>1</Width>").is_err());
        for s in [
            "",
            "<",
            "<<<>>>",
            "<a:",
            "<Width>",
            "</Width>",
            "<Width>99999999999</Width>",
        ] {
            let _ = settings(s);
        }
        assert_eq!(
            value("<a><b:XResolution>300</b:XResolution></a>", "XResolution"),
            Some("300")
        );
    }

    #[test]
    fn units() {
        assert_eq!(mm_to_units(216.0), 2551);
        assert_eq!(max_units(216.0), 2548);
        assert_eq!(max_units(356.0), 4204);
        assert!((units_to_mm(300) - 25.4).abs() < 1e-9);
    }
}
