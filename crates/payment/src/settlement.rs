//! Payment settlement: the consumer that captures a card payment when the
//! work is done and voids it when the order is rejected or cancelled (F7,
//! F13), and records which with `PaymentCaptured` or `PaymentReleased`
//! (issue 11). A repair is charged its final amount, which may be less
//! than its hold (seed 001). Payroll deductions settle in
//! [`crate::payroll`], not here.
//!
//! It runs from the event log, so a gateway outage only delays settlement: the
//! batch fails, rolls back and is retried with backoff, and the gateway's
//! idempotency makes a repeated capture or void harmless.

use crate::{PaymentError, PaymentGateway};
use db::Db;
use db::Tx;
use domain::{Event, Money, OrderEvent, PaymentEvent, PaymentMethod};
use eventlog::{Consumer, ConsumerError, Prepared, RecordedEvent};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The consumer's name (its checkpoint row).
pub const CONSUMER: &str = "payment_settlement";

/// The settlement consumer (`payment_settlement`).
///
/// It calls the gateway before the batch's transaction opens
/// ([`Consumer::prepare`]), not inside it: on SQLite a transaction holds the
/// one writer's turn, so every write of the process (a cart, a checkout, a
/// rider's tap) used to wait behind each capture for as long as the gateway
/// took (with 50 ms of gateway latency, `loadgen 8 15` fell to 18
/// lifecycles/s, every step's p99 above 200 ms; issue 13).
pub struct PaymentSettlement {
    gateway: Arc<dyn PaymentGateway>,
    /// The gateway's answers for the batch about to be applied, by event
    /// sequence number ([`Consumer::prepare`]; taken by `apply`).
    answered: Mutex<HashMap<i64, Answered>>,
}

impl PaymentSettlement {
    /// Settles through `gateway`.
    pub fn new(gateway: Arc<dyn PaymentGateway>) -> PaymentSettlement {
        PaymentSettlement {
            gateway,
            answered: Mutex::default(),
        }
    }

    /// Captures `due.charge` or voids, as `settle` asks.
    async fn call(&self, settle: &Settle, due: &Due) -> Result<(), PaymentError> {
        match settle {
            Settle::Capture => self.gateway.capture(&due.authorization, due.charge.won()).await,
            _ => self.gateway.void(&due.authorization).await,
        }
    }

    fn answered(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Answered>> {
        self.answered.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What the gateway answered for one event before its batch's transaction.
struct Answered {
    /// What was asked of it.
    due: Due,
    result: Result<(), PaymentError>,
}

/// What settling one card payment asks of the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Due {
    authorization: String,
    /// The amount held, in won.
    held: Money,
    /// The amount to charge on capture: the final amount when there is one
    /// no larger than the hold (a repair, seed 001), else the hold.
    charge: Money,
}

/// What settling the payment of order `order` asks, read through
/// `executor`, with `final_amount` (when known from an earlier event of the
/// batch not yet applied) in place of the stored final amount; `None` when
/// there is nothing to settle here: no payment or authorization, settled
/// already (a replay), or not a card (deducted from pay, [`crate::payroll`]).
async fn due<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    order: i64,
    final_amount: Option<Money>,
) -> Result<Option<Due>, ConsumerError> {
    let row =
        sqlx::query("SELECT status, authorization_id, amount_won, final_won, method FROM payments WHERE order_id = $1")
            .bind(order)
            .fetch_optional(executor)
            .await?;
    let Some(row) = row else { return Ok(None) };
    let status: String = row.try_get("status")?;
    let method: PaymentMethod = db::parsed(&row, "method")?;
    let Some(authorization) = row.try_get::<Option<String>, _>("authorization_id")? else {
        return Ok(None);
    };
    if status != "authorized" || method != PaymentMethod::Card {
        return Ok(None);
    }
    let held = Money::from_won(row.try_get("amount_won")?).unwrap_or(Money::ZERO);
    let stored = row
        .try_get::<Option<i64>, _>("final_won")?
        .and_then(|won| Money::from_won(won).ok());
    let charge = final_amount.or(stored).filter(|amount| *amount <= held).unwrap_or(held);
    Ok(Some(Due {
        authorization,
        held,
        charge,
    }))
}

/// What an event asks of an order's payment.
enum Settle {
    /// Charge it: the work is done.
    Capture,
    /// Release it: rejected or cancelled.
    Void,
    /// Remember the amount to charge (a repair's final amount).
    FinalAmount(Money),
}

fn settle(event: &RecordedEvent) -> Result<Option<Settle>, ConsumerError> {
    Ok(match event.event()? {
        Event::Order(OrderEvent::OrderDelivered { .. } | OrderEvent::OrderCollected { .. }) => Some(Settle::Capture),
        Event::Order(OrderEvent::OrderRejected { .. } | OrderEvent::OrderCancelled { .. }) => Some(Settle::Void),
        Event::Order(
            OrderEvent::OrderReady {
                final_amount: Some(amount),
                ..
            }
            | OrderEvent::FinalAmountApproved { amount, .. },
        ) => Some(Settle::FinalAmount(amount)),
        _ => None,
    })
}

#[async_trait::async_trait]
impl Consumer for PaymentSettlement {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn wants(&self, event: &RecordedEvent) -> bool {
        !matches!(settle(event), Ok(None))
    }

    /// Calls the gateway for every capture and void of the batch, outside
    /// its transaction, and keeps the answers for `apply`. A gateway that is
    /// unavailable fails the batch before anything is written (retried with
    /// backoff); the captures and voids it already made are idempotent.
    async fn prepare(&self, db: &Db, events: &[RecordedEvent]) -> Result<Prepared, ConsumerError> {
        self.answered().clear();
        // A repair's final amount set earlier in this batch is not stored yet.
        let mut finals: HashMap<i64, Money> = HashMap::new();
        for event in events {
            let Some(settle) = settle(event)? else { continue };
            if let Settle::FinalAmount(amount) = settle {
                finals.insert(event.stream_id, amount);
                continue;
            }
            let Some(due) = due(db.pool(), event.stream_id, finals.get(&event.stream_id).copied()).await? else {
                continue;
            };
            let result = self.call(&settle, &due).await;
            if let Err(PaymentError::Unavailable(why)) = &result {
                return Err(ConsumerError::Handler(format!("gateway unavailable: {why}")));
            }
            self.answered().insert(event.seq, Answered { due, result });
        }
        Ok(Prepared::Apply)
    }

    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), ConsumerError> {
        let Some(settle) = settle(event)? else {
            return Ok(());
        };
        if let Settle::FinalAmount(amount) = settle {
            sqlx::query("UPDATE payments SET final_won = $2 WHERE order_id = $1")
                .bind(event.stream_id)
                .bind(amount.won())
                .execute(&mut **tx)
                .await?;
            return Ok(());
        }
        let capture = matches!(settle, Settle::Capture);
        let Some(due) = due(&mut **tx, event.stream_id, None).await? else {
            return Ok(());
        };
        // The answer `prepare` got for this very call; otherwise (a batch
        // not prepared, or the payment changed meanwhile) the call is made
        // here, inside the transaction, as a last resort.
        let prepared = self
            .answered()
            .remove(&event.seq)
            .filter(|answered| answered.due == due);
        let result = match prepared {
            Some(answered) => answered.result,
            None => self.call(&settle, &due).await,
        };
        let Due { held, charge, .. } = due;
        match result {
            Ok(()) => {}
            Err(PaymentError::Unavailable(why)) => {
                return Err(ConsumerError::Handler(format!("gateway unavailable: {why}")));
            }
            Err(PaymentError::Declined(why)) => {
                // The gateway will never agree: record it for an operator
                // rather than block every later settlement behind it.
                tracing::error!(
                    order_id = event.stream_id,
                    why = why.code(),
                    "payment settlement refused by the gateway"
                );
                return Ok(());
            }
        }
        sqlx::query("UPDATE payments SET status = $2, updated_at = $3 WHERE order_id = $1")
            .bind(event.stream_id)
            .bind(if capture { "captured" } else { "voided" })
            .bind(event.recorded_at)
            .execute(&mut **tx)
            .await?;
        // Told to the customer, the store and the operator (issue 11).
        let order_id = domain::OrderId(event.stream_id);
        let method = PaymentMethod::Card;
        let settled = if capture {
            PaymentEvent::PaymentCaptured {
                order_id,
                amount: charge,
                method,
            }
        } else {
            PaymentEvent::PaymentReleased {
                order_id,
                amount: held,
                method,
            }
        };
        eventlog::append_event(tx, settled)
            .await
            .map_err(|e| ConsumerError::Storage(e.into()))?;
        tracing::info!(
            order_id = event.stream_id,
            seq = event.seq,
            action = if capture { "capture" } else { "void" },
            amount_won = if capture { charge.won() } else { held.won() },
            "payment settled"
        );
        Ok(())
    }
}
