//! [`Recorder`]: the session writer that every recording wrapper shares, and
//! [`RecordingProvider`], which wraps a whole backend (or, through [`Recorder::kit`], a whole
//! [`Kit`]) so that every device opened through it is recorded.

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;
use tokio::time::Instant;

use super::format::{Entry, ErrorRecord, Header, SESSION_FILE};
use super::values::{pixel_format_name, PageRec};
use super::{RecordingPrinter, RecordingReader, RecordingScanner};
use crate::card::CardReader;
use crate::device::{Backend, BoxStream, DeviceEvent, DeviceId, DeviceInfo};
use crate::error::{Error, ErrorKind, Result};
use crate::kit::Kit;
use crate::print::Printer;
use crate::provider::Provider;
use crate::scan::{Page, PageData, Scanner};

/// Writes one session: `session.jsonl` and the page files beside it, in one directory.
///
/// Cheap to clone (an `Arc`); every recording wrapper holds a clone. Each entry is written
/// and flushed as it happens, so a session cut short by a crash is still readable up to its
/// last line. A failure to write does not fail the device call being recorded: the first one
/// is kept and returned by [`finish`](Self::finish).
///
/// ```no_run
/// # async fn demo() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{Kit, record::Recorder};
/// let recorder = Recorder::create("session-1")?;
/// let kit = recorder.kit(Kit::with_enabled_backends());
/// // ... use `kit` as usual: every device opened through it is recorded ...
/// recorder.finish()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    start: Instant,
    state: Mutex<State>,
    next_conn: AtomicU32,
    next_job: AtomicU32,
    next_sub: AtomicU32,
    next_page: AtomicU32,
}

struct State {
    file: Option<std::io::BufWriter<std::fs::File>>,
    seq: u64,
    devices: HashSet<String>,
    error: Option<Error>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

/// The time since `t0` in milliseconds, rounded to microseconds.
pub(crate) fn ms(t0: Instant, t: Instant) -> f64 {
    let d = t.saturating_duration_since(t0);
    (d.as_secs_f64() * 1e6).round() / 1e3
}

impl Recorder {
    /// Creates the directory `dir` (and its parents) and starts the session in it.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] when `dir` already holds a session (a recording is never
    /// overwritten), [`ErrorKind::Io`] (or the mapped I/O kind) when it cannot be written.
    pub fn create(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let shown = dir.display().to_string();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(shown.clone(), "create session", e))?;
        let path = dir.join(SESSION_FILE);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::new(ErrorKind::InvalidInput, shown.clone(), "create session")
                        .with_detail("the directory already holds a session; choose a new one")
                } else {
                    Error::io(shown.clone(), "create session", e)
                }
            })?;
        let mut file = std::io::BufWriter::new(file);
        let unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let header = serde_json::to_string(&Header::new(unix_ms)).map_err(|e| {
            Error::new(ErrorKind::Backend, shown.clone(), "write session").with_source(e)
        })?;
        writeln!(file, "{header}")
            .and_then(|()| file.flush())
            .map_err(|e| Error::io(shown, "write session", e))?;
        Ok(Recorder {
            inner: Arc::new(Inner {
                dir,
                start: Instant::now(),
                state: Mutex::new(State {
                    file: Some(file),
                    seq: 0,
                    devices: HashSet::new(),
                    error: None,
                }),
                next_conn: AtomicU32::new(1),
                next_job: AtomicU32::new(1),
                next_sub: AtomicU32::new(1),
                next_page: AtomicU32::new(1),
            }),
        })
    }

    /// The session directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Wraps a card reader (from any backend): everything done with it and its cards is
    /// recorded.
    pub fn reader(&self, reader: Box<dyn CardReader>) -> RecordingReader {
        RecordingReader::new(reader, self.clone())
    }

    /// Wraps a scanner.
    pub fn scanner(&self, scanner: Box<dyn Scanner>) -> RecordingScanner {
        RecordingScanner::new(scanner, self.clone())
    }

    /// Wraps a printer.
    pub fn printer(&self, printer: Box<dyn Printer>) -> RecordingPrinter {
        RecordingPrinter::new(printer, self.clone())
    }

    /// Wraps a provider: every device opened through it is recorded.
    pub fn provider(&self, provider: impl Provider + 'static) -> RecordingProvider {
        RecordingProvider {
            inner: Arc::new(provider),
            recorder: self.clone(),
        }
    }

    /// The same kit with every provider wrapped in a [`RecordingProvider`] (its USB bus, if
    /// any, is kept).
    pub fn kit(&self, kit: Kit) -> Kit {
        let mut out = Kit::new();
        #[cfg(feature = "usb")]
        if let Some(bus) = kit.usb() {
            out = out.with_shared_usb(bus.clone());
        }
        for p in kit.providers() {
            out = out.with_provider(RecordingProvider {
                inner: p.clone(),
                recorder: self.clone(),
            });
        }
        out
    }

    /// Flushes the session and reports the first write failure, if any. The wrappers still
    /// alive keep working (and write nothing more).
    ///
    /// # Errors
    /// The first error writing the session or a page file.
    pub fn finish(&self) -> Result<()> {
        let mut st = super::lock(&self.inner.state);
        if let Some(mut f) = st.file.take() {
            if let Err(e) = f.flush() {
                st.error
                    .get_or_insert(Error::io(self.shown(), "write session", e));
            }
        }
        match st.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn shown(&self) -> String {
        self.inner.dir.display().to_string()
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::now()
    }

    pub(crate) fn next_conn(&self) -> u32 {
        self.inner.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn next_job(&self) -> u32 {
        self.inner.next_job.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn next_sub(&self) -> u32 {
        self.inner.next_sub.fetch_add(1, Ordering::Relaxed)
    }

    /// Records a device's description once (an `op: "device"` line).
    pub(crate) fn device(&self, info: &DeviceInfo) {
        let id = info.id.to_string();
        {
            let mut st = super::lock(&self.inner.state);
            if !st.devices.insert(id.clone()) {
                return;
            }
        }
        let req = serde_json::json!({
            "kind": info.kind.to_string(),
            "id": id,
            "name": info.name,
            "vendor": info.vendor,
            "serial": info.serial,
        });
        self.write(Rec::new(&id, "device", self.now()).req(req).note());
    }

    /// Writes one entry (numbered and timed here).
    pub(crate) fn write(&self, rec: Rec) {
        let t = ms(self.inner.start, rec.start);
        let dur = ms(rec.start, Instant::now());
        let mut st = super::lock(&self.inner.state);
        st.seq += 1;
        let entry = Entry {
            seq: st.seq,
            t,
            dur: rec.dur.unwrap_or(dur),
            dev: rec.dev,
            conn: rec.conn,
            job: rec.job,
            sub: rec.sub,
            op: rec.op.into(),
            req: rec.req,
            ok: rec.ok,
            err: rec.err,
        };
        let shown = self.shown();
        let Some(file) = st.file.as_mut() else { return };
        let line = match serde_json::to_string(&entry) {
            Ok(l) => l,
            Err(e) => {
                let e = Error::new(ErrorKind::Backend, shown, "write session").with_source(e);
                st.error.get_or_insert(e);
                return;
            }
        };
        if let Err(e) = writeln!(file, "{line}").and_then(|()| file.flush()) {
            tracing::warn!(error = %e, "cannot write the session");
            st.error.get_or_insert(Error::io(shown, "write session", e));
            st.file = None;
        }
    }

    /// Stores a page beside the session (PNM for raw pixels, JPEG as it came) on a blocking
    /// thread; returns its description for the `page` entry.
    pub(crate) async fn page(&self, page: &Page) -> Option<PageRec> {
        let n = self.inner.next_page.fetch_add(1, Ordering::Relaxed);
        let (format, ext, channels) = match &page.data {
            PageData::Raw { format, .. } => {
                let ext = match format.channels() {
                    3 => "ppm",
                    _ if format.bits_per_sample() == 1 => "pbm",
                    _ => "pgm",
                };
                (pixel_format_name(*format).to_owned(), ext, None)
            }
            PageData::Jpeg { channels, .. } => ("jpeg".to_owned(), "jpg", Some(*channels)),
        };
        let file = format!("page-{n:06}.{ext}");
        let path = self.inner.dir.join(&file);
        let owned = page.clone();
        let written = tokio::task::spawn_blocking(move || -> Result<u64> {
            let bytes = match &owned.data {
                PageData::Raw { .. } => crate::scan::pnm::encode_page(&owned)?,
                PageData::Jpeg { data, .. } => data.to_vec(),
            };
            std::fs::write(&path, &bytes)
                .map_err(|e| Error::io(path.display().to_string(), "write page file", e))?;
            Ok(bytes.len() as u64)
        })
        .await;
        let bytes = match written {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                self.fail(e);
                return None;
            }
            Err(e) => {
                self.fail(
                    Error::new(ErrorKind::Backend, self.shown(), "write page file").with_source(e),
                );
                return None;
            }
        };
        Some(PageRec {
            index: page.index,
            width: page.width,
            height: page.height,
            dpi: page.dpi,
            format,
            channels,
            file,
            bytes,
        })
    }

    fn fail(&self, e: Error) {
        tracing::warn!(error = %e, "cannot write the session");
        super::lock(&self.inner.state).error.get_or_insert(e);
    }
}

/// One entry being built by a wrapper.
pub(crate) struct Rec {
    dev: String,
    op: &'static str,
    start: Instant,
    dur: Option<f64>,
    conn: Option<u32>,
    job: Option<u32>,
    sub: Option<u32>,
    req: Value,
    ok: Option<Value>,
    err: Option<ErrorRecord>,
}

impl Rec {
    pub(crate) fn new(dev: &str, op: &'static str, start: Instant) -> Self {
        Rec {
            dev: dev.to_owned(),
            op,
            start,
            dur: None,
            conn: None,
            job: None,
            sub: None,
            req: Value::Null,
            ok: None,
            err: None,
        }
    }

    pub(crate) fn conn(mut self, n: u32) -> Self {
        self.conn = Some(n);
        self
    }

    pub(crate) fn job(mut self, n: u32) -> Self {
        self.job = Some(n);
        self
    }

    pub(crate) fn sub(mut self, n: u32) -> Self {
        self.sub = Some(n);
        self
    }

    pub(crate) fn req(mut self, req: Value) -> Self {
        self.req = req;
        self
    }

    /// A stream item: `dur` is the time since the previous item, `start` when it came.
    pub(crate) fn item(mut self, since: Instant) -> Self {
        self.dur = Some(ms(since, self.start));
        self
    }

    /// An entry without a result (a note or a marker).
    pub(crate) fn note(mut self) -> Self {
        self.dur = Some(0.0);
        self
    }

    pub(crate) fn ok(mut self, v: Value) -> Self {
        self.ok = Some(v);
        self
    }

    pub(crate) fn err(mut self, e: &Error) -> Self {
        self.err = Some(ErrorRecord::of(e));
        self
    }

    /// The result of a call: `ok(f(value))` or the error.
    pub(crate) fn result<T>(self, r: &Result<T>, f: impl FnOnce(&T) -> Value) -> Self {
        match r {
            Ok(v) => {
                let v = f(v);
                self.ok(v)
            }
            Err(e) => self.err(e),
        }
    }
}

/// A [`Provider`] that records every device opened through it (see [`Recorder::provider`]).
pub struct RecordingProvider {
    inner: Arc<dyn Provider>,
    recorder: Recorder,
}

impl fmt::Debug for RecordingProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingProvider")
            .field("backend", &self.inner.backend())
            .field("recorder", &self.recorder)
            .finish()
    }
}

#[async_trait]
impl Provider for RecordingProvider {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }

    /// Lists the inner provider's devices and records their descriptions.
    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let devices = self.inner.devices().await?;
        for d in &devices {
            self.recorder.device(d);
        }
        Ok(devices)
    }

    async fn open_reader(&self, id: &DeviceId) -> Result<Box<dyn CardReader>> {
        let r = self.inner.open_reader(id).await?;
        Ok(Box::new(self.recorder.reader(r)))
    }

    async fn open_scanner(&self, id: &DeviceId) -> Result<Box<dyn Scanner>> {
        let s = self.inner.open_scanner(id).await?;
        Ok(Box::new(self.recorder.scanner(s)))
    }

    async fn open_printer(&self, id: &DeviceId) -> Result<Box<dyn Printer>> {
        let p = self.inner.open_printer(id).await?;
        Ok(Box::new(self.recorder.printer(p)))
    }

    fn events(&self) -> BoxStream<DeviceEvent> {
        self.inner.events()
    }
}
