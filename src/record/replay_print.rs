//! [`ReplayPrinter`]: a printer played back from a session — capabilities, status and state
//! reasons, each print call (matched by document format, name, kind, length, fingerprint and
//! options), each job status in recorded order (so a job runs through its recorded states),
//! cancels, job lists and identify calls.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::format::{Channel, Entry};
use super::print::describe;
use super::print_values::{JobRec, JobStatusRec, OptionsRec, PrintCapsRec, PrinterStatusRec};
use super::replay_card::{answer, call};
use super::session::Shared;
use super::values::{from_value, to_value};
use crate::device::DeviceInfo;
use crate::error::Result;
use crate::print::{
    Document, JobId, JobStatus, PrintOptions, Printer, PrinterCapabilities, PrinterStatus,
};

/// A printer played back from a session (see [`ReplayKit`](super::ReplayKit)).
#[derive(Clone)]
pub struct ReplayPrinter {
    pub(crate) shared: Arc<Shared>,
    pub(crate) info: DeviceInfo,
    pub(crate) dev: String,
}

impl fmt::Debug for ReplayPrinter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayPrinter")
            .field("id", &self.dev)
            .finish()
    }
}

impl ReplayPrinter {
    async fn call(&self, op: &str, req: Value) -> Result<Entry> {
        call(&self.shared, &self.dev, Channel::Device, op, &|_| {
            req.clone()
        })
        .await
    }
}

#[async_trait]
impl Printer for ReplayPrinter {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    async fn capabilities(&self) -> Result<PrinterCapabilities> {
        let e = self.call("capabilities", Value::Null).await?;
        from_value::<PrintCapsRec>(answer(&e)?, "printer capabilities")?.to_caps()
    }

    async fn status(&self) -> Result<PrinterStatus> {
        let e = self.call("status", Value::Null).await?;
        from_value::<PrinterStatusRec>(answer(&e)?, "printer status")?.to_status()
    }

    async fn print(&self, document: Document, options: &PrintOptions) -> Result<JobId> {
        let options = to_value(&OptionsRec::of(options));
        let doc = match describe(document, &self.dev).await {
            Ok((doc, _)) => doc,
            Err(e) => {
                // Recorded as an unreadable document too? Then that is what it gives.
                let r = self
                    .call("print", json!({ "document": null, "options": options }))
                    .await?;
                return match answer(&r) {
                    Err(recorded) => Err(recorded),
                    Ok(_) => Err(e),
                };
            }
        };
        let e = self
            .call("print", json!({ "document": doc, "options": options }))
            .await?;
        Ok(JobId(from_value::<JobRec>(answer(&e)?, "print")?.job))
    }

    async fn job(&self, id: JobId) -> Result<JobStatus> {
        let e = self.call("job", json!({ "job": id.0 })).await?;
        from_value::<JobStatusRec>(answer(&e)?, "job status")?.to_status()
    }

    async fn cancel(&self, id: JobId) -> Result<()> {
        let e = self.call("cancel", json!({ "job": id.0 })).await?;
        answer(&e).map(|_| ())
    }

    async fn jobs(&self) -> Result<Vec<JobStatus>> {
        let e = self.call("jobs", Value::Null).await?;
        from_value::<Vec<JobStatusRec>>(answer(&e)?, "job list")?
            .iter()
            .map(JobStatusRec::to_status)
            .collect()
    }

    async fn identify(&self) -> Result<()> {
        let e = self.call("identify", Value::Null).await?;
        answer(&e).map(|_| ())
    }
}
