//! The consumers a command waits for, applied inside the command's own
//! transaction (issue 13: the order lifecycle on SQLite).
//!
//! On SQLite every write transaction takes the one writer's turn. A command
//! used to commit its events and then wait while each consumer it waits
//! for (the order views, the notifications, the delivery jobs, the order
//! following its job) took a turn of its own to apply them: five turns and
//! four hand-offs of the writer per step, most of a step's time. [`Inline`]
//! applies the events a transaction appended to those consumers just before
//! it commits ([`db::BeforeCommit`]), moving their checkpoints in the same
//! commit, so the step is one turn and its effect shows the moment it
//! commits. Events those consumers append in turn (a job opened, an order
//! following its job) are applied too, in order, in the same transaction.
//!
//! Exactly once still holds: a consumer takes part only while this process
//! runs it (holds its lease, not stopped, no failure injected) and has
//! applied every earlier event (its checkpoint is the event before the
//! transaction's first). Its runner, which can only write after this
//! commit, then finds the checkpoint past those events. The work sits
//! behind a `SAVEPOINT`: a consumer that fails, or a checkpoint that is not
//! where it was expected, rolls back just that part, and the runners apply
//! the events as before (and report the failure). PostgreSQL, whose
//! writers run side by side, keeps the runners alone: taking the
//! checkpoints' rows in every command would make its commands queue (and
//! measured fewer lifecycles, BENCHMARKS.md); it installs an [`Inline`]
//! without members.
//!
//! Either way the events a transaction appended reach the process's
//! [`Tail`] as it commits, when they continue what the tail holds: the
//! runners and the live hub then read them from memory, not back from the
//! database (on PostgreSQL that read was a query per commit).

use crate::{ConsumerControl, RecordedEvent, Tail};
use db::Tx;
use std::sync::Arc;
use tokio::sync::Notify;
use tracing::Instrument;

/// Most events one transaction applies inline; a longer chain of
/// consequences is left to the runners.
const MOST_EVENTS: i64 = 64;

/// One consumer taking part in an [`Inline`]
/// ([`crate::ConsumerRunner::inline_member`]).
pub struct Member {
    pub(crate) consumer: Arc<dyn crate::Consumer>,
    pub(crate) control: Arc<ConsumerControl>,
    /// Told after a commit that moved this consumer (like its runner's
    /// `notify_after_commit`).
    pub(crate) committed: Option<Arc<Notify>>,
}

/// The consumers applied in the transactions that append events (see the
/// module's docs), and the committed events handed to the tail; install it
/// with [`db::Db::set_before_commit`] (on PostgreSQL without members).
pub struct Inline {
    instance_id: String,
    members: Vec<Member>,
    tail: Arc<Tail>,
}

impl Inline {
    /// `members` run by this process as `instance_id` (their runners'
    /// lease owner), in the order each event is applied to them; `tail` is
    /// the process's shared tail, which learns the applied events on commit.
    pub fn new(instance_id: impl Into<String>, members: Vec<Member>, tail: Arc<Tail>) -> Inline {
        Inline {
            instance_id: instance_id.into(),
            members,
            tail,
        }
    }

    /// Applies every event `tx` appended from `first` on (and the events
    /// that applying them appends) to `members`, then moves their
    /// checkpoints past the last. `None` when the work must be left to the
    /// runners (a checkpoint not where it was expected, too long a chain).
    async fn apply_all(
        &self,
        tx: &mut Tx,
        members: &[&Member],
        first: i64,
    ) -> Result<Option<Vec<RecordedEvent>>, crate::ConsumerError> {
        let mut done = first - 1;
        let mut applied = Vec::new();
        while let Some((_, last)) = tx.appended().filter(|(_, last)| *last > done) {
            if last - first >= MOST_EVENTS {
                return Ok(None);
            }
            let events: Vec<RecordedEvent> = tx
                .appended_records()
                .iter()
                .filter_map(|r| r.downcast_ref::<RecordedEvent>())
                .filter(|e| e.seq > done)
                .cloned()
                .collect();
            let gapless = events.iter().zip(done + 1..).all(|(e, seq)| e.seq == seq);
            if !gapless || events.last().map(|e| e.seq) != Some(last) {
                return Ok(None);
            }
            for event in &events {
                for member in members {
                    if !member.consumer.wants(event) {
                        continue;
                    }
                    let span = tracing::info_span!(
                        "consume",
                        consumer = member.consumer.name(),
                        seq = event.seq,
                        order_id = event.correlation_id,
                        inline = true
                    );
                    async {
                        member.consumer.apply(tx, event).await?;
                        tracing::debug!(kind = %event.kind, "event applied");
                        Ok::<(), crate::ConsumerError>(())
                    }
                    .instrument(span)
                    .await?;
                }
            }
            applied.extend(events);
            done = last;
        }
        // One statement moves them all, on the conditions a runner's batch
        // checks: this instance's lease, and no event skipped.
        let names: Vec<String> = (0..members.len()).map(|i| format!("${}", i + 5)).collect();
        let sql = format!(
            "UPDATE consumer_checkpoints SET last_seq = $1, updated_at = $2 \
             WHERE lease_owner = $3 AND last_seq <= $4 AND consumer IN ({})",
            names.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(done)
            .bind(db::now_ms())
            .bind(&self.instance_id)
            .bind(first - 1);
        for member in members {
            query = query.bind(member.consumer.name());
        }
        let moved = query.execute(&mut **tx).await?;
        if moved.rows_affected() != u64::try_from(members.len()).unwrap_or(u64::MAX) {
            return Ok(None);
        }
        for member in members {
            tx.moved_checkpoint(member.consumer.name(), done);
        }
        Ok(Some(applied))
    }

    /// Has the process's tail keep the events `tx` appended once it has
    /// committed (when they continue what the tail holds), so that neither
    /// the runners nor the live hub read them back from the database.
    fn remember_after_commit(&self, tx: &mut Tx) {
        let appended: Vec<RecordedEvent> = tx
            .appended_records()
            .iter()
            .filter_map(|r| r.downcast_ref::<RecordedEvent>())
            .cloned()
            .collect();
        let tail = self.tail.clone();
        tx.after_commit(move || tail.remember_committed(&appended));
    }
}

#[async_trait::async_trait]
impl db::BeforeCommit for Inline {
    async fn before_commit(&self, tx: &mut Tx) -> Result<(), sqlx::Error> {
        let Some((first, _)) = tx.appended() else {
            return Ok(());
        };
        // Caught up to just before this transaction's events, and run here
        // (where it stands in memory, or where an earlier transaction of
        // the group this one commits with moved it). A consumer whose own
        // batch this is stays with its runner.
        let members: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| {
                let stands = tx.pending_checkpoint(m.consumer.name()).or(m.control.known());
                m.control.running_here() && stands == Some(first - 1)
            })
            .filter(|m| !tx.moved_checkpoints().any(|name| name == m.consumer.name()))
            .collect();
        if members.is_empty() {
            self.remember_after_commit(tx);
            return Ok(());
        }
        let mark = tx.mark();
        sqlx::query("SAVEPOINT inline_consumers").execute(&mut **tx).await?;
        match self.apply_all(tx, &members, first).await {
            Ok(Some(applied)) => {
                // The commit releases the savepoint: no statement for it.
                let done = applied.last().map_or(first - 1, |e| e.seq);
                let told: Vec<(Arc<ConsumerControl>, Option<Arc<Notify>>)> = members
                    .iter()
                    .map(|m| (m.control.clone(), m.committed.clone()))
                    .collect();
                let tail = self.tail.clone();
                tx.after_commit(move || {
                    tail.remember_committed(&applied);
                    for (control, committed) in told {
                        control.set_known(done);
                        if let Some(committed) = committed {
                            committed.notify_waiters();
                        }
                    }
                });
            }
            outcome => {
                if let Err(e) = outcome {
                    tracing::debug!(error = %e, "inline consumers failed; their runners apply the events");
                }
                sqlx::query("ROLLBACK TO inline_consumers").execute(&mut **tx).await?;
                tx.restore(mark);
                self.remember_after_commit(tx);
            }
        }
        Ok(())
    }
}
