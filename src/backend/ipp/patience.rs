//! How long a request may take. A document goes to a printer that may take longer than any
//! fixed time: a printer without spool memory prints while it reads and answers at the end,
//! and when it runs out of paper or jams mid-job it stops reading and answering until the
//! clerk has fixed it. Giving up then would cancel a half-printed job. So when a document's
//! send timeout runs out the printer is asked (on another connection); while it says it is
//! processing or stopped, or names a blocking reason (`media-empty`, `media-jam`,
//! `door-open`, ...), sending goes on and it is asked again every [`STALL_CHECK`]. A printer
//! that does not answer, or says it is idle while the document waits, is given up on.
//! Dropping the future gives up at any time.

use std::future::Future;
use std::time::Duration;

use super::IppPrinter;
use crate::print::PrinterState;

/// How often a printer that stopped taking a document is asked whether it is still stopped.
pub const STALL_CHECK: Duration = Duration::from_secs(10);

/// How long one request may take.
#[derive(Clone, Copy, Debug)]
pub(super) enum Wait {
    /// At most this long.
    Fixed(Duration),
    /// This long; then as long as the printer says it is processing or stopped.
    WhileBusy(Duration),
}

impl From<Duration> for Wait {
    fn from(d: Duration) -> Self {
        Wait::Fixed(d)
    }
}

impl IppPrinter {
    /// Runs `fut` for `limit`, then as long as the printer says it is processing or stopped;
    /// `None` when the time is up.
    pub(super) async fn within<F: Future>(
        &self,
        op: &str,
        limit: Duration,
        fut: F,
    ) -> Option<F::Output> {
        tokio::pin!(fut);
        let mut deadline = tokio::time::Instant::now() + limit;
        loop {
            tokio::select! {
                out = &mut fut => return Some(out),
                () = tokio::time::sleep_until(deadline) => {
                    // The document goes on while the printer is asked.
                    let ask = self.printer_attributes("check a stalled document");
                    tokio::pin!(ask);
                    let status = tokio::select! {
                        out = &mut fut => return Some(out),
                        pa = &mut ask => pa.ok().and_then(|pa| pa.status),
                    };
                    let busy = status.as_ref().is_some_and(|s| {
                        matches!(s.state, PrinterState::Processing | PrinterState::Stopped)
                            || s.blocking_error().is_some()
                    });
                    if !busy {
                        return None;
                    }
                    let reasons: Vec<String> = status
                        .iter()
                        .flat_map(|s| s.reasons.iter().map(|r| r.keyword()))
                        .collect();
                    tracing::info!(
                        printer = %self.device(),
                        op,
                        ?reasons,
                        state = ?status.as_ref().map(|s| s.state),
                        "the printer is busy or stopped; waiting for it to take the document"
                    );
                    let again = STALL_CHECK.min(limit).max(Duration::from_millis(100));
                    deadline = tokio::time::Instant::now() + again;
                }
            }
        }
    }
}
