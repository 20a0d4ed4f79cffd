//! Record sessions against the real peers — libsane's `test` backend (a feeder batch, a jam),
//! ippeveprinter (a job), pcscd with our virtual eID card (EF.CardAccess) — then stop the
//! peer and replay: the same calls give the same results, a changed call is reported. The
//! conformance suite is recorded against the SANE peer and passes on the replay.
//!
//! Each test fails, naming the Debian packages, when its peer is missing.
#![cfg(feature = "record")]
#![allow(dead_code, unused_imports)]

#[cfg(feature = "ipp")]
#[path = "peer_ipp/support.rs"]
mod ipp_support;
#[cfg(feature = "pcsc")]
mod pcsc_peer;
#[cfg(feature = "sane")]
mod sane_peer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use buergerkoffer::record::{Recorder, ReplayKit, ReplayOptions};
use buergerkoffer::scan::{ColorMode, Page, ScanArea, ScanRequest, Scanner, Source};
use buergerkoffer::{DeviceId, ErrorKind, RawCode};

/// One peer at a time: on two cores, libsane's `test` backend and ippeveprinter slow each
/// other down.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn session_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    (tmp, dir)
}

// ---- SANE `test` -------------------------------------------------------------------------

fn sane_request(status: &str) -> ScanRequest {
    let area = ScanArea {
        x_mm: 0.0,
        y_mm: 0.0,
        width_mm: 30.0,
        height_mm: 30.0,
    };
    ScanRequest::new()
        .resolution(50)
        .mode(ColorMode::Gray)
        .source(Source::Adf)
        .area(area)
        .option("read-return-value", status)
}

/// What a SANE program saw: pages, and each job's error (kind, text, raw code, pages kept).
type Seen = Vec<(
    Vec<Page>,
    Option<(ErrorKind, String, Option<RawCode>, Option<usize>)>,
)>;

async fn sane_program(s: &dyn Scanner, jam: &str) -> buergerkoffer::Result<Seen> {
    s.capabilities().await?;
    let mut seen = Vec::new();
    for req in [
        sane_request("Default").max_pages(3),
        sane_request(jam),
        sane_request("Default").max_pages(1),
    ] {
        let mut pages = Vec::new();
        let mut err = None;
        match s.scan(&req).await {
            Ok(mut stream) => {
                while let Some(p) = stream.next_page().await {
                    match p {
                        Ok(p) => pages.push(p),
                        Err(e) => err = Some((e.kind(), e.to_string(), e.raw(), e.pages())),
                    }
                }
            }
            Err(e) if e.kind() == ErrorKind::InvalidInput => return Err(e),
            Err(e) => err = Some((e.kind(), e.to_string(), e.raw(), e.pages())),
        }
        seen.push((pages, err));
    }
    Ok(seen)
}

#[cfg(feature = "sane")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sane_batch_with_a_jam_replays_without_libsane() {
    use buergerkoffer::backend::sane::SaneProvider;
    let _serial = SERIAL.lock().await;
    sane_peer::sane_env();
    let (_tmp, dir) = session_dir();
    let id: DeviceId = "sane:test:37".parse().unwrap();
    let recorded = {
        let scanner = SaneProvider::new()
            .open(&id)
            .await
            .unwrap_or_else(|e| panic!("cannot open {id}: {e}; {}", sane_peer::INSTALL));
        let rec = Recorder::create(&dir).unwrap();
        let scanner = rec.scanner(Box::new(scanner));
        let seen = sane_program(&scanner, "SANE_STATUS_JAMMED").await.unwrap();
        rec.finish().unwrap();
        seen
    }; // the SANE device is closed here: the replay never touches libsane
    assert_eq!(recorded[0].0.len(), 3, "{:?}", recorded[0].1);
    assert!(recorded[0].1.is_none());
    let jam = recorded[1].1.as_ref().expect("the jam");
    assert_eq!(jam.0, ErrorKind::PaperJam);
    assert_eq!(jam.2, Some(RawCode::Sane(6)));
    assert_eq!(recorded[2].0.len(), 1);

    let replay = ReplayKit::open(&dir).unwrap();
    let scanner = replay.scanner(&id).unwrap();
    let replayed = sane_program(&scanner, "SANE_STATUS_JAMMED").await.unwrap();
    assert_eq!(replayed, recorded);
    replay.done().unwrap();

    // Another injected status is another request: refused and named.
    let replay = ReplayKit::open(&dir).unwrap();
    let scanner = replay.scanner(&id).unwrap();
    let e = sane_program(&scanner, "SANE_STATUS_COVER_OPEN")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let report = replay.done().unwrap_err().to_string();
    assert!(
        report.contains("options[0][1]: SANE_STATUS_COVER_OPEN (recorded SANE_STATUS_JAMMED)"),
        "{report}"
    );
}

#[cfg(feature = "sane")]
struct SaneRig(buergerkoffer::backend::sane::SaneScanner);

#[cfg(feature = "sane")]
#[async_trait]
impl buergerkoffer::conformance::ScannerRig for SaneRig {
    fn scanner(&self) -> &dyn Scanner {
        &self.0
    }

    /// [`sane_peer::inject_status`]: the status comes at the first page.
    async fn inject(
        &self,
        fault: buergerkoffer::conformance::ScanFault,
        request: ScanRequest,
    ) -> buergerkoffer::Result<Option<(ScanRequest, u32)>> {
        Ok(sane_peer::inject_status(fault, request))
    }
}

#[cfg(feature = "sane")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suite_recorded_on_sane_passes_on_the_replay() {
    use buergerkoffer::backend::sane::SaneProvider;
    use buergerkoffer::conformance;
    use buergerkoffer::record::{RecordingScannerRig, ReplayScannerRig};
    let _serial = SERIAL.lock().await;
    sane_peer::sane_env();
    let (_tmp, dir) = session_dir();
    let id: DeviceId = "sane:test:38".parse().unwrap();
    let recorded = {
        let scanner = SaneProvider::new()
            .open(&id)
            .await
            .unwrap_or_else(|e| panic!("cannot open {id}: {e}; {}", sane_peer::INSTALL));
        let rec = Recorder::create(&dir).unwrap();
        let report =
            conformance::check_scanner(&RecordingScannerRig::new(SaneRig(scanner), &rec)).await;
        rec.finish().unwrap();
        report
    };
    println!("recorded against {id}:\n{recorded}");
    recorded.assert_passed(&[]);
    let replay = ReplayKit::open(&dir).unwrap();
    let replayed =
        conformance::check_scanner(&ReplayScannerRig::new(replay.scanner(&id).unwrap())).await;
    println!("replayed:\n{replayed}");
    replayed.assert_passed(&[]);
    assert_eq!(replayed.results, recorded.results);
    replay.done().unwrap();
}

// ---- ippeveprinter -----------------------------------------------------------------------

#[cfg(feature = "ipp")]
async fn print_program(
    p: &dyn buergerkoffer::Printer,
    copies: u32,
) -> buergerkoffer::Result<Vec<String>> {
    use buergerkoffer::print::convert::{convert_page, Plan};
    use buergerkoffer::print::{Document, PrintOptions};
    use buergerkoffer::scan::PixelFormat;
    let caps = p.capabilities().await?;
    let status = p.status().await?;
    let pixels: Vec<u8> = (0..120 * 80).map(|i| (i % 251) as u8).collect();
    let page = Page::raw(0, 120, 80, (100, 100), PixelFormat::Gray8, pixels).unwrap();
    let jpeg = convert_page(&page, &Plan::Jpeg, None).unwrap();
    let job = p
        .print(
            Document::jpeg(jpeg).with_name("antrag.jpg"),
            &PrintOptions::new().copies(copies).job_name("Antrag"),
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
    let again = p.cancel(job).await.map_err(|e| e.kind());
    Ok(vec![
        format!("{:?}", caps.formats),
        format!("{:?} {:?}", status.state, status.reasons),
        format!("{states:?}"),
        format!("{again:?}"),
    ])
}

#[cfg(feature = "ipp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ipp_job_replays_its_states_after_the_printer_is_gone() {
    use buergerkoffer::backend::ipp::IppPrinter;
    let _serial = SERIAL.lock().await;
    let (_tmp, dir) = session_dir();
    let (recorded, id) = {
        let peer = ipp_support::Peer::start_fast("application/pdf,image/jpeg", false);
        let printer = IppPrinter::connect(&peer.uri, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("connect to ippeveprinter: {e}"));
        let id = buergerkoffer::Printer::info(&printer).id.clone();
        let rec = Recorder::create(&dir).unwrap();
        let printer = rec.printer(Box::new(printer));
        let seen = print_program(&printer, 1).await.unwrap();
        rec.finish().unwrap();
        (seen, id)
    }; // ippeveprinter is stopped here
    assert!(recorded[0].contains("Jpeg"), "{recorded:?}");
    assert!(recorded[2].ends_with("Completed]"), "{recorded:?}");
    assert_eq!(recorded[3], "Err(InvalidInput)");

    let replay = ReplayKit::open(&dir).unwrap();
    let kit = replay.kit();
    let printer = kit.open_printer(&id).await.unwrap();
    assert_eq!(print_program(&*printer, 1).await.unwrap(), recorded);
    replay.done().unwrap();

    let replay = ReplayKit::open(&dir).unwrap();
    let printer = replay.printer(&id).unwrap();
    let e = print_program(&printer, 2).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let report = replay.done().unwrap_err().to_string();
    assert!(
        report.contains("options.copies: 2 (recorded 1)"),
        "{report}"
    );
}

// ---- pcscd + our virtual eID card --------------------------------------------------------

#[cfg(feature = "pcsc")]
fn npa_model() -> pcsc_peer::CardModel {
    use buergerkoffer::card::eid;
    pcsc_peer::CardModel {
        atr: eid::KNOWN_NPA_ATRS[0].to_vec(),
        files: vec![(0x011C, eid::NPA_GEN1_EF_CARDACCESS.to_vec())],
        extended: true,
        slow: Duration::from_secs(3),
    }
}

#[cfg(feature = "pcsc")]
async fn eid_program(
    r: &dyn buergerkoffer::CardReader,
    pin: &[u8],
) -> buergerkoffer::Result<Vec<String>> {
    use buergerkoffer::card::eid::{self, ReadLength};
    use buergerkoffer::card::{CommandApdu, Disposition, SecretBytes, ShareMode};
    let st = r.status().await?;
    let mut card = r.connect(ShareMode::Shared).await?;
    let info = eid::read_card_access(&mut *card, ReadLength::Short).await?;
    // 61xx and 6Cxx, followed through by `transmit`.
    let get = card
        .transmit(&CommandApdu::new(0x00, 0xCA, 0x01, 0x00))
        .await?;
    let wrong_le = card
        .transmit(&CommandApdu::new(0x00, 0xCA, 0x02, 0x00).with_le(1))
        .await?;
    let verify = CommandApdu::new(0x00, 0x20, 0x00, 0x03).with_secret_data(SecretBytes::from(pin));
    let v = card.transmit(&verify).await?;
    card.disconnect(Disposition::Leave).await?;
    Ok(vec![
        format!("{:?}", st.atr),
        format!("{:?}", info.card_access),
        format!("{} {:?}", get.data().len(), get.sw()),
        format!("{:?} {:?}", wrong_le.data(), wrong_le.sw()),
        format!("{:?}", v.sw()),
    ])
}

/// Inserts our card into reader 1 once no other card is there (another test process may use
/// the reader: wait for it, for up to two minutes), and waits until pcscd reports it.
#[cfg(feature = "pcsc")]
async fn insert_when_free(r: &buergerkoffer::backend::pcsc::PcscReader) -> pcsc_peer::VirtualCard {
    use buergerkoffer::CardReader;
    let want = buergerkoffer::card::eid::KNOWN_NPA_ATRS[0];
    for _attempt in 0..24 {
        let free = r.status().await.is_ok_and(|s| !s.card_present());
        if free {
            let card = pcsc_peer::VirtualCard::insert(pcsc_peer::READER1_PORT, npa_model());
            for _ in 0..100 {
                if let Ok(st) = r.status().await {
                    if st.atr.as_ref().is_some_and(|a| a.as_bytes() == want) {
                        return card;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            card.pull();
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    panic!(
        "{} stayed busy (another card in it) for two minutes",
        pcsc_peer::READER1
    );
}

#[cfg(feature = "pcsc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eid_read_replays_after_the_card_is_gone() {
    use buergerkoffer::backend::pcsc::PcscProvider;
    use buergerkoffer::CardReader;
    let _serial = SERIAL.lock().await;
    let _lock = pcsc_peer::LOCK.lock().await;
    pcsc_peer::ensure_pcscd();
    let (_tmp, dir) = session_dir();
    // A pcscd that has just been started (or is about to auto-exit) may refuse the first
    // client for a moment: retry for a few seconds.
    let mut reader = None;
    let mut last = None;
    for _ in 0..40 {
        match PcscProvider::new().reader(pcsc_peer::READER1).await {
            Ok(r) => {
                reader = Some(r);
                break;
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        pcsc_peer::ensure_pcscd();
    }
    let reader = reader.unwrap_or_else(|| panic!("open {}: {last:?}", pcsc_peer::READER1));
    let id = reader.info().id.clone();
    let card = insert_when_free(&reader).await;
    let rec = Recorder::create(&dir).unwrap();
    let recorded = {
        let reader = rec.reader(Box::new(reader));
        eid_program(&reader, b"123456").await.unwrap()
    };
    rec.finish().unwrap();
    card.pull(); // the peer card is gone; pcscd itself is shared and keeps running
    assert_eq!(
        recorded[1],
        format!("{:?}", buergerkoffer::card::eid::NPA_GEN1_EF_CARDACCESS)
    );
    assert_eq!(recorded[2], "32 StatusWord(90 00)");
    assert_eq!(recorded[3], "[1, 2, 3, 4, 5] StatusWord(90 00)");
    let text = std::fs::read_to_string(dir.join("session.jsonl")).unwrap();
    assert!(
        !text.contains("31 32 33 34 35 36"),
        "the PIN reached the session"
    );
    assert!(text.contains(r#""secret":11"#), "{text}");

    let replay = ReplayKit::open(&dir).unwrap();
    let reader = replay.reader(&id).unwrap();
    assert_eq!(eid_program(&reader, b"654321").await.unwrap(), recorded);
    replay.done().unwrap();

    // Reading EF.CardAccess with extended length is another command: refused and named.
    let replay = ReplayKit::open(&dir).unwrap();
    let reader = replay.reader(&id).unwrap();
    reader.status().await.unwrap();
    let mut card = reader
        .connect(buergerkoffer::card::ShareMode::Shared)
        .await
        .unwrap();
    let e = buergerkoffer::card::eid::read_card_access(
        &mut *card,
        buergerkoffer::card::eid::ReadLength::Extended,
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let report = replay.done().unwrap_err().to_string();
    assert!(
        report.contains("cmd: 00 B0 00 00 00 00 00 (recorded 00 B0 00 00 00)"),
        "{report}"
    );
}

#[cfg(feature = "ipp")]
struct IppRig(buergerkoffer::backend::ipp::IppPrinter);

#[cfg(feature = "ipp")]
#[async_trait]
impl buergerkoffer::conformance::PrinterRig for IppRig {
    fn printer(&self) -> &dyn buergerkoffer::Printer {
        &self.0
    }

    /// ippeveprinter cannot be told to run out of paper (as in `tests/peer_conformance.rs`).
    async fn set_media_empty(&self, _empty: bool) -> buergerkoffer::Result<bool> {
        Ok(false)
    }
}

#[cfg(feature = "ipp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suite_recorded_on_ippeveprinter_passes_on_the_replay() {
    use buergerkoffer::backend::ipp::IppPrinter;
    use buergerkoffer::conformance;
    use buergerkoffer::record::{RecordingPrinterRig, ReplayPrinterRig};
    let _serial = SERIAL.lock().await;
    let (_tmp, dir) = session_dir();
    let (recorded, id) = {
        let peer = ipp_support::Peer::start_fast("image/jpeg,image/pwg-raster", false);
        let printer = IppPrinter::connect(&peer.uri, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("connect to ippeveprinter: {e}"));
        let id = buergerkoffer::Printer::info(&printer).id.clone();
        let rec = Recorder::create(&dir).unwrap();
        let report =
            conformance::check_printer(&RecordingPrinterRig::new(IppRig(printer), &rec)).await;
        rec.finish().unwrap();
        (report, id)
    }; // ippeveprinter is stopped here
    println!("recorded against {id}:\n{recorded}");
    recorded.assert_passed(&["media_empty_holds_the_job"]);
    // The suite's PDF carries its creation time and a fresh file id: a new document each run.
    let opts = ReplayOptions::new().ignore("print", "document.hash");
    let replay = ReplayKit::with_options(&dir, opts).unwrap();
    let replayed =
        conformance::check_printer(&ReplayPrinterRig::new(replay.printer(&id).unwrap())).await;
    println!("replayed:\n{replayed}");
    replayed.assert_passed(&["media_empty_holds_the_job"]);
    assert_eq!(replayed.results, recorded.results);
    replay.done().unwrap();
}
