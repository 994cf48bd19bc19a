//! Where writes go (issue 13): on SQLite every write transaction runs on one
//! connection of its own, apart from the reads, and a single write outside
//! a transaction ([`db::Db::writer`]) waits in line behind the open one
//! (`TEST_DATABASE=sqlite|postgres`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use db::Backend;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_every_write_transaction_runs_on_one_connection_apart_from_the_reads() {
    let t = testkit::fresh_db().await;
    if t.db.backend() != Backend::Sqlite {
        // PostgreSQL takes writers side by side: its transactions draw any
        // connection of the pool, and `writer()` is the pool.
        return;
    }
    // Open several read connections at once, so that a pool shared by
    // reads and writes would hand the next transactions different ones.
    let mut readers = Vec::new();
    for _ in 0..4 {
        readers.push(t.db.pool().acquire().await.expect("a read connection"));
    }
    drop(readers);

    // A temporary table lives on the connection that made it.
    let mut tx = t.db.begin().await.expect("begin");
    sqlx::query("CREATE TEMP TABLE made_here (x BIGINT)")
        .execute(&mut *tx)
        .await
        .expect("create the temporary table");
    tx.commit().await.expect("commit");

    for _ in 0..3 {
        let mut tx = t.db.begin().await.expect("begin");
        let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM temp.made_here")
            .fetch_one(&mut *tx)
            .await
            .expect("a later write transaction runs on the same connection");
        assert_eq!(seen, 0);
        tx.rollback().await.expect("rollback");
    }
    let single: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM temp.made_here")
        .fetch_one(t.db.writer())
        .await
        .expect("a single write statement runs there too");
    assert_eq!(single, 0);

    for _ in 0..4 {
        let read = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM temp.made_here")
            .fetch_one(t.db.pool())
            .await;
        assert!(read.is_err(), "a read ran on the writers' connection");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_write_waits_for_the_open_transaction_and_lands_after_it() {
    let t = testkit::fresh_db().await;
    sqlx::query("CREATE TABLE counter (n BIGINT NOT NULL)")
        .execute(t.db.writer())
        .await
        .expect("create");
    sqlx::query("INSERT INTO counter (n) VALUES (0)")
        .execute(t.db.writer())
        .await
        .expect("insert");

    let mut tx = t.db.begin().await.expect("begin");
    sqlx::query("UPDATE counter SET n = 1")
        .execute(&mut *tx)
        .await
        .expect("update in the transaction");
    let db = t.db.clone();
    let single = tokio::spawn(async move {
        sqlx::query("UPDATE counter SET n = n * 10")
            .execute(db.writer())
            .await
            .map(|done| done.rows_affected())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !single.is_finished(),
        "the single write did not wait for the open transaction"
    );
    tx.commit().await.expect("commit");

    let changed = tokio::time::timeout(Duration::from_secs(10), single)
        .await
        .expect("the single write ran once the transaction committed")
        .expect("task")
        .expect("the single write succeeded");
    assert_eq!(changed, 1);
    let n: i64 = sqlx::query_scalar("SELECT n FROM counter")
        .fetch_one(t.db.pool())
        .await
        .expect("read");
    assert_eq!(n, 10, "the single write applied after the transaction's");
}
