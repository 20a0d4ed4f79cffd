//! Following a print job as a stream of statuses ([`JobProgress`]), built on
//! [`Printer::job`]: one item each time the state, the job's or the printer's reasons
//! holding it up, or the count of printed sides changes, ending after the job ends.

use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;

use crate::error::Result;
use crate::print::{JobId, JobStatus, Printer};

/// A job's statuses as they change; the last item is the ended job (completed, canceled,
/// aborted) or the error that stopped the watch.
pub type JobProgress<'a> = Pin<Box<dyn Stream<Item = Result<JobStatus>> + Send + 'a>>;

struct Watch<'a, P: ?Sized> {
    printer: &'a P,
    id: JobId,
    poll: Duration,
    last: Option<JobStatus>,
    done: bool,
}

/// Polls `printer` for job `id` every `poll` and yields each changed status (see
/// [`Printer::watch_job`]).
pub fn watch<'a, P: Printer + ?Sized>(
    printer: &'a P,
    id: JobId,
    poll: Duration,
) -> JobProgress<'a> {
    let w = Watch {
        printer,
        id,
        poll,
        last: None,
        done: false,
    };
    Box::pin(futures_util::stream::unfold(w, |mut w| async move {
        if w.done {
            return None;
        }
        loop {
            if w.last.is_some() {
                tokio::time::sleep(w.poll).await;
            }
            match w.printer.job(w.id).await {
                Err(e) => {
                    w.done = true;
                    return Some((Err(e), w));
                }
                Ok(st) => {
                    let changed = w.last.as_ref().is_none_or(|l| {
                        l.state != st.state
                            || l.reasons != st.reasons
                            || l.printer_state_reasons != st.printer_state_reasons
                            || l.impressions_completed != st.impressions_completed
                    });
                    w.done = st.state.is_terminal();
                    w.last = Some(st.clone());
                    if changed || w.done {
                        return Some((Ok(st), w));
                    }
                }
            }
        }
    }))
}
