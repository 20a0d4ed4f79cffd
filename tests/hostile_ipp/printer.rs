//! A hostile IPP printer on 127.0.0.1: a tokio TCP listener that reads each HTTP request and
//! answers with whatever raw bytes a test scripts (deep, wide, endless, truncated, slow), plus
//! builders for IPP reply bytes.

#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads one HTTP request (head and a sized or chunked body, de-chunked), at most 16 MiB;
/// `None` when the client went away first.
pub async fn read_request(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let chunked = head.contains("transfer-encoding: chunked");
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    loop {
        let body = &buf[head_end..];
        let done = if chunked {
            body.ends_with(b"0\r\n\r\n")
        } else {
            body.len() >= len
        };
        if done || buf.len() > 16 << 20 {
            break;
        }
        let n = s.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let body = &buf[head_end..];
    if !chunked {
        return Some(body.to_vec());
    }
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(p) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..p]).ok()?.trim(), 16).ok()?;
        if size == 0 {
            break;
        }
        out.extend_from_slice(rest.get(p + 2..p + 2 + size)?);
        rest = rest.get(p + 4 + size..)?;
    }
    Some(out)
}

/// Starts a printer that reads each request and hands the connection and the request body
/// to `answer`; returns the printer URI. The listener lives as long as the runtime.
pub async fn serve<F, Fut>(answer: F) -> String
where
    F: Fn(TcpStream, Vec<u8>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                if let Some(body) = read_request(&mut s).await {
                    answer(s, body).await;
                }
            });
        }
    });
    format!("ipp://127.0.0.1:{port}/ipp/print")
}

/// A printer that answers every request with `reply` and closes.
pub async fn replying(reply: Vec<u8>) -> String {
    let reply = Arc::new(reply);
    by_operation(move |_| reply.to_vec()).await
}

/// A printer that answers a request for IPP operation `op` with `reply(op)` and closes.
pub async fn by_operation(reply: impl Fn(u16) -> Vec<u8> + Send + Sync + 'static) -> String {
    let reply = Arc::new(reply);
    serve(move |mut s, body| {
        let reply = reply.clone();
        async move {
            let op = body
                .get(2..4)
                .map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
            let _ = s.write_all(&reply(op)).await;
            let _ = s.shutdown().await;
        }
    })
    .await
}

/// A printer that answers its `i`-th request with `replies[i]` (and closes the connection
/// for any request after the last).
pub async fn in_turn(replies: Vec<Vec<u8>>) -> String {
    let replies = Arc::new(replies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    serve(move |mut s, _| {
        let (replies, next) = (replies.clone(), next.clone());
        async move {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if let Some(r) = replies.get(i) {
                let _ = s.write_all(r).await;
            }
            let _ = s.shutdown().await;
        }
    })
    .await
}

/// A printer that sends `head` and then `chunk` again and again (until the client goes
/// away, or 30 s).
pub async fn flooding(head: Vec<u8>, chunk: Vec<u8>) -> String {
    let (head, chunk) = (Arc::new(head), Arc::new(chunk));
    serve(move |mut s, _| {
        let (head, chunk) = (head.clone(), chunk.clone());
        async move {
            if s.write_all(&head).await.is_err() {
                return;
            }
            let t0 = tokio::time::Instant::now();
            while t0.elapsed() < Duration::from_secs(30) {
                if s.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        }
    })
    .await
}

/// A printer that sends `reply` one byte every `every`.
pub async fn trickling(reply: Vec<u8>, every: Duration) -> String {
    let reply = Arc::new(reply);
    serve(move |mut s, _| {
        let reply = reply.clone();
        async move {
            for b in reply.iter() {
                if s.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(every).await;
            }
        }
    })
    .await
}

/// An HTTP/1.1 200 reply with a Content-Length.
pub fn http(body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

/// The head of a chunked HTTP/1.1 200 reply.
pub const CHUNKED_HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nTransfer-Encoding: chunked\r\n\r\n";

/// One HTTP chunk.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut v = format!("{:x}\r\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\r\n");
    v
}

/// One attribute value: tag, name ("" for additional values and collection members),
/// value bytes.
pub fn val(tag: u8, name: &str, value: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&(name.len() as u16).to_be_bytes());
    v.extend_from_slice(name.as_bytes());
    v.extend_from_slice(&(value.len() as u16).to_be_bytes());
    v.extend_from_slice(value);
    v
}

/// The IPP header and operation attributes of a successful reply (no end tag).
pub fn reply_head(status: u16) -> Vec<u8> {
    let mut v = vec![1, 1];
    v.extend_from_slice(&status.to_be_bytes());
    v.extend_from_slice(&1u32.to_be_bytes());
    v.push(0x01);
    v.extend(val(0x47, "attributes-charset", b"utf-8"));
    v.extend(val(0x48, "attributes-natural-language", b"en"));
    v
}

/// The printer attributes group of an idle printer that takes PDF, then `extra`.
pub fn printer_group(extra: &[u8]) -> Vec<u8> {
    let mut v = vec![0x04];
    v.extend(val(0x23, "printer-state", &3u32.to_be_bytes()));
    v.extend(val(0x44, "printer-state-reasons", b"none"));
    v.extend(val(0x49, "document-format-supported", b"application/pdf"));
    v.extend(val(0x22, "printer-is-accepting-jobs", &[1]));
    v.extend(val(0x41, "printer-make-and-model", b"Hostile Printer 1"));
    v.extend_from_slice(extra);
    v
}

/// A complete successful Get-Printer-Attributes reply with `extra` attributes.
pub fn reply(extra: &[u8]) -> Vec<u8> {
    let mut v = reply_head(0);
    v.extend(printer_group(extra));
    v.push(0x03);
    v
}

/// A collection attribute `name` nested `depth` deep (`media-col` style: each level has one
/// member, `m`, holding the next level; the innermost holds an integer).
pub fn nested_collection(name: &str, depth: usize) -> Vec<u8> {
    let mut v = val(0x34, name, b"");
    for _ in 1..depth {
        v.extend(val(0x4A, "", b"m"));
        v.extend(val(0x34, "", b""));
    }
    v.extend(val(0x4A, "", b"x-dimension"));
    v.extend(val(0x21, "", &21000u32.to_be_bytes()));
    for _ in 0..depth {
        v.extend(val(0x37, "", b""));
    }
    v
}

/// A resolution value.
pub fn resolution(x: i32, y: i32, units: u8) -> Vec<u8> {
    let mut v = x.to_be_bytes().to_vec();
    v.extend_from_slice(&y.to_be_bytes());
    v.push(units);
    v
}
