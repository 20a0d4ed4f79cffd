//! The PC/SC backend against a real pcscd with virtual cards (see `tests/pcsc_peer`).
//!
//! Needs `pcscd vsmartcard-vpcd vsmartcard-vpicc python3-virtualsmartcard` (installed by
//! `scripts/install-system-deps.sh`); fails with that hint when they are missing. The tests
//! share pcscd and its two virtual readers, so they take a lock and run one at a time.
#![cfg(feature = "pcsc")]

mod pcsc_peer;
mod threads;

use std::time::Duration;

use buergerkoffer::backend::pcsc::{PcscProvider, PcscReader};
use buergerkoffer::card::eid::{self, ReadLength};
use buergerkoffer::card::{
    Atr, CardReader, CommandApdu, Disposition, ReaderEvent, ShareMode, StatusWord,
};
use buergerkoffer::{DeviceId, ErrorKind, Kit, Provider};
use futures_util::StreamExt;
use pcsc_peer::{
    ensure_pcscd, restart_pcscd, CardModel, Vicc, VirtualCard, LOCK, READER0, READER1,
    READER1_PORT, VICC_ATR,
};
use tokio::time::timeout;

fn npa_model() -> CardModel {
    CardModel {
        atr: eid::KNOWN_NPA_ATRS[0].to_vec(),
        files: vec![(0x011C, eid::NPA_GEN1_EF_CARDACCESS.to_vec())],
        extended: true,
        slow: Duration::from_secs(3),
    }
}

/// Opens a reader once pcscd has seen the previous test's card go (it polls vpcd): every
/// test inserts its own card.
async fn reader(name: &str) -> PcscReader {
    let r = PcscProvider::new().reader(name).await.expect("open reader");
    wait_card(&r, false).await;
    r
}

/// Waits until the reader reports a card (or none).
async fn wait_card(r: &PcscReader, present: bool) -> Option<Atr> {
    for _ in 0..100 {
        let st = r.status().await.expect("reader status");
        if st.card_present() == present {
            return st.atr;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("card present={present} not reached in 5 s");
}

/// Puts our nPA-like card into [`READER1`] and waits until pcscd reports it; returns the card
/// (pulled when dropped) and the ATR pcscd read.
async fn insert_npa(r: &PcscReader) -> (VirtualCard, Atr) {
    let vcard = VirtualCard::insert(READER1_PORT, npa_model());
    let atr = wait_card(r, true).await.expect("ATR of the inserted card");
    (vcard, atr)
}

async fn next_event(
    events: &mut buergerkoffer::device::BoxStream<ReaderEvent>,
    within: Duration,
) -> ReaderEvent {
    timeout(within, events.next())
        .await
        .unwrap_or_else(|_| panic!("no reader event within {within:?}"))
        .expect("event stream ended")
}

#[tokio::test(flavor = "multi_thread")]
async fn both_virtual_readers_are_listed_and_unknown_ones_are_not_found() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let kit = Kit::new().with_provider(PcscProvider::new());
    let found = kit.discover().await;
    assert!(found.failures.is_empty(), "{:?}", found.failures);
    let names: Vec<String> = found.devices.iter().map(|d| d.id.to_string()).collect();
    assert!(names.contains(&format!("pcsc:{READER0}")), "{names:?}");
    assert!(names.contains(&format!("pcsc:{READER1}")), "{names:?}");
    // Ids round-trip into open_reader.
    let id: DeviceId = format!("pcsc:{READER1}").parse().unwrap();
    let r = kit.open_reader(&id).await.unwrap();
    assert_eq!(r.info().id, id);
    let err = kit
        .open_reader(&"pcsc:No Such Reader 99".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("No Such Reader 99"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn vicc_card_is_present_with_its_atr_and_answers_select_and_read_binary() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let r = reader(READER0).await;
    let vicc = Vicc::start();
    let atr = wait_card(&r, true).await.expect("ATR");
    assert_eq!(atr, VICC_ATR.parse().unwrap());

    let mut card = r.connect(ShareMode::Shared).await.expect("connect");
    assert_eq!(card.atr(), &atr);
    // SELECT the MF by FID: vicc's ISO 7816 card has it.
    let mf = card
        .transmit(&CommandApdu::new(0x00, 0xA4, 0x00, 0x0C).with_data([0x3F, 0x00]))
        .await
        .unwrap();
    assert_eq!(mf.sw(), StatusWord(0x9000));
    // A file that does not exist.
    let missing = card
        .transmit(&CommandApdu::new(0x00, 0xA4, 0x02, 0x0C).with_data([0x7E, 0x57]))
        .await
        .unwrap();
    assert_eq!(missing.sw(), StatusWord(0x6A82), "{missing:?}");
    // READ BINARY with the MF (a DF) selected is refused by the card, with a 69xx/6Axx/6Bxx
    // status word, never a transport error.
    let rb = card
        .transmit(&CommandApdu::new(0x00, 0xB0, 0x00, 0x00).with_le(16))
        .await
        .unwrap();
    assert!(
        !rb.is_success() && matches!(rb.sw().sw1(), 0x69 | 0x6A | 0x6B | 0x6D),
        "{rb:?}"
    );
    // GET CHALLENGE (00 84 00 00 08): eight random bytes.
    let ch = card
        .transmit(&CommandApdu::new(0x00, 0x84, 0x00, 0x00).with_le(8))
        .await
        .unwrap();
    assert_eq!(ch.sw(), StatusWord(0x9000));
    assert_eq!(ch.data().len(), 8);
    Box::new(card).disconnect(Disposition::Leave).await.unwrap();
    vicc.stop();
    wait_card(&r, false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_and_starting_vicc_gives_removed_and_inserted_events() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let r = reader(READER0).await;
    let vicc = Vicc::start();
    wait_card(&r, true).await;
    let mut events = r.events();
    // Let the watcher take its starting state.
    tokio::time::sleep(Duration::from_millis(300)).await;
    vicc.stop();
    assert_eq!(
        next_event(&mut events, Duration::from_secs(2)).await,
        ReaderEvent::CardRemoved
    );
    let _vicc = Vicc::start();
    match next_event(&mut events, Duration::from_secs(10)).await {
        ReaderEvent::CardInserted(atr) => assert_eq!(atr, VICC_ATR.parse().unwrap()),
        other => panic!("expected CardInserted, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn transmit_after_the_card_is_pulled_is_card_removed() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let r = reader(READER0).await;
    let vicc = Vicc::start();
    wait_card(&r, true).await;
    let mut card = r.connect(ShareMode::Shared).await.unwrap();
    vicc.stop();
    wait_card(&r, false).await;
    let err = card
        .transmit(&CommandApdu::new(0x00, 0x84, 0x00, 0x00).with_le(8))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CardRemoved, "{err}");
    assert!(err.to_string().contains(READER0), "{err}");
    // Connecting to an empty reader: NotFound.
    let err = r.connect(ShareMode::Shared).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pulling_the_card_during_a_slow_command_is_card_removed() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let r = reader(READER1).await;
    let (vcard, _) = insert_npa(&r).await;
    let mut card = r.connect(ShareMode::Shared).await.unwrap();
    let slow = tokio::spawn(async move {
        let res = card
            .transmit(&CommandApdu::new(0x00, 0xEE, 0x00, 0x00))
            .await;
        (res, card)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    vcard.pull();
    let (res, _card) = timeout(Duration::from_secs(10), slow)
        .await
        .unwrap()
        .unwrap();
    let err = res.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CardRemoved),
        "expected CardRemoved, got {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn eid_card_access_is_read_short_and_extended_and_parsed() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let r = reader(READER1).await;
    let (vcard, atr) = insert_npa(&r).await;
    assert!(eid::atr_looks_like_npa(&atr), "{atr}");
    let mut card = r.connect(ShareMode::Shared).await.unwrap();
    for mode in [ReadLength::Short, ReadLength::Extended] {
        let info = eid::read_card_access(&mut *card, mode).await.unwrap();
        assert_eq!(info.card_access, eid::NPA_GEN1_EF_CARDACCESS, "{mode:?}");
        assert!(info.is_german_eid());
        let pace = info.security_infos.pace().next().unwrap();
        assert_eq!(pace.parameter_id, Some(13));
        assert_eq!(pace.protocol.to_string(), "0.4.0.127.0.7.2.2.4.2.2");
    }
    // What went over the wire: SELECT 011C, then READ BINARY with short Le (00) and with
    // extended Le (00 00 00).
    let log = vcard.log.lock().unwrap().clone();
    assert!(
        log.contains(&vec![0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1C]),
        "{log:02X?}"
    );
    assert!(
        log.contains(&vec![0x00, 0xB0, 0x00, 0x00, 0x00]),
        "{log:02X?}"
    );
    assert!(
        log.contains(&vec![0x00, 0xB0, 0x00, 0x00, 0x00, 0x00, 0x00]),
        "{log:02X?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_without_ef_cardaccess_is_not_found() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let r = reader(READER1).await;
    let _vcard = VirtualCard::insert(
        READER1_PORT,
        CardModel {
            files: vec![],
            ..npa_model()
        },
    );
    wait_card(&r, true).await;
    let mut card = r.connect(ShareMode::Shared).await.unwrap();
    let err = eid::read_card_access(&mut *card, ReadLength::Short)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn get_response_and_wrong_le_are_followed_through_pcscd() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let r = reader(READER1).await;
    let (vcard, _) = insert_npa(&r).await;
    let mut card = r.connect(ShareMode::Shared).await.unwrap();
    let resp = card
        .transmit(&CommandApdu::new(0x00, 0xCA, 0x01, 0x00).with_le(256))
        .await
        .unwrap();
    assert_eq!(resp.sw(), StatusWord(0x9000));
    assert_eq!(resp.data(), (0..0x20u8).collect::<Vec<_>>().as_slice());
    let resp = card
        .transmit(&CommandApdu::new(0x00, 0xCA, 0x02, 0x00).with_le(1))
        .await
        .unwrap();
    assert_eq!(resp.data(), &[1, 2, 3, 4, 5]);
    let log = vcard.log.lock().unwrap().clone();
    assert!(
        log.contains(&vec![0x00, 0xC0, 0x00, 0x00, 0x20]),
        "{log:02X?}"
    );
    assert!(
        log.contains(&vec![0x00, 0xCA, 0x02, 0x00, 0x05]),
        "{log:02X?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn transactions_exclusive_mode_reconnect_and_features() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let r = reader(READER1).await;
    let (_vcard, atr) = insert_npa(&r).await;

    let mut card = r.connect(ShareMode::Shared).await.unwrap();
    {
        let mut tx = card.begin().await.unwrap();
        let resp = tx
            .transmit(&CommandApdu::new(0x00, 0x84, 0x00, 0x00).with_le(8))
            .await
            .unwrap();
        assert!(resp.is_success());
        tx.end(Disposition::Leave).await.unwrap();
    }
    // A dropped guard releases the lock: a second connection can start one.
    {
        let _tx = card.begin().await.unwrap();
    }
    let mut other = r.connect(ShareMode::Shared).await.unwrap();
    other
        .begin()
        .await
        .unwrap()
        .end(Disposition::Leave)
        .await
        .unwrap();

    // Reset the card and reconnect: same ATR, commands work again.
    card.reconnect(ShareMode::Shared, Disposition::Reset)
        .await
        .unwrap();
    assert_eq!(card.atr(), &atr);
    // The other connection saw the reset.
    let err = other
        .transmit(&CommandApdu::new(0x00, 0x84, 0x00, 0x00).with_le(8))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CardRemoved, "{err}");
    other
        .reconnect(ShareMode::Shared, Disposition::Leave)
        .await
        .unwrap();
    other.disconnect(Disposition::Leave).await.unwrap();
    card.disconnect(Disposition::Leave).await.unwrap();

    // Exclusive: a second connection is Busy. pcscd may still be settling the reset of a
    // moment ago (a sharing violation for a short while), so the exclusive connect is tried
    // for up to 5 s; the check that matters is the one after it.
    let mut tries = 0;
    let excl = loop {
        match r.connect(ShareMode::Exclusive).await {
            Ok(c) => break c,
            Err(e) if e.kind() == ErrorKind::Busy && tries < 50 => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("exclusive connect after {tries} tries: {e}"),
        }
    };
    let err = r.connect(ShareMode::Shared).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy, "{err}");
    Box::new(excl).disconnect(Disposition::Leave).await.unwrap();

    // The virtual reader has no PIN pad and no PACE: an empty feature list, not an error.
    let features = r.features().await.unwrap();
    assert!(
        !features.has_pin_pad() && !features.has_pace(),
        "{features:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pcscd_restart_is_survived() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let provider = PcscProvider::new();
    assert!(!provider.devices().await.unwrap().is_empty());
    let r = provider.reader(READER1).await.unwrap();
    // A card of the previous test may still be seen by pcscd (it polls vpcd): start empty.
    wait_card(&r, false).await;
    let mut events = r.events();
    tokio::time::sleep(Duration::from_millis(300)).await;

    restart_pcscd();
    // Calls right after the restart either work on a fresh context or fail with a clear
    // DeviceGone; the next ones work.
    let mut ok = false;
    for _ in 0..50 {
        match provider.devices().await {
            Ok(list) if list.len() >= 2 => {
                ok = true;
                break;
            }
            Ok(_) => {}
            Err(e) => {
                assert!(
                    matches!(e.kind(), ErrorKind::DeviceGone | ErrorKind::Backend),
                    "{e}"
                );
                assert!(e.to_string().contains("pcscd"), "{e}");
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "readers not listed again after the restart");

    // The reader handle and its event stream keep working.
    let vcard = VirtualCard::insert(READER1_PORT, npa_model());
    match next_event(&mut events, Duration::from_secs(10)).await {
        ReaderEvent::CardInserted(atr) => assert!(eid::atr_looks_like_npa(&atr)),
        other => panic!("expected CardInserted after the restart, got {other:?}"),
    }
    let mut card = r.connect(ShareMode::Shared).await.unwrap();
    assert!(card
        .transmit(&CommandApdu::new(0x00, 0x84, 0x00, 0x00).with_le(8))
        .await
        .unwrap()
        .is_success());
    vcard.pull();
    assert_eq!(
        next_event(&mut events, Duration::from_secs(2)).await,
        ReaderEvent::CardRemoved
    );
}

async fn wait_threads(name: &str, want: usize) {
    threads::wait_for(name, want, Duration::from_secs(3)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_streams_and_cards_leave_no_blocked_thread() {
    let _g = LOCK.lock().await;
    ensure_pcscd();
    let provider = PcscProvider::new();
    let r = reader(READER1).await;
    // Threads of earlier tests are gone once they notice their stream was dropped.
    wait_threads("bk-pcsc-watch", 0).await;
    wait_threads("bk-pcsc-pnp", 0).await;
    wait_threads("bk-pcsc-card", 0).await;

    let streams: Vec<_> = (0..3).map(|_| r.events()).collect();
    let pnp = provider.events();
    let (vcard, _) = insert_npa(&r).await;
    let card = r.connect(ShareMode::Shared).await.unwrap();
    wait_threads("bk-pcsc-watch", 3).await;
    wait_threads("bk-pcsc-pnp", 1).await;
    wait_threads("bk-pcsc-card", 1).await;

    // The watchers block in SCardGetStatusChange; dropping a stream cancels the wait (or, at
    // the latest, the watcher sees it after its 500 ms wait), so no thread outlives its owner.
    let dropped = std::time::Instant::now();
    drop(streams);
    drop(pnp);
    drop(card);
    wait_threads("bk-pcsc-watch", 0).await;
    wait_threads("bk-pcsc-pnp", 0).await;
    wait_threads("bk-pcsc-card", 0).await;
    assert!(
        dropped.elapsed() < Duration::from_secs(2),
        "threads took {:?} to end",
        dropped.elapsed()
    );
    vcard.pull();
}
