//! Mock devices for your integration tests: scriptable, with fault injection, always compiled.
//!
//! Every mock is a cheap handle (`Clone` shares the device, like an `Arc`), so a test keeps
//! one handle while the code under test opens the same device through a [`Kit`](crate::Kit)
//! holding a [`MockKit`], and injects faults into it at run time.
//!
//! Mocks can be told what to expect (in the spirit of `embedded-hal-mock`): each has
//! `expect*` methods and a `done()` that reports every difference — an unexpected call, a
//! call with other arguments, an expectation never used — as an error. A mock that was given
//! expectations and is dropped without `done()` panics (unless the thread already panics);
//! mocks without expectations run free and never panic. Injected failures are always returned
//! as errors, never unwrapped.
//!
//! | mock | trait | faults it can inject |
//! |------|-------|----------------------|
//! | [`MockScanner`] | `Scanner` | feeder empty, jam / cover open / I/O / gone at page k, hang, busy, delay |
//! | [`FolderScanner`] | `Scanner` | replays PNM/JPEG files; a corrupt file is a protocol error |
//! | [`MockReader`], [`MockCard`] | `CardReader`, `Card` | card in/out, reader gone, removal during transmit, hang, delay, any error per APDU |
//! | [`MockPrinter`] | `Printer` | media empty (held jobs), jam (stopped job), gone, busy, format refused |

mod card;
mod content;
mod folder;
mod printer;
mod scanner;
mod script;

pub use card::{
    ApduStep, MockCard, MockReader, EID_CAN, EID_PIN, EID_PROTECTED_DATA, EID_PROTECTED_FID,
    EID_PUK, FEATURE_EXECUTE_PACE, FEATURE_MODIFY_PIN_DIRECT, FEATURE_VERIFY_PIN_DIRECT,
    GET_FEATURE_REQUEST,
};
pub use content::render_page;
pub use folder::FolderScanner;
pub use printer::{MockPrinter, PrintedDocument};
pub use scanner::{MockScanner, MOCK_MAX_DPI};

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::card::CardReader;
use crate::device::{broadcast_stream, Backend, BoxStream, DeviceEvent, DeviceId, DeviceInfo};
use crate::error::{Error, ErrorKind, Result};
use crate::print::Printer;
use crate::provider::Provider;
use crate::scan::Scanner;
use script::lock;

/// A whole mock kit: card readers, scanners and printers behind one [`Provider`]
/// (backend [`Backend::Mock`]).
///
/// Cloning shares the kit: add one clone to a [`Kit`](crate::Kit), keep another to plug and
/// unplug devices (the kit's event stream reports [`DeviceEvent::Added`] /
/// [`DeviceEvent::Removed`]) and to reach the mocks the code under test opened.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{ErrorKind, Kit, DeviceId, mock::MockKit, scan::{ScanRequest, Source}};
/// let mock = MockKit::standard();
/// let kit = Kit::new().with_provider(mock.clone());
/// let scanner = kit.open_scanner(&DeviceId::mock("scanner")).await?;
/// // Inject a jam into the scanner the code under test opened.
/// mock.scanner("scanner").unwrap().fail_at(2, ErrorKind::PaperJam);
/// let mut pages = scanner.scan(&ScanRequest::new().resolution(50).source(Source::Adf)).await?;
/// assert!(pages.next_page().await.unwrap().is_ok());
/// assert_eq!(pages.next_page().await.unwrap().unwrap_err().kind(), ErrorKind::PaperJam);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MockKit {
    inner: Arc<KitInner>,
}

struct KitInner {
    devices: Mutex<Devices>,
    events: broadcast::Sender<DeviceEvent>,
}

#[derive(Default)]
struct Devices {
    readers: Vec<MockReader>,
    scanners: Vec<ScannerSlot>,
    printers: Vec<MockPrinter>,
}

/// A scanner in the kit: a [`MockScanner`] or a [`FolderScanner`].
#[derive(Clone)]
enum ScannerSlot {
    Mock(MockScanner),
    Folder(FolderScanner),
}

impl ScannerSlot {
    fn info(&self) -> &DeviceInfo {
        match self {
            ScannerSlot::Mock(s) => s.info(),
            ScannerSlot::Folder(s) => s.info(),
        }
    }
}

impl fmt::Debug for MockKit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = lock(&self.inner.devices);
        f.debug_struct("MockKit")
            .field("readers", &d.readers.len())
            .field("scanners", &d.scanners.len())
            .field("printers", &d.printers.len())
            .finish()
    }
}

impl Default for MockKit {
    fn default() -> Self {
        MockKit::new()
    }
}

/// Whether `id` (`mock:NAME` or just `NAME`) names the device `info`.
fn matches(info: &DeviceInfo, id: &str) -> bool {
    info.id.name() == id || info.id.to_string() == id
}

impl MockKit {
    /// An empty kit; add devices with the `with_*` builders or `plug_*` at run time.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(64);
        MockKit {
            inner: Arc::new(KitInner {
                devices: Mutex::new(Devices::default()),
                events,
            }),
        }
    }

    /// The standard kit: reader `mock:reader` holding an eID-like card ([`MockCard::eid`]) and
    /// offering a PIN pad and PACE, scanner `mock:scanner` (flatbed plus a feeder of 10
    /// sheets), printer `mock:printer`.
    pub fn standard() -> Self {
        MockKit::new()
            .with_reader(
                MockReader::new("reader")
                    .with_features(vec![
                        (FEATURE_VERIFY_PIN_DIRECT, 0x4233_0006),
                        (FEATURE_MODIFY_PIN_DIRECT, 0x4233_0007),
                        (FEATURE_EXECUTE_PACE, 0x4233_0020),
                    ])
                    .with_card(MockCard::eid()),
            )
            .with_scanner(MockScanner::new("scanner"))
            .with_printer(MockPrinter::new("printer"))
    }

    /// Adds a reader (no event).
    #[must_use]
    pub fn with_reader(self, reader: MockReader) -> Self {
        lock(&self.inner.devices).readers.push(reader);
        self
    }

    /// Adds a scanner (no event).
    #[must_use]
    pub fn with_scanner(self, scanner: MockScanner) -> Self {
        lock(&self.inner.devices)
            .scanners
            .push(ScannerSlot::Mock(scanner));
        self
    }

    /// Adds a folder-replaying scanner (no event).
    #[must_use]
    pub fn with_folder_scanner(self, scanner: FolderScanner) -> Self {
        lock(&self.inner.devices)
            .scanners
            .push(ScannerSlot::Folder(scanner));
        self
    }

    /// Adds a printer (no event).
    #[must_use]
    pub fn with_printer(self, printer: MockPrinter) -> Self {
        lock(&self.inner.devices).printers.push(printer);
        self
    }

    fn added(&self, info: DeviceInfo) {
        let _ = self.inner.events.send(DeviceEvent::Added(info));
    }

    /// Plugs a reader in at run time: subscribers see [`DeviceEvent::Added`].
    pub fn plug_reader(&self, reader: MockReader) {
        reader.replug();
        let info = reader.info().clone();
        lock(&self.inner.devices).readers.push(reader);
        self.added(info);
    }

    /// Plugs a scanner in at run time.
    pub fn plug_scanner(&self, scanner: MockScanner) {
        scanner.set_gone(false);
        let info = scanner.info().clone();
        lock(&self.inner.devices)
            .scanners
            .push(ScannerSlot::Mock(scanner));
        self.added(info);
    }

    /// Plugs a printer in at run time.
    pub fn plug_printer(&self, printer: MockPrinter) {
        printer.set_gone(false);
        let info = printer.info().clone();
        lock(&self.inner.devices).printers.push(printer);
        self.added(info);
    }

    /// Unplugs the device `id` (`mock:NAME` or `NAME`): it leaves the list, handles already
    /// open fail with [`ErrorKind::DeviceGone`] (a reader also reports
    /// [`ReaderEvent::ReaderRemoved`](crate::card::ReaderEvent::ReaderRemoved)), and subscribers
    /// see [`DeviceEvent::Removed`]. Returns whether such a device was present.
    pub fn unplug(&self, id: &str) -> bool {
        let removed = {
            let mut d = lock(&self.inner.devices);
            if let Some(i) = d.readers.iter().position(|r| matches(r.info(), id)) {
                let r = d.readers.remove(i);
                r.unplug();
                Some(r.info().id.clone())
            } else if let Some(i) = d.scanners.iter().position(|s| matches(s.info(), id)) {
                let s = d.scanners.remove(i);
                let out = s.info().id.clone();
                match s {
                    ScannerSlot::Mock(s) => s.set_gone(true),
                    ScannerSlot::Folder(s) => s.set_gone(true),
                }
                Some(out)
            } else if let Some(i) = d.printers.iter().position(|p| matches(p.info(), id)) {
                let p = d.printers.remove(i);
                p.set_gone(true);
                Some(p.info().id.clone())
            } else {
                None
            }
        };
        match removed {
            Some(id) => {
                let _ = self.inner.events.send(DeviceEvent::Removed(id));
                true
            }
            None => false,
        }
    }

    /// The reader `id` (`mock:NAME` or `NAME`): a handle sharing its state.
    pub fn reader(&self, id: &str) -> Option<MockReader> {
        lock(&self.inner.devices)
            .readers
            .iter()
            .find(|r| matches(r.info(), id))
            .cloned()
    }

    /// The mock scanner `id`.
    pub fn scanner(&self, id: &str) -> Option<MockScanner> {
        lock(&self.inner.devices)
            .scanners
            .iter()
            .find_map(|s| match s {
                ScannerSlot::Mock(m) if matches(m.info(), id) => Some(m.clone()),
                _ => None,
            })
    }

    /// The folder scanner `id`.
    pub fn folder_scanner(&self, id: &str) -> Option<FolderScanner> {
        lock(&self.inner.devices)
            .scanners
            .iter()
            .find_map(|s| match s {
                ScannerSlot::Folder(m) if matches(m.info(), id) => Some(m.clone()),
                _ => None,
            })
    }

    /// The printer `id`.
    pub fn printer(&self, id: &str) -> Option<MockPrinter> {
        lock(&self.inner.devices)
            .printers
            .iter()
            .find(|p| matches(p.info(), id))
            .cloned()
    }
}

fn not_found(id: &DeviceId, op: &'static str) -> Error {
    Error::new(ErrorKind::NotFound, id.to_string(), op)
        .with_detail("no such device in the mock kit")
}

#[async_trait]
impl Provider for MockKit {
    fn backend(&self) -> Backend {
        Backend::Mock
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let d = lock(&self.inner.devices);
        Ok(d.readers
            .iter()
            .map(|r| r.info().clone())
            .chain(d.scanners.iter().map(|s| s.info().clone()))
            .chain(d.printers.iter().map(|p| p.info().clone()))
            .collect())
    }

    async fn open_reader(&self, id: &DeviceId) -> Result<Box<dyn CardReader>> {
        let d = lock(&self.inner.devices);
        d.readers
            .iter()
            .find(|r| &r.info().id == id)
            .map(|r| Box::new(r.clone()) as Box<dyn CardReader>)
            .ok_or_else(|| not_found(id, "open card reader"))
    }

    async fn open_scanner(&self, id: &DeviceId) -> Result<Box<dyn Scanner>> {
        let d = lock(&self.inner.devices);
        d.scanners
            .iter()
            .find(|s| &s.info().id == id)
            .map(|s| match s {
                ScannerSlot::Mock(m) => Box::new(m.clone()) as Box<dyn Scanner>,
                ScannerSlot::Folder(f) => Box::new(f.clone()) as Box<dyn Scanner>,
            })
            .ok_or_else(|| not_found(id, "open scanner"))
    }

    async fn open_printer(&self, id: &DeviceId) -> Result<Box<dyn Printer>> {
        let d = lock(&self.inner.devices);
        d.printers
            .iter()
            .find(|p| &p.info().id == id)
            .map(|p| Box::new(p.clone()) as Box<dyn Printer>)
            .ok_or_else(|| not_found(id, "open printer"))
    }

    fn events(&self) -> BoxStream<DeviceEvent> {
        broadcast_stream(self.inner.events.subscribe(), |missed| {
            DeviceEvent::Lagged { missed }
        })
    }
}
