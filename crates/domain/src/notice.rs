//! What a notification says (requirement F10; seeds 002, 003, 004: "주문상태가
//! 바뀔 때 마다 카톡으로 알림을 보낸다").
//!
//! A notification is stored as what happened — a [`Notice`] with its
//! parameters — and put into words only when it is shown, in the reader's
//! language (issue 12: switching language changes old notifications too).

use crate::order::RejectReason;
use crate::{Fulfilment, Money, PaymentMethod, StoreKind};
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
        /// The store's kind, for its words for delivery and pickup (a
        /// repair shop's 탁송); a restaurant's in notices stored before.
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
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
        /// The store's kind, for its words (what ran out: ingredients,
        /// flowers, parts); a restaurant's in notices stored before.
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
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
        /// The store's kind: at a repair shop the courier is a driver who
        /// brings the car back (seed 001); a restaurant's in notices
        /// written before.
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
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
    Collected {
        /// The store's kind, for its words: a car is collected, not
        /// enjoyed (seed 001); a restaurant's in notices written before.
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
    },
    /// To the owner: a customer reviewed an order.
    Reviewed {
        /// 1 to 5.
        stars: u8,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_written_before_still_read_with_a_restaurant_s_words_and_a_card() {
        let old: Notice = serde_json::from_str(r#"{"notice":"picked_up"}"#).unwrap_or(Notice::OrderCancelled);
        assert_eq!(
            old,
            Notice::PickedUp {
                kind: StoreKind::Restaurant
            }
        );
        let old: Notice = serde_json::from_str(r#"{"notice":"order_accepted","store":"치킨","prep_minutes":20}"#)
            .unwrap_or(Notice::OrderCancelled);
        assert_eq!(
            old,
            Notice::OrderAccepted {
                store: "치킨".into(),
                prep_minutes: 20,
                kind: StoreKind::Restaurant,
                estimate: None
            }
        );
        let old: Notice =
            serde_json::from_str(r#"{"notice":"payment_captured","amount":5000}"#).unwrap_or(Notice::OrderCancelled);
        assert!(matches!(
            old,
            Notice::PaymentCaptured {
                method: PaymentMethod::Card,
                ..
            }
        ));
        let old: Notice = serde_json::from_str(r#"{"notice":"ready_for_rider"}"#).unwrap_or(Notice::OrderCancelled);
        assert_eq!(old, Notice::ReadyForRider { final_amount: None });
        let old: Notice = serde_json::from_str(r#"{"notice":"collected"}"#).unwrap_or(Notice::OrderCancelled);
        assert_eq!(
            old,
            Notice::Collected {
                kind: StoreKind::Restaurant
            }
        );
    }
}
