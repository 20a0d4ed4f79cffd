//! The local service's `/v1/` API against the mock kit: devices, a scan job with progress
//! events and a valid PDF (qpdf, poppler-utils), cancel, a jam that keeps its pages, print
//! with job progress, eID data, device events, and `docs/openapi.yaml` kept honest (every
//! route it lists answers; every answering route is listed).
#![cfg(feature = "service")]

mod pdf_util;
mod service_support;

use std::time::Duration;

use buergerkoffer::mock::{MockKit, MockScanner};
use buergerkoffer::print::StateReason;
use buergerkoffer::{ErrorKind, Kit};
use service_support::{http, start, start_with, wait_job, ws_connect, ws_next};

#[tokio::test]
async fn lists_the_kits_devices() {
    let (r, _mock) = start().await;
    let d = r.call("GET", "/v1/devices", b"").await;
    assert_eq!(d.status, 200);
    let v = d.json();
    let ids: Vec<&str> = v["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mock:reader", "mock:scanner", "mock:printer"]);
    assert_eq!(v["devices"][1]["kind"], "scanner");
    assert_eq!(v["failures"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn scan_job_with_progress_events_and_a_valid_pdf() {
    let (r, _mock) = start().await;
    let mut ws = ws_connect(r.port, &r.token, "", &[]).await.unwrap();
    assert_eq!(ws_next(&mut ws).await.unwrap()["type"], "hello");
    let resp = r
        .call(
            "POST",
            "/v1/scan-jobs",
            br#"{"source": "adf", "max_pages": 3, "resolution": 75, "mode": "gray"}"#,
        )
        .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    let job = resp.json();
    let id = job["id"].as_str().unwrap().to_owned();
    assert_eq!(
        resp.header("location").unwrap(),
        format!("/v1/scan-jobs/{id}")
    );
    // Progress events until the job is done.
    let mut written = Vec::new();
    let last = loop {
        let e = ws_next(&mut ws).await.expect("events until the job ends");
        if e["type"] != "job" {
            continue;
        }
        assert_eq!(e["job"]["id"], id.as_str());
        written.push(e["job"]["pages_written"].as_u64().unwrap());
        if e["job"]["state"] != "running" {
            break e;
        }
    };
    assert_eq!(last["job"]["state"], "done", "{last}");
    assert_eq!(last["job"]["pages_written"], 3);
    assert!(written.windows(2).all(|w| w[0] <= w[1]), "{written:?}");
    assert!(written.contains(&1) && written.contains(&2), "{written:?}");
    let pdf = r.call("GET", &format!("/v1/scan-jobs/{id}/pdf"), b"").await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.pdf");
    std::fs::write(&path, &pdf.body).unwrap();
    pdf_util::qpdf_check(&path);
    assert_eq!(pdf_util::page_count(&path), 3);
}

/// A service on a mock kit whose scanner takes 300 ms a page, with a feeder job started on it:
/// the service, the scanner and the job id.
async fn start_a_slow_scan_job() -> (service_support::Running, MockScanner, String) {
    let mock = MockKit::new()
        .with_scanner(MockScanner::new("scanner").with_page_delay(Duration::from_millis(300)));
    let kit = Kit::new().with_provider(mock.clone());
    let r = start_with(kit, |c| c).await;
    let resp = r
        .call(
            "POST",
            "/v1/scan-jobs",
            br#"{"source": "adf", "resolution": 50}"#,
        )
        .await;
    assert_eq!(resp.status, 201);
    let id = resp.json()["id"].as_str().unwrap().to_owned();
    (r, mock.scanner("scanner").unwrap(), id)
}

/// Waits up to 2 s for `scanner` to have no job.
async fn wait_until_idle(scanner: &MockScanner) {
    for _ in 0..100 {
        if !scanner.is_busy() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn cancel_stops_the_scanner_and_removes_the_pdf() {
    let (r, scanner, id) = start_a_slow_scan_job().await;
    // A second job on the same scanner is refused with a reason, not queued.
    let second = r
        .call("POST", "/v1/scan-jobs", br#"{"resolution": 50}"#)
        .await;
    assert_eq!(second.status, 409, "{}", second.text());
    assert_eq!(second.json()["error"], "busy");
    let c = r.call("DELETE", &format!("/v1/scan-jobs/{id}"), b"").await;
    assert_eq!(c.status, 200);
    assert_eq!(c.json()["state"], "cancelled");
    wait_until_idle(&scanner).await;
    assert!(!scanner.is_busy(), "cancel frees the scanner");
    assert_eq!(scanner.jobs_cancelled(), 1);
    let pdf = r.call("GET", &format!("/v1/scan-jobs/{id}/pdf"), b"").await;
    assert_eq!(pdf.status, 409);
    let none = r.call("DELETE", "/v1/scan-jobs/nope", b"").await;
    assert_eq!(none.status, 404);
}

#[tokio::test]
async fn a_jam_fails_the_job_and_keeps_the_pages_before_it() {
    let (r, mock) = start().await;
    mock.scanner("scanner")
        .unwrap()
        .fail_at(3, ErrorKind::PaperJam);
    let resp = r
        .call(
            "POST",
            "/v1/scan-jobs",
            br#"{"source": "adf", "resolution": 50}"#,
        )
        .await;
    let id = resp.json()["id"].as_str().unwrap().to_owned();
    let s = wait_job(&r, &id).await;
    assert_eq!(s["state"], "failed");
    assert_eq!(s["error"]["error"], "paper_jam");
    assert_eq!(s["pages_written"], 2);
    let pdf = r.call("GET", &format!("/v1/scan-jobs/{id}/pdf"), b"").await;
    assert_eq!(pdf.status, 200);
    assert!(pdf.body.starts_with(b"%PDF-"));
}

#[tokio::test]
async fn print_an_upload_and_follow_the_job() {
    let (r, mock) = start().await;
    let mut ws = ws_connect(r.port, &r.token, "", &[]).await.unwrap();
    ws_next(&mut ws).await.unwrap();
    let doc = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    let auth = r.auth();
    // Out of paper first: the job's events name it; refilled, the job completes.
    let printer = mock.printer("printer").unwrap();
    printer.set_reasons(vec![StateReason::from_keyword("media-empty-error").unwrap()]);
    let resp = http(
        r.port,
        "POST",
        "/v1/print-jobs?copies=2",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/pdf"),
        ],
        doc,
    )
    .await;
    assert_eq!(resp.status, 201, "{}", resp.text());
    let id = resp.json()["id"].as_str().unwrap().to_owned();
    let mut states = Vec::new();
    let mut saw_empty = false;
    loop {
        let e = ws_next(&mut ws).await.unwrap();
        if e["type"] == "job" && e["kind"] == "print" {
            let s = e["job"]["state"].as_str().unwrap().to_owned();
            states.push(s.clone());
            let reasons = e["job"]["reasons"].as_array().unwrap();
            if reasons.iter().any(|r| r == "media-empty-error") {
                assert!(reasons.iter().any(|r| r == "printer-stopped"), "{e}");
                printer.clear_reasons();
                saw_empty = true;
            }
            if s == "completed" {
                break;
            }
            assert!(states.len() < 50, "{states:?}");
        }
    }
    let s = r
        .call("GET", &format!("/v1/print-jobs/{id}"), b"")
        .await
        .json();
    assert_eq!(s["state"], "completed");
    assert!(saw_empty, "no event named media-empty: {states:?}");
    let printed = mock.printer("printer").unwrap().documents();
    assert_eq!(printed.len(), 1);
    assert_eq!(&printed[0].data[..], doc);
    let wrong = http(
        r.port,
        "POST",
        "/v1/print-jobs",
        &[("Authorization", &auth), ("Content-Type", "text/html")],
        b"<p>",
    )
    .await;
    assert_eq!(wrong.status, 415);
}

#[tokio::test]
async fn eid_data_and_card_events() {
    let (r, mock) = start().await;
    let v = r.call("GET", "/v1/eid", b"").await.json();
    assert_eq!(v["reader"], "mock:reader");
    assert_eq!(v["card_present"], true);
    assert!(v["atr"].as_str().unwrap().starts_with("3B"));
    assert_eq!(v["eid"]["german_eid"], true);
    assert_eq!(v["eid"]["pace_info"][0]["parameter_id"], 13);
    assert_eq!(
        v["eid"]["pace_info"][0]["domain_parameters"],
        "brainpoolP256r1"
    );
    assert_eq!(v["eid"]["pin"]["retries_left"], 3);
    assert_eq!(v["pin_pad"], true);
    let mut ws = ws_connect(r.port, &r.token, "", &[]).await.unwrap();
    ws_next(&mut ws).await.unwrap();
    let reader = mock.reader("reader").unwrap();
    // Give the service's reader follower time to subscribe, then pull the card.
    tokio::time::sleep(Duration::from_millis(200)).await;
    reader.remove_card();
    let e = loop {
        let e = ws_next(&mut ws).await.unwrap();
        if e["type"] == "card" {
            break e;
        }
    };
    assert_eq!(e["event"], "removed");
    assert_eq!(e["reader"], "mock:reader");
    let v = r.call("GET", "/v1/eid", b"").await.json();
    assert_eq!(v["card_present"], false);
    assert!(v["eid"].is_null());
    // Device events: unplugging the printer is seen by every watcher.
    mock.unplug("printer");
    let e = loop {
        let e = ws_next(&mut ws).await.unwrap();
        if e["type"] == "device" {
            break e;
        }
    };
    assert_eq!(e["event"], "removed");
    assert_eq!(e["id"], "mock:printer");
}

/// The `(method, path)` pairs `docs/openapi.yaml` lists under `paths:`.
fn openapi_routes() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.yaml"))
        .expect("docs/openapi.yaml");
    let mut out = Vec::new();
    let mut in_paths = false;
    let mut path = None;
    for line in text.lines() {
        if line == "paths:" {
            in_paths = true;
            continue;
        }
        if in_paths && !line.starts_with(' ') && !line.is_empty() {
            break;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let Some(m) = line.strip_prefix("    ").and_then(|m| m.strip_suffix(':')) {
            if ["get", "post", "put", "delete", "patch"].contains(&m) {
                out.push((m.to_owned(), path.clone().expect("a path before a method")));
            }
        }
    }
    out
}

#[tokio::test]
async fn openapi_lists_exactly_the_routes_that_exist() {
    let (r, _mock) = start().await;
    let routes = openapi_routes();
    assert!(routes.len() >= 9, "{routes:?}");
    for (method, path) in &routes {
        let p = path.replace("{id}", "0000");
        let resp = r.call(&method.to_uppercase(), &p, b"").await;
        assert_ne!(
            resp.status, 405,
            "{method} {path} is in openapi.yaml but not served"
        );
        if resp.status == 404 {
            assert_ne!(
                resp.json()["error"],
                "no_such_route",
                "{method} {path} is in openapi.yaml but not served"
            );
        }
    }
    // And the other way: routes the service answers are listed (a sample of near misses
    // must be unknown routes).
    for (m, p) in [
        ("GET", "/v1/jobs"),
        ("GET", "/v1/scan-jobs/x/png"),
        ("PUT", "/v1/devices"),
    ] {
        let resp = r.call(m, p, b"").await;
        assert!(
            resp.status == 404 || resp.status == 405,
            "{m} {p} answers {} but is not in openapi.yaml",
            resp.status
        );
        assert!(!routes
            .iter()
            .any(|(rm, rp)| rm == &m.to_lowercase() && rp == p));
    }
}

#[tokio::test]
async fn shutdown_cancels_running_jobs_and_closes_the_port() {
    let (r, scanner, _) = start_a_slow_scan_job().await;
    let port = r.port;
    r.service.shutdown().await;
    wait_until_idle(&scanner).await;
    assert!(!scanner.is_busy(), "shutdown cancels the job");
    assert!(
        service_support::try_http(port, "GET", "/v1/devices", &[], b"")
            .await
            .is_err()
    );
}
