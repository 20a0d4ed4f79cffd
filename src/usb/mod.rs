//! USB discovery and hotplug of the kit's devices (feature `usb`).
//!
//! Before any backend is asked (PC/SC, SANE, IPP), the kit can look at the USB bus and say
//! which of its devices is plugged in: smart-card readers, printers (and whether they speak
//! IPP over USB) and document scanners, each with vendor, product, serial and port path.
//!
//! - [`UsbBus`]: the bus as a trait: [`devices`](UsbBus::devices) for a snapshot,
//!   [`hotplug`](UsbBus::hotplug) for a [`HotplugStream`] of arrivals and removals.
//! - [`RusbBus`]: the real bus (libusb through `rusb`). On a machine without USB access it
//!   lists no devices instead of failing; hotplug runs on a dedicated thread (libusb hotplug
//!   where supported, polling otherwise) and stops when the stream is dropped.
//! - [`MockUsbBus`]: a bus whose devices the test plugs and unplugs, e.g. the real-device
//!   descriptor dumps in [`fixtures`].
//! - [`DeviceDescriptor`] / [`ConfigDescriptor`]: bounded, panic-free descriptor parsing;
//!   [`classify()`] turns descriptors into [`UsbRole`]s.
//! - [`Kit::with_usb`](crate::Kit::with_usb), [`Kit::missing_devices`](crate::Kit::missing_devices)
//!   and [`Kit::check_connected`](crate::Kit::check_connected): "no scanner connected".
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
//! use buergerkoffer::usb::{fixtures, MockUsbBus, UsbBus};
//! use buergerkoffer::{DeviceKind, ErrorKind, Kit};
//!
//! let bus = MockUsbBus::new();
//! let kit = Kit::new().with_usb(bus.clone());
//! let err = kit.check_connected(&[DeviceKind::Scanner]).await.unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::NotFound);
//! assert!(err.to_string().contains("no scanner connected"));
//!
//! bus.plug(fixtures::FUJITSU_FI_7160.device_at(1, &[2])?);
//! kit.check_connected(&[DeviceKind::Scanner]).await?;
//! assert_eq!(bus.devices().await?[0].id().to_string(), "usb:1-2");
//! # Ok(()) }
//! ```

mod bus;
pub mod classify;
pub mod descriptor;
pub mod fixtures;
mod hotplug;
mod mock;
mod real;

use std::fmt;

use crate::device::{Backend, DeviceId, DeviceInfo, DeviceKind};
use crate::error::Result;

pub use self::bus::UsbBus;
pub use self::classify::{classify, known_scanner, KnownScanner, UsbRole, KNOWN_SCANNERS};
pub use self::descriptor::{
    ClassDescriptor, ConfigDescriptor, DeviceDescriptor, EndpointDescriptor, InterfaceDescriptor,
};
pub use self::hotplug::{HotplugStream, UsbEvent};
pub use self::mock::MockUsbBus;
pub use self::real::RusbBus;

/// One device on the bus: where it is, its descriptors, strings and kit roles.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UsbDevice {
    /// The bus number.
    pub bus: u8,
    /// The port numbers from the root hub down (empty for a root hub).
    pub ports: Vec<u8>,
    /// The device address on its bus, if known (0 for fixtures).
    pub address: u8,
    /// The device descriptor.
    pub descriptor: DeviceDescriptor,
    /// The active (or first) configuration, if it could be read.
    pub config: Option<ConfigDescriptor>,
    /// The manufacturer string, if the device has one and it could be read.
    pub manufacturer: Option<String>,
    /// The product string, if the device has one and it could be read.
    pub product: Option<String>,
    /// The serial number string, if the device has one and it could be read (reading strings
    /// needs permission to open the device).
    pub serial: Option<String>,
    /// The kit roles of this device ([`classify()`]).
    pub roles: Vec<UsbRole>,
}

impl UsbDevice {
    /// A device from parsed descriptors; the roles are classified here. No strings.
    pub fn new(
        bus: u8,
        ports: &[u8],
        descriptor: DeviceDescriptor,
        config: Option<ConfigDescriptor>,
    ) -> Self {
        let roles = classify(&descriptor, config.as_ref());
        UsbDevice {
            bus,
            ports: ports.to_vec(),
            address: 0,
            descriptor,
            config,
            manufacturer: None,
            product: None,
            serial: None,
            roles,
        }
    }

    /// Parses raw descriptor bytes (as `lsusb -v` shows them) into a classified device.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) naming `usb:BUS-PORTS` when a
    /// descriptor is truncated or malformed ([`DeviceDescriptor::parse`],
    /// [`ConfigDescriptor::parse`]).
    pub fn from_descriptors(
        bus: u8,
        ports: &[u8],
        device: &[u8],
        config: Option<&[u8]>,
    ) -> Result<Self> {
        let name = DeviceId::new(Backend::Usb, port_path(bus, ports)).to_string();
        let descriptor = DeviceDescriptor::parse_for(&name, device)?;
        let config = config
            .map(|c| ConfigDescriptor::parse_for(&name, c))
            .transpose()?;
        Ok(UsbDevice::new(bus, ports, descriptor, config))
    }

    /// The port path as Linux names it in sysfs: `BUS-PORT.PORT...`, e.g. `3-1.2`
    /// (`usbBUS` for a root hub).
    pub fn path(&self) -> String {
        port_path(self.bus, &self.ports)
    }

    /// The id `usb:PATH`, e.g. `usb:3-1.2`. Stable while the device stays in the same port.
    pub fn id(&self) -> DeviceId {
        DeviceId::new(Backend::Usb, self.path())
    }

    /// `idVendor`.
    pub fn vendor_id(&self) -> u16 {
        self.descriptor.vendor_id
    }

    /// `idProduct`.
    pub fn product_id(&self) -> u16 {
        self.descriptor.product_id
    }

    /// Whether the device plays a role of this kind.
    pub fn is(&self, kind: DeviceKind) -> bool {
        self.roles.iter().any(|r| r.kind() == kind)
    }

    /// The kinds of its roles.
    pub fn kinds(&self) -> impl Iterator<Item = DeviceKind> + '_ {
        self.roles.iter().map(UsbRole::kind)
    }

    /// A readable name: the product string, else the known scanner model, else `VVVV:PPPP`.
    pub fn name(&self) -> String {
        if let Some(p) = &self.product {
            return p.clone();
        }
        if let Some(k) = known_scanner(self.vendor_id(), self.product_id()) {
            return format!("{} {}", k.vendor, k.model);
        }
        format!("{:04x}:{:04x}", self.vendor_id(), self.product_id())
    }

    /// One [`DeviceInfo`] per role (a printer-scanner gives two, with the same id).
    pub fn device_infos(&self) -> Vec<DeviceInfo> {
        self.kinds()
            .map(|kind| {
                let mut info = DeviceInfo::new(self.id(), kind, self.name());
                if let Some(v) = self.manufacturer.clone().or_else(|| {
                    known_scanner(self.vendor_id(), self.product_id()).map(|k| k.vendor.into())
                }) {
                    info = info.with_vendor(v);
                }
                if let Some(s) = &self.serial {
                    info = info.with_serial(s.clone());
                }
                info
            })
            .collect()
    }
}

impl fmt::Display for UsbDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:04x}:{:04x} {}",
            self.id(),
            self.vendor_id(),
            self.product_id(),
            self.name()
        )?;
        if let Some(m) = &self.manufacturer {
            write!(f, " ({m})")?;
        }
        Ok(())
    }
}

fn port_path(bus: u8, ports: &[u8]) -> String {
    if ports.is_empty() {
        return format!("usb{bus}");
    }
    let ports: Vec<String> = ports.iter().map(u8::to_string).collect();
    format!("{bus}-{}", ports.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_like_sysfs() {
        assert_eq!(port_path(3, &[1, 2]), "3-1.2");
        assert_eq!(port_path(1, &[4]), "1-4");
        assert_eq!(port_path(2, &[]), "usb2");
    }

    #[test]
    fn errors_name_the_port() {
        let e = UsbDevice::from_descriptors(3, &[1, 2], &[0x12, 0x01, 0x00], None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("usb:3-1.2: parse USB device descriptor"),
            "{e}"
        );
    }
}
