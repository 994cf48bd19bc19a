//! The order lifecycle (DESIGN.md §2, "Order lifecycle") as a pure state machine.
//!
//! ```text
//! checkout ─► PaymentPending ─► Placed ─► Accepted (cooking) ─► Ready ─► PickedUp ─► Delivered
//!                   │              │  │          │                 └─(pickup orders)─► Collected
//!                   ▼              ▼  ▼          ▼
//!             PaymentFailed  Rejected Cancelled  Cancelled
//! ```
//!
//! [`Order::handle`] takes the current state, a command and the actor issuing it,
//! and returns the new state with the one event that records the change, or an
//! [`OrderError`] that says why not. Nothing here touches storage: the ordering
//! context persists the new state and appends the event in one transaction.
//!
//! Riders do not act on orders: they act on delivery jobs
//! ([`crate::delivery`]), and the order follows the job's events (picked up,
//! delivered) through commands the platform issues (`RecordPickUp`,
//! `RecordDelivery`).

use crate::shop::PlacedOrder;
use crate::text::{clean_text, TextError};
use crate::{DeliveryType, Fulfilment, Money, OrderId, Role, StoreId, StoreKind, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Stored under an idempotency key while the payment gateway authorizes (F3).
    /// The store never sees an order in this state.
    PaymentPending,
    /// The gateway declined; the order never reached the store. Terminal.
    PaymentFailed,
    /// Paid (authorized) and sent to the store (F4).
    Placed,
    /// The store accepted it and is cooking (F5).
    Accepted,
    /// Cooking is done: a rider may pick it up, or the customer collects it (F6, F12).
    Ready,
    /// A rider has it on the way (F6).
    PickedUp,
    /// Handed to the customer by the rider. Terminal; payment is captured (F13).
    Delivered,
    /// Collected by the customer at the store (pickup orders). Terminal (F12, F13).
    Collected,
    /// The store declined it; the authorization is voided. Terminal (F5, F7).
    Rejected,
    /// Cancelled by the customer before cooking finished. Terminal (F7).
    Cancelled,
}

impl OrderStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [OrderStatus; 10] = [
        OrderStatus::PaymentPending,
        OrderStatus::PaymentFailed,
        OrderStatus::Placed,
        OrderStatus::Accepted,
        OrderStatus::Ready,
        OrderStatus::PickedUp,
        OrderStatus::Delivered,
        OrderStatus::Collected,
        OrderStatus::Rejected,
        OrderStatus::Cancelled,
    ];

    /// No command changes an order in a terminal status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::PaymentFailed
                | OrderStatus::Delivered
                | OrderStatus::Collected
                | OrderStatus::Rejected
                | OrderStatus::Cancelled
        )
    }

    /// The work was done: the customer may review it (F11) and payment is captured (F13).
    pub fn is_completed(self) -> bool {
        matches!(self, OrderStatus::Delivered | OrderStatus::Collected)
    }

    /// The stable machine name (`snake_case`), as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PaymentPending => "payment_pending",
            OrderStatus::PaymentFailed => "payment_failed",
            OrderStatus::Placed => "placed",
            OrderStatus::Accepted => "accepted",
            OrderStatus::Ready => "ready",
            OrderStatus::PickedUp => "picked_up",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Collected => "collected",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a store declined an order (F5); shown to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "text")]
pub enum RejectReason {
    /// An ingredient or item ran out.
    SoldOut,
    /// The kitchen cannot take more orders now.
    TooBusy,
    /// The store closes before it could finish.
    ClosingSoon,
    /// Anything else, in the owner's words (1..=200 characters).
    Other(String),
}

impl RejectReason {
    /// The longest free-text reason, in characters.
    pub const MAX_CHARS: usize = crate::limits::REJECT_REASON_CHARS;

    /// Parses the owner's choice (`sold_out`, `too_busy`, `closing_soon` or
    /// `other` with their own words in `text`). The words themselves are
    /// checked when the order is rejected ([`Order::decide`]).
    pub fn parse(reason: &str, text: Option<&str>) -> Result<RejectReason, crate::FieldError> {
        Ok(match reason.trim() {
            "sold_out" => RejectReason::SoldOut,
            "too_busy" => RejectReason::TooBusy,
            "closing_soon" => RejectReason::ClosingSoon,
            "other" => RejectReason::Other(text.unwrap_or_default().to_string()),
            _ => {
                return Err(crate::FieldError::new(
                    "reason",
                    crate::problem::Problem::Choose {
                        what: crate::problem::Choice::RejectReason,
                    },
                ))
            }
        })
    }
}

/// The shortest and longest preparation estimate an owner may give, in minutes.
pub const PREP_MINUTES: std::ops::RangeInclusive<u16> = 1..=180;

/// Something someone asks of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum OrderCommand {
    /// The gateway authorized the payment (system, F3); the order as placed
    /// rides on its event, so every projection can be built from the log.
    ConfirmPayment {
        /// The order as placed: lines, prices, addresses.
        placed: Box<PlacedOrder>,
    },
    /// The gateway declined the payment (system, F3).
    FailPayment {
        /// The gateway's reason, shown to the customer.
        reason: String,
    },
    /// An owner has seen a new order (tapped the dashboard alarm); the alarm
    /// stops on every tablet of the store (issue 5). Changes no status.
    Acknowledge,
    /// The store accepts and starts cooking (owner, F5).
    Accept {
        /// Estimated minutes until ready, within [`PREP_MINUTES`].
        prep_minutes: u16,
        /// A repair shop's estimate of the price, in won (seed 001: the
        /// request is accepted with an estimate); required there, and
        /// `None` for every other kind of store.
        #[serde(default)]
        estimate: Option<Money>,
    },
    /// The store declines (owner, F5).
    Reject {
        /// Why, shown to the customer.
        reason: RejectReason,
    },
    /// Cooking is finished (owner, F6).
    MarkReady {
        /// A repair shop's final amount, in won (seed 001: a repair's price
        /// is known when it is done); required there, `None` elsewhere. At
        /// most the amount held on the customer's card, or the customer is
        /// asked to approve it ([`OrderEvent::FinalAmountProposed`]).
        #[serde(default)]
        final_amount: Option<Money>,
    },
    /// The customer agrees to a repair's final amount above what they
    /// authorized (seed 001); the payment context holds the higher amount
    /// before this is recorded.
    ApproveFinalAmount {
        /// The amount the customer saw and approves, in won: it must be the
        /// one proposed (the shop may have changed it meanwhile).
        amount: Money,
    },
    /// The customer does not agree to a proposed final amount; the shop
    /// must finish at most at the amount held.
    DeclineFinalAmount {
        /// The amount the customer saw and declines, in won.
        amount: Money,
    },
    /// The customer cancels while the store has not finished cooking (F7).
    Cancel,
    /// The customer collected a pickup order at the store (F12).
    Collect,
    /// The delivery job's rider has the food (system, following the
    /// delivery context's `DeliveryJobPickedUp`; F6).
    RecordPickUp {
        /// The rider.
        rider: UserId,
    },
    /// The delivery job's rider handed it over (system, following
    /// `DeliveryJobDelivered`; F6).
    RecordDelivery {
        /// The rider.
        rider: UserId,
    },
}

impl OrderCommand {
    /// The command's stable name (`accept`, `mark_ready`, …): what a
    /// refusal names, for the screens to put in words.
    pub fn name(&self) -> &'static str {
        match self {
            OrderCommand::ConfirmPayment { .. } => "confirm_payment",
            OrderCommand::FailPayment { .. } => "fail_payment",
            OrderCommand::Acknowledge => "acknowledge",
            OrderCommand::Accept { .. } => "accept",
            OrderCommand::Reject { .. } => "reject",
            OrderCommand::MarkReady { .. } => "mark_ready",
            OrderCommand::ApproveFinalAmount { .. } => "approve_final_amount",
            OrderCommand::DeclineFinalAmount { .. } => "decline_final_amount",
            OrderCommand::Cancel => "cancel",
            OrderCommand::Collect => "collect",
            OrderCommand::RecordPickUp { .. } => "pick_up",
            OrderCommand::RecordDelivery { .. } => "deliver",
        }
    }
}

/// Who issues a command, as established by authentication and the accounts
/// context (which checks, for example, that the user owns `store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// The platform itself (payment outcomes, reconciler).
    System,
    /// A customer.
    Customer(UserId),
    /// An owner acting for a store they own.
    StoreOwner {
        /// The owner.
        user: UserId,
        /// The store the owner acts for.
        store: StoreId,
    },
    /// A rider with their vehicle type.
    Rider {
        /// The rider.
        user: UserId,
        /// The vehicle the rider is registered with (F2).
        vehicle: DeliveryType,
    },
    /// A platform operator.
    Admin(UserId),
}

impl Actor {
    /// The actor's role; `None` for the system.
    pub fn role(self) -> Option<Role> {
        match self {
            Actor::System => None,
            Actor::Customer(_) => Some(Role::Customer),
            Actor::StoreOwner { .. } => Some(Role::Owner),
            Actor::Rider { .. } => Some(Role::Rider),
            Actor::Admin(_) => Some(Role::Admin),
        }
    }
}

/// Why a command was refused. Every refusal has a message a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum OrderError {
    /// The command does not apply in the current status.
    #[error("cannot {command} an order that is {status}")]
    NotAllowed {
        /// The command's name ([`OrderCommand::name`]).
        command: String,
        /// The order's current status.
        status: OrderStatus,
    },
    /// Cancel after the store finished cooking (F7).
    #[error("the store has already finished preparing this order, so it can no longer be cancelled")]
    TooLateToCancel,
    /// The actor may not issue this command on this order.
    #[error("not yours to do: {0:?}")]
    Forbidden(NotYours),
    /// A delivery-only command on a pickup order.
    #[error("this is a pickup order; there is nothing to deliver")]
    NotADeliveryOrder,
    /// A pickup-only command on a delivery order.
    #[error("this is a delivery order; a rider hands it over")]
    NotAPickupOrder,
    /// Prep minutes outside [`PREP_MINUTES`].
    #[error("the preparation time must be between 1 and 180 minutes")]
    InvalidPrepMinutes,
    /// Cancel once a repair has started (seed 001: only before the repair starts).
    #[error("the repair has already started, so it can no longer be cancelled; call the shop")]
    RepairStarted,
    /// A repair shop accepted without an estimate, or finished without the
    /// final amount (or another store sent one).
    #[error("repair amount: {0:?}")]
    Amount(AmountRule),
    /// Approving or declining a final amount that is not (or no longer) the
    /// one the shop asks for.
    #[error("the shop has changed the amount it asks for; look at the order again")]
    AmountChanged,
    /// A reason text that is empty, too long or malformed.
    #[error(transparent)]
    InvalidText(#[from] TextError),
}

/// Who may do what an actor was refused (for the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotYours {
    /// Only the payment system settles a payment.
    OnlyThePayment,
    /// Only the store that received the order.
    OnlyTheStore,
    /// Only the customer who placed it cancels it.
    OnlyTheCustomerCancels,
    /// Only the customer answers for a repair's price.
    OnlyTheCustomerAnswers,
    /// Riders act on the delivery job; the order follows it.
    RidersUseTheJob,
    /// A higher amount is approved through the payment (`ordering::repair`).
    ApproveThroughPayment,
}

/// What is wrong with a repair's estimate or final amount (seed 001).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmountRule {
    /// A repair shop accepts with an estimate.
    EstimateRequired,
    /// A repair shop finishes with the final amount.
    FinalAmountRequired,
    /// Outside 1 ..= [`crate::limits::MAX_REPAIR_WON`] won.
    OutOfRange,
    /// Only repair shops give estimates and final amounts.
    OnlyRepairShops,
}

/// What happened to an order. Every event carries the order id, the
/// correlation id that links all events and log lines of one order (N5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum OrderEvent {
    /// The gateway declined; the order never reached the store.
    PaymentFailed {
        /// The order.
        order_id: OrderId,
        /// The gateway's reason.
        reason: String,
    },
    /// Paid and sent to the store, with the whole order (F4, F9).
    OrderPlaced {
        /// The order.
        order_id: OrderId,
        /// The order as placed.
        order: Box<PlacedOrder>,
    },
    /// An owner has seen it (the dashboard alarm stops).
    OrderAcknowledged {
        /// The order.
        order_id: OrderId,
        /// The owner who tapped.
        by: UserId,
    },
    /// The store accepted and started cooking.
    OrderAccepted {
        /// The order.
        order_id: OrderId,
        /// Estimated minutes until ready.
        prep_minutes: u16,
        /// A repair shop's estimate, in won (seed 001).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimate: Option<Money>,
    },
    /// The store declined.
    OrderRejected {
        /// The order.
        order_id: OrderId,
        /// Why.
        reason: RejectReason,
    },
    /// Cooking finished.
    OrderReady {
        /// The order.
        order_id: OrderId,
        /// A repair's final amount, in won: what will be charged (seed 001).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        final_amount: Option<Money>,
    },
    /// The repair is done, at a final amount above what the customer's card
    /// holds: the customer is asked to approve it (seed 001). The status
    /// stays repairing until they do.
    FinalAmountProposed {
        /// The order.
        order_id: OrderId,
        /// The final amount asked for, in won.
        amount: Money,
        /// What the card holds now, in won.
        authorized: Money,
    },
    /// The customer approved the proposed final amount, and their card now
    /// holds it: the repair is done (status ready).
    FinalAmountApproved {
        /// The order.
        order_id: OrderId,
        /// The final amount, in won.
        amount: Money,
    },
    /// The customer declined the proposed final amount; the shop is told.
    FinalAmountDeclined {
        /// The order.
        order_id: OrderId,
        /// The amount declined, in won.
        amount: Money,
        /// What the card still holds, in won: the most the shop may finish at.
        authorized: Money,
    },
    /// Cancelled (payment voided, stock restored, delivery told: F7, F8).
    OrderCancelled {
        /// The order.
        order_id: OrderId,
        /// Who cancelled.
        by: Role,
    },
    /// Recorded before the delivery context existed, when the order kept its
    /// rider itself; now `DeliveryJobClaimed`. Read from old logs, never
    /// decided any more, and changes nothing of the order.
    RiderAssigned {
        /// The order.
        order_id: OrderId,
        /// The rider.
        rider: UserId,
    },
    /// The rider has the food.
    OrderPickedUp {
        /// The order.
        order_id: OrderId,
        /// The rider.
        rider: UserId,
    },
    /// The rider handed it over.
    OrderDelivered {
        /// The order.
        order_id: OrderId,
        /// The rider.
        rider: UserId,
    },
    /// The customer collected it at the store.
    OrderCollected {
        /// The order.
        order_id: OrderId,
    },
}

impl OrderEvent {
    /// The correlation id: the order this event is about.
    pub fn order_id(&self) -> OrderId {
        match self {
            OrderEvent::PaymentFailed { order_id, .. }
            | OrderEvent::OrderPlaced { order_id, .. }
            | OrderEvent::OrderAcknowledged { order_id, .. }
            | OrderEvent::OrderAccepted { order_id, .. }
            | OrderEvent::OrderRejected { order_id, .. }
            | OrderEvent::OrderReady { order_id, .. }
            | OrderEvent::FinalAmountProposed { order_id, .. }
            | OrderEvent::FinalAmountApproved { order_id, .. }
            | OrderEvent::FinalAmountDeclined { order_id, .. }
            | OrderEvent::OrderCancelled { order_id, .. }
            | OrderEvent::RiderAssigned { order_id, .. }
            | OrderEvent::OrderPickedUp { order_id, .. }
            | OrderEvent::OrderDelivered { order_id, .. }
            | OrderEvent::OrderCollected { order_id } => *order_id,
        }
    }

    /// The event's kind as stored in the event log (`"OrderPlaced"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            OrderEvent::PaymentFailed { .. } => "PaymentFailed",
            OrderEvent::OrderPlaced { .. } => "OrderPlaced",
            OrderEvent::OrderAcknowledged { .. } => "OrderAcknowledged",
            OrderEvent::OrderAccepted { .. } => "OrderAccepted",
            OrderEvent::OrderRejected { .. } => "OrderRejected",
            OrderEvent::OrderReady { .. } => "OrderReady",
            OrderEvent::FinalAmountProposed { .. } => "FinalAmountProposed",
            OrderEvent::FinalAmountApproved { .. } => "FinalAmountApproved",
            OrderEvent::FinalAmountDeclined { .. } => "FinalAmountDeclined",
            OrderEvent::OrderCancelled { .. } => "OrderCancelled",
            OrderEvent::RiderAssigned { .. } => "RiderAssigned",
            OrderEvent::OrderPickedUp { .. } => "OrderPickedUp",
            OrderEvent::OrderDelivered { .. } => "OrderDelivered",
            OrderEvent::OrderCollected { .. } => "OrderCollected",
        }
    }

    /// The order's status after this event, when the event changes it: the
    /// state machine's own answer ([`Order::evolve`]), for every screen and
    /// the live feed.
    pub fn status_after(&self) -> Option<OrderStatus> {
        Some(match self {
            OrderEvent::PaymentFailed { .. } => OrderStatus::PaymentFailed,
            OrderEvent::OrderPlaced { .. } => OrderStatus::Placed,
            OrderEvent::OrderAccepted { .. } => OrderStatus::Accepted,
            OrderEvent::OrderRejected { .. } => OrderStatus::Rejected,
            OrderEvent::OrderReady { .. } | OrderEvent::FinalAmountApproved { .. } => OrderStatus::Ready,
            OrderEvent::OrderCancelled { .. } => OrderStatus::Cancelled,
            OrderEvent::OrderPickedUp { .. } => OrderStatus::PickedUp,
            OrderEvent::OrderDelivered { .. } => OrderStatus::Delivered,
            OrderEvent::OrderCollected { .. } => OrderStatus::Collected,
            OrderEvent::OrderAcknowledged { .. }
            | OrderEvent::RiderAssigned { .. }
            | OrderEvent::FinalAmountProposed { .. }
            | OrderEvent::FinalAmountDeclined { .. } => return None,
        })
    }
}

/// The order aggregate: what the state machine needs to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order's id.
    pub id: OrderId,
    /// The customer who placed it.
    pub customer: UserId,
    /// The store it was placed with.
    pub store: StoreId,
    /// Delivery (with a vehicle type) or pickup.
    pub fulfilment: Fulfilment,
    /// Where it is in its life.
    pub status: OrderStatus,
    /// The store's kind: a repair shop accepts with an estimate, finishes
    /// with a final amount and cannot be cancelled once repairing (seed 001).
    pub kind: StoreKind,
    /// What the customer's payment holds, in won: the total at checkout, or
    /// a higher final amount the customer approved.
    pub authorized: Money,
    /// A final amount above [`Order::authorized`] waiting for the
    /// customer's approval, in won.
    pub proposed: Option<Money>,
}

impl Order {
    /// A new order at checkout, waiting for the payment gateway (F3): the
    /// order as priced, whose total the payment will hold.
    pub fn new_pending(id: OrderId, placed: &PlacedOrder) -> Order {
        Order {
            id,
            customer: placed.customer,
            store: placed.store,
            fulfilment: placed.fulfilment,
            status: OrderStatus::PaymentPending,
            kind: placed.store_kind,
            authorized: placed.total,
            proposed: None,
        }
    }

    /// Decides and applies `command` by `actor`: the new state and the event
    /// that records it, or why not. `self` is left unchanged.
    pub fn handle(&self, command: &OrderCommand, actor: Actor) -> Result<(Order, OrderEvent), OrderError> {
        let event = self.decide(command, actor)?;
        Ok((self.evolve(&event), event))
    }

    /// Decides whether `actor` may apply `command` now, and what event it causes.
    /// Who may act is checked before the status, so a stranger learns nothing
    /// about the order's progress.
    pub fn decide(&self, command: &OrderCommand, actor: Actor) -> Result<OrderEvent, OrderError> {
        use OrderCommand as C;
        use OrderStatus as S;
        let order_id = self.id;
        self.authorize(command, actor)?;
        let not_allowed = || OrderError::NotAllowed {
            command: command.name().into(),
            status: self.status,
        };

        match (command, self.status) {
            (C::ConfirmPayment { placed }, S::PaymentPending) => Ok(OrderEvent::OrderPlaced {
                order_id,
                order: placed.clone(),
            }),
            (C::FailPayment { reason }, S::PaymentPending) => {
                let reason = clean_text(reason, crate::problem::TextField::PaymentFailure, 200, false)?;
                Ok(OrderEvent::PaymentFailed { order_id, reason })
            }
            // A new order, or one cancelled under the store's hands (seed
            // 000): the owner has seen it and the alarm stops.
            (C::Acknowledge, S::Placed | S::Cancelled) => {
                let by = match actor {
                    Actor::StoreOwner { user, .. } => user,
                    _ => return Err(not_allowed()),
                };
                Ok(OrderEvent::OrderAcknowledged { order_id, by })
            }
            (C::Accept { prep_minutes, estimate }, S::Placed) => {
                if !PREP_MINUTES.contains(prep_minutes) {
                    return Err(OrderError::InvalidPrepMinutes);
                }
                let estimate = self.repair_amount(*estimate, AmountRule::EstimateRequired)?;
                Ok(OrderEvent::OrderAccepted {
                    order_id,
                    prep_minutes: *prep_minutes,
                    estimate,
                })
            }
            (C::Reject { reason }, S::Placed) => {
                let reason = match reason {
                    RejectReason::Other(text) => RejectReason::Other(clean_text(
                        text,
                        crate::problem::TextField::Reason,
                        RejectReason::MAX_CHARS,
                        false,
                    )?),
                    other => other.clone(),
                };
                Ok(OrderEvent::OrderRejected { order_id, reason })
            }
            (C::MarkReady { final_amount }, S::Accepted) => {
                match self.repair_amount(*final_amount, AmountRule::FinalAmountRequired)? {
                    Some(amount) if amount > self.authorized => Ok(OrderEvent::FinalAmountProposed {
                        order_id,
                        amount,
                        authorized: self.authorized,
                    }),
                    final_amount => Ok(OrderEvent::OrderReady { order_id, final_amount }),
                }
            }
            (C::ApproveFinalAmount { amount }, S::Accepted) => match self.proposed {
                Some(proposed) if proposed == *amount => Ok(OrderEvent::FinalAmountApproved {
                    order_id,
                    amount: *amount,
                }),
                _ => Err(OrderError::AmountChanged),
            },
            (C::DeclineFinalAmount { amount }, S::Accepted) => match self.proposed {
                Some(proposed) if proposed == *amount => Ok(OrderEvent::FinalAmountDeclined {
                    order_id,
                    amount: *amount,
                    authorized: self.authorized,
                }),
                _ => Err(OrderError::AmountChanged),
            },
            (C::Cancel, S::Accepted) if self.kind == StoreKind::RepairShop => Err(OrderError::RepairStarted),
            (C::Cancel, S::Placed | S::Accepted) => Ok(OrderEvent::OrderCancelled {
                order_id,
                by: actor.role().unwrap_or(Role::Admin),
            }),
            (C::Cancel, S::Ready | S::PickedUp) => Err(OrderError::TooLateToCancel),
            (C::Collect, S::Ready) => Ok(OrderEvent::OrderCollected { order_id }),
            (C::RecordPickUp { rider }, S::Ready) => Ok(OrderEvent::OrderPickedUp {
                order_id,
                rider: *rider,
            }),
            (C::RecordDelivery { rider }, S::PickedUp) => Ok(OrderEvent::OrderDelivered {
                order_id,
                rider: *rider,
            }),
            _ => Err(not_allowed()),
        }
    }

    /// Checks that `actor` is someone who may issue `command` on this order at all.
    fn authorize(&self, command: &OrderCommand, actor: Actor) -> Result<(), OrderError> {
        use OrderCommand as C;
        let forbidden = |why: NotYours| Err(OrderError::Forbidden(why));
        match command {
            C::ConfirmPayment { .. } | C::FailPayment { .. } => match actor {
                Actor::System => Ok(()),
                _ => forbidden(NotYours::OnlyThePayment),
            },
            C::Acknowledge | C::Accept { .. } | C::Reject { .. } | C::MarkReady { .. } | C::Collect => match actor {
                Actor::StoreOwner { store, .. } if store == self.store => match (command, self.fulfilment) {
                    (C::Collect, Fulfilment::Delivery(_)) => Err(OrderError::NotAPickupOrder),
                    _ => Ok(()),
                },
                _ => forbidden(NotYours::OnlyTheStore),
            },
            C::Cancel => match actor {
                Actor::Customer(user) if user == self.customer => Ok(()),
                Actor::Admin(_) => Ok(()),
                _ => forbidden(NotYours::OnlyTheCustomerCancels),
            },
            C::ApproveFinalAmount { .. } | C::DeclineFinalAmount { .. } => match actor {
                Actor::Customer(user) if user == self.customer => Ok(()),
                _ => forbidden(NotYours::OnlyTheCustomerAnswers),
            },
            C::RecordPickUp { .. } | C::RecordDelivery { .. } => match (actor, self.fulfilment) {
                (Actor::System, Fulfilment::Delivery(_)) => Ok(()),
                (Actor::System, Fulfilment::Pickup) => Err(OrderError::NotADeliveryOrder),
                _ => forbidden(NotYours::RidersUseTheJob),
            },
        }
    }

    /// Applies an event that [`Order::decide`] produced (or that the event log
    /// holds) and returns the resulting state. Rebuilding an order by folding
    /// its events over [`Order::new_pending`] gives its current state.
    pub fn evolve(&self, event: &OrderEvent) -> Order {
        let mut next = self.clone();
        if let Some(status) = event.status_after() {
            next.status = status;
        }
        match event {
            OrderEvent::FinalAmountProposed { amount, .. } => next.proposed = Some(*amount),
            OrderEvent::FinalAmountApproved { amount, .. } => {
                next.proposed = None;
                next.authorized = *amount;
            }
            OrderEvent::FinalAmountDeclined { .. } | OrderEvent::OrderReady { .. } => next.proposed = None,
            _ => {}
        }
        next
    }

    /// A repair shop's amount (an estimate, a final amount): required
    /// there, between 1 won and [`crate::limits::MAX_REPAIR_WON`]; any other
    /// store must not send one.
    fn repair_amount(&self, amount: Option<Money>, missing: AmountRule) -> Result<Option<Money>, OrderError> {
        match (self.kind, amount) {
            (StoreKind::RepairShop, None) => Err(OrderError::Amount(missing)),
            (StoreKind::RepairShop, Some(won)) if won == Money::ZERO || won.won() > crate::limits::MAX_REPAIR_WON => {
                Err(OrderError::Amount(AmountRule::OutOfRange))
            }
            (StoreKind::RepairShop, some) => Ok(some),
            (_, None) => Ok(None),
            (_, Some(_)) => Err(OrderError::Amount(AmountRule::OnlyRepairShops)),
        }
    }
}

#[cfg(test)]
mod tests;
