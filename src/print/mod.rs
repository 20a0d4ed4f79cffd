//! Printers: the [`Printer`] trait, [`Document`], [`PrintOptions`], [`PrinterStatus`] with typed
//! [`StateReason`]s and [`Supply`] levels, and [`JobStatus`].
//!
//! This module holds only the trait and value types. Backends: `backend::ipp` (feature `ipp`), and the
//! always-present mocks in [`crate::mock`].

pub mod convert;
mod options;
mod progress;
pub mod raster;
pub mod render;
mod status;
mod supply;
mod support;
pub mod urf;

pub use options::{Orientation, PageRange, PrintColor, PrintOptions, PrintQuality, Sides};
pub use progress::JobProgress;
pub use supply::{supplies_from_markers, supplies_from_pwg, Supply, SupplyLevel, MAX_SUPPLIES};
pub use support::{PrintScaling, RasterSupport, SheetBack};

pub use status::{
    JobId, JobState, JobStatus, PrinterState, PrinterStatus, ReasonKind, Severity, StateReason,
};

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncRead;

use crate::device::DeviceInfo;
use crate::error::{Error, ErrorKind, Result};
use crate::scan::Page;

/// A document format, by MIME type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DocumentFormat {
    /// `application/pdf`.
    Pdf,
    /// `image/jpeg`.
    Jpeg,
    /// `image/png`.
    Png,
    /// `image/tiff`.
    Tiff,
    /// `image/pwg-raster`.
    PwgRaster,
    /// `image/urf` (Apple raster).
    Urf,
    /// Any other MIME type.
    Other(String),
}

impl DocumentFormat {
    /// The MIME type.
    pub fn mime(&self) -> &str {
        match self {
            DocumentFormat::Pdf => "application/pdf",
            DocumentFormat::Jpeg => "image/jpeg",
            DocumentFormat::Png => "image/png",
            DocumentFormat::Tiff => "image/tiff",
            DocumentFormat::PwgRaster => "image/pwg-raster",
            DocumentFormat::Urf => "image/urf",
            DocumentFormat::Other(m) => m,
        }
    }

    /// From a MIME type.
    pub fn from_mime(mime: &str) -> Self {
        match mime.to_ascii_lowercase().as_str() {
            "application/pdf" => DocumentFormat::Pdf,
            "image/jpeg" => DocumentFormat::Jpeg,
            "image/png" => DocumentFormat::Png,
            "image/tiff" => DocumentFormat::Tiff,
            "image/pwg-raster" => DocumentFormat::PwgRaster,
            "image/urf" => DocumentFormat::Urf,
            _ => DocumentFormat::Other(mime.to_owned()),
        }
    }
}

impl fmt::Display for DocumentFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

/// Where a document's bytes come from. Files and readers are streamed, not loaded whole.
#[non_exhaustive]
pub enum DocumentBody {
    /// Bytes in memory.
    Bytes(Bytes),
    /// A file, opened when the job is sent.
    File(PathBuf),
    /// Any async reader.
    Reader(Pin<Box<dyn AsyncRead + Send>>),
    /// A scanned page, to be converted to a format the printer accepts.
    Page(Box<Page>),
}

impl fmt::Debug for DocumentBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentBody::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            DocumentBody::File(p) => f.debug_tuple("File").field(p).finish(),
            DocumentBody::Reader(_) => f.write_str("Reader(..)"),
            DocumentBody::Page(p) => write!(f, "Page({}x{})", p.width, p.height),
        }
    }
}

/// A document to print: its format, its body, and a name for the job list.
///
/// ```
/// use buergerkoffer::print::{Document, DocumentFormat};
/// let doc = Document::pdf_file("antrag.pdf");
/// assert_eq!(doc.format, DocumentFormat::Pdf);
/// assert_eq!(doc.name.as_deref(), Some("antrag.pdf"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Document {
    /// The format of the body. For [`DocumentBody::Page`] this is
    /// [`DocumentFormat::PwgRaster`]-agnostic: the backend picks the format to convert to.
    pub format: DocumentFormat,
    /// The bytes.
    pub body: DocumentBody,
    /// A document name (file name), if any.
    pub name: Option<String>,
}

impl Document {
    /// A document from parts.
    pub fn new(format: DocumentFormat, body: DocumentBody) -> Self {
        Document {
            format,
            body,
            name: None,
        }
    }

    /// A PDF in memory.
    pub fn pdf(bytes: impl Into<Bytes>) -> Self {
        Document::new(DocumentFormat::Pdf, DocumentBody::Bytes(bytes.into()))
    }

    /// A PDF file, streamed when sent.
    pub fn pdf_file(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Document {
            name,
            ..Document::new(DocumentFormat::Pdf, DocumentBody::File(path))
        }
    }

    /// A JPEG in memory.
    pub fn jpeg(bytes: impl Into<Bytes>) -> Self {
        Document::new(DocumentFormat::Jpeg, DocumentBody::Bytes(bytes.into()))
    }

    /// A JPEG file, streamed when sent.
    pub fn jpeg_file(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Document {
            name,
            ..Document::new(DocumentFormat::Jpeg, DocumentBody::File(path))
        }
    }

    /// A scanned page (raw pixels or JPEG); the backend converts it to a format the printer
    /// accepts (JPEG or PWG raster).
    pub fn page(page: Page) -> Self {
        let format = match page.data {
            crate::scan::PageData::Jpeg { .. } => DocumentFormat::Jpeg,
            _ => DocumentFormat::PwgRaster,
        };
        Document::new(format, DocumentBody::Page(Box::new(page)))
    }

    /// A file of any format this crate prints (PDF, JPEG, PNG, TIFF), the format read from
    /// its extension (`.pdf`, `.jpg`/`.jpeg`, `.png`, `.tif`/`.tiff`); other extensions are
    /// taken as PDF. Streamed when sent to a printer that takes the format as it is.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let format = match ext.as_str() {
            "jpg" | "jpeg" => DocumentFormat::Jpeg,
            "png" => DocumentFormat::Png,
            "tif" | "tiff" => DocumentFormat::Tiff,
            _ => DocumentFormat::Pdf,
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        Document {
            name,
            ..Document::new(format, DocumentBody::File(path))
        }
    }

    /// Sets the document name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Reads the whole body into memory (used by mocks and by converters that need it).
    /// Pages are returned as their encoded data only if already JPEG.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] / [`ErrorKind::NotFound`] for unreadable files or readers,
    /// [`ErrorKind::Unsupported`] for raw pages (they need conversion first).
    pub async fn read_all(self, device: &str) -> Result<Bytes> {
        use tokio::io::AsyncReadExt;
        match self.body {
            DocumentBody::Bytes(b) => Ok(b),
            DocumentBody::File(p) => tokio::fs::read(&p)
                .await
                .map(Bytes::from)
                .map_err(|e| Error::io(device.to_owned(), format!("read {}", p.display()), e)),
            DocumentBody::Reader(mut r) => {
                let mut v = Vec::new();
                r.read_to_end(&mut v)
                    .await
                    .map_err(|e| Error::io(device.to_owned(), "read document", e))?;
                Ok(Bytes::from(v))
            }
            DocumentBody::Page(p) => match p.data {
                crate::scan::PageData::Jpeg { data, .. } => Ok(data),
                _ => Err(
                    Error::new(ErrorKind::Unsupported, device.to_owned(), "read document")
                        .with_detail("a raw page must be converted before it can be read as bytes"),
                ),
            },
        }
    }
}

/// What a printer accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrinterCapabilities {
    /// Document formats (MIME types) it accepts.
    pub formats: Vec<DocumentFormat>,
    /// Media it supports (PWG names).
    pub media_supported: Vec<String>,
    /// Media loaded now.
    pub media_ready: Vec<String>,
    /// Sides it can print.
    pub sides: Vec<Sides>,
    /// Whether it prints colour.
    pub color: bool,
    /// Highest number of copies.
    pub max_copies: u32,
    /// Resolutions in dpi (x, y).
    pub resolutions: Vec<(u32, u32)>,
    /// The media used when a job names none (`media-default`).
    pub media_default: Option<String>,
    /// PWG raster and URF types, resolutions and back-side handling.
    pub raster: RasterSupport,
    /// Trays (`media-source-supported`); empty when the printer does not say.
    pub media_sources: Vec<String>,
    /// Kinds of paper (`media-type-supported`); empty when the printer does not say.
    pub media_types: Vec<String>,
    /// Print qualities (`print-quality-supported`); empty when the printer does not say.
    pub qualities: Vec<PrintQuality>,
    /// Whether the printer itself selects `page-ranges` of a PDF it takes as it is
    /// (`page-ranges-supported`); when not, this crate renders the selected pages.
    pub page_ranges: bool,
}

impl PrinterCapabilities {
    /// Capabilities of a printer that accepts `formats`, one-sided, monochrome, one copy, no
    /// media or resolutions listed; refine with the `with_*` methods. For a hand-written
    /// [`Printer`]:
    ///
    /// ```
    /// use buergerkoffer::print::{DocumentFormat, PrinterCapabilities, Sides};
    /// let caps = PrinterCapabilities::new(vec![DocumentFormat::Pdf, DocumentFormat::Jpeg])
    ///     .with_sides(vec![Sides::OneSided, Sides::TwoSidedLongEdge])
    ///     .with_color(true)
    ///     .with_media(vec!["iso_a4_210x297mm".into()])
    ///     .with_max_copies(99);
    /// assert!(caps.accepts(&DocumentFormat::Jpeg));
    /// ```
    pub fn new(formats: Vec<DocumentFormat>) -> Self {
        PrinterCapabilities {
            formats,
            sides: vec![Sides::OneSided],
            max_copies: 1,
            ..PrinterCapabilities::default()
        }
    }

    /// Sets the media supported, and ready (loaded) as well.
    #[must_use]
    pub fn with_media(mut self, media: Vec<String>) -> Self {
        self.media_ready = media.clone();
        self.media_supported = media;
        self
    }

    /// Sets the sides it can print.
    #[must_use]
    pub fn with_sides(mut self, sides: Vec<Sides>) -> Self {
        self.sides = sides;
        self
    }

    /// Sets whether it prints colour.
    #[must_use]
    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    /// Sets the highest number of copies.
    #[must_use]
    pub fn with_max_copies(mut self, max: u32) -> Self {
        self.max_copies = max;
        self
    }

    /// Sets the resolutions in dpi.
    #[must_use]
    pub fn with_resolutions(mut self, resolutions: Vec<(u32, u32)>) -> Self {
        self.resolutions = resolutions;
        self
    }

    /// Sets the raster support.
    #[must_use]
    pub fn with_raster(mut self, raster: RasterSupport) -> Self {
        self.raster = raster;
        self
    }

    /// Whether `format` is accepted.
    pub fn accepts(&self, format: &DocumentFormat) -> bool {
        self.formats.contains(format)
    }

    /// Checks the tray, paper kind and quality of `o` against what the printer lists (a list
    /// the printer leaves empty is not checked).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] naming the value and what the printer supports.
    pub fn check_job_template(&self, device: &str, o: &PrintOptions) -> Result<()> {
        let check = |what: &str, v: Option<&str>, list: Vec<&str>| -> Result<()> {
            match v {
                Some(v) if !list.is_empty() && !list.contains(&v) => {
                    Err(
                        Error::new(ErrorKind::InvalidInput, device, "print").with_detail(format!(
                            "{what} {v} is not supported; the printer has {}",
                            list.join(", ")
                        )),
                    )
                }
                _ => Ok(()),
            }
        };
        check(
            "media-source",
            o.media_source.as_deref(),
            self.media_sources.iter().map(String::as_str).collect(),
        )?;
        check(
            "media-type",
            o.media_type.as_deref(),
            self.media_types.iter().map(String::as_str).collect(),
        )?;
        check(
            "print-quality",
            o.quality.map(PrintQuality::name),
            self.qualities.iter().map(|q| q.name()).collect(),
        )
    }
}

/// A printer.
///
/// Object safe: hold it as `Box<dyn Printer>` or `Arc<dyn Printer>`.
#[async_trait]
pub trait Printer: Send + Sync {
    /// Id, name and vendor of the printer.
    fn info(&self) -> &DeviceInfo;

    /// Formats, media, sides, colour and copies the printer supports.
    ///
    /// # Errors
    /// [`ErrorKind::DeviceGone`] / [`ErrorKind::Timeout`] when the printer cannot be reached,
    /// [`ErrorKind::Protocol`] for a malformed reply. Cancel-safe.
    async fn capabilities(&self) -> Result<PrinterCapabilities>;

    /// State and state reasons (media-empty, jam, door open, offline, ...).
    ///
    /// # Errors
    /// As [`capabilities`](Printer::capabilities). Cancel-safe.
    async fn status(&self) -> Result<PrinterStatus>;

    /// Sends a document; returns the job id once the printer has accepted it. The job may
    /// still wait (e.g. for paper): follow it with [`job`](Printer::job) or
    /// [`wait_for_job`](Printer::wait_for_job).
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when the printer accepts no format the document can be
    /// sent as (the message names the formats it does accept), [`ErrorKind::InvalidInput`]
    /// for options it rejects, [`ErrorKind::Busy`] when it accepts no jobs now,
    /// [`ErrorKind::DeviceGone`] / [`ErrorKind::Timeout`], [`ErrorKind::Io`] for an unreadable
    /// document. Not cancel-safe: the job may have been created.
    async fn print(&self, document: Document, options: &PrintOptions) -> Result<JobId>;

    /// The status of a job.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown job; as [`status`](Printer::status) otherwise.
    /// Cancel-safe.
    async fn job(&self, id: JobId) -> Result<JobStatus>;

    /// Cancels a job.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown job, [`ErrorKind::InvalidInput`] when it has
    /// already ended. Not cancel-safe.
    async fn cancel(&self, id: JobId) -> Result<()>;

    /// The jobs the printer has not finished (IPP Get-Jobs with `which-jobs=not-completed`),
    /// oldest first: what waits behind a jam or an empty tray.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for a printer that cannot list jobs (the default); as
    /// [`status`](Printer::status) otherwise. Cancel-safe.
    async fn jobs(&self) -> Result<Vec<JobStatus>> {
        Err(Error::new(
            ErrorKind::Unsupported,
            self.info().id.to_string(),
            "list jobs",
        )
        .with_detail("this printer cannot list its jobs"))
    }

    /// Makes the printer show itself (IPP Identify-Printer: a sound, a blinking light or a
    /// message on its panel), so a clerk knows which printer on the table is meant.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when the printer has no way to (the default); as
    /// [`status`](Printer::status) otherwise.
    async fn identify(&self) -> Result<()> {
        Err(Error::new(
            ErrorKind::Unsupported,
            self.info().id.to_string(),
            "identify",
        )
        .with_detail("this printer cannot identify itself"))
    }

    /// Follows a job: a stream with its status now, then one item each time its state, its
    /// reasons (e.g. `media-empty-error` while it waits for paper) or its count of printed
    /// sides changes, polled every `poll`; the stream ends after the job has ended, or after
    /// the first error. Drop it to stop following; the job is not affected. Wrap it in a
    /// timeout to bound the wait.
    fn watch_job(&self, id: JobId, poll: Duration) -> JobProgress<'_> {
        progress::watch(self, id, poll)
    }

    /// Polls [`job`](Printer::job) every `poll` until the job ends or `timeout` passes.
    /// Returns the final status, which may be `Canceled` or `Aborted`.
    ///
    /// # Errors
    /// [`ErrorKind::Timeout`] naming the last state seen; as [`job`](Printer::job).
    /// Cancel-safe.
    async fn wait_for_job(
        &self,
        id: JobId,
        timeout: Duration,
        poll: Duration,
    ) -> Result<JobStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let st = self.job(id).await?;
            if st.state.is_terminal() {
                return Ok(st);
            }
            if tokio::time::Instant::now() + poll > deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    self.info().id.to_string(),
                    format!("wait for {id}"),
                )
                .with_detail(format!("still {:?} after {timeout:?}", st.state)));
            }
            tokio::time::sleep(poll).await;
        }
    }
}

impl fmt::Debug for dyn Printer + '_ {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Printer")
            .field("id", &self.info().id)
            .finish()
    }
}
