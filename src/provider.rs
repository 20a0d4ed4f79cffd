//! How a backend family plugs into a [`Kit`](crate::Kit): the [`Provider`] trait, and
//! [`Discovery`], the result of listing the devices of several providers.
//!
//! Every backend (`backend::pcsc`, `backend::sane`, `backend::ipp`), the mock kit and any
//! hand-written fake implement [`Provider`], so they are reached through the same public types.
//! This module sits above the trait modules (`card`, `scan`, `print`) and below the backends
//! and the kit.

use async_trait::async_trait;

use crate::card::CardReader;
use crate::device::{Backend, BoxStream, DeviceEvent, DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::print::Printer;
use crate::scan::Scanner;

/// One backend family as the [`Kit`](crate::Kit) sees it: lists its devices, opens them, reports changes.
///
/// Implement it to plug your own fake or backend into a [`Kit`](crate::Kit). Only
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

/// The result of [`Kit::discover`](crate::Kit::discover): the devices found, and the backends that failed (so one
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
