//! The kit's use of the USB bus: say which expected device is not plugged in ("no scanner
//! connected") before any backend is asked.

use std::sync::Arc;

use crate::device::DeviceKind;
use crate::error::{Error, ErrorKind, Result};
use crate::kit::Kit;
use crate::usb::UsbBus;

const CHECK: &str = "check connected devices";

impl Kit {
    /// Gives the kit a USB bus to check for its devices ([`Kit::missing_devices`],
    /// [`Kit::check_connected`]): the real [`RusbBus`](crate::usb::RusbBus) (which
    /// [`Kit::with_enabled_backends`] adds with feature `usb`) or a
    /// [`MockUsbBus`](crate::usb::MockUsbBus). Replaces a bus given before.
    #[must_use]
    pub fn with_usb(self, bus: impl UsbBus + 'static) -> Self {
        self.with_shared_usb(Arc::new(bus))
    }

    /// As [`Kit::with_usb`], for a shared bus.
    #[must_use]
    pub fn with_shared_usb(mut self, bus: Arc<dyn UsbBus>) -> Self {
        self.usb = Some(bus);
        self
    }

    /// The kit's USB bus, if it has one.
    pub fn usb(&self) -> Option<&Arc<dyn UsbBus>> {
        self.usb.as_ref()
    }

    /// Which of the `expected` kinds has no device on the USB bus, in the order asked (each
    /// kind once). Only the bus is asked, no backend, so this is quick and works when a
    /// backend's service is down.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when the kit has no USB bus ([`Kit::with_usb`]); otherwise as
    /// [`UsbBus::devices`]. Cancel-safe.
    pub async fn missing_devices(&self, expected: &[DeviceKind]) -> Result<Vec<DeviceKind>> {
        let bus = self.usb.as_ref().ok_or_else(|| {
            Error::new(ErrorKind::Unsupported, "usb", CHECK)
                .with_detail("this kit has no USB bus; add one with Kit::with_usb")
        })?;
        let devices = bus.devices().await?;
        let mut missing = Vec::new();
        for &kind in expected {
            if !missing.contains(&kind) && !devices.iter().any(|d| d.is(kind)) {
                missing.push(kind);
            }
        }
        Ok(missing)
    }

    /// `Ok` when every `expected` kind has a device on the USB bus; otherwise an
    /// [`ErrorKind::NotFound`] error whose message says what is missing, e.g.
    /// `usb: check connected devices: not found: no scanner connected`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] naming each missing kind; as [`Kit::missing_devices`]
    /// otherwise. Cancel-safe.
    pub async fn check_connected(&self, expected: &[DeviceKind]) -> Result<()> {
        let missing = self.missing_devices(expected).await?;
        if missing.is_empty() {
            return Ok(());
        }
        let what: Vec<String> = missing
            .iter()
            .map(|k| format!("no {k} connected"))
            .collect();
        Err(Error::new(ErrorKind::NotFound, "usb", CHECK).with_detail(what.join(", ")))
    }
}
