//! MockReader / MockCard through `dyn CardReader` / `dyn Card`: scripted APDUs, responders,
//! card insertion and removal, reader removal, removal during transmit, injected failures
//! (also inside a transaction), delays and hangs on a paused clock — ended, as on a real
//! reader, by pulling the card (`CardRemoved`) or unplugging the reader (`DeviceGone`) — the
//! PC/SC part 10 feature list, and expectations checked by `done()`.

use std::time::Duration;

use buergerkoffer::card::{
    CommandApdu, Disposition, ReaderEvent, ResponseApdu, ShareMode, StatusWord,
};
use buergerkoffer::mock::{
    ApduStep, MockCard, MockReader, FEATURE_EXECUTE_PACE, FEATURE_VERIFY_PIN_DIRECT,
    GET_FEATURE_REQUEST,
};
use buergerkoffer::{CardReader, ErrorKind};
use futures_util::StreamExt;

static_assertions::assert_impl_all!(MockReader: Send, Sync, Clone, std::fmt::Debug);
static_assertions::assert_impl_all!(MockCard: Send, Sync, Clone, std::fmt::Debug);
static_assertions::assert_impl_all!(ApduStep: Send, Sync, Clone, std::fmt::Debug);

const SELECT: [u8; 4] = [0x00, 0xA4, 0x04, 0x0C];
const OK: [u8; 2] = [0x90, 0x00];

fn select() -> CommandApdu {
    CommandApdu::new(0x00, 0xA4, 0x04, 0x0C)
}

fn reader_with(card: &MockCard) -> Box<dyn CardReader> {
    Box::new(MockReader::new("r").with_card(card.clone()))
}

#[tokio::test]
async fn scripted_exchange_and_done() {
    let card = MockCard::eid();
    let read = CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(4);
    card.expect([
        ApduStep::new(SELECT, OK),
        ApduStep::apdu(
            &read,
            &ResponseApdu::new(vec![1, 2, 3, 4], StatusWord(0x9000)),
        )
        .unwrap(),
    ]);
    let reader = reader_with(&card);
    let st = reader.status().await.unwrap();
    assert!(st.card_present());
    assert_eq!(st.atr.unwrap().as_bytes(), MockCard::EID_ATR);
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    assert_eq!(conn.atr().as_bytes(), MockCard::EID_ATR);
    assert!(conn.transmit(&select()).await.unwrap().is_success());
    assert_eq!(conn.transmit(&read).await.unwrap().data(), &[1, 2, 3, 4]);
    card.done().unwrap();
    // After the script the card's responder answers.
    let r = conn
        .transmit(&CommandApdu::new(0x00, 0x84, 0, 0).with_le(8))
        .await
        .unwrap();
    assert_eq!(r.data().len(), 8);
    assert_eq!(card.transmits(), 3);
    conn.disconnect(Disposition::Leave).await.unwrap();
}

#[tokio::test]
async fn get_response_chaining_goes_through_the_script() {
    let card = MockCard::new("3B 80 80 01 01".parse().unwrap());
    card.expect([
        ApduStep::new([0x00, 0xB0, 0x00, 0x00, 0x00], [0xAA, 0x61, 0x02]),
        ApduStep::new([0x00, 0xC0, 0x00, 0x00, 0x02], [0xBB, 0xCC, 0x90, 0x00]),
    ]);
    let reader = reader_with(&card);
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let r = conn
        .transmit(&CommandApdu::new(0x00, 0xB0, 0, 0).with_le(256))
        .await
        .unwrap();
    assert_eq!(r.data(), &[0xAA, 0xBB, 0xCC]);
    card.done().unwrap();
}

#[tokio::test]
async fn done_reports_wrong_unexpected_and_unused_commands() {
    let card = MockCard::new("3B 80 80 01 01".parse().unwrap());
    card.expect([
        ApduStep::new(SELECT, OK),
        ApduStep::new([0x00, 0xB0, 0, 0, 0], OK),
    ]);
    let reader = reader_with(&card);
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    // Wrong command: refused and reported.
    let e = conn
        .transmit_raw(&[0x00, 0xA4, 0x00, 0x0C].into())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = card.done().unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("00 A4 00 0C") && msg.contains("00 A4 04 0C"),
        "{msg}"
    );
    assert!(msg.contains("never made"), "{msg}");

    // Unexpected command after the script is used up.
    card.expect([ApduStep::new(SELECT, OK)]);
    conn.transmit_raw(&SELECT.into()).await.unwrap();
    assert_eq!(
        conn.transmit_raw(&SELECT.into()).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert!(card.done().unwrap_err().to_string().contains("unexpected"));
}

#[tokio::test]
async fn secret_command_data_never_appears_in_errors() {
    let card = MockCard::new("3B 80 80 01 01".parse().unwrap());
    card.expect([ApduStep::new(SELECT, OK)]);
    let reader = reader_with(&card);
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    // VERIFY with PIN 123456 where SELECT was expected.
    let verify = CommandApdu::new(0x00, 0x20, 0x00, 0x03).with_data(b"123456".to_vec());
    let e = conn.transmit(&verify).await.unwrap_err();
    let msg = format!("{e} {:?} {}", e, card.done().unwrap_err());
    assert!(!msg.contains("31 32 33"), "PIN leaked: {msg}");
    assert!(msg.contains("hidden"), "{msg}");
    let step = ApduStep::new(verify.to_bytes().unwrap(), OK);
    let dbg = format!("{step:?}");
    assert!(!dbg.contains("31 32 33") && dbg.contains("hidden"), "{dbg}");
}

#[tokio::test]
async fn free_running_card_answers_ins_not_supported() {
    let card = MockCard::new("3B 80 80 01 01".parse().unwrap());
    let reader = reader_with(&card);
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let r = conn.transmit(&select()).await.unwrap();
    assert_eq!(r.sw(), StatusWord(0x6D00));
    card.done().unwrap();
}

#[tokio::test]
async fn injected_step_failures_are_returned() {
    for kind in [
        ErrorKind::Timeout,
        ErrorKind::Backend,
        ErrorKind::DeviceGone,
        ErrorKind::Protocol,
    ] {
        let card = MockCard::eid();
        card.expect([ApduStep::fail(SELECT, kind)]);
        let reader = reader_with(&card);
        let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
        let e = conn.transmit(&select()).await.unwrap_err();
        assert_eq!(e.kind(), kind);
        assert!(e.to_string().contains("mock:r: transmit"), "{e}");
        card.done().unwrap();
    }
}

#[tokio::test]
async fn removal_during_transmit_is_card_removed() {
    let card = MockCard::eid();
    card.expect([ApduStep::new(SELECT, OK), ApduStep::remove_card(SELECT)]);
    let mock = MockReader::new("r").with_card(card.clone());
    let reader: Box<dyn CardReader> = Box::new(mock.clone());
    let mut events = reader.events();
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    assert!(conn.transmit(&select()).await.is_ok());
    let e = conn.transmit(&select()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardRemoved);
    assert_eq!(events.next().await, Some(ReaderEvent::CardRemoved));
    assert!(!reader.status().await.unwrap().card_present());
    // The connection stays dead, even for a new card.
    assert_eq!(
        conn.transmit(&select()).await.unwrap_err().kind(),
        ErrorKind::CardRemoved
    );
    mock.insert(MockCard::eid());
    assert_eq!(
        conn.transmit(&select()).await.unwrap_err().kind(),
        ErrorKind::CardRemoved
    );
    // Until it reconnects.
    conn.reconnect(ShareMode::Shared, Disposition::Reset)
        .await
        .unwrap();
    assert!(conn.transmit(&select()).await.unwrap().is_success());
    card.done().unwrap();
}

#[tokio::test(start_paused = true)]
async fn card_pulled_while_a_slow_command_runs() {
    let card = MockCard::eid();
    card.expect([ApduStep::new(SELECT, OK).with_delay(Duration::from_secs(5))]);
    let mock = MockReader::new("r").with_card(card.clone());
    let reader: Box<dyn CardReader> = Box::new(mock.clone());
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let puller = tokio::spawn({
        let mock = mock.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            mock.remove_card();
        }
    });
    let e = conn.transmit(&select()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardRemoved);
    puller.await.unwrap();
    card.done().unwrap();
}

#[tokio::test(start_paused = true)]
async fn delays_and_hangs_use_tokio_time() {
    let card = MockCard::eid();
    card.expect([
        ApduStep::new(SELECT, OK).with_delay(Duration::from_millis(1500)),
        ApduStep::hang(SELECT),
    ]);
    let reader = reader_with(&card);
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let t = tokio::time::Instant::now();
    assert!(conn.transmit(&select()).await.unwrap().is_success());
    assert_eq!(t.elapsed(), Duration::from_millis(1500));
    let r = tokio::time::timeout(Duration::from_secs(30), conn.transmit(&select())).await;
    assert!(r.is_err(), "the hanging step must not answer");
    card.done().unwrap();
}

/// What ends a pending transmit in [`pending_transmits_end_like_a_real_reader`].
#[derive(Clone, Copy, Debug)]
enum Pull {
    Card,
    Reader,
}

#[tokio::test(start_paused = true)]
async fn pending_transmits_end_like_a_real_reader() {
    // A hang and a slow step, ended after 2 s by pulling the card or unplugging the reader:
    // the transmit fails at once with the kind the PC/SC backend reports.
    for (step, pull, kind) in [
        (ApduStep::hang(SELECT), Pull::Card, ErrorKind::CardRemoved),
        (ApduStep::hang(SELECT), Pull::Reader, ErrorKind::DeviceGone),
        (
            ApduStep::new(SELECT, OK).with_delay(Duration::from_secs(3600)),
            Pull::Card,
            ErrorKind::CardRemoved,
        ),
        (
            ApduStep::new(SELECT, OK).with_delay(Duration::from_secs(3600)),
            Pull::Reader,
            ErrorKind::DeviceGone,
        ),
    ] {
        let what = format!("{step:?} ended by {pull:?}");
        let card = MockCard::eid();
        card.expect([step]);
        let mock = MockReader::new("r").with_card(card.clone());
        let reader: Box<dyn CardReader> = Box::new(mock.clone());
        let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
        let puller = tokio::spawn({
            let mock = mock.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(2)).await;
                match pull {
                    Pull::Card => drop(mock.remove_card()),
                    Pull::Reader => mock.unplug(),
                }
            }
        });
        let t = tokio::time::Instant::now();
        let r = tokio::time::timeout(Duration::from_secs(600), conn.transmit(&select())).await;
        let e = r
            .unwrap_or_else(|_| panic!("{what}: still pending after 600 s"))
            .unwrap_err();
        assert_eq!(e.kind(), kind, "{what}: {e}");
        assert_eq!(t.elapsed(), Duration::from_secs(2), "{what}");
        assert!(e.to_string().contains("mock:r: transmit"), "{what}: {e}");
        assert!(e.to_string().contains("during the command"), "{what}: {e}");
        puller.await.unwrap();
        // The step was used; the connection stays dead.
        card.done().unwrap();
        assert_eq!(
            conn.transmit(&select()).await.unwrap_err().kind(),
            kind,
            "{what}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_hang_survives_other_readers_and_a_replug_of_nothing() {
    // Changes that leave this connection's card in place do not end its hang: a card put
    // into another reader, and a replug of a reader that was never unplugged.
    let card = MockCard::eid();
    card.expect([ApduStep::hang(SELECT)]);
    let mock = MockReader::new("r").with_card(card.clone());
    let other = MockReader::new("other");
    let mut conn = mock.connect(ShareMode::Shared).await.unwrap();
    let churn = tokio::spawn({
        let (mock, other) = (mock.clone(), other.clone());
        async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            other.insert(MockCard::eid());
            mock.replug();
            tokio::time::sleep(Duration::from_secs(1)).await;
            other.remove_card();
        }
    });
    let r = tokio::time::timeout(Duration::from_secs(60), conn.transmit(&select())).await;
    assert!(r.is_err(), "the hang ended: {r:?}");
    churn.await.unwrap();
    // Swapping the card in this reader does end it.
    let swap = tokio::spawn({
        let mock = mock.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            mock.insert(MockCard::eid());
        }
    });
    card.expect([ApduStep::hang(SELECT)]);
    let mut conn = mock.connect(ShareMode::Shared).await.unwrap();
    let e = tokio::time::timeout(Duration::from_secs(60), conn.transmit(&select()))
        .await
        .expect("swapping the card ends the hang")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CardRemoved);
    swap.await.unwrap();
    card.done().unwrap();
}

#[tokio::test]
async fn insert_remove_and_reader_removed_events() {
    let mock = MockReader::new("r");
    let reader: Box<dyn CardReader> = Box::new(mock.clone());
    let mut events = reader.events();
    assert_eq!(
        reader
            .connect(ShareMode::Shared)
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::NotFound)
    );
    let card = MockCard::eid();
    mock.insert(card.clone());
    assert_eq!(
        events.next().await,
        Some(ReaderEvent::CardInserted(card.atr().clone()))
    );
    mock.insert(MockCard::eid());
    assert_eq!(events.next().await, Some(ReaderEvent::CardRemoved));
    assert!(matches!(
        events.next().await,
        Some(ReaderEvent::CardInserted(_))
    ));
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    mock.unplug();
    assert_eq!(events.next().await, Some(ReaderEvent::ReaderRemoved));
    assert_eq!(
        events.next().await,
        None,
        "the stream ends after ReaderRemoved"
    );
    assert_eq!(
        reader.events().next().await,
        Some(ReaderEvent::ReaderRemoved)
    );
    assert_eq!(
        reader.status().await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    assert_eq!(
        reader
            .connect(ShareMode::Shared)
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::DeviceGone)
    );
    assert_eq!(
        conn.transmit(&select()).await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    assert_eq!(
        conn.control(GET_FEATURE_REQUEST, &[])
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::DeviceGone
    );
    assert_eq!(
        reader.features().await.unwrap_err().kind(),
        ErrorKind::DeviceGone
    );
    assert_eq!(
        conn.disconnect(Disposition::Leave)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::DeviceGone
    );
}

#[tokio::test]
async fn lagging_subscriber_gets_an_explicit_lag() {
    let mock = MockReader::new("r");
    let mut events = mock.events();
    for _ in 0..50 {
        mock.insert(MockCard::eid());
    }
    // 99 events into a 64-slot channel.
    assert!(matches!(events.next().await, Some(ReaderEvent::Lagged { missed }) if missed > 0));
}

#[tokio::test]
async fn transactions_exclusive_and_injected_failure_inside() {
    let card = MockCard::eid();
    card.expect([
        ApduStep::new(SELECT, OK),
        ApduStep::fail(SELECT, ErrorKind::Timeout),
    ]);
    let mock = MockReader::new("r").with_card(card.clone());
    let reader: Box<dyn CardReader> = Box::new(mock.clone());
    let mut a = reader.connect(ShareMode::Shared).await.unwrap();
    let mut b = reader.connect(ShareMode::Shared).await.unwrap();
    {
        let mut tx = a.begin().await.unwrap();
        assert!(mock.in_transaction());
        assert!(tx.transmit(&select()).await.unwrap().is_success());
        // The injected failure inside the transaction comes back as an error.
        assert_eq!(
            tx.transmit(&select()).await.unwrap_err().kind(),
            ErrorKind::Timeout
        );
        // Another connection cannot start one meanwhile, nor transmit.
        assert_eq!(
            b.begin_transaction().await.unwrap_err().kind(),
            ErrorKind::Busy
        );
        assert_eq!(
            b.transmit(&select()).await.unwrap_err().kind(),
            ErrorKind::Busy
        );
        tx.end(Disposition::Leave).await.unwrap();
    }
    assert!(!mock.in_transaction());
    // A dropped guard releases the lock too.
    {
        let _tx = b.begin().await.unwrap();
        assert!(mock.in_transaction());
    }
    assert!(!mock.in_transaction());
    mock.fail_next_begin(ErrorKind::CardRemoved);
    assert_eq!(
        a.begin().await.err().map(|e| e.kind()),
        Some(ErrorKind::CardRemoved)
    );
    // Exclusive sharing.
    assert_eq!(
        reader
            .connect(ShareMode::Exclusive)
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::Busy)
    );
    drop(a);
    drop(b);
    assert_eq!(mock.connections(), 0);
    let ex = reader.connect(ShareMode::Exclusive).await.unwrap();
    assert!(reader.status().await.unwrap().exclusive_elsewhere);
    assert_eq!(
        reader
            .connect(ShareMode::Shared)
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::Busy)
    );
    drop(ex);
    mock.fail_next_connect(ErrorKind::Busy);
    assert_eq!(
        reader
            .connect(ShareMode::Shared)
            .await
            .err()
            .map(|e| e.kind()),
        Some(ErrorKind::Busy)
    );
    card.done().unwrap();
}

#[tokio::test]
async fn transaction_end_after_card_removal_is_card_removed() {
    let mock = MockReader::new("r").with_card(MockCard::eid());
    let reader: Box<dyn CardReader> = Box::new(mock.clone());
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    let tx = conn.begin().await.unwrap();
    mock.remove_card();
    assert_eq!(
        tx.end(Disposition::Leave).await.unwrap_err().kind(),
        ErrorKind::CardRemoved
    );
    assert!(!mock.in_transaction());
}

#[tokio::test]
async fn feature_list_via_control_and_features() {
    let mock = MockReader::new("r")
        .with_features(vec![
            (FEATURE_VERIFY_PIN_DIRECT, 0x4233_0006),
            (FEATURE_EXECUTE_PACE, 0x4233_0020),
        ])
        .with_control(0x4233_0020, vec![0x00, 0x00, 0x00, 0x00]);
    let reader: Box<dyn CardReader> = Box::new(mock.clone());
    let f = reader.features().await.unwrap();
    assert!(f.has_pin_pad() && f.has_pace());
    assert_eq!(f.verify_pin_direct, Some(0x4233_0006));
    assert_eq!(f.modify_pin_direct, None);
    // Direct connection without a card, as PC/SC software does for features.
    let mut direct = reader.connect(ShareMode::Direct).await.unwrap();
    let tlv = direct.control(GET_FEATURE_REQUEST, &[]).await.unwrap();
    assert_eq!(
        tlv,
        [0x06, 4, 0x42, 0x33, 0x00, 0x06, 0x20, 4, 0x42, 0x33, 0x00, 0x20]
    );
    assert_eq!(
        direct.control(0x4233_0020, &[1]).await.unwrap(),
        [0, 0, 0, 0]
    );
    assert_eq!(
        direct.control(0x4233_0999, &[]).await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
    assert_eq!(
        direct.transmit(&select()).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // A reader without features.
    let plain: Box<dyn CardReader> = Box::new(MockReader::new("p"));
    assert_eq!(plain.features().await.unwrap(), Default::default());
}

#[tokio::test]
#[should_panic(expected = "without done()")]
async fn a_card_with_a_script_dropped_without_done_panics() {
    let card = MockCard::eid();
    card.expect([ApduStep::new(SELECT, OK)]);
    drop(card);
}

#[tokio::test]
async fn closure_responder_sees_raw_commands() {
    let card = MockCard::new("3B 80 80 01 01".parse().unwrap()).with_responder(|cmd| {
        let mut r = cmd.to_vec();
        r.extend_from_slice(&[0x90, 0x00]);
        r
    });
    let reader = reader_with(&card);
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    assert_eq!(
        conn.transmit_raw(&[1, 2, 3, 4].into()).await.unwrap(),
        [1, 2, 3, 4, 0x90, 0x00]
    );
}

#[tokio::test]
async fn the_eid_mock_serves_ef_cardaccess_like_a_card() {
    use buergerkoffer::card::eid::{self, ReadLength};
    let card = MockCard::eid();
    let reader = reader_with(&card);
    let mut conn = reader.connect(ShareMode::Shared).await.unwrap();
    // Nothing selected yet: READ BINARY is refused.
    let r = conn
        .transmit(&CommandApdu::new(0x00, 0xB0, 0, 0).with_le(4))
        .await
        .unwrap();
    assert_eq!(r.sw().0, 0x6986);
    for mode in [ReadLength::Short, ReadLength::Extended] {
        let info = eid::read_card_access(&mut *conn, mode).await.unwrap();
        assert_eq!(info.card_access, eid::NPA_GEN1_EF_CARDACCESS, "{mode:?}");
        assert!(info.is_german_eid());
    }
    // Reading past the end: what is there, and 6282.
    let len = eid::NPA_GEN1_EF_CARDACCESS.len() as u16;
    let [p1, p2] = (len - 2).to_be_bytes();
    let r = conn
        .transmit(&CommandApdu::new(0x00, 0xB0, p1, p2).with_le(16))
        .await
        .unwrap();
    assert_eq!(
        r.data(),
        &eid::NPA_GEN1_EF_CARDACCESS[usize::from(len) - 2..]
    );
    assert_eq!(r.sw().0, 0x6282);
    // Another SELECT deselects it.
    conn.transmit(&select()).await.unwrap();
    let r = conn
        .transmit(&CommandApdu::new(0x00, 0xB0, 0, 0).with_le(4))
        .await
        .unwrap();
    assert_eq!(r.sw().0, 0x6986);
}
