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
use db::Tx;
use domain::{Event, Money, OrderEvent, PaymentEvent, PaymentMethod};
use eventlog::{Consumer, ConsumerError, RecordedEvent};
use sqlx::Row;
use std::sync::Arc;

/// The consumer's name (its checkpoint row).
pub const CONSUMER: &str = "payment_settlement";

/// The settlement consumer (`payment_settlement`).
pub struct PaymentSettlement {
    gateway: Arc<dyn PaymentGateway>,
}

impl PaymentSettlement {
    /// Settles through `gateway`.
    pub fn new(gateway: Arc<dyn PaymentGateway>) -> PaymentSettlement {
        PaymentSettlement { gateway }
    }
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
        let row = sqlx::query(
            "SELECT status, authorization_id, amount_won, final_won, method FROM payments WHERE order_id = $1",
        )
        .bind(event.stream_id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else { return Ok(()) };
        let status: String = row.try_get("status")?;
        let method: PaymentMethod = db::parsed(&row, "method")?;
        let Some(authorization) = row.try_get::<Option<String>, _>("authorization_id")? else {
            return Ok(());
        };
        if status != "authorized" || method != PaymentMethod::Card {
            return Ok(()); // settled already (a replay), or deducted from pay (crate::payroll)
        }
        let held = Money::from_won(row.try_get("amount_won")?).unwrap_or(Money::ZERO);
        let charge = row
            .try_get::<Option<i64>, _>("final_won")?
            .and_then(|won| Money::from_won(won).ok())
            .filter(|amount| *amount <= held)
            .unwrap_or(held);
        let result = if capture {
            self.gateway.capture(&authorization, charge.won()).await
        } else {
            self.gateway.void(&authorization).await
        };
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
