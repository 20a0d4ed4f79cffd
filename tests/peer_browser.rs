//! The local service from a real browser: Debian's `chromium`, headless, driven over
//! WebDriver by `chromedriver` (package chromium-driver). A test page served by a tiny static
//! server on another loopback port (an allowed origin) lists the mock kit's devices, takes
//! control over the WebSocket, scans three pages through a CORS-preflighted POST and
//! downloads a valid PDF (qpdf, pdfinfo); the same page from a second port (an origin not
//! allowed) is refused; a page reached under a foreign host name that resolves to loopback
//! (DNS rebinding, simulated with chromium's host resolver rules) is refused. A missing
//! browser or driver fails the test naming the Debian packages.
#![cfg(feature = "service")]

mod pdf_util;
mod service_support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64_free::decode;
use serde_json::{json, Value};
use service_support::{http, start_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PACKAGES: &str = "chromium chromium-driver";

fn find(bin: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{bin}` not found: the browser test needs the Debian packages {PACKAGES} (apt-get install {PACKAGES})")
        })
}

/// The test page: `SERVICE` and `TOKEN` are filled in (the office app has been paired).
const PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>Fachverfahren</title></head>
<body><pre id="log"></pre><script>
(async () => {
  const api = 'http://127.0.0.1:SERVICE';
  const auth = {Authorization: 'Bearer TOKEN'};
  try {
    const devices = await (await fetch(api + '/v1/devices', {headers: auth})).json();
    const ws = new WebSocket('ws://127.0.0.1:SERVICE/v1/ws?control=true', ['buergerkoffer.v1', 'bearer.TOKEN']);
    const events = [];
    const hello = await new Promise((ok, fail) => {
      ws.onmessage = e => ok(JSON.parse(e.data));
      ws.onerror = () => fail(new Error('WebSocket refused'));
    });
    ws.onmessage = e => events.push(JSON.parse(e.data));
    const started = await fetch(api + '/v1/scan-jobs', {
      method: 'POST',
      headers: {...auth, 'Content-Type': 'application/json', 'X-Buergerkoffer-Session': hello.session},
      body: JSON.stringify({source: 'adf', max_pages: 3, resolution: 75, mode: 'gray'}),
    });
    const job = await started.json();
    let st;
    for (;;) {
      st = await (await fetch(api + '/v1/scan-jobs/' + job.id, {headers: auth})).json();
      if (st.state !== 'running') break;
      await new Promise(r => setTimeout(r, 50));
    }
    const pdf = new Uint8Array(await (await fetch(api + st.pdf, {headers: auth})).arrayBuffer());
    let bin = '';
    for (const b of pdf) bin += String.fromCharCode(b);
    ws.close();
    window.result = {ok: true, devices: devices.devices.map(d => d.id), control: hello.control,
      status: started.status, state: st.state, pages: st.pages_written,
      job_events: events.filter(e => e.type === 'job').length, pdf: btoa(bin)};
  } catch (e) {
    window.result = {ok: false, error: String(e)};
  }
})();
</script></body></html>"#;

/// Serves `page` for every request on a new loopback port, until the test ends.
async fn static_server(page: String) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    serve_on(l, page);
    port
}

/// chromedriver, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    session: Option<String>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(profile: &std::path::Path) -> Driver {
        let exe = find("chromedriver");
        find("chromium");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(exe)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let mut d = Driver {
            child,
            port,
            session: None,
        };
        let t0 = Instant::now();
        loop {
            if let Ok(r) = service_support::try_http(port, "GET", "/status", &[], b"").await {
                if r.status == 200 {
                    break;
                }
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": find("chromium").to_str().unwrap(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--no-default-browser-check",
                    format!("--user-data-dir={}", profile.display()),
                    "--host-resolver-rules=MAP rebind.test 127.0.0.1",
                ],
            },
        }}});
        let v = d.call("POST", "/session", caps).await;
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_owned();
        d.session = Some(id);
        d
    }

    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let body = body.to_string();
        let r = http(
            self.port,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .await;
        r.json()
    }

    fn path(&self, tail: &str) -> String {
        format!("/session/{}{tail}", self.session.as_deref().unwrap())
    }

    async fn open(&self, url: &str) {
        let v = self
            .call("POST", &self.path("/url"), json!({"url": url}))
            .await;
        assert!(v["value"].is_null(), "navigate to {url}: {v}");
    }

    async fn eval(&self, script: &str) -> Value {
        self.call(
            "POST",
            &self.path("/execute/sync"),
            json!({"script": script, "args": []}),
        )
        .await["value"]
            .clone()
    }

    /// Waits for the page's `window.result`.
    async fn result(&self) -> Value {
        let t0 = Instant::now();
        loop {
            let v = self
                .eval("return window.result ? JSON.stringify(window.result) : null")
                .await;
            if let Some(s) = v.as_str() {
                return serde_json::from_str(s).unwrap();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "the page gave no result"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn quit(&mut self) {
        if self.session.is_some() {
            let p = self.path("");
            let _ = self.call("DELETE", &p, json!({})).await;
            self.session = None;
        }
    }
}

/// A small base64 decoder for the PDF the page hands back (no crate needed for a test).
mod base64_free {
    pub fn decode(s: &str) -> Vec<u8> {
        let val = |c: u8| -> u32 {
            match c {
                b'A'..=b'Z' => u32::from(c - b'A'),
                b'a'..=b'z' => u32::from(c - b'a') + 26,
                b'0'..=b'9' => u32::from(c - b'0') + 52,
                b'+' => 62,
                b'/' => 63,
                _ => panic!("not base64: {c}"),
            }
        };
        let mut out = Vec::new();
        for chunk in s.as_bytes().chunks(4) {
            let n = chunk.iter().filter(|c| **c != b'=').count();
            let mut acc = 0u32;
            for (i, c) in chunk.iter().enumerate() {
                let v = if *c == b'=' { 0 } else { val(*c) };
                acc |= v << (18 - 6 * i);
            }
            let bytes = acc.to_be_bytes();
            out.extend_from_slice(&bytes[1..n]);
        }
        out
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_page_from_an_allowed_origin_scans_to_pdf_others_are_refused() {
    let mock = buergerkoffer::mock::MockKit::standard();
    let kit = buergerkoffer::Kit::new().with_provider(mock.clone());
    // The allowed page server's port first: its origin goes into the service's allow-list.
    let allowed_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let allowed = allowed_listener.local_addr().unwrap().port();
    let allowed_origin = format!("http://127.0.0.1:{allowed}");
    let r = start_with(kit, |c| c.allow_origin(allowed_origin.clone())).await;
    let page = PAGE
        .replace("SERVICE", &r.port.to_string())
        .replace("TOKEN", &r.token);
    // The same page on the allowed port and on a second one that is not allowed.
    serve_on(allowed_listener, page.clone());
    let other = static_server(page).await;

    let profile = tempfile::tempdir().unwrap();
    let mut d = Driver::start(profile.path()).await;

    d.open(&format!("http://127.0.0.1:{allowed}/")).await;
    let res = d.result().await;
    assert_eq!(res["ok"], true, "{res}");
    let devices: Vec<&str> = res["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(devices, ["mock:reader", "mock:scanner", "mock:printer"]);
    assert_eq!(res["control"], true);
    assert_eq!(res["status"], 201);
    assert_eq!(res["state"], "done");
    assert_eq!(res["pages"], 3);
    assert!(res["job_events"].as_u64().unwrap() >= 2, "{res}");
    let pdf = decode(res["pdf"].as_str().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("browser.pdf");
    std::fs::write(&path, &pdf).unwrap();
    pdf_util::qpdf_check(&path);
    assert_eq!(pdf_util::page_count(&path), 3);

    // The same page from an origin that is not allowed: the browser gets nothing.
    let scans_before = mock.scanner("scanner").unwrap().jobs_started();
    d.open(&format!("http://127.0.0.1:{other}/")).await;
    let res = d.result().await;
    assert_eq!(res["ok"], false, "{res}");
    assert!(
        res["error"].as_str().unwrap().contains("Failed to fetch"),
        "{res}"
    );
    assert_eq!(
        mock.scanner("scanner").unwrap().jobs_started(),
        scans_before,
        "no scan from a foreign origin"
    );

    // DNS rebinding: a name the attacker controls that resolves to 127.0.0.1.
    d.open(&format!("http://rebind.test:{}/v1/devices", r.port))
        .await;
    let body = d.eval("return document.body.innerText").await;
    let body = body.as_str().unwrap_or("");
    assert!(body.contains("forbidden_host"), "{body}");
    assert!(!body.contains("mock:scanner"));
    d.quit().await;
}

fn serve_on(l: TcpListener, page: String) {
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let page = page.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut got = 0;
                while got < buf.len() {
                    match s.read(&mut buf[got..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got += n,
                    }
                    if buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
}
