//! Fuzzed request bodies for the local service: a quick mutation loop over JSON bodies
//! (`POST /v1/scan-jobs`), query strings, print uploads, eSCL `ScanSettings` and WebSocket
//! messages. Every request gets a well-formed answer (no dropped connection, i.e. no panic in
//! a handler), the JSON routes never answer 5xx, and the service still works afterwards.
//! `BUERGERKOFFER_FUZZ_ITERS` sets the number of rounds (default 600).
#![cfg(feature = "service")]

mod service_support;

use buergerkoffer::mock::{MockKit, MockScanner};
use buergerkoffer::scan::{ColorMode, Resolutions, ScanCapabilities, Source};
use buergerkoffer::Kit;
use futures_util::SinkExt;
use service_support::{start_with, try_http, ws_connect, ws_next};
use tokio_tungstenite::tungstenite::Message;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "false",
    "1e999",
    "-1",
    "0",
    "4294967296",
    "\"pin\"",
    "\"adf\"",
    "\"adf-duplex\"",
    "\"gray\"",
    "\\u0000",
    "\u{fffd}",
    "\"resolution\"",
    "\"max_pages\"",
    "\"device\"",
    "\"mock:scanner\"",
    "\"ipp://x\"",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            2 if !v.is_empty() => {
                let end = (at + rng.below(8)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 if !v.is_empty() => {
                let end = (at + rng.below(16)).min(v.len());
                let piece = v[at.min(end)..end].to_vec();
                v.splice(at..at, piece);
            }
            _ => v.insert(at, rng.below(256) as u8),
        }
    }
    v
}

const SCAN_SEEDS: &[&str] = &[
    r#"{"resolution": 50, "source": "adf", "max_pages": 2, "mode": "gray"}"#,
    r#"{"device": "mock:scanner", "resolution": 75}"#,
    r#"{}"#,
    r#"{"source": "flatbed", "mode": "lineart"}"#,
];

const ESCL_SEED: &str = r#"<?xml version="1.0"?><scan:ScanSettings><pwg:ScanRegions><pwg:ScanRegion><pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits><pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset><pwg:Width>200</pwg:Width><pwg:Height>200</pwg:Height></pwg:ScanRegion></pwg:ScanRegions><pwg:InputSource>Platen</pwg:InputSource><scan:ColorMode>RGB24</scan:ColorMode><scan:DocumentFormatExt>image/png</scan:DocumentFormatExt><scan:XResolution>75</scan:XResolution><scan:YResolution>75</scan:YResolution></scan:ScanSettings>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzed_bodies_get_answers_never_panics() {
    let iters: usize = std::env::var("BUERGERKOFFER_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    // A small scan area keeps the jobs the fuzzer starts cheap.
    let caps = ScanCapabilities::new(
        Resolutions::Range {
            min: 50,
            max: 600,
            step: 0,
        },
        vec![ColorMode::Lineart, ColorMode::Gray, ColorMode::Color],
        vec![1, 8, 16],
        vec![Source::Flatbed, Source::Adf, Source::AdfDuplex],
        (20.0, 20.0),
    );
    let mock = MockKit::standard().with_scanner(MockScanner::new("small").with_capabilities(caps));
    let kit = Kit::new().with_provider(mock.clone());
    let r = start_with(kit, |c| c.escl(true)).await;
    let auth = r.auth();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for i in 0..iters {
        let (method, path, ctype, body, json_route) = match i % 4 {
            0 => {
                let seed =
                    SCAN_SEEDS[rng.below(SCAN_SEEDS.len())].replace("mock:scanner", "mock:small");
                (
                    "POST",
                    "/v1/scan-jobs".to_owned(),
                    "application/json",
                    mutate(&mut rng, seed.as_bytes()),
                    true,
                )
            }
            1 => {
                let q = mutate(&mut rng, b"reader=mock:reader");
                let q: String = q
                    .iter()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() || b"=&:-_.".contains(b) {
                            char::from(*b).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect();
                (
                    "GET",
                    format!("/v1/eid?{q}"),
                    "application/json",
                    Vec::new(),
                    true,
                )
            }
            2 => {
                let body = mutate(&mut rng, b"%PDF-1.4\n%%EOF\n");
                let ctype = ["application/pdf", "image/jpeg", "text/plain", ""][rng.below(4)];
                (
                    "POST",
                    "/v1/print-jobs?copies=1".to_owned(),
                    ctype,
                    body,
                    true,
                )
            }
            _ => (
                "POST",
                "/eSCL/ScanJobs".to_owned(),
                "text/xml",
                mutate(&mut rng, ESCL_SEED.as_bytes()),
                false,
            ),
        };
        let mut headers = vec![("Authorization", auth.as_str())];
        if !ctype.is_empty() {
            headers.push(("Content-Type", ctype));
        }
        let resp = try_http(r.port, method, &path, &headers, &body)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "round {i}: {method} {path}: connection failed ({e}); body {:?}",
                    String::from_utf8_lossy(&body)
                )
            });
        *statuses.entry(resp.status).or_default() += 1;
        if json_route {
            assert!(
                resp.status < 500,
                "round {i}: {method} {path} answered {}: {} (body {:?})",
                resp.status,
                resp.text(),
                String::from_utf8_lossy(&body)
            );
            let v = resp.json();
            assert!(v.is_object(), "round {i}");
        }
        // Free the scanner now and then so the fuzzer also reaches running jobs.
        if i % 16 == 15 {
            if let Some(s) = mock.scanner("small") {
                for _ in 0..50 {
                    if !s.is_busy() {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
    }
    eprintln!("fuzz: {iters} rounds, statuses {statuses:?}");
    assert!(
        statuses.get(&201).copied().unwrap_or(0) > 0,
        "some mutations must still start jobs: {statuses:?}"
    );
    assert!(statuses.get(&400).copied().unwrap_or(0) > 0, "{statuses:?}");

    // WebSocket messages: fuzzed text gets an error message, the socket stays usable.
    let mut ws = ws_connect(r.port, &r.token, "", &[]).await.unwrap();
    ws_next(&mut ws).await.unwrap();
    for _ in 0..200 {
        let m = mutate(&mut rng, br#"{"type": "ping"}"#);
        let text = String::from_utf8_lossy(&m).into_owned();
        ws.send(Message::Text(text.into())).await.unwrap();
        let mut answered = false;
        while let Some(v) = ws_next(&mut ws).await {
            if v["type"] == "pong" || v["type"] == "error" {
                answered = true;
                break;
            }
        }
        assert!(answered, "the socket closed on a fuzzed message");
    }
    ws.send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .unwrap();
    loop {
        let v = ws_next(&mut ws).await.unwrap();
        if v["type"] == "pong" {
            break;
        }
    }
    let ok = r.call("GET", "/v1/devices", b"").await;
    assert_eq!(ok.status, 200, "the service still works");
}
