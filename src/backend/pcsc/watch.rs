//! Watcher threads behind the event streams: one per subscriber, on `SCardGetStatusChange`.
//!
//! Each thread has its own PC/SC context. It waits at most half a second per call, so it
//! notices a dropped stream even if `SCardCancel` were lost; dropping the stream also calls
//! `SCardCancel`, which ends the wait at once. When pcscd stops or restarts, the thread
//! establishes a new context and compares the new state with the last one it reported, so a
//! restart produces no spurious events and a change during the restart is not lost.

use std::collections::BTreeSet;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::broadcast;

use super::{is_service_loss, list_readers, reader_info};
use crate::card::{Atr, ReaderEvent};
use crate::device::{broadcast_stream, Backend, BoxStream, DeviceEvent, DeviceId};

/// Longest single wait; bounds how long a thread outlives its stream.
const WAIT: Duration = Duration::from_millis(500);
/// Pause before re-establishing a context after the service went away.
const RETRY: Duration = Duration::from_millis(200);
/// How long a reader may be missing after a service restart before it counts as removed.
const RESTART_GRACE: Duration = Duration::from_secs(5);
const CAPACITY: usize = 64;

/// Shared between a stream and its thread: the stop flag and the context to cancel.
#[derive(Default)]
struct Stop {
    stopped: AtomicBool,
    ctx: Mutex<Option<pcsc::Context>>,
}

impl Stop {
    fn is_set(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// A fresh context (retrying while pcscd is away) that a drop of the stream cancels, or
    /// `None` once the stream is gone.
    fn establish(&self) -> Option<pcsc::Context> {
        while !self.is_set() {
            match pcsc::Context::establish(pcsc::Scope::User) {
                Ok(ctx) => {
                    *self.ctx.lock().unwrap_or_else(|p| p.into_inner()) = Some(ctx.clone());
                    // A drop between the check above and storing the context missed it.
                    return (!self.is_set()).then_some(ctx);
                }
                Err(_) => std::thread::sleep(RETRY),
            }
        }
        None
    }
}

/// Stops the thread when the stream (which owns this guard) is dropped.
struct StopOnDrop(Arc<Stop>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stopped.store(true, Ordering::Release);
        if let Some(ctx) = self
            .0
            .ctx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = ctx.cancel();
        }
    }
}

fn spawn<T: Clone + Send + 'static>(
    name: &str,
    lagged: fn(u64) -> T,
    body: impl FnOnce(broadcast::Sender<T>, Arc<Stop>) + Send + 'static,
) -> BoxStream<T> {
    let (tx, rx) = broadcast::channel(CAPACITY);
    let stop = Arc::new(Stop::default());
    let thread_stop = stop.clone();
    let started = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || body(tx, thread_stop));
    if let Err(e) = started {
        tracing::warn!(error = %e, "cannot start the PC/SC watcher thread; no events");
        return Box::pin(futures_util::stream::empty());
    }
    let guard = StopOnDrop(stop);
    Box::pin(broadcast_stream(rx, lagged).map(move |ev| {
        let _keep = &guard;
        ev
    }))
}

/// Card inserted/removed events of one reader.
pub(super) fn reader_events(name: CString) -> BoxStream<ReaderEvent> {
    spawn(
        "bk-pcsc-watch",
        |missed| ReaderEvent::Lagged { missed },
        move |tx, stop| watch_reader(&name, &tx, &stop),
    )
}

/// What the watcher last reported about the card.
#[derive(Clone, PartialEq, Eq)]
struct CardSeen {
    atr: Option<Atr>,
    count: u32,
}

fn watch_reader(name: &CString, tx: &broadcast::Sender<ReaderEvent>, stop: &Stop) {
    let mut seen: Option<CardSeen> = None;
    let mut missing_since: Option<Instant> = None;
    let send = |ev: ReaderEvent| tx.send(ev).is_ok();
    'service: while let Some(ctx) = stop.establish() {
        let mut states = [pcsc::ReaderState::new(name.clone(), pcsc::State::UNAWARE)];
        loop {
            if stop.is_set() || tx.receiver_count() == 0 {
                return;
            }
            match ctx.get_status_change(WAIT, &mut states) {
                Ok(()) => {}
                Err(pcsc::Error::Timeout) => continue,
                Err(pcsc::Error::Cancelled) => continue,
                Err(pcsc::Error::UnknownReader) => {
                    // Right after a service restart the reader may not be back yet.
                    let since = *missing_since.get_or_insert_with(Instant::now);
                    if seen.is_none() || since.elapsed() > RESTART_GRACE {
                        let _ = send(ReaderEvent::ReaderRemoved);
                        return;
                    }
                    std::thread::sleep(RETRY);
                    continue 'service;
                }
                Err(e) if is_service_loss(e) || e == pcsc::Error::NoReadersAvailable => {
                    missing_since.get_or_insert_with(Instant::now);
                    std::thread::sleep(RETRY);
                    continue 'service;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "PC/SC status wait failed; retrying");
                    std::thread::sleep(RETRY);
                    continue 'service;
                }
            }
            let [st] = &mut states;
            let state = st.event_state();
            if state.intersects(pcsc::State::UNKNOWN | pcsc::State::IGNORE) {
                let _ = send(ReaderEvent::ReaderRemoved);
                return;
            }
            missing_since = None;
            let atr = if state.contains(pcsc::State::PRESENT) {
                Atr::new(st.atr().to_vec()).ok()
            } else {
                None
            };
            let now = CardSeen {
                atr,
                count: st.event_count(),
            };
            st.sync_current_state();
            let Some(before) = seen.replace(now.clone()) else {
                continue; // the first answer is the starting state, not an event
            };
            let ok = match (&before.atr, &now.atr) {
                (None, Some(atr)) => send(ReaderEvent::CardInserted(atr.clone())),
                (Some(_), None) => send(ReaderEvent::CardRemoved),
                // Same reader state but another card (or the same card re-inserted between
                // two waits): the ATR or the insertion counter moved.
                (Some(a), Some(b)) if a != b || before.count.wrapping_add(1) < now.count => {
                    send(ReaderEvent::CardRemoved) && send(ReaderEvent::CardInserted(b.clone()))
                }
                _ => true,
            };
            if !ok {
                return;
            }
        }
    }
}

/// Reader added/removed events, from the PnP notification pseudo-reader and a re-list on
/// every wake-up (some drivers do not signal PnP).
pub(super) fn reader_list_events() -> BoxStream<DeviceEvent> {
    spawn(
        "bk-pcsc-pnp",
        |missed| DeviceEvent::Lagged { missed },
        move |tx, stop| watch_list(&tx, &stop),
    )
}

fn watch_list(tx: &broadcast::Sender<DeviceEvent>, stop: &Stop) {
    let mut known: Option<BTreeSet<CString>> = None;
    'service: while let Some(ctx) = stop.establish() {
        let mut pnp = [pcsc::ReaderState::new(
            pcsc::PNP_NOTIFICATION(),
            pcsc::State::UNAWARE,
        )];
        loop {
            if stop.is_set() || tx.receiver_count() == 0 {
                return;
            }
            let now: BTreeSet<CString> = match list_readers(&ctx) {
                Ok(v) => v.into_iter().collect(),
                Err(_) => {
                    std::thread::sleep(RETRY);
                    continue 'service;
                }
            };
            if let Some(before) = &known {
                for gone in before.difference(&now) {
                    let id = DeviceId::new(Backend::Pcsc, gone.to_string_lossy().into_owned());
                    if tx.send(DeviceEvent::Removed(id)).is_err() {
                        return;
                    }
                }
                for added in now.difference(before) {
                    if tx.send(DeviceEvent::Added(reader_info(added))).is_err() {
                        return;
                    }
                }
            }
            known = Some(now);
            match ctx.get_status_change(WAIT, &mut pnp) {
                Ok(()) => {
                    let [p] = &mut pnp;
                    p.sync_current_state();
                }
                Err(pcsc::Error::Timeout | pcsc::Error::Cancelled) => {}
                Err(e) if is_service_loss(e) => {
                    std::thread::sleep(RETRY);
                    continue 'service;
                }
                // Without PnP support, fall back to polling.
                Err(_) => std::thread::sleep(WAIT),
            }
        }
    }
}
