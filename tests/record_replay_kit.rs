//! Record/replay, part two: print jobs and whole kits replay; the conformance suite passes on
//! replayed devices; bad session files are errors; the committed format-1 session in
//! `tests/fixtures/session-v1` still replays. (Scanner and card sessions: `record_replay.rs`.)

#![cfg(feature = "record")]

mod record_support;

use std::path::Path;
use std::time::Duration;

use buergerkoffer::card::eid::{self, ReadLength};
use buergerkoffer::card::{CardReader, CommandApdu, Disposition, SecretBytes, ShareMode};
use buergerkoffer::conformance::mocks::{MockPrinterRig, MockReaderRig, MockScannerRig};
use buergerkoffer::conformance::{self, Report};
use buergerkoffer::mock::{MockCard, MockPrinter, MockReader, MockScanner};
use buergerkoffer::print::{Document, PrintOptions, Printer};
use buergerkoffer::record::{
    Recorder, RecordingPrinterRig, RecordingReaderRig, RecordingScannerRig, ReplayKit,
    ReplayOptions, ReplayPrinterRig, ReplayReaderRig, ReplayScannerRig,
};
use buergerkoffer::scan::Scanner;
use buergerkoffer::{DeviceKind, ErrorKind, Kit};
use futures_util::StreamExt;

use record_support::*;

async fn print_program(p: &dyn Printer, doc: &'static [u8]) -> buergerkoffer::Result<Vec<String>> {
    let mut seen = vec![
        format!("{:?}", p.capabilities().await?.formats),
        format!("{:?}", p.status().await?.state),
    ];
    let job = p
        .print(
            Document::jpeg(doc).with_name("antrag.jpg"),
            &PrintOptions::new().copies(2).job_name("Antrag"),
        )
        .await?;
    let mut states = Vec::new();
    loop {
        let st = p.job(job).await?;
        if states.last() != Some(&st.state) {
            states.push(st.state);
        }
        if st.state.is_terminal() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen.push(format!("{states:?}"));
    seen.push(format!("{:?}", p.cancel(job).await.map_err(|e| e.kind())));
    Ok(seen)
}

const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3, 0xFF, 0xD9];

#[tokio::test(start_paused = true)]
async fn a_print_job_replays_its_state_sequence_and_a_changed_document_is_named() {
    let (_tmp, dir) = session_dir();
    let mock = MockPrinter::new("printer");
    let rec = Recorder::create(&dir).unwrap();
    let printer = rec.printer(Box::new(mock.clone()));
    let recorded = print_program(&printer, JPEG).await.unwrap();
    rec.finish().unwrap();
    assert_eq!(recorded[2], "[Pending, Processing, Completed]");
    assert_eq!(recorded[3], "Err(InvalidInput)");
    assert_eq!(mock.documents()[0].data.as_ref(), JPEG);

    let replay = ReplayKit::open(&dir).unwrap();
    let p = replay.printer(&mock.info().id).unwrap();
    assert_eq!(print_program(&p, JPEG).await.unwrap(), recorded);
    replay.done().unwrap();

    let replay = ReplayKit::open(&dir).unwrap();
    let p = replay.printer(&mock.info().id).unwrap();
    let e = print_program(&p, &[0xFF, 0xD8, 0xFF, 0xD9])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let report = replay.done().unwrap_err().to_string();
    assert!(
        report.contains("document.bytes: 4 (recorded 9)"),
        "{report}"
    );
}

#[tokio::test(start_paused = true)]
async fn any_order_lets_independent_calls_swap() {
    let (_tmp, dir) = session_dir();
    let mock = MockPrinter::new("printer");
    let rec = Recorder::create(&dir).unwrap();
    let printer = rec.printer(Box::new(mock.clone()));
    printer.status().await.unwrap();
    printer.capabilities().await.unwrap();
    rec.finish().unwrap();
    let swapped = |p: buergerkoffer::record::ReplayPrinter| async move {
        let c = p.capabilities().await;
        let s = p.status().await;
        (c.is_ok(), s.is_ok())
    };
    let strict = ReplayKit::open(&dir).unwrap();
    assert_eq!(
        swapped(strict.printer(&mock.info().id).unwrap()).await,
        (false, true)
    );
    assert!(strict.done().is_err());
    let loose = ReplayKit::with_options(&dir, ReplayOptions::new().any_order()).unwrap();
    assert_eq!(
        swapped(loose.printer(&mock.info().id).unwrap()).await,
        (true, true)
    );
    loose.done().unwrap();
}

// ---- the kit ----------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_recorded_kit_replays_through_a_kit() {
    let (_tmp, dir) = session_dir();
    let mock = buergerkoffer::mock::MockKit::standard();
    let rec = Recorder::create(&dir).unwrap();
    let kit = rec.kit(Kit::new().with_provider(mock.clone()));
    let run = |kit: Kit| async move {
        let found = kit.discover().await;
        let id = found
            .of_kind(DeviceKind::Printer)
            .next()
            .unwrap()
            .id
            .clone();
        let printer = kit.open_printer(&id).await.unwrap();
        let st = printer.status().await.unwrap();
        let sid = found
            .of_kind(DeviceKind::Scanner)
            .next()
            .unwrap()
            .id
            .clone();
        let scanner = kit.open_scanner(&sid).await.unwrap();
        let pages = scanner
            .scan(&small_request(50).max_pages(1))
            .await
            .unwrap()
            .collect_all()
            .await
            .unwrap();
        (found.devices.len(), st, pages)
    };
    let recorded = run(kit).await;
    rec.finish().unwrap();
    assert_eq!(recorded.0, 3);
    let replay = ReplayKit::open(&dir).unwrap();
    assert_eq!(replay.devices().len(), 3);
    assert_eq!(run(replay.kit()).await, recorded);
    replay.done().unwrap();
}

// ---- the conformance suite on replayed devices ------------------------------------------

fn same_outcomes(a: &Report, b: &Report) {
    let names = |r: &Report| {
        r.results
            .iter()
            .map(|c| (c.check, c.outcome.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(a), names(b), "recorded:\n{a}\nreplayed:\n{b}");
}

#[tokio::test]
async fn the_conformance_suite_passes_on_a_replayed_scanner() {
    let (_tmp, dir) = session_dir();
    let rec = Recorder::create(&dir).unwrap();
    let mock = MockScanner::new("scanner").with_adf_pages(10);
    let id = mock.info().id.clone();
    let rig = RecordingScannerRig::new(MockScannerRig::new(mock), &rec);
    let recorded = conformance::check_scanner(&rig).await;
    rec.finish().unwrap();
    recorded.assert_passed(&[]);
    let replay = ReplayKit::open(&dir).unwrap();
    let rig = ReplayScannerRig::new(replay.scanner(&id).unwrap());
    let replayed = conformance::check_scanner(&rig).await;
    replayed.assert_passed(&[]);
    same_outcomes(&recorded, &replayed);
    replay.done().unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_conformance_suite_passes_on_a_replayed_printer() {
    let (_tmp, dir) = session_dir();
    let rec = Recorder::create(&dir).unwrap();
    let mock = MockPrinter::new("printer");
    let id = mock.info().id.clone();
    let rig = RecordingPrinterRig::new(MockPrinterRig::new(mock), &rec);
    let recorded = conformance::check_printer(&rig).await;
    rec.finish().unwrap();
    recorded.assert_passed(&[]);
    // The suite's PDF carries its creation time and a fresh file id: it is a new document
    // each run, so its fingerprint is not compared.
    let opts = ReplayOptions::new().ignore("print", "document.hash");
    let replay = ReplayKit::with_options(&dir, opts).unwrap();
    let rig = ReplayPrinterRig::new(replay.printer(&id).unwrap());
    let replayed = conformance::check_printer(&rig).await;
    replayed.assert_passed(&[]);
    same_outcomes(&recorded, &replayed);
    replay.done().unwrap();
}

#[tokio::test]
async fn the_conformance_suite_passes_on_a_replayed_reader() {
    let (_tmp, dir) = session_dir();
    let rec = Recorder::create(&dir).unwrap();
    let mock = MockReader::new("reader");
    let id = mock.info().id.clone();
    let rig = RecordingReaderRig::new(MockReaderRig::new(mock), &rec);
    let recorded = conformance::check_reader(&rig).await;
    rec.finish().unwrap();
    recorded.assert_passed(&[]);
    let replay = ReplayKit::open(&dir).unwrap();
    let rig = ReplayReaderRig::new(replay.reader(&id).unwrap());
    let replayed = conformance::check_reader(&rig).await;
    replayed.assert_passed(&[]);
    same_outcomes(&recorded, &replayed);
    replay.done().unwrap();
}

// ---- bad session files ------------------------------------------------------------------

#[tokio::test]
async fn bad_session_files_are_errors_not_panics() {
    let (_tmp, dir) = session_dir();
    let (_, id) = record_jam(&dir).await;
    let path = dir.join("session.jsonl");
    let good = session_text(&dir);
    let header_end = good.find('\n').unwrap() + 1;
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "no header line"),
        (
            good.replacen("buergerkoffer-session", "other-format", 1),
            "format `other-format`",
        ),
        (
            good.replacen(r#""version":1"#, r#""version":2"#, 1),
            "format version 2",
        ),
        (format!("{}{{not json\n", &good[..header_end]), "line 2"),
        (
            good.replace(
                r#""file":"page-000001.pgm""#,
                r#""file":"../../etc/passwd""#,
            ),
            "",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(&path, &text).unwrap();
        match ReplayKit::open(&dir) {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
                assert!(e.to_string().contains(want), "{want}: {e}");
            }
            Ok(replay) => {
                // The hostile page file name is refused when the page is replayed.
                let b = scan_batch(&replay.scanner(&id).unwrap(), 50).await.unwrap();
                let (kind, msg, _) = b.error.unwrap();
                assert_eq!(kind, ErrorKind::Protocol);
                assert!(
                    msg.contains("not a file name inside the session directory"),
                    "{msg}"
                );
                let _ = replay.done();
            }
        }
    }
    // A page file cut short is refused by its length.
    std::fs::write(&path, &good).unwrap();
    let page = dir.join("page-000001.pgm");
    let bytes = std::fs::read(&page).unwrap();
    std::fs::write(&page, &bytes[..bytes.len() / 2]).unwrap();
    let replay = ReplayKit::open(&dir).unwrap();
    let b = scan_batch(&replay.scanner(&id).unwrap(), 50).await.unwrap();
    let (kind, msg, _) = b.error.unwrap();
    assert_eq!(kind, ErrorKind::Protocol, "{msg}");
    assert!(msg.contains("the session says"), "{msg}");
    let _ = replay.done();
    // A session is never overwritten.
    let e = Recorder::create(&dir).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

// ---- the committed session of format version 1 ------------------------------------------

/// The program the fixture was recorded with (`BK_WRITE_SESSION_FIXTURE=1` records it again
/// from the mock kit; normally the committed files are replayed). What it returns is checked
/// value by value, so the meaning of every format-1 field stays pinned.
async fn fixture_program(kit: &Kit, mock: Option<&buergerkoffer::mock::MockKit>) -> Vec<String> {
    let found = kit.discover().await;
    let id = |k| found.of_kind(k).next().unwrap().id.clone();
    let reader = kit.open_reader(&id(DeviceKind::CardReader)).await.unwrap();
    let scanner = kit.open_scanner(&id(DeviceKind::Scanner)).await.unwrap();
    let printer = kit.open_printer(&id(DeviceKind::Printer)).await.unwrap();
    let mut seen = vec![format!("{}", found.devices.len())];
    let st = reader.status().await.unwrap();
    seen.push(st.atr.unwrap().to_string());
    seen.push(format!("{:?}", reader.features().await.unwrap().all));
    let mut events = reader.events();
    let mock_reader = mock.map(|m| m.reader("reader").unwrap());
    if let Some(r) = &mock_reader {
        r.remove_card();
    }
    seen.push(format!("{:?}", events.next().await.unwrap()));
    if let Some(r) = &mock_reader {
        r.insert(MockCard::eid());
    }
    seen.push(format!("{:?}", events.next().await.unwrap()));
    drop(events);
    let mut card = reader.connect(ShareMode::Shared).await.unwrap();
    let info = eid::read_card_access(&mut *card, ReadLength::Short)
        .await
        .unwrap();
    seen.push(format!(
        "{} {}",
        info.card_access.len(),
        info.is_german_eid()
    ));
    let verify =
        CommandApdu::new(0x00, 0x20, 0x00, 0x03).with_secret_data(SecretBytes::from("123456"));
    seen.push(format!("{:?}", card.transmit(&verify).await.unwrap().sw()));
    card.disconnect(Disposition::Leave).await.unwrap();
    let caps = scanner.capabilities().await.unwrap();
    seen.push(format!("{:?} {:?}", caps.resolutions, caps.sources));
    let req = small_request(50).max_pages(3);
    let mut stream = scanner.scan(&req).await.unwrap();
    while let Some(p) = stream.next_page().await {
        match p {
            Ok(p) => seen.push(format!(
                "page {} {}x{} {:?}",
                p.index, p.width, p.height, p.data
            )),
            Err(e) => seen.push(e.to_string()),
        }
    }
    seen.push(format!(
        "{:?}",
        printer.capabilities().await.unwrap().formats
    ));
    seen.push(format!("{:?}", printer.status().await.unwrap()));
    let job = printer
        .print(Document::jpeg(JPEG), &PrintOptions::new())
        .await
        .unwrap();
    let done = printer
        .wait_for_job(job, Duration::from_secs(10), Duration::from_millis(200))
        .await
        .unwrap();
    seen.push(format!("{job} {:?}", done.state));
    seen
}

#[tokio::test(start_paused = true)]
async fn the_committed_format_1_session_still_replays() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/session-v1");
    if std::env::var_os("BK_WRITE_SESSION_FIXTURE").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        let mock = buergerkoffer::mock::MockKit::standard();
        mock.scanner("scanner")
            .unwrap()
            .fail_at(3, ErrorKind::PaperJam);
        let rec = Recorder::create(&dir).unwrap();
        fixture_program(
            &rec.kit(Kit::new().with_provider(mock.clone())),
            Some(&mock),
        )
        .await;
        rec.finish().unwrap();
    }
    let replay = ReplayKit::open(&dir).unwrap();
    assert_eq!(replay.format_version(), 1);
    let seen = fixture_program(&replay.kit(), None).await;
    replay.done().unwrap();
    assert_eq!(
        seen,
        [
            "3",
            "3B 8A 80 01 80 31 F8 73 F7 41 E0 82 90 00 75",
            "[(6, 1110638598), (7, 1110638599), (32, 1110638624)]",
            "CardRemoved",
            "CardInserted(Atr(3B 8A 80 01 80 31 F8 73 F7 41 E0 82 90 00 75))",
            "182 true",
            "StatusWord(6D 00)",
            "Range { min: 50, max: 600, step: 0 } [Flatbed, Adf, AdfDuplex]",
            "page 0 59x39 Raw { format: Gray8, bytes: 2301 }",
            "page 1 59x39 Raw { format: Gray8, bytes: 2301 }",
            "mock:scanner: scan page 3: paper jam: injected fault (2 pages kept)",
            "[Pdf, Jpeg, PwgRaster]",
            "PrinterStatus { state: Idle, reasons: [], message: None, supplies: [] }",
            "job 1 Completed",
        ]
    );
    let text = session_text(&dir);
    assert!(
        text.contains(r#"{"cmd":"00 20 00 03","secret":11}"#),
        "{text}"
    );
    assert!(!text.contains("31 32 33 34 35 36"));
}
