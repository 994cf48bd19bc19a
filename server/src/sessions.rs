//! Sessions stored in the application's database (issue 3), so a restart or
//! another replica logs nobody out.
//!
//! tower-sessions-sqlx-store has one store per database; the application picks
//! its database at run time, so [`DbSessionStore`] holds either and delegates.
//!
//! On SQLite every request loads its session, and the store's own sqlx pool
//! hands each statement to a connection thread and back (two thread
//! wake-ups, the cost `db`'s SQLite connections were written to avoid,
//! issue 13). So there the load reads the store's table through the
//! application's read connections ([`db::Db::pool`]), in the calling task,
//! and decodes the record as the store does; creating, saving, deleting and
//! expiring sessions (rare: at login, logout, and once per eighth of the idle
//! period) stay with the store.

use async_trait::async_trait;
use db::{Backend, Db};
use std::str::FromStr;
use std::time::Duration;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::sqlx::postgres::PgPoolOptions;
use tower_sessions_sqlx_store::sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

/// The name of the cookie that carries the session id.
pub const SESSION_COOKIE: &str = "baedal_session";

/// The session store on the application's own database.
#[derive(Debug, Clone)]
pub enum DbSessionStore {
    /// Sessions in the SQLite file: the store, and the application's
    /// database on the same file, whose read connections load them.
    Sqlite(SqliteStore, Db),
    /// Sessions in PostgreSQL.
    Postgres(PostgresStore),
}

impl DbSessionStore {
    /// Opens a small pool of the right kind on `db`'s database (its URL
    /// `url`) and creates the session table when it is missing.
    pub async fn open(url: &str, db: &Db) -> anyhow::Result<DbSessionStore> {
        let store = match Backend::from_url(url)? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await?;
                let store = SqliteStore::new(pool);
                store.migrate().await?;
                DbSessionStore::Sqlite(store, db.clone())
            }
            Backend::Postgres => {
                let pool = PgPoolOptions::new().max_connections(4).connect(url).await?;
                let store = PostgresStore::new(pool);
                store.migrate().await?;
                DbSessionStore::Postgres(store)
            }
        };
        Ok(store)
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s, _) => s.create(record).await,
            DbSessionStore::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s, _) => s.save(record).await,
            DbSessionStore::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            DbSessionStore::Sqlite(_, db) => load_sqlite(db, id).await,
            DbSessionStore::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s, _) => s.delete(id).await,
            DbSessionStore::Postgres(s) => s.delete(id).await,
        }
    }
}

/// Loads a session from the store's SQLite table through `db`'s read
/// connections, as `SqliteStore::load` does: the record (MessagePack, as
/// the store writes it) unless it has expired.
///
/// Errors: the database failed (`Backend`), or the stored record does not
/// decode (`Decode`); tower-sessions then treats the request as having no
/// session.
async fn load_sqlite(db: &Db, id: &Id) -> session_store::Result<Option<Record>> {
    let data: Option<Vec<u8>> = sqlx::query_scalar("SELECT data FROM tower_sessions WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(db.pool())
        .await
        .map_err(|e| session_store::Error::Backend(e.to_string()))?;
    let Some(data) = data else { return Ok(None) };
    let record: Record = rmp_serde::from_slice(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
    Ok((record.expiry_date > time::OffsetDateTime::now_utc()).then_some(record))
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s, _) => s.delete_expired().await,
            DbSessionStore::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// The session key that holds when [`keep_alive`] last moved the session's
/// expiry on (unix milliseconds).
const MOVED_ON_MS: &str = "expiry_moved_on_ms";

/// Moves a session's expiry on while it is used, so a session expires once
/// unused for about `APP_SESSION_IDLE_TIMEOUT_MS` (`idle_ms`, milliseconds),
/// not that long after logging in.
///
/// tower-sessions gives an `Expiry::OnInactivity` session (its record and
/// its cookie) a new expiry only when it saves the session, and it saves
/// only a changed one: an active customer or owner was logged out 14 days
/// after logging in. Saving on every request would cost a database write
/// per request, so the session is changed here (the time in
/// [`MOVED_ON_MS`]) only when an eighth of the idle period has passed since
/// it was last: a session expires between seven eighths of the idle period
/// and all of it after its last use. Requests without a session, or whose
/// session is gone, are left alone (no session is made for them).
pub async fn keep_alive(
    axum::extract::State(idle_ms): axum::extract::State<u64>,
    session: tower_sessions::Session,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if session.id().is_some() {
        let now = db::now_ms();
        let every = i64::try_from(idle_ms / 8).unwrap_or(i64::MAX);
        match session.get::<i64>(MOVED_ON_MS).await {
            // The cookie named no stored session (expired, logged out).
            _ if session.id().is_none() => {}
            Ok(Some(moved)) if now.saturating_sub(moved) < every && moved <= now => {}
            Ok(_) => {
                if let Err(e) = session.insert(MOVED_ON_MS, now).await {
                    tracing::debug!(error = %e, "could not move a session's expiry on");
                }
            }
            Err(e) => tracing::debug!(error = %e, "could not read a session"),
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On SQLite the store writes a session and the application's read
    /// connections load it: the same record back while it is unexpired,
    /// nothing once it has expired or for an id never stored (as the store's
    /// own `load`, whose query filters on the expiry).
    #[tokio::test]
    async fn on_sqlite_a_saved_session_loads_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sessions.db?mode=rwc", dir.path().display());
        let db = Db::connect(&url, &db::DbOptions::default()).await.unwrap();
        let store = DbSessionStore::open(&url, &db).await.unwrap();
        assert!(matches!(store, DbSessionStore::Sqlite(..)));

        let now = time::OffsetDateTime::now_utc();
        let mut live = Record {
            id: Id::default(),
            data: [("axum-login.data".to_string(), serde_json::json!({"user": 7}))].into(),
            expiry_date: now + time::Duration::hours(1),
        };
        store.create(&mut live).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), Some(live.clone()));

        let mut expired = Record {
            id: Id::default(),
            data: Default::default(),
            expiry_date: now - time::Duration::seconds(1),
        };
        store.create(&mut expired).await.unwrap();
        assert_eq!(store.load(&expired.id).await.unwrap(), None);

        // Saved again with a later expiry, it is back.
        expired.expiry_date = now + time::Duration::minutes(5);
        store.save(&expired).await.unwrap();
        assert_eq!(store.load(&expired.id).await.unwrap(), Some(expired.clone()));

        assert_eq!(store.load(&Id::default()).await.unwrap(), None);
        store.delete(&live.id).await.unwrap();
        assert_eq!(store.load(&live.id).await.unwrap(), None);
    }
}
