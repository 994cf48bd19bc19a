//! The payment context (DESIGN.md §2, "Synchronous payment"; requirements
//! F3, F7, F13, N2).
//!
//! - The port, [`PaymentGateway`]: checkout authorizes; completion captures;
//!   rejection and cancellation void (F13: nothing is settled until the work
//!   is done). Every call carries the payment's idempotency key, so a retried
//!   call never charges twice.
//! - [`sandbox`]: the built-in gateway with test cards and injectable faults.
//! - [`guard`]: the gateway behind a timeout and a circuit breaker (N2).
//! - [`ledger`]: our own record of each order's payment (`payments`; only
//!   this crate writes it).
//! - [`settlement`]: the consumer that captures and voids from the order's
//!   events (F7, F13).
//! - [`payroll`]: a canteen's payroll deduction (seed 003): the roster, the
//!   consumer that deducts once collected, the monthly statement.
//! - [`reconcile`]: releases holds the gateway granted after we gave up on it.
//!
//! It hears the order's events and imports nothing of the ordering context;
//! ordering calls it.

pub mod guard;
pub mod ledger;
pub mod payroll;
pub mod reconcile;
pub mod sandbox;
pub mod settlement;

pub use sandbox::{sandbox_database_url, test_cards, SandboxConfig, SandboxGateway, SandboxHold};

/// Why the gateway did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The card issuer said no, and why (shown to the customer in their
    /// language).
    #[error("declined: {}", .0.code())]
    Declined(domain::problem::Decline),
    /// The gateway failed or did not answer; try again later.
    #[error("the payment service is not answering: {0}")]
    Unavailable(String),
}

/// A request to hold an amount on a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// Unique per payment (`order-{id}`): a repeated request returns the first answer.
    pub idempotency_key: String,
    /// The card's 16 digits (already checked with [`domain::shop::card_digits`]).
    pub card_digits: String,
    /// The amount to hold, in won.
    pub amount_won: i64,
}

/// The gateway's port: authorize at checkout, capture on completion, void on
/// reject or cancel. Implementations must be idempotent per key.
#[async_trait::async_trait]
pub trait PaymentGateway: Send + Sync + std::fmt::Debug + 'static {
    /// Holds the amount; returns the authorization id.
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<String, PaymentError>;
    /// Charges `amount_won` of a held amount (the work is done, F13); the
    /// rest of the hold is released. A repair's final amount may be less
    /// than its hold (seed 001); more than the hold is declined.
    async fn capture(&self, authorization_id: &str, amount_won: i64) -> Result<(), PaymentError>;
    /// Raises a hold to `amount_won` on the same card (an incremental
    /// authorization, as card networks allow for repairs and hotels): the
    /// customer approved a repair's higher final amount (seed 001).
    /// Idempotent: raising to the amount it already holds is a success.
    /// Declined when the card does not cover it.
    async fn increase(&self, authorization_id: &str, amount_won: i64) -> Result<(), PaymentError>;
    /// Releases a held amount (rejected or cancelled, F7).
    async fn void(&self, authorization_id: &str) -> Result<(), PaymentError>;
    /// What the gateway answered for `idempotency_key`, if it ever got the
    /// request: `Ok(authorization id)` or the decline. The reconciler asks
    /// this about payments a crash or a timeout left unsettled.
    async fn lookup(&self, idempotency_key: &str) -> Result<Option<Result<String, PaymentError>>, PaymentError>;
    /// Whether a call would be attempted now. `false` while a circuit breaker
    /// is open ([`guard::GuardedGateway`]): checkout then refuses before it
    /// writes anything (N2).
    fn accepting(&self) -> bool {
        true
    }
}
