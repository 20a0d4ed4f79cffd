//! The SANE C API (`sane/sane.h`, SANE standard 1.0), bound by hand and loaded at run time
//! from `libsane.so.1` with `libloading`, so the crate builds on machines without libsane.
//!
//! Only [`super::thread`] calls these functions, from its one dedicated thread: libsane is
//! not re-entrant.

use std::ffi::{c_char, c_void, CStr};
use std::sync::OnceLock;

use crate::error::{Error, ErrorKind, Result};

/// `SANE_Word` (also `SANE_Int`, `SANE_Bool`, `SANE_Fixed`).
pub type Word = i32;
/// `SANE_Status`.
pub type Status = i32;
/// `SANE_Handle`.
pub type Handle = *mut c_void;

/// `SANE_STATUS_*` values.
pub mod status {
    /// Operation completed successfully.
    pub const GOOD: i32 = 0;
    /// Operation is not supported.
    pub const UNSUPPORTED: i32 = 1;
    /// Operation was cancelled.
    pub const CANCELLED: i32 = 2;
    /// Device is busy; try again later.
    pub const DEVICE_BUSY: i32 = 3;
    /// Data is invalid (includes no dev at open).
    pub const INVAL: i32 = 4;
    /// No more data available (end-of-file).
    pub const EOF: i32 = 5;
    /// Document feeder jammed.
    pub const JAMMED: i32 = 6;
    /// Document feeder out of documents.
    pub const NO_DOCS: i32 = 7;
    /// Scanner cover is open.
    pub const COVER_OPEN: i32 = 8;
    /// Error during device I/O.
    pub const IO_ERROR: i32 = 9;
    /// Out of memory.
    pub const NO_MEM: i32 = 10;
    /// Access to resource has been denied.
    pub const ACCESS_DENIED: i32 = 11;
    /// Lamp not ready, please retry (SANE 1.1 backends).
    pub const WARMING_UP: i32 = 12;
    /// Scanner mechanism locked for transport (SANE 1.1 backends).
    pub const HW_LOCKED: i32 = 13;
}

/// `SANE_Value_Type`.
pub const TYPE_BOOL: i32 = 0;
/// `SANE_TYPE_INT`.
pub const TYPE_INT: i32 = 1;
/// `SANE_TYPE_FIXED`.
pub const TYPE_FIXED: i32 = 2;
/// `SANE_TYPE_STRING`.
pub const TYPE_STRING: i32 = 3;
/// `SANE_TYPE_BUTTON`.
pub const TYPE_BUTTON: i32 = 4;
/// `SANE_TYPE_GROUP`.
pub const TYPE_GROUP: i32 = 5;

/// `SANE_UNIT_PIXEL`.
pub const UNIT_PIXEL: i32 = 1;
/// `SANE_UNIT_MM`.
#[cfg(test)]
pub const UNIT_MM: i32 = 3;

/// `SANE_CAP_SOFT_SELECT`.
pub const CAP_SOFT_SELECT: i32 = 1;
/// `SANE_CAP_AUTOMATIC`.
pub const CAP_AUTOMATIC: i32 = 16;
/// `SANE_CAP_INACTIVE`.
pub const CAP_INACTIVE: i32 = 32;

/// `SANE_CONSTRAINT_RANGE`.
pub const CONSTRAINT_RANGE: i32 = 1;
/// `SANE_CONSTRAINT_WORD_LIST`.
pub const CONSTRAINT_WORD_LIST: i32 = 2;
/// `SANE_CONSTRAINT_STRING_LIST`.
pub const CONSTRAINT_STRING_LIST: i32 = 3;

/// `SANE_ACTION_GET_VALUE`.
pub const ACTION_GET_VALUE: i32 = 0;
/// `SANE_ACTION_SET_VALUE`.
pub const ACTION_SET_VALUE: i32 = 1;
/// `SANE_ACTION_SET_AUTO`.
pub const ACTION_SET_AUTO: i32 = 2;

/// `SANE_INFO_INEXACT`.
pub const INFO_INEXACT: i32 = 1;
/// `SANE_INFO_RELOAD_OPTIONS`.
pub const INFO_RELOAD_OPTIONS: i32 = 2;
/// `SANE_INFO_RELOAD_PARAMS`.
pub const INFO_RELOAD_PARAMS: i32 = 4;

/// `SANE_Device`.
#[repr(C)]
pub struct Device {
    /// Unique device name (what `sane_open` takes).
    pub name: *const c_char,
    /// Vendor.
    pub vendor: *const c_char,
    /// Model.
    pub model: *const c_char,
    /// Device type, e.g. "flatbed scanner".
    pub kind: *const c_char,
}

/// `SANE_Range`.
#[repr(C)]
pub struct Range {
    /// Lowest value.
    pub min: Word,
    /// Highest value.
    pub max: Word,
    /// Step (0 = any).
    pub quant: Word,
}

/// `SANE_Option_Descriptor`. The constraint union is one pointer wide.
#[repr(C)]
pub struct OptionDescriptor {
    /// Option name (`resolution`, `mode`, ...).
    pub name: *const c_char,
    /// Title shown to users.
    pub title: *const c_char,
    /// Description.
    pub desc: *const c_char,
    /// `SANE_Value_Type`.
    pub kind: i32,
    /// `SANE_Unit`.
    pub unit: i32,
    /// Size of the value in bytes.
    pub size: Word,
    /// `SANE_CAP_*` bits.
    pub cap: Word,
    /// `SANE_Constraint_Type`.
    pub constraint_type: i32,
    /// `string_list` (NULL-terminated), `word_list` (first word = count) or `range`.
    pub constraint: *const c_void,
}

/// `SANE_Parameters`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Parameters {
    /// `SANE_Frame`.
    pub format: i32,
    /// Whether this is the last frame of the image.
    pub last_frame: Word,
    /// Bytes per scan line (may include padding).
    pub bytes_per_line: Word,
    /// Pixels per line.
    pub pixels_per_line: Word,
    /// Lines, or -1 when unknown (hand scanners).
    pub lines: Word,
    /// Bits per sample.
    pub depth: Word,
}

type AuthCallback = Option<unsafe extern "C" fn(*const c_char, *mut c_char, *mut c_char)>;

/// The libsane entry points, resolved once.
#[allow(missing_docs)]
pub struct Api {
    pub init: unsafe extern "C" fn(*mut Word, AuthCallback) -> Status,
    pub exit: unsafe extern "C" fn(),
    pub get_devices: unsafe extern "C" fn(*mut *const *const Device, Word) -> Status,
    pub open: unsafe extern "C" fn(*const c_char, *mut Handle) -> Status,
    pub close: unsafe extern "C" fn(Handle),
    pub get_option_descriptor: unsafe extern "C" fn(Handle, Word) -> *const OptionDescriptor,
    pub control_option: unsafe extern "C" fn(Handle, Word, i32, *mut c_void, *mut Word) -> Status,
    pub get_parameters: unsafe extern "C" fn(Handle, *mut Parameters) -> Status,
    pub start: unsafe extern "C" fn(Handle) -> Status,
    pub read: unsafe extern "C" fn(Handle, *mut u8, Word, *mut Word) -> Status,
    pub cancel: unsafe extern "C" fn(Handle),
    pub strstatus: unsafe extern "C" fn(Status) -> *const c_char,
    _lib: libloading::Library,
}

/// The file name loaded.
pub const LIBRARY: &str = "libsane.so.1";

/// Environment variable naming another libsane to load (a path or file name), e.g. a SANE
/// built from source in `/opt`.
pub const LIBRARY_ENV: &str = "BUERGERKOFFER_LIBSANE";

/// What to install when libsane is missing.
pub const INSTALL_HINT: &str =
    "install the Debian packages `libsane1 sane-utils` (libsane1 provides libsane.so.1, sane-utils the backend configuration such as the `test` device)";

static API: OnceLock<std::result::Result<Api, String>> = OnceLock::new();

fn load_api() -> std::result::Result<Api, String> {
    let file = std::env::var_os(LIBRARY_ENV)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| LIBRARY.into());
    let shown = file.to_string_lossy().into_owned();
    // SAFETY: loading libsane runs its ELF initialisers, which only set up static data;
    // the library stays loaded for the life of the process (stored in a static).
    let lib = unsafe { libloading::Library::new(&file) }
        .map_err(|e| format!("cannot load {shown}: {e}"))?;
    macro_rules! sym {
        ($name:literal) => {{
            // SAFETY: the symbol is a function of the SANE C API whose signature is declared
            // in the `Api` field it is stored in (from sane/sane.h); the pointer stays valid
            // while `_lib` lives, and `Api` owns `_lib`.
            let s =
                unsafe { lib.get($name) }.map_err(|e| format!("{LIBRARY} lacks {}: {e}", $name))?;
            *s
        }};
    }
    Ok(Api {
        init: sym!("sane_init"),
        exit: sym!("sane_exit"),
        get_devices: sym!("sane_get_devices"),
        open: sym!("sane_open"),
        close: sym!("sane_close"),
        get_option_descriptor: sym!("sane_get_option_descriptor"),
        control_option: sym!("sane_control_option"),
        get_parameters: sym!("sane_get_parameters"),
        start: sym!("sane_start"),
        read: sym!("sane_read"),
        cancel: sym!("sane_cancel"),
        strstatus: sym!("sane_strstatus"),
        _lib: lib,
    })
}

/// The loaded API, or a [`ErrorKind::NotFound`] error naming the packages to install.
///
/// # Errors
/// [`ErrorKind::NotFound`] when `libsane.so.1` cannot be loaded or lacks a symbol.
pub fn api(device: &str, op: &'static str) -> Result<&'static Api> {
    match API.get_or_init(load_api) {
        Ok(api) => Ok(api),
        Err(why) => Err(missing(why, device, op)),
    }
}

/// The error for a libsane that cannot be loaded.
fn missing(why: &str, device: &str, op: &'static str) -> Error {
    Error::new(ErrorKind::NotFound, device.to_owned(), op)
        .with_detail(format!("{why}; {INSTALL_HINT}"))
}

/// Copies a C string, `None` for NULL. Invalid UTF-8 is replaced.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the duration of the call.
pub unsafe fn string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: guaranteed by the caller.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

/// Converts a `SANE_Fixed` to a float.
pub fn unfix(w: Word) -> f64 {
    f64::from(w) / 65536.0
}

/// Converts a float to `SANE_Fixed`, saturating.
pub fn fix(v: f64) -> Word {
    let x = (v * 65536.0).round();
    if x >= f64::from(i32::MAX) {
        i32::MAX
    } else if x <= f64::from(i32::MIN) {
        i32::MIN
    } else {
        x as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point() {
        assert_eq!(fix(1.0), 65536);
        assert_eq!(unfix(fix(215.9)), 215.899_993_896_484_38);
        assert_eq!(fix(1e12), i32::MAX);
        assert_eq!(fix(-1e12), i32::MIN);
        assert_eq!(std::mem::size_of::<OptionDescriptor>(), 56);
        assert_eq!(std::mem::size_of::<Parameters>(), 24);
    }

    #[test]
    fn a_missing_library_names_the_packages() {
        let e = missing(
            "cannot load libsane.so.1: not found",
            "sane:test",
            "open scanner",
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let msg = e.to_string();
        assert!(
            msg.starts_with("sane:test: open scanner: not found: cannot load libsane.so.1"),
            "{msg}"
        );
        assert!(msg.contains("libsane1 sane-utils"), "{msg}");
    }
}
