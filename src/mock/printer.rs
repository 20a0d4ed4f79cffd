//! [`MockPrinter`]: records every document and its options; state reasons you can set
//! (media-empty holds jobs until cleared, a jam stops the job); a job lifecycle
//! pending -> processing -> completed in tokio time.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::Notify;

use super::script::{panic_if_done_owed, Expectations};
use crate::device::{DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::print::{
    Document, DocumentBody, DocumentFormat, JobId, JobState, JobStatus, PrintOptions, Printer,
    PrinterCapabilities, PrinterState, PrinterStatus, ReasonKind, Severity, Sides, StateReason,
};
use crate::scan::PageData;

/// A document the mock printer received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrintedDocument {
    /// The job it was printed in.
    pub job: JobId,
    /// Its format.
    pub format: DocumentFormat,
    /// Its name, if it had one.
    pub name: Option<String>,
    /// Its bytes (for a raw page: the raw pixels).
    pub data: Bytes,
    /// The options it was printed with.
    pub options: PrintOptions,
}

struct State {
    reasons: Vec<StateReason>,
    message: Option<String>,
    caps: PrinterCapabilities,
    jobs: BTreeMap<u32, JobStatus>,
    next_id: u32,
    printed: Vec<PrintedDocument>,
    processing_time: Duration,
    queue_running: bool,
    gone: bool,
    expectations: Expectations<(DocumentFormat, PrintOptions)>,
}

struct Inner {
    info: DeviceInfo,
    state: Mutex<State>,
    wake: Arc<Notify>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.wake.notify_waiters();
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        panic_if_done_owed(st.expectations.owes_done(), st.expectations.device());
    }
}

/// A mock printer. Cheap to clone; clones share the printer.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use std::time::Duration;
/// use buergerkoffer::{Printer, mock::MockPrinter, print::{Document, JobState, PrintOptions}};
/// let printer = MockPrinter::new("printer");
/// let job = printer.print(Document::pdf(&b"%PDF-1.7 ..."[..]), &PrintOptions::new().copies(2)).await?;
/// let end = printer.wait_for_job(job, Duration::from_secs(5), Duration::from_millis(10)).await?;
/// assert_eq!(end.state, JobState::Completed);
/// assert_eq!(printer.printed()[0].options.copies, 2);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockPrinter {
    inner: Arc<Inner>,
}

impl fmt::Debug for MockPrinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockPrinter")
            .field("id", &self.inner.info.id)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MockPrinter {
    /// A printer `mock:NAME` that accepts PDF, JPEG and PWG raster, A4 and Letter, duplex,
    /// colour; jobs take 100 ms (tokio time) to print.
    pub fn new(name: &str) -> Self {
        let id = DeviceId::mock(name);
        let device = id.to_string();
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
        };
        MockPrinter {
            inner: Arc::new(Inner {
                info: DeviceInfo::new(id, DeviceKind::Printer, format!("Mock printer {name}"))
                    .with_vendor("buergerkoffer"),
                state: Mutex::new(State {
                    reasons: Vec::new(),
                    message: None,
                    caps,
                    jobs: BTreeMap::new(),
                    next_id: 1,
                    printed: Vec::new(),
                    processing_time: Duration::from_millis(100),
                    queue_running: false,
                    gone: false,
                    expectations: Expectations::new(device),
                }),
                wake: Arc::new(Notify::new()),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    fn device(&self) -> String {
        self.inner.info.id.to_string()
    }

    /// Only these formats are accepted.
    #[must_use]
    pub fn accepting(self, formats: Vec<DocumentFormat>) -> Self {
        self.state().caps.formats = formats;
        self
    }

    /// How long each job prints (tokio time).
    #[must_use]
    pub fn processing_time(self, d: Duration) -> Self {
        self.state().processing_time = d;
        self
    }

    /// Sets a state reason (e.g. `media-empty-error`), replacing one of the same kind.
    pub fn set_reason(&self, reason: StateReason) {
        {
            let mut st = self.state();
            st.reasons.retain(|r| r.kind != reason.kind);
            st.reasons.push(reason);
        }
        self.inner.wake.notify_waiters();
    }

    /// Sets a reason by IPP keyword, e.g. `"media-jam-error"`.
    pub fn set_reason_keyword(&self, keyword: &str) {
        if let Some(r) = StateReason::from_keyword(keyword) {
            self.set_reason(r);
        }
    }

    /// Clears reasons of `kind`; held jobs resume.
    pub fn clear_reason(&self, kind: &ReasonKind) {
        self.state().reasons.retain(|r| &r.kind != kind);
        self.inner.wake.notify_one();
        self.inner.wake.notify_waiters();
    }

    /// Clears all reasons.
    pub fn clear_reasons(&self) {
        self.state().reasons.clear();
        self.inner.wake.notify_one();
        self.inner.wake.notify_waiters();
    }

    /// Sets the printer's state message.
    pub fn set_message(&self, message: Option<String>) {
        self.state().message = message;
    }

    /// Unplugs the printer: every call fails with [`ErrorKind::DeviceGone`].
    pub fn unplug(&self) {
        self.state().gone = true;
    }

    /// Every document received so far.
    pub fn printed(&self) -> Vec<PrintedDocument> {
        self.state().printed.clone()
    }

    /// Expects a print of `format` with exactly `options` next.
    #[must_use]
    pub fn expect_print(self, format: DocumentFormat, options: PrintOptions) -> Self {
        self.state().expectations.push((format, options));
        self
    }

    /// Reports unexpected or missing prints.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] listing every difference.
    pub fn done(&self) -> Result<()> {
        self.state().expectations.done(Vec::new())
    }

    fn check_present(&self, op: &'static str) -> Result<()> {
        if self.state().gone {
            return Err(Error::new(ErrorKind::DeviceGone, self.device(), op)
                .with_detail("printer unplugged"));
        }
        Ok(())
    }

    fn start_queue(&self) {
        let mut st = self.state();
        if st.queue_running {
            return;
        }
        st.queue_running = true;
        drop(st);
        tokio::spawn(run_queue(
            Arc::downgrade(&self.inner),
            self.inner.wake.clone(),
        ));
    }
}

fn blocking(reasons: &[StateReason]) -> Option<&StateReason> {
    reasons
        .iter()
        .find(|r| r.severity == Severity::Error && r.blocking_error().is_some())
}

/// Prints pending jobs one after another; waits while a blocking reason is set.
async fn run_queue(weak: Weak<Inner>, wake: Arc<Notify>) {
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let Some(inner) = weak.upgrade() else { return };
        let step = {
            let mut st = lock(&inner.state);
            let pending = st
                .jobs
                .values()
                .find(|j| j.state == JobState::Pending)
                .map(|j| j.id);
            match pending {
                None => {
                    st.queue_running = false;
                    return;
                }
                Some(id) if blocking(&st.reasons).is_some() => {
                    let reason = blocking(&st.reasons).map(StateReason::keyword);
                    if let Some(j) = st.jobs.get_mut(&id.0) {
                        j.reasons = vec!["printer-stopped".into()];
                        j.message = reason;
                    }
                    None
                }
                Some(id) => {
                    if let Some(j) = st.jobs.get_mut(&id.0) {
                        j.state = JobState::Processing;
                        j.reasons = vec!["job-printing".into()];
                        j.message = None;
                    }
                    Some((id, st.processing_time))
                }
            }
        };
        drop(inner);
        let Some((id, time)) = step else {
            notified.await;
            continue;
        };
        tokio::time::sleep(time).await;
        // A jam (or any blocking reason) during printing stops the job until cleared.
        loop {
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let Some(inner) = weak.upgrade() else { return };
            let blocked = {
                let mut st = lock(&inner.state);
                let reason = blocking(&st.reasons).map(StateReason::keyword);
                let Some(job) = st.jobs.get_mut(&id.0) else {
                    break;
                };
                if job.state.is_terminal() {
                    break;
                }
                match reason {
                    Some(r) => {
                        job.state = JobState::Stopped;
                        job.reasons = vec!["printer-stopped".into()];
                        job.message = Some(r);
                        true
                    }
                    None => {
                        job.state = JobState::Completed;
                        job.reasons = vec!["job-completed-successfully".into()];
                        job.message = None;
                        false
                    }
                }
            };
            drop(inner);
            if !blocked {
                break;
            }
            notified.await;
        }
    }
}

#[async_trait]
impl Printer for MockPrinter {
    fn info(&self) -> &DeviceInfo {
        &self.inner.info
    }

    async fn capabilities(&self) -> Result<PrinterCapabilities> {
        self.check_present("Get-Printer-Attributes")?;
        Ok(self.state().caps.clone())
    }

    async fn status(&self) -> Result<PrinterStatus> {
        self.check_present("Get-Printer-Attributes")?;
        let st = self.state();
        let busy = st.jobs.values().any(|j| j.state == JobState::Processing);
        let state = if blocking(&st.reasons).is_some() {
            PrinterState::Stopped
        } else if busy {
            PrinterState::Processing
        } else {
            PrinterState::Idle
        };
        let mut status = PrinterStatus::new(state, st.reasons.clone());
        status.message = st.message.clone();
        Ok(status)
    }

    async fn print(&self, document: Document, options: &PrintOptions) -> Result<JobId> {
        self.check_present("Print-Job")?;
        let device = self.device();
        {
            let mut st = self.state();
            st.expectations
                .check(&(document.format.clone(), options.clone()), "print")?;
            if !st.caps.accepts(&document.format) {
                let accepted: Vec<&str> =
                    st.caps.formats.iter().map(DocumentFormat::mime).collect();
                return Err(
                    Error::new(ErrorKind::Unsupported, device, "Print-Job").with_detail(format!(
                        "the printer does not accept {}; it accepts {}",
                        document.format,
                        accepted.join(", ")
                    )),
                );
            }
            if options.copies == 0 || options.copies > st.caps.max_copies {
                return Err(
                    Error::new(ErrorKind::InvalidInput, device, "Print-Job").with_detail(format!(
                        "copies {} outside 1..={}",
                        options.copies, st.caps.max_copies
                    )),
                );
            }
            if let Some(m) = &options.media {
                if !st.caps.media_supported.contains(m) {
                    return Err(Error::new(ErrorKind::InvalidInput, device, "Print-Job")
                        .with_detail(format!("media {m} not supported")));
                }
            }
        }
        let format = document.format.clone();
        let name = document.name.clone();
        let data = match document.body {
            DocumentBody::Page(page) => match page.data {
                PageData::Raw { pixels, .. } => pixels,
                PageData::Jpeg { data, .. } => data,
            },
            body => {
                Document {
                    format: format.clone(),
                    body,
                    name: None,
                }
                .read_all(&device)
                .await?
            }
        };
        let id = {
            let mut st = self.state();
            let id = JobId(st.next_id);
            st.next_id += 1;
            let mut status = JobStatus::new(id, JobState::Pending);
            status.reasons = vec!["job-incoming".into()];
            st.jobs.insert(id.0, status);
            st.printed.push(PrintedDocument {
                job: id,
                format,
                name,
                data,
                options: options.clone(),
            });
            id
        };
        self.start_queue();
        Ok(id)
    }

    async fn job(&self, id: JobId) -> Result<JobStatus> {
        self.check_present("Get-Job-Attributes")?;
        self.state().jobs.get(&id.0).cloned().ok_or_else(|| {
            Error::new(ErrorKind::NotFound, self.device(), "Get-Job-Attributes")
                .with_detail(format!("no {id}"))
        })
    }

    async fn cancel(&self, id: JobId) -> Result<()> {
        self.check_present("Cancel-Job")?;
        let device = self.device();
        {
            let mut st = self.state();
            let job = st.jobs.get_mut(&id.0).ok_or_else(|| {
                Error::new(ErrorKind::NotFound, device.clone(), "Cancel-Job")
                    .with_detail(format!("no {id}"))
            })?;
            if job.state.is_terminal() {
                return Err(Error::new(ErrorKind::InvalidInput, device, "Cancel-Job")
                    .with_detail(format!("{id} already ended ({:?})", job.state)));
            }
            job.state = JobState::Canceled;
            job.reasons = vec!["job-canceled-by-user".into()];
        }
        self.inner.wake.notify_waiters();
        Ok(())
    }
}
