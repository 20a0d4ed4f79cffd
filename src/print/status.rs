//! What a printer and its jobs report: [`PrinterStatus`] with typed [`StateReason`]s, and
//! [`JobStatus`] with its [`JobState`].

use std::fmt;

use crate::error::ErrorKind;
#[cfg(doc)]
use crate::print::Printer;
use crate::print::Supply;

/// The printer's overall state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrinterState {
    /// Ready, nothing to do.
    Idle,
    /// Printing.
    Processing,
    /// Stopped: needs attention (see the reasons).
    Stopped,
}

/// How serious a [`StateReason`] is (the IPP keyword suffix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// `-report`: for information.
    Report,
    /// `-warning`: printing goes on.
    Warning,
    /// `-error` (or no suffix): printing stops.
    Error,
}

/// What a state reason is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReasonKind {
    /// `media-empty`: out of paper.
    MediaEmpty,
    /// `media-low`.
    MediaLow,
    /// `media-jam`.
    MediaJam,
    /// `media-needed`: load the requested media.
    MediaNeeded,
    /// `door-open`.
    DoorOpen,
    /// `cover-open`.
    CoverOpen,
    /// `toner-low`.
    TonerLow,
    /// `toner-empty`.
    TonerEmpty,
    /// `marker-supply-low` (ink or toner).
    MarkerSupplyLow,
    /// `marker-supply-empty`.
    MarkerSupplyEmpty,
    /// `offline` / `shutdown` / `connecting-to-device`.
    Offline,
    /// `paused`.
    Paused,
    /// `output-area-full`.
    OutputAreaFull,
    /// `spool-area-full`.
    SpoolAreaFull,
    /// Any other keyword, without its severity suffix.
    Other(String),
}

/// One printer-state-reason, e.g. `media-empty-error`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StateReason {
    /// What it is about.
    pub kind: ReasonKind,
    /// How serious.
    pub severity: Severity,
}

impl StateReason {
    /// A reason of `kind` at `severity`.
    pub fn new(kind: ReasonKind, severity: Severity) -> Self {
        StateReason { kind, severity }
    }

    /// Parses an IPP `printer-state-reasons` keyword. `none` gives `None`.
    ///
    /// ```
    /// use buergerkoffer::print::{ReasonKind, Severity, StateReason};
    /// let r = StateReason::from_keyword("media-empty-error").unwrap();
    /// assert_eq!(r.kind, ReasonKind::MediaEmpty);
    /// assert_eq!(r.severity, Severity::Error);
    /// assert_eq!(StateReason::from_keyword("toner-low-warning").unwrap().keyword(), "toner-low-warning");
    /// assert!(StateReason::from_keyword("none").is_none());
    /// ```
    pub fn from_keyword(keyword: &str) -> Option<Self> {
        let k = keyword.trim();
        if k.is_empty() || k == "none" {
            return None;
        }
        let (base, severity) = if let Some(b) = k.strip_suffix("-error") {
            (b, Severity::Error)
        } else if let Some(b) = k.strip_suffix("-warning") {
            (b, Severity::Warning)
        } else if let Some(b) = k.strip_suffix("-report") {
            (b, Severity::Report)
        } else {
            (k, Severity::Error)
        };
        let kind = match base {
            "media-empty" => ReasonKind::MediaEmpty,
            "media-low" => ReasonKind::MediaLow,
            "media-jam" => ReasonKind::MediaJam,
            "media-needed" => ReasonKind::MediaNeeded,
            "door-open" => ReasonKind::DoorOpen,
            "cover-open" => ReasonKind::CoverOpen,
            "toner-low" => ReasonKind::TonerLow,
            "toner-empty" => ReasonKind::TonerEmpty,
            "marker-supply-low" => ReasonKind::MarkerSupplyLow,
            "marker-supply-empty" => ReasonKind::MarkerSupplyEmpty,
            "offline" | "shutdown" | "connecting-to-device" => ReasonKind::Offline,
            "paused" => ReasonKind::Paused,
            "output-area-full" => ReasonKind::OutputAreaFull,
            "spool-area-full" => ReasonKind::SpoolAreaFull,
            other => ReasonKind::Other(other.to_owned()),
        };
        Some(StateReason { kind, severity })
    }

    /// The IPP keyword, with severity suffix.
    pub fn keyword(&self) -> String {
        let base = match &self.kind {
            ReasonKind::MediaEmpty => "media-empty",
            ReasonKind::MediaLow => "media-low",
            ReasonKind::MediaJam => "media-jam",
            ReasonKind::MediaNeeded => "media-needed",
            ReasonKind::DoorOpen => "door-open",
            ReasonKind::CoverOpen => "cover-open",
            ReasonKind::TonerLow => "toner-low",
            ReasonKind::TonerEmpty => "toner-empty",
            ReasonKind::MarkerSupplyLow => "marker-supply-low",
            ReasonKind::MarkerSupplyEmpty => "marker-supply-empty",
            ReasonKind::Offline => "offline",
            ReasonKind::Paused => "paused",
            ReasonKind::OutputAreaFull => "output-area-full",
            ReasonKind::SpoolAreaFull => "spool-area-full",
            ReasonKind::Other(s) => s,
        };
        let suffix = match self.severity {
            Severity::Report => "-report",
            Severity::Warning => "-warning",
            Severity::Error => "-error",
        };
        format!("{base}{suffix}")
    }

    /// The error kind a job blocked by this reason should report, if it blocks printing.
    pub fn blocking_error(&self) -> Option<ErrorKind> {
        if self.severity != Severity::Error {
            return None;
        }
        Some(match self.kind {
            ReasonKind::MediaEmpty | ReasonKind::MediaNeeded => ErrorKind::MediaEmpty,
            ReasonKind::MediaJam => ErrorKind::PaperJam,
            ReasonKind::DoorOpen | ReasonKind::CoverOpen => ErrorKind::CoverOpen,
            ReasonKind::Offline => ErrorKind::DeviceGone,
            ReasonKind::Paused => ErrorKind::Busy,
            _ => ErrorKind::Backend,
        })
    }
}

impl fmt::Display for StateReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.keyword())
    }
}

/// State and reasons of a printer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrinterStatus {
    /// Overall state.
    pub state: PrinterState,
    /// Why it is in that state (empty when all is well).
    pub reasons: Vec<StateReason>,
    /// The printer's own message, if any.
    pub message: Option<String>,
    /// Toner, ink and other supplies with their levels, as far as the printer reports them
    /// (empty when it reports none).
    pub supplies: Vec<Supply>,
}

impl PrinterStatus {
    /// A status with the given state and reasons.
    pub fn new(state: PrinterState, reasons: Vec<StateReason>) -> Self {
        PrinterStatus {
            state,
            reasons,
            message: None,
            supplies: Vec::new(),
        }
    }

    /// The supplies at or below their low mark (see [`Supply::is_low`]).
    pub fn low_supplies(&self) -> impl Iterator<Item = &Supply> {
        self.supplies.iter().filter(|s| s.is_low())
    }

    /// Whether any reason is of `kind`.
    pub fn has(&self, kind: &ReasonKind) -> bool {
        self.reasons.iter().any(|r| &r.kind == kind)
    }

    /// The first reason that stops printing, as the error kind a caller would show.
    pub fn blocking_error(&self) -> Option<ErrorKind> {
        self.reasons.iter().find_map(StateReason::blocking_error)
    }
}

/// A job id, as the printer assigned it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u32);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "job {}", self.0)
    }
}

/// The state of a print job (IPP job-state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobState {
    /// Waiting to be processed — also while the printer cannot start it because of its own
    /// state (media empty, jam, door open): then [`JobStatus::reasons`] holds
    /// `printer-stopped` and the printer's reason (e.g. `media-empty-error`), and
    /// [`Printer::status`] has the typed reason. This is IPP's `pending`, which is what IPP
    /// printers report for such a job; the mock printer does the same.
    Pending,
    /// Held by the job itself, not by the printer: it waits to be released (IPP
    /// `pending-held`, e.g. `job-hold-until`). A job waiting for paper is [`Pending`](Self::Pending).
    Held,
    /// Being printed.
    Processing,
    /// Stopped in the middle of printing, e.g. by a paper jam or paper running out
    /// (IPP `processing-stopped`); [`JobStatus::reasons`] says why.
    Stopped,
    /// Cancelled by a user.
    Canceled,
    /// Aborted by the printer.
    Aborted,
    /// Printed.
    Completed,
}

impl JobState {
    /// Whether the job has ended (canceled, aborted, completed).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Canceled | JobState::Aborted | JobState::Completed
        )
    }
}

/// The status of one job.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobStatus {
    /// The job.
    pub id: JobId,
    /// Its state.
    pub state: JobState,
    /// `job-state-reasons` keywords.
    pub reasons: Vec<String>,
    /// The printer's message, if any.
    pub message: Option<String>,
    /// Sides printed so far (`job-impressions-completed`), when the printer says.
    pub impressions_completed: Option<u32>,
    /// The job's name (`job-name`), when the printer says.
    pub name: Option<String>,
    /// The printer's state reasons that hold this job up (`job-printer-state-reasons`,
    /// PWG 5100.13), e.g. `media-empty-error` while the job is stopped; empty when the
    /// printer does not say.
    pub printer_state_reasons: Vec<String>,
}

impl JobStatus {
    /// A status without reasons.
    pub fn new(id: JobId, state: JobState) -> Self {
        JobStatus {
            id,
            state,
            reasons: Vec::new(),
            message: None,
            impressions_completed: None,
            name: None,
            printer_state_reasons: Vec::new(),
        }
    }

    /// The printer-side reasons that hold this job up, typed (`media-empty-error`,
    /// `media-jam-error`, ...): those of
    /// [`printer_state_reasons`](Self::printer_state_reasons) and the printer keywords among
    /// [`reasons`](Self::reasons), each once; job-only keywords such as `job-printing` are
    /// left out.
    pub fn printer_reasons(&self) -> Vec<StateReason> {
        let mut out: Vec<StateReason> = Vec::new();
        for r in self
            .printer_state_reasons
            .iter()
            .chain(&self.reasons)
            .filter_map(|k| StateReason::from_keyword(k))
            .filter(|r| !matches!(r.kind, ReasonKind::Other(_)))
        {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip() {
        for k in [
            "media-empty-error",
            "media-jam-error",
            "door-open-warning",
            "toner-low-report",
            "offline-error",
            "com.example-thing-warning",
        ] {
            assert_eq!(StateReason::from_keyword(k).unwrap().keyword(), k);
        }
        let r = StateReason::from_keyword("media-empty").unwrap();
        assert_eq!(r.severity, Severity::Error);
        assert_eq!(r.blocking_error(), Some(ErrorKind::MediaEmpty));
        assert_eq!(
            StateReason::from_keyword("toner-low-warning")
                .unwrap()
                .blocking_error(),
            None
        );
    }
}
