//! Printers: the [`Printer`] trait, [`Document`], [`PrintOptions`], [`PrinterStatus`] with typed
//! [`StateReason`]s, and [`JobStatus`].
//!
//! This module holds only the trait and value types. Backends: `ipp` (feature `ipp`), and the
//! always-present mocks in [`crate::mock`].

#[cfg(feature = "ipp")]
pub mod ipp;

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

    /// Sets the job name.
    #[must_use]
    pub fn job_name(mut self, name: impl Into<String>) -> Self {
        self.job_name = Some(name.into());
        self
    }
}

/// The printer's overall state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrinterState {
    /// Ready, nothing to do.
    Idle,
    /// Printing.
    Processing,
    /// Stopped: needs attention (see the reasons).
    Stopped,
}

/// How serious a [`StateReason`] is (the IPP keyword suffix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// `-report`: for information.
    Report,
    /// `-warning`: printing goes on.
    Warning,
    /// `-error` (or no suffix): printing stops.
    Error,
}

/// What a state reason is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReasonKind {
    /// `media-empty`: out of paper.
    MediaEmpty,
    /// `media-low`.
    MediaLow,
    /// `media-jam`.
    MediaJam,
    /// `media-needed`: load the requested media.
    MediaNeeded,
    /// `door-open`.
    DoorOpen,
    /// `cover-open`.
    CoverOpen,
    /// `toner-low`.
    TonerLow,
    /// `toner-empty`.
    TonerEmpty,
    /// `marker-supply-low` (ink or toner).
    MarkerSupplyLow,
    /// `marker-supply-empty`.
    MarkerSupplyEmpty,
    /// `offline` / `shutdown` / `connecting-to-device`.
    Offline,
    /// `paused`.
    Paused,
    /// `output-area-full`.
    OutputAreaFull,
    /// `spool-area-full`.
    SpoolAreaFull,
    /// Any other keyword, without its severity suffix.
    Other(String),
}

/// One printer-state-reason, e.g. `media-empty-error`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StateReason {
    /// What it is about.
    pub kind: ReasonKind,
    /// How serious.
    pub severity: Severity,
}

impl StateReason {
    /// A reason of `kind` at `severity`.
    pub fn new(kind: ReasonKind, severity: Severity) -> Self {
        StateReason { kind, severity }
    }

    /// Parses an IPP `printer-state-reasons` keyword. `none` gives `None`.
    ///
    /// ```
    /// use buergerkoffer::print::{ReasonKind, Severity, StateReason};
    /// let r = StateReason::from_keyword("media-empty-error").unwrap();
    /// assert_eq!(r.kind, ReasonKind::MediaEmpty);
    /// assert_eq!(r.severity, Severity::Error);
    /// assert_eq!(StateReason::from_keyword("toner-low-warning").unwrap().keyword(), "toner-low-warning");
    /// assert!(StateReason::from_keyword("none").is_none());
    /// ```
    pub fn from_keyword(keyword: &str) -> Option<Self> {
        let k = keyword.trim();
        if k.is_empty() || k == "none" {
            return None;
        }
        let (base, severity) = if let Some(b) = k.strip_suffix("-error") {
            (b, Severity::Error)
        } else if let Some(b) = k.strip_suffix("-warning") {
            (b, Severity::Warning)
        } else if let Some(b) = k.strip_suffix("-report") {
            (b, Severity::Report)
        } else {
            (k, Severity::Error)
        };
        let kind = match base {
            "media-empty" => ReasonKind::MediaEmpty,
            "media-low" => ReasonKind::MediaLow,
            "media-jam" => ReasonKind::MediaJam,
            "media-needed" => ReasonKind::MediaNeeded,
            "door-open" => ReasonKind::DoorOpen,
            "cover-open" => ReasonKind::CoverOpen,
            "toner-low" => ReasonKind::TonerLow,
            "toner-empty" => ReasonKind::TonerEmpty,
            "marker-supply-low" => ReasonKind::MarkerSupplyLow,
            "marker-supply-empty" => ReasonKind::MarkerSupplyEmpty,
            "offline" | "shutdown" | "connecting-to-device" => ReasonKind::Offline,
            "paused" => ReasonKind::Paused,
            "output-area-full" => ReasonKind::OutputAreaFull,
            "spool-area-full" => ReasonKind::SpoolAreaFull,
            other => ReasonKind::Other(other.to_owned()),
        };
        Some(StateReason { kind, severity })
    }

    /// The IPP keyword, with severity suffix.
    pub fn keyword(&self) -> String {
        let base = match &self.kind {
            ReasonKind::MediaEmpty => "media-empty",
            ReasonKind::MediaLow => "media-low",
            ReasonKind::MediaJam => "media-jam",
            ReasonKind::MediaNeeded => "media-needed",
            ReasonKind::DoorOpen => "door-open",
            ReasonKind::CoverOpen => "cover-open",
            ReasonKind::TonerLow => "toner-low",
            ReasonKind::TonerEmpty => "toner-empty",
            ReasonKind::MarkerSupplyLow => "marker-supply-low",
            ReasonKind::MarkerSupplyEmpty => "marker-supply-empty",
            ReasonKind::Offline => "offline",
            ReasonKind::Paused => "paused",
            ReasonKind::OutputAreaFull => "output-area-full",
            ReasonKind::SpoolAreaFull => "spool-area-full",
            ReasonKind::Other(s) => s,
        };
        let suffix = match self.severity {
            Severity::Report => "-report",
            Severity::Warning => "-warning",
            Severity::Error => "-error",
        };
        format!("{base}{suffix}")
    }

    /// The error kind a job blocked by this reason should report, if it blocks printing.
    pub fn blocking_error(&self) -> Option<ErrorKind> {
        if self.severity != Severity::Error {
            return None;
        }
        Some(match self.kind {
            ReasonKind::MediaEmpty | ReasonKind::MediaNeeded => ErrorKind::MediaEmpty,
            ReasonKind::MediaJam => ErrorKind::PaperJam,
            ReasonKind::DoorOpen | ReasonKind::CoverOpen => ErrorKind::CoverOpen,
            ReasonKind::Offline => ErrorKind::DeviceGone,
            ReasonKind::Paused => ErrorKind::Busy,
            _ => ErrorKind::Backend,
        })
    }
}

impl fmt::Display for StateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.keyword())
    }
}

/// State and reasons of a printer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrinterStatus {
    /// Overall state.
    pub state: PrinterState,
    /// Why it is in that state (empty when all is well).
    pub reasons: Vec<StateReason>,
    /// The printer's own message, if any.
    pub message: Option<String>,
}

impl PrinterStatus {
    /// A status with the given state and reasons.
    pub fn new(state: PrinterState, reasons: Vec<StateReason>) -> Self {
        PrinterStatus {
            state,
            reasons,
            message: None,
        }
    }

    /// Whether any reason is of `kind`.
    pub fn has(&self, kind: &ReasonKind) -> bool {
        self.reasons.iter().any(|r| &r.kind == kind)
    }

    /// The first reason that stops printing, as the error kind a caller would show.
    pub fn blocking_error(&self) -> Option<ErrorKind> {
        self.reasons.iter().find_map(StateReason::blocking_error)
    }
}

/// A job id, as the printer assigned it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u32);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// The state of a print job (IPP job-state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobState {
    /// Waiting to be processed.
    Pending,
    /// Held (e.g. until released, or blocked by the printer's state).
    Held,
    /// Being printed.
    Processing,
    /// Stopped in the middle, e.g. by a paper jam.
    Stopped,
    /// Cancelled by a user.
    Canceled,
    /// Aborted by the printer.
    Aborted,
    /// Printed.
    Completed,
}

impl JobState {
    /// Whether the job has ended (canceled, aborted, completed).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Canceled | JobState::Aborted | JobState::Completed
        )
    }
}

/// The status of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobStatus {
    /// The job.
    pub id: JobId,
    /// Its state.
    pub state: JobState,
    /// `job-state-reasons` keywords.
    pub reasons: Vec<String>,
    /// The printer's message, if any.
    pub message: Option<String>,
}

impl JobStatus {
    /// A status without reasons.
    pub fn new(id: JobId, state: JobState) -> Self {
        JobStatus {
            id,
            state,
            reasons: Vec::new(),
            message: None,
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
}

impl PrinterCapabilities {
    /// Whether `format` is accepted.
    pub fn accepts(&self, format: &DocumentFormat) -> bool {
        self.formats.contains(format)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for k in [
            "media-empty-error",
            "media-jam-error",
            "door-open-warning",
            "toner-low-report",
            "offline-error",
            "com.example-thing-warning",
        ] {
            assert_eq!(StateReason::from_keyword(k).unwrap().keyword(), k);
        }
        let r = StateReason::from_keyword("media-empty").unwrap();
        assert_eq!(r.severity, Severity::Error);
        assert_eq!(r.blocking_error(), Some(ErrorKind::MediaEmpty));
        assert_eq!(
            StateReason::from_keyword("toner-low-warning")
                .unwrap()
                .blocking_error(),
            None
        );
    }
}
