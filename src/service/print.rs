//! Print jobs: `POST /v1/print-jobs` takes a PDF or JPEG upload (size-limited by the route's
//! body limit), sends it to the kit's printer and follows the printer's job, publishing each
//! change as a `job` event; `GET /v1/print-jobs/{id}` shows where it is.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::api::choose;
use super::error::ApiError;
use super::jobs::{new_id, ErrorBody};
use super::state::{lock, AppState};
use crate::device::DeviceKind;
use crate::print::{Document, DocumentFormat, PrintOptions};

/// Print jobs remembered.
const KEPT: usize = 32;
/// How often the printer's job is asked for.
const POLL: Duration = Duration::from_millis(200);
/// How long a job is followed.
const FOLLOW: Duration = Duration::from_secs(600);

/// Where a print job is.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PrintStatus {
    pub id: String,
    device: String,
    /// `pending`, `processing`, `completed`, `cancelled`, `aborted`, ... (the printer's).
    state: String,
    /// The printer's job id.
    printer_job: u32,
    /// The job's reasons and the printer's reasons holding it up (e.g.
    /// `printer-stopped`, `media-empty-error`).
    reasons: Vec<String>,
    /// Sides printed so far, when the printer says.
    sides_printed: Option<u32>,
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrintQuery {
    device: Option<String>,
    copies: Option<u32>,
}

/// `POST /v1/print-jobs`: the body is the document (`Content-Type: application/pdf` or
/// `image/jpeg`).
pub(crate) async fn start(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<PrintQuery>, QueryRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    st.check_control(&headers)?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let format = match DocumentFormat::from_mime(&mime) {
        f @ (DocumentFormat::Pdf | DocumentFormat::Jpeg) => f,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/pdf or image/jpeg",
            ))
        }
    };
    if body.is_empty() {
        return Err(ApiError::bad_request("empty document"));
    }
    let copies = q.copies.unwrap_or(1);
    if !(1..=99).contains(&copies) {
        return Err(ApiError::bad_request("copies must be 1..=99"));
    }
    let device = choose(&st, DeviceKind::Printer, q.device.as_deref()).await?;
    let printer = st.kit.open_printer(&device).await?;
    let doc = match format {
        DocumentFormat::Pdf => Document::pdf(body),
        _ => Document::jpeg(body),
    }
    .with_name("buergerkoffer-service");
    let job = printer
        .print(doc, &PrintOptions::new().copies(copies))
        .await?;
    let status = Arc::new(Mutex::new(PrintStatus {
        id: new_id()?,
        device: device.to_string(),
        state: "pending".into(),
        printer_job: job.0,
        reasons: Vec::new(),
        sides_printed: None,
        error: None,
    }));
    {
        let mut r = lock(&st.jobs.prints);
        r.push_back(status.clone());
        while r.len() > KEPT {
            r.pop_front();
        }
    }
    let first = lock(&status).clone();
    st.publish(json!({"type": "job", "kind": "print", "job": first}));
    let task_st = st.clone();
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let mut last = String::new();
        while started.elapsed() < FOLLOW {
            let r = printer.job(job).await;
            let snapshot = {
                let mut s = lock(&status);
                match &r {
                    Ok(j) => {
                        s.state = format!("{:?}", j.state).to_ascii_lowercase();
                        s.reasons = j.reasons.clone();
                        for r in &j.printer_state_reasons {
                            if !s.reasons.contains(r) {
                                s.reasons.push(r.clone());
                            }
                        }
                        s.sides_printed = j.impressions_completed;
                    }
                    Err(e) => {
                        s.state = "unknown".into();
                        s.error = Some(ErrorBody::from(e));
                    }
                }
                s.clone()
            };
            let key = format!(
                "{}{:?}{:?}",
                snapshot.state, snapshot.reasons, snapshot.sides_printed
            );
            if key != last {
                task_st.publish(json!({"type": "job", "kind": "print", "job": snapshot}));
                last = key;
            }
            if r.as_ref().map_or(true, |j| j.state.is_terminal()) {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
    });
    let location = format!("/v1/print-jobs/{}", first.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(json!(first)),
    )
        .into_response())
}

/// `GET /v1/print-jobs/{id}`.
pub(crate) async fn job(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    lock(&st.jobs.prints)
        .iter()
        .find(|s| lock(s).id == id)
        .map(|s| Json(json!(lock(s).clone())))
        .ok_or_else(|| ApiError::not_found(format!("no print job {id}")))
}
