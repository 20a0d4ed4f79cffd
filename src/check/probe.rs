//! One probe of the check: the rows it has produced so far and the step it is at, so that a
//! probe stopped at its time limit still reports what it found and where it hung.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::fix;
use super::report::{CheckRow, ProbeTime, Section, Status};

/// The state of one running probe.
pub(super) struct Probe {
    section: Section,
    rows: Mutex<Vec<CheckRow>>,
    /// (row item, what is being done) of the step running now.
    step: Mutex<(&'static str, &'static str)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Probe {
    /// Runs `body` within `limit`; on the limit the step it was at becomes a `Hung` row.
    pub(super) async fn run<F, Fut>(
        section: Section,
        limit: Duration,
        body: F,
    ) -> (Vec<CheckRow>, ProbeTime)
    where
        F: FnOnce(Arc<Probe>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let probe = Arc::new(Probe {
            section,
            rows: Mutex::new(Vec::new()),
            step: Mutex::new(("start", "starting")),
        });
        let t0 = Instant::now();
        let hung = tokio::time::timeout(limit, body(probe.clone()))
            .await
            .is_err();
        let elapsed = t0.elapsed();
        if hung {
            let (item, doing) = *lock(&probe.step);
            tracing::warn!(%section, item, doing, "check probe hung");
            probe.push(
                CheckRow::new(
                    section,
                    item,
                    Status::Hung,
                    format!(
                        "no answer within {:.0} s while {doing}",
                        limit.as_secs_f64()
                    ),
                )
                .fix(fix::hung(section, doing)),
            );
        }
        let rows = std::mem::take(&mut *lock(&probe.rows));
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        (
            rows,
            ProbeTime {
                section,
                elapsed_ms: ms(elapsed),
                limit_ms: ms(limit),
                hung,
            },
        )
    }

    /// The section this probe reports on.
    pub(super) fn section(&self) -> Section {
        self.section
    }

    /// Enters a step: `item` is the row it will produce, `doing` says what it does (for the
    /// `Hung` row if it never ends).
    pub(super) fn step(&self, item: &'static str, doing: &'static str) {
        *lock(&self.step) = (item, doing);
    }

    /// Adds a row.
    pub(super) fn push(&self, row: CheckRow) {
        tracing::debug!(section = %row.section, item = %row.item, status = row.status.label(), detail = %row.detail, "check");
        lock(&self.rows).push(row);
    }

    /// Adds a row of this probe's section.
    pub(super) fn row(&self, item: &str, status: Status, detail: impl Into<String>) -> RowRef<'_> {
        RowRef {
            probe: self,
            row: Some(CheckRow::new(self.section, item, status, detail)),
        }
    }
}

/// A row being built; pushed when dropped.
pub(super) struct RowRef<'a> {
    probe: &'a Probe,
    row: Option<CheckRow>,
}

impl RowRef<'_> {
    /// Sets the fix.
    pub(super) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.row = self.row.take().map(|r| r.fix(fix));
        self
    }

    /// Sets the fix if there is one.
    pub(super) fn fix_opt(self, fix: Option<String>) -> Self {
        match fix {
            Some(f) => self.fix(f),
            None => self,
        }
    }

    /// Marks the failure as a missing device.
    pub(super) fn missing(mut self) -> Self {
        self.row = self.row.take().map(CheckRow::missing);
        self
    }
}

impl Drop for RowRef<'_> {
    fn drop(&mut self) {
        if let Some(r) = self.row.take() {
            self.probe.push(r);
        }
    }
}
