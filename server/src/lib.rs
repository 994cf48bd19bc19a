//! The server: configuration, startup, the router around the Leptos app,
//! the live hub and the background workers.
//!
//! [`start`] is what `main` runs and what the integration tests spawn (on port
//! 0 with a fresh database), so both exercise the same startup path.
//!
//! - [`config`]: settings from the environment.
//! - [`router`]: the routes and the layers around them; [`edge`] and
//!   [`cross_site`]: what every request meets first.
//! - [`workers`]: the event consumers of every context and the reconciler.
//! - [`live`]: the WebSocket hub; [`sessions`]: the session store.
//! - [`metrics`]: `/metrics` and `/readyz`; [`demo`]: the demo data.
//! - [`availability`]: quick 503s while the database is away.

pub mod availability;
pub mod config;
pub mod cross_site;
pub mod demo;
pub mod edge;
pub mod live;
pub mod metrics;
pub mod page_cache;
pub mod router;
pub mod sessions;
pub mod workers;

use anyhow::Context;
use app::state::AppState;
use config::{Settings, OUTPUT_NAME};
use db::{Db, DbOptions};
use leptos::config::LeptosOptions;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A started server.
pub struct RunningServer {
    /// Where it listens (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// The database it uses.
    pub db: Db,
    shutdown: watch::Sender<bool>,
    draining: metrics::Draining,
    task: JoinHandle<std::io::Result<()>>,
    consumers: Vec<JoinHandle<()>>,
    /// Tasks that run until aborted (the notice listener, the database probe).
    background: Vec<JoinHandle<()>>,
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
        for task in self.background {
            task.abort();
        }
        served.context("server failed")
    }

    /// A handle that asks the server to shut down gracefully.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// A handle that turns readiness to 503 (`/readyz` says "draining"),
    /// so a balancer stops sending new requests before the shutdown.
    pub fn draining_handle(&self) -> metrics::Draining {
        self.draining.clone()
    }
}

/// Resolves on Ctrl-C or SIGTERM (what an orchestrator sends before a redeploy).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
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
    if settings.demo
        && demo::seed_roster_if_empty(&db)
            .await
            .context("cannot seed the demo roster")?
    {
        tracing::info!("put the demo customers on the demo canteen's roster");
    }

    let listener = tokio::net::TcpListener::bind(settings.addr())
        .await
        .with_context(|| format!("cannot listen on {}", settings.addr()))?;
    let addr = listener.local_addr()?;
    let leptos_options = LeptosOptions::builder()
        .output_name(OUTPUT_NAME)
        .site_root(settings.site_root.as_str())
        .site_pkg_dir("pkg")
        .hash_files(config::bundle_is_hashed())
        .site_addr(addr)
        .build();
    if config::bundle_built_without_split(&std::path::Path::new(&settings.site_root).join("pkg")) {
        tracing::error!(
            site_root = %settings.site_root,
            "the browser bundle was built without --split: pages will not hydrate; \
             rebuild it with `cargo leptos build --split`"
        );
    }
    let per_client = |per_minute: u32| {
        let per_minute = std::num::NonZeroU32::new(per_minute).unwrap_or(std::num::NonZeroU32::MIN);
        Arc::new(governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)))
    };
    let login_limiter = per_client(settings.login_attempts_per_minute);
    let checkout_limiter = per_client(settings.checkouts_per_minute);
    let (shutdown, mut shutdown_rx) = watch::channel(false);
    let sandbox = Arc::new(
        payment::SandboxGateway::open(
            &payment::sandbox_database_url(&settings.database_url),
            payment::SandboxConfig {
                latency_ms: settings.payment_latency_ms,
                failure_rate: settings.payment_failure_rate,
                ..payment::SandboxConfig::default()
            },
        )
        .await
        .context("cannot open the sandbox payment gateway's ledger")?,
    );
    let payments = Arc::new(payment::guard::GuardedGateway::new(
        sandbox.clone(),
        payment::guard::GuardConfig {
            timeout_ms: settings.payment_timeout_ms,
            failures: settings.payment_breaker_failures,
            open_ms: settings.payment_breaker_open_ms,
        },
    ));
    let projected = Arc::new(tokio::sync::Notify::new());
    // The newest events, read once for every consumer and the live hub.
    let tail = eventlog::Tail::new(db.clone(), eventlog::TAIL_CAPACITY);
    // Other replicas' commits wake this one's consumers, hub and waits (PostgreSQL).
    let mut background: Vec<JoinHandle<()>> = db.listen(1_000).into_iter().collect();
    let (controls, consumer_tasks, mut consumers) = workers::start_consumers(
        &db,
        &tail,
        &settings.instance_id,
        settings.lease_ms,
        payments.clone(),
        projected.clone(),
        &shutdown_rx,
    );
    let lease_ms = i64::try_from(settings.lease_ms).unwrap_or(i64::MAX);
    consumers.push(tokio::spawn(workers::reconcile_payments(
        db::Lease::new(
            db.clone(),
            workers::RECONCILER_LEASE,
            settings.instance_id.clone(),
            lease_ms.max(i64::try_from(settings.reconcile_interval_ms.saturating_mul(3)).unwrap_or(i64::MAX)),
        ),
        db.clone(),
        payments.clone(),
        settings.payment_timeout_ms,
        settings.reconcile_interval_ms,
        shutdown_rx.clone(),
    )));
    let state = AppState::new(app::state::Shared {
        leptos_options,
        db: db.clone(),
        login_limiter,
        checkout_limiter,
        payments,
        sandbox: Some(sandbox),
        consumer_controls: controls.clone(),
        log_tail: tail.clone(),
        menus: catalog::MenuCache::new(),
        reviews: catalog::StoreCache::new(),
    });

    // Sessions live in the database: a restart or another replica keeps everyone logged in.
    let session_store = sessions::DbSessionStore::open(&settings.database_url, &db)
        .await
        .context("cannot open the session store")?;
    let (hub, hub_task) = live::Hub::start(
        db.clone(),
        session_store.clone(),
        projected,
        controls.clone(),
        tail,
        shutdown_rx.clone(),
        std::time::Duration::from_millis(settings.ws_idle_timeout_ms),
    );
    consumers.push(hub_task);
    let expired_sessions = tokio::spawn(
        tower_sessions::session_store::ExpiredDeletion::continuously_delete_expired(
            session_store.clone(),
            std::time::Duration::from_secs(600),
        ),
    );
    let session_layer = tower_sessions::SessionManagerLayer::new(session_store)
        .with_name(sessions::SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(settings.cookie_secure)
        .with_expiry(tower_sessions::Expiry::OnInactivity(time::Duration::milliseconds(
            i64::try_from(settings.session_idle_timeout_ms).unwrap_or(i64::MAX),
        )));
    let auth_layer =
        axum_login::AuthManagerLayerBuilder::new(accounts::auth::Backend::new(db.clone()), session_layer).build();
    metrics::install();
    let (health, probe) = availability::DbHealth::watch(db.clone(), shutdown_rx.clone());
    background.push(probe);
    let draining = metrics::Draining::default();
    let router = router::router(state)
        // Behind an `Arc`: axum clones an extension into every request.
        .layer(axum::Extension(std::sync::Arc::new(hub.clone())))
        .layer(axum::Extension(draining.clone()))
        .layer(axum::Extension(consumer_tasks))
        .layer(axum::Extension(metrics::MetricsToken(
            settings.metrics_token.as_deref().map(std::sync::Arc::from),
        )))
        .layer(axum::middleware::from_fn_with_state(
            settings.session_idle_timeout_ms,
            sessions::keep_alive,
        ))
        .layer(auth_layer)
        // Outside the session and login layers: they load and save the
        // session in the database and answer its failure with an empty 500.
        .layer(axum::middleware::from_fn_with_state(
            health,
            availability::refuse_while_down,
        ));
    let router = router::shed_checkout(router, settings.checkout_concurrency);
    // Outside the load shedder: its 503 comes after the body was read too.
    let router = edge::security_headers(
        router
            .layer(axum::middleware::from_fn(edge::read_body))
            .layer(axum::middleware::from_fn(edge::trailing_slash)),
    )
    .layer(axum::middleware::from_fn_with_state(
        edge::TrustedProxies(settings.trusted_proxies.clone().into()),
        edge::client_address,
    ));

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
        draining,
        task,
        consumers,
        background,
    })
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
