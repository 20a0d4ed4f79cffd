//! The conformance suite against the real peers: libsane's `test` backend, ippeveprinter,
//! pcscd + vsmartcard with our own virtual card. The same checks run against the mocks in
//! `tests/conformance_mocks.rs`; where the two disagree, the backend here is the truth.
//!
//! Each peer test fails, naming the Debian packages, when its peer is missing.

#![allow(dead_code, unused_imports)]

#[path = "peer_ipp/support.rs"]
mod ipp_support;
mod pcsc_peer;
mod sane_peer;

use std::sync::Mutex;

/// One peer at a time: run together in one process, libsane's `test` backend and
/// ippeveprinter slowed each other past the checks' time limits on two cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
use std::time::Duration;

use async_trait::async_trait;
use buergerkoffer::card::CardReader;
use buergerkoffer::conformance::{self, PrinterRig, ReaderRig, ScanFault, ScannerRig};
use buergerkoffer::scan::{ScanRequest, Scanner};
use buergerkoffer::{DeviceId, Printer, Result};

// ---- SANE `test` -------------------------------------------------------------------------

#[cfg(feature = "sane")]
struct SaneRig(buergerkoffer::backend::sane::SaneScanner);

#[cfg(feature = "sane")]
#[async_trait]
impl ScannerRig for SaneRig {
    fn scanner(&self) -> &dyn Scanner {
        &self.0
    }

    /// [`sane_peer::inject_status`]: the status comes at the first page.
    async fn inject(
        &self,
        fault: ScanFault,
        request: ScanRequest,
    ) -> Result<Option<(ScanRequest, u32)>> {
        Ok(sane_peer::inject_status(fault, request))
    }
}

#[cfg(feature = "sane")]
#[tokio::test(flavor = "multi_thread")]
async fn sane_test_backend_keeps_every_scanner_promise() {
    let _serial = SERIAL.lock().await;
    use buergerkoffer::backend::sane::SaneProvider;
    sane_peer::sane_env();
    let id: DeviceId = "sane:test:39".parse().unwrap();
    let scanner = SaneProvider::new()
        .open(&id)
        .await
        .unwrap_or_else(|e| panic!("cannot open {id}: {e}; {}", sane_peer::INSTALL));
    let report = conformance::check_scanner(&SaneRig(scanner)).await;
    println!("{report}");
    report.assert_passed(&[]);
}

// ---- ippeveprinter -----------------------------------------------------------------------

/// The printer, and ippeveprinter's spool directory (it keeps every document it receives).
#[cfg(feature = "ipp")]
struct IppRig(buergerkoffer::backend::ipp::IppPrinter, std::path::PathBuf);

#[cfg(feature = "ipp")]
#[async_trait]
impl PrinterRig for IppRig {
    fn printer(&self) -> &dyn Printer {
        &self.0
    }

    /// ippeveprinter cannot be told to run out of paper.
    async fn set_media_empty(&self, _empty: bool) -> Result<bool> {
        Ok(false)
    }

    /// The spool file `JOB-name.ext`; its format from the extension ippeveprinter gives it.
    async fn received(
        &self,
        job: buergerkoffer::print::JobId,
    ) -> Option<(buergerkoffer::print::DocumentFormat, bytes::Bytes)> {
        use buergerkoffer::print::DocumentFormat;
        let prefix = format!("{}-", job.0);
        let path = std::fs::read_dir(&self.1)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                ipp_support::is_spool_file(p)
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with(&prefix))
            })?;
        let format = match path.extension()?.to_str()? {
            "pdf" => DocumentFormat::Pdf,
            "jpg" | "jpeg" => DocumentFormat::Jpeg,
            "pwg" => DocumentFormat::PwgRaster,
            "urf" => DocumentFormat::Urf,
            other => DocumentFormat::Other(other.to_owned()),
        };
        Some((format, std::fs::read(&path).ok()?.into()))
    }
}

#[cfg(feature = "ipp")]
#[tokio::test(flavor = "multi_thread")]
async fn ippeveprinter_keeps_every_printer_promise() {
    let _serial = SERIAL.lock().await;
    use buergerkoffer::backend::ipp::IppPrinter;
    for formats in [
        "application/pdf,image/jpeg,image/pwg-raster",
        "image/jpeg",
        "image/pwg-raster",
        "image/urf",
    ] {
        // Jobs take a second, not ippeveprinter's simulated 5 to 15 s.
        let peer = ipp_support::Peer::start_fast(formats, false);
        let printer = IppPrinter::connect(&peer.uri, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("connect to ippeveprinter ({formats}): {e}"));
        let report = conformance::check_printer(&IppRig(printer, peer.dir.path().to_owned())).await;
        println!("ippeveprinter -f {formats}\n{report}");
        report.assert_passed(&["media_empty_holds_the_job"]);
    }
}

// ---- pcscd + vpcd + our virtual card -----------------------------------------------------

#[cfg(feature = "pcsc")]
struct PcscRig {
    reader: buergerkoffer::backend::pcsc::PcscReader,
    card: Mutex<Option<pcsc_peer::VirtualCard>>,
}

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
#[async_trait]
impl ReaderRig for PcscRig {
    fn reader(&self) -> &dyn CardReader {
        &self.reader
    }

    async fn insert_card(&self) -> Result<()> {
        let card = pcsc_peer::VirtualCard::insert(pcsc_peer::READER1_PORT, npa_model());
        if let Some(old) = self.card.lock().unwrap().replace(card) {
            old.pull();
        }
        Ok(())
    }

    async fn remove_card(&self) -> Result<()> {
        if let Some(card) = self.card.lock().unwrap().take() {
            card.pull();
        }
        Ok(())
    }

    /// Our card takes 3 s for INS `EE`.
    async fn slow_command(&self) -> Result<Option<Vec<u8>>> {
        Ok(Some(vec![0x00, 0xEE, 0x00, 0x00]))
    }
}

#[cfg(feature = "pcsc")]
#[tokio::test(flavor = "multi_thread")]
async fn pcscd_reader_keeps_every_reader_promise() {
    let _serial = SERIAL.lock().await;
    use buergerkoffer::backend::pcsc::PcscProvider;
    pcsc_peer::ensure_pcscd();
    let reader = PcscProvider::new()
        .reader(pcsc_peer::READER1)
        .await
        .expect("open Virtual PCD 00 01");
    let rig = PcscRig {
        reader,
        card: Mutex::new(None),
    };
    let report = conformance::check_reader(&rig).await;
    println!("{report}");
    report.assert_passed(&["lag_is_explicit"]);
}
