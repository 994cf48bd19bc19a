//! The payment reconciler (issue 6, N2): settles what a crash or a timeout
//! left between our database and the gateway.
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
//! - pending, never seen: fail it and free its checkout key (retry is safe);
//! - failed for want of a gateway, yet authorized late: void the hold.
//!
//! So no order is placed unpaid and no hold outlives its failed order. Every
//! step is conditional on the state it found, so two replicas reconciling at
//! once, or a reconciler racing a slow checkout, settle each payment once.

use crate::checkout::{confirm, fail, payment_key, CartItem, PAYMENT_BUSY};
use crate::payment::{PaymentError, PaymentGateway};
use crate::OrderingError;
use db::Db;
use domain::shop::PlacedOrder;
use domain::{OrderId, UserId};

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    /// Pending orders completed with their authorization.
    pub completed: u32,
    /// Pending orders failed (declined, never authorized, or sold out since).
    pub failed: u32,
    /// Holds voided (a failed order's late authorization, or a sell-out).
    pub voided: u32,
    /// Payments the gateway could not be asked about; tried next round.
    pub deferred: u32,
}

/// One round over the payments older than `settle_after_ms` milliseconds.
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

    let pending: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT id, customer_id, placed FROM orders WHERE status = 'payment_pending' AND updated_at < $1 ORDER BY id",
    )
    .bind(before)
    .fetch_all(db.pool())
    .await?;
    for (id, customer, placed) in pending {
        let order = OrderId(id);
        match gateway.lookup(&payment_key(order)).await {
            Ok(Some(Ok(authorization))) => {
                let placed: PlacedOrder = serde_json::from_str(&placed)?;
                match confirm(
                    db,
                    UserId(customer),
                    order,
                    &placed,
                    &CartItem::of(&placed),
                    &authorization,
                )
                .await
                {
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
                        fail(db, order, &format!("{problem} Your card was not charged."), false).await?;
                        done.failed += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(Some(Err(PaymentError::Declined(reason)))) => {
                fail(db, order, &reason, false).await?;
                done.failed += 1;
            }
            Ok(Some(Err(PaymentError::Unavailable(_)))) | Err(_) => done.deferred += 1,
            Ok(None) => {
                tracing::info!(
                    order_id = id,
                    "reconciler: the gateway never saw this payment; failing it"
                );
                fail(db, order, PAYMENT_BUSY, true).await?;
                mark_reconciled(db, order).await?;
                done.failed += 1;
            }
        }
    }

    // Failed for want of a gateway (their checkout key was freed): a late
    // authorization must not stay held.
    let given_up: Vec<(i64,)> = sqlx::query_as(
        "SELECT o.id FROM orders o JOIN payments p ON p.order_id = o.id \
         WHERE o.status = 'payment_failed' AND p.reconciled_at IS NULL AND p.status = 'declined' \
           AND o.failure = $1 AND o.updated_at < $2 ORDER BY o.id",
    )
    .bind(PAYMENT_BUSY)
    .bind(before)
    .fetch_all(db.pool())
    .await?;
    for (id,) in given_up {
        let order = OrderId(id);
        match gateway.lookup(&payment_key(order)).await {
            Ok(Some(Ok(authorization))) => match gateway.void(&authorization).await {
                Ok(()) => {
                    tracing::info!(order_id = id, "reconciler: voided a late authorization");
                    sqlx::query("UPDATE payments SET status = 'voided', updated_at = $2 WHERE order_id = $1")
                        .bind(id)
                        .bind(db::now_ms())
                        .execute(db.pool())
                        .await?;
                    mark_reconciled(db, order).await?;
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

async fn mark_reconciled(db: &Db, order: OrderId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE payments SET reconciled_at = $2 WHERE order_id = $1")
        .bind(order.get())
        .bind(db::now_ms())
        .execute(db.pool())
        .await?;
    Ok(())
}
