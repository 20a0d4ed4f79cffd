//! The kit: discovery across providers, opening by [`DeviceId`], one event stream, and the one
//! place where cargo features switch the built-in backends on
//! ([`Kit::with_enabled_backends`]).
//!
//! Devices that survive a replug ([`DeviceIdentity`], [`Kit::resolve`], [`StableReader`],
//! [`StableScanner`]) are in `replug.rs`.
//!
//! The kit sits at the top of the crate: it imports the backends, they never import it. A
//! hand-written fake implements [`Provider`] and is added with [`Kit::with_provider`].

mod replug;
#[cfg(feature = "usb")]
mod usb;

pub use replug::{
    DeviceIdentity, Presence, StableReader, StableScanner, PRESENCE_POLL, RESOLVE_TIMEOUT,
};

use std::fmt;
use std::sync::Arc;

use crate::card::CardReader;
use crate::device::{BoxStream, DeviceEvent, DeviceId};
use crate::error::{Error, ErrorKind, Result};
use crate::print::Printer;
use crate::provider::{Discovery, Provider};
use crate::scan::Scanner;

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
    /// The USB bus the kit checks for its devices (`Kit::with_usb`, in `src/kit/usb.rs`).
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
            kit = kit.with_provider(crate::backend::pcsc::PcscProvider::new());
        }
        #[cfg(feature = "sane")]
        {
            kit = kit.with_provider(crate::backend::sane::SaneProvider::new());
        }
        #[cfg(feature = "ipp")]
        {
            kit = kit.with_provider(crate::backend::ipp::IppProvider::new());
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
