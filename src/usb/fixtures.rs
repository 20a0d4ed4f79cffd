//! Descriptor dumps of real kit devices, for tests and for plugging into a
//! [`MockUsbBus`](super::MockUsbBus).
//!
//! The bytes are written in the field order `lsusb -v` prints them, one line per field. Where
//! each value comes from is said per fixture: values marked *source* are copied from a
//! published dump of that device; values marked *assumed* are typical values for such a
//! device, needed to complete the descriptor, which no public dump we could read confirmed
//! (endpoint addresses, packet sizes, power). Classification never depends on an assumed
//! value: it reads the ids and the class triples, which are all *source* values.

use crate::error::Result;

use super::UsbDevice;

/// One device's descriptors and strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fixture {
    /// A short name for messages.
    pub name: &'static str,
    /// The 18-byte device descriptor.
    pub device: &'static [u8],
    /// The whole configuration descriptor (`wTotalLength` bytes); empty when not recorded.
    pub config: &'static [u8],
    /// The manufacturer string (`iManufacturer`).
    pub manufacturer: Option<&'static str>,
    /// The product string (`iProduct`).
    pub product: Option<&'static str>,
    /// The serial number string (`iSerial`).
    pub serial: Option<&'static str>,
}

impl Fixture {
    /// Parses the fixture into a device at `bus` and port path `ports`.
    ///
    /// # Errors
    /// As [`UsbDevice::from_descriptors`] (never for the fixtures of this module).
    pub fn device_at(&self, bus: u8, ports: &[u8]) -> Result<UsbDevice> {
        let config = (!self.config.is_empty()).then_some(self.config);
        let mut dev = UsbDevice::from_descriptors(bus, ports, self.device, config)?;
        dev.manufacturer = self.manufacturer.map(str::to_owned);
        dev.product = self.product.map(str::to_owned);
        dev.serial = self.serial.map(str::to_owned);
        Ok(dev)
    }
}

/// REINER SCT cyberJack RFID standard (0c4b:0500), the kit's eID card reader.
///
/// Source: the CCID driver's reader dump `readers/ReinerSCT_cyberJack_RFID_standard.txt`
/// (LudovicRousseau/CCID): ids, `bcdDevice` 0.01, the strings, interface 0 with 3 endpoints
/// (bulk-IN, bulk-OUT, interrupt-IN) and class **0xFF** (not 0x0B: the reader is
/// CCID-compatible but announces a vendor-specific interface), and every field of the 54-byte
/// CCID class descriptor. Assumed: `bcdUSB`, `bMaxPacketSize0`, string indexes, serial
/// string, configuration power, endpoint addresses and sizes.
#[rustfmt::skip]
pub const CYBERJACK_RFID_STANDARD: Fixture = Fixture {
    name: "REINER SCT cyberJack RFID standard",
    device: &[
        0x12, // bLength 18
        0x01, // bDescriptorType 1 (device)
        0x10, 0x01, // bcdUSB 1.10 (assumed)
        0x00, // bDeviceClass 0 (defined at interface level)
        0x00, // bDeviceSubClass
        0x00, // bDeviceProtocol
        0x40, // bMaxPacketSize0 64 (assumed)
        0x4b, 0x0c, // idVendor 0x0c4b REINER SCT (source)
        0x00, 0x05, // idProduct 0x0500 cyberJack RFID standard (source)
        0x01, 0x00, // bcdDevice 0.01 (source)
        0x01, // iManufacturer 1 (assumed index)
        0x02, // iProduct 2 (assumed index)
        0x03, // iSerial 3 (assumed index)
        0x01, // bNumConfigurations 1
    ],
    config: &[
        0x09, // bLength 9
        0x02, // bDescriptorType 2 (configuration)
        0x5d, 0x00, // wTotalLength 93 = 9 + 9 + 54 + 3 * 7
        0x01, // bNumInterfaces 1
        0x01, // bConfigurationValue 1
        0x00, // iConfiguration 0
        0x80, // bmAttributes 0x80 (bus powered) (assumed)
        0x32, // MaxPower 100 mA (assumed)
        // Interface Descriptor (source)
        0x09, // bLength 9
        0x04, // bDescriptorType 4 (interface)
        0x00, // bInterfaceNumber 0
        0x00, // bAlternateSetting 0
        0x03, // bNumEndpoints 3
        0xff, // bInterfaceClass 255 vendor specific
        0x00, // bInterfaceSubClass 0
        0x00, // bInterfaceProtocol 0
        0x00, // iInterface 0
        // ChipCard Interface Descriptor (source: every field)
        0x36, // bLength 54
        0x21, // bDescriptorType 33 (CCID class descriptor)
        0x00, 0x10, // bcdCCID (shown as "10.00" by the CCID driver's parser)
        0x00, // bMaxSlotIndex 0
        0x07, // bVoltageSupport 5.0V 3.0V 1.8V
        0x03, 0x00, 0x00, 0x00, // dwProtocols T=0 T=1
        0xa0, 0x0f, 0x00, 0x00, // dwDefaultClock 4000 kHz
        0x40, 0x1f, 0x00, 0x00, // dwMaximumClock 8000 kHz
        0x00, // bNumClockSupported 0
        0x58, 0x27, 0x00, 0x00, // dwDataRate 10072 bps
        0x90, 0xd0, 0x03, 0x00, // dwMaxDataRate 250000 bps
        0x00, // bNumDataRatesSupported 0
        0xfe, 0x00, 0x00, 0x00, // dwMaxIFSD 254
        0x07, 0x00, 0x00, 0x00, // dwSynchProtocols 2-wire 3-wire I2C
        0x00, 0x00, 0x00, 0x00, // dwMechanical none
        0x30, 0x00, 0x01, 0x00, // dwFeatures 0x00010030 (auto clock, auto baud, TPDU)
        0x0a, 0x14, 0x00, 0x00, // dwMaxCCIDMessageLength 5130
        0xff, // bClassGetResponse echo
        0xff, // bClassEnvelope echo
        0x00, 0x00, // wLcdLayout none
        0x03, // bPINSupport verification, modification
        0x01, // bMaxCCIDBusySlots 1
        // Endpoint Descriptors (kinds: source; addresses and sizes: assumed)
        0x07, 0x05, 0x02, 0x02, 0x40, 0x00, 0x00, // EP 2 OUT bulk 64
        0x07, 0x05, 0x82, 0x02, 0x40, 0x00, 0x00, // EP 2 IN bulk 64
        0x07, 0x05, 0x81, 0x03, 0x08, 0x00, 0x10, // EP 1 IN interrupt 8, bInterval 16
    ],
    manufacturer: Some("REINER SCT"),
    product: Some("cyberJack RFID standard"),
    serial: Some("0000000001"),
};

/// Fujitsu/PFU fi-7160 document scanner (04c5:132e).
///
/// Source: ids from SANE's `doc/descriptions/fujitsu.desc` (model "fi-7160", usbid
/// "0x04c5" "0x132e"); the fi-series talks SCSI-over-bulk on one vendor-specific interface
/// (class 0xFF) with one bulk endpoint each way, as the SANE `fujitsu` backend drives it.
/// Assumed: `bcdUSB` (the high-speed view), `bcdDevice`, string indexes and serial, power,
/// endpoint addresses and sizes, subclass/protocol 0xFF.
#[rustfmt::skip]
pub const FUJITSU_FI_7160: Fixture = Fixture {
    name: "Fujitsu fi-7160",
    device: &[
        0x12, // bLength 18
        0x01, // bDescriptorType 1 (device)
        0x00, 0x02, // bcdUSB 2.00 (assumed)
        0x00, // bDeviceClass 0 (defined at interface level)
        0x00, // bDeviceSubClass
        0x00, // bDeviceProtocol
        0x40, // bMaxPacketSize0 64
        0xc5, 0x04, // idVendor 0x04c5 Fujitsu (source)
        0x2e, 0x13, // idProduct 0x132e fi-7160 (source)
        0x00, 0x00, // bcdDevice 0.00 (assumed)
        0x01, // iManufacturer 1
        0x02, // iProduct 2
        0x03, // iSerial 3
        0x01, // bNumConfigurations 1
    ],
    config: &[
        0x09, // bLength 9
        0x02, // bDescriptorType 2 (configuration)
        0x20, 0x00, // wTotalLength 32 = 9 + 9 + 2 * 7
        0x01, // bNumInterfaces 1
        0x01, // bConfigurationValue 1
        0x00, // iConfiguration 0
        0xc0, // bmAttributes 0xc0 (self powered) (assumed)
        0x01, // MaxPower 2 mA (assumed)
        // Interface Descriptor
        0x09, // bLength 9
        0x04, // bDescriptorType 4 (interface)
        0x00, // bInterfaceNumber 0
        0x00, // bAlternateSetting 0
        0x02, // bNumEndpoints 2
        0xff, // bInterfaceClass 255 vendor specific (source)
        0xff, // bInterfaceSubClass 255 (assumed)
        0xff, // bInterfaceProtocol 255 (assumed)
        0x00, // iInterface 0
        // Endpoint Descriptors (assumed)
        0x07, 0x05, 0x81, 0x02, 0x00, 0x02, 0x00, // EP 1 IN bulk 512
        0x07, 0x05, 0x02, 0x02, 0x00, 0x02, 0x00, // EP 2 OUT bulk 512
    ],
    manufacturer: Some("FUJITSU"),
    product: Some("fi-7160"),
    serial: Some("A1B2C3D4"),
};

/// An HP LaserJet-class printer with IPP over USB (vendor 0x03f0).
///
/// Source: the interface layout ipp-usb relies on (OpenPrinting/ipp-usb issues: a 7/1/2
/// interface for the legacy print path and two 7/1/4 IPP-over-USB interfaces) and the
/// IPP printer class descriptor as `lsusb` decodes it (usbutils pull request #78:
/// bLength 10, type 0x21, release 1, one basic-capabilities descriptor, capabilities 0x0011
/// "Print HTTP-over-USB No-Auth"). HP's vendor id 0x03f0 is real; the product id 0x002a is a
/// placeholder, not a specific model's id (classification does not read it). Assumed:
/// endpoint addresses and sizes, power, strings.
#[rustfmt::skip]
pub const HP_LASERJET_IPP_USB: Fixture = Fixture {
    name: "HP LaserJet (IPP over USB)",
    device: &[
        0x12, // bLength 18
        0x01, // bDescriptorType 1 (device)
        0x00, 0x02, // bcdUSB 2.00
        0x00, // bDeviceClass 0 (defined at interface level)
        0x00, // bDeviceSubClass
        0x00, // bDeviceProtocol
        0x40, // bMaxPacketSize0 64
        0xf0, 0x03, // idVendor 0x03f0 HP (source)
        0x2a, 0x00, // idProduct 0x002a (placeholder)
        0x00, 0x01, // bcdDevice 1.00
        0x01, // iManufacturer 1
        0x02, // iProduct 2
        0x03, // iSerial 3
        0x01, // bNumConfigurations 1
    ],
    config: &[
        0x09, // bLength 9
        0x02, // bDescriptorType 2 (configuration)
        0x62, 0x00, // wTotalLength 98 = 9 + 23 + 33 + 33
        0x03, // bNumInterfaces 3
        0x01, // bConfigurationValue 1
        0x00, // iConfiguration 0
        0xc0, // bmAttributes 0xc0 (self powered)
        0x01, // MaxPower 2 mA
        // Interface 0: printer, bidirectional (7/1/2)
        0x09, 0x04, 0x00, 0x00, 0x02, 0x07, 0x01, 0x02, 0x00,
        0x07, 0x05, 0x01, 0x02, 0x00, 0x02, 0x00, // EP 1 OUT bulk 512
        0x07, 0x05, 0x81, 0x02, 0x00, 0x02, 0x00, // EP 1 IN bulk 512
        // Interface 1: printer, IPP over USB (7/1/4)
        0x09, 0x04, 0x01, 0x00, 0x02, 0x07, 0x01, 0x04, 0x00,
        // IPP Printer Descriptor: bLength 10, type 33, release 1, 1 descriptor;
        // basic capabilities: type 0, length 6, wBasicCapabilities 0x0011, versions 0, uuid 0
        0x0a, 0x21, 0x01, 0x01, 0x00, 0x06, 0x11, 0x00, 0x00, 0x00,
        0x07, 0x05, 0x02, 0x02, 0x00, 0x02, 0x00, // EP 2 OUT bulk 512
        0x07, 0x05, 0x82, 0x02, 0x00, 0x02, 0x00, // EP 2 IN bulk 512
        // Interface 2: printer, IPP over USB (7/1/4)
        0x09, 0x04, 0x02, 0x00, 0x02, 0x07, 0x01, 0x04, 0x00,
        0x0a, 0x21, 0x01, 0x01, 0x00, 0x06, 0x11, 0x00, 0x00, 0x00,
        0x07, 0x05, 0x03, 0x02, 0x00, 0x02, 0x00, // EP 3 OUT bulk 512
        0x07, 0x05, 0x83, 0x02, 0x00, 0x02, 0x00, // EP 3 IN bulk 512
    ],
    manufacturer: Some("HP"),
    product: Some("HP LaserJet"),
    serial: Some("VNB3K00000"),
};

/// A Fujitsu Bluetooth radio (04c5:1670): Fujitsu's vendor id on a device that is not a
/// scanner. Classification must leave it without a role.
///
/// Source: the whole device descriptor, from an `lsusb -d 04c5:1670 -v` posted to the
/// linux-kernel mailing list (October 2023, "Bluetooth Radio", class 224/1/1). The
/// configuration is not recorded.
#[rustfmt::skip]
pub const FUJITSU_BLUETOOTH_RADIO: Fixture = Fixture {
    name: "Fujitsu Bluetooth Radio",
    device: &[
        0x12, // bLength 18
        0x01, // bDescriptorType 1 (device)
        0x00, 0x01, // bcdUSB 1.00
        0xe0, // bDeviceClass 224 wireless
        0x01, // bDeviceSubClass 1 radio frequency
        0x01, // bDeviceProtocol 1 Bluetooth
        0x40, // bMaxPacketSize0 64
        0xc5, 0x04, // idVendor 0x04c5 Fujitsu
        0x70, 0x16, // idProduct 0x1670
        0x00, 0x00, // bcdDevice 0.00
        0x01, // iManufacturer 1 "Realtek"
        0x02, // iProduct 2 "Bluetooth Radio"
        0x03, // iSerial 3
        0x01, // bNumConfigurations 1
    ],
    config: &[],
    manufacturer: Some("Realtek"),
    product: Some("Bluetooth Radio"),
    serial: Some("00e04c000001"),
};

/// Every fixture of this module.
pub const ALL: &[Fixture] = &[
    CYBERJACK_RFID_STANDARD,
    FUJITSU_FI_7160,
    HP_LASERJET_IPP_USB,
    FUJITSU_BLUETOOTH_RADIO,
];
