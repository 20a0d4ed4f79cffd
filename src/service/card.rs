//! `GET /v1/eid`: the card reader, the card's ATR, its PACE parameters (PACEInfo from
//! EF.CardAccess) and the PIN state (from MSE:Set AT — no PIN is sent, and the API has no
//! way to send one: PIN entry belongs on the reader's PIN pad).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::choose;
use super::error::ApiError;
use super::jobs::ErrorBody;
use super::state::AppState;
use crate::card::eid::{standardized_domain_parameters, Eid, PinStatus, SecurityInfo};
use crate::card::{Disposition, ShareMode};
use crate::device::DeviceKind;
use crate::error::{Error, ErrorKind};

/// How long reading the card may take.
const CARD_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EidQuery {
    reader: Option<String>,
}

pub(crate) fn pin_json(s: PinStatus) -> Value {
    match s {
        PinStatus::Ready { retries_left } => {
            json!({"state": "ready", "retries_left": retries_left})
        }
        PinStatus::TransportPin { retries_left } => {
            json!({"state": "transport_pin", "retries_left": retries_left})
        }
        PinStatus::Suspended => json!({"state": "suspended", "retries_left": 1}),
        PinStatus::Blocked => json!({"state": "blocked", "retries_left": 0}),
        PinStatus::Deactivated => json!({"state": "deactivated"}),
    }
}

/// `GET /v1/eid[?reader=ID]`.
pub(crate) async fn eid(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    q: Result<Query<EidQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(e.body_text()))?;
    st.check_control(&headers)?;
    let id = choose(&st, DeviceKind::CardReader, q.reader.as_deref()).await?;
    let work = async {
        let reader = st.kit.open_reader(&id).await?;
        let status = reader.status().await?;
        let features = reader.features().await.ok();
        let mut out = json!({
            "reader": id.to_string(),
            "card_present": status.card_present(),
            "atr": status.atr.as_ref().map(ToString::to_string),
            "pin_pad": features.as_ref().map(|f| f.has_pin_pad()),
            "pace_in_reader": features.as_ref().map(|f| f.has_pace()),
            "eid": null,
        });
        if status.card_present() {
            let card = reader.connect(ShareMode::Shared).await?;
            out["eid"] = match Eid::open(card).await {
                Ok(mut e) => {
                    let info = e.info();
                    let pace: Vec<Value> = info
                        .security_infos
                        .infos
                        .iter()
                        .filter_map(|si| match si {
                            SecurityInfo::Pace(p) => Some(json!({
                                "protocol": p.protocol.to_string(),
                                "mapping": format!("{:?}", p.mapping),
                                "cipher": format!("{:?}", p.cipher),
                                "version": p.version,
                                "parameter_id": p.parameter_id,
                                "domain_parameters": p.parameter_id
                                    .and_then(standardized_domain_parameters),
                            })),
                            _ => None,
                        })
                        .collect();
                    let german = info.is_german_eid();
                    let pin = match e.pin_status().await {
                        Ok(s) => pin_json(s),
                        Err(err) => json!({"state": "unknown", "error": ErrorBody::from(&err)}),
                    };
                    if let Some(c) = e.into_card() {
                        let _ = c.disconnect(Disposition::Leave).await;
                    }
                    json!({"german_eid": german, "pace_info": pace, "pin": pin})
                }
                Err(err) => json!({"error": ErrorBody::from(&err)}),
            };
        }
        Ok::<Value, Error>(out)
    };
    match tokio::time::timeout(CARD_TIMEOUT, work).await {
        Ok(r) => Ok(Json(r?)),
        Err(_) => Err(Error::new(ErrorKind::Timeout, id.to_string(), "read the eID card").into()),
    }
}
