//! The read side (requirements F9, F10): the `order_views` projection that
//! `/orders`, `/orders/{id}`, the owner dashboard and the rider board read, and
//! the `notifications` projection behind the notification centre.
//!
//! Both are written by one consumer, `order_views`, from the event log alone:
//! the `OrderPlaced` event carries the whole order ([`PlacedOrder`]), later
//! events change its status. Times come from the events, so replaying the log
//! into empty tables ([`rebuild`]) gives exactly the same rows.

use crate::OrderingError;
use db::{Db, Tx};
use domain::shop::{Notification, OrderView, PlacedOrder, Review};
use domain::{DeliveryType, Fulfilment, OrderId, OrderStatus, Role, StoreId, UserId};
use eventlog::{Consumer, ConsumerError, ConsumerRunner, RecordedEvent, RunnerConfig, StepOutcome};
use serde::Deserialize;
use sqlx::Row;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The consumer's name (its checkpoint row).
pub const CONSUMER: &str = "order_views";

/// Builds `order_views` and `notifications` from the log.
pub struct OrderProjections;

#[derive(Deserialize)]
struct Placed {
    order: PlacedOrder,
}

#[derive(Deserialize)]
struct Accepted {
    prep_minutes: u16,
}

#[derive(Deserialize)]
struct Rejected {
    reason: domain::order::RejectReason,
}

#[derive(Deserialize)]
struct Cancelled {
    by: Role,
}

#[derive(Deserialize)]
struct Assigned {
    rider: UserId,
}

#[derive(Deserialize)]
struct Reviewed {
    review: Review,
}

fn payload<T: for<'de> Deserialize<'de>>(event: &RecordedEvent) -> Result<T, ConsumerError> {
    serde_json::from_value(event.payload.clone())
        .map_err(|e| ConsumerError::Handler(format!("event {} ({}): {e}", event.seq, event.kind)))
}

/// Who an order concerns, from its view row.
struct Parties {
    placed: PlacedOrder,
    rider: Option<UserId>,
}

async fn parties(tx: &mut Tx, order: i64) -> Result<Option<Parties>, ConsumerError> {
    let row = sqlx::query("SELECT placed, rider_id FROM order_views WHERE order_id = $1")
        .bind(order)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let placed: PlacedOrder = serde_json::from_str(&row.try_get::<String, _>("placed")?)
        .map_err(|e| ConsumerError::Handler(format!("order view {order}: {e}")))?;
    Ok(Some(Parties {
        placed,
        rider: row.try_get::<Option<i64>, _>("rider_id")?.map(UserId),
    }))
}

async fn notify(tx: &mut Tx, event: &RecordedEvent, user: UserId, message: String) -> Result<(), ConsumerError> {
    sqlx::query(
        "INSERT INTO notifications (user_id, seq, order_id, message, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, seq) DO NOTHING",
    )
    .bind(user.get())
    .bind(event.seq)
    .bind(event.stream_id)
    .bind(message)
    .bind(event.recorded_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A value for one column of `order_views`.
enum Value {
    Int(i64),
    Text(String),
}

/// Sets the status (when given) and one more column (when given) of the
/// event's order view; `updated_at` becomes the event's time.
async fn set(
    tx: &mut Tx,
    event: &RecordedEvent,
    status: Option<OrderStatus>,
    column: Option<(&'static str, Value)>,
) -> Result<(), ConsumerError> {
    if let Some(status) = status {
        sqlx::query("UPDATE order_views SET status = $2, updated_at = $3 WHERE order_id = $1")
            .bind(event.stream_id)
            .bind(status.as_str())
            .bind(event.recorded_at)
            .execute(&mut **tx)
            .await?;
    }
    if let Some((column, value)) = column {
        // `column` is one of this module's constants, never input.
        let sql = format!("UPDATE order_views SET {column} = $2, updated_at = $3 WHERE order_id = $1");
        let query = sqlx::query(&sql).bind(event.stream_id);
        let query = match value {
            Value::Int(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
        };
        query.bind(event.recorded_at).execute(&mut **tx).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl Consumer for OrderProjections {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), ConsumerError> {
        if event.stream != "order" {
            return Ok(());
        }
        let id = event.stream_id;
        if event.kind == "OrderPlaced" {
            let Placed { order } = payload(event)?;
            sqlx::query(
                "INSERT INTO order_views (order_id, customer_id, store_id, delivery_type, status, placed, placed_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'placed', $5, $6, $6) ON CONFLICT (order_id) DO NOTHING",
            )
            .bind(id)
            .bind(order.customer.get())
            .bind(order.store.get())
            .bind(order.fulfilment.delivery_type().map(DeliveryType::as_str))
            .bind(serde_json::to_string(&order).map_err(|e| ConsumerError::Handler(e.to_string()))?)
            .bind(event.recorded_at)
            .execute(&mut **tx)
            .await?;
            let units: u32 = order.lines.iter().map(|l| u32::from(l.quantity)).sum();
            notify(
                tx,
                event,
                order.customer,
                format!(
                    "Order #{id} is placed with {}. Waiting for the store to accept.",
                    order.store_name
                ),
            )
            .await?;
            let how = match order.fulfilment {
                Fulfilment::Delivery(t) => format!("{} delivery", t.label().to_lowercase()),
                Fulfilment::Pickup => "pickup".into(),
            };
            notify(
                tx,
                event,
                order.owner,
                format!("New order #{id}: {units} item(s), {}, {how}.", order.total),
            )
            .await?;
            return Ok(());
        }
        // Every later event is about an order the view already has.
        let Some(parties) = parties(tx, id).await? else {
            return Ok(()); // e.g. PaymentFailed: never placed, never shown
        };
        let store = parties.placed.store_name.clone();
        let customer = parties.placed.customer;
        match event.kind.as_str() {
            "OrderAccepted" => {
                let Accepted { prep_minutes } = payload(event)?;
                let ready_by = event.recorded_at + i64::from(prep_minutes) * 60_000;
                set(
                    tx,
                    event,
                    Some(OrderStatus::Accepted),
                    Some(("prep_minutes", Value::Int(i64::from(prep_minutes)))),
                )
                .await?;
                set(tx, event, None, Some(("ready_by", Value::Int(ready_by)))).await?;
                notify(
                    tx,
                    event,
                    customer,
                    format!("{store} accepted order #{id}: ready in about {prep_minutes} min."),
                )
                .await?;
            }
            "OrderRejected" => {
                let Rejected { reason } = payload(event)?;
                let reason = reason.message();
                set(
                    tx,
                    event,
                    Some(OrderStatus::Rejected),
                    Some(("reason", Value::Text(reason.clone()))),
                )
                .await?;
                notify(
                    tx,
                    event,
                    customer,
                    format!("{store} could not take order #{id}: {reason}. Your payment was cancelled."),
                )
                .await?;
            }
            "OrderReady" => {
                set(tx, event, Some(OrderStatus::Ready), None).await?;
                let message = match parties.placed.fulfilment {
                    Fulfilment::Pickup => format!(
                        "Your order #{id} is ready! Collect it at {store}, {}.",
                        parties.placed.store_address
                    ),
                    Fulfilment::Delivery(_) => format!("Order #{id} is ready and waiting for the rider."),
                };
                notify(tx, event, customer, message).await?;
            }
            "OrderCancelled" => {
                let Cancelled { by } = payload(event)?;
                let reason = match by {
                    Role::Customer => "Cancelled by you".to_string(),
                    other => format!("Cancelled by the {}", other.label().to_lowercase()),
                };
                set(
                    tx,
                    event,
                    Some(OrderStatus::Cancelled),
                    Some(("reason", Value::Text(reason))),
                )
                .await?;
                notify(
                    tx,
                    event,
                    customer,
                    format!("Order #{id} is cancelled. Your payment was cancelled."),
                )
                .await?;
                notify(
                    tx,
                    event,
                    parties.placed.owner,
                    format!("Order #{id} was cancelled by the customer."),
                )
                .await?;
                if let Some(rider) = parties.rider {
                    notify(
                        tx,
                        event,
                        rider,
                        format!("The delivery job for order #{id} was cancelled. No need to go to {store}."),
                    )
                    .await?;
                }
            }
            "RiderAssigned" => {
                let Assigned { rider } = payload(event)?;
                set(tx, event, None, Some(("rider_id", Value::Int(rider.get())))).await?;
                notify(
                    tx,
                    event,
                    customer,
                    format!("A rider has taken order #{id} and heads to {store}."),
                )
                .await?;
            }
            "OrderPickedUp" => {
                set(tx, event, Some(OrderStatus::PickedUp), None).await?;
                notify(tx, event, customer, format!("Order #{id} is on the way.")).await?;
            }
            "OrderDelivered" => {
                set(tx, event, Some(OrderStatus::Delivered), None).await?;
                notify(
                    tx,
                    event,
                    customer,
                    format!("Order #{id} was delivered. Enjoy! Tell others how it was with a review."),
                )
                .await?;
            }
            "OrderCollected" => {
                set(tx, event, Some(OrderStatus::Collected), None).await?;
                notify(
                    tx,
                    event,
                    customer,
                    format!("You collected order #{id}. Enjoy! Tell others how it was with a review."),
                )
                .await?;
            }
            "OrderAcknowledged" => {
                set(tx, event, None, Some(("acknowledged", Value::Int(1)))).await?;
            }
            "ReviewWritten" => {
                let Reviewed { review } = payload(event)?;
                let json = serde_json::to_string(&review).map_err(|e| ConsumerError::Handler(e.to_string()))?;
                set(tx, event, None, Some(("review", Value::Text(json)))).await?;
                notify(
                    tx,
                    event,
                    parties.placed.owner,
                    format!("Order #{id} got a {}-star review.", review.stars),
                )
                .await?;
            }
            _ => {}
        }
        Ok(())
    }
}

const VIEW_COLUMNS: &str =
    "order_id, status, rider_id, placed, prep_minutes, ready_by, reason, review, placed_at, updated_at, acknowledged";

fn decode(row: &sqlx::any::AnyRow) -> Result<OrderView, OrderingError> {
    let review: Option<String> = row.try_get("review")?;
    Ok(OrderView {
        id: OrderId(row.try_get("order_id")?),
        placed: serde_json::from_str(&row.try_get::<String, _>("placed")?)?,
        status: serde_json::from_value(serde_json::Value::String(row.try_get("status")?))?,
        prep_minutes: row
            .try_get::<Option<i64>, _>("prep_minutes")?
            .and_then(|m| u16::try_from(m).ok()),
        ready_by_ms: row.try_get("ready_by")?,
        reason: row.try_get("reason")?,
        rider: row.try_get::<Option<i64>, _>("rider_id")?.map(UserId),
        placed_at_ms: row.try_get("placed_at")?,
        updated_at_ms: row.try_get("updated_at")?,
        review: review.map(|r| serde_json::from_str(&r)).transpose()?,
        acknowledged: db::flag(row, "acknowledged")?,
    })
}

async fn fetch(db: &Db, filter: &str, binds: &[i64]) -> Result<Vec<OrderView>, OrderingError> {
    let sql = format!("SELECT {VIEW_COLUMNS} FROM order_views WHERE {filter}");
    let mut query = sqlx::query(&sql);
    for b in binds {
        query = query.bind(*b);
    }
    query.fetch_all(db.pool()).await?.iter().map(decode).collect()
}

/// Whether `caller` may look at this order: its customer, its store's owner,
/// its rider, any rider of its vehicle while the job is open, an admin.
pub fn visible_to(view: &OrderView, caller: &crate::Caller) -> bool {
    match caller.role {
        Role::Admin => true,
        Role::Customer => view.placed.customer == caller.id,
        Role::Owner => view.placed.owner == caller.id,
        Role::Rider => {
            view.rider == Some(caller.id)
                || (view.rider.is_none()
                    && view.delivery_type().is_some()
                    && view.delivery_type() == caller.vehicle
                    && matches!(view.status, OrderStatus::Accepted | OrderStatus::Ready))
        }
    }
}

/// One order's view, or `None` (not placed yet, or no such order).
pub async fn order(db: &Db, id: OrderId) -> Result<Option<OrderView>, OrderingError> {
    Ok(fetch(db, "order_id = $1", &[id.get()]).await?.into_iter().next())
}

/// A customer's orders, newest first (`/orders`), at most 100.
pub async fn of_customer(db: &Db, customer: UserId) -> Result<Vec<OrderView>, OrderingError> {
    fetch(
        db,
        "customer_id = $1 ORDER BY order_id DESC LIMIT 100",
        &[customer.get()],
    )
    .await
}

/// A store's orders for the dashboard: everything still in progress (placed,
/// accepted, ready, picked up), oldest first, then today's finished ones.
pub async fn of_store(db: &Db, store: StoreId) -> Result<Vec<OrderView>, OrderingError> {
    let since = db::now_ms() - 24 * 3_600_000;
    fetch(
        db,
        "store_id = $1 AND (status IN ('placed', 'accepted', 'ready', 'picked_up') OR updated_at >= $2) \
         ORDER BY order_id LIMIT 200",
        &[store.get(), since],
    )
    .await
}

/// Open delivery jobs for a vehicle type: accepted or ready, no rider yet,
/// oldest first (F2, F6).
pub async fn open_jobs(db: &Db, vehicle: DeliveryType) -> Result<Vec<OrderView>, OrderingError> {
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM order_views WHERE delivery_type = $1 AND rider_id IS NULL \
         AND status IN ('accepted', 'ready') ORDER BY order_id LIMIT 50"
    );
    sqlx::query(&sql)
        .bind(vehicle.as_str())
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// A rider's current job (claimed, not yet delivered), if any.
pub async fn current_job(db: &Db, rider: UserId) -> Result<Option<OrderView>, OrderingError> {
    Ok(fetch(
        db,
        "rider_id = $1 AND status IN ('accepted', 'ready', 'picked_up') ORDER BY order_id LIMIT 1",
        &[rider.get()],
    )
    .await?
    .into_iter()
    .next())
}

/// A user's notifications, newest first (at most 50), and how many are unread.
pub async fn notifications(db: &Db, user: UserId) -> Result<Vec<Notification>, OrderingError> {
    let last_read = last_read(db, user).await?;
    let rows = sqlx::query(
        "SELECT seq, order_id, message, created_at FROM notifications WHERE user_id = $1 ORDER BY seq DESC LIMIT 50",
    )
    .bind(user.get())
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let seq: i64 = r.try_get("seq")?;
            Ok(Notification {
                seq,
                order: OrderId(r.try_get("order_id")?),
                message: r.try_get("message")?,
                created_at_ms: r.try_get("created_at")?,
                unread: seq > last_read,
            })
        })
        .collect()
}

async fn last_read(db: &Db, user: UserId) -> Result<i64, OrderingError> {
    Ok(
        sqlx::query_scalar("SELECT last_read_seq FROM notification_reads WHERE user_id = $1")
            .bind(user.get())
            .fetch_optional(db.pool())
            .await?
            .unwrap_or(0),
    )
}

/// How many notifications the user has not seen.
pub async fn unread_count(db: &Db, user: UserId) -> Result<i64, OrderingError> {
    let last_read = last_read(db, user).await?;
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND seq > $2")
            .bind(user.get())
            .bind(last_read)
            .fetch_one(db.pool())
            .await?,
    )
}

/// Marks everything up to `seq` as read (never moves backwards).
pub async fn mark_read(db: &Db, user: UserId, seq: i64) -> Result<(), OrderingError> {
    sqlx::query(
        "INSERT INTO notification_reads (user_id, last_read_seq) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET last_read_seq = CASE \
           WHEN notification_reads.last_read_seq > $2 THEN notification_reads.last_read_seq ELSE $2 END",
    )
    .bind(user.get())
    .bind(seq)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The sequence number of the last event the projections include (0 before
/// any).
pub async fn projected_up_to(db: &Db) -> Result<i64, sqlx::Error> {
    Ok(
        sqlx::query_scalar("SELECT last_seq FROM consumer_checkpoints WHERE consumer = $1")
            .bind(CONSUMER)
            .fetch_optional(db.pool())
            .await?
            .unwrap_or(0),
    )
}

/// Waits until the projections include event `seq` (read-your-writes after a
/// command), at most `timeout_ms` milliseconds; `false` if they did not.
pub async fn wait_for(db: &Db, seq: i64, timeout_ms: u64) -> bool {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    loop {
        if projected_up_to(db).await.unwrap_or(0) >= seq {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Empties the projections and replays the whole log into them; returns the
/// sequence number they were rebuilt up to. A running server's runner may do
/// the replaying; either way this returns once they have caught up.
pub async fn rebuild(db: &Db, instance: &str) -> Result<i64, OrderingError> {
    let mut tx = db.begin().await?;
    // Taking the checkpoint row first waits out a batch in flight.
    sqlx::query("UPDATE consumer_checkpoints SET last_seq = 0 WHERE consumer = $1")
        .bind(CONSUMER)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM order_views").execute(&mut *tx).await?;
    sqlx::query("DELETE FROM notifications").execute(&mut *tx).await?;
    tx.commit().await?;
    let head = eventlog::head(db).await?;
    let runner = ConsumerRunner::new(
        db.clone(),
        Arc::new(OrderProjections),
        RunnerConfig::new(instance),
        Arc::new(Notify::new()),
    );
    runner.register().await?;
    loop {
        match runner.step().await.map_err(|e| OrderingError::Storage(e.to_string()))? {
            StepOutcome::Applied(0) => break,
            StepOutcome::Applied(_) => {}
            // A fresh runner is never stopped; there is nothing to wait for.
            StepOutcome::Stopped => break,
            StepOutcome::NotLeader => {
                // Another instance holds the lease; it replays. Wait for it.
                if wait_for(db, head, 60_000).await {
                    break;
                }
                return Err(OrderingError::Storage(
                    "the projections did not catch up within 60 s".into(),
                ));
            }
        }
    }
    runner.release_lease().await?;
    Ok(head)
}
