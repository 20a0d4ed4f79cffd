//! How printer values are written in a session file (format version 1), and read back:
//! capabilities, status with supplies, print options and job statuses. Fields added after
//! version 1 was first written are optional, so older files still read.

use serde::{Deserialize, Serialize};

use super::supply::SupplyRec;
use super::values::bad;
use crate::error::Result;
use crate::print::raster::RasterType;
use crate::print::{
    DocumentFormat, JobId, JobState, JobStatus, Orientation, PrintColor, PrintOptions,
    PrintQuality, PrintScaling, PrinterCapabilities, PrinterState, PrinterStatus, RasterSupport,
    SheetBack, Sides, StateReason,
};

fn sides(s: &str) -> Result<Sides> {
    Sides::from_keyword(s).ok_or_else(|| bad(format!("sides `{s}`")))
}

fn quality(s: &str) -> Result<PrintQuality> {
    PrintQuality::from_name(s).ok_or_else(|| bad(format!("print quality `{s}`")))
}

fn reason(s: &str) -> Result<StateReason> {
    StateReason::from_keyword(s).ok_or_else(|| bad(format!("state reason `{s}`")))
}

/// [`PrinterCapabilities`] in the file.
#[derive(Serialize, Deserialize)]
pub(crate) struct PrintCapsRec {
    pub formats: Vec<String>,
    pub media_supported: Vec<String>,
    pub media_ready: Vec<String>,
    pub sides: Vec<String>,
    pub color: bool,
    pub max_copies: u32,
    pub resolutions: Vec<(u32, u32)>,
    #[serde(default)]
    pub media_default: Option<String>,
    #[serde(default)]
    pub raster: RasterRec,
    /// Trays, paper kinds, qualities and page-range support: absent in older files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qualities: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub page_ranges: bool,
}

/// [`RasterSupport`] in the file; types as PWG keywords, back sides as IPP keywords.
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct RasterRec {
    pub pwg_types: Vec<String>,
    pub pwg_resolutions: Vec<(u32, u32)>,
    pub pwg_sheet_back: String,
    pub urf_types: Vec<String>,
    pub urf_resolutions: Vec<(u32, u32)>,
    pub urf_sheet_back: String,
}

fn raster_types(v: &[String]) -> Result<Vec<RasterType>> {
    v.iter()
        .map(|k| RasterType::from_keyword(k).ok_or_else(|| bad(format!("raster type `{k}`"))))
        .collect()
}

fn sheet_back(k: &str) -> Result<SheetBack> {
    if k.is_empty() {
        return Ok(SheetBack::Normal);
    }
    SheetBack::from_keyword(k).ok_or_else(|| bad(format!("sheet back `{k}`")))
}

impl RasterRec {
    fn of(r: &RasterSupport) -> Self {
        let kw = |v: &[RasterType]| v.iter().map(|t| t.keyword().to_owned()).collect();
        RasterRec {
            pwg_types: kw(&r.pwg_types),
            pwg_resolutions: r.pwg_resolutions.clone(),
            pwg_sheet_back: r.pwg_sheet_back.keyword().into(),
            urf_types: kw(&r.urf_types),
            urf_resolutions: r.urf_resolutions.clone(),
            urf_sheet_back: r.urf_sheet_back.keyword().into(),
        }
    }

    fn to_support(&self) -> Result<RasterSupport> {
        Ok(RasterSupport {
            pwg_types: raster_types(&self.pwg_types)?,
            pwg_resolutions: self.pwg_resolutions.clone(),
            pwg_sheet_back: sheet_back(&self.pwg_sheet_back)?,
            urf_types: raster_types(&self.urf_types)?,
            urf_resolutions: self.urf_resolutions.clone(),
            urf_sheet_back: sheet_back(&self.urf_sheet_back)?,
        })
    }
}

impl PrintCapsRec {
    pub(crate) fn of(c: &PrinterCapabilities) -> Self {
        PrintCapsRec {
            formats: c.formats.iter().map(|f| f.mime().to_owned()).collect(),
            media_supported: c.media_supported.clone(),
            media_ready: c.media_ready.clone(),
            sides: c.sides.iter().map(|s| s.keyword().to_owned()).collect(),
            color: c.color,
            max_copies: c.max_copies,
            resolutions: c.resolutions.clone(),
            media_default: c.media_default.clone(),
            raster: RasterRec::of(&c.raster),
            media_sources: c.media_sources.clone(),
            media_types: c.media_types.clone(),
            qualities: c.qualities.iter().map(|q| q.name().to_owned()).collect(),
            page_ranges: c.page_ranges,
        }
    }

    pub(crate) fn to_caps(&self) -> Result<PrinterCapabilities> {
        Ok(PrinterCapabilities {
            formats: self
                .formats
                .iter()
                .map(|m| DocumentFormat::from_mime(m))
                .collect(),
            media_supported: self.media_supported.clone(),
            media_ready: self.media_ready.clone(),
            sides: self.sides.iter().map(|s| sides(s)).collect::<Result<_>>()?,
            color: self.color,
            max_copies: self.max_copies,
            resolutions: self.resolutions.clone(),
            media_default: self.media_default.clone(),
            raster: self.raster.to_support()?,
            media_sources: self.media_sources.clone(),
            media_types: self.media_types.clone(),
            qualities: self
                .qualities
                .iter()
                .map(|q| quality(q))
                .collect::<Result<_>>()?,
            page_ranges: self.page_ranges,
        })
    }
}

/// [`PrinterStatus`] in the file; reasons as IPP keywords.
#[derive(Serialize, Deserialize)]
pub(crate) struct PrinterStatusRec {
    pub state: String,
    pub reasons: Vec<String>,
    pub message: Option<String>,
    /// Absent in files written before supplies were recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supplies: Vec<SupplyRec>,
}

impl PrinterStatusRec {
    pub(crate) fn of(s: &PrinterStatus) -> Self {
        PrinterStatusRec {
            state: match s.state {
                PrinterState::Idle => "idle",
                PrinterState::Processing => "processing",
                PrinterState::Stopped => "stopped",
            }
            .into(),
            reasons: s.reasons.iter().map(StateReason::keyword).collect(),
            message: s.message.clone(),
            supplies: s.supplies.iter().map(SupplyRec::of).collect(),
        }
    }

    pub(crate) fn to_status(&self) -> Result<PrinterStatus> {
        let state = match self.state.as_str() {
            "idle" => PrinterState::Idle,
            "processing" => PrinterState::Processing,
            "stopped" => PrinterState::Stopped,
            s => return Err(bad(format!("printer state `{s}`"))),
        };
        let reasons = self
            .reasons
            .iter()
            .map(|r| reason(r))
            .collect::<Result<_>>()?;
        let mut st = PrinterStatus::new(state, reasons);
        st.message = self.message.clone();
        st.supplies = self.supplies.iter().map(SupplyRec::to_supply).collect();
        Ok(st)
    }
}

/// [`PrintOptions`] in the file.
#[derive(Serialize, Deserialize)]
pub(crate) struct OptionsRec {
    pub copies: u32,
    pub sides: String,
    pub media: Option<String>,
    pub color: String,
    pub orientation: Option<String>,
    pub job_name: Option<String>,
    /// `print-scaling` when not `auto` (left out otherwise, as in files made before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<String>,
    /// Tray, paper kind, quality, page ranges (`[first, last]`) and collation, each left out
    /// at its default (as in files made before them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub page_ranges: Vec<(u32, u32)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncollated: Option<bool>,
}

impl OptionsRec {
    pub(crate) fn of(o: &PrintOptions) -> Self {
        OptionsRec {
            copies: o.copies,
            sides: o.sides.keyword().into(),
            media: o.media.clone(),
            color: match o.color {
                PrintColor::Auto => "auto",
                PrintColor::Color => "color",
                PrintColor::Monochrome => "monochrome",
            }
            .into(),
            orientation: o.orientation.map(|o| {
                match o {
                    Orientation::Portrait => "portrait",
                    Orientation::Landscape => "landscape",
                }
                .into()
            }),
            job_name: o.job_name.clone(),
            scaling: (o.scaling != PrintScaling::Auto).then(|| o.scaling.keyword().into()),
            media_source: o.media_source.clone(),
            media_type: o.media_type.clone(),
            quality: o.quality.map(|q| q.name().into()),
            page_ranges: o.page_ranges.iter().map(|r| (r.first, r.last)).collect(),
            uncollated: (!o.collate).then_some(true),
        }
    }
}

pub(crate) fn job_state_name(s: JobState) -> &'static str {
    match s {
        JobState::Pending => "pending",
        JobState::Held => "held",
        JobState::Processing => "processing",
        JobState::Stopped => "stopped",
        JobState::Canceled => "canceled",
        JobState::Aborted => "aborted",
        JobState::Completed => "completed",
    }
}

/// [`JobStatus`] in the file.
#[derive(Serialize, Deserialize)]
pub(crate) struct JobStatusRec {
    pub job: u32,
    pub state: String,
    pub reasons: Vec<String>,
    pub message: Option<String>,
    /// `job-impressions-completed` and `job-name`, when known (absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impressions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `job-printer-state-reasons` (absent in older files and when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub printer_reasons: Vec<String>,
}

impl JobStatusRec {
    pub(crate) fn of(s: &JobStatus) -> Self {
        JobStatusRec {
            job: s.id.0,
            state: job_state_name(s.state).into(),
            reasons: s.reasons.clone(),
            message: s.message.clone(),
            impressions: s.impressions_completed,
            name: s.name.clone(),
            printer_reasons: s.printer_state_reasons.clone(),
        }
    }

    pub(crate) fn to_status(&self) -> Result<JobStatus> {
        let state = match self.state.as_str() {
            "pending" => JobState::Pending,
            "held" => JobState::Held,
            "processing" => JobState::Processing,
            "stopped" => JobState::Stopped,
            "canceled" => JobState::Canceled,
            "aborted" => JobState::Aborted,
            "completed" => JobState::Completed,
            s => return Err(bad(format!("job state `{s}`"))),
        };
        let mut st = JobStatus::new(JobId(self.job), state);
        st.reasons = self.reasons.clone();
        st.message = self.message.clone();
        st.impressions_completed = self.impressions;
        st.name = self.name.clone();
        st.printer_state_reasons = self.printer_reasons.clone();
        Ok(st)
    }
}

/// A job id result: `{"job":N}`.
#[derive(Serialize, Deserialize)]
pub(crate) struct JobRec {
    pub job: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::print::{Supply, SupplyLevel};
    use crate::record::values::{from_value, to_value};

    #[test]
    fn printer_values_round_trip() {
        let caps = PrinterCapabilities::new(vec![DocumentFormat::Pdf, DocumentFormat::Urf])
            .with_sides(vec![Sides::OneSided, Sides::TwoSidedShortEdge])
            .with_media(vec!["iso_a4_210x297mm".into()])
            .with_resolutions(vec![(300, 300)]);
        assert_eq!(PrintCapsRec::of(&caps).to_caps().unwrap(), caps);
        let mut raster = RasterSupport {
            pwg_types: vec![RasterType::Black1, RasterType::Srgb8],
            pwg_resolutions: vec![(300, 300), (600, 600)],
            pwg_sheet_back: SheetBack::ManualTumble,
            ..RasterSupport::default()
        };
        raster.read_urf(&["W8", "RS300", "DM3"]);
        let mut caps = caps.with_raster(raster);
        caps.media_default = Some("iso_a4_210x297mm".into());
        let v = to_value(&PrintCapsRec::of(&caps));
        let rec: PrintCapsRec = from_value(&v, "caps").unwrap();
        assert_eq!(rec.to_caps().unwrap(), caps);
        let mut st = PrinterStatus::new(
            PrinterState::Stopped,
            vec![StateReason::from_keyword("media-empty-error").unwrap()],
        );
        st.message = Some("Load paper".into());
        st.supplies = vec![Supply::new("Black Toner", SupplyLevel::Percent(5)).with_low_level(10)];
        let v = to_value(&PrinterStatusRec::of(&st));
        let rec: PrinterStatusRec = from_value(&v, "status").unwrap();
        assert_eq!(rec.to_status().unwrap(), st);
        // A status written before supplies were recorded reads as one without supplies.
        let old = serde_json::json!({"state": "idle", "reasons": [], "message": null});
        let rec: PrinterStatusRec = from_value(&old, "status").unwrap();
        assert!(rec.to_status().unwrap().supplies.is_empty());
        let mut js = JobStatus::new(JobId(7), JobState::Pending);
        js.reasons = vec!["printer-stopped".into()];
        assert_eq!(JobStatusRec::of(&js).to_status().unwrap(), js);
        js.impressions_completed = Some(3);
        js.name = Some("Antrag".into());
        js.printer_state_reasons = vec!["media-empty-error".into()];
        assert_eq!(JobStatusRec::of(&js).to_status().unwrap(), js);
        caps.media_sources = vec!["tray-1".into()];
        caps.qualities = vec![PrintQuality::High];
        caps.page_ranges = true;
        assert_eq!(PrintCapsRec::of(&caps).to_caps().unwrap(), caps);
    }

    #[test]
    fn bad_words_are_errors() {
        let bad_state = JobStatusRec {
            job: 1,
            state: "exploded".into(),
            reasons: vec![],
            message: None,
            impressions: None,
            name: None,
            printer_reasons: vec![],
        };
        assert_eq!(
            bad_state.to_status().unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }
}
