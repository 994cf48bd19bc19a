//! The order reconciler (issue 6, N2): settles the orders a crash left
//! between our database and the gateway. (Holds the gateway granted after
//! checkout gave up on it are the payment context's: `payment::reconcile`.)
//!
//! Checkout stores the order payment-pending, then asks the gateway, then
//! confirms. A crash in between leaves the order pending, perhaps with an
//! authorization at the gateway; a timeout marks it failed although the
//! gateway may still authorize it late. Every round, for payments older than
//! `settle_after_ms` (longer than the gateway timeout, so no checkout is
//! still waiting on them), it asks the gateway by the payment's idempotency
//! key (`order-{id}`):
//!
//! - pending, authorized: complete the order (stock, cart, `OrderPlaced`) as
//!   checkout would have; if the stock is gone, void the hold and fail it;
//! - pending, declined: fail it with the decline;
//! - pending, never seen: fail it and free its checkout key (retry is safe).
//!
//! So no order is placed unpaid and no hold outlives its failed order. Every
//! step is conditional on the state it found, so two replicas reconciling at
//! once, or a reconciler racing a slow checkout, settle each payment once.

use crate::checkout::{confirm, fail};
use crate::OrderingError;
use db::Db;
use domain::problem::Problem;
use domain::shop::PlacedOrder;
use domain::OrderId;
use payment::ledger::idempotency_key;
use payment::{PaymentError, PaymentGateway};

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Pending orders completed with their authorization.
    pub completed: u32,
    /// Pending orders failed (declined, never authorized, or sold out since).
    pub failed: u32,
    /// Holds voided (stock sold out since the authorization).
    pub voided: u32,
    /// Payments the gateway could not be asked about; tried next round.
    pub deferred: u32,
}

/// One round over the payments last changed at least `settle_after_ms`
/// milliseconds ago (0: every one, the one changed this millisecond too).
///
/// Errors: [`OrderingError::Storage`] when the database fails; a gateway that
/// does not answer only defers the payments concerned.
pub async fn reconcile(
    db: &Db,
    gateway: &dyn PaymentGateway,
    settle_after_ms: i64,
) -> Result<Reconciled, OrderingError> {
    let before = db::now_ms() - settle_after_ms;
    let mut done = Reconciled::default();

    let pending: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, placed FROM orders WHERE status = 'payment_pending' AND updated_at <= $1 ORDER BY id",
    )
    .bind(before)
    .fetch_all(db.pool())
    .await?;
    for (id, placed) in pending {
        let order = OrderId(id);
        match gateway.lookup(&idempotency_key(order)).await {
            Ok(Some(Ok(authorization))) => {
                let placed: PlacedOrder = serde_json::from_str(&placed)?;
                match confirm(db, order, &placed, &authorization).await {
                    Ok(seq) => {
                        tracing::info!(
                            order_id = id,
                            seq,
                            "reconciler: completed a paid order a crash left pending"
                        );
                        done.completed += 1;
                    }
                    Err(OrderingError::Rejected(problem)) => {
                        // Sold out since (or settled meanwhile: then fail is a no-op).
                        if gateway.void(&authorization).await.is_ok() {
                            done.voided += 1;
                        }
                        fail(db, order, &problem, false).await?;
                        done.failed += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(Some(Err(PaymentError::Declined(reason)))) => {
                fail(db, order, &Problem::Declined { reason }, false).await?;
                done.failed += 1;
            }
            Ok(Some(Err(PaymentError::Unavailable(_)))) | Err(_) => done.deferred += 1,
            Ok(None) => {
                tracing::info!(
                    order_id = id,
                    "reconciler: the gateway never saw this payment; failing it"
                );
                fail(db, order, &Problem::PaymentBusy, true).await?;
                payment::reconcile::mark_reconciled(db, order).await?;
                done.failed += 1;
            }
        }
    }

    Ok(done)
}
