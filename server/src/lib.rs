//! The server: configuration, startup, the axum router around the Leptos app.
//!
//! [`start`] is what `main` runs and what the integration tests spawn (on port
//! 0 with a fresh database), so both exercise the same startup path.

pub mod config;
pub mod cross_site;
pub mod demo;
pub mod live;
pub mod metrics;
pub mod sessions;

use anyhow::Context;
use app::state::AppState;
use app::{shell, App};
use axum::routing::get;
use axum::Router;
use config::{Settings, OUTPUT_NAME};
use db::{Db, DbOptions};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// A started server.
pub struct RunningServer {
    /// Where it listens (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// The database it uses.
    pub db: Db,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
    consumers: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting connections, lets in-flight requests and consumer
    /// batches finish (consumers give their leases up), and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        let db = self.db.clone();
        self.wait().await?;
        db.close().await;
        Ok(())
    }

    /// Waits until the server ends (after [`RunningServer::stop`] or a signal).
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.task.await.context("server task panicked")?;
        // Consumers finish their batch and give their leases up; one that
        // does not within 10 s is abandoned (its lease expires on its own).
        for mut consumer in self.consumers {
            if tokio::time::timeout(std::time::Duration::from_secs(10), &mut consumer)
                .await
                .is_err()
            {
                tracing::warn!("a background task did not stop within 10 s; abandoning it");
                consumer.abort();
            }
        }
        served.context("server failed")
    }

    /// A handle that asks the server to shut down gracefully.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Opens the database, applies migrations (refusing to start when one fails),
/// seeds demo data when asked, binds the address and serves.
pub async fn start(settings: &Settings) -> anyhow::Result<RunningServer> {
    let db = Db::connect(
        &settings.database_url,
        &DbOptions {
            max_connections: settings.db_max_connections,
            ..DbOptions::default()
        },
    )
    .await
    .with_context(|| format!("cannot open the database at {}", redact(&settings.database_url)))?;
    db.migrate()
        .await
        .context("refusing to start: the database schema could not be migrated")?;
    if settings.demo && demo::seed_if_empty(&db).await.context("cannot seed the demo data")? {
        tracing::info!("seeded the demo stores and accounts into the empty database");
    }

    let listener = tokio::net::TcpListener::bind(settings.addr())
        .await
        .with_context(|| format!("cannot listen on {}", settings.addr()))?;
    let addr = listener.local_addr()?;
    let leptos_options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(settings.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    let per_minute = std::num::NonZeroU32::new(settings.login_attempts_per_minute).unwrap_or(std::num::NonZeroU32::MIN);
    let login_limiter = Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)));
    let (shutdown, mut shutdown_rx) = watch::channel(false);
    let sandbox = Arc::new(
        ordering::payment::SandboxGateway::open(
            &ordering::payment::sandbox_database_url(&settings.database_url),
            ordering::payment::SandboxConfig {
                latency_ms: settings.payment_latency_ms,
                failure_rate: settings.payment_failure_rate,
                ..ordering::payment::SandboxConfig::default()
            },
        )
        .await
        .context("cannot open the sandbox payment gateway's ledger")?,
    );
    let payments = Arc::new(ordering::payment::guard::GuardedGateway::new(
        sandbox.clone(),
        ordering::payment::guard::GuardConfig {
            timeout_ms: settings.payment_timeout_ms,
            failures: settings.payment_breaker_failures,
            open_ms: settings.payment_breaker_open_ms,
        },
    ));
    let projected = Arc::new(tokio::sync::Notify::new());
    let (wake, controls, consumer_tasks, mut consumers) = start_consumers(
        &db,
        &settings.instance_id,
        payments.clone(),
        projected.clone(),
        &shutdown_rx,
    );
    let (hub, hub_task) = live::Hub::start(
        db.clone(),
        projected,
        shutdown_rx.clone(),
        std::time::Duration::from_millis(settings.ws_idle_timeout_ms),
    );
    consumers.push(hub_task);
    consumers.push(tokio::spawn(reconcile_payments(
        db.clone(),
        payments.clone(),
        settings.payment_timeout_ms,
        settings.reconcile_interval_ms,
        shutdown_rx.clone(),
    )));
    let state = AppState {
        leptos_options,
        db: db.clone(),
        login_limiter,
        payments,
        sandbox: Some(sandbox),
        consumers: wake,
        consumer_controls: controls,
    };

    // Sessions live in the database: a restart or another replica keeps everyone logged in.
    let session_store = sessions::DbSessionStore::open(&settings.database_url)
        .await
        .context("cannot open the session store")?;
    let expired_sessions = tokio::spawn(
        tower_sessions::session_store::ExpiredDeletion::continuously_delete_expired(
            session_store.clone(),
            std::time::Duration::from_secs(600),
        ),
    );
    let session_layer = tower_sessions::SessionManagerLayer::new(session_store)
        .with_name("baedal_session")
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(settings.cookie_secure)
        .with_expiry(tower_sessions::Expiry::OnInactivity(time::Duration::days(14)));
    let auth_layer =
        axum_login::AuthManagerLayerBuilder::new(accounts::auth::Backend::new(db.clone()), session_layer).build();
    metrics::install();
    let router = router(state)
        .layer(axum::Extension(hub.clone()))
        .layer(axum::Extension(consumer_tasks))
        .layer(auth_layer);
    let router = shed_checkout(router, settings.checkout_concurrency);

    let task = tokio::spawn(async move {
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(tune_connection);
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = shutdown_rx.wait_for(|stop| *stop).await;
            })
            .await;
        expired_sessions.abort();
        served
    });
    Ok(RunningServer {
        addr,
        db,
        shutdown,
        task,
        consumers,
    })
}

/// Starts this replica's event consumers (DESIGN.md §2, "Event log and
/// consumers"): the projections behind every order screen and payment
/// settlement. Each holds a lease, so with several replicas each runs on one.
///
/// `projected` is notified whenever the projections commit a batch (the live
/// hub forwards events once the pages can show them).
fn start_consumers(
    db: &Db,
    instance: &str,
    payments: Arc<dyn ordering::payment::PaymentGateway>,
    projected: Arc<tokio::sync::Notify>,
    shutdown: &watch::Receiver<bool>,
) -> (
    app::state::Wake,
    Vec<Arc<eventlog::ConsumerControl>>,
    metrics::ConsumerTasks,
    Vec<JoinHandle<()>>,
) {
    // Each consumer, and whom to tell when it commits a batch.
    type Told = Option<Arc<tokio::sync::Notify>>;
    let consumers: Vec<(Arc<dyn eventlog::Consumer>, Told)> = vec![
        (Arc::new(ordering::views::OrderProjections), Some(projected)),
        (Arc::new(ordering::settlement::PaymentSettlement::new(payments)), None),
    ];
    let mut wakes = Vec::new();
    let mut controls = Vec::new();
    let mut flags = Vec::new();
    let mut tasks = Vec::new();
    for (consumer, committed) in consumers {
        let wake = Arc::new(tokio::sync::Notify::new());
        let mut config = eventlog::RunnerConfig::new(instance);
        config.poll_interval_ms = 200;
        let mut runner = eventlog::ConsumerRunner::new(db.clone(), consumer, config, wake.clone());
        if let Some(committed) = committed {
            runner = runner.notify_after_commit(committed);
        }
        controls.push(runner.control());
        wakes.push(wake);
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        flags.push((runner.name(), alive.clone()));
        let shutdown = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            // Marks the consumer down however its task ends (a panic included).
            struct Down(Arc<std::sync::atomic::AtomicBool>);
            impl Drop for Down {
                fn drop(&mut self) {
                    self.0.store(false, std::sync::atomic::Ordering::Relaxed);
                }
            }
            let _down = Down(alive);
            runner.run(shutdown).await;
        }));
    }
    (
        app::state::Wake(wakes),
        controls,
        metrics::ConsumerTasks(Arc::new(flags)),
        tasks,
    )
}

/// The kernel send buffer of each connection, in bytes (Linux doubles it).
/// Left to autotuning, a client that stops reading lets the kernel queue up
/// to 4 MiB for it; bounded, its WebSocket send blocks after a few thousand
/// events and the connection is cut off (issue 5, `live`). 256 KiB still
/// moves ~5 MB/s at 50 ms round trip, plenty for the pages and the WASM.
pub const SEND_BUFFER_BYTES: usize = 128 * 1024;

/// Per accepted connection: no Nagle delay (live events are small and should
/// leave at once) and a bounded send buffer ([`SEND_BUFFER_BYTES`]).
fn tune_connection(tcp: &mut tokio::net::TcpStream) {
    let socket = socket2::SockRef::from(&*tcp);
    if let Err(e) = tcp
        .set_nodelay(true)
        .and(socket.set_send_buffer_size(SEND_BUFFER_BYTES))
    {
        tracing::debug!(error = %e, "cannot tune a connection");
    }
}

/// Runs the payment reconciler (`ordering::reconcile`) at start — a crash
/// may have just left payments behind — and then every `interval_ms`, over
/// payments older than twice the gateway timeout plus a second, so no
/// checkout is still waiting on them.
async fn reconcile_payments(
    db: Db,
    payments: Arc<ordering::payment::guard::GuardedGateway>,
    timeout_ms: u64,
    interval_ms: u64,
    mut shutdown: watch::Receiver<bool>,
) {
    let settle_after_ms = i64::try_from(timeout_ms.saturating_mul(2).saturating_add(1_000)).unwrap_or(i64::MAX);
    let mut every = tokio::time::interval(std::time::Duration::from_millis(interval_ms.max(100)));
    loop {
        tokio::select! {
            _ = every.tick() => {}
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    return;
                }
                continue;
            }
        }
        match ordering::reconcile::reconcile(&db, payments.as_ref(), settle_after_ms).await {
            Ok(done) => {
                for (outcome, n) in [
                    ("completed", done.completed),
                    ("failed", done.failed),
                    ("voided", done.voided),
                    ("deferred", done.deferred),
                ] {
                    if n > 0 {
                        ::metrics::counter!("payments_reconciled_total", "outcome" => outcome).increment(u64::from(n));
                    }
                }
                if done != ordering::reconcile::Reconciled::default() {
                    tracing::info!(?done, "payment reconciler round");
                }
            }
            Err(e) => tracing::warn!(error = %e, "payment reconciler round failed; next round retries"),
        }
    }
}

/// Load shedding at checkout (issue 6, N3): at most `limit` checkouts run at
/// once on this replica; one more is answered at once with 503, `Retry-After`
/// and the "busy" error the checkout page shows before it retries by itself
/// (with the same idempotency key, so a retry never orders twice). Only
/// `/api/place_order` is limited: pages and the other roles' actions pass by.
/// The limit is tower's `ConcurrencyLimit` behind `LoadShed`.
fn shed_checkout(app: Router, limit: usize) -> Router {
    let limited = tower::ServiceBuilder::new()
        .layer(axum::error_handling::HandleErrorLayer::new(
            |_: tower::BoxError| async {
                ::metrics::counter!("checkout_shed_total").increment(1);
                let error = app::error::AppError::Busy(CHECKOUT_BUSY.into());
                (
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    [
                        (
                            axum::http::header::RETRY_AFTER,
                            app::error::BUSY_RETRY_AFTER_SECS.to_string(),
                        ),
                        (axum::http::header::CONTENT_TYPE, "application/json".to_string()),
                    ],
                    serde_json::to_string(&error).unwrap_or_default(),
                )
            },
        ))
        .load_shed()
        .concurrency_limit(limit.max(1))
        .service(app.clone());
    Router::new()
        .route_service("/api/place_order", limited)
        .fallback_service(app)
}

/// What a customer sees when checkout sheds load.
pub const CHECKOUT_BUSY: &str = "Lots of orders right now. We will try again for you in a moment; nothing was charged.";

/// The longest a response may take to start. Page renders are awaited whole
/// (`SsrMode::Async`); under load, Leptos 0.8 rarely stalls one for good
/// (leptos#4851, a lost wake-up in `<Suspense>`; 0.8.23 fixed the main cause,
/// we still see about one in a few thousand under heavy parallel tests). The
/// user then gets "try again" instead of an endless spinner.
pub const RESPONSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// The HTTP routes: probes, the Leptos pages and server functions, static files.
fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    Router::new()
        // Liveness: answers while the process lives (N7).
        .route("/healthz", get(|| async { "ok" }))
        // Readiness: database, migrations, consumers (N7).
        .route("/readyz", get(metrics::ready))
        // Prometheus metrics (N5).
        .route("/metrics", get(metrics::render))
        // Live order events for the logged-in user (issue 5).
        .route("/ws", get(live::websocket))
        .leptos_routes(&state, routes, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::map_response(server_fn_error_status))
        // No response waits for ever: a stalled render (see RESPONSE_TIMEOUT) ends in a 503.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            RESPONSE_TIMEOUT,
        ))
        .route_layer(axum::middleware::from_fn(metrics::track))
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

/// Gives a failed server-function call the status of its [`AppError`].
///
/// server_fn answers every error with 500, including arguments that do not
/// decode, which never reach the function (whose own errors set their status
/// through `ResponseOptions`). Only 500 responses are inspected, so the
/// buffering costs nothing on the happy path.
async fn server_fn_error_status(response: axum::response::Response) -> axum::response::Response {
    use axum::body::Body;
    use axum::http::StatusCode;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return axum::response::Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        parts.status = error.status();
    }
    axum::response::Response::from_parts(parts, Body::from(bytes))
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(super::redact("postgres://app@db/x"), "postgres://app@db/x");
        assert_eq!(super::redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
