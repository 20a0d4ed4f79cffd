//! The [`UsbBus`] trait: a snapshot of the devices and a stream of changes. Implemented by the
//! real bus ([`RusbBus`](super::RusbBus)), the mock ([`MockUsbBus`](super::MockUsbBus)) and
//! any hand-written fake.

use async_trait::async_trait;

use crate::device::DeviceKind;
use crate::error::Result;

use super::{HotplugStream, UsbDevice};

/// A USB bus: what is plugged in now, and what changes.
#[async_trait]
pub trait UsbBus: Send + Sync {
    /// The devices plugged in now, classified. A machine without USB access has none.
    ///
    /// # Errors
    /// [`ErrorKind::Backend`](crate::ErrorKind::Backend) (with the libusb code as
    /// [`RawCode::Usb`](crate::RawCode::Usb)) when the bus is there but listing it failed.
    /// A missing USB subsystem is not an error: the list is empty. Cancel-safe: dropping the
    /// future abandons the listing (a blocking listing already started finishes on its thread).
    async fn devices(&self) -> Result<Vec<UsbDevice>>;

    /// Arrivals and removals from now on (see [`HotplugStream`]). Dropping the stream stops
    /// the watching.
    fn hotplug(&self) -> HotplugStream;

    /// The devices that play a role of `kind`.
    ///
    /// # Errors
    /// As [`devices`](UsbBus::devices). Cancel-safe.
    async fn devices_of_kind(&self, kind: DeviceKind) -> Result<Vec<UsbDevice>> {
        let mut all = self.devices().await?;
        all.retain(|d| d.is(kind));
        Ok(all)
    }
}
