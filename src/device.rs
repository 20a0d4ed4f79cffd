//! Devices of the kit: ids that round-trip through text, device descriptions, discovery
//! across the enabled backends ([`Kit`]) and one stream of device events.
//!
//! A backend plugs into the kit as a [`Provider`]. The built-in backends are registered in
//! exactly one place ([`Kit::with_enabled_backends`]); a hand-written fake implements
//! [`Provider`] too and is added with [`Kit::with_provider`], so it is reached through the same
//! public types as a real backend.

use std::fmt;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use futures_core::Stream;

use crate::card::CardReader;
use crate::error::{Error, ErrorKind, Result};
use crate::print::Printer;
use crate::scan::Scanner;

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
    /// A backend outside this crate, e.g. a user's hand-written fake; the scheme it uses.
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
    /// A smart-card reader ([`CardReader`]).
    CardReader,
    /// A document scanner ([`Scanner`]).
    Scanner,
    /// A printer ([`Printer`]).
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
    /// [`Kit::discover`] again to re-list. Never a silent gap.
    Lagged {
        /// How many events were dropped for this subscriber.
        missed: u64,
    },
}

/// One backend family as the [`Kit`] sees it: lists its devices, opens them, reports changes.
///
/// Implement it to plug your own fake or backend into a [`Kit`]. Only
/// [`backend`](Provider::backend) and [`devices`](Provider::devices) are required; the `open_*`
/// methods default to [`ErrorKind::Unsupported`], `events` to no events.
#[async_trait]
pub trait Provider: Send + Sync {
    /// The backend family this provider serves; devices whose id has this backend are routed
    /// to it.
    fn backend(&self) -> Backend;

    /// Lists the devices present now.
    ///
    /// # Errors
    /// [`ErrorKind::Backend`] or [`ErrorKind::NotFound`] when the backend's service or library
    /// is missing (the message says what to install), [`ErrorKind::Timeout`] when discovery did
    /// not finish in time. Cancel-safe: dropping the future abandons the listing.
    async fn devices(&self) -> Result<Vec<DeviceInfo>>;

    /// Opens a card reader by id.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown id, [`ErrorKind::Unsupported`] when this
    /// provider has no card readers. Cancel-safe.
    async fn open_reader(&self, id: &DeviceId) -> Result<Box<dyn CardReader>> {
        Err(unsupported(id, "open card reader"))
    }

    /// Opens a scanner by id.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown id, [`ErrorKind::Busy`] when another process
    /// holds it, [`ErrorKind::Unsupported`] when this provider has no scanners. Cancel-safe.
    async fn open_scanner(&self, id: &DeviceId) -> Result<Box<dyn Scanner>> {
        Err(unsupported(id, "open scanner"))
    }

    /// Opens a printer by id.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] for an unknown id, [`ErrorKind::Unsupported`] when this
    /// provider has no printers. Cancel-safe.
    async fn open_printer(&self, id: &DeviceId) -> Result<Box<dyn Printer>> {
        Err(unsupported(id, "open printer"))
    }

    /// A stream of device arrivals and removals. The default has none and ends at once.
    fn events(&self) -> BoxStream<DeviceEvent> {
        Box::pin(futures_util::stream::empty())
    }
}

fn unsupported(id: &DeviceId, op: &'static str) -> Error {
    Error::new(ErrorKind::Unsupported, id.to_string(), op)
}

/// The result of [`Kit::discover`]: the devices found, and the backends that failed (so one
/// missing library does not hide the other devices).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Discovery {
    /// Devices found, in provider order.
    pub devices: Vec<DeviceInfo>,
    /// Errors of providers that could not list their devices.
    pub failures: Vec<Error>,
}

impl Discovery {
    /// The devices of one kind.
    pub fn of_kind(&self, kind: DeviceKind) -> impl Iterator<Item = &DeviceInfo> {
        self.devices.iter().filter(move |d| d.kind == kind)
    }
}

/// The whole kit: discovery across providers, opening by [`DeviceId`], one event stream.
///
/// ```
/// # async fn demo() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{DeviceKind, Kit, mock::MockKit};
/// let kit = Kit::new().with_provider(MockKit::standard());
/// let found = kit.discover().await;
/// let scanner_id = found.of_kind(DeviceKind::Scanner).next().unwrap().id.clone();
/// let scanner = kit.open_scanner(&scanner_id).await?;
/// assert_eq!(scanner.info().id, scanner_id);
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Kit {
    providers: Vec<Arc<dyn Provider>>,
    /// The USB bus the kit checks for its devices (`Kit::with_usb`, in `src/usb/kit.rs`).
    #[cfg(feature = "usb")]
    pub(crate) usb: Option<Arc<dyn crate::usb::UsbBus>>,
}

impl fmt::Debug for Kit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.providers.iter().map(|p| p.backend()))
            .finish()
    }
}

impl Kit {
    /// An empty kit; add providers with [`with_provider`](Kit::with_provider).
    pub fn new() -> Self {
        Kit::default()
    }

    /// A kit with every backend compiled into this build (by cargo feature). This is the one
    /// place where features switch backends on.
    pub fn with_enabled_backends() -> Self {
        #[allow(unused_mut)]
        let mut kit = Kit::new();
        #[cfg(feature = "pcsc")]
        {
            kit = kit.with_provider(crate::card::pcsc::PcscProvider::new());
        }
        #[cfg(feature = "sane")]
        {
            kit = kit.with_provider(crate::scan::sane::SaneProvider::new());
        }
        #[cfg(feature = "ipp")]
        {
            kit = kit.with_provider(crate::print::ipp::IppProvider::new());
        }
        #[cfg(feature = "usb")]
        {
            kit = kit.with_usb(crate::usb::RusbBus::new());
        }
        kit
    }

    /// Adds a provider (a backend, a mock kit, or your own fake).
    #[must_use]
    pub fn with_provider(mut self, provider: impl Provider + 'static) -> Self {
        self.providers.push(Arc::new(provider));
        self
    }

    /// Adds a shared provider.
    #[must_use]
    pub fn with_shared_provider(mut self, provider: Arc<dyn Provider>) -> Self {
        self.providers.push(provider);
        self
    }

    /// The providers, in the order they were added.
    pub fn providers(&self) -> &[Arc<dyn Provider>] {
        &self.providers
    }

    /// Lists the devices of all providers. A provider that fails is reported in
    /// [`Discovery::failures`]; the others are still listed. Cancel-safe.
    pub async fn discover(&self) -> Discovery {
        let results =
            futures_util::future::join_all(self.providers.iter().map(|p| p.devices())).await;
        let mut out = Discovery::default();
        for r in results {
            match r {
                Ok(mut d) => out.devices.append(&mut d),
                Err(e) => {
                    tracing::warn!(error = %e, "device discovery failed for one backend");
                    out.failures.push(e);
                }
            }
        }
        out
    }

    fn provider_for(&self, id: &DeviceId, op: &'static str) -> Result<&Arc<dyn Provider>> {
        self.providers
            .iter()
            .find(|p| &p.backend() == id.backend())
            .ok_or_else(|| {
                Error::new(ErrorKind::NotFound, id.to_string(), op).with_detail(format!(
                    "no `{}` backend in this kit (is the cargo feature enabled?)",
                    id.backend()
                ))
            })
    }

    /// Opens a card reader by id.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] if no provider serves the id's backend or the device is unknown;
    /// otherwise as [`Provider::open_reader`]. Cancel-safe.
    pub async fn open_reader(&self, id: &DeviceId) -> Result<Box<dyn CardReader>> {
        self.provider_for(id, "open card reader")?
            .open_reader(id)
            .await
    }

    /// Opens a scanner by id.
    ///
    /// # Errors
    /// As [`Kit::open_reader`], for scanners. Cancel-safe.
    pub async fn open_scanner(&self, id: &DeviceId) -> Result<Box<dyn Scanner>> {
        self.provider_for(id, "open scanner")?
            .open_scanner(id)
            .await
    }

    /// Opens a printer by id.
    ///
    /// # Errors
    /// As [`Kit::open_reader`], for printers. Cancel-safe.
    pub async fn open_printer(&self, id: &DeviceId) -> Result<Box<dyn Printer>> {
        self.provider_for(id, "open printer")?
            .open_printer(id)
            .await
    }

    /// One stream of device events from all providers. It ends when every provider's stream
    /// has ended.
    pub fn events(&self) -> BoxStream<DeviceEvent> {
        Box::pin(futures_util::stream::select_all(
            self.providers.iter().map(|p| p.events()),
        ))
    }
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
