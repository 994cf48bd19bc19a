//! Payroll deduction: a company canteen's way to pay (seed 003, e-restaurant:
//! "사원은 사원증을 타각하여 음식을 주문한다", "주문이 완료되면 급여에서 해당
//! 금액을 차감한다", "급여 차감은 주문이 완료 상태이어야 한다").
//!
//! - Each canteen keeps a roster (`payroll_employees`): an employee number
//!   is bound to one account. Checkout asks [`check`] before anything is
//!   stored; an unknown number, or someone else's, is refused.
//! - Nothing is deducted at checkout: the payment is recorded `authorized`
//!   with method `payroll`. The [`PayrollDeductions`] consumer deducts the
//!   amount (`payroll_deductions`, by Korean month) once the order is
//!   collected and releases it when the order is rejected or cancelled.
//!   Being a consumer, a payroll side that is down never stops the canteen
//!   taking orders; it catches up from the log when it returns (seed 003's
//!   fault isolation: "급여 정산 서비스가 정상 동작하지 않더라도 주문은 계속할
//!   수 있어야 한다").
//! - The canteen's owner reads a [`statement`] per month and employee.

use db::{Db, Tx};
use domain::{Event, Money, OrderEvent, PaymentEvent, PaymentMethod, StoreId, UserId};
use eventlog::{Consumer, ConsumerError, Prepared, RecordedEvent, StorageError};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// The consumer's name (its checkpoint row).
pub const CONSUMER: &str = "payroll_deductions";

/// Why an employee number was refused at checkout.
#[derive(Debug, thiserror::Error)]
pub enum PayrollError {
    /// The canteen has no employee with that number.
    #[error("This canteen has no employee with number {0}. Check the number on your staff card.")]
    UnknownNumber(String),
    /// The number belongs to another employee's account.
    #[error("Employee number {0} is registered to another employee. Use the number on your own staff card.")]
    SomeoneElses(String),
    /// The roster could not be read.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Whether `user` may have `employee_number`'s pay charged at `store`:
/// the number is on the canteen's roster and bound to this account.
///
/// Errors: [`PayrollError::UnknownNumber`], [`PayrollError::SomeoneElses`].
pub async fn check(db: &Db, store: StoreId, user: UserId, employee_number: &str) -> Result<(), PayrollError> {
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT user_id FROM payroll_employees WHERE store_id = $1 AND employee_number = $2")
            .bind(store.get())
            .bind(employee_number)
            .fetch_optional(db.pool())
            .await
            .map_err(StorageError::from)?;
    match owner {
        None => Err(PayrollError::UnknownNumber(employee_number.to_string())),
        Some(id) if id != user.get() => Err(PayrollError::SomeoneElses(employee_number.to_string())),
        Some(_) => Ok(()),
    }
}

/// Puts an employee on a canteen's roster, inside `tx` (the demo data; an
/// HR import would call it too).
pub async fn enrol(
    tx: &mut Tx,
    store: StoreId,
    employee_number: &str,
    user: UserId,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payroll_employees (store_id, employee_number, user_id, employee_name) VALUES ($1, $2, $3, $4)",
    )
    .bind(store.get())
    .bind(employee_number)
    .bind(user.get())
    .bind(name)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How many employees are on canteen `store`'s roster.
pub async fn roster_size(db: &Db, store: StoreId) -> Result<i64, StorageError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM payroll_employees WHERE store_id = $1")
            .bind(store.get())
            .fetch_one(db.pool())
            .await?,
    )
}

/// The employee number `user` has at canteen `store`, if any (the
/// checkout form fills it in).
pub async fn number_of(db: &Db, store: StoreId, user: UserId) -> Result<Option<String>, StorageError> {
    Ok(
        sqlx::query_scalar("SELECT employee_number FROM payroll_employees WHERE store_id = $1 AND user_id = $2")
            .bind(store.get())
            .bind(user.get())
            .fetch_optional(db.pool())
            .await?,
    )
}

/// One employee's deductions in a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    /// The employee number.
    pub employee_number: String,
    /// The employee's name on the roster.
    pub employee_name: String,
    /// How many collected orders.
    pub orders: u32,
    /// Their sum, in won.
    pub total: Money,
}

/// A canteen's payroll statement for one month (Korea time): what to
/// deduct from each employee's pay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// `YYYY-MM`.
    pub month: String,
    /// One line per employee with deductions, by employee number.
    pub lines: Vec<StatementLine>,
    /// The month's sum, in won.
    pub total: Money,
}

/// The statement of canteen `store` for `month` (`YYYY-MM`).
pub async fn statement(db: &Db, store: StoreId, month: &str) -> Result<Statement, StorageError> {
    let rows = sqlx::query(
        "SELECT d.employee_number, COALESCE(MAX(e.employee_name), '') AS employee_name, \
                COUNT(*) AS orders, CAST(SUM(d.amount_won) AS BIGINT) AS total \
         FROM payroll_deductions d \
         LEFT JOIN payroll_employees e ON e.store_id = d.store_id AND e.employee_number = d.employee_number \
         WHERE d.store_id = $1 AND d.month = $2 \
         GROUP BY d.employee_number ORDER BY d.employee_number",
    )
    .bind(store.get())
    .bind(month)
    .fetch_all(db.pool())
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        lines.push(StatementLine {
            employee_number: row.try_get("employee_number")?,
            employee_name: row.try_get("employee_name")?,
            orders: u32::try_from(row.try_get::<i64, _>("orders")?).unwrap_or(u32::MAX),
            total: Money::from_won(row.try_get("total")?).unwrap_or(Money::ZERO),
        });
    }
    let total = Money::sum(lines.iter().map(|l| l.total)).unwrap_or(Money::ZERO);
    Ok(Statement {
        month: month.to_string(),
        lines,
        total,
    })
}

/// The consumer that deducts from pay once a canteen order is collected
/// and releases it when the order is rejected or cancelled.
pub struct PayrollDeductions;

fn completes(event: &RecordedEvent) -> Result<Option<bool>, ConsumerError> {
    Ok(match event.event()? {
        Event::Order(OrderEvent::OrderCollected { .. } | OrderEvent::OrderDelivered { .. }) => Some(true),
        Event::Order(OrderEvent::OrderRejected { .. } | OrderEvent::OrderCancelled { .. }) => Some(false),
        _ => None,
    })
}

#[async_trait::async_trait]
impl Consumer for PayrollDeductions {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn wants(&self, event: &RecordedEvent) -> bool {
        !matches!(completes(event), Ok(None))
    }

    /// Nothing to write unless one of the orders the batch completes was
    /// paid from payroll and is not settled yet: most orders are paid by
    /// card, and their completion used to cost a write transaction here
    /// (issue 13). A payroll payment is recorded at checkout, before any
    /// event that completes its order, so what this reads cannot change
    /// before the batch would have been applied.
    async fn prepare(&self, db: &Db, events: &[RecordedEvent]) -> Result<Prepared, ConsumerError> {
        for event in events {
            if completes(event)?.is_none() {
                continue;
            }
            let due: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM payments WHERE order_id = $1 AND method = 'payroll' AND status = 'authorized'",
            )
            .bind(event.stream_id)
            .fetch_optional(db.pool())
            .await?;
            if due.is_some() {
                return Ok(Prepared::Apply);
            }
        }
        Ok(Prepared::NothingToWrite)
    }

    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), ConsumerError> {
        let Some(completed) = completes(event)? else {
            return Ok(());
        };
        let row = sqlx::query(
            "SELECT p.status, p.amount_won, r.employee_number, r.store_id, r.user_id \
             FROM payments p JOIN payroll_orders r ON r.order_id = p.order_id \
             WHERE p.order_id = $1 AND p.method = 'payroll'",
        )
        .bind(event.stream_id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else { return Ok(()) }; // a card payment
        if row.try_get::<String, _>("status")? != "authorized" {
            return Ok(()); // settled already (a replay)
        }
        let amount = Money::from_won(row.try_get("amount_won")?).unwrap_or(Money::ZERO);
        let order_id = domain::OrderId(event.stream_id);
        let method = PaymentMethod::Payroll;
        if completed {
            let number: String = row.try_get("employee_number")?;
            sqlx::query(
                "INSERT INTO payroll_deductions (order_id, store_id, employee_number, user_id, amount_won, month, \
                                                 deducted_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id) DO NOTHING",
            )
            .bind(event.stream_id)
            .bind(row.try_get::<i64, _>("store_id")?)
            .bind(number)
            .bind(row.try_get::<i64, _>("user_id")?)
            .bind(amount.won())
            .bind(domain::kst::month(event.recorded_at))
            .bind(event.recorded_at)
            .execute(&mut **tx)
            .await?;
        }
        sqlx::query("UPDATE payments SET status = $2, updated_at = $3 WHERE order_id = $1")
            .bind(event.stream_id)
            .bind(if completed { "captured" } else { "voided" })
            .bind(event.recorded_at)
            .execute(&mut **tx)
            .await?;
        let settled = if completed {
            PaymentEvent::PaymentCaptured {
                order_id,
                amount,
                method,
            }
        } else {
            PaymentEvent::PaymentReleased {
                order_id,
                amount,
                method,
            }
        };
        eventlog::append_event(tx, settled)
            .await
            .map_err(|e| ConsumerError::Storage(e.into()))?;
        tracing::info!(
            order_id = event.stream_id,
            deducted = completed,
            amount_won = amount.won(),
            "payroll settled"
        );
        Ok(())
    }
}
