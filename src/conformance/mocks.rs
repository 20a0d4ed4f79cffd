//! Rigs for the mock devices, so the conformance suite runs against them exactly as against
//! real devices: a jam is [`MockScanner::fail_once_at`], an empty feeder zero sheets, no paper
//! a `media-empty-error` reason, a card pulled [`MockReader::remove_card`].

use async_trait::async_trait;
use bytes::Bytes;

use super::{PrinterRig, ReaderRig, ScanFault, ScannerRig};
use crate::card::CardReader;
use crate::error::{ErrorKind, Result};
use crate::mock::{ApduStep, MockCard, MockPrinter, MockReader, MockScanner};
use crate::print::{DocumentFormat, JobId, Printer, ReasonKind, Severity, StateReason};
use crate::scan::{ScanRequest, Scanner};

/// A [`ScannerRig`] for a [`MockScanner`].
#[derive(Debug)]
pub struct MockScannerRig {
    scanner: MockScanner,
    sheets: u32,
}

impl MockScannerRig {
    /// A rig for `scanner`, which must hold at least 3 sheets in its feeder (the checks scan
    /// up to 3 pages at a time). An empty feeder is restored to 10 sheets after its check.
    pub fn new(scanner: MockScanner) -> Self {
        MockScannerRig {
            scanner,
            sheets: 10,
        }
    }
}

#[async_trait]
impl ScannerRig for MockScannerRig {
    fn scanner(&self) -> &dyn Scanner {
        &self.scanner
    }

    async fn inject(
        &self,
        fault: ScanFault,
        request: ScanRequest,
    ) -> Result<Option<(ScanRequest, u32)>> {
        match fault {
            ScanFault::Jam { at_page } => {
                self.scanner.fail_once_at(at_page, ErrorKind::PaperJam);
                Ok(Some((request, at_page)))
            }
            ScanFault::EmptyFeeder => {
                self.scanner.set_adf_pages(0);
                Ok(Some((request, 1)))
            }
        }
    }

    async fn clear_faults(&self) -> Result<()> {
        self.scanner.clear_faults();
        self.scanner.set_adf_pages(self.sheets);
        Ok(())
    }
}

/// A [`PrinterRig`] for a [`MockPrinter`].
#[derive(Debug)]
pub struct MockPrinterRig {
    printer: MockPrinter,
}

impl MockPrinterRig {
    /// A rig for `printer`.
    pub fn new(printer: MockPrinter) -> Self {
        MockPrinterRig { printer }
    }
}

#[async_trait]
impl PrinterRig for MockPrinterRig {
    fn printer(&self) -> &dyn Printer {
        &self.printer
    }

    async fn set_media_empty(&self, empty: bool) -> Result<bool> {
        if empty {
            self.printer
                .add_reason(StateReason::new(ReasonKind::MediaEmpty, Severity::Error));
        } else {
            self.printer.clear_reasons();
        }
        Ok(true)
    }

    async fn received(&self, job: JobId) -> Option<(DocumentFormat, Bytes)> {
        self.printer
            .documents()
            .into_iter()
            .find(|d| d.job == job)
            .map(|d| (d.format, d.data))
    }
}

/// A [`ReaderRig`] for a [`MockReader`]: it inserts [`MockCard::eid`] cards.
#[derive(Debug)]
pub struct MockReaderRig {
    reader: MockReader,
}

impl MockReaderRig {
    /// A rig for `reader`.
    pub fn new(reader: MockReader) -> Self {
        MockReaderRig { reader }
    }
}

/// The command the rig's cards answer never (a hang): `00 EE 00 00`.
const SLOW: [u8; 4] = [0x00, 0xEE, 0x00, 0x00];

#[async_trait]
impl ReaderRig for MockReaderRig {
    fn reader(&self) -> &dyn CardReader {
        &self.reader
    }

    async fn insert_card(&self) -> Result<()> {
        self.reader.insert(MockCard::eid());
        Ok(())
    }

    async fn remove_card(&self) -> Result<()> {
        // A card armed by `slow_command` must have had its hang step.
        match self.reader.remove_card() {
            Some(card) => card.done(),
            None => Ok(()),
        }
    }

    async fn slow_command(&self) -> Result<Option<Vec<u8>>> {
        Ok(self.reader.card().map(|card| {
            card.expect([ApduStep::hang(SLOW)]);
            SLOW.to_vec()
        }))
    }

    async fn burst_events(&self, n: usize) -> Result<bool> {
        for _ in 0..n.div_ceil(2) {
            self.reader.insert(MockCard::eid());
            self.reader.remove_card();
        }
        Ok(true)
    }
}
