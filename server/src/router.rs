//! The HTTP routes and what wraps them: probes, the Leptos pages and server
//! functions, the live socket, static files; request ids, tracing, metrics,
//! the cross-site check, known server functions, the response timeout, and
//! load shedding at checkout (issue 6, N3).

use app::state::AppState;
use app::{shell, App};
use axum::routing::get;
use axum::Router;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::{cross_site, edge, live, metrics, page_cache};

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
/// (`SsrMode::Async`), and none should ever take this long; should one stall
/// for good (Leptos 0.8 has had such bugs: leptos#4851, a lost wake-up in
/// `<Suspense>`, fixed in 0.8.23; leptos#4773, see [`route_list`]), the
/// user gets "try again" instead of an endless spinner.
pub const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The app's routes as leptos_axum lists them, made once per process.
///
/// Making the list runs the whole app once under a process-wide flag that
/// parks, for good, every resource whose loader is first polled meanwhile —
/// on any thread, in any server of the process (leptos#4773: leptos_server's
/// `SuppressResourceLoad`). Made again for each server, it hung a page render
/// now and then wherever several servers share a process (the test suites,
/// issue 13's "rare stalled render"); made once, before any server of the
/// process exists, it cannot.
pub fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// The HTTP routes: probes, the Leptos pages and server functions, static files.
pub fn router(state: AppState) -> Router {
    let routes = route_list();
    let options = state.leptos_options.clone();
    let pages = page_cache::PageCache::new(state.db.clone(), crate::sessions::SESSION_COOKIE);
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
        // The built CSS, JS and WASM (issue 13).
        .nest_service("/pkg", bundle_files(&options))
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // A page is rendered to its end, even for a client that went away.
        .layer(axum::middleware::from_fn(render_to_the_end))
        // The store list and menus of visitors without a session, from memory.
        .layer(axum::middleware::from_fn_with_state(pages, page_cache::serve))
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

/// Renders a page to its end in a task of its own, even when its client
/// goes away meanwhile (a page load aborted: a tap on another link, a
/// closed tab, a client that hangs up). Dropped halfway, a render's
/// reactive owner was disposed while a `<Suspense>` of it still waited for
/// its data in a task of its own; building its view then panicked,
/// looking for a context or a signal that was gone ("I18n context is
/// missing" in `StoreCard`, `form_error`; "already been disposed" in
/// reactive_graph), three or four times in a thousand aborted loads of a
/// release build (RELIABILITY.md; leptos#4698 describes the same). A page
/// render is short and awaited whole (`SsrMode::Async`,
/// [`RESPONSE_TIMEOUT`]), so finishing one costs little.
///
/// Only `GET`s of pages take a task of their own: the live socket, the
/// built files, the probes and every server function run as before. The
/// task ends the render after [`RESPONSE_TIMEOUT`] as the response timeout
/// did (503); a render that panics is answered 500.
async fn render_to_the_end(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let path = request.uri().path();
    let page = request.method() == axum::http::Method::GET
        && !path.starts_with("/api/")
        && !path.starts_with("/pkg/")
        && !matches!(
            path,
            "/ws" | "/healthz" | "/readyz" | "/metrics" | "/manifest.webmanifest"
        );
    if !page {
        return next.run(request).await;
    }
    // Bounded here too: a render that stalls is still dropped in the end
    // (the response timeout outside no longer reaches into this task).
    let render = tokio::spawn(tokio::time::timeout(RESPONSE_TIMEOUT, next.run(request)));
    let status = match render.await {
        Ok(Ok(response)) => return response,
        Ok(Err(_)) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
        // The render panicked: a bug of ours.
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR,
    };
    axum::response::IntoResponse::into_response(status)
}

/// A server function posted by a plain HTML form (a browser without its
/// WASM yet: `Accept: text/html` and `Sec-Fetch-Mode: navigate`, which every
/// current browser sends with a form submission and scripts do not), and
/// where that form was: the function's path and the `Referer`'s path and
/// query on this site (else `/`).
struct FormPost {
    function: String,
    page: String,
}

fn plain_form_post(request: &axum::extract::Request) -> Option<FormPost> {
    use axum::http::{header, Method};
    let headers = request.headers();
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let navigating = headers
        .get("sec-fetch-mode")
        .is_some_and(|mode| mode.as_bytes() == b"navigate");
    let path = request.uri().path();
    if request.method() != Method::POST || !html || !navigating || !path.starts_with("/api/") {
        return None;
    }
    let page = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|referer| referer.parse::<axum::http::Uri>().ok())
        .and_then(|uri| uri.path_and_query().map(|pq| pq.as_str().to_string()))
        .and_then(|page| app::nav::local_path(&page).map(str::to_string))
        .unwrap_or_else(|| "/".into());
    Some(FormPost {
        function: path.to_string(),
        page,
    })
}

/// A refused plain form post goes back to its page with the refusal in the
/// URL (`__path`, `__err`: what `leptos_router` hands to that page's
/// `ServerAction`), so the page shows the message beside the form, as it
/// does once hydrated (issue 13). server_fn means to redirect such posts
/// itself, but the status our errors set replaces its redirect. Success
/// (a redirect already, or server_fn's own) passes unchanged.
async fn back_to_the_form(response: axum::response::Response, form: FormPost) -> axum::response::Response {
    use axum::http::{header, HeaderValue, StatusCode};
    use base64::Engine as _;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return axum::response::Response::from_parts(parts, axum::body::Body::empty());
    };
    if app::error::AppError::from_json(&bytes).is_err() {
        return axum::response::Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let (path, query) = form.page.split_once('?').unwrap_or((form.page.as_str(), ""));
    let mut target = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != "__path" && key != "__err" {
            target.append_pair(&key, &value);
        }
    }
    target.append_pair("__path", &form.function);
    target.append_pair("__err", &base64::engine::general_purpose::URL_SAFE.encode(&bytes));
    let location = format!("{path}?{}", target.finish());
    if location.len() > MAX_LOCATION_BYTES {
        // Too long for every proxy's header buffer: the refusal as it was.
        return axum::response::Response::from_parts(parts, axum::body::Body::from(bytes));
    }
    let mut back = axum::response::Response::new(axum::body::Body::empty());
    *back.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(&location) {
        back.headers_mut().insert(header::LOCATION, value);
    }
    for name in [header::SET_COOKIE, header::RETRY_AFTER] {
        for value in parts.headers.get_all(&name) {
            back.headers_mut().append(&name, value.clone());
        }
    }
    back
}

/// The longest `Location` [`back_to_the_form`] writes, in bytes (HAProxy's
/// default buffer holds 16 KiB of headers in all).
const MAX_LOCATION_BYTES: usize = 8 * 1024;

/// One year, in seconds: how long a browser keeps a hashed bundle file.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The bundle under `/pkg` (issue 13): brotli or gzip as cargo-leptos
/// precompressed it (`--precompress`, release builds) when the browser
/// accepts it, else the plain file. A file whose name carries the hash of
/// what it holds ([`named_by_content`]) is cached for a year, unchanged
/// (`immutable`: a new build has new names); every other file is
/// revalidated on every use (`no-cache`). Errors (404) carry neither; a
/// name the file system cannot open (too long, say) is a 404 too, never a
/// 500.
fn bundle_files<S: Clone + Send + Sync + 'static>(options: &leptos::config::LeptosOptions) -> Router<S> {
    use axum::http::{header, HeaderValue};
    let dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let lasting = std::sync::Arc::new(if options.hash_files {
        named_by_content(&dir)
    } else {
        std::collections::HashSet::new()
    });
    let files = tower_http::services::ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::map_response(
            |response: axum::response::Response| async move {
                if response.status().is_server_error() {
                    tracing::debug!(status = %response.status(), "a bundle file could not be read; answering 404");
                    return axum::response::IntoResponse::into_response(axum::http::StatusCode::NOT_FOUND);
                }
                response
            },
        ))
        .layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let lasting = lasting.clone();
                async move {
                    let name = request.uri().path().rsplit('/').next().unwrap_or_default();
                    let cache = if lasting.contains(name) { IMMUTABLE } else { "no-cache" };
                    let mut response = next.run(request).await;
                    if response.status().is_success() {
                        let headers = response.headers_mut();
                        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
                        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
                    }
                    response
                }
            },
        ))
}

/// The names of the files in `pkg_dir` that may be cached for good: those
/// named `<stem>.<hash>.<extension>` where `<hash>` is the MD5 of the file,
/// in unpadded base64url (22 characters), as cargo-leptos names them.
///
/// Not every hashed name qualifies: cargo-leptos 0.3.10 hashes the main JS
/// and WASM, then writes the chunk loader's final name into both, so their
/// names stay the same when only a screen loaded on demand changed. A
/// browser holding last build's copy "for good" would ask for a loader
/// that no longer exists and never hydrate again; such files are
/// revalidated instead (a 304 when unchanged). Read once, at start.
fn named_by_content(pkg_dir: &std::path::Path) -> std::collections::HashSet<String> {
    use base64::Engine;
    use md5::{Digest, Md5};
    let Ok(entries) = std::fs::read_dir(pkg_dir) else {
        return std::collections::HashSet::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let mut parts = name.rsplit('.');
            let (_extension, hash) = (parts.next()?, parts.next()?);
            parts.next()?;
            if hash.len() != 22 || !entry.file_type().ok()?.is_file() {
                return None;
            }
            let content = std::fs::read(entry.path()).ok()?;
            let actual = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Md5::digest(&content));
            (actual == hash).then_some(name)
        })
        .collect()
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
    let back = plain_form_post(&request);
    let response = next.run(request).await;
    if let Some(back) = back {
        return back_to_the_form(response, back).await;
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt;

    /// A bundle file named by the MD5 of `content`, as cargo-leptos names them.
    fn hashed_name(content: &[u8]) -> String {
        use base64::Engine;
        use md5::{Digest, Md5};
        let hash = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Md5::digest(content));
        format!("delivery.{hash}.wasm")
    }

    /// The answer to `GET path` from a bundle folder of two wasm files (and
    /// their brotli and gzip forms): [`hashed_name`] of `b"plain wasm"`, and
    /// one whose name is the hash of other content (`stale`), with the
    /// folder (removed when dropped).
    async fn get(hashed: bool, path: &str, accept_encoding: &str) -> (axum::response::Response, tempfile::TempDir) {
        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        for name in [hashed_name(b"plain wasm"), hashed_name(b"last build's wasm")] {
            std::fs::write(pkg.join(&name), b"plain wasm").unwrap();
            std::fs::write(pkg.join(format!("{name}.br")), b"brotli wasm").unwrap();
            std::fs::write(pkg.join(format!("{name}.gz")), b"gzip wasm").unwrap();
        }
        let options = leptos::config::LeptosOptions::builder()
            .output_name("delivery")
            .site_root(site.path().to_str().unwrap())
            .site_pkg_dir("pkg")
            .hash_files(hashed)
            .build();
        let files: axum::Router = axum::Router::new().nest_service("/pkg", super::bundle_files(&options));
        let request = Request::get(path)
            .header(header::ACCEPT_ENCODING, accept_encoding)
            .body(Body::empty())
            .unwrap();
        (files.oneshot(request).await.unwrap(), site)
    }

    fn header_of(response: &axum::response::Response, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    async fn body(response: axum::response::Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn hashed_bundle_files_are_sent_precompressed_and_cached_for_good() {
        let path = format!("/pkg/{}", hashed_name(b"plain wasm"));
        let (brotli, _site) = get(true, &path, "gzip, deflate, br").await;
        assert_eq!(brotli.status(), StatusCode::OK);
        assert_eq!(header_of(&brotli, header::CONTENT_ENCODING), Some("br"));
        assert_eq!(header_of(&brotli, header::CONTENT_TYPE), Some("application/wasm"));
        assert_eq!(header_of(&brotli, header::CACHE_CONTROL), Some(super::IMMUTABLE));
        assert_eq!(header_of(&brotli, header::VARY), Some("accept-encoding"));
        assert_eq!(body(brotli).await, "brotli wasm");

        let (gzip, _site) = get(true, &path, "gzip").await;
        assert_eq!(header_of(&gzip, header::CONTENT_ENCODING), Some("gzip"));
        assert_eq!(body(gzip).await, "gzip wasm");

        let (plain, _site) = get(true, &path, "identity").await;
        assert_eq!(header_of(&plain, header::CONTENT_ENCODING), None);
        assert_eq!(header_of(&plain, header::CACHE_CONTROL), Some(super::IMMUTABLE));
        assert_eq!(body(plain).await, "plain wasm");
    }

    #[tokio::test]
    async fn a_file_whose_name_is_not_the_hash_of_its_content_is_revalidated() {
        // cargo-leptos rewrites the main JS and WASM after naming them.
        let path = format!("/pkg/{}", hashed_name(b"last build's wasm"));
        let (stale, _site) = get(true, &path, "br").await;
        assert_eq!(stale.status(), StatusCode::OK);
        assert_eq!(header_of(&stale, header::CONTENT_ENCODING), Some("br"));
        assert_eq!(header_of(&stale, header::CACHE_CONTROL), Some("no-cache"));
    }

    #[tokio::test]
    async fn plain_names_are_revalidated_and_missing_files_are_not_cached() {
        let (plain, _site) = get(false, &format!("/pkg/{}", hashed_name(b"plain wasm")), "br").await;
        assert_eq!(header_of(&plain, header::CACHE_CONTROL), Some("no-cache"));
        let (unopenable, _site) = get(true, &format!("/pkg/{}.wasm", "x".repeat(2_000)), "br").await;
        assert_eq!(unopenable.status(), StatusCode::NOT_FOUND, "a name too long to open");
        let (missing, _site) = get(true, "/pkg/delivery.old.wasm", "br").await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(header_of(&missing, header::CACHE_CONTROL), None);
        assert_eq!(header_of(&missing, header::VARY), None);
    }
}
