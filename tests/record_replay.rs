//! Record sessions against the mocks, replay them: scanner and card sessions. The same calls
//! give the same results; a changed call, a call the recording does not have and a recording
//! not used up are reported by `done()`; secrets never reach the file. (Print jobs, kits, the
//! conformance suite on replayed devices and session files: `record_replay_kit.rs`.)

#![cfg(feature = "record")]

mod record_support;

use std::path::Path;
use std::time::Duration;

use buergerkoffer::card::eid::{self, ReadLength};
use buergerkoffer::card::{
    CardReader, CommandApdu, Disposition, ReaderEvent, SecretBytes, ShareMode,
};
use buergerkoffer::mock::{MockCard, MockReader, MockScanner};
use buergerkoffer::record::{Recorder, ReplayKit, ReplayOptions, Timing};
use buergerkoffer::scan::Scanner;
use buergerkoffer::{DeviceId, DeviceKind, ErrorKind};
use futures_util::StreamExt;

use record_support::*;

// ---- scanner ----------------------------------------------------------------------------

#[tokio::test]
async fn a_jammed_batch_replays_with_the_same_pages_and_error() {
    let (_tmp, dir) = session_dir();
    let (recorded, id) = record_jam(&dir).await;
    assert_eq!(recorded.pages.len(), 2);
    assert_eq!(recorded.error.as_ref().unwrap().0, ErrorKind::PaperJam);
    // Two page files beside the session, binary PGM.
    let pgm: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "pgm"))
        .collect();
    assert_eq!(pgm.len(), 2);
    let text = session_text(&dir);
    assert!(
        text.starts_with(r#"{"format":"buergerkoffer-session","version":1"#),
        "{text}"
    );
    assert!(text.contains(r#""kind":"PaperJam""#), "{text}");

    let replay = ReplayKit::open(&dir).unwrap();
    assert_eq!(replay.format_version(), 1);
    let scanner = replay.scanner(&id).unwrap();
    assert_eq!(scanner.info().kind, DeviceKind::Scanner);
    let replayed = scan_batch(&scanner, 50).await.unwrap();
    assert_eq!(replayed, recorded);
    replay.done().unwrap();
}

#[tokio::test]
async fn a_changed_scan_request_fails_and_is_named_by_done() {
    let (_tmp, dir) = session_dir();
    let (_, id) = record_jam(&dir).await;
    let replay = ReplayKit::open(&dir).unwrap();
    let scanner = replay.scanner(&id).unwrap();
    let err = scan_batch(&scanner, 75).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("resolution: 75 (recorded 50)"),
        "{err}"
    );
    let report = replay.done().unwrap_err().to_string();
    assert!(
        report.contains("first: mock:scanner: scan differs"),
        "{report}"
    );
    assert!(report.contains("resolution: 75 (recorded 50)"), "{report}");
    // The recorded job's pages were never read.
    assert!(report.contains("scan job 1 page"), "{report}");
    assert!(report.contains("never replayed"), "{report}");
}

#[tokio::test]
async fn an_unused_recording_and_an_unexpected_call_are_reported() {
    let (_tmp, dir) = session_dir();
    let (_, id) = record_jam(&dir).await;
    let replay = ReplayKit::open(&dir).unwrap();
    let scanner = replay.scanner(&id).unwrap();
    scanner.capabilities().await.unwrap();
    let report = replay.done().unwrap_err().to_string();
    assert!(
        report.contains("first: recorded mock:scanner scan"),
        "{report}"
    );
    assert!(report.contains("was never replayed"), "{report}");

    let replay = ReplayKit::open(&dir).unwrap();
    let scanner = replay.scanner(&id).unwrap();
    scanner.capabilities().await.unwrap();
    // Capabilities again instead of the scan: refused, and the scan stays for later.
    let e = scanner.capabilities().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string()
            .contains("the recording has mock:scanner scan"),
        "{e}"
    );
    let batch = {
        let mut stream = scanner.scan(&small_request(50)).await.unwrap();
        let mut n = 0;
        while let Some(Ok(_)) = stream.next_page().await {
            n += 1;
        }
        n
    };
    assert_eq!(batch, 2);
    let report = replay.done().unwrap_err().to_string();
    assert!(report.contains("session: check replay"), "{report}");
    assert!(
        report.contains("1 difference from the recording"),
        "{report}"
    );
    assert!(report.contains("capabilities called"), "{report}");
}

#[tokio::test]
async fn reading_past_a_cancelled_job_and_dropping_early_are_differences() {
    let (_tmp, dir) = session_dir();
    let mock = MockScanner::new("scanner").with_adf_pages(5);
    let rec = Recorder::create(&dir).unwrap();
    let scanner = rec.scanner(Box::new(mock.clone()));
    {
        let mut s = scanner.scan(&small_request(50)).await.unwrap();
        s.next_page().await.unwrap().unwrap();
    } // cancelled after one page
    {
        let mut s = scanner.scan(&small_request(50)).await.unwrap();
        s.next_page().await.unwrap().unwrap();
        s.next_page().await.unwrap().unwrap();
    }
    rec.finish().unwrap();
    assert!(session_text(&dir).contains(r#""op":"drop""#));

    let replay = ReplayKit::open(&dir).unwrap();
    let s = replay.scanner(&mock.info().id).unwrap();
    let mut first = s.scan(&small_request(50)).await.unwrap();
    first.next_page().await.unwrap().unwrap();
    let e = first.next_page().await.unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("was cancelled after 1 pages"), "{e}");
    drop(first);
    let mut second = s.scan(&small_request(50)).await.unwrap();
    second.next_page().await.unwrap().unwrap();
    drop(second); // one page early
    let report = replay.done().unwrap_err().to_string();
    assert!(report.contains("cancelled after 1 pages"), "{report}");
    assert!(
        report.contains("dropped after 1 pages, but the recording read on"),
        "{report}"
    );
}

#[test]
#[should_panic(expected = "dropped without done()")]
fn a_replay_dropped_without_done_panics() {
    let (_tmp, dir) = session_dir();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(record_jam(&dir));
    let replay = ReplayKit::open(&dir).unwrap();
    drop(replay);
}

#[tokio::test(start_paused = true)]
async fn real_time_replay_takes_the_recorded_time_fast_replay_none() {
    let (_tmp, dir) = session_dir();
    let mock = MockScanner::new("scanner")
        .with_adf_pages(2)
        .with_page_delay(Duration::from_millis(700));
    let rec = Recorder::create(&dir).unwrap();
    let scanner = rec.scanner(Box::new(mock.clone()));
    scan_batch(&scanner, 50).await.unwrap();
    rec.finish().unwrap();
    let id = mock.info().id.clone();
    for (timing, least, most) in [
        (Timing::RealTime, 1400, 1500),
        (Timing::Scaled(0.5), 700, 800),
        (Timing::Fast, 0, 0),
    ] {
        let replay = ReplayKit::with_options(&dir, ReplayOptions::new().timing(timing)).unwrap();
        let t0 = tokio::time::Instant::now();
        let batch = scan_batch(&replay.scanner(&id).unwrap(), 50).await.unwrap();
        let took = t0.elapsed().as_millis();
        assert_eq!(batch.pages.len(), 2);
        assert!(
            (least..=most).contains(&took),
            "{timing:?}: {took} ms on tokio's clock"
        );
        replay.done().unwrap();
    }
}

#[tokio::test]
async fn wildcards_in_the_file_and_ignored_fields_loosen_matching() {
    let (_tmp, dir) = session_dir();
    let (_, id) = record_jam(&dir).await;
    // Ignored by option.
    let replay =
        ReplayKit::with_options(&dir, ReplayOptions::new().ignore("scan", "resolution")).unwrap();
    let b = scan_batch(&replay.scanner(&id).unwrap(), 75).await.unwrap();
    assert_eq!(b.pages.len(), 2);
    replay.done().unwrap();
    // A wildcard written into the session.
    let path = dir.join("session.jsonl");
    let text = session_text(&dir).replace(r#""resolution":50"#, r#""resolution":"*""#);
    std::fs::write(&path, text).unwrap();
    let replay = ReplayKit::open(&dir).unwrap();
    let b = scan_batch(&replay.scanner(&id).unwrap(), 150)
        .await
        .unwrap();
    assert_eq!(b.pages.len(), 2);
    replay.done().unwrap();
}

// ---- reader and card --------------------------------------------------------------------

const PIN: &[u8] = b"481516";

/// A program: status, features, events around a card pull, connect, EF.CardAccess, a PIN
/// VERIFY, a PACE-like GENERAL AUTHENTICATE, a transaction, disconnect. `pull` and `push`
/// move the card (on the mock when recording, nothing on replay).
async fn card_program(
    r: &dyn CardReader,
    pin: &[u8],
    pull: impl Fn(),
    push: impl Fn(),
) -> buergerkoffer::Result<Vec<String>> {
    let mut seen = Vec::new();
    seen.push(format!("{:?}", r.status().await?));
    seen.push(format!("{:?}", r.features().await?));
    let mut events = r.events();
    pull();
    seen.push(format!("{:?}", events.next().await));
    push();
    seen.push(format!("{:?}", events.next().await));
    drop(events);
    let mut card = r.connect(ShareMode::Shared).await?;
    seen.push(card.atr().to_string());
    let info = eid::read_card_access(&mut *card, ReadLength::Short).await?;
    seen.push(format!("{}", info.is_german_eid()));
    let verify = CommandApdu::new(0x00, 0x20, 0x00, 0x03).with_secret_data(SecretBytes::from(pin));
    seen.push(format!("{:?}", card.transmit(&verify).await?.sw()));
    let ga = CommandApdu::new(0x10, 0x86, 0x00, 0x00)
        .with_data(vec![0x7C, 0x02, 0x80, 0x00])
        .with_le(256);
    seen.push(format!("{:?}", card.transmit(&ga).await?.sw()));
    let mut tx = card.begin().await?;
    seen.push(format!(
        "{:?}",
        tx.transmit(&CommandApdu::new(0x00, 0x84, 0x00, 0x00).with_le(8))
            .await?
            .data()
    ));
    tx.end(Disposition::Leave).await?;
    card.disconnect(Disposition::Leave).await?;
    Ok(seen)
}

fn eid_reader() -> MockReader {
    MockReader::new("reader")
        .with_features(vec![(0x06, 0x4233_0006)])
        .with_card(MockCard::eid())
}

async fn record_card(dir: &Path) -> (Vec<String>, DeviceId) {
    let mock = eid_reader();
    let rec = Recorder::create(dir).unwrap();
    let reader = rec.reader(Box::new(mock.clone()));
    let seen = card_program(
        &reader,
        PIN,
        || {
            mock.remove_card();
        },
        || mock.insert(MockCard::eid()),
    )
    .await
    .unwrap();
    rec.finish().unwrap();
    (seen, mock.info().id.clone())
}

#[tokio::test]
async fn a_card_session_replays_and_keeps_no_secret() {
    let (_tmp, dir) = session_dir();
    let (recorded, id) = record_card(&dir).await;
    assert_eq!(recorded[2], "Some(CardRemoved)");
    assert!(recorded[3].starts_with("Some(CardInserted"), "{recorded:?}");
    assert_eq!(recorded[5], "true");

    let text = session_text(&dir);
    // The PIN, in hex or in any other form, and the GENERAL AUTHENTICATE data are not there.
    for secret in ["34 38 31 35 31 36", "481516", "7C 02 80 00"] {
        assert!(!text.contains(secret), "{secret} in\n{text}");
    }
    assert!(
        text.contains(r#"{"cmd":"00 20 00 03","secret":11}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"{"cmd":"10 86 00 00","secret":10}"#),
        "{text}"
    );
    assert!(text.contains(r#""cmd":"00 A4 02 0C 02 01 1C""#), "{text}");

    // Same calls, same results; another PIN of the same length matches by header and length.
    for pin in [PIN, b"999999"] {
        let replay = ReplayKit::open(&dir).unwrap();
        let reader = replay.reader(&id).unwrap();
        let seen = card_program(&reader, pin, || {}, || {}).await.unwrap();
        assert_eq!(seen, recorded);
        replay.done().unwrap();
    }

    // A PIN of another length is a difference, shown without its digits.
    let replay = ReplayKit::open(&dir).unwrap();
    let reader = replay.reader(&id).unwrap();
    let err = card_program(&reader, b"1234567", || {}, || {})
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let report = replay.done().unwrap_err().to_string();
    assert!(report.contains("secret: 12 (recorded 11)"), "{report}");
    assert!(!report.contains("31 32 33"), "{report}");
}

#[tokio::test]
async fn a_changed_apdu_is_named_with_its_bytes() {
    let (_tmp, dir) = session_dir();
    let (_, id) = record_card(&dir).await;
    let replay = ReplayKit::open(&dir).unwrap();
    let reader = replay.reader(&id).unwrap();
    reader.status().await.unwrap();
    reader.features().await.unwrap();
    let mut ev = reader.events();
    assert_eq!(ev.next().await, Some(ReaderEvent::CardRemoved));
    assert!(matches!(
        ev.next().await,
        Some(ReaderEvent::CardInserted(_))
    ));
    let mut card = reader.connect(ShareMode::Shared).await.unwrap();
    // SELECT of another file than the recorded EF.CardAccess.
    let e = card
        .transmit_raw(&[0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1D].into())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let report = replay.done().unwrap_err().to_string();
    assert!(
        report
            .contains("first: mock:reader connection 1: transmit differs from the recording (line"),
        "{report}"
    );
    assert!(
        report.contains("cmd: 00 A4 02 0C 02 01 1D (recorded 00 A4 02 0C 02 01 1C)"),
        "{report}"
    );
}

// ---- printer ----------------------------------------------------------------------------
