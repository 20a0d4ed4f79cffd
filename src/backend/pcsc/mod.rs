//! PC/SC card-reader backend (feature `pcsc`), on the `pcsc` crate (pcsclite on Linux).
//!
//! - [`PcscProvider`] lists readers (`pcsc:READER NAME` ids), opens them, and reports readers
//!   coming and going (PnP notification pseudo-reader, with a periodic re-list as safety net).
//! - [`PcscReader`] reports the card's presence and ATR, card inserted/removed events, connects,
//!   and reads the PC/SC part 10 feature list (PIN pad, PACE in the reader).
//! - [`PcscCard`] transmits APDUs (short and extended; `61xx`/`6Cxx` are handled by
//!   [`Card::transmit`]), runs transactions, `control`,
//!   reconnect and disconnect.
//!
//! `pcsc` is blocking. Every call runs off the async runtime: one-shot calls on tokio's
//! blocking pool, each connected card on its own thread (which also lets a transaction borrow
//! the card as pcsc-rust requires), each event stream on a watcher thread that wakes at
//! least twice a second and is cancelled (`SCardCancel`) when the stream is dropped.
//!
//! When pcscd stops or restarts, calls fail with [`ErrorKind::DeviceGone`] and a detail
//! saying so; the provider and readers establish a new context on the next call, and the
//! event watchers re-attach by themselves.

mod card;
mod watch;

use std::ffi::{CStr, CString};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

pub use card::PcscCard;

use crate::card::{Atr, Card, CardReader, ReaderEvent, ReaderFeatures, ReaderStatus, ShareMode};
use crate::device::{Backend, BoxStream, DeviceEvent, DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, RawCode, Result};
use crate::provider::Provider;

/// Control code of `CM_IOCTL_GET_FEATURE_REQUEST` (PC/SC part 10): `SCARD_CTL_CODE(3400)`.
pub const IOCTL_GET_FEATURE_REQUEST: u32 = pcsc::ctl_code(3400) as u32;

const SERVICE_HINT: &str = "the PC/SC service is not running or was restarted: start pcscd \
     (Debian package `pcscd`); the next call connects again";

/// Whether `e` means the context is dead (service stopped or restarted).
pub(crate) fn is_service_loss(e: pcsc::Error) -> bool {
    matches!(
        e,
        pcsc::Error::NoService | pcsc::Error::ServiceStopped | pcsc::Error::InvalidHandle
    )
}

/// Maps a PC/SC error to the crate's error for `device` and `operation`, keeping the SCARD
/// code and the pcsc error as source.
pub(crate) fn map_err(e: pcsc::Error, device: &str, operation: &'static str) -> Error {
    use pcsc::Error as E;
    let (kind, detail) = match e {
        E::RemovedCard | E::ResetCard | E::UnpoweredCard => (ErrorKind::CardRemoved, None),
        E::NoSmartcard => (ErrorKind::NotFound, Some("no card in the reader")),
        E::UnknownReader | E::ReaderUnavailable | E::ReaderUnsupported => {
            (ErrorKind::DeviceGone, Some("the reader is not connected"))
        }
        E::NoService | E::ServiceStopped | E::InvalidHandle => {
            (ErrorKind::DeviceGone, Some(SERVICE_HINT))
        }
        E::NoReadersAvailable => (ErrorKind::NotFound, Some("no readers connected")),
        E::CommError => (ErrorKind::Io, None),
        E::SharingViolation | E::ServerTooBusy => (
            ErrorKind::Busy,
            Some("another application holds the card or reader"),
        ),
        E::Timeout | E::WaitedTooLong => (ErrorKind::Timeout, None),
        E::Cancelled | E::SystemCancelled | E::CancelledByUser => (ErrorKind::Cancelled, None),
        E::UnsupportedFeature | E::ProtoMismatch | E::UnsupportedCard | E::CardUnsupported => {
            (ErrorKind::Unsupported, None)
        }
        E::InvalidParameter | E::InvalidValue | E::InsufficientBuffer => {
            (ErrorKind::InvalidInput, None)
        }
        E::UnresponsiveCard | E::InvalidAtr => (ErrorKind::Protocol, Some("the card is mute")),
        _ => (ErrorKind::Backend, None),
    };
    let mut err = Error::new(kind, device.to_owned(), operation)
        .with_raw(RawCode::Scard(e as u32))
        .with_source(e);
    if let Some(d) = detail {
        err = err.with_detail(d);
    }
    err
}

/// The shared PC/SC context, established lazily and again after the service went away.
#[derive(Default)]
struct Service {
    ctx: Mutex<Option<pcsc::Context>>,
}

impl Service {
    fn lock(&self) -> MutexGuard<'_, Option<pcsc::Context>> {
        self.ctx.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn context(&self, device: &str, operation: &'static str) -> Result<pcsc::Context> {
        let mut slot = self.lock();
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| {
            let mut err = map_err(e, device, operation);
            if is_service_loss(e) {
                err = Error::new(ErrorKind::Backend, device.to_owned(), operation)
                    .with_detail(
                        "cannot reach the PC/SC service: install and start pcscd \
                         (Debian packages `pcscd`, and `libpcsclite1`)",
                    )
                    .with_raw(RawCode::Scard(e as u32))
                    .with_source(e);
            }
            err
        })?;
        *slot = Some(ctx.clone());
        Ok(ctx)
    }

    /// Runs `f` with the context; when the service was lost, forgets the context and, if
    /// `retry`, runs `f` once more with a fresh one.
    fn with<T>(
        &self,
        device: &str,
        operation: &'static str,
        retry: bool,
        f: impl Fn(&pcsc::Context) -> std::result::Result<T, pcsc::Error>,
    ) -> Result<T> {
        let ctx = self.context(device, operation)?;
        match f(&ctx) {
            Ok(v) => Ok(v),
            Err(e) if is_service_loss(e) => {
                self.lock().take();
                if retry {
                    let ctx = self.context(device, operation)?;
                    f(&ctx).map_err(|e| {
                        if is_service_loss(e) {
                            self.lock().take();
                        }
                        map_err(e, device, operation)
                    })
                } else {
                    Err(map_err(e, device, operation))
                }
            }
            Err(e) => Err(map_err(e, device, operation)),
        }
    }
}

/// Runs blocking PC/SC work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    device: &str,
    operation: &'static str,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        Error::new(ErrorKind::Backend, device.to_owned(), operation)
            .with_detail("the blocking PC/SC call panicked or was cancelled")
            .with_source(e)
    })?
}

fn list_readers(ctx: &pcsc::Context) -> std::result::Result<Vec<CString>, pcsc::Error> {
    match ctx.list_readers_owned() {
        Ok(v) => Ok(v),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn reader_info(name: &CStr) -> DeviceInfo {
    let name = name.to_string_lossy().into_owned();
    DeviceInfo::new(
        DeviceId::new(Backend::Pcsc, name.clone()),
        DeviceKind::CardReader,
        name,
    )
}

/// Discovers and opens PC/SC readers.
///
/// ```no_run
/// # async fn demo() -> buergerkoffer::Result<()> {
/// use buergerkoffer::backend::pcsc::PcscProvider;
/// use buergerkoffer::{DeviceKind, Kit};
/// let kit = Kit::new().with_provider(PcscProvider::new());
/// for reader in kit.discover().await.of_kind(DeviceKind::CardReader) {
///     println!("{}", reader.id);
/// }
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct PcscProvider {
    service: Arc<Service>,
}

impl std::fmt::Debug for PcscProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscProvider").finish_non_exhaustive()
    }
}

impl PcscProvider {
    /// A provider using the system's PC/SC service. Nothing is contacted until the first call.
    pub fn new() -> Self {
        PcscProvider::default()
    }

    /// Opens the reader with this exact PC/SC name.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`] when no such reader is connected; service errors as
    /// [`Provider::devices`].
    pub async fn reader(&self, name: &str) -> Result<PcscReader> {
        let id = DeviceId::new(Backend::Pcsc, name);
        let cname = CString::new(name).map_err(|_| {
            Error::new(ErrorKind::InvalidInput, id.to_string(), "open card reader")
                .with_detail("reader name contains a NUL byte")
        })?;
        let service = self.service.clone();
        let dev = id.to_string();
        let probe = cname.clone();
        let present = blocking(&dev.clone(), "open card reader", move || {
            service
                .with(&dev, "open card reader", true, list_readers)
                .map(|l| l.contains(&probe))
        })
        .await?;
        if !present {
            return Err(
                Error::new(ErrorKind::NotFound, id.to_string(), "open card reader")
                    .with_detail("no connected reader has this name"),
            );
        }
        Ok(PcscReader {
            info: reader_info(&cname),
            name: cname,
            service: self.service.clone(),
        })
    }
}

#[async_trait]
impl Provider for PcscProvider {
    fn backend(&self) -> Backend {
        Backend::Pcsc
    }

    async fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let service = self.service.clone();
        let names = blocking("pcsc", "list readers", move || {
            service.with("pcsc", "list readers", true, list_readers)
        })
        .await?;
        Ok(names.iter().map(|n| reader_info(n)).collect())
    }

    async fn open_reader(&self, id: &DeviceId) -> Result<Box<dyn CardReader>> {
        if id.backend() != &Backend::Pcsc {
            return Err(
                Error::new(ErrorKind::NotFound, id.to_string(), "open card reader")
                    .with_detail("not a pcsc: id"),
            );
        }
        Ok(Box::new(self.reader(id.name()).await?))
    }

    fn events(&self) -> BoxStream<DeviceEvent> {
        watch::reader_list_events()
    }
}

/// A PC/SC reader.
pub struct PcscReader {
    info: DeviceInfo,
    name: CString,
    service: Arc<Service>,
}

impl std::fmt::Debug for PcscReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscReader")
            .field("id", &self.info.id)
            .finish_non_exhaustive()
    }
}

impl PcscReader {
    fn dev(&self) -> String {
        self.info.id.to_string()
    }
}

#[async_trait]
impl CardReader for PcscReader {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    async fn status(&self) -> Result<ReaderStatus> {
        let (service, name, dev) = (self.service.clone(), self.name.clone(), self.dev());
        blocking(&self.dev(), "read reader status", move || {
            let (state, atr) = service.with(&dev, "read reader status", true, |ctx| {
                let mut states = [pcsc::ReaderState::new(name.clone(), pcsc::State::UNAWARE)];
                ctx.get_status_change(std::time::Duration::ZERO, &mut states)?;
                let [st] = &states;
                Ok((st.event_state(), st.atr().to_vec()))
            })?;
            if state.intersects(pcsc::State::UNKNOWN | pcsc::State::IGNORE) {
                return Err(Error::new(ErrorKind::DeviceGone, dev, "read reader status")
                    .with_detail("the reader is not connected"));
            }
            let atr = if state.contains(pcsc::State::PRESENT) {
                Atr::new(atr).ok()
            } else {
                None
            };
            let mut status = ReaderStatus::new(atr);
            status.exclusive_elsewhere = state.contains(pcsc::State::EXCLUSIVE);
            Ok(status)
        })
        .await
    }

    fn events(&self) -> BoxStream<ReaderEvent> {
        watch::reader_events(self.name.clone())
    }

    async fn connect(&self, mode: ShareMode) -> Result<Box<dyn Card>> {
        Ok(Box::new(self.connect_pcsc(mode).await?))
    }

    async fn features(&self) -> Result<ReaderFeatures> {
        let mut card = self.connect_pcsc(ShareMode::Direct).await?;
        let answer = card.control(IOCTL_GET_FEATURE_REQUEST, &[]).await;
        let _ = Box::new(card)
            .disconnect(crate::card::Disposition::Leave)
            .await;
        match answer {
            Ok(tlv) => ReaderFeatures::from_feature_list(&tlv),
            // A driver without part 10 support refuses the request: no features.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Unsupported | ErrorKind::InvalidInput | ErrorKind::Backend
                ) =>
            {
                Ok(ReaderFeatures::default())
            }
            Err(e) => Err(e),
        }
    }
}

impl PcscReader {
    /// Connects and returns the concrete card type (see [`CardReader::connect`]).
    ///
    /// # Errors
    /// As [`CardReader::connect`].
    pub async fn connect_pcsc(&self, mode: ShareMode) -> Result<PcscCard> {
        let (service, name, dev) = (self.service.clone(), self.name.clone(), self.dev());
        blocking(&self.dev(), "connect", move || {
            let (share, protocols) = card::share(mode);
            let card = service.with(&dev, "connect", true, |ctx| {
                ctx.connect(&name, share, protocols)
            })?;
            PcscCard::start(card, dev, mode == ShareMode::Direct)
        })
        .await
    }
}

// Compile-time check: every handle can move between tasks and threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<PcscProvider>();
    send_sync::<PcscReader>();
    send_sync::<PcscCard>();
};
