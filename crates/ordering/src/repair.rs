//! A repair's price is known when it is done (seed 001, automechanicsmall:
//! "수리가 완료된 수리접수건에 대해서만 결제가 성립되어야 한다"). The shop
//! accepts with an estimate and finishes with the final amount
//! (`OrderCommand::Accept`/`MarkReady`, through [`crate::lifecycle::act`]);
//! a final amount above what the customer's card holds waits for the
//! customer, who approves it here — the card's hold is raised first, through
//! the payment port — or declines it.

use crate::lifecycle::{actor, apply, lock, may_see};
use crate::{no_such_order, Caller, OrderingError};
use db::Db;
use domain::order::NotYours;
use domain::problem::Problem;
use domain::{Money, OrderCommand, OrderError, OrderId, Role};
use payment::{ledger, PaymentError, PaymentGateway};

/// The customer approves the final amount `amount` (won) the shop asks for
/// order `id`: the card's hold is raised to it, then the repair counts as
/// done (`FinalAmountApproved`, and `PaymentAuthorized` with the new
/// amount). Returns the last event's sequence number.
///
/// Errors: [`OrderingError::NotFound`] for someone else's order;
/// [`OrderingError::Refused`] when nothing (or another amount) waits for
/// approval; [`OrderingError::PaymentDeclined`] when the card does not
/// cover it (nothing changes: the shop's request stands);
/// [`OrderingError::PaymentUnavailable`] when the gateway does not answer.
pub async fn approve(
    db: &Db,
    gateway: &dyn PaymentGateway,
    id: OrderId,
    amount: Money,
    caller: &Caller,
) -> Result<i64, OrderingError> {
    if caller.role == Role::Rider {
        // The same answer for every id, as for every order command.
        return Err(OrderError::Forbidden(NotYours::RidersUseTheJob).into());
    }
    let command = OrderCommand::ApproveFinalAmount { amount };
    // Decide first, without holding the order while the gateway answers.
    {
        let mut tx = db.begin().await?;
        let locked = lock(db, &mut tx, id).await?.ok_or_else(no_such_order)?;
        if !may_see(&locked, caller) {
            return Err(no_such_order());
        }
        locked.order.decide(&command, actor(&locked, caller))?;
        tx.rollback().await?;
    }
    let authorization = ledger::held_authorization(db, id)
        .await?
        .ok_or(OrderingError::Rejected(Problem::NotHeld))?;
    match gateway.increase(&authorization, amount.won()).await {
        Ok(()) => {}
        Err(PaymentError::Declined(reason)) => {
            return Err(OrderingError::PaymentDeclined(Problem::Declined { reason }))
        }
        Err(PaymentError::Unavailable(why)) => {
            tracing::warn!(order_id = id.get(), %why, "approving a final amount: payment unavailable");
            return Err(OrderingError::PaymentUnavailable);
        }
    }
    // Decided again: the shop may have changed its request meanwhile (the
    // card then holds more than will be charged, which is released at
    // capture).
    let mut tx = db.begin().await?;
    let locked = lock(db, &mut tx, id).await?.ok_or_else(no_such_order)?;
    let (next, event) = locked.order.handle(&command, actor(&locked, caller))?;
    apply(&mut tx, &locked, next, event).await?;
    let seq = ledger::increased(&mut tx, id, amount).await?;
    tx.commit().await?;
    tracing::info!(order_id = id.get(), amount_won = amount.won(), "final amount approved");
    Ok(seq)
}
