//! The scanner probe: found, opened, capabilities, and optionally one page at low resolution.

use std::sync::Arc;
use std::time::Instant;

use crate::device::{DeviceId, DeviceKind};
use crate::error::ErrorKind;
use crate::kit::Kit;
use crate::profile::ExpectedDevice;
use crate::scan::{ColorMode, Resolutions, ScanArea, ScanCapabilities, ScanRequest, Source};

use super::probe::Probe;
use super::report::Status;
use super::{describe, discover, fix, select};

/// Resolution of the test scan when the scanner offers it.
const TEST_DPI: u32 = 75;

pub(super) async fn probe(
    kit: &Kit,
    expected: Option<&ExpectedDevice>,
    test_scan: bool,
    p: Arc<Probe>,
) {
    let section = p.section();
    p.step("present", "listing the scanners");
    let (providers, found, failed) = discover(kit, DeviceKind::Scanner).await;
    if providers == 0 {
        p.row("backend", Status::Fail, "no scanner backend in this build")
            .fix(fix::no_backend(DeviceKind::Scanner));
        return;
    }
    for (backend, e) in &failed {
        let (status, f) = fix::service_failure(backend, e);
        p.row("service", status, e.to_string()).fix(f);
    }
    let id: DeviceId = match (
        select(&found, expected),
        expected.and_then(|e| e.id.as_deref()),
    ) {
        (Some(info), _) => info.id.clone(),
        // Not listed (e.g. a network scanner): try the profile's id anyway.
        (None, Some(id)) => match id.parse() {
            Ok(id) => id,
            Err(e) => {
                p.row("present", Status::Fail, e.to_string())
                    .fix("correct the scanner id in the kit profile");
                return;
            }
        },
        (None, None) => {
            if failed.is_empty() {
                let required = expected.is_none_or(|e| e.required);
                let what = if expected.is_some() {
                    "scanner missing"
                } else {
                    "no scanner found"
                };
                p.row(
                    "present",
                    if required { Status::Fail } else { Status::Warn },
                    what,
                )
                .fix(fix::missing(DeviceKind::Scanner, expected))
                .missing();
            }
            return;
        }
    };
    p.step("opened", "opening the scanner");
    let scanner = match kit.open_scanner(&id).await {
        Ok(s) => s,
        Err(e) => {
            let missing = matches!(e.kind(), ErrorKind::NotFound | ErrorKind::DeviceGone);
            let row = p.row("opened", Status::Fail, e.to_string()).fix_opt(
                fix::for_error(section, &e)
                    .or_else(|| missing.then(|| fix::missing(DeviceKind::Scanner, expected))),
            );
            if missing {
                row.missing();
            }
            return;
        }
    };
    p.row("opened", Status::Ok, describe(scanner.info()));

    p.step("capabilities", "reading the capabilities");
    let caps = match scanner.capabilities().await {
        Ok(c) => c,
        Err(e) => {
            p.row("capabilities", Status::Fail, e.to_string())
                .fix_opt(fix::for_error(section, &e));
            return;
        }
    };
    p.row("capabilities", Status::Ok, summary(&caps));

    if !test_scan {
        p.row("test scan", Status::Skipped, "not asked for (--test-scan)");
        return;
    }
    p.step("test scan", "scanning a test page");
    let request = test_request(&caps);
    let t0 = Instant::now();
    let page = match scanner.scan(&request).await {
        Ok(mut pages) => {
            let first = pages.next_page().await;
            drop(pages); // cancels the rest of the job
            first
        }
        Err(e) => Some(Err(e)),
    };
    match page {
        Some(Ok(page)) => {
            p.row(
                "test scan",
                Status::Ok,
                format!(
                    "1 page {}x{} px at {} dpi {} from the {} in {:.1} s",
                    page.width,
                    page.height,
                    page.dpi.0,
                    request.mode,
                    request.source,
                    t0.elapsed().as_secs_f64()
                ),
            );
        }
        Some(Err(e)) => {
            p.row("test scan", Status::Fail, e.to_string())
                .fix_opt(fix::for_error(section, &e));
        }
        None => {
            p.row("test scan", Status::Fail, "the scanner delivered no page")
                .fix("put a sheet on the glass or in the feeder and check again");
        }
    }
}

/// 75 dpi (or the lowest offered), gray if offered, a 50 x 50 mm corner, one page, from the
/// flatbed if there is one.
fn test_request(caps: &ScanCapabilities) -> ScanRequest {
    let dpi = match &caps.resolutions {
        r if r.contains(TEST_DPI) => TEST_DPI,
        Resolutions::List(v) => v.iter().copied().min().unwrap_or(TEST_DPI),
        Resolutions::Range { min, .. } => (*min).max(1),
    };
    let mode = if caps.modes.contains(&ColorMode::Gray) || caps.modes.is_empty() {
        ColorMode::Gray
    } else {
        caps.modes[0]
    };
    let source = if caps.sources.contains(&Source::Flatbed) || caps.sources.is_empty() {
        Source::Flatbed
    } else {
        caps.sources[0]
    };
    let side = |max: f64| if max > 0.0 { max.min(50.0) } else { 50.0 };
    ScanRequest::new()
        .resolution(dpi)
        .mode(mode)
        .source(source)
        .max_pages(1)
        .area(ScanArea {
            x_mm: 0.0,
            y_mm: 0.0,
            width_mm: side(caps.max_area_mm.0),
            height_mm: side(caps.max_area_mm.1),
        })
}

fn summary(caps: &ScanCapabilities) -> String {
    let dpi = match &caps.resolutions {
        Resolutions::List(v) => match (v.iter().min(), v.iter().max()) {
            (Some(a), Some(b)) if a != b => format!("{a}-{b} dpi"),
            (Some(a), _) => format!("{a} dpi"),
            _ => "no resolutions".into(),
        },
        Resolutions::Range { min, max, .. } => format!("{min}-{max} dpi"),
    };
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join("/")
        }
    };
    format!(
        "{dpi}; {}; {}; {:.0}x{:.0} mm",
        list(caps.modes.iter().map(|m| m.to_string()).collect()),
        list(caps.sources.iter().map(|s| s.to_string()).collect()),
        caps.max_area_mm.0,
        caps.max_area_mm.1
    )
}
