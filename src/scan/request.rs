//! What to scan: [`ScanRequest`] with its colour mode, paper source and area.

use std::fmt;

use crate::error::{Error, ErrorKind, Result};
#[cfg(doc)]
use crate::scan::Scanner;
use crate::scan::MM_PER_INCH;

/// Colour mode of a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ColorMode {
    /// 1 bit per pixel, black and white (SANE "Lineart").
    Lineart,
    /// Gray, 8 or 16 bits.
    Gray,
    /// RGB, 8 or 16 bits per channel.
    #[default]
    Color,
}

impl fmt::Display for ColorMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColorMode::Lineart => "lineart",
            ColorMode::Gray => "gray",
            ColorMode::Color => "color",
        })
    }
}

impl std::str::FromStr for ColorMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "lineart" | "bw" | "binary" => Ok(ColorMode::Lineart),
            "gray" | "grey" => Ok(ColorMode::Gray),
            "color" | "colour" => Ok(ColorMode::Color),
            _ => Err(
                Error::new(ErrorKind::InvalidInput, "scan", "parse color mode")
                    .with_detail(format!("`{s}`: expected color, gray or lineart")),
            ),
        }
    }
}

/// Where the paper comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Source {
    /// The glass.
    #[default]
    Flatbed,
    /// The automatic document feeder, front sides only.
    Adf,
    /// The feeder, both sides.
    AdfDuplex,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Flatbed => "flatbed",
            Source::Adf => "adf",
            Source::AdfDuplex => "duplex",
        })
    }
}

impl std::str::FromStr for Source {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "flatbed" | "glass" => Ok(Source::Flatbed),
            "adf" | "feeder" => Ok(Source::Adf),
            "duplex" | "adf-duplex" => Ok(Source::AdfDuplex),
            _ => Err(Error::new(ErrorKind::InvalidInput, "scan", "parse source")
                .with_detail(format!("`{s}`: expected flatbed, adf or duplex"))),
        }
    }
}

/// A rectangle on the scan area, in millimetres from the top-left corner.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScanArea {
    /// Left edge.
    pub x_mm: f64,
    /// Top edge.
    pub y_mm: f64,
    /// Width.
    pub width_mm: f64,
    /// Height.
    pub height_mm: f64,
}

impl ScanArea {
    /// ISO A4 portrait, 210 x 297 mm.
    pub const A4: ScanArea = ScanArea {
        x_mm: 0.0,
        y_mm: 0.0,
        width_mm: 210.0,
        height_mm: 297.0,
    };

    /// ISO A5 portrait, 148 x 210 mm.
    pub const A5: ScanArea = ScanArea {
        x_mm: 0.0,
        y_mm: 0.0,
        width_mm: 148.0,
        height_mm: 210.0,
    };

    /// US Letter portrait, 215.9 x 279.4 mm.
    pub const LETTER: ScanArea = ScanArea {
        x_mm: 0.0,
        y_mm: 0.0,
        width_mm: 215.9,
        height_mm: 279.4,
    };

    /// The area of `width_mm` x `height_mm` from the top-left corner, e.g. the whole area of a
    /// source: `ScanArea::whole(caps.max_area_mm)`.
    pub fn whole((width_mm, height_mm): (f64, f64)) -> Self {
        ScanArea {
            x_mm: 0.0,
            y_mm: 0.0,
            width_mm,
            height_mm,
        }
    }

    /// Pixel width and height of this area at `dpi`.
    pub fn pixels(&self, dpi: u32) -> (u32, u32) {
        let px = |mm: f64| ((mm / MM_PER_INCH) * f64::from(dpi)).round().max(1.0) as u32;
        (px(self.width_mm), px(self.height_mm))
    }
}

/// What to scan.
///
/// ```
/// use buergerkoffer::scan::{ColorMode, ScanRequest, Source};
/// let req = ScanRequest::new()
///     .resolution(300)
///     .mode(ColorMode::Gray)
///     .source(Source::Adf)
///     .option("brightness", "10");
/// assert_eq!(req.resolution, 300);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ScanRequest {
    /// Resolution in dots per inch (both axes).
    pub resolution: u32,
    /// Colour mode.
    pub mode: ColorMode,
    /// Bits per sample: 1 (lineart), 8 or 16; `None` lets the device choose (8 for gray and
    /// color).
    pub depth: Option<u8>,
    /// Paper source.
    pub source: Source,
    /// Area to scan; `None` is the whole area of the source.
    pub area: Option<ScanArea>,
    /// Stop after this many pages (a flatbed always gives one page per scan).
    pub max_pages: Option<u32>,
    /// Backend-specific options passed through by name (e.g. SANE `brightness=10`).
    pub options: Vec<(String, String)>,
}

impl Default for ScanRequest {
    fn default() -> Self {
        ScanRequest {
            resolution: 300,
            mode: ColorMode::Color,
            depth: None,
            source: Source::Flatbed,
            area: None,
            max_pages: None,
            options: Vec::new(),
        }
    }
}

impl ScanRequest {
    /// 300 dpi colour from the flatbed, whole area.
    pub fn new() -> Self {
        ScanRequest::default()
    }

    /// Sets the resolution in dpi.
    #[must_use]
    pub fn resolution(mut self, dpi: u32) -> Self {
        self.resolution = dpi;
        self
    }

    /// Sets the colour mode.
    #[must_use]
    pub fn mode(mut self, mode: ColorMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the bit depth.
    #[must_use]
    pub fn depth(mut self, depth: u8) -> Self {
        self.depth = Some(depth);
        self
    }

    /// Sets the paper source.
    #[must_use]
    pub fn source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// Sets the scan area.
    #[must_use]
    pub fn area(mut self, area: ScanArea) -> Self {
        self.area = Some(area);
        self
    }

    /// Limits the number of pages.
    #[must_use]
    pub fn max_pages(mut self, n: u32) -> Self {
        self.max_pages = Some(n);
        self
    }

    /// Adds a backend-specific option (a SANE option name and its value as text, e.g.
    /// `("brightness", "10")`). It applies to this job only: the backend puts the device's
    /// previous value back before the next job.
    #[must_use]
    pub fn option(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((name.into(), value.into()));
        self
    }

    /// The effective bit depth: the requested one, or 1 for lineart and 8 otherwise.
    pub fn effective_depth(&self) -> u8 {
        self.depth.unwrap_or(match self.mode {
            ColorMode::Lineart => 1,
            _ => 8,
        })
    }

    /// Checks the request for values no device can satisfy (0 dpi, depth not 1/8/16,
    /// lineart with depth other than 1, area with non-positive size).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming the bad field.
    pub fn validate(&self, device: &str) -> Result<()> {
        let bad = |what: String| {
            Error::new(
                ErrorKind::InvalidInput,
                device.to_owned(),
                "check scan request",
            )
            .with_detail(what)
        };
        if self.resolution == 0 || self.resolution > 19_200 {
            return Err(bad(format!(
                "resolution {} dpi outside 1..=19200",
                self.resolution
            )));
        }
        match (self.mode, self.effective_depth()) {
            (ColorMode::Lineart, 1) | (ColorMode::Gray | ColorMode::Color, 8 | 16) => {}
            (m, d) => return Err(bad(format!("depth {d} is not valid for {m}"))),
        }
        if let Some(a) = self.area {
            let ok = |v: f64| v.is_finite() && v >= 0.0;
            if !(ok(a.x_mm) && ok(a.y_mm) && ok(a.width_mm) && ok(a.height_mm))
                || a.width_mm <= 0.0
                || a.height_mm <= 0.0
            {
                return Err(bad(format!("scan area {a:?} is empty or negative")));
            }
        }
        Ok(())
    }
}
