//! Ground types every device module uses: ids that round-trip through text
//! ([`DeviceId`]), device descriptions ([`DeviceInfo`]), device events, and the boxed stream
//! type the traits return.
//!
//! This module imports no trait module, backend or kit: it sits at the bottom of the crate.
//! Backends plug into a [`Kit`](crate::Kit) as a [`Provider`](crate::Provider).

use std::fmt;
use std::pin::Pin;
use std::str::FromStr;

use futures_core::Stream;

use crate::error::{Error, ErrorKind, Result};

/// A boxed, `Send` stream, as returned by the `events()` methods.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = T> + Send + 'static>>;

/// Which backend family a device belongs to: the scheme of its [`DeviceId`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Backend {
    /// The crate's mocks (`mock:`), always compiled.
    Mock,
    /// PC/SC card readers (`pcsc:`), feature `pcsc`.
    Pcsc,
    /// SANE scanners (`sane:`), feature `sane`.
    Sane,
    /// IPP printers (`ipp://`, `ipps://`, `http://`, `https://`), feature `ipp`.
    Ipp,
    /// A raw USB device (`usb:`), feature `usb`.
    Usb,
    /// A backend outside this crate, e.g. a user's hand-written fake; the scheme it uses,
    /// lower-cased: schemes are case-insensitive (RFC 3986), so `ACME:fake-1` parses as, and
    /// prints back as, `acme:fake-1`. The name after the scheme keeps its case.
    Custom(String),
}

impl Backend {
    /// The scheme written before the first `:` of a [`DeviceId`].
    pub fn scheme(&self) -> &str {
        match self {
            Backend::Mock => "mock",
            Backend::Pcsc => "pcsc",
            Backend::Sane => "sane",
            Backend::Ipp => "ipp",
            Backend::Usb => "usb",
            Backend::Custom(s) => s,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme())
    }
}

/// A device id that prints and parses back, so software can store the user's choice.
///
/// Forms: `mock:scanner`, `sane:test`, `sane:net:host:genesys:libusb:001:002`,
/// `pcsc:Virtual PCD 00 00`, `ipp://127.0.0.1:8631/ipp/print`, `usb:3-1.2`.
/// For IPP the id is the printer URI itself (scheme `ipp`, `ipps`, `http` or `https`).
///
/// ```
/// use buergerkoffer::{Backend, DeviceId};
/// let id: DeviceId = "pcsc:Virtual PCD 00 00".parse()?;
/// assert_eq!(id.backend(), &Backend::Pcsc);
/// assert_eq!(id.name(), "Virtual PCD 00 00");
/// assert_eq!(id.to_string(), "pcsc:Virtual PCD 00 00");
/// let ipp: DeviceId = "ipp://127.0.0.1:8631/ipp/print".parse()?;
/// assert_eq!(ipp.backend(), &Backend::Ipp);
/// assert_eq!(ipp.name(), "ipp://127.0.0.1:8631/ipp/print");
/// assert_eq!(ipp.to_string(), "ipp://127.0.0.1:8631/ipp/print");
/// # Ok::<(), buergerkoffer::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId {
    backend: Backend,
    name: String,
}

impl DeviceId {
    /// Builds an id from its backend and backend-specific name. For [`Backend::Ipp`] the name
    /// is the full printer URI.
    pub fn new(backend: Backend, name: impl Into<String>) -> Self {
        DeviceId {
            backend,
            name: name.into(),
        }
    }

    /// A `mock:` id.
    pub fn mock(name: impl Into<String>) -> Self {
        DeviceId::new(Backend::Mock, name)
    }

    /// The backend family.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The backend-specific name (for IPP: the whole URI).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Ipp => f.write_str(&self.name),
            _ => write!(f, "{}:{}", self.backend.scheme(), self.name),
        }
    }
}

impl FromStr for DeviceId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let invalid = |why: &str| {
            Error::new(ErrorKind::InvalidInput, s.to_owned(), "parse device id").with_detail(
                format!("{why}; expected SCHEME:NAME, e.g. mock:scanner, sane:test, pcsc:READER or ipp://HOST/PATH"),
            )
        };
        let (scheme, rest) = s.split_once(':').ok_or_else(|| invalid("no ':'"))?;
        if rest.is_empty() {
            return Err(invalid("empty name"));
        }
        if scheme.is_empty()
            || !scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '+' || c == '.')
        {
            return Err(invalid("bad scheme"));
        }
        let backend = match scheme.to_ascii_lowercase().as_str() {
            "ipp" | "ipps" | "http" | "https" => return Ok(DeviceId::new(Backend::Ipp, s)),
            "mock" => Backend::Mock,
            "pcsc" => Backend::Pcsc,
            "sane" => Backend::Sane,
            "usb" => Backend::Usb,
            other => Backend::Custom(other.to_owned()),
        };
        Ok(DeviceId::new(backend, rest))
    }
}

/// What kind of device a [`DeviceInfo`] describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DeviceKind {
    /// A smart-card reader ([`CardReader`](crate::CardReader)).
    CardReader,
    /// A document scanner ([`Scanner`](crate::Scanner)).
    Scanner,
    /// A printer ([`Printer`](crate::Printer)).
    Printer,
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceKind::CardReader => "card reader",
            DeviceKind::Scanner => "scanner",
            DeviceKind::Printer => "printer",
        })
    }
}

/// A description of one device, as discovery reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceInfo {
    /// The id to open it with.
    pub id: DeviceId,
    /// What kind of device it is.
    pub kind: DeviceKind,
    /// A human-readable name (model or reader name).
    pub name: String,
    /// The vendor, if known.
    pub vendor: Option<String>,
    /// The serial number, if known.
    pub serial: Option<String>,
}

impl DeviceInfo {
    /// A description with only id, kind and name.
    pub fn new(id: DeviceId, kind: DeviceKind, name: impl Into<String>) -> Self {
        DeviceInfo {
            id,
            kind,
            name: name.into(),
            vendor: None,
            serial: None,
        }
    }

    /// Sets the vendor.
    #[must_use]
    pub fn with_vendor(mut self, vendor: impl Into<String>) -> Self {
        self.vendor = Some(vendor.into());
        self
    }

    /// Sets the serial number.
    #[must_use]
    pub fn with_serial(mut self, serial: impl Into<String>) -> Self {
        self.serial = Some(serial.into());
        self
    }
}

/// A change in the set of devices.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceEvent {
    /// A device appeared.
    Added(DeviceInfo),
    /// A device went away.
    Removed(DeviceId),
    /// This subscriber fell behind and missed `missed` events: call
    /// [`Kit::discover`](crate::Kit::discover) again to re-list. Never a silent gap.
    Lagged {
        /// How many events were dropped for this subscriber.
        missed: u64,
    },
}

/// Turns a `tokio::sync::broadcast` receiver into an event stream in which a lag becomes an
/// explicit `lagged(missed)` item instead of a silent gap. Used by providers' `events()`.
pub fn broadcast_stream<T: Clone + Send + 'static>(
    rx: tokio::sync::broadcast::Receiver<T>,
    lagged: fn(u64) -> T,
) -> BoxStream<T> {
    use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};
    use tokio_stream::StreamExt;
    Box::pin(BroadcastStream::new(rx).map(move |r| match r {
        Ok(ev) => ev,
        Err(BroadcastStreamRecvError::Lagged(n)) => lagged(n),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for s in [
            "mock:scanner",
            "sane:test",
            "sane:net:host:genesys:libusb:001:002",
            "pcsc:Virtual PCD 00 00",
            "ipp://127.0.0.1:8631/ipp/print",
            "ipps://printer.local/ipp/print",
            "http://127.0.0.1:631/printers/x",
            "usb:3-1.2",
            "acme:fake-1",
        ] {
            let id: DeviceId = s.parse().unwrap();
            assert_eq!(id.to_string(), s);
            assert_eq!(id.to_string().parse::<DeviceId>().unwrap(), id);
        }
        let id: DeviceId = "acme:fake-1".parse().unwrap();
        assert_eq!(id.backend(), &Backend::Custom("acme".into()));
        // Schemes are case-insensitive and lower-cased; names keep their case.
        let id: DeviceId = "ACME:Fake-1".parse().unwrap();
        assert_eq!(id.backend(), &Backend::Custom("acme".into()));
        assert_eq!(id.to_string(), "acme:Fake-1");
    }

    #[test]
    fn bad_ids_are_invalid_input() {
        for s in ["", "scanner", "sane:", ":x", "a b:c"] {
            let e = s.parse::<DeviceId>().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{s}");
        }
    }

    #[tokio::test]
    async fn broadcast_lag_is_explicit() {
        use tokio_stream::StreamExt;
        let (tx, rx) = tokio::sync::broadcast::channel::<DeviceEvent>(2);
        let mut s = broadcast_stream(rx, |missed| DeviceEvent::Lagged { missed });
        for i in 0..5 {
            tx.send(DeviceEvent::Removed(DeviceId::mock(format!("d{i}"))))
                .unwrap();
        }
        drop(tx);
        assert_eq!(s.next().await, Some(DeviceEvent::Lagged { missed: 3 }));
        assert_eq!(
            s.next().await,
            Some(DeviceEvent::Removed(DeviceId::mock("d3")))
        );
        assert_eq!(
            s.next().await,
            Some(DeviceEvent::Removed(DeviceId::mock("d4")))
        );
        assert_eq!(s.next().await, None);
    }
}
