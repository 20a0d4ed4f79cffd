//! SANE scanner backend (feature `sane`): libsane loaded at run time, one dedicated thread.
//!
//! - `libsane.so.1` is loaded with `libloading` when first needed, so the crate builds and
//!   runs without it; a missing library is an [`ErrorKind::NotFound`] error that names the
//!   Debian packages to install (`libsane1`, and `sane-utils` for the backend configuration).
//!   Set `BUERGERKOFFER_LIBSANE` to a path to load another libsane.
//! - Every libsane call runs on one thread (libsane is not re-entrant); the async side talks
//!   to it through channels and never blocks the runtime. The thread calls `sane_init` when
//!   the first [`SaneProvider`]/[`SaneScanner`] needs it and `sane_exit` when the last is
//!   gone.
//! - Ids are `sane:` plus the SANE device name: `sane:test`, `sane:test:1`,
//!   `sane:genesys:libusb:001:002`, `sane:net:host:...`.
//! - A [`ScanRequest`] is applied by SANE meaning: `source`, `mode` (lineart is the backend's
//!   lineart mode, or gray at depth 1 when it has none, as the `test` backend), `depth`,
//!   `resolution` (or `x-`/`y-resolution`), and `tl-x`/`tl-y`/`br-x`/`br-y` (mm or pixels; no
//!   area means the whole area). Then every [`ScanRequest::options`] entry is set by name in
//!   order (`--option three-pass=yes`): inactive options and values outside the constraint
//!   are [`ErrorKind::InvalidInput`]; descriptors are re-read after
//!   `SANE_INFO_RELOAD_OPTIONS`; a rounded resolution (`SANE_INFO_INEXACT`) is read back for
//!   the pages' dpi. Options keep their values at the device between jobs (SANE semantics).
//! - Pages: gray and RGB frames, three-pass RED/GREEN/BLUE frames (interleaved), depth 1
//!   ([`PixelFormat::Bw1`](crate::scan::PixelFormat::Bw1)), 8 and 16 (host order converted to
//!   big-endian), hand scanners (unknown height), padded lines, parameters re-read after
//!   `sane_start`, reads of any size. From a feeder the job goes on until
//!   `SANE_STATUS_NO_DOCS`; from the flatbed it gives one page.
//! - Status to [`ErrorKind`]: `JAMMED` → `PaperJam`, `COVER_OPEN` → `CoverOpen`, `NO_DOCS` →
//!   `NoDocuments` (at the first page; later it ends the batch), `DEVICE_BUSY` → `Busy`,
//!   `IO_ERROR` → `Io`, `CANCELLED` → `Cancelled`, `INVAL` and `ACCESS_DENIED` →
//!   `InvalidInput`, `UNSUPPORTED` → `Unsupported`, `NO_MEM` and unknown codes → `Backend`;
//!   the raw status is kept ([`RawCode::Sane`](crate::RawCode::Sane)).
//!
//! Limits, all from libsane's rules: one thread serves every SANE device of the process, so a
//! backend call that blocks (a slow `sane_read`, a network `sane_get_devices`) delays the
//! calls for other SANE devices until it returns; a discovery that times out goes on in the
//! background. Dropping a page stream cancels the job at the next opportunity, but cannot
//! interrupt a `sane_read` already blocking. Option values stay set at the device between
//! jobs, as in every SANE frontend: reset a pass-through option (e.g. `hand-scanner=no`)
//! when a later job should not have it. Two scans on devices of the same backend start at
//! least 20 ms apart (libsane's reader-thread start-up shares one static per backend).
//! 1-bit colour frames are refused
//! ([`ErrorKind::Unsupported`]); scan colour at depth 8 or 16.
//!
//! ```no_run
//! # async fn demo() -> buergerkoffer::Result<()> {
//! use buergerkoffer::backend::sane::SaneProvider;
//! use buergerkoffer::scan::{ColorMode, ScanRequest, Source};
//! use buergerkoffer::{DeviceId, Scanner};
//! let provider = SaneProvider::new();
//! let scanner = provider.open(&"sane:test".parse::<DeviceId>()?).await?;
//! let req = ScanRequest::new()
//!     .resolution(75)
//!     .mode(ColorMode::Gray)
//!     .source(Source::Adf)
//!     .option("test-picture", "Color pattern");
//! let mut pages = scanner.scan(&req).await?;
//! while let Some(page) = pages.next_page().await {
//!     let page = page?;
//!     println!("page {}: {}x{}", page.index + 1, page.width, page.height);
//! }
//! # Ok(()) }
//! ```

mod control;
mod ffi;
// Public (hidden) only for the fuzz harness in tests/fuzz_parsers.rs; not a stable API.
#[doc(hidden)]
pub mod frames;
mod job;
mod options;
mod status;
mod thread;

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures_core::Stream;
use tokio::sync::mpsc as tmpsc;

use crate::device::{Backend, DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::provider::Provider;
use crate::scan::{Page, PageStream, ScanCapabilities, ScanRequest, Scanner};

pub use thread::OptionInfo;
use thread::{Cmd, DeviceEntry, Worker};

/// How long [`SaneProvider::devices`] waits for libsane's device list by default. Network
/// backends (`net`, `escl`, ...) can take many seconds to answer.
pub const DEFAULT_DISCOVERY_TIMEOUT: Duration = Duration::from_secs(20);

/// The Debian packages the SANE backend needs at run time.
pub const DEBIAN_PACKAGES: &str = "libsane1 sane-utils";

/// Discovers and opens SANE scanners.
///
/// Cheap to create; libsane is loaded and initialised on first use.
#[derive(Debug)]
pub struct SaneProvider {
    timeout: Duration,
    local_only: bool,
    known: Mutex<Vec<DeviceEntry>>,
}

impl Default for SaneProvider {
    fn default() -> Self {
        SaneProvider::new()
    }
}

impl SaneProvider {
    /// A provider using the system's libsane, listing local and network devices with a
    /// [`DEFAULT_DISCOVERY_TIMEOUT`].
    pub fn new() -> Self {
        SaneProvider {
            timeout: DEFAULT_DISCOVERY_TIMEOUT,
            local_only: false,
            known: Mutex::new(Vec::new()),
        }
    }

    /// Sets how long discovery may take before it fails with [`ErrorKind::Timeout`].
    #[must_use]
    pub fn with_discovery_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Lists only local devices (SANE's `local_only`: no `net` backend hosts).
    #[must_use]
    pub fn with_local_only(mut self, local_only: bool) -> Self {
        self.local_only = local_only;
        self
    }

    /// Opens the scanner `id` (`sane:NAME`), giving the concrete type (with
    /// [`SaneScanner::options`]).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] for an id that is not `sane:`; [`ErrorKind::NotFound`] when
    /// libsane is missing (the message names `libsane1 sane-utils`) or knows no such device;
    /// [`ErrorKind::Busy`] when it is open elsewhere; other SANE statuses as mapped in the
    /// module docs. Cancel-safe: a device opened after the future was dropped is closed.
    pub async fn open(&self, id: &DeviceId) -> Result<SaneScanner> {
        let text = id.to_string();
        if id.backend() != &Backend::Sane {
            return Err(Error::new(ErrorKind::InvalidInput, text, "open scanner")
                .with_detail("not a `sane:` device id"));
        }
        let worker = Worker::get(&text, "open scanner")?;
        let name = id.name().to_owned();
        let handle = worker
            .call(
                |reply| Cmd::Open {
                    name: name.clone(),
                    id: text.clone(),
                    reply,
                },
                &text,
                "open scanner",
            )
            .await?;
        let guard = Arc::new(HandleGuard {
            worker,
            handle,
            id: text,
        });
        let mut info = DeviceInfo::new(id.clone(), DeviceKind::Scanner, name.clone());
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = known.iter().find(|e| e.name == name) {
            info = entry_info(e);
        }
        Ok(SaneScanner { info, guard })
    }
}

fn entry_info(e: &DeviceEntry) -> DeviceInfo {
    let title = match (e.vendor.is_empty(), e.model.is_empty()) {
        (false, false) => format!("{} {}", e.vendor, e.model),
        (true, false) => e.model.clone(),
        _ => e.name.clone(),
    };
    let mut info = DeviceInfo::new(
        DeviceId::new(Backend::Sane, e.name.clone()),
        DeviceKind::Scanner,
        title,
    );
    if !e.vendor.is_empty() {
        info = info.with_vendor(e.vendor.clone());
    }
    info
}

#[async_trait]
impl Provider for SaneProvider {
    fn backend(&self) -> Backend {
        Backend::Sane
    }

    /// Lists SANE devices (`sane_get_devices`).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when libsane is missing (naming `libsane1 sane-utils`),
    /// [`ErrorKind::Timeout`] when libsane does not answer within the discovery timeout (the
    /// listing then goes on in the background and later commands wait for it), other SANE
    /// statuses as mapped. Cancel-safe.
    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let worker = Worker::get("sane", "list devices")?;
        let local_only = self.local_only;
        let listing = worker.call(
            |reply| Cmd::Devices { local_only, reply },
            "sane",
            "list devices",
        );
        let entries = tokio::time::timeout(self.timeout, listing)
            .await
            .map_err(|_| {
                Error::new(ErrorKind::Timeout, "sane", "list devices").with_detail(format!(
                    "libsane did not list its devices within {:.1} s (a slow network backend?)",
                    self.timeout.as_secs_f64()
                ))
            })??;
        let infos = entries.iter().map(entry_info).collect();
        *self.known.lock().unwrap_or_else(|p| p.into_inner()) = entries;
        Ok(infos)
    }

    async fn open_scanner(&self, id: &DeviceId) -> Result<Box<dyn Scanner>> {
        Ok(Box::new(self.open(id).await?))
    }
}

/// Closes the SANE handle when the scanner and all its page streams are gone.
#[derive(Debug)]
struct HandleGuard {
    worker: Arc<Worker>,
    handle: u64,
    id: String,
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        let _ = self.worker.send(
            Cmd::Close {
                handle: self.handle,
            },
            &self.id,
            "close scanner",
        );
    }
}

/// An open SANE scanner.
///
/// Dropping it closes the device once its running [`PageStream`] (if any) is gone too.
#[derive(Debug)]
pub struct SaneScanner {
    info: DeviceInfo,
    guard: Arc<HandleGuard>,
}

// Compile-time check: both types can be shared across tasks and threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<SaneScanner>();
    send_sync::<SaneProvider>();
};

impl SaneScanner {
    /// The SANE device name (the id without `sane:`).
    pub fn sane_name(&self) -> &str {
        self.info.id.name()
    }

    /// All options of the device with their current values and allowed values, as
    /// `scanimage --help -d NAME` shows them; names are what [`ScanRequest::option`] takes.
    ///
    /// # Errors
    /// [`ErrorKind::DeviceGone`] if the device was closed, SANE statuses as mapped.
    /// Cancel-safe.
    pub async fn options(&self) -> Result<Vec<OptionInfo>> {
        let handle = self.guard.handle;
        self.guard
            .worker
            .call(
                |reply| Cmd::Options { handle, reply },
                &self.guard.id,
                "list options",
            )
            .await
    }
}

#[async_trait]
impl Scanner for SaneScanner {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    async fn capabilities(&self) -> Result<ScanCapabilities> {
        let handle = self.guard.handle;
        self.guard
            .worker
            .call(
                |reply| Cmd::Capabilities { handle, reply },
                &self.guard.id,
                "read capabilities",
            )
            .await
    }

    async fn scan(&self, request: &ScanRequest) -> Result<PageStream> {
        let handle = self.guard.handle;
        let (tx, rx) = tmpsc::channel(thread::PAGE_BUFFER);
        let request = Box::new(request.clone());
        self.guard
            .worker
            .call(
                |started| Cmd::Scan {
                    handle,
                    request,
                    started,
                    pages: tx,
                },
                &self.guard.id,
                "start scan",
            )
            .await?;
        Ok(PageStream::new(SanePages {
            rx,
            guard: self.guard.clone(),
        }))
    }
}

/// The pages of one job; dropping it makes the libsane thread call `sane_cancel`.
struct SanePages {
    rx: tmpsc::Receiver<Result<Page>>,
    guard: Arc<HandleGuard>,
}

impl Stream for SanePages {
    type Item = Result<Page>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for SanePages {
    fn drop(&mut self) {
        self.rx.close();
        // Wake the thread so it notices the closed stream and cancels now.
        let _ = self
            .guard
            .worker
            .send(Cmd::Wake, &self.guard.id, "cancel scan");
    }
}
