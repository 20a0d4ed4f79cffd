//! How to print a document: [`PrintOptions`] (copies and collation, sides, media with tray and
//! type, colour, quality, orientation, page ranges, scaling) and the small value types they use.

use std::fmt;

use crate::error::{Error, ErrorKind, Result};
use crate::print::PrintScaling;

/// One-sided or two-sided printing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Sides {
    /// Simplex.
    #[default]
    OneSided,
    /// Duplex, flipped on the long edge (portrait books).
    TwoSidedLongEdge,
    /// Duplex, flipped on the short edge.
    TwoSidedShortEdge,
}

impl Sides {
    /// The IPP keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            Sides::OneSided => "one-sided",
            Sides::TwoSidedLongEdge => "two-sided-long-edge",
            Sides::TwoSidedShortEdge => "two-sided-short-edge",
        }
    }

    /// From an IPP keyword.
    pub fn from_keyword(k: &str) -> Option<Self> {
        match k {
            "one-sided" => Some(Sides::OneSided),
            "two-sided-long-edge" => Some(Sides::TwoSidedLongEdge),
            "two-sided-short-edge" => Some(Sides::TwoSidedShortEdge),
            _ => None,
        }
    }
}

/// Colour or monochrome output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PrintColor {
    /// The printer's default.
    #[default]
    Auto,
    /// Colour.
    Color,
    /// Monochrome.
    Monochrome,
}

/// Page orientation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Orientation {
    /// Portrait.
    Portrait,
    /// Landscape.
    Landscape,
}

/// How to print a document.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrintOptions {
    /// Number of copies (1 or more).
    pub copies: u32,
    /// Simplex or duplex.
    pub sides: Sides,
    /// Media by PWG self-describing name, e.g. `iso_a4_210x297mm`.
    pub media: Option<String>,
    /// Colour mode.
    pub color: PrintColor,
    /// Orientation, if not the document's own.
    pub orientation: Option<Orientation>,
    /// Job name shown in the printer's queue.
    pub job_name: Option<String>,
    /// How pages are fitted on the sheet when this crate renders them (`print-scaling`).
    pub scaling: PrintScaling,
    /// The tray to print from (`media-col`'s `media-source`, e.g. `tray-1`, `main`,
    /// `manual`); `None` is the printer's choice.
    pub media_source: Option<String>,
    /// The kind of paper (`media-col`'s `media-type`, e.g. `stationery`, `labels`).
    pub media_type: Option<String>,
    /// Print quality (`print-quality`); `None` is the printer's default.
    pub quality: Option<PrintQuality>,
    /// The pages to print (`page-ranges`), in ascending order; empty prints all.
    pub page_ranges: Vec<PageRange>,
    /// With more than one copy: whole copies one after the other (`true`, the default), or
    /// each page `copies` times (`multiple-document-handling`).
    pub collate: bool,
}

impl Default for PrintOptions {
    fn default() -> Self {
        PrintOptions {
            copies: 1,
            sides: Sides::OneSided,
            media: None,
            color: PrintColor::Auto,
            orientation: None,
            job_name: None,
            scaling: PrintScaling::Auto,
            media_source: None,
            media_type: None,
            quality: None,
            page_ranges: Vec::new(),
            collate: true,
        }
    }
}

impl PrintOptions {
    /// One copy, one-sided, printer defaults otherwise.
    pub fn new() -> Self {
        PrintOptions::default()
    }

    /// Sets the number of copies.
    #[must_use]
    pub fn copies(mut self, n: u32) -> Self {
        self.copies = n;
        self
    }

    /// Sets simplex/duplex.
    #[must_use]
    pub fn sides(mut self, sides: Sides) -> Self {
        self.sides = sides;
        self
    }

    /// Sets the media (PWG name).
    #[must_use]
    pub fn media(mut self, media: impl Into<String>) -> Self {
        self.media = Some(media.into());
        self
    }

    /// Sets colour or monochrome.
    #[must_use]
    pub fn color(mut self, color: PrintColor) -> Self {
        self.color = color;
        self
    }

    /// Sets the orientation.
    #[must_use]
    pub fn orientation(mut self, o: Orientation) -> Self {
        self.orientation = Some(o);
        self
    }

    /// Sets how pages are fitted on the sheet.
    #[must_use]
    pub fn scaling(mut self, scaling: PrintScaling) -> Self {
        self.scaling = scaling;
        self
    }

    /// Sets the job name.
    #[must_use]
    pub fn job_name(mut self, name: impl Into<String>) -> Self {
        self.job_name = Some(name.into());
        self
    }

    /// Sets the tray (`media-source` keyword).
    #[must_use]
    pub fn media_source(mut self, source: impl Into<String>) -> Self {
        self.media_source = Some(source.into());
        self
    }

    /// Sets the kind of paper (`media-type` keyword).
    #[must_use]
    pub fn media_type(mut self, kind: impl Into<String>) -> Self {
        self.media_type = Some(kind.into());
        self
    }

    /// Sets the print quality.
    #[must_use]
    pub fn quality(mut self, quality: PrintQuality) -> Self {
        self.quality = Some(quality);
        self
    }

    /// Sets the pages to print.
    #[must_use]
    pub fn page_ranges(mut self, ranges: Vec<PageRange>) -> Self {
        self.page_ranges = ranges;
        self
    }

    /// Sets whether copies are collated.
    #[must_use]
    pub fn collate(mut self, collate: bool) -> Self {
        self.collate = collate;
        self
    }

    /// Whether page `n` (1-based) is printed.
    pub fn prints_page(&self, n: u32) -> bool {
        PageRange::chosen(&self.page_ranges, n)
    }

    /// Checks what does not depend on the printer: at least one copy, page ranges that start
    /// at 1 or later, end at or after their start, and ascend without overlap.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming the first bad value.
    pub fn validate(&self, device: &str) -> Result<()> {
        let bad =
            |d: String| Err(Error::new(ErrorKind::InvalidInput, device, "print").with_detail(d));
        if self.copies == 0 {
            return bad("copies must be 1 or more".into());
        }
        let mut after = 0u32;
        for r in &self.page_ranges {
            if r.first == 0 || r.last < r.first || r.first <= after {
                return bad(format!(
                    "page range {r} is not valid here: ranges start at 1, end at or after their start, and ascend without overlap"
                ));
            }
            after = r.last;
        }
        Ok(())
    }
}

/// `print-quality`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrintQuality {
    /// Draft (IPP enum 3).
    Draft,
    /// Normal (4).
    Normal,
    /// High (5).
    High,
}

impl PrintQuality {
    /// The IPP enum value.
    pub fn ipp(self) -> i32 {
        match self {
            PrintQuality::Draft => 3,
            PrintQuality::Normal => 4,
            PrintQuality::High => 5,
        }
    }

    /// From the IPP enum value.
    pub fn from_ipp(v: i32) -> Option<Self> {
        match v {
            3 => Some(PrintQuality::Draft),
            4 => Some(PrintQuality::Normal),
            5 => Some(PrintQuality::High),
            _ => None,
        }
    }

    /// The lower-case word (`draft`, `normal`, `high`).
    pub fn name(self) -> &'static str {
        match self {
            PrintQuality::Draft => "draft",
            PrintQuality::Normal => "normal",
            PrintQuality::High => "high",
        }
    }

    /// From its word.
    pub fn from_name(s: &str) -> Option<Self> {
        [
            PrintQuality::Draft,
            PrintQuality::Normal,
            PrintQuality::High,
        ]
        .into_iter()
        .find(|q| q.name() == s)
    }
}

/// Pages `first..=last` of a document, counted from 1.
///
/// ```
/// use buergerkoffer::print::PageRange;
/// let v = PageRange::parse_list("1-3,5").unwrap();
/// assert_eq!(v, vec![PageRange::new(1, 3), PageRange::new(5, 5)]);
/// assert!(PageRange::parse_list("3-1").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageRange {
    /// First page (1-based).
    pub first: u32,
    /// Last page, inclusive.
    pub last: u32,
}

impl PageRange {
    /// Pages `first..=last`.
    pub fn new(first: u32, last: u32) -> Self {
        PageRange { first, last }
    }

    /// Whether page `n` is in the range.
    pub fn contains(&self, n: u32) -> bool {
        (self.first..=self.last).contains(&n)
    }

    /// Whether `ranges` choose page `n` (1-based); no ranges choose every page.
    pub fn chosen(ranges: &[PageRange], n: u32) -> bool {
        ranges.is_empty() || ranges.iter().any(|r| r.contains(n))
    }

    /// Parses `1-3,5,7-8` (at most 100 ranges), checked as [`PrintOptions::validate`] does.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming the part that is not a page or range.
    pub fn parse_list(s: &str) -> Result<Vec<PageRange>> {
        let bad =
            |d: String| Error::new(ErrorKind::InvalidInput, "page-ranges", "parse").with_detail(d);
        let mut v = Vec::new();
        for part in s.split(',').map(str::trim) {
            if v.len() == 100 {
                return Err(bad("more than 100 page ranges".into()));
            }
            let num = |t: &str| {
                t.trim()
                    .parse::<u32>()
                    .map_err(|_| bad(format!("`{part}` is not a page or a range like 2-4")))
            };
            let r = match part.split_once('-') {
                Some((a, b)) => PageRange::new(num(a)?, num(b)?),
                None => {
                    let n = num(part)?;
                    PageRange::new(n, n)
                }
            };
            v.push(r);
        }
        PrintOptions::new()
            .page_ranges(v.clone())
            .validate("page-ranges")?;
        Ok(v)
    }
}

impl fmt::Display for PageRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}
