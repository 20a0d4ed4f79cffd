//! Helpers for the local-service tests: start the service in-process on a free port with a
//! private state directory, a raw HTTP/1.1 client (every header under the test's control,
//! including a foreign `Host`), and WebSocket clients.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use buergerkoffer::mock::MockKit;
use buergerkoffer::service::{Service, ServiceConfig};
use buergerkoffer::Kit;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The allowed origin the tests configure.
pub const ALLOWED: &str = "https://office.example";

/// A running service with its token.
pub struct Running {
    pub service: Service,
    pub token: String,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Running {
    pub fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// `METHOD path` with the token and a loopback Host.
    pub async fn call(&self, method: &str, path: &str, body: &[u8]) -> Resp {
        let auth = self.auth();
        http(
            self.port,
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body,
        )
        .await
    }

    pub fn token_path(&self) -> PathBuf {
        self.service.token_path().to_owned()
    }
}

/// Starts the service for `kit` with `config` (its state directory is replaced by a fresh
/// temporary one) and reads the token from the token file, as office software would.
pub async fn start_with(kit: Kit, config: impl FnOnce(ServiceConfig) -> ServiceConfig) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(ServiceConfig::new(dir.path().join("state")).allow_origin(ALLOWED));
    let service = Service::start(kit, cfg).await.expect("service starts");
    let token = std::fs::read_to_string(service.token_path())
        .unwrap()
        .trim()
        .to_owned();
    let port = service.port();
    Running {
        service,
        token,
        port,
        dir,
    }
}

/// The standard mock kit, default configuration.
pub async fn start() -> (Running, MockKit) {
    let mock = MockKit::standard();
    let kit = Kit::new().with_provider(mock.clone());
    (start_with(kit, |c| c).await, mock)
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`). A `Host` in `headers`
/// replaces the default `127.0.0.1:PORT`; `("Host", "")` sends none.
pub async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    try_http(port, method, path, headers, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// As [`http`], with I/O errors returned (a connection the server dropped).
pub async fn try_http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut req = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (n, v) in headers {
        if n.eq_ignore_ascii_case("host") && v.is_empty() {
            continue;
        }
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    s.write_all(req.as_bytes()).await?;
    // A server may answer (413) before reading a large body: ignore a failed write.
    let _ = s.write_all(body).await;
    let raw = tokio::time::timeout(Duration::from_secs(60), read_response(&mut s))
        .await
        .map_err(|_| std::io::Error::other("timed out"))??;
    parse(&raw)
}

/// Reads one response: the headers, then `Content-Length` bytes, a chunked body to its last
/// chunk, or everything to the end (some servers keep the connection open regardless).
async fn read_response(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let body = raw.len() - end - 4;
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if len.is_some_and(|n| body >= n) {
                return Ok(raw);
            }
            if head.contains("transfer-encoding: chunked") && raw.ends_with(b"0\r\n\r\n") {
                return Ok(raw);
            }
        }
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(&buf[..n]);
    }
}

fn parse(raw: &[u8]) -> std::io::Result<Resp> {
    let bad = |m: &str| std::io::Error::other(m.to_owned());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("header not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let nl = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size = usize::from_str_radix(
                std::str::from_utf8(&rest[..nl])
                    .map_err(|_| bad("bad chunk"))?
                    .trim(),
                16,
            )
            .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size).ok_or_else(|| bad("short chunk"))?);
            rest = rest.get(size + 2..).ok_or_else(|| bad("short chunk"))?;
        }
        body = out;
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Opens `/v1/ws` (query `query`) with the token as subprotocol and extra `headers`.
pub async fn ws_connect(
    port: u16,
    token: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://127.0.0.1:{port}/v1/ws{query}")
        .into_client_request()
        .unwrap();
    let protos = format!("buergerkoffer.v1, bearer.{token}");
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", protos.parse().unwrap());
    for (n, v) in headers {
        req.headers_mut()
            .insert(axum_free_name(n), v.parse().expect("header value"));
    }
    tokio_tungstenite::connect_async(req).await.map(|(s, _)| s)
}

fn axum_free_name(n: &str) -> tokio_tungstenite::tungstenite::http::HeaderName {
    n.parse().expect("header name")
}

/// The next text message as JSON (skipping pings), or `None` when the socket closes.
pub async fn ws_next(ws: &mut Ws) -> Option<serde_json::Value> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("a WebSocket message within 30 s")?;
        match m {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

/// Polls a scan job until it is no longer running.
pub async fn wait_job(r: &Running, id: &str) -> serde_json::Value {
    for _ in 0..600 {
        let s = r
            .call("GET", &format!("/v1/scan-jobs/{id}"), b"")
            .await
            .json();
        if s["state"] != "running" {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("scan job {id} still running after 30 s");
}
