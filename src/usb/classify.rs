//! Classification of a USB device into the kit's roles — card reader, printer, scanner — from
//! its descriptors, and the table of known document scanners that only identify themselves by
//! vendor and product id.
//!
//! Rules (checked on the device class and on every interface, alternate settings included):
//! - card reader: interface class 0x0B (CCID), or a vendor-specific interface (0xFF) that
//!   carries a CCID class descriptor (type 0x21, 54 bytes) — REINER SCT cyberJack readers
//!   announce themselves this way, see [`fixtures`](super::fixtures);
//! - printer: interface class 0x07; IPP over USB when an interface has protocol 0x04;
//! - scanner: still-image class 0x06, or a vendor/product pair in [`KNOWN_SCANNERS`].
//!   Scanner vendors also make printers, cameras and radios (Fujitsu 0x04c5 makes Bluetooth
//!   modules, Epson 0x04b8 printers), so the table matches vendor *and* product, never vendor
//!   alone. Class 0x06 is also used by PTP cameras; a camera plugged into the kit is reported
//!   as a scanner — the kit has no camera role.
//!
//! A multi-function device gets several roles (a printer-scanner is both).

use crate::device::DeviceKind;

use super::descriptor::{ConfigDescriptor, DeviceDescriptor, InterfaceDescriptor};

/// USB class code of smart-card readers (CCID).
pub const CLASS_SMART_CARD: u8 = 0x0B;
/// USB class code of printers.
pub const CLASS_PRINTER: u8 = 0x07;
/// USB class code of still-image devices (scanners, PTP cameras).
pub const CLASS_STILL_IMAGE: u8 = 0x06;
/// USB class code of vendor-specific devices and interfaces.
pub const CLASS_VENDOR_SPECIFIC: u8 = 0xFF;
/// Printer-class interface protocol of IPP over USB.
pub const PROTOCOL_IPP_OVER_USB: u8 = 0x04;
/// Descriptor type of the CCID class descriptor (also HID's and IPP-over-USB's number).
pub const CCID_CLASS_DESCRIPTOR: u8 = 0x21;
/// Length of the CCID class descriptor (CCID 1.1, table 5.1-1).
pub const CCID_CLASS_DESCRIPTOR_LEN: usize = 0x36;

/// One role a USB device plays in the kit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsbRole {
    /// A smart-card reader.
    CardReader(CardReaderMatch),
    /// A printer.
    Printer {
        /// An interface speaks IPP over USB (class 7, protocol 4): `ipp-usb` can expose it as
        /// a network IPP printer.
        ipp_over_usb: bool,
    },
    /// A scanner.
    Scanner(ScannerMatch),
}

impl UsbRole {
    /// The kind of device this role is.
    pub fn kind(&self) -> DeviceKind {
        match self {
            UsbRole::CardReader(_) => DeviceKind::CardReader,
            UsbRole::Printer { .. } => DeviceKind::Printer,
            UsbRole::Scanner(_) => DeviceKind::Scanner,
        }
    }
}

/// Why a device counts as a card reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CardReaderMatch {
    /// Interface (or device) class 0x0B.
    CcidClass,
    /// A vendor-specific interface with a CCID class descriptor (CCID-compatible reader that
    /// does not use the class code, e.g. REINER SCT cyberJack).
    CcidDescriptor,
}

/// Why a device counts as a scanner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScannerMatch {
    /// Interface (or device) class 0x06, still image.
    StillImageClass,
    /// Vendor and product id are in [`KNOWN_SCANNERS`].
    KnownModel(&'static KnownScanner),
}

/// A document scanner known by its USB vendor and product id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct KnownScanner {
    /// `idVendor`.
    pub vendor_id: u16,
    /// `idProduct`.
    pub product_id: u16,
    /// The vendor's name.
    pub vendor: &'static str,
    /// The model (or models sharing this id).
    pub model: &'static str,
}

const fn s(
    vendor_id: u16,
    product_id: u16,
    vendor: &'static str,
    model: &'static str,
) -> KnownScanner {
    KnownScanner {
        vendor_id,
        product_id,
        vendor,
        model,
    }
}

const PFU: &str = "Fujitsu/PFU";
const CANON_DR: &str = "Canon";
const EPSON: &str = "Epson";

/// Document scanners that present a vendor-specific USB interface, by vendor and product id.
///
/// Every id is taken from the SANE project's backend descriptions
/// (`sane-backends/doc/descriptions/fujitsu.desc`, `canon_dr.desc`, `epsonds.desc`), which
/// list the ids the backends were tested or written against. Only document scanners are
/// listed, never a vendor's printers or multi-function devices sharing the vendor id.
/// Brother (0x04f9) and Kodak Alaris scanners are not listed yet: their ids still need to be
/// checked against real devices.
pub static KNOWN_SCANNERS: &[KnownScanner] = &[
    // Fujitsu / PFU (vendor 0x04c5), fujitsu.desc.
    s(0x04c5, 0x114f, PFU, "fi-6130"),
    s(0x04c5, 0x1150, PFU, "fi-6230"),
    s(0x04c5, 0x11f3, PFU, "fi-6130Z"),
    s(0x04c5, 0x11f4, PFU, "fi-6230Z"),
    s(0x04c5, 0x11fc, PFU, "fi-6110"),
    s(0x04c5, 0x114d, PFU, "fi-6140"),
    s(0x04c5, 0x114e, PFU, "fi-6240"),
    s(0x04c5, 0x11a2, PFU, "ScanSnap S1500"),
    s(0x04c5, 0x132b, PFU, "ScanSnap iX500"),
    s(0x04c5, 0x132c, PFU, "fi-7180"),
    s(0x04c5, 0x132d, PFU, "fi-7280"),
    s(0x04c5, 0x132e, PFU, "fi-7160"),
    s(0x04c5, 0x132f, PFU, "fi-7260"),
    s(0x04c5, 0x13f4, PFU, "ScanSnap iX100"),
    s(0x04c5, 0x14b8, PFU, "fi-7480"),
    s(0x04c5, 0x14be, PFU, "fi-7460"),
    s(0x04c5, 0x14df, PFU, "fi-7140"),
    s(0x04c5, 0x14e0, PFU, "fi-7240"),
    s(0x04c5, 0x14e1, PFU, "fi-7135"),
    s(0x04c5, 0x14e2, PFU, "fi-7235"),
    s(0x04c5, 0x14e3, PFU, "fi-7130"),
    s(0x04c5, 0x14e4, PFU, "fi-7230"),
    s(0x04c5, 0x14e5, PFU, "fi-7125"),
    s(0x04c5, 0x14e6, PFU, "fi-7225"),
    s(0x04c5, 0x14e7, PFU, "fi-7120"),
    s(0x04c5, 0x14e8, PFU, "fi-7220"),
    s(0x04c5, 0x151f, PFU, "fi-7030"),
    s(0x04c5, 0x1520, PFU, "fi-7700"),
    s(0x04c5, 0x1521, PFU, "fi-7600"),
    s(0x04c5, 0x1575, PFU, "fi-7300NX"),
    s(0x04c5, 0x159f, PFU, "ScanSnap iX1500"),
    s(0x04c5, 0x15fc, PFU, "fi-800R"),
    s(0x04c5, 0x15fd, PFU, "fi-8190"),
    s(0x04c5, 0x15fe, PFU, "fi-8290"),
    s(0x04c5, 0x15ff, PFU, "fi-8170"),
    s(0x04c5, 0x1600, PFU, "fi-8270"),
    s(0x04c5, 0x1601, PFU, "fi-8150"),
    s(0x04c5, 0x1602, PFU, "fi-8250"),
    s(0x04c5, 0x162c, PFU, "ScanSnap iX1300"),
    s(0x04c5, 0x162d, PFU, "fi-8150U"),
    s(0x04c5, 0x162e, PFU, "fi-8250U"),
    s(0x04c5, 0x1632, PFU, "ScanSnap iX1600"),
    // Canon document scanners (Canon Electronics, vendor 0x1083), canon_dr.desc.
    s(0x1083, 0x1614, CANON_DR, "DR-4010C"),
    s(0x1083, 0x1617, CANON_DR, "DR-2510C"),
    s(0x1083, 0x1618, CANON_DR, "DR-X10C"),
    s(0x1083, 0x161b, CANON_DR, "DR-2010C"),
    s(0x1083, 0x161d, CANON_DR, "DR-3010C"),
    s(0x1083, 0x1624, CANON_DR, "DR-6050C"),
    s(0x1083, 0x162c, CANON_DR, "P-150M"),
    s(0x1083, 0x163e, CANON_DR, "DR-M160"),
    s(0x1083, 0x163f, CANON_DR, "DR-M140"),
    s(0x1083, 0x1640, CANON_DR, "DR-C125"),
    s(0x1083, 0x1646, CANON_DR, "P-215"),
    s(0x1083, 0x164c, CANON_DR, "P-208"),
    s(0x1083, 0x1650, CANON_DR, "DR-G1100"),
    s(0x1083, 0x1651, CANON_DR, "DR-C120"),
    s(0x1083, 0x1658, CANON_DR, "DR-C225"),
    // Canon document scanners under Canon Inc.'s vendor id 0x04a9 (which also covers
    // Canon's printers and cameras: product ids only), canon_dr.desc.
    s(0x04a9, 0x1601, CANON_DR, "DR-2080C"),
    s(0x04a9, 0x160a, CANON_DR, "DR-2050C"),
    s(0x04a9, 0x1607, CANON_DR, "DR-6080"),
    s(0x04a9, 0x160b, CANON_DR, "DR-7580"),
    // Epson document scanners (vendor 0x04b8, shared with Epson's printers), epsonds.desc.
    s(0x04b8, 0x0145, EPSON, "DS-5500/DS-6500/DS-7500"),
    s(0x04b8, 0x014c, EPSON, "DS-510"),
    s(0x04b8, 0x0155, EPSON, "DS-530"),
    s(0x04b8, 0x0156, EPSON, "ES-400"),
    s(0x04b8, 0x0157, EPSON, "DS-570W/ES-500W"),
    s(0x04b8, 0x0159, EPSON, "DS-310/ES-200"),
    s(0x04b8, 0x015c, EPSON, "DS-1630"),
    s(0x04b8, 0x015d, EPSON, "DS-1610"),
    s(0x04b8, 0x0160, EPSON, "DS-70"),
    s(0x04b8, 0x0165, EPSON, "DS-410"),
    s(0x04b8, 0x0181, EPSON, "ES-400II"),
    s(0x04b8, 0x0182, EPSON, "DS-530II"),
    s(0x04b8, 0x0183, EPSON, "DS-535II"),
];

/// The known scanner with this vendor and product id, if any.
pub fn known_scanner(vendor_id: u16, product_id: u16) -> Option<&'static KnownScanner> {
    KNOWN_SCANNERS
        .iter()
        .find(|k| k.vendor_id == vendor_id && k.product_id == product_id)
}

/// The roles of a device, from its device descriptor and (if read) its configuration. At most
/// one role per [`DeviceKind`], in the order card reader, printer, scanner.
pub fn classify(device: &DeviceDescriptor, config: Option<&ConfigDescriptor>) -> Vec<UsbRole> {
    let interfaces: &[InterfaceDescriptor] = config.map_or(&[], |c| c.interfaces.as_slice());

    let mut roles = Vec::new();

    let ccid_class =
        device.class == CLASS_SMART_CARD || interfaces.iter().any(|i| i.class == CLASS_SMART_CARD);
    let ccid_descriptor = interfaces
        .iter()
        .any(|i| i.class == CLASS_VENDOR_SPECIFIC && has_ccid_descriptor(i));
    if ccid_class {
        roles.push(UsbRole::CardReader(CardReaderMatch::CcidClass));
    } else if ccid_descriptor {
        roles.push(UsbRole::CardReader(CardReaderMatch::CcidDescriptor));
    }

    let printer_ifaces = || interfaces.iter().filter(|i| i.class == CLASS_PRINTER);
    if device.class == CLASS_PRINTER || printer_ifaces().next().is_some() {
        let ipp_over_usb = printer_ifaces().any(|i| i.protocol == PROTOCOL_IPP_OVER_USB);
        roles.push(UsbRole::Printer { ipp_over_usb });
    }

    if device.class == CLASS_STILL_IMAGE || interfaces.iter().any(|i| i.class == CLASS_STILL_IMAGE)
    {
        roles.push(UsbRole::Scanner(ScannerMatch::StillImageClass));
    } else if let Some(k) = known_scanner(device.vendor_id, device.product_id) {
        roles.push(UsbRole::Scanner(ScannerMatch::KnownModel(k)));
    }
    roles
}

/// Whether the interface carries a CCID class descriptor (type 0x21, exactly 54 bytes; HID's
/// descriptor shares the type number but is 9 bytes long).
fn has_ccid_descriptor(iface: &InterfaceDescriptor) -> bool {
    iface.class_descriptors.iter().any(|d| {
        d.descriptor_type == CCID_CLASS_DESCRIPTOR && d.data.len() == CCID_CLASS_DESCRIPTOR_LEN
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_duplicate_ids() {
        let mut ids: Vec<_> = KNOWN_SCANNERS
            .iter()
            .map(|k| (k.vendor_id, k.product_id))
            .collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn vendor_alone_is_not_a_scanner() {
        // An Epson printer id (not in the table) stays unclassified.
        let d = DeviceDescriptor::new(0x04b8, 0x1234);
        assert!(classify(&d, None).is_empty());
        let d = DeviceDescriptor::new(0x04b8, 0x0155);
        assert_eq!(classify(&d, None)[0].kind(), DeviceKind::Scanner);
    }
}
