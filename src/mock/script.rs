//! Shared expectation machinery of the mocks, in the spirit of `embedded-hal-mock`.
//!
//! A [`Script`] is a queue of expected calls. Each real call is checked against the head of
//! the queue; a difference (an unexpected call, a call with other arguments) is recorded and
//! [`Script::done`] reports every recorded difference plus any expectation left unused, as an
//! [`ErrorKind::InvalidInput`] error describing them. A script that had expectations and is
//! dropped without `done()` panics (unless the thread is already panicking), so a forgotten
//! check fails the test; a mock without expectations never panics.

use std::collections::VecDeque;
use std::fmt;

use crate::error::{Error, ErrorKind, Result};

/// Queue of expected calls of one mock, with the differences seen so far.
pub(crate) struct Script<T> {
    device: String,
    expected: VecDeque<T>,
    /// Whether expectations were ever set since the last `done()`.
    armed: bool,
    /// Whether `done()` has been called since the last expectation was added.
    checked: bool,
    problems: Vec<String>,
}

impl<T> fmt::Debug for Script<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Script")
            .field("device", &self.device)
            .field("expected", &self.expected.len())
            .field("problems", &self.problems.len())
            .finish()
    }
}

impl<T> Script<T> {
    pub(crate) fn new(device: impl Into<String>) -> Self {
        Script {
            device: device.into(),
            expected: VecDeque::new(),
            armed: false,
            checked: true,
            problems: Vec::new(),
        }
    }

    /// Adds expectations to the end of the queue.
    pub(crate) fn expect(&mut self, items: impl IntoIterator<Item = T>) {
        self.expected.extend(items);
        self.armed = true;
        self.checked = false;
    }

    /// Whether expectations were set (since the last `done()`).
    pub(crate) fn is_armed(&self) -> bool {
        self.armed
    }

    /// Expectations not yet used.
    pub(crate) fn pending(&self) -> usize {
        self.expected.len()
    }

    /// Takes the next expectation, recording an "unexpected call" problem when the script is
    /// armed but used up. Returns `None` when there is no expectation.
    pub(crate) fn next(&mut self, what: impl FnOnce() -> String) -> Option<T> {
        match self.expected.pop_front() {
            Some(t) => Some(t),
            None => {
                if self.armed {
                    self.problems
                        .push(format!("unexpected {} (no expectation left)", what()));
                }
                None
            }
        }
    }

    /// Records a difference found by the caller.
    pub(crate) fn problem(&mut self, text: String) {
        self.problems.push(text);
    }

    /// Reports every difference seen and every unused expectation, then resets the script.
    pub(crate) fn done(&mut self, describe: impl Fn(&T) -> String) -> Result<()> {
        let mut problems = std::mem::take(&mut self.problems);
        for t in self.expected.drain(..) {
            problems.push(format!("expected {} was never made", describe(&t)));
        }
        self.armed = false;
        self.checked = true;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::InvalidInput,
                self.device.clone(),
                "check expectations",
            )
            .with_detail(problems.join("; ")))
        }
    }
}

impl<T> Drop for Script<T> {
    fn drop(&mut self) {
        if self.armed && !self.checked && !std::thread::panicking() {
            panic!(
                "{}: mock dropped with expectations but without done() ({} unused, {} differences)",
                self.device,
                self.expected.len(),
                self.problems.len()
            );
        }
    }
}

/// A lock that survives poisoning: a mock must keep working after a test thread panicked.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_mismatch_and_unused() {
        let mut s: Script<u32> = Script::new("mock:x");
        s.expect([1, 2, 3]);
        assert_eq!(s.next(|| "call".into()), Some(1));
        s.problem("got 5, expected 2".into());
        let e = s.done(|t| format!("call {t}")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        let msg = e.to_string();
        assert!(msg.contains("got 5"), "{msg}");
        assert!(msg.contains("call 3 was never made"), "{msg}");
        assert!(s.done(|t| format!("{t}")).is_ok());
    }

    #[test]
    fn unexpected_call_when_armed() {
        let mut s: Script<u32> = Script::new("mock:x");
        assert_eq!(s.next(|| "free".into()), None);
        assert!(s.done(|t| format!("{t}")).is_ok());
        s.expect([]);
        assert_eq!(s.next(|| "scan".into()), None);
        let e = s.done(|t| format!("{t}")).unwrap_err();
        assert!(e.to_string().contains("unexpected scan"));
    }

    #[test]
    #[should_panic(expected = "without done()")]
    fn drop_without_done_panics() {
        let mut s: Script<u32> = Script::new("mock:x");
        s.expect([1]);
        drop(s);
    }
}
