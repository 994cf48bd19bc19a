//! The two dialects' migrations (`migrations/sqlite`, `migrations/postgres`)
//! must build the same schema: every context writes one SQL text for both,
//! so a column missing or nullable on one side is a bug that shows only in
//! production on the other (issue 10).
//!
//! Runs in the PostgreSQL pass of `make test` (`TEST_DATABASE=postgres`),
//! which has both databases; the SQLite pass has no server to compare with.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use db::{Backend, Db, DbOptions};
use std::collections::BTreeMap;

/// A column as both dialects can describe it: its type family and whether
/// it may be NULL.
#[derive(Debug, PartialEq, Eq)]
struct Column {
    family: &'static str,
    nullable: bool,
}

type Schema = BTreeMap<String, BTreeMap<String, Column>>;

/// `integer` or `text`: the only value types the contexts use (times are
/// milliseconds, flags 0/1, money won, documents JSON text).
fn family(declared: &str) -> &'static str {
    let declared = declared.to_ascii_lowercase();
    if declared.contains("int") || declared == "bigserial" {
        "integer"
    } else if declared.contains("text") || declared.contains("char") {
        "text"
    } else {
        // Anything else is reported as itself, so the test names it.
        Box::leak(declared.into_boxed_str())
    }
}

/// The framework's own bookkeeping is not part of the schema.
fn ours(table: &str) -> bool {
    !table.starts_with("_sqlx") && !table.starts_with("sqlite_")
}

async fn sqlite_schema(db: &Db) -> Schema {
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let mut schema = Schema::new();
    for table in tables.into_iter().filter(|t| ours(t)) {
        let columns: Vec<(String, String, i64, i64)> = sqlx::query_as(&format!(
            "SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}')"
        ))
        .fetch_all(db.pool())
        .await
        .unwrap();
        let columns = columns
            .into_iter()
            .map(|(name, declared, not_null, pk)| {
                (
                    name,
                    Column {
                        family: family(&declared),
                        // A primary key column is never NULL on PostgreSQL;
                        // SQLite's pragma does not say so.
                        nullable: not_null == 0 && pk == 0,
                    },
                )
            })
            .collect();
        schema.insert(table, columns);
    }
    schema
}

async fn postgres_schema(db: &Db) -> Schema {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
         FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut schema = Schema::new();
    for (table, column, declared, nullable) in rows.into_iter().filter(|r| ours(&r.0)) {
        schema.entry(table).or_default().insert(
            column,
            Column {
                family: family(&declared),
                nullable: nullable == "YES",
            },
        );
    }
    schema
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_make_the_same_tables_and_columns() {
    if testkit::backend() != Backend::Postgres {
        eprintln!("the schema comparison runs in the PostgreSQL pass (TEST_DATABASE=postgres)");
        return;
    }
    let postgres = testkit::fresh_db().await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Db::connect(
        &format!("sqlite://{}/schema.db", dir.path().display()),
        &DbOptions::default(),
    )
    .await
    .unwrap();
    sqlite.migrate().await.unwrap();

    let (lite, pg) = (sqlite_schema(&sqlite).await, postgres_schema(&postgres.db).await);
    assert!(lite.len() > 10, "the SQLite schema was read: {lite:?}");
    assert_eq!(
        lite.keys().collect::<Vec<_>>(),
        pg.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (table, columns) in &lite {
        assert_eq!(
            columns, &pg[table],
            "the columns of {table} (SQLite left, PostgreSQL right)"
        );
    }
}
