//! `GET /v1/ws`: the WebSocket every client watches the kit on (device, card and job events,
//! as JSON text messages with a `type`). With `?control=true` the client also takes the
//! control lease: it gets a session id in its `hello` message and keeps the lease until it
//! disconnects; a second controller is answered `409 busy` before the upgrade.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use super::error::ApiError;
use super::state::{stopped, AppState};

/// The subprotocol the service speaks.
pub(crate) const PROTOCOL: &str = "buergerkoffer.v1";
/// A client that does not take a message within this time is disconnected.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WsQuery {
    control: Option<bool>,
}

/// Counts a connected client; gives the control lease back when it goes.
struct Client {
    st: Arc<AppState>,
    session: Option<String>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.st.clients.fetch_sub(1, Ordering::SeqCst);
        if let Some(s) = &self.session {
            self.st.release_control(s);
        }
    }
}

/// The upgrade: client limit, control lease, then the socket.
pub(crate) async fn upgrade(
    State(st): State<Arc<AppState>>,
    q: Result<Query<WsQuery>, QueryRejection>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let n = st.clients.fetch_add(1, Ordering::SeqCst);
    let mut client = Client {
        st: st.clone(),
        session: None,
    };
    if n >= st.config.max_clients {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_clients",
            format!("{} clients are connected", st.config.max_clients),
        ));
    }
    if q.control == Some(true) {
        client.session = Some(st.claim_control().ok_or_else(|| {
            ApiError::busy("another client controls the kit; connect without ?control to watch")
        })?);
    }
    let max = st.config.max_ws_message;
    Ok(ws
        .protocols([PROTOCOL])
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| run(socket, client)))
}

async fn send(socket: &mut WebSocket, v: &Value) -> bool {
    let text = v.to_string();
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await,
        Ok(Ok(()))
    )
}

/// Answers one client message: `{"type": "ping"}` -> `pong`; anything else -> an error
/// message (the socket stays open).
fn answer(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(v) if v.get("type").and_then(Value::as_str) == Some("ping") => {
            json!({"type": "pong"})
        }
        Ok(_) => json!({"type": "error", "error": "bad_request", "message": "unknown message"}),
        Err(e) => json!({"type": "error", "error": "bad_request", "message": e.to_string()}),
    }
}

async fn run(mut socket: WebSocket, client: Client) {
    let st = client.st.clone();
    let mut events = st.events.subscribe();
    let mut stop = st.stop.clone();
    let hello = json!({
        "type": "hello",
        "version": 1,
        "control": client.session.is_some(),
        "session": client.session,
    });
    if !send(&mut socket, &hello).await {
        return;
    }
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            ev = events.recv() => {
                let msg = match ev {
                    Ok(v) => v,
                    Err(RecvError::Lagged(n)) => json!({"type": "lagged", "missed": n}),
                    Err(RecvError::Closed) => break,
                };
                if !send(&mut socket, &msg).await {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    if !send(&mut socket, &answer(t.as_str())).await {
                        break;
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let e = json!({"type": "error", "error": "bad_request", "message": "text messages only"});
                    if !send(&mut socket, &e).await {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let _ = socket.send(Message::Close(None)).await;
    drop(client);
}
