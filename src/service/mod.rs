//! The local device service (feature `service`): the kit's devices for browser-based office
//! software, over HTTP + WebSocket on loopback, and the kit's scanner as an eSCL scanner.
//!
//! A web page cannot reach PC/SC, SANE or a USB printer; office software in a browser talks
//! to a small service on the clerk's machine instead. Such services are a known attack
//! surface (any web page can send requests to localhost), so this one is closed by default:
//!
//! - it listens on `127.0.0.1` and `::1` only (never on another interface);
//! - the `Host` header must be a loopback name or address (`localhost`, `127.0.0.1`, `[::1]`),
//!   which defeats DNS rebinding;
//! - a request that carries an `Origin` is served only when that origin is in the configured
//!   allow-list ([`ServiceConfig::allowed_origins`]); CORS headers and the Private Network
//!   Access preflight answer (`Access-Control-Allow-Private-Network: true`) go only to those
//!   origins;
//! - every `/v1/` call needs the pairing token, `Authorization: Bearer TOKEN` (compared in
//!   constant time). The token is created on first start in a file only the user can read
//!   ([`Service::token_path`]) and never logged. Browsers cannot set headers on a WebSocket,
//!   so `/v1/ws` also takes it as the subprotocol `bearer.TOKEN` (next to `buergerkoffer.v1`);
//! - bodies and WebSocket messages are size-limited; the API has no field for a PIN, CAN or
//!   PUK (unknown fields are refused), so no secret ever travels over it: PIN entry belongs
//!   on the reader's PIN pad;
//! - one controlling client at a time: a WebSocket opened with `?control=true` gets a session
//!   id, and while it is connected, jobs can only be started or cancelled with its
//!   `X-Buergerkoffer-Session` header; a second controller gets `409 busy`. Any number of
//!   clients may watch (`/v1/ws` without `control`).
//!
//! The eSCL scanner (`/eSCL/`, [`ServiceConfig::escl`], off by default) cannot use the token:
//! eSCL clients (sane-airscan, Apple's and Mopria's) send none. It is protected by loopback
//! binding, the `Host` check, and by refusing every request that a browser could have sent
//! (one with `Origin` or `Sec-Fetch-*` headers); it never answers CORS. Job ids are random.
//!
//! The API is described in `docs/openapi.yaml`.
//!
//! ## From an office web app
//!
//! Start `buergerkoffer serve --allow-origin https://fachverfahren.example` once; give the
//! office software the token from the file it names (pairing). In the page:
//!
//! ```text
//! const api = 'http://127.0.0.1:24800', auth = {Authorization: 'Bearer ' + token};
//! const {devices} = await (await fetch(api + '/v1/devices', {headers: auth})).json();
//! const ws = new WebSocket('ws://127.0.0.1:24800/v1/ws?control=true',
//!                          ['buergerkoffer.v1', 'bearer.' + token]);
//! ws.onmessage = e => { const m = JSON.parse(e.data);      // hello, device, card, job
//!   if (m.type === 'hello') session = m.session; };
//! const job = await (await fetch(api + '/v1/scan-jobs', {method: 'POST',
//!   headers: {...auth, 'Content-Type': 'application/json', 'X-Buergerkoffer-Session': session},
//!   body: JSON.stringify({source: 'adf', resolution: 300})})).json();
//! // ... `job` events until state "done", then GET api + status.pdf with `auth`.
//! ```
//!
//! ## In a program
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> buergerkoffer::Result<()> {
//! use buergerkoffer::{Kit, mock::MockKit, service::{Service, ServiceConfig}};
//! let dir = std::env::temp_dir().join(format!("bk-service-doc-{}", std::process::id()));
//! let config = ServiceConfig::new(&dir).allow_origin("https://fachverfahren.example");
//! let service = Service::start(Kit::new().with_provider(MockKit::standard()), config).await?;
//! assert!(service.addrs().iter().all(|a| a.ip().is_loopback()));
//! println!("port {}, token in {}", service.port(), service.token_path().display());
//! service.shutdown().await;
//! # let _ = std::fs::remove_dir_all(dir);
//! # Ok(()) }
//! ```

mod api;
mod card;
mod error;
mod escl;
mod events;
mod guard;
mod jobs;
mod print;
mod state;
mod token;
mod ws;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind, Result};
use crate::kit::Kit;

pub use token::Token;

/// How the service runs: port, allowed origins, where it keeps its token, limits.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// TCP port on 127.0.0.1 and ::1; 0 picks a free one (see [`Service::port`]).
    pub port: u16,
    /// Origins (`scheme://host[:port]`, e.g. `https://fachverfahren.example`) whose pages may
    /// call the API. A request with any other `Origin` is refused.
    pub allowed_origins: Vec<String>,
    /// Directory for the token file (`token`, mode 0600) and finished scan PDFs (`jobs/`).
    pub state_dir: PathBuf,
    /// Serve the kit's first scanner as an eSCL scanner under `/eSCL/`.
    pub escl: bool,
    /// Largest document accepted for printing, bytes.
    pub max_upload: usize,
    /// Largest JSON (or eSCL XML) request body, bytes.
    pub max_body: usize,
    /// Largest WebSocket message from a client, bytes.
    pub max_ws_message: usize,
    /// Most WebSocket clients at once; more get `503`.
    pub max_clients: usize,
    /// Finished jobs kept (with their PDFs); older ones are removed.
    pub jobs_kept: usize,
}

impl ServiceConfig {
    /// Defaults: port 0, no allowed origin, eSCL off, 64 MiB uploads, 64 KiB bodies, 16 KiB
    /// messages, 512 clients, 16 jobs kept, state in `state_dir`.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        ServiceConfig {
            port: 0,
            allowed_origins: Vec::new(),
            state_dir: state_dir.into(),
            escl: false,
            max_upload: 64 << 20,
            max_body: 64 << 10,
            max_ws_message: 16 << 10,
            max_clients: 512,
            jobs_kept: 16,
        }
    }

    /// Sets the port.
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Adds an allowed origin.
    #[must_use]
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Switches the eSCL scanner on or off.
    #[must_use]
    pub fn escl(mut self, on: bool) -> Self {
        self.escl = on;
        self
    }

    /// The default state directory: `$XDG_STATE_HOME/buergerkoffer`, else
    /// `$HOME/.local/state/buergerkoffer`, else `./.buergerkoffer`.
    pub fn default_state_dir() -> PathBuf {
        if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(d).join("buergerkoffer");
        }
        if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(h).join(".local/state/buergerkoffer");
        }
        PathBuf::from(".buergerkoffer")
    }
}

/// A running service. Dropping it stops it (as [`Service::shutdown`] without waiting).
pub struct Service {
    addrs: Vec<SocketAddr>,
    token_path: PathBuf,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    state: Arc<state::AppState>,
}

impl Service {
    /// Starts the service for `kit`: loads or creates the token, binds 127.0.0.1 and ::1
    /// (::1 is skipped, with a warning, on a host without IPv6), and serves until stopped.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the port is taken or the state directory cannot be written;
    /// [`ErrorKind::InvalidInput`] for a token file that others can read or a malformed
    /// allowed origin.
    pub async fn start(kit: Kit, config: ServiceConfig) -> Result<Service> {
        for o in &config.allowed_origins {
            guard::check_origin_syntax(o)?;
        }
        let state_dir = config.state_dir.clone();
        private_dir(&state_dir)?;
        let token_path = state_dir.join("token");
        let token = Token::load_or_create(&token_path)?;
        let jobs_dir = state_dir.join("jobs");
        private_dir(&jobs_dir)?;
        jobs::clean_dir(&jobs_dir);

        let v4 = bind(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            config.port,
        ))
        .await?;
        let port = v4
            .local_addr()
            .map_err(|e| Error::io("service", "read the bound address", e))?
            .port();
        let mut listeners = vec![v4];
        match bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port)).await {
            Ok(l) => listeners.push(l),
            Err(e) => tracing::warn!(error = %e, "not listening on ::1"),
        }
        let addrs = listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect();

        let (stop, stop_rx) = watch::channel(false);
        let state = state::AppState::new(kit, config, token, jobs_dir, stop_rx.clone());
        let mut tasks = events::spawn_forwarders(&state);
        let app = router(state.clone());
        for l in listeners {
            let app = app.clone();
            let mut rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                if let Err(e) = axum::serve(l, app).with_graceful_shutdown(shutdown).await {
                    tracing::warn!(error = %e, "service listener ended");
                }
            }));
        }
        tracing::info!(port, "service started");
        Ok(Service {
            addrs,
            token_path,
            stop,
            tasks,
            state,
        })
    }

    /// The addresses listened on (127.0.0.1 and, where the host has IPv6, ::1).
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// The port (the same on both addresses).
    pub fn port(&self) -> u16 {
        self.addrs.first().map_or(0, SocketAddr::port)
    }

    /// Where the pairing token is stored (mode 0600). Give it to the office software once.
    pub fn token_path(&self) -> &Path {
        &self.token_path
    }

    /// Stops accepting, closes WebSockets, cancels running jobs and waits for the listeners.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.state.jobs.cancel_all(&self.state);
        for t in self.tasks.drain(..) {
            t.abort();
            let _ = t.await;
        }
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("addrs", &self.addrs)
            .field("token_path", &self.token_path)
            .finish()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.state.jobs.cancel_all(&self.state);
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::io(format!("service {addr}"), "listen", e))
}

/// Creates `dir` (mode 0700) if needed.
fn private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| Error::io(dir.display().to_string(), "create the service directory", e))?;
    if !dir.is_dir() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            dir.display().to_string(),
            "start service",
        )
        .with_detail("not a directory"));
    }
    Ok(())
}

/// Every route of the service. `docs/openapi.yaml` lists the same `/v1/` routes
/// (`tests/service_api.rs` calls each route it lists).
fn router(state: Arc<state::AppState>) -> Router {
    let cfg = &state.config;
    let mut app = Router::new()
        .route("/v1/devices", get(api::devices))
        .route("/v1/scan-jobs", post(api::start_scan))
        .route(
            "/v1/scan-jobs/{id}",
            get(api::scan_job).delete(api::cancel_scan),
        )
        .route("/v1/scan-jobs/{id}/pdf", get(api::scan_pdf))
        .route(
            "/v1/print-jobs",
            post(print::start).layer(DefaultBodyLimit::max(cfg.max_upload)),
        )
        .route("/v1/print-jobs/{id}", get(print::job))
        .route("/v1/eid", get(card::eid))
        .route("/v1/ws", get(ws::upgrade));
    if cfg.escl {
        app = app.merge(escl::routes());
    }
    app.fallback(api::not_found)
        .layer(DefaultBodyLimit::max(cfg.max_body))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::check,
        ))
        .with_state(state)
}
