//! Devices that survive a replug: a stable [`DeviceIdentity`] (backend, kind, model and serial
//! number where the device has one), [`Kit::resolve`] to find the device that carries it now,
//! and the handles [`StableReader`] and [`StableScanner`], which stay the same device for the
//! office software while the cable is pulled and plugged back in, even when the backend name
//! changes (SANE names carry the USB bus path: `genesys:libusb:001:007` becomes
//! `genesys:libusb:001:009`; PC/SC numbers readers in the order they appear).
//!
//! The public docs are on [`StableScanner`] (and `Kit::stable_scanner`).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::Notify;

use crate::card::{Card, CardReader, ReaderEvent, ReaderFeatures, ReaderStatus, ShareMode};
use crate::device::{Backend, BoxStream, DeviceId, DeviceInfo, DeviceKind};
use crate::error::{Error, ErrorKind, Result};
use crate::kit::Kit;
use crate::scan::{PageStream, ScanCapabilities, ScanRequest, Scanner};

/// How long [`Kit::resolve`] may take before a stable handle reports the device gone.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a [`presence`](StableScanner::presence) stream looks for the device when no
/// device event woke it.
pub const PRESENCE_POLL: Duration = Duration::from_millis(500);

/// What stays the same when a device is unplugged and plugged back in: its backend family,
/// kind, model and serial number. The backend name (the [`DeviceId`]) may change.
///
/// For PC/SC readers the model is the reader name without the reader number pcsc-lite puts
/// before the slot (`REINER SCT cyberJack RFID basis 01 00` is model
/// `REINER SCT cyberJack RFID basis`, slot `00`), and the USB serial number pcsc-lite writes in
/// parentheses is the serial.
///
/// ```
/// use buergerkoffer::{DeviceId, DeviceInfo, DeviceKind};
/// use buergerkoffer::kit::DeviceIdentity;
/// let r = |n: &str| DeviceInfo::new(DeviceId::new(buergerkoffer::Backend::Pcsc, n), DeviceKind::CardReader, n);
/// let a = DeviceIdentity::of(&r("REINER SCT cyberJack RFID basis (9001) 00 00"));
/// let b = DeviceIdentity::of(&r("REINER SCT cyberJack RFID basis (9001) 01 00"));
/// assert_eq!(a, b);
/// assert_eq!(a.serial.as_deref(), Some("9001"));
/// assert_ne!(a, DeviceIdentity::of(&r("REINER SCT cyberJack RFID basis (9001) 00 01")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeviceIdentity {
    /// The backend family.
    pub backend: Backend,
    /// The kind of device.
    pub kind: DeviceKind,
    /// The model (for PC/SC: the reader name without its number, plus the slot).
    pub model: String,
    /// The serial number, if the device reports one.
    pub serial: Option<String>,
}

impl DeviceIdentity {
    /// The identity of a discovered device.
    pub fn of(info: &DeviceInfo) -> Self {
        let (model, serial) = match info.id.backend() {
            Backend::Pcsc => pcsc_model(info.id.name()),
            _ => (info.name.clone(), info.serial.clone()),
        };
        DeviceIdentity {
            backend: info.id.backend().clone(),
            kind: info.kind,
            model,
            serial: serial.or_else(|| info.serial.clone()),
        }
    }

    /// Whether `info` carries this identity.
    pub fn matches(&self, info: &DeviceInfo) -> bool {
        &DeviceIdentity::of(info) == self
    }
}

impl fmt::Display for DeviceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.model)?;
        if let Some(s) = &self.serial {
            write!(f, " (serial {s})")?;
        }
        write!(f, " [{}]", self.backend)
    }
}

/// pcsc-lite names readers `NAME [(SERIAL)] NN SS`: NN numbers readers of the same name in
/// the order they appeared, SS is the slot. The model is NAME plus the slot.
fn pcsc_model(name: &str) -> (String, Option<String>) {
    let hex2 = |s: &str| s.len() == 2 && s.chars().all(|c| c.is_ascii_hexdigit());
    let parts: Vec<&str> = name.rsplitn(3, ' ').collect();
    let (base, slot) = match parts.as_slice() {
        [slot, number, base] if hex2(slot) && hex2(number) => (*base, Some(*slot)),
        _ => (name, None),
    };
    let serial = base
        .strip_suffix(')')
        .and_then(|b| b.rsplit_once(" ("))
        .map(|(_, s)| s.to_owned());
    let model = match slot {
        Some(s) => format!("{base} slot {s}"),
        None => base.to_owned(),
    };
    (model, serial)
}

/// A change in whether a stable handle's device is there.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Presence {
    /// The device went away (unplugged, switched off, its service stopped); it was `last`.
    Gone {
        /// The id it had.
        last: DeviceId,
    },
    /// The device is back, perhaps under another id.
    Back(DeviceInfo),
}

impl Kit {
    /// The device that carries `identity` now. When several do (identical devices without
    /// serial numbers), the one with id `prefer` wins; otherwise the look-up is ambiguous.
    ///
    /// # Errors
    /// [`ErrorKind::DeviceGone`] when no device carries the identity, or several do and none
    /// is `prefer` (the message says so), or discovery did not finish within
    /// [`RESOLVE_TIMEOUT`]. Cancel-safe.
    pub async fn resolve(
        &self,
        identity: &DeviceIdentity,
        prefer: Option<&DeviceId>,
    ) -> Result<DeviceInfo> {
        let gone = |detail: String| {
            Error::new(ErrorKind::DeviceGone, identity.to_string(), "find device")
                .with_detail(detail)
        };
        let found = tokio::time::timeout(RESOLVE_TIMEOUT, self.discover())
            .await
            .map_err(|_| {
                gone(format!(
                    "device discovery did not finish within {} s",
                    RESOLVE_TIMEOUT.as_secs()
                ))
            })?;
        #[allow(unused_mut)]
        let mut devices = found.devices;
        #[cfg(feature = "usb")]
        if identity.backend == Backend::Usb {
            if let Some(bus) = self.usb() {
                if let Ok(usb) = bus.devices().await {
                    devices.extend(usb.iter().flat_map(|d| d.device_infos()));
                }
            }
        }
        let candidates: Vec<DeviceInfo> = devices
            .into_iter()
            .filter(|d| identity.matches(d))
            .collect();
        if let Some(p) = prefer {
            if let Some(d) = candidates.iter().find(|d| &d.id == p) {
                return Ok(d.clone());
            }
        }
        match candidates.as_slice() {
            [] => Err(gone(
                "not connected; it is used again as soon as it is back".into(),
            )),
            [one] => Ok(one.clone()),
            many => Err(gone(format!(
                "{} connected devices look the same and none has a serial number to tell them apart",
                many.len()
            ))),
        }
    }

    /// A card reader that stays the same reader across replugs (see [`StableReader`]).
    pub fn stable_reader(&self, info: &DeviceInfo) -> StableReader {
        StableReader {
            slot: Arc::new(Slot::new(self.clone(), info)),
        }
    }

    /// A scanner that stays the same scanner across replugs (see [`StableScanner`]).
    pub fn stable_scanner(&self, info: &DeviceInfo) -> StableScanner {
        StableScanner {
            slot: Arc::new(Slot::new(self.clone(), info)),
        }
    }
}

/// Whether an error means the device may have gone and should be looked up again.
fn lost(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::DeviceGone | ErrorKind::Io)
}

/// What a presence watch needs: the kit, the identity, the id last seen, a wake-up.
struct Follow {
    kit: Kit,
    identity: DeviceIdentity,
    last_id: Mutex<DeviceId>,
    changed: Notify,
}

impl Follow {
    fn last_id(&self) -> DeviceId {
        self.last_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The device behind a stable handle: its identity, and the open device while it is there.
struct Slot<T: ?Sized> {
    follow: Arc<Follow>,
    first: DeviceInfo,
    current: tokio::sync::Mutex<Option<(DeviceId, Arc<T>)>>,
}

impl<T: ?Sized + Send + Sync> Slot<T> {
    fn new(kit: Kit, info: &DeviceInfo) -> Self {
        Slot {
            follow: Arc::new(Follow {
                kit,
                identity: DeviceIdentity::of(info),
                last_id: Mutex::new(info.id.clone()),
                changed: Notify::new(),
            }),
            first: info.clone(),
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// The open device, opening it (after looking its identity up) when there is none.
    async fn get<F>(&self, open: F) -> Result<Arc<T>>
    where
        F: for<'a> Fn(&'a Kit, &'a DeviceId) -> futures_util::future::BoxFuture<'a, Result<Arc<T>>>,
    {
        let mut cur = self.current.lock().await;
        if let Some((_, dev)) = cur.as_ref() {
            return Ok(dev.clone());
        }
        let f = &self.follow;
        let prefer = f.last_id();
        let info = f.kit.resolve(&f.identity, Some(&prefer)).await?;
        let dev = match tokio::time::timeout(RESOLVE_TIMEOUT, open(&f.kit, &info.id)).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(
                    Error::new(ErrorKind::DeviceGone, info.id.to_string(), "open device")
                        .with_detail(format!("no answer within {} s", RESOLVE_TIMEOUT.as_secs())),
                )
            }
        };
        if info.id != prefer {
            tracing::info!(identity = %f.identity, from = %prefer, to = %info.id, "device is back under another id");
        }
        *f.last_id.lock().unwrap_or_else(|p| p.into_inner()) = info.id.clone();
        *cur = Some((info.id, dev.clone()));
        f.changed.notify_waiters();
        Ok(dev)
    }

    /// Lets go of the device after an error that says it may be gone, and returns the error.
    /// A backend failure ([`ErrorKind::Backend`], e.g. its service cannot be reached) after
    /// which the identity cannot be found either becomes [`ErrorKind::DeviceGone`], with the
    /// backend's error as source.
    async fn check(&self, e: Error) -> Error {
        let f = &self.follow;
        let e = if e.kind() == ErrorKind::Backend
            && f.kit
                .resolve(&f.identity, Some(&f.last_id()))
                .await
                .is_err()
        {
            Error::new(
                ErrorKind::DeviceGone,
                e.context().device().to_owned(),
                e.context().operation().to_owned(),
            )
            .with_detail(format!("the device or its service is not there ({e})"))
            .with_source(e)
        } else {
            e
        };
        if lost(&e) {
            if self.current.lock().await.take().is_some() {
                tracing::info!(identity = %f.identity, error = %e, "device lost; looked up again on next use");
            }
            f.changed.notify_waiters();
        }
        e
    }

    fn current_id(&self) -> Option<DeviceId> {
        self.current
            .try_lock()
            .ok()
            .and_then(|c| c.as_ref().map(|(id, _)| id.clone()))
    }
}

/// The presence stream: resolves on every device event, hotplug event, failure of the handle
/// and every [`PRESENCE_POLL`], and reports changes.
fn presence(follow: Arc<Follow>) -> BoxStream<Presence> {
    #[allow(unused_mut)]
    let mut wake: Vec<BoxStream<()>> = vec![Box::pin(follow.kit.events().map(|_| ()))];
    #[cfg(feature = "usb")]
    if let Some(bus) = follow.kit.usb() {
        wake.push(Box::pin(bus.hotplug().map(|_| ())));
    }
    let wake = futures_util::stream::select_all(wake);
    // The starting state is the device as last seen: if it is not there at the first look-up
    // (it went away before the stream was first polled), the first event is `Gone`.
    let start = Some(Some(follow.last_id()));
    let state = (follow, Box::pin(wake) as BoxStream<()>, start);
    Box::pin(futures_util::stream::unfold(
        state,
        |(follow, mut wake, mut seen)| async move {
            loop {
                let now = follow
                    .kit
                    .resolve(&follow.identity, Some(&follow.last_id()))
                    .await
                    .ok();
                if let Some(info) = &now {
                    *follow.last_id.lock().unwrap_or_else(|p| p.into_inner()) = info.id.clone();
                }
                let was = seen.replace(now.as_ref().map(|i| i.id.clone()));
                let event = match (was, &now) {
                    (Some(Some(last)), None) => Some(Presence::Gone { last }),
                    (Some(None), Some(info)) => Some(Presence::Back(info.clone())),
                    (Some(Some(a)), Some(info)) if a != info.id => {
                        Some(Presence::Back(info.clone()))
                    }
                    _ => None,
                };
                if let Some(ev) = event {
                    return Some((ev, (follow, wake, seen)));
                }
                tokio::select! {
                    _ = tokio::time::sleep(PRESENCE_POLL) => {}
                    _ = follow.changed.notified() => {}
                    _ = wake.next() => {}
                }
            }
        },
    ))
}

impl Kit {
    /// [`Presence::Gone`] when the device `info` describes goes away, [`Presence::Back`] when
    /// a device with its [`DeviceIdentity`] is there again (with its new id) — for any device
    /// the kit lists, and with feature `usb` for the devices of its USB bus
    /// ([`UsbDevice::device_infos`](crate::usb::UsbDevice::device_infos)). The stream starts
    /// from `info` being present: if it is gone by the first look-up, the first event is
    /// [`Presence::Gone`]. Dropping the stream stops the watching.
    pub fn presence(&self, info: &DeviceInfo) -> BoxStream<Presence> {
        presence(Arc::new(Follow {
            kit: self.clone(),
            identity: DeviceIdentity::of(info),
            last_id: Mutex::new(info.id.clone()),
            changed: Notify::new(),
        }))
    }
}

/// A [`CardReader`] that survives a replug, as [`StableScanner`] does for scanners: made by
/// [`Kit::stable_reader`].
#[derive(Clone)]
pub struct StableReader {
    slot: Arc<Slot<dyn CardReader>>,
}

/// A [`Scanner`] that survives a replug: made by [`Kit::stable_scanner`].
///
/// The handle follows a [`DeviceIdentity`] and opens the device on first use. When a call
/// fails with [`ErrorKind::DeviceGone`] or [`ErrorKind::Io`] (what SANE reports for an
/// unplugged scanner), or with [`ErrorKind::Backend`] while the device cannot be found either
/// (a stopped PC/SC service; reported as `DeviceGone`), the handle lets go of the device, and
/// the next call looks the identity up again ([`Kit::resolve`]) and opens whatever device
/// carries it then, under whichever name. While it is not there, calls fail at once with
/// [`ErrorKind::DeviceGone`], never hang: the look-up has its own time limit
/// ([`RESOLVE_TIMEOUT`]). Its [`presence`](StableScanner::presence) stream says
/// [`Presence::Gone`] and [`Presence::Back`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use buergerkoffer::{ErrorKind, Kit, Scanner, DeviceKind};
/// use buergerkoffer::mock::{MockKit, MockScanner};
/// let mock = MockKit::new().with_scanner(MockScanner::with_identity("scanner-7", "fi-7160", "A1B2"));
/// let kit = Kit::new().with_provider(mock.clone());
/// let info = kit.discover().await.of_kind(DeviceKind::Scanner).next().unwrap().clone();
/// let scanner = kit.stable_scanner(&info);
/// scanner.capabilities().await?;
/// mock.unplug("scanner-7"); // the cable is pulled ...
/// assert_eq!(scanner.capabilities().await.unwrap_err().kind(), ErrorKind::DeviceGone);
/// mock.plug_scanner(MockScanner::with_identity("scanner-9", "fi-7160", "A1B2")); // ... and back, renamed
/// scanner.capabilities().await?;
/// assert_eq!(scanner.current_id().unwrap().to_string(), "mock:scanner-9");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct StableScanner {
    slot: Arc<Slot<dyn Scanner>>,
}

macro_rules! stable_common {
    ($t:ty) => {
        impl $t {
            /// The identity this handle follows.
            pub fn identity(&self) -> &DeviceIdentity {
                &self.slot.follow.identity
            }

            /// The id of the device open now, if one is (`None` while it is gone or before
            /// first use).
            pub fn current_id(&self) -> Option<DeviceId> {
                self.slot.current_id()
            }

            /// [`Presence::Gone`] when the device goes away, [`Presence::Back`] when it is
            /// back (with its new id), starting from the device as last seen (see
            /// [`Kit::presence`]). Dropping the stream stops the watching.
            pub fn presence(&self) -> BoxStream<Presence> {
                presence(self.slot.follow.clone())
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("identity", &self.slot.follow.identity)
                    .field("current", &self.current_id())
                    .finish()
            }
        }
    };
}

stable_common!(StableReader);
stable_common!(StableScanner);

impl StableReader {
    async fn dev(&self) -> Result<Arc<dyn CardReader>> {
        self.slot
            .get(|kit, id| Box::pin(async move { kit.open_reader(id).await.map(Arc::from) }))
            .await
    }

    async fn run<R>(
        &self,
        f: impl for<'a> FnOnce(&'a dyn CardReader) -> futures_util::future::BoxFuture<'a, Result<R>>,
    ) -> Result<R> {
        let dev = match self.dev().await {
            Ok(d) => d,
            Err(e) => return Err(self.slot.check(e).await),
        };
        match f(dev.as_ref()).await {
            Ok(v) => Ok(v),
            Err(e) => Err(self.slot.check(e).await),
        }
    }
}

#[async_trait]
impl CardReader for StableReader {
    /// The reader as first chosen (its id may have changed since: see
    /// [`current_id`](StableReader::current_id)).
    fn info(&self) -> &DeviceInfo {
        &self.slot.first
    }

    async fn status(&self) -> Result<ReaderStatus> {
        self.run(|r| r.status()).await
    }

    /// The card events of the reader open now; the stream ends with
    /// [`ReaderEvent::ReaderRemoved`] when it goes (watch [`presence`](StableReader::presence)
    /// for its return). Subscribes at once when the reader is open; before first use the reader
    /// is opened when the stream is first polled.
    fn events(&self) -> BoxStream<ReaderEvent> {
        // Subscribe now when the reader is open, so no event after this call is missed.
        let open = self
            .slot
            .current
            .try_lock()
            .ok()
            .and_then(|c| c.as_ref().map(|(_, d)| d.clone()));
        if let Some(dev) = open {
            return dev.events();
        }
        let this = self.clone();
        Box::pin(
            futures_util::stream::once(async move {
                match this.dev().await {
                    Ok(d) => d.events(),
                    Err(_) => Box::pin(futures_util::stream::iter([ReaderEvent::ReaderRemoved])),
                }
            })
            .flatten(),
        )
    }

    async fn connect(&self, mode: ShareMode) -> Result<Box<dyn Card>> {
        self.run(|r| r.connect(mode)).await
    }

    async fn features(&self) -> Result<ReaderFeatures> {
        self.run(|r| r.features()).await
    }
}

#[async_trait]
impl Scanner for StableScanner {
    /// The scanner as first chosen (its id may have changed since: see
    /// [`current_id`](StableScanner::current_id)).
    fn info(&self) -> &DeviceInfo {
        &self.slot.first
    }

    async fn capabilities(&self) -> Result<ScanCapabilities> {
        let dev = match self.dev().await {
            Ok(d) => d,
            Err(e) => return Err(self.slot.check(e).await),
        };
        match dev.capabilities().await {
            Ok(c) => Ok(c),
            Err(e) => Err(self.slot.check(e).await),
        }
    }

    /// Scans on the scanner open now. A page that fails because the scanner went away makes
    /// the handle look it up again on next use.
    async fn scan(&self, request: &ScanRequest) -> Result<PageStream> {
        let dev = match self.dev().await {
            Ok(d) => d,
            Err(e) => return Err(self.slot.check(e).await),
        };
        let pages = match dev.scan(request).await {
            Ok(p) => p,
            Err(e) => return Err(self.slot.check(e).await),
        };
        let slot = self.slot.clone();
        Ok(PageStream::new(pages.then(move |page| {
            let slot = slot.clone();
            async move {
                match page {
                    Err(e) => Err(slot.check(e).await),
                    ok => ok,
                }
            }
        })))
    }
}

impl StableScanner {
    async fn dev(&self) -> Result<Arc<dyn Scanner>> {
        self.slot
            .get(|kit, id| Box::pin(async move { kit.open_scanner(id).await.map(Arc::from) }))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcsc_names_lose_the_reader_number_and_keep_slot_and_serial() {
        assert_eq!(
            pcsc_model("Virtual PCD 00 01"),
            ("Virtual PCD slot 01".into(), None)
        );
        assert_eq!(pcsc_model("Virtual PCD 03 01").0, "Virtual PCD slot 01");
        assert_eq!(
            pcsc_model("REINER SCT cyberJack RFID standard (0000000001) 00 00"),
            (
                "REINER SCT cyberJack RFID standard (0000000001) slot 00".into(),
                Some("0000000001".into())
            )
        );
        // Names that do not end in two hex pairs stay whole.
        assert_eq!(pcsc_model("Odd Reader").0, "Odd Reader");
        assert_eq!(pcsc_model("Reader 0 1").0, "Reader 0 1");
        assert_eq!(pcsc_model("").0, "");
    }
}
