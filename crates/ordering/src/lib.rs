//! The order from cart to doorstep (issue 4; requirements F1–F13).
//!
//! - [`cart`]: one cart per customer per store, kept in the database.
//! - [`checkout`]: synchronous payment (F3): the order is stored
//!   payment-pending under an idempotency key, the gateway authorizes, then one
//!   transaction marks it placed, reserves stock and appends `OrderPlaced`.
//! - [`lifecycle`]: accept, reject, ready, cancel, claim, pick up, deliver,
//!   collect — the domain state machine decides, the change and its event
//!   commit together, and compensations (stock back) ride in the same transaction.
//! - [`payment`]: the payment port and the sandbox gateway.
//! - [`settlement`]: the consumer that captures on completion and voids on
//!   reject or cancel (F7, F13).
//! - [`views`]: the projections every screen reads (order views,
//!   notifications), built only from the event log (F9, F10).
//! - [`reviews`]: one review per completed order (F11).

pub mod cart;
pub mod checkout;
pub mod lifecycle;
pub mod live;
pub mod payment;
pub mod reconcile;
pub mod reviews;
pub mod settlement;
pub mod views;

use domain::text::FieldError;
use domain::{DeliveryType, OrderError, Role, UserId};

/// Who is asking, as the session established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user.
    pub id: UserId,
    /// Their role.
    pub role: Role,
    /// A rider's vehicle.
    pub vehicle: Option<DeliveryType>,
    /// Their display name.
    pub name: String,
}

/// Why an ordering request did not go through. Every variant carries a
/// message a user can act on; none of them leaves anything half-written.
#[derive(Debug, thiserror::Error)]
pub enum OrderingError {
    /// Form fields that are wrong, one message per field (nothing was tried).
    #[error("please correct the highlighted fields")]
    Invalid(Vec<FieldError>),
    /// The request breaks a rule of the shop: the store is closed, an item is
    /// sold out, the cart is empty, … (nothing was charged or changed).
    #[error("{0}")]
    Rejected(String),
    /// No such order, item or store — or it is someone else's.
    #[error("{0}")]
    NotFound(String),
    /// The order's state machine refused the command (F5–F7).
    #[error(transparent)]
    Refused(#[from] OrderError),
    /// The card was declined; the message comes from the gateway.
    #[error("{0}")]
    PaymentDeclined(String),
    /// The payment service failed or was too slow; try again shortly (N2).
    #[error("{0}")]
    PaymentUnavailable(String),
    /// The database or the event log failed.
    #[error("storage failed: {0}")]
    Storage(String),
}

impl From<sqlx::Error> for OrderingError {
    fn from(e: sqlx::Error) -> Self {
        OrderingError::Storage(e.to_string())
    }
}

impl From<db::DbError> for OrderingError {
    fn from(e: db::DbError) -> Self {
        OrderingError::Storage(e.to_string())
    }
}

impl From<eventlog::EventLogError> for OrderingError {
    fn from(e: eventlog::EventLogError) -> Self {
        OrderingError::Storage(e.to_string())
    }
}

impl From<serde_json::Error> for OrderingError {
    fn from(e: serde_json::Error) -> Self {
        OrderingError::Storage(format!("stored document: {e}"))
    }
}

/// The message for an order id nobody may see.
pub(crate) fn no_such_order() -> OrderingError {
    OrderingError::NotFound("There is no such order.".into())
}
