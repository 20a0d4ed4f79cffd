//! Conformance rigs that record and replay: record a whole
//! [`conformance`](crate::conformance) run against a real device, then run the same suite in
//! CI against the replay.
//!
//! A recording rig wraps any rig: the suite talks to a recording wrapper of the rig's device,
//! and every rig action (inject a jam, take the paper out, pull the card) is written to the
//! session with what it returned. A replay rig does on replay what the session says the real
//! rig did: it gives the recorded answers, and the replayed device then behaves as the real
//! one did after the action (the jam comes at the recorded page, the card is gone). An action
//! the suite asks for that the recording does not have next is a difference, reported by
//! `done()`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::format::Channel;
use super::recorder::{Rec, Recorder};
use super::replay_card::{answer, call};
use super::values::{bad, from_value, to_value, ScanRequestRec};
use super::{
    RecordingPrinter, RecordingReader, RecordingScanner, ReplayPrinter, ReplayReader, ReplayScanner,
};
use crate::card::{Card, CardReader, ReaderEvent, ReaderFeatures, ReaderStatus, ShareMode};
use crate::conformance::{PrinterRig, ReaderRig, ScanFault, ScannerRig};
use crate::device::{BoxStream, DeviceInfo};
use crate::error::Result;
use crate::print::{
    Document, JobId, JobStatus, PrintOptions, Printer, PrinterCapabilities, PrinterStatus,
};
use crate::scan::{PageStream, ScanCapabilities, ScanRequest, Scanner};

fn fault_value(f: ScanFault) -> Value {
    match f {
        ScanFault::Jam { at_page } => json!({ "jam": at_page }),
        ScanFault::EmptyFeeder => json!("empty_feeder"),
    }
}

fn inject_value(r: &Option<(ScanRequest, u32)>) -> Value {
    match r {
        Some((req, at)) => json!({ "request": to_value(&ScanRequestRec::of(req)), "at": at }),
        None => Value::Null,
    }
}

/// Writes one rig action with its result to the device's own channel.
async fn action<T>(
    rec: &Recorder,
    dev: &str,
    op: &'static str,
    req: Value,
    run: impl std::future::Future<Output = Result<T>>,
    ok: impl FnOnce(&T) -> Value,
) -> Result<T> {
    let t0 = rec.now();
    let r = run.await;
    rec.write(Rec::new(dev, op, t0).req(req).result(&r, ok));
    r
}

/// Replays one rig action: its recorded result.
async fn replayed(
    shared: &super::session::Shared,
    dev: &str,
    op: &str,
    req: Value,
) -> Result<Value> {
    let e = call(shared, dev, Channel::Device, op, &|_| req.clone()).await?;
    answer(&e).cloned()
}

// ---- scanner ----------------------------------------------------------------------------

/// The rig's scanner as a `Scanner` the recorder can own.
struct RigScanner<R>(Arc<R>);

#[async_trait]
impl<R: ScannerRig + 'static> Scanner for RigScanner<R> {
    fn info(&self) -> &DeviceInfo {
        self.0.scanner().info()
    }
    async fn capabilities(&self) -> Result<ScanCapabilities> {
        self.0.scanner().capabilities().await
    }
    async fn scan(&self, request: &ScanRequest) -> Result<PageStream> {
        self.0.scanner().scan(request).await
    }
}

/// A [`ScannerRig`] that records the suite's run against another rig.
pub struct RecordingScannerRig<R> {
    rig: Arc<R>,
    scanner: RecordingScanner,
    rec: Recorder,
    dev: String,
}

impl<R: ScannerRig + 'static> RecordingScannerRig<R> {
    /// Records everything the suite does with `rig` and its scanner into `recorder`.
    pub fn new(rig: R, recorder: &Recorder) -> Self {
        let rig = Arc::new(rig);
        let scanner = recorder.scanner(Box::new(RigScanner(rig.clone())));
        let dev = scanner.info().id.to_string();
        RecordingScannerRig {
            rig,
            scanner,
            rec: recorder.clone(),
            dev,
        }
    }
}

#[async_trait]
impl<R: ScannerRig + 'static> ScannerRig for RecordingScannerRig<R> {
    fn scanner(&self) -> &dyn Scanner {
        &self.scanner
    }

    async fn inject(
        &self,
        fault: ScanFault,
        request: ScanRequest,
    ) -> Result<Option<(ScanRequest, u32)>> {
        let req = json!({ "fault": fault_value(fault), "request": to_value(&ScanRequestRec::of(&request)) });
        action(
            &self.rec,
            &self.dev,
            "rig.inject",
            req,
            self.rig.inject(fault, request),
            inject_value,
        )
        .await
    }

    async fn clear_faults(&self) -> Result<()> {
        action(
            &self.rec,
            &self.dev,
            "rig.clear_faults",
            Value::Null,
            self.rig.clear_faults(),
            |()| json!({}),
        )
        .await
    }
}

/// A [`ScannerRig`] for a [`ReplayScanner`]: its actions give what the recording says.
#[derive(Debug)]
pub struct ReplayScannerRig {
    scanner: ReplayScanner,
}

impl ReplayScannerRig {
    /// A rig for a replayed scanner.
    pub fn new(scanner: ReplayScanner) -> Self {
        ReplayScannerRig { scanner }
    }
}

#[async_trait]
impl ScannerRig for ReplayScannerRig {
    fn scanner(&self) -> &dyn Scanner {
        &self.scanner
    }

    async fn inject(
        &self,
        fault: ScanFault,
        request: ScanRequest,
    ) -> Result<Option<(ScanRequest, u32)>> {
        let s = &self.scanner;
        let req = json!({ "fault": fault_value(fault), "request": to_value(&ScanRequestRec::of(&request)) });
        let v = replayed(&s.shared, &s.dev, "rig.inject", req).await?;
        if v.is_null() {
            return Ok(None);
        }
        let r: ScanRequestRec = from_value(v.get("request").unwrap_or(&Value::Null), "rig.inject")?;
        let at = v
            .get("at")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad("rig.inject without a page"))?;
        Ok(Some((r.to_request()?, at)))
    }

    async fn clear_faults(&self) -> Result<()> {
        let s = &self.scanner;
        replayed(&s.shared, &s.dev, "rig.clear_faults", Value::Null)
            .await
            .map(|_| ())
    }
}

// ---- printer ----------------------------------------------------------------------------

struct RigPrinter<R>(Arc<R>);

#[async_trait]
impl<R: PrinterRig + 'static> Printer for RigPrinter<R> {
    fn info(&self) -> &DeviceInfo {
        self.0.printer().info()
    }
    async fn capabilities(&self) -> Result<PrinterCapabilities> {
        self.0.printer().capabilities().await
    }
    async fn status(&self) -> Result<PrinterStatus> {
        self.0.printer().status().await
    }
    async fn print(&self, document: Document, options: &PrintOptions) -> Result<JobId> {
        self.0.printer().print(document, options).await
    }
    async fn job(&self, id: JobId) -> Result<JobStatus> {
        self.0.printer().job(id).await
    }
    async fn cancel(&self, id: JobId) -> Result<()> {
        self.0.printer().cancel(id).await
    }
}

/// A [`PrinterRig`] that records the suite's run against another rig.
pub struct RecordingPrinterRig<R> {
    rig: Arc<R>,
    printer: RecordingPrinter,
    rec: Recorder,
    dev: String,
}

impl<R: PrinterRig + 'static> RecordingPrinterRig<R> {
    /// Records everything the suite does with `rig` and its printer into `recorder`.
    pub fn new(rig: R, recorder: &Recorder) -> Self {
        let rig = Arc::new(rig);
        let printer = recorder.printer(Box::new(RigPrinter(rig.clone())));
        let dev = printer.info().id.to_string();
        RecordingPrinterRig {
            rig,
            printer,
            rec: recorder.clone(),
            dev,
        }
    }
}

#[async_trait]
impl<R: PrinterRig + 'static> PrinterRig for RecordingPrinterRig<R> {
    fn printer(&self) -> &dyn Printer {
        &self.printer
    }

    async fn set_media_empty(&self, empty: bool) -> Result<bool> {
        let req = json!({ "empty": empty });
        action(
            &self.rec,
            &self.dev,
            "rig.set_media_empty",
            req,
            self.rig.set_media_empty(empty),
            |b| json!(b),
        )
        .await
    }

    fn job_timeout(&self) -> Duration {
        self.rig.job_timeout()
    }
}

/// A [`PrinterRig`] for a [`ReplayPrinter`].
#[derive(Debug)]
pub struct ReplayPrinterRig {
    printer: ReplayPrinter,
}

impl ReplayPrinterRig {
    /// A rig for a replayed printer.
    pub fn new(printer: ReplayPrinter) -> Self {
        ReplayPrinterRig { printer }
    }
}

#[async_trait]
impl PrinterRig for ReplayPrinterRig {
    fn printer(&self) -> &dyn Printer {
        &self.printer
    }

    async fn set_media_empty(&self, empty: bool) -> Result<bool> {
        let p = &self.printer;
        let v = replayed(
            &p.shared,
            &p.dev,
            "rig.set_media_empty",
            json!({ "empty": empty }),
        )
        .await?;
        v.as_bool()
            .ok_or_else(|| bad("rig.set_media_empty without a boolean"))
    }
}

// ---- card reader ------------------------------------------------------------------------

struct RigReader<R>(Arc<R>);

#[async_trait]
impl<R: ReaderRig + 'static> CardReader for RigReader<R> {
    fn info(&self) -> &DeviceInfo {
        self.0.reader().info()
    }
    async fn status(&self) -> Result<ReaderStatus> {
        self.0.reader().status().await
    }
    fn events(&self) -> BoxStream<ReaderEvent> {
        self.0.reader().events()
    }
    async fn connect(&self, mode: ShareMode) -> Result<Box<dyn Card>> {
        self.0.reader().connect(mode).await
    }
    async fn features(&self) -> Result<ReaderFeatures> {
        self.0.reader().features().await
    }
}

/// A [`ReaderRig`] that records the suite's run against another rig.
pub struct RecordingReaderRig<R> {
    rig: Arc<R>,
    reader: RecordingReader,
    rec: Recorder,
    dev: String,
}

impl<R: ReaderRig + 'static> RecordingReaderRig<R> {
    /// Records everything the suite does with `rig`, its reader and cards into `recorder`.
    pub fn new(rig: R, recorder: &Recorder) -> Self {
        let rig = Arc::new(rig);
        let reader = recorder.reader(Box::new(RigReader(rig.clone())));
        let dev = reader.info().id.to_string();
        RecordingReaderRig {
            rig,
            reader,
            rec: recorder.clone(),
            dev,
        }
    }
}

#[async_trait]
impl<R: ReaderRig + 'static> ReaderRig for RecordingReaderRig<R> {
    fn reader(&self) -> &dyn CardReader {
        &self.reader
    }

    async fn insert_card(&self) -> Result<()> {
        action(
            &self.rec,
            &self.dev,
            "rig.insert_card",
            Value::Null,
            self.rig.insert_card(),
            |()| json!({}),
        )
        .await
    }

    async fn remove_card(&self) -> Result<()> {
        action(
            &self.rec,
            &self.dev,
            "rig.remove_card",
            Value::Null,
            self.rig.remove_card(),
            |()| json!({}),
        )
        .await
    }

    async fn slow_command(&self) -> Result<Option<Vec<u8>>> {
        action(
            &self.rec,
            &self.dev,
            "rig.slow_command",
            Value::Null,
            self.rig.slow_command(),
            |c| {
                c.as_deref()
                    .map_or(Value::Null, |c| Value::from(super::format::hex(c)))
            },
        )
        .await
    }

    async fn burst_events(&self, n: usize) -> Result<bool> {
        action(
            &self.rec,
            &self.dev,
            "rig.burst_events",
            json!({ "n": n }),
            self.rig.burst_events(n),
            |b| json!(b),
        )
        .await
    }
}

/// A [`ReaderRig`] for a [`ReplayReader`].
#[derive(Debug)]
pub struct ReplayReaderRig {
    reader: ReplayReader,
}

impl ReplayReaderRig {
    /// A rig for a replayed reader.
    pub fn new(reader: ReplayReader) -> Self {
        ReplayReaderRig { reader }
    }

    async fn act(&self, op: &str, req: Value) -> Result<Value> {
        replayed(&self.reader.shared, &self.reader.dev, op, req).await
    }
}

#[async_trait]
impl ReaderRig for ReplayReaderRig {
    fn reader(&self) -> &dyn CardReader {
        &self.reader
    }

    async fn insert_card(&self) -> Result<()> {
        self.act("rig.insert_card", Value::Null).await.map(|_| ())
    }

    async fn remove_card(&self) -> Result<()> {
        self.act("rig.remove_card", Value::Null).await.map(|_| ())
    }

    async fn slow_command(&self) -> Result<Option<Vec<u8>>> {
        let v = self.act("rig.slow_command", Value::Null).await?;
        if v.is_null() {
            return Ok(None);
        }
        v.as_str()
            .and_then(super::format::unhex)
            .map(Some)
            .ok_or_else(|| bad("rig.slow_command: not hex bytes"))
    }

    async fn burst_events(&self, n: usize) -> Result<bool> {
        let v = self.act("rig.burst_events", json!({ "n": n })).await?;
        v.as_bool()
            .ok_or_else(|| bad("rig.burst_events without a boolean"))
    }
}
