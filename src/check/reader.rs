//! The reader probe: the PC/SC service, the reader, the card (ATR, eID recognised from
//! EF.CardAccess) and the reader's PC/SC part 10 features.

use std::sync::Arc;

use crate::card::eid::{self, ReadLength, SecurityInfo};
use crate::card::{Disposition, ShareMode};
use crate::device::DeviceKind;
use crate::error::ErrorKind;
use crate::kit::Kit;
use crate::profile::ExpectedDevice;

use super::probe::Probe;
use super::report::Status;
use super::{describe, discover, fix, select};

pub(super) async fn probe(kit: &Kit, expected: Option<&ExpectedDevice>, p: Arc<Probe>) {
    let section = p.section();
    p.step("present", "listing the card readers");
    let (providers, found, failed) = discover(kit, DeviceKind::CardReader).await;
    if providers == 0 {
        p.row(
            "backend",
            Status::Fail,
            "no card-reader backend in this build",
        )
        .fix(fix::no_backend(DeviceKind::CardReader));
        return;
    }
    for (backend, e) in &failed {
        let (status, f) = fix::service_failure(backend, e);
        p.row("service", status, e.to_string()).fix(f);
    }
    let chosen = select(&found, expected).cloned();
    let id = match (&chosen, expected.and_then(|e| e.id.as_deref())) {
        (Some(info), _) => info.id.clone(),
        (None, Some(id)) if failed.is_empty() => match id.parse::<crate::device::DeviceId>() {
            Ok(id) => id,
            Err(e) => {
                p.row("present", Status::Fail, e.to_string())
                    .fix("correct the reader id in the kit profile");
                return;
            }
        },
        (None, _) => {
            if failed.is_empty() {
                let required = expected.is_none_or(|e| e.required);
                let what = if expected.is_some() {
                    "card reader missing"
                } else {
                    "no card reader found"
                };
                let listed = if found.is_empty() {
                    String::new()
                } else {
                    let ids: Vec<String> = found.iter().map(|d| d.id.to_string()).collect();
                    format!(" (found, not matching the profile: {})", ids.join(", "))
                };
                p.row(
                    "present",
                    if required { Status::Fail } else { Status::Warn },
                    format!("{what}{listed}"),
                )
                .fix(fix::missing(DeviceKind::CardReader, expected))
                .missing();
            }
            return;
        }
    };
    p.step("present", "opening the reader");
    let reader = match kit.open_reader(&id).await {
        Ok(r) => r,
        Err(e) => {
            let missing = matches!(e.kind(), ErrorKind::NotFound | ErrorKind::DeviceGone);
            let row = p.row("present", Status::Fail, e.to_string()).fix_opt(
                fix::for_error(section, &e)
                    .or_else(|| missing.then(|| fix::missing(DeviceKind::CardReader, expected))),
            );
            if missing {
                row.missing();
            }
            return;
        }
    };
    p.row("present", Status::Ok, describe(reader.info()));

    p.step("card", "reading the reader's status");
    match reader.status().await {
        Ok(st) => match &st.atr {
            None => {
                p.row("card", Status::Warn, "no card inserted")
                    .fix("insert an ID card to check card and eID (optional)");
            }
            Some(atr) => {
                let hint = if eid::atr_looks_like_npa(atr) {
                    " (a German eID card's ATR)"
                } else {
                    ""
                };
                p.row("card", Status::Ok, format!("ATR {atr}{hint}"));
                p.step("eID", "reading EF.CardAccess");
                eid_row(reader.as_ref(), &p).await;
            }
        },
        Err(e) => {
            p.row("card", Status::Fail, e.to_string())
                .fix_opt(fix::for_error(section, &e));
        }
    }

    p.step("features", "reading the reader's features");
    match reader.features().await {
        Ok(f) => {
            let mut have = Vec::new();
            if f.has_pin_pad() {
                have.push("PIN pad");
            }
            if f.modify_pin_direct.is_some() {
                have.push("PIN change on the pad");
            }
            if f.has_pace() {
                have.push("PACE in the reader");
            }
            if have.is_empty() {
                p.row(
                    "features",
                    Status::Info,
                    "no PIN pad, no PACE in the reader (PIN entry on the PC)",
                );
            } else {
                p.row("features", Status::Ok, have.join(", "));
            }
        }
        Err(e) => {
            p.row("features", Status::Fail, e.to_string())
                .fix_opt(fix::for_error(section, &e));
        }
    }
}

/// Connects and reads EF.CardAccess: a German eID card, another card, or an error.
async fn eid_row(reader: &dyn crate::card::CardReader, p: &Probe) {
    let section = p.section();
    let mut card = match reader.connect(ShareMode::Shared).await {
        Ok(c) => c,
        Err(e) => {
            p.row("eID", Status::Fail, e.to_string())
                .fix_opt(fix::for_error(section, &e));
            return;
        }
    };
    match eid::read_card_access(&mut *card, ReadLength::Short).await {
        Ok(info) if info.is_german_eid() => {
            let pace: Vec<String> = info
                .security_infos
                .infos
                .iter()
                .filter_map(|i| match i {
                    SecurityInfo::Pace(p) => Some(format!(
                        "PACE v{} {:?} {:?}{}",
                        p.version,
                        p.mapping,
                        p.cipher,
                        p.parameter_id
                            .and_then(eid::standardized_domain_parameters)
                            .map(|n| format!(" {n}"))
                            .unwrap_or_default()
                    )),
                    _ => None,
                })
                .collect();
            p.row(
                "eID",
                Status::Ok,
                format!("German eID card: {}", pace.join("; ")),
            );
        }
        Ok(info) => {
            p.row(
                "eID",
                Status::Warn,
                format!(
                    "not a German eID card (EF.CardAccess of {} bytes without PACE, TA and CA)",
                    info.card_access.len()
                ),
            )
            .fix("insert a German ID card to check the eID function");
        }
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Unsupported) => {
            p.row("eID", Status::Warn, format!("not a German eID card: {e}"))
                .fix("insert a German ID card to check the eID function");
        }
        Err(e) => {
            p.row("eID", Status::Fail, e.to_string())
                .fix_opt(fix::for_error(section, &e));
        }
    }
    let _ = card.disconnect(Disposition::Leave).await;
}
