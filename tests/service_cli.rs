//! `buergerkoffer --mock serve` from the outside: it prints where it listens and where its
//! token file is (never the token), serves the mock kit with that token, refuses a malformed
//! `--allow-origin`, and its support log (at trace level) holds no token.
#![cfg(feature = "cli")]

mod service_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use service_support::http;

struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_prints_its_token_file_and_serves_the_mock_kit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("support.log");
    let state = dir.path().join("state");
    let mut child = Command::new(env!("CARGO_BIN_EXE_buergerkoffer"))
        .args([
            "--mock",
            "--log",
            log.to_str().unwrap(),
            "--log-level",
            "trace",
        ])
        .args([
            "serve",
            "--port",
            "0",
            "--escl",
            "--allow-origin",
            "https://office.example",
        ])
        .args(["--state-dir", state.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let _guard = Kill(child);
    let mut lines = BufReader::new(out).lines();
    let listening = lines.next().unwrap().unwrap();
    let token_line = lines.next().unwrap().unwrap();
    assert!(
        listening.starts_with("listening on http://127.0.0.1:"),
        "{listening}"
    );
    let port: u16 = listening
        .trim_start_matches("listening on http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let token_file = token_line.strip_prefix("token file: ").expect(&token_line);
    assert_eq!(token_file, state.join("token").to_str().unwrap());
    let token = std::fs::read_to_string(token_file)
        .unwrap()
        .trim()
        .to_owned();
    assert!(!listening.contains(&token) && !token_line.contains(&token));

    let auth = format!("Bearer {token}");
    let d = http(port, "GET", "/v1/devices", &[("Authorization", &auth)], b"").await;
    assert_eq!(d.status, 200);
    assert!(d.text().contains("mock:scanner"));
    let job = http(
        port,
        "POST",
        "/v1/scan-jobs",
        &[
            ("Authorization", &auth),
            ("Origin", "https://office.example"),
        ],
        br#"{"resolution": 50}"#,
    )
    .await;
    assert_eq!(job.status, 201, "{}", job.text());
    let eid = http(port, "GET", "/v1/eid", &[("Authorization", &auth)], b"").await;
    assert_eq!(eid.status, 200);
    let caps = http(port, "GET", "/eSCL/ScannerCapabilities", &[], b"").await;
    assert_eq!(caps.status, 200);
    // WebSocket with the token as subprotocol.
    let mut ws = service_support::ws_connect(port, &token, "", &[])
        .await
        .unwrap();
    assert_eq!(
        service_support::ws_next(&mut ws).await.unwrap()["type"],
        "hello"
    );
    drop(ws);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("service request"),
        "requests are logged: {text}"
    );
    assert!(!text.contains(&token), "the token must never reach the log");
}

#[test]
fn a_malformed_origin_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_buergerkoffer"))
        .args(["--mock", "serve", "--port", "0", "--allow-origin", "*"])
        .args(["--state-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not an origin"));
}
