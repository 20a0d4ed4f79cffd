//! [`MockScanner`]: a scriptable scanner with an ADF, faults at chosen pages, delays, hangs,
//! and expectations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::content;
use super::script::{panic_if_done_owed, Expectations};
use crate::device::{DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{
    ColorMode, Page, PageStream, PixelFormat, Resolutions, ScanArea, ScanCapabilities, ScanRequest,
    Scanner, Source,
};

/// What happens at a scripted page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScanFault {
    /// The job fails with this error kind (pages before it are delivered).
    Fail(ErrorKind),
    /// The page never arrives (to test a caller's timeout). Dropping the stream ends it.
    Hang,
}

/// Counters a test can read to see what the scanner did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScannerStats {
    /// Jobs started.
    pub jobs_started: u32,
    /// Jobs whose stream was dropped before the job ended (cancelled).
    pub jobs_cancelled: u32,
    /// Pages delivered over all jobs.
    pub pages_delivered: u64,
}

#[derive(Debug)]
struct State {
    feeder: Option<u32>,
    page_delay: Duration,
    faults: Vec<(u32, ScanFault)>,
    busy: bool,
    gone: bool,
    stats: ScannerStats,
    expectations: Expectations<ScanRequest>,
}

#[derive(Debug)]
struct Inner {
    info: DeviceInfo,
    caps: ScanCapabilities,
    state: Mutex<State>,
    cache: Mutex<HashMap<(PixelFormat, u32, u32, u32), Bytes>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        panic_if_done_owed(st.expectations.owes_done(), st.expectations.device());
    }
}

/// A mock scanner. Cheap to clone: clones share the device, so a test keeps one handle to
/// inject faults while the code under test scans through another (or through a [`Kit`](crate::Kit)).
///
/// Flatbed jobs give one page. ADF jobs give pages until the feeder is empty or
/// `max_pages` is reached; duplex gives two pages per sheet. An ADF empty at the first page
/// fails with [`ErrorKind::NoDocuments`]; running empty later ends the job normally.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{ErrorKind, Scanner, mock::MockScanner, scan::{ScanRequest, Source}};
/// let scanner = MockScanner::new("scanner").feeder(5).fail_at(3, ErrorKind::PaperJam);
/// let req = ScanRequest::new().resolution(50).source(Source::Adf);
/// let mut pages = scanner.scan(&req).await?;
/// assert!(pages.next_page().await.unwrap().is_ok());
/// assert!(pages.next_page().await.unwrap().is_ok());
/// let err = pages.next_page().await.unwrap().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::PaperJam);
/// assert!(pages.next_page().await.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct MockScanner {
    inner: Arc<Inner>,
}

impl MockScanner {
    /// A scanner with id `mock:NAME`, flatbed and an ADF with an endless stack of paper.
    pub fn new(name: &str) -> Self {
        let id = DeviceId::mock(name);
        let caps = ScanCapabilities::new(
            Resolutions::List(vec![50, 75, 100, 150, 200, 300, 600]),
            vec![ColorMode::Lineart, ColorMode::Gray, ColorMode::Color],
            vec![1, 8, 16],
            vec![Source::Flatbed, Source::Adf, Source::AdfDuplex],
            (215.9, 355.6),
        );
        let device = id.to_string();
        MockScanner {
            inner: Arc::new(Inner {
                info: DeviceInfo::new(
                    id,
                    DeviceKind::Scanner,
                    format!("Mock document scanner {name}"),
                )
                .with_vendor("buergerkoffer"),
                caps,
                state: Mutex::new(State {
                    feeder: None,
                    page_delay: Duration::ZERO,
                    faults: Vec::new(),
                    busy: false,
                    gone: false,
                    stats: ScannerStats::default(),
                    expectations: Expectations::new(device),
                }),
                cache: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    /// Puts `sheets` sheets in the feeder (replacing what was there).
    #[must_use]
    pub fn feeder(self, sheets: u32) -> Self {
        self.set_feeder(Some(sheets));
        self
    }

    /// Sets the feeder at run time; `None` is an endless stack.
    pub fn set_feeder(&self, sheets: Option<u32>) {
        self.state().feeder = sheets;
    }

    /// Sheets left in the feeder (`None`: endless).
    pub fn feeder_sheets(&self) -> Option<u32> {
        self.state().feeder
    }

    /// Waits `delay` before each page (tokio time: use a paused clock in tests).
    #[must_use]
    pub fn page_delay(self, delay: Duration) -> Self {
        self.state().page_delay = delay;
        self
    }

    /// The next job fails with `kind` at page `page` (1-based within the job). One-shot: the
    /// fault is used up when it fires, like a jam the clerk clears.
    #[must_use]
    pub fn fail_at(self, page: u32, kind: ErrorKind) -> Self {
        self.inject(page, ScanFault::Fail(kind));
        self
    }

    /// The next job hangs at page `page` (1-based) until its stream is dropped. One-shot.
    #[must_use]
    pub fn hang_at(self, page: u32) -> Self {
        self.inject(page, ScanFault::Hang);
        self
    }

    /// Adds a fault at run time (one-shot, page 1-based within the next job that reaches it).
    pub fn inject(&self, page: u32, fault: ScanFault) {
        self.state().faults.push((page, fault));
    }

    /// The scanner is unplugged: running jobs fail at their next page with
    /// [`ErrorKind::DeviceGone`], new ones at once.
    pub fn unplug(&self) {
        self.state().gone = true;
    }

    /// Expects a scan with exactly this request next. Check with [`done`](MockScanner::done).
    #[must_use]
    pub fn expect_scan(self, request: ScanRequest) -> Self {
        self.state().expectations.push(request);
        self
    }

    /// Reports any difference from the expected scans (unexpected or missing requests).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] listing every difference.
    pub fn done(&self) -> Result<()> {
        let unused = self
            .state()
            .faults
            .iter()
            .map(|(p, f)| format!("fault {f:?} at page {p} never fired"))
            .collect::<Vec<_>>();
        let mut st = self.state();
        if !unused.is_empty() {
            st.expectations.arm();
        }
        st.expectations.done(unused)
    }

    /// What the scanner did so far.
    pub fn stats(&self) -> ScannerStats {
        self.state().stats
    }

    /// Whether a job is running.
    pub fn is_busy(&self) -> bool {
        self.state().busy
    }

    /// The page content for a format and size (generated once, then shared).
    fn content(&self, format: PixelFormat, w: u32, h: u32, seed: u32) -> Bytes {
        let key = (format, w, h, seed);
        if let Some(b) = lock(&self.inner.cache).get(&key) {
            return b.clone();
        }
        let b = content::render(format, w, h, seed);
        lock(&self.inner.cache).insert(key, b.clone());
        b
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in a test thread must not poison the mock for the rest of the test.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn format_for(req: &ScanRequest) -> PixelFormat {
    match (req.mode, req.effective_depth()) {
        (ColorMode::Lineart, _) => PixelFormat::Bw1,
        (ColorMode::Gray, 16) => PixelFormat::Gray16,
        (ColorMode::Gray, _) => PixelFormat::Gray8,
        (_, 16) => PixelFormat::Rgb16,
        _ => PixelFormat::Rgb8,
    }
}

/// One running job; dropping it before the end counts as a cancel.
struct Job {
    scanner: MockScanner,
    request: ScanRequest,
    format: PixelFormat,
    size: (u32, u32),
    delivered: u32,
    finished: bool,
}

impl Job {
    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            self.scanner.state().busy = false;
        }
    }

    async fn next(&mut self) -> Option<Result<Page>> {
        if self.finished {
            return None;
        }
        let page_no = self.delivered + 1;
        let device = self.scanner.inner.info.id.to_string();
        let (delay, fault, gone, sheet_needed, feeder) = {
            let mut st = self.scanner.state();
            let fault = st
                .faults
                .iter()
                .position(|(p, _)| *p == page_no)
                .map(|i| st.faults.remove(i).1);
            let duplex_back = self.request.source == Source::AdfDuplex && page_no % 2 == 0;
            let sheet_needed = self.request.source != Source::Flatbed && !duplex_back;
            (st.page_delay, fault, st.gone, sheet_needed, st.feeder)
        };
        // Job end: flatbed after one page, max_pages, or an empty feeder.
        let limit_reached = match self.request.source {
            Source::Flatbed => self.delivered >= 1,
            _ => self.request.max_pages.is_some_and(|m| self.delivered >= m),
        };
        if limit_reached {
            self.finish();
            return None;
        }
        if gone {
            self.finish();
            return Some(Err(Error::new(
                ErrorKind::DeviceGone,
                device,
                format!("scan page {page_no}"),
            )
            .with_detail("scanner unplugged")
            .with_pages(self.delivered as usize)));
        }
        if sheet_needed && feeder == Some(0) {
            self.finish();
            if self.delivered == 0 {
                return Some(Err(Error::new(
                    ErrorKind::NoDocuments,
                    device,
                    "scan page 1",
                )
                .with_detail("the feeder is empty")));
            }
            return None;
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match fault {
            Some(ScanFault::Hang) => std::future::pending::<()>().await,
            Some(ScanFault::Fail(kind)) => {
                self.finish();
                return Some(Err(Error::new(
                    kind,
                    device,
                    format!("scan page {page_no}"),
                )
                .with_detail("injected by the mock")
                .with_pages(self.delivered as usize)));
            }
            None => {}
        }
        if sheet_needed {
            let mut st = self.scanner.state();
            if let Some(n) = st.feeder.as_mut() {
                *n = n.saturating_sub(1);
            }
        }
        let (w, h) = self.size;
        let pixels = self.scanner.content(self.format, w, h, page_no % 2);
        let dpi = self.request.resolution;
        let page = Page::raw(self.delivered, w, h, (dpi, dpi), self.format, pixels);
        self.delivered += 1;
        self.scanner.state().stats.pages_delivered += 1;
        Some(page)
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if !self.finished {
            self.finished = true;
            let mut st = self.scanner.state();
            st.busy = false;
            st.stats.jobs_cancelled += 1;
        }
    }
}

#[async_trait]
impl Scanner for MockScanner {
    fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    async fn capabilities(&self) -> Result<ScanCapabilities> {
        if self.state().gone {
            return Err(Error::new(
                ErrorKind::DeviceGone,
                self.inner.info.id.to_string(),
                "read capabilities",
            ));
        }
        Ok(self.inner.caps.clone())
    }

    async fn scan(&self, request: &ScanRequest) -> Result<PageStream> {
        let device = self.inner.info.id.to_string();
        request.validate(&device)?;
        let caps = &self.inner.caps;
        if !caps.resolutions.contains(request.resolution) {
            return Err(
                Error::new(ErrorKind::Unsupported, device, "start scan").with_detail(format!(
                    "{} dpi is not offered ({:?})",
                    request.resolution, caps.resolutions
                )),
            );
        }
        let area = request.area.unwrap_or(ScanArea::A4);
        if area.x_mm + area.width_mm > caps.max_area_mm.0 + 0.01
            || area.y_mm + area.height_mm > caps.max_area_mm.1 + 0.01
        {
            return Err(
                Error::new(ErrorKind::InvalidInput, device, "start scan").with_detail(format!(
                    "area {area:?} exceeds the scan area {:?} mm",
                    caps.max_area_mm
                )),
            );
        }
        {
            let mut st = self.state();
            st.expectations.check(request, "scan")?;
            if st.gone {
                return Err(Error::new(ErrorKind::DeviceGone, device, "start scan"));
            }
            if st.busy {
                return Err(Error::new(ErrorKind::Busy, device, "start scan")
                    .with_detail("another job is running"));
            }
            st.busy = true;
            st.stats.jobs_started += 1;
        }
        let job = Job {
            scanner: self.clone(),
            request: request.clone(),
            format: format_for(request),
            size: area.pixels(request.resolution),
            delivered: 0,
            finished: false,
        };
        Ok(PageStream::new(futures_util::stream::unfold(
            job,
            |mut job| async move { job.next().await.map(|item| (item, job)) },
        )))
    }
}
