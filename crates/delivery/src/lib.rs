//! The delivery context (requirements F2, F6, F7; seeds 000 and 004): the
//! delivery job of every delivery order, and what riders do with it.
//!
//! - The `delivery_jobs` consumer hears the order's events: a placed
//!   delivery order gets a job that waits; the store's acceptance opens it
//!   to riders of the order's vehicle type; the food being ready lets the
//!   rider pick it up; a rejection or cancellation cancels it ("주문이
//!   취소되면 배달이 취소된다"). Each change is decided by the aggregate
//!   ([`domain::delivery::DeliveryJob`]) and committed with its event.
//! - Riders [`claim`] (the first claim wins, one job at a time), [`pick_up`]
//!   and [`deliver`]; the ordering context follows the job's events.
//! - The rider's board reads [`open_jobs`] and [`current_job`].
//!
//! It owns `delivery_jobs` and imports nothing of ordering: what a job must
//! show (pick-up and drop-off, the fee) it keeps from `OrderPlaced`.

use db::{Db, Tx};
use domain::delivery::{DeliveryJob, JobActor, JobCommand, JobError, JobStatus, JobView};
use domain::visibility::Viewer;
use domain::{DeliveryEvent, DeliveryType, Event, Money, OrderEvent, OrderId, Role, UserId};
use eventlog::{Consumer, ConsumerError, RecordedEvent, StorageError};
use sqlx::Row;

/// The consumer's name (its checkpoint row).
pub const CONSUMER: &str = "delivery_jobs";

/// Why a rider's request did not go through. Nothing changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// No such job, or not one this rider may see (another vehicle type,
    /// someone else's): the same answer, so jobs cannot be probed.
    #[error("There is no such delivery job.")]
    NotFound,
    /// The job's state machine refused (taken, not ready yet, …).
    #[error(transparent)]
    Refused(#[from] JobError),
    /// The rider already has a job on the go.
    #[error("Finish your current delivery before taking another job.")]
    Busy,
    /// The database or the event log failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for DeliveryError {
    fn from(e: sqlx::Error) -> Self {
        DeliveryError::Storage(e.into())
    }
}

impl From<db::DbError> for DeliveryError {
    fn from(e: db::DbError) -> Self {
        DeliveryError::Storage(e.into())
    }
}

impl From<eventlog::EventLogError> for DeliveryError {
    fn from(e: eventlog::EventLogError) -> Self {
        DeliveryError::Storage(e.into())
    }
}

const JOB_COLUMNS: &str =
    "order_id, vehicle, status, rider_id, food_ready, store_name, store_kind, store_address, drop_off, fee_won, ready_by";

fn view_from_row(row: &sqlx::any::AnyRow) -> Result<JobView, StorageError> {
    let parse = |column: &str, text: String| StorageError::Value(format!("delivery_jobs.{column}: {text}"));
    let vehicle: String = row.try_get("vehicle")?;
    let status: String = row.try_get("status")?;
    Ok(JobView {
        order: OrderId(row.try_get("order_id")?),
        status: status.parse().map_err(|_| parse("status", status.clone()))?,
        food_ready: db::flag(row, "food_ready")?,
        vehicle: vehicle.parse().map_err(|_| parse("vehicle", vehicle.clone()))?,
        rider: row.try_get::<Option<i64>, _>("rider_id")?.map(UserId),
        store_name: row.try_get("store_name")?,
        store_kind: db::parsed(row, "store_kind")?,
        store_address: row.try_get("store_address")?,
        drop_off: row.try_get("drop_off")?,
        fee: Money::from_won(row.try_get("fee_won")?).unwrap_or(Money::ZERO),
        ready_by_ms: row.try_get("ready_by")?,
    })
}

/// Reads (and on PostgreSQL locks) the job of `order` inside `tx`.
async fn lock(db: &Db, tx: &mut Tx, order: OrderId) -> Result<Option<JobView>, StorageError> {
    let row = sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM delivery_jobs WHERE order_id = $1{}",
        db.for_update()
    ))
    .bind(order.get())
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(view_from_row).transpose()
}

/// Stores the job's new state and appends its event, inside `tx`.
async fn record(tx: &mut Tx, job: &DeliveryJob, event: DeliveryEvent, at: i64) -> Result<i64, StorageError> {
    sqlx::query(
        "UPDATE delivery_jobs SET status = $2, rider_id = $3, food_ready = $4, updated_at = $5 WHERE order_id = $1",
    )
    .bind(job.order.get())
    .bind(job.status.as_str())
    .bind(job.rider.map(UserId::get))
    .bind(i64::from(job.food_ready))
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(eventlog::append_event(tx, event).await?)
}

/// Opens, readies or cancels the job of `order` for the platform; nothing
/// when there is no job (a pickup order) or the job is past it.
async fn follow(tx: &mut Tx, db: &Db, order: OrderId, command: JobCommand, at: i64) -> Result<(), ConsumerError> {
    let Some(view) = lock(db, tx, order).await? else {
        return Ok(());
    };
    match view.job().handle(command, JobActor::System) {
        Ok((job, event)) => {
            record(tx, &job, event, at).await?;
        }
        Err(refused) => {
            // A replayed event, or one the job has outgrown; nothing to do.
            tracing::debug!(order_id = order.get(), %refused, "delivery job unchanged");
        }
    }
    Ok(())
}

/// The `delivery_jobs` consumer: keeps every delivery order's job in step
/// with the order.
pub struct DeliveryJobs {
    db: Db,
}

impl DeliveryJobs {
    /// The consumer over `db` (it locks job rows there).
    pub fn new(db: Db) -> DeliveryJobs {
        DeliveryJobs { db }
    }
}

#[async_trait::async_trait]
impl Consumer for DeliveryJobs {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    fn wants(&self, record: &RecordedEvent) -> bool {
        matches!(
            record.event(),
            Ok(Event::Order(
                OrderEvent::OrderPlaced { .. }
                    | OrderEvent::OrderAccepted { .. }
                    | OrderEvent::OrderReady { .. }
                    | OrderEvent::FinalAmountApproved { .. }
                    | OrderEvent::OrderRejected { .. }
                    | OrderEvent::OrderCancelled { .. }
            )) | Err(_)
        )
    }

    async fn apply(&self, tx: &mut Tx, record: &RecordedEvent) -> Result<(), ConsumerError> {
        let Event::Order(event) = record.event()? else {
            return Ok(());
        };
        let order = event.order_id();
        let at = record.recorded_at;
        match event {
            OrderEvent::OrderPlaced { order: placed, .. } => {
                let Some(vehicle) = placed.fulfilment.delivery_type() else {
                    return Ok(()); // pickup: no job
                };
                let job = DeliveryJob::waiting(order, vehicle);
                sqlx::query(
                    "INSERT INTO delivery_jobs (order_id, vehicle, status, food_ready, store_name, store_address, \
                                                drop_off, fee_won, created_at, updated_at, store_kind) \
                     VALUES ($1, $2, $3, 0, $4, $5, $6, $7, $8, $8, $9) ON CONFLICT (order_id) DO NOTHING",
                )
                .bind(order.get())
                .bind(vehicle.as_str())
                .bind(job.status.as_str())
                .bind(&placed.store_name)
                .bind(&placed.store_address)
                .bind(&placed.address)
                .bind(placed.fee.won())
                .bind(at)
                .bind(placed.store_kind.as_str())
                .execute(&mut **tx)
                .await?;
            }
            OrderEvent::OrderAccepted { prep_minutes, .. } => {
                sqlx::query("UPDATE delivery_jobs SET ready_by = $2 WHERE order_id = $1")
                    .bind(order.get())
                    .bind(at + i64::from(prep_minutes) * 60_000)
                    .execute(&mut **tx)
                    .await?;
                follow(tx, &self.db, order, JobCommand::Open, at).await?;
            }
            // Ready: cooked, or a repair whose higher price the customer approved.
            OrderEvent::OrderReady { .. } | OrderEvent::FinalAmountApproved { .. } => {
                follow(tx, &self.db, order, JobCommand::FoodReady, at).await?
            }
            OrderEvent::OrderRejected { .. } | OrderEvent::OrderCancelled { .. } => {
                follow(tx, &self.db, order, JobCommand::Cancel, at).await?
            }
            _ => {}
        }
        Ok(())
    }
}

/// A rider as the delivery context sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rider {
    /// The rider.
    pub id: UserId,
    /// Their registered vehicle (F2).
    pub vehicle: DeliveryType,
}

impl Rider {
    /// The rider behind `viewer`, if the viewer is a rider with a vehicle.
    pub fn of(viewer: &Viewer) -> Option<Rider> {
        match (viewer.role, viewer.vehicle) {
            (Role::Rider, Some(vehicle)) => Some(Rider { id: viewer.id, vehicle }),
            _ => None,
        }
    }

    fn actor(self) -> JobActor {
        JobActor::Rider {
            user: self.id,
            vehicle: self.vehicle,
        }
    }
}

/// Whether `rider` may know of this job: theirs, or open (or waiting to be
/// picked up while unclaimed) for their vehicle type. The same rule as
/// `domain::visibility` for the order.
fn may_see(job: &JobView, rider: Rider) -> bool {
    job.rider == Some(rider.id)
        || (job.rider.is_none() && job.status == JobStatus::Open && job.vehicle == rider.vehicle)
}

/// Runs a rider's `command` on the job of `order`; returns the event's
/// sequence number.
async fn act(db: &Db, order: OrderId, rider: Rider, command: JobCommand) -> Result<i64, DeliveryError> {
    let mut tx = db.begin().await?;
    let view = lock(db, &mut tx, order).await?.ok_or(DeliveryError::NotFound)?;
    if !may_see(&view, rider) {
        return Err(DeliveryError::NotFound);
    }
    let (job, event) = view.job().handle(command, rider.actor())?;
    if command == JobCommand::Claim {
        // One job on the go at a time (issue 4).
        let busy: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM delivery_jobs WHERE rider_id = $1 AND status IN ('claimed', 'picked_up')",
        )
        .bind(rider.id.get())
        .fetch_one(&mut *tx)
        .await?;
        if busy > 0 {
            return Err(DeliveryError::Busy);
        }
    }
    let kind = event.kind();
    let seq = match record(&mut tx, &job, event, db::now_ms()).await {
        // Two claims by one rider at once on PostgreSQL: the index
        // `delivery_jobs_on_the_go` lets only one through.
        Err(StorageError::Db(e)) if db::is_unique_violation(&e) => return Err(DeliveryError::Busy),
        other => other?,
    };
    tx.commit().await?;
    tracing::info!(order_id = order.get(), seq, event = kind, "delivery job changed");
    Ok(seq)
}

/// The rider takes the open job of `order`; the first claim wins (F2, F6).
///
/// Errors: [`DeliveryError::NotFound`] for a job that is not open to this
/// rider's vehicle; [`DeliveryError::Refused`] when another rider was
/// first; [`DeliveryError::Busy`] while they have a job on the go.
pub async fn claim(db: &Db, order: OrderId, rider: Rider) -> Result<i64, DeliveryError> {
    act(db, order, rider, JobCommand::Claim).await
}

/// The rider has the food (only once the store has marked it ready).
///
/// Errors: [`DeliveryError::NotFound`] unless it is their job;
/// [`DeliveryError::Refused`] before the food is ready or twice.
pub async fn pick_up(db: &Db, order: OrderId, rider: Rider) -> Result<i64, DeliveryError> {
    act(db, order, rider, JobCommand::PickUp).await
}

/// The rider handed the order over (the order follows: delivered, and its
/// payment is captured, F13).
///
/// Errors: [`DeliveryError::NotFound`] unless it is their job;
/// [`DeliveryError::Refused`] before pick-up or twice.
pub async fn deliver(db: &Db, order: OrderId, rider: Rider) -> Result<i64, DeliveryError> {
    act(db, order, rider, JobCommand::Deliver).await
}

/// Open jobs for a vehicle type, oldest first (F2), at most 50.
pub async fn open_jobs(db: &Db, vehicle: DeliveryType) -> Result<Vec<JobView>, StorageError> {
    let rows = sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM delivery_jobs WHERE status = 'open' AND vehicle = $1 ORDER BY order_id LIMIT 50"
    ))
    .bind(vehicle.as_str())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(view_from_row).collect()
}

/// The rider's job on the go (claimed or picked up), if any.
pub async fn current_job(db: &Db, rider: UserId) -> Result<Option<JobView>, StorageError> {
    let row = sqlx::query(&format!(
        "SELECT {JOB_COLUMNS} FROM delivery_jobs WHERE rider_id = $1 AND status IN ('claimed', 'picked_up') \
         ORDER BY order_id LIMIT 1"
    ))
    .bind(rider.get())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(view_from_row).transpose()
}

/// The job of `order`, whatever its state (tests, operators).
pub async fn job(db: &Db, order: OrderId) -> Result<Option<JobView>, StorageError> {
    let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM delivery_jobs WHERE order_id = $1"))
        .bind(order.get())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(view_from_row).transpose()
}
