//! The ordering context (issue 4; requirements F1, F3–F8, F12): the order
//! from cart to completion.
//!
//! - [`cart`]: one cart per customer per store, kept in the database.
//! - [`checkout`]: synchronous payment (F3): the order is stored
//!   payment-pending under an idempotency key, the gateway authorizes, then one
//!   transaction marks it placed, reserves stock and appends `OrderPlaced`.
//! - [`lifecycle`]: acknowledge, accept, reject, ready, cancel, collect — the
//!   domain state machine decides, the change and its event commit together,
//!   and compensations (stock back) ride in the same transaction.
//! - [`follow`]: the order follows its delivery job (picked up, delivered).
//! - [`reconcile`]: settles orders a crash or a timeout left payment-pending.
//! - [`repair`]: the customer approves a repair's higher final amount (seed 001).
//!
//! It calls the catalog's stock functions and the payment context's port and
//! records; the other contexts hear its events.

pub mod cart;
pub mod checkout;
pub mod follow;
pub mod lifecycle;
pub mod reconcile;
pub mod repair;

use domain::problem::{Problem, Thing};
use domain::text::FieldError;
use domain::visibility::Viewer;
use domain::{DeliveryType, OrderError, Role, UserId};
use eventlog::StorageError;

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

impl Caller {
    /// The caller as `domain::visibility` sees them.
    pub fn viewer(&self) -> Viewer {
        Viewer {
            id: self.id,
            role: self.role,
            vehicle: self.vehicle,
        }
    }
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
    #[error("refused: {0:?}")]
    Rejected(Problem),
    /// No such order, item or store — or it is someone else's.
    #[error("no such {0:?}")]
    NotFound(Thing),
    /// The order's state machine refused the command (F5–F7).
    #[error(transparent)]
    Refused(#[from] OrderError),
    /// The payment did not go through: the card was declined (the
    /// gateway's reason), or an earlier try of this checkout failed.
    #[error("payment declined: {0:?}")]
    PaymentDeclined(Problem),
    /// The payment service failed or was too slow; try again shortly (N2).
    #[error("the payment service is busy")]
    PaymentUnavailable,
    /// The database or the event log failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for OrderingError {
    fn from(e: sqlx::Error) -> Self {
        OrderingError::Storage(e.into())
    }
}

impl From<db::DbError> for OrderingError {
    fn from(e: db::DbError) -> Self {
        OrderingError::Storage(e.into())
    }
}

impl From<eventlog::EventLogError> for OrderingError {
    fn from(e: eventlog::EventLogError) -> Self {
        OrderingError::Storage(e.into())
    }
}

impl From<serde_json::Error> for OrderingError {
    fn from(e: serde_json::Error) -> Self {
        OrderingError::Storage(e.into())
    }
}

/// The message for an order id nobody may see.
pub(crate) fn no_such_order() -> OrderingError {
    OrderingError::NotFound(Thing::Order)
}
