//! HTTP for the IPP backend: one POST per request with `reqwest` (rustls with the `ipps`
//! feature), the reply body read with a byte limit before anything parses it, and transport
//! errors classified into [`ErrorKind`]s.
//!
//! The `ipp` crate's client hands the unbounded response stream straight to its own parser,
//! so the backend does the HTTP itself, with the same `reqwest` the crate would use.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use ipp::prelude::Uri;

use super::attrs;
use crate::error::{Error, ErrorKind, RawCode};

/// Time to establish a connection (the request's own timeout also applies).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const USER_AGENT: &str = concat!("buergerkoffer/", env!("CARGO_PKG_VERSION"));

/// TLS settings (used with the `ipps` feature).
#[derive(Clone, Debug, Default)]
pub(super) struct Tls {
    #[cfg_attr(not(feature = "ipps"), allow(dead_code))]
    pub ca: Vec<Vec<u8>>,
    #[cfg_attr(not(feature = "ipps"), allow(dead_code))]
    pub insecure: bool,
}

/// The `http(s)://` URL of an `ipp(s)://` URI: port 631 for `ipp`, 443 for `ipps` when the
/// URI has none; `http(s)://` URIs as they are.
pub(super) fn http_url(uri: &Uri) -> String {
    let (scheme, port) = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("ipp") => ("http", 631),
        Some("ipps") => ("https", 443),
        _ => return uri.to_string(),
    };
    let Some(authority) = uri.authority() else {
        return uri.to_string();
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    if authority.port_u16().is_some() {
        format!("{scheme}://{authority}{path}")
    } else {
        format!("{scheme}://{authority}:{port}{path}")
    }
}

/// An HTTP client for one printer: no connection is kept between requests.
pub(super) fn client(tls: &Tls) -> std::result::Result<reqwest::Client, reqwest::Error> {
    #[allow(unused_mut)]
    let mut b = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_max_idle_per_host(0)
        .user_agent(USER_AGENT);
    #[cfg(feature = "ipps")]
    {
        b = b.tls_backend_rustls();
        if tls.insecure {
            b = b
                .danger_accept_invalid_hostnames(true)
                .danger_accept_invalid_certs(true);
        }
        let mut certs = Vec::new();
        for c in &tls.ca {
            certs.push(
                reqwest::Certificate::from_pem(c).or_else(|_| reqwest::Certificate::from_der(c))?,
            );
        }
        b = b.tls_certs_merge(certs);
    }
    #[cfg(not(feature = "ipps"))]
    let _ = tls;
    b.build()
}

/// Why a POST failed.
pub(super) enum Failure {
    /// No reply: connection, TLS or HTTP head.
    Transport(reqwest::Error),
    /// A reply other than 2xx.
    Status(u16),
    /// The body broke off or is not valid HTTP.
    Body(reqwest::Error),
    /// The body is larger than the limit.
    TooLarge,
}

/// POSTs `body` as `application/ipp` and reads the reply body, refusing more than `max`
/// bytes: a larger declared length is refused before reading, and reading stops at the
/// first byte past the limit. Memory held: the body read so far, at most `max` bytes.
pub(super) async fn post(
    client: &reqwest::Client,
    url: &str,
    body: reqwest::Body,
    max: usize,
) -> std::result::Result<Vec<u8>, Failure> {
    let mut resp = client
        .post(url)
        .header("content-type", "application/ipp")
        .body(body)
        .send()
        .await
        .map_err(Failure::Transport)?;
    if !resp.status().is_success() {
        return Err(Failure::Status(resp.status().as_u16()));
    }
    let declared = resp.content_length().unwrap_or(0);
    if declared > max as u64 {
        return Err(Failure::TooLarge);
    }
    // `declared` <= `max` here.
    let mut out: Vec<u8> = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    while let Some(chunk) = resp.chunk().await.map_err(Failure::Body)? {
        let len = out.len().saturating_add(chunk.len());
        if len > max {
            return Err(Failure::TooLarge);
        }
        if len > out.capacity() {
            // Grow by doubling, but never past the limit.
            let cap = out.capacity().saturating_mul(2).max(len).min(max);
            out.reserve_exact(cap - out.len());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// A `futures` reader as a stream of chunks, for a streamed request body.
pub(super) struct ReadStream<R> {
    reader: R,
    buf: Box<[u8]>,
    done: bool,
}

impl<R> ReadStream<R> {
    /// Reads `reader` in chunks of 64 KiB.
    pub fn new(reader: R) -> Self {
        ReadStream {
            reader,
            buf: vec![0; 64 << 10].into_boxed_slice(),
            done: false,
        }
    }
}

impl<R: futures_util::io::AsyncRead + Unpin> futures_core::Stream for ReadStream<R> {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let this = &mut *self;
        match Pin::new(&mut this.reader).poll_read(cx, &mut this.buf) {
            Poll::Ready(Ok(0)) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Ok(n)) => Poll::Ready(Some(Ok(Bytes::copy_from_slice(
                this.buf.get(..n).unwrap_or_default(),
            )))),
            Poll::Ready(Err(e)) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error for a failed POST.
pub(super) fn failure(device: &str, op: &'static str, f: Failure, too_large: String) -> Error {
    match f {
        Failure::Transport(e) => transport_error(device, op, e),
        Failure::Status(code) => Error::new(attrs::http_status_kind(code), device.to_owned(), op)
            .with_detail(format!("the printer answered HTTP {code}"))
            .with_raw(RawCode::Http(code)),
        Failure::Body(e) if e.is_timeout() => Error::new(ErrorKind::Timeout, device.to_owned(), op)
            .with_detail("the reply stopped coming")
            .with_source(e),
        Failure::Body(e) => Error::new(ErrorKind::Protocol, device.to_owned(), op)
            .with_detail("the reply body is truncated or not valid HTTP")
            .with_source(e),
        Failure::TooLarge => {
            Error::new(ErrorKind::Protocol, device.to_owned(), op).with_detail(too_large)
        }
    }
}

/// Classifies a transport error by the `io::Error` in its source chain.
fn transport_error(device: &str, op: &'static str, e: reqwest::Error) -> Error {
    use std::error::Error as _;
    let mut io_kind = None;
    let mut errno = None;
    let mut text = e.to_string();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(c) = cur {
        text.push_str(": ");
        text.push_str(&c.to_string());
        if let Some(io) = c.downcast_ref::<io::Error>() {
            io_kind.get_or_insert(io.kind());
            if errno.is_none() {
                errno = io.raw_os_error();
            }
        }
        cur = c.source();
    }
    use std::io::ErrorKind as K;
    let (kind, detail) = match io_kind {
        Some(K::ConnectionRefused) => (
            ErrorKind::DeviceGone,
            "connection refused: is the printer on and the URI right?",
        ),
        Some(K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable) => {
            (ErrorKind::DeviceGone, "printer not reachable on the network")
        }
        Some(K::TimedOut) => (ErrorKind::Timeout, "the connection timed out"),
        _ if e.is_timeout() => (ErrorKind::Timeout, "the connection timed out"),
        _ if text.contains("InvalidCertificate") || text.contains("certificate") => (
            ErrorKind::InvalidInput,
            "the printer's TLS certificate is not trusted: trust it with IppPrinter::with_tls_ca (or, knowingly, with_insecure_tls)",
        ),
        _ if e.is_builder() => (
            ErrorKind::InvalidInput,
            "invalid printer URI or TLS certificate",
        ),
        Some(K::InvalidData) => (ErrorKind::Protocol, "TLS or HTTP protocol error"),
        _ if text.contains("dns error") => {
            (ErrorKind::NotFound, "the printer's host name does not resolve")
        }
        Some(_) => (ErrorKind::Io, "network error"),
        None => (
            ErrorKind::Protocol,
            "the printer's reply is not valid HTTP, or the connection closed before the reply was complete",
        ),
    };
    let mut err = Error::new(kind, device.to_owned(), op).with_detail(detail);
    if let Some(n) = errno {
        err = err.with_raw(RawCode::Errno(n));
    }
    err.with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipp_uris_become_http_urls() {
        let u = |s: &str| http_url(&Uri::try_from(s).unwrap());
        assert_eq!(u("ipp://host/ipp/print"), "http://host:631/ipp/print");
        assert_eq!(u("ipp://host:8631/ipp/print"), "http://host:8631/ipp/print");
        assert_eq!(u("ipps://host"), "https://host:443/");
        assert_eq!(u("IPPS://host:8443/x?y=1"), "https://host:8443/x?y=1");
        assert_eq!(
            u("http://host:631/printers/x"),
            "http://host:631/printers/x"
        );
    }
}
