//! Devices that survive a replug, on the mock kit and the mock USB bus: a stable handle stays
//! the same device while it is unplugged and plugged back in (under another name), calls in
//! between fail at once with `DeviceGone`, and the presence stream says gone and back.

use std::time::Duration;

use buergerkoffer::card::ReaderEvent;
use buergerkoffer::kit::{DeviceIdentity, Presence};
use buergerkoffer::mock::{MockCard, MockKit, MockReader, MockScanner};
use buergerkoffer::scan::{ScanRequest, Source};
use buergerkoffer::{CardReader, DeviceId, DeviceKind, ErrorKind, Kit, Scanner};
use futures_util::StreamExt;

/// Fails the test instead of hanging: every stable call must end quickly.
async fn quick<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("a call on a stable handle hung")
}

fn kit_with_scanner(name: &str) -> (MockKit, Kit) {
    let mock = MockKit::new().with_scanner(MockScanner::with_identity(name, "fi-7160", "A1B2C3D4"));
    let kit = Kit::new().with_provider(mock.clone());
    (mock, kit)
}

async fn scanner_info(kit: &Kit) -> buergerkoffer::DeviceInfo {
    kit.discover()
        .await
        .of_kind(DeviceKind::Scanner)
        .next()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_renamed_scanner_is_the_same_scanner_and_gone_in_between() {
    let (mock, kit) = kit_with_scanner("libusb:001:007");
    let info = scanner_info(&kit).await;
    let scanner = kit.stable_scanner(&info);
    assert_eq!(scanner.current_id(), None, "opened lazily");
    quick(scanner.capabilities()).await.unwrap();
    assert_eq!(scanner.current_id(), Some(DeviceId::mock("libusb:001:007")));
    let mut presence = scanner.presence();

    assert!(mock.unplug("libusb:001:007"));
    let e = quick(scanner.capabilities()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeviceGone, "{e}");
    assert_eq!(scanner.current_id(), None);
    // Still gone: looked up again, not found, DeviceGone at once (not a hang).
    let e = quick(scanner.scan(&ScanRequest::new().resolution(50)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeviceGone);
    assert!(e.to_string().contains("not connected"), "{e}");
    assert_eq!(
        quick(presence.next()).await,
        Some(Presence::Gone {
            last: DeviceId::mock("libusb:001:007")
        })
    );

    // Another scanner of the same model, but another serial: not ours.
    mock.plug_scanner(MockScanner::with_identity(
        "libusb:001:008",
        "fi-7160",
        "ZZZZ",
    ));
    assert_eq!(
        quick(scanner.capabilities()).await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );

    // Ours, back under the new USB address.
    mock.plug_scanner(MockScanner::with_identity(
        "libusb:001:009",
        "fi-7160",
        "A1B2C3D4",
    ));
    match quick(presence.next()).await {
        Some(Presence::Back(info)) => assert_eq!(info.id, DeviceId::mock("libusb:001:009")),
        other => panic!("expected Back, got {other:?}"),
    }
    let mut pages = quick(
        scanner.scan(
            &ScanRequest::new()
                .resolution(50)
                .source(Source::Adf)
                .max_pages(2),
        ),
    )
    .await
    .unwrap();
    assert!(quick(pages.next_page()).await.unwrap().is_ok());
    assert_eq!(scanner.current_id(), Some(DeviceId::mock("libusb:001:009")));
    assert_eq!(
        scanner.info().id,
        DeviceId::mock("libusb:001:007"),
        "info is the first choice"
    );
    assert_eq!(scanner.identity().serial.as_deref(), Some("A1B2C3D4"));
}

#[tokio::test]
async fn a_scanner_pulled_during_a_job_is_looked_up_again_on_next_use() {
    let (mock, kit) = kit_with_scanner("s1");
    let scanner = kit.stable_scanner(&scanner_info(&kit).await);
    let req = ScanRequest::new()
        .resolution(50)
        .source(Source::Adf)
        .max_pages(3);
    let mut pages = quick(scanner.scan(&req)).await.unwrap();
    assert!(quick(pages.next_page()).await.unwrap().is_ok());
    let pulled = mock.scanner("s1").unwrap();
    mock.unplug("s1");
    let e = quick(pages.next_page()).await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeviceGone);
    drop(pages);
    assert_eq!(
        scanner.current_id(),
        None,
        "the failed page let go of the device"
    );
    mock.plug_scanner(pulled);
    let pages = quick(scanner.scan(&req)).await.unwrap();
    assert_eq!(quick(pages.collect_all()).await.unwrap().len(), 3);
}

#[tokio::test]
async fn identical_scanners_without_serials_are_told_apart_only_by_their_old_id() {
    let mock = MockKit::new()
        .with_scanner(MockScanner::with_identity("a", "Noname", ""))
        .with_scanner(MockScanner::with_identity("b", "Noname", ""));
    let kit = Kit::new().with_provider(mock.clone());
    let a = kit.discover().await.devices[0].clone();
    let identity = DeviceIdentity::of(&a);
    assert_eq!(kit.resolve(&identity, Some(&a.id)).await.unwrap().id, a.id);
    let e = kit.resolve(&identity, None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DeviceGone);
    assert!(
        e.to_string().contains("2 connected devices look the same"),
        "{e}"
    );
}

#[tokio::test]
async fn a_replugged_reader_is_back_with_its_card() {
    let reader = MockReader::new("reader").with_card(MockCard::eid());
    let mock = MockKit::new().with_reader(reader.clone());
    let kit = Kit::new().with_provider(mock.clone());
    let info = kit.discover().await.devices[0].clone();
    let stable = kit.stable_reader(&info);
    assert!(quick(stable.status()).await.unwrap().card_present());
    let mut events = stable.events();
    let mut presence = stable.presence();

    mock.unplug("reader");
    assert_eq!(quick(events.next()).await, Some(ReaderEvent::ReaderRemoved));
    assert_eq!(
        quick(events.next()).await,
        None,
        "the stream ends after ReaderRemoved"
    );
    assert_eq!(
        quick(stable.status()).await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    assert_eq!(
        quick(stable.connect(buergerkoffer::card::ShareMode::Shared))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::DeviceGone
    );
    assert!(matches!(
        quick(presence.next()).await,
        Some(Presence::Gone { .. })
    ));

    mock.plug_reader(reader);
    assert!(matches!(quick(presence.next()).await, Some(Presence::Back(i)) if i.id == info.id));
    let st = quick(stable.status()).await.unwrap();
    assert_eq!(st.atr.unwrap().as_bytes(), MockCard::EID_ATR);
    // The new handle's events work again.
    let mut events = stable.events();
    mock.reader("reader").unwrap().remove_card();
    assert_eq!(quick(events.next()).await, Some(ReaderEvent::CardRemoved));
}

#[cfg(feature = "usb")]
#[tokio::test]
async fn a_usb_device_moved_to_another_port_is_found_by_its_identity() {
    use buergerkoffer::usb::{fixtures, MockUsbBus};
    let bus = MockUsbBus::new();
    bus.plug(fixtures::FUJITSU_FI_7160.device_at(1, &[2]).unwrap());
    bus.plug(
        fixtures::CYBERJACK_RFID_STANDARD
            .device_at(1, &[3])
            .unwrap(),
    );
    let kit = Kit::new().with_usb(bus.clone());
    let info = bus.snapshot()[0].device_infos()[0].clone();
    assert_eq!(info.id.to_string(), "usb:1-2");
    let identity = DeviceIdentity::of(&info);
    assert_eq!(identity.serial.as_deref(), Some("A1B2C3D4"));
    let mut presence = kit.presence(&info);

    let moved = bus.unplug(&info.id).unwrap();
    assert_eq!(
        quick(presence.next()).await,
        Some(Presence::Gone {
            last: info.id.clone()
        })
    );
    assert_eq!(
        kit.resolve(&identity, None).await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    let mut at_5 = moved.clone();
    at_5.ports = vec![5];
    bus.plug(at_5);
    match quick(presence.next()).await {
        Some(Presence::Back(i)) => assert_eq!(i.id.to_string(), "usb:1-5"),
        other => panic!("expected Back, got {other:?}"),
    }
    assert_eq!(
        kit.resolve(&identity, Some(&info.id))
            .await
            .unwrap()
            .id
            .to_string(),
        "usb:1-5"
    );
    // The reader on the bus has another identity.
    let reader = bus.snapshot()[0].device_infos()[0].clone();
    assert_ne!(DeviceIdentity::of(&reader), identity);
}
