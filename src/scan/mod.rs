//! Document scanners: the [`Scanner`] trait, [`ScanRequest`], [`Page`] and [`PageStream`].
//!
//! This module holds only the trait and value types. Backends: `sane` (feature `sane`), and
//! the always-present mocks in [`crate::mock`].

pub mod jpeg;
pub mod pnm;
#[cfg(feature = "sane")]
pub mod sane;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures_core::Stream;

use crate::device::DeviceInfo;
use crate::error::{Error, ErrorKind, Result};

/// Millimetres per inch, for page-size arithmetic.
pub const MM_PER_INCH: f64 = 25.4;

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

    /// Adds a backend-specific option.
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

/// Layout of raw page pixels. Rows are packed without padding beyond the last byte of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// 1 bit per pixel, most significant bit first, **1 = black** (as SANE lineart);
    /// each row padded to a whole byte.
    Bw1,
    /// 8-bit gray, 0 = black.
    Gray8,
    /// 16-bit gray, big-endian samples, 0 = black.
    Gray16,
    /// 8-bit RGB, interleaved.
    Rgb8,
    /// 16-bit RGB, interleaved, big-endian samples.
    Rgb16,
}

impl PixelFormat {
    /// Colour channels per pixel.
    pub fn channels(self) -> u32 {
        match self {
            PixelFormat::Bw1 | PixelFormat::Gray8 | PixelFormat::Gray16 => 1,
            PixelFormat::Rgb8 | PixelFormat::Rgb16 => 3,
        }
    }

    /// Bits per sample.
    pub fn bits_per_sample(self) -> u32 {
        match self {
            PixelFormat::Bw1 => 1,
            PixelFormat::Gray8 | PixelFormat::Rgb8 => 8,
            PixelFormat::Gray16 | PixelFormat::Rgb16 => 16,
        }
    }

    /// Bytes in one row of `width` pixels.
    pub fn row_bytes(self, width: u32) -> usize {
        let bits = u64::from(width) * u64::from(self.channels() * self.bits_per_sample());
        bits.div_ceil(8) as usize
    }
}

/// The content of a [`Page`].
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageData {
    /// Raw pixels, `height` rows of [`PixelFormat::row_bytes`] each.
    Raw {
        /// Pixel layout.
        format: PixelFormat,
        /// The pixels.
        pixels: Bytes,
    },
    /// An already-encoded baseline or progressive JPEG (as network scanners send it),
    /// `channels` 1 (gray) or 3 (colour). Passed through to PDF without re-encoding.
    Jpeg {
        /// Colour channels in the JPEG: 1 or 3.
        channels: u8,
        /// The JPEG file.
        data: Bytes,
    },
}

impl fmt::Debug for PageData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageData::Raw { format, pixels } => f
                .debug_struct("Raw")
                .field("format", format)
                .field("bytes", &pixels.len())
                .finish(),
            PageData::Jpeg { channels, data } => f
                .debug_struct("Jpeg")
                .field("channels", channels)
                .field("bytes", &data.len())
                .finish(),
        }
    }
}

/// One scanned page.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// Position in the job, starting at 0.
    pub index: u32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Horizontal and vertical resolution in dpi.
    pub dpi: (u32, u32),
    /// The pixels.
    pub data: PageData,
}

impl Page {
    /// A raw page, checking that `pixels` holds exactly `height` rows.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when the size does not match, or a dimension or dpi is zero.
    pub fn raw(
        index: u32,
        width: u32,
        height: u32,
        dpi: (u32, u32),
        format: PixelFormat,
        pixels: impl Into<Bytes>,
    ) -> Result<Self> {
        let pixels = pixels.into();
        let want = format.row_bytes(width) as u64 * u64::from(height);
        if width == 0 || height == 0 || dpi.0 == 0 || dpi.1 == 0 || pixels.len() as u64 != want {
            return Err(
                Error::new(ErrorKind::Protocol, "scan", "build page").with_detail(format!(
                    "{width}x{height} {format:?} at {dpi:?} dpi needs {want} bytes, got {}",
                    pixels.len()
                )),
            );
        }
        Ok(Page {
            index,
            width,
            height,
            dpi,
            data: PageData::Raw { format, pixels },
        })
    }

    /// An already-encoded JPEG page. Width, height and channels must be those in the JPEG
    /// header (use [`crate::pdf`]'s header reader or the scanner's own metadata).
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when a dimension or dpi is zero, channels is not 1 or 3, or the
    /// data does not start with a JPEG SOI marker.
    pub fn jpeg(
        index: u32,
        width: u32,
        height: u32,
        dpi: (u32, u32),
        channels: u8,
        data: impl Into<Bytes>,
    ) -> Result<Self> {
        let data = data.into();
        if width == 0
            || height == 0
            || dpi.0 == 0
            || dpi.1 == 0
            || !matches!(channels, 1 | 3)
            || !data.starts_with(&[0xFF, 0xD8])
        {
            return Err(
                Error::new(ErrorKind::Protocol, "scan", "build JPEG page").with_detail(format!(
                    "{width}x{height}, {channels} channels, {} bytes starting {:02X?}",
                    data.len(),
                    &data[..data.len().min(2)]
                )),
            );
        }
        Ok(Page {
            index,
            width,
            height,
            dpi,
            data: PageData::Jpeg { channels, data },
        })
    }

    /// Physical size in millimetres, from pixels and dpi.
    pub fn size_mm(&self) -> (f64, f64) {
        (
            f64::from(self.width) / f64::from(self.dpi.0.max(1)) * MM_PER_INCH,
            f64::from(self.height) / f64::from(self.dpi.1.max(1)) * MM_PER_INCH,
        )
    }

    /// Bytes of the page data.
    pub fn byte_len(&self) -> usize {
        match &self.data {
            PageData::Raw { pixels, .. } => pixels.len(),
            PageData::Jpeg { data, .. } => data.len(),
        }
    }
}

/// Pages of one scan job, arriving one at a time as they are scanned.
///
/// After an error item the stream ends; pages before it were delivered. Dropping the stream
/// cancels the job at the device (the backend's stream implementation does so on drop).
///
/// ```
/// # async fn demo(scanner: &dyn buergerkoffer::Scanner) -> buergerkoffer::Result<()> {
/// use buergerkoffer::scan::ScanRequest;
/// let mut pages = scanner.scan(&ScanRequest::new()).await?;
/// while let Some(page) = pages.next_page().await {
///     let page = page?;
///     println!("page {}: {}x{}", page.index + 1, page.width, page.height);
/// }
/// # Ok(()) }
/// ```
pub struct PageStream {
    inner: Pin<Box<dyn Stream<Item = Result<Page>> + Send + 'static>>,
    done: bool,
}

impl PageStream {
    /// Wraps a backend's stream. The stream must cancel its job when dropped.
    pub fn new(stream: impl Stream<Item = Result<Page>> + Send + 'static) -> Self {
        PageStream {
            inner: Box::pin(stream),
            done: false,
        }
    }

    /// The next page; `None` when the job has ended (after the last page or after an error).
    ///
    /// Cancel-safe: a page not yet returned stays in the stream.
    pub async fn next_page(&mut self) -> Option<Result<Page>> {
        futures_util::StreamExt::next(self).await
    }

    /// Collects all pages, or the first error (pages before it are then lost: prefer
    /// [`next_page`](PageStream::next_page) when partial results matter).
    ///
    /// # Errors
    /// The first error of the stream.
    pub async fn collect_all(mut self) -> Result<Vec<Page>> {
        let mut v = Vec::new();
        while let Some(p) = self.next_page().await {
            v.push(p?);
        }
        Ok(v)
    }
}

impl Stream for PageStream {
    type Item = Result<Page>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let r = self.inner.as_mut().poll_next(cx);
        match &r {
            // The contract is "nothing after an error": enforce it for every backend.
            Poll::Ready(Some(Err(_))) | Poll::Ready(None) => self.done = true,
            _ => {}
        }
        r
    }
}

impl fmt::Debug for PageStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PageStream")
            .field("done", &self.done)
            .finish()
    }
}

/// Resolutions a scanner offers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolutions {
    /// A list of values in dpi.
    List(Vec<u32>),
    /// A range in dpi; `step` 0 means any value.
    Range {
        /// Lowest.
        min: u32,
        /// Highest.
        max: u32,
        /// Step (0 = continuous).
        step: u32,
    },
}

impl Resolutions {
    /// Whether `dpi` is offered.
    pub fn contains(&self, dpi: u32) -> bool {
        match self {
            Resolutions::List(v) => v.contains(&dpi),
            Resolutions::Range { min, max, step } => {
                dpi >= *min && dpi <= *max && (*step == 0 || (dpi - min).is_multiple_of(*step))
            }
        }
    }
}

/// What a scanner can do.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ScanCapabilities {
    /// Offered resolutions.
    pub resolutions: Resolutions,
    /// Offered colour modes.
    pub modes: Vec<ColorMode>,
    /// Offered bit depths.
    pub depths: Vec<u8>,
    /// Offered paper sources.
    pub sources: Vec<Source>,
    /// Largest scan area, in mm (width, height).
    pub max_area_mm: (f64, f64),
}

impl ScanCapabilities {
    /// Capabilities with the given values.
    pub fn new(
        resolutions: Resolutions,
        modes: Vec<ColorMode>,
        depths: Vec<u8>,
        sources: Vec<Source>,
        max_area_mm: (f64, f64),
    ) -> Self {
        ScanCapabilities {
            resolutions,
            modes,
            depths,
            sources,
            max_area_mm,
        }
    }
}

/// A document scanner.
///
/// Object safe: hold it as `Box<dyn Scanner>` or `Arc<dyn Scanner>`.
#[async_trait]
pub trait Scanner: Send + Sync {
    /// Id, name and vendor of the scanner.
    fn info(&self) -> &DeviceInfo;

    /// Resolutions, modes, depths, sources and area the scanner offers.
    ///
    /// # Errors
    /// [`ErrorKind::DeviceGone`] when the scanner was unplugged, [`ErrorKind::Busy`],
    /// [`ErrorKind::Io`]. Cancel-safe.
    async fn capabilities(&self) -> Result<ScanCapabilities>;

    /// Starts a scan job. Pages arrive through the returned [`PageStream`] as they are
    /// scanned; dropping it cancels the job.
    ///
    /// The job fails in the stream (not here) for problems found while scanning:
    /// [`ErrorKind::PaperJam`], [`ErrorKind::CoverOpen`], [`ErrorKind::Io`],
    /// [`ErrorKind::DeviceGone`], with the pages before the failure already delivered. An
    /// empty feeder at the *first* page is [`ErrorKind::NoDocuments`]; a feeder that runs
    /// empty after some pages ends the stream normally.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] or [`ErrorKind::Unsupported`] for a request the scanner
    /// cannot do, [`ErrorKind::Busy`] when another job runs, [`ErrorKind::DeviceGone`].
    /// Cancel-safe: dropping the future before it resolves starts no job.
    async fn scan(&self, request: &ScanRequest) -> Result<PageStream>;
}

impl fmt::Debug for dyn Scanner + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scanner")
            .field("id", &self.info().id)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a4_pixels() {
        assert_eq!(ScanArea::A4.pixels(300), (2480, 3508));
        assert_eq!(PixelFormat::Bw1.row_bytes(2481), 311);
        assert_eq!(PixelFormat::Rgb16.row_bytes(10), 60);
    }

    #[test]
    fn page_checks_size() {
        let e = Page::raw(0, 10, 10, (300, 300), PixelFormat::Gray8, vec![0u8; 99]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        let p = Page::raw(0, 10, 10, (300, 300), PixelFormat::Gray8, vec![0u8; 100]).unwrap();
        assert!((p.size_mm().0 - 0.8466).abs() < 1e-3);
        assert!(Page::jpeg(0, 1, 1, (300, 300), 3, vec![1, 2]).is_err());
    }

    #[test]
    fn request_validation() {
        assert!(ScanRequest::new().validate("x").is_ok());
        let bad = ScanRequest::new().mode(ColorMode::Lineart).depth(8);
        assert_eq!(
            bad.validate("x").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        assert!(ScanRequest::new().resolution(0).validate("x").is_err());
        let area = ScanArea {
            width_mm: f64::NAN,
            ..ScanArea::A4
        };
        assert!(ScanRequest::new().area(area).validate("x").is_err());
    }

    #[tokio::test]
    async fn stream_ends_after_error() {
        let items = vec![
            Ok(Page::raw(0, 1, 1, (1, 1), PixelFormat::Gray8, vec![0u8]).unwrap()),
            Err(Error::new(
                ErrorKind::PaperJam,
                "mock:scanner",
                "scan page 2",
            )),
            Ok(Page::raw(2, 1, 1, (1, 1), PixelFormat::Gray8, vec![0u8]).unwrap()),
        ];
        let mut s = PageStream::new(futures_util::stream::iter(items));
        assert!(s.next_page().await.unwrap().is_ok());
        assert_eq!(
            s.next_page().await.unwrap().unwrap_err().kind(),
            ErrorKind::PaperJam
        );
        assert!(s.next_page().await.is_none());
    }
}
