//! [`MockPrinter`]: a [`Printer`] that records every document it is sent, with state reasons
//! the test sets (media-empty holds jobs, media-jam stops them), a job lifecycle
//! pending -> processing -> completed driven by tokio time, cancel, configurable accepted
//! formats, injected failures and expected prints checked by [`MockPrinter::done`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::time::Instant;

use super::script::{lock, Script};
use crate::device::{DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::print::convert::{self, Target};
use crate::print::{
    Document, DocumentFormat, JobId, JobState, JobStatus, PrintOptions, PrintQuality, Printer,
    PrinterCapabilities, PrinterState, PrinterStatus, RasterSupport, Sides, StateReason, Supply,
};

/// A document the mock printer received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrintedDocument {
    /// The job it became.
    pub job: JobId,
    /// Its format (for a scanned page: JPEG, or PWG raster for raw pixels).
    pub format: DocumentFormat,
    /// Its name, if it had one.
    pub name: Option<String>,
    /// The options it was printed with.
    pub options: PrintOptions,
    /// Its bytes as the printer receives them: the document as it is, or converted or
    /// rendered exactly as the IPP backend would send it
    /// ([`convert::body`](crate::print::convert::body)).
    pub data: Bytes,
}

/// A scriptable mock printer. Cloning shares the printer.
///
/// Jobs start `Pending`, turn `Processing` after the pending time and `Completed` after the
/// processing time (tokio time: a paused clock makes this instant and deterministic). While a
/// state reason of severity error is set (e.g. `media-empty-error`, `door-open-error`), jobs
/// make no progress: pending jobs stay `Pending` and processing ones are `Stopped`
/// (`media-jam-error` thus stops the job being printed); clearing the reason resumes them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> buergerkoffer::Result<()> {
/// use std::time::Duration;
/// use buergerkoffer::Printer;
/// use buergerkoffer::mock::MockPrinter;
/// use buergerkoffer::print::{Document, JobState, PrintOptions, StateReason};
/// let printer = MockPrinter::new("printer");
/// printer.set_reasons(vec![StateReason::from_keyword("media-empty-error").unwrap()]);
/// let job = printer.print(Document::pdf(&b"%PDF-1.7"[..]), &PrintOptions::new()).await?;
/// tokio::time::sleep(Duration::from_secs(60)).await;
/// assert_eq!(printer.job(job).await?.state, JobState::Pending); // waits: no paper (reasons say printer-stopped, media-empty-error)
/// printer.clear_reasons();
/// let done = printer.wait_for_job(job, Duration::from_secs(10), Duration::from_millis(100)).await?;
/// assert_eq!(done.state, JobState::Completed);
/// assert_eq!(printer.documents()[0].data.as_ref(), b"%PDF-1.7");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockPrinter {
    inner: Arc<Inner>,
}

/// An expected print: the format and options the code under test should send.
type PrintExpectation = (DocumentFormat, PrintOptions);

struct Inner {
    info: DeviceInfo,
    state: Mutex<State>,
    script: Mutex<Script<PrintExpectation>>,
}

struct State {
    reasons: Vec<StateReason>,
    supplies: Vec<Supply>,
    caps: PrinterCapabilities,
    jobs: BTreeMap<u32, Job>,
    next_id: u32,
    pending_time: Duration,
    processing_time: Duration,
    last: Option<Instant>,
    gone: bool,
    accepting: bool,
    fail_next_print: Option<ErrorKind>,
    identified: u32,
}

struct Job {
    record: PrintedDocument,
    state: JobState,
    /// Time left in the current phase (pending or processing).
    left: Duration,
    /// Sides the job prints (pages x copies), when the mock can count the pages it got.
    impressions: Option<u32>,
    /// Sides printed so far.
    done: u32,
}

/// Sides a document prints: its pages (PWG raster and URF headers, a PDF's page tree as the
/// printer selects `page-ranges`, one JPEG) times the copies; `None` for what it cannot read.
fn impressions_of(r: &PrintedDocument) -> Option<u32> {
    let be32 = |at: usize| {
        r.data
            .get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let pages = match r.format {
        DocumentFormat::PwgRaster if r.data.starts_with(b"RaS2") => {
            be32(4 + 452).filter(|&n| n > 0)?
        }
        DocumentFormat::Urf if r.data.starts_with(b"UNIRAST\0") => be32(8).filter(|&n| n > 0)?,
        DocumentFormat::Jpeg => 1,
        DocumentFormat::Pdf => {
            let pdf = crate::print::render::source::open_pdf(r.data.clone()).ok()?;
            let n = u32::try_from(pdf.pages().len()).ok()?;
            (1..=n).filter(|&p| r.options.prints_page(p)).count() as u32
        }
        _ => return None,
    };
    pages.checked_mul(r.options.copies.max(1))
}

impl fmt::Debug for MockPrinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.inner.state);
        f.debug_struct("MockPrinter")
            .field("id", &self.inner.info.id)
            .field("reasons", &s.reasons)
            .field("jobs", &s.jobs.len())
            .finish()
    }
}

impl State {
    /// The status of job `n`, with the printer's blocking reason while it waits.
    fn job_status(&self, n: u32) -> Option<JobStatus> {
        let j = self.jobs.get(&n)?;
        let mut st = JobStatus::new(JobId(n), j.state);
        st.name = j.record.name.clone();
        st.impressions_completed = j.impressions.map(|_| j.done);
        if !j.state.is_terminal() {
            if let Some(r) = self.blocking() {
                st.reasons.push("printer-stopped".into());
                st.printer_state_reasons.push(r.keyword());
            }
        }
        Some(st)
    }

    fn blocking(&self) -> Option<&StateReason> {
        self.reasons.iter().find(|r| r.blocking_error().is_some())
    }

    /// Moves the job lifecycle forward to now; the reasons were constant since the last call.
    fn advance(&mut self) {
        let now = Instant::now();
        let dt = self
            .last
            .map_or(Duration::ZERO, |l| now.saturating_duration_since(l));
        self.last = Some(now);
        let blocked = self.blocking().is_some();
        let processing_time = self.processing_time;
        for job in self.jobs.values_mut() {
            if job.state.is_terminal() {
                continue;
            }
            if blocked {
                if job.state == JobState::Processing {
                    job.state = JobState::Stopped;
                }
                continue;
            }
            if job.state == JobState::Stopped {
                job.state = JobState::Processing;
            }
            let mut t = dt;
            if job.state == JobState::Pending {
                if t >= job.left {
                    t -= job.left;
                    job.state = JobState::Processing;
                    job.left = processing_time;
                } else {
                    job.left -= t;
                    continue;
                }
            }
            if job.state == JobState::Processing {
                if t >= job.left {
                    job.state = JobState::Completed;
                    job.left = Duration::ZERO;
                } else {
                    job.left -= t;
                }
                // Sides printed: the share of the processing time gone by.
                if let Some(total) = job.impressions {
                    let gone = processing_time.saturating_sub(job.left).as_secs_f64();
                    let share = gone / processing_time.as_secs_f64().max(f64::EPSILON);
                    job.done = ((f64::from(total) * share.min(1.0)) as u32).min(total);
                }
            }
        }
    }
}

impl MockPrinter {
    /// A printer with id `mock:NAME`: accepts PDF, JPEG and PWG raster, A4 and letter, simplex
    /// and duplex, colour, 99 copies, trays `main` and `manual`, paper `stationery` and
    /// `labels`, three qualities, page ranges; jobs pend 50 ms and print for 500 ms, their
    /// sides printed (`impressions_completed`: pages x copies, for the PDF, PWG raster, URF
    /// or JPEG it can count) growing as they print.
    pub fn new(name: &str) -> Self {
        let id = DeviceId::mock(name);
        let info = DeviceInfo::new(
            id.clone(),
            DeviceKind::Printer,
            format!("Mock printer {name}"),
        )
        .with_vendor("buergerkoffer");
        let caps = PrinterCapabilities {
            formats: vec![
                DocumentFormat::Pdf,
                DocumentFormat::Jpeg,
                DocumentFormat::PwgRaster,
            ],
            media_supported: vec!["iso_a4_210x297mm".into(), "na_letter_8.5x11in".into()],
            media_ready: vec!["iso_a4_210x297mm".into()],
            sides: vec![
                Sides::OneSided,
                Sides::TwoSidedLongEdge,
                Sides::TwoSidedShortEdge,
            ],
            color: true,
            max_copies: 99,
            resolutions: vec![(300, 300), (600, 600)],
            media_default: Some("iso_a4_210x297mm".into()),
            media_sources: vec!["main".into(), "manual".into()],
            media_types: vec!["stationery".into(), "labels".into()],
            qualities: vec![
                PrintQuality::Draft,
                PrintQuality::Normal,
                PrintQuality::High,
            ],
            page_ranges: true,
            raster: RasterSupport::default(),
        };
        MockPrinter {
            inner: Arc::new(Inner {
                info,
                state: Mutex::new(State {
                    reasons: Vec::new(),
                    supplies: Vec::new(),
                    caps,
                    jobs: BTreeMap::new(),
                    next_id: 1,
                    pending_time: Duration::from_millis(50),
                    processing_time: Duration::from_millis(500),
                    last: None,
                    gone: false,
                    accepting: true,
                    fail_next_print: None,
                    identified: 0,
                }),
                script: Mutex::new(Script::new(id.to_string())),
            }),
        }
    }

    /// Accepts only these formats; others are refused with [`ErrorKind::Unsupported`] naming
    /// the accepted ones.
    #[must_use]
    pub fn with_formats(self, formats: Vec<DocumentFormat>) -> Self {
        lock(&self.inner.state).caps.formats = formats;
        self
    }

    /// Sets the whole capabilities (formats, media, raster support...), e.g. those an IPP
    /// printer reported, so the mock converts documents exactly as that printer is sent them.
    #[must_use]
    pub fn with_capabilities(self, caps: PrinterCapabilities) -> Self {
        lock(&self.inner.state).caps = caps;
        self
    }

    /// Sets how long jobs stay pending and processing (tokio time).
    #[must_use]
    pub fn with_durations(self, pending: Duration, processing: Duration) -> Self {
        {
            let mut s = lock(&self.inner.state);
            s.pending_time = pending;
            s.processing_time = processing;
        }
        self
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        let mut s = lock(&self.inner.state);
        // Progress up to now happens under the old reasons.
        s.advance();
        f(&mut s);
    }

    /// Replaces the printer-state-reasons (e.g. `media-empty-error`).
    pub fn set_reasons(&self, reasons: Vec<StateReason>) {
        self.update(|s| s.reasons = reasons);
    }

    /// Adds one state reason.
    pub fn add_reason(&self, reason: StateReason) {
        self.update(|s| s.reasons.push(reason));
    }

    /// Sets the supplies [`Printer::status`] reports (none by default). Levels are reported
    /// as set; they do not change by printing, and a low level stops nothing (the printer's
    /// reasons, e.g. `toner-empty-error`, do that).
    pub fn set_supplies(&self, supplies: Vec<Supply>) {
        lock(&self.inner.state).supplies = supplies;
    }

    /// Clears all state reasons: held and stopped jobs resume.
    pub fn clear_reasons(&self) {
        self.update(|s| s.reasons.clear());
    }

    /// Unplugs (`true`) or re-plugs the printer: while unplugged every call fails with
    /// [`ErrorKind::DeviceGone`].
    pub fn set_gone(&self, gone: bool) {
        self.update(|s| s.gone = gone);
    }

    /// Whether the printer accepts jobs; when not, `print` fails with [`ErrorKind::Busy`].
    pub fn set_accepting(&self, accepting: bool) {
        self.update(|s| s.accepting = accepting);
    }

    /// The next `print` fails with `kind` before a job is created.
    pub fn fail_next_print(&self, kind: ErrorKind) {
        self.update(|s| s.fail_next_print = Some(kind));
    }

    /// Every document received so far, in job order.
    pub fn documents(&self) -> Vec<PrintedDocument> {
        lock(&self.inner.state)
            .jobs
            .values()
            .map(|j| j.record.clone())
            .collect()
    }

    /// Expects prints of these (format, options), in order. Call [`done`](Self::done) at the
    /// end; a print that differs is refused with [`ErrorKind::InvalidInput`].
    pub fn expect_prints(&self, prints: impl IntoIterator<Item = (DocumentFormat, PrintOptions)>) {
        lock(&self.inner.script).expect(prints);
    }

    /// Checks the expectations.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] describing each unexpected or differing print and each
    /// expectation left unused.
    pub fn done(&self) -> Result<()> {
        lock(&self.inner.script).done(|(f, o)| format!("print {f} with {o:?}"))
    }

    fn id(&self) -> String {
        self.inner.info.id.to_string()
    }

    fn checked(&self, op: &'static str) -> Result<std::sync::MutexGuard<'_, State>> {
        let mut s = lock(&self.inner.state);
        s.advance();
        if s.gone {
            return Err(Error::new(ErrorKind::DeviceGone, self.id(), op));
        }
        Ok(s)
    }

    /// How often [`Printer::identify`] was called.
    pub fn identify_count(&self) -> u32 {
        lock(&self.inner.state).identified
    }

    fn check_options(&self, caps: &PrinterCapabilities, o: &PrintOptions) -> Result<()> {
        o.validate(&self.id())?;
        caps.check_job_template(&self.id(), o)?;
        let bad = |what: String| {
            Error::new(ErrorKind::InvalidInput, self.id(), "print").with_detail(what)
        };
        if o.copies == 0 || o.copies > caps.max_copies {
            return Err(bad(format!(
                "{} copies, expected 1..={}",
                o.copies, caps.max_copies
            )));
        }
        if !caps.sides.contains(&o.sides) {
            return Err(bad(format!("sides {} not supported", o.sides.keyword())));
        }
        if let Some(m) = &o.media {
            if !caps.media_supported.contains(m) {
                return Err(bad(format!("media {m} not supported")));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Printer for MockPrinter {
    fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    async fn capabilities(&self) -> Result<PrinterCapabilities> {
        Ok(self.checked("read capabilities")?.caps.clone())
    }

    async fn status(&self) -> Result<PrinterStatus> {
        let s = self.checked("read status")?;
        let state = if s.blocking().is_some() {
            PrinterState::Stopped
        } else if s.jobs.values().any(|j| j.state == JobState::Processing) {
            PrinterState::Processing
        } else {
            PrinterState::Idle
        };
        let mut st = PrinterStatus::new(state, s.reasons.clone());
        st.supplies = s.supplies.clone();
        Ok(st)
    }

    async fn print(&self, document: Document, options: &PrintOptions) -> Result<JobId> {
        let id = self.id();
        {
            let mut script = lock(&self.inner.script);
            if script.is_armed() {
                let what = || format!("print {} with {options:?}", document.format);
                match script.next(what) {
                    Some((f, o)) if f == document.format && &o == options => {}
                    Some((f, o)) => {
                        script.problem(format!("{}, expected print {f} with {o:?}", what()));
                        return Err(Error::new(ErrorKind::InvalidInput, id, "print")
                            .with_detail("print differs from the expected one"));
                    }
                    None => {
                        return Err(Error::new(ErrorKind::InvalidInput, id, "print")
                            .with_detail("unexpected print"))
                    }
                }
            }
        }
        let caps = {
            let mut s = self.checked("print")?;
            if let Some(kind) = s.fail_next_print.take() {
                return Err(Error::new(kind, id, "print").with_detail("injected failure"));
            }
            if !s.accepting {
                return Err(Error::new(ErrorKind::Busy, id, "print")
                    .with_detail("the printer is not accepting jobs"));
            }
            s.caps.clone()
        };
        self.check_options(&caps, options)?;
        // The same negotiation and conversion as the IPP backend: a scanned page becomes PWG
        // raster, JPEG or PDF as the printer's formats say; other documents go as they are.
        let plan = convert::plan(&id, &document, options, &Target::new(&caps))?;
        let format = plan.format();
        let name = document.name.clone();
        // Exactly what the IPP backend would send: the same body, read whole.
        let data = convert::body_bytes(&id, document, &plan, options.media.as_deref()).await?;
        let mut s = self.checked("print")?;
        let n = s.next_id;
        s.next_id += 1;
        let job = JobId(n);
        let left = s.pending_time;
        tracing::debug!(device = %id, %job, bytes = data.len(), %format, "mock print");
        let record = PrintedDocument {
            job,
            format,
            name,
            options: options.clone(),
            data,
        };
        let impressions = impressions_of(&record);
        s.jobs.insert(
            n,
            Job {
                record,
                state: JobState::Pending,
                left,
                impressions,
                done: 0,
            },
        );
        Ok(job)
    }

    async fn job(&self, job: JobId) -> Result<JobStatus> {
        let s = self.checked("get job")?;
        s.job_status(job.0)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, self.id(), format!("get {job}")))
    }

    async fn jobs(&self) -> Result<Vec<JobStatus>> {
        let s = self.checked("list jobs")?;
        Ok(s.jobs
            .iter()
            .filter(|(_, j)| !j.state.is_terminal())
            .filter_map(|(n, _)| s.job_status(*n))
            .collect())
    }

    async fn identify(&self) -> Result<()> {
        self.checked("identify")?.identified += 1;
        Ok(())
    }

    async fn cancel(&self, job: JobId) -> Result<()> {
        let mut s = self.checked("cancel job")?;
        let id = self.id();
        let j = s
            .jobs
            .get_mut(&job.0)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, id.clone(), format!("cancel {job}")))?;
        if j.state.is_terminal() {
            return Err(
                Error::new(ErrorKind::InvalidInput, id, format!("cancel {job}"))
                    .with_detail(format!("the job has already ended ({:?})", j.state)),
            );
        }
        j.state = JobState::Canceled;
        Ok(())
    }
}
