//! Expectations shared by all mocks, in the spirit of embedded-hal-mock: a test says what it
//! expects, the mock records every difference, [`done`](Expectations::done) reports them, and a
//! mock with expectations that is dropped without `done()` fails the test.

use std::collections::VecDeque;
use std::fmt::Debug;

use crate::error::{Error, ErrorKind, Result};

/// A queue of expected calls and the differences seen so far.
#[derive(Debug)]
pub(crate) struct Expectations<T> {
    device: String,
    expected: VecDeque<T>,
    differences: Vec<String>,
    armed: bool,
    done: bool,
}

impl<T: Debug + PartialEq> Expectations<T> {
    pub(crate) fn new(device: impl Into<String>) -> Self {
        Expectations {
            device: device.into(),
            expected: VecDeque::new(),
            differences: Vec::new(),
            armed: false,
            done: false,
        }
    }

    /// Adds an expected call; from now on `done()` is owed.
    pub(crate) fn push(&mut self, t: T) {
        self.armed = true;
        self.done = false;
        self.expected.push_back(t);
    }

    /// Checks an actual call against the next expectation (when any are set). Returns the
    /// difference, which the mock also returns to the caller as an error.
    pub(crate) fn check(&mut self, actual: &T, what: &str) -> Result<()> {
        if !self.armed {
            return Ok(());
        }
        let diff = match self.expected.pop_front() {
            Some(e) if &e == actual => return Ok(()),
            Some(e) => format!("{what}: expected {e:?}, got {actual:?}"),
            None => format!("{what}: unexpected call {actual:?} after all expectations were used"),
        };
        self.differences.push(diff.clone());
        Err(Error::new(
            ErrorKind::InvalidInput,
            self.device.clone(),
            "mock expectation",
        )
        .with_detail(diff))
    }

    /// Records a difference found elsewhere (e.g. a scripted step that did not match).
    pub(crate) fn record(&mut self, diff: String) {
        self.armed = true;
        self.differences.push(diff);
    }

    pub(crate) fn arm(&mut self) {
        self.armed = true;
        self.done = false;
    }

    /// Reports every difference and every unused expectation; `extra` are further unused
    /// items of the mock's own script.
    pub(crate) fn done(&mut self, extra_unused: Vec<String>) -> Result<()> {
        self.done = true;
        let mut all = std::mem::take(&mut self.differences);
        all.extend(
            self.expected
                .drain(..)
                .map(|e| format!("expected {e:?}, never happened")),
        );
        all.extend(extra_unused);
        if all.is_empty() {
            Ok(())
        } else {
            Err(
                Error::new(ErrorKind::InvalidInput, self.device.clone(), "mock done()")
                    .with_detail(all.join("; ")),
            )
        }
    }

    /// Whether the owner must panic on drop: expectations were set and `done()` not called.
    pub(crate) fn owes_done(&self) -> bool {
        self.armed && !self.done
    }

    pub(crate) fn device(&self) -> &str {
        &self.device
    }
}

/// Called from the `Drop` of a mock's shared state.
pub(crate) fn panic_if_done_owed(owes: bool, device: &str) {
    if owes && !std::thread::panicking() {
        panic!("mock {device} had expectations but was dropped without done()");
    }
}
