//! Device and card events for the WebSocket clients: the kit's device events and each card
//! reader's card events, turned into JSON and published on the service's channel.

use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::json;
use tokio::task::JoinHandle;

use super::api::device_json;
use super::state::{stopped, AppState};
use crate::card::ReaderEvent;
use crate::device::{DeviceEvent, DeviceId, DeviceKind};

/// Starts the task that follows the kit (and, through it, every card reader).
pub(crate) fn spawn_forwarders(st: &Arc<AppState>) -> Vec<JoinHandle<()>> {
    let st = st.clone();
    vec![tokio::spawn(async move {
        let mut events = st.kit.events();
        let found = st.kit.discover().await;
        for d in found.of_kind(DeviceKind::CardReader) {
            follow_reader(&st, d.id.clone());
        }
        let mut stop = st.stop.clone();
        loop {
            let ev = tokio::select! {
                () = stopped(&mut stop) => break,
                ev = events.next() => ev,
            };
            let Some(ev) = ev else { break };
            let msg = match &ev {
                DeviceEvent::Added(d) => {
                    if d.kind == DeviceKind::CardReader {
                        follow_reader(&st, d.id.clone());
                    }
                    json!({"type": "device", "event": "added", "device": device_json(d)})
                }
                DeviceEvent::Removed(id) => {
                    json!({"type": "device", "event": "removed", "id": id.to_string()})
                }
                DeviceEvent::Lagged { missed } => {
                    json!({"type": "device", "event": "lagged", "missed": missed})
                }
            };
            st.publish(msg);
        }
    })]
}

/// Follows one reader's card events until it goes away or the service stops.
fn follow_reader(st: &Arc<AppState>, id: DeviceId) {
    let st = st.clone();
    tokio::spawn(async move {
        let Ok(reader) = st.kit.open_reader(&id).await else {
            return;
        };
        let mut events = reader.events();
        let mut stop = st.stop.clone();
        let name = id.to_string();
        loop {
            let ev = tokio::select! {
                () = stopped(&mut stop) => break,
                ev = events.next() => ev,
            };
            let msg = match ev {
                None => break,
                Some(ReaderEvent::CardInserted(atr)) => {
                    json!({"type": "card", "reader": name, "event": "inserted", "atr": atr.to_string()})
                }
                Some(ReaderEvent::CardRemoved) => {
                    json!({"type": "card", "reader": name, "event": "removed"})
                }
                Some(ReaderEvent::ReaderRemoved) => {
                    st.publish(json!({"type": "card", "reader": name, "event": "reader_removed"}));
                    break;
                }
                Some(ReaderEvent::Lagged { missed }) => {
                    json!({"type": "card", "reader": name, "event": "lagged", "missed": missed})
                }
            };
            st.publish(msg);
        }
    });
}
