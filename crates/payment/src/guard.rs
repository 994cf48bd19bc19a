//! The gateway behind a timeout and a circuit breaker (requirement N2).
//!
//! Every call to the real gateway runs under [`GuardConfig::timeout_ms`]; a
//! timeout or an "unavailable" answer counts as a failure (a decline does
//! not: the gateway answered). After [`GuardConfig::failures`] failures in a
//! row the breaker opens for [`GuardConfig::open_ms`]: calls fail at once
//! without reaching the gateway, and checkout refuses before writing
//! anything ([`PaymentGateway::accepting`]). Then it lets calls through
//! (half-open): the first success closes it, a failure opens it again.
//!
//! The breaker is `failsafe` (consecutive-failures policy, constant open
//! time: its exponential back-off counts in whole seconds); this module only adapts it to the payment port and reports
//! its state for `/metrics` and the operator's page.

use crate::{AuthorizeRequest, PaymentError, PaymentGateway};
use failsafe::backoff::Constant;
use failsafe::failure_policy::ConsecutiveFailures;
use failsafe::futures::CircuitBreaker as _;
use failsafe::{Config, Instrument, StateMachine};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Timeout and breaker thresholds, from the environment
/// (`APP_PAYMENT_TIMEOUT_MS`, `APP_PAYMENT_BREAKER_FAILURES`,
/// `APP_PAYMENT_BREAKER_OPEN_MS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardConfig {
    /// Longest wait for one gateway call, in milliseconds.
    pub timeout_ms: u64,
    /// Failures (timeouts or unavailable) in a row that open the breaker.
    pub failures: u32,
    /// How long the breaker stays open the first time, in milliseconds.
    pub open_ms: u64,
}

impl Default for GuardConfig {
    /// 5 s timeout; open after 5 failures in a row, for 10 s.
    fn default() -> Self {
        GuardConfig {
            timeout_ms: 5_000,
            failures: 5,
            open_ms: 10_000,
        }
    }
}

/// Where the breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail at once without reaching the gateway.
    Open,
    /// Calls go through as probes; a success closes it.
    HalfOpen,
}

impl BreakerState {
    /// `closed`, `open` or `half_open`.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// What the breaker has done, for metrics and the operator.
#[derive(Debug, Default)]
struct Watch {
    state: AtomicU8,
    rejected: AtomicU64,
    opened: AtomicU64,
}

#[derive(Debug, Clone, Default)]
struct Shared(Arc<Watch>);

impl Instrument for Shared {
    fn on_call_rejected(&self) {
        self.0.rejected.fetch_add(1, Ordering::Relaxed);
    }
    fn on_open(&self) {
        self.0.state.store(1, Ordering::Relaxed);
        self.0.opened.fetch_add(1, Ordering::Relaxed);
        tracing::warn!("payment breaker opened: checkout refuses until the gateway recovers");
    }
    fn on_half_open(&self) {
        self.0.state.store(2, Ordering::Relaxed);
        tracing::info!("payment breaker half-open: probing the gateway");
    }
    fn on_closed(&self) {
        self.0.state.store(0, Ordering::Relaxed);
        tracing::info!("payment breaker closed: the gateway answers again");
    }
}

type Breaker = StateMachine<ConsecutiveFailures<Constant>, Shared>;

/// A [`PaymentGateway`] that calls `inner` under a timeout and a circuit breaker.
pub struct GuardedGateway {
    inner: Arc<dyn PaymentGateway>,
    breaker: Breaker,
    watch: Shared,
    timeout: Duration,
}

impl std::fmt::Debug for GuardedGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedGateway")
            .field("inner", &self.inner)
            .field("state", &self.state())
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl GuardedGateway {
    /// Guards `inner` with `config`.
    pub fn new(inner: Arc<dyn PaymentGateway>, config: GuardConfig) -> GuardedGateway {
        let open = Duration::from_millis(config.open_ms.max(1));
        let policy =
            failsafe::failure_policy::consecutive_failures(config.failures.max(1), failsafe::backoff::constant(open));
        let watch = Shared::default();
        GuardedGateway {
            inner,
            breaker: Config::new().failure_policy(policy).instrument(watch.clone()).build(),
            watch,
            timeout: Duration::from_millis(config.timeout_ms.max(1)),
        }
    }

    /// The breaker's state as of its last transition (an open breaker whose
    /// time is up shows `open` until the next call probes).
    pub fn state(&self) -> BreakerState {
        match self.watch.0.state.load(Ordering::Relaxed) {
            1 => BreakerState::Open,
            2 => BreakerState::HalfOpen,
            _ => BreakerState::Closed,
        }
    }

    /// Calls refused without reaching the gateway since start.
    pub fn rejected_calls(&self) -> u64 {
        self.watch.0.rejected.load(Ordering::Relaxed)
    }

    /// How often the breaker has opened since start.
    pub fn times_opened(&self) -> u64 {
        self.watch.0.opened.load(Ordering::Relaxed)
    }

    /// Runs `call` under the timeout and the breaker, and counts its outcome
    /// (`payment_calls_total{operation, outcome}` on `/metrics`).
    async fn guarded<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, PaymentError>>,
    ) -> Result<T, PaymentError> {
        let timeout = self.timeout;
        let timed = async move {
            tokio::time::timeout(timeout, call)
                .await
                .unwrap_or_else(|_| Err(PaymentError::Unavailable(format!("no answer within {timeout:?}"))))
        };
        let counts = |e: &PaymentError| matches!(e, PaymentError::Unavailable(_));
        let (outcome, result) = match self.breaker.call_with(counts, timed).await {
            Ok(value) => ("ok", Ok(value)),
            Err(failsafe::Error::Inner(e @ PaymentError::Declined(_))) => ("declined", Err(e)),
            Err(failsafe::Error::Inner(e)) => ("unavailable", Err(e)),
            Err(failsafe::Error::Rejected) => {
                ("refused", Err(PaymentError::Unavailable("circuit breaker open".into())))
            }
        };
        metrics::counter!("payment_calls_total", "operation" => operation, "outcome" => outcome).increment(1);
        result
    }
}

#[async_trait::async_trait]
impl PaymentGateway for GuardedGateway {
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<String, PaymentError> {
        self.guarded("authorize", self.inner.authorize(request)).await
    }

    async fn capture(&self, authorization_id: &str, amount_won: i64) -> Result<(), PaymentError> {
        self.guarded("capture", self.inner.capture(authorization_id, amount_won))
            .await
    }

    async fn increase(&self, authorization_id: &str, amount_won: i64) -> Result<(), PaymentError> {
        self.guarded("increase", self.inner.increase(authorization_id, amount_won))
            .await
    }

    async fn void(&self, authorization_id: &str) -> Result<(), PaymentError> {
        self.guarded("void", self.inner.void(authorization_id)).await
    }

    async fn lookup(&self, idempotency_key: &str) -> Result<Option<Result<String, PaymentError>>, PaymentError> {
        // A lookup goes through the breaker too: a gateway that is down is
        // not asked again and again by the reconciler.
        self.guarded("lookup", self.inner.lookup(idempotency_key)).await
    }

    fn accepting(&self) -> bool {
        failsafe::futures::CircuitBreaker::is_call_permitted(&self.breaker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{test_cards, SandboxConfig};

    fn request(key: &str) -> AuthorizeRequest {
        AuthorizeRequest {
            idempotency_key: key.into(),
            card_digits: test_cards::APPROVE.into(),
            amount_won: 10_000,
        }
    }

    #[tokio::test]
    async fn failures_open_the_breaker_which_then_spares_the_gateway_until_a_probe_succeeds() {
        let (_t, sandbox) = crate::sandbox::tests::sandbox(SandboxConfig {
            failure_rate: 1.0,
            ..SandboxConfig::default()
        })
        .await;
        let sandbox = Arc::new(sandbox);
        let guarded = GuardedGateway::new(
            sandbox.clone(),
            GuardConfig {
                timeout_ms: 1_000,
                failures: 3,
                open_ms: 1_000,
            },
        );
        for i in 0..3 {
            assert!(guarded.authorize(&request(&format!("k{i}"))).await.is_err());
        }
        assert_eq!(guarded.state(), BreakerState::Open);
        assert!(!guarded.accepting());
        let reached = sandbox.calls();
        assert!(matches!(
            guarded.authorize(&request("k3")).await,
            Err(PaymentError::Unavailable(_))
        ));
        assert_eq!(sandbox.calls(), reached, "an open breaker does not call the gateway");
        assert_eq!(
            guarded.rejected_calls(),
            2,
            "accepting() and the call were both refused"
        );

        sandbox.set_faults(0, 0.0);
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        assert!(guarded.accepting(), "half-open after the open time");
        assert!(guarded.authorize(&request("k4")).await.is_ok(), "the probe succeeds");
        assert_eq!(guarded.state(), BreakerState::Closed);
    }

    #[tokio::test]
    async fn a_slow_gateway_times_out_and_declines_do_not_count() {
        let (_t, sandbox) = crate::sandbox::tests::sandbox(SandboxConfig {
            // Far above the timeout; the timeout itself leaves room for a
            // real ledger write on a loaded CI machine (50 ms did not).
            latency_ms: 30_000,
            ..SandboxConfig::default()
        })
        .await;
        let sandbox = Arc::new(sandbox);
        let guarded = GuardedGateway::new(
            sandbox.clone(),
            GuardConfig {
                timeout_ms: 1_000,
                failures: 2,
                open_ms: 10_000,
            },
        );
        assert!(matches!(
            guarded.authorize(&request("slow")).await,
            Err(PaymentError::Unavailable(_))
        ));
        sandbox.set_faults(0, 0.0);
        for i in 0..5 {
            let declined = AuthorizeRequest {
                card_digits: test_cards::DECLINE.into(),
                ..request(&format!("d{i}"))
            };
            assert!(matches!(
                guarded.authorize(&declined).await,
                Err(PaymentError::Declined(_))
            ));
        }
        assert_eq!(
            guarded.state(),
            BreakerState::Closed,
            "declines are answers, not failures"
        );
    }
}
