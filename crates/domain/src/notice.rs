//! What a notification says (requirement F10; seeds 002, 003, 004: "주문상태가
//! 바뀔 때 마다 카톡으로 알림을 보낸다").
//!
//! A notification is stored as what happened — a [`Notice`] with its
//! parameters — and put into words only when it is shown, so the words can
//! change (and, later, the reader's language) without rewriting history.

use crate::order::RejectReason;
use crate::{Fulfilment, Money, OrderId, PaymentMethod, StoreKind};
use serde::{Deserialize, Serialize};

/// What happened, for whom, with what to say about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// To the customer: the order reached the store.
    OrderPlaced {
        /// The store's name.
        store: String,
    },
    /// To the owner: a new order came in.
    NewOrder {
        /// Units ordered.
        units: u32,
        /// What the customer paid, in won.
        total: Money,
        /// Delivery (by which vehicle) or pickup.
        fulfilment: Fulfilment,
    },
    /// To the customer: the store accepted and is preparing it.
    OrderAccepted {
        /// The store's name.
        store: String,
        /// Estimated minutes until ready.
        prep_minutes: u16,
        /// The store's kind, for its words (issue 11); a restaurant's in
        /// notices written before.
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
        /// A repair shop's estimate, in won (seed 001).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimate: Option<Money>,
    },
    /// To the customer: the store declined; the payment was released.
    OrderRejected {
        /// The store's name.
        store: String,
        /// Why.
        reason: RejectReason,
    },
    /// To the customer of a pickup order: come and collect it (F12).
    ReadyForPickup {
        /// The store's name.
        store: String,
        /// Where to collect it.
        address: String,
        /// The store's kind, for its words (issue 11); a restaurant's in
        /// notices written before.
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
        /// A repair's final amount, in won (seed 001).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        final_amount: Option<Money>,
    },
    /// To the customer of a delivery order: ready, waiting for the rider.
    ReadyForRider {
        /// A repair's final amount, in won (seed 001).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        final_amount: Option<Money>,
    },
    /// To the customer: the repair is done at a price above what their card
    /// holds; approve it or not on the order's page (seed 001).
    FinalAmountProposed {
        /// The store's name.
        store: String,
        /// The final amount asked for, in won.
        amount: Money,
        /// What the card holds, in won.
        authorized: Money,
    },
    /// To the owner: the customer approved the higher final amount; the
    /// repair counts as done.
    FinalAmountApproved {
        /// The amount, in won.
        amount: Money,
    },
    /// To the owner: the customer declined the higher final amount; finish
    /// at most at what is held.
    FinalAmountDeclined {
        /// The amount declined, in won.
        amount: Money,
        /// What the card holds, in won.
        authorized: Money,
    },

    /// To the customer: cancelled (the release of the payment follows as
    /// [`Notice::PaymentReleased`]).
    OrderCancelled,
    /// To the owner, written before [`Notice::StoreOrderCancelled`]: the
    /// customer cancelled.
    CancelledByCustomer,
    /// To the owner: someone else cancelled one of the store's orders, which
    /// it may already be preparing; the customer's payment was released
    /// (seed 000: "결제가 취소되면 상점에도 전달된다").
    StoreOrderCancelled {
        /// Who cancelled: the customer or the operator.
        by: crate::Role,
    },
    /// To the customer: the card payment went through and is held, not
    /// charged (seed 002: "결재가 완료됨을 고객에게 알린다").
    PaymentApproved {
        /// The amount held, in won.
        amount: Money,
        /// Card or payroll deduction (a card's, in notices written before).
        #[serde(default = "crate::kinds::card")]
        method: PaymentMethod,
    },
    /// To the customer: the held amount was charged (the order is done).
    PaymentCaptured {
        /// The amount charged, in won.
        amount: Money,
        /// Card or payroll deduction (a card's, in notices written before).
        #[serde(default = "crate::kinds::card")]
        method: PaymentMethod,
    },
    /// To the customer: the hold was released; nothing was charged.
    PaymentReleased {
        /// The amount released, in won.
        amount: Money,
        /// Card or payroll deduction (a card's, in notices written before).
        #[serde(default = "crate::kinds::card")]
        method: PaymentMethod,
    },
    /// To the rider: the job was cancelled; no need to go to the store.
    JobCancelled {
        /// The store's name.
        store: String,
    },
    /// To the customer: a rider took the delivery.
    RiderOnTheWay {
        /// The store's name.
        store: String,
    },
    /// To the customer: the rider has the order.
    PickedUp {
        /// The store's kind, for its words (issue 11); a restaurant's in
        /// notices written before.
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
    },
    /// To the customer: delivered.
    Delivered {
        /// The store's kind, for its words (issue 11); a restaurant's in
        /// notices written before.
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
    },
    /// To the customer: collected at the store.
    Collected,
    /// To the owner: a customer reviewed an order.
    Reviewed {
        /// 1 to 5.
        stars: u8,
    },
}

/// ", final amount ₩…" for a repair that has one.
fn final_words(amount: Option<Money>) -> String {
    amount.map(|a| format!(", final amount {a}")).unwrap_or_default()
}

impl Notice {
    /// The notice in English, about order `order`.
    pub fn english(&self, order: OrderId) -> String {
        match self {
            Notice::OrderPlaced { store } => {
                format!("Order #{order} is placed with {store}. Waiting for the store to accept.")
            }
            Notice::NewOrder {
                units,
                total,
                fulfilment,
            } => {
                let how = match fulfilment {
                    Fulfilment::Delivery(t) => format!("{} delivery", t.label().to_lowercase()),
                    Fulfilment::Pickup => "pickup".into(),
                };
                format!("New order #{order}: {units} item(s), {total}, {how}.")
            }
            // Only repair shops give estimates (seed 001).
            Notice::OrderAccepted {
                store,
                prep_minutes,
                estimate: Some(estimate),
                ..
            } => format!(
                "{store} accepted repair #{order} with an estimate of {estimate}: done in about {prep_minutes} min."
            ),
            Notice::OrderAccepted {
                store,
                prep_minutes,
                kind,
                estimate: None,
            } => match kind {
                StoreKind::FlowerShop => format!(
                    "{store} accepted order #{order} and is arranging it: ready in about {prep_minutes} min."
                ),
                StoreKind::RepairShop => format!(
                    "{store} accepted order #{order} and is repairing your car: done in about {prep_minutes} min."
                ),
                _ => format!("{store} accepted order #{order}: ready in about {prep_minutes} min."),
            },
            Notice::OrderRejected { store, reason } => format!(
                "{store} could not take order #{order}: {}.",
                reason.message()
            ),
            Notice::ReadyForPickup {
                store,
                address,
                kind,
                final_amount,
            } => match kind {
                StoreKind::Canteen => format!("Your meal (order #{order}) is ready! Collect it at {store}, {address}."),
                StoreKind::RepairShop => format!(
                    "Your car is repaired (order #{order}){}! Collect it at {store}, {address}.",
                    final_words(*final_amount)
                ),
                _ => format!("Your order #{order} is ready! Collect it at {store}, {address}."),
            },
            Notice::ReadyForRider {
                final_amount: Some(amount),
            } => format!(
                "Your car is repaired (order #{order}){}; a driver brings it back.",
                final_words(Some(*amount))
            ),
            Notice::ReadyForRider { final_amount: None } => {
                format!("Order #{order} is ready and waiting for the rider.")
            }
            Notice::FinalAmountProposed {
                store,
                amount,
                authorized,
            } => format!(
                "{store} finished repair #{order} at {amount}, more than the {authorized} held on your card. Approve it or not on the order's page."
            ),
            Notice::FinalAmountApproved { amount } => {
                format!("The customer approved the final amount {amount} for repair #{order}; it counts as done.")
            }
            Notice::FinalAmountDeclined { amount, authorized } => format!(
                "The customer did not approve {amount} for repair #{order}. Finish it at {authorized} or less."
            ),

            Notice::OrderCancelled => format!("Order #{order} is cancelled."),
            Notice::CancelledByCustomer => format!("Order #{order} was cancelled by the customer."),
            Notice::StoreOrderCancelled { by } => {
                let who = match by {
                    crate::Role::Customer => "the customer",
                    _ => "the operator",
                };
                format!(
                    "Order #{order} was cancelled by {who}. Stop preparing it: the customer's payment was released."
                )
            }
            Notice::PaymentApproved {
                amount,
                method: PaymentMethod::Payroll,
            } => format!(
                "Payroll deduction approved: {amount} for order #{order} will be deducted from your pay once you collect it."
            ),
            Notice::PaymentApproved { amount, .. } => format!(
                "Payment approved: {amount} for order #{order} is held on your card. It is charged only when the order is done."
            ),
            Notice::PaymentCaptured {
                amount,
                method: PaymentMethod::Payroll,
            } => format!("{amount} for order #{order} was deducted from your pay."),
            Notice::PaymentCaptured { amount, .. } => {
                format!("Payment complete: {amount} for order #{order} was charged to your card.")
            }
            Notice::PaymentReleased {
                method: PaymentMethod::Payroll,
                ..
            } => format!("Order #{order} is off your payroll: nothing is deducted from your pay."),
            Notice::PaymentReleased { amount, .. } => {
                format!("Payment released: the {amount} held for order #{order} went back to your card. You were not charged.")
            }
            Notice::JobCancelled { store } => {
                format!("The delivery job for order #{order} was cancelled. No need to go to {store}.")
            }
            Notice::RiderOnTheWay { store } => format!("A rider has taken order #{order} and heads to {store}."),
            Notice::PickedUp { kind } => match kind {
                StoreKind::RepairShop => format!("Your car is on its way back to you (order #{order})."),
                StoreKind::FlowerShop => format!("Your flowers (order #{order}) are on the way."),
                _ => format!("Order #{order} is on the way."),
            },
            Notice::Delivered { kind } => match kind {
                StoreKind::RepairShop => {
                    format!("Your car was returned (order #{order}). Tell others how the repair went with a review.")
                }
                _ => format!("Order #{order} was delivered. Enjoy! Tell others how it was with a review."),
            },
            Notice::Collected => {
                format!("You collected order #{order}. Enjoy! Tell others how it was with a review.")
            }
            Notice::Reviewed { stars } => format!("Order #{order} got a {stars}-star review."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_business_speaks_its_own_words_and_old_notices_still_read() {
        let order = OrderId(4);
        let repair = Notice::OrderAccepted {
            store: "카센터".into(),
            prep_minutes: 90,
            kind: StoreKind::RepairShop,
            estimate: None,
        };
        assert!(repair.english(order).contains("repairing your car"));
        let quoted = Notice::OrderAccepted {
            store: "카센터".into(),
            prep_minutes: 90,
            kind: StoreKind::RepairShop,
            estimate: Money::from_won(120_000).ok(),
        };
        assert!(
            quoted.english(order).contains("estimate of ₩120,000"),
            "{}",
            quoted.english(order)
        );
        let old: Notice = serde_json::from_str(r#"{"notice":"payment_captured","amount":5000}"#).expect("old notice");
        assert!(
            old.english(order).contains("charged to your card"),
            "written before payroll: a card"
        );
        let flowers = Notice::PickedUp {
            kind: StoreKind::FlowerShop,
        };
        assert_eq!(flowers.english(order), "Your flowers (order #4) are on the way.");
        let back = Notice::Delivered {
            kind: StoreKind::RepairShop,
        };
        assert!(back.english(order).starts_with("Your car was returned"));
        // Stored before the kind was: a restaurant's words.
        let old: Notice = serde_json::from_str(r#"{"notice":"picked_up"}"#).expect("old notice");
        assert_eq!(
            old,
            Notice::PickedUp {
                kind: StoreKind::Restaurant
            }
        );
        let old: Notice = serde_json::from_str(r#"{"notice":"order_accepted","store":"치킨","prep_minutes":20}"#)
            .expect("old notice");
        assert_eq!(old.english(order), "치킨 accepted order #4: ready in about 20 min.");
    }
}
