//! [`MockUsbBus`]: a USB bus for tests, whose devices are plugged and unplugged by hand.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::device::{broadcast_stream, DeviceId};
use crate::error::Result;

use super::{HotplugStream, UsbBus, UsbDevice, UsbEvent};

/// Events a slow subscriber may fall behind by before it gets [`UsbEvent::Lagged`].
const EVENT_BUFFER: usize = 64;

/// A USB bus whose devices a test plugs in and pulls out. Cheap to clone: clones share the
/// same bus, so a test keeps one handle and gives another to the [`Kit`](crate::Kit).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
/// use buergerkoffer::usb::{fixtures, MockUsbBus, UsbBus, UsbEvent};
/// use tokio_stream::StreamExt;
///
/// let bus = MockUsbBus::new();
/// let mut events = bus.hotplug();
/// let reader = fixtures::CYBERJACK_RFID_STANDARD.device_at(1, &[3])?;
/// bus.plug(reader.clone());
/// assert_eq!(events.next().await, Some(UsbEvent::Arrived(reader.clone())));
/// assert!(bus.unplug(&reader.id()).is_some());
/// assert_eq!(events.next().await, Some(UsbEvent::Left(reader)));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct MockUsbBus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    devices: Mutex<Vec<UsbDevice>>,
    events: broadcast::Sender<UsbEvent>,
}

impl Default for MockUsbBus {
    fn default() -> Self {
        MockUsbBus::new()
    }
}

impl MockUsbBus {
    /// An empty bus.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        MockUsbBus {
            inner: Arc::new(Inner {
                devices: Mutex::new(Vec::new()),
                events,
            }),
        }
    }

    /// A bus with these devices already plugged in (no events are sent for them).
    pub fn with_devices(devices: impl IntoIterator<Item = UsbDevice>) -> Self {
        let bus = MockUsbBus::new();
        bus.lock().extend(devices);
        bus
    }

    fn lock(&self) -> MutexGuard<'_, Vec<UsbDevice>> {
        // A panic while holding the lock cannot leave the list half-changed (every change is
        // one push or remove), so a poisoned lock is still usable.
        self.inner
            .devices
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Plugs a device in and sends [`UsbEvent::Arrived`]. A device already at the same port
    /// path is unplugged first (with its [`UsbEvent::Left`]), as on a real bus.
    pub fn plug(&self, device: UsbDevice) {
        let mut devices = self.lock();
        if let Some(pos) = devices.iter().position(|d| d.id() == device.id()) {
            let old = devices.remove(pos);
            let _ = self.inner.events.send(UsbEvent::Left(old));
        }
        devices.push(device.clone());
        // Sent while holding the lock, so events arrive in the order of the changes.
        let _ = self.inner.events.send(UsbEvent::Arrived(device));
    }

    /// Pulls out the device with this id (`usb:PATH`) and sends [`UsbEvent::Left`]; returns
    /// it, or `None` if no device has that id.
    pub fn unplug(&self, id: &DeviceId) -> Option<UsbDevice> {
        let mut devices = self.lock();
        let pos = devices.iter().position(|d| &d.id() == id)?;
        let old = devices.remove(pos);
        let _ = self.inner.events.send(UsbEvent::Left(old.clone()));
        Some(old)
    }

    /// Pulls out every device, one [`UsbEvent::Left`] each.
    pub fn unplug_all(&self) {
        let mut devices = self.lock();
        for old in devices.drain(..) {
            let _ = self.inner.events.send(UsbEvent::Left(old));
        }
    }

    /// The devices plugged in now (synchronous form of [`UsbBus::devices`]).
    pub fn snapshot(&self) -> Vec<UsbDevice> {
        self.lock().clone()
    }
}

#[async_trait]
impl UsbBus for MockUsbBus {
    async fn devices(&self) -> Result<Vec<UsbDevice>> {
        Ok(self.snapshot())
    }

    /// Events from every clone of this bus. The stream ends when every handle to the bus has
    /// been dropped. A subscriber more than 64 events behind gets [`UsbEvent::Lagged`].
    fn hotplug(&self) -> HotplugStream {
        let rx = self.inner.events.subscribe();
        HotplugStream::new(
            broadcast_stream(rx, |missed| UsbEvent::Lagged { missed }),
            None,
        )
    }
}
