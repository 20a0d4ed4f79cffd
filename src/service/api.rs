//! The `/v1/` handlers for devices and scan jobs (print jobs: `print.rs`, eID: `card.rs`,
//! WebSocket: `ws.rs`).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

use super::error::{parse_json, ApiError};
use super::jobs::{self, ErrorBody, JobState};
use super::state::AppState;
use crate::device::{DeviceId, DeviceInfo, DeviceKind};
use crate::scan::{ColorMode, ScanRequest, Source};

/// Most pages one scan job may ask for.
const MAX_PAGES: u32 = 500;

pub(crate) fn kind_name(k: DeviceKind) -> &'static str {
    match k {
        DeviceKind::CardReader => "card_reader",
        DeviceKind::Scanner => "scanner",
        DeviceKind::Printer => "printer",
    }
}

pub(crate) fn device_json(d: &DeviceInfo) -> Value {
    json!({
        "id": d.id.to_string(),
        "kind": kind_name(d.kind),
        "name": d.name,
        "vendor": d.vendor,
        "serial": d.serial,
    })
}

/// `GET /v1/devices`.
pub(crate) async fn devices(State(st): State<Arc<AppState>>) -> Json<Value> {
    let found = st.kit.discover().await;
    let devices: Vec<Value> = found.devices.iter().map(device_json).collect();
    let failures: Vec<ErrorBody> = found.failures.iter().map(ErrorBody::from).collect();
    Json(json!({"devices": devices, "failures": failures}))
}

/// The first device of `kind`, or the one named.
pub(crate) async fn choose(
    st: &AppState,
    kind: DeviceKind,
    named: Option<&str>,
) -> Result<DeviceId, ApiError> {
    if let Some(n) = named {
        return n
            .parse()
            .map_err(|e: crate::Error| ApiError::bad_request(e.to_string()));
    }
    st.kit
        .discover()
        .await
        .of_kind(kind)
        .next()
        .map(|d| d.id.clone())
        .ok_or_else(|| ApiError::not_found(format!("no {kind} in the kit")))
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum ModeName {
    Color,
    Gray,
    Lineart,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
enum SourceName {
    Flatbed,
    Adf,
    AdfDuplex,
}

/// The body of `POST /v1/scan-jobs`. Unknown fields are refused (so no PIN or other
/// secret can be smuggled in and end up in a log).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanBody {
    device: Option<String>,
    resolution: Option<u32>,
    mode: Option<ModeName>,
    source: Option<SourceName>,
    max_pages: Option<u32>,
}

/// `POST /v1/scan-jobs`: starts a scan-to-PDF job; `201` with its status and `Location`.
pub(crate) async fn start_scan(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    st.check_control(&headers)?;
    let b: ScanBody = parse_json(&body)?;
    let mut req = ScanRequest::new()
        .resolution(b.resolution.unwrap_or(150))
        .mode(match b.mode {
            Some(ModeName::Gray) => ColorMode::Gray,
            Some(ModeName::Lineart) => ColorMode::Lineart,
            Some(ModeName::Color) | None => ColorMode::Color,
        })
        .source(match b.source {
            Some(SourceName::Adf) => Source::Adf,
            Some(SourceName::AdfDuplex) => Source::AdfDuplex,
            Some(SourceName::Flatbed) | None => Source::Flatbed,
        });
    match b.max_pages {
        Some(0) | Some(MAX_PAGES..) => {
            return Err(ApiError::bad_request(format!(
                "max_pages must be 1..{MAX_PAGES}"
            )))
        }
        Some(n) => req = req.max_pages(n),
        None => req = req.max_pages(MAX_PAGES - 1),
    }
    if !(10..=1200).contains(&req.resolution) {
        return Err(ApiError::bad_request("resolution must be 10..=1200 dpi"));
    }
    let device = choose(&st, DeviceKind::Scanner, b.device.as_deref()).await?;
    let status = jobs::start_scan(&st, device, req).await?;
    let location = format!("/v1/scan-jobs/{}", status.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json!(status)),
    )
        .into_response())
}

/// `GET /v1/scan-jobs/{id}`.
pub(crate) async fn scan_job(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let job = st
        .jobs
        .scan(&id)
        .ok_or_else(|| ApiError::not_found(format!("no scan job {id}")))?;
    Ok(Json(json!(job.status())))
}

/// `DELETE /v1/scan-jobs/{id}`: cancels a running job (a finished one stays as it is).
pub(crate) async fn cancel_scan(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    st.check_control(&headers)?;
    Ok(Json(json!(st.jobs.cancel(&st, &id)?)))
}

/// `GET /v1/scan-jobs/{id}/pdf`: the PDF, once the job has one.
pub(crate) async fn scan_pdf(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = st
        .jobs
        .scan(&id)
        .ok_or_else(|| ApiError::not_found(format!("no scan job {id}")))?;
    let s = job.status();
    if s.pdf.is_none() {
        let why = match s.state {
            JobState::Running => "the job is still running",
            _ => "the job has no PDF",
        };
        return Err(ApiError::new(StatusCode::CONFLICT, "not_ready", why));
    }
    let file = tokio::fs::File::open(&job.path)
        .await
        .map_err(|e| crate::Error::io(id.clone(), "open the scanned PDF", e))?;
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let stream = futures_util::stream::unfold(file, |mut f| async move {
        let mut buf = vec![0u8; 64 << 10];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"scan-{id}.pdf\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Any other path.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_such_route", "no such route")
}
