//! MockKit through `Kit`: discovery, opening by id, handles that share state with the test's
//! handles (faults injected after opening reach the code under test), plug/unplug events.

use buergerkoffer::card::{CommandApdu, ReaderEvent, ShareMode};
use buergerkoffer::mock::{MockKit, MockPrinter, MockReader, MockScanner};
use buergerkoffer::print::{Document, PrintOptions};
use buergerkoffer::scan::{ScanRequest, Source};
use buergerkoffer::{Backend, DeviceEvent, DeviceId, DeviceKind, ErrorKind, Kit};
use futures_util::StreamExt;

static_assertions::assert_impl_all!(MockKit: Send, Sync, Clone, std::fmt::Debug);

#[tokio::test]
async fn standard_kit_lists_and_opens_its_devices() {
    let mock = MockKit::standard();
    let kit = Kit::new().with_provider(mock.clone());
    let found = kit.discover().await;
    assert!(found.failures.is_empty());
    let ids: Vec<String> = found.devices.iter().map(|d| d.id.to_string()).collect();
    assert_eq!(ids, ["mock:reader", "mock:scanner", "mock:printer"]);
    assert_eq!(found.of_kind(DeviceKind::Scanner).count(), 1);
    assert!(found
        .devices
        .iter()
        .all(|d| d.id.backend() == &Backend::Mock));

    let reader = kit.open_reader(&DeviceId::mock("reader")).await.unwrap();
    assert!(reader.status().await.unwrap().card_present());
    assert!(reader.features().await.unwrap().has_pace());
    let mut card = reader.connect(ShareMode::Shared).await.unwrap();
    let r = card
        .transmit(&CommandApdu::new(0x00, 0xA4, 0x04, 0x0C))
        .await
        .unwrap();
    assert!(r.is_success());

    let scanner = kit.open_scanner(&DeviceId::mock("scanner")).await.unwrap();
    let adf = ScanRequest::new().resolution(50).source(Source::Adf);
    assert_eq!(
        scanner
            .scan(&adf)
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap()
            .len(),
        10
    );
    let flat = ScanRequest::new().resolution(50);
    assert_eq!(
        scanner
            .scan(&flat)
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap()
            .len(),
        1
    );

    let printer = kit.open_printer(&DeviceId::mock("printer")).await.unwrap();
    printer
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap();
    assert_eq!(mock.printer("printer").unwrap().documents().len(), 1);

    // Wrong kind or unknown id.
    let e = kit
        .open_scanner(&DeviceId::mock("printer"))
        .await
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = kit
        .open_reader(&DeviceId::mock("nope"))
        .await
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn faults_injected_after_opening_reach_the_opened_device() {
    let mock = MockKit::standard();
    let kit = Kit::new().with_provider(mock.clone());
    let scanner = kit
        .open_scanner(&"mock:scanner".parse().unwrap())
        .await
        .unwrap();
    mock.scanner("mock:scanner")
        .unwrap()
        .fail_at(3, ErrorKind::PaperJam);
    let mut pages = scanner
        .scan(&ScanRequest::new().resolution(50).source(Source::Adf))
        .await
        .unwrap();
    let mut got = 0;
    let err = loop {
        match pages.next_page().await {
            Some(Ok(_)) => got += 1,
            Some(Err(e)) => break e,
            None => panic!("the jam was not injected"),
        }
    };
    assert_eq!(got, 2);
    assert_eq!(err.kind(), ErrorKind::PaperJam);

    let reader = kit.open_reader(&DeviceId::mock("reader")).await.unwrap();
    let mut events = reader.events();
    mock.reader("reader").unwrap().remove_card();
    assert_eq!(events.next().await, Some(ReaderEvent::CardRemoved));
    assert_eq!(
        reader
            .connect(ShareMode::Shared)
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );

    let printer = kit.open_printer(&DeviceId::mock("printer")).await.unwrap();
    mock.printer("printer")
        .unwrap()
        .fail_next_print(ErrorKind::MediaEmpty);
    let e = printer
        .print(Document::pdf(&b"%PDF"[..]), &PrintOptions::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MediaEmpty);
}

#[tokio::test]
async fn plug_and_unplug_at_run_time() {
    let mock = MockKit::new();
    let kit = Kit::new().with_provider(mock.clone());
    let mut events = kit.events();
    assert!(kit.discover().await.devices.is_empty());

    mock.plug_scanner(MockScanner::new("s2"));
    mock.plug_printer(MockPrinter::new("p2"));
    let reader = MockReader::new("r2");
    mock.plug_reader(reader.clone());
    for want in ["mock:s2", "mock:p2", "mock:r2"] {
        match events.next().await {
            Some(DeviceEvent::Added(info)) => assert_eq!(info.id.to_string(), want),
            other => panic!("expected Added({want}), got {other:?}"),
        }
    }
    assert_eq!(kit.discover().await.devices.len(), 3);

    let opened = kit.open_reader(&DeviceId::mock("r2")).await.unwrap();
    let mut reader_events = opened.events();
    let scanner = kit.open_scanner(&DeviceId::mock("s2")).await.unwrap();
    assert!(mock.unplug("r2"));
    assert!(mock.unplug("mock:s2"));
    assert!(!mock.unplug("mock:s2"));
    assert_eq!(
        events.next().await,
        Some(DeviceEvent::Removed(DeviceId::mock("r2")))
    );
    assert_eq!(
        events.next().await,
        Some(DeviceEvent::Removed(DeviceId::mock("s2")))
    );
    assert_eq!(reader_events.next().await, Some(ReaderEvent::ReaderRemoved));
    assert_eq!(
        opened.status().await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    assert_eq!(
        scanner
            .scan(&ScanRequest::new().resolution(50))
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::DeviceGone)
    );
    assert_eq!(kit.discover().await.devices.len(), 1);
    assert_eq!(
        kit.open_scanner(&DeviceId::mock("s2"))
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
    // Plugging it back in makes it usable again.
    mock.plug_reader(reader);
    assert!(opened.status().await.is_ok());
}

#[tokio::test]
async fn the_kit_reports_lag_explicitly() {
    let mock = MockKit::new();
    let mut events = Kit::new().with_provider(mock.clone()).events();
    for i in 0..100 {
        mock.plug_scanner(MockScanner::new(&format!("s{i}")));
    }
    assert!(matches!(events.next().await, Some(DeviceEvent::Lagged { missed }) if missed > 0));
}
