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
use domain::{Money, OrderId, PaymentEvent, PaymentMethod};
use eventlog::StorageError;

/// Who pays, as the payment record keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer<'a> {
    /// A card, of which only the last four digits are kept.
    Card {
        /// The card's last four digits.
        last4: &'a str,
    },
    /// An employee's pay (seed 003), by their employee number.
    Payroll {
        /// The canteen.
        store: domain::StoreId,
        /// The employee's account.
        user: domain::UserId,
        /// The number on the staff card, checked against the roster.
        employee_number: &'a str,
    },
}

impl Payer<'_> {
    /// Its method.
    pub fn method(&self) -> PaymentMethod {
        match self {
            Payer::Card { .. } => PaymentMethod::Card,
            Payer::Payroll { .. } => PaymentMethod::Payroll,
        }
    }
}

/// The gateway's idempotency key of an order's payment: `order-{id}`. A
/// repeated call with it never charges twice.
pub fn idempotency_key(order: OrderId) -> String {
    format!("order-{}", order.get())
}

/// Opens the payment of `order` for `amount` by `payer`, `authorizing`,
/// inside `tx`.
pub async fn open(tx: &mut Tx, order: OrderId, amount: Money, payer: Payer<'_>) -> Result<(), sqlx::Error> {
    let last4 = match payer {
        Payer::Card { last4 } => last4,
        Payer::Payroll { .. } => "",
    };
    sqlx::query(
        "INSERT INTO payments (order_id, amount_won, status, card_last4, updated_at, method) \
         VALUES ($1, $2, 'authorizing', $3, $4, $5)",
    )
    .bind(order.get())
    .bind(amount.won())
    .bind(last4)
    .bind(db::now_ms())
    .bind(payer.method().as_str())
    .execute(&mut **tx)
    .await?;
    if let Payer::Payroll {
        store,
        user,
        employee_number,
    } = payer
    {
        sqlx::query(
            "INSERT INTO payroll_orders (order_id, store_id, user_id, employee_number) VALUES ($1, $2, $3, $4)",
        )
        .bind(order.get())
        .bind(store.get())
        .bind(user.get())
        .bind(employee_number)
        .execute(&mut **tx)
        .await?;
    }
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
    method: PaymentMethod,
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
        method,
    };
    Ok(eventlog::append_event(tx, event).await?)
}

/// The gateway raised the card's hold of `order` to `amount` (won; a
/// repair's final amount the customer approved, seed 001): records it and
/// appends `PaymentAuthorized` with the new amount, inside `tx`.
pub async fn increased(tx: &mut Tx, order: OrderId, amount: Money) -> Result<i64, StorageError> {
    sqlx::query("UPDATE payments SET amount_won = $2, updated_at = $3 WHERE order_id = $1 AND status = 'authorized'")
        .bind(order.get())
        .bind(amount.won())
        .bind(db::now_ms())
        .execute(&mut **tx)
        .await?;
    let event = PaymentEvent::PaymentAuthorized {
        order_id: order,
        amount,
        method: PaymentMethod::Card,
    };
    Ok(eventlog::append_event(tx, event).await?)
}

/// The gateway's authorization id of an order's payment while it is held
/// (`None` when there is none, or it is not held any more).
pub async fn held_authorization(db: &Db, order: OrderId) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<String>>(
        "SELECT authorization_id FROM payments WHERE order_id = $1 AND status = 'authorized' AND method = 'card'",
    )
    .bind(order.get())
    .fetch_optional(db.pool())
    .await?
    .flatten())
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
