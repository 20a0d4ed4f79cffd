//! The kit's first scanner as an eSCL (AirScan) scanner under `/eSCL/`: `ScannerCapabilities`,
//! `ScannerStatus`, `ScanJobs` (POST -> `201 Created` + `Location`), `NextDocument` (one page
//! per call, `404` when the job has no more), job `DELETE`; JPEG and PNG; flatbed (`Platen`)
//! and feeder (`Feeder`, simplex and duplex).
//!
//! No bearer token here (eSCL clients send none): see the module docs of
//! [`service`](super) for how these routes are protected.

mod image;
mod xml;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use self::image::Format;
use super::state::{lock, AppState};
use super::token::Token;
use crate::device::DeviceKind;
use crate::error::ErrorKind;
use crate::scan::{ColorMode, PageStream, ScanArea, ScanRequest, Scanner, Source};

/// Jobs remembered for `ScannerStatus`.
const KEPT: usize = 8;
/// A running job nobody asked for a page for in this long is cancelled (which frees the
/// scanner).
const STALE: Duration = Duration::from_secs(15);

/// One eSCL job.
struct Job {
    uuid: String,
    created: Instant,
    format: Format,
    flatbed: bool,
    pages: tokio::sync::Mutex<Option<PageStream>>,
    meta: Mutex<Meta>,
}

struct Meta {
    images: u32,
    /// `Processing`, `Completed`, `Canceled`, `Aborted`.
    state: &'static str,
    reason: &'static str,
    touched: Instant,
}

/// The eSCL scanner's state: its jobs and what the feeder last said.
pub(crate) struct EsclState {
    uuid: String,
    jobs: Mutex<Vec<Arc<Job>>>,
    adf_state: Mutex<&'static str>,
}

fn uuid() -> String {
    let t = Token::generate().map(|t| t.expose()[..32].to_owned());
    let h = t.unwrap_or_else(|_| "0".repeat(32));
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl Default for EsclState {
    fn default() -> Self {
        EsclState {
            uuid: uuid(),
            jobs: Mutex::new(Vec::new()),
            adf_state: Mutex::new("ScannerAdfLoaded"),
        }
    }
}

impl EsclState {
    fn job(&self, uuid: &str) -> Option<Arc<Job>> {
        lock(&self.jobs).iter().find(|j| j.uuid == uuid).cloned()
    }
}

/// The `/eSCL/` routes.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/eSCL/ScannerCapabilities", get(capabilities))
        .route("/eSCL/ScannerStatus", get(status))
        .route("/eSCL/ScanJobs", post(scan_jobs))
        .route("/eSCL/ScanJobs/{uuid}", axum::routing::delete(delete_job))
        .route("/eSCL/ScanJobs/{uuid}/NextDocument", get(next_document))
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.into(),
    )
        .into_response()
}

fn xml_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

async fn scanner(st: &AppState) -> Result<Box<dyn Scanner>, Response> {
    let found = st.kit.discover().await;
    let Some(d) = found.of_kind(DeviceKind::Scanner).next() else {
        return Err(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "no scanner in the kit",
        ));
    };
    st.kit
        .open_scanner(&d.id)
        .await
        .map_err(|e| plain(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
}

async fn capabilities(State(st): State<Arc<AppState>>) -> Response {
    let s = match scanner(&st).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    match s.capabilities().await {
        Ok(caps) => {
            let info = s.info();
            let model = match &info.vendor {
                Some(v) => format!("{v} {}", info.name),
                None => info.name.clone(),
            };
            let serial = info.serial.clone().unwrap_or_else(|| info.id.to_string());
            xml_response(xml::capabilities(&model, &serial, &st.escl.uuid, &caps, 50))
        }
        Err(e) => plain(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

async fn status(State(st): State<Arc<AppState>>) -> Response {
    let jobs = lock(&st.escl.jobs).clone();
    let metas: Vec<(String, u64, u32, &'static str, &'static str)> = jobs
        .iter()
        .map(|j| {
            let m = lock(&j.meta);
            (
                j.uuid.clone(),
                j.created.elapsed().as_secs(),
                m.images,
                m.state,
                m.reason,
            )
        })
        .collect();
    let infos: Vec<xml::JobInfo<'_>> = metas
        .iter()
        .map(|(u, a, i, s, r)| xml::JobInfo {
            uuid: u,
            age_secs: *a,
            images_completed: *i,
            state: s,
            reason: r,
        })
        .collect();
    let processing = metas.iter().any(|m| m.3 == "Processing");
    let adf = *lock(&st.escl.adf_state);
    xml_response(xml::status(processing, adf, &infos))
}

/// Turns `ScanSettings` into a request for the kit's scanner.
fn request(s: &xml::Settings, max_area_mm: (f64, f64)) -> Result<(ScanRequest, Format), String> {
    let dpi = s.x_dpi.or(s.y_dpi).unwrap_or(300);
    if s.y_dpi.is_some_and(|y| y != dpi) {
        return Err("XResolution and YResolution must be equal".into());
    }
    let mode = match s.color_mode.as_deref() {
        None | Some("RGB24") => ColorMode::Color,
        Some("Grayscale8") => ColorMode::Gray,
        Some(other) => return Err(format!("color mode {other} not offered")),
    };
    let source = match (s.source.as_deref(), s.duplex) {
        (None | Some("Platen"), _) => Source::Flatbed,
        (Some("Feeder"), false) => Source::Adf,
        (Some("Feeder"), true) => Source::AdfDuplex,
        (Some(other), _) => return Err(format!("input source {other} not offered")),
    };
    let format = match s.format.as_deref() {
        None => Format::Jpeg,
        Some(m) => {
            Format::from_mime(m).ok_or_else(|| format!("document format {m} not offered"))?
        }
    };
    let mut req = ScanRequest::new()
        .resolution(dpi)
        .mode(mode)
        .depth(8)
        .source(source);
    if let Some(r) = s.region {
        let (mw, mh) = (xml::max_units(max_area_mm.0), xml::max_units(max_area_mm.1));
        // The area exactly as asked (in 1/300 inch), so the page has the size the client
        // computes from its own request (sane-airscan cuts or pads to that size). The whole
        // area offered is rounded down to an even number of 1/300 inch (`xml::max_units`).
        if r.width == 0 || r.height == 0 || r.x + r.width > mw + 2 || r.y + r.height > mh + 2 {
            return Err("the scan region is outside the scan area".into());
        }
        req = req.area(ScanArea {
            x_mm: xml::units_to_mm(r.x),
            y_mm: xml::units_to_mm(r.y),
            width_mm: xml::units_to_mm(r.width).min(max_area_mm.0),
            height_mm: xml::units_to_mm(r.height).min(max_area_mm.1),
        });
    }
    Ok((req, format))
}

async fn scan_jobs(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return plain(StatusCode::BAD_REQUEST, "ScanSettings is not UTF-8");
    };
    let settings = match xml::settings(text) {
        Ok(s) => s,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e),
    };
    // One job at a time: a job someone is still reading makes the scanner busy; one that was
    // abandoned is dropped (which cancels it at the scanner).
    {
        let jobs = lock(&st.escl.jobs);
        for j in jobs.iter() {
            let mut m = lock(&j.meta);
            if m.state == "Processing" {
                if m.touched.elapsed() < STALE {
                    return plain(StatusCode::SERVICE_UNAVAILABLE, "the scanner is busy");
                }
                m.state = "Canceled";
                m.reason = "JobCanceledBySystem";
                if let Ok(mut p) = j.pages.try_lock() {
                    *p = None;
                }
            }
        }
    }
    let scanner = match scanner(&st).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let caps = match scanner.capabilities().await {
        Ok(c) => c,
        Err(e) => return plain(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let (req, format) = match request(&settings, caps.max_area_mm) {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::CONFLICT, e),
    };
    let pages = match scanner.scan(&req).await {
        Ok(p) => p,
        Err(e) if e.kind() == ErrorKind::Busy => {
            return plain(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
        Err(e) => return plain(StatusCode::CONFLICT, e.to_string()),
    };
    *lock(&st.escl.adf_state) = "ScannerAdfLoaded";
    let job = Arc::new(Job {
        uuid: uuid(),
        created: Instant::now(),
        format,
        flatbed: req.source == Source::Flatbed,
        pages: tokio::sync::Mutex::new(Some(pages)),
        meta: Mutex::new(Meta {
            images: 0,
            state: "Processing",
            reason: "JobScanning",
            touched: Instant::now(),
        }),
    });
    {
        let mut jobs = lock(&st.escl.jobs);
        jobs.push(job.clone());
        if jobs.len() > KEPT {
            let n = jobs.len() - KEPT;
            jobs.drain(..n);
        }
    }
    // A client that walks away from a feeder job must not keep the scanner busy for ever.
    let reaper = job.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(STALE / 3).await;
            let stale = {
                let m = lock(&reaper.meta);
                if m.state != "Processing" {
                    return;
                }
                m.touched.elapsed() >= STALE
            };
            if stale {
                finish(&reaper, "Canceled", "JobCanceledBySystem");
                *reaper.pages.lock().await = None;
                return;
            }
        }
    });
    // The Host header was checked to be a loopback name by the guard.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let location = format!("http://{host}/eSCL/ScanJobs/{}", job.uuid);
    (StatusCode::CREATED, [(header::LOCATION, location)]).into_response()
}

fn finish(job: &Job, state: &'static str, reason: &'static str) {
    let mut m = lock(&job.meta);
    if m.state == "Processing" {
        m.state = state;
        m.reason = reason;
    }
}

async fn next_document(State(st): State<Arc<AppState>>, Path(uuid): Path<String>) -> Response {
    let Some(job) = st.escl.job(&uuid) else {
        return plain(StatusCode::NOT_FOUND, "no such job");
    };
    lock(&job.meta).touched = Instant::now();
    let mut guard = job.pages.lock().await;
    let Some(pages) = guard.as_mut() else {
        return plain(StatusCode::NOT_FOUND, "no more pages");
    };
    match pages.next_page().await {
        None => {
            *guard = None;
            if !job.flatbed {
                *lock(&st.escl.adf_state) = "ScannerAdfEmpty";
            }
            finish(&job, "Completed", "JobCompletedSuccessfully");
            plain(StatusCode::NOT_FOUND, "no more pages")
        }
        Some(Err(e)) => {
            *guard = None;
            let (adf, status) = match e.kind() {
                ErrorKind::NoDocuments => ("ScannerAdfEmpty", StatusCode::NOT_FOUND),
                ErrorKind::PaperJam => ("ScannerAdfJam", StatusCode::SERVICE_UNAVAILABLE),
                ErrorKind::CoverOpen => ("ScannerAdfDoorOpen", StatusCode::SERVICE_UNAVAILABLE),
                _ => ("ScannerAdfLoaded", StatusCode::INTERNAL_SERVER_ERROR),
            };
            if !job.flatbed {
                *lock(&st.escl.adf_state) = adf;
            }
            finish(&job, "Aborted", "JobAbortedBySystem");
            plain(status, e.to_string())
        }
        Some(Ok(page)) => {
            if job.flatbed {
                // A flatbed gives one page: end the job now so the scanner is free.
                *guard = None;
            }
            drop(guard);
            let format = job.format;
            let encoded = tokio::task::spawn_blocking(move || image::encode(&page, format)).await;
            match encoded {
                Ok(Ok(bytes)) => {
                    let mut m = lock(&job.meta);
                    m.images += 1;
                    if job.flatbed && m.state == "Processing" {
                        m.state = "Completed";
                        m.reason = "JobCompletedSuccessfully";
                    }
                    drop(m);
                    ([(header::CONTENT_TYPE, format.mime())], bytes).into_response()
                }
                Ok(Err(e)) => {
                    finish(&job, "Aborted", "JobAbortedBySystem");
                    *job.pages.lock().await = None;
                    plain(StatusCode::CONFLICT, e.to_string())
                }
                Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "encoder failed"),
            }
        }
    }
}

async fn delete_job(State(st): State<Arc<AppState>>, Path(uuid): Path<String>) -> Response {
    let Some(job) = st.escl.job(&uuid) else {
        return plain(StatusCode::NOT_FOUND, "no such job");
    };
    finish(&job, "Canceled", "JobCanceledByUser");
    *job.pages.lock().await = None;
    StatusCode::OK.into_response()
}
