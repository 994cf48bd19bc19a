//! A SQLite file's connections, driven from the task that reads or writes
//! (issue 13).
//!
//! sqlx runs each SQLite connection on a thread of its own and hands every
//! statement to that thread and back: two thread wake-ups per statement,
//! about 100 µs under load on two cores, and an order's lifecycle runs about
//! a hundred statements on the writer (BENCHMARKS.md, ninth part). The
//! writer's turn was the limit. Here the write transactions and the single
//! writes of a SQLite file run on one `rusqlite` connection instead, in the
//! calling task, each statement a plain function call of a few
//! microseconds: the only hand-off left is the turn itself (a tokio mutex).
//! The reads ([`crate::Db::pool`]) likewise run on a few `rusqlite`
//! connections of their own ([`SqliteReaders`]), each statement in the
//! calling task.
//!
//! Callers do not see the difference: a [`crate::Tx`], [`crate::Db::writer`]
//! and [`crate::Db::pool`] are sqlx executors of the `Any` database either
//! way, and this module turns
//! sqlx's arguments into SQLite bindings and SQLite's rows into `AnyRow`s the
//! way sqlx's own SQLite driver does (`$N` parameters by number, integers as
//! `BIGINT`, reals as `DOUBLE`, errors as database errors with SQLite's
//! extended code). It builds those rows from fields sqlx marks as exempt from
//! semantic versioning, so `sqlx-core` is pinned to sqlx's exact version.
//!
//! Statements are short and the connection's file is not synced at commit
//! (WAL, `synchronous = NORMAL`), so they run on the async worker thread;
//! the slow part of a commit, copying the log back into the database file
//! (a checkpoint, which syncs), is left to a connection of its own on a
//! blocking thread ([`SqliteWriter::wrote`]), which also keeps the log
//! from growing without end under steady load.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::StreamExt;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow, AnyTypeInfo, AnyTypeInfoKind};
use sqlx::Either;
use sqlx::{Any, Execute};
use sqlx_core::any::{AnyColumn, AnyValue, AnyValueKind};
use sqlx_core::ext::ustr::UStr;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// How many commits (or single writes) between two background checkpoints.
const CHECKPOINT_EVERY: u64 = 256;

/// How many commits a checkpoint under way lets the writers make before
/// the next one waits for it to end. A `PASSIVE` copy does not hold the
/// turn, and on a starved CPU the writers made 3,500 commits (21,000 log
/// frames) during one 165 ms copy; the log then passed 100 MiB in the
/// 12,000 writes of the `writer` test (CI, December 2026).
const CHECKPOINT_LEAD: u64 = 4 * CHECKPOINT_EVERY;

/// How long the write-ahead log may grow, in frames (pages of 4 KiB), before
/// a checkpoint waits for the readers so the log starts again from its
/// beginning (`RESTART`). A `PASSIVE` checkpoint never does: with reads
/// always running beside steady writes the log grew without end (3.6 GB in
/// a 20 s load run), and every read looked through its whole index.
const RESTART_FRAMES: i64 = 4096;

/// How long a checkpoint waits for the writer's turn to end and for the
/// readers to leave the log, in milliseconds. A `RESTART` checkpoint holds
/// the file's write lock while it waits, so the writer waits as long.
const CHECKPOINT_BUSY_MS: u64 = 20;

/// How many times a `RESTART` that found readers still in the log doubles
/// the next one's wait ([`CHECKPOINT_BUSY_MS`] up to 640 ms). Readers that
/// each stay longer than 20 ms (a slow scan, or a starved CPU) otherwise
/// kept every restart from happening and the log grew past 100 MiB in the
/// 12,000 writes of the `writer` test (CI, December 2026).
const MAX_BUSY_DOUBLINGS: u32 = 5;

/// The size the writer cuts a longer write-ahead log back to when it starts
/// it again, in bytes (`PRAGMA journal_size_limit`), so a burst does not
/// keep its disk space for good.
const LOG_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// How many prepared statements the writer keeps (each context's writes).
const STATEMENT_CACHE: usize = 512;

/// Most write transactions one commit of the writer connection holds
/// ([`Group`]).
const GROUP_MOST_MEMBERS: usize = 16;

/// How long after its first member a group stops taking new ones, in
/// microseconds: the first member's answer waits for the group's commit.
const GROUP_MOST_AGE_US: u128 = 2_000;

/// How long a member waits for its group's commit before it takes the
/// turn to commit the group itself, in milliseconds: the one it handed
/// the turn to may have given up waiting for it.
const GROUP_WAIT_MS: u64 = 5;

/// The writer connection of one SQLite file, and its turn.
pub(crate) struct SqliteWriter {
    conn: Arc<Mutex<WriterConn>>,
    /// How many callers wait for the turn (or are about to).
    waiting: AtomicUsize,
    /// How long a writer waits for its turn, and for another process's
    /// write lock, before it fails (the pool's acquire timeout).
    timeout: Duration,
    /// The connection that runs the checkpoints, on a blocking thread.
    checkpointer: std::sync::Mutex<Checkpointer>,
    writes: AtomicU64,
    turns: Arc<TurnStats>,
    /// Whether a checkpoint is under way (one at a time).
    checkpointing: AtomicBool,
    /// How many commits had been made when the checkpoint under way began.
    checkpoint_began: AtomicU64,
    /// Told when a checkpoint ends, for the writers that outran it
    /// ([`CHECKPOINT_LEAD`]).
    checkpoint_ended: tokio::sync::Notify,
    closed: AtomicBool,
    /// This writer, for the checkpoint task that takes its turn.
    me: std::sync::Weak<SqliteWriter>,
}

impl std::fmt::Debug for SqliteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteWriter")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The writer connection, and the group of write transactions its open
/// transaction holds.
///
/// Group commit (issue 13): a `BEGIN IMMEDIATE` and a `COMMIT` were 45 % of
/// the time the writer's turn was held (BENCHMARKS.md, nineteenth part) —
/// the commit writes every page the transaction changed to the
/// write-ahead log, and the transactions of one lifecycle change the same
/// pages (the log's last page, the event counter, the checkpoints, the
/// newest orders). So a write transaction that ends while others wait for
/// the turn does not commit: it ends its savepoint and hands the open
/// transaction to the next in line, who joins it; the last member of the
/// group (nobody waiting, [`GROUP_MOST_MEMBERS`] or [`GROUP_MOST_AGE_US`]
/// reached) commits them all at once. Each member's commit answers only
/// once that commit has: what it promises is unchanged, and a member that
/// fails or rolls back undoes only its own work.
pub(crate) struct WriterConn {
    conn: rusqlite::Connection,
    /// The group whose finished members the open transaction holds.
    group: Option<Arc<Group>>,
}

impl std::ops::Deref for WriterConn {
    type Target = rusqlite::Connection;
    fn deref(&self) -> &rusqlite::Connection {
        &self.conn
    }
}

/// Write transactions committed together ([`WriterConn`]).
pub(crate) struct Group {
    started: Instant,
    /// The members handed over so far.
    members: std::sync::atomic::AtomicUsize,
    /// What each handed-over member does once the group has committed, in
    /// the order they joined (the news of their commits, in order).
    then: std::sync::Mutex<Vec<AfterCommit>>,
    /// Where the members' checkpoints stand in the open transaction.
    checkpoints: std::sync::Mutex<Vec<(&'static str, i64)>>,
    /// The commit's outcome once it has happened: the error's text.
    done: tokio::sync::watch::Sender<Option<Result<(), String>>>,
}

/// Work a transaction does once its commit has happened.
pub(crate) type AfterCommit = Box<dyn FnOnce() + Send>;

impl Group {
    fn new() -> Arc<Group> {
        Arc::new(Group {
            started: Instant::now(),
            members: std::sync::atomic::AtomicUsize::new(0),
            then: std::sync::Mutex::new(Vec::new()),
            checkpoints: std::sync::Mutex::new(Vec::new()),
            done: tokio::sync::watch::Sender::new(None),
        })
    }

    /// Records the outcome of the group's commit, running the members'
    /// work after it (in order) when it succeeded, then wakes them.
    fn finish(&self, outcome: &Result<(), sqlx::Error>) {
        let then = std::mem::take(&mut *self.then.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        match outcome {
            Ok(()) => {
                for work in then {
                    work();
                }
                self.done.send_replace(Some(Ok(())));
            }
            Err(e) => {
                self.done.send_replace(Some(Err(e.to_string())));
            }
        }
    }
}

/// How a writer transaction's commit ended: committed here, or handed to
/// the group that will commit it ([`WriterTx::commit`]).
pub(crate) enum Committing {
    Done(Result<(), sqlx::Error>),
    InGroup(Arc<Group>),
}

/// One write transaction on the writer connection: it holds the turn, and
/// dropping it without [`WriterTx::commit`] rolls back its own work.
pub(crate) struct WriterTx {
    conn: OwnedMutexGuard<WriterConn>,
    writer: Arc<SqliteWriter>,
    open: bool,
    /// Whether it joined a group's open transaction (inside its own
    /// savepoint) rather than beginning one.
    joined: bool,
    _timer: TurnTimer,
}

/// How many turns the writer has given, and how long they were held in all
/// (issue 13: the one queue every write of a SQLite file waits in).
#[derive(Debug, Default)]
struct TurnStats {
    turns: AtomicU64,
    held_us: AtomicU64,
}

/// Counts one turn, from its start to its drop, in [`TurnStats`].
struct TurnTimer {
    stats: Arc<TurnStats>,
    since: Instant,
}

impl Drop for TurnTimer {
    fn drop(&mut self) {
        let held = u64::try_from(self.since.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.stats.turns.fetch_add(1, Ordering::Relaxed);
        self.stats.held_us.fetch_add(held, Ordering::Relaxed);
    }
}

/// The writer's turns so far ([`crate::Db::writer_turns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterTurns {
    /// Turns given: write transactions and single writes.
    pub turns: u64,
    /// Their wall time from taking the turn to giving it back, summed, in
    /// microseconds (a turn's task may be descheduled while it holds it).
    pub held_us: u64,
    /// Commits of the writer connection: a group of transactions committed
    /// together is one, a single write is one.
    pub commits: u64,
}

impl std::fmt::Debug for WriterTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriterTx").field("open", &self.open).finish()
    }
}

impl SqliteWriter {
    /// Opens the writer connection on the SQLite file at `path` (which the
    /// pool has created and migrated or will migrate; settings as
    /// [`open_connection`]), and a second connection for the checkpoints
    /// ([`Checkpointer`]).
    pub(crate) fn open(path: &str, timeout: Duration) -> Result<Arc<SqliteWriter>, rusqlite::Error> {
        let conn = open_connection(path)?;
        let checkpointer = Checkpointer {
            conn: open_connection(path)?,
            missed: 0,
            frames: 0,
        };
        Ok(Arc::new_cyclic(|me| SqliteWriter {
            conn: Arc::new(Mutex::new(WriterConn { conn, group: None })),
            waiting: AtomicUsize::new(0),
            timeout,
            checkpointer: std::sync::Mutex::new(checkpointer),
            writes: AtomicU64::new(0),
            turns: Arc::new(TurnStats::default()),
            checkpointing: AtomicBool::new(false),
            checkpoint_began: AtomicU64::new(0),
            checkpoint_ended: tokio::sync::Notify::new(),
            closed: AtomicBool::new(false),
            me: me.clone(),
        }))
    }

    /// Refuses every later write ([`crate::Db::close`]); the connection
    /// itself closes when the last handle to it is dropped.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Waits for the writer's turn (in arrival order), on a connection
    /// outside any transaction: one left open by the turn before (a
    /// `ROLLBACK` that failed, a stray `BEGIN` sent as a single statement)
    /// is rolled back first, so it cannot refuse every later `BEGIN`.
    ///
    /// A caller that comes when the writers have made [`CHECKPOINT_LEAD`]
    /// commits since the checkpoint under way began first waits for it to
    /// end (at most the timeout), so the writers cannot outrun the copy
    /// and grow the log without end.
    ///
    /// Errors: `PoolTimedOut` after the timeout (another writer of this
    /// process holds the turn that long); `PoolClosed` once closed; the
    /// database's error when the leftover transaction cannot be rolled back.
    async fn turn(&self) -> Result<(OwnedMutexGuard<WriterConn>, TurnTimer), sqlx::Error> {
        if self.outran_checkpoint() {
            let ended = self.checkpoint_ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.outran_checkpoint() {
                let _ = tokio::time::timeout(self.timeout, ended).await;
            }
        }
        self.take_turn().await
    }

    /// Whether a checkpoint is under way and the writers have made
    /// [`CHECKPOINT_LEAD`] commits or more since it began.
    fn outran_checkpoint(&self) -> bool {
        self.checkpointing.load(Ordering::Acquire)
            && self
                .writes
                .load(Ordering::Relaxed)
                .saturating_sub(self.checkpoint_began.load(Ordering::Relaxed))
                >= CHECKPOINT_LEAD
    }

    /// [`SqliteWriter::turn`] without waiting for the checkpoint under way:
    /// the checkpoint's own turn.
    async fn take_turn(&self) -> Result<(OwnedMutexGuard<WriterConn>, TurnTimer), sqlx::Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        /// Counts a caller in line for as long as it is (cancelled too).
        struct InLine<'a>(&'a AtomicUsize);
        impl Drop for InLine<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let in_line = InLine(&self.waiting);
        let conn = tokio::time::timeout(self.timeout, self.conn.clone().lock_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?;
        drop(in_line);
        if conn.group.is_none() && !conn.is_autocommit() {
            tracing::warn!("the SQLite writer was left inside a transaction; rolling it back");
            conn.execute_batch("ROLLBACK").map_err(into_sqlx)?;
        }
        let timer = TurnTimer {
            stats: self.turns.clone(),
            since: Instant::now(),
        };
        Ok((conn, timer))
    }

    /// The turns given so far.
    pub(crate) fn turns(&self) -> WriterTurns {
        WriterTurns {
            turns: self.turns.turns.load(Ordering::Relaxed),
            held_us: self.turns.held_us.load(Ordering::Relaxed),
            commits: self.writes.load(Ordering::Relaxed),
        }
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`) once it is this
    /// caller's turn. Cancelling it leaves nothing open: the transaction
    /// exists only once this returns it.
    ///
    /// Errors: `PoolTimedOut` when the turn, or the file's write lock held
    /// by another process, is not had within the timeout; a database error.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<WriterTx, sqlx::Error> {
        let started = Instant::now();
        let (mut conn, timer) = self.turn().await?;
        let joined = conn.group.is_some();
        if joined {
            conn.execute_batch("SAVEPOINT group_member").map_err(into_sqlx)?;
        } else {
            let held = &mut conn;
            retry_busy(started, self.timeout, move || held.execute_batch("BEGIN IMMEDIATE")).await?;
        }
        Ok(WriterTx {
            conn,
            writer: self.clone(),
            open: true,
            joined,
            _timer: timer,
        })
    }

    /// Commits the open group's transaction, if any, on `conn` (whose turn
    /// the caller holds), and tells its members.
    fn commit_group(&self, conn: &mut WriterConn) -> Result<(), sqlx::Error> {
        let Some(group) = conn.group.take() else {
            return Ok(());
        };
        let done = conn.execute_batch("COMMIT").map_err(into_sqlx);
        if done.is_err() && !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if done.is_ok() {
            self.wrote();
        }
        group.finish(&done);
        done
    }

    /// Rolls the open group's transaction back after `error` left it in
    /// doubt, and tells its members their commit failed.
    fn abort_group(conn: &mut WriterConn, error: &sqlx::Error) {
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if let Some(group) = conn.group.take() {
            group.finish(&Err(sqlx::Error::Protocol(error.to_string())));
        }
    }

    /// Waits until `group` has committed (the member's answer). When it
    /// has not within [`GROUP_WAIT_MS`] (the one the turn went to gave up
    /// waiting for it, and nobody else came), takes the turn and commits
    /// it here.
    ///
    /// A member that stops waiting (its caller dropped the commit) leaves
    /// a task behind that sees the group committed all the same: the work
    /// of every member would otherwise wait for the next write.
    ///
    /// Errors: the group's commit failed (nothing of any member was
    /// written).
    pub(crate) async fn committed(self: &Arc<Self>, group: Arc<Group>) -> Result<(), sqlx::Error> {
        /// Hands the wait to a task of its own when dropped before the end.
        struct Waiting(Option<(Arc<SqliteWriter>, Arc<Group>)>);
        impl Drop for Waiting {
            fn drop(&mut self) {
                let Some((writer, group)) = self.0.take() else { return };
                if group.done.borrow().is_some() {
                    return;
                }
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        let _ = writer.wait_for_group(group).await;
                    });
                }
            }
        }
        let mut waiting = Waiting(Some((self.clone(), group.clone())));
        let outcome = self.wait_for_group(group).await;
        waiting.0 = None;
        outcome
    }

    /// [`SqliteWriter::committed`]'s wait.
    async fn wait_for_group(&self, group: Arc<Group>) -> Result<(), sqlx::Error> {
        let mut done = group.done.subscribe();
        loop {
            let outcome = match tokio::time::timeout(
                Duration::from_millis(GROUP_WAIT_MS),
                done.wait_for(Option::is_some),
            )
            .await
            {
                Ok(Ok(outcome)) => outcome.clone(),
                Ok(Err(_)) => return Err(sqlx::Error::WorkerCrashed),
                Err(_) => None,
            };
            match outcome {
                Some(Ok(())) => return Ok(()),
                Some(Err(e)) => return Err(sqlx::Error::Protocol(format!("the group commit failed: {e}"))),
                None => {
                    // Only the group's own outcome answers: a turn held
                    // longer than the timeout (by the member after this
                    // one) ends in that member's commit of the group.
                    let Ok(mut conn) = tokio::time::timeout(self.timeout, self.conn.clone().lock_owned()).await else {
                        continue;
                    };
                    if conn.group.as_ref().is_some_and(|open| Arc::ptr_eq(open, &group)) {
                        let timer = TurnTimer {
                            stats: self.turns.clone(),
                            since: Instant::now(),
                        };
                        let _ = self.commit_group(&mut conn);
                        drop(timer);
                    }
                }
            }
        }
    }

    /// Where earlier members of the open group moved `consumer`'s
    /// checkpoint, as `conn`'s transaction sees it.
    fn group_checkpoint(conn: &WriterConn, consumer: &str) -> Option<i64> {
        let group = conn.group.as_ref()?;
        let moved = group
            .checkpoints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        moved
            .iter()
            .rev()
            .find(|(name, _)| *name == consumer)
            .map(|(_, seq)| *seq)
    }

    /// Counts one committed write; every [`CHECKPOINT_EVERY`] of them
    /// starts a checkpoint ([`SqliteWriter::checkpoint`]) unless one is
    /// under way, so the log stays short and the writer never syncs the
    /// file itself.
    fn wrote(&self) {
        let written = self.writes.fetch_add(1, Ordering::Relaxed) + 1;
        if !written.is_multiple_of(CHECKPOINT_EVERY) {
            return;
        }
        let Some(me) = self.me.upgrade() else {
            return;
        };
        if self.checkpointing.swap(true, Ordering::AcqRel) {
            return;
        }
        self.checkpoint_began.store(written, Ordering::Relaxed);
        tokio::spawn(async move {
            me.clone().checkpoint().await;
            me.checkpointing.store(false, Ordering::Release);
            me.checkpoint_ended.notify_waiters();
        });
    }

    /// Copies the write-ahead log back into the database file on the
    /// checkpoint connection, on a blocking thread, without waiting for
    /// anyone ([`Checkpointer::passive`]). When the log has grown to
    /// [`RESTART_FRAMES`], takes the writer's turn (committing the open
    /// group first) and starts the log again from its beginning
    /// ([`Checkpointer::restart`]): with the turn held no write of this
    /// process competes for the file's write lock, and the writers queue
    /// for the turn meanwhile rather than retrying on timers. When the
    /// checkpoints have fallen behind ([`Checkpointer::behind`]) the whole
    /// copy is done holding the turn, so the writers wait for it rather
    /// than outrun it. A checkpoint that fails is logged at debug level;
    /// the next one tries again.
    ///
    /// The blocking thread itself queues for the turn the moment the copy
    /// ends: a task woken for it afterwards could wait on a starved CPU
    /// while the writers went on, and the log grew past 100 MiB that way
    /// in the 12,000 writes of the `writer` test (CI, December 2026).
    async fn checkpoint(self: Arc<Self>) {
        let done = tokio::task::spawn_blocking(move || self.checkpoint_blocking())
            .await
            .unwrap_or(Ok(()));
        if let Err(e) = done {
            tracing::debug!(error = %e, "a background checkpoint failed; the next one will retry");
        }
    }

    /// [`SqliteWriter::checkpoint`] on the blocking thread, failing with
    /// the database's error. A turn not had in time or a group that failed
    /// to commit leave it to the next checkpoint. Blocks.
    fn checkpoint_blocking(&self) -> Result<(), rusqlite::Error> {
        let mut checkpointer = lock(&self.checkpointer);
        if !checkpointer.behind() && checkpointer.passive()? < RESTART_FRAMES {
            return Ok(());
        }
        let Ok((mut conn, _timer)) = tokio::runtime::Handle::current().block_on(self.take_turn()) else {
            return Ok(());
        };
        if self.commit_group(&mut conn).is_err() {
            return Ok(());
        }
        checkpointer.restart()
    }

    /// Runs one statement on its own (autocommit) once it is this caller's
    /// turn, waiting out another process's write lock.
    async fn run_single(
        &self,
        sql: &str,
        args: Option<AnyArguments<'_>>,
        limit: Option<usize>,
    ) -> Result<Ran, sqlx::Error> {
        let started = Instant::now();
        let (mut conn, timer) = self.turn().await?;
        // A single write is its own transaction: the open group commits first.
        self.commit_group(&mut conn)?;
        let held = &mut conn;
        let ran = retry_busy(started, self.timeout, move || run(held, sql, args.as_ref(), limit)).await?;
        drop(conn);
        drop(timer);
        if ran.wrote {
            self.wrote();
        }
        Ok(ran)
    }
}

/// The connection that copies the write-ahead log back into the database
/// file, and how long its `RESTART`s have had to wait for the readers.
struct Checkpointer {
    conn: rusqlite::Connection,
    /// How many times the next `RESTART`'s wait is doubled: one more for
    /// each that gave up waiting for the readers, one fewer for each that
    /// did not.
    missed: u32,
    /// The log's length at the last look, in frames.
    frames: i64,
}

impl Checkpointer {
    /// Copies the write-ahead log back into the database file as far as
    /// no reader still needs it, without waiting (`PASSIVE`). Blocks.
    ///
    /// Returns the log's length in frames (pages of 4 KiB). Errors: the
    /// database's.
    fn passive(&mut self) -> Result<i64, rusqlite::Error> {
        self.frames = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))?;
        Ok(self.frames)
    }

    /// Whether the writes have outrun the checkpoints: the log was last
    /// found twice [`RESTART_FRAMES`] long or longer.
    fn behind(&self) -> bool {
        self.frames >= 2 * RESTART_FRAMES
    }

    /// Copies the rest of the log back too and waits until every reader
    /// reads the database file alone (`RESTART`), so the next write starts
    /// the log again from its beginning. Run it holding the writer's turn.
    /// It waits [`CHECKPOINT_BUSY_MS`], twice as long after each `RESTART`
    /// that gave up ([`MAX_BUSY_DOUBLINGS`]) and half as long after each
    /// that did not, so readers slower than the wait delay the restart
    /// rather than prevent it. Blocks.
    ///
    /// Errors: the database's. Readers that outstay the wait are not an
    /// error: the next checkpoint tries again, waiting longer.
    fn restart(&mut self) -> Result<(), rusqlite::Error> {
        let wait = CHECKPOINT_BUSY_MS << self.missed.min(MAX_BUSY_DOUBLINGS);
        self.conn.busy_timeout(Duration::from_millis(wait))?;
        let (busy, frames): (i64, i64) = self.conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
        if busy == 0 {
            self.missed = self.missed.saturating_sub(1);
            self.frames = 0;
        } else {
            self.frames = frames;
            self.missed = self.missed.saturating_add(1);
            tracing::debug!(wait_ms = wait, "readers kept the write-ahead log from restarting");
        }
        Ok(())
    }
}

/// Locks the checkpoint connection; a checkpoint that panicked left it as
/// usable as any other.
fn lock(checkpointer: &std::sync::Mutex<Checkpointer>) -> std::sync::MutexGuard<'_, Checkpointer> {
    checkpointer.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl WriterTx {
    /// Commits, or joins this transaction's work to a group that others
    /// waiting for the turn will commit ([`WriterConn`]). `then` runs once
    /// the commit has happened: here, or by the group's last member, in
    /// the members' order. `moved` are the checkpoints it moved, for the
    /// members after it ([`WriterTx::group_checkpoint`]).
    ///
    /// Errors ([`Committing::Done`]): SQLite refused the commit or the end
    /// of the savepoint (this transaction's work is rolled back).
    pub(crate) fn commit(
        mut self,
        writer: &SqliteWriter,
        then: AfterCommit,
        moved: &[(&'static str, i64)],
    ) -> Committing {
        self.open = false;
        let conn = &mut *self.conn;
        if self.joined {
            if let Err(e) = conn.execute_batch("RELEASE group_member") {
                let e = into_sqlx(e);
                SqliteWriter::abort_group(conn, &e);
                return Committing::Done(Err(e));
            }
        }
        let group = conn.group.get_or_insert_with(Group::new).clone();
        let members = group.members.fetch_add(1, Ordering::AcqRel) + 1;
        group
            .then
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(then);
        let more = writer.waiting.load(Ordering::Acquire) > 0
            && members < GROUP_MOST_MEMBERS
            && group.started.elapsed().as_micros() < GROUP_MOST_AGE_US;
        if more {
            group
                .checkpoints
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(moved);
            return Committing::InGroup(group);
        }
        Committing::Done(writer.commit_group(conn))
    }

    /// Rolls back this transaction's work. When it had joined a group, it
    /// returns that group: what it read included the earlier members'
    /// work, which is real only once the group has committed, so the
    /// caller waits for that ([`SqliteWriter::committed`]) before it
    /// answers on what it read.
    ///
    /// Errors: SQLite failed to roll back.
    pub(crate) fn rollback(mut self) -> Result<Option<Arc<Group>>, sqlx::Error> {
        self.open = false;
        let group = if self.joined { self.conn.group.clone() } else { None };
        self.undo()?;
        Ok(group)
    }

    /// Undoes this transaction's work: all of the open transaction when it
    /// began it, its savepoint's when it joined a group — whose earlier
    /// members then commit here unless someone waits to join them.
    fn undo(&mut self) -> Result<(), sqlx::Error> {
        if self.joined {
            let undone = self
                .conn
                .execute_batch("ROLLBACK TO group_member; RELEASE group_member")
                .map_err(into_sqlx);
            match &undone {
                // Its work may still be in the transaction: nobody's is kept.
                Err(e) => SqliteWriter::abort_group(&mut self.conn, e),
                Ok(()) if self.writer.waiting.load(Ordering::Acquire) == 0 => {
                    let _ = self.writer.commit_group(&mut self.conn);
                }
                Ok(()) => {}
            }
            undone
        } else if !self.conn.is_autocommit() {
            self.conn.execute_batch("ROLLBACK").map_err(into_sqlx)
        } else {
            Ok(())
        }
    }

    /// Where earlier members of the group this transaction joined moved
    /// `consumer`'s checkpoint (uncommitted, as this transaction sees it).
    pub(crate) fn group_checkpoint(&self, consumer: &str) -> Option<i64> {
        SqliteWriter::group_checkpoint(&self.conn, consumer)
    }

    /// Runs one statement inside the transaction.
    fn run(&self, sql: &str, args: Option<&AnyArguments<'_>>, limit: Option<usize>) -> Result<Ran, sqlx::Error> {
        run(&self.conn, sql, args, limit).map_err(into_sqlx)
    }
}

impl Drop for WriterTx {
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = self.undo() {
                tracing::warn!(error = %e, "rolling back a dropped write transaction failed");
            }
        }
    }
}

/// Runs `attempt` again while another connection holds the file's write
/// lock (`SQLITE_BUSY`), sleeping 1, 2, 5, 10, 10, … ms in between (the
/// thread free meanwhile), until `timeout` has passed since `started`.
async fn retry_busy<T>(
    started: Instant,
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<T, rusqlite::Error>,
) -> Result<T, sqlx::Error> {
    let mut pauses = [1u64, 2, 5].into_iter().chain(std::iter::repeat(10));
    loop {
        match attempt() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && started.elapsed() < timeout =>
            {
                let pause = pauses.next().unwrap_or(10);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            other => return other.map_err(into_sqlx),
        }
    }
}

/// What one statement gave: its rows, how many rows it changed, and
/// whether it wrote.
struct Ran {
    rows: Vec<AnyRow>,
    changes: u64,
    wrote: bool,
}

impl Ran {
    /// The rows, then the statement's result, as sqlx's `fetch_many` gives them.
    fn into_steps(self) -> Vec<Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>> {
        let mut steps: Vec<_> = self.rows.into_iter().map(|row| Ok(Either::Right(row))).collect();
        steps.push(Ok(Either::Left(AnyQueryResult {
            rows_affected: self.changes,
            last_insert_id: None,
        })));
        steps
    }
}

/// Runs `sql` with `args` on `conn`, reading at most `limit` rows. A
/// statement given without arguments may be several, separated by `;`
/// (sqlx's simple protocol); they then run one after the other and give no
/// rows.
fn run(
    conn: &rusqlite::Connection,
    sql: &str,
    args: Option<&AnyArguments<'_>>,
    limit: Option<usize>,
) -> Result<Ran, rusqlite::Error> {
    let mut stmt = match conn.prepare_cached(sql) {
        Err(rusqlite::Error::MultipleStatement) if args.is_none() => {
            let before = conn.total_changes();
            conn.execute_batch(sql)?;
            return Ok(Ran {
                rows: Vec::new(),
                changes: conn.total_changes().saturating_sub(before),
                wrote: true,
            });
        }
        prepared => prepared?,
    };
    let values = args.map(|a| a.values.0.as_slice()).unwrap_or_default();
    let mut positional = 0;
    for index in 1..=stmt.parameter_count() {
        // `$N` and `?N` take argument N; a bare `?` the next one (as sqlx).
        let n = match stmt.parameter_name(index) {
            Some(name) => name
                .strip_prefix(['$', '?'])
                .and_then(|digits| digits.parse::<usize>().ok())
                .ok_or_else(|| rusqlite::Error::InvalidParameterName(format!("unsupported parameter {name}")))?,
            None => {
                positional += 1;
                positional
            }
        };
        match values.get(n.wrapping_sub(1)) {
            Some(value) => stmt.raw_bind_parameter(index, Bound(value))?,
            // SQLite reads an unbound parameter as NULL; so does sqlx.
            None => stmt.raw_bind_parameter(index, rusqlite::types::Null)?,
        }
    }
    let wrote = !stmt.readonly();
    let width = stmt.column_count();
    let names: Vec<UStr> = stmt.column_names().into_iter().map(UStr::new).collect();
    let index = (width > 0).then(|| {
        let index: sqlx_core::HashMap<UStr, usize> =
            names.iter().enumerate().map(|(i, name)| (name.clone(), i)).collect();
        Arc::new(index)
    });
    let mut rows = Vec::new();
    let mut cursor = stmt.raw_query();
    while limit.is_none_or(|limit| rows.len() < limit) {
        let Some(row) = cursor.next()? else { break };
        let Some(index) = &index else { continue };
        let mut columns = Vec::with_capacity(width);
        let mut values = Vec::with_capacity(width);
        for (i, name) in names.iter().enumerate() {
            let kind = match row.get_ref(i)? {
                ValueRef::Null => AnyValueKind::Null(AnyTypeInfoKind::Null),
                ValueRef::Integer(n) => AnyValueKind::BigInt(n),
                ValueRef::Real(x) => AnyValueKind::Double(x),
                ValueRef::Text(bytes) => AnyValueKind::Text(Cow::Owned(
                    String::from_utf8(bytes.to_vec()).map_err(|e| rusqlite::Error::Utf8Error(e.utf8_error()))?,
                )),
                ValueRef::Blob(bytes) => AnyValueKind::Blob(Cow::Owned(bytes.to_vec())),
            };
            let type_info = AnyTypeInfo {
                kind: match &kind {
                    AnyValueKind::BigInt(_) => AnyTypeInfoKind::BigInt,
                    AnyValueKind::Double(_) => AnyTypeInfoKind::Double,
                    AnyValueKind::Text(_) => AnyTypeInfoKind::Text,
                    AnyValueKind::Blob(_) => AnyTypeInfoKind::Blob,
                    _ => AnyTypeInfoKind::Null,
                },
            };
            columns.push(AnyColumn {
                ordinal: i,
                name: name.clone(),
                type_info,
            });
            values.push(AnyValue { kind });
        }
        rows.push(AnyRow {
            column_names: index.clone(),
            columns,
            values,
        });
    }
    drop(cursor);
    let changes = if wrote { conn.changes() } else { 0 };
    Ok(Ran { rows, changes, wrote })
}

/// One sqlx argument as a SQLite binding (as sqlx's SQLite driver maps them).
struct Bound<'a, 'q>(&'a AnyValueKind<'q>);

impl rusqlite::ToSql for Bound<'_, '_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            AnyValueKind::Null(_) => ToSqlOutput::Owned(Value::Null),
            AnyValueKind::Bool(b) => ToSqlOutput::Owned(Value::Integer(i64::from(*b))),
            AnyValueKind::SmallInt(n) => ToSqlOutput::Owned(Value::Integer(i64::from(*n))),
            AnyValueKind::Integer(n) => ToSqlOutput::Owned(Value::Integer(i64::from(*n))),
            AnyValueKind::BigInt(n) => ToSqlOutput::Owned(Value::Integer(*n)),
            AnyValueKind::Real(x) => ToSqlOutput::Owned(Value::Real(f64::from(*x))),
            AnyValueKind::Double(x) => ToSqlOutput::Owned(Value::Real(*x)),
            AnyValueKind::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            AnyValueKind::Blob(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
            other => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("no SQLite binding for {other:?}").into(),
                ));
            }
        })
    }
}

/// A SQLite error as sqlx reports one: a database error with SQLite's
/// extended result code, so [`crate::is_unique_violation`] and the
/// contexts' checks read it the same whichever connection failed.
fn into_sqlx(e: rusqlite::Error) -> sqlx::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => sqlx::Error::Database(Box::new(SqliteFailure {
            message: message.unwrap_or_else(|| code.to_string()),
            extended_code: code.extended_code,
        })),
        other => sqlx::Error::AnyDriverError(Box::new(other)),
    }
}

/// A statement SQLite refused ([`into_sqlx`]).
#[derive(Debug)]
struct SqliteFailure {
    message: String,
    extended_code: std::ffi::c_int,
}

impl std::fmt::Display for SqliteFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.extended_code, self.message)
    }
}

impl std::error::Error for SqliteFailure {}

impl sqlx::error::DatabaseError for SqliteFailure {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.extended_code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use rusqlite::ffi;
        use sqlx::error::ErrorKind;
        match self.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => ErrorKind::UniqueViolation,
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// The sqlx query's text and arguments.
type Taken<'q> = (&'q str, Option<AnyArguments<'q>>);

fn take<'q>(mut query: impl Execute<'q, Any>) -> Result<Taken<'q>, sqlx::Error> {
    let args = query.take_arguments().map_err(sqlx::Error::Encode)?;
    Ok((query.sql(), args))
}

/// A SQLite file's read connections: each statement takes a free one (or,
/// when all are busy on the other worker threads, waits a moment for one)
/// and runs on it in the calling task, on its own (autocommit). A write
/// sent here (a test's setup, a statement that must not wait for the
/// writer's turn) waits out the writer's lock as [`SqliteWriter`] does.
pub(crate) struct SqliteReaders {
    conns: Vec<std::sync::Mutex<rusqlite::Connection>>,
    next: std::sync::atomic::AtomicUsize,
    timeout: Duration,
    closed: AtomicBool,
}

impl std::fmt::Debug for SqliteReaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReaders")
            .field("connections", &self.conns.len())
            .finish_non_exhaustive()
    }
}

impl SqliteReaders {
    /// Opens `count` connections (at least one) on the SQLite file at
    /// `path`, with the writer's settings.
    pub(crate) fn open(path: &str, count: usize, timeout: Duration) -> Result<SqliteReaders, rusqlite::Error> {
        let conns = (0..count.max(1))
            .map(|_| open_connection(path).map(std::sync::Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(SqliteReaders {
            conns,
            next: std::sync::atomic::AtomicUsize::new(0),
            timeout,
            closed: AtomicBool::new(false),
        })
    }

    /// Refuses every later statement ([`crate::Db::close`]).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Runs one statement on a free connection, the thread never left to
    /// sleep while another connection holds the file's write lock.
    async fn run(&self, sql: &str, args: Option<AnyArguments<'_>>, limit: Option<usize>) -> Result<Ran, sqlx::Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(sqlx::Error::PoolClosed);
        }
        retry_busy(Instant::now(), self.timeout, || self.attempt(sql, args.as_ref(), limit)).await
    }

    fn attempt(
        &self,
        sql: &str,
        args: Option<&AnyArguments<'_>>,
        limit: Option<usize>,
    ) -> Result<Ran, rusqlite::Error> {
        let count = self.conns.len();
        let first = self.next.fetch_add(1, Ordering::Relaxed);
        let free = (0..count).find_map(|i| self.conns[(first + i) % count].try_lock().ok());
        let conn = match free {
            Some(conn) => conn,
            // A statement runs for microseconds: wait for that one.
            None => self.conns[first % count]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        };
        run(&conn, sql, args, limit)
    }
}

/// Opens one connection on the SQLite file at `path` with this module's
/// settings: WAL, foreign keys on, `synchronous = NORMAL`, temporary data
/// in memory; no busy timeout (a locked file is waited for by the callers,
/// without blocking the thread) and no automatic checkpoint (done in the
/// background, see [`SqliteWriter::wrote`]).
fn open_connection(path: &str) -> Result<rusqlite::Connection, rusqlite::Error> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    for pragma in [
        "PRAGMA journal_mode = WAL",
        "PRAGMA foreign_keys = ON",
        "PRAGMA busy_timeout = 0",
        "PRAGMA synchronous = NORMAL",
        "PRAGMA temp_store = MEMORY",
        "PRAGMA wal_autocheckpoint = 0",
    ] {
        run(&conn, pragma, None, None)?;
    }
    run(
        &conn,
        &format!("PRAGMA journal_size_limit = {LOG_SIZE_LIMIT}"),
        None,
        None,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The statements of a transaction on the writer connection, for
/// [`crate::TxConn`]'s executor.
pub(crate) fn tx_fetch_many<'e, 'q: 'e>(
    tx: &'e WriterTx,
    query: impl Execute<'q, Any> + 'q,
) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>> {
    let steps = match take(query) {
        Ok((sql, args)) => match tx.run(sql, args.as_ref(), None) {
            Ok(ran) => ran.into_steps(),
            Err(e) => vec![Err(e)],
        },
        Err(e) => vec![Err(e)],
    };
    futures::stream::iter(steps).boxed()
}

/// One row at most of a statement in a transaction on the writer connection.
pub(crate) fn tx_fetch_optional<'e, 'q: 'e>(
    tx: &'e WriterTx,
    query: impl Execute<'q, Any> + 'q,
) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>> {
    let row = take(query).and_then(|(sql, args)| {
        tx.run(sql, args.as_ref(), Some(1))
            .map(|ran| ran.rows.into_iter().next())
    });
    Box::pin(std::future::ready(row))
}

/// Where a statement outside a transaction runs: the writer connection
/// ([`crate::Db::writer`]) or the read connections ([`crate::Db::pool`]).
#[derive(Clone, Copy)]
pub(crate) enum Single<'a> {
    Writer(&'a SqliteWriter),
    Readers(&'a SqliteReaders),
}

impl Single<'_> {
    async fn run(self, sql: &str, args: Option<AnyArguments<'_>>, limit: Option<usize>) -> Result<Ran, sqlx::Error> {
        match self {
            Single::Writer(writer) => writer.run_single(sql, args, limit).await,
            Single::Readers(readers) => readers.run(sql, args, limit).await,
        }
    }

    /// Runs one statement, as sqlx's `fetch_many` gives it.
    pub(crate) fn fetch_many<'e, 'q: 'e>(
        self,
        query: impl Execute<'q, Any> + 'q,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        Self: 'e,
    {
        let taken = take(query);
        futures::stream::once(async move {
            let (sql, args) = taken?;
            self.run(sql, args, None).await
        })
        .flat_map(|ran| {
            futures::stream::iter(match ran {
                Ok(ran) => ran.into_steps(),
                Err(e) => vec![Err(e)],
            })
        })
        .boxed()
    }

    /// Runs one statement for its first row at most.
    pub(crate) fn fetch_optional<'e, 'q: 'e>(
        self,
        query: impl Execute<'q, Any> + 'q,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        Self: 'e,
    {
        let taken = take(query);
        Box::pin(async move {
            let (sql, args) = taken?;
            let ran = self.run(sql, args, Some(1)).await?;
            Ok(ran.rows.into_iter().next())
        })
    }
}
