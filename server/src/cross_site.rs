//! Refuses requests sent by another site (issue 3: cross-site request
//! forgery; issue 15, item 5: cross-site WebSocket hijacking). Browsers say
//! where a request comes from in `Sec-Fetch-Site`, and older ones in
//! `Origin`; a request with neither comes from a non-browser client, which
//! carries no victim's cookies by accident.
//!
//! Refused: a POST, PUT, PATCH or DELETE, and a WebSocket handshake (a GET
//! that the browser sends with the page's cookies whatever site opens it).

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// The middleware: 403 for a state-changing request or a WebSocket
/// handshake from another site.
pub async fn reject_cross_site(request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) && !is_upgrade(&request);
    if safe || same_site(&request) {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
    crate::edge::refusal(
        StatusCode::FORBIDDEN,
        request.headers(),
        &app::error::AppError::Forbidden(domain::problem::Problem::CrossSite),
    )
}

/// Whether the request asks to switch protocols (a WebSocket handshake).
fn is_upgrade(request: &Request) -> bool {
    request.headers().contains_key(header::UPGRADE)
}

fn same_site(request: &Request) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // "none": typed in the address bar or a bookmark.
        return matches!(site, "same-origin" | "none");
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
            !host.is_empty() && origin_host == host
        }
    }
}
