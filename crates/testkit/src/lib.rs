//! Test support for every crate's tests and for the load and crash tools:
//! one harness, so a test reads the same whether it drives a context, the
//! in-process app or the spawned binary.
//!
//! - Databases (this module): a fresh, migrated database per test.
//!   `TEST_DATABASE=sqlite` (the default) gives each test its own SQLite
//!   file in a temporary folder; `TEST_DATABASE=postgres` creates a new
//!   database on the server at `TEST_POSTGRES_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`). PostgreSQL test
//!   databases are named `delivery_test_*`; `.ci/test.sh` drops old ones
//!   before a run.
//! - [`demo`]: the demo accounts the seeded data has.
//! - [`http`]: a browser-like client, server-function calls, logging in and
//!   signing up, the session cookie.
//! - [`live`]: the `/ws` live feed from a test's side.
//! - [`process`]: the `server` binary (or a tool's own child mode) spawned on
//!   a free port and a fresh database, killed, terminated, restarted.
//! - `app` (feature `app`): the app started in-process with
//!   `server::start`, for tests that look behind the HTTP surface.

#[cfg(feature = "app")]
pub mod app;
pub mod demo;
pub mod http;
pub mod live;
pub mod process;

use db::{Backend, Db, DbOptions};
use rand::Rng;
use sqlx::migrate::MigrateDatabase;

/// A fresh database for one test. Keep it alive for the test's duration: the
/// SQLite file is deleted when it drops.
pub struct TestDb {
    /// A migrated pool on the database.
    pub db: Db,
    /// The database URL, to open more pools (a "second replica") or spawn the app.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The backend chosen by `TEST_DATABASE` (`sqlite` or `postgres`).
///
/// # Panics
/// On any other value, so a typo cannot silently test the wrong database.
#[allow(clippy::panic)]
pub fn backend() -> Backend {
    match std::env::var("TEST_DATABASE").as_deref() {
        Err(_) | Ok("") | Ok("sqlite") => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        Ok(other) => panic!("TEST_DATABASE must be sqlite or postgres, not {other:?}"),
    }
}

/// A URL for a new, empty database of the chosen backend (not yet migrated),
/// and the temporary folder that must outlive it (SQLite).
///
/// # Panics
/// When the PostgreSQL server cannot create a database: the suite must fail,
/// never skip.
#[allow(clippy::expect_used)]
pub async fn fresh_url() -> (String, Option<tempfile::TempDir>) {
    sqlx::any::install_default_drivers();
    let suffix: u64 = rand::thread_rng().gen();
    match backend() {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let url = format!("sqlite://{}/test.db", dir.path().display());
            (url, Some(dir))
        }
        Backend::Postgres => {
            let base = std::env::var("TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let (server, _) = base.rsplit_once('/').expect("TEST_POSTGRES_URL ends in /database");
            let url = format!("{server}/delivery_test_{suffix:016x}");
            sqlx::Any::create_database(&url)
                .await
                .unwrap_or_else(|e| panic!("cannot create a PostgreSQL test database at {server}: {e}"));
            (url, None)
        }
    }
}

/// A fresh database, migrated.
///
/// # Panics
/// When it cannot be created or migrated.
#[allow(clippy::expect_used)]
pub async fn fresh_db() -> TestDb {
    let (url, dir) = fresh_url().await;
    let db = Db::connect(&url, &DbOptions::default())
        .await
        .expect("connect to the test database");
    db.migrate().await.expect("migrate the test database");
    TestDb { db, url, _dir: dir }
}

impl TestDb {
    /// Another pool on the same database, as a second app instance would have.
    ///
    /// # Panics
    /// When it cannot connect.
    #[allow(clippy::expect_used)]
    pub async fn second_pool(&self) -> Db {
        Db::connect(&self.url, &DbOptions::default())
            .await
            .expect("connect a second pool")
    }
}
