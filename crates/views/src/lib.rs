//! The view context (requirement F9; DESIGN.md §2 "Views"): the
//! `order_views` projection that `/orders`, `/orders/{id}` and the owner's
//! dashboard read, and who each order concerns, for the live feed.
//!
//! One consumer, `order_views`, writes it from the event log alone: the
//! `OrderPlaced` event carries the whole order, later order events change
//! its status, the delivery job's claim names its rider, the payment's
//! events say where the money stands, a review is shown on it. Times come from the events, so replaying the log into an empty
//! table ([`rebuild`]) gives exactly the same rows.

use db::{Db, Tx};
use domain::event::{Event, ReviewEvent};
use domain::shop::OrderView;
use domain::visibility::{Parties, Viewer};
use domain::{
    DeliveryEvent, DeliveryType, Money, OrderEvent, OrderId, OrderStatus, PaymentEvent, Role, StoreId, UserId,
};
use eventlog::{Consumer, ConsumerError, ConsumerRunner, RecordedEvent, RunnerConfig, StepOutcome, StorageError};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The consumer's name (its checkpoint row).
pub const CONSUMER: &str = "order_views";

/// The tables the consumer writes (emptied by a rebuild).
pub const TABLES: &[&str] = &["order_views"];

/// Builds `order_views` from the log.
pub struct OrderProjection;

/// A value for one column of `order_views`.
enum Value {
    Int(i64),
    Text(String),
    Null,
}

impl From<Option<Money>> for Value {
    fn from(amount: Option<Money>) -> Value {
        amount.map_or(Value::Null, |a| Value::Int(a.won()))
    }
}

/// Sets `columns` (the status among them, when given) of the event's order
/// view in one statement; `updated_at` becomes the event's time.
async fn set(
    tx: &mut Tx,
    record: &RecordedEvent,
    order: OrderId,
    status: Option<OrderStatus>,
    columns: Vec<(&'static str, Value)>,
) -> Result<(), ConsumerError> {
    let mut columns = columns;
    if let Some(status) = status {
        columns.push(("status", Value::Text(status.as_str().to_string())));
    }
    if columns.is_empty() {
        return Ok(());
    }
    // The columns are this module's constants, never input.
    let assignments: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!("{column} = ${}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE order_views SET updated_at = $2, {} WHERE order_id = $1",
        assignments.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(order.get()).bind(record.recorded_at);
    for (_, value) in columns {
        query = match value {
            Value::Int(v) => query.bind(v),
            Value::Text(v) => query.bind(v),
            Value::Null => query.bind(None::<i64>),
        };
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

fn json(value: &impl serde::Serialize) -> Result<String, ConsumerError> {
    serde_json::to_string(value).map_err(|e| ConsumerError::Storage(e.into()))
}

#[async_trait::async_trait]
impl Consumer for OrderProjection {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    /// Every order, payment and review event, and the job's claim (its
    /// rider); the job's other events change nothing here (the order's
    /// own events follow them).
    fn wants(&self, record: &RecordedEvent) -> bool {
        match record.event() {
            Ok(Event::Order(_) | Event::Payment(_) | Event::Review(_)) | Err(_) => true,
            Ok(Event::Delivery(e)) => matches!(e, DeliveryEvent::DeliveryJobClaimed { .. }),
            Ok(Event::Session(_)) => false,
        }
    }

    async fn apply(&self, tx: &mut Tx, record: &RecordedEvent) -> Result<(), ConsumerError> {
        let event = record.event()?;
        let Some(order) = event.order_id() else {
            return Ok(()); // session events
        };
        match event {
            Event::Order(OrderEvent::OrderPlaced { order: placed, .. }) => {
                sqlx::query(
                    "INSERT INTO order_views (order_id, customer_id, store_id, owner_id, delivery_type, status, placed, \
                                              placed_at, updated_at, payment) \
                     VALUES ($1, $2, $3, $4, $5, 'placed', $6, $7, $7, 'authorized') ON CONFLICT (order_id) DO NOTHING",
                )
                .bind(order.get())
                .bind(placed.customer.get())
                .bind(placed.store.get())
                .bind(placed.owner.get())
                .bind(placed.fulfilment.delivery_type().map(DeliveryType::as_str))
                .bind(json(&placed)?)
                .bind(record.recorded_at)
                .execute(&mut **tx)
                .await?;
            }
            Event::Order(
                e @ OrderEvent::OrderAccepted {
                    prep_minutes, estimate, ..
                },
            ) => {
                let ready_by = record.recorded_at + i64::from(prep_minutes) * 60_000;
                let columns = vec![
                    ("prep_minutes", Value::Int(i64::from(prep_minutes))),
                    ("ready_by", Value::Int(ready_by)),
                    ("estimate_won", estimate.into()),
                ];
                set(tx, record, order, e.status_after(), columns).await?;
            }
            Event::Order(ref e @ OrderEvent::OrderRejected { ref reason, .. }) => {
                // The reason itself (not words): each reader's screen words it.
                let columns = vec![("reason", Value::Text(json(reason)?))];
                set(tx, record, order, e.status_after(), columns).await?;
            }
            Event::Order(e @ OrderEvent::OrderCancelled { by, .. }) => {
                // Cancelled under the store's hands: its alarm rings until
                // an owner has seen it (seed 000).
                let columns = vec![
                    ("cancelled_by", Value::Text(by.as_str().to_string())),
                    ("acknowledged", Value::Int(i64::from(by == Role::Owner))),
                ];
                set(tx, record, order, e.status_after(), columns).await?;
            }
            Event::Order(OrderEvent::OrderAcknowledged { .. }) => {
                set(tx, record, order, None, vec![("acknowledged", Value::Int(1))]).await?;
            }
            Event::Order(e @ OrderEvent::OrderReady { final_amount, .. }) => {
                let columns = vec![("final_won", final_amount.into()), ("proposed_won", Value::Null)];
                set(tx, record, order, e.status_after(), columns).await?;
            }
            Event::Order(OrderEvent::FinalAmountProposed { amount, .. }) => {
                set(tx, record, order, None, vec![("proposed_won", Some(amount).into())]).await?;
            }
            Event::Order(e @ OrderEvent::FinalAmountApproved { amount, .. }) => {
                let columns = vec![("final_won", Some(amount).into()), ("proposed_won", Value::Null)];
                set(tx, record, order, e.status_after(), columns).await?;
            }
            Event::Order(OrderEvent::FinalAmountDeclined { .. }) => {
                set(tx, record, order, None, vec![("proposed_won", Value::Null)]).await?;
            }
            Event::Order(OrderEvent::RiderAssigned { rider, .. })
            | Event::Delivery(DeliveryEvent::DeliveryJobClaimed { rider, .. }) => {
                set(tx, record, order, None, vec![("rider_id", Value::Int(rider.get()))]).await?;
            }
            Event::Order(e) => {
                // Every other order event only moves the status on.
                set(tx, record, order, e.status_after(), Vec::new()).await?;
            }
            Event::Review(ReviewEvent::ReviewWritten { review, .. }) => {
                set(tx, record, order, None, vec![("review", Value::Text(json(&review)?))]).await?;
            }
            Event::Payment(e) => {
                let mut columns = vec![("payment", Value::Text(e.state_after().as_str().to_string()))];
                match e {
                    PaymentEvent::PaymentAuthorized { amount, .. } => columns.push(("held_won", Some(amount).into())),
                    PaymentEvent::PaymentCaptured { amount, .. } => columns.push(("charged_won", Some(amount).into())),
                    PaymentEvent::PaymentReleased { .. } => {}
                }
                set(tx, record, order, None, columns).await?;
            }
            Event::Delivery(_) | Event::Session(_) => {}
        }
        Ok(())
    }
}

const VIEW_COLUMNS: &str =
    "order_id, status, rider_id, placed, prep_minutes, ready_by, reason, review, placed_at, updated_at, acknowledged, \
     payment, cancelled_by, estimate_won, final_won, proposed_won, held_won, charged_won";

fn decode(row: &sqlx::any::AnyRow) -> Result<OrderView, StorageError> {
    let review: Option<String> = row.try_get("review")?;
    let status: String = row.try_get("status")?;
    Ok(OrderView {
        id: OrderId(row.try_get("order_id")?),
        placed: serde_json::from_str(&row.try_get::<String, _>("placed")?)?,
        status: serde_json::from_value(serde_json::Value::String(status))?,
        prep_minutes: row
            .try_get::<Option<i64>, _>("prep_minutes")?
            .and_then(|m| u16::try_from(m).ok()),
        ready_by_ms: row.try_get("ready_by")?,
        reason: row
            .try_get::<Option<String>, _>("reason")?
            .map(|text| serde_json::from_str(&text).unwrap_or(domain::order::RejectReason::Other(text))),
        cancelled_by: row
            .try_get::<Option<String>, _>("cancelled_by")?
            .and_then(|r| r.parse().ok()),
        payment: row
            .try_get::<Option<String>, _>("payment")?
            .and_then(|p| p.parse().ok()),
        rider: row.try_get::<Option<i64>, _>("rider_id")?.map(UserId),
        placed_at_ms: row.try_get("placed_at")?,
        updated_at_ms: row.try_get("updated_at")?,
        review: review.map(|r| serde_json::from_str(&r)).transpose()?,
        acknowledged: db::flag(row, "acknowledged")?,
        estimate: won(row, "estimate_won")?,
        final_amount: won(row, "final_won")?,
        proposed_amount: won(row, "proposed_won")?,
        held: won(row, "held_won")?,
        charged: won(row, "charged_won")?,
    })
}

fn won(row: &sqlx::any::AnyRow, column: &str) -> Result<Option<Money>, StorageError> {
    Ok(row
        .try_get::<Option<i64>, _>(column)?
        .and_then(|won| Money::from_won(won).ok()))
}

async fn fetch(db: &Db, filter: &str, binds: &[i64]) -> Result<Vec<OrderView>, StorageError> {
    let sql = format!("SELECT {VIEW_COLUMNS} FROM order_views WHERE {filter}");
    let mut query = sqlx::query(&sql);
    for b in binds {
        query = query.bind(*b);
    }
    query.fetch_all(db.pool()).await?.iter().map(decode).collect()
}

/// Whether `viewer` may look at this order (`domain::visibility`, the one
/// rule every path uses).
pub fn visible_to(view: &OrderView, viewer: &Viewer) -> bool {
    domain::visibility::may_see_order(&view.parties(), view.status, viewer)
}

/// One order's view, or `None` (not placed yet, or no such order).
pub async fn order(db: &Db, id: OrderId) -> Result<Option<OrderView>, StorageError> {
    Ok(fetch(db, "order_id = $1", &[id.get()]).await?.into_iter().next())
}

/// A customer's orders, newest first (`/orders`), at most 100.
pub async fn of_customer(db: &Db, customer: UserId) -> Result<Vec<OrderView>, StorageError> {
    fetch(
        db,
        "customer_id = $1 ORDER BY order_id DESC LIMIT 100",
        &[customer.get()],
    )
    .await
}

/// A store's orders for the dashboard: everything still in progress (placed,
/// accepted, ready, picked up), oldest first, then today's finished ones.
pub async fn of_store(db: &Db, store: StoreId) -> Result<Vec<OrderView>, StorageError> {
    let since = db::now_ms() - 24 * 3_600_000;
    fetch(
        db,
        "store_id = $1 AND (status IN ('placed', 'accepted', 'ready', 'picked_up') OR updated_at >= $2) \
         ORDER BY order_id LIMIT 200",
        &[store.get(), since],
    )
    .await
}

/// The newest `limit` orders of the whole platform, newest first: the
/// operator's overview on `/admin`, with where each payment stands (issue 11).
pub async fn latest(db: &Db, limit: i64) -> Result<Vec<OrderView>, StorageError> {
    fetch(db, "1 = 1 ORDER BY order_id DESC LIMIT $1", &[limit]).await
}

/// The parties of each of `orders` as the views know them (an order not
/// placed yet is left out): who may see its events live.
pub async fn parties(db: &Db, orders: &[i64]) -> Result<HashMap<i64, Parties>, StorageError> {
    let mut out = HashMap::with_capacity(orders.len());
    for chunk in orders.chunks(100) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT order_id, customer_id, owner_id, delivery_type, rider_id FROM order_views WHERE order_id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(db.pool()).await? {
            let vehicle: Option<String> = row.try_get("delivery_type")?;
            out.insert(
                row.try_get("order_id")?,
                Parties {
                    customer: UserId(row.try_get("customer_id")?),
                    owner: UserId(row.try_get("owner_id")?),
                    vehicle: vehicle.and_then(|v| v.parse().ok()),
                    rider: row.try_get::<Option<i64>, _>("rider_id")?.map(UserId),
                },
            );
        }
    }
    Ok(out)
}

/// The sequence number of the last event every read model in `consumers`
/// includes (0 before any).
pub async fn projected_up_to(db: &Db, consumers: &[&str]) -> Result<i64, StorageError> {
    Ok(eventlog::checkpoint_of_all(db, consumers).await?)
}

/// How often a wait for the read models asks the database although no
/// checkpoint notice came, in milliseconds: covers a notice lost with the
/// listener's connection (issue 14).
pub const WAIT_POLL_MS: u64 = 250;

/// Waits until the read models in `consumers` include event `seq`
/// (read-your-writes after a command), at most `timeout_ms` milliseconds;
/// `false` if they did not.
///
/// Woken by the checkpoints' commits, this replica's or, on PostgreSQL,
/// any replica's ([`db::Db::checkpoints`]): it asks the database once
/// the notices say the checkpoints are there (a rebuild may have moved one
/// back), and every [`WAIT_POLL_MS`] in case a notice was lost.
pub async fn wait_for(db: &Db, consumers: &[&str], seq: i64, timeout_ms: u64) -> bool {
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    let mut heard = db.checkpoints();
    let reached = |known: &db::Checkpoints| consumers.iter().all(|c| known.get(*c).is_some_and(|at| *at >= seq));
    loop {
        match projected_up_to(db, consumers).await {
            Ok(at) if at >= seq => return true,
            Ok(_) => {}
            // The database is away: waiting cannot help (the caller answers now).
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the checkpoints; not waiting for the read models");
                return false;
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let round = left.min(Duration::from_millis(WAIT_POLL_MS));
        if reached(&heard.borrow_and_update()) {
            // The notices are ahead of the database (a rebuild moved a
            // checkpoint back): wait for the next one, or the poll.
            let _ = tokio::time::timeout(round, heard.changed()).await;
        } else {
            let _ = tokio::time::timeout(round, heard.wait_for(reached)).await;
        }
    }
}

/// Empties a projection's `tables` and replays the whole log into it
/// through `consumer`; returns the sequence number it was rebuilt up to. A
/// running server's runner may do the replaying; either way this returns
/// once it has caught up.
///
/// Errors: the database failed, or another instance holding the lease did
/// not catch up within 60 s.
pub async fn rebuild(
    db: &Db,
    instance: &str,
    consumer: Arc<dyn Consumer>,
    tables: &[&str],
) -> Result<i64, StorageError> {
    let name = consumer.name();
    let mut tx = db.begin().await?;
    // Taking the checkpoint row first waits out a batch in flight.
    sqlx::query("UPDATE consumer_checkpoints SET last_seq = 0 WHERE consumer = $1")
        .bind(name)
        .execute(&mut *tx)
        .await?;
    for table in tables {
        // `tables` are the projections' own constants, never input.
        sqlx::query(&format!("DELETE FROM {table}")).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    let head = eventlog::head(db).await?;
    let runner = ConsumerRunner::new(
        db.clone(),
        consumer,
        RunnerConfig::new(instance),
        Arc::new(Notify::new()),
    );
    runner.register().await?;
    loop {
        match runner
            .step()
            .await
            .map_err(|e| StorageError::Value(format!("replaying {name}: {e}")))?
        {
            StepOutcome::Applied(0) => break,
            StepOutcome::Applied(_) => {}
            // A fresh runner is never stopped; there is nothing to wait for.
            StepOutcome::Stopped => break,
            StepOutcome::NotLeader => {
                // Another instance holds the lease; it replays. Wait for it.
                if wait_for(db, &[name], head, 60_000).await {
                    break;
                }
                return Err(StorageError::Value(format!("{name} did not catch up within 60 s")));
            }
        }
    }
    runner.release_lease().await?;
    Ok(head)
}
