//! The hotplug stream: arrivals and removals of USB devices, as a `futures_core::Stream`.
//!
//! A [`HotplugStream`] owns what produces its events: for the real bus a guard that stops the
//! watcher thread when the stream is dropped; for the mock bus a broadcast subscription.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::device::BoxStream;

use super::UsbDevice;

/// A change on the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsbEvent {
    /// A device was plugged in (descriptors read, roles classified).
    Arrived(UsbDevice),
    /// A device was unplugged; the description is the one read when it was seen last.
    Left(UsbDevice),
    /// This subscriber fell behind and `missed` events were dropped: list the devices again.
    /// Never a silent gap.
    Lagged {
        /// How many events were dropped.
        missed: u64,
    },
}

/// Something kept alive while the stream lives and dropped with it (stops a watcher thread).
pub(crate) trait StopOnDrop: Send + Sync {}

impl<T: Send + Sync> StopOnDrop for T {}

/// Arrivals and removals of USB devices, from the moment the stream was created (it does not
/// replay the devices already present: subscribe first, then list with
/// [`UsbBus::devices`](super::UsbBus::devices), and no change falls between the two).
///
/// Dropping the stream stops whatever produces its events (the real bus's watcher thread).
/// The stream ends when its bus can deliver no more events (the mock bus was dropped, or the
/// real bus has no USB access).
pub struct HotplugStream {
    inner: BoxStream<UsbEvent>,
    _guard: Option<Box<dyn StopOnDrop>>,
}

impl HotplugStream {
    /// A stream over `inner`, keeping `guard` alive until the stream is dropped.
    pub(crate) fn new(inner: BoxStream<UsbEvent>, guard: Option<Box<dyn StopOnDrop>>) -> Self {
        HotplugStream {
            inner,
            _guard: guard,
        }
    }

    /// A stream that ends at once (a bus without USB access).
    pub fn empty() -> Self {
        HotplugStream::new(Box::pin(futures_util::stream::empty()), None)
    }

    /// Wraps any stream of events, e.g. for a hand-written [`UsbBus`](super::UsbBus).
    pub fn from_stream(stream: impl Stream<Item = UsbEvent> + Send + 'static) -> Self {
        HotplugStream::new(Box::pin(stream), None)
    }
}

impl fmt::Debug for HotplugStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HotplugStream").finish_non_exhaustive()
    }
}

impl Stream for HotplugStream {
    type Item = UsbEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<UsbEvent>> {
        self.inner.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
