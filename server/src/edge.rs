//! What every request meets before the application (issue 15): its body is
//! read whole, within a size and a time limit; an address under `/api/` must
//! name a server function; every response carries the security headers.
//!
//! Reading the body first has two purposes. A body that is too large or
//! broken gets 413/400 with a short message, where the server functions used
//! to answer 503 with their parser's text (item 2). And every later refusal
//! (cross-site 403, unknown method 405, load shedding 503) happens after the
//! body was read, so the connection stays usable for the client's next
//! request (item 9): hyper used to close a kept-alive connection whose body
//! was left unread without saying `Connection: close`, and the client's next
//! request on it failed. The refusals here, which cannot read the body, say
//! `Connection: close`.

use app::error::{AppError, UNREADABLE_REQUEST};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use domain::problem::Problem;
use http_body_util::BodyExt;
use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;

/// The largest request body read, in bytes. The largest form the app sends
/// (a review of 1,000 Korean characters, percent-encoded) is about 9 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long a request body may take to arrive once its headers have.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// `error` as a JSON response (`app::error::ErrorEncoding`'s shape), its
/// message in the language of the request with `headers`.
pub fn refusal(status: StatusCode, headers: &header::HeaderMap, error: &AppError) -> Response {
    let body = error.to_json(app::lang::of_headers(headers));
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response()
}

/// A refusal that leaves the body unread, so the connection is closed after it.
fn refuse_and_close(status: StatusCode, headers: &header::HeaderMap, error: &AppError) -> Response {
    let mut response = refusal(status, headers, error);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Middleware: reads the request body whole (at most [`MAX_BODY_BYTES`],
/// within [`BODY_READ_TIMEOUT`]) before anything else sees the request.
/// 413 for a larger body, 408 for a slow one, 400 for one that breaks off.
pub async fn read_body(request: Request, next: Next) -> Response {
    use http_body::Body as _;
    let (parts, body) = request.into_parts();
    if body.is_end_stream() {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return refuse_and_close(StatusCode::PAYLOAD_TOO_LARGE, &parts.headers, &AppError::TooLarge);
    }
    let limited = http_body_util::Limited::new(body, MAX_BODY_BYTES);
    match tokio::time::timeout(BODY_READ_TIMEOUT, limited.collect()).await {
        Ok(Ok(collected)) => {
            let bytes = collected.to_bytes();
            if is_form(&parts.headers) && !form_is_utf8(&bytes) {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    &parts.headers,
                    &AppError::BadRequest(UNREADABLE_REQUEST),
                );
            }
            next.run(Request::from_parts(parts, Body::from(bytes))).await
        }
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            refuse_and_close(StatusCode::PAYLOAD_TOO_LARGE, &parts.headers, &AppError::TooLarge)
        }
        Ok(Err(_)) => refuse_and_close(
            StatusCode::BAD_REQUEST,
            &parts.headers,
            &AppError::BadRequest(UNREADABLE_REQUEST),
        ),
        Err(_) => refuse_and_close(
            StatusCode::REQUEST_TIMEOUT,
            &parts.headers,
            &AppError::BadRequest(Problem::TooSlow),
        ),
    }
}

/// Middleware: an address with a trailing slash (`/stores/1/`) is answered
/// with a permanent redirect (308: a form's method and body are sent again)
/// to the same address without it, its query kept. People type and paste
/// addresses that way, and no page or server function has one. An address
/// that would then start with `//` or `/\` (another site, to a browser) is
/// left alone and finds nothing (404).
pub async fn trailing_slash(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        if !trimmed.is_empty() && !trimmed.starts_with("//") && !trimmed.starts_with("/\\") {
            let location = match request.uri().query() {
                Some(query) => format!("{trimmed}?{query}"),
                None => trimmed.to_owned(),
            };
            if let Ok(location) = HeaderValue::from_str(&location) {
                return (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)]).into_response();
            }
        }
    }
    next.run(request).await
}

fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/x-www-form-urlencoded"))
}

/// Whether every name and value of a form body is UTF-8 once
/// percent-decoded. Browsers on a UTF-8 page never send anything else; the
/// form parser would quietly turn the rest into U+FFFD.
fn form_is_utf8(body: &[u8]) -> bool {
    body.split(|b| *b == b'&')
        .flat_map(|pair| pair.splitn(2, |b| *b == b'='))
        .all(|part| percent_encoding::percent_decode(part).decode_utf8().is_ok())
}

/// Each registered server function's path and the methods it answers.
fn server_functions() -> &'static HashMap<&'static str, Vec<Method>> {
    static PATHS: OnceLock<HashMap<&'static str, Vec<Method>>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let mut paths: HashMap<&'static str, Vec<Method>> = HashMap::new();
        for (path, method) in leptos::server_fn::axum::server_fn_paths() {
            paths.entry(path).or_default().push(method);
        }
        paths
    })
}

/// Middleware: an address under `/api/` that names no server function is a
/// 404, and a server function called with another method a 405, each with
/// a short JSON error (the framework's own answer is a 400 explaining its
/// configuration and echoing the path).
pub async fn known_server_functions(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !path.starts_with("/api/") {
        return next.run(request).await;
    }
    match server_functions().get(path) {
        Some(methods) if methods.contains(request.method()) => next.run(request).await,
        Some(methods) => {
            let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
            let mut response = refusal(
                StatusCode::METHOD_NOT_ALLOWED,
                request.headers(),
                &AppError::BadRequest(Problem::WrongMethod),
            );
            if let Ok(allow) = HeaderValue::from_str(&allow) {
                response.headers_mut().insert(header::ALLOW, allow);
            }
            response
        }
        None => refusal(
            StatusCode::NOT_FOUND,
            request.headers(),
            &AppError::NotFound(Problem::NoSuchAction),
        ),
    }
}

/// The proxies whose `X-Forwarded-For` the edge believes (`APP_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub std::sync::Arc<[ipnet::IpNet]>);

/// Middleware: finds the client's address — the peer's, or behind a
/// trusted proxy the one `X-Forwarded-For` names
/// (`accounts::throttle::client_ip`) — and puts it in the request's
/// extensions as [`app::server::ClientAddr`] for the per-client limits.
pub async fn client_address(
    axum::extract::State(trusted): axum::extract::State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    use axum::extract::ConnectInfo;
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<std::net::SocketAddr>>().copied() {
        let forwarded: Vec<&str> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let ip = accounts::throttle::client_ip(peer.ip(), &forwarded, &trusted.0);
        request.extensions_mut().insert(app::server::ClientAddr(ip));
    }
    next.run(request).await
}

/// The policy of every response that is not a page (pages set their own,
/// with a nonce: `app::page_security_policy`): nothing may load from it,
/// and nobody may frame it.
pub const NON_PAGE_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the security headers of issue 15, item 10, to every response:
/// `X-Content-Type-Options: nosniff` (no script from a JSON or text answer),
/// `Referrer-Policy: same-origin` (order and store addresses stay on this
/// site), `X-Frame-Options: DENY` (older browsers' `frame-ancestors`), and
/// [`NON_PAGE_SECURITY_POLICY`] where a page did not set its own policy.
pub fn security_headers(router: Router) -> Router {
    router
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(NON_PAGE_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn forms_must_decode_to_utf8() {
        assert!(super::form_is_utf8(b"q=%EC%B9%98%ED%82%A8&kind=restaurant&x"));
        assert!(super::form_is_utf8(b""));
        assert!(!super::form_is_utf8(b"q=%ff%fe"));
        assert!(!super::form_is_utf8(b"q=\xff"));
        assert!(!super::form_is_utf8(b"%C3%28=1"));
    }
}
