//! One connection pool over SQLite or PostgreSQL, chosen by the URL's scheme
//! (DESIGN.md §2, "Storage").
//!
//! Every context writes plain SQL that both dialects accept (`$1` parameters,
//! `RETURNING`, `ON CONFLICT`), runs it through sqlx's `Any` driver, and keeps
//! its values to integers and text: times are unix milliseconds (`i64`), flags
//! are `0`/`1`, money is won (`i64`), documents are JSON text. Where the
//! dialects must differ (the schema, row locks) each has its own file or helper.
//!
//! On a SQLite file the statements of [`Db::pool`], [`Db::writer`] and every
//! [`Tx`] run on `rusqlite` connections in the calling task (`sqlite.rs`,
//! issue 13); callers still hand them sqlx queries, as on PostgreSQL.

mod sqlite;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
pub use sqlite::WriterTurns;
use sqlite::{SqliteReaders, SqliteWriter, WriterTx};
use sqlx::any::{AnyPoolOptions, AnyQueryResult, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Either, Execute, Executor, Transaction};
use std::time::Duration;
use tokio::sync::watch;

/// A write transaction on either database. It derefs to its connection
/// ([`TxConn`]), so `&mut *tx` is an executor; [`Tx::commit`] ends it,
/// dropping it rolls back.
///
/// On SQLite it also holds this pool's writer turn (see [`Db::begin`]).
pub struct Tx {
    conn: TxConn,
    /// What this transaction has announced so far ([`Tx::mark`]).
    news: News,
    /// What to do once the commit has answered ([`Tx::after_commit`]).
    after_commit: Vec<Box<dyn FnOnce() + Send>>,
    /// The appended events as the event log keeps them ([`Tx::keep_appended`]).
    records: Vec<Box<dyn std::any::Any + Send>>,
    signals: std::sync::Arc<Signals>,
}

/// What a transaction tells this process (and, on PostgreSQL, the other
/// replicas) once it commits.
#[derive(Debug, Clone, Default)]
struct News {
    /// The first event sequence number this transaction appended (0: none).
    first_appended: i64,
    /// The last event sequence number this transaction appended (0: none).
    appended: i64,
    /// The highest of those already announced to the other replicas by the
    /// statement that appended them ([`Tx::log_notice`]; 0: none).
    announced: i64,
    /// The consumer checkpoints this transaction moved, and to where.
    moved: Vec<(&'static str, i64)>,
    /// Those already announced by the statement that moved them
    /// ([`Tx::checkpoint_notice`]).
    announced_moved: Vec<(&'static str, i64)>,
    /// Whether it wrote stores or menu items ([`Tx::changed_catalog`]).
    changed_catalog: bool,
}

/// Where a transaction's news stood at a savepoint ([`Tx::mark`]), to go
/// back to when the work after it is rolled back ([`Tx::restore`]).
#[derive(Debug, Clone)]
pub struct Mark {
    news: News,
    after_commit: usize,
    records: usize,
}

/// Work a write transaction does last, before it commits, when it appended
/// events (see [`Db::set_before_commit`]): on SQLite the event log applies
/// them to the read models there and then (`eventlog::Inline`).
#[async_trait::async_trait]
pub trait BeforeCommit: Send + Sync + 'static {
    /// Runs inside `tx`, just before its commit.
    ///
    /// Errors: the database failed in a way that leaves `tx` unusable (the
    /// commit is then not attempted and nothing is written).
    async fn before_commit(&self, tx: &mut Tx) -> Result<(), sqlx::Error>;
}

/// Tells this process what a committed transaction did: the catalog
/// changed, the log's head, the checkpoints moved, then its own
/// [`Tx::after_commit`] work.
fn announce(signals: &Signals, news: News, after_commit: Vec<Box<dyn FnOnce() + Send>>) {
    if news.changed_catalog {
        signals.changed_catalog();
    }
    if news.appended > 0 {
        advance(&signals.log_head, news.appended);
    }
    for (consumer, seq) in news.moved {
        signals.saw_checkpoint(consumer, seq);
    }
    for then in after_commit {
        then();
    }
}

impl Tx {
    /// Commits, then gives the writer turn to the next in line. When the
    /// transaction appended events ([`Tx::appended_events`]), their last
    /// sequence number becomes this process's [`Db::log_head`] once the
    /// commit has answered, waking everyone who waits on it; a checkpoint
    /// it moved ([`Tx::moved_checkpoint`]) likewise reaches
    /// [`Db::checkpoints`]. On PostgreSQL the same news goes to every other
    /// replica: a `NOTIFY` on [`NOTICE_CHANNEL`] sent inside the
    /// transaction, so it is delivered exactly when the commit is. Before
    /// committing, a transaction that appended events does the pool's
    /// [`BeforeCommit`] work; after, it runs its [`Tx::after_commit`] work.
    ///
    /// Errors: the database refused the commit, or the work before it
    /// failed (nothing was written).
    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        if self.news.appended > 0 {
            if let Some(hook) = self.signals.before_commit.get().cloned() {
                hook.before_commit(&mut self).await?;
            }
        }
        let Tx {
            conn,
            news,
            after_commit,
            signals,
            ..
        } = self;
        match conn.0 {
            Conn::Writer(tx, writer) => {
                // What the commit tells, once it has happened: here, or
                // when the group this transaction joins commits (sqlite.rs).
                let moved = news.moved.clone();
                let then = Box::new(move || announce(&signals, news, after_commit));
                return match tx.commit(&writer, then, &moved) {
                    sqlite::Committing::Done(done) => done,
                    sqlite::Committing::InGroup(group) => writer.committed(group).await,
                };
            }
            Conn::Pooled(mut tx, backend, _turn) => {
                if backend == Backend::Postgres {
                    // What the statements did not announce themselves.
                    let unannounced: Vec<(&'static str, i64)> = news
                        .moved
                        .iter()
                        .filter(|(consumer, seq)| {
                            !news
                                .announced_moved
                                .iter()
                                .any(|(told, at)| told == consumer && at >= seq)
                        })
                        .copied()
                        .collect();
                    if unannounced.is_empty() && news.appended > news.announced {
                        notify(&mut tx, signals.sender, news.appended, None).await?;
                    }
                    for moved in unannounced {
                        notify(&mut tx, signals.sender, news.appended, Some(moved)).await?;
                    }
                }
                tx.commit().await?;
            }
        }
        announce(&signals, news, after_commit);
        Ok(())
    }

    /// Where an earlier transaction whose commit is still to come moved
    /// `consumer`'s checkpoint, as this transaction sees it: on a SQLite
    /// file, a member before this one of the group it joined (sqlite.rs,
    /// group commit). `None` otherwise.
    pub fn pending_checkpoint(&self, consumer: &str) -> Option<i64> {
        match &self.conn.0 {
            Conn::Writer(tx, _) => tx.group_checkpoint(consumer),
            Conn::Pooled(..) => None,
        }
    }

    /// The events this transaction has appended so far, as the first and
    /// last sequence numbers (`None`: none).
    pub fn appended(&self) -> Option<(i64, i64)> {
        (self.news.appended > 0).then_some((self.news.first_appended, self.news.appended))
    }

    /// The consumers whose checkpoints this transaction moves.
    pub fn moved_checkpoints(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.news.moved.iter().map(|(consumer, _)| *consumer)
    }

    /// Where this transaction's news stands now: take it when setting a
    /// `SAVEPOINT`, and [`Tx::restore`] it after `ROLLBACK TO` that savepoint.
    pub fn mark(&self) -> Mark {
        Mark {
            news: self.news.clone(),
            after_commit: self.after_commit.len(),
            records: self.records.len(),
        }
    }

    /// Forgets the news, the kept events and the after-commit work recorded
    /// since `mark` (their writes were rolled back to a savepoint).
    pub fn restore(&mut self, mark: Mark) {
        self.news = mark.news;
        self.after_commit.truncate(mark.after_commit);
        self.records.truncate(mark.records);
    }

    /// Runs `then` once this transaction has committed (never when it
    /// rolls back), after this process has heard its news.
    pub fn after_commit(&mut self, then: impl FnOnce() + Send + 'static) {
        self.after_commit.push(Box::new(then));
    }

    /// Keeps one appended event as the event log wrote it (it calls this
    /// for each event, in order), for the work before commit to use
    /// without reading it back ([`Tx::appended_records`]).
    pub fn keep_appended(&mut self, record: Box<dyn std::any::Any + Send>) {
        self.records.push(record);
    }

    /// The events kept with [`Tx::keep_appended`], in the order appended.
    pub fn appended_records(&self) -> &[Box<dyn std::any::Any + Send>] {
        &self.records
    }

    /// Records that this transaction moves consumer `consumer`'s checkpoint
    /// to `seq`, to announce on commit (the event runner calls it).
    pub fn moved_checkpoint(&mut self, consumer: &'static str, seq: i64) {
        match self.news.moved.iter_mut().find(|(name, _)| *name == consumer) {
            Some(moved) => moved.1 = moved.1.max(seq),
            None => self.news.moved.push((consumer, seq)),
        }
    }

    /// Records that this transaction writes stores, menu items or reviews
    /// (what a store's page shows; the catalog and the reviews call it): on
    /// commit [`Db::catalog_version`] moves on, so this process's cached
    /// menus and reviews are read again.
    pub fn changed_catalog(&mut self) {
        self.news.changed_catalog = true;
    }

    /// Records that this transaction appended the events `first..=last`
    /// (the event log calls it), to announce on commit.
    pub fn appended_events(&mut self, first: i64, last: i64) {
        if self.news.appended == 0 || first < self.news.first_appended {
            self.news.first_appended = first;
        }
        self.news.appended = self.news.appended.max(last);
    }

    /// The database this transaction writes to.
    pub fn backend(&self) -> Backend {
        match &self.conn.0 {
            Conn::Writer(..) => Backend::Sqlite,
            Conn::Pooled(_, backend, _) => *backend,
        }
    }

    /// On PostgreSQL, a SQL expression that announces a log head of
    /// `last_seq` (an SQL expression of type `bigint`) to the other replicas
    /// as [`Tx::commit`] would (`pg_notify` on [`NOTICE_CHANNEL`], delivered
    /// when the transaction commits, dropped with a savepoint rolled back).
    /// The event log puts it in the statement that appends, so the commit
    /// needs no round trip of its own for it while the `event_sequence` row
    /// is locked (issue 13); it then calls [`Tx::announced_events`]. `None`
    /// on SQLite, whose one process hears its own commits.
    pub fn log_notice(&self, last_seq: &str) -> Option<String> {
        (self.backend() == Backend::Postgres).then(|| {
            format!(
                "pg_notify('{NOTICE_CHANNEL}', '{} ' || ({last_seq})::text)",
                self.signals.sender
            )
        })
    }

    /// Records that the events up to `last` were announced by the statement
    /// that appended them ([`Tx::log_notice`]): the commit does not send
    /// that notice again.
    pub fn announced_events(&mut self, last: i64) {
        self.news.announced = self.news.announced.max(last);
    }

    /// On PostgreSQL, a SQL expression that announces consumer `consumer`'s
    /// checkpoint at `seq` (an SQL expression of type `bigint`) to the other
    /// replicas, as [`Tx::commit`] would for [`Tx::moved_checkpoint`]: the
    /// event runner puts it in the statement that moves the checkpoint, at
    /// the start of its batch, so the commit sends nothing more while the
    /// batch's appends hold the `event_sequence` row (issue 13); it then
    /// calls [`Tx::announced_checkpoint`]. `None` on SQLite.
    pub fn checkpoint_notice(&self, consumer: &'static str, seq: &str) -> Option<String> {
        (self.backend() == Backend::Postgres).then(|| {
            format!(
                "pg_notify('{NOTICE_CHANNEL}', '{} 0 {} ' || ({seq})::text)",
                self.signals.sender,
                consumer.replace('\'', "''")
            )
        })
    }

    /// Records that a statement announced `consumer`'s checkpoint at `seq`
    /// ([`Tx::checkpoint_notice`]): the commit does not send it again.
    pub fn announced_checkpoint(&mut self, consumer: &'static str, seq: i64) {
        self.news.announced_moved.push((consumer, seq));
    }

    /// Rolls back, then gives the writer turn to the next in line. On a
    /// SQLite file, a transaction that joined a group of transactions
    /// committing together (sqlite.rs) read their work too, so it answers
    /// only once that group has committed: a caller that decides on what
    /// it read never decides on work that is then lost.
    ///
    /// Errors: the database failed to roll back (it will when the
    /// connection is next used or closed), or the group's commit failed.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self.conn.0 {
            Conn::Writer(tx, writer) => match tx.rollback()? {
                Some(group) => writer.committed(group).await,
                None => Ok(()),
            },
            Conn::Pooled(tx, ..) => tx.rollback().await,
        }
    }
}

/// The connection a [`Tx`] writes on: `&mut TxConn` is an sqlx executor of
/// the `Any` database. On a SQLite file it is the writer connection, whose
/// statements run in the calling task (`sqlite.rs`, issue 13); on
/// PostgreSQL and an in-memory SQLite database, an sqlx transaction.
pub struct TxConn(Conn);

enum Conn {
    /// The SQLite file's writer connection, inside `BEGIN IMMEDIATE`.
    Writer(WriterTx, std::sync::Arc<SqliteWriter>),
    /// An sqlx transaction; on in-memory SQLite also the writer turn.
    Pooled(
        Transaction<'static, Any>,
        Backend,
        Option<tokio::sync::OwnedSemaphorePermit>,
    ),
}

impl std::fmt::Debug for TxConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Conn::Writer(tx, _) => f.debug_tuple("TxConn").field(tx).finish(),
            Conn::Pooled(_, backend, _) => f.debug_tuple("TxConn").field(backend).finish(),
        }
    }
}

impl<'c> Executor<'c> for &'c mut TxConn {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &mut self.0 {
            Conn::Writer(tx, _) => sqlite::tx_fetch_many(tx, query),
            Conn::Pooled(tx, ..) => (&mut **tx).fetch_many(query),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &mut self.0 {
            Conn::Writer(tx, _) => sqlite::tx_fetch_optional(tx, query),
            Conn::Pooled(tx, ..) => (&mut **tx).fetch_optional(query),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::any::AnyTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::any::AnyStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        match &mut self.0 {
            Conn::Writer(..) => Box::pin(std::future::ready(Err(not_on_the_writer()))),
            Conn::Pooled(tx, ..) => (&mut **tx).prepare_with(sql, parameters),
        }
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<sqlx::Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        match &mut self.0 {
            Conn::Writer(..) => Box::pin(std::future::ready(Err(not_on_the_writer()))),
            Conn::Pooled(tx, ..) => (&mut **tx).describe(sql),
        }
    }
}

/// What the SQLite writer connection answers to `prepare` and `describe`,
/// which nothing here uses.
fn not_on_the_writer() -> sqlx::Error {
    sqlx::Error::AnyDriverError("prepare and describe are not available on the SQLite writer".into())
}

/// Where single write statements go ([`Db::writer`]): `&Writer` is an sqlx
/// executor of the `Any` database. On a SQLite file each statement waits for
/// the writer connection's turn and runs there in the calling task; on
/// PostgreSQL and an in-memory SQLite database it is the pool.
#[derive(Debug, Clone)]
pub struct Writer(WriterKind);

#[derive(Debug, Clone)]
enum WriterKind {
    Sqlite(std::sync::Arc<SqliteWriter>),
    Pool(AnyPool),
}

impl<'c> Executor<'c> for &'c Writer {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &self.0 {
            WriterKind::Sqlite(writer) => sqlite::Single::Writer(writer).fetch_many(query),
            WriterKind::Pool(pool) => pool.fetch_many(query),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &self.0 {
            WriterKind::Sqlite(writer) => sqlite::Single::Writer(writer).fetch_optional(query),
            WriterKind::Pool(pool) => pool.fetch_optional(query),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::any::AnyTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::any::AnyStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        match &self.0 {
            WriterKind::Sqlite(_) => Box::pin(std::future::ready(Err(not_on_the_writer()))),
            WriterKind::Pool(pool) => pool.prepare_with(sql, parameters),
        }
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<sqlx::Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        match &self.0 {
            WriterKind::Sqlite(_) => Box::pin(std::future::ready(Err(not_on_the_writer()))),
            WriterKind::Pool(pool) => pool.describe(sql),
        }
    }
}

/// Where reads go ([`Db::pool`]): `&Reader` is an sqlx executor of the
/// `Any` database, and it derefs to the sqlx pool for everything else
/// (`acquire`, `begin`, `close`). On a SQLite file each statement runs on
/// one of a few connections of its own in the calling task (`sqlite.rs`,
/// issue 13); on PostgreSQL and an in-memory SQLite database it is the
/// pool.
#[derive(Debug, Clone)]
pub struct Reader {
    pool: AnyPool,
    sqlite: Option<std::sync::Arc<SqliteReaders>>,
}

impl Reader {
    /// Closes the reads: every later statement fails with `PoolClosed`
    /// (as the sqlx pool's do once closed), then the sqlx pool closes.
    pub async fn close(&self) {
        if let Some(readers) = &self.sqlite {
            readers.close();
        }
        self.pool.close().await;
    }
}

impl std::ops::Deref for Reader {
    type Target = AnyPool;

    fn deref(&self) -> &AnyPool {
        &self.pool
    }
}

impl<'c> Executor<'c> for &'c Reader {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &self.sqlite {
            Some(readers) => sqlite::Single::Readers(readers).fetch_many(query),
            None => self.pool.fetch_many(query),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &self.sqlite {
            Some(readers) => sqlite::Single::Readers(readers).fetch_optional(query),
            None => self.pool.fetch_optional(query),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [sqlx::any::AnyTypeInfo],
    ) -> BoxFuture<'e, Result<sqlx::any::AnyStatement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<sqlx::Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        self.pool.describe(sql)
    }
}

impl std::ops::Deref for Tx {
    type Target = TxConn;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file (the default; one process).
    Sqlite,
    /// A PostgreSQL server (the scale-out path; many replicas).
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `sqlite:` or `postgres://`/`postgresql://`.
    pub fn from_url(url: &str) -> Result<Backend, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::UnsupportedUrl(
                url.split(':').next().unwrap_or_default().to_string(),
            ))
        }
    }
}

/// What can go wrong opening or using the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL's scheme is neither `sqlite:` nor `postgres://`.
    #[error("DATABASE_URL must start with sqlite: or postgres:// (got \"{0}:\")")]
    UnsupportedUrl(String),
    /// The database could not be reached or opened.
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// A migration failed; the schema is not what this build expects.
    #[error("database migration failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A statement failed.
    #[error(transparent)]
    Query(#[from] sqlx::Error),
    /// The task that opens a transaction panicked or its runtime is shutting down.
    #[error("cannot start a transaction: {0}")]
    Interrupted(#[from] tokio::task::JoinError),
    /// The pool is closing.
    #[error("the database is closing")]
    Closed,
    /// The SQLite file's writer connection could not be opened.
    #[error("cannot open the database for writing: {0}")]
    Writer(String),
    /// Creating the SQLite file's folder failed.
    #[error("cannot create the folder for the SQLite file: {0}")]
    Io(#[from] std::io::Error),
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long a caller waits for a free connection, in milliseconds
    /// (also how long a request may wait for a database that just went
    /// away before it is told to try again, issue 14).
    pub acquire_timeout_ms: u64,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 10,
            acquire_timeout_ms: 2_000,
        }
    }
}

/// The shared handle to the database. Cheap to clone: one reference count
/// (each request clones it with the session store, the login backend and
/// the page cache that hold it; issue 13, BENCHMARKS.md eighteenth part).
#[derive(Debug, Clone)]
pub struct Db(std::sync::Arc<DbParts>);

/// What a [`Db`] shares.
#[derive(Debug)]
struct DbParts {
    pool: Reader,
    backend: Backend,
    url: std::sync::Arc<str>,
    /// An in-memory SQLite database's one writer at a time, queued in this
    /// process (see [`Db::begin`]); `None` otherwise.
    turn: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    /// Where the writes go: a SQLite file's one writer connection, apart
    /// from the reads (see [`Db::begin`]), or the pool on PostgreSQL and an
    /// in-memory database (whose every connection is a database of its own).
    writer: Writer,
    signals: std::sync::Arc<Signals>,
}

/// What this process knows has been committed, to wake whoever waits on it.
#[derive(Debug)]
struct Signals {
    /// The highest event sequence number known committed ([`Db::log_head`]).
    log_head: watch::Sender<i64>,
    /// Each consumer's checkpoint as last heard ([`Db::checkpoints`]).
    checkpoints: watch::Sender<Checkpoints>,
    /// Who this pool is among the replicas: a random number its notices carry.
    sender: u64,
    /// When a notice from another replica was last heard (unix ms; 0: never).
    other_heard_ms: std::sync::atomic::AtomicI64,
    /// How many catalog writes this process has committed ([`Db::catalog_version`]).
    catalog_version: std::sync::atomic::AtomicU64,
    /// The work every write transaction that appended events does before it
    /// commits ([`Db::set_before_commit`]).
    before_commit: Hook,
}

/// The [`BeforeCommit`] work, once set.
#[derive(Default)]
struct Hook(std::sync::OnceLock<std::sync::Arc<dyn BeforeCommit>>);

impl Hook {
    fn get(&self) -> Option<&std::sync::Arc<dyn BeforeCommit>> {
        self.0.get()
    }
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "Hook(set)"
        } else {
            "Hook(none)"
        })
    }
}

impl Signals {
    fn changed_catalog(&self) {
        self.catalog_version.fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    fn saw_checkpoint(&self, consumer: &str, seq: i64) {
        self.checkpoints.send_if_modified(|known| {
            let at = known.entry(consumer.to_string()).or_insert(0);
            let moved = seq > *at;
            if moved {
                *at = seq;
            }
            moved
        });
    }
}

/// Consumer name → the last event sequence number its checkpoint was heard
/// to reach (see [`Db::checkpoints`]).
pub type Checkpoints = std::collections::HashMap<String, i64>;

/// The PostgreSQL channel on which every commit that appends events or moves
/// a checkpoint tells the other replicas (issue 14).
pub const NOTICE_CHANNEL: &str = "baedal_log";

/// How long after another replica's last notice this one counts as one of
/// several ([`Db::hears_other_replicas`]), in milliseconds.
pub const OTHER_REPLICA_HEARD_MS: i64 = 10_000;

/// What one commit announces on [`NOTICE_CHANNEL`]: who sent it, the last
/// event it appended (0: none) and the checkpoint it moved. Its payload is
/// text, `"<sender> <log seq> [<consumer> <checkpoint seq>]"`, e.g.
/// `"981 42"` or `"981 0 order_views 42"`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Notice {
    from: u64,
    log: i64,
    moved: Option<(&'static str, i64)>,
}

impl Notice {
    fn to_payload(&self) -> String {
        match self.moved {
            Some((consumer, seq)) => format!("{} {} {consumer} {seq}", self.from, self.log),
            None => format!("{} {}", self.from, self.log),
        }
    }
}

/// A [`Notice`] as read back: sender, log head and, when present, a moved
/// checkpoint.
type HeardNotice<'a> = (u64, i64, Option<(&'a str, i64)>);

/// Reads a [`Notice`] payload. `None` for text that is not one (ignored: a
/// notice is a hint).
fn parse_notice(payload: &str) -> Option<HeardNotice<'_>> {
    let mut parts = payload.split(' ');
    let from = parts.next()?.parse().ok()?;
    let log = parts.next()?.parse().ok()?;
    let moved = match (parts.next(), parts.next()) {
        (Some(consumer), Some(seq)) => Some((consumer, seq.parse().ok()?)),
        (None, None) => None,
        _ => return None,
    };
    parts.next().is_none().then_some((from, log, moved))
}

/// A number no other replica's pool is likely to draw (std's per-process
/// random hash keys, mixed with the process id and the clock).
fn random_sender() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_i64(now_ms());
    hasher.finish()
}

/// Sends one [`Notice`] on [`NOTICE_CHANNEL`] inside `tx`, so it is
/// delivered exactly when the commit is.
async fn notify(
    tx: &mut Transaction<'static, Any>,
    from: u64,
    log: i64,
    moved: Option<(&'static str, i64)>,
) -> Result<(), sqlx::Error> {
    let notice = Notice { from, log, moved }.to_payload();
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(NOTICE_CHANNEL)
        .bind(notice)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves `head` forward to `seq` (never back), waking its watchers.
fn advance(head: &watch::Sender<i64>, seq: i64) {
    head.send_if_modified(|at| {
        let moved = seq > *at;
        if moved {
            *at = seq;
        }
        moved
    });
}

impl Db {
    /// Opens a pool on `url`. A SQLite file (and its folder) is created when
    /// missing and put in WAL mode with foreign keys on and a 5 s busy timeout.
    ///
    /// Errors: [`DbError::UnsupportedUrl`], [`DbError::Connect`], [`DbError::Io`].
    pub async fn connect(url: &str, options: &DbOptions) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let mut url = url.to_string();
        if backend == Backend::Sqlite {
            prepare_sqlite_file(&mut url)?;
        }
        let pool = pool_options(backend, options.max_connections, options.acquire_timeout_ms)
            .connect(&url)
            .await
            .map_err(DbError::Connect)?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let timeout = Duration::from_millis(options.acquire_timeout_ms);
        let readers = match backend {
            Backend::Sqlite if !in_memory => Some(std::sync::Arc::new(
                SqliteReaders::open(sqlite_path(&url), SQLITE_READERS, timeout)
                    .map_err(|e| DbError::Writer(e.to_string()))?,
            )),
            _ => None,
        };
        let (writer, turn) = match backend {
            Backend::Sqlite if !in_memory => {
                let writer =
                    SqliteWriter::open(sqlite_path(&url), timeout).map_err(|e| DbError::Writer(e.to_string()))?;
                (Writer(WriterKind::Sqlite(writer)), None)
            }
            Backend::Sqlite => (
                Writer(WriterKind::Pool(pool.clone())),
                Some(std::sync::Arc::new(tokio::sync::Semaphore::new(1))),
            ),
            Backend::Postgres => (Writer(WriterKind::Pool(pool.clone())), None),
        };
        Ok(Db(std::sync::Arc::new(DbParts {
            pool: Reader { pool, sqlite: readers },
            backend,
            url: url.into(),
            turn,
            writer,
            signals: std::sync::Arc::new(Signals {
                log_head: watch::Sender::new(0),
                checkpoints: watch::Sender::new(Checkpoints::new()),
                sender: random_sender(),
                other_heard_ms: std::sync::atomic::AtomicI64::new(0),
                catalog_version: std::sync::atomic::AtomicU64::new(0),
                before_commit: Hook::default(),
            }),
        })))
    }

    /// On PostgreSQL, listens on [`NOTICE_CHANNEL`] until the returned task
    /// is aborted: other replicas' commits move this process's
    /// [`Db::log_head`] and [`Db::checkpoints`] as its own do, so its
    /// consumers, live hub and waiting requests wake at once instead of at
    /// their next poll. A notice is a hint (whoever must not miss an event
    /// re-reads the log from its checkpoint), and a lost listener
    /// connection is opened again after `retry_ms` milliseconds, while the
    /// pollers' slow rounds cover the gap. `None` on SQLite, whose one
    /// process hears its own commits.
    pub fn listen(&self, retry_ms: u64) -> Option<tokio::task::JoinHandle<()>> {
        if self.0.backend != Backend::Postgres {
            return None;
        }
        let url = self.0.url.clone();
        let signals = self.0.signals.clone();
        Some(tokio::spawn(async move {
            loop {
                match listen_once(&url, &signals).await {
                    Ok(()) => tracing::warn!("the notice listener lost its connection; listening again"),
                    Err(e) => tracing::warn!(error = %e, retry_ms, "the notice listener cannot listen; retrying"),
                }
                tokio::time::sleep(Duration::from_millis(retry_ms)).await;
            }
        }))
    }

    /// Each consumer's checkpoint as this process last heard it: from its
    /// own commits ([`Tx::moved_checkpoint`]) and, on PostgreSQL, every
    /// replica's ([`Db::listen`]). A hint that wakes waiters: they confirm
    /// with the database, where a rebuild may have moved a checkpoint back.
    pub fn checkpoints(&self) -> watch::Receiver<Checkpoints> {
        self.0.signals.checkpoints.subscribe()
    }

    /// Whether another replica's notice was heard in the last
    /// [`OTHER_REPLICA_HEARD_MS`]: others then take commands whose waits
    /// can only see what is stored, so a consumer writes down a checkpoint
    /// it moved over unwanted events at once (issue 14). Always false on
    /// SQLite (one process).
    pub fn hears_other_replicas(&self) -> bool {
        let heard = self.0.signals.other_heard_ms.load(std::sync::atomic::Ordering::Relaxed);
        heard > 0 && now_ms() - heard <= OTHER_REPLICA_HEARD_MS
    }

    /// The highest event sequence number this process knows to be
    /// committed: its own transactions announce theirs on commit
    /// ([`Tx::appended_events`]), and whoever learns of later ones (a read
    /// of the log, another replica's notice) tells it with
    /// [`Db::saw_log_head`]. A hint, never a promise: another process may
    /// have committed more, so whoever must not miss an event still reads
    /// the log. Consumers wake on it instead of polling.
    pub fn log_head(&self) -> watch::Receiver<i64> {
        self.0.signals.log_head.subscribe()
    }

    /// The log is known to reach `seq` (never moves [`Db::log_head`] back).
    pub fn saw_log_head(&self, seq: i64) {
        advance(&self.0.signals.log_head, seq);
    }

    /// How many transactions and statements that changed stores, menu
    /// items or reviews this process has committed (starts at 0; only ever grows). A
    /// copy of the catalog read while it was `v` is current as long as it
    /// is still `v`, for this process's own writes; another replica's
    /// writes do not move it (see `catalog::StoreCache` for how long a copy
    /// is trusted then).
    pub fn catalog_version(&self) -> u64 {
        self.0
            .signals
            .catalog_version
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Records a committed catalog write made outside a [`Tx`] (a single
    /// statement on the pool): [`Db::catalog_version`] moves on.
    pub fn changed_catalog(&self) {
        self.0.signals.changed_catalog();
    }

    /// Sets the work every write transaction of this pool (and its clones)
    /// that appended events does just before it commits (issue 13: on
    /// SQLite the read models are applied there, `eventlog::Inline`). Set
    /// once, at start; `false` when it was already set (nothing changes).
    pub fn set_before_commit(&self, hook: std::sync::Arc<dyn BeforeCommit>) -> bool {
        self.0.signals.before_commit.0.set(hook).is_ok()
    }

    /// Applies the migrations of this backend's dialect (`migrations/sqlite` or
    /// `migrations/postgres`). The server refuses to start when this fails.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.0.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.0.pool.pool).await.map_err(DbError::Migrate)
    }

    /// The number of migrations this build knows for its dialect.
    pub fn known_migrations(&self) -> usize {
        match self.0.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.iter().count(),
            Backend::Postgres => POSTGRES_MIGRATIONS.iter().count(),
        }
    }

    /// Readiness (N7): whether the database answers and every migration this
    /// build knows has been applied successfully. `Err` names what is wrong.
    pub async fn check_ready(&self) -> Result<(), String> {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_one(&self.0.pool)
            .await
            .map_err(|e| {
                // The cause stays in the log: /readyz is public.
                tracing::warn!(error = %e, "readiness: the database does not answer");
                "the database does not answer".to_string()
            })?;
        let known = self.known_migrations();
        if usize::try_from(applied).unwrap_or(0) < known {
            return Err(format!("{applied} of {known} migrations applied"));
        }
        Ok(())
    }

    /// Where reads go (and statements that must not wait for a write
    /// transaction to finish): on a SQLite file, a few connections run in
    /// the calling task ([`Reader`]); the sqlx pool otherwise, and behind
    /// the [`Reader`]'s `Deref` always.
    pub fn pool(&self) -> &Reader {
        &self.0.pool
    }

    /// Where a single write statement outside a transaction goes (issue 13).
    /// On a SQLite file it is the one connection the write transactions use
    /// ([`Db::begin`]), so the statement waits its turn in line instead of
    /// finding the file locked and sleeping in SQLite's busy handler; on
    /// PostgreSQL (and an in-memory SQLite database) it is [`Db::pool`].
    ///
    /// Never use it while holding a [`Tx`] of the same `Db`: on SQLite the
    /// statement would wait for the turn that transaction holds (and fail
    /// with `PoolTimedOut` after the acquire timeout); write through the
    /// `Tx` instead.
    pub fn writer(&self) -> &Writer {
        &self.0.writer
    }

    /// On a SQLite file, how many turns the one writer has given
    /// (write transactions and single writes) and how long they were held
    /// in all, since this `Db` was opened; `None` on PostgreSQL and
    /// in-memory SQLite, whose writers do not queue here. `/metrics` shows
    /// them (issue 13: the share of time the writer is held is the lifecycle
    /// rate's limit, BENCHMARKS.md fourteenth part).
    pub fn writer_turns(&self) -> Option<WriterTurns> {
        match &self.0.writer.0 {
            WriterKind::Sqlite(writer) => Some(writer.turns()),
            WriterKind::Pool(_) => None,
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        self.0.backend
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a transaction that reads before it writes cannot
    /// fail later with a busy snapshot; on PostgreSQL it is a plain `BEGIN`
    /// (read committed) and callers lock the rows they change.
    ///
    /// SQLite has one writer at a time, and a writer that finds the lock
    /// taken sleeps in SQLite's busy handler (1, 2, 5, 10 ms, …) before it
    /// looks again: with the consumers and the commands of this process all
    /// writing, most of a command's time went in those sleeps. So writers of
    /// this pool first queue for their turn here, where the next is woken
    /// the moment the last commits; the busy handler is left for writers
    /// from elsewhere (another process, a statement sent through
    /// [`Db::pool`]). On a SQLite file every write transaction runs on one
    /// connection ([`Db::writer`]), kept apart from the reads, whose
    /// statements run in the calling task (`sqlite.rs`: sqlx's own driver
    /// handed each statement to a thread of its own and back, and that was
    /// the lifecycle's limit; issue 13, BENCHMARKS.md).
    ///
    /// Safe to cancel. On the SQLite writer the transaction exists once
    /// `BEGIN IMMEDIATE` has run, in the same step that returns it. Through
    /// sqlx (PostgreSQL, in-memory SQLite) the `Transaction` (whose drop
    /// rolls back) is built only after `BEGIN` has answered, so a caller
    /// dropped in between — a client that hung up, an aborted task — would
    /// hand the pool a connection still inside a transaction; the begin
    /// therefore runs in its own task there, which always finishes and
    /// rolls back what nobody is left to use.
    ///
    /// Errors: [`DbError::Query`] with `PoolTimedOut` when the turn (or
    /// another process's write lock) is not had within the acquire timeout,
    /// `PoolClosed` after [`Db::close`]; a database error.
    pub async fn begin(&self) -> Result<Tx, DbError> {
        self.begin_with("BEGIN").await
    }

    /// Starts a write transaction like [`Db::begin`] whose writes can be
    /// made again from the event log (a consumer's batch, which moves with
    /// its checkpoint): on PostgreSQL it commits without waiting for the
    /// disk (`synchronous_commit = off`, in the same round trip as
    /// `BEGIN`). A crash may lose such a commit, and the batch is then
    /// applied again; any later ordinary commit makes it durable too.
    pub async fn begin_replayable(&self) -> Result<Tx, DbError> {
        self.begin_with("BEGIN; SET LOCAL synchronous_commit = off").await
    }

    async fn begin_with(&self, postgres_begin: &'static str) -> Result<Tx, DbError> {
        let conn = match &self.0.writer.0 {
            WriterKind::Sqlite(writer) => Conn::Writer(writer.begin().await?, writer.clone()),
            WriterKind::Pool(pool) => {
                let turn = match &self.0.turn {
                    Some(turn) => Some(turn.clone().acquire_owned().await.map_err(|_| DbError::Closed)?),
                    None => None,
                };
                let pool = pool.clone();
                let backend = self.0.backend;
                let begin = tokio::spawn(async move {
                    match backend {
                        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
                        Backend::Postgres => pool.begin_with(postgres_begin).await,
                    }
                });
                Conn::Pooled(begin.await??, backend, turn)
            }
        };
        Ok(Tx {
            conn: TxConn(conn),
            news: News::default(),
            after_commit: Vec::new(),
            records: Vec::new(),
            signals: self.0.signals.clone(),
        })
    }

    /// `" FOR UPDATE"` on PostgreSQL, nothing on SQLite (whose write
    /// transactions already exclude each other). Append to a `SELECT` that
    /// reads rows the transaction will change.
    pub fn for_update(&self) -> &'static str {
        match self.0.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Whether the database answers a trivial query (readiness).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.0.pool).await.is_ok()
    }

    /// Closes every connection; used on shutdown and by tests.
    pub async fn close(&self) {
        if let WriterKind::Sqlite(writer) = &self.0.writer.0 {
            writer.close();
        }
        self.0.pool.close().await;
    }
}

/// A named lease that one replica at a time holds (issue 14), for
/// background work that must not run twice at once (the payment
/// reconciler). Stored in the `leases` table; times are unix milliseconds.
#[derive(Debug, Clone)]
pub struct Lease {
    db: Db,
    name: &'static str,
    owner: String,
    lease_ms: i64,
}

impl Lease {
    /// The lease `name` as held by `owner` (this replica's instance id),
    /// lasting `lease_ms` milliseconds from each [`Lease::hold`].
    pub fn new(db: Db, name: &'static str, owner: impl Into<String>, lease_ms: i64) -> Lease {
        Lease {
            db,
            name,
            owner: owner.into(),
            lease_ms,
        }
    }

    /// Takes the lease when nobody holds it or its holder let it expire,
    /// or renews it when `owner` holds it; `true` when `owner` holds it now.
    ///
    /// Errors: the database failed (then nobody should assume the lease).
    pub async fn hold(&self) -> Result<bool, sqlx::Error> {
        let now = now_ms();
        let taken = sqlx::query(
            "INSERT INTO leases (name, owner, until_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms \
             WHERE leases.owner = excluded.owner OR leases.until_ms < $4",
        )
        .bind(self.name)
        .bind(&self.owner)
        .bind(now + self.lease_ms)
        .bind(now)
        .execute(self.db.writer())
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// Gives the lease up (when `owner` holds it), so another replica may
    /// take it at once.
    ///
    /// Errors: the database failed (the lease then expires by itself).
    pub async fn release(&self) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND owner = $2")
            .bind(self.name)
            .bind(&self.owner)
            .execute(self.db.writer())
            .await?;
        Ok(())
    }
}

/// Listens on [`NOTICE_CHANNEL`] until the connection is lost (`Ok`) or
/// cannot be opened (`Err`), passing each notice on to `signals`.
async fn listen_once(url: &str, signals: &Signals) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(NOTICE_CHANNEL).await?;
    tracing::debug!("listening for other replicas' commits");
    // Whatever was announced while nobody listened is found by the pollers.
    while let Some(notice) = listener.try_recv().await? {
        match parse_notice(notice.payload()) {
            Some((from, log, moved)) => {
                if from != signals.sender {
                    signals
                        .other_heard_ms
                        .store(now_ms(), std::sync::atomic::Ordering::Relaxed);
                }
                advance(&signals.log_head, log);
                if let Some((consumer, seq)) = moved {
                    signals.saw_checkpoint(consumer, seq);
                }
            }
            None => tracing::debug!(payload = notice.payload(), "ignoring a notice this build cannot read"),
        }
    }
    Ok(())
}

/// How many read connections a SQLite file gets in each process
/// ([`Reader`]): its statements run on the async worker threads, so
/// more than there are of those would sit idle.
const SQLITE_READERS: usize = 4;

/// How long a PostgreSQL connection lies in the pool before it is asked
/// whether it still lives when taken out again. sqlx asks
/// it as it comes back, so only a server that went away within this time
/// of that answer can hand out a dead connection: the one query sent on it
/// fails (as it would have during the outage), and sqlx then drops it.
const POSTGRES_PING_AFTER_IDLE: Duration = Duration::from_millis(500);

/// The settings of a pool of at most `max_connections` on `backend`: on
/// SQLite each new connection is put in WAL mode with foreign keys on, a 5 s
/// busy timeout, `synchronous = NORMAL` and temporary data in memory.
fn pool_options(backend: Backend, max_connections: u32, acquire_timeout_ms: u64) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        // A pooled SQLite connection is a file handle in this process
        // and cannot go stale; asking it first cost every query a round
        // trip to its worker thread (issue 13). A PostgreSQL connection
        // may have died with its server, but sqlx already asks it once
        // each time it goes back to the pool, so it is asked again only
        // after lying idle long enough for the server to have gone
        // (issue 13: under load the second ask was a round trip per query).
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if backend == Backend::Postgres && meta.idle_for >= POSTGRES_PING_AFTER_IDLE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .acquire_timeout(Duration::from_millis(acquire_timeout_ms))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA foreign_keys = ON",
                        "PRAGMA busy_timeout = 5000",
                        "PRAGMA synchronous = NORMAL",
                        // A savepoint's undo (`eventlog::Inline`) in
                        // memory rather than in a temporary file.
                        "PRAGMA temp_store = MEMORY",
                    ] {
                        conn.execute(pragma).await?;
                    }
                }
                Ok(())
            })
        })
}

/// The file a SQLite URL names (`sqlite://data/x.db?mode=rwc` → `data/x.db`).
fn sqlite_path(url: &str) -> &str {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    rest.split('?').next().unwrap_or_default()
}

/// Makes sure a SQLite URL creates its file (`mode=rwc`) and that the file's
/// folder exists.
fn prepare_sqlite_file(url: &mut String) -> Result<(), DbError> {
    let path = sqlite_path(url);
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    if !url.contains("mode=") {
        url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
    }
    Ok(())
}

/// Whether `err` is a unique-key violation (SQLite and PostgreSQL), so callers
/// can turn it into a 409/422 with a field name instead of a 500.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(e) => e.is_unique_violation(),
        _ => false,
    }
}

/// The number of rows a statement changed.
pub fn rows(result: &AnyQueryResult) -> u64 {
    result.rows_affected()
}

/// Milliseconds since the Unix epoch: how every table stores time.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Reads a text column and parses it into a domain type (`StoreKind`, …); a
/// value this build does not know is a decode error, not a panic.
pub fn parsed<T>(row: &sqlx::any::AnyRow, column: &str) -> Result<T, sqlx::Error>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    use sqlx::Row;
    let text: String = row.try_get(column)?;
    text.parse::<T>().map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(e),
    })
}

/// Reads a 0/1 flag column as a `bool`.
pub fn flag(row: &sqlx::any::AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    use sqlx::Row;
    Ok(row.try_get::<i64, _>(column)? != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(Backend::from_url("sqlite://data/x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("sqlite:x.db").ok(), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://u@h/db").ok(), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("postgresql://u@h/db").ok(), Some(Backend::Postgres));
        let err = Backend::from_url("mysql://h/db").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("DATABASE_URL must start with sqlite: or postgres:// (got \"mysql:\")")
        );
    }

    #[test]
    fn notices_read_back_what_commits_announce() {
        for notice in [
            Notice {
                from: 1,
                log: 42,
                moved: None,
            },
            Notice {
                from: u64::MAX,
                log: 0,
                moved: Some(("order_views", 41)),
            },
            Notice {
                from: 0,
                log: 7,
                moved: Some(("delivery_jobs", 6)),
            },
        ] {
            let payload = notice.to_payload();
            assert_eq!(
                parse_notice(&payload),
                Some((notice.from, notice.log, notice.moved)),
                "{payload}"
            );
        }
        for junk in ["", "x", "1", "1 2 views", "1 2 views x", "1 2 a 3 4", "-1 2"] {
            assert_eq!(parse_notice(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        let dir = std::env::temp_dir().join(format!("db-url-test-{}", std::process::id()));
        let mut url = format!("sqlite://{}/nested/x.db", dir.display());
        prepare_sqlite_file(&mut url).expect("prepare");
        assert!(url.ends_with("x.db?mode=rwc"), "{url}");
        assert!(dir.join("nested").is_dir());
        let mut memory = "sqlite::memory:".to_string();
        prepare_sqlite_file(&mut memory).expect("prepare");
        assert_eq!(memory, "sqlite::memory:");
        let _ = std::fs::remove_dir_all(dir);
    }
}
