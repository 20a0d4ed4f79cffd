//! What to do about each failure: the fixes the check names, as plain English sentences a
//! clerk can follow ("start pcscd", "install libsane1", "plug in the scanner (USB)",
//! "printer: media-empty — load paper"). Public so that other front ends (a local service)
//! word them the same way.

use crate::device::{Backend, DeviceKind};
use crate::error::{Error, ErrorKind};
use crate::print::{ReasonKind, Severity, StateReason};
use crate::profile::ExpectedDevice;

use super::report::{CheckRow, Problem, Section, Status};

/// The fix for the PC/SC service being down.
pub const START_PCSCD: &str = "start pcscd (Debian package `pcscd`)";
/// The fix for libsane missing.
pub const INSTALL_LIBSANE: &str = "install libsane1 (Debian packages `libsane1 sane-utils`)";

/// The kind of device a section is about (`None` for the USB bus).
pub fn kind_of(section: Section) -> Option<DeviceKind> {
    match section {
        Section::Reader => Some(DeviceKind::CardReader),
        Section::Scanner => Some(DeviceKind::Scanner),
        Section::Printer => Some(DeviceKind::Printer),
        Section::Usb => None,
    }
}

/// The fix for a probe that did not answer in time while `doing` something.
pub fn hung(section: Section, doing: &str) -> String {
    let item = doing;
    match section {
        Section::Reader => format!(
            "the card reader does not answer (while {item}): unplug the reader and plug it back in; \
             if that does not help, restart pcscd"
        ),
        Section::Scanner => format!(
            "the scanner does not answer (while {item}): switch the scanner off and on, or unplug it \
             and plug it back in (USB)"
        ),
        Section::Printer => format!(
            "the printer does not answer (while {item}): check that it is switched on and connected"
        ),
        Section::Usb => "the USB bus does not answer: unplug the USB hub and plug it back in".into(),
    }
}

/// The row status and fix for a backend that could not list its devices.
pub fn service_failure(backend: &Backend, e: &Error) -> (Status, String) {
    match (backend, e.kind()) {
        (_, ErrorKind::Timeout) => (
            Status::Hung,
            match backend {
                Backend::Sane => "a SANE backend does not answer (slow network scanner?): \
                                  check the scanner's connection, or remove unused backends \
                                  from /etc/sane.d/dll.conf"
                    .into(),
                _ => format!("the {backend} service does not answer: restart it"),
            },
        ),
        (Backend::Pcsc, _) => (Status::Fail, START_PCSCD.into()),
        (Backend::Sane, ErrorKind::NotFound) => (Status::Fail, INSTALL_LIBSANE.into()),
        (Backend::Sane, _) => (
            Status::Fail,
            "check the SANE configuration: `scanimage -L` should list the scanner".into(),
        ),
        (Backend::Ipp, _) => (
            Status::Fail,
            "check that the printer is switched on and its address in the kit profile is right"
                .into(),
        ),
        _ => (
            Status::Fail,
            format!("the {backend} backend failed: see the detail"),
        ),
    }
}

/// The fix when the kit has no backend for `kind` in this build.
pub fn no_backend(kind: DeviceKind) -> String {
    let feature = match kind {
        DeviceKind::CardReader => "pcsc",
        DeviceKind::Scanner => "sane",
        DeviceKind::Printer => "ipp",
    };
    format!("this build has no {kind} backend: build buergerkoffer with `--features {feature}`")
}

/// The fix for an expected device that is not there.
pub fn missing(kind: DeviceKind, expected: Option<&ExpectedDevice>) -> String {
    match kind {
        DeviceKind::CardReader => "plug in the card reader (USB)".into(),
        DeviceKind::Scanner => "plug in the scanner (USB) and switch it on".into(),
        DeviceKind::Printer => match expected.and_then(|e| e.id.as_deref()) {
            Some(uri) => {
                format!("switch the printer on and connect it (it should answer at {uri})")
            }
            None if expected.is_some_and(ExpectedDevice::checks_usb) => {
                "plug in the printer (USB) and switch it on; for a network printer set its \
                 address in the kit profile ([printer] uri = \"ipp://...\")"
                    .into()
            }
            None => "set the printer's address in the kit profile ([printer] uri = \"ipp://...\")"
                .into(),
        },
    }
}

/// The fix for an error from a device of `section`, if there is a specific one.
pub fn for_error(section: Section, e: &Error) -> Option<String> {
    let dev = section.name();
    Some(match (section, e.kind()) {
        (Section::Scanner, ErrorKind::PaperJam) => {
            "scanner: paper jam — open the feeder and take the paper out".into()
        }
        (Section::Printer, ErrorKind::PaperJam) => {
            "printer: media-jam — open the printer and take the jammed paper out".into()
        }
        (_, ErrorKind::NoDocuments) => "scanner: feeder empty — put the document in".into(),
        (_, ErrorKind::CoverOpen) => format!("{dev}: cover open — close it"),
        (_, ErrorKind::MediaEmpty) => "printer: media-empty — load paper".into(),
        (_, ErrorKind::Busy) => {
            format!("another program is using the {dev}: close it and try again")
        }
        (Section::Reader, ErrorKind::DeviceGone) if e.to_string().contains("pcscd") => {
            START_PCSCD.into()
        }
        (_, ErrorKind::DeviceGone) => format!(
            "the {dev} went away: plug it back in{}",
            if section == Section::Printer {
                " or switch it on"
            } else {
                " (USB)"
            }
        ),
        (_, ErrorKind::Timeout) => hung(section, "waiting for its answer"),
        (Section::Reader, ErrorKind::CardRemoved) => {
            "the card was pulled during the check: insert it again and repeat the check".into()
        }
        (_, ErrorKind::Io) => {
            format!("the {dev} reports an I/O error: unplug it and plug it back in")
        }
        (_, ErrorKind::NotFound) if e.to_string().contains("cargo feature") => {
            kind_of(section).map(no_backend)?
        }
        _ => return None,
    })
}

/// The row status and fix for a printer-state-reason; `None` for reasons that need nothing.
pub fn for_reason(reason: &StateReason) -> Option<(Status, String)> {
    let base = reason
        .keyword()
        .trim_end_matches("-error")
        .trim_end_matches("-warning")
        .trim_end_matches("-report")
        .to_owned();
    let what = match &reason.kind {
        ReasonKind::MediaEmpty => "load paper",
        ReasonKind::MediaLow => "load paper soon",
        ReasonKind::MediaJam => "open the printer and take the jammed paper out",
        ReasonKind::MediaNeeded => "load the paper the job asks for",
        ReasonKind::DoorOpen => "close the printer's door",
        ReasonKind::CoverOpen => "close the printer's cover",
        ReasonKind::TonerLow => "have a toner cartridge ready",
        ReasonKind::TonerEmpty => "replace the toner cartridge",
        ReasonKind::MarkerSupplyLow => "have a new ink or toner cartridge ready",
        ReasonKind::MarkerSupplyEmpty => "replace the ink or toner cartridge",
        ReasonKind::Offline => "switch the printer on and connect it",
        ReasonKind::Paused => "resume the printer (it was paused)",
        ReasonKind::OutputAreaFull => "empty the output tray",
        ReasonKind::SpoolAreaFull => "wait for the queued jobs, or cancel old ones",
        ReasonKind::Other(_) if reason.severity == Severity::Error => {
            "see the printer's display or manual"
        }
        _ => return None,
    };
    let status = match reason.severity {
        Severity::Error => Status::Fail,
        Severity::Warning => Status::Warn,
        Severity::Report => return None,
    };
    Some((status, format!("printer: {base} — {what}")))
}

/// After all probes: a device its backend does not see, although the USB view shows it
/// plugged in, gets a fix about the backend instead of "plug it in".
pub(super) fn cross_check(rows: &mut [CheckRow]) {
    let plugged: Vec<(Section, String)> = rows
        .iter()
        .filter(|r| r.section == Section::Usb && r.status == Status::Ok)
        .filter_map(|r| {
            let s = match r.item.as_str() {
                "reader" => Section::Reader,
                "scanner" => Section::Scanner,
                "printer" => Section::Printer,
                _ => return None,
            };
            Some((s, r.detail.clone()))
        })
        .collect();
    for row in rows.iter_mut() {
        let not_seen = matches!(row.item.as_str(), "present" | "opened");
        if row.section == Section::Usb || row.problem != Some(Problem::Missing) || !not_seen {
            continue;
        }
        if let Some((_, usb)) = plugged.iter().find(|(s, _)| *s == row.section) {
            let hint = match row.section {
                Section::Reader => "restart pcscd; if that does not help, install the reader's driver (Debian package `libccid`, or the vendor's)",
                Section::Scanner => "install its SANE backend, and check `scanimage -L` as the kit's user (USB permissions)",
                _ => "set its address in the kit profile (ipp-usb serves USB printers at ipp://localhost:60000/ipp/print)",
            };
            row.fix = Some(format!(
                "the {} is plugged in ({usb}) but its backend does not see it: {hint}",
                row.section.name()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_keyword_and_the_action() {
        let r = |k: &str| for_reason(&StateReason::from_keyword(k).unwrap());
        assert_eq!(
            r("media-empty-error"),
            Some((Status::Fail, "printer: media-empty — load paper".into()))
        );
        assert_eq!(r("toner-low-warning").unwrap().0, Status::Warn);
        assert_eq!(r("toner-low-report"), None);
        assert_eq!(r("com.example-thing-warning"), None);
        assert!(r("media-jam-error")
            .unwrap()
            .1
            .starts_with("printer: media-jam — "));
    }

    #[test]
    fn services_have_their_fixes() {
        let e = Error::new(ErrorKind::Backend, "pcsc", "list readers");
        assert_eq!(
            service_failure(&Backend::Pcsc, &e),
            (Status::Fail, START_PCSCD.into())
        );
        let e = Error::new(ErrorKind::NotFound, "sane", "load libsane");
        assert_eq!(
            service_failure(&Backend::Sane, &e),
            (Status::Fail, INSTALL_LIBSANE.into())
        );
        let e = Error::new(ErrorKind::Timeout, "sane", "list devices");
        assert_eq!(service_failure(&Backend::Sane, &e).0, Status::Hung);
        assert_eq!(
            missing(DeviceKind::Scanner, None),
            "plug in the scanner (USB) and switch it on"
        );
    }
}
