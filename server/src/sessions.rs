//! Sessions stored in the application's database (issue 3), so a restart or
//! another replica logs nobody out.
//!
//! tower-sessions-sqlx-store has one store per database; the application picks
//! its database at run time, so [`DbSessionStore`] holds either and delegates.

use async_trait::async_trait;
use db::Backend;
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
    /// Sessions in the SQLite file.
    Sqlite(SqliteStore),
    /// Sessions in PostgreSQL.
    Postgres(PostgresStore),
}

impl DbSessionStore {
    /// Opens a small pool of the right kind on `url` and creates the session
    /// table when it is missing.
    pub async fn open(url: &str) -> anyhow::Result<DbSessionStore> {
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
                DbSessionStore::Sqlite(store)
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
            DbSessionStore::Sqlite(s) => s.create(record).await,
            DbSessionStore::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s) => s.save(record).await,
            DbSessionStore::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            DbSessionStore::Sqlite(s) => s.load(id).await,
            DbSessionStore::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s) => s.delete(id).await,
            DbSessionStore::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            DbSessionStore::Sqlite(s) => s.delete_expired().await,
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
