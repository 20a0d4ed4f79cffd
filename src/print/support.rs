//! What raster a printer takes: [`RasterSupport`] (PWG raster and Apple raster types,
//! resolutions and how each wants duplex back sides), [`SheetBack`] and [`PrintScaling`].
//!
//! The IPP backend fills these from `pwg-raster-document-type-supported`,
//! `pwg-raster-document-resolution-supported`, `pwg-raster-document-sheet-back` and
//! `urf-supported`; [`convert`](crate::print::convert) chooses the raster from them.

use crate::print::raster::RasterType;

/// How the printer wants the back side of a duplex sheet
/// (`pwg-raster-document-sheet-back`, or the `DM` keyword of `urf-supported`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SheetBack {
    /// `normal` (`DM1`): back sides as they are.
    #[default]
    Normal,
    /// `flipped` (`DM2`): back sides upside down for long-edge duplex, mirrored for short-edge.
    Flipped,
    /// `rotated` (`DM3`): back sides turned 180 degrees for long-edge duplex.
    Rotated,
    /// `manual-tumble` (`DM4`): back sides turned 180 degrees for short-edge duplex.
    ManualTumble,
}

impl SheetBack {
    /// From the IPP keyword.
    pub fn from_keyword(k: &str) -> Option<Self> {
        Some(match k {
            "normal" => SheetBack::Normal,
            "flipped" => SheetBack::Flipped,
            "rotated" => SheetBack::Rotated,
            "manual-tumble" => SheetBack::ManualTumble,
            _ => return None,
        })
    }

    /// The IPP keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            SheetBack::Normal => "normal",
            SheetBack::Flipped => "flipped",
            SheetBack::Rotated => "rotated",
            SheetBack::ManualTumble => "manual-tumble",
        }
    }

    /// How a back side is transformed for duplex `tumble` (short-edge) or not: (mirror the
    /// rows left to right, turn the page upside down). CUPS' `cupsRasterInitPWGHeader` table
    /// (CrossFeedTransform, FeedTransform of -1).
    pub fn transform(self, tumble: bool) -> (bool, bool) {
        match (self, tumble) {
            (SheetBack::Normal, _) => (false, false),
            (SheetBack::Flipped, true) => (true, false),
            (SheetBack::Flipped, false) => (false, true),
            (SheetBack::ManualTumble, true) | (SheetBack::Rotated, false) => (true, true),
            (SheetBack::ManualTumble, false) | (SheetBack::Rotated, true) => (false, false),
        }
    }
}

/// How a page is fitted on the sheet (`print-scaling`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PrintScaling {
    /// `auto`: as `auto-fit` (this crate prints no borderless sheets).
    #[default]
    Auto,
    /// `auto-fit`: shrunk to fit when larger than the sheet, else at its own size.
    AutoFit,
    /// `fit`: scaled to fit the sheet, aspect kept, centred.
    Fit,
    /// `fill`: scaled to fill the sheet, aspect kept, the overflow cut off.
    Fill,
    /// `none`: at its own size, centred, cut off where larger than the sheet.
    None,
}

impl PrintScaling {
    /// The IPP keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            PrintScaling::Auto => "auto",
            PrintScaling::AutoFit => "auto-fit",
            PrintScaling::Fit => "fit",
            PrintScaling::Fill => "fill",
            PrintScaling::None => "none",
        }
    }

    /// From the IPP keyword.
    pub fn from_keyword(k: &str) -> Option<Self> {
        Some(match k {
            "auto" => PrintScaling::Auto,
            "auto-fit" => PrintScaling::AutoFit,
            "fit" => PrintScaling::Fit,
            "fill" => PrintScaling::Fill,
            "none" => PrintScaling::None,
            _ => return None,
        })
    }
}

/// The raster formats a printer takes beyond its document formats: types, resolutions and
/// back-side handling for PWG raster and for Apple raster (URF).
///
/// Empty lists mean "not listed": any raster type and resolution is then assumed (an IPP
/// Everywhere printer lists them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RasterSupport {
    /// `pwg-raster-document-type-supported` (the types this crate writes).
    pub pwg_types: Vec<RasterType>,
    /// `pwg-raster-document-resolution-supported`, dpi.
    pub pwg_resolutions: Vec<(u32, u32)>,
    /// `pwg-raster-document-sheet-back`.
    pub pwg_sheet_back: SheetBack,
    /// Types from `urf-supported` (`W8` sGray, `SRGB24` sRGB).
    pub urf_types: Vec<RasterType>,
    /// Resolutions from `urf-supported` (`RS300-600`).
    pub urf_resolutions: Vec<(u32, u32)>,
    /// Back sides from `urf-supported` (`DM1`..`DM4`).
    pub urf_sheet_back: SheetBack,
}

impl RasterSupport {
    /// Reads the `urf-supported` keywords into the `urf_*` fields.
    ///
    /// ```
    /// use buergerkoffer::print::{RasterSupport, SheetBack};
    /// use buergerkoffer::print::raster::RasterType;
    /// let mut r = RasterSupport::default();
    /// r.read_urf(&["V1.4", "CP1", "W8", "SRGB24", "RS300-600", "DM3"]);
    /// assert_eq!(r.urf_types, vec![RasterType::Sgray8, RasterType::Srgb8]);
    /// assert_eq!(r.urf_resolutions, vec![(300, 300), (600, 600)]);
    /// assert_eq!(r.urf_sheet_back, SheetBack::Rotated);
    /// ```
    pub fn read_urf<S: AsRef<str>>(&mut self, keywords: &[S]) {
        for k in keywords {
            let k = k.as_ref();
            match k {
                "W8" => self.urf_types.push(RasterType::Sgray8),
                "SRGB24" => self.urf_types.push(RasterType::Srgb8),
                "DM1" => self.urf_sheet_back = SheetBack::Normal,
                "DM2" => self.urf_sheet_back = SheetBack::Flipped,
                "DM3" => self.urf_sheet_back = SheetBack::Rotated,
                "DM4" => self.urf_sheet_back = SheetBack::ManualTumble,
                _ => {
                    if let Some(list) = k.strip_prefix("RS") {
                        // At most 16 resolutions, each 1..=9600 dpi.
                        for r in list.split('-').take(16) {
                            if let Ok(d) = r.parse::<u32>() {
                                if (1..=9600).contains(&d) {
                                    self.urf_resolutions.push((d, d));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_side_table() {
        assert_eq!(SheetBack::Normal.transform(true), (false, false));
        assert_eq!(SheetBack::Flipped.transform(false), (false, true));
        assert_eq!(SheetBack::Flipped.transform(true), (true, false));
        assert_eq!(SheetBack::Rotated.transform(false), (true, true));
        assert_eq!(SheetBack::Rotated.transform(true), (false, false));
        assert_eq!(SheetBack::ManualTumble.transform(true), (true, true));
        for k in ["normal", "flipped", "rotated", "manual-tumble"] {
            assert_eq!(SheetBack::from_keyword(k).unwrap().keyword(), k);
        }
    }

    #[test]
    fn urf_keywords() {
        let mut r = RasterSupport::default();
        r.read_urf(&["RS0-300-x-99999", "W8", "CP255", "DM2"]);
        assert_eq!(r.urf_resolutions, vec![(300, 300)]);
        assert_eq!(r.urf_types, vec![RasterType::Sgray8]);
        assert_eq!(r.urf_sheet_back, SheetBack::Flipped);
    }
}
