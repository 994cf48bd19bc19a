//! Commands on placed orders: accept, reject, mark ready, cancel, claim the
//! delivery job, pick up, deliver, collect (requirements F5–F8, F12).
//!
//! Each runs in one transaction: lock the order, let the domain state machine
//! decide, store the new state, apply the compensation that belongs to the
//! change (stock back on reject and cancel, F7/F8), append the event. The
//! payment side of a compensation (void) and of completion (capture) follows
//! from the event, in [`crate::settlement`].

use crate::{no_such_order, Caller, OrderingError};
use db::{Db, Tx};
use domain::shop::PlacedOrder;
use domain::{Actor, Order, OrderCommand, OrderEvent, OrderId, OrderStatus, Role, StoreId, UserId};
use eventlog::NewEvent;
use sqlx::Row;

/// An order as the write side holds it, locked for the transaction.
pub(crate) struct Locked {
    pub order: Order,
    pub owner: UserId,
    pub placed: PlacedOrder,
}

/// Reads and locks an order inside `tx`; `None` when there is none.
pub(crate) async fn lock(db: &Db, tx: &mut Tx, id: OrderId) -> Result<Option<Locked>, OrderingError> {
    let row = sqlx::query(&format!(
        "SELECT o.customer_id, o.store_id, o.status, o.rider_id, o.placed, s.owner_id \
         FROM orders o JOIN stores s ON s.id = o.store_id WHERE o.id = $1{}",
        if db.backend() == db::Backend::Postgres {
            " FOR UPDATE OF o"
        } else {
            ""
        }
    ))
    .bind(id.get())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let placed: PlacedOrder = serde_json::from_str(&row.try_get::<String, _>("placed")?)?;
    let status: OrderStatus = serde_json::from_value(serde_json::Value::String(row.try_get("status")?))?;
    Ok(Some(Locked {
        order: Order {
            id,
            customer: UserId(row.try_get("customer_id")?),
            store: StoreId(row.try_get("store_id")?),
            fulfilment: placed.fulfilment,
            status,
            rider: row.try_get::<Option<i64>, _>("rider_id")?.map(UserId),
        },
        owner: UserId(row.try_get("owner_id")?),
        placed,
    }))
}

/// Whether `caller` may know this order exists: its customer, its store's
/// owner, its rider, any rider while the delivery job is open, an admin.
/// Everyone else gets "no such order", so ids cannot be probed.
pub(crate) fn may_see(locked: &Locked, caller: &Caller) -> bool {
    let order = &locked.order;
    match caller.role {
        Role::Admin => true,
        Role::Customer => order.customer == caller.id,
        Role::Owner => locked.owner == caller.id,
        Role::Rider => {
            order.rider == Some(caller.id)
                || (order.rider.is_none()
                    && order.fulfilment.delivery_type().is_some()
                    && matches!(order.status, OrderStatus::Accepted | OrderStatus::Ready))
        }
    }
}

/// The domain actor for `caller` on this order.
fn actor(locked: &Locked, caller: &Caller) -> Actor {
    match caller.role {
        Role::Customer => Actor::Customer(caller.id),
        Role::Admin => Actor::Admin(caller.id),
        Role::Owner => Actor::StoreOwner {
            user: caller.id,
            // An owner acts for this order's store only if they own it;
            // otherwise for none, and the state machine refuses.
            store: if locked.owner == caller.id {
                locked.order.store
            } else {
                StoreId(0)
            },
        },
        Role::Rider => match caller.vehicle {
            Some(vehicle) => Actor::Rider {
                user: caller.id,
                vehicle,
            },
            None => Actor::Customer(caller.id),
        },
    }
}

/// Applies `command` by `caller` to order `id` and returns the event's
/// sequence number.
///
/// Errors: [`OrderingError::NotFound`] when there is no such order or the
/// caller may not see it; [`OrderingError::Refused`] with the state machine's
/// reason (wrong status, too late to cancel, job taken, wrong vehicle, …);
/// [`OrderingError::Rejected`] when a rider already has a job on the go.
pub async fn act(db: &Db, id: OrderId, command: &OrderCommand, caller: &Caller) -> Result<i64, OrderingError> {
    let mut tx = db.begin().await?;
    let locked = lock(db, &mut tx, id).await?.ok_or_else(no_such_order)?;
    if !may_see(&locked, caller) {
        return Err(no_such_order());
    }
    let (next, event) = locked.order.handle(command, actor(&locked, caller))?;
    if let OrderEvent::RiderAssigned { rider, .. } = &event {
        // One current job at a time (issue 4).
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders WHERE rider_id = $1 AND status IN ('accepted', 'ready', 'picked_up')",
        )
        .bind(rider.get())
        .fetch_one(&mut *tx)
        .await?;
        if busy > 0 {
            return Err(OrderingError::Rejected(
                "Finish your current delivery before taking another job.".into(),
            ));
        }
    }
    sqlx::query("UPDATE orders SET status = $2, rider_id = $3, updated_at = $4 WHERE id = $1")
        .bind(id.get())
        .bind(next.status.as_str())
        .bind(next.rider.map(UserId::get))
        .bind(db::now_ms())
        .execute(&mut *tx)
        .await?;
    if matches!(
        event,
        OrderEvent::OrderRejected { .. } | OrderEvent::OrderCancelled { .. }
    ) {
        restore_stock(&mut tx, &locked.placed).await?;
    }
    let seqs = eventlog::append(&mut tx, &[NewEvent::order(&event)?]).await?;
    tx.commit().await?;
    let seq = seqs.first().copied().unwrap_or_default();
    tracing::info!(order_id = id.get(), seq, event = event.kind(), "order changed");
    Ok(seq)
}

/// Puts the ordered units back on the shelf (F8: cancel restores stock).
async fn restore_stock(tx: &mut Tx, placed: &PlacedOrder) -> Result<(), sqlx::Error> {
    for line in &placed.lines {
        sqlx::query("UPDATE menu_items SET stock = stock + $2 WHERE id = $1 AND stock IS NOT NULL")
            .bind(line.item.get())
            .bind(i64::from(line.quantity))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// An owner has seen a new order (tapped the dashboard alarm): appends
/// `OrderAcknowledged`, which silences the alarm on every tablet of the store
/// (issue 5). Returns the event's sequence number, or `None` when the order
/// is no longer waiting (accepting or rejecting already acknowledged it).
///
/// Errors: [`OrderingError::NotFound`] unless `caller` owns the order's store.
pub async fn acknowledge(db: &Db, id: OrderId, caller: &Caller) -> Result<Option<i64>, OrderingError> {
    let mut tx = db.begin().await?;
    let locked = lock(db, &mut tx, id).await?.ok_or_else(no_such_order)?;
    if caller.role != Role::Owner || locked.owner != caller.id {
        return Err(no_such_order());
    }
    if locked.order.status != OrderStatus::Placed {
        return Ok(None);
    }
    let seqs = eventlog::append(
        &mut tx,
        &[NewEvent {
            stream: "order",
            stream_id: id.get(),
            correlation_id: Some(id.get()),
            kind: "OrderAcknowledged".into(),
            payload: serde_json::json!({ "order_id": id.get(), "by": caller.id.get() }),
        }],
    )
    .await?;
    tx.commit().await?;
    Ok(seqs.first().copied())
}
