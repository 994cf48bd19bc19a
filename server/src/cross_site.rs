//! Refuses state-changing requests sent by another site (issue 3: cross-site
//! request forgery). Browsers say where a request comes from in
//! `Sec-Fetch-Site`, and older ones in `Origin`; a request with neither comes
//! from a non-browser client, which carries no victim's cookies by accident.

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The middleware: 403 for a POST, PUT, PATCH or DELETE from another site.
pub async fn reject_cross_site(request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) || same_site(&request) {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "refused a cross-site request");
    (
        StatusCode::FORBIDDEN,
        axum::Json(app::error::AppError::Forbidden(
            "This request came from another site and was refused.".into(),
        )),
    )
        .into_response()
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
