//! Who may see which order, and which of its events (issue 15, item 8).
//!
//! One rule for every path: the order page and its server functions, the
//! commands (which answer "no such order" to anyone who may not see it, so
//! ids cannot be probed), and the live feed. Before this module each path
//! had its own copy, and the command path let a rider of another vehicle
//! type see an open job and read its vehicle in a 409.
//!
//! - The customer, the store's owner and admins see the whole order.
//! - A rider sees the job they took, and a job still open to riders of
//!   their vehicle type (requirement F2): a delivery order, accepted or
//!   ready, that nobody has taken.
//! - Live, a rider of the job's vehicle type also hears the delivery events
//!   that put a job on their board or take it off (opened, ready while open,
//!   taken, cancelled), so every board stays current. The order's customer
//!   and store hear, of the job, only that a rider took it: the order's own
//!   events tell them the rest.

use crate::delivery::DeliveryEvent;
use crate::event::Event;
use crate::order::OrderEvent;
use crate::{DeliveryType, OrderStatus, Role, UserId};

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

/// Who is looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    /// The user.
    pub id: UserId,
    /// Their role.
    pub role: Role,
    /// A rider's vehicle.
    pub vehicle: Option<DeliveryType>,
}

/// Whether the order is a delivery job for the viewer's vehicle type.
fn fits_vehicle(parties: &Parties, viewer: &Viewer) -> bool {
    parties.vehicle.is_some() && parties.vehicle == viewer.vehicle
}

/// Whether `viewer` may know of this order at all: see its page, and get
/// anything but "no such order" from a command on it.
pub fn may_see_order(parties: &Parties, status: OrderStatus, viewer: &Viewer) -> bool {
    match viewer.role {
        Role::Admin => true,
        Role::Customer => parties.customer == viewer.id,
        Role::Owner => parties.owner == viewer.id,
        Role::Rider => {
            parties.rider == Some(viewer.id)
                || (parties.rider.is_none()
                    && fits_vehicle(parties, viewer)
                    && matches!(status, OrderStatus::Accepted | OrderStatus::Ready))
        }
    }
}

/// Whether `viewer` may receive, live, `event` about an order with these
/// `parties` (as they are after the event). Session events are never shown.
pub fn may_see_event(event: &Event, parties: &Parties, viewer: &Viewer) -> bool {
    match event {
        Event::Session(_) => return false,
        // Never reached the store; the customer saw it at checkout.
        Event::Order(OrderEvent::PaymentFailed { .. }) => return false,
        // The money is the customer's and the store's business, not the rider's.
        Event::Payment(_)
        | Event::Order(OrderEvent::FinalAmountProposed { .. } | OrderEvent::FinalAmountDeclined { .. })
            if viewer.role == Role::Rider =>
        {
            return false
        }
        _ => {}
    }
    // What the order's customer and store hear of its delivery job.
    let for_the_order = !matches!(
        event,
        Event::Delivery(d) if !matches!(d, DeliveryEvent::DeliveryJobClaimed { .. })
    );
    match viewer.role {
        Role::Admin => true,
        Role::Customer => parties.customer == viewer.id && for_the_order,
        Role::Owner => parties.owner == viewer.id && for_the_order,
        Role::Rider => {
            if parties.vehicle.is_some() && parties.rider == Some(viewer.id) {
                return true;
            }
            fits_vehicle(parties, viewer) && changes_job_board(event, parties)
        }
    }
}

/// Whether `event` puts a job on, or takes it off, the board of every rider
/// of the order's vehicle type (opened, ready while open, taken, cancelled):
/// those riders hear it live even though the job is not theirs. The live
/// hub asks this to know when to look past the order's own parties.
pub fn changes_job_board(event: &Event, parties: &Parties) -> bool {
    match event {
        Event::Delivery(
            DeliveryEvent::DeliveryJobOpened { .. }
            | DeliveryEvent::DeliveryJobClaimed { .. }
            | DeliveryEvent::DeliveryJobCancelled { .. },
        ) => true,
        Event::Delivery(DeliveryEvent::DeliveryJobReady { .. }) => parties.rider.is_none(),
        // Written before the delivery context: a claim.
        Event::Order(OrderEvent::RiderAssigned { .. }) => true,
        _ => false,
    }
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

    const ORDER: crate::OrderId = crate::OrderId(5);

    fn order_event(kind: &str) -> Event {
        let payload = match kind {
            "OrderPlaced" => {
                return Event::Order(OrderEvent::OrderReady {
                    order_id: ORDER,
                    final_amount: None,
                })
            }
            "OrderAccepted" => serde_json::json!({"order_id": 5, "prep_minutes": 10}),
            "OrderDelivered" | "OrderPickedUp" | "RiderAssigned" => serde_json::json!({"order_id": 5, "rider": 3}),
            "ReviewWritten" => {
                serde_json::json!({"order_id": 5, "review": {"stars": 5, "comment": "", "author": "a", "created_at_ms": 1}})
            }
            "PaymentFailed" => serde_json::json!({"order_id": 5, "reason": "declined"}),
            "PaymentAuthorized" | "PaymentCaptured" | "PaymentReleased" => {
                serde_json::json!({"order_id": 5, "amount": 23000})
            }
            _ => serde_json::json!({"order_id": 5}),
        };
        Event::decode(kind, &payload).expect("an event")
    }

    fn job_event(kind: &str) -> Event {
        Event::Delivery(match kind {
            "DeliveryJobOpened" => DeliveryEvent::DeliveryJobOpened {
                order_id: ORDER,
                vehicle: DeliveryType::Motorbike,
            },
            "DeliveryJobReady" => DeliveryEvent::DeliveryJobReady { order_id: ORDER },
            "DeliveryJobClaimed" => DeliveryEvent::DeliveryJobClaimed {
                order_id: ORDER,
                rider: RIDER,
            },
            "DeliveryJobPickedUp" => DeliveryEvent::DeliveryJobPickedUp {
                order_id: ORDER,
                rider: RIDER,
            },
            _ => DeliveryEvent::DeliveryJobCancelled {
                order_id: ORDER,
                rider: None,
            },
        })
    }

    #[test]
    fn customers_and_owners_see_only_their_own_orders() {
        let p = delivery(None);
        for status in OrderStatus::ALL {
            assert!(may_see_order(&p, status, &viewer(CUSTOMER, Role::Customer, None)));
            assert!(may_see_order(&p, status, &viewer(OWNER, Role::Owner, None)));
            assert!(!may_see_order(&p, status, &viewer(OTHER, Role::Customer, None)));
            assert!(!may_see_order(&p, status, &viewer(OTHER, Role::Owner, None)));
            assert!(may_see_order(&p, status, &viewer(OTHER, Role::Admin, None)));
        }
        for kind in [
            "OrderPlaced",
            "OrderAccepted",
            "OrderDelivered",
            "ReviewWritten",
            "PaymentAuthorized",
            "PaymentCaptured",
            "PaymentReleased",
        ] {
            let e = order_event(kind);
            assert!(may_see_event(&e, &p, &viewer(OTHER, Role::Admin, None)));
            assert!(may_see_event(&e, &p, &viewer(CUSTOMER, Role::Customer, None)));
            assert!(may_see_event(&e, &p, &viewer(OWNER, Role::Owner, None)));
            assert!(!may_see_event(&e, &p, &viewer(OTHER, Role::Customer, None)));
            assert!(!may_see_event(&e, &p, &viewer(OTHER, Role::Owner, None)));
        }
        let customer = viewer(CUSTOMER, Role::Customer, None);
        assert!(
            may_see_event(&job_event("DeliveryJobClaimed"), &p, &customer),
            "a rider took it"
        );
        for kind in [
            "DeliveryJobOpened",
            "DeliveryJobReady",
            "DeliveryJobPickedUp",
            "DeliveryJobCancelled",
        ] {
            assert!(
                !may_see_event(&job_event(kind), &p, &customer),
                "{kind}: the order's own events tell"
            );
        }
        let failed = order_event("PaymentFailed");
        assert!(!may_see_event(&failed, &p, &viewer(CUSTOMER, Role::Customer, None)));
        let ended = Event::Session(crate::event::SessionEvent::SessionEnded {
            session: "k".into(),
            user: None,
        });
        assert!(!may_see_event(&ended, &p, &viewer(OTHER, Role::Admin, None)));
    }

    #[test]
    fn riders_never_hear_about_the_money_even_on_their_own_job() {
        let p = delivery(Some(RIDER));
        let rider = viewer(RIDER, Role::Rider, Some(DeliveryType::Motorbike));
        assert!(may_see_event(&order_event("OrderDelivered"), &p, &rider));
        for kind in ["PaymentAuthorized", "PaymentCaptured", "PaymentReleased"] {
            assert!(!may_see_event(&order_event(kind), &p, &rider), "{kind}");
        }
    }

    #[test]
    fn riders_see_open_jobs_of_their_vehicle_only() {
        let moto = viewer(OTHER, Role::Rider, Some(DeliveryType::Motorbike));
        let bike = viewer(OTHER, Role::Rider, Some(DeliveryType::Bicycle));
        let open = delivery(None);
        for status in [OrderStatus::Accepted, OrderStatus::Ready] {
            assert!(may_see_order(&open, status, &moto));
            assert!(!may_see_order(&open, status, &bike), "F2: another vehicle type");
        }
        for status in [OrderStatus::Placed, OrderStatus::Delivered, OrderStatus::Cancelled] {
            assert!(!may_see_order(&open, status, &moto), "not a job while {status:?}");
        }
        let unregistered = viewer(OTHER, Role::Rider, None);
        assert!(!may_see_order(&open, OrderStatus::Ready, &unregistered));
        let pickup = Parties { vehicle: None, ..open };
        assert!(
            !may_see_order(&pickup, OrderStatus::Ready, &moto),
            "pickup orders have no job"
        );
    }

    #[test]
    fn a_taken_job_is_seen_by_its_rider_alone() {
        let taken = delivery(Some(RIDER));
        let mine = viewer(RIDER, Role::Rider, Some(DeliveryType::Motorbike));
        let other = viewer(OTHER, Role::Rider, Some(DeliveryType::Motorbike));
        for status in [OrderStatus::Ready, OrderStatus::PickedUp, OrderStatus::Delivered] {
            assert!(may_see_order(&taken, status, &mine));
            assert!(!may_see_order(&taken, status, &other));
        }
    }

    #[test]
    fn riders_hear_the_events_that_open_and_close_jobs_of_their_vehicle() {
        let moto = viewer(OTHER, Role::Rider, Some(DeliveryType::Motorbike));
        let bike = viewer(OTHER, Role::Rider, Some(DeliveryType::Bicycle));
        let open = delivery(None);
        assert!(
            !may_see_event(&order_event("OrderPlaced"), &open, &moto),
            "not before the store accepts"
        );
        assert!(
            !may_see_event(&order_event("OrderAccepted"), &open, &moto),
            "the job, not the order"
        );
        assert!(may_see_event(&job_event("DeliveryJobOpened"), &open, &moto));
        assert!(may_see_event(&job_event("DeliveryJobReady"), &open, &moto));
        assert!(
            !may_see_event(&job_event("DeliveryJobOpened"), &open, &bike),
            "F2: another vehicle type"
        );
        let taken = delivery(Some(RIDER));
        assert!(
            may_see_event(&job_event("DeliveryJobClaimed"), &taken, &moto),
            "the job leaves every board"
        );
        assert!(!may_see_event(&job_event("DeliveryJobClaimed"), &taken, &bike));
        assert!(!may_see_event(&job_event("DeliveryJobReady"), &taken, &moto));
        assert!(!may_see_event(&job_event("DeliveryJobPickedUp"), &taken, &moto));
        assert!(may_see_event(&job_event("DeliveryJobCancelled"), &taken, &moto));
        let mine = viewer(RIDER, Role::Rider, Some(DeliveryType::Motorbike));
        assert!(may_see_event(&job_event("DeliveryJobPickedUp"), &taken, &mine));
        assert!(may_see_event(&order_event("OrderPickedUp"), &taken, &mine));
        let pickup = Parties { vehicle: None, ..open };
        assert!(
            !may_see_event(&job_event("DeliveryJobOpened"), &pickup, &moto),
            "pickup orders have no job"
        );
    }
}
