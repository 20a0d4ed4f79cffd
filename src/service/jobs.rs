//! Scan-to-PDF jobs: started on the kit's scanner through [`pipeline::pages_to_pdf`],
//! progress published as events, the PDF kept in the service's `jobs/` directory until the
//! job is evicted (oldest first, beyond [`ServiceConfig::jobs_kept`](super::ServiceConfig)),
//! cancel by aborting the task (which stops the scanner and removes the partial file).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::json;
use tokio::task::AbortHandle;

use super::error::{kind_code, ApiError};
use super::print::PrintStatus;
use super::state::{lock, AppState};
use super::token::Token;
use crate::device::DeviceId;
use crate::error::Error;
use crate::pipeline::{pages_to_pdf, ScanToPdfOptions};
use crate::scan::ScanRequest;

/// Jobs running at once (across scanners); more are refused.
const MAX_RUNNING: usize = 4;

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum JobState {
    Running,
    Done,
    Failed,
    Cancelled,
}

/// An error as the API shows it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ErrorBody {
    pub error: &'static str,
    pub message: String,
}

impl From<&Error> for ErrorBody {
    fn from(e: &Error) -> Self {
        ErrorBody {
            error: kind_code(e.kind()).1,
            message: e.to_string(),
        }
    }
}

/// The status of one scan job, as `GET /v1/scan-jobs/{id}` and the `job` events show it.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ScanStatus {
    pub id: String,
    pub device: String,
    pub state: JobState,
    pub pages_scanned: usize,
    pub pages_written: usize,
    pub bytes: u64,
    /// Where to download the PDF, once there is one (also after a jam: the pages before it).
    pub pdf: Option<String>,
    pub error: Option<ErrorBody>,
}

/// One scan job.
pub(crate) struct ScanJob {
    pub id: String,
    pub path: PathBuf,
    status: Mutex<ScanStatus>,
    abort: Mutex<Option<AbortHandle>>,
}

impl ScanJob {
    pub fn status(&self) -> ScanStatus {
        lock(&self.status).clone()
    }
}

/// All jobs of the service.
pub(crate) struct Jobs {
    dir: PathBuf,
    kept: usize,
    scans: Mutex<VecDeque<Arc<ScanJob>>>,
    /// Print jobs (the newest 32; `print.rs`).
    pub prints: Mutex<VecDeque<Arc<Mutex<PrintStatus>>>>,
}

/// Removes the PDFs of an earlier run (jobs do not survive a restart).
pub(crate) fn clean_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "pdf") {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// A random job id (32 hex digits).
pub(crate) fn new_id() -> Result<String, ApiError> {
    Ok(Token::generate().map_err(ApiError::from)?.expose()[..32].to_owned())
}

fn event(s: &ScanStatus) -> serde_json::Value {
    json!({"type": "job", "kind": "scan", "job": s})
}

impl Jobs {
    pub fn new(dir: PathBuf, kept: usize) -> Self {
        Jobs {
            dir,
            kept: kept.max(1),
            scans: Mutex::new(VecDeque::new()),
            prints: Mutex::new(VecDeque::new()),
        }
    }

    pub fn scan(&self, id: &str) -> Option<Arc<ScanJob>> {
        lock(&self.scans).iter().find(|j| j.id == id).cloned()
    }

    /// Jobs still running.
    pub fn running(&self) -> usize {
        lock(&self.scans)
            .iter()
            .filter(|j| j.status().state == JobState::Running)
            .count()
    }

    /// Adds a job, evicting the oldest finished ones beyond the limit.
    fn insert(&self, job: Arc<ScanJob>) {
        let mut l = lock(&self.scans);
        l.push_back(job);
        while l.len() > self.kept {
            let Some(pos) = l.iter().position(|j| j.status().state != JobState::Running) else {
                break;
            };
            if let Some(old) = l.remove(pos) {
                let _ = std::fs::remove_file(&old.path);
            }
        }
    }

    /// Cancels every running job (the service stops).
    pub fn cancel_all(&self, st: &AppState) {
        let ids: Vec<String> = lock(&self.scans)
            .iter()
            .filter(|j| j.status().state == JobState::Running)
            .map(|j| j.id.clone())
            .collect();
        for id in ids {
            let _ = self.cancel(st, &id);
        }
    }

    /// Cancels a running job; the answer is its status afterwards.
    pub fn cancel(&self, st: &AppState, id: &str) -> Result<ScanStatus, ApiError> {
        let job = self
            .scan(id)
            .ok_or_else(|| ApiError::not_found(format!("no scan job {id}")))?;
        let mut s = lock(&job.status);
        if s.state == JobState::Running {
            if let Some(a) = lock(&job.abort).take() {
                a.abort();
            }
            s.state = JobState::Cancelled;
            s.pdf = None;
            let _ = std::fs::remove_file(&job.path);
            st.publish(event(&s));
        }
        Ok(s.clone())
    }
}

/// Starts a scan job: the scanner starts before this answers, so a busy or unfit scanner is
/// a refusal (an error here), not a failed job.
pub(crate) async fn start_scan(
    st: &Arc<AppState>,
    device: DeviceId,
    request: ScanRequest,
) -> Result<ScanStatus, ApiError> {
    if st.jobs.running() >= MAX_RUNNING {
        return Err(ApiError::busy(format!(
            "{MAX_RUNNING} jobs are running; wait for one to end"
        )));
    }
    let scanner = st.kit.open_scanner(&device).await?;
    let id = new_id()?;
    let path = st.jobs.dir.join(format!("{id}.pdf"));
    let pages = scanner.scan(&request).await?;
    let status = ScanStatus {
        id: id.clone(),
        device: device.to_string(),
        state: JobState::Running,
        pages_scanned: 0,
        pages_written: 0,
        bytes: 0,
        pdf: None,
        error: None,
    };
    let job = Arc::new(ScanJob {
        id,
        path: path.clone(),
        status: Mutex::new(status.clone()),
        abort: Mutex::new(None),
    });
    st.jobs.insert(job.clone());
    st.publish(event(&status));

    let progress_job = job.clone();
    let progress_st = st.clone();
    let options = ScanToPdfOptions::new().on_progress(move |p| {
        let mut s = lock(&progress_job.status);
        if s.state != JobState::Running {
            return;
        }
        s.pages_scanned = p.pages_scanned;
        s.pages_written = p.pages_written;
        s.bytes = p.bytes_written;
        progress_st.publish(event(&s));
    });
    let task_job = job.clone();
    let task_st = st.clone();
    let name = device.to_string();
    let handle = tokio::spawn(async move {
        let _scanner = scanner;
        let result = pages_to_pdf(&name, pages, &task_job.path, &options).await;
        let mut s = lock(&task_job.status);
        if s.state != JobState::Running {
            return;
        }
        let pdf = format!("/v1/scan-jobs/{}/pdf", task_job.id);
        match result {
            Ok(done) => {
                s.state = JobState::Done;
                s.pages_written = done.pages;
                s.pages_scanned = s.pages_scanned.max(done.pages);
                s.bytes = done.bytes;
                s.pdf = Some(pdf);
            }
            Err(e) => {
                s.state = JobState::Failed;
                s.error = Some(ErrorBody::from(&e));
                if e.pages().is_some_and(|n| n > 0) {
                    s.pages_written = e.pages().unwrap_or(0);
                    s.pdf = Some(pdf);
                }
            }
        }
        task_st.publish(event(&s));
    });
    *lock(&job.abort) = Some(handle.abort_handle());
    Ok(status)
}
