//! The printer probe: found (the profile's URI, or discovery), state, reasons, capabilities and
//! supplies.

use std::sync::Arc;

use crate::device::{DeviceId, DeviceKind};
use crate::error::ErrorKind;
use crate::kit::Kit;
use crate::print::{PrinterState, ReasonKind};
use crate::profile::ExpectedDevice;

use super::probe::Probe;
use super::report::Status;
use super::{describe, discover, fix, select};

pub(super) async fn probe(kit: &Kit, expected: Option<&ExpectedDevice>, p: Arc<Probe>) {
    let section = p.section();
    let id: DeviceId = if let Some(uri) = expected.and_then(|e| e.id.as_deref()) {
        // IPP printers are not discovered: the profile's URI is opened directly.
        match uri.parse() {
            Ok(id) => id,
            Err(e) => {
                p.row("present", Status::Fail, e.to_string())
                    .fix("correct the printer URI in the kit profile");
                return;
            }
        }
    } else {
        p.step("present", "listing the printers");
        let (providers, found, failed) = discover(kit, DeviceKind::Printer).await;
        if providers == 0 {
            p.row("backend", Status::Fail, "no printer backend in this build")
                .fix(fix::no_backend(DeviceKind::Printer));
            return;
        }
        for (backend, e) in &failed {
            let (status, f) = fix::service_failure(backend, e);
            p.row("service", status, e.to_string()).fix(f);
        }
        match select(&found, expected) {
            Some(info) => info.id.clone(),
            None => {
                let required = expected.is_none_or(|e| e.required);
                let what = if expected.is_some() {
                    "printer missing"
                } else {
                    "no printer found"
                };
                p.row(
                    "present",
                    if required { Status::Fail } else { Status::Warn },
                    what,
                )
                .fix(fix::missing(DeviceKind::Printer, expected))
                .missing();
                return;
            }
        }
    };
    p.step("present", "contacting the printer");
    let printer = match kit.open_printer(&id).await {
        Ok(pr) => pr,
        Err(e) => {
            let missing = matches!(e.kind(), ErrorKind::DeviceGone | ErrorKind::NotFound);
            let required = expected.is_none_or(|e| e.required);
            let status = match e.kind() {
                ErrorKind::Timeout => Status::Hung,
                _ if missing && !required => Status::Warn,
                _ => Status::Fail,
            };
            let row = p.row("present", status, e.to_string()).fix_opt(
                if missing && !e.to_string().contains("cargo feature") {
                    Some(fix::missing(DeviceKind::Printer, expected))
                } else {
                    fix::for_error(section, &e)
                },
            );
            if missing {
                row.missing();
            }
            return;
        }
    };
    p.row("present", Status::Ok, describe(printer.info()));

    p.step("state", "reading the printer's state");
    let status = match printer.status().await {
        Ok(s) => s,
        Err(e) => {
            p.row("state", Status::Fail, e.to_string())
                .fix_opt(fix::for_error(section, &e));
            return;
        }
    };
    let state = match status.state {
        PrinterState::Idle => "idle",
        PrinterState::Processing => "printing",
        PrinterState::Stopped => "stopped",
    };
    let msg = status
        .message
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(|m| format!(" (\"{m}\")"))
        .unwrap_or_default();
    let blocked = status.blocking_error().is_some();
    // A stopped printer's reasons say why (and carry the fixes); stopped without a reason
    // is a failure of its own.
    let st = match (
        status.state == PrinterState::Stopped || blocked,
        status.reasons.is_empty(),
    ) {
        (false, _) => Status::Ok,
        (true, false) => Status::Info,
        (true, true) => Status::Fail,
    };
    let row = p.row("state", st, format!("{state}{msg}"));
    if st == Status::Fail {
        row.fix("the printer stopped without saying why: see its display, switch it off and on");
    } else {
        drop(row);
    }
    if status.reasons.is_empty() {
        p.row("reasons", Status::Ok, "none");
    }
    for r in &status.reasons {
        match fix::for_reason(r) {
            Some((st, f)) => {
                let row = p.row("reason", st, r.keyword()).fix(f);
                if r.kind == ReasonKind::Offline && st == Status::Fail {
                    row.missing();
                }
            }
            None => {
                p.row("reason", Status::Info, r.keyword());
            }
        }
    }

    p.step("capabilities", "reading the capabilities");
    match printer.capabilities().await {
        Ok(c) => {
            let formats: Vec<&str> = c.formats.iter().map(|f| f.mime()).collect();
            let media = if c.media_ready.is_empty() {
                "no media reported loaded".to_owned()
            } else {
                format!("loaded {}", c.media_ready.join(", "))
            };
            p.row(
                "capabilities",
                Status::Ok,
                format!(
                    "{}; {media}; {}",
                    formats.join(", "),
                    if c.color { "colour" } else { "monochrome" }
                ),
            );
        }
        Err(e) => {
            p.row("capabilities", Status::Fail, e.to_string())
                .fix_opt(fix::for_error(section, &e));
        }
    }

    // Levels where the printer reports them; otherwise the reasons alone (toner-low etc.,
    // rows above) say whether a supply needs attention.
    for sup in &status.supplies {
        let row = p.row(
            "supply",
            if sup.is_low() {
                Status::Warn
            } else {
                Status::Ok
            },
            sup.to_string(),
        );
        if sup.is_low() {
            row.fix(format!(
                "printer: {} is low — replace it before the day's printing",
                sup.name
            ));
        }
    }
    let supply = |k: &ReasonKind| {
        matches!(
            k,
            ReasonKind::TonerLow
                | ReasonKind::TonerEmpty
                | ReasonKind::MarkerSupplyLow
                | ReasonKind::MarkerSupplyEmpty
        )
    };
    if status.supplies.is_empty() && !status.reasons.iter().any(|r| supply(&r.kind)) {
        p.row(
            "supplies",
            Status::Info,
            "no levels reported, no low or empty supply reported",
        );
    }
}
