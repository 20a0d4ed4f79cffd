//! Mock devices for your integration tests: scriptable, with fault injection, always compiled.
//!
//! - [`MockScanner`]: document-like pages in every pixel format, an ADF that runs empty,
//!   faults (jam, cover open, I/O, unplug) at a chosen page, delays and hangs.
//! - [`FolderScanner`]: replays PNM/JPEG files of a folder as pages.
//! - [`MockReader`] / [`MockCard`]: a card answering APDUs from a script or a closure; insert,
//!   remove, unplug, remove-during-transmit, hangs and delays.
//! - [`MockPrinter`]: records documents and options; state reasons (media-empty holds jobs,
//!   a jam stops them); job lifecycle in tokio time.
//! - [`MockKit`]: all of them behind one [`Provider`], with plug/unplug events.
//!
//! Handles are cheap `Arc` clones that share the device: keep one in the test to inject faults
//! while the code under test uses another, opened through a [`Kit`](crate::Kit).
//!
//! Mocks can be told what to expect (`expect_*`); `done()` reports every difference as an
//! error, and a mock that had expectations but is dropped without `done()` panics, failing the
//! test (like embedded-hal-mock). Injected failures are returned as errors, never unwrapped.
//! Delays use tokio time, so tests can run them on a paused clock.

mod card;
mod content;
mod folder;
mod printer;
mod scanner;
mod script;

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::broadcast;

pub use card::{
    parse_features, Action, MockCard, MockReader, Step, FEATURE_EXECUTE_PACE,
    FEATURE_MODIFY_PIN_DIRECT, FEATURE_VERIFY_PIN_DIRECT, GET_FEATURE_REQUEST,
};
pub use folder::FolderScanner;
pub use printer::{MockPrinter, PrintedDocument};
pub use scanner::{MockScanner, ScanFault, ScannerStats};

use crate::card::{Atr, CardReader};
use crate::device::{
    broadcast_stream, Backend, BoxStream, DeviceEvent, DeviceId, DeviceInfo, Provider,
};
use crate::error::{Error, ErrorKind, Result};
use crate::print::Printer;
use crate::scan::Scanner;

/// The ATR the standard mock card reports: that of the `vicc` virtual card used in the
/// real-peer tests.
pub const MOCK_CARD_ATR: &str = "3B 95 13 81 01 80 73 FF 01 00 0B";

#[derive(Default)]
struct Devices {
    readers: Vec<MockReader>,
    scanners: Vec<MockScanner>,
    folders: Vec<FolderScanner>,
    printers: Vec<MockPrinter>,
}

/// A whole mock kit: card readers, scanners and printers behind one [`Provider`], with
/// plug/unplug events. Cheap to clone; clones share the kit.
#[derive(Clone)]
pub struct MockKit {
    devices: Arc<Mutex<Devices>>,
    events: broadcast::Sender<DeviceEvent>,
}

impl std::fmt::Debug for MockKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.lock();
        f.debug_struct("MockKit")
            .field("readers", &d.readers.len())
            .field("scanners", &(d.scanners.len() + d.folders.len()))
            .field("printers", &d.printers.len())
            .finish()
    }
}

impl Default for MockKit {
    fn default() -> Self {
        MockKit::new()
    }
}

impl MockKit {
    /// An empty kit.
    pub fn new() -> Self {
        MockKit {
            devices: Arc::new(Mutex::new(Devices::default())),
            events: broadcast::channel(64).0,
        }
    }

    /// The standard kit: reader `mock:reader` with a card inserted (ATR [`MOCK_CARD_ATR`]),
    /// scanner `mock:scanner` (flatbed and an ADF holding 10 sheets) and printer
    /// `mock:printer`.
    pub fn standard() -> Self {
        let reader = MockReader::new("reader");
        if let Ok(atr) = MOCK_CARD_ATR.parse::<Atr>() {
            reader.insert(MockCard::new(atr));
        }
        MockKit::new()
            .with_reader(reader)
            .with_scanner(MockScanner::new("scanner").feeder(10))
            .with_printer(MockPrinter::new("printer"))
    }

    fn lock(&self) -> MutexGuard<'_, Devices> {
        self.devices.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a reader.
    #[must_use]
    pub fn with_reader(self, r: MockReader) -> Self {
        self.lock().readers.push(r);
        self
    }

    /// Adds a scanner.
    #[must_use]
    pub fn with_scanner(self, s: MockScanner) -> Self {
        self.lock().scanners.push(s);
        self
    }

    /// Adds a folder scanner.
    #[must_use]
    pub fn with_folder_scanner(self, s: FolderScanner) -> Self {
        self.lock().folders.push(s);
        self
    }

    /// Adds a printer.
    #[must_use]
    pub fn with_printer(self, p: MockPrinter) -> Self {
        self.lock().printers.push(p);
        self
    }

    /// The reader with this id (a shared handle), if present.
    pub fn reader(&self, name: &str) -> Option<MockReader> {
        let id = DeviceId::mock(name);
        self.lock()
            .readers
            .iter()
            .find(|r| r.info().id == id)
            .cloned()
    }

    /// The scanner with this name (a shared handle), if present.
    pub fn scanner(&self, name: &str) -> Option<MockScanner> {
        let id = DeviceId::mock(name);
        self.lock()
            .scanners
            .iter()
            .find(|s| s.info().id == id)
            .cloned()
    }

    /// The printer with this name (a shared handle), if present.
    pub fn printer(&self, name: &str) -> Option<MockPrinter> {
        let id = DeviceId::mock(name);
        self.lock()
            .printers
            .iter()
            .find(|p| p.info().id == id)
            .cloned()
    }

    fn emit(&self, ev: DeviceEvent) {
        let _ = self.events.send(ev);
    }

    /// Plugs a reader in at run time ([`DeviceEvent::Added`]).
    pub fn plug_reader(&self, r: MockReader) {
        let info = r.info().clone();
        self.lock().readers.push(r);
        self.emit(DeviceEvent::Added(info));
    }

    /// Plugs a scanner in at run time.
    pub fn plug_scanner(&self, s: MockScanner) {
        let info = s.info().clone();
        self.lock().scanners.push(s);
        self.emit(DeviceEvent::Added(info));
    }

    /// Plugs a printer in at run time.
    pub fn plug_printer(&self, p: MockPrinter) {
        let info = p.info().clone();
        self.lock().printers.push(p);
        self.emit(DeviceEvent::Added(info));
    }

    /// Unplugs a device by id ([`DeviceEvent::Removed`]); open handles fail with
    /// [`ErrorKind::DeviceGone`]. Returns whether the device was present.
    pub fn unplug(&self, id: &DeviceId) -> bool {
        let found = {
            let mut d = self.lock();
            let mut found = false;
            d.readers.retain(|r| {
                let hit = &r.info().id == id;
                if hit {
                    r.unplug();
                    found = true;
                }
                !hit
            });
            d.scanners.retain(|s| {
                let hit = &s.info().id == id;
                if hit {
                    s.unplug();
                    found = true;
                }
                !hit
            });
            d.printers.retain(|p| {
                let hit = &p.info().id == id;
                if hit {
                    p.unplug();
                    found = true;
                }
                !hit
            });
            let before = d.folders.len();
            d.folders.retain(|f| &f.info().id != id);
            found || d.folders.len() != before
        };
        if found {
            self.emit(DeviceEvent::Removed(id.clone()));
        }
        found
    }

    fn not_found(id: &DeviceId, op: &'static str) -> Error {
        Error::new(ErrorKind::NotFound, id.to_string(), op)
            .with_detail("no such device in the mock kit")
    }
}

#[async_trait]
impl Provider for MockKit {
    fn backend(&self) -> Backend {
        Backend::Mock
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let d = self.lock();
        Ok(d.readers
            .iter()
            .map(|r| r.info().clone())
            .chain(d.scanners.iter().map(|s| s.info().clone()))
            .chain(d.folders.iter().map(|s| s.info().clone()))
            .chain(d.printers.iter().map(|p| p.info().clone()))
            .collect())
    }

    async fn open_reader(&self, id: &DeviceId) -> Result<Box<dyn CardReader>> {
        let r = self
            .lock()
            .readers
            .iter()
            .find(|r| &r.info().id == id)
            .cloned();
        r.map(|r| Box::new(r) as Box<dyn CardReader>)
            .ok_or_else(|| Self::not_found(id, "open card reader"))
    }

    async fn open_scanner(&self, id: &DeviceId) -> Result<Box<dyn Scanner>> {
        let d = self.lock();
        if let Some(s) = d.scanners.iter().find(|s| &s.info().id == id) {
            return Ok(Box::new(s.clone()));
        }
        if let Some(s) = d.folders.iter().find(|s| &s.info().id == id) {
            return Ok(Box::new(s.clone()));
        }
        Err(Self::not_found(id, "open scanner"))
    }

    async fn open_printer(&self, id: &DeviceId) -> Result<Box<dyn Printer>> {
        let p = self
            .lock()
            .printers
            .iter()
            .find(|p| &p.info().id == id)
            .cloned();
        p.map(|p| Box::new(p) as Box<dyn Printer>)
            .ok_or_else(|| Self::not_found(id, "open printer"))
    }

    fn events(&self) -> BoxStream<DeviceEvent> {
        broadcast_stream(self.events.subscribe(), |missed| DeviceEvent::Lagged {
            missed,
        })
    }
}
