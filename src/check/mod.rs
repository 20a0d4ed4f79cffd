//! The kit self-check (feature `check`): before the first citizen arrives, know in seconds
//! whether the card reader, scanner and printer work, and what to do if not.
//!
//! [`run`] probes every part of the kit at once — reader, scanner, printer, USB bus — each
//! with its own time limit ([`Limits`]), so a hung backend is reported as hung and never
//! stalls the check. The result is one table as data ([`CheckReport`], serializable for
//! office software), whose rows name the fix for each failure ("start pcscd", "install
//! libsane1", "plug in the scanner (USB)", "printer: media-empty — load paper"). A kit profile
//! ([`KitProfile`]) says which devices the kit should have, so a missing one is named.
//!
//! - reader: the PC/SC service, reader present, card inserted (ATR), eID recognised
//!   (EF.CardAccess, [`card::eid`](crate::card::eid)), reader features (PIN pad, PACE).
//! - scanner: found, opened, capabilities, and with [`CheckOptions::test_scan`] one page at
//!   low resolution.
//! - printer: found (profile URI or discovery), state, reasons, capabilities, supplies.
//! - usb (feature `usb`): what is plugged in, and which of the profile's devices is missing.
//!
//! Mock kits with injected faults for trying the check without hardware are in [`mock`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use buergerkoffer::check::{self, mock::{MockFault, MockSetup}, CheckOptions, Section, Status};
//! use buergerkoffer::profile::KitProfile;
//! let setup = MockSetup::new(&["printer=media-empty".parse().unwrap()]);
//! let report = check::run(&setup.kit, &KitProfile::standard(), &CheckOptions::default()).await;
//! let row = report.section(Section::Printer).find(|r| r.status == Status::Fail).unwrap();
//! assert_eq!(row.fix.as_deref(), Some("printer: media-empty — load paper"));
//! assert!(!report.passed);
//! # }
//! ```

pub mod fix;
pub mod mock;
mod printer;
mod probe;
mod reader;
mod report;
mod scanner;
mod usb;

use std::time::{Duration, Instant};

pub use report::{CheckReport, CheckRow, ProbeTime, Problem, Section, Status};

use crate::device::{Backend, DeviceInfo, DeviceKind};
use crate::error::Error;
use crate::kit::Kit;
use crate::profile::{ExpectedDevice, KitProfile};
use probe::Probe;

/// The time limit of each probe. All probes run at once, so the whole check takes about as
/// long as the slowest one; the defaults keep it under 10 s even when a device hangs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Card reader and card (default 4 s).
    pub reader: Duration,
    /// Scanner without a test scan (default 4 s).
    pub scanner: Duration,
    /// Scanner with a test scan (default 8 s).
    pub scanner_with_test_scan: Duration,
    /// Printer (default 4 s).
    pub printer: Duration,
    /// USB bus (default 2 s).
    pub usb: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            reader: Duration::from_secs(4),
            scanner: Duration::from_secs(4),
            scanner_with_test_scan: Duration::from_secs(8),
            printer: Duration::from_secs(4),
            usb: Duration::from_secs(2),
        }
    }
}

/// What [`run`] checks and how long it may take.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Scan one page at low resolution (75 dpi gray, or the lowest the scanner offers).
    pub test_scan: bool,
    /// The per-probe time limits.
    pub limits: Limits,
}

impl CheckOptions {
    /// The defaults: no test scan, [`Limits::default`].
    pub fn new() -> Self {
        CheckOptions::default()
    }

    /// Sets [`test_scan`](Self::test_scan).
    #[must_use]
    pub fn test_scan(mut self, on: bool) -> Self {
        self.test_scan = on;
        self
    }

    /// Sets the limits.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Runs the whole check: every probe at once, each within its limit. Never fails: every
/// problem is a row of the report. Cancel-safe (dropping the future abandons the probes).
pub async fn run(kit: &Kit, profile: &KitProfile, options: &CheckOptions) -> CheckReport {
    let t0 = Instant::now();
    let l = options.limits;
    let scanner_limit = if options.test_scan {
        l.scanner_with_test_scan
    } else {
        l.scanner
    };
    let reader_exp = profile.reader.clone();
    let scanner_exp = profile.scanner.clone();
    let printer_exp = profile.printer.clone();
    let (r, s, p, u) = tokio::join!(
        Probe::run(Section::Reader, l.reader, |p| reader::probe(
            kit,
            reader_exp.as_ref(),
            p
        )),
        Probe::run(Section::Scanner, scanner_limit, |p| scanner::probe(
            kit,
            scanner_exp.as_ref(),
            options.test_scan,
            p
        )),
        Probe::run(Section::Printer, l.printer, |p| printer::probe(
            kit,
            printer_exp.as_ref(),
            p
        )),
        Probe::run(Section::Usb, l.usb, |p| usb::probe(kit, profile, p)),
    );
    let mut rows = Vec::new();
    let mut probes = Vec::new();
    for (section_rows, time) in [r, s, p, u] {
        rows.extend(section_rows);
        probes.push(time);
    }
    fix::cross_check(&mut rows);
    let elapsed_ms = u64::try_from(t0.elapsed().as_millis()).unwrap_or(u64::MAX);
    CheckReport::new(profile.name.clone(), rows, probes, elapsed_ms)
}

/// Whether a provider of `backend` may have devices of `kind` (the mock and outside
/// backends may have any).
fn serves(backend: &Backend, kind: DeviceKind) -> bool {
    match backend {
        Backend::Pcsc => kind == DeviceKind::CardReader,
        Backend::Sane => kind == DeviceKind::Scanner,
        Backend::Ipp => kind == DeviceKind::Printer,
        Backend::Usb => false,
        _ => true,
    }
}

/// The backends of the kit that may serve `kind`, and the devices of that kind they list;
/// providers that fail are returned with their error. Only the providers that can serve
/// `kind` are asked, so a hung SANE listing does not hold up the reader probe.
async fn discover(kit: &Kit, kind: DeviceKind) -> (usize, Vec<DeviceInfo>, Vec<(Backend, Error)>) {
    let providers: Vec<_> = kit
        .providers()
        .iter()
        .filter(|p| serves(&p.backend(), kind))
        .collect();
    let results = futures_util::future::join_all(
        providers
            .iter()
            .map(|p| async move { (p.backend(), p.devices().await) }),
    )
    .await;
    let mut found = Vec::new();
    let mut failed = Vec::new();
    for (backend, r) in results {
        match r {
            Ok(devs) => found.extend(devs.into_iter().filter(|d| d.kind == kind)),
            Err(e) => failed.push((backend, e)),
        }
    }
    (providers.len(), found, failed)
}

/// The device to check: the profile's choice among `found`, else the first one.
fn select<'a>(
    found: &'a [DeviceInfo],
    expected: Option<&ExpectedDevice>,
) -> Option<&'a DeviceInfo> {
    match expected {
        Some(e) => found.iter().find(|d| e.matches(&d.id.to_string(), &d.name)),
        None => found.first(),
    }
}

/// `id (name)`, or just the id when the name says nothing more.
fn describe(info: &DeviceInfo) -> String {
    let id = info.id.to_string();
    if info.name.is_empty() || info.name == id || info.name == info.id.name() {
        id
    } else {
        format!("{id} ({})", info.name)
    }
}
