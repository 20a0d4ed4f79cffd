//! The local service's security promises, each with a test: loopback `Host` only (DNS
//! rebinding), `Origin` allow-list, CORS and Private Network Access preflight only for allowed
//! origins, the pairing token on every call (file mode 0600), size limits, no PIN field, one
//! controlling client, and the eSCL routes closed to browsers.
#![cfg(feature = "service")]

mod service_support;

use buergerkoffer::mock::MockKit;
use buergerkoffer::Kit;
use futures_util::SinkExt;
use service_support::{http, start, start_with, ws_connect, ws_next, ALLOWED};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn foreign_host_is_refused_loopback_hosts_are_served() {
    let (r, _mock) = start().await;
    let auth = r.auth();
    for host in [
        "evil.example",
        "evil.example:80",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "10.0.0.1",
        "",
    ] {
        let resp = http(
            r.port,
            "GET",
            "/v1/devices",
            &[("Host", host), ("Authorization", &auth)],
            b"",
        )
        .await;
        assert_eq!(resp.status, 403, "Host {host:?}: {}", resp.text());
        assert_eq!(resp.json()["error"], "forbidden_host");
        assert!(resp.header("access-control-allow-origin").is_none());
    }
    for host in [
        format!("127.0.0.1:{}", r.port),
        format!("localhost:{}", r.port),
        format!("[::1]:{}", r.port),
    ] {
        let resp = http(
            r.port,
            "GET",
            "/v1/devices",
            &[("Host", &host), ("Authorization", &auth)],
            b"",
        )
        .await;
        assert_eq!(resp.status, 200, "Host {host}");
    }
}

#[tokio::test]
async fn listens_on_loopback_only() {
    let (r, _mock) = start().await;
    for a in r.service.addrs() {
        assert!(a.ip().is_loopback(), "{a}");
    }
    assert!(r.service.addrs().iter().any(|a| a.is_ipv4()));
}

#[tokio::test]
async fn origin_allow_list_and_cors() {
    let (r, _mock) = start().await;
    let auth = r.auth();
    let ok = http(
        r.port,
        "GET",
        "/v1/devices",
        &[("Origin", ALLOWED), ("Authorization", &auth)],
        b"",
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("access-control-allow-origin"), Some(ALLOWED));
    for origin in [
        "https://evil.example",
        "null",
        "https://office.example.evil.example",
        "http://office.example",
    ] {
        let no = http(
            r.port,
            "GET",
            "/v1/devices",
            &[("Origin", origin), ("Authorization", &auth)],
            b"",
        )
        .await;
        assert_eq!(no.status, 403, "{origin}");
        assert_eq!(no.json()["error"], "origin_not_allowed");
        assert!(no.header("access-control-allow-origin").is_none());
    }
    // Without Origin (not a browser page, e.g. curl with the token): served, no CORS.
    let plain = r.call("GET", "/v1/devices", b"").await;
    assert_eq!(plain.status, 200);
    assert!(plain.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn preflight_and_private_network_access_only_for_allowed_origins() {
    let (r, _mock) = start().await;
    let pre = |origin: &'static str| {
        let port = r.port;
        async move {
            http(
                port,
                "OPTIONS",
                "/v1/scan-jobs",
                &[
                    ("Origin", origin),
                    ("Access-Control-Request-Method", "POST"),
                    (
                        "Access-Control-Request-Headers",
                        "authorization, content-type",
                    ),
                    ("Access-Control-Request-Private-Network", "true"),
                ],
                b"",
            )
            .await
        }
    };
    let ok = pre(ALLOWED).await;
    assert_eq!(ok.status, 204);
    assert_eq!(ok.header("access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(
        ok.header("access-control-allow-private-network"),
        Some("true")
    );
    assert!(ok
        .header("access-control-allow-headers")
        .unwrap()
        .contains("authorization"));
    let no = pre("https://evil.example").await;
    assert_eq!(no.status, 403);
    assert!(no.header("access-control-allow-origin").is_none());
    assert!(no.header("access-control-allow-private-network").is_none());
    // A preflight without the PNA request header gets no PNA answer.
    let plain = http(
        r.port,
        "OPTIONS",
        "/v1/devices",
        &[
            ("Origin", ALLOWED),
            ("Access-Control-Request-Method", "GET"),
        ],
        b"",
    )
    .await;
    assert_eq!(plain.status, 204);
    assert!(plain
        .header("access-control-allow-private-network")
        .is_none());
}

#[tokio::test]
async fn token_required_on_every_call_and_stored_privately() {
    let (r, _mock) = start().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(r.token_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(r.token.len(), 64);
    let wrong = format!("Bearer {}", "0".repeat(64));
    let short = format!("Bearer {}", &r.token[..63]);
    let lower_scheme = format!("bearer {}", r.token);
    for (path, method) in [
        ("/v1/devices", "GET"),
        ("/v1/scan-jobs", "POST"),
        ("/v1/scan-jobs/x", "GET"),
        ("/v1/scan-jobs/x", "DELETE"),
        ("/v1/print-jobs", "POST"),
        ("/v1/eid", "GET"),
        ("/v1/ws", "GET"),
        ("/v1/nothing-here", "GET"),
    ] {
        for auth in [
            None,
            Some(wrong.as_str()),
            Some(short.as_str()),
            Some("Basic eDp5"),
        ] {
            let mut h = vec![];
            if let Some(a) = auth {
                h.push(("Authorization", a));
            }
            let resp = http(r.port, method, path, &h, b"").await;
            assert_eq!(resp.status, 401, "{method} {path} with {auth:?}");
            assert!(resp.header("www-authenticate").is_some());
            assert!(!resp.text().contains(&r.token));
        }
    }
    let ok = http(
        r.port,
        "GET",
        "/v1/devices",
        &[("Authorization", &lower_scheme)],
        b"",
    )
    .await;
    assert_eq!(ok.status, 200);
    // An allowed page may read that its token was refused; a foreign page learns nothing.
    let refused = http(r.port, "GET", "/v1/devices", &[("Origin", ALLOWED)], b"").await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("access-control-allow-origin"), Some(ALLOWED));
    let foreign = http(
        r.port,
        "GET",
        "/v1/devices",
        &[("Origin", "https://evil.example")],
        b"",
    )
    .await;
    assert_eq!(foreign.status, 403);
    assert!(foreign.header("access-control-allow-origin").is_none());
    // The same token after a restart on the same state directory.
    let again = buergerkoffer::service::Token::load_or_create(&r.token_path()).unwrap();
    assert!(again.matches(&r.token));
}

#[tokio::test]
async fn websocket_needs_token_and_allowed_origin() {
    let (r, _mock) = start().await;
    assert!(ws_connect(r.port, &"0".repeat(64), "", &[]).await.is_err());
    assert!(
        ws_connect(r.port, &r.token, "", &[("Origin", "https://evil.example")])
            .await
            .is_err()
    );
    let mut ws = ws_connect(r.port, &r.token, "", &[("Origin", ALLOWED)])
        .await
        .unwrap();
    let hello = ws_next(&mut ws).await.unwrap();
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["control"], false);
}

#[tokio::test]
async fn body_and_message_limits() {
    let mock = MockKit::standard();
    let kit = Kit::new().with_provider(mock.clone());
    let r = start_with(kit, |mut c| {
        c.max_upload = 256 << 10;
        c.max_body = 4 << 10;
        c.max_ws_message = 1024;
        c
    })
    .await;
    let auth = r.auth();
    let big = vec![b' '; 300 << 10];
    let up = http(
        r.port,
        "POST",
        "/v1/print-jobs",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/pdf"),
        ],
        &big,
    )
    .await;
    assert_eq!(up.status, 413, "{}", up.text());
    let mut json = b"{\"resolution\": 75".to_vec();
    json.extend(std::iter::repeat_n(b' ', 8 << 10));
    json.push(b'}');
    let body = r.call("POST", "/v1/scan-jobs", &json).await;
    assert_eq!(body.status, 413, "{}", body.text());
    // A message over the limit closes the socket.
    let mut ws = ws_connect(r.port, &r.token, "", &[]).await.unwrap();
    ws_next(&mut ws).await.unwrap();
    let _ = ws.send(Message::Text("x".repeat(4096).into())).await;
    let mut closed = false;
    for _ in 0..5 {
        if ws_next(&mut ws).await.is_none() {
            closed = true;
            break;
        }
    }
    assert!(closed, "an oversized message must close the socket");
}

#[tokio::test]
async fn no_pin_field_is_accepted() {
    let (r, _mock) = start().await;
    for body in [
        r#"{"pin": "123456"}"#,
        r#"{"resolution": 75, "can": "123456"}"#,
        r#"{"resolution": 75, "puk": "1234567890"}"#,
    ] {
        let resp = r.call("POST", "/v1/scan-jobs", body.as_bytes()).await;
        assert_eq!(resp.status, 400, "{body}");
        assert!(!resp.text().contains("123456"), "{}", resp.text());
    }
    let resp = r
        .call("GET", "/v1/eid?reader=mock:reader&pin=123456", b"")
        .await;
    assert_eq!(resp.status, 400, "{}", resp.text());
    // The eID answer says the PIN state, never a PIN.
    let eid = r.call("GET", "/v1/eid", b"").await.json();
    assert_eq!(eid["eid"]["pin"]["state"], "ready");
}

#[tokio::test]
async fn one_controlling_client_others_watch() {
    let (r, _mock) = start().await;
    let mut ctl = ws_connect(r.port, &r.token, "?control=true", &[])
        .await
        .unwrap();
    let hello = ws_next(&mut ctl).await.unwrap();
    assert_eq!(hello["control"], true);
    let session = hello["session"].as_str().unwrap().to_owned();
    // A second controller is refused before the upgrade with a clear answer.
    let auth = r.auth();
    let second = http(
        r.port,
        "GET",
        "/v1/ws?control=true",
        &[
            ("Authorization", &auth),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        b"",
    )
    .await;
    assert_eq!(second.status, 409, "{}", second.text());
    assert_eq!(second.json()["error"], "busy");
    // Watchers are welcome.
    let mut watcher = ws_connect(r.port, &r.token, "", &[]).await.unwrap();
    assert_eq!(ws_next(&mut watcher).await.unwrap()["control"], false);
    // Jobs need the controller's session.
    let body = br#"{"resolution": 50}"#;
    let refused = r.call("POST", "/v1/scan-jobs", body).await;
    assert_eq!(refused.status, 409);
    assert_eq!(refused.json()["error"], "busy");
    let started = http(
        r.port,
        "POST",
        "/v1/scan-jobs",
        &[
            ("Authorization", &auth),
            ("X-Buergerkoffer-Session", &session),
        ],
        body,
    )
    .await;
    assert_eq!(started.status, 201, "{}", started.text());
    // The watcher sees the job.
    let ev = loop {
        let e = ws_next(&mut watcher).await.unwrap();
        if e["type"] == "job" {
            break e;
        }
    };
    assert_eq!(ev["kind"], "scan");
    // When the controller leaves, the lease is free again.
    drop(ctl);
    let mut freed = false;
    for _ in 0..100 {
        if let Ok(mut c) = ws_connect(r.port, &r.token, "?control=true", &[]).await {
            assert_eq!(ws_next(&mut c).await.unwrap()["control"], true);
            freed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(freed);
}

#[tokio::test]
async fn escl_is_closed_to_browsers_and_off_by_default() {
    let (r, _mock) = start().await;
    let off = http(r.port, "GET", "/eSCL/ScannerCapabilities", &[], b"").await;
    assert_eq!(off.status, 404, "eSCL is off unless switched on");
    let mock = MockKit::standard();
    let r = start_with(Kit::new().with_provider(mock), |c| c.escl(true)).await;
    let caps = http(r.port, "GET", "/eSCL/ScannerCapabilities", &[], b"").await;
    assert_eq!(caps.status, 200);
    assert!(caps.text().contains("scan:ScannerCapabilities"));
    for h in [
        ("Origin", ALLOWED),
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Mode", "no-cors"),
    ] {
        for (m, p) in [
            ("GET", "/eSCL/ScannerCapabilities"),
            ("POST", "/eSCL/ScanJobs"),
            ("GET", "/eSCL/ScanJobs/x/NextDocument"),
        ] {
            let resp = http(r.port, m, p, &[h], b"").await;
            assert_eq!(resp.status, 403, "{m} {p} with {h:?}");
            assert!(resp.header("access-control-allow-origin").is_none());
        }
    }
    let pre = http(
        r.port,
        "OPTIONS",
        "/eSCL/ScanJobs",
        &[("Access-Control-Request-Method", "POST")],
        b"",
    )
    .await;
    assert_eq!(pre.status, 403);
    let foreign = http(
        r.port,
        "GET",
        "/eSCL/ScannerStatus",
        &[("Host", "evil.example")],
        b"",
    )
    .await;
    assert_eq!(foreign.status, 403);
}

#[tokio::test]
async fn websocket_client_limit() {
    let mock = MockKit::standard();
    let r = start_with(Kit::new().with_provider(mock), |mut c| {
        c.max_clients = 3;
        c
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut ws = ws_connect(r.port, &r.token, "", &[]).await.unwrap();
        assert_eq!(ws_next(&mut ws).await.unwrap()["type"], "hello");
        held.push(ws);
    }
    let err = ws_connect(r.port, &r.token, "", &[]).await.unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    // A client that leaves makes room.
    drop(held.pop());
    let mut ok = false;
    for _ in 0..100 {
        if ws_connect(r.port, &r.token, "", &[]).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(ok);
}
