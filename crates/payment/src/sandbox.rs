//! The sandbox gateway: an in-process stand-in for a card gateway, with test
//! cards and injectable latency and failures (issue 6).

use crate::{AuthorizeRequest, PaymentError, PaymentGateway};
use domain::problem::Decline;
use serde::{Deserialize, Serialize};
use std::sync::RwLock;
use std::time::Duration;

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
    /// Approved, but with a limit of [`super::LOW_LIMIT_WON`]: a hold raised
    /// beyond it (a repair's higher final amount) is declined.
    pub const LOW_LIMIT: &str = "4000000000000101";
}

/// The limit of [`test_cards::LOW_LIMIT`], in won.
pub const LOW_LIMIT_WON: i64 = 100_000;

/// Authorizations of the low-limit card carry this prefix, so the sandbox
/// knows their limit without keeping card numbers.
const LOW_LIMIT_PREFIX: &str = "auth_low_";

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

/// An in-process stand-in for a card gateway, with test cards and injectable
/// latency and failures. Its ledger (`sandbox_payments`) lives in a database
/// of its own ([`sandbox_database_url`]): like a real provider's records it
/// outlives a crash of this process and is what the reconciler asks, and it is
/// written outside our transactions (on SQLite, inside them it would wait on
/// our own write lock).
#[derive(Debug)]
pub struct SandboxGateway {
    db: db::Db,
    config: RwLock<SandboxConfig>,
    calls: std::sync::atomic::AtomicU64,
}

/// One authorization as the sandbox's ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxHold {
    /// The authorization id (`None` when declined).
    pub authorization_id: Option<String>,
    /// `authorized`, `captured`, `voided` or `declined`.
    pub state: String,
    /// The amount, in won.
    pub amount_won: i64,
}

/// Where the sandbox keeps its ledger for an app on `database_url`: next to
/// a SQLite file (`data/delivery.db` → `data/delivery-sandbox.db`), or in the
/// same PostgreSQL database (its own table).
pub fn sandbox_database_url(database_url: &str) -> String {
    if !database_url.starts_with("sqlite:") {
        return database_url.to_string();
    }
    let (path, query) = database_url.split_once('?').unwrap_or((database_url, ""));
    let path = match path.strip_suffix(".db") {
        Some(stem) => format!("{stem}-sandbox.db"),
        None => format!("{path}-sandbox"),
    };
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

impl SandboxGateway {
    /// A sandbox with `config`, keeping its ledger in `db` (created if missing).
    ///
    /// Errors: [`PaymentError::Unavailable`] when the ledger table cannot be created.
    pub async fn new(db: db::Db, config: SandboxConfig) -> Result<SandboxGateway, PaymentError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS sandbox_payments (\
                idempotency_key  TEXT   PRIMARY KEY, \
                authorization_id TEXT   UNIQUE, \
                amount_won       BIGINT NOT NULL, \
                state            TEXT   NOT NULL, \
                decline_reason   TEXT, \
                updated_at       BIGINT NOT NULL)",
        )
        .execute(db.pool())
        .await
        .map_err(unavailable)?;
        Ok(SandboxGateway {
            db,
            config: RwLock::new(config),
            calls: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Opens (or creates) the ledger at `url` ([`sandbox_database_url`]).
    ///
    /// Errors: [`PaymentError::Unavailable`] when it cannot be opened.
    pub async fn open(url: &str, config: SandboxConfig) -> Result<SandboxGateway, PaymentError> {
        let db = db::Db::connect(url, &db::DbOptions::default())
            .await
            .map_err(|e| PaymentError::Unavailable(format!("sandbox ledger: {e}")))?;
        SandboxGateway::new(db, config).await
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

    /// How many calls (authorize, capture, void) reached it since start,
    /// whatever their answer.
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many distinct authorizations it has granted or declined (tests:
    /// a double submit must authorize once).
    pub async fn authorization_count(&self) -> u64 {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sandbox_payments")
            .fetch_one(self.db.pool())
            .await
            .map(|n| u64::try_from(n).unwrap_or(0))
            .unwrap_or(0)
    }

    /// The state of an authorization: `"authorized"`, `"captured"`, `"voided"`, or `None`.
    pub async fn hold_state(&self, authorization_id: &str) -> Option<String> {
        sqlx::query_scalar("SELECT state FROM sandbox_payments WHERE authorization_id = $1")
            .bind(authorization_id)
            .fetch_optional(self.db.pool())
            .await
            .ok()
            .flatten()
    }

    /// Every entry of its ledger, by idempotency key (crash checks).
    pub async fn ledger(&self) -> Result<Vec<(String, SandboxHold)>, PaymentError> {
        let rows: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(
            "SELECT idempotency_key, authorization_id, state, amount_won FROM sandbox_payments ORDER BY idempotency_key",
        )
        .fetch_all(self.db.pool())
        .await
        .map_err(unavailable)?;
        Ok(rows
            .into_iter()
            .map(|(key, authorization_id, state, amount_won)| {
                (
                    key,
                    SandboxHold {
                        authorization_id,
                        state,
                        amount_won,
                    },
                )
            })
            .collect())
    }

    async fn delay(&self, slow: bool) -> Result<(), PaymentError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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

    async fn answer(&self, key: &str) -> Result<Option<Result<String, PaymentError>>, PaymentError> {
        let row: Option<(Option<String>, String, Option<String>)> = sqlx::query_as(
            "SELECT authorization_id, state, decline_reason FROM sandbox_payments WHERE idempotency_key = $1",
        )
        .bind(key)
        .fetch_optional(self.db.pool())
        .await
        .map_err(unavailable)?;
        Ok(row.map(|(id, state, reason)| match (id, state.as_str()) {
            (Some(id), _) if state != "declined" => Ok(id),
            _ => Err(PaymentError::Declined(
                reason.map_or(Decline::Declined, |code| Decline::from_code(&code)),
            )),
        }))
    }

    /// What an authorization holds, in won (declined for an unknown one).
    async fn held(&self, authorization_id: &str) -> Result<i64, PaymentError> {
        sqlx::query_scalar("SELECT amount_won FROM sandbox_payments WHERE authorization_id = $1")
            .bind(authorization_id)
            .fetch_optional(self.db.pool())
            .await
            .map_err(unavailable)?
            .ok_or_else(|| PaymentError::Declined(Decline::Other(format!("unknown authorization {authorization_id}"))))
    }

    async fn settle(&self, authorization_id: &str, to: &'static str) -> Result<(), PaymentError> {
        let moved = sqlx::query(
            "UPDATE sandbox_payments SET state = $2, updated_at = $3 WHERE authorization_id = $1 AND state = 'authorized'",
        )
        .bind(authorization_id)
        .bind(to)
        .bind(db::now_ms())
        .execute(self.db.writer())
        .await
        .map_err(unavailable)?;
        if moved.rows_affected() == 1 {
            return Ok(());
        }
        match self.hold_state(authorization_id).await {
            None => Err(PaymentError::Declined(Decline::Other(format!(
                "unknown authorization {authorization_id}"
            )))),
            Some(state) if state == to => Ok(()), // a retry: idempotent
            Some(state) => Err(PaymentError::Declined(Decline::Other(format!(
                "cannot set an authorization that is {state} to {to}"
            )))),
        }
    }
}

fn unavailable(e: sqlx::Error) -> PaymentError {
    PaymentError::Unavailable(format!("sandbox ledger: {e}"))
}

#[async_trait::async_trait]
impl PaymentGateway for SandboxGateway {
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<String, PaymentError> {
        if let Some(answer) = self.answer(&request.idempotency_key).await? {
            return answer;
        }
        self.delay(request.card_digits == test_cards::SLOW).await?;
        let (id, state, reason) = match request.card_digits.as_str() {
            test_cards::DECLINE => (None, "declined", Some(Decline::Declined.code())),
            test_cards::INSUFFICIENT_FUNDS => (None, "declined", Some(Decline::InsufficientFunds.code())),
            _ if request.amount_won <= 0 => (None, "declined", Some(Decline::NothingToPay.code())),
            test_cards::LOW_LIMIT if request.amount_won > LOW_LIMIT_WON => {
                (None, "declined", Some(Decline::OverLimit.code()))
            }
            test_cards::LOW_LIMIT => (
                Some(format!("{LOW_LIMIT_PREFIX}{:016x}", rand::random::<u64>())),
                "authorized",
                None,
            ),
            _ => (Some(format!("auth_{:016x}", rand::random::<u64>())), "authorized", None),
        };
        // The first answer for a key wins, even against a concurrent retry.
        sqlx::query(
            "INSERT INTO sandbox_payments (idempotency_key, authorization_id, amount_won, state, decline_reason, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&request.idempotency_key)
        .bind(id)
        .bind(request.amount_won)
        .bind(state)
        .bind(reason)
        .bind(db::now_ms())
        .execute(self.db.writer())
        .await
        .map_err(unavailable)?;
        self.answer(&request.idempotency_key)
            .await?
            .unwrap_or_else(|| Err(PaymentError::Unavailable("sandbox ledger lost an answer".into())))
    }

    async fn capture(&self, authorization_id: &str, amount_won: i64) -> Result<(), PaymentError> {
        self.delay(false).await?;
        let held = self.held(authorization_id).await?;
        if amount_won > held {
            return Err(PaymentError::Declined(Decline::Other(format!(
                "cannot capture {amount_won} won of a {held} won hold"
            ))));
        }
        self.settle(authorization_id, "captured").await?;
        // The ledger keeps what was charged; the rest of the hold is released.
        sqlx::query("UPDATE sandbox_payments SET amount_won = $2 WHERE authorization_id = $1")
            .bind(authorization_id)
            .bind(amount_won)
            .execute(self.db.writer())
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn increase(&self, authorization_id: &str, amount_won: i64) -> Result<(), PaymentError> {
        self.delay(false).await?;
        if authorization_id.starts_with(LOW_LIMIT_PREFIX) && amount_won > LOW_LIMIT_WON {
            return Err(PaymentError::Declined(Decline::OverLimit));
        }
        let raised = sqlx::query(
            "UPDATE sandbox_payments SET amount_won = $2, updated_at = $3 \
             WHERE authorization_id = $1 AND state = 'authorized' AND amount_won <= $2",
        )
        .bind(authorization_id)
        .bind(amount_won)
        .bind(db::now_ms())
        .execute(self.db.writer())
        .await
        .map_err(unavailable)?;
        if raised.rows_affected() == 1 {
            return Ok(());
        }
        Err(PaymentError::Declined(Decline::Other(
            match self.hold_state(authorization_id).await {
                None => format!("unknown authorization {authorization_id}"),
                Some(state) if state == "authorized" => "a hold is never lowered".to_string(),
                Some(state) => format!("cannot raise an authorization that is {state}"),
            },
        )))
    }

    async fn void(&self, authorization_id: &str) -> Result<(), PaymentError> {
        self.delay(false).await?;
        self.settle(authorization_id, "voided").await
    }

    async fn lookup(&self, idempotency_key: &str) -> Result<Option<Result<String, PaymentError>>, PaymentError> {
        self.answer(idempotency_key).await
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn request(key: &str, card: &str) -> AuthorizeRequest {
        AuthorizeRequest {
            idempotency_key: key.into(),
            card_digits: card.into(),
            amount_won: 10_000,
        }
    }

    pub(crate) async fn sandbox(config: SandboxConfig) -> (testkit::TestDb, SandboxGateway) {
        let t = testkit::fresh_db().await;
        let g = SandboxGateway::open(&sandbox_database_url(&t.url), config)
            .await
            .expect("sandbox ledger");
        (t, g)
    }

    #[test]
    fn the_sandbox_ledger_sits_next_to_a_sqlite_file_or_in_the_same_postgres() {
        assert_eq!(
            sandbox_database_url("sqlite://data/delivery.db"),
            "sqlite://data/delivery-sandbox.db"
        );
        assert_eq!(
            sandbox_database_url("sqlite:///tmp/x/app.db?mode=rwc"),
            "sqlite:///tmp/x/app-sandbox.db?mode=rwc"
        );
        assert_eq!(sandbox_database_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[tokio::test]
    async fn test_cards_approve_or_decline_and_repeats_answer_the_same() {
        let (_t, g) = sandbox(SandboxConfig::default()).await;
        let a = g.authorize(&request("k1", test_cards::APPROVE)).await;
        assert!(a.is_ok());
        assert_eq!(g.authorize(&request("k1", test_cards::APPROVE)).await, a);
        assert_eq!(g.authorization_count().await, 1);
        assert_eq!(g.lookup("k1").await, Ok(Some(a)));
        assert_eq!(g.lookup("never-sent").await, Ok(None));
        assert_eq!(
            g.authorize(&request("k2", test_cards::DECLINE)).await,
            Err(PaymentError::Declined(Decline::Declined))
        );
        assert!(matches!(
            g.authorize(&request("k3", test_cards::INSUFFICIENT_FUNDS)).await,
            Err(PaymentError::Declined(_))
        ));
        assert!(matches!(g.lookup("k3").await, Ok(Some(Err(PaymentError::Declined(_))))));
    }

    #[tokio::test]
    async fn a_hold_is_captured_or_voided_once_and_retries_are_harmless() {
        let (_t, g) = sandbox(SandboxConfig::default()).await;
        let id = g.authorize(&request("k", test_cards::APPROVE)).await.expect("approved");
        g.void(&id).await.expect("void");
        g.void(&id).await.expect("void again is a no-op");
        assert_eq!(g.hold_state(&id).await.as_deref(), Some("voided"));
        assert!(matches!(g.capture(&id, 10_000).await, Err(PaymentError::Declined(_))));
        assert!(matches!(g.void("auth_unknown").await, Err(PaymentError::Declined(_))));
    }

    #[tokio::test]
    async fn a_hold_is_raised_on_approval_and_captured_at_most_in_full() {
        let (_t, g) = sandbox(SandboxConfig::default()).await;
        let id = g.authorize(&request("k", test_cards::APPROVE)).await.expect("approved");
        g.increase(&id, 15_000).await.expect("raised");
        g.increase(&id, 15_000)
            .await
            .expect("raising again to the same amount is a no-op");
        assert!(
            matches!(g.increase(&id, 12_000).await, Err(PaymentError::Declined(_))),
            "never lowered"
        );
        assert!(matches!(g.capture(&id, 15_001).await, Err(PaymentError::Declined(_))));
        g.capture(&id, 13_000).await.expect("partial capture");
        let ledger = g.ledger().await.expect("ledger");
        assert_eq!(
            (ledger[0].1.state.as_str(), ledger[0].1.amount_won),
            ("captured", 13_000)
        );
        assert!(
            matches!(g.increase(&id, 20_000).await, Err(PaymentError::Declined(_))),
            "captured"
        );

        let low = AuthorizeRequest {
            amount_won: LOW_LIMIT_WON,
            ..request("low", test_cards::LOW_LIMIT)
        };
        let low = g.authorize(&low).await.expect("within the limit");
        assert!(matches!(
            g.increase(&low, LOW_LIMIT_WON + 1).await,
            Err(PaymentError::Declined(_))
        ));
        let over = AuthorizeRequest {
            amount_won: LOW_LIMIT_WON + 1,
            ..request("over", test_cards::LOW_LIMIT)
        };
        assert!(matches!(g.authorize(&over).await, Err(PaymentError::Declined(_))));
    }

    #[tokio::test]
    async fn injected_failures_make_the_gateway_unavailable_and_leave_no_record() {
        let (_t, g) = sandbox(SandboxConfig {
            failure_rate: 1.0,
            ..SandboxConfig::default()
        })
        .await;
        assert!(matches!(
            g.authorize(&request("k", test_cards::APPROVE)).await,
            Err(PaymentError::Unavailable(_))
        ));
        assert_eq!(g.lookup("k").await, Ok(None));
    }
}
