//! The USB probe (feature `usb`): what is plugged in, and which of the profile's devices is not.
//! Only the bus is asked, no backend, so this works when a service is down.

use std::sync::Arc;

use crate::kit::Kit;
use crate::profile::KitProfile;

use super::probe::Probe;
use super::report::Status;

#[cfg(not(feature = "usb"))]
pub(super) async fn probe(_kit: &Kit, _profile: &KitProfile, p: Arc<Probe>) {
    p.row(
        "bus",
        Status::Skipped,
        "this build has no USB support (feature `usb`)",
    );
}

#[cfg(feature = "usb")]
pub(super) async fn probe(kit: &Kit, profile: &KitProfile, p: Arc<Probe>) {
    use super::fix;
    use crate::device::DeviceKind;

    let Some(bus) = kit.usb() else {
        p.row("bus", Status::Skipped, "no USB bus in this kit");
        return;
    };
    p.step("bus", "listing the USB devices");
    let devices = match bus.devices().await {
        Ok(d) => d,
        Err(e) => {
            p.row("bus", Status::Fail, e.to_string())
                .fix("check the USB access of the kit's user (udev rules)");
            return;
        }
    };
    let mut used = Vec::new();
    for (kind, expected) in profile.devices() {
        if !expected.checks_usb() {
            continue;
        }
        let item = match kind {
            DeviceKind::CardReader => "reader",
            DeviceKind::Scanner => "scanner",
            DeviceKind::Printer => "printer",
        };
        let hit = devices
            .iter()
            .enumerate()
            .find(|(_, d)| d.is(kind) && expected.matches_usb(d.vendor_id(), d.product_id()));
        match hit {
            Some((i, d)) => {
                used.push(i);
                let serial = d
                    .serial
                    .as_deref()
                    .map(|s| format!(" serial {s}"))
                    .unwrap_or_default();
                p.row(
                    item,
                    Status::Ok,
                    format!(
                        "{} {:04x}:{:04x} {}{serial}",
                        d.id(),
                        d.vendor_id(),
                        d.product_id(),
                        d.name()
                    ),
                );
            }
            None => {
                let status = if expected.required {
                    Status::Fail
                } else {
                    Status::Warn
                };
                p.row(
                    item,
                    status,
                    format!(
                        "{kind} missing: not plugged in (expected {})",
                        expected.usb_text()
                    ),
                )
                .fix(fix::missing(kind, Some(expected)))
                .missing();
            }
        }
    }
    let others: Vec<String> = devices
        .iter()
        .enumerate()
        .filter(|(i, d)| !used.contains(i) && d.kinds().next().is_some())
        .map(|(_, d)| {
            let roles: Vec<String> = d.kinds().map(|k| k.to_string()).collect();
            format!(
                "{} {:04x}:{:04x} {} ({})",
                d.id(),
                d.vendor_id(),
                d.product_id(),
                d.name(),
                roles.join(", ")
            )
        })
        .collect();
    if !others.is_empty() {
        p.row("other", Status::Info, others.join("; "));
    }
    p.row(
        "plugged in",
        Status::Info,
        format!(
            "{} USB device{}",
            devices.len(),
            if devices.len() == 1 { "" } else { "s" }
        ),
    );
}
