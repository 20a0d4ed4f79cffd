//! The one thread that calls libsane (libsane is not re-entrant).
//!
//! The async side sends [`Cmd`]s over a channel and awaits replies on `oneshot`s; pages go
//! back through a bounded tokio channel, so the runtime never blocks on libsane. The thread
//! starts with the first user (`sane_init`) and ends when the last [`Worker`] handle is gone
//! (`sane_cancel`/`sane_close` of what is still open, then `sane_exit`); a later user starts a
//! new thread, which first waits for the old one to finish.
//!
//! Option handling lives in [`super::control`]. While jobs run, the thread interleaves: it
//! handles waiting commands, then makes one SANE call per running job (see [`super::job`]),
//! and holds a finished page until the job's stream has room (memory stays bounded by the
//! channel capacity).

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::mpsc::{self, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc as tmpsc, oneshot};

use super::control::{self, strstatus, Handle};
use super::ffi::{self, status as st, Api};
use super::job::{Device, Job, Step};
use super::options;
use super::status;
use crate::error::{Error, ErrorKind, Result};
use crate::scan::{Page, ScanCapabilities, ScanRequest};

/// Pages buffered between the libsane thread and the stream's reader.
pub const PAGE_BUFFER: usize = 2;

/// One entry of `sane_get_devices`.
#[derive(Clone, Debug)]
pub struct DeviceEntry {
    /// Name to open.
    pub name: String,
    /// Vendor.
    pub vendor: String,
    /// Model.
    pub model: String,
}

/// A summary of one option, for [`super::SaneScanner::options`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct OptionInfo {
    /// Name, as used by `--option NAME=VALUE`.
    pub name: String,
    /// Title.
    pub title: String,
    /// Whether it is active now.
    pub active: bool,
    /// Whether software can set it.
    pub settable: bool,
    /// The current value as text (`None` for inactive options, buttons and groups).
    pub value: Option<String>,
    /// The allowed values as text.
    pub allowed: String,
}

type Reply<T> = oneshot::Sender<Result<T>>;

/// A command for the libsane thread.
pub enum Cmd {
    /// `sane_get_devices`.
    Devices {
        /// Only local devices.
        local_only: bool,
        /// The answer.
        reply: Reply<Vec<DeviceEntry>>,
    },
    /// `sane_open`, then read the descriptors.
    Open {
        /// SANE device name.
        name: String,
        /// Device id text for messages.
        id: String,
        /// Handle key.
        reply: Reply<u64>,
    },
    /// Ends any job and `sane_close`s.
    Close {
        /// Handle key.
        handle: u64,
    },
    /// Capabilities from the descriptors.
    Capabilities {
        /// Handle key.
        handle: u64,
        /// The answer.
        reply: Reply<ScanCapabilities>,
    },
    /// All options and their values.
    Options {
        /// Handle key.
        handle: u64,
        /// The answer.
        reply: Reply<Vec<OptionInfo>>,
    },
    /// Set options from a request and start a job.
    Scan {
        /// Handle key.
        handle: u64,
        /// What to scan.
        request: Box<ScanRequest>,
        /// Answered once options are set (before the first `sane_start`).
        started: Reply<()>,
        /// Where pages go.
        pages: tmpsc::Sender<Result<Page>>,
    },
    /// Nothing; makes the thread look at its jobs (a stream was dropped).
    Wake,
}

/// A handle on the libsane thread; the thread ends when the last one is dropped.
#[derive(Debug)]
pub struct Worker {
    tx: Mutex<mpsc::Sender<Cmd>>,
}

struct Slot {
    live: Weak<Worker>,
    last: Option<JoinHandle<()>>,
}

static SLOT: Mutex<Slot> = Mutex::new(Slot {
    live: Weak::new(),
    last: None,
});

impl Worker {
    /// The running libsane thread, started if needed.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when libsane cannot be loaded (naming the packages to
    /// install), [`ErrorKind::Backend`] when the thread cannot be started.
    pub fn get(device: &str, op: &'static str) -> Result<Arc<Worker>> {
        let api = ffi::api(device, op)?;
        let mut slot = SLOT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(w) = slot.live.upgrade() {
            return Ok(w);
        }
        let previous = slot.last.take();
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("libsane".into())
            .spawn(move || {
                if let Some(p) = previous {
                    // The previous thread calls sane_exit; never overlap it with sane_init.
                    let _ = p.join();
                }
                Thread::new(api).run(rx);
            })
            .map_err(|e| {
                Error::new(ErrorKind::Backend, device.to_owned(), op)
                    .with_detail("cannot start the libsane thread")
                    .with_source(e)
            })?;
        let w = Arc::new(Worker { tx: Mutex::new(tx) });
        slot.live = Arc::downgrade(&w);
        slot.last = Some(handle);
        Ok(w)
    }

    /// Sends a command.
    ///
    /// # Errors
    /// [`ErrorKind::Backend`] if the thread has ended (it panicked).
    pub fn send(&self, cmd: Cmd, device: &str, op: &'static str) -> Result<()> {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        tx.send(cmd).map_err(|_| {
            Error::new(ErrorKind::Backend, device.to_owned(), op)
                .with_detail("the libsane thread has stopped")
        })
    }

    /// Sends a command and awaits its reply.
    ///
    /// # Errors
    /// The command's error, or [`ErrorKind::Backend`] if the thread stopped.
    pub async fn call<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Cmd,
        device: &str,
        op: &'static str,
    ) -> Result<T> {
        let (reply, rx) = oneshot::channel();
        self.send(make(reply), device, op)?;
        rx.await.map_err(|_| {
            Error::new(ErrorKind::Backend, device.to_owned(), op)
                .with_detail("the libsane thread stopped before answering")
        })?
    }
}

/// An open device on the thread.
struct Open {
    h: Handle,
    job: Option<Running>,
}

struct Running {
    job: Job,
    tx: tmpsc::Sender<Result<Page>>,
    pending: Option<Result<Page>>,
}

/// The SANE calls of a job on one handle.
struct Dev<'a> {
    api: &'static Api,
    raw: ffi::Handle,
    _open: std::marker::PhantomData<&'a ()>,
}

/// Least time between `sane_start` calls on two different handles.
///
/// sanei_thread (compiled into most backends) hands the reader thread its device through one
/// static per backend and only sleeps 1 µs after `pthread_create`; a second `sane_start` on
/// another device of the same backend right after the first can give both readers the second
/// device, and the first device's reads then wait forever. A short gap avoids that.
const START_GAP: Duration = Duration::from_millis(20);

/// The handle and time of the last `sane_start` (only the libsane thread uses it).
static LAST_START: Mutex<Option<(usize, std::time::Instant)>> = Mutex::new(None);

impl Device for Dev<'_> {
    fn start(&mut self) -> i32 {
        let me = self.raw as usize;
        let mut last = LAST_START.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((other, at)) = *last {
            if other != me {
                if let Some(wait) = START_GAP.checked_sub(at.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
        }
        // SAFETY: `raw` is an open handle from sane_open, used only on this thread.
        let s = unsafe { (self.api.start)(self.raw) };
        *last = Some((me, std::time::Instant::now()));
        s
    }

    fn parameters(&mut self) -> std::result::Result<ffi::Parameters, i32> {
        let mut p = ffi::Parameters::default();
        // SAFETY: `raw` is open; `p` is a valid, writable SANE_Parameters.
        let s = unsafe { (self.api.get_parameters)(self.raw, &mut p) };
        if s == st::GOOD {
            Ok(p)
        } else {
            Err(s)
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> std::result::Result<usize, i32> {
        let max = i32::try_from(buf.len()).unwrap_or(i32::MAX);
        let mut len: ffi::Word = 0;
        // SAFETY: `raw` is open; `buf` is writable for `max` bytes; `len` is writable.
        let s = unsafe { (self.api.read)(self.raw, buf.as_mut_ptr(), max, &mut len) };
        if s == st::GOOD {
            // A backend claiming more than asked is clamped (never trusted for indexing).
            Ok(usize::try_from(len).unwrap_or(0).min(buf.len()))
        } else {
            Err(s)
        }
    }

    fn cancel(&mut self) {
        // SAFETY: `raw` is open.
        unsafe { (self.api.cancel)(self.raw) }
    }

    fn describe(&self, status: i32) -> Option<String> {
        strstatus(self.api, status)
    }
}

struct Thread {
    api: &'static Api,
    init: std::result::Result<(), i32>,
    handles: HashMap<u64, Open>,
    next: u64,
}

impl Thread {
    fn new(api: &'static Api) -> Self {
        let mut version: ffi::Word = 0;
        // SAFETY: first libsane call of this thread generation; no authorisation callback.
        let s = unsafe { (api.init)(&mut version, None) };
        let init = if s == st::GOOD {
            tracing::debug!(
                version = format!(
                    "{}.{}.{}",
                    (version >> 24) & 0xff,
                    (version >> 16) & 0xff,
                    version & 0xffff
                ),
                "sane_init"
            );
            Ok(())
        } else {
            Err(s)
        };
        Thread {
            api,
            init,
            handles: HashMap::new(),
            next: 1,
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Cmd>) {
        loop {
            let runnable = self
                .handles
                .values()
                .any(|o| o.job.as_ref().is_some_and(|r| r.pending.is_none()));
            let busy = self.handles.values().any(|o| o.job.is_some());
            let cmd = if runnable {
                match rx.try_recv() {
                    Ok(c) => Some(c),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => break,
                }
            } else if busy {
                match rx.recv_timeout(Duration::from_millis(5)) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            } else {
                match rx.recv() {
                    Ok(c) => Some(c),
                    Err(_) => break,
                }
            };
            match cmd {
                Some(c) => self.handle(c),
                None => self.drive_jobs(),
            }
        }
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let keys: Vec<u64> = self.handles.keys().copied().collect();
        for k in keys {
            self.close(k);
        }
        if self.init.is_ok() {
            // SAFETY: every handle is closed; last libsane call of this generation.
            unsafe { (self.api.exit)() };
            tracing::debug!("sane_exit");
        }
    }

    fn init_error(&self, device: &str, op: &'static str) -> Option<Error> {
        self.init.err().map(|s| {
            status::error_with_text(s, strstatus(self.api, s).as_deref(), device, op)
                .with_operation(format!("{op} (sane_init)"))
        })
    }

    fn handle(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Wake => self.reap_dropped(),
            Cmd::Devices { local_only, reply } => {
                let r = match self.init_error("sane", "list devices") {
                    Some(e) => Err(e),
                    None => self.devices(local_only),
                };
                let _ = reply.send(r);
            }
            Cmd::Open { name, id, reply } => {
                let r = match self.init_error(&id, "open scanner") {
                    Some(e) => Err(e),
                    None => self.open(&name, id),
                };
                match r {
                    Ok(h) => {
                        if reply.send(Ok(h)).is_err() {
                            // Nobody waits for the handle any more: close it again.
                            self.close(h);
                        }
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Cmd::Close { handle } => self.close(handle),
            Cmd::Capabilities { handle, reply } => {
                let _ = reply.send(self.capabilities(handle));
            }
            Cmd::Options { handle, reply } => {
                let _ = reply.send(self.list_options(handle));
            }
            Cmd::Scan {
                handle,
                request,
                started,
                pages,
            } => self.scan(handle, &request, started, pages),
        }
    }

    fn devices(&mut self, local_only: bool) -> Result<Vec<DeviceEntry>> {
        let mut list: *const *const ffi::Device = std::ptr::null();
        // SAFETY: `list` is writable; libsane stores a NULL-terminated array valid until the
        // next sane_get_devices/sane_exit, which we copy out at once.
        let s = unsafe { (self.api.get_devices)(&mut list, i32::from(local_only)) };
        if s != st::GOOD {
            return Err(status::error_with_text(
                s,
                strstatus(self.api, s).as_deref(),
                "sane",
                "list devices",
            ));
        }
        let mut out = Vec::new();
        if list.is_null() {
            return Ok(out);
        }
        for i in 0..4096 {
            // SAFETY: the array is NULL-terminated; we stop at the first NULL (bounded).
            let dev = unsafe { *list.add(i) };
            if dev.is_null() {
                break;
            }
            // SAFETY: `dev` points to a SANE_Device whose strings are NUL-terminated or NULL.
            let entry = unsafe {
                let d = &*dev;
                DeviceEntry {
                    name: ffi::string(d.name).unwrap_or_default(),
                    vendor: ffi::string(d.vendor).unwrap_or_default(),
                    model: ffi::string(d.model).unwrap_or_default(),
                }
            };
            if !entry.name.is_empty() {
                out.push(entry);
            }
        }
        Ok(out)
    }

    fn open(&mut self, name: &str, id: String) -> Result<u64> {
        let cname = CString::new(name).map_err(|_| {
            Error::new(ErrorKind::InvalidInput, id.clone(), "open scanner")
                .with_detail("device name contains a NUL byte")
        })?;
        let mut raw: ffi::Handle = std::ptr::null_mut();
        // SAFETY: `cname` is NUL-terminated; `raw` is writable.
        let s = unsafe { (self.api.open)(cname.as_ptr(), &mut raw) };
        if s != st::GOOD || raw.is_null() {
            let s = if s == st::GOOD { st::INVAL } else { s };
            let mut e =
                status::error_with_text(s, strstatus(self.api, s).as_deref(), &id, "open scanner");
            if s == st::INVAL {
                // What sane_open says for a device name it does not know.
                e = Error::new(ErrorKind::NotFound, id.clone(), "open scanner")
                    .with_detail(format!(
                        "libsane knows no device `{name}` (list them with `scanimage -L`)"
                    ))
                    .with_raw(crate::RawCode::Sane(s));
            }
            return Err(e);
        }
        let key = self.next;
        self.next += 1;
        let mut open = Open {
            h: Handle {
                raw,
                id,
                descs: Vec::new(),
                restore: Vec::new(),
            },
            job: None,
        };
        if let Err(e) = control::reload(self.api, &mut open.h) {
            // SAFETY: `raw` was opened above and is not used after this.
            unsafe { (self.api.close)(raw) };
            return Err(e);
        }
        tracing::debug!(device = %open.h.id, options = open.h.descs.len(), "sane_open");
        self.handles.insert(key, open);
        Ok(key)
    }

    fn close(&mut self, handle: u64) {
        if let Some(mut open) = self.handles.remove(&handle) {
            if let Some(mut r) = open.job.take() {
                let mut dev = Dev {
                    api: self.api,
                    raw: open.h.raw,
                    _open: std::marker::PhantomData,
                };
                let ended = r.job.ended();
                r.job.abort(&mut dev);
                if !ended && r.pending.is_none() {
                    let _ = r.tx.try_send(Err(Error::new(
                        ErrorKind::Cancelled,
                        open.h.id.clone(),
                        format!("scan page {}", r.job.delivered() + 1),
                    )
                    .with_detail("the scanner was closed while scanning")
                    .with_pages(r.job.delivered() as usize)));
                }
            }
            // SAFETY: `raw` is open and no longer used after this.
            unsafe { (self.api.close)(open.h.raw) };
            tracing::debug!(device = %open.h.id, "sane_close");
        }
    }

    fn get_open(&mut self, handle: u64, op: &'static str) -> Result<&mut Open> {
        self.handles.get_mut(&handle).ok_or_else(|| {
            Error::new(ErrorKind::DeviceGone, format!("sane handle {handle}"), op)
                .with_detail("the scanner was closed")
        })
    }

    fn capabilities(&mut self, handle: u64) -> Result<ScanCapabilities> {
        let api = self.api;
        let open = self.get_open(handle, "read capabilities")?;
        if open.job.is_some() {
            // Descriptors are stable while scanning; use the ones read before the job.
        } else {
            control::reload(api, &mut open.h)?;
        }
        // Values cannot be read while scanning; then the current resolution is unknown.
        let idle = open.job.is_none();
        let current = options::resolution_option(&open.h.descs)
            .filter(|_| idle)
            .and_then(|d| {
                let w = control::get_words(api, &open.h, d).ok()?;
                w.first().map(|&w| options::word_value(d, w))
            });
        let dpi = current.map_or(300, |v| v.round().max(1.0) as u32);
        let fallback = if open.job.is_none() {
            Dev {
                api,
                raw: open.h.raw,
                _open: std::marker::PhantomData,
            }
            .parameters()
            .ok()
            .map(|p| {
                let mm = |px: i32| f64::from(px.max(0)) / f64::from(dpi) * crate::scan::MM_PER_INCH;
                (mm(p.pixels_per_line), mm(p.lines))
            })
            .unwrap_or((0.0, 0.0))
        } else {
            (0.0, 0.0)
        };
        Ok(options::capabilities(&open.h.descs, dpi, fallback))
    }

    fn list_options(&mut self, handle: u64) -> Result<Vec<OptionInfo>> {
        let api = self.api;
        let open = self.get_open(handle, "list options")?;
        if open.job.is_none() {
            control::reload(api, &mut open.h)?;
        }
        let descs = open.h.descs.clone();
        let mut out = Vec::new();
        for d in descs
            .iter()
            .filter(|d| d.kind != ffi::TYPE_GROUP && d.index > 0)
        {
            let value = if d.active() && d.kind != ffi::TYPE_BUTTON && open.job.is_none() {
                control::value_text(api, &open.h, d).ok()
            } else {
                None
            };
            out.push(OptionInfo {
                name: d.name.clone(),
                title: d.title.clone(),
                active: d.active(),
                settable: d.settable(),
                value,
                allowed: d.describe_constraint(),
            });
        }
        Ok(out)
    }

    fn scan(
        &mut self,
        handle: u64,
        request: &ScanRequest,
        started: Reply<()>,
        pages: tmpsc::Sender<Result<Page>>,
    ) {
        let api = self.api;
        // A job whose stream was just dropped is cancelled first, not reported as busy.
        self.reap_dropped();
        let open = match self.get_open(handle, "start scan") {
            Ok(o) => o,
            Err(e) => {
                let _ = started.send(Err(e));
                return;
            }
        };
        if open.job.is_some() {
            let _ = started.send(Err(Error::new(
                ErrorKind::Busy,
                open.h.id.clone(),
                "start scan",
            )
            .with_detail("another job is running on this scanner")));
            return;
        }
        match control::apply_request(api, &mut open.h, request) {
            Ok(setup) => {
                if started.send(Ok(())).is_err() {
                    // The caller gave up before the job started: start nothing.
                    return;
                }
                tracing::debug!(device = %open.h.id, ?setup, "SANE scan starting");
                open.job = Some(Running {
                    job: Job::new(
                        open.h.id.clone(),
                        setup.feeder,
                        request.max_pages,
                        setup.dpi,
                    ),
                    tx: pages,
                    pending: None,
                });
            }
            Err(e) => {
                let _ = started.send(Err(e));
            }
        }
    }

    /// Cancels the jobs whose page stream was dropped.
    fn reap_dropped(&mut self) {
        let api = self.api;
        for open in self.handles.values_mut() {
            if open.job.as_ref().is_some_and(|r| r.tx.is_closed()) {
                if let Some(mut r) = open.job.take() {
                    let mut dev = Dev {
                        api,
                        raw: open.h.raw,
                        _open: std::marker::PhantomData,
                    };
                    r.job.abort(&mut dev);
                }
            }
        }
    }

    fn drive_jobs(&mut self) {
        let api = self.api;
        for open in self.handles.values_mut() {
            let Some(r) = open.job.as_mut() else { continue };
            let mut dev = Dev {
                api,
                raw: open.h.raw,
                _open: std::marker::PhantomData,
            };
            if r.tx.is_closed() {
                // The stream was dropped: cancel at the device.
                r.job.abort(&mut dev);
                open.job = None;
                continue;
            }
            if r.pending.is_none() {
                match r.job.step(&mut dev) {
                    Step::Continue => continue,
                    Step::Page(p) => r.pending = Some(Ok(p)),
                    Step::Failed(e) => r.pending = Some(Err(e)),
                    Step::Done => {
                        // Dropping the sender ends the stream.
                        open.job = None;
                        continue;
                    }
                }
            }
            if let Some(item) = r.pending.take() {
                match r.tx.try_send(item) {
                    Ok(()) => {
                        if r.job.ended() {
                            open.job = None;
                        }
                    }
                    Err(tmpsc::error::TrySendError::Full(item)) => r.pending = Some(item),
                    Err(tmpsc::error::TrySendError::Closed(_)) => {
                        r.job.abort(&mut dev);
                        open.job = None;
                    }
                }
            }
        }
    }
}
