//! The checks every request passes before a handler sees it, in this order: the `Host` header
//! (loopback names only: DNS rebinding), the `Origin` (allow-list; eSCL: none at all), the
//! CORS / Private Network Access preflight (allowed origins only), the pairing token.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::{AppState, SESSION_HEADER};
use crate::error::{Error, ErrorKind, Result};

/// The subprotocol prefix that carries the token on a WebSocket (browsers cannot set an
/// `Authorization` header there).
pub(crate) const WS_TOKEN_PREFIX: &str = "bearer.";

/// Checks an allowed origin as configured: `http://` or `https://`, a host, an optional
/// port, nothing after.
pub(crate) fn check_origin_syntax(origin: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(
            Error::new(ErrorKind::InvalidInput, "service", "read allowed origins").with_detail(
                format!("`{origin}` is not an origin (scheme://host[:port]): {why}"),
            ),
        )
    };
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return bad("it must start with http:// or https://");
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) || rest.starts_with(':') {
        return bad("only a host and a port may follow the scheme");
    }
    Ok(())
}

/// Whether a `Host` header value names this machine's loopback: `localhost`, `127.0.0.1` or
/// `[::1]`, with or without a port.
pub(crate) fn loopback_host(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    let name = if let Some(rest) = v.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inner, tail)) if tail.is_empty() || valid_port(tail) => {
                return inner == "::1";
            }
            _ => return false,
        }
    } else {
        match v.split_once(':') {
            Some((n, port)) if valid_port(&format!(":{port}")) => n.to_owned(),
            Some(_) => return false,
            None => v,
        }
    };
    name == "localhost" || name == "127.0.0.1"
}

fn valid_port(tail: &str) -> bool {
    tail.strip_prefix(':')
        .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn header_str(h: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    h.get(name).map(|v| v.to_str().unwrap_or("\u{fffd}"))
}

/// Whether the request carries the token: `Authorization: Bearer TOKEN`, or for the
/// WebSocket the subprotocol `bearer.TOKEN`.
fn authorized(st: &AppState, h: &HeaderMap, path: &str) -> bool {
    if let Some(auth) = header_str(h, header::AUTHORIZATION) {
        let mut parts = auth.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or("");
        let value = parts.next().unwrap_or("").trim();
        if scheme.eq_ignore_ascii_case("bearer") && st.token.matches(value) {
            return true;
        }
    }
    if path == "/v1/ws" {
        if let Some(protos) = header_str(h, header::SEC_WEBSOCKET_PROTOCOL) {
            return protos
                .split(',')
                .filter_map(|p| p.trim().strip_prefix(WS_TOKEN_PREFIX))
                .any(|t| st.token.matches(t));
        }
    }
    false
}

fn allowed_origin(st: &AppState, origin: &str) -> bool {
    st.config
        .allowed_origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(origin))
}

fn set(h: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// The middleware: Host, Origin, preflight, token, then the handler; CORS headers on the way
/// back for allowed origins only.
pub(crate) async fn check(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let r = guarded(&st, req, next).await;
    // Method, path and status only: never a header (the token travels in one).
    tracing::debug!(%method, %path, status = r.status().as_u16(), "service request");
    r
}

async fn guarded(st: &AppState, req: Request, next: Next) -> Response {
    let h = req.headers();
    let path = req.uri().path().to_owned();
    if !header_str(h, header::HOST).is_some_and(loopback_host) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_host",
            "the Host header must be localhost, 127.0.0.1 or [::1]",
        )
        .into_response();
    }
    let origin = header_str(h, header::ORIGIN).map(str::to_owned);
    if path.starts_with("/eSCL") {
        let from_browser = origin.is_some()
            || h.keys().any(|k| k.as_str().starts_with("sec-fetch-"))
            || req.method() == Method::OPTIONS;
        if from_browser {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "browser_request",
                "the eSCL scanner does not serve web pages",
            )
            .into_response();
        }
        return next.run(req).await;
    }
    if let Some(o) = &origin {
        if !allowed_origin(st, o) {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "this origin is not allowed to use the service (see --allow-origin)",
            )
            .into_response();
        }
    }
    if req.method() == Method::OPTIONS {
        let Some(o) = &origin else {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "a preflight needs an allowed Origin",
            )
            .into_response();
        };
        let mut r = StatusCode::NO_CONTENT.into_response();
        let rh = r.headers_mut();
        set(rh, header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        set(rh, header::VARY, "Origin");
        set(
            rh,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            "GET, POST, DELETE",
        );
        set(
            rh,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            &format!("authorization, content-type, {SESSION_HEADER}"),
        );
        set(rh, header::ACCESS_CONTROL_MAX_AGE, "600");
        if header_str(h, "access-control-request-private-network") == Some("true") {
            set(
                rh,
                header::HeaderName::from_static("access-control-allow-private-network"),
                "true",
            );
        }
        return r;
    }
    // From here on the origin (if any) is allowed: its page may read every answer, including
    // a refused token.
    let mut r = if authorized(st, h, &path) {
        next.run(req).await
    } else {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the pairing token as `Authorization: Bearer TOKEN`",
        )
        .into_response()
    };
    if let Some(o) = origin {
        let rh = r.headers_mut();
        set(rh, header::ACCESS_CONTROL_ALLOW_ORIGIN, &o);
        set(rh, header::VARY, "Origin");
        set(
            rh,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            "Location, Content-Disposition",
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:65535",
            "LOCALHOST:80",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "127.0.0.2",
            "[::2]:80",
            "localhost:",
            "localhost:80:80",
            "[::1]x",
            "",
            "0.0.0.0",
            "localhost.",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn origin_syntax() {
        assert!(check_origin_syntax("https://app.example").is_ok());
        assert!(check_origin_syntax("http://127.0.0.1:8080").is_ok());
        for bad in [
            "app.example",
            "https://",
            "https://a/b",
            "null",
            "*",
            "ftp://a",
        ] {
            assert!(check_origin_syntax(bad).is_err(), "{bad}");
        }
    }
}
