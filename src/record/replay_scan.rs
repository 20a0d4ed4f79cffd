//! [`ReplayScanner`]: a scanner played back from a session — its capabilities, each scan
//! request (matched against the recorded one), and each job's pages read back from their
//! files, the error that ended the job, or its end.
//!
//! A job's stream is strict too: reading past what the recording read (a page after the
//! recorded job was cancelled) fails with [`ErrorKind::InvalidInput`](crate::ErrorKind), and
//! dropping the stream before the recording did is reported by `done()`.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::format::Channel;
use super::replay_card::{answer, call};
use super::session::Shared;
use super::values::{from_value, to_value, PageRec, ScanCapsRec, ScanRequestRec};
use crate::device::DeviceInfo;
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{Page, PageStream, ScanCapabilities, ScanRequest, Scanner};

/// A scanner played back from a session (see [`ReplayKit`](super::ReplayKit)).
#[derive(Clone)]
pub struct ReplayScanner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) info: DeviceInfo,
    pub(crate) dev: String,
}

impl fmt::Debug for ReplayScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayScanner")
            .field("id", &self.dev)
            .finish()
    }
}

#[async_trait]
impl Scanner for ReplayScanner {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    async fn capabilities(&self) -> Result<ScanCapabilities> {
        let e = call(
            &self.shared,
            &self.dev,
            Channel::Device,
            "capabilities",
            &|_| Value::Null,
        )
        .await?;
        from_value::<ScanCapsRec>(answer(&e)?, "scan capabilities")?.to_caps()
    }

    async fn scan(&self, request: &ScanRequest) -> Result<PageStream> {
        let req = to_value(&ScanRequestRec::of(request));
        let e = call(&self.shared, &self.dev, Channel::Device, "scan", &|_| {
            req.clone()
        })
        .await?;
        let job = answer(&e)?
            .get("job")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| super::values::bad("scan result without a job number"))?;
        let state = Job {
            shared: self.shared.clone(),
            dev: self.dev.clone(),
            job,
            pages: 0,
            finished: false,
        };
        Ok(PageStream::new(futures_util::stream::unfold(
            state,
            |mut st| async move {
                let item = st.next().await?;
                Some((item, st))
            },
        )))
    }
}

/// One replayed job.
struct Job {
    shared: Arc<Shared>,
    dev: String,
    job: u32,
    pages: u32,
    finished: bool,
}

impl Job {
    fn ch(&self) -> Channel {
        Channel::Job(self.job)
    }

    fn differ(&mut self, text: String) -> Option<Result<Page>> {
        self.finished = true;
        let text = format!("{}{}: {text}", self.dev, self.ch());
        self.shared.problem(text.clone());
        Some(Err(Error::new(
            ErrorKind::InvalidInput,
            self.dev.clone(),
            format!("replay scan page {}", self.pages + 1),
        )
        .with_detail(text)))
    }

    async fn next(&mut self) -> Option<Result<Page>> {
        if self.finished {
            return None;
        }
        match self.shared.peek_op(&self.dev, self.ch()).as_deref() {
            Some("page") | Some("end") => {}
            Some("drop") => {
                return self.differ(format!(
                    "page {} read, but the recorded job was cancelled after {} pages",
                    self.pages + 1,
                    self.pages
                ))
            }
            _ => {
                return self.differ(format!(
                    "page {} read, but the recording has no more of this job",
                    self.pages + 1
                ))
            }
        }
        let entry = self.shared.pop(&self.dev, self.ch())?;
        self.shared.pace(&entry).await;
        if entry.op == "end" {
            self.finished = true;
            return None;
        }
        let page = answer(&entry)
            .and_then(|v| from_value::<PageRec>(v, "page"))
            .and_then(|rec| self.shared.load_page(&rec));
        match page {
            Ok(p) => {
                self.pages += 1;
                Some(Ok(p))
            }
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        match self.shared.peek_op(&self.dev, self.ch()).as_deref() {
            Some("drop") => {
                let _ = self.shared.pop(&self.dev, self.ch());
            }
            Some(op) => self.shared.problem(format!(
                "{}{}: the job was dropped after {} pages, but the recording read on ({op} next)",
                self.dev,
                self.ch(),
                self.pages
            )),
            None => {}
        }
    }
}
