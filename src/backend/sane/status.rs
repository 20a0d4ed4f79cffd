//! `SANE_Status` values to the crate's [`ErrorKind`]s; the raw status is kept with
//! [`RawCode::Sane`], and an unknown status maps to [`ErrorKind::Backend`] without panicking.

use super::ffi::status as st;
use crate::error::{Error, ErrorKind, RawCode};

/// The `SANE_STATUS_*` name of a status (`"SANE_STATUS_JAMMED"`), or `None` if unknown.
pub fn name(status: i32) -> Option<&'static str> {
    Some(match status {
        st::GOOD => "SANE_STATUS_GOOD",
        st::UNSUPPORTED => "SANE_STATUS_UNSUPPORTED",
        st::CANCELLED => "SANE_STATUS_CANCELLED",
        st::DEVICE_BUSY => "SANE_STATUS_DEVICE_BUSY",
        st::INVAL => "SANE_STATUS_INVAL",
        st::EOF => "SANE_STATUS_EOF",
        st::JAMMED => "SANE_STATUS_JAMMED",
        st::NO_DOCS => "SANE_STATUS_NO_DOCS",
        st::COVER_OPEN => "SANE_STATUS_COVER_OPEN",
        st::IO_ERROR => "SANE_STATUS_IO_ERROR",
        st::NO_MEM => "SANE_STATUS_NO_MEM",
        st::ACCESS_DENIED => "SANE_STATUS_ACCESS_DENIED",
        st::WARMING_UP => "SANE_STATUS_WARMING_UP",
        st::HW_LOCKED => "SANE_STATUS_HW_LOCKED",
        _ => return None,
    })
}

/// The error kind for a failing status.
///
/// `EOF` and `GOOD` are not failures; should they reach here they map to
/// [`ErrorKind::Protocol`] (the backend ended a step the frontend expected to go on).
pub fn kind(status: i32) -> ErrorKind {
    match status {
        st::UNSUPPORTED => ErrorKind::Unsupported,
        st::CANCELLED => ErrorKind::Cancelled,
        st::DEVICE_BUSY | st::WARMING_UP => ErrorKind::Busy,
        st::INVAL => ErrorKind::InvalidInput,
        st::JAMMED => ErrorKind::PaperJam,
        st::NO_DOCS => ErrorKind::NoDocuments,
        st::COVER_OPEN => ErrorKind::CoverOpen,
        st::IO_ERROR => ErrorKind::Io,
        st::NO_MEM => ErrorKind::Backend,
        st::ACCESS_DENIED => ErrorKind::InvalidInput,
        st::HW_LOCKED => ErrorKind::Unsupported,
        st::GOOD | st::EOF => ErrorKind::Protocol,
        _ => ErrorKind::Backend,
    }
}

/// A short explanation added as the error's detail.
fn explain(status: i32) -> &'static str {
    match status {
        st::NO_MEM => "libsane ran out of memory",
        st::ACCESS_DENIED => {
            "access to the scanner was denied (check the user's permissions, e.g. group `scanner`)"
        }
        st::HW_LOCKED => "the scanner mechanism is locked for transport",
        st::WARMING_UP => "the lamp is warming up; try again",
        st::INVAL => "the backend rejected the request or is not in a state to do it",
        _ => "",
    }
}

#[cfg(test)]
/// An error of the status' kind for `device` while doing `op`, keeping the raw status and
/// the status' name (and libsane's text, when given) in the detail.
pub fn error(status: i32, device: &str, op: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    error_with_text(status, None, device, op)
}

/// As [`error`], with libsane's `sane_strstatus` text.
pub fn error_with_text(
    status: i32,
    text: Option<&str>,
    device: &str,
    op: impl Into<std::borrow::Cow<'static, str>>,
) -> Error {
    let mut detail = match name(status) {
        Some(n) => n.to_owned(),
        None => format!("unknown SANE status {status}"),
    };
    if let Some(t) = text.filter(|t| !t.is_empty()) {
        detail.push_str(&format!(" \"{t}\""));
    }
    let more = explain(status);
    if !more.is_empty() {
        detail.push_str(": ");
        detail.push_str(more);
    }
    Error::new(kind(status), device.to_owned(), op)
        .with_detail(detail)
        .with_raw(RawCode::Sane(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_maps() {
        let table = [
            (st::UNSUPPORTED, ErrorKind::Unsupported),
            (st::CANCELLED, ErrorKind::Cancelled),
            (st::DEVICE_BUSY, ErrorKind::Busy),
            (st::INVAL, ErrorKind::InvalidInput),
            (st::JAMMED, ErrorKind::PaperJam),
            (st::NO_DOCS, ErrorKind::NoDocuments),
            (st::COVER_OPEN, ErrorKind::CoverOpen),
            (st::IO_ERROR, ErrorKind::Io),
            (st::NO_MEM, ErrorKind::Backend),
            (st::ACCESS_DENIED, ErrorKind::InvalidInput),
            (st::WARMING_UP, ErrorKind::Busy),
            (st::HW_LOCKED, ErrorKind::Unsupported),
            (st::EOF, ErrorKind::Protocol),
            (99, ErrorKind::Backend),
            (-1, ErrorKind::Backend),
        ];
        for (s, k) in table {
            let e = error(s, "sane:test", "read page 1");
            assert_eq!(e.kind(), k, "status {s}");
            assert_eq!(e.raw(), Some(RawCode::Sane(s)));
            assert!(e.to_string().starts_with("sane:test: read page 1: "), "{e}");
        }
        let e = error_with_text(st::JAMMED, Some("Document feeder jammed"), "sane:x", "scan");
        assert_eq!(
            e.to_string(),
            "sane:x: scan: paper jam: SANE_STATUS_JAMMED \"Document feeder jammed\" (SANE status 6)"
        );
        assert!(error(77, "sane:x", "scan")
            .to_string()
            .contains("unknown SANE status 77"));
    }
}
