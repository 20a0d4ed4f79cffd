//! Document scanners: the [`Scanner`] trait, [`ScanRequest`], [`Page`] and [`PageStream`].
//!
//! This module holds only the trait and value types. Backends: `backend::sane` (feature `sane`), and
//! the always-present mocks in [`crate::mock`].

pub mod jpeg;
mod paper;
pub mod pnm;
mod request;

pub use paper::Paper;
pub use request::{ColorMode, ScanArea, ScanRequest, Source};

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

/// Largest page accepted from a device or a file, in bytes of decoded pixels (1 GiB: an A4
/// page at 1200 dpi in 16-bit RGB is about 835 MB). PNM and JPEG files, SANE frames and PWG
/// raster streams announcing more are refused with [`ErrorKind::Protocol`] before any
/// allocation.
pub const MAX_PAGE_BYTES: u64 = 1 << 30;

/// Layout of raw page pixels. Rows are packed without padding beyond the last byte of a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PixelFormat {
    /// 1 bit per pixel, most significant bit first, **1 = black** (as SANE lineart);
    /// each row padded to a whole byte. The padding bits after the last pixel of a row are
    /// undefined (scanners leave whatever they like there): readers must ignore them.
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
