//! Our record of each order's payment: the `payments` table, which only this
//! context writes. Checkout opens the record and settles the authorization
//! through these functions inside its own transactions (so an order and its
//! payment change together); settlement captures and voids from the log.
//!
//! A payment is `authorizing` while the gateway is asked, then `authorized`
//! (held) or `declined`; an authorized one ends `captured` (the work was
//! done, F13) or `voided` (rejected or cancelled, F7). `abandoned` marks a
//! payment we gave up on because the gateway did not answer: the gateway may
//! still grant it later, and [`crate::reconcile`] then releases the hold.

use db::{Db, Tx};
use domain::{Money, OrderId, PaymentEvent};
use eventlog::StorageError;

/// The gateway's idempotency key of an order's payment: `order-{id}`. A
/// repeated call with it never charges twice.
pub fn idempotency_key(order: OrderId) -> String {
    format!("order-{}", order.get())
}

/// Opens the payment of `order` for `amount`, `authorizing`, inside `tx`.
pub async fn open(tx: &mut Tx, order: OrderId, amount: Money, card_last4: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payments (order_id, amount_won, status, card_last4, updated_at) VALUES ($1, $2, 'authorizing', $3, $4)",
    )
    .bind(order.get())
    .bind(amount.won())
    .bind(card_last4)
    .bind(db::now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The gateway holds `amount` (won) under `authorization_id`: marks the
/// payment `authorized` and appends `PaymentAuthorized`, inside `tx`, after
/// the order's `OrderPlaced` (issue 11: the customer is told the payment
/// went through). Returns the event's sequence number.
pub async fn authorized(
    tx: &mut Tx,
    order: OrderId,
    authorization_id: &str,
    amount: Money,
) -> Result<i64, StorageError> {
    sqlx::query(
        "UPDATE payments SET status = 'authorized', authorization_id = $2, updated_at = $3 WHERE order_id = $1",
    )
    .bind(order.get())
    .bind(authorization_id)
    .bind(db::now_ms())
    .execute(&mut **tx)
    .await?;
    let event = PaymentEvent::PaymentAuthorized {
        order_id: order,
        amount,
    };
    Ok(eventlog::append_event(tx, event).await?)
}

/// The payment did not go through. `abandoned`: because we stopped waiting
/// for the gateway, which may still grant it ([`crate::reconcile`]).
pub async fn declined(tx: &mut Tx, order: OrderId, abandoned: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE payments SET status = 'declined', abandoned = $2, updated_at = $3 WHERE order_id = $1")
        .bind(order.get())
        .bind(i64::from(abandoned))
        .bind(db::now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A payment's state: `authorizing`, `authorized`, `declined`, `captured`
/// or `voided`; `None` when the order has no payment.
pub async fn state(db: &Db, order: OrderId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT status FROM payments WHERE order_id = $1")
        .bind(order.get())
        .fetch_optional(db.pool())
        .await
}
