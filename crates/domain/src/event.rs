//! Every event the platform records: one typed contract (DESIGN.md §2,
//! "Event log and consumers"; STYLE.md, "events are a typed contract").
//!
//! Each context appends its own events ([`OrderEvent`] from ordering,
//! [`DeliveryEvent`] from delivery, [`ReviewEvent`] from review,
//! [`SessionEvent`] from accounts) and every consumer reads [`Event`] and
//! `match`es on its variants, so a new event is a compile error wherever it
//! must be handled. In the log an event is its kind (the variant's name,
//! written once, by serde) and a JSON payload.

use crate::delivery::DeliveryEvent;
use crate::order::OrderEvent;
use crate::shop::Review;
use crate::{Money, OrderId, UserId};
use serde::{Deserialize, Serialize};

/// A customer reviewed an order (F11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ReviewEvent {
    /// The review, once per completed order.
    ReviewWritten {
        /// The order reviewed.
        order_id: OrderId,
        /// Stars, comment, author.
        review: Review,
    },
}

/// An order's payment moved (payment context; issue 11, "nobody sees the
/// money"): the customer, the store and the operator see where it stands.
/// The amounts are in won.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum PaymentEvent {
    /// The gateway holds the order's total on the customer's card; nothing
    /// is charged yet (seed 002: "결재가 완료됨을 고객에게 알린다"). Appended
    /// right after `OrderPlaced`, in the same transaction.
    PaymentAuthorized {
        /// The order.
        order_id: OrderId,
        /// Card or payroll deduction (a card's, in logs written before).
        #[serde(default = "crate::kinds::card")]
        method: crate::PaymentMethod,
        /// The amount held, in won.
        amount: Money,
    },
    /// The hold was charged: the order was delivered or collected (F13).
    PaymentCaptured {
        /// The order.
        order_id: OrderId,
        /// Card or payroll deduction (a card's, in logs written before).
        #[serde(default = "crate::kinds::card")]
        method: crate::PaymentMethod,
        /// The amount charged, in won.
        amount: Money,
    },
    /// The hold was released without charging: the order was rejected or
    /// cancelled (F7; seed 000: "결제가 취소되면 상점에도 전달된다").
    PaymentReleased {
        /// The order.
        order_id: OrderId,
        /// Card or payroll deduction (a card's, in logs written before).
        #[serde(default = "crate::kinds::card")]
        method: crate::PaymentMethod,
        /// The amount released, in won.
        amount: Money,
    },
}

impl PaymentEvent {
    /// The order whose payment it is.
    pub fn order_id(&self) -> OrderId {
        match self {
            PaymentEvent::PaymentAuthorized { order_id, .. }
            | PaymentEvent::PaymentCaptured { order_id, .. }
            | PaymentEvent::PaymentReleased { order_id, .. } => *order_id,
        }
    }

    /// The amount it is about, in won.
    pub fn amount(&self) -> Money {
        match self {
            PaymentEvent::PaymentAuthorized { amount, .. }
            | PaymentEvent::PaymentCaptured { amount, .. }
            | PaymentEvent::PaymentReleased { amount, .. } => *amount,
        }
    }

    /// How the order is paid.
    pub fn method(&self) -> crate::PaymentMethod {
        match self {
            PaymentEvent::PaymentAuthorized { method, .. }
            | PaymentEvent::PaymentCaptured { method, .. }
            | PaymentEvent::PaymentReleased { method, .. } => *method,
        }
    }

    /// The kind as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            PaymentEvent::PaymentAuthorized { .. } => "PaymentAuthorized",
            PaymentEvent::PaymentCaptured { .. } => "PaymentCaptured",
            PaymentEvent::PaymentReleased { .. } => "PaymentReleased",
        }
    }

    /// Where the payment stands after this event.
    pub fn state_after(&self) -> PaymentState {
        match self {
            PaymentEvent::PaymentAuthorized { .. } => PaymentState::Authorized,
            PaymentEvent::PaymentCaptured { .. } => PaymentState::Captured,
            PaymentEvent::PaymentReleased { .. } => PaymentState::Released,
        }
    }
}

crate::kinds::named_enum!(
    /// Where an order's payment stands, as its customer, store and operator
    /// see it (issue 11). Only placed orders have one: a declined payment
    /// never becomes an order.
    PaymentState, "payment state", {
        /// Held on the card, not charged: the work is not done yet.
        Authorized => "authorized", "Held, not charged yet",
        /// Charged: delivered or collected.
        Captured => "captured", "Charged",
        /// Released without charging: rejected or cancelled.
        Released => "released", "Released, not charged",
    }
);

/// A login session ended (issue 15, item 6): its live sockets close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum SessionEvent {
    /// Logout, or a login that replaced the session.
    SessionEnded {
        /// The session's key (a hash of its id; never the id).
        session: String,
        /// Whose session it was.
        #[serde(default)]
        user: Option<UserId>,
    },
}

/// Any event of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The order's life (ordering context).
    Order(OrderEvent),
    /// The delivery job's life (delivery context).
    Delivery(DeliveryEvent),
    /// The order's payment (payment context).
    Payment(PaymentEvent),
    /// Reviews (review context).
    Review(ReviewEvent),
    /// Login sessions (accounts context).
    Session(SessionEvent),
}

/// An event the log holds that this build cannot read.
#[derive(Debug, thiserror::Error)]
#[error("event {kind}: {source}")]
pub struct UndecodableEvent {
    /// Its kind.
    pub kind: String,
    /// What was wrong with it.
    #[source]
    pub source: serde_json::Error,
}

impl Event {
    /// The kind as stored: the variant's name (`"OrderPlaced"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Order(e) => e.kind(),
            Event::Delivery(e) => e.kind(),
            Event::Payment(e) => e.kind(),
            Event::Review(ReviewEvent::ReviewWritten { .. }) => "ReviewWritten",
            Event::Session(SessionEvent::SessionEnded { .. }) => "SessionEnded",
        }
    }

    /// The stream (kind of aggregate) it belongs to.
    pub fn stream(&self) -> &'static str {
        match self {
            Event::Order(_) => "order",
            Event::Delivery(_) => "delivery",
            Event::Payment(_) => "payment",
            Event::Review(_) => "review",
            Event::Session(_) => "session",
        }
    }

    /// The order whose story it belongs to (the correlation id, N5), if any.
    pub fn order_id(&self) -> Option<OrderId> {
        match self {
            Event::Order(e) => Some(e.order_id()),
            Event::Delivery(e) => Some(e.order_id()),
            Event::Payment(e) => Some(e.order_id()),
            Event::Review(ReviewEvent::ReviewWritten { order_id, .. }) => Some(*order_id),
            Event::Session(_) => None,
        }
    }

    /// The aggregate's id within its stream: the order for order, delivery
    /// and review events (one job and one review per order), the user for
    /// session events.
    pub fn stream_id(&self) -> i64 {
        match self {
            Event::Session(SessionEvent::SessionEnded { user, .. }) => user.map(UserId::get).unwrap_or(0),
            other => other.order_id().map(OrderId::get).unwrap_or(0),
        }
    }

    /// The payload as stored (the variant's fields, with its kind as `type`).
    pub fn payload(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            Event::Order(e) => serde_json::to_value(e),
            Event::Delivery(e) => serde_json::to_value(e),
            Event::Payment(e) => serde_json::to_value(e),
            Event::Review(e) => serde_json::to_value(e),
            Event::Session(e) => serde_json::to_value(e),
        }
    }

    /// Reads an event from its stored kind and payload. The kind decides,
    /// whatever the payload's own `type` says: payloads appended before the
    /// kind was written into them (acknowledgements, reviews, session ends)
    /// read the same.
    pub fn decode(kind: &str, payload: &serde_json::Value) -> Result<Event, UndecodableEvent> {
        let mut payload = payload.clone();
        if let Some(fields) = payload.as_object_mut() {
            fields.insert("type".into(), serde_json::Value::String(kind.to_string()));
        }
        let undecodable = |source| UndecodableEvent {
            kind: kind.chars().take(60).collect(),
            source,
        };
        match kind {
            "ReviewWritten" => serde_json::from_value(payload).map(Event::Review),
            "SessionEnded" => serde_json::from_value(payload).map(Event::Session),
            k if k.starts_with("DeliveryJob") => serde_json::from_value(payload).map(Event::Delivery),
            "PaymentAuthorized" | "PaymentCaptured" | "PaymentReleased" => {
                serde_json::from_value(payload).map(Event::Payment)
            }
            _ => serde_json::from_value(payload).map(Event::Order),
        }
        .map_err(undecodable)
    }
}

impl From<OrderEvent> for Event {
    fn from(e: OrderEvent) -> Event {
        Event::Order(e)
    }
}

impl From<DeliveryEvent> for Event {
    fn from(e: DeliveryEvent) -> Event {
        Event::Delivery(e)
    }
}

impl From<PaymentEvent> for Event {
    fn from(e: PaymentEvent) -> Event {
        Event::Payment(e)
    }
}

impl From<ReviewEvent> for Event {
    fn from(e: ReviewEvent) -> Event {
        Event::Review(e)
    }
}

impl From<SessionEvent> for Event {
    fn from(e: SessionEvent) -> Event {
        Event::Session(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::RejectReason;
    use crate::DeliveryType;
    use serde_json::json;

    fn round_trip(event: Event) {
        let payload = event.payload().expect("payload");
        assert_eq!(payload["type"], event.kind());
        let back = Event::decode(event.kind(), &payload).expect("decode");
        assert_eq!(back, event);
    }

    #[test]
    fn every_kind_of_event_reads_back_as_written() {
        let order = OrderId(7);
        round_trip(
            OrderEvent::OrderAccepted {
                order_id: order,
                prep_minutes: 25,
                estimate: None,
            }
            .into(),
        );
        let estimate = Money::from_won(150_000).expect("won");
        for event in [
            OrderEvent::OrderAccepted {
                order_id: order,
                prep_minutes: 90,
                estimate: Some(estimate),
            },
            OrderEvent::OrderReady {
                order_id: order,
                final_amount: Some(estimate),
            },
            OrderEvent::FinalAmountProposed {
                order_id: order,
                amount: estimate,
                authorized: Money::ZERO,
            },
            OrderEvent::FinalAmountApproved {
                order_id: order,
                amount: estimate,
            },
            OrderEvent::FinalAmountDeclined {
                order_id: order,
                amount: estimate,
                authorized: Money::ZERO,
            },
        ] {
            round_trip(event.into());
        }
        round_trip(
            OrderEvent::OrderRejected {
                order_id: order,
                reason: RejectReason::Other("가스 점검".into()),
            }
            .into(),
        );
        let amount = Money::from_won(23_000).expect("won");
        round_trip(
            PaymentEvent::PaymentAuthorized {
                order_id: order,
                amount,
                method: crate::PaymentMethod::Payroll,
            }
            .into(),
        );
        round_trip(
            PaymentEvent::PaymentCaptured {
                order_id: order,
                amount,
                method: crate::PaymentMethod::Payroll,
            }
            .into(),
        );
        round_trip(
            PaymentEvent::PaymentReleased {
                order_id: order,
                amount,
                method: crate::PaymentMethod::Payroll,
            }
            .into(),
        );
        round_trip(
            DeliveryEvent::DeliveryJobOpened {
                order_id: order,
                vehicle: DeliveryType::Bicycle,
            }
            .into(),
        );
        round_trip(
            DeliveryEvent::DeliveryJobCancelled {
                order_id: order,
                rider: None,
            }
            .into(),
        );
        round_trip(
            ReviewEvent::ReviewWritten {
                order_id: order,
                review: Review {
                    stars: 5,
                    comment: "맛있어요".into(),
                    author: "민준".into(),
                    created_at_ms: 1,
                },
            }
            .into(),
        );
        round_trip(
            SessionEvent::SessionEnded {
                session: "ab".repeat(32),
                user: Some(UserId(3)),
            }
            .into(),
        );
    }

    #[test]
    fn payloads_written_by_earlier_builds_still_read() {
        // Appended without a `type` field (issues 5 and 15).
        let ack = Event::decode("OrderAcknowledged", &json!({"order_id": 4, "by": 2})).expect("ack");
        assert_eq!(
            ack,
            Event::Order(OrderEvent::OrderAcknowledged {
                order_id: OrderId(4),
                by: UserId(2)
            })
        );
        let review = Event::decode(
            "ReviewWritten",
            &json!({"order_id": 4, "review": {"stars": 4, "comment": "", "author": "a", "created_at_ms": 9}}),
        )
        .expect("review");
        assert_eq!(review.order_id(), Some(OrderId(4)));
        let ended = Event::decode("SessionEnded", &json!({"session": "k"})).expect("session");
        assert_eq!(ended.stream_id(), 0);
        // The order kept its rider before the delivery context existed.
        let assigned = Event::decode(
            "RiderAssigned",
            &json!({"type": "RiderAssigned", "order_id": 4, "rider": 9}),
        )
        .expect("legacy");
        assert!(matches!(assigned, Event::Order(OrderEvent::RiderAssigned { .. })));
    }

    #[test]
    fn an_unknown_kind_is_an_error_not_a_guess() {
        let error = Event::decode("SomethingNew", &json!({"order_id": 1})).expect_err("refused");
        assert_eq!(error.kind, "SomethingNew");
    }
}
