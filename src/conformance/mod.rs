//! The conformance suite: one async check per documented promise of the device traits, run
//! against any [`Scanner`](crate::Scanner), [`Printer`](crate::Printer) or
//! [`CardReader`](crate::CardReader) — the mocks, the real backends, or your own `Provider`.
//!
//! Our own test suite runs it against every mock in the default `cargo test` and against every
//! real peer (SANE `test`, ippeveprinter, pcscd with a virtual card) in the full-feature suite:
//! where a mock and a backend disagree, the backend is the truth and the mock changes. That is
//! what makes the mocks trustworthy for your integration tests.
//!
//! Some promises need the device to *do* something — take a card out, jam, run out of paper.
//! A *rig* gives the suite that handle: [`ScannerRig`], [`PrinterRig`], [`ReaderRig`]. The
//! [`mocks`] module has rigs for the mock devices; for a real device the rig does what a
//! person would (our peer tests stop the virtual card, set SANE's `read-return-value`). A rig
//! that cannot make the device do a thing says so, and the check is reported as
//! [`Outcome::NotApplicable`] with the reason — never silently passed.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use buergerkoffer::conformance::{self, mocks::MockScannerRig};
//! use buergerkoffer::mock::MockScanner;
//!
//! let rig = MockScannerRig::new(MockScanner::new("scanner").with_adf_pages(5));
//! let report = conformance::check_scanner(&rig).await;
//! report.assert_passed(&[]); // panics with a table of what failed
//! # }
//! ```
//!
//! The checks ([`SCANNER_CHECKS`], [`PRINTER_CHECKS`], [`READER_CHECKS`] list them with the
//! promise each one checks):
//! - scanner: capabilities are consistent; no area scans the whole area of the source; an area
//!   gives the pixel size it asks for; pages arrive in order in the requested format; a second
//!   concurrent job is `Busy`; dropping the page stream cancels and the scanner is usable
//!   again; a jam ends the stream with `PaperJam` after the pages before it; an empty feeder
//!   at the first page is `NoDocuments`.
//! - printer: capabilities are consistent; every `Document` kind prints or is refused as
//!   `Unsupported` exactly when [`print::convert::plan`](crate::print::convert::plan) says
//!   so; job states run pending/processing to completed; unknown jobs are `NotFound`; a
//!   cancelled job ends `Canceled`; with media empty the printer reports it and a job waits
//!   `Pending` with the reason, then completes once paper is back.
//! - card reader: status follows the card; events arrive in order; connecting without a card
//!   is `NotFound`; a transmit after the card was pulled is `CardRemoved`; a pulled card ends a
//!   pending transmit with `CardRemoved`; a subscriber that falls behind gets `Lagged`.

pub mod mocks;
mod printer;
mod reader;
mod report;
mod scanner;

pub use printer::{check_printer, PrinterRig, PRINTER_CHECKS};
pub use reader::{check_reader, ReaderRig, READER_CHECKS};
pub use report::{CheckResult, Outcome, Report};
pub use scanner::{check_scanner, ScanFault, ScannerRig, SCANNER_CHECKS};

use std::future::Future;
use std::time::Duration;

/// How long one check may take before it is reported as failed, so a hung device never
/// stalls the suite. Generous: a printer check prints up to seven jobs one after another, and
/// a slow printer may take many seconds for each.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a check did not pass: it failed, or the rig cannot make the device do what it needs.
#[derive(Debug)]
enum Miss {
    Failed(String),
    NotApplicable(String),
}

type Check = std::result::Result<(), Miss>;

/// Fails the check with a message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err($crate::conformance::Miss::Failed(format!($($msg)+)));
        }
    };
}
pub(crate) use ensure;

/// Turns a crate error into a failed check, with what was being done.
fn fail(what: &str) -> impl FnOnce(crate::Error) -> Miss + '_ {
    move |e| Miss::Failed(format!("{what}: {e}"))
}

/// Runs one check under [`CHECK_TIMEOUT`] and records its outcome.
async fn run(
    report: &mut Report,
    name: &'static str,
    promise: &'static str,
    check: impl Future<Output = Check>,
) {
    let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(())) => Outcome::Passed,
        Ok(Err(Miss::Failed(m))) => Outcome::Failed(m),
        Ok(Err(Miss::NotApplicable(m))) => Outcome::NotApplicable(m),
        Err(_) => Outcome::Failed(format!("did not finish within {CHECK_TIMEOUT:?}")),
    };
    tracing::debug!(check = name, ?outcome, "conformance check");
    report.push(CheckResult {
        check: name,
        promise,
        outcome,
    });
}

/// Looks up the promise text of `name` in a check table.
fn promise(table: &[(&'static str, &'static str)], name: &'static str) -> &'static str {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map_or("", |(_, p)| p)
}
