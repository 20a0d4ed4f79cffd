//! The IPP operations beyond one Print-Job: Create-Job + Send-Document (the two-step job IPP
//! Everywhere requires), Get-Jobs and Identify-Printer.

use std::pin::Pin;

use ipp::attribute::IppAttribute;
use ipp::model::Operation;
use ipp::payload::IppPayload;
use ipp::value::IppValue;
use tokio::io::AsyncRead;

use super::patience::Wait;
use super::{fixed, job, job_attrs, streamed, IppPrinter};
use crate::error::Result;
use crate::print::{JobId, JobStatus};

/// `requested-attributes` with `names`.
pub(super) fn requested(names: &[&str]) -> Option<IppAttribute> {
    let vals: Vec<IppValue> = names
        .iter()
        .filter_map(|a| IppValue::new_keyword(*a).ok())
        .collect();
    IppAttribute::with_name("requested-attributes", IppValue::Array(vals)).ok()
}

/// Whether attribute `a` is called one of `names`.
fn named(a: &IppAttribute, names: &[&str]) -> bool {
    names.contains(&a.name().as_ref())
}

impl IppPrinter {
    /// Create-Job with the job attributes, then Send-Document with the document and
    /// `last-document`. If Send-Document fails, the empty job is canceled, so no job is left
    /// waiting for a document that will not come.
    pub(super) async fn create_and_send(
        &self,
        op_attrs: Vec<IppAttribute>,
        job_attrs: Vec<IppAttribute>,
        body: Pin<Box<dyn AsyncRead + Send>>,
    ) -> Result<JobId> {
        let (create_ops, doc_ops): (Vec<_>, Vec<_>) = op_attrs
            .into_iter()
            .partition(|a| named(a, &["requesting-user-name", "job-name"]));
        let mut req = self.request(Operation::CreateJob)?;
        job::add_attributes(&mut req, create_ops, job_attrs);
        let resp = self
            .send("print: Create-Job", fixed(&req), self.inner.timeout)
            .await?;
        let id = job_attrs::reply_job_id(&self.device(), "print: Create-Job", &resp.attributes)?;
        let mut req = self.job_request(Operation::SendDocument, id)?;
        let mut ops: Vec<IppAttribute> = doc_ops
            .into_iter()
            .filter(|a| named(a, &["document-name", "document-format"]))
            .collect();
        ops.extend(IppAttribute::with_name("last-document", IppValue::Boolean(true)).ok());
        job::add_attributes(&mut req, ops, vec![]);
        *req.payload_mut() = IppPayload::new_async(job::Compat(body));
        match self
            .send(
                "print: Send-Document",
                streamed(req),
                Wait::WhileBusy(self.inner.send_timeout),
            )
            .await
        {
            Ok(_) => Ok(id),
            Err(e) => {
                let canceled = match self.cancel_request(id).await {
                    Ok(()) => format!("{id} was canceled"),
                    Err(c) => format!("{id} could not be canceled: {c}"),
                };
                let d = format!("{}; {canceled}", e.context().detail().unwrap_or("failed"));
                Err(e.with_detail(d))
            }
        }
    }

    /// Cancel-Job without the follow-up questions of [`Printer::cancel`](crate::print::Printer::cancel).
    pub(super) async fn cancel_request(&self, id: JobId) -> Result<()> {
        let req = self.job_request(Operation::CancelJob, id)?;
        self.send("Cancel-Job", fixed(&req), self.inner.timeout)
            .await
            .map(|_| ())
    }

    /// Get-Jobs, `which-jobs=not-completed`, sorted by job id (oldest first).
    pub(super) async fn get_jobs(&self) -> Result<Vec<JobStatus>> {
        let mut req = self.request(Operation::GetJobs)?;
        let mut ops: Vec<IppAttribute> =
            job::user_attribute(&self.inner.user).into_iter().collect();
        ops.extend(
            IppValue::new_keyword("not-completed")
                .and_then(|v| IppAttribute::with_name("which-jobs", v))
                .ok(),
        );
        ops.extend(requested(job_attrs::JOB_ATTRIBUTES));
        job::add_attributes(&mut req, ops, vec![]);
        let resp = self
            .send("list jobs: Get-Jobs", fixed(&req), self.inner.timeout)
            .await?;
        let mut jobs = job_attrs::jobs_of(&resp.attributes);
        jobs.sort_by_key(|j| j.id.0);
        Ok(jobs)
    }

    /// Identify-Printer with the printer's default action.
    pub(super) async fn identify_printer(&self) -> Result<()> {
        let mut req = self.request(Operation::IdentifyPrinter)?;
        let ops = job::user_attribute(&self.inner.user).into_iter().collect();
        job::add_attributes(&mut req, ops, vec![]);
        self.send(
            "identify: Identify-Printer",
            fixed(&req),
            self.inner.timeout,
        )
        .await
        .map(|_| ())
    }
}
