//! The mock kit for trying the check (and the kit tool) without hardware: the standard
//! [`MockKit`] — with feature `usb` also a [`MockUsbBus`](crate::usb::MockUsbBus) holding the
//! standard kit's USB devices — and faults injected by name (`scanner=hang`,
//! `printer=media-empty`, `reader=no-card`, ...), so scripts, CI and outside checks can
//! exercise every failure the check reports.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

use crate::card::{Card, CardReader, ReaderEvent, ReaderFeatures, ReaderStatus, ShareMode};
use crate::device::{Backend, BoxStream, DeviceEvent, DeviceId, DeviceInfo};
use crate::error::{Error, ErrorKind, Result};
use crate::kit::Kit;
use crate::mock::MockKit;
use crate::print::{Printer, StateReason, Supply, SupplyLevel};
use crate::provider::Provider;
use crate::scan::Scanner;

/// A fault of the mock kit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MockFault {
    /// `scanner=hang`: opening the scanner never returns (a hung backend).
    ScannerHang,
    /// `scanner=gone`: the scanner is unplugged (also from the USB bus).
    ScannerGone,
    /// `scanner=jam`: every scan jams at the first page.
    ScannerJam,
    /// `printer=media-empty`: out of paper (`media-empty-error`).
    PrinterMediaEmpty,
    /// `printer=jam`: paper jam (`media-jam-error`).
    PrinterJam,
    /// `printer=offline`: the printer reports itself offline (`offline-error`).
    PrinterOffline,
    /// `printer=toner-low`: black toner at 5 % (`toner-low-warning`; it still prints).
    PrinterTonerLow,
    /// `printer=gone`: the printer is unplugged (also from the USB bus).
    PrinterGone,
    /// `reader=no-card`: no card in the reader.
    ReaderNoCard,
    /// `reader=gone`: the reader is unplugged (also from the USB bus).
    ReaderGone,
    /// `reader=hang`: the reader never answers (a hung PC/SC service).
    ReaderHang,
}

/// Every fault with its name, as `--mock-fault` takes it.
pub const FAULTS: &[(&str, MockFault)] = &[
    ("scanner=hang", MockFault::ScannerHang),
    ("scanner=gone", MockFault::ScannerGone),
    ("scanner=jam", MockFault::ScannerJam),
    ("printer=media-empty", MockFault::PrinterMediaEmpty),
    ("printer=jam", MockFault::PrinterJam),
    ("printer=offline", MockFault::PrinterOffline),
    ("printer=toner-low", MockFault::PrinterTonerLow),
    ("printer=gone", MockFault::PrinterGone),
    ("reader=no-card", MockFault::ReaderNoCard),
    ("reader=gone", MockFault::ReaderGone),
    ("reader=hang", MockFault::ReaderHang),
];

impl FromStr for MockFault {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let key = s.trim().to_ascii_lowercase();
        FAULTS
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = FAULTS.iter().map(|(n, _)| *n).collect();
                Error::new(ErrorKind::InvalidInput, "mock", "parse mock fault")
                    .with_detail(format!("`{s}`: expected one of {}", names.join(", ")))
            })
    }
}

impl fmt::Display for MockFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = FAULTS
            .iter()
            .find(|(_, x)| x == self)
            .map_or("?", |(n, _)| *n);
        f.write_str(name)
    }
}

/// The mock kit with its faults applied.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MockSetup {
    /// The kit to hand to the code under test (the mock provider, and with feature `usb` the
    /// mock bus).
    pub kit: Kit,
    /// The mock devices, to inspect or change further.
    pub mock: MockKit,
    /// The mock USB bus with the standard kit's devices (feature `usb`).
    #[cfg(feature = "usb")]
    pub usb: crate::usb::MockUsbBus,
}

impl MockSetup {
    /// [`MockKit::standard`] (`mock:reader` with an eID card, `mock:scanner`,
    /// `mock:printer`), on a mock USB bus holding a REINER SCT cyberJack RFID standard
    /// (`usb:1-1`), a Fujitsu fi-7160 (`usb:1-2`) and an HP LaserJet (`usb:1-3`), with
    /// `faults` applied. The printer reports its black toner at 80 % (5 % with
    /// `printer=toner-low`).
    pub fn new(faults: &[MockFault]) -> Self {
        let mock = MockKit::standard();
        #[cfg(feature = "usb")]
        let usb = {
            use crate::usb::fixtures;
            let bus = crate::usb::MockUsbBus::new();
            for (i, f) in [
                fixtures::CYBERJACK_RFID_STANDARD,
                fixtures::FUJITSU_FI_7160,
                fixtures::HP_LASERJET_IPP_USB,
            ]
            .iter()
            .enumerate()
            {
                if let Ok(d) = f.device_at(1, &[i as u8 + 1]) {
                    bus.plug(d);
                }
            }
            bus
        };
        let mut hang_scanner = false;
        let mut hang_reader = false;
        let reason = |k: &str| StateReason::from_keyword(k).into_iter().collect::<Vec<_>>();
        let toner = |percent| {
            Supply::new("Black Toner", SupplyLevel::Percent(percent))
                .with_low_level(10)
                .with_kind("toner")
                .with_color("#000000")
        };
        if let Some(p) = mock.printer("printer") {
            p.set_supplies(vec![toner(80)]);
        }
        for f in faults {
            match f {
                MockFault::ScannerHang => hang_scanner = true,
                MockFault::ReaderHang => hang_reader = true,
                MockFault::ScannerGone => {
                    mock.unplug("scanner");
                    #[cfg(feature = "usb")]
                    usb.unplug(&DeviceId::new(Backend::Usb, "1-2"));
                }
                MockFault::ReaderGone => {
                    mock.unplug("reader");
                    #[cfg(feature = "usb")]
                    usb.unplug(&DeviceId::new(Backend::Usb, "1-1"));
                }
                MockFault::PrinterGone => {
                    mock.unplug("printer");
                    #[cfg(feature = "usb")]
                    usb.unplug(&DeviceId::new(Backend::Usb, "1-3"));
                }
                MockFault::ScannerJam => {
                    if let Some(s) = mock.scanner("scanner") {
                        s.fail_at(1, ErrorKind::PaperJam);
                    }
                }
                MockFault::PrinterMediaEmpty
                | MockFault::PrinterJam
                | MockFault::PrinterOffline => {
                    let k = match f {
                        MockFault::PrinterMediaEmpty => "media-empty-error",
                        MockFault::PrinterJam => "media-jam-error",
                        _ => "offline-error",
                    };
                    if let Some(p) = mock.printer("printer") {
                        for r in reason(k) {
                            p.add_reason(r);
                        }
                    }
                }
                MockFault::PrinterTonerLow => {
                    if let Some(p) = mock.printer("printer") {
                        p.set_supplies(vec![toner(5)]);
                        for r in reason("toner-low-warning") {
                            p.add_reason(r);
                        }
                    }
                }
                MockFault::ReaderNoCard => {
                    if let Some(r) = mock.reader("reader") {
                        r.remove_card();
                    }
                }
            }
        }
        let provider = Faulty {
            mock: mock.clone(),
            hang_scanner,
            hang_reader,
        };
        #[allow(unused_mut)]
        let mut kit = Kit::new().with_provider(provider);
        #[cfg(feature = "usb")]
        {
            kit = kit.with_usb(usb.clone());
        }
        MockSetup {
            kit,
            mock,
            #[cfg(feature = "usb")]
            usb,
        }
    }
}

/// The mock kit as a provider, with the hangs no mock device has on its own.
struct Faulty {
    mock: MockKit,
    hang_scanner: bool,
    hang_reader: bool,
}

#[async_trait]
impl Provider for Faulty {
    fn backend(&self) -> Backend {
        Backend::Mock
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        self.mock.devices().await
    }

    async fn open_reader(&self, id: &DeviceId) -> Result<Box<dyn CardReader>> {
        let reader = self.mock.open_reader(id).await?;
        if self.hang_reader {
            return Ok(Box::new(HungReader(reader.info().clone())));
        }
        Ok(reader)
    }

    async fn open_scanner(&self, id: &DeviceId) -> Result<Box<dyn Scanner>> {
        if self.hang_scanner {
            tracing::debug!(device = %id, "mock scanner hangs at open");
            std::future::pending::<()>().await;
        }
        self.mock.open_scanner(id).await
    }

    async fn open_printer(&self, id: &DeviceId) -> Result<Box<dyn Printer>> {
        self.mock.open_printer(id).await
    }

    fn events(&self) -> BoxStream<DeviceEvent> {
        self.mock.events()
    }
}

/// A reader whose every call stays pending, as with a hung PC/SC service.
struct HungReader(DeviceInfo);

#[async_trait]
impl CardReader for HungReader {
    fn info(&self) -> &DeviceInfo {
        &self.0
    }

    async fn status(&self) -> Result<ReaderStatus> {
        std::future::pending().await
    }

    fn events(&self) -> BoxStream<ReaderEvent> {
        Box::pin(futures_util::stream::pending())
    }

    async fn connect(&self, _mode: ShareMode) -> Result<Box<dyn Card>> {
        std::future::pending().await
    }

    async fn features(&self) -> Result<ReaderFeatures> {
        std::future::pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_parses_back_from_its_name() {
        for (name, f) in FAULTS {
            assert_eq!(name.parse::<MockFault>().unwrap(), *f);
            assert_eq!(f.to_string(), *name);
        }
        let e = "scanner=melt".parse::<MockFault>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("scanner=hang"), "{e}");
    }
}
