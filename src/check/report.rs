//! The result of a [`check`](super): one table of rows (device, item, result, detail, fix) as
//! data, its text rendering, and the overall verdict.

use std::fmt;

use serde::Serialize;

/// Which part of the kit a row is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Section {
    /// The card reader and the card in it.
    Reader,
    /// The scanner.
    Scanner,
    /// The printer.
    Printer,
    /// The USB bus.
    Usb,
}

impl Section {
    /// The section's name as printed: `reader`, `scanner`, `printer`, `usb`.
    pub fn name(self) -> &'static str {
        match self {
            Section::Reader => "reader",
            Section::Scanner => "scanner",
            Section::Printer => "printer",
            Section::Usb => "usb",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Status {
    /// Works.
    Ok,
    /// For information only.
    Info,
    /// Not checked (e.g. `--test-scan` not asked for, or nothing to check).
    Skipped,
    /// Works, but needs attention soon (toner low, no card inserted, optional device missing).
    Warn,
    /// Does not work; the row's fix says what to do.
    Fail,
    /// Did not answer within its time limit.
    Hung,
}

impl Status {
    /// The status as printed: `ok`, `info`, `skipped`, `warn`, `FAIL`, `HUNG`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Info => "info",
            Status::Skipped => "skipped",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Hung => "HUNG",
        }
    }

    /// Whether the row is a failure (`Fail` or `Hung`).
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Fail | Status::Hung)
    }
}

/// Why a row failed, for scripts and exit codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Problem {
    /// An expected device is not there (not found, not plugged in, gone).
    Missing,
    /// The device or its service did not answer in time.
    Hung,
    /// The device is there but needs attention (jam, paper, cover) or a service is down.
    Failed,
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckRow {
    /// What the row is about.
    pub section: Section,
    /// What was checked, e.g. `present`, `card`, `eID`, `capabilities`, `state`.
    pub item: String,
    /// The result.
    pub status: Status,
    /// What was found (device id and name, ATR, capabilities, reasons, error message).
    pub detail: String,
    /// What to do about a failure or warning, e.g. `start pcscd`.
    pub fix: Option<String>,
    /// For failures: what kind of problem.
    pub problem: Option<Problem>,
}

impl CheckRow {
    /// A row.
    pub fn new(
        section: Section,
        item: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
    ) -> Self {
        let problem = match status {
            Status::Hung => Some(Problem::Hung),
            Status::Fail => Some(Problem::Failed),
            _ => None,
        };
        CheckRow {
            section,
            item: item.into(),
            status,
            detail: detail.into(),
            fix: None,
            problem,
        }
    }

    /// Sets the fix.
    #[must_use]
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    /// Marks a failure as a missing device.
    #[must_use]
    pub fn missing(mut self) -> Self {
        if self.status.is_failure() {
            self.problem = Some(Problem::Missing);
        }
        self
    }
}

/// How long one section's probe took and whether it ran into its time limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProbeTime {
    /// The section.
    pub section: Section,
    /// Milliseconds the probe ran.
    pub elapsed_ms: u64,
    /// Its time limit in milliseconds.
    pub limit_ms: u64,
    /// Whether it was stopped at the limit.
    pub hung: bool,
}

/// The whole check: every row, in section order, and how long each probe took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CheckReport {
    /// The kit profile's name, if it has one.
    pub profile: Option<String>,
    /// The rows: reader, scanner, printer, then USB.
    pub rows: Vec<CheckRow>,
    /// Per-probe times.
    pub probes: Vec<ProbeTime>,
    /// Milliseconds the whole check took.
    pub elapsed_ms: u64,
    /// Whether nothing failed or hung.
    pub passed: bool,
}

impl CheckReport {
    /// Builds a report; `passed` is computed from the rows.
    pub fn new(
        profile: Option<String>,
        rows: Vec<CheckRow>,
        probes: Vec<ProbeTime>,
        elapsed_ms: u64,
    ) -> Self {
        let passed = !rows.iter().any(|r| r.status.is_failure());
        CheckReport {
            profile,
            rows,
            probes,
            elapsed_ms,
            passed,
        }
    }

    /// The rows that failed or hung.
    pub fn failures(&self) -> impl Iterator<Item = &CheckRow> {
        self.rows.iter().filter(|r| r.status.is_failure())
    }

    /// The worst problem: `Hung` before `Missing` before `Failed`; `None` when passed.
    pub fn worst(&self) -> Option<Problem> {
        let has = |p: Problem| self.failures().any(|r| r.problem == Some(p));
        [Problem::Hung, Problem::Missing, Problem::Failed]
            .into_iter()
            .find(|&p| has(p))
    }

    /// The rows of one section.
    pub fn section(&self, section: Section) -> impl Iterator<Item = &CheckRow> {
        self.rows.iter().filter(move |r| r.section == section)
    }
}

impl fmt::Display for CheckReport {
    /// The table, then the fixes, then a summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.profile {
            writeln!(f, "kit profile: {name}")?;
        }
        let item_w = self
            .rows
            .iter()
            .map(|r| r.item.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        writeln!(
            f,
            "{:<8} {:<item_w$} {:<7} DETAIL",
            "DEVICE", "CHECK", "RESULT"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<8} {:<item_w$} {:<7} {}",
                r.section.name(),
                r.item,
                r.status.label(),
                r.detail
            )?;
        }
        let fixes: Vec<&CheckRow> = self.rows.iter().filter(|r| r.fix.is_some()).collect();
        if !fixes.is_empty() {
            writeln!(f)?;
            writeln!(f, "WHAT TO DO")?;
            let mut said: Vec<&str> = Vec::new();
            for r in fixes {
                if let Some(fix) = r.fix.as_deref().filter(|x| !said.contains(x)) {
                    said.push(fix);
                    writeln!(f, "  {:<8} {fix}", r.section.name())?;
                }
            }
        }
        writeln!(f)?;
        let failed = self.failures().filter(|r| r.status == Status::Fail).count();
        let hung = self.failures().filter(|r| r.status == Status::Hung).count();
        let warned = self
            .rows
            .iter()
            .filter(|r| r.status == Status::Warn)
            .count();
        let secs = self.elapsed_ms as f64 / 1000.0;
        if self.passed {
            write!(f, "check passed")?;
        } else {
            write!(f, "check FAILED: {failed} failed, {hung} hung")?;
        }
        if warned > 0 {
            write!(
                f,
                " ({warned} warning{})",
                if warned == 1 { "" } else { "s" }
            )?;
        }
        writeln!(f, " in {secs:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_and_worst_problem() {
        let ok = CheckRow::new(Section::Reader, "present", Status::Ok, "mock:reader");
        let r = CheckReport::new(None, vec![ok.clone()], vec![], 10);
        assert!(r.passed && r.worst().is_none());
        let gone = CheckRow::new(Section::Scanner, "present", Status::Fail, "no scanner")
            .missing()
            .fix("plug in the scanner (USB)");
        let hung = CheckRow::new(Section::Printer, "state", Status::Hung, "no answer");
        let r = CheckReport::new(None, vec![ok.clone(), gone.clone()], vec![], 10);
        assert!(!r.passed);
        assert_eq!(r.worst(), Some(Problem::Missing));
        let r = CheckReport::new(None, vec![ok, gone, hung], vec![], 1234);
        assert_eq!(r.worst(), Some(Problem::Hung));
        let text = r.to_string();
        assert!(
            text.contains("scanner  plug in the scanner (USB)"),
            "{text}"
        );
        assert!(
            text.contains("check FAILED: 1 failed, 1 hung in 1.2 s"),
            "{text}"
        );
    }
}
