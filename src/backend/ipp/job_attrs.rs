//! IPP job attributes to [`JobStatus`]: the job of a Print-Job, Create-Job or
//! Get-Job-Attributes reply, and the job list of a Get-Jobs reply (one job attributes group
//! per job, bounded). Pure functions, tested without a printer.

use ipp::attribute::IppAttributes;
use ipp::model::DelimiterTag;

use super::attrs::Attrs;
use crate::error::{Error, ErrorKind, Result};
use crate::print::{JobId, JobState, JobStatus};

/// The job attributes this backend asks for.
pub const JOB_ATTRIBUTES: &[&str] = &[
    "job-id",
    "job-name",
    "job-state",
    "job-state-reasons",
    "job-state-message",
    "job-impressions-completed",
    "job-printer-state-reasons",
];

/// At most this many jobs are read from a Get-Jobs reply (the rest are left out).
pub const MAX_JOBS: usize = 1000;

/// Maps an IPP `job-state` enum value.
pub fn job_state(v: i32) -> Option<JobState> {
    Some(match v {
        3 => JobState::Pending,
        4 => JobState::Held,
        5 => JobState::Processing,
        6 => JobState::Stopped,
        7 => JobState::Canceled,
        8 => JobState::Aborted,
        9 => JobState::Completed,
        _ => return None,
    })
}

/// A job's status from one view of job attributes; `None` without a valid job-state.
fn status_in(a: &Attrs<'_>, id: JobId) -> Option<JobStatus> {
    let state = job_state(a.int("job-state")?)?;
    let mut st = JobStatus::new(id, state);
    st.reasons = a
        .strings("job-state-reasons")
        .into_iter()
        .filter(|r| r != "none")
        .collect();
    st.message = a.string("job-state-message").filter(|m| !m.is_empty());
    st.impressions_completed = a
        .int("job-impressions-completed")
        .and_then(|n| u32::try_from(n).ok());
    st.name = a.string("job-name").filter(|m| !m.is_empty());
    st.printer_state_reasons = a
        .strings("job-printer-state-reasons")
        .into_iter()
        .filter(|r| r != "none")
        .collect();
    Some(st)
}

/// Reads a job's status from the job attributes group (Print-Job and Get-Job-Attributes
/// replies). `None` if there is no valid job-state.
pub fn job_status(attrs: &IppAttributes, id: JobId) -> Option<JobStatus> {
    status_in(&Attrs::new(attrs, DelimiterTag::JobAttributes), id)
}

/// The jobs of a Get-Jobs reply, in the printer's order; groups without a valid job-id or
/// job-state are left out, and at most [`MAX_JOBS`] are read.
pub fn jobs_of(attrs: &IppAttributes) -> Vec<JobStatus> {
    attrs
        .groups_of(DelimiterTag::JobAttributes)
        .filter_map(|g| {
            let a = Attrs::of_group(g);
            let id = a.int("job-id").and_then(|i| u32::try_from(i).ok())?;
            status_in(&a, JobId(id))
        })
        .take(MAX_JOBS)
        .collect()
}

/// The `job-id` of a Print-Job / Create-Job reply.
pub fn job_id(attrs: &IppAttributes) -> Option<JobId> {
    let a = Attrs::new(attrs, DelimiterTag::JobAttributes);
    a.int("job-id")
        .and_then(|i| u32::try_from(i).ok())
        .map(JobId)
}

/// [`job_id`] of the reply to `op`, or a [`ErrorKind::Protocol`] error saying it has none.
pub fn reply_job_id(device: &str, op: &'static str, attrs: &IppAttributes) -> Result<JobId> {
    job_id(attrs).ok_or_else(|| {
        Error::new(ErrorKind::Protocol, device.to_owned(), op)
            .with_detail("the reply has no job-id")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipp::attribute::{IppAttribute, IppAttributeGroup};
    use ipp::value::IppValue;

    fn job(id: i32, state: i32, reasons: &[&str], done: Option<i32>) -> IppAttributeGroup {
        let mut g = IppAttributeGroup::new(DelimiterTag::JobAttributes);
        let v = g.attributes_mut();
        let attr = |n: &str, v: IppValue| IppAttribute::with_name(n, v).unwrap();
        v.push(attr("job-id", IppValue::Integer(id)));
        v.push(attr("job-state", IppValue::Enum(state)));
        let r: Vec<IppValue> = reasons
            .iter()
            .map(|k| IppValue::new_keyword(*k).unwrap())
            .collect();
        v.push(attr("job-state-reasons", IppValue::Array(r)));
        if let Some(n) = done {
            v.push(attr("job-impressions-completed", IppValue::Integer(n)));
        }
        g
    }

    #[test]
    fn job_states() {
        assert_eq!(job_state(3), Some(JobState::Pending));
        assert_eq!(job_state(4), Some(JobState::Held));
        assert_eq!(job_state(7), Some(JobState::Canceled));
        assert_eq!(job_state(9), Some(JobState::Completed));
        assert_eq!(job_state(42), None);
    }

    #[test]
    fn get_jobs_replies_give_one_status_per_group() {
        let mut attrs = IppAttributes::new();
        let g = attrs.groups_mut();
        g.push(job(3, 6, &["job-printing", "media-empty-error"], Some(2)));
        g.push(job(4, 3, &["none"], None));
        g.push(job(-1, 3, &[], None)); // no valid id: left out
        g.push(job(5, 99, &[], None)); // no valid state: left out
        let jobs = jobs_of(&attrs);
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].id, JobId(3));
        assert_eq!(jobs[0].state, JobState::Stopped);
        assert_eq!(jobs[0].impressions_completed, Some(2));
        let typed = jobs[0].printer_reasons();
        assert_eq!(typed.len(), 1, "{typed:?}");
        assert_eq!(typed[0].keyword(), "media-empty-error");
        assert_eq!(jobs[1].id, JobId(4));
        assert!(jobs[1].reasons.is_empty());
        assert_eq!(jobs[1].impressions_completed, None);
        // A negative count is not a count.
        let mut attrs = IppAttributes::new();
        attrs.groups_mut().push(job(1, 5, &[], Some(-4)));
        assert_eq!(
            job_status(&attrs, JobId(1)).unwrap().impressions_completed,
            None
        );
    }
}
