//! [`RusbBus`]: the real USB bus, through libusb (crate `rusb`).
//!
//! Every libusb call here runs on a blocking thread: listings on tokio's blocking pool, the
//! hotplug watcher on its own named thread. Only explicit `rusb::Context`s are used: rusb's
//! global-context helpers (`rusb::devices()`, `rusb::has_hotplug()`) panic on a machine
//! without USB, while a failing `Context::new()` is turned into an empty device list and a
//! hotplug stream that ends at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self as std_mpsc, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusb::{Context, Device, UsbContext};
use tokio::sync::mpsc;

use crate::error::{Error, ErrorKind, RawCode, Result};

use super::descriptor::{
    ConfigDescriptor, DeviceDescriptor, EndpointDescriptor, InterfaceDescriptor,
};
use super::{HotplugStream, UsbBus, UsbDevice, UsbEvent};

/// How long one string-descriptor read may take.
const STRING_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the hotplug thread waits in libusb before it checks whether to stop.
const EVENT_WAIT: Duration = Duration::from_millis(250);
/// Events buffered for a slow hotplug consumer before the watcher thread waits for it.
const EVENT_BUFFER: usize = 64;

static WATCHERS: AtomicUsize = AtomicUsize::new(0);

/// The machine's USB bus, through libusb.
///
/// On a machine without USB access (no `/dev/bus/usb`, a container, a sandbox)
/// [`devices`](UsbBus::devices) returns an empty list and [`hotplug`](UsbBus::hotplug) a
/// stream that ends at once — not an error, not a panic. Strings (manufacturer, product,
/// serial) need permission to open the device; without it they are `None` and the device is
/// still listed and classified.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use buergerkoffer::usb::{RusbBus, UsbBus, UsbEvent};
/// use tokio_stream::StreamExt;
///
/// let bus = RusbBus::new();
/// let mut events = bus.hotplug(); // subscribe first, then list: no gap
/// for dev in bus.devices().await? {
///     println!("{dev} {:?}", dev.roles);
/// }
/// while let Some(ev) = events.next().await {
///     println!("{ev:?}");
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct RusbBus {
    poll_interval: Duration,
    polling_only: bool,
}

impl Default for RusbBus {
    fn default() -> Self {
        RusbBus::new()
    }
}

impl RusbBus {
    /// The real bus; hotplug uses libusb's hotplug callbacks where available and polls once a
    /// second otherwise.
    pub fn new() -> Self {
        RusbBus {
            poll_interval: Duration::from_secs(1),
            polling_only: false,
        }
    }

    /// Sets how often the bus is polled when libusb has no hotplug support.
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Never uses libusb's hotplug callbacks; always polls.
    #[must_use]
    pub fn polling_only(mut self) -> Self {
        self.polling_only = true;
        self
    }

    /// Lists the devices on the calling thread (it blocks: string reads talk to the
    /// devices). [`UsbBus::devices`] runs this on a blocking thread.
    ///
    /// # Errors
    /// As [`UsbBus::devices`].
    pub fn devices_blocking(&self) -> Result<Vec<UsbDevice>> {
        let Some(ctx) = open_context() else {
            return Ok(Vec::new());
        };
        let list = ctx
            .devices()
            .map_err(|e| usb_error(e, "list USB devices"))?;
        Ok(list.iter().filter_map(|d| read_device(&d)).collect())
    }

    /// How many hotplug watcher threads of this process are running now (each live
    /// [`HotplugStream`] of a real bus has one; it ends shortly after the stream is dropped).
    pub fn running_watchers() -> usize {
        WATCHERS.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl UsbBus for RusbBus {
    async fn devices(&self) -> Result<Vec<UsbDevice>> {
        let bus = self.clone();
        tokio::task::spawn_blocking(move || bus.devices_blocking())
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Backend, "usb", "list USB devices")
                    .with_detail("the listing thread failed")
                    .with_source(e)
            })?
    }

    fn hotplug(&self) -> HotplugStream {
        let Some(ctx) = open_context() else {
            return HotplugStream::empty();
        };
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let (stop_tx, stop_rx) = std_mpsc::channel::<()>();
        let bus = self.clone();
        let thread_ctx = ctx.clone();
        WATCHERS.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new()
            .name("buergerkoffer-usb-hotplug".into())
            .spawn(move || {
                let _running = Running;
                watch(&thread_ctx, &bus, &tx, &stop_rx);
            });
        if let Err(e) = spawned {
            WATCHERS.fetch_sub(1, Ordering::SeqCst);
            tracing::warn!(error = %e, "cannot start the USB hotplug thread");
            return HotplugStream::empty();
        }
        let guard = StopWatcher {
            stop: Some(stop_tx),
            ctx,
        };
        HotplugStream::new(
            Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)),
            Some(Box::new(guard)),
        )
    }
}

/// Counts a running watcher thread; decrements when the thread ends (even by panic).
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        WATCHERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Held by the [`HotplugStream`]: dropping it disconnects the stop channel and wakes the
/// thread out of libusb's event wait.
struct StopWatcher {
    stop: Option<std_mpsc::Sender<()>>,
    ctx: Context,
}

impl Drop for StopWatcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        self.ctx.interrupt_handle_events();
    }
}

/// A libusb context, or `None` (logged) on a machine without USB.
fn open_context() -> Option<Context> {
    match Context::new() {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::debug!(error = %e, "no USB access: libusb could not be initialised");
            None
        }
    }
}

/// Collects hotplug callbacks; the watcher thread handles them after `handle_events`
/// returns (descriptor and string reads are not allowed inside the callback).
struct Collect(Queue);

/// Hotplug callbacks waiting for the watcher thread: (arrived, device).
type Queue = Arc<Mutex<Vec<(bool, Device<Context>)>>>;

impl rusb::Hotplug<Context> for Collect {
    fn device_arrived(&mut self, device: Device<Context>) {
        if let Ok(mut q) = self.0.lock() {
            q.push((true, device));
        }
    }

    fn device_left(&mut self, device: Device<Context>) {
        if let Ok(mut q) = self.0.lock() {
            q.push((false, device));
        }
    }
}

type Key = (u8, u8);

fn key(d: &Device<Context>) -> Key {
    (d.bus_number(), d.address())
}

/// The watcher thread: libusb hotplug if it can be registered, polling otherwise. Returns
/// when the stream is dropped (stop channel disconnected or the event receiver gone).
fn watch(ctx: &Context, bus: &RusbBus, tx: &mpsc::Sender<UsbEvent>, stop: &std_mpsc::Receiver<()>) {
    let queue: Queue = Arc::new(Mutex::new(Vec::new()));
    let registration = if bus.polling_only {
        None
    } else {
        match rusb::HotplugBuilder::new()
            .enumerate(false)
            .register(ctx, Box::new(Collect(queue.clone())))
        {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::debug!(error = %e, "libusb hotplug unavailable, polling the USB bus");
                None
            }
        }
    };
    // The snapshot is taken after registering, so no change falls between the two.
    let mut known: HashMap<Key, UsbDevice> = match ctx.devices() {
        Ok(list) => list
            .iter()
            .filter_map(|d| Some((key(&d), read_device(&d)?)))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list USB devices for hotplug");
            HashMap::new()
        }
    };
    let send = |ev: UsbEvent| tx.blocking_send(ev).is_ok();
    loop {
        if registration.is_some() {
            if !matches!(stop.try_recv(), Err(TryRecvError::Empty)) {
                return;
            }
            if let Err(e) = ctx.handle_events(Some(EVENT_WAIT)) {
                if e != rusb::Error::Interrupted {
                    tracing::warn!(error = %e, "libusb event handling failed");
                    std::thread::sleep(EVENT_WAIT);
                }
            }
            let batch = match queue.lock() {
                Ok(mut q) => std::mem::take(&mut *q),
                Err(_) => return,
            };
            for (arrived, dev) in batch {
                let k = key(&dev);
                let event = if arrived {
                    if known.contains_key(&k) {
                        continue;
                    }
                    let Some(d) = read_device(&dev) else { continue };
                    known.insert(k, d.clone());
                    UsbEvent::Arrived(d)
                } else {
                    let Some(d) = known.remove(&k).or_else(|| read_device(&dev)) else {
                        continue;
                    };
                    UsbEvent::Left(d)
                };
                if !send(event) {
                    return;
                }
            }
        } else {
            match stop.recv_timeout(bus.poll_interval) {
                Err(RecvTimeoutError::Timeout) => {}
                _ => return,
            }
            let list = match ctx.devices() {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "polling the USB bus failed");
                    continue;
                }
            };
            let now: Vec<Device<Context>> = list.iter().collect();
            let gone: Vec<Key> = known
                .keys()
                .filter(|k| !now.iter().any(|d| key(d) == **k))
                .copied()
                .collect();
            for k in gone {
                if let Some(d) = known.remove(&k) {
                    if !send(UsbEvent::Left(d)) {
                        return;
                    }
                }
            }
            for dev in now {
                let k = key(&dev);
                if known.contains_key(&k) {
                    continue;
                }
                if let Some(d) = read_device(&dev) {
                    known.insert(k, d.clone());
                    if !send(UsbEvent::Arrived(d)) {
                        return;
                    }
                }
            }
        }
    }
}

/// Reads one device's descriptors and (if it can be opened) strings. `None` when even the
/// device descriptor cannot be read (the device went away meanwhile).
fn read_device(dev: &Device<Context>) -> Option<UsbDevice> {
    let desc = dev.device_descriptor().ok()?;
    let ports = dev.port_numbers().unwrap_or_default();
    let config = dev
        .active_config_descriptor()
        .or_else(|_| dev.config_descriptor(0))
        .ok()
        .map(|c| convert_config(&c));
    let mut out = UsbDevice::new(dev.bus_number(), &ports, convert_device(&desc), config);
    out.address = dev.address();
    if let Ok(handle) = dev.open() {
        if let Some(lang) = handle
            .read_languages(STRING_TIMEOUT)
            .ok()
            .and_then(|l| l.first().copied())
        {
            out.manufacturer = handle
                .read_manufacturer_string(lang, &desc, STRING_TIMEOUT)
                .ok();
            out.product = handle.read_product_string(lang, &desc, STRING_TIMEOUT).ok();
            out.serial = handle
                .read_serial_number_string(lang, &desc, STRING_TIMEOUT)
                .ok();
        }
    }
    Some(out)
}

fn bcd(v: rusb::Version) -> u16 {
    let rusb::Version(major, minor, sub) = v;
    (u16::from(major / 10 % 10) << 12)
        | (u16::from(major % 10) << 8)
        | (u16::from(minor & 0x0f) << 4)
        | u16::from(sub & 0x0f)
}

fn convert_device(d: &rusb::DeviceDescriptor) -> DeviceDescriptor {
    DeviceDescriptor {
        usb_version: bcd(d.usb_version()),
        class: d.class_code(),
        subclass: d.sub_class_code(),
        protocol: d.protocol_code(),
        max_packet_size0: d.max_packet_size(),
        vendor_id: d.vendor_id(),
        product_id: d.product_id(),
        device_version: bcd(d.device_version()),
        manufacturer_index: d.manufacturer_string_index().unwrap_or(0),
        product_index: d.product_string_index().unwrap_or(0),
        serial_index: d.serial_number_string_index().unwrap_or(0),
        num_configurations: d.num_configurations(),
    }
}

fn convert_config(c: &rusb::ConfigDescriptor) -> ConfigDescriptor {
    let mut interfaces = Vec::new();
    for iface in c.interfaces() {
        for alt in iface.descriptors() {
            interfaces.push(InterfaceDescriptor {
                number: alt.interface_number(),
                alternate_setting: alt.setting_number(),
                class: alt.class_code(),
                subclass: alt.sub_class_code(),
                protocol: alt.protocol_code(),
                string_index: alt.description_string_index().unwrap_or(0),
                endpoints: alt
                    .endpoint_descriptors()
                    .map(|e| EndpointDescriptor {
                        address: e.address(),
                        attributes: match e.transfer_type() {
                            rusb::TransferType::Control => 0,
                            rusb::TransferType::Isochronous => 1,
                            rusb::TransferType::Bulk => 2,
                            rusb::TransferType::Interrupt => 3,
                        },
                        max_packet_size: e.max_packet_size(),
                        interval: e.interval(),
                    })
                    .collect(),
                class_descriptors: InterfaceDescriptor::parse_extra(alt.extra())
                    .unwrap_or_default(),
            });
        }
    }
    let mut attributes = 0x80;
    if c.self_powered() {
        attributes |= 0x40;
    }
    if c.remote_wakeup() {
        attributes |= 0x20;
    }
    ConfigDescriptor {
        value: c.number(),
        attributes,
        max_power: u8::try_from(c.max_power() / 2).unwrap_or(u8::MAX),
        string_index: c.description_string_index().unwrap_or(0),
        num_interfaces: c.num_interfaces(),
        interfaces,
    }
}

/// Maps a libusb error to the crate's kinds, keeping the libusb code.
fn usb_error(e: rusb::Error, op: &'static str) -> Error {
    use rusb::Error as U;
    let (kind, code) = match e {
        U::Io => (ErrorKind::Io, Some(-1)),
        U::InvalidParam => (ErrorKind::InvalidInput, Some(-2)),
        U::Access => (ErrorKind::Backend, Some(-3)),
        U::NoDevice => (ErrorKind::DeviceGone, Some(-4)),
        U::NotFound => (ErrorKind::NotFound, Some(-5)),
        U::Busy => (ErrorKind::Busy, Some(-6)),
        U::Timeout => (ErrorKind::Timeout, Some(-7)),
        U::Overflow => (ErrorKind::Protocol, Some(-8)),
        U::Pipe => (ErrorKind::Protocol, Some(-9)),
        U::Interrupted => (ErrorKind::Cancelled, Some(-10)),
        U::NoMem => (ErrorKind::Backend, Some(-11)),
        U::NotSupported => (ErrorKind::Unsupported, Some(-12)),
        U::BadDescriptor => (ErrorKind::Protocol, None),
        _ => (ErrorKind::Backend, Some(-99)),
    };
    let mut err = Error::new(kind, "usb", op);
    if let Some(c) = code {
        err = err.with_raw(RawCode::Usb(c));
    }
    err.with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcd_round_trips() {
        for raw in [0x0110u16, 0x0200, 0x0210, 0x0001, 0x1234] {
            assert_eq!(bcd(rusb::Version::from_bcd(raw)), raw);
        }
    }

    #[test]
    fn libusb_errors_keep_their_code() {
        let e = usb_error(rusb::Error::Busy, "open");
        assert_eq!(e.kind(), ErrorKind::Busy);
        assert_eq!(e.raw(), Some(RawCode::Usb(-6)));
        assert!(std::error::Error::source(&e).is_some());
    }
}
