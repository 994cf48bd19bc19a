//! Commands on placed orders by their store and their customer: acknowledge,
//! accept, reject, mark ready, cancel, collect (requirements F5–F8, F12).
//! Riders act on the delivery job, and the order follows it ([`crate::follow`]).
//!
//! Each runs in one transaction: lock the order, let the domain state machine
//! decide, store the new state, apply the compensation that belongs to the
//! change (stock back on reject and cancel, F7/F8, through the catalog),
//! append the event. The payment side of a compensation (void) and of
//! completion (capture) follows from the event, in `payment::settlement`;
//! the delivery job's cancellation in the delivery context.

use crate::{no_such_order, Caller, OrderingError};
use db::{Db, Tx};
use domain::shop::PlacedOrder;
use domain::visibility::Parties;
use domain::{
    Actor, MenuItemId, Money, Order, OrderCommand, OrderError, OrderEvent, OrderId, OrderStatus, Role, StoreId, UserId,
};
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
        "SELECT customer_id, store_id, status, placed, authorized_won, proposed_won FROM orders WHERE id = $1{}",
        db.for_update()
    ))
    .bind(id.get())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let placed: PlacedOrder = serde_json::from_str(&row.try_get::<String, _>("placed")?)?;
    let status: OrderStatus = serde_json::from_value(serde_json::Value::String(row.try_get("status")?))?;
    let won = |column: &str| -> Result<Option<Money>, OrderingError> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .and_then(|won| Money::from_won(won).ok()))
    };
    Ok(Some(Locked {
        order: Order {
            id,
            customer: UserId(row.try_get("customer_id")?),
            store: StoreId(row.try_get("store_id")?),
            fulfilment: placed.fulfilment,
            status,
            kind: placed.store_kind,
            authorized: won("authorized_won")?.unwrap_or(placed.total),
            proposed: won("proposed_won")?,
        },
        owner: placed.owner,
        placed,
    }))
}

/// Whether `caller` may know this order exists (`domain::visibility`, the
/// rule the order page and the live feed use too). Everyone else gets "no
/// such order", so ids cannot be probed.
pub(crate) fn may_see(locked: &Locked, caller: &Caller) -> bool {
    let order = &locked.order;
    let parties = Parties {
        customer: order.customer,
        owner: locked.owner,
        vehicle: order.fulfilment.delivery_type(),
        // Riders act on delivery jobs, never here ([`act`] refuses them).
        rider: None,
    };
    domain::visibility::may_see_order(&parties, order.status, &caller.viewer())
}

/// The domain actor for `caller` on this order.
pub(crate) fn actor(locked: &Locked, caller: &Caller) -> Actor {
    match (caller.role, caller.vehicle) {
        (Role::Customer, _) => Actor::Customer(caller.id),
        (Role::Admin, _) => Actor::Admin(caller.id),
        (Role::Owner, _) => Actor::StoreOwner {
            user: caller.id,
            // An owner acts for this order's store only if they own it;
            // otherwise for none, and the state machine refuses.
            store: if locked.owner == caller.id {
                locked.order.store
            } else {
                StoreId(0)
            },
        },
        (Role::Rider, Some(vehicle)) => Actor::Rider {
            user: caller.id,
            vehicle,
        },
        (Role::Rider, None) => Actor::Customer(caller.id),
    }
}

/// Applies `command` by `caller` to order `id` and returns the event's
/// sequence number.
///
/// Errors: [`OrderingError::Refused`] (forbidden) for a rider, whatever the
/// order; [`OrderingError::NotFound`] when there is no such order or the
/// caller may not see it; [`OrderingError::Refused`] with the state machine's
/// reason (wrong status, too late to cancel, not the store's, …).
pub async fn act(db: &Db, id: OrderId, command: &OrderCommand, caller: &Caller) -> Result<i64, OrderingError> {
    if caller.role == Role::Rider {
        // The same answer for every id, so nothing can be probed.
        return Err(OrderError::Forbidden(domain::order::NotYours::RidersUseTheJob).into());
    }
    let mut tx = db.begin().await?;
    let locked = lock(db, &mut tx, id).await?.ok_or_else(no_such_order)?;
    if !may_see(&locked, caller) {
        return Err(no_such_order());
    }
    if let OrderCommand::ApproveFinalAmount { .. } = command {
        // The card's hold must be raised first: `crate::repair::approve`.
        return Err(OrderError::Forbidden(domain::order::NotYours::ApproveThroughPayment).into());
    }
    let (next, event) = locked.order.handle(command, actor(&locked, caller))?;
    let seq = apply(&mut tx, &locked, next, event).await?;
    tx.commit().await?;
    Ok(seq)
}

/// Stores `next` with its compensation and appends `event`, inside `tx`.
pub(crate) async fn apply(tx: &mut Tx, locked: &Locked, next: Order, event: OrderEvent) -> Result<i64, OrderingError> {
    let id = locked.order.id;
    if next.status != locked.order.status {
        sqlx::query("UPDATE orders SET status = $2, updated_at = $3 WHERE id = $1")
            .bind(id.get())
            .bind(next.status.as_str())
            .bind(db::now_ms())
            .execute(&mut **tx)
            .await?;
    }
    if (next.authorized, next.proposed) != (locked.order.authorized, locked.order.proposed) {
        // A repair's final amount asked for, answered or approved (seed 001).
        sqlx::query("UPDATE orders SET authorized_won = $2, proposed_won = $3, updated_at = $4 WHERE id = $1")
            .bind(id.get())
            .bind(next.authorized.won())
            .bind(next.proposed.map(Money::won))
            .bind(db::now_ms())
            .execute(&mut **tx)
            .await?;
    }
    if matches!(
        event,
        OrderEvent::OrderRejected { .. } | OrderEvent::OrderCancelled { .. }
    ) {
        // F8: cancel restores stock.
        let lines: Vec<(MenuItemId, u8)> = locked.placed.lines.iter().map(|l| (l.item, l.quantity)).collect();
        catalog::restore_stock(tx, &lines).await?;
    }
    let kind = event.kind();
    let seq = eventlog::append_event(tx, event).await?;
    tracing::info!(order_id = id.get(), seq, event = kind, "order changed");
    Ok(seq)
}

/// An owner has seen a new order, or an order cancelled by someone else
/// (tapped the dashboard alarm): appends `OrderAcknowledged`, which silences
/// the alarm on every tablet of the store (issue 5; seed 000). Returns the
/// event's sequence number, or `None` when the order is no longer waiting
/// (accepting or rejecting already acknowledged it).
///
/// Errors: [`OrderingError::NotFound`] unless `caller` owns the order's store.
pub async fn acknowledge(db: &Db, id: OrderId, caller: &Caller) -> Result<Option<i64>, OrderingError> {
    let mut tx = db.begin().await?;
    let locked = lock(db, &mut tx, id).await?.ok_or_else(no_such_order)?;
    if caller.role != Role::Owner || locked.owner != caller.id {
        return Err(no_such_order());
    }
    if !matches!(locked.order.status, OrderStatus::Placed | OrderStatus::Cancelled) {
        return Ok(None);
    }
    let (next, event) = locked
        .order
        .handle(&OrderCommand::Acknowledge, actor(&locked, caller))?;
    let seq = apply(&mut tx, &locked, next, event).await?;
    tx.commit().await?;
    Ok(Some(seq))
}
