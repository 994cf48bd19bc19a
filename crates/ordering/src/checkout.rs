//! Checkout, synchronous with payment (requirement F3; DESIGN.md §2).
//!
//! 1. Check the cart against the store and the stock: store open, fulfilment
//!    offered, items available in the quantities asked (F8). (The form was
//!    parsed at the boundary: `domain::shop::CheckoutRequest`.) Nothing is
//!    stored on failure.
//! 2. Store the order `payment_pending` under the checkout's idempotency key
//!    (unique per customer): a second submit finds the first order instead of
//!    paying again.
//! 3. Ask the gateway to authorize the total (the server's gateway runs each
//!    call under a timeout and a circuit breaker, `payment::guard`; while the
//!    breaker is open checkout refuses before step 2, writing nothing).
//! 4. One transaction: reserve stock (never below zero), mark the order placed,
//!    empty the cart, append `OrderPlaced`. A decline — or stock that ran out
//!    while paying, after voiding the hold — marks it `payment_failed` instead
//!    and appends `PaymentFailed`; the store never sees it.

use crate::{Caller, OrderingError};
use db::{Db, Tx};
use domain::problem::{Problem, Thing};
use domain::shop::{CheckoutRequest, OrderLine, Payment, PlacedOrder};
use domain::{
    Actor, Fulfilment, MenuItemId, Money, Order, OrderCommand, OrderId, OrderStatus, PaymentMethod, Quantity,
    StoreStatus, UserId,
};
use payment::{ledger, AuthorizeRequest, PaymentError, PaymentGateway};
use sqlx::Row;

/// Why a checkout gave up waiting for the gateway, as its order records it.
const GATEWAY_SILENT: Problem = Problem::PaymentBusy;

/// A placed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// The order.
    pub order: OrderId,
    /// The `OrderPlaced` event's sequence number (`None` when this was a
    /// repeated submit of an order placed earlier).
    pub seq: Option<i64>,
}

/// What an earlier submit with the same key came to.
async fn earlier(db: &Db, customer: UserId, key: &str) -> Result<Option<Placed>, OrderingError> {
    let row = sqlx::query("SELECT id, status, failure FROM orders WHERE customer_id = $1 AND idempotency_key = $2")
        .bind(customer.get())
        .bind(key)
        .fetch_optional(db.pool())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let order = OrderId(row.try_get("id")?);
    let status: OrderStatus = serde_json::from_value(serde_json::Value::String(row.try_get("status")?))?;
    match status {
        OrderStatus::PaymentPending => Err(OrderingError::Rejected(Problem::StillPaying)),
        OrderStatus::PaymentFailed => {
            let failure: Option<String> = row.try_get("failure")?;
            Err(OrderingError::PaymentDeclined(failure_of(failure.as_deref())))
        }
        _ => Ok(Some(Placed { order, seq: None })),
    }
}

/// Places the order for the customer's cart at `request.store`.
///
/// Errors: [`OrderingError::Rejected`]
/// (empty cart, store closed or paused, fulfilment not offered, below the
/// minimum order, an item sold out or short of stock, the checkout still being
/// paid), [`OrderingError::PaymentDeclined`], [`OrderingError::PaymentUnavailable`]
/// (gateway down or slower than the timeout), [`OrderingError::NotFound`].
#[tracing::instrument(name = "checkout", skip_all, fields(user_id = customer.id.get(), store_id = request.store.get(), order_id = tracing::field::Empty))]
pub async fn checkout(
    db: &Db,
    gateway: &dyn PaymentGateway,
    customer: &Caller,
    request: &CheckoutRequest,
) -> Result<Placed, OrderingError> {
    let valid = request;
    if let Some(placed) = earlier(db, customer.id, &valid.idempotency_key).await? {
        return Ok(placed);
    }
    let placed = price_cart(db, customer, valid).await?;
    match &valid.payment {
        // Seed 003: the canteen's roster decides, before anything is stored.
        Payment::Payroll { employee_number } => {
            payment::payroll::check(db, valid.store, customer.id, employee_number)
                .await
                .map_err(|e| match e {
                    payment::payroll::PayrollError::Storage(e) => OrderingError::Storage(e),
                    payment::payroll::PayrollError::UnknownNumber(number) => {
                        OrderingError::Rejected(Problem::UnknownEmployee { number })
                    }
                    payment::payroll::PayrollError::SomeoneElses(number) => {
                        OrderingError::Rejected(Problem::SomeoneElsesNumber { number })
                    }
                })?;
        }
        Payment::Card { .. } if !gateway.accepting() => {
            return Err(OrderingError::PaymentUnavailable);
        }
        Payment::Card { .. } => {}
    }

    // 2. Payment pending, under the idempotency key.
    let order = match store_pending(db, customer.id, valid, &placed).await {
        Ok(order) => order,
        Err(e) => {
            // Lost a race with the same checkout submitted twice at once?
            if let Some(placed) = earlier(db, customer.id, &valid.idempotency_key).await? {
                return Ok(placed);
            }
            return Err(e);
        }
    };
    // From here on every line of this checkout carries the order id (N5).
    tracing::Span::current().record("order_id", order.get());
    tracing::info!(total_won = placed.total.won(), "checkout: authorizing");

    // 3. Authorize: the card gateway holds the total; a payroll deduction
    // needs nobody's answer (nothing is deducted until collected).
    let card_digits = match &valid.payment {
        Payment::Card { digits } => digits.clone(),
        Payment::Payroll { employee_number } => {
            return finish(db, gateway, order, &placed, &format!("payroll:{employee_number}")).await;
        }
    };
    let request = AuthorizeRequest {
        idempotency_key: ledger::idempotency_key(order),
        card_digits,
        amount_won: placed.total.won(),
    };
    let authorization = match gateway.authorize(&request).await {
        Ok(id) => id,
        Err(PaymentError::Declined(reason)) => {
            let problem = Problem::Declined { reason };
            fail(db, order, &problem, false).await?;
            return Err(OrderingError::PaymentDeclined(problem));
        }
        Err(PaymentError::Unavailable(why)) => {
            tracing::warn!(order_id = order.get(), %why, "checkout: payment unavailable");
            // Not the customer's fault: free the checkout's key, so the page's
            // retry (same key) gets a fresh attempt instead of this failure.
            fail(db, order, &GATEWAY_SILENT, true).await?;
            return Err(OrderingError::PaymentUnavailable);
        }
    };

    finish(db, gateway, order, &placed, &authorization).await
}

/// Step 4: placed, stock reserved, cart emptied, OrderPlaced — or nothing
/// (a card's hold released when stock ran out meanwhile).
async fn finish(
    db: &Db,
    gateway: &dyn PaymentGateway,
    order: OrderId,
    placed: &PlacedOrder,
    authorization: &str,
) -> Result<Placed, OrderingError> {
    match confirm(db, order, placed, authorization).await {
        Ok(seq) => {
            tracing::info!(order_id = order.get(), seq, "checkout: order placed");
            Ok(Placed { order, seq: Some(seq) })
        }
        Err(OrderingError::Rejected(problem)) => {
            // Sold out while paying: release the hold, record the failure.
            if placed.payment_method == PaymentMethod::Card {
                if let Err(e) = gateway.void(authorization).await {
                    tracing::error!(order_id = order.get(), error = %e, "checkout: void after sell-out failed");
                }
            }
            fail(db, order, &problem, false).await?;
            Err(OrderingError::Rejected(problem))
        }
        Err(e) => Err(e),
    }
}

/// Step 1: the cart as an order, checked against the store and the stock
/// (both the catalog's).
async fn price_cart(db: &Db, customer: &Caller, valid: &CheckoutRequest) -> Result<PlacedOrder, OrderingError> {
    let store = valid.store;
    let no_store = || OrderingError::NotFound(Thing::Store);
    let summary = catalog::store(db, store).await?.ok_or_else(no_store)?;
    let owner = catalog::owner_of(db, store).await?.ok_or_else(no_store)?;
    let store_name = summary.name.clone();
    match summary.status {
        StoreStatus::Open => {}
        StoreStatus::Paused => return Err(OrderingError::Rejected(Problem::StorePaused { store: store_name })),
        StoreStatus::Closed => return Err(OrderingError::Rejected(Problem::StoreClosed { store: store_name })),
    }
    if !valid.payment.method().offered_by(summary.kind) {
        return Err(OrderingError::Rejected(Problem::NoPayroll { store: store_name }));
    }
    match valid.fulfilment {
        Fulfilment::Delivery(_) if !summary.offers_delivery => {
            return Err(OrderingError::Rejected(Problem::NoDelivery {
                store: store_name,
                kind: summary.kind,
            }))
        }
        Fulfilment::Pickup if !summary.offers_pickup => {
            return Err(OrderingError::Rejected(Problem::NoPickup {
                store: store_name,
                kind: summary.kind,
            }))
        }
        _ => {}
    }
    let wanted = crate::cart::lines(db, customer.id, store).await?;
    if wanted.is_empty() {
        return Err(OrderingError::Rejected(Problem::CartEmpty));
    }
    let ids: Vec<MenuItemId> = wanted.iter().map(|(id, _)| *id).collect();
    let items = catalog::menu_items_of(db, store, &ids).await?;
    let mut lines = Vec::with_capacity(wanted.len());
    for (id, quantity) in wanted {
        let item = items.get(&id).ok_or(OrderingError::Rejected(Problem::ItemGone))?;
        if let Some(problem) = item.problem_with(quantity) {
            return Err(OrderingError::Rejected(problem));
        }
        let quantity = Quantity::new(quantity)
            .map_err(|_| OrderingError::Rejected(Problem::QuantityRange { max: Quantity::MAX }))?;
        lines.push(OrderLine {
            item: id,
            name: item.name.clone(),
            unit_price: item.price,
            quantity: quantity.get(),
        });
    }
    let too_big = |_| OrderingError::Rejected(Problem::OrderTooLarge);
    let subtotal = Money::sum(lines.iter().map(OrderLine::line_total)).map_err(too_big)?;
    if matches!(valid.fulfilment, Fulfilment::Delivery(_)) && subtotal < summary.min_order {
        return Err(OrderingError::Rejected(Problem::BelowMinimum {
            store: store_name,
            min: summary.min_order,
            kind: summary.kind,
        }));
    }
    let fee = valid.fulfilment.fee();
    let total = subtotal.checked_add(fee).map_err(too_big)?;
    Ok(PlacedOrder {
        customer: customer.id,
        customer_name: customer.name.clone(),
        store,
        store_name,
        store_address: summary.address,
        owner,
        store_kind: summary.kind,
        fulfilment: valid.fulfilment,
        address: valid.address.clone(),
        note: valid.note.clone(),
        lines,
        subtotal,
        fee,
        total,
        payment_method: valid.payment.method(),
    })
}

/// Step 2: the order and its payment, pending, in one transaction.
async fn store_pending(
    db: &Db,
    customer: UserId,
    valid: &CheckoutRequest,
    placed: &PlacedOrder,
) -> Result<OrderId, OrderingError> {
    let now = db::now_ms();
    let mut tx = db.begin().await?;
    let (fulfilment, delivery_type) = match placed.fulfilment {
        Fulfilment::Delivery(t) => ("delivery", Some(t.as_str())),
        Fulfilment::Pickup => ("pickup", None),
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (customer_id, store_id, idempotency_key, fulfilment, delivery_type, status, placed, \
                             total_won, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'payment_pending', $6, $7, $8, $8) RETURNING id",
    )
    .bind(customer.get())
    .bind(placed.store.get())
    .bind(&valid.idempotency_key)
    .bind(fulfilment)
    .bind(delivery_type)
    .bind(serde_json::to_string(placed)?)
    .bind(placed.total.won())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let payer = match &valid.payment {
        Payment::Card { digits } => ledger::Payer::Card {
            last4: digits.get(12..).unwrap_or_default(),
        },
        Payment::Payroll { employee_number } => ledger::Payer::Payroll {
            store: placed.store,
            user: customer,
            employee_number,
        },
    };
    ledger::open(&mut tx, OrderId(id), placed.total, payer).await?;
    tx.commit().await?;
    Ok(OrderId(id))
}

/// Step 4 (approved): reserve stock, mark placed, empty the cart, append
/// `OrderPlaced` then `PaymentAuthorized` — all or nothing; returns the
/// latter's sequence number. `Rejected` when stock ran out meanwhile.
pub(crate) async fn confirm(
    db: &Db,
    order: OrderId,
    placed: &PlacedOrder,
    authorization: &str,
) -> Result<i64, OrderingError> {
    let mut tx = db.begin().await?;
    let lines: Vec<(MenuItemId, u8)> = placed.lines.iter().map(|l| (l.item, l.quantity)).collect();
    if let Err(short) = catalog::reserve_stock(&mut tx, &lines).await? {
        tx.rollback().await?;
        let item = placed
            .lines
            .iter()
            .find(|l| l.item == short)
            .map(|l| l.name.clone())
            .unwrap_or_default();
        return Err(OrderingError::Rejected(Problem::SoldOutWhilePaying {
            item,
            method: placed.payment_method,
        }));
    }
    let pending = Order::new_pending(order, placed);
    let (next, event) = pending.handle(
        &OrderCommand::ConfirmPayment {
            placed: Box::new(placed.clone()),
        },
        Actor::System,
    )?;
    if !settle_pending(&mut tx, order, next.status, None).await? {
        tx.rollback().await?;
        return Err(OrderingError::Rejected(Problem::AlreadySettled));
    }
    sqlx::query("DELETE FROM cart_lines WHERE customer_id = $1 AND store_id = $2")
        .bind(placed.customer.get())
        .bind(placed.store.get())
        .execute(&mut *tx)
        .await?;
    // The whole order rides on the event, so other contexts need nothing else (F9).
    eventlog::append_event(&mut tx, event).await?;
    // Then the payment's own event: held, not charged (issue 11).
    let seq = ledger::authorized(&mut tx, order, authorization, placed.total, placed.payment_method).await?;
    tx.commit().await?;
    Ok(seq)
}

/// What an order that failed its payment records (`orders.failure`): the
/// problem as JSON; orders failed by builds before hold words, shown as the
/// gateway's.
fn failure_of(failure: Option<&str>) -> Problem {
    match failure {
        None => Problem::Declined {
            reason: domain::problem::Decline::Declined,
        },
        Some(text) => serde_json::from_str(text).unwrap_or_else(|_| Problem::Declined {
            reason: domain::problem::Decline::Other(text.to_string()),
        }),
    }
}

/// Step 4 (declined or failed): `payment_failed` with the reason, and its
/// event. With `free_key` (the gateway did not answer) the order gives its
/// idempotency key up (renamed `key:order-id`), so the same checkout may be
/// tried again, and the payment is marked abandoned: a hold the gateway
/// grants later is released (`payment::reconcile`).
pub(crate) async fn fail(db: &Db, order: OrderId, problem: &Problem, free_key: bool) -> Result<(), OrderingError> {
    let mut tx = db.begin().await?;
    let placed: String = sqlx::query_scalar("SELECT placed FROM orders WHERE id = $1")
        .bind(order.get())
        .fetch_one(&mut *tx)
        .await?;
    let pending = Order::new_pending(order, &serde_json::from_str(&placed)?);
    // The order keeps the problem itself, for a repeated submit to show in
    // the customer's language; the event names its kind.
    let failure = serde_json::to_string(problem)?;
    let kind = serde_json::to_value(problem)?
        .get("problem")
        .and_then(|k| k.as_str().map(str::to_string))
        .unwrap_or_else(|| "payment_failed".into());
    let (next, event) = pending.handle(&OrderCommand::FailPayment { reason: kind }, Actor::System)?;
    if !settle_pending(&mut tx, order, next.status, Some(&failure)).await? {
        tx.rollback().await?;
        return Ok(()); // settled meanwhile; nothing to fail
    }
    if free_key {
        sqlx::query("UPDATE orders SET idempotency_key = idempotency_key || ':' || $2 WHERE id = $1")
            .bind(order.get())
            .bind(order.get().to_string())
            .execute(&mut *tx)
            .await?;
    }
    ledger::declined(&mut tx, order, free_key).await?;
    eventlog::append_event(&mut tx, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves a payment-pending order on; `false` when it is no longer pending
/// (the reconciler or the checkout itself settled it first).
async fn settle_pending(
    tx: &mut Tx,
    order: OrderId,
    status: OrderStatus,
    failure: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE orders SET status = $2, failure = COALESCE($3, failure), updated_at = $4 \
         WHERE id = $1 AND status = 'payment_pending'",
    )
    .bind(order.get())
    .bind(status.as_str())
    .bind(failure)
    .bind(db::now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(moved.rows_affected() == 1)
}

/// A fresh idempotency key for a checkout form (32 hex digits, 128 random bits).
pub fn new_key() -> String {
    format!("{:032x}", rand::random::<u128>())
}
