//! The settings and results of a scan-to-PDF job: [`ScanToPdfOptions`], [`Progress`],
//! [`ScanToPdfSummary`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::blank::BlankPages;
use crate::pdf::{Encoding, JpegEncoder, Metadata};

/// The mode of a new PDF unless the caller sets another: owner read and write only, since
/// the pages hold citizens' data.
pub const DEFAULT_FILE_MODE: u32 = 0o600;

/// A progress report, sent after each page is written to the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Pages written so far.
    pub pages_written: usize,
    /// Pages received from the scanner so far (written or still being encoded).
    pub pages_scanned: usize,
    /// Bytes of PDF written so far.
    pub bytes_written: u64,
}

/// A progress callback; called from the writer thread, so keep it quick (forward to a
/// channel or update a progress bar).
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Settings of a scan-to-PDF job.
///
/// ```
/// use buergerkoffer::pdf::{Encoding, Metadata};
/// use buergerkoffer::pipeline::ScanToPdfOptions;
/// let opts = ScanToPdfOptions::new()
///     .encoding(Encoding::Jpeg)
///     .quality(80)
///     .threads(2)
///     .pdfa(true)
///     .metadata(Metadata::titled("Antrag Personalausweis"))
///     .on_progress(|p| println!("{} pages written", p.pages_written));
/// assert_eq!(opts.threads, 2);
/// assert_eq!(opts.file_mode, 0o600, "new PDFs are private by default");
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ScanToPdfOptions {
    /// Page encoding (default [`Encoding::Auto`]: G4 for 1-bit, JPEG otherwise).
    pub encoding: Encoding,
    /// JPEG quality 1..=100 (default 85).
    pub quality: u8,
    /// Which JPEG encoder (default [`JpegEncoder::Auto`]: libjpeg-turbo when the system has
    /// `libturbojpeg.so.0`, the pure-Rust encoder otherwise).
    pub jpeg_encoder: JpegEncoder,
    /// Drop blank pages (default `None`: keep every page), with these settings; the dropped
    /// pages are counted in [`ScanToPdfSummary::blank_pages_dropped`].
    pub drop_blank: Option<BlankPages>,
    /// Recognise each page with Tesseract and give it an invisible text layer (feature
    /// `ocr`; default `None`). OCR runs in the encoder pool, one engine per encoder thread at
    /// most. A page whose OCR fails is written without text and listed in
    /// [`ScanToPdfSummary::ocr_failures`].
    #[cfg(feature = "ocr")]
    pub ocr: Option<crate::ocr::OcrOptions>,
    /// Encoder threads (default: the number of cores).
    pub threads: usize,
    /// Write PDF/A-2b.
    pub pdfa: bool,
    /// Title, author, creator, date.
    pub metadata: Metadata,
    /// Called after each written page.
    pub progress: Option<ProgressFn>,
    /// Permission bits of the new PDF (default [`DEFAULT_FILE_MODE`], 0600), set exactly
    /// (the umask does not apply) on the temporary file when it is created, so the pages
    /// are never readable by others, not even while the job runs. Ignored off Unix.
    pub file_mode: u32,
    /// Replace an existing output file that is read-only (no write permission bit); by
    /// default such a file is kept and the job fails with [`ErrorKind::InvalidInput`]
    /// before scanning. A writable existing file is always replaced.
    ///
    /// [`ErrorKind::InvalidInput`]: crate::ErrorKind::InvalidInput
    pub replace_read_only: bool,
}

impl Default for ScanToPdfOptions {
    fn default() -> Self {
        ScanToPdfOptions {
            encoding: Encoding::Auto,
            quality: 85,
            jpeg_encoder: JpegEncoder::Auto,
            drop_blank: None,
            #[cfg(feature = "ocr")]
            ocr: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            pdfa: false,
            metadata: Metadata::default(),
            progress: None,
            file_mode: DEFAULT_FILE_MODE,
            replace_read_only: false,
        }
    }
}

impl fmt::Debug for ScanToPdfOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ScanToPdfOptions");
        #[cfg(feature = "ocr")]
        d.field("ocr", &self.ocr);
        d.field("encoding", &self.encoding)
            .field("quality", &self.quality)
            .field("jpeg_encoder", &self.jpeg_encoder)
            .field("drop_blank", &self.drop_blank)
            .field("threads", &self.threads)
            .field("pdfa", &self.pdfa)
            .field("metadata", &self.metadata)
            .field("progress", &self.progress.is_some())
            .field("file_mode", &format_args!("{:04o}", self.file_mode))
            .field("replace_read_only", &self.replace_read_only)
            .finish()
    }
}

impl ScanToPdfOptions {
    /// Defaults: auto encoding, quality 85, one thread per core, no PDF/A, file mode 0600,
    /// read-only outputs kept.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the encoding.
    #[must_use]
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Sets the JPEG quality (1..=100).
    #[must_use]
    pub fn quality(mut self, quality: u8) -> Self {
        self.quality = quality;
        self
    }

    /// Chooses the JPEG encoder (default [`JpegEncoder::Auto`]).
    #[must_use]
    pub fn jpeg_encoder(mut self, encoder: JpegEncoder) -> Self {
        self.jpeg_encoder = encoder;
        self
    }

    /// Drops blank pages (with the default [`BlankPages`] settings) or keeps every page.
    #[must_use]
    pub fn drop_blank(mut self, on: bool) -> Self {
        self.drop_blank = on.then(BlankPages::default);
        self
    }

    /// Drops blank pages as `settings` decide.
    #[must_use]
    pub fn blank_pages(mut self, settings: BlankPages) -> Self {
        self.drop_blank = Some(settings);
        self
    }

    /// Switches OCR on with `options` (e.g. `OcrOptions::new("deu+eng")`), or off with
    /// `None`.
    #[cfg(feature = "ocr")]
    #[must_use]
    pub fn ocr(mut self, options: impl Into<Option<crate::ocr::OcrOptions>>) -> Self {
        self.ocr = options.into();
        self
    }

    /// Sets the number of encoder threads (0 is taken as 1).
    #[must_use]
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Switches PDF/A-2b on or off.
    #[must_use]
    pub fn pdfa(mut self, on: bool) -> Self {
        self.pdfa = on;
        self
    }

    /// Sets the document metadata.
    #[must_use]
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets the permission bits of the new PDF (e.g. `0o640`; only the low 12 bits count,
    /// others make the job fail with [`ErrorKind::InvalidInput`]).
    ///
    /// [`ErrorKind::InvalidInput`]: crate::ErrorKind::InvalidInput
    #[must_use]
    pub fn file_mode(mut self, mode: u32) -> Self {
        self.file_mode = mode;
        self
    }

    /// Lets the job replace a read-only output file (default: refused).
    #[must_use]
    pub fn replace_read_only(mut self, on: bool) -> Self {
        self.replace_read_only = on;
        self
    }

    /// Sets the progress callback.
    #[must_use]
    pub fn on_progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
}

/// What a finished job produced.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanToPdfSummary {
    /// The PDF file.
    pub path: PathBuf,
    /// Pages in it.
    pub pages: usize,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Bytes of page data received from the scanner (raw pixels or JPEG).
    pub input_bytes: u64,
    /// Wall time from the start of the scan to the renamed file.
    pub duration: Duration,
    /// Wall time from the end of the page stream (the last page has left the scanner) to
    /// the renamed, fsync'd file: what the user waits for after scanning.
    pub after_last_page: Duration,
    /// Blank pages dropped ([`ScanToPdfOptions::drop_blank`]); not in [`pages`](Self::pages).
    pub blank_pages_dropped: usize,
    /// The JPEG encoder that encoded the pages; `None` when no page was JPEG-encoded here
    /// (Flate, G4, or JPEG pages passed through as the scanner sent them).
    pub jpeg_encoder: Option<JpegEncoder>,
    /// Pages written with a text layer (OCR found at least one word on them).
    pub pages_with_text: usize,
    /// Pages on which OCR failed; each is in the PDF, without text.
    pub ocr_failures: Vec<OcrFailure>,
}

/// A page on which OCR failed: it is in the PDF, without a text layer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OcrFailure {
    /// The page's number in the scan, from 1.
    pub page: u32,
    /// Why (the error's message).
    pub reason: String,
}

impl ScanToPdfSummary {
    /// Pages per second.
    pub fn pages_per_second(&self) -> f64 {
        self.pages as f64 / self.duration.as_secs_f64().max(1e-9)
    }
}
