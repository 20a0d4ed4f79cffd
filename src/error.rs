//! The crate's one error type.
//!
//! [`Error`] is an enum named for what the caller can do about a failure (wait and retry,
//! ask the citizen to re-insert the card, clear the paper jam, ...). Every variant carries the
//! same [`Context`]: which device, which operation, an optional detail, the backend's raw code
//! ([`RawCode`]) and the backend's own error as [`std::error::Error::source`].
//!
//! ```
//! use buergerkoffer::{Error, ErrorKind, RawCode};
//!
//! let err = Error::new(ErrorKind::PaperJam, "sane:test", "read page 4")
//!     .with_raw(RawCode::Sane(6))
//!     .with_pages(3);
//! assert!(matches!(err, Error::PaperJam(..)));
//! assert_eq!(err.kind(), ErrorKind::PaperJam);
//! assert_eq!(err.to_string(), "sane:test: read page 4: paper jam (SANE status 6) (3 pages kept)");
//! assert_eq!(err.context().raw(), Some(RawCode::Sane(6)));
//! ```
//!
//! Messages never contain secrets: no constructor takes APDU data, and backends pass only
//! status words and lengths into [`Context::detail`].

use std::borrow::Cow;
use std::fmt;

/// A boxed error from a backend or the operating system, kept as `source()`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The raw code a backend reported, kept so that a support engineer can look it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RawCode {
    /// A PC/SC `SCARD_*` return value.
    Scard(u32),
    /// An ISO 7816-4 status word (SW1 SW2) returned by a card.
    StatusWord(u16),
    /// A `SANE_Status` value.
    Sane(i32),
    /// An IPP status code (e.g. `0x0400` client-error-bad-request).
    Ipp(u16),
    /// An HTTP status code.
    Http(u16),
    /// An operating-system `errno`.
    Errno(i32),
    /// A libusb error code.
    Usb(i32),
}

impl fmt::Display for RawCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RawCode::Scard(v) => write!(f, "SCARD 0x{v:08X}"),
            RawCode::StatusWord(v) => write!(f, "SW {v:04X}"),
            RawCode::Sane(v) => write!(f, "SANE status {v}"),
            RawCode::Ipp(v) => write!(f, "IPP status 0x{v:04X}"),
            RawCode::Http(v) => write!(f, "HTTP {v}"),
            RawCode::Errno(v) => write!(f, "errno {v}"),
            RawCode::Usb(v) => write!(f, "libusb error {v}"),
        }
    }
}

/// What every error says besides its kind: device, operation and the backend's own details.
#[derive(Debug)]
pub struct Context {
    device: String,
    operation: Cow<'static, str>,
    detail: Option<String>,
    raw: Option<RawCode>,
    pages: Option<usize>,
}

impl Context {
    /// The device the operation was addressed to, as its [`DeviceId`](crate::DeviceId) text
    /// (or a backend name such as `sane` when no single device was involved).
    pub fn device(&self) -> &str {
        &self.device
    }

    /// What was being done, e.g. `transmit`, `read page 4`, `Print-Job`.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// Further explanation from the backend, if any.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }

    /// The backend's raw code (SCARD value, SANE status, IPP status, ...), if there was one.
    pub fn raw(&self) -> Option<RawCode> {
        self.raw
    }

    /// For failures in the middle of a multi-page job: how many pages were delivered or saved
    /// before the failure.
    pub fn pages(&self) -> Option<usize> {
        self.pages
    }
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.device, self.operation)
    }
}

/// Formats `"<context>: <kind message>[: detail][ (raw)][ (N pages kept)]"`.
fn render(ctx: &Context, what: &str) -> String {
    use fmt::Write;
    let mut s = format!("{ctx}: {what}");
    if let Some(d) = &ctx.detail {
        let _ = write!(s, ": {d}");
    }
    if let Some(r) = ctx.raw {
        let _ = write!(s, " ({r})");
    }
    if let Some(p) = ctx.pages {
        let _ = write!(s, " ({p} page{} kept)", if p == 1 { "" } else { "s" });
    }
    s
}

macro_rules! error_kinds {
    ($( $(#[$doc:meta])* $name:ident => $msg:literal, )*) => {
        /// The crate's error: one variant per thing the caller can do about it.
        ///
        /// Match on the variant (or compare [`Error::kind`]); the [`Context`] inside says
        /// which device and operation failed and keeps the backend's raw code and error.
        #[derive(Debug, thiserror::Error)]
        #[non_exhaustive]
        pub enum Error {
            $(
                $(#[$doc])*
                #[error("{}", render(.0, $msg))]
                $name(Box<Context>, #[source] Option<BoxError>),
            )*
        }

        /// The kind of an [`Error`], without its context: `Copy`, comparable, matchable.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $( $(#[$doc])* $name, )*
        }

        impl Error {
            /// Creates an error of `kind` for `device` while doing `operation`.
            pub fn new(
                kind: ErrorKind,
                device: impl Into<String>,
                operation: impl Into<Cow<'static, str>>,
            ) -> Self {
                let ctx = Box::new(Context {
                    device: device.into(),
                    operation: operation.into(),
                    detail: None,
                    raw: None,
                    pages: None,
                });
                match kind {
                    $( ErrorKind::$name => Error::$name(ctx, None), )*
                }
            }

            /// The kind of this error.
            pub fn kind(&self) -> ErrorKind {
                match self {
                    $( Error::$name(..) => ErrorKind::$name, )*
                }
            }

            /// Device, operation, detail, raw code and pages of this error.
            pub fn context(&self) -> &Context {
                match self {
                    $( Error::$name(c, _) => c, )*
                }
            }

            fn context_mut(&mut self) -> &mut Context {
                match self {
                    $( Error::$name(c, _) => c, )*
                }
            }

            fn source_slot(&mut self) -> &mut Option<BoxError> {
                match self {
                    $( Error::$name(_, s) => s, )*
                }
            }

            /// The backend's own error, if any (the same as `source()`).
            pub fn backend_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
                match self {
                    $( Error::$name(_, s) => s.as_deref(), )*
                }
            }
        }

        impl ErrorKind {
            /// A short English description of the kind, as used in messages.
            pub fn describe(self) -> &'static str {
                match self {
                    $( ErrorKind::$name => $msg, )*
                }
            }
        }
    };
}

error_kinds! {
    /// No such device, card application, file or job.
    NotFound => "not found",
    /// The device is in use by another job or process; try again later.
    Busy => "device busy",
    /// The operation did not finish in time.
    Timeout => "timed out",
    /// The operation was cancelled (by the caller or at the device).
    Cancelled => "cancelled",
    /// The card was removed (or reset) while in use; ask for it to be re-inserted.
    CardRemoved => "card removed",
    /// The device (reader, scanner, printer) or its service went away; re-list devices.
    DeviceGone => "device gone",
    /// Paper jam in the scanner's feeder or the printer.
    PaperJam => "paper jam",
    /// The document feeder is empty.
    NoDocuments => "no documents in the feeder",
    /// A cover or door of the device is open.
    CoverOpen => "cover open",
    /// The printer is out of paper.
    MediaEmpty => "out of paper",
    /// The device or backend cannot do what was asked (format, mode, feature).
    Unsupported => "not supported",
    /// The caller passed something invalid (option value, APDU too long, unwritable path).
    InvalidInput => "invalid input",
    /// A peer sent something malformed (bad APDU, TLV, SANE parameters, IPP reply).
    Protocol => "protocol error",
    /// An I/O error: file system, network, device I/O.
    Io => "I/O error",
    /// Any other backend failure; the backend's error is the `source`.
    Backend => "backend error",
}

impl Error {
    /// Adds a detail sentence (never a secret).
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.context_mut().detail = Some(detail.into());
        self
    }

    /// Keeps the backend's raw code.
    #[must_use]
    pub fn with_raw(mut self, raw: RawCode) -> Self {
        self.context_mut().raw = Some(raw);
        self
    }

    /// Records how many pages were delivered or saved before the failure.
    #[must_use]
    pub fn with_pages(mut self, pages: usize) -> Self {
        self.context_mut().pages = Some(pages);
        self
    }

    /// Keeps the backend's own error as the source.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        *self.source_slot() = Some(source.into());
        self
    }

    /// The same error with another operation name (used by layers that add context).
    #[must_use]
    pub fn with_operation(mut self, operation: impl Into<Cow<'static, str>>) -> Self {
        self.context_mut().operation = operation.into();
        self
    }

    /// The backend's raw code, if any.
    pub fn raw(&self) -> Option<RawCode> {
        self.context().raw
    }

    /// Pages delivered or saved before the failure, if the operation was a multi-page job.
    pub fn pages(&self) -> Option<usize> {
        self.context().pages
    }

    /// Wraps an I/O error, mapping its kind: not-found, permission (to `InvalidInput`: the
    /// caller chose the path), timed-out, interrupted; the rest are `Io`. The errno is kept.
    pub fn io(
        device: impl Into<String>,
        operation: impl Into<Cow<'static, str>>,
        err: std::io::Error,
    ) -> Self {
        use std::io::ErrorKind as K;
        let kind = match err.kind() {
            K::NotFound => ErrorKind::NotFound,
            K::PermissionDenied => ErrorKind::InvalidInput,
            K::TimedOut => ErrorKind::Timeout,
            K::Interrupted => ErrorKind::Cancelled,
            K::InvalidData | K::UnexpectedEof => ErrorKind::Protocol,
            _ => ErrorKind::Io,
        };
        let mut e = Error::new(kind, device, operation);
        if let Some(code) = err.raw_os_error() {
            e = e.with_raw(RawCode::Errno(code));
        }
        e.with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn error_is_small_and_send_sync() {
        static_assertions::assert_impl_all!(Error: Send, Sync, std::error::Error);
        assert!(std::mem::size_of::<Error>() <= 32);
    }

    #[test]
    fn message_names_device_operation_kind_detail_raw() {
        let e = Error::new(ErrorKind::CardRemoved, "pcsc:Virtual PCD 00 00", "transmit")
            .with_detail("reader reported the card gone")
            .with_raw(RawCode::Scard(0x8010_0069));
        assert_eq!(
            e.to_string(),
            "pcsc:Virtual PCD 00 00: transmit: card removed: reader reported the card gone (SCARD 0x80100069)"
        );
        assert_eq!(e.kind(), ErrorKind::CardRemoved);
        assert_eq!(e.raw(), Some(RawCode::Scard(0x8010_0069)));
    }

    #[test]
    fn source_chain_reaches_backend_error_without_repeating_context() {
        let io = std::io::Error::other("disk on fire");
        let e = Error::new(ErrorKind::Backend, "mock:printer", "Print-Job").with_source(io);
        let src = e.source().expect("has a source");
        assert_eq!(src.to_string(), "disk on fire");
        assert!(e.backend_error().is_some());
    }

    #[test]
    fn io_errors_map_kind_and_keep_errno() {
        let err = std::io::Error::from_raw_os_error(13); // EACCES
        let e = Error::io("pdf", "create /root/x.pdf", err);
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.raw(), Some(RawCode::Errno(13)));
        let e = Error::io("pdf", "open", std::io::ErrorKind::NotFound.into());
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn every_kind_round_trips_through_new() {
        use ErrorKind::*;
        for k in [
            NotFound,
            Busy,
            Timeout,
            Cancelled,
            CardRemoved,
            DeviceGone,
            PaperJam,
            NoDocuments,
            CoverOpen,
            MediaEmpty,
            Unsupported,
            InvalidInput,
            Protocol,
            Io,
            Backend,
        ] {
            let e = Error::new(k, "mock:x", "op");
            assert_eq!(e.kind(), k);
            assert!(e.to_string().contains(k.describe()));
        }
    }
}
