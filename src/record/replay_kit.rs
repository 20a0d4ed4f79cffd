//! [`ReplayKit`]: a recorded session as a [`Provider`] — lists the recorded devices and opens
//! them as [`ReplayReader`], [`ReplayScanner`] and [`ReplayPrinter`] — and the session's one
//! [`done`](ReplayKit::done).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::session::{ReplayOptions, Shared};
use super::{ReplayPrinter, ReplayReader, ReplayScanner};
use crate::card::CardReader;
use crate::device::{Backend, DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::kit::Kit;
use crate::print::Printer;
use crate::provider::Provider;
use crate::scan::Scanner;

/// A recorded session played back: its devices through the public traits, strict like the
/// mocks.
///
/// Cheap to clone (an `Arc`): every clone and every device opened from it share one replay
/// and one [`done`](Self::done). The replay, once it has entries, must be checked with
/// `done()`; dropped without it (the last handle), it panics, as the mocks do.
///
/// As a [`Provider`] it serves one backend (a [`Kit`] routes by backend): the one of the
/// session's devices, or the one chosen with [`for_backend`](Self::for_backend).
/// [`kit`](Self::kit) builds a kit with one view per backend in the session.
///
/// ```no_run
/// # async fn demo() -> buergerkoffer::Result<()> {
/// use buergerkoffer::record::ReplayKit;
/// let replay = ReplayKit::open("session-1")?;
/// let kit = replay.kit();
/// // ... run the same code as when recording, against `kit` ...
/// replay.done()?; // every difference from the recording, the first one named first
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ReplayKit {
    shared: Arc<Shared>,
    backend: Option<Backend>,
}

impl fmt::Debug for ReplayKit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayKit")
            .field("session", &self.shared)
            .field("backend", &self.backend)
            .finish()
    }
}

impl ReplayKit {
    /// Loads the session in `dir`, strict and as fast as possible.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] without a session file, [`ErrorKind::Protocol`] for a file
    /// that is not a session, has a newer format version or a malformed line (the line is
    /// named).
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        ReplayKit::with_options(dir, ReplayOptions::new())
    }

    /// Loads the session in `dir` with `options`.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn with_options(dir: impl AsRef<Path>, options: ReplayOptions) -> Result<Self> {
        Ok(ReplayKit {
            shared: Arc::new(Shared::open(dir.as_ref(), options)?),
            backend: None,
        })
    }

    /// The session's format version (from its header line).
    pub fn format_version(&self) -> u32 {
        self.shared.version
    }

    /// What wrote the session, e.g. `buergerkoffer 0.1.0` (from its header line).
    pub fn writer(&self) -> &str {
        &self.shared.writer
    }

    /// A view of the same replay that serves `backend` as a [`Provider`].
    #[must_use]
    pub fn for_backend(&self, backend: Backend) -> Self {
        ReplayKit {
            shared: self.shared.clone(),
            backend: Some(backend),
        }
    }

    /// A [`Kit`] holding one view of this replay per backend of the session's devices.
    pub fn kit(&self) -> Kit {
        let mut backends: Vec<Backend> = self
            .shared
            .devices
            .iter()
            .map(|d| d.id.backend().clone())
            .collect();
        backends.sort();
        backends.dedup();
        backends
            .into_iter()
            .fold(Kit::new(), |kit, b| kit.with_provider(self.for_backend(b)))
    }

    /// The recorded devices (of this view's backend, if it has one).
    pub fn devices(&self) -> Vec<DeviceInfo> {
        self.shared
            .devices
            .iter()
            .filter(|d| self.backend.as_ref().is_none_or(|b| d.id.backend() == b))
            .cloned()
            .collect()
    }

    fn find(&self, id: &DeviceId, kind: DeviceKind, op: &'static str) -> Result<DeviceInfo> {
        self.shared.device(id, kind).cloned().ok_or_else(|| {
            Error::new(ErrorKind::NotFound, id.to_string(), op)
                .with_detail(format!("the session has no {kind} with this id"))
        })
    }

    /// The recorded card reader `id`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the session has no such reader.
    pub fn reader(&self, id: &DeviceId) -> Result<ReplayReader> {
        let info = self.find(id, DeviceKind::CardReader, "open card reader")?;
        Ok(ReplayReader {
            shared: self.shared.clone(),
            dev: info.id.to_string(),
            info,
        })
    }

    /// The recorded scanner `id`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the session has no such scanner.
    pub fn scanner(&self, id: &DeviceId) -> Result<ReplayScanner> {
        let info = self.find(id, DeviceKind::Scanner, "open scanner")?;
        Ok(ReplayScanner {
            shared: self.shared.clone(),
            dev: info.id.to_string(),
            info,
        })
    }

    /// The recorded printer `id`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the session has no such printer.
    pub fn printer(&self, id: &DeviceId) -> Result<ReplayPrinter> {
        let info = self.find(id, DeviceKind::Printer, "open printer")?;
        Ok(ReplayPrinter {
            shared: self.shared.clone(),
            dev: info.id.to_string(),
            info,
        })
    }

    /// The first recorded device of `kind`, for sessions with one of each.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when the session has no device of that kind.
    pub fn first(&self, kind: DeviceKind) -> Result<DeviceId> {
        self.devices()
            .into_iter()
            .find(|d| d.kind == kind)
            .map(|d| d.id)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    self.shared.dir.display().to_string(),
                    "find recorded device",
                )
                .with_detail(format!("the session has no {kind}"))
            })
    }

    /// Checks the replay: every call matched the recording and the recording was used up.
    /// Resets the check (a replay checked once may be dropped).
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] listing each difference, the first one first (a call with
    /// other arguments, a call the recording does not have there, a stream read past or
    /// dropped before its recording), then each recorded entry never replayed.
    pub fn done(&self) -> Result<()> {
        self.shared.done()
    }
}

#[async_trait]
impl Provider for ReplayKit {
    /// The view's backend; for the kit from [`open`](ReplayKit::open), the backend of the
    /// first recorded device ([`Backend::Mock`] for a session without devices).
    fn backend(&self) -> Backend {
        match &self.backend {
            Some(b) => b.clone(),
            None => self
                .shared
                .devices
                .first()
                .map_or(Backend::Mock, |d| d.id.backend().clone()),
        }
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let b = Provider::backend(self);
        Ok(ReplayKit::devices(self)
            .into_iter()
            .filter(|d| d.id.backend() == &b)
            .collect())
    }

    async fn open_reader(&self, id: &DeviceId) -> Result<Box<dyn CardReader>> {
        Ok(Box::new(self.reader(id)?))
    }

    async fn open_scanner(&self, id: &DeviceId) -> Result<Box<dyn Scanner>> {
        Ok(Box::new(self.scanner(id)?))
    }

    async fn open_printer(&self, id: &DeviceId) -> Result<Box<dyn Printer>> {
        Ok(Box::new(self.printer(id)?))
    }
}
