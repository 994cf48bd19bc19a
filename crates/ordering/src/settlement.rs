//! Payment settlement: the consumer that captures a payment when the work is
//! done and voids it when the order is rejected or cancelled (F7, F13).
//!
//! It runs from the event log, so a gateway outage only delays settlement: the
//! batch fails, rolls back and is retried with backoff, and the gateway's
//! idempotency makes a repeated capture or void harmless.

use crate::payment::{PaymentError, PaymentGateway};
use db::Tx;
use eventlog::{Consumer, ConsumerError, RecordedEvent};
use sqlx::Row;
use std::sync::Arc;

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

#[async_trait::async_trait]
impl Consumer for PaymentSettlement {
    fn name(&self) -> &'static str {
        "payment_settlement"
    }

    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), ConsumerError> {
        let capture = match event.kind.as_str() {
            "OrderDelivered" | "OrderCollected" => true,
            "OrderRejected" | "OrderCancelled" => false,
            _ => return Ok(()),
        };
        let row = sqlx::query("SELECT status, authorization_id FROM payments WHERE order_id = $1")
            .bind(event.stream_id)
            .fetch_optional(&mut **tx)
            .await?;
        let Some(row) = row else { return Ok(()) };
        let status: String = row.try_get("status")?;
        let Some(authorization) = row.try_get::<Option<String>, _>("authorization_id")? else {
            return Ok(());
        };
        if status != "authorized" {
            return Ok(()); // settled already (a replay)
        }
        let result = if capture {
            self.gateway.capture(&authorization).await
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
                tracing::error!(order_id = event.stream_id, %why, "payment settlement refused by the gateway");
                return Ok(());
            }
        }
        sqlx::query("UPDATE payments SET status = $2, updated_at = $3 WHERE order_id = $1")
            .bind(event.stream_id)
            .bind(if capture { "captured" } else { "voided" })
            .bind(event.recorded_at)
            .execute(&mut **tx)
            .await?;
        tracing::info!(
            order_id = event.stream_id,
            seq = event.seq,
            action = if capture { "capture" } else { "void" },
            "payment settled"
        );
        Ok(())
    }
}

/// A payment's state: `authorizing`, `authorized`, `declined`, `captured`
/// or `voided`; `None` when the order has no payment.
pub async fn payment_status(db: &db::Db, order: domain::OrderId) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT status FROM payments WHERE order_id = $1")
        .bind(order.get())
        .fetch_optional(db.pool())
        .await
}
