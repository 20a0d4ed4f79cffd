//! Every mock card/reader fault through `dyn CardReader` / `dyn Card`.

use std::time::Duration;

use buergerkoffer::card::{
    CommandApdu, Disposition, ReaderEvent, ResponseApdu, ShareMode, StatusWord,
};
use buergerkoffer::mock::{
    Action, MockCard, MockKit, MockReader, Step, FEATURE_EXECUTE_PACE, FEATURE_VERIFY_PIN_DIRECT,
};
use buergerkoffer::{CardReader, DeviceId, ErrorKind, Kit};
use futures_util::StreamExt;

static_assertions::assert_impl_all!(MockReader: Send, Sync, Clone);
static_assertions::assert_impl_all!(MockCard: Send, Sync, Clone);

const SELECT_CA: [u8; 7] = [0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C];

fn atr() -> buergerkoffer::card::Atr {
    buergerkoffer::mock::MOCK_CARD_ATR.parse().unwrap()
}

fn select() -> CommandApdu {
    CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(vec![0x01, 0x1C])
}

async fn reader_with(card: MockCard) -> (MockReader, Box<dyn CardReader>) {
    let kit = MockKit::new().with_reader(MockReader::new("r"));
    let handle = kit.reader("r").unwrap();
    handle.insert(card);
    let opened = Kit::new()
        .with_provider(kit)
        .open_reader(&DeviceId::mock("r"))
        .await
        .unwrap();
    (handle, opened)
}

#[tokio::test]
async fn scripted_exchange_and_chaining_through_the_default_transmit() {
    let card = MockCard::new(atr())
        .expect(Step::exchange(SELECT_CA, [0x90, 0x00]))
        // READ BINARY: card says "6C 04" (wrong Le), then 2 bytes + "61 02", then the rest.
        .expect(Step::exchange([0x00, 0xB0, 0x00, 0x00, 0x10], [0x6C, 0x04]))
        .expect(Step::exchange(
            [0x00, 0xB0, 0x00, 0x00, 0x04],
            [0x31, 0x14, 0x61, 0x02],
        ))
        .expect(Step::exchange(
            [0x00, 0xC0, 0x00, 0x00, 0x02],
            [0x30, 0x12, 0x90, 0x00],
        ));
    let (_r, reader) = reader_with(card.clone()).await;
    let status = reader.status().await.unwrap();
    assert_eq!(status.atr, Some(atr()));
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    assert!(conn.transmit(&select()).await.unwrap().is_success());
    let resp = conn
        .transmit(&CommandApdu::new(0, 0xB0, 0, 0).with_le(16))
        .await
        .unwrap();
    assert_eq!(resp.data(), &[0x31, 0x14, 0x30, 0x12]);
    assert_eq!(card.transmitted(), 4);
    card.done().unwrap();
}

#[tokio::test]
async fn wrong_command_is_returned_and_reported_without_pin_data() {
    let card = MockCard::new(atr()).expect(Step::exchange(SELECT_CA, [0x90, 0x00]));
    let (_r, reader) = reader_with(card.clone()).await;
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let verify = CommandApdu::new(0x00, 0x20, 0x00, 0x03).with_data(b"123456".to_vec());
    let e = conn.transmit(&verify).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let report = card.done().unwrap_err().to_string();
    assert!(report.contains("00 20 00 03"), "{report}");
    assert!(
        !report.contains("31 32 33") && !e.to_string().contains("31 32 33"),
        "PIN leaked: {report}"
    );
}

#[tokio::test]
async fn unused_steps_are_reported_and_drop_without_done_panics() {
    let card = MockCard::new(atr()).expect(Step::exchange(SELECT_CA, [0x90, 0x00]));
    let report = card.done().unwrap_err().to_string();
    assert!(report.contains("never ran"), "{report}");
    let dropped = std::panic::catch_unwind(|| {
        let _c = MockCard::new(atr()).expect(Step::exchange(SELECT_CA, [0x90, 0x00]));
    });
    assert!(dropped.is_err());
}

#[tokio::test]
async fn injected_failures_inside_a_transaction_are_returned() {
    let card = MockCard::new(atr())
        .expect(Step::exchange(SELECT_CA, [0x90, 0x00]))
        .expect(Step::any(Action::Fail(ErrorKind::Timeout)));
    let (_r, reader) = reader_with(card.clone()).await;
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    assert!(card.in_transaction());
    assert!(tx.transmit(&select()).await.unwrap().is_success());
    let e = tx.transmit(&select()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    tx.end(Disposition::Leave).await.unwrap();
    assert!(!card.in_transaction());
    // Dropping a guard without end() releases the lock too.
    let tx = conn.begin().await.unwrap();
    drop(tx);
    assert!(!card.in_transaction());
    card.done().unwrap();
}

#[tokio::test]
async fn card_removed_during_transmit() {
    let card = MockCard::new(atr()).expect(Step::any(Action::RemoveCard));
    let (_r, reader) = reader_with(card.clone()).await;
    let mut events = reader.events();
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let e = conn.transmit(&select()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardRemoved);
    assert_eq!(events.next().await, Some(ReaderEvent::CardRemoved));
    assert!(!reader.status().await.unwrap().card_present());
    // Later calls on the old connection keep saying so.
    assert_eq!(
        conn.transmit(&select()).await.unwrap_err().kind(),
        ErrorKind::CardRemoved
    );
    assert_eq!(
        reader.connect(ShareMode::Shared).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    card.done().unwrap();
}

#[tokio::test(start_paused = true)]
async fn card_pulled_during_a_slow_command_and_hangs() {
    let card = MockCard::new(atr())
        .expect(Step::exchange(SELECT_CA, [0x90, 0x00]).after(Duration::from_secs(5)))
        .expect(Step::any(Action::Hang));
    let (handle, reader) = reader_with(card.clone()).await;
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let slow = tokio::spawn(async move {
        let r = conn.transmit(&select()).await;
        (conn, r)
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    handle.remove();
    let (mut conn, r) = slow.await.unwrap();
    assert_eq!(r.unwrap_err().kind(), ErrorKind::CardRemoved);
    // Re-insert: a new connection reaches the hanging step; the caller's timeout fires.
    handle.insert(card.clone());
    assert_eq!(
        conn.transmit(&select()).await.unwrap_err().kind(),
        ErrorKind::CardRemoved
    );
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let t = tokio::time::timeout(Duration::from_secs(30), conn.transmit(&select())).await;
    assert!(t.is_err());
    card.done().unwrap();
}

#[tokio::test]
async fn insert_remove_unplug_events_and_device_gone() {
    let (handle, reader) = reader_with(MockCard::new(atr())).await;
    let mut events = reader.events();
    handle.remove();
    handle.insert(MockCard::new(atr()));
    handle.unplug();
    assert_eq!(events.next().await, Some(ReaderEvent::CardRemoved));
    assert_eq!(events.next().await, Some(ReaderEvent::CardInserted(atr())));
    assert_eq!(events.next().await, Some(ReaderEvent::ReaderRemoved));
    assert_eq!(events.next().await, None, "stream ends after ReaderRemoved");
    assert_eq!(
        reader.status().await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    assert_eq!(
        reader.connect(ShareMode::Shared).await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
}

#[tokio::test]
async fn slow_subscriber_gets_an_explicit_lag() {
    let (handle, reader) = reader_with(MockCard::new(atr())).await;
    let mut events = reader.events();
    for _ in 0..100 {
        handle.remove();
        handle.insert(MockCard::new(atr()));
    }
    assert!(matches!(events.next().await, Some(ReaderEvent::Lagged { missed }) if missed > 0));
}

#[tokio::test]
async fn exclusive_connection_makes_others_busy() {
    let (_h, reader) = reader_with(MockCard::new(atr())).await;
    let excl = reader.connect(ShareMode::Exclusive).await.unwrap();
    assert_eq!(
        reader.connect(ShareMode::Shared).await.unwrap_err().kind(),
        ErrorKind::Busy
    );
    excl.disconnect(Disposition::Leave).await.unwrap();
    assert!(reader.connect(ShareMode::Shared).await.is_ok());
}

#[tokio::test]
async fn closure_responder_and_reader_features() {
    let card = MockCard::new(atr())
        .respond_with(|cmd| match cmd.ins {
            0xA4 => ResponseApdu::new(vec![], StatusWord::OK),
            _ => ResponseApdu::new(vec![], StatusWord(0x6D00)),
        })
        .with_reader_features(vec![
            (FEATURE_VERIFY_PIN_DIRECT, 0x4234_0006),
            (FEATURE_EXECUTE_PACE, 0x4234_0020),
        ]);
    let (_h, reader) = reader_with(card).await;
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    assert!(conn.transmit(&select()).await.unwrap().is_success());
    let r = conn
        .transmit(&CommandApdu::new(0, 0xCA, 0, 0).with_le(256))
        .await
        .unwrap();
    assert_eq!(r.sw(), StatusWord(0x6D00));
    let f = reader.features().await.unwrap();
    assert!(f.has_pin_pad() && f.has_pace());
    assert_eq!(f.verify_pin_direct, Some(0x4234_0006));
}

#[tokio::test]
async fn malformed_command_is_a_protocol_error() {
    let (_h, reader) = reader_with(
        MockCard::new(atr()).respond_with(|_| ResponseApdu::new(vec![], StatusWord::OK)),
    )
    .await;
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let e = conn
        .transmit_raw(&[0x00, 0xA4, 0x02, 0x0C, 0x09, 0x01])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
}
