//! Who may see which order event live (issue 5): the rules the WebSocket
//! hub applies to every event before it reaches a browser.
//!
//! The parties of an order are read from the ordering context's own tables
//! as they are now; an event is then shown to:
//! - its customer, its store's owner and admins: every event of the order;
//! - a rider of the order's vehicle type: the events that open or close the
//!   job on the board (accepted, ready while still open, taken, rejected,
//!   cancelled) carrying nothing but ids, kind and status;
//! - the rider who took the job: every later event of it.

use db::Db;
use domain::{DeliveryType, OrderStatus, Role, UserId};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::HashMap;

/// One event as a browser receives it. Small on purpose: the page refetches
/// what it shows from the projections, which already include this event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// The event's position in the log; the client resumes after the last it saw.
    pub seq: i64,
    /// The order it is about.
    pub order_id: i64,
    /// The event's kind (`OrderPlaced`, `OrderAccepted`, …).
    pub kind: String,
    /// The order's status after it, when the event changes the status.
    pub status: Option<OrderStatus>,
    /// When it was committed, in unix milliseconds (clients show it; the load
    /// generator measures commit-to-receipt latency with it).
    pub at_ms: i64,
}

/// The people an order concerns, as they are now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parties {
    /// The customer.
    pub customer: UserId,
    /// The store's owner.
    pub owner: UserId,
    /// The vehicle type a delivery needs; `None` for pickup.
    pub vehicle: Option<DeliveryType>,
    /// The rider who took the job, if any.
    pub rider: Option<UserId>,
}

/// Who is watching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    /// The user.
    pub id: UserId,
    /// Their role.
    pub role: Role,
    /// A rider's vehicle.
    pub vehicle: Option<DeliveryType>,
}

/// The status an event of this kind leads to, if it changes the status.
pub fn status_after(kind: &str) -> Option<OrderStatus> {
    Some(match kind {
        "OrderPlaced" => OrderStatus::Placed,
        "PaymentFailed" => OrderStatus::PaymentFailed,
        "OrderAccepted" => OrderStatus::Accepted,
        "OrderRejected" => OrderStatus::Rejected,
        "OrderReady" => OrderStatus::Ready,
        "OrderCancelled" => OrderStatus::Cancelled,
        "OrderPickedUp" => OrderStatus::PickedUp,
        "OrderDelivered" => OrderStatus::Delivered,
        "OrderCollected" => OrderStatus::Collected,
        _ => return None,
    })
}

/// Whether `viewer` may receive an event of `kind` about an order with these `parties`.
pub fn may_see(kind: &str, parties: &Parties, viewer: &Viewer) -> bool {
    if kind == "PaymentFailed" {
        return false; // never reached the store; the customer saw it at checkout
    }
    match viewer.role {
        Role::Admin => true,
        Role::Customer => parties.customer == viewer.id,
        Role::Owner => parties.owner == viewer.id,
        Role::Rider => {
            let Some(vehicle) = parties.vehicle else {
                return false;
            };
            if parties.rider == Some(viewer.id) {
                return true;
            }
            viewer.vehicle == Some(vehicle)
                && match kind {
                    // Open or close a job on every board of that vehicle type.
                    "OrderAccepted" | "RiderAssigned" | "OrderRejected" | "OrderCancelled" => true,
                    "OrderReady" => parties.rider.is_none(),
                    _ => false,
                }
        }
    }
}

/// The parties of each of `orders` (unknown ids are left out).
pub async fn parties(db: &Db, orders: &[i64]) -> Result<HashMap<i64, Parties>, sqlx::Error> {
    let mut out = HashMap::with_capacity(orders.len());
    for chunk in orders.chunks(100) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT o.id, o.customer_id, o.delivery_type, o.rider_id, s.owner_id \
             FROM orders o JOIN stores s ON s.id = o.store_id WHERE o.id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(db.pool()).await? {
            let vehicle: Option<String> = row.try_get("delivery_type")?;
            out.insert(
                row.try_get("id")?,
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

#[cfg(test)]
mod tests {
    use super::*;

    const CUSTOMER: UserId = UserId(1);
    const OWNER: UserId = UserId(2);
    const RIDER: UserId = UserId(3);
    const OTHER: UserId = UserId(9);

    fn viewer(id: UserId, role: Role, vehicle: Option<DeliveryType>) -> Viewer {
        Viewer { id, role, vehicle }
    }

    fn delivery(rider: Option<UserId>) -> Parties {
        Parties {
            customer: CUSTOMER,
            owner: OWNER,
            vehicle: Some(DeliveryType::Motorbike),
            rider,
        }
    }

    #[test]
    fn customers_and_owners_see_only_their_own_orders() {
        let p = delivery(None);
        for kind in ["OrderPlaced", "OrderAccepted", "OrderDelivered", "ReviewWritten"] {
            assert!(may_see(kind, &p, &viewer(CUSTOMER, Role::Customer, None)));
            assert!(may_see(kind, &p, &viewer(OWNER, Role::Owner, None)));
            assert!(!may_see(kind, &p, &viewer(OTHER, Role::Customer, None)));
            assert!(!may_see(kind, &p, &viewer(OTHER, Role::Owner, None)));
        }
        assert!(!may_see("PaymentFailed", &p, &viewer(CUSTOMER, Role::Customer, None)));
    }

    #[test]
    fn riders_see_open_jobs_of_their_vehicle_and_then_only_their_own() {
        let moto = viewer(OTHER, Role::Rider, Some(DeliveryType::Motorbike));
        let bike = viewer(OTHER, Role::Rider, Some(DeliveryType::Bicycle));
        let open = delivery(None);
        assert!(!may_see("OrderPlaced", &open, &moto), "not before the store accepts");
        assert!(may_see("OrderAccepted", &open, &moto));
        assert!(!may_see("OrderAccepted", &open, &bike), "F2: another vehicle type");
        let taken = delivery(Some(RIDER));
        assert!(may_see("RiderAssigned", &taken, &moto), "the job leaves every board");
        assert!(!may_see("OrderReady", &taken, &moto));
        assert!(!may_see("OrderPickedUp", &taken, &moto));
        let mine = viewer(RIDER, Role::Rider, Some(DeliveryType::Motorbike));
        assert!(may_see("OrderPickedUp", &taken, &mine));
        let pickup = Parties { vehicle: None, ..open };
        assert!(!may_see("OrderAccepted", &pickup, &moto), "pickup orders have no job");
    }
}
