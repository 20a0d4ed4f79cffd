//! How each device value is written in a session file (format version 1), and read back:
//! card reader values, scan requests, capabilities and page descriptions (printer values are
//! in `print_values`).
//!
//! Every enum is written as the lower-case word the crate already uses for it (`gray`,
//! `adf`, `two-sided-long-edge`, `media-empty-error`, ...). Reading is strict: an unknown word
//! is a [`ErrorKind::Protocol`] error naming the field, never a panic.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::card::{
    Atr, Disposition, Protocol, ReaderEvent, ReaderFeatures, ReaderStatus, ShareMode,
};
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{
    ColorMode, PixelFormat, Resolutions, ScanArea, ScanCapabilities, ScanRequest, Source,
};

/// A value from the file that does not say what it should.
pub(crate) fn bad(what: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, "session", "read recorded value").with_detail(what)
}

/// Decodes a recorded `ok` value into `T`.
pub(crate) fn from_value<T: for<'de> Deserialize<'de>>(v: &Value, what: &str) -> Result<T> {
    T::deserialize(v).map_err(|e| bad(format!("{what}: {e}")))
}

/// Encodes a value for the file. Our records always serialize; a failure is a bug shown as
/// `null`.
pub(crate) fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

// ---- card -------------------------------------------------------------------------------

pub(crate) fn share_mode(m: ShareMode) -> &'static str {
    match m {
        ShareMode::Shared => "shared",
        ShareMode::Exclusive => "exclusive",
        ShareMode::Direct => "direct",
    }
}

pub(crate) fn disposition(d: Disposition) -> &'static str {
    match d {
        Disposition::Leave => "leave",
        Disposition::Reset => "reset",
        Disposition::Unpower => "unpower",
        Disposition::Eject => "eject",
    }
}

pub(crate) fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::T0 => "T0",
        Protocol::T1 => "T1",
        Protocol::Raw => "raw",
    }
}

pub(crate) fn protocol(s: &str) -> Result<Protocol> {
    match s {
        "T0" => Ok(Protocol::T0),
        "T1" => Ok(Protocol::T1),
        "raw" => Ok(Protocol::Raw),
        _ => Err(bad(format!("protocol `{s}`"))),
    }
}

pub(crate) fn atr(s: &str) -> Result<Atr> {
    s.parse::<Atr>().map_err(|e| bad(format!("ATR `{s}`: {e}")))
}

/// [`ReaderStatus`] in the file.
#[derive(Serialize, Deserialize)]
pub(crate) struct StatusRec {
    pub atr: Option<String>,
    #[serde(default)]
    pub exclusive_elsewhere: bool,
}

impl StatusRec {
    pub(crate) fn of(s: &ReaderStatus) -> Self {
        StatusRec {
            atr: s.atr.as_ref().map(|a| a.to_string()),
            exclusive_elsewhere: s.exclusive_elsewhere,
        }
    }

    pub(crate) fn to_status(&self) -> Result<ReaderStatus> {
        let mut st = ReaderStatus::new(self.atr.as_deref().map(atr).transpose()?);
        st.exclusive_elsewhere = self.exclusive_elsewhere;
        Ok(st)
    }
}

/// [`ReaderFeatures`] in the file: the (tag, control code) list.
#[derive(Serialize, Deserialize)]
pub(crate) struct FeaturesRec {
    pub all: Vec<(u8, u32)>,
}

impl FeaturesRec {
    pub(crate) fn to_features(&self) -> ReaderFeatures {
        let mut f = ReaderFeatures::default();
        for &(tag, code) in &self.all {
            match tag {
                ReaderFeatures::TAG_VERIFY_PIN_DIRECT => f.verify_pin_direct = Some(code),
                ReaderFeatures::TAG_MODIFY_PIN_DIRECT => f.modify_pin_direct = Some(code),
                ReaderFeatures::TAG_EXECUTE_PACE => f.execute_pace = Some(code),
                _ => {}
            }
        }
        f.all = self.all.clone();
        f
    }
}

/// The result of a connect: the connection's number and the card's description.
#[derive(Serialize, Deserialize)]
pub(crate) struct ConnectRec {
    pub conn: u32,
    pub reader: String,
    pub atr: String,
    pub protocol: String,
}

/// A [`ReaderEvent`] in the file: `{"inserted":"3B .."}`, `"removed"`, `"reader_removed"`,
/// `{"lagged":N}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EventRec {
    Inserted(String),
    Removed,
    ReaderRemoved,
    Lagged(u64),
}

impl EventRec {
    pub(crate) fn of(e: &ReaderEvent) -> Self {
        match e {
            ReaderEvent::CardInserted(a) => EventRec::Inserted(a.to_string()),
            ReaderEvent::CardRemoved => EventRec::Removed,
            ReaderEvent::ReaderRemoved => EventRec::ReaderRemoved,
            ReaderEvent::Lagged { missed } => EventRec::Lagged(*missed),
        }
    }

    pub(crate) fn to_event(&self) -> Result<ReaderEvent> {
        Ok(match self {
            EventRec::Inserted(a) => ReaderEvent::CardInserted(atr(a)?),
            EventRec::Removed => ReaderEvent::CardRemoved,
            EventRec::ReaderRemoved => ReaderEvent::ReaderRemoved,
            EventRec::Lagged(n) => ReaderEvent::Lagged { missed: *n },
        })
    }
}

// ---- scanner ----------------------------------------------------------------------------

/// A [`ScanRequest`] in the file; the area is `[x, y, width, height]` in mm.
#[derive(Serialize, Deserialize)]
pub(crate) struct ScanRequestRec {
    pub resolution: u32,
    pub mode: String,
    pub depth: Option<u8>,
    pub source: String,
    pub area: Option<[f64; 4]>,
    pub max_pages: Option<u32>,
    pub options: Vec<(String, String)>,
}

impl ScanRequestRec {
    pub(crate) fn of(r: &ScanRequest) -> Self {
        ScanRequestRec {
            resolution: r.resolution,
            mode: r.mode.to_string(),
            depth: r.depth,
            source: r.source.to_string(),
            area: r.area.map(|a| [a.x_mm, a.y_mm, a.width_mm, a.height_mm]),
            max_pages: r.max_pages,
            options: r.options.clone(),
        }
    }

    pub(crate) fn to_request(&self) -> Result<ScanRequest> {
        let mut r = ScanRequest::new()
            .resolution(self.resolution)
            .mode(
                self.mode
                    .parse::<ColorMode>()
                    .map_err(|e| bad(e.to_string()))?,
            )
            .source(
                self.source
                    .parse::<Source>()
                    .map_err(|e| bad(e.to_string()))?,
            );
        r.depth = self.depth;
        r.area = self.area.map(|[x, y, w, h]| ScanArea {
            x_mm: x,
            y_mm: y,
            width_mm: w,
            height_mm: h,
        });
        r.max_pages = self.max_pages;
        r.options = self.options.clone();
        Ok(r)
    }
}

/// [`Resolutions`] in the file: `{"list":[..]}` or `{"range":{"min":..,"max":..,"step":..}}`.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ResolutionsRec {
    List(Vec<u32>),
    Range { min: u32, max: u32, step: u32 },
}

/// [`ScanCapabilities`] in the file.
#[derive(Serialize, Deserialize)]
pub(crate) struct ScanCapsRec {
    pub resolutions: ResolutionsRec,
    pub modes: Vec<String>,
    pub depths: Vec<u8>,
    pub sources: Vec<String>,
    pub max_area_mm: (f64, f64),
}

impl ScanCapsRec {
    pub(crate) fn of(c: &ScanCapabilities) -> Self {
        ScanCapsRec {
            resolutions: match &c.resolutions {
                Resolutions::List(v) => ResolutionsRec::List(v.clone()),
                Resolutions::Range { min, max, step } => ResolutionsRec::Range {
                    min: *min,
                    max: *max,
                    step: *step,
                },
            },
            modes: c.modes.iter().map(ToString::to_string).collect(),
            depths: c.depths.clone(),
            sources: c.sources.iter().map(ToString::to_string).collect(),
            max_area_mm: c.max_area_mm,
        }
    }

    pub(crate) fn to_caps(&self) -> Result<ScanCapabilities> {
        let resolutions = match &self.resolutions {
            ResolutionsRec::List(v) => Resolutions::List(v.clone()),
            ResolutionsRec::Range { min, max, step } => Resolutions::Range {
                min: *min,
                max: *max,
                step: *step,
            },
        };
        let modes = self
            .modes
            .iter()
            .map(|m| m.parse::<ColorMode>().map_err(|e| bad(e.to_string())))
            .collect::<Result<_>>()?;
        let sources = self
            .sources
            .iter()
            .map(|s| s.parse::<Source>().map_err(|e| bad(e.to_string())))
            .collect::<Result<_>>()?;
        Ok(ScanCapabilities::new(
            resolutions,
            modes,
            self.depths.clone(),
            sources,
            self.max_area_mm,
        ))
    }
}

pub(crate) fn pixel_format_name(f: PixelFormat) -> &'static str {
    match f {
        PixelFormat::Bw1 => "bw1",
        PixelFormat::Gray8 => "gray8",
        PixelFormat::Gray16 => "gray16",
        PixelFormat::Rgb8 => "rgb8",
        PixelFormat::Rgb16 => "rgb16",
    }
}

pub(crate) fn pixel_format(s: &str) -> Result<PixelFormat> {
    Ok(match s {
        "bw1" => PixelFormat::Bw1,
        "gray8" => PixelFormat::Gray8,
        "gray16" => PixelFormat::Gray16,
        "rgb8" => PixelFormat::Rgb8,
        "rgb16" => PixelFormat::Rgb16,
        _ => return Err(bad(format!("pixel format `{s}`"))),
    })
}

/// A delivered page in the file: its description and the file beside the session holding
/// its pixels (PNM) or its JPEG.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PageRec {
    pub index: u32,
    pub width: u32,
    pub height: u32,
    pub dpi: (u32, u32),
    /// `bw1`, `gray8`, `gray16`, `rgb8`, `rgb16` (a PNM file) or `jpeg`.
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u8>,
    pub file: String,
    pub bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_requests_and_capabilities_round_trip() {
        let req = ScanRequest::new()
            .resolution(150)
            .mode(ColorMode::Lineart)
            .source(Source::AdfDuplex)
            .area(ScanArea::A5)
            .max_pages(4)
            .option("brightness", "10");
        let back = ScanRequestRec::of(&req).to_request().unwrap();
        assert_eq!(back, req);
        let caps = ScanCapabilities::new(
            Resolutions::Range {
                min: 50,
                max: 600,
                step: 25,
            },
            vec![ColorMode::Gray, ColorMode::Color],
            vec![8, 16],
            vec![Source::Flatbed, Source::Adf],
            (215.9, 355.6),
        );
        let v = to_value(&ScanCapsRec::of(&caps));
        let rec: ScanCapsRec = from_value(&v, "caps").unwrap();
        assert_eq!(rec.to_caps().unwrap(), caps);
    }

    #[test]
    fn reader_values_round_trip_and_bad_words_are_errors() {
        let a: Atr = "3B 8A 80 01".parse().unwrap();
        for ev in [
            ReaderEvent::CardInserted(a.clone()),
            ReaderEvent::CardRemoved,
            ReaderEvent::ReaderRemoved,
            ReaderEvent::Lagged { missed: 9 },
        ] {
            let v = to_value(&EventRec::of(&ev));
            let rec: EventRec = from_value(&v, "event").unwrap();
            assert_eq!(rec.to_event().unwrap(), ev);
        }
        assert_eq!(to_value(&EventRec::Removed), Value::from("removed"));
        let f = FeaturesRec {
            all: vec![(0x06, 1), (0x20, 2), (0x12, 3)],
        }
        .to_features();
        assert!(f.has_pin_pad() && f.has_pace());
        assert_eq!(protocol("T9").unwrap_err().kind(), ErrorKind::Protocol);
        assert_eq!(atr("ZZ").unwrap_err().kind(), ErrorKind::Protocol);
        assert_eq!(
            pixel_format("cmyk").unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }
}
