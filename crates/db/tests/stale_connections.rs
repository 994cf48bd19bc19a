//! A pooled PostgreSQL connection the server has closed is found out before
//! a query is sent on it (`TEST_DATABASE=postgres`; a SQLite connection is
//! a file handle in the process and cannot go stale).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use db::Backend;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_server_closed_while_they_lay_idle_are_replaced_unseen() {
    if testkit::backend() != Backend::Postgres {
        return;
    }
    let t = testkit::fresh_db().await;
    // Several connections in the pool at once, then back in it, idle.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(t.db.pool().acquire().await.expect("a connection"));
    }
    let ours: Vec<i32> = {
        let mut pids = Vec::new();
        for conn in &mut held {
            pids.push(
                sqlx::query_scalar::<_, i32>("SELECT pg_backend_pid()")
                    .fetch_one(&mut **conn)
                    .await
                    .expect("its backend"),
            );
        }
        pids
    };
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The server ends each of them (as a restart or an administrator would).
    let admin = t.second_pool().await;
    for pid in &ours {
        let ended: bool = sqlx::query_scalar(&format!("SELECT pg_terminate_backend({pid})"))
            .fetch_one(admin.pool())
            .await
            .expect("terminate");
        assert!(ended, "backend {pid} was ended");
    }
    // Longer than a connection may rest before it is asked again.
    tokio::time::sleep(Duration::from_millis(800)).await;

    // Every query, one after the other and side by side, is answered: no
    // caller is handed a dead connection.
    for _ in 0..8 {
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(t.db.pool())
            .await
            .expect("a query after the server closed the idle connections");
        assert_eq!(one, 1);
    }
    let side_by_side: Vec<_> = (0..6)
        .map(|_| {
            let db = t.db.clone();
            tokio::spawn(async move { sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(db.pool()).await })
        })
        .collect();
    for query in side_by_side {
        assert_eq!(query.await.unwrap().expect("a query side by side"), 1);
    }
    let mut tx = t.db.begin().await.expect("a write transaction on a live connection");
    sqlx::query("SELECT 1")
        .execute(&mut *tx)
        .await
        .expect("in the transaction");
    tx.commit().await.expect("commit");
}
