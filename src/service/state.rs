//! What every handler shares: the kit, the configuration, the token, the jobs, the control
//! lease and the event channel to the WebSocket clients.

use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::HeaderMap;
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use super::error::ApiError;
use super::escl::EsclState;
use super::jobs::Jobs;
use super::token::Token;
use super::ServiceConfig;
use crate::kit::Kit;

/// The header that names the controlling client's session.
pub(crate) const SESSION_HEADER: &str = "x-buergerkoffer-session";

/// Shared state of one running service.
pub(crate) struct AppState {
    pub kit: Kit,
    pub config: ServiceConfig,
    pub token: Token,
    pub jobs: Jobs,
    pub escl: EsclState,
    /// The controlling client's session id, while one is connected.
    control: Mutex<Option<String>>,
    /// Events for every WebSocket client (JSON objects with a `type`).
    pub events: broadcast::Sender<Value>,
    /// WebSocket clients connected now.
    pub clients: AtomicUsize,
    /// Turns true when the service stops.
    pub stop: watch::Receiver<bool>,
}

/// Resolves when the service stops.
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AppState {
    pub fn new(
        kit: Kit,
        config: ServiceConfig,
        token: Token,
        jobs_dir: PathBuf,
        stop: watch::Receiver<bool>,
    ) -> Arc<AppState> {
        let (events, _) = broadcast::channel(256);
        let jobs = Jobs::new(jobs_dir, config.jobs_kept);
        Arc::new(AppState {
            kit,
            config,
            token,
            jobs,
            escl: EsclState::default(),
            control: Mutex::new(None),
            events,
            clients: AtomicUsize::new(0),
            stop,
        })
    }

    /// Sends an event to every WebSocket client (none listening is fine).
    pub fn publish(&self, event: Value) {
        let _ = self.events.send(event);
    }

    /// Takes the control lease for a new session; `None` when another client holds it.
    pub fn claim_control(&self) -> Option<String> {
        let mut c = lock(&self.control);
        if c.is_some() {
            return None;
        }
        let session = Token::generate().ok()?.expose()[..32].to_owned();
        *c = Some(session.clone());
        Some(session)
    }

    /// Gives the lease back (only the session that holds it can).
    pub fn release_control(&self, session: &str) {
        let mut c = lock(&self.control);
        if c.as_deref() == Some(session) {
            *c = None;
        }
    }

    /// Whether this request may start or cancel jobs: yes when no client controls the kit,
    /// else only with the controller's session header.
    pub fn check_control(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let c = lock(&self.control);
        let Some(session) = c.as_deref() else {
            return Ok(());
        };
        let given = headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if given == session {
            Ok(())
        } else {
            Err(ApiError::busy(
                "another client controls the kit; watch its progress on /v1/ws or try again \
                 when it has disconnected",
            ))
        }
    }
}
