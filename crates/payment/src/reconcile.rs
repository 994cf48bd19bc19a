//! Releases holds the gateway granted after we had given up on it (issue 6,
//! N2; the payment half of the reconciler — the ordering context settles
//! the orders a crash left payment-pending, `ordering::reconcile`).
//!
//! When the gateway does not answer in time, checkout records the payment
//! declined and `abandoned` and tells the customer to try again. The gateway
//! may still grant that authorization later; every round, for abandoned
//! payments older than `settle_after_ms` (longer than the gateway timeout),
//! it asks the gateway by the payment's idempotency key and voids any hold
//! it finds, so no customer keeps money held for an order that failed.

use crate::{ledger::idempotency_key, PaymentError, PaymentGateway};
use db::Db;
use domain::OrderId;

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// Late holds voided.
    pub voided: u32,
    /// Payments the gateway could not be asked about; tried next round.
    pub deferred: u32,
}

/// One round over the abandoned payments last changed at least
/// `settle_after_ms` milliseconds ago (0: every one).
///
/// Errors: the database failed; a gateway that does not answer only defers.
pub async fn release_abandoned(
    db: &Db,
    gateway: &dyn PaymentGateway,
    settle_after_ms: i64,
) -> Result<Released, sqlx::Error> {
    let before = db::now_ms() - settle_after_ms;
    let mut done = Released::default();
    let abandoned: Vec<(i64,)> = sqlx::query_as(
        "SELECT order_id FROM payments WHERE status = 'declined' AND abandoned = 1 \
           AND reconciled_at IS NULL AND updated_at <= $1 ORDER BY order_id",
    )
    .bind(before)
    .fetch_all(db.pool())
    .await?;
    for (id,) in abandoned {
        let order = OrderId(id);
        match gateway.lookup(&idempotency_key(order)).await {
            Ok(Some(Ok(authorization))) => match gateway.void(&authorization).await {
                Ok(()) => {
                    tracing::info!(order_id = id, "reconciler: voided a late authorization");
                    sqlx::query(
                        "UPDATE payments SET status = 'voided', reconciled_at = $2, updated_at = $2 WHERE order_id = $1",
                    )
                    .bind(id)
                    .bind(db::now_ms())
                    .execute(db.writer())
                    .await?;
                    done.voided += 1;
                }
                Err(_) => done.deferred += 1,
            },
            Ok(Some(Err(PaymentError::Unavailable(_)))) | Err(_) => done.deferred += 1,
            Ok(Some(Err(PaymentError::Declined(_)))) | Ok(None) => mark_reconciled(db, order).await?,
        }
    }
    Ok(done)
}

/// Records that the reconciler has settled this payment's fate.
pub async fn mark_reconciled(db: &Db, order: OrderId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE payments SET reconciled_at = $2 WHERE order_id = $1")
        .bind(order.get())
        .bind(db::now_ms())
        .execute(db.writer())
        .await?;
    Ok(())
}
