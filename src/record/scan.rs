//! [`RecordingScanner`]: wraps any [`Scanner`] and writes its capabilities, every scan
//! request, every page (its description in the session, its pixels in a PNM or JPEG file
//! beside it), the error that ended a job (kind, message, raw code, pages kept — a jam at
//! page 4), and whether the job ended, failed or was cancelled by dropping its stream.

use std::fmt;

use async_trait::async_trait;
use serde_json::json;
use tokio::time::Instant;

use super::recorder::{Rec, Recorder};
use super::values::{to_value, ScanCapsRec, ScanRequestRec};
use crate::device::DeviceInfo;
use crate::error::Result;
use crate::scan::{Page, PageStream, ScanCapabilities, ScanRequest, Scanner};

/// A [`Scanner`] that records everything done with it (see [`Recorder::scanner`]).
pub struct RecordingScanner {
    inner: Box<dyn Scanner>,
    rec: Recorder,
    dev: String,
}

impl fmt::Debug for RecordingScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingScanner")
            .field("id", &self.dev)
            .finish()
    }
}

impl RecordingScanner {
    pub(crate) fn new(inner: Box<dyn Scanner>, rec: Recorder) -> Self {
        rec.device(inner.info());
        let dev = inner.info().id.to_string();
        RecordingScanner { inner, rec, dev }
    }
}

#[async_trait]
impl Scanner for RecordingScanner {
    fn info(&self) -> &DeviceInfo {
        self.inner.info()
    }

    async fn capabilities(&self) -> Result<ScanCapabilities> {
        let t0 = self.rec.now();
        let r = self.inner.capabilities().await;
        self.rec.write(
            Rec::new(&self.dev, "capabilities", t0).result(&r, |c| to_value(&ScanCapsRec::of(c))),
        );
        r
    }

    async fn scan(&self, request: &ScanRequest) -> Result<PageStream> {
        let t0 = self.rec.now();
        let r = self.inner.scan(request).await;
        let req = to_value(&ScanRequestRec::of(request));
        match r {
            Ok(stream) => {
                let job = self.rec.next_job();
                self.rec.write(
                    Rec::new(&self.dev, "scan", t0)
                        .req(req)
                        .ok(json!({ "job": job })),
                );
                let state = Job {
                    inner: stream,
                    rec: self.rec.clone(),
                    dev: self.dev.clone(),
                    job,
                    last: self.rec.now(),
                    finished: false,
                };
                let stream = futures_util::stream::unfold(state, |mut st| async move {
                    let item = st.next().await?;
                    Some((item, st))
                });
                Ok(PageStream::new(stream))
            }
            Err(e) => {
                self.rec
                    .write(Rec::new(&self.dev, "scan", t0).req(req).err(&e));
                Err(e)
            }
        }
    }
}

/// One recorded job: the inner stream and where its items go.
struct Job {
    inner: PageStream,
    rec: Recorder,
    dev: String,
    job: u32,
    last: Instant,
    finished: bool,
}

impl Job {
    fn entry(&self, op: &'static str, now: Instant) -> Rec {
        Rec::new(&self.dev, op, now).job(self.job).item(self.last)
    }

    async fn next(&mut self) -> Option<Result<Page>> {
        if self.finished {
            return None;
        }
        let item = self.inner.next_page().await;
        let now = self.rec.now();
        match &item {
            None => {
                self.finished = true;
                self.rec.write(self.entry("end", now));
            }
            Some(Err(e)) => {
                self.finished = true;
                self.rec.write(self.entry("page", now).err(e));
            }
            Some(Ok(page)) => {
                if let Some(meta) = self.rec.page(page).await {
                    self.rec.write(self.entry("page", now).ok(to_value(&meta)));
                }
            }
        }
        self.last = now;
        item
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if !self.finished {
            let now = self.rec.now();
            self.rec.write(self.entry("drop", now));
        }
    }
}
