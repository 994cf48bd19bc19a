//! A caller dropped while its transaction is starting must not leave the
//! database locked (`TEST_DATABASE=sqlite|postgres`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use rand::Rng;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_begin_cancelled_at_any_point_leaves_no_transaction_behind() {
    let t = testkit::fresh_db().await;
    sqlx::query("CREATE TABLE counter (n BIGINT NOT NULL)")
        .execute(t.db.pool())
        .await
        .expect("create");
    sqlx::query("INSERT INTO counter (n) VALUES (0)")
        .execute(t.db.pool())
        .await
        .expect("insert");

    // Cancel `begin` after a random few microseconds, many times: some land
    // before the pool hands out a connection, some while BEGIN is in flight,
    // some after. (Before the fix, the middle case leaked an open transaction
    // into the pool and every later writer on SQLite waited forever.)
    for _ in 0..300 {
        let after = Duration::from_micros(rand::thread_rng().gen_range(0..400));
        if let Ok(tx) = tokio::time::timeout(after, t.db.begin()).await {
            drop(tx.expect("begin"));
        }
    }

    // Every connection in the pool can still write, promptly.
    let mut writers = Vec::new();
    for _ in 0..10 {
        let db = t.db.clone();
        writers.push(tokio::spawn(async move {
            let mut tx = db.begin().await.expect("begin");
            sqlx::query("UPDATE counter SET n = n + 1")
                .execute(&mut *tx)
                .await
                .expect("update");
            tx.commit().await.expect("commit");
        }));
    }
    for w in writers {
        tokio::time::timeout(Duration::from_secs(20), w)
            .await
            .expect("a writer waited on a leaked transaction")
            .expect("writer");
    }
    let n: i64 = sqlx::query_scalar("SELECT n FROM counter")
        .fetch_one(t.db.pool())
        .await
        .expect("read");
    assert_eq!(n, 10);
}
