//! Parsing of raw USB descriptors: the 18-byte device descriptor and a configuration
//! descriptor with its interfaces, endpoints and class-specific descriptors (USB 2.0 spec,
//! chapter 9.6).
//!
//! Parsing is bounded by the input and by the lengths the descriptors declare, and never
//! panics: a truncated or malformed descriptor is an [`ErrorKind::Protocol`] error that names
//! the device and says which byte was wrong. Descriptors this module does not know (HID,
//! SuperSpeed companions, interface associations, ...) are kept as [`ClassDescriptor`]s or
//! skipped, never rejected.

use crate::error::{Error, ErrorKind, Result};

/// `bDescriptorType` of a device descriptor.
pub const DEVICE_DESCRIPTOR: u8 = 0x01;
/// `bDescriptorType` of a configuration descriptor.
pub const CONFIG_DESCRIPTOR: u8 = 0x02;
/// `bDescriptorType` of an interface descriptor.
pub const INTERFACE_DESCRIPTOR: u8 = 0x04;
/// `bDescriptorType` of an endpoint descriptor.
pub const ENDPOINT_DESCRIPTOR: u8 = 0x05;

/// The standard device descriptor (18 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceDescriptor {
    /// `bcdUSB`, e.g. `0x0200` for USB 2.0.
    pub usb_version: u16,
    /// `bDeviceClass` (0: defined per interface).
    pub class: u8,
    /// `bDeviceSubClass`.
    pub subclass: u8,
    /// `bDeviceProtocol`.
    pub protocol: u8,
    /// `bMaxPacketSize0`.
    pub max_packet_size0: u8,
    /// `idVendor`.
    pub vendor_id: u16,
    /// `idProduct`.
    pub product_id: u16,
    /// `bcdDevice`, the device's release number.
    pub device_version: u16,
    /// `iManufacturer` string index (0: none).
    pub manufacturer_index: u8,
    /// `iProduct` string index (0: none).
    pub product_index: u8,
    /// `iSerialNumber` string index (0: none).
    pub serial_index: u8,
    /// `bNumConfigurations`.
    pub num_configurations: u8,
}

impl DeviceDescriptor {
    /// A device descriptor with the given ids and every other field zero (class defined per
    /// interface, no strings, one configuration). For fakes and tests.
    pub fn new(vendor_id: u16, product_id: u16) -> Self {
        DeviceDescriptor {
            usb_version: 0x0200,
            class: 0,
            subclass: 0,
            protocol: 0,
            max_packet_size0: 64,
            vendor_id,
            product_id,
            device_version: 0,
            manufacturer_index: 0,
            product_index: 0,
            serial_index: 0,
            num_configurations: 1,
        }
    }

    /// Parses the 18 bytes of a device descriptor, as `lsusb -v` shows them under
    /// "Device Descriptor" (bytes after the 18th are ignored).
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when the bytes are fewer than 18 or `bLength`/`bDescriptorType`
    /// are not those of a device descriptor.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        Self::parse_for("usb", bytes)
    }

    pub(crate) fn parse_for(device: &str, bytes: &[u8]) -> Result<Self> {
        const OP: &str = "parse USB device descriptor";
        let r = Reader::new(device, OP, bytes);
        let len = r.u8(0)?;
        let ty = r.u8(1)?;
        if ty != DEVICE_DESCRIPTOR {
            return Err(r.bad(format!(
                "bDescriptorType is 0x{ty:02x}, expected 0x01 (device)"
            )));
        }
        if len < 18 {
            return Err(r.bad(format!("bLength is {len}, expected 18")));
        }
        r.need(18)?;
        Ok(DeviceDescriptor {
            usb_version: r.u16(2)?,
            class: r.u8(4)?,
            subclass: r.u8(5)?,
            protocol: r.u8(6)?,
            max_packet_size0: r.u8(7)?,
            vendor_id: r.u16(8)?,
            product_id: r.u16(10)?,
            device_version: r.u16(12)?,
            manufacturer_index: r.u8(14)?,
            product_index: r.u8(15)?,
            serial_index: r.u8(16)?,
            num_configurations: r.u8(17)?,
        })
    }
}

/// A configuration descriptor with everything that followed it (`wTotalLength` bytes).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ConfigDescriptor {
    /// `bConfigurationValue`.
    pub value: u8,
    /// `bmAttributes` (0x40: self powered, 0x20: remote wakeup).
    pub attributes: u8,
    /// `bMaxPower` in its raw unit (2 mA for USB 2.0 devices).
    pub max_power: u8,
    /// `iConfiguration` string index.
    pub string_index: u8,
    /// `bNumInterfaces` as declared.
    pub num_interfaces: u8,
    /// Every interface descriptor, alternate settings included, in the order they came.
    pub interfaces: Vec<InterfaceDescriptor>,
}

impl ConfigDescriptor {
    /// Parses a whole configuration descriptor: the 9-byte header and the `wTotalLength - 9`
    /// bytes of interface, endpoint and class descriptors after it, as `lsusb -v` shows them
    /// under "Configuration Descriptor". Bytes after `wTotalLength` are ignored.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when the input is shorter than `wTotalLength`, a descriptor's
    /// `bLength` is below 2 or runs past the end, the header is not a configuration
    /// descriptor, or an interface/endpoint descriptor is too short.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        Self::parse_for("usb", bytes)
    }

    pub(crate) fn parse_for(device: &str, bytes: &[u8]) -> Result<Self> {
        const OP: &str = "parse USB configuration descriptor";
        let r = Reader::new(device, OP, bytes);
        let len = usize::from(r.u8(0)?);
        let ty = r.u8(1)?;
        if ty != CONFIG_DESCRIPTOR {
            return Err(r.bad(format!(
                "bDescriptorType is 0x{ty:02x}, expected 0x02 (configuration)"
            )));
        }
        if len < 9 {
            return Err(r.bad(format!("bLength is {len}, expected 9")));
        }
        let total = usize::from(r.u16(2)?);
        if total < len {
            return Err(r.bad(format!(
                "wTotalLength {total} is shorter than the header ({len} bytes)"
            )));
        }
        r.need(total)?;
        let mut config = ConfigDescriptor {
            value: r.u8(5)?,
            attributes: r.u8(7)?,
            max_power: r.u8(8)?,
            string_index: r.u8(6)?,
            num_interfaces: r.u8(4)?,
            interfaces: Vec::new(),
        };
        let body = r.slice(len, total)?;
        for item in descriptors(device, OP, body, len) {
            let (offset, d) = item?;
            match d.first().zip(d.get(1)) {
                Some((_, &INTERFACE_DESCRIPTOR)) => {
                    config
                        .interfaces
                        .push(InterfaceDescriptor::from_bytes(device, OP, offset, d)?);
                }
                Some((_, &ENDPOINT_DESCRIPTOR)) => {
                    let ep = EndpointDescriptor::from_bytes(device, OP, offset, d)?;
                    match config.interfaces.last_mut() {
                        Some(iface) => iface.endpoints.push(ep),
                        None => {
                            return Err(Error::new(ErrorKind::Protocol, device, OP).with_detail(
                                format!(
                                    "endpoint descriptor at byte {offset} before any interface"
                                ),
                            ))
                        }
                    }
                }
                Some((_, &ty)) => {
                    // Class-specific or other descriptor: belongs to the interface before it
                    // (CCID 0x21, IPP-over-USB 0x21, HID 0x21, ...). Before the first
                    // interface (e.g. an interface association) it is skipped.
                    if let Some(iface) = config.interfaces.last_mut() {
                        iface.class_descriptors.push(ClassDescriptor {
                            descriptor_type: ty,
                            data: d.to_vec(),
                        });
                    }
                }
                None => {}
            }
        }
        Ok(config)
    }
}

/// One interface descriptor (one alternate setting of one interface) with what followed it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct InterfaceDescriptor {
    /// `bInterfaceNumber`.
    pub number: u8,
    /// `bAlternateSetting`.
    pub alternate_setting: u8,
    /// `bInterfaceClass` (0x0B CCID, 0x07 printer, 0x06 still image, 0xFF vendor specific).
    pub class: u8,
    /// `bInterfaceSubClass`.
    pub subclass: u8,
    /// `bInterfaceProtocol` (for printers: 0x04 is IPP over USB).
    pub protocol: u8,
    /// `iInterface` string index.
    pub string_index: u8,
    /// The endpoint descriptors that followed it.
    pub endpoints: Vec<EndpointDescriptor>,
    /// Class-specific and unknown descriptors that followed it, e.g. the CCID class
    /// descriptor (type 0x21, 54 bytes) or the IPP-over-USB printer descriptor.
    pub class_descriptors: Vec<ClassDescriptor>,
}

impl InterfaceDescriptor {
    /// An interface with the given class triple and no endpoints. For fakes and tests.
    pub fn new(number: u8, class: u8, subclass: u8, protocol: u8) -> Self {
        InterfaceDescriptor {
            number,
            class,
            subclass,
            protocol,
            ..Default::default()
        }
    }

    fn from_bytes(device: &str, op: &'static str, offset: usize, d: &[u8]) -> Result<Self> {
        let r = Reader::descriptor(device, op, offset, d, "interface", 9)?;
        Ok(InterfaceDescriptor {
            number: r.u8(2)?,
            alternate_setting: r.u8(3)?,
            class: r.u8(5)?,
            subclass: r.u8(6)?,
            protocol: r.u8(7)?,
            string_index: r.u8(8)?,
            endpoints: Vec::new(),
            class_descriptors: Vec::new(),
        })
    }

    /// Parses a run of class-specific descriptors (as libusb hands them over in an
    /// interface's `extra` bytes) into [`ClassDescriptor`]s.
    ///
    /// # Errors
    /// [`ErrorKind::Protocol`] when a `bLength` is below 2 or runs past the end.
    pub fn parse_extra(bytes: &[u8]) -> Result<Vec<ClassDescriptor>> {
        const OP: &str = "parse USB class-specific descriptors";
        let mut out = Vec::new();
        for item in descriptors("usb", OP, bytes, 0) {
            let (_, d) = item?;
            if let Some(&ty) = d.get(1) {
                out.push(ClassDescriptor {
                    descriptor_type: ty,
                    data: d.to_vec(),
                });
            }
        }
        Ok(out)
    }
}

/// One endpoint descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EndpointDescriptor {
    /// `bEndpointAddress` (bit 7: IN).
    pub address: u8,
    /// `bmAttributes` (bits 0-1: 0 control, 1 isochronous, 2 bulk, 3 interrupt).
    pub attributes: u8,
    /// `wMaxPacketSize`.
    pub max_packet_size: u16,
    /// `bInterval`.
    pub interval: u8,
}

impl EndpointDescriptor {
    /// An endpoint with the given address and attributes. For fakes and tests.
    pub fn new(address: u8, attributes: u8, max_packet_size: u16) -> Self {
        EndpointDescriptor {
            address,
            attributes,
            max_packet_size,
            interval: 0,
        }
    }

    fn from_bytes(device: &str, op: &'static str, offset: usize, d: &[u8]) -> Result<Self> {
        let r = Reader::descriptor(device, op, offset, d, "endpoint", 7)?;
        Ok(EndpointDescriptor {
            address: r.u8(2)?,
            attributes: r.u8(3)?,
            max_packet_size: r.u16(4)?,
            interval: r.u8(6)?,
        })
    }

    /// Whether data flows from the device to the host.
    pub fn is_in(&self) -> bool {
        self.address & 0x80 != 0
    }

    /// Whether this is a bulk endpoint.
    pub fn is_bulk(&self) -> bool {
        self.attributes & 0x03 == 0x02
    }

    /// Whether this is an interrupt endpoint.
    pub fn is_interrupt(&self) -> bool {
        self.attributes & 0x03 == 0x03
    }
}

/// A class-specific (or otherwise unknown) descriptor that followed an interface, kept whole.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClassDescriptor {
    /// `bDescriptorType` (0x21 for CCID, HID and the IPP-over-USB printer descriptor).
    pub descriptor_type: u8,
    /// All of its bytes, `bLength` and `bDescriptorType` included.
    pub data: Vec<u8>,
}

impl ClassDescriptor {
    /// A class descriptor from its whole bytes (the type is taken from byte 1, or 0).
    pub fn new(data: Vec<u8>) -> Self {
        ClassDescriptor {
            descriptor_type: data.get(1).copied().unwrap_or(0),
            data,
        }
    }
}

/// Splits `bytes` into descriptors by their `bLength`; yields (offset of the descriptor in the
/// whole buffer, its bytes). Ends at the first error.
fn descriptors<'a>(
    device: &'a str,
    op: &'static str,
    bytes: &'a [u8],
    base: usize,
) -> impl Iterator<Item = Result<(usize, &'a [u8])>> + 'a {
    let mut pos = 0usize;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pos >= bytes.len() {
            return None;
        }
        let at = base + pos;
        let fail = |why: String| Error::new(ErrorKind::Protocol, device, op).with_detail(why);
        let len = match bytes.get(pos) {
            Some(&l) => usize::from(l),
            None => return None,
        };
        if len < 2 {
            failed = true;
            return Some(Err(fail(format!(
                "descriptor at byte {at} has bLength {len}, below the minimum 2"
            ))));
        }
        match bytes.get(pos..pos + len) {
            Some(d) => {
                pos += len;
                Some(Ok((at, d)))
            }
            None => {
                failed = true;
                Some(Err(fail(format!(
                    "descriptor at byte {at} declares {len} bytes, only {} left",
                    bytes.len() - pos
                ))))
            }
        }
    })
}

/// Bounds-checked little-endian reads that fail with a `Protocol` error naming the device.
struct Reader<'a> {
    device: &'a str,
    op: &'static str,
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(device: &'a str, op: &'static str, bytes: &'a [u8]) -> Self {
        Reader { device, op, bytes }
    }

    /// A reader over the `what` descriptor found at byte `offset` of a configuration, which
    /// must be at least `len` bytes long.
    fn descriptor(
        device: &'a str,
        op: &'static str,
        offset: usize,
        d: &'a [u8],
        what: &str,
        len: usize,
    ) -> Result<Self> {
        if d.len() < len {
            return Err(
                Error::new(ErrorKind::Protocol, device, op).with_detail(format!(
                    "{what} descriptor at byte {offset} has bLength {}, expected {len}",
                    d.len()
                )),
            );
        }
        Ok(Reader::new(device, op, d))
    }

    fn bad(&self, detail: String) -> Error {
        Error::new(ErrorKind::Protocol, self.device, self.op).with_detail(detail)
    }

    fn need(&self, n: usize) -> Result<()> {
        if self.bytes.len() < n {
            Err(self.bad(format!(
                "truncated: {} bytes, the descriptor needs {n}",
                self.bytes.len()
            )))
        } else {
            Ok(())
        }
    }

    fn u8(&self, at: usize) -> Result<u8> {
        self.bytes.get(at).copied().ok_or_else(|| {
            self.bad(format!(
                "truncated: {} bytes, byte {at} is missing",
                self.bytes.len()
            ))
        })
    }

    fn u16(&self, at: usize) -> Result<u16> {
        Ok(u16::from_le_bytes([self.u8(at)?, self.u8(at + 1)?]))
    }

    fn slice(&self, from: usize, to: usize) -> Result<&'a [u8]> {
        self.bytes
            .get(from..to)
            .ok_or_else(|| self.bad(format!("truncated: bytes {from}..{to} are missing")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_length_descriptor_does_not_loop() {
        let mut cfg = vec![9, 2, 12, 0, 1, 1, 0, 0x80, 50, 0, 4, 0];
        cfg[2] = cfg.len() as u8;
        let e = ConfigDescriptor::parse(&cfg).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        assert!(e.to_string().contains("bLength 0"), "{e}");
    }

    #[test]
    fn extra_bytes_split_by_length() {
        let extra = [3, 0x21, 1, 4, 0x30, 0, 0];
        let d = InterfaceDescriptor::parse_extra(&extra).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].descriptor_type, 0x21);
        assert_eq!(d[1].data, vec![4, 0x30, 0, 0]);
        assert!(InterfaceDescriptor::parse_extra(&[5, 0x21, 0]).is_err());
    }
}
