//! The event log and its consumers (DESIGN.md §2, "Event log and consumers").
//!
//! - [`append`] writes events inside the caller's transaction (transactional
//!   outbox): an event exists exactly when the state change it records committed.
//!   Sequence numbers are gap-free and in commit order on both databases.
//! - [`ConsumerRunner`] feeds the log to one [`Consumer`]: it applies a batch and
//!   advances that consumer's checkpoint in one transaction, so a crash loses
//!   nothing and applies nothing twice (N1, N4). With several instances on one
//!   PostgreSQL database a lease lets one instance run each consumer at a time,
//!   and another takes over when the lease holder stops renewing it.

mod inline;
mod runner;
mod tail;

pub use inline::{Inline, Member as InlineMember};
pub use runner::{
    Consumer, ConsumerControl, ConsumerError, ConsumerMode, ConsumerRunner, Prepared, RunnerConfig, StepOutcome,
};
pub use tail::{Tail, DEFAULT_CAPACITY as TAIL_CAPACITY};

use db::{Db, Tx};
use domain::event::{Event, UndecodableEvent};
use serde::{Deserialize, Serialize};
use sqlx::Row;

/// What can go wrong reading or writing the log.
#[derive(Debug, thiserror::Error)]
pub enum EventLogError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A payload could not be (de)serialised.
    #[error("event payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// The sequence counter row is missing: the schema is not migrated.
    #[error("the event_sequence row is missing; run the migrations")]
    NoSequence,
    /// An event this build cannot read (a kind it does not know, a payload
    /// of the wrong shape). Consumers stop at it rather than skip it.
    #[error(transparent)]
    Undecodable(#[from] UndecodableEvent),
}

/// Why a context could not read or write its tables: the database, the
/// log, or a stored document. Keeps its cause for the log; a user is only
/// ever told that something went wrong on our side.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A statement failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A transaction could not be started.
    #[error(transparent)]
    Begin(#[from] db::DbError),
    /// The event log failed.
    #[error(transparent)]
    Log(#[from] EventLogError),
    /// A stored JSON document could not be read or written.
    #[error("stored document: {0}")]
    Document(#[from] serde_json::Error),
    /// A stored value this build does not know (a status, a kind).
    #[error("stored value: {0}")]
    Value(String),
}

/// An event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The kind of aggregate it is about: `"order"`, `"store"`, ….
    pub stream: &'static str,
    /// That aggregate's id.
    pub stream_id: i64,
    /// The order whose story this event belongs to, if any (N5).
    pub correlation_id: Option<i64>,
    /// The event's name, e.g. `"OrderPlaced"`.
    pub kind: String,
    /// The event's data.
    pub payload: serde_json::Value,
}

impl NewEvent {
    /// A domain event, with its stream, stream id and correlation id (the order).
    pub fn of(event: &Event) -> Result<NewEvent, EventLogError> {
        Ok(NewEvent {
            stream: event.stream(),
            stream_id: event.stream_id(),
            correlation_id: event.order_id().map(domain::OrderId::get),
            kind: event.kind().to_string(),
            payload: event.payload()?,
        })
    }
}

/// Appends domain events, in order, inside `tx` ([`append`]); returns their
/// sequence numbers.
pub async fn append_events(tx: &mut Tx, events: &[Event]) -> Result<Vec<i64>, EventLogError> {
    let new: Vec<NewEvent> = events.iter().map(NewEvent::of).collect::<Result<_, _>>()?;
    append(tx, &new).await
}

/// Appends one domain event inside `tx`; returns its sequence number.
pub async fn append_event(tx: &mut Tx, event: impl Into<Event>) -> Result<i64, EventLogError> {
    let seqs = append_events(tx, &[event.into()]).await?;
    seqs.first().copied().ok_or(EventLogError::NoSequence)
}

/// An event as stored in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// Position in the log: 1, 2, 3, … with no gaps, in commit order.
    pub seq: i64,
    /// The kind of aggregate, e.g. `"order"`.
    pub stream: String,
    /// The aggregate's id.
    pub stream_id: i64,
    /// The order this event belongs to, if any.
    pub correlation_id: Option<i64>,
    /// The event's name.
    pub kind: String,
    /// The event's data.
    pub payload: serde_json::Value,
    /// When it was committed, in unix milliseconds.
    pub recorded_at: i64,
}

impl RecordedEvent {
    /// The domain event this record holds.
    ///
    /// Errors: [`EventLogError::Undecodable`] for a kind or payload this
    /// build does not know.
    pub fn event(&self) -> Result<Event, EventLogError> {
        Ok(Event::decode(&self.kind, &self.payload)?)
    }
}

/// Appends `events`, in order, inside `tx` and returns their sequence numbers.
///
/// The sequence comes from incrementing the single `event_sequence` row; its
/// row lock (write lock on SQLite) is held until `tx` ends, so concurrent
/// appenders take turns and numbers become visible in order with no gaps.
/// Append as late in the transaction as possible: the turn lasts until commit.
/// On PostgreSQL it is one statement, which also tells the other replicas.
pub async fn append(tx: &mut Tx, events: &[NewEvent]) -> Result<Vec<i64>, EventLogError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let now = db::now_ms();
    if let Some(notice) = tx.log_notice("next.last_seq") {
        return append_in_one_statement(tx, events, count, now, &notice).await;
    }
    let last: i64 =
        sqlx::query_scalar("UPDATE event_sequence SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq")
            .bind(count)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(EventLogError::NoSequence)?;
    let mut seqs = Vec::with_capacity(events.len());
    for (i, event) in events.iter().enumerate() {
        let seq = last - count + 1 + i64::try_from(i).unwrap_or(0);
        sqlx::query(
            "INSERT INTO events (seq, stream, stream_id, correlation_id, kind, payload, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(seq)
        .bind(event.stream)
        .bind(event.stream_id)
        .bind(event.correlation_id)
        .bind(&event.kind)
        .bind(serde_json::to_string(&event.payload)?)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        seqs.push(seq);
        tx.keep_appended(Box::new(recorded(event, seq, now)));
    }
    // Announced to this process's consumers once `tx` commits.
    tx.appended_events(last - count + 1, last);
    Ok(seqs)
}

/// [`append`] on PostgreSQL: the counter's increment, every event's row and
/// the notice to the other replicas (`notice`, [`db::Tx::log_notice`]) in
/// one statement. The counter's row lock lasts until commit and every other
/// appender waits for it, so each round trip made while it is held is one
/// that all of them wait for (issue 13: `UPDATE event_sequence` was most of
/// what PostgreSQL's sessions waited on under load).
async fn append_in_one_statement(
    tx: &mut Tx,
    events: &[NewEvent],
    count: i64,
    now: i64,
    notice: &str,
) -> Result<Vec<i64>, EventLogError> {
    let rows: Vec<String> = (0..events.len())
        .map(|i| {
            let p = 3 + 6 * i;
            format!(
                "(${}::bigint, ${}::text, ${}::bigint, ${}::bigint, ${}::text, ${}::text)",
                p,
                p + 1,
                p + 2,
                p + 3,
                p + 4,
                p + 5
            )
        })
        .collect();
    let sql = format!(
        "WITH next AS (UPDATE event_sequence SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq), \
         appended AS (INSERT INTO events (seq, stream, stream_id, correlation_id, kind, payload, recorded_at) \
           SELECT next.last_seq - $1 + v.ord, v.stream, v.stream_id, v.correlation_id, v.kind, v.payload, $2 \
           FROM next, (VALUES {}) AS v (ord, stream, stream_id, correlation_id, kind, payload)) \
         SELECT next.last_seq FROM next, LATERAL (SELECT {notice}) AS announced",
        rows.join(", ")
    );
    let mut query = sqlx::query_scalar(&sql).bind(count).bind(now);
    for (i, event) in events.iter().enumerate() {
        query = query
            .bind(i64::try_from(i).unwrap_or(i64::MAX) + 1)
            .bind(event.stream)
            .bind(event.stream_id)
            .bind(event.correlation_id)
            .bind(&event.kind)
            .bind(serde_json::to_string(&event.payload)?);
    }
    let last: i64 = query
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(EventLogError::NoSequence)?;
    let first = last - count + 1;
    for (event, seq) in events.iter().zip(first..) {
        tx.keep_appended(Box::new(recorded(event, seq, now)));
    }
    tx.appended_events(first, last);
    tx.announced_events(last);
    Ok((first..=last).collect())
}

/// `event` as the log keeps it at `seq`, committed at `at` (unix ms).
fn recorded(event: &NewEvent, seq: i64, at: i64) -> RecordedEvent {
    RecordedEvent {
        seq,
        stream: event.stream.to_string(),
        stream_id: event.stream_id,
        correlation_id: event.correlation_id,
        kind: event.kind.clone(),
        payload: event.payload.clone(),
        recorded_at: at,
    }
}

const SELECT_EVENTS: &str = "SELECT seq, stream, stream_id, correlation_id, kind, payload, recorded_at FROM events";

fn decode(row: &sqlx::any::AnyRow) -> Result<RecordedEvent, EventLogError> {
    let payload: String = row.try_get("payload")?;
    Ok(RecordedEvent {
        seq: row.try_get("seq")?,
        stream: row.try_get("stream")?,
        stream_id: row.try_get("stream_id")?,
        correlation_id: row.try_get("correlation_id")?,
        kind: row.try_get("kind")?,
        payload: serde_json::from_str(&payload)?,
        recorded_at: row.try_get("recorded_at")?,
    })
}

/// Up to `limit` events after `after_seq`, in sequence order, read in `tx`.
pub async fn read_after_in(tx: &mut Tx, after_seq: i64, limit: i64) -> Result<Vec<RecordedEvent>, EventLogError> {
    let rows = sqlx::query(&format!("{SELECT_EVENTS} WHERE seq > $1 ORDER BY seq LIMIT $2"))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(decode).collect()
}

/// Up to `limit` events after `after_seq`, in sequence order.
pub async fn read_after(db: &Db, after_seq: i64, limit: i64) -> Result<Vec<RecordedEvent>, EventLogError> {
    let rows = sqlx::query(&format!("{SELECT_EVENTS} WHERE seq > $1 ORDER BY seq LIMIT $2"))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(decode).collect()
}

/// Every event of one order, in sequence order (the order's whole story, N5).
pub async fn read_correlated(db: &Db, order_id: i64) -> Result<Vec<RecordedEvent>, EventLogError> {
    let rows = sqlx::query(&format!("{SELECT_EVENTS} WHERE correlation_id = $1 ORDER BY seq"))
        .bind(order_id)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(decode).collect()
}

/// The sequence number of the latest event of one order (0 for none): how
/// far its story has got, consequences recorded by consumers included.
pub async fn last_of_order(db: &Db, order_id: i64) -> Result<i64, EventLogError> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events WHERE correlation_id = $1")
            .bind(order_id)
            .fetch_one(db.pool())
            .await?,
    )
}

/// The highest committed sequence number (0 for an empty log).
pub async fn head(db: &Db) -> Result<i64, EventLogError> {
    Ok(sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
        .fetch_one(db.pool())
        .await?)
}

/// The lowest checkpoint among `consumers` (0 for one that never ran): how
/// far the read models made of them have all got.
pub async fn checkpoint_of_all(db: &Db, consumers: &[&str]) -> Result<i64, EventLogError> {
    let mut lowest = i64::MAX;
    for consumer in consumers {
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM consumer_checkpoints WHERE consumer = $1")
            .bind(*consumer)
            .fetch_optional(db.pool())
            .await?;
        lowest = lowest.min(seq.unwrap_or(0));
    }
    Ok(if consumers.is_empty() { 0 } else { lowest })
}

/// Every registered consumer's checkpoint: `(name, last applied seq)`, by name.
/// A consumer's lag is [`head`] minus its checkpoint.
pub async fn checkpoints(db: &Db) -> Result<Vec<(String, i64)>, EventLogError> {
    Ok(
        sqlx::query_as("SELECT consumer, last_seq FROM consumer_checkpoints ORDER BY consumer")
            .fetch_all(db.pool())
            .await?,
    )
}
