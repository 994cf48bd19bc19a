//! `/metrics` in Prometheus' text format and `/readyz` (issue 6, N5/N7).
//!
//! `/metrics` tells route latencies, order counts by status and payment
//! outcomes, so it is served only to the bearer of `APP_METRICS_TOKEN`
//! (issue 15, item 4): the cluster's scraper sends `Authorization: Bearer
//! <token>`; anyone else gets 401, and without a token set it is off (404).
//!
//! Recording goes through the `metrics` facade; `metrics-exporter-prometheus`
//! renders it. Counters and histograms are recorded where things happen
//! (requests here, payment calls in `payment::guard`); the gauges
//! that describe state (orders by status, consumer lag, breaker, open
//! WebSockets) are read fresh at each scrape.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `http_request_duration_seconds` | histogram | `route` (the matched pattern), `method`, `status` |
//! | `orders` | gauge | `status` |
//! | `consumer_lag_events` | gauge | `consumer` |
//! | `consumer_failed_batches` | gauge | `consumer` |
//! | `consumer_stopped` | gauge (1 when not running) | `consumer` |
//! | `payment_breaker_state` | gauge: 0 closed, 1 open, 2 half-open | |
//! | `payment_breaker_opened` | gauge | |
//! | `payment_calls_total` | counter | `operation` (authorize/capture/void), `outcome` (ok/declined/unavailable/refused) |
//! | `page_cache_total` | counter | `outcome` (hit/miss): pages of visitors without a session (`page_cache`) |
//! | `websocket_connections` | gauge | |
//! | `db_writer_turns_total` | counter: a SQLite file's write transactions and single writes (absent on PostgreSQL) | |
//! | `db_writer_commits_total` | counter: the commits of a SQLite file's writer connection; transactions committed together as a group count once (absent on PostgreSQL) | |
//! | `db_writer_held_microseconds_total` | counter: their time holding the one writer, summed (its rate over wall time is the writer's busy share) | |

use crate::live::Hub;
use app::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// Request duration buckets, in seconds (1 ms to 10 s).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (several test servers share it).
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("http_request_duration_seconds".into()), BUCKETS)
                .and_then(|b| b.install_recorder());
            match recorder {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::error!(error = %e, "cannot install the metrics recorder; /metrics will be empty");
                    None
                }
            }
        })
        .as_ref()
}

/// Records each request's duration by matched route — never a raw path that
/// matched nothing, whose values are unbounded (unknown server functions
/// included: they count as `unmatched`). Every server function is a route of
/// its own; for those the path itself is used, because checkout passes
/// through the load-shedding router first and its matched pattern comes out
/// doubled (`/api/place_order/api/place_order`).
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = match request.extensions().get::<MatchedPath>() {
        Some(matched) if matched.as_str().starts_with("/api/") => request.uri().path().to_string(),
        Some(matched) => matched.as_str().to_string(),
        None if request.uri().path().starts_with("/pkg/") => "/pkg/*".to_string(),
        None => "unmatched".to_string(),
    };
    let response = next.run(request).await;
    metrics::histogram!(
        "http_request_duration_seconds",
        "route" => route,
        "method" => method,
        "status" => response.status().as_u16().to_string()
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// Who may read `/metrics`: the bearer of this token; nobody when `None`.
#[derive(Clone, Debug, Default)]
pub struct MetricsToken(pub Option<std::sync::Arc<str>>);

impl MetricsToken {
    /// `None` when `headers` carry the token; otherwise the refusal: 404
    /// when no token is configured, 401 (with `WWW-Authenticate`) otherwise.
    fn refusal(&self, headers: &axum::http::HeaderMap) -> Option<Response> {
        use subtle::ConstantTimeEq;
        let Some(expected) = self.0.as_deref() else {
            return Some(StatusCode::NOT_FOUND.into_response());
        };
        let offered = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if bool::from(offered.as_bytes().ct_eq(expected.as_bytes())) {
            return None;
        }
        Some(
            (
                StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                "a metrics token is required",
            )
                .into_response(),
        )
    }
}

/// `GET /metrics`, for the bearer of [`MetricsToken`].
pub async fn render(
    State(state): State<AppState>,
    Extension(hub): Extension<std::sync::Arc<Hub>>,
    Extension(token): Extension<MetricsToken>,
    headers: axum::http::HeaderMap,
) -> Response {
    if let Some(refusal) = token.refusal(&headers) {
        return refusal;
    }
    let Some(handle) = install() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics are not available").into_response();
    };
    let statuses: Result<Vec<(String, i64)>, _> = sqlx::query_as("SELECT status, COUNT(*) FROM orders GROUP BY status")
        .fetch_all(state.db.pool())
        .await;
    match statuses {
        Ok(rows) => {
            for (status, count) in rows {
                metrics::gauge!("orders", "status" => status).set(count as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count orders"),
    }
    if let (Ok(head), Ok(checkpoints)) = (eventlog::head(&state.db).await, eventlog::checkpoints(&state.db).await) {
        for (consumer, seq) in checkpoints {
            metrics::gauge!("consumer_lag_events", "consumer" => consumer).set((head - seq) as f64);
        }
    }
    for control in &state.consumer_controls {
        let name = control.name();
        metrics::gauge!("consumer_failed_batches", "consumer" => name).set(control.failed_batches() as f64);
        let stopped = control.mode() != eventlog::ConsumerMode::Running;
        metrics::gauge!("consumer_stopped", "consumer" => name).set(if stopped { 1.0 } else { 0.0 });
    }
    let breaker = match state.payments.state() {
        payment::guard::BreakerState::Closed => 0.0,
        payment::guard::BreakerState::Open => 1.0,
        payment::guard::BreakerState::HalfOpen => 2.0,
    };
    metrics::gauge!("payment_breaker_state").set(breaker);
    metrics::gauge!("payment_breaker_opened").set(state.payments.times_opened() as f64);
    metrics::gauge!("websocket_connections").set(hub.connections() as f64);
    if let Some(turns) = state.db.writer_turns() {
        metrics::counter!("db_writer_turns_total").absolute(turns.turns);
        metrics::counter!("db_writer_held_microseconds_total").absolute(turns.held_us);
        metrics::counter!("db_writer_commits_total").absolute(turns.commits);
    }
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// `GET /readyz`: 200 `ready` when the database answers, every migration is
/// applied, every consumer task of this replica is alive and it is not
/// draining for a shutdown; otherwise 503 with the reasons, one per line (N7).
pub async fn ready(
    State(state): State<AppState>,
    Extension(consumers): Extension<ConsumerTasks>,
    Extension(draining): Extension<Draining>,
) -> Response {
    let mut problems = Vec::new();
    if draining.is_draining() {
        problems.push("draining: this replica is shutting down".to_string());
    }
    if let Err(problem) = state.db.check_ready().await {
        problems.push(problem);
    }
    for (name, alive) in consumers.alive() {
        if !alive {
            problems.push(format!("consumer {name} is not running"));
        }
    }
    if problems.is_empty() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, problems.join("\n")).into_response()
    }
}

/// Whether each consumer task still runs, for `/readyz`.
#[derive(Clone, Debug, Default)]
pub struct ConsumerTasks(pub std::sync::Arc<Vec<(&'static str, std::sync::Arc<std::sync::atomic::AtomicBool>)>>);

impl ConsumerTasks {
    fn alive(&self) -> Vec<(&'static str, bool)> {
        self.0
            .iter()
            .map(|(name, alive)| (*name, alive.load(std::sync::atomic::Ordering::Relaxed)))
            .collect()
    }
}

/// Set once a shutdown has been asked for: `/readyz` answers 503 from then
/// on, so a balancer stops sending this replica new requests while it
/// still serves the ones it has (`APP_DRAIN_MS`, issue 14).
#[derive(Clone, Debug, Default)]
pub struct Draining(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Draining {
    /// Turns readiness to 503 for good.
    pub fn start(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether [`Draining::start`] was called.
    pub fn is_draining(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}
