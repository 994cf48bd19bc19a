//! The HTTP routes and what wraps them: probes, the Leptos pages and server
//! functions, the live socket, static files; request ids, tracing, metrics,
//! the cross-site check, known server functions, the response timeout, and
//! load shedding at checkout (issue 6, N3).

use app::state::AppState;
use app::{shell, App};
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::{cross_site, edge, live, metrics};

/// Load shedding at checkout (issue 6, N3): at most `limit` checkouts run at
/// once on this replica; one more is answered at once with 503, `Retry-After`
/// and the "busy" error the checkout page shows before it retries by itself
/// (with the same idempotency key, so a retry never orders twice). Only
/// `/api/place_order` is limited: pages and the other roles' actions pass by.
/// The limit is tower's `ConcurrencyLimit` behind `LoadShed`.
pub fn shed_checkout(app: Router, limit: usize) -> Router {
    let limited = tower::ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(
            |headers: axum::http::HeaderMap, _: tower::BoxError| async move {
                ::metrics::counter!("checkout_shed_total").increment(1);
                let mut response = crate::edge::refusal(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    &headers,
                    &app::error::AppError::Busy(domain::problem::Problem::CheckoutBusy),
                );
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(app::error::BUSY_RETRY_AFTER_SECS),
                );
                response
            },
        ))
        .load_shed()
        .concurrency_limit(limit.max(1))
        .service(app.clone());
    Router::new()
        .route_service("/api/place_order", limited)
        .fallback_service(app)
}

/// The longest a response may take to start. Page renders are awaited whole
/// (`SsrMode::Async`); under load, Leptos 0.8 rarely stalls one for good
/// (leptos#4851, a lost wake-up in `<Suspense>`; 0.8.23 fixed the main cause,
/// we still see about one in a few thousand under heavy parallel tests). The
/// user then gets "try again" instead of an endless spinner.
pub const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The HTTP routes: probes, the Leptos pages and server functions, static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        // Liveness: answers while the process lives (N7).
        .route("/healthz", get(|| async { "ok" }))
        // Readiness: database, migrations, consumers (N7).
        .route("/readyz", get(metrics::ready))
        // Prometheus metrics (N5).
        .route("/metrics", get(metrics::render))
        // The installable app's name in the reader's language (issue 12).
        .route("/manifest.webmanifest", get(manifest))
        // Live order events for the logged-in user (issue 5).
        .route("/ws", get(live::websocket))
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn(server_fn_error_status))
        // No response waits for ever: a stalled render (see RESPONSE_TIMEOUT) ends in a 503.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            RESPONSE_TIMEOUT,
        ))
        .route_layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(edge::known_server_functions))
        .layer(axum::middleware::from_fn(cross_site::reject_cross_site))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// `/manifest.webmanifest` in the request's language (cookie, else
/// `Accept-Language`, else Korean); it varies by both.
async fn manifest(headers: axum::http::HeaderMap) -> impl axum::response::IntoResponse {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::VARY, "Accept-Language, Cookie"),
        ],
        app::lang::manifest(app::lang::of_headers(&headers)),
    )
}

/// Gives a failed server-function call the status of its [`AppError`],
/// and its message the request's language.
///
/// server_fn answers every error with 500, including arguments that do not
/// decode, which never reach the function (whose own errors set their status
/// through `ResponseOptions`) and are encoded outside the request (so in
/// Korean, the default). Only 500 responses are inspected, so the buffering
/// costs nothing on the happy path.
async fn server_fn_error_status(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::body::Body;
    use axum::http::StatusCode;
    let locale = app::lang::of_headers(request.headers());
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return axum::response::Response::from_parts(parts, Body::empty());
    };
    match app::error::AppError::from_json(&bytes) {
        Ok(error) => {
            parts.status = error.status();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            axum::response::Response::from_parts(parts, Body::from(error.to_json(locale)))
        }
        Err(_) => axum::response::Response::from_parts(parts, Body::from(bytes)),
    }
}
