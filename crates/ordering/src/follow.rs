//! The order follows its delivery job (seed 004: the rider delivers; DESIGN.md
//! §2): the `order_delivery` consumer hears the delivery context's events and
//! records on the order that its rider picked it up and delivered it, with
//! the order's own events (`OrderPickedUp`, `OrderDelivered`), which the
//! payment (capture, F13), the views and the notifications hear in turn.
//!
//! The job only picks up once the order is ready, and the order can no
//! longer be cancelled once it is, so the two never disagree; an event the
//! order has outgrown (a replay) changes nothing.

use crate::lifecycle::{apply, lock};
use db::{Db, Tx};
use domain::{Actor, DeliveryEvent, Event, OrderCommand};
use eventlog::{Consumer, ConsumerError, RecordedEvent, StorageError};

/// The consumer's name (its checkpoint row).
pub const CONSUMER: &str = "order_delivery";

/// The consumer.
pub struct OrderFollowsDelivery {
    db: Db,
}

impl OrderFollowsDelivery {
    /// The consumer over `db` (it locks order rows there).
    pub fn new(db: Db) -> OrderFollowsDelivery {
        OrderFollowsDelivery { db }
    }
}

fn failed(e: crate::OrderingError) -> ConsumerError {
    match e {
        crate::OrderingError::Storage(e) => ConsumerError::Storage(e),
        other => ConsumerError::Storage(StorageError::Value(other.to_string())),
    }
}

#[async_trait::async_trait]
impl Consumer for OrderFollowsDelivery {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn wants(&self, record: &RecordedEvent) -> bool {
        matches!(
            record.event(),
            Ok(Event::Delivery(
                DeliveryEvent::DeliveryJobPickedUp { .. } | DeliveryEvent::DeliveryJobDelivered { .. }
            )) | Err(_)
        )
    }

    async fn apply(&self, tx: &mut Tx, record: &RecordedEvent) -> Result<(), ConsumerError> {
        let (order, command) = match record.event()? {
            Event::Delivery(DeliveryEvent::DeliveryJobPickedUp { order_id, rider }) => {
                (order_id, OrderCommand::RecordPickUp { rider })
            }
            Event::Delivery(DeliveryEvent::DeliveryJobDelivered { order_id, rider }) => {
                (order_id, OrderCommand::RecordDelivery { rider })
            }
            _ => return Ok(()),
        };
        let Some(locked) = lock(&self.db, tx, order).await.map_err(failed)? else {
            return Ok(());
        };
        match locked.order.handle(&command, Actor::System) {
            Ok((next, event)) => {
                apply(tx, &locked, next, event).await.map_err(failed)?;
            }
            Err(refused) => {
                tracing::warn!(order_id = order.get(), %refused, "the order did not follow its delivery job");
            }
        }
        Ok(())
    }
}
