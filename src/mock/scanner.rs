//! [`MockScanner`]: a [`Scanner`] that produces document-like pages, with a feeder that runs
//! empty, injected faults (jam, cover open, I/O, device gone, ...) at chosen pages, a page that
//! hangs forever, per-page delay on tokio's clock, `Busy` for a second job, cancellation on
//! drop, and expected requests checked by [`MockScanner::done`].

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::content::render_page;
use super::script::{lock, Script};
use crate::device::{DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{
    ColorMode, Page, PageStream, PixelFormat, Resolutions, ScanArea, ScanCapabilities, ScanRequest,
    Scanner, Source,
};

/// Highest resolution the mock offers (an A4 RGB16 page at 600 dpi is ~200 MB).
pub const MOCK_MAX_DPI: u32 = 600;

/// A scriptable mock scanner.
///
/// Cloning gives another handle to the *same* scanner (like `Arc`): a test keeps one handle
/// and injects faults into the scanner the code under test opened through a
/// [`MockKit`](super::MockKit).
///
/// By default it has a flatbed and a feeder (simplex and duplex) holding 10 sheets, offers
/// 50..=600 dpi, lineart/gray/colour at depth 1/8/16 and an area of 216 x 356 mm. Page content
/// is rendered once per (format, size) and shared between pages (cheap [`Bytes`] clones).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{ErrorKind, Scanner, mock::MockScanner, scan::{ScanRequest, Source}};
/// let scanner = MockScanner::new("scanner").with_adf_pages(5);
/// scanner.fail_at(3, ErrorKind::PaperJam);
/// let req = ScanRequest::new().resolution(50).source(Source::Adf);
/// let mut pages = scanner.scan(&req).await?;
/// assert!(pages.next_page().await.unwrap().is_ok());
/// assert!(pages.next_page().await.unwrap().is_ok());
/// let err = pages.next_page().await.unwrap().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::PaperJam);
/// assert_eq!(err.pages(), Some(2));
/// assert!(pages.next_page().await.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockScanner {
    inner: Arc<Inner>,
}

struct Inner {
    info: DeviceInfo,
    cfg: Mutex<Config>,
    script: Mutex<Script<ScanRequest>>,
    cache: Mutex<HashMap<(PixelFormat, u32, u32, u32), Bytes>>,
    busy: AtomicBool,
    jobs_started: AtomicU64,
    jobs_completed: AtomicU64,
    jobs_failed: AtomicU64,
    jobs_cancelled: AtomicU64,
    pages_delivered: AtomicU64,
}

#[derive(Clone)]
struct Config {
    adf_sheets: u32,
    page_delay: Duration,
    faults: Vec<Fault>,
    hang_at: Option<u32>,
    start_failure: Option<ErrorKind>,
    gone: bool,
    caps: ScanCapabilities,
}

#[derive(Clone, Copy, Debug)]
struct Fault {
    page: u32,
    kind: ErrorKind,
    once: bool,
}

impl fmt::Debug for MockScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockScanner")
            .field("id", &self.inner.info.id)
            .field("busy", &self.is_busy())
            .finish()
    }
}

impl MockScanner {
    /// A scanner with id `mock:NAME`, flatbed plus a feeder of 10 sheets, no faults.
    pub fn new(name: &str) -> Self {
        let id = DeviceId::mock(name);
        let info = DeviceInfo::new(
            id.clone(),
            DeviceKind::Scanner,
            format!("Mock scanner {name}"),
        )
        .with_vendor("buergerkoffer")
        .with_serial(format!("MOCK-{name}"));
        let caps = ScanCapabilities::new(
            Resolutions::Range {
                min: 50,
                max: MOCK_MAX_DPI,
                step: 0,
            },
            vec![ColorMode::Lineart, ColorMode::Gray, ColorMode::Color],
            vec![1, 8, 16],
            vec![Source::Flatbed, Source::Adf, Source::AdfDuplex],
            (216.0, 356.0),
        );
        MockScanner {
            inner: Arc::new(Inner {
                info,
                cfg: Mutex::new(Config {
                    adf_sheets: 10,
                    page_delay: Duration::ZERO,
                    faults: Vec::new(),
                    hang_at: None,
                    start_failure: None,
                    gone: false,
                    caps,
                }),
                script: Mutex::new(Script::new(id.to_string())),
                cache: Mutex::new(HashMap::new()),
                busy: AtomicBool::new(false),
                jobs_started: AtomicU64::new(0),
                jobs_completed: AtomicU64::new(0),
                jobs_failed: AtomicU64::new(0),
                jobs_cancelled: AtomicU64::new(0),
                pages_delivered: AtomicU64::new(0),
            }),
        }
    }

    /// A scanner with id `mock:NAME` whose model name is `model` and serial number `serial`:
    /// e.g. the same scanner plugged back in under another name, for replug tests
    /// ([`Kit::stable_scanner`](crate::Kit::stable_scanner)).
    pub fn with_identity(name: &str, model: &str, serial: &str) -> Self {
        let mut s = MockScanner::new(name);
        if let Some(inner) = Arc::get_mut(&mut s.inner) {
            inner.info.name = model.to_owned();
            inner.info.serial = Some(serial.to_owned());
        }
        s
    }

    /// Sets the number of sheets in the feeder (builder form of
    /// [`set_adf_pages`](Self::set_adf_pages)).
    #[must_use]
    pub fn with_adf_pages(self, sheets: u32) -> Self {
        self.set_adf_pages(sheets);
        self
    }

    /// Sets the delay before each page (builder form of
    /// [`set_page_delay`](Self::set_page_delay)).
    #[must_use]
    pub fn with_page_delay(self, delay: Duration) -> Self {
        self.set_page_delay(delay);
        self
    }

    /// Replaces the offered capabilities (e.g. a scanner without a feeder). Requests outside
    /// them are refused with [`ErrorKind::Unsupported`].
    #[must_use]
    pub fn with_capabilities(self, caps: ScanCapabilities) -> Self {
        lock(&self.inner.cfg).caps = caps;
        self
    }

    /// Sets how many sheets the feeder holds for each job: an ADF job delivers that many pages
    /// (twice as many in duplex) and then ends normally; with 0 sheets the first page fails
    /// with [`ErrorKind::NoDocuments`]. The feeder is refilled for every job.
    pub fn set_adf_pages(&self, sheets: u32) {
        lock(&self.inner.cfg).adf_sheets = sheets;
    }

    /// Sets the time each page takes (tokio time: with a paused clock it costs nothing).
    pub fn set_page_delay(&self, delay: Duration) {
        lock(&self.inner.cfg).page_delay = delay;
    }

    /// Every job fails at page `page` (1-based) with `kind`, after delivering the pages before
    /// it; the error carries [`Error::pages`]. Stays until [`clear_faults`](Self::clear_faults).
    pub fn fail_at(&self, page: u32, kind: ErrorKind) {
        lock(&self.inner.cfg).faults.push(Fault {
            page,
            kind,
            once: false,
        });
    }

    /// Like [`fail_at`](Self::fail_at), but only the next job that reaches `page` fails
    /// (the jam is cleared afterwards, so a retry succeeds).
    pub fn fail_once_at(&self, page: u32, kind: ErrorKind) {
        lock(&self.inner.cfg).faults.push(Fault {
            page,
            kind,
            once: true,
        });
    }

    /// Page `page` (1-based) never arrives: the stream stays pending forever, to test the
    /// caller's timeouts. Dropping the stream still cancels the job.
    pub fn hang_at(&self, page: u32) {
        lock(&self.inner.cfg).hang_at = Some(page);
    }

    /// The next call to [`Scanner::scan`] fails with `kind` before any job starts (e.g.
    /// [`ErrorKind::Busy`] for "another program holds the scanner").
    pub fn fail_next_scan(&self, kind: ErrorKind) {
        lock(&self.inner.cfg).start_failure = Some(kind);
    }

    /// Removes all injected faults and hangs.
    pub fn clear_faults(&self) {
        let mut c = lock(&self.inner.cfg);
        c.faults.clear();
        c.hang_at = None;
        c.start_failure = None;
    }

    /// Unplugs (`true`) or re-plugs the scanner: while unplugged every call and the next page
    /// of a running job fail with [`ErrorKind::DeviceGone`].
    pub fn set_gone(&self, gone: bool) {
        lock(&self.inner.cfg).gone = gone;
    }

    /// Whether the scanner is unplugged.
    pub fn is_gone(&self) -> bool {
        lock(&self.inner.cfg).gone
    }

    /// Expects these scan requests, in order. Call [`done`](Self::done) at the end of the
    /// test. A request that differs is refused with [`ErrorKind::InvalidInput`] and reported
    /// by `done()`.
    pub fn expect_scans(&self, requests: impl IntoIterator<Item = ScanRequest>) {
        lock(&self.inner.script).expect(requests);
    }

    /// Checks the expectations: every expected request was made, none other.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] describing each unexpected or differing request and each
    /// expectation left unused.
    pub fn done(&self) -> Result<()> {
        lock(&self.inner.script).done(|r| format!("scan {r:?}"))
    }

    /// Whether a job is running (its stream is alive and has not ended).
    pub fn is_busy(&self) -> bool {
        self.inner.busy.load(Ordering::SeqCst)
    }

    /// Jobs started so far.
    pub fn jobs_started(&self) -> u64 {
        self.inner.jobs_started.load(Ordering::SeqCst)
    }

    /// Jobs that ended normally (last page, or feeder empty).
    pub fn jobs_completed(&self) -> u64 {
        self.inner.jobs_completed.load(Ordering::SeqCst)
    }

    /// Jobs that ended with an error in the stream.
    pub fn jobs_failed(&self) -> u64 {
        self.inner.jobs_failed.load(Ordering::SeqCst)
    }

    /// Jobs cancelled by dropping their stream before it ended.
    pub fn jobs_cancelled(&self) -> u64 {
        self.inner.jobs_cancelled.load(Ordering::SeqCst)
    }

    /// Pages delivered over all jobs.
    pub fn pages_delivered(&self) -> u64 {
        self.inner.pages_delivered.load(Ordering::SeqCst)
    }

    fn id(&self) -> String {
        self.inner.info.id.to_string()
    }

    /// The pixel format a request asks for.
    pub fn pixel_format(request: &ScanRequest) -> PixelFormat {
        match (request.mode, request.effective_depth()) {
            (ColorMode::Lineart, _) => PixelFormat::Bw1,
            (ColorMode::Gray, 16) => PixelFormat::Gray16,
            (ColorMode::Gray, _) => PixelFormat::Gray8,
            (ColorMode::Color, 16) => PixelFormat::Rgb16,
            _ => PixelFormat::Rgb8,
        }
    }

    fn content(&self, format: PixelFormat, w: u32, h: u32, dpi: u32) -> Bytes {
        let key = (format, w, h, dpi);
        if let Some(b) = lock(&self.inner.cache).get(&key) {
            return b.clone();
        }
        let b = render_page(format, w, h, dpi);
        lock(&self.inner.cache).insert(key, b.clone());
        b
    }

    fn check_request(&self, req: &ScanRequest, caps: &ScanCapabilities) -> Result<()> {
        let id = self.id();
        req.validate(&id)?;
        let unsupported = |what: String| {
            Error::new(ErrorKind::Unsupported, id.clone(), "start scan").with_detail(what)
        };
        if !caps.resolutions.contains(req.resolution) {
            return Err(unsupported(format!(
                "{} dpi not offered ({:?})",
                req.resolution, caps.resolutions
            )));
        }
        if !caps.modes.contains(&req.mode) {
            return Err(unsupported(format!("mode {} not offered", req.mode)));
        }
        if !caps.depths.contains(&req.effective_depth()) {
            return Err(unsupported(format!(
                "depth {} not offered",
                req.effective_depth()
            )));
        }
        if !caps.sources.contains(&req.source) {
            return Err(unsupported(format!(
                "source {} not offered ({:?})",
                req.source, caps.sources
            )));
        }
        if let Some(a) = req.area {
            if a.x_mm + a.width_mm > caps.max_area_mm.0 + 1e-6
                || a.y_mm + a.height_mm > caps.max_area_mm.1 + 1e-6
            {
                return Err(
                    Error::new(ErrorKind::InvalidInput, id, "start scan").with_detail(format!(
                        "area {a:?} exceeds the scan area {:?} mm",
                        caps.max_area_mm
                    )),
                );
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Scanner for MockScanner {
    fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    async fn capabilities(&self) -> Result<ScanCapabilities> {
        let c = lock(&self.inner.cfg);
        if c.gone {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.id(),
                "read capabilities",
            ));
        }
        Ok(c.caps.clone())
    }

    async fn scan(&self, request: &ScanRequest) -> Result<PageStream> {
        let id = self.id();
        {
            let mut script = lock(&self.inner.script);
            if script.is_armed() {
                match script.next(|| format!("scan {request:?}")) {
                    Some(expected) if &expected == request => {}
                    Some(expected) => {
                        script.problem(format!("scan {request:?}, expected scan {expected:?}"));
                        return Err(Error::new(ErrorKind::InvalidInput, id, "start scan")
                            .with_detail("request differs from the expected one"));
                    }
                    None => {
                        return Err(Error::new(ErrorKind::InvalidInput, id, "start scan")
                            .with_detail("unexpected scan request"));
                    }
                }
            }
        }
        let cfg = {
            let mut c = lock(&self.inner.cfg);
            if c.gone {
                return Err(Error::new(ErrorKind::DeviceGone, id, "start scan"));
            }
            if let Some(kind) = c.start_failure.take() {
                return Err(Error::new(kind, id, "start scan").with_detail("injected failure"));
            }
            c.clone()
        };
        self.check_request(request, &cfg.caps)?;
        if self
            .inner
            .busy
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(Error::new(ErrorKind::Busy, id, "start scan")
                .with_detail("another job is running on this scanner"));
        }
        // From here on the guard inside `Job` releases `busy`.
        let format = Self::pixel_format(request);
        let dpi = request.resolution;
        // No area is the whole area of the source, as the SANE backend scans it.
        let (w, h) = request
            .area
            .unwrap_or(ScanArea::whole(cfg.caps.max_area_mm))
            .pixels(dpi);
        let mut job = Job {
            scanner: self.clone(),
            format,
            width: w,
            height: h,
            dpi,
            content: Bytes::new(),
            next: 0,
            total: 0,
            adf: request.source != Source::Flatbed,
            outcome: None,
        };
        job.content = self.content(format, w, h, dpi);
        let sides = if request.source == Source::AdfDuplex {
            2
        } else {
            1
        };
        let available = if job.adf {
            cfg.adf_sheets.saturating_mul(sides)
        } else {
            1
        };
        job.total = request.max_pages.map_or(available, |m| m.min(available));
        self.inner.jobs_started.fetch_add(1, Ordering::SeqCst);
        tracing::debug!(device = %id, ?format, w, h, dpi, pages = job.total, "mock scan started");
        let stream = futures_util::stream::unfold(job, |mut job| async move {
            let item = job.next_page().await?;
            Some((item, job))
        });
        Ok(PageStream::new(stream))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Completed,
    Failed,
}

/// One running job; dropping it before it ended counts as a cancellation.
struct Job {
    scanner: MockScanner,
    format: PixelFormat,
    width: u32,
    height: u32,
    dpi: u32,
    content: Bytes,
    next: u32,
    total: u32,
    adf: bool,
    outcome: Option<Outcome>,
}

impl Job {
    /// Ends the job and releases the scanner for the next one (once).
    fn finish(&mut self, outcome: Outcome) {
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
            self.scanner.inner.busy.store(false, Ordering::SeqCst);
        }
    }

    fn fail(&mut self, err: Error) -> Option<Result<Page>> {
        self.finish(Outcome::Failed);
        Some(Err(err.with_pages(self.next as usize)))
    }

    async fn next_page(&mut self) -> Option<Result<Page>> {
        if self.outcome.is_some() {
            return None;
        }
        let id = self.scanner.id();
        let page_no = self.next + 1;
        let op = format!("scan page {page_no}");
        if self.next >= self.total {
            if self.adf && self.next == 0 {
                return self.fail(
                    Error::new(ErrorKind::NoDocuments, id, op).with_detail("the feeder is empty"),
                );
            }
            self.finish(Outcome::Completed);
            return None;
        }
        let delay = lock(&self.scanner.inner.cfg).page_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let (gone, hang, fault) = {
            let mut c = lock(&self.scanner.inner.cfg);
            let fault = c.faults.iter().position(|f| f.page == page_no);
            let fault = match fault {
                Some(i) if c.faults[i].once => Some(c.faults.remove(i)),
                Some(i) => Some(c.faults[i]),
                None => None,
            };
            (c.gone, c.hang_at == Some(page_no), fault)
        };
        if gone {
            return self.fail(Error::new(ErrorKind::DeviceGone, id, op));
        }
        if hang {
            tracing::debug!(device = %id, page = page_no, "mock scanner hangs");
            std::future::pending::<()>().await;
        }
        if let Some(f) = fault {
            return self.fail(Error::new(f.kind, id, op).with_detail("injected fault"));
        }
        let page = Page::raw(
            self.next,
            self.width,
            self.height,
            (self.dpi, self.dpi),
            self.format,
            self.content.clone(),
        );
        match page {
            Ok(p) => {
                self.next += 1;
                self.scanner
                    .inner
                    .pages_delivered
                    .fetch_add(1, Ordering::SeqCst);
                Some(Ok(p))
            }
            Err(e) => self.fail(e),
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        let inner = &self.scanner.inner;
        match self.outcome {
            Some(Outcome::Completed) => inner.jobs_completed.fetch_add(1, Ordering::SeqCst),
            Some(Outcome::Failed) => inner.jobs_failed.fetch_add(1, Ordering::SeqCst),
            None => {
                tracing::debug!(device = %inner.info.id, page = self.next + 1, "mock scan cancelled");
                // Still holding the scanner: release it.
                inner.busy.store(false, Ordering::SeqCst);
                inner.jobs_cancelled.fetch_add(1, Ordering::SeqCst)
            }
        };
    }
}
