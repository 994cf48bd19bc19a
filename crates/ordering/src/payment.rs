//! The payment port (DESIGN.md §2, "Synchronous payment") and its built-in
//! sandbox adapter.
//!
//! Checkout authorizes; completion captures; rejection and cancellation void
//! (requirement F13: nothing is settled until the work is done). Every call
//! carries the payment's idempotency key, so a retried call never charges twice.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

pub mod guard;

/// Why the gateway did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaymentError {
    /// The card issuer said no; the message is safe to show the customer.
    #[error("{0}")]
    Declined(String),
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
    /// Settles a held amount (the work is done, F13).
    async fn capture(&self, authorization_id: &str) -> Result<(), PaymentError>;
    /// Releases a held amount (rejected or cancelled, F7).
    async fn void(&self, authorization_id: &str) -> Result<(), PaymentError>;
    /// Whether a call would be attempted now. `false` while a circuit breaker
    /// is open ([`guard::GuardedGateway`]): checkout then refuses before it
    /// writes anything (N2).
    fn accepting(&self) -> bool {
        true
    }
}

/// The documented test cards of the sandbox gateway. Any other card number
/// that passes the Luhn check is approved.
pub mod test_cards {
    /// Approved at once.
    pub const APPROVE: &str = "4242424242424242";
    /// Declined: "Your card was declined."
    pub const DECLINE: &str = "4000000000000002";
    /// Declined: "Insufficient funds."
    pub const INSUFFICIENT_FUNDS: &str = "4000000000009995";
    /// Approved after the sandbox's slow delay ([`super::SandboxConfig::slow_ms`]).
    pub const SLOW: &str = "4000000000000259";
}

/// How the sandbox behaves; faults can be injected for resilience tests and
/// demos, at start (`APP_PAYMENT_LATENCY_MS`, `APP_PAYMENT_FAILURE_RATE`) and
/// at runtime ([`SandboxGateway::set_faults`], the operator's `/admin` page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxConfig {
    /// Extra latency of every call, in milliseconds.
    pub latency_ms: u64,
    /// Share of calls (0.0..=1.0) that fail as [`PaymentError::Unavailable`].
    pub failure_rate: f64,
    /// Latency of the slow test card, in milliseconds.
    pub slow_ms: u64,
}

impl Default for SandboxConfig {
    /// No extra latency, no failures, 3 s for the slow card.
    fn default() -> Self {
        SandboxConfig {
            latency_ms: 0,
            failure_rate: 0.0,
            slow_ms: 3_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    Authorized,
    Captured,
    Voided,
}

#[derive(Debug, Default)]
struct Ledger {
    /// idempotency key -> the first answer.
    answers: HashMap<String, Result<String, PaymentError>>,
    /// authorization id -> state.
    holds: HashMap<String, Hold>,
    authorizations: u64,
    calls: u64,
}

/// An in-process stand-in for a card gateway, with test cards and injectable
/// latency and failures. Its ledger lives in memory, like a real provider's
/// lives on their side.
#[derive(Debug, Default)]
pub struct SandboxGateway {
    config: RwLock<SandboxConfig>,
    ledger: Mutex<Ledger>,
}

impl SandboxGateway {
    /// A sandbox with `config`.
    pub fn new(config: SandboxConfig) -> SandboxGateway {
        SandboxGateway {
            config: RwLock::new(config),
            ledger: Mutex::new(Ledger::default()),
        }
    }

    /// How it behaves now.
    pub fn faults(&self) -> SandboxConfig {
        self.config.read().map(|c| c.clone()).unwrap_or_default()
    }

    /// Changes its latency (milliseconds) and failure rate (clamped to
    /// 0.0..=1.0) from the next call on.
    pub fn set_faults(&self, latency_ms: u64, failure_rate: f64) {
        if let Ok(mut config) = self.config.write() {
            config.latency_ms = latency_ms;
            config.failure_rate = if failure_rate.is_finite() {
                failure_rate.clamp(0.0, 1.0)
            } else {
                0.0
            };
        }
    }

    /// How many calls (authorize, capture, void) reached it, whatever their answer.
    pub fn calls(&self) -> u64 {
        self.ledger.lock().map(|l| l.calls).unwrap_or(0)
    }

    /// How many distinct authorizations it has granted or declined (tests:
    /// a double submit must authorize once).
    pub fn authorization_count(&self) -> u64 {
        self.ledger.lock().map(|l| l.authorizations).unwrap_or(0)
    }

    /// The state of an authorization: `"authorized"`, `"captured"`, `"voided"`, or `None`.
    pub fn hold_state(&self, authorization_id: &str) -> Option<&'static str> {
        let ledger = self.ledger.lock().ok()?;
        ledger.holds.get(authorization_id).map(|h| match h {
            Hold::Authorized => "authorized",
            Hold::Captured => "captured",
            Hold::Voided => "voided",
        })
    }

    async fn delay(&self, slow: bool) -> Result<(), PaymentError> {
        if let Ok(mut ledger) = self.ledger.lock() {
            ledger.calls += 1;
        }
        let config = self.faults();
        let total = config.latency_ms.saturating_add(if slow { config.slow_ms } else { 0 });
        if total > 0 {
            tokio::time::sleep(Duration::from_millis(total)).await;
        }
        if config.failure_rate > 0.0 && rand::random::<f64>() < config.failure_rate {
            return Err(PaymentError::Unavailable("sandbox injected failure".into()));
        }
        Ok(())
    }

    fn ledger(&self) -> Result<std::sync::MutexGuard<'_, Ledger>, PaymentError> {
        self.ledger
            .lock()
            .map_err(|_| PaymentError::Unavailable("sandbox ledger poisoned".into()))
    }

    fn settle(&self, authorization_id: &str, to: Hold) -> Result<(), PaymentError> {
        let mut ledger = self.ledger()?;
        let hold = ledger
            .holds
            .get_mut(authorization_id)
            .ok_or_else(|| PaymentError::Declined(format!("unknown authorization {authorization_id}")))?;
        match (*hold, to) {
            (Hold::Authorized, _) => {
                *hold = to;
                Ok(())
            }
            (current, wanted) if current == wanted => Ok(()), // a retry: idempotent
            (current, wanted) => Err(PaymentError::Declined(format!(
                "cannot {wanted:?} an authorization that is {current:?}"
            ))),
        }
    }
}

#[async_trait::async_trait]
impl PaymentGateway for SandboxGateway {
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<String, PaymentError> {
        if let Some(answer) = self.ledger()?.answers.get(&request.idempotency_key) {
            return answer.clone();
        }
        self.delay(request.card_digits == test_cards::SLOW).await?;
        let mut ledger = self.ledger()?;
        if let Some(answer) = ledger.answers.get(&request.idempotency_key) {
            return answer.clone();
        }
        ledger.authorizations += 1;
        let answer = match request.card_digits.as_str() {
            test_cards::DECLINE => Err(PaymentError::Declined("Your card was declined.".into())),
            test_cards::INSUFFICIENT_FUNDS => Err(PaymentError::Declined(
                "Your card was declined: insufficient funds.".into(),
            )),
            _ if request.amount_won <= 0 => Err(PaymentError::Declined("Nothing to pay.".into())),
            _ => {
                let id = format!("auth_{:06}", ledger.authorizations);
                ledger.holds.insert(id.clone(), Hold::Authorized);
                Ok(id)
            }
        };
        ledger.answers.insert(request.idempotency_key.clone(), answer.clone());
        answer
    }

    async fn capture(&self, authorization_id: &str) -> Result<(), PaymentError> {
        self.delay(false).await?;
        self.settle(authorization_id, Hold::Captured)
    }

    async fn void(&self, authorization_id: &str) -> Result<(), PaymentError> {
        self.delay(false).await?;
        self.settle(authorization_id, Hold::Voided)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(key: &str, card: &str) -> AuthorizeRequest {
        AuthorizeRequest {
            idempotency_key: key.into(),
            card_digits: card.into(),
            amount_won: 10_000,
        }
    }

    #[tokio::test]
    async fn test_cards_approve_or_decline_and_repeats_answer_the_same() {
        let g = SandboxGateway::default();
        let a = g.authorize(&request("k1", test_cards::APPROVE)).await;
        assert!(a.is_ok());
        assert_eq!(g.authorize(&request("k1", test_cards::APPROVE)).await, a);
        assert_eq!(g.authorization_count(), 1);
        assert_eq!(
            g.authorize(&request("k2", test_cards::DECLINE)).await,
            Err(PaymentError::Declined("Your card was declined.".into()))
        );
        assert!(matches!(
            g.authorize(&request("k3", test_cards::INSUFFICIENT_FUNDS)).await,
            Err(PaymentError::Declined(_))
        ));
    }

    #[tokio::test]
    async fn a_hold_is_captured_or_voided_once_and_retries_are_harmless() {
        let g = SandboxGateway::default();
        let id = g.authorize(&request("k", test_cards::APPROVE)).await.expect("approved");
        g.void(&id).await.expect("void");
        g.void(&id).await.expect("void again is a no-op");
        assert_eq!(g.hold_state(&id), Some("voided"));
        assert!(matches!(g.capture(&id).await, Err(PaymentError::Declined(_))));
    }

    #[tokio::test]
    async fn injected_failures_make_the_gateway_unavailable() {
        let g = SandboxGateway::new(SandboxConfig {
            failure_rate: 1.0,
            ..SandboxConfig::default()
        });
        assert!(matches!(
            g.authorize(&request("k", test_cards::APPROVE)).await,
            Err(PaymentError::Unavailable(_))
        ));
    }
}
