//! Staying honest while the database is away (issue 14): a restarting or
//! failing-over PostgreSQL must cost a user a quick "try again in a few
//! seconds", never a request that hangs until the pool's acquire timeout
//! and then fails with a 500.
//!
//! [`DbHealth`] probes the database every [`PROBE_EVERY`]; while it does
//! not answer, [`refuse_while_down`] answers every request that would need
//! it with 503, `Retry-After` and [`Problem::Unavailable`] at once, and a
//! 500 that meets a database that no longer answers becomes the same 503.
//! Nothing was changed by such a request (a transaction that could not
//! commit rolled back), so trying again is safe; checkout's idempotency key
//! covers the case where the commit did land.

use app::error::{AppError, BUSY_RETRY_AFTER_SECS};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use db::Db;
use domain::problem::Problem;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the database is probed.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);

/// The longest a probe waits for the database before it counts as away.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(800);

/// How long after a 500 the database is probed (only on that error path).
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);

/// A 500 this soon after the database was last found away (milliseconds
/// before the request started, or during it) is taken for the outage's:
/// a connection that went down with it, a pool still reconnecting.
pub const RECENTLY_MS: i64 = 5_000;

/// Whether the database answered its last probe. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DbHealth {
    db: Db,
    down: Arc<AtomicBool>,
    /// When a probe last found the database away (unix ms; 0: never).
    last_down_ms: Arc<std::sync::atomic::AtomicI64>,
}

impl DbHealth {
    /// Starts probing `db` every [`PROBE_EVERY`] until `shutdown` turns true.
    pub fn watch(db: Db, mut shutdown: watch::Receiver<bool>) -> (DbHealth, tokio::task::JoinHandle<()>) {
        let health = DbHealth {
            db,
            down: Arc::new(AtomicBool::new(false)),
            last_down_ms: Arc::default(),
        };
        let probe = health.clone();
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(PROBE_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => { probe.probe().await; }
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            return;
                        }
                    }
                }
            }
        });
        (health, task)
    }

    /// Whether the last probe found the database away.
    pub fn down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// Asks the database now; returns whether it answered.
    async fn probe(&self) -> bool {
        let up = tokio::time::timeout(PROBE_TIMEOUT, self.db.ping())
            .await
            .unwrap_or(false);
        if !up {
            self.last_down_ms.store(db::now_ms(), Ordering::Relaxed);
        }
        let was_down = self.down.swap(!up, Ordering::Relaxed);
        if was_down == up {
            if up {
                tracing::warn!("the database answers again");
            } else {
                tracing::warn!("the database does not answer; refusing requests with 503 until it does");
            }
        }
        up
    }

    /// Probes after [`SHUTDOWN_GRACE`]: a database that is shutting down
    /// ends its connections one by one, so one still answering right after
    /// another was cut proves nothing.
    async fn probe_after_a_moment(&self) -> bool {
        tokio::time::sleep(SHUTDOWN_GRACE).await;
        self.probe().await
    }

    /// Whether a probe found the database away at or after `since_ms` (unix ms).
    fn down_since(&self, since_ms: i64) -> bool {
        self.last_down_ms.load(Ordering::Relaxed) >= since_ms
    }
}

/// Paths that never need the database: the probes, metrics and static files.
fn needs_database(path: &str) -> bool {
    !matches!(path, "/healthz" | "/readyz" | "/metrics") && !path.starts_with("/pkg/")
}

/// The 503 a request gets while the database is away, in its language:
/// the JSON refusal for the app's calls, a small page for a browser
/// navigating. A page it asked for with GET reloads itself after
/// `Retry-After`; a form it posted does not (reloading would GET the
/// server function's address), so the reader goes back and sends it again.
fn unavailable(method: &axum::http::Method, headers: &header::HeaderMap) -> Response {
    let error = AppError::Busy(Problem::Unavailable);
    let locale = app::lang::of_headers(headers);
    let wants_page = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let mut response = if wants_page {
        let message = error.message(locale);
        let reload = if method == axum::http::Method::GET {
            format!("<meta http-equiv=\"refresh\" content=\"{BUSY_RETRY_AFTER_SECS}\">")
        } else {
            String::new()
        };
        let page = format!(
            "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             {reload}<title>배달</title></head>\
             <body><p>{message}</p></body></html>",
            lang = app::lang::code(locale),
        );
        let mut response = Response::new(axum::body::Body::from(page));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    } else {
        crate::edge::refusal(StatusCode::SERVICE_UNAVAILABLE, headers, &error)
    };
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(BUSY_RETRY_AFTER_SECS));
    response
}

/// Middleware: while the database is away, a request that needs it gets
/// the 503 of [`unavailable`] at once; a 500 answered while it turns out
/// away, or within [`RECENTLY_MS`] of its last absence (the request waited
/// for a connection until the pool gave up), becomes that 503 too.
pub async fn refuse_while_down(State(health): State<DbHealth>, request: Request, next: Next) -> Response {
    if !needs_database(request.uri().path()) {
        return next.run(request).await;
    }
    if health.down() {
        return unavailable(request.method(), request.headers());
    }
    let (method, headers) = (request.method().clone(), request.headers().clone());
    let started_ms = db::now_ms();
    let response = next.run(request).await;
    if response.status() == StatusCode::INTERNAL_SERVER_ERROR
        && (health.down_since(started_ms - RECENTLY_MS) || !health.probe_after_a_moment().await)
    {
        return unavailable(&method, &headers);
    }
    response
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_browser_page_reloads_itself_but_a_posted_form_is_not_sent_again_by_a_reload() {
        use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/html,*/*"));
        let page = |method: Method| {
            let headers = headers.clone();
            async move {
                let response = super::unavailable(&method, &headers);
                assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
                assert!(response.headers().contains_key(header::RETRY_AFTER));
                let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
                    .await
                    .unwrap_or_default();
                String::from_utf8_lossy(&body).into_owned()
            }
        };
        let reloading = page(Method::GET).await;
        assert!(reloading.contains("http-equiv=\"refresh\""), "{reloading}");
        let posted = page(Method::POST).await;
        assert!(posted.contains("<p>"), "{posted}");
        assert!(!posted.contains("refresh"), "{posted}");
    }

    #[test]
    fn probes_and_static_files_do_not_need_the_database() {
        for path in ["/healthz", "/readyz", "/metrics", "/pkg/delivery.wasm"] {
            assert!(!super::needs_database(path), "{path}");
        }
        for path in ["/", "/stores/1", "/api/place_order", "/ws"] {
            assert!(super::needs_database(path), "{path}");
        }
    }
}
