//! USB discovery: descriptor parsing and classification on real-device fixtures, malformed
//! and truncated descriptors, the mock bus's hotplug stream, the kit's "no scanner
//! connected" check, and the real libusb bus on whatever machine runs the tests.
#![cfg(feature = "usb")]

use std::time::Duration;

use buergerkoffer::usb::classify::{CardReaderMatch, ScannerMatch};
use buergerkoffer::usb::{
    classify, fixtures, ConfigDescriptor, DeviceDescriptor, HotplugStream, InterfaceDescriptor,
    MockUsbBus, RusbBus, UsbBus, UsbDevice, UsbEvent, UsbRole,
};
use buergerkoffer::{DeviceId, DeviceKind, ErrorKind, Kit};
use tokio_stream::StreamExt;

static_assertions::assert_impl_all!(RusbBus: Send, Sync, Clone);
static_assertions::assert_impl_all!(MockUsbBus: Send, Sync, Clone);
static_assertions::assert_impl_all!(HotplugStream: Send, Unpin);
static_assertions::assert_obj_safe!(UsbBus);

fn dev(f: &fixtures::Fixture, bus: u8, ports: &[u8]) -> UsbDevice {
    f.device_at(bus, ports)
        .unwrap_or_else(|e| panic!("fixture {} does not parse: {e}", f.name))
}

// ---------------------------------------------------------------- parsing

#[test]
fn cyberjack_descriptors_parse() {
    let f = fixtures::CYBERJACK_RFID_STANDARD;
    let d = DeviceDescriptor::parse(f.device).unwrap();
    assert_eq!((d.vendor_id, d.product_id), (0x0c4b, 0x0500));
    assert_eq!(d.device_version, 0x0001);
    assert_eq!(d.class, 0);
    assert_eq!(
        (d.manufacturer_index, d.product_index, d.serial_index),
        (1, 2, 3)
    );
    let c = ConfigDescriptor::parse(f.config).unwrap();
    assert_eq!(c.num_interfaces, 1);
    assert_eq!(c.interfaces.len(), 1);
    let i = &c.interfaces[0];
    assert_eq!((i.class, i.subclass, i.protocol), (0xff, 0, 0));
    assert_eq!(i.endpoints.len(), 3);
    assert_eq!(i.endpoints.iter().filter(|e| e.is_bulk()).count(), 2);
    assert_eq!(i.endpoints.iter().filter(|e| e.is_interrupt()).count(), 1);
    assert_eq!(i.class_descriptors.len(), 1);
    let ccid = &i.class_descriptors[0];
    assert_eq!(ccid.descriptor_type, 0x21);
    assert_eq!(ccid.data.len(), 54);
    // dwMaxCCIDMessageLength 5130 at offset 44, bPINSupport 3 at offset 52.
    assert_eq!(
        u32::from_le_bytes(ccid.data[44..48].try_into().unwrap()),
        5130
    );
    assert_eq!(ccid.data[52], 0x03);
}

#[test]
fn fujitsu_descriptors_parse() {
    let f = fixtures::FUJITSU_FI_7160;
    let d = DeviceDescriptor::parse(f.device).unwrap();
    assert_eq!((d.vendor_id, d.product_id), (0x04c5, 0x132e));
    let c = ConfigDescriptor::parse(f.config).unwrap();
    assert_eq!(c.interfaces.len(), 1);
    assert_eq!(c.interfaces[0].class, 0xff);
    let eps = &c.interfaces[0].endpoints;
    assert_eq!(eps.len(), 2);
    assert!(eps.iter().all(|e| e.is_bulk() && e.max_packet_size == 512));
    assert_eq!(eps.iter().filter(|e| e.is_in()).count(), 1);
    assert_eq!(c.attributes & 0x40, 0x40, "self powered");
}

#[test]
fn hp_ipp_usb_descriptors_parse() {
    let f = fixtures::HP_LASERJET_IPP_USB;
    let d = DeviceDescriptor::parse(f.device).unwrap();
    assert_eq!(d.vendor_id, 0x03f0);
    let c = ConfigDescriptor::parse(f.config).unwrap();
    let triples: Vec<_> = c
        .interfaces
        .iter()
        .map(|i| (i.number, i.class, i.subclass, i.protocol))
        .collect();
    assert_eq!(triples, vec![(0, 7, 1, 2), (1, 7, 1, 4), (2, 7, 1, 4)]);
    for i in &c.interfaces[1..] {
        assert_eq!(i.endpoints.len(), 2);
        assert_eq!(i.class_descriptors.len(), 1);
        let ipp = &i.class_descriptors[0].data;
        assert_eq!(ipp.len(), 10);
        // wBasicCapabilities 0x0011: print, HTTP over USB.
        assert_eq!(u16::from_le_bytes([ipp[6], ipp[7]]), 0x0011);
    }
}

#[test]
fn bytes_after_the_descriptor_are_ignored() {
    let f = fixtures::FUJITSU_FI_7160;
    let mut dev = f.device.to_vec();
    dev.extend_from_slice(&[0xde, 0xad]);
    assert_eq!(
        DeviceDescriptor::parse(&dev).unwrap(),
        DeviceDescriptor::parse(f.device).unwrap()
    );
    let mut cfg = f.config.to_vec();
    cfg.extend_from_slice(&[0x00, 0x00, 0x00]); // would be an error inside wTotalLength
    assert_eq!(
        ConfigDescriptor::parse(&cfg).unwrap(),
        ConfigDescriptor::parse(f.config).unwrap()
    );
}

// ---------------------------------------------------------------- classification

#[test]
fn fixtures_classify() {
    let reader = dev(&fixtures::CYBERJACK_RFID_STANDARD, 1, &[1]);
    assert_eq!(
        reader.roles,
        vec![UsbRole::CardReader(CardReaderMatch::CcidDescriptor)]
    );
    assert!(reader.is(DeviceKind::CardReader));
    assert!(!reader.is(DeviceKind::Scanner));

    let scanner = dev(&fixtures::FUJITSU_FI_7160, 1, &[2]);
    match scanner.roles.as_slice() {
        [UsbRole::Scanner(ScannerMatch::KnownModel(k))] => {
            assert_eq!(k.model, "fi-7160");
            assert_eq!((k.vendor_id, k.product_id), (0x04c5, 0x132e));
        }
        other => panic!("fi-7160 classified as {other:?}"),
    }

    let printer = dev(&fixtures::HP_LASERJET_IPP_USB, 1, &[3]);
    assert_eq!(printer.roles, vec![UsbRole::Printer { ipp_over_usb: true }]);

    let radio = dev(&fixtures::FUJITSU_BLUETOOTH_RADIO, 1, &[4]);
    assert!(radio.config.is_none());
    assert!(
        radio.roles.is_empty(),
        "a Fujitsu radio is no scanner: {:?}",
        radio.roles
    );
}

#[test]
fn class_rules() {
    let base = DeviceDescriptor::new(0x1234, 0x5678);
    let cfg = |ifaces: Vec<InterfaceDescriptor>| {
        let mut c = ConfigDescriptor::default();
        c.interfaces = ifaces;
        c
    };

    // CCID by class code.
    let c = cfg(vec![InterfaceDescriptor::new(0, 0x0b, 0, 0)]);
    assert_eq!(
        classify(&base, Some(&c)),
        vec![UsbRole::CardReader(CardReaderMatch::CcidClass)]
    );

    // A vendor interface with a HID-sized 0x21 descriptor is not a card reader.
    let mut hid_like = InterfaceDescriptor::new(0, 0xff, 0, 0);
    hid_like.class_descriptors =
        InterfaceDescriptor::parse_extra(&[9, 0x21, 0x11, 0x01, 0, 1, 0x22, 0x40, 0]).unwrap();
    assert!(classify(&base, Some(&cfg(vec![hid_like]))).is_empty());

    // A printer without IPP over USB.
    let c = cfg(vec![InterfaceDescriptor::new(0, 7, 1, 2)]);
    assert_eq!(
        classify(&base, Some(&c)),
        vec![UsbRole::Printer {
            ipp_over_usb: false
        }]
    );

    // Still image.
    let c = cfg(vec![InterfaceDescriptor::new(0, 6, 1, 1)]);
    assert_eq!(
        classify(&base, Some(&c)),
        vec![UsbRole::Scanner(ScannerMatch::StillImageClass)]
    );

    // A multi-function device: printer and still-image scanner, one role each.
    let c = cfg(vec![
        InterfaceDescriptor::new(0, 7, 1, 2),
        InterfaceDescriptor::new(1, 7, 1, 4),
        InterfaceDescriptor::new(2, 6, 1, 1),
    ]);
    let kinds: Vec<_> = classify(&base, Some(&c))
        .iter()
        .map(UsbRole::kind)
        .collect();
    assert_eq!(kinds, vec![DeviceKind::Printer, DeviceKind::Scanner]);

    // Device-level class code, no configuration read.
    let mut d = base.clone();
    d.class = 0x0b;
    assert_eq!(classify(&d, None)[0].kind(), DeviceKind::CardReader);

    // Known ids without a configuration; a neighbouring product id of the same vendor is not.
    assert_eq!(
        classify(&DeviceDescriptor::new(0x04c5, 0x132e), None)[0].kind(),
        DeviceKind::Scanner
    );
    assert!(classify(&DeviceDescriptor::new(0x04c5, 0x1670), None).is_empty());
    assert!(classify(&DeviceDescriptor::new(0x04a9, 0x27fa), None).is_empty());
}

#[test]
fn device_infos_and_ids() {
    let scanner = dev(&fixtures::FUJITSU_FI_7160, 3, &[1, 2]);
    assert_eq!(scanner.path(), "3-1.2");
    let id = scanner.id();
    assert_eq!(id.to_string(), "usb:3-1.2");
    assert_eq!(id.to_string().parse::<DeviceId>().unwrap(), id);
    let infos = scanner.device_infos();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].kind, DeviceKind::Scanner);
    assert_eq!(infos[0].id, id);
    assert_eq!(infos[0].name, "fi-7160");
    assert_eq!(infos[0].vendor.as_deref(), Some("FUJITSU"));
    assert_eq!(infos[0].serial.as_deref(), Some("A1B2C3D4"));
    assert!(scanner.to_string().contains("04c5:132e"), "{scanner}");

    // Without strings the table still names it.
    let bare = UsbDevice::from_descriptors(1, &[], fixtures::FUJITSU_FI_7160.device, None).unwrap();
    assert_eq!(bare.name(), "Fujitsu/PFU fi-7160");
    assert_eq!(bare.id().to_string(), "usb:usb1");
}

// ---------------------------------------------------------------- malformed input

fn protocol_err(r: buergerkoffer::Result<impl std::fmt::Debug>, what: &str) -> String {
    match r {
        Ok(v) => panic!("{what}: parsed as {v:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Protocol, "{what}: {e}");
            e.to_string()
        }
    }
}

#[test]
fn malformed_device_descriptors_are_protocol_errors() {
    let good = fixtures::CYBERJACK_RFID_STANDARD.device;
    let m = protocol_err(DeviceDescriptor::parse(&[]), "empty");
    assert!(m.contains("parse USB device descriptor"), "{m}");
    assert!(m.contains("truncated"), "{m}");
    let m = protocol_err(DeviceDescriptor::parse(&good[..17]), "17 bytes");
    assert!(m.contains("17 bytes"), "{m}");
    let mut wrong_type = good.to_vec();
    wrong_type[1] = 0x02;
    let m = protocol_err(DeviceDescriptor::parse(&wrong_type), "type 2");
    assert!(m.contains("bDescriptorType is 0x02"), "{m}");
    let mut short_len = good.to_vec();
    short_len[0] = 9;
    let m = protocol_err(DeviceDescriptor::parse(&short_len), "bLength 9");
    assert!(m.contains("bLength is 9"), "{m}");
}

#[test]
fn malformed_config_descriptors_are_protocol_errors() {
    let good = fixtures::CYBERJACK_RFID_STANDARD.config;

    let m = protocol_err(
        ConfigDescriptor::parse(&good[..good.len() - 1]),
        "one byte short",
    );
    assert!(
        m.contains("truncated: 92 bytes, the descriptor needs 93"),
        "{m}"
    );

    let mut bad_len = good.to_vec();
    bad_len[good.len() - 7] = 8; // last endpoint claims one byte more than is there
    let m = protocol_err(ConfigDescriptor::parse(&bad_len), "overlong endpoint");
    assert!(
        m.contains("at byte 86 declares 8 bytes, only 7 left"),
        "{m}"
    );

    let mut zero = good.to_vec();
    zero[9] = 0; // interface bLength 0
    let m = protocol_err(ConfigDescriptor::parse(&zero), "zero bLength");
    assert!(m.contains("at byte 9 has bLength 0"), "{m}");

    let mut short_iface = good.to_vec();
    short_iface[9] = 5; // interface descriptor of 5 bytes
    let m = protocol_err(ConfigDescriptor::parse(&short_iface), "short interface");
    assert!(m.contains("interface descriptor at byte 9"), "{m}");

    // Endpoint before any interface.
    let ep_first = [9, 2, 16, 0, 1, 1, 0, 0x80, 50, 7, 5, 0x81, 2, 64, 0, 0];
    let m = protocol_err(ConfigDescriptor::parse(&ep_first), "endpoint first");
    assert!(m.contains("before any interface"), "{m}");

    let mut total_short = good.to_vec();
    total_short[2] = 4; // wTotalLength below the header
    protocol_err(ConfigDescriptor::parse(&total_short), "wTotalLength 4");

    let m = protocol_err(
        ConfigDescriptor::parse(fixtures::FUJITSU_FI_7160.device),
        "device bytes as config",
    );
    assert!(m.contains("expected 0x02"), "{m}");
}

#[test]
fn errors_name_the_device_port() {
    let e = UsbDevice::from_descriptors(
        2,
        &[4, 1],
        fixtures::HP_LASERJET_IPP_USB.device,
        Some(&fixtures::HP_LASERJET_IPP_USB.config[..40]),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert_eq!(e.context().device(), "usb:2-4.1");
    assert_eq!(
        e.context().operation(),
        "parse USB configuration descriptor"
    );
}

/// Every truncation and many one-byte corruptions of every fixture parse to `Ok` or `Err`,
/// never panic; truncations inside the declared length are always `Err`.
#[test]
fn truncations_and_corruptions_never_panic() {
    let mut checked = 0usize;
    for f in fixtures::ALL {
        for n in 0..f.device.len() {
            assert!(
                DeviceDescriptor::parse(&f.device[..n]).is_err(),
                "{}: {n}-byte device descriptor parsed",
                f.name
            );
            checked += 1;
        }
        for n in 0..f.config.len() {
            assert!(
                ConfigDescriptor::parse(&f.config[..n]).is_err(),
                "{}: {n}-byte configuration parsed",
                f.name
            );
            checked += 1;
        }
        for bytes in [f.device, f.config] {
            for i in 0..bytes.len() {
                for v in [0x00, 0x01, 0x02, 0x04, 0x05, 0x07, 0x09, 0x21, 0x7f, 0xff] {
                    let mut m = bytes.to_vec();
                    m[i] = v;
                    let _ = DeviceDescriptor::parse(&m);
                    if let Ok(c) = ConfigDescriptor::parse(&m) {
                        // Whatever parses also classifies without panicking.
                        let d = DeviceDescriptor::new(0x04c5, 0x132e);
                        let _ = classify(&d, Some(&c));
                    }
                    let _ = InterfaceDescriptor::parse_extra(&m);
                    for n in [m.len() / 2, m.len().saturating_sub(1)] {
                        let _ = UsbDevice::from_descriptors(1, &[1], f.device, Some(&m[..n]));
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 3000, "only {checked} cases");
}

// ---------------------------------------------------------------- mock bus and hotplug

async fn next_event(s: &mut HotplugStream) -> Option<UsbEvent> {
    tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .expect("no hotplug event within 5 s")
}

#[tokio::test]
async fn mock_plug_unplug_events_arrive_in_order() {
    let bus = MockUsbBus::new();
    let mut events = bus.hotplug();
    let mut second = bus.clone().hotplug();

    let reader = dev(&fixtures::CYBERJACK_RFID_STANDARD, 1, &[1]);
    let scanner = dev(&fixtures::FUJITSU_FI_7160, 1, &[2]);
    let printer = dev(&fixtures::HP_LASERJET_IPP_USB, 2, &[1, 4]);

    bus.plug(reader.clone());
    bus.plug(scanner.clone());
    assert_eq!(bus.unplug(&reader.id()), Some(reader.clone()));
    bus.plug(printer.clone());
    assert_eq!(
        bus.unplug(&DeviceId::new(buergerkoffer::Backend::Usb, "9-9")),
        None
    );
    // Replugging into an occupied port first removes what was there.
    let other_scanner = dev(&fixtures::FUJITSU_FI_7160, 1, &[2]);
    bus.plug(other_scanner.clone());

    let expected = [
        UsbEvent::Arrived(reader.clone()),
        UsbEvent::Arrived(scanner.clone()),
        UsbEvent::Left(reader.clone()),
        UsbEvent::Arrived(printer.clone()),
        UsbEvent::Left(scanner.clone()),
        UsbEvent::Arrived(other_scanner.clone()),
    ];
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(
            next_event(&mut events).await.as_ref(),
            Some(want),
            "event {i}"
        );
        assert_eq!(
            next_event(&mut second).await.as_ref(),
            Some(want),
            "event {i} (2nd)"
        );
    }
    let now = bus.devices().await.unwrap();
    assert_eq!(now, vec![printer.clone(), other_scanner.clone()]);
    assert_eq!(
        bus.devices_of_kind(DeviceKind::Printer).await.unwrap(),
        vec![printer]
    );

    bus.unplug_all();
    assert!(matches!(
        next_event(&mut events).await,
        Some(UsbEvent::Left(_))
    ));
    assert!(matches!(
        next_event(&mut events).await,
        Some(UsbEvent::Left(_))
    ));
    assert!(bus.devices().await.unwrap().is_empty());

    // The stream ends once every handle to the bus is gone.
    drop(bus);
    assert_eq!(next_event(&mut events).await, None);
}

#[tokio::test]
async fn mock_lag_is_explicit() {
    let bus = MockUsbBus::new();
    let mut events = bus.hotplug();
    let reader = dev(&fixtures::CYBERJACK_RFID_STANDARD, 1, &[1]);
    for _ in 0..40 {
        bus.plug(reader.clone());
        bus.unplug(&reader.id());
    }
    // 80 events, buffer 64: the first item says 16 were missed.
    assert_eq!(
        next_event(&mut events).await,
        Some(UsbEvent::Lagged { missed: 16 })
    );
    assert_eq!(
        next_event(&mut events).await,
        Some(UsbEvent::Arrived(reader))
    );
}

#[tokio::test]
async fn with_devices_starts_plugged_without_events() {
    let reader = dev(&fixtures::CYBERJACK_RFID_STANDARD, 1, &[1]);
    let bus = MockUsbBus::with_devices([reader.clone()]);
    let mut events = bus.hotplug();
    assert_eq!(bus.devices().await.unwrap(), vec![reader]);
    assert!(
        tokio::time::timeout(Duration::from_millis(50), events.next())
            .await
            .is_err(),
        "no event for devices present from the start"
    );
}

// ---------------------------------------------------------------- kit

#[tokio::test]
async fn kit_reports_missing_scanner_until_one_is_plugged() {
    let bus = MockUsbBus::new();
    let kit = Kit::new().with_usb(bus.clone());
    let all = [
        DeviceKind::CardReader,
        DeviceKind::Scanner,
        DeviceKind::Printer,
    ];

    let e = kit
        .check_connected(&[DeviceKind::Scanner])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        e.to_string(),
        "usb: check connected devices: not found: no scanner connected"
    );
    assert_eq!(kit.missing_devices(&all).await.unwrap(), all.to_vec());

    bus.plug(dev(&fixtures::CYBERJACK_RFID_STANDARD, 1, &[1]));
    bus.plug(dev(&fixtures::HP_LASERJET_IPP_USB, 1, &[3]));
    // The Fujitsu radio is not a scanner.
    bus.plug(dev(&fixtures::FUJITSU_BLUETOOTH_RADIO, 1, &[4]));
    assert_eq!(
        kit.missing_devices(&all).await.unwrap(),
        vec![DeviceKind::Scanner]
    );
    let e = kit.check_connected(&all).await.unwrap_err();
    assert!(e.to_string().ends_with("no scanner connected"), "{e}");

    let scanner = dev(&fixtures::FUJITSU_FI_7160, 1, &[2]);
    bus.plug(scanner.clone());
    kit.check_connected(&all).await.unwrap();
    assert!(kit.missing_devices(&all).await.unwrap().is_empty());

    bus.unplug(&scanner.id());
    let e = kit
        .check_connected(&[DeviceKind::Scanner])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no scanner connected"), "{e}");
}

#[tokio::test]
async fn kit_names_every_missing_kind_once() {
    let kit = Kit::new().with_usb(MockUsbBus::new());
    let e = kit
        .check_connected(&[
            DeviceKind::Printer,
            DeviceKind::Scanner,
            DeviceKind::Printer,
        ])
        .await
        .unwrap_err();
    assert_eq!(
        e.context().detail(),
        Some("no printer connected, no scanner connected")
    );
}

#[tokio::test]
async fn kit_without_usb_bus_says_so() {
    let kit = Kit::new();
    assert!(kit.usb().is_none());
    let e = kit
        .missing_devices(&[DeviceKind::Scanner])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("Kit::with_usb"), "{e}");
    assert!(Kit::with_enabled_backends().usb().is_some());
}

// ---------------------------------------------------------------- the real bus

fn machine_has_usb() -> bool {
    std::path::Path::new("/dev/bus/usb").exists()
}

#[tokio::test]
async fn real_bus_enumerates_without_panicking() {
    let bus = RusbBus::new();
    let devices = bus
        .devices()
        .await
        .expect("listing the real USB bus must not fail");
    if !machine_has_usb() {
        assert!(
            devices.is_empty(),
            "no /dev/bus/usb but devices: {devices:?}"
        );
    }
    for d in &devices {
        // Whatever is there has a parseable id.
        assert_eq!(d.id().to_string().parse::<DeviceId>().unwrap(), d.id());
    }
    // The blocking form agrees, and the kit's check works on the real bus.
    assert_eq!(bus.devices_blocking().unwrap().len(), devices.len());
    let kit = Kit::new().with_usb(bus);
    let missing = kit.missing_devices(&[DeviceKind::Scanner]).await.unwrap();
    if devices.iter().all(|d| !d.is(DeviceKind::Scanner)) {
        assert_eq!(missing, vec![DeviceKind::Scanner]);
    }
}

#[tokio::test]
async fn real_bus_hotplug_stream_stops_when_dropped() {
    for bus in [
        RusbBus::new(),
        RusbBus::new()
            .polling_only()
            .with_poll_interval(Duration::from_millis(20)),
    ] {
        let mut events = bus.hotplug();
        if RusbBus::running_watchers() > 0 {
            // libusb initialised (it does even without /dev/bus/usb): a watcher thread runs.
            // Nothing is plugged during the test: no event within 200 ms.
            assert!(
                tokio::time::timeout(Duration::from_millis(200), events.next())
                    .await
                    .is_err(),
                "unexpected hotplug event"
            );
        } else {
            // libusb could not initialise: the stream ends at once instead of hanging or
            // panicking.
            assert!(
                !machine_has_usb(),
                "/dev/bus/usb exists but no watcher started"
            );
            assert_eq!(
                tokio::time::timeout(Duration::from_secs(5), events.next())
                    .await
                    .expect("stream without USB must end"),
                None
            );
        }
        drop(events);
    }
    // Every watcher thread ends soon after its stream is dropped (tests in this binary
    // that start real watchers are only this one).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while RusbBus::running_watchers() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} watcher thread(s) still running 5 s after their streams were dropped",
            RusbBus::running_watchers()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
