//! Checkout, synchronous with payment (requirement F3; DESIGN.md §2).
//!
//! 1. Validate the form and the cart: store open, fulfilment offered, items
//!    available in the quantities asked (F8). Nothing is stored on failure.
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

use crate::cart::availability_problem;
use crate::payment::{AuthorizeRequest, PaymentError, PaymentGateway};
use crate::{Caller, OrderingError};
use db::{Db, Tx};
use domain::shop::{card_digits, OrderLine, PlacedOrder};
use domain::text::{clean_text, FieldError};
use domain::{
    Actor, DeliveryType, Fulfilment, MenuItemId, Money, Order, OrderCommand, OrderId, OrderStatus, Quantity, StoreId,
    StoreStatus, UserId,
};
use eventlog::NewEvent;
use sqlx::Row;

/// The checkout form as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutForm {
    /// The store whose cart is checked out.
    pub store: StoreId,
    /// `delivery` or `pickup`.
    pub fulfilment: String,
    /// For delivery: `walking`, `bicycle` or `motorbike` (F2).
    pub delivery_type: Option<String>,
    /// For delivery: the drop-off address (5..=200 characters).
    pub address: String,
    /// A note to the store (at most 200 characters; may be empty).
    pub note: String,
    /// The card number (16 digits; spaces allowed).
    pub card_number: String,
    /// Generated when the checkout page was shown (1..=64 of `A-Za-z0-9_-`):
    /// the same key twice means the same checkout.
    pub idempotency_key: String,
}

/// What a customer is told when the payment service cannot take a payment
/// now (requirement N2); the cart is kept.
pub const PAYMENT_BUSY: &str =
    "Payment is busy, please try again in a moment. Nothing was charged and your cart is kept.";

/// Said when a checkout's payment was settled by someone else meanwhile.
const ALREADY_SETTLED: &str = "This checkout was already settled. Look at your orders.";

/// A placed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// The order.
    pub order: OrderId,
    /// The `OrderPlaced` event's sequence number (`None` when this was a
    /// repeated submit of an order placed earlier).
    pub seq: Option<i64>,
}

struct Valid {
    fulfilment: Fulfilment,
    address: String,
    note: String,
    card: String,
    key: String,
}

fn validate(form: &CheckoutForm) -> Result<Valid, OrderingError> {
    let mut errors = Vec::new();
    let fulfilment = match form.fulfilment.trim() {
        "pickup" => Some(Fulfilment::Pickup),
        "delivery" => match form
            .delivery_type
            .as_deref()
            .map(str::trim)
            .unwrap_or("")
            .parse::<DeliveryType>()
        {
            Ok(t) => Some(Fulfilment::Delivery(t)),
            Err(e) => {
                errors.push(FieldError::new("delivery_type", e.to_string()));
                None
            }
        },
        other => {
            errors.push(FieldError::new(
                "fulfilment",
                format!(
                    "choose delivery or pickup (got \"{}\")",
                    other.chars().take(20).collect::<String>()
                ),
            ));
            None
        }
    };
    let address = if form.fulfilment.trim() == "delivery" {
        match clean_text(&form.address, "Address", 200, false) {
            Ok(a) if a.chars().count() >= 5 => a,
            Ok(_) => {
                errors.push(FieldError::new("address", "enter the full delivery address"));
                String::new()
            }
            Err(e) => {
                errors.push(FieldError::new("address", e.to_string()));
                String::new()
            }
        }
    } else {
        String::new()
    };
    let note = if form.note.trim().is_empty() {
        String::new()
    } else {
        clean_text(&form.note, "Note", 200, true).unwrap_or_else(|e| {
            errors.push(FieldError::new("note", e.to_string()));
            String::new()
        })
    };
    let card = card_digits(&form.card_number).unwrap_or_else(|e| {
        errors.push(FieldError::new("card_number", e.to_string()));
        String::new()
    });
    let key = form.idempotency_key.trim().to_string();
    if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        errors.push(FieldError::new(
            "idempotency_key",
            "this checkout form is out of date; reload the page",
        ));
    }
    match fulfilment {
        Some(fulfilment) if errors.is_empty() => Ok(Valid {
            fulfilment,
            address,
            note,
            card,
            key,
        }),
        _ => Err(OrderingError::Invalid(errors)),
    }
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
        OrderStatus::PaymentPending => Err(OrderingError::Rejected(
            "This order is still being paid for. Wait a moment, then look at your orders.".into(),
        )),
        OrderStatus::PaymentFailed => {
            let failure: Option<String> = row.try_get("failure")?;
            Err(OrderingError::PaymentDeclined(
                failure.unwrap_or_else(|| "The payment did not go through.".into()),
            ))
        }
        _ => Ok(Some(Placed { order, seq: None })),
    }
}

pub(crate) struct CartItem {
    item: MenuItemId,
    name: String,
    price: Money,
    quantity: Quantity,
}

impl CartItem {
    /// The items of an order as it was placed (the reconciler completes it
    /// from there; the cart may have changed since).
    pub(crate) fn of(placed: &PlacedOrder) -> Vec<CartItem> {
        placed
            .lines
            .iter()
            .filter_map(|l| {
                Some(CartItem {
                    item: l.item,
                    name: l.name.clone(),
                    price: l.unit_price,
                    quantity: Quantity::new(i64::from(l.quantity)).ok()?,
                })
            })
            .collect()
    }
}

/// Places the order for the customer's cart at `form.store`.
///
/// Errors: [`OrderingError::Invalid`] (form fields), [`OrderingError::Rejected`]
/// (empty cart, store closed or paused, fulfilment not offered, below the
/// minimum order, an item sold out or short of stock, the checkout still being
/// paid), [`OrderingError::PaymentDeclined`], [`OrderingError::PaymentUnavailable`]
/// (gateway down or slower than the timeout), [`OrderingError::NotFound`].
#[tracing::instrument(name = "checkout", skip_all, fields(user_id = customer.id.get(), store_id = form.store.get(), order_id = tracing::field::Empty))]
pub async fn checkout(
    db: &Db,
    gateway: &dyn PaymentGateway,
    customer: &Caller,
    form: &CheckoutForm,
) -> Result<Placed, OrderingError> {
    let valid = validate(form)?;
    if let Some(placed) = earlier(db, customer.id, &valid.key).await? {
        return Ok(placed);
    }
    let (placed, items) = price_cart(db, customer, form.store, &valid).await?;
    if !gateway.accepting() {
        return Err(OrderingError::PaymentUnavailable(PAYMENT_BUSY.into()));
    }

    // 2. Payment pending, under the idempotency key.
    let order = match store_pending(db, customer.id, &valid, &placed).await {
        Ok(order) => order,
        Err(e) => {
            // Lost a race with the same checkout submitted twice at once?
            if let Some(placed) = earlier(db, customer.id, &valid.key).await? {
                return Ok(placed);
            }
            return Err(e);
        }
    };
    // From here on every line of this checkout carries the order id (N5).
    tracing::Span::current().record("order_id", order.get());
    tracing::info!(total_won = placed.total.won(), "checkout: authorizing");

    // 3. Authorize.
    let request = AuthorizeRequest {
        idempotency_key: payment_key(order),
        card_digits: valid.card.clone(),
        amount_won: placed.total.won(),
    };
    let authorization = match gateway.authorize(&request).await {
        Ok(id) => id,
        Err(PaymentError::Declined(message)) => {
            fail(db, order, &message, false).await?;
            return Err(OrderingError::PaymentDeclined(message));
        }
        Err(PaymentError::Unavailable(why)) => {
            tracing::warn!(order_id = order.get(), %why, "checkout: payment unavailable");
            // Not the customer's fault: free the checkout's key, so the page's
            // retry (same key) gets a fresh attempt instead of this failure.
            fail(db, order, PAYMENT_BUSY, true).await?;
            return Err(OrderingError::PaymentUnavailable(PAYMENT_BUSY.into()));
        }
    };

    // 4. Placed, stock reserved, cart emptied, OrderPlaced — or nothing.
    match confirm(db, customer.id, order, &placed, &items, &authorization).await {
        Ok(seq) => {
            tracing::info!(order_id = order.get(), seq, "checkout: order placed");
            Ok(Placed { order, seq: Some(seq) })
        }
        Err(OrderingError::Rejected(problem)) => {
            // Sold out while paying: release the hold, record the failure.
            if let Err(e) = gateway.void(&authorization).await {
                tracing::error!(order_id = order.get(), error = %e, "checkout: void after sell-out failed");
            }
            let message = format!("{problem} Your card was not charged.");
            fail(db, order, &message, false).await?;
            Err(OrderingError::Rejected(message))
        }
        Err(e) => Err(e),
    }
}

/// Step 1: the cart as an order, checked against the store and the stock.
async fn price_cart(
    db: &Db,
    customer: &Caller,
    store: StoreId,
    valid: &Valid,
) -> Result<(PlacedOrder, Vec<CartItem>), OrderingError> {
    let store_row = sqlx::query(
        "SELECT name, address, owner_id, status, offers_delivery, offers_pickup, min_order_won FROM stores WHERE id = $1",
    )
    .bind(store.get())
    .fetch_optional(db.pool())
    .await?
    .ok_or_else(|| OrderingError::NotFound("There is no such store.".into()))?;
    let store_name: String = store_row.try_get("name")?;
    match db::parsed::<StoreStatus>(&store_row, "status")? {
        StoreStatus::Open => {}
        StoreStatus::Paused => {
            return Err(OrderingError::Rejected(format!(
                "{store_name} has paused orders for a moment. Your cart is kept; try again soon."
            )))
        }
        StoreStatus::Closed => {
            return Err(OrderingError::Rejected(format!(
                "{store_name} is closed now. Your cart is kept for when it opens."
            )))
        }
    }
    match valid.fulfilment {
        Fulfilment::Delivery(_) if !db::flag(&store_row, "offers_delivery")? => {
            return Err(OrderingError::Rejected(format!(
                "{store_name} does not deliver; choose pickup."
            )))
        }
        Fulfilment::Pickup if !db::flag(&store_row, "offers_pickup")? => {
            return Err(OrderingError::Rejected(format!(
                "{store_name} does not offer pickup; choose delivery."
            )))
        }
        _ => {}
    }
    let rows = sqlx::query(
        "SELECT c.menu_item_id, c.quantity, m.name, m.price_won, m.stock, m.sold_out, m.store_id \
         FROM cart_lines c JOIN menu_items m ON m.id = c.menu_item_id \
         WHERE c.customer_id = $1 AND c.store_id = $2 ORDER BY c.added_at, c.menu_item_id",
    )
    .bind(customer.id.get())
    .bind(store.get())
    .fetch_all(db.pool())
    .await?;
    if rows.is_empty() {
        return Err(OrderingError::Rejected(
            "Your cart is empty. Add something from the menu first.".into(),
        ));
    }
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get("name")?;
        let quantity: i64 = row.try_get("quantity")?;
        if let Some(problem) = availability_problem(&name, row.try_get("stock")?, db::flag(&row, "sold_out")?, quantity)
        {
            return Err(OrderingError::Rejected(problem));
        }
        items.push(CartItem {
            item: MenuItemId(row.try_get("menu_item_id")?),
            name,
            price: Money::from_won(row.try_get("price_won")?).unwrap_or(Money::ZERO),
            quantity: Quantity::new(quantity).map_err(|e| OrderingError::Rejected(e.to_string()))?,
        });
    }
    let too_big = |_| OrderingError::Rejected("This order is too large to pay for at once.".into());
    let subtotal = Money::sum(
        items
            .iter()
            .map(|i| i.price.times(i.quantity))
            .collect::<Result<Vec<_>, _>>()
            .map_err(too_big)?,
    )
    .map_err(too_big)?;
    let min_order = Money::from_won(store_row.try_get("min_order_won")?).unwrap_or(Money::ZERO);
    if matches!(valid.fulfilment, Fulfilment::Delivery(_)) && subtotal < min_order {
        return Err(OrderingError::Rejected(format!(
            "{store_name} delivers orders from {min_order}; add a little more or choose pickup."
        )));
    }
    let fee = valid.fulfilment.fee();
    let total = subtotal.checked_add(fee).map_err(too_big)?;
    let placed = PlacedOrder {
        customer: customer.id,
        customer_name: customer.name.clone(),
        store,
        store_name,
        store_address: store_row.try_get("address")?,
        owner: UserId(store_row.try_get("owner_id")?),
        fulfilment: valid.fulfilment,
        address: valid.address.clone(),
        note: valid.note.clone(),
        lines: items
            .iter()
            .map(|i| OrderLine {
                item: i.item,
                name: i.name.clone(),
                unit_price: i.price,
                quantity: i.quantity.get(),
            })
            .collect(),
        subtotal,
        fee,
        total,
    };
    Ok((placed, items))
}

/// Step 2: the order and its payment, pending, in one transaction.
async fn store_pending(
    db: &Db,
    customer: UserId,
    valid: &Valid,
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
    .bind(&valid.key)
    .bind(fulfilment)
    .bind(delivery_type)
    .bind(serde_json::to_string(placed)?)
    .bind(placed.total.won())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO payments (order_id, amount_won, status, card_last4, updated_at) VALUES ($1, $2, 'authorizing', $3, $4)",
    )
    .bind(id)
    .bind(placed.total.won())
    .bind(valid.card.get(12..).unwrap_or_default())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(OrderId(id))
}

/// Step 4 (approved): reserve stock, mark placed, empty the cart, append
/// `OrderPlaced` — all or nothing. `Rejected` when stock ran out meanwhile.
pub(crate) async fn confirm(
    db: &Db,
    customer: UserId,
    order: OrderId,
    placed: &PlacedOrder,
    items: &[CartItem],
    authorization: &str,
) -> Result<i64, OrderingError> {
    let mut tx = db.begin().await?;
    for item in items {
        // Conditional decrement: never below zero, whoever else is buying (F8).
        let reserved = sqlx::query(
            "UPDATE menu_items SET stock = CASE WHEN stock IS NULL THEN NULL ELSE stock - $2 END \
             WHERE id = $1 AND sold_out = 0 AND (stock IS NULL OR stock >= $2)",
        )
        .bind(item.item.get())
        .bind(i64::from(item.quantity.get()))
        .execute(&mut *tx)
        .await?;
        if reserved.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(OrderingError::Rejected(format!(
                "Sorry, {} sold out while you were paying.",
                item.name
            )));
        }
    }
    let pending = Order::new_pending(order, customer, placed.store, placed.fulfilment);
    let (next, event) = pending.handle(&OrderCommand::ConfirmPayment, Actor::System)?;
    if !settle_pending(&mut tx, order, next.status, None).await? {
        tx.rollback().await?;
        return Err(OrderingError::Rejected(ALREADY_SETTLED.into()));
    }
    sqlx::query(
        "UPDATE payments SET status = 'authorized', authorization_id = $2, updated_at = $3 WHERE order_id = $1",
    )
    .bind(order.get())
    .bind(authorization)
    .bind(db::now_ms())
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM cart_lines WHERE customer_id = $1 AND store_id = $2")
        .bind(customer.get())
        .bind(placed.store.get())
        .execute(&mut *tx)
        .await?;
    let mut new_event = NewEvent::order(&event)?;
    // The whole order rides on the event, so projections need nothing else (F9).
    if let Some(payload) = new_event.payload.as_object_mut() {
        payload.insert("order".into(), serde_json::to_value(placed)?);
    }
    let seqs = eventlog::append(&mut tx, &[new_event]).await?;
    tx.commit().await?;
    Ok(seqs.first().copied().unwrap_or_default())
}

/// Step 4 (declined or failed): `payment_failed` with the reason, and its
/// event. With `free_key` the order gives its idempotency key up (renamed
/// `key:order-id`), so the same checkout may be tried again.
pub(crate) async fn fail(db: &Db, order: OrderId, message: &str, free_key: bool) -> Result<(), OrderingError> {
    let mut tx = db.begin().await?;
    let row = sqlx::query("SELECT customer_id, store_id FROM orders WHERE id = $1")
        .bind(order.get())
        .fetch_one(&mut *tx)
        .await?;
    // The fulfilment does not matter to a payment failure.
    let pending = Order::new_pending(
        order,
        UserId(row.try_get("customer_id")?),
        StoreId(row.try_get("store_id")?),
        Fulfilment::Pickup,
    );
    let (next, event) = pending.handle(
        &OrderCommand::FailPayment {
            reason: message.chars().take(200).collect(),
        },
        Actor::System,
    )?;
    if !settle_pending(&mut tx, order, next.status, Some(message)).await? {
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
    sqlx::query("UPDATE payments SET status = 'declined', updated_at = $2 WHERE order_id = $1")
        .bind(order.get())
        .bind(db::now_ms())
        .execute(&mut *tx)
        .await?;
    eventlog::append(&mut tx, &[NewEvent::order(&event)?]).await?;
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

/// The gateway's idempotency key of an order's payment: `order-{id}`.
pub(crate) fn payment_key(order: OrderId) -> String {
    format!("order-{}", order.get())
}

/// A fresh idempotency key for a checkout form (32 hex digits, 128 random bits).
pub fn new_key() -> String {
    format!("{:032x}", rand::random::<u128>())
}
