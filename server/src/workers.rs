//! The background work of a replica (DESIGN.md §2, "Event log and
//! consumers"): every context's event consumers, each under a lease so that
//! with several replicas each runs on one, and the payment reconciler.

use crate::metrics;
use db::Db;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Starts this replica's event consumers, one per context that hears the
/// log: the order views and the notifications (the read models behind every
/// screen), payment settlement, the canteen's payroll deductions, the
/// delivery jobs, and the order following its delivery job. Each holds a lease, so with several replicas each runs
/// on one.
///
/// `projected` is notified whenever a read model commits a batch (the live
/// hub forwards events once the pages can show them). On SQLite the read
/// models and the consequences (`app::server::{READ_MODELS, CONSEQUENCES}`)
/// are also applied inside each transaction that appends events, while
/// they are caught up (`eventlog::Inline`, issue 13).
pub fn start_consumers(
    db: &Db,
    tail: &Arc<eventlog::Tail>,
    instance: &str,
    lease_ms: u64,
    payments: Arc<dyn payment::PaymentGateway>,
    projected: Arc<tokio::sync::Notify>,
    shutdown: &watch::Receiver<bool>,
) -> (
    Vec<Arc<eventlog::ConsumerControl>>,
    metrics::ConsumerTasks,
    Vec<JoinHandle<()>>,
) {
    // Each consumer, and whom to tell when it commits a batch.
    type Told = Option<Arc<tokio::sync::Notify>>;
    let consumers: Vec<(Arc<dyn eventlog::Consumer>, Told)> = vec![
        (Arc::new(views::OrderProjection), Some(projected.clone())),
        (Arc::new(notification::Notifications::default()), Some(projected)),
        (Arc::new(payment::settlement::PaymentSettlement::new(payments)), None),
        (Arc::new(payment::payroll::PayrollDeductions), None),
        (Arc::new(delivery::DeliveryJobs::new(db.clone())), None),
        (Arc::new(ordering::follow::OrderFollowsDelivery::new(db.clone())), None),
    ];
    let mut controls = Vec::new();
    let mut flags = Vec::new();
    let mut tasks = Vec::new();
    let mut inline = Vec::new();
    for (consumer, committed) in consumers {
        let mut config = eventlog::RunnerConfig::new(instance);
        // Every commit that appends events wakes the runners (`Db::log_head`),
        // consequences recorded by another consumer included, and on
        // PostgreSQL so does every other replica's (`Db::listen`). The poll
        // only covers a lost notice (and takes an expired lease over).
        config.poll_interval_ms = match db.backend() {
            db::Backend::Sqlite => 200,
            db::Backend::Postgres => 1_000,
        };
        config.lease_ms = i64::try_from(lease_ms).unwrap_or(i64::MAX);
        // A database that was away is back within seconds: retry soon.
        config.min_backoff_ms = 200;
        config.max_backoff_ms = 2_000;
        let mut runner =
            eventlog::ConsumerRunner::new(db.clone(), consumer, config, Arc::default()).with_tail(tail.clone());
        if let Some(committed) = committed {
            runner = runner.notify_after_commit(committed);
        }
        controls.push(runner.control());
        let waited_for =
            app::server::READ_MODELS.contains(&runner.name()) || app::server::CONSEQUENCES.contains(&runner.name());
        if waited_for && db.backend() == db::Backend::Sqlite {
            inline.push(runner.inline_member());
        }
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
    // On SQLite, what a command waits for is applied in its own
    // transaction while those consumers are caught up (issue 13,
    // `eventlog::Inline`): one turn of the one writer per step. PostgreSQL,
    // whose writers run side by side, keeps the runners alone (applied
    // inline there, the commands held the event counter's row longer and
    // made fewer lifecycles, BENCHMARKS.md); either way the events a
    // transaction appends reach the tail as it commits.
    let hook = eventlog::Inline::new(instance, inline, tail.clone());
    if !db.set_before_commit(Arc::new(hook)) {
        tracing::warn!("the inline consumers were already set for this database; keeping the first");
    }
    (controls, metrics::ConsumerTasks(Arc::new(flags)), tasks)
}

/// The lease the payment reconciler runs under.
pub const RECONCILER_LEASE: &str = "payment_reconciler";

/// Runs the reconcilers at start — a crash may have just left payments
/// behind — and then every `interval_ms`, over payments older than twice the
/// gateway timeout plus a second, so no checkout is still waiting on them:
/// the orders left payment-pending (`ordering::reconcile`) and the holds the
/// gateway granted after checkout gave up (`payment::reconcile`).
///
/// Only the replica holding the [`RECONCILER_LEASE`] (`lease`) runs a
/// round, so with several replicas one reconciles at a time (issue 14);
/// the others take over once its lease expires. Gives the lease up on the
/// way out.
pub async fn reconcile_payments(
    lease: db::Lease,
    db: Db,
    payments: Arc<payment::guard::GuardedGateway>,
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
                    if let Err(e) = lease.release().await {
                        tracing::warn!(error = %e, "cannot give the reconciler's lease up; it expires by itself");
                    }
                    return;
                }
                continue;
            }
        }
        match lease.hold().await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot take the reconciler's lease; next round retries");
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
        match payment::reconcile::release_abandoned(&db, payments.as_ref(), settle_after_ms).await {
            Ok(released) => {
                if released.voided > 0 {
                    ::metrics::counter!("payments_reconciled_total", "outcome" => "voided")
                        .increment(u64::from(released.voided));
                    tracing::info!(?released, "released late holds");
                }
            }
            Err(e) => tracing::warn!(error = %e, "releasing late holds failed; next round retries"),
        }
    }
}
