//! The notification context (requirement F10; seeds 002–004: a message at
//! every status change): the `notifications` consumer writes a [`Notice`] for
//! everyone an event concerns, and each user's inbox reads them.
//!
//! It remembers what it needs of each order to address its notices (who
//! ordered, which store and its owner, pickup or delivery, the rider) in a
//! table of its own, `notification_orders`, filled from the events: it never
//! reads another context's tables or projections, which may be ahead or
//! behind it. Replaying the log rebuilds both tables exactly.

use db::{Db, Tx};
use domain::event::{Event, ReviewEvent};
use domain::notice::Notice;
use domain::shop::Notification;
use domain::{DeliveryEvent, Fulfilment, Money, OrderEvent, OrderId, PaymentEvent, Role, StoreKind, UserId};
use eventlog::{Consumer, ConsumerError, RecordedEvent, StorageError};
use sqlx::Row;

/// The consumer's name (its checkpoint row).
pub const CONSUMER: &str = "notifications";

/// The tables the consumer writes (emptied by a rebuild).
pub const TABLES: &[&str] = &["notifications", "notification_orders"];

/// Writes `notifications` (and its memory of the orders) from the log.
///
/// It also keeps the facts that never change after `OrderPlaced` (who,
/// which store, pickup or delivery) in memory, so addressing a notice
/// rarely asks the database; the rider, which changes, is read from the
/// table when it matters.
#[derive(Default)]
pub struct Notifications {
    placed: std::sync::Mutex<std::collections::HashMap<OrderId, Facts>>,
}

/// The most orders whose facts [`Notifications`] keeps in memory.
const REMEMBERED_ORDERS: usize = 20_000;

impl Notifications {
    /// The facts of `order`: from memory, or from `notification_orders`
    /// (then remembered). `fresh` reads the table (for the rider).
    async fn facts(&self, tx: &mut Tx, order: OrderId, fresh: bool) -> Result<Option<Facts>, ConsumerError> {
        if !fresh {
            if let Some(known) = self.placed.lock().ok().and_then(|m| m.get(&order).cloned()) {
                return Ok(Some(known));
            }
        }
        let found = facts(tx, order).await?;
        if let Some(found) = &found {
            self.remember(order, found.clone());
        }
        Ok(found)
    }

    fn remember(&self, order: OrderId, facts: Facts) {
        if let Ok(mut placed) = self.placed.lock() {
            if placed.len() >= REMEMBERED_ORDERS {
                placed.clear();
            }
            // The rider is read from the table whenever it is needed.
            placed.insert(
                order,
                Facts {
                    rider: None,
                    legacy_rider: false,
                    ..facts
                },
            );
        }
    }
}

/// What the context remembers of an order.
#[derive(Clone)]
struct Facts {
    customer: UserId,
    owner: UserId,
    store: String,
    store_address: String,
    pickup: bool,
    kind: StoreKind,
    rider: Option<UserId>,
    /// The rider was recorded on the order itself (`RiderAssigned`, logs
    /// written before the delivery context): then the order's cancellation
    /// is what tells the rider.
    legacy_rider: bool,
}

async fn facts(tx: &mut Tx, order: OrderId) -> Result<Option<Facts>, ConsumerError> {
    let row = sqlx::query(
        "SELECT customer_id, owner_id, store_name, store_address, pickup, store_kind, rider_id, legacy_rider \
         FROM notification_orders WHERE order_id = $1",
    )
    .bind(order.get())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Facts {
        customer: UserId(row.try_get("customer_id")?),
        owner: UserId(row.try_get("owner_id")?),
        store: row.try_get("store_name")?,
        store_address: row.try_get("store_address")?,
        pickup: db::flag(&row, "pickup")?,
        kind: db::parsed(&row, "store_kind")?,
        rider: row.try_get::<Option<i64>, _>("rider_id")?.map(UserId),
        legacy_rider: db::flag(&row, "legacy_rider")?,
    }))
}

async fn notify(
    tx: &mut Tx,
    record: &RecordedEvent,
    order: OrderId,
    user: UserId,
    notice: Notice,
) -> Result<(), ConsumerError> {
    let notice = serde_json::to_string(&notice).map_err(|e| ConsumerError::Storage(e.into()))?;
    sqlx::query(
        "INSERT INTO notifications (user_id, seq, order_id, notice, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, seq) DO NOTHING",
    )
    .bind(user.get())
    .bind(record.seq)
    .bind(order.get())
    .bind(notice)
    .bind(record.recorded_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn remember_rider(tx: &mut Tx, order: OrderId, rider: UserId, legacy: bool) -> Result<(), ConsumerError> {
    sqlx::query("UPDATE notification_orders SET rider_id = $2, legacy_rider = $3 WHERE order_id = $1")
        .bind(order.get())
        .bind(rider.get())
        .bind(i64::from(legacy))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl Consumer for Notifications {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    /// The events somebody is told of (the ones [`Consumer::apply`] words).
    fn wants(&self, record: &RecordedEvent) -> bool {
        match record.event() {
            Ok(Event::Order(e)) => !matches!(
                e,
                OrderEvent::OrderAcknowledged { .. } | OrderEvent::PaymentFailed { .. }
            ),
            Ok(Event::Delivery(e)) => matches!(
                e,
                DeliveryEvent::DeliveryJobClaimed { .. } | DeliveryEvent::DeliveryJobCancelled { .. }
            ),
            Ok(Event::Payment(_) | Event::Review(_)) | Err(_) => true,
            Ok(Event::Session(_)) => false,
        }
    }

    async fn apply(&self, tx: &mut Tx, record: &RecordedEvent) -> Result<(), ConsumerError> {
        let event = record.event()?;
        let Some(order) = event.order_id() else {
            return Ok(());
        };
        if let Event::Order(OrderEvent::OrderPlaced { order: placed, .. }) = &event {
            sqlx::query(
                "INSERT INTO notification_orders (order_id, customer_id, owner_id, store_name, store_address, pickup, \
                                                  store_kind) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id) DO NOTHING",
            )
            .bind(order.get())
            .bind(placed.customer.get())
            .bind(placed.owner.get())
            .bind(&placed.store_name)
            .bind(&placed.store_address)
            .bind(i64::from(placed.fulfilment == Fulfilment::Pickup))
            .bind(placed.store_kind.as_str())
            .execute(&mut **tx)
            .await?;
            self.remember(
                order,
                Facts {
                    customer: placed.customer,
                    owner: placed.owner,
                    store: placed.store_name.clone(),
                    store_address: placed.store_address.clone(),
                    pickup: placed.fulfilment == Fulfilment::Pickup,
                    kind: placed.store_kind,
                    rider: None,
                    legacy_rider: false,
                },
            );
            let store = placed.store_name.clone();
            notify(tx, record, order, placed.customer, Notice::OrderPlaced { store }).await?;
            let notice = Notice::NewOrder {
                units: placed.lines.iter().map(|l| u32::from(l.quantity)).sum(),
                total: placed.total,
                fulfilment: placed.fulfilment,
                kind: placed.store_kind,
            };
            notify(tx, record, order, placed.owner, notice).await?;
            return Ok(());
        }
        // Every later event is about an order placed before it. A
        // cancellation may have to tell the rider the order recorded.
        let cancelled = matches!(event, Event::Order(OrderEvent::OrderCancelled { .. }));
        let Some(facts) = self.facts(tx, order, cancelled).await? else {
            return Ok(()); // e.g. PaymentFailed: never placed, nobody to tell
        };
        let store = facts.store.clone();
        let to_customer = match event {
            Event::Order(OrderEvent::OrderAccepted {
                prep_minutes, estimate, ..
            }) => Some(Notice::OrderAccepted {
                store,
                prep_minutes,
                kind: facts.kind,
                estimate,
            }),
            Event::Order(OrderEvent::OrderRejected { reason, .. }) => Some(Notice::OrderRejected {
                store,
                reason,
                kind: facts.kind,
            }),
            Event::Order(OrderEvent::OrderReady { final_amount, .. }) => Some(ready(&facts, store, final_amount)),
            Event::Order(OrderEvent::FinalAmountApproved { amount, .. }) => {
                notify(tx, record, order, facts.owner, Notice::FinalAmountApproved { amount }).await?;
                Some(ready(&facts, store, Some(amount)))
            }
            Event::Order(OrderEvent::FinalAmountProposed { amount, authorized, .. }) => {
                Some(Notice::FinalAmountProposed {
                    store,
                    amount,
                    authorized,
                })
            }
            Event::Order(OrderEvent::FinalAmountDeclined { amount, authorized, .. }) => {
                notify(
                    tx,
                    record,
                    order,
                    facts.owner,
                    Notice::FinalAmountDeclined { amount, authorized },
                )
                .await?;
                None
            }
            Event::Order(OrderEvent::OrderCancelled { by, .. }) => {
                if by != Role::Owner {
                    notify(tx, record, order, facts.owner, Notice::StoreOrderCancelled { by }).await?;
                }
                if let (Some(rider), true) = (facts.rider, facts.legacy_rider) {
                    notify(tx, record, order, rider, Notice::JobCancelled { store: store.clone() }).await?;
                }
                Some(Notice::OrderCancelled)
            }
            Event::Order(OrderEvent::RiderAssigned { rider, .. }) => {
                remember_rider(tx, order, rider, true).await?;
                Some(Notice::RiderOnTheWay {
                    store,
                    kind: facts.kind,
                })
            }
            Event::Delivery(DeliveryEvent::DeliveryJobClaimed { rider, .. }) => {
                remember_rider(tx, order, rider, false).await?;
                Some(Notice::RiderOnTheWay {
                    store,
                    kind: facts.kind,
                })
            }
            Event::Delivery(DeliveryEvent::DeliveryJobCancelled { rider: Some(rider), .. }) => {
                notify(tx, record, order, rider, Notice::JobCancelled { store }).await?;
                None
            }
            Event::Order(OrderEvent::OrderPickedUp { .. }) => Some(Notice::PickedUp { kind: facts.kind }),
            Event::Order(OrderEvent::OrderDelivered { .. }) => Some(Notice::Delivered { kind: facts.kind }),
            Event::Order(OrderEvent::OrderCollected { .. }) => Some(Notice::Collected { kind: facts.kind }),
            Event::Payment(PaymentEvent::PaymentAuthorized { amount, method, .. }) => {
                Some(Notice::PaymentApproved { amount, method })
            }
            Event::Payment(PaymentEvent::PaymentCaptured { amount, method, .. }) => {
                Some(Notice::PaymentCaptured { amount, method })
            }
            Event::Payment(PaymentEvent::PaymentReleased { amount, method, .. }) => {
                Some(Notice::PaymentReleased { amount, method })
            }
            Event::Review(ReviewEvent::ReviewWritten { review, .. }) => {
                notify(tx, record, order, facts.owner, Notice::Reviewed { stars: review.stars }).await?;
                None
            }
            _ => None,
        };
        if let Some(notice) = to_customer {
            notify(tx, record, order, facts.customer, notice).await?;
        }
        Ok(())
    }
}

/// What the customer is told when the order is ready: collect it, or the
/// rider (a repair shop's driver) brings it; a repair's final amount too.
fn ready(facts: &Facts, store: String, final_amount: Option<Money>) -> Notice {
    if facts.pickup {
        Notice::ReadyForPickup {
            store,
            address: facts.store_address.clone(),
            kind: facts.kind,
            final_amount,
        }
    } else {
        Notice::ReadyForRider { final_amount }
    }
}

/// A user's notifications, newest first (at most 50).
pub async fn inbox(db: &Db, user: UserId) -> Result<Vec<Notification>, StorageError> {
    let last_read = last_read(db, user).await?;
    let rows = sqlx::query(
        "SELECT seq, order_id, notice, created_at FROM notifications WHERE user_id = $1 ORDER BY seq DESC LIMIT 50",
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
                notice: serde_json::from_str(&r.try_get::<String, _>("notice")?)?,
                created_at_ms: r.try_get("created_at")?,
                unread: seq > last_read,
            })
        })
        .collect()
}

async fn last_read(db: &Db, user: UserId) -> Result<i64, StorageError> {
    Ok(
        sqlx::query_scalar("SELECT last_read_seq FROM notification_reads WHERE user_id = $1")
            .bind(user.get())
            .fetch_optional(db.pool())
            .await?
            .unwrap_or(0),
    )
}

/// How many notifications the user has not seen.
pub async fn unread_count(db: &Db, user: UserId) -> Result<i64, StorageError> {
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
pub async fn mark_read(db: &Db, user: UserId, seq: i64) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO notification_reads (user_id, last_read_seq) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET last_read_seq = CASE \
           WHEN notification_reads.last_read_seq > $2 THEN notification_reads.last_read_seq ELSE $2 END",
    )
    .bind(user.get())
    .bind(seq)
    .execute(db.writer())
    .await?;
    Ok(())
}
