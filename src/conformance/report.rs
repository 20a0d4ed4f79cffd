//! The result of a conformance run: one line per check, with the promise it checks and what
//! happened.

use std::fmt;

/// What happened to one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The device kept the promise.
    Passed,
    /// The device broke the promise; the text says how.
    Failed(String),
    /// The rig cannot make the device do what the check needs; the text says what.
    NotApplicable(String),
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// The check's name, e.g. `whole_area_without_area`.
    pub check: &'static str,
    /// The documented promise it checks.
    pub promise: &'static str,
    /// What happened.
    pub outcome: Outcome,
}

/// All checks of one run against one device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// The device checked (its id).
    pub device: String,
    /// The checks, in the order they ran.
    pub results: Vec<CheckResult>,
}

impl Report {
    pub(crate) fn new(device: impl Into<String>) -> Self {
        Report {
            device: device.into(),
            results: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, r: CheckResult) {
        self.results.push(r);
    }

    /// The checks that failed.
    pub fn failures(&self) -> Vec<&CheckResult> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
            .collect()
    }

    /// The names of the checks that were not applicable.
    pub fn not_applicable(&self) -> Vec<&'static str> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::NotApplicable(_)))
            .map(|r| r.check)
            .collect()
    }

    /// The outcome of the check `name`, if it ran.
    pub fn outcome(&self, name: &str) -> Option<&Outcome> {
        self.results
            .iter()
            .find(|r| r.check == name)
            .map(|r| &r.outcome)
    }

    /// Panics, printing the whole report, unless every check passed except exactly the ones
    /// named in `not_applicable`, which must be reported as not applicable. Naming them keeps
    /// a check from being skipped unnoticed.
    pub fn assert_passed(&self, not_applicable: &[&str]) {
        let mut na = self.not_applicable();
        na.sort_unstable();
        let mut want: Vec<&str> = not_applicable.to_vec();
        want.sort_unstable();
        if !self.failures().is_empty() || na != want {
            panic!(
                "conformance of {} failed (not applicable: expected {want:?}, got {na:?}):\n{self}",
                self.device
            );
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            let (mark, text) = match &r.outcome {
                Outcome::Passed => ("pass", ""),
                Outcome::Failed(m) => ("FAIL", m.as_str()),
                Outcome::NotApplicable(m) => ("n/a ", m.as_str()),
            };
            writeln!(f, "  {mark} {:<36} {}", r.check, r.promise)?;
            if !text.is_empty() {
                writeln!(f, "       -> {text}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcomes: Vec<Outcome>) -> Report {
        let mut r = Report::new("mock:x");
        for (i, outcome) in outcomes.into_iter().enumerate() {
            r.push(CheckResult {
                check: ["a", "b", "c"][i],
                promise: "p",
                outcome,
            });
        }
        r
    }

    #[test]
    fn assert_passed_requires_the_named_not_applicable_checks() {
        let r = report(vec![
            Outcome::Passed,
            Outcome::NotApplicable("no jam".into()),
        ]);
        r.assert_passed(&["b"]);
        assert!(std::panic::catch_unwind(|| r.assert_passed(&[])).is_err());
        let failed = report(vec![Outcome::Failed("broke".into())]);
        assert!(std::panic::catch_unwind(|| failed.assert_passed(&[])).is_err());
        assert!(failed.to_string().contains("FAIL a"));
        assert!(failed.to_string().contains("-> broke"));
    }
}
