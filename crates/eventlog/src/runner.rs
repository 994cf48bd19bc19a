//! Runs one consumer over the event log with a checkpoint and a lease.

use crate::{read_after_in, EventLogError, RecordedEvent};
use db::{Db, Tx};
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tracing::Instrument;

/// A consumer of the event log: a projection, an inbox, a notifier, ….
///
/// [`Consumer::apply`] runs inside the transaction that also advances the
/// consumer's checkpoint: whatever it writes through `tx` commits exactly when
/// the checkpoint moves past the event, so it is applied exactly once. Effects
/// outside the database must carry an idempotency key (the event's `seq`).
#[async_trait::async_trait]
pub trait Consumer: Send + Sync + 'static {
    /// A stable name; it keys the checkpoint row, so never rename a consumer
    /// that has run in production.
    fn name(&self) -> &'static str;

    /// Applies one event. An error rolls back the whole batch; the runner
    /// retries it with backoff.
    async fn apply(&self, tx: &mut Tx, event: &RecordedEvent) -> Result<(), ConsumerError>;

    /// Whether [`apply`](Consumer::apply) would do anything with this event
    /// (by default: yes). A batch of events nobody here wants moves the
    /// checkpoint in memory only, and the runner writes it down within
    /// about a poll interval: no transaction for events a consumer ignores.
    /// `apply` must still ignore them, since a batch with one wanted event
    /// hands it all.
    fn wants(&self, _event: &RecordedEvent) -> bool {
        true
    }

    /// Work for a batch about to be applied (`events`, oldest first, the
    /// unwanted ones included) that must not run inside its transaction: a
    /// call to another service, which on SQLite would hold the one writer's
    /// turn, and every write of the process with it, for as long as the
    /// service takes (issue 13). The runner calls it just before it opens
    /// the batch's transaction; [`apply`](Consumer::apply) then uses what it
    /// learned, and must still work without it (a batch read inside its
    /// transaction, after a restart or a lease taken over, is not
    /// prepared). An error fails the batch before anything is written; the
    /// runner retries it with backoff.
    ///
    /// It also tells whether the batch has anything to write at all, where
    /// only the database knows ([`Prepared::NothingToWrite`]): the runner
    /// then moves the checkpoint in memory, as for events nobody wants. By
    /// default: nothing prepared, the batch applied.
    async fn prepare(&self, _db: &db::Db, _events: &[RecordedEvent]) -> Result<Prepared, ConsumerError> {
        Ok(Prepared::Apply)
    }
}

/// What [`Consumer::prepare`] found a batch asks of its consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// Apply it in a write transaction.
    Apply,
    /// [`Consumer::apply`] would write nothing for any of its events, and no
    /// later commit can change that (what it depends on was written before
    /// those events were): no write transaction, the checkpoint moves in
    /// memory (issue 13: on SQLite every batch takes a turn of the one
    /// writer; the canteen's payroll consumer took one for each card order
    /// delivered).
    NothingToWrite,
}

/// Why a consumer could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// The event log failed.
    #[error(transparent)]
    Log(#[from] EventLogError),
    /// The consumer's own rule failed (a payload it cannot read, …).
    #[error("{0}")]
    Handler(String),
    /// A context function the consumer called failed.
    #[error(transparent)]
    Storage(#[from] crate::StorageError),
}

impl From<db::DbError> for ConsumerError {
    fn from(e: db::DbError) -> Self {
        ConsumerError::Storage(e.into())
    }
}

/// How a runner behaves.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// This process's unique name among the replicas (it holds leases).
    pub instance_id: String,
    /// Most events applied in one transaction.
    pub batch_size: i64,
    /// How often an idle runner looks for new events, in milliseconds.
    pub poll_interval_ms: u64,
    /// How long a lease lasts without renewal, in milliseconds. Another
    /// instance takes the consumer over this long after the holder died.
    pub lease_ms: i64,
    /// The first wait before retrying a failing batch, in milliseconds;
    /// it doubles at every further failure.
    pub min_backoff_ms: u64,
    /// The longest wait between retries of a failing batch, in milliseconds.
    pub max_backoff_ms: u64,
}

impl RunnerConfig {
    /// Defaults for `instance_id`: batches of 100, polling every 250 ms,
    /// 10 s leases, retries backing off from 250 ms to at most 30 s.
    pub fn new(instance_id: impl Into<String>) -> RunnerConfig {
        RunnerConfig {
            instance_id: instance_id.into(),
            batch_size: 100,
            poll_interval_ms: 250,
            lease_ms: 10_000,
            min_backoff_ms: 250,
            max_backoff_ms: 30_000,
        }
    }
}

/// What one step of a runner did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// This many events were applied and checkpointed (0: caught up).
    Applied(usize),
    /// Another instance holds the lease; nothing was done.
    NotLeader,
    /// Stopped by its switch ([`ConsumerMode::Stopped`]); nothing was done.
    Stopped,
}

/// What an operator (or a test) has told a consumer to do (issue 6, N1/N4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerMode {
    /// Applying events as they come.
    Running,
    /// Not applying anything on this replica; the backlog waits (and another
    /// replica takes the lease over once it expires).
    Stopped,
    /// Every batch fails as if the handler did: it is retried with back-off
    /// and counted, never skipped.
    Failing,
}

impl ConsumerMode {
    /// `running`, `stopped` or `failing`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerMode::Running => "running",
            ConsumerMode::Stopped => "stopped",
            ConsumerMode::Failing => "failing",
        }
    }

    /// Parses [`ConsumerMode::as_str`].
    pub fn parse(text: &str) -> Option<ConsumerMode> {
        match text {
            "running" => Some(ConsumerMode::Running),
            "stopped" => Some(ConsumerMode::Stopped),
            "failing" => Some(ConsumerMode::Failing),
            _ => None,
        }
    }
}

/// One consumer's switch, and the failures it has met, shared between its
/// runner and whoever watches it (`/admin`, `/metrics`).
#[derive(Debug)]
pub struct ConsumerControl {
    name: &'static str,
    mode: AtomicU8,
    failed_batches: AtomicU64,
    failing_in_a_row: AtomicU32,
    last_error: Mutex<Option<String>>,
    wake: Arc<Notify>,
    /// Whether this instance holds the lease (as of its last step).
    leading: std::sync::atomic::AtomicBool,
    /// The last event this instance has applied and committed (its
    /// checkpoint as this instance knows it).
    progress: watch::Sender<i64>,
    /// The checkpoint as of this instance's last look (`None`: unknown). It
    /// may be ahead of the stored one by events this consumer does not want.
    known: Mutex<Option<i64>>,
}

impl ConsumerControl {
    /// Waits until this instance's runner has committed the consumer's
    /// checkpoint at or past `seq`, for at most `timeout`: `Some(true)` when
    /// it has, `Some(false)` when the time ran out, and `None` at once when
    /// this instance does not run the consumer (another holds the lease,
    /// or it is stopped), so the caller asks the database instead.
    pub async fn wait_for(&self, seq: i64, timeout: Duration) -> Option<bool> {
        if !self.leading.load(Ordering::Relaxed) || self.mode() == ConsumerMode::Stopped {
            return None;
        }
        let mut progress = self.progress.subscribe();
        let reached = tokio::time::timeout(timeout, progress.wait_for(|applied| *applied >= seq)).await;
        Some(matches!(reached, Ok(Ok(_))))
    }

    /// The last event this instance has applied, as far as it knows (0
    /// before its first batch).
    pub fn applied(&self) -> i64 {
        *self.progress.borrow()
    }

    /// How far the consumer has got, when this instance runs it (holds
    /// the lease, is not stopped, and has looked at its checkpoint since it
    /// took the lease): its checkpoint without asking the database. `None`
    /// otherwise, so the caller asks the database. Between taking a lease
    /// and its first step, what this instance last knew is from an earlier
    /// lease (or 0 at start), behind what another replica applied meanwhile:
    /// a live socket resuming from it would skip those events.
    pub fn local_checkpoint(&self) -> Option<i64> {
        (self.leading.load(Ordering::Relaxed) && self.mode() != ConsumerMode::Stopped && self.known().is_some())
            .then(|| self.applied())
    }

    /// The consumer's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What it has been told to do.
    pub fn mode(&self) -> ConsumerMode {
        match self.mode.load(Ordering::Relaxed) {
            1 => ConsumerMode::Stopped,
            2 => ConsumerMode::Failing,
            _ => ConsumerMode::Running,
        }
    }

    /// Tells it what to do from its next step on (and wakes it, so a runner
    /// backing off after failures resumes at once).
    pub fn set_mode(&self, mode: ConsumerMode) {
        let code = match mode {
            ConsumerMode::Running => 0,
            ConsumerMode::Stopped => 1,
            ConsumerMode::Failing => 2,
        };
        self.mode.store(code, Ordering::Relaxed);
        tracing::warn!(consumer = self.name, mode = mode.as_str(), "consumer switched");
        self.wake.notify_one();
    }

    /// Batches that failed since start.
    pub fn failed_batches(&self) -> u64 {
        self.failed_batches.load(Ordering::Relaxed)
    }

    /// Failed batches since the last success (0 when healthy).
    pub fn failing_in_a_row(&self) -> u32 {
        self.failing_in_a_row.load(Ordering::Relaxed)
    }

    /// The last failure's message, until a batch succeeds.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    pub(crate) fn known(&self) -> Option<i64> {
        self.known.lock().ok().and_then(|k| *k)
    }

    pub(crate) fn set_known(&self, seq: i64) {
        // Progress first: whoever sees `known` set sees this progress too
        // ([`ConsumerControl::local_checkpoint`]).
        self.progress.send_replace(seq);
        if let Ok(mut known) = self.known.lock() {
            *known = Some(seq);
        }
    }

    pub(crate) fn forget_known(&self) {
        if let Ok(mut known) = self.known.lock() {
            *known = None;
        }
    }

    /// Whether this instance runs the consumer now: it holds the lease and
    /// is told to run (not stopped, no failure injected).
    pub(crate) fn running_here(&self) -> bool {
        self.leading.load(Ordering::Relaxed) && self.mode() == ConsumerMode::Running
    }

    fn failed(&self, error: &ConsumerError) {
        self.failed_batches.fetch_add(1, Ordering::Relaxed);
        self.failing_in_a_row.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error.to_string());
        }
    }

    fn succeeded(&self) {
        if self.failing_in_a_row.swap(0, Ordering::Relaxed) > 0 {
            if let Ok(mut last) = self.last_error.lock() {
                *last = None;
            }
        }
    }
}

/// Drives one [`Consumer`] over the log.
///
/// Cheap when idle: it renews its lease only once half of it has passed,
/// and a step finds out whether anything is new with one read before it
/// takes the write lock (which on SQLite every writer shares).
pub struct ConsumerRunner {
    db: Db,
    consumer: Arc<dyn Consumer>,
    config: RunnerConfig,
    wake: Arc<Notify>,
    committed: Option<Arc<Notify>>,
    /// The newest events, shared with the process's other runners.
    tail: Arc<crate::Tail>,
    control: Arc<ConsumerControl>,
    /// Since when (unix ms) `known` is ahead of the stored checkpoint (0:
    /// it is not).
    unsaved_since: AtomicI64,
    /// Until when (unix ms) the held lease needs no renewal.
    renew_after: AtomicI64,
}

impl ConsumerRunner {
    /// A runner for `consumer`. `wake` lets writers nudge it after a commit so
    /// it need not wait for the next poll.
    pub fn new(db: Db, consumer: Arc<dyn Consumer>, config: RunnerConfig, wake: Arc<Notify>) -> ConsumerRunner {
        let control = Arc::new(ConsumerControl {
            name: consumer.name(),
            mode: AtomicU8::new(0),
            failed_batches: AtomicU64::new(0),
            failing_in_a_row: AtomicU32::new(0),
            last_error: Mutex::new(None),
            wake: wake.clone(),
            leading: std::sync::atomic::AtomicBool::new(false),
            progress: watch::Sender::new(0),
            known: Mutex::new(None),
        });
        ConsumerRunner {
            tail: crate::Tail::new(db.clone(), 256),
            db,
            consumer,
            config,
            wake,
            committed: None,
            control,
            unsaved_since: AtomicI64::new(0),
            renew_after: AtomicI64::new(0),
        }
    }

    fn known(&self) -> Option<i64> {
        self.control.known()
    }

    fn set_known(&self, seq: i64) {
        self.control.set_known(seq);
    }

    fn forget_known(&self) {
        self.control.forget_known();
        self.unsaved_since.store(0, Ordering::Relaxed);
    }

    /// Writes down a checkpoint that moved in memory only (over events this
    /// consumer does not want), once it has been ahead for a poll interval
    /// or when `now` says so.
    async fn save_known(&self, now: bool) -> Result<(), ConsumerError> {
        let since = self.unsaved_since.load(Ordering::Relaxed);
        let due = since > 0
            && (now || db::now_ms() - since >= i64::try_from(self.config.poll_interval_ms).unwrap_or(i64::MAX));
        let Some(known) = self.known().filter(|_| due) else {
            return Ok(());
        };
        let mut tx = self.db.begin().await.map_err(db_error)?;
        sqlx::query(
            "UPDATE consumer_checkpoints SET last_seq = $2, updated_at = $3 \
             WHERE consumer = $1 AND lease_owner = $4 AND last_seq < $2",
        )
        .bind(self.name())
        .bind(known)
        .bind(db::now_ms())
        .bind(&self.config.instance_id)
        .execute(&mut *tx)
        .await?;
        tx.moved_checkpoint(self.name(), known);
        tx.commit().await?;
        self.unsaved_since.store(0, Ordering::Relaxed);
        Ok(())
    }

    /// Reads new events through `tail`, which the process's other runners
    /// (and its live hub) share: one read of the log serves them all.
    pub fn with_tail(mut self, tail: Arc<crate::Tail>) -> ConsumerRunner {
        self.tail = tail;
        self
    }

    /// Its switch and failure counts.
    pub fn control(&self) -> Arc<ConsumerControl> {
        self.control.clone()
    }

    /// This runner's consumer as a member of an [`crate::Inline`]: applied
    /// inside the transactions that append events while this runner is
    /// caught up.
    pub fn inline_member(&self) -> crate::inline::Member {
        crate::inline::Member {
            consumer: self.consumer.clone(),
            control: self.control.clone(),
            committed: self.committed.clone(),
        }
    }

    /// Also wakes everyone waiting on `committed` after each batch commits
    /// (e.g. the live hub, which forwards only what the projections include).
    pub fn notify_after_commit(mut self, committed: Arc<Notify>) -> ConsumerRunner {
        self.committed = Some(committed);
        self
    }

    /// The consumer's name.
    pub fn name(&self) -> &'static str {
        self.consumer.name()
    }

    /// Creates the consumer's checkpoint row at 0 if it has none yet.
    pub async fn register(&self) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO consumer_checkpoints (consumer, last_seq, lease_until, updated_at) VALUES ($1, 0, 0, $2) \
             ON CONFLICT (consumer) DO NOTHING",
        )
        .bind(self.name())
        .bind(db::now_ms())
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// Takes or renews the lease; `true` when this instance holds it now.
    pub async fn acquire_lease(&self) -> Result<bool, sqlx::Error> {
        let now = db::now_ms();
        let result = sqlx::query(
            "UPDATE consumer_checkpoints SET lease_owner = $2, lease_until = $3 \
             WHERE consumer = $1 AND (lease_owner IS NULL OR lease_owner = $2 OR lease_until < $4)",
        )
        .bind(self.name())
        .bind(&self.config.instance_id)
        .bind(now + self.config.lease_ms)
        .bind(now)
        .execute(self.db.writer())
        .await?;
        let held = result.rows_affected() == 1;
        self.renew_after
            .store(if held { now + self.config.lease_ms / 2 } else { 0 }, Ordering::Relaxed);
        self.control.leading.store(held, Ordering::Relaxed);
        Ok(held)
    }

    /// Gives the lease up so another instance can take over at once (after
    /// writing down where it got to).
    pub async fn release_lease(&self) -> Result<(), sqlx::Error> {
        if let Err(e) = self.save_known(true).await {
            tracing::warn!(consumer = self.name(), error = %e, "cannot save the checkpoint; the next holder re-reads a few events");
        }
        self.forget_known();
        self.renew_after.store(0, Ordering::Relaxed);
        self.control.leading.store(false, Ordering::Relaxed);
        sqlx::query(
            "UPDATE consumer_checkpoints SET lease_owner = NULL, lease_until = 0 WHERE consumer = $1 AND lease_owner = $2",
        )
        .bind(self.name())
        .bind(&self.config.instance_id)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    /// One step: renew the lease, then apply one batch and move the checkpoint
    /// in a single transaction.
    pub async fn step(&self) -> Result<StepOutcome, ConsumerError> {
        self.step_with(true).await
    }

    /// [`ConsumerRunner::step`]; with `look` false, a runner that has
    /// applied everything this process knows committed ([`db::Db::log_head`])
    /// does not ask the database at all: woken by a commit it has already
    /// seen (its own, or one an earlier step read), there is nothing to read.
    async fn step_with(&self, look: bool) -> Result<StepOutcome, ConsumerError> {
        if self.control.mode() == ConsumerMode::Stopped {
            return Ok(StepOutcome::Stopped);
        }
        let lease_fresh = db::now_ms() < self.renew_after.load(Ordering::Relaxed);
        if !lease_fresh && !self.acquire_lease().await? {
            self.forget_known();
            return Ok(StepOutcome::NotLeader);
        }
        if self.control.mode() == ConsumerMode::Failing {
            return Err(ConsumerError::Handler("failure injected by an operator".into()));
        }
        // Events read before the transaction, to reuse in it when the
        // checkpoint has not moved meanwhile.
        let mut prefetched = None;
        if let Some(known) = self.known() {
            // The log has no gaps in commit order, so reading outside a
            // transaction cannot skip an event that commits later.
            let events = if look {
                self.tail.read_fresh(known, self.config.batch_size).await?
            } else if *self.db.log_head().borrow() <= known {
                Vec::new()
            } else {
                self.tail.read_after(known, self.config.batch_size).await?
            };
            let Some(last) = events.last().map(|e| e.seq) else {
                // Nothing new since the last batch: no write transaction at all.
                self.save_known(false).await?;
                return Ok(StepOutcome::Applied(0));
            };
            // Nothing this consumer wants, or nothing it would write: move
            // on in memory.
            if !events.iter().any(|e| self.consumer.wants(e))
                || self.consumer.prepare(&self.db, &events).await? == Prepared::NothingToWrite
            {
                self.set_known(last);
                let _ = self
                    .unsaved_since
                    .compare_exchange(0, db::now_ms(), Ordering::Relaxed, Ordering::Relaxed);
                // Alone, this process's waiters see the checkpoint in memory;
                // other replicas' waiters see only the stored one (issue 14).
                self.save_known(self.db.hears_other_replicas()).await?;
                return Ok(StepOutcome::Applied(events.len()));
            }
            prefetched = Some((known, events));
        }
        // What a batch writes is derived from the log and moves with its
        // checkpoint: a crash that loses the commit loses both, and the
        // batch is applied again (effects outside the database carry the
        // event's seq as idempotency key). So no waiting for the disk.
        let mut tx = self.db.begin_replayable().await.map_err(db_error)?;
        // The usual case: the events read above, from where this instance
        // knows the checkpoint stands. Moving the checkpoint first, on the
        // condition that the lease is still ours and nobody moved it past
        // what we know, locks its row for the batch in one statement.
        let mut claimed = None;
        if let Some((known, events)) = prefetched {
            if let Some(last) = events.last().map(|e| e.seq) {
                const MOVE: &str = "UPDATE consumer_checkpoints SET last_seq = $2, updated_at = $3 \
                     WHERE consumer = $1 AND lease_owner = $4 AND last_seq <= $5 RETURNING last_seq";
                // On PostgreSQL the same statement tells the other replicas.
                let notice = tx.checkpoint_notice(self.name(), "$2");
                let sql = match &notice {
                    Some(notice) => format!(
                        "WITH moved AS ({MOVE}) SELECT moved.last_seq FROM moved, LATERAL (SELECT {notice}) AS announced"
                    ),
                    None => MOVE.to_string(),
                };
                let moved: Option<i64> = sqlx::query_scalar(&sql)
                    .bind(self.name())
                    .bind(last)
                    .bind(db::now_ms())
                    .bind(&self.config.instance_id)
                    .bind(known)
                    .fetch_optional(&mut *tx)
                    .await?;
                if moved.is_some() {
                    if notice.is_some() {
                        tx.announced_checkpoint(self.name(), last);
                    }
                    claimed = Some(events);
                }
            }
        }
        let checkpoint_moved = claimed.is_some();
        let events = match claimed {
            Some(events) => events,
            None => {
                // Locks the checkpoint row (PostgreSQL) for the whole batch: a
                // lease taken over meanwhile waits for this commit, so two
                // instances never apply the same event even when a lease
                // expires mid-batch.
                let row: Option<(i64, Option<String>)> = sqlx::query_as(&format!(
                    "SELECT last_seq, lease_owner FROM consumer_checkpoints WHERE consumer = $1{}",
                    self.db.for_update()
                ))
                .bind(self.name())
                .fetch_optional(&mut *tx)
                .await?;
                let Some((last_seq, owner)) = row else {
                    return Err(ConsumerError::Handler(format!(
                        "consumer {} is not registered",
                        self.name()
                    )));
                };
                if owner.as_deref() != Some(self.config.instance_id.as_str()) {
                    self.renew_after.store(0, Ordering::Relaxed);
                    self.control.leading.store(false, Ordering::Relaxed);
                    self.forget_known();
                    return Ok(StepOutcome::NotLeader);
                }
                let events = read_after_in(&mut tx, last_seq, self.config.batch_size).await?;
                if events.is_empty() {
                    // On SQLite this transaction may have joined a group
                    // whose earlier members moved the checkpoint (inline)
                    // and have not committed yet: `last_seq` is known only
                    // once they have. Told earlier, the live hub took those
                    // events as projected before the log held them, and
                    // skipped them (SQLite crashtest, December 2026).
                    tx.commit().await?;
                    self.set_known(last_seq);
                    return Ok(StepOutcome::Applied(0));
                }
                events
            }
        };
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(StepOutcome::Applied(0));
        };
        for event in &events {
            let span = tracing::info_span!(
                "consume",
                consumer = self.name(),
                seq = event.seq,
                order_id = event.correlation_id
            );
            // `instrument`, not `enter`: an entered guard held across an
            // await would label whatever else runs on this thread meanwhile.
            async {
                self.consumer.apply(&mut tx, event).await?;
                tracing::debug!(kind = %event.kind, "event applied");
                Ok::<(), ConsumerError>(())
            }
            .instrument(span)
            .await?;
        }
        if !checkpoint_moved {
            sqlx::query("UPDATE consumer_checkpoints SET last_seq = $2, updated_at = $3 WHERE consumer = $1")
                .bind(self.name())
                .bind(last)
                .bind(db::now_ms())
                .execute(&mut *tx)
                .await?;
        }
        // Events the batch appended (consequences) wake the other
        // consumers through the log head once this commits, and the moved
        // checkpoint wakes whoever waits for it, on every replica.
        tx.moved_checkpoint(self.name(), last);
        tx.commit().await?;
        self.unsaved_since.store(0, Ordering::Relaxed);
        self.set_known(last);
        if let Some(committed) = &self.committed {
            committed.notify_waiters();
        }
        Ok(StepOutcome::Applied(events.len()))
    }

    /// Runs until `shutdown` turns true: steps while there is work, otherwise
    /// sleeps until woken or the poll interval passes; a failing batch is
    /// retried with exponential backoff. Releases the lease on the way out.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if let Err(e) = self.register().await {
            tracing::error!(consumer = self.name(), error = %e, "cannot register consumer");
        }
        let mut head = self.db.log_head();
        let mut failures: u32 = 0;
        // Whether the next step must ask the database (after a poll, a
        // nudge or a batch) or may trust the log head (woken by a commit).
        let mut look = true;
        while !*shutdown.borrow() {
            let pause = match self.step_with(look).await {
                Ok(StepOutcome::Applied(n)) if n > 0 => {
                    failures = 0;
                    self.control.succeeded();
                    // More may wait: after a full batch the log says how
                    // much; otherwise the log head does.
                    look = i64::try_from(n).unwrap_or(i64::MAX) >= self.config.batch_size;
                    continue;
                }
                Ok(outcome) => {
                    failures = 0;
                    if outcome == StepOutcome::Applied(0) {
                        self.control.succeeded();
                    }
                    Duration::from_millis(self.config.poll_interval_ms)
                }
                Err(e) => {
                    self.control.failed(&e);
                    failures = failures.saturating_add(1);
                    let backoff = self
                        .config
                        .min_backoff_ms
                        .saturating_mul(1u64 << (failures - 1).min(16))
                        .min(self.config.max_backoff_ms);
                    tracing::warn!(consumer = self.name(), error = %e, failures, backoff_ms = backoff, "consumer batch failed; retrying");
                    Duration::from_millis(backoff)
                }
            };
            // A failing batch waits out its back-off whatever commits meanwhile.
            let backing_off = failures > 0;
            look = true;
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.wake.notified() => {}
                changed = head.changed(), if !backing_off => {
                    look = changed.is_err();
                    // Let the other tasks this commit woke run first: under
                    // load more commits land meanwhile, and one batch takes
                    // them all (fewer transactions; measured in BENCHMARKS.md).
                    tokio::task::yield_now().await;
                }
                changed = shutdown.changed() => {
                    // The sender is gone: nobody can ask us to stop any more,
                    // and `changed` would return at once for ever.
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        if let Err(e) = self.release_lease().await {
            tracing::warn!(consumer = self.name(), error = %e, "cannot release lease");
        }
    }
}

fn db_error(e: db::DbError) -> ConsumerError {
    match e {
        db::DbError::Query(e) => ConsumerError::Db(e),
        other => ConsumerError::Handler(other.to_string()),
    }
}
