//! Group commit on a SQLite file (issue 13, `crates/db/src/sqlite.rs`):
//! write transactions that end while others wait for the writer's turn are
//! committed together, and each one's commit answers only once that commit
//! has happened. A member that rolls back or fails undoes its own work
//! only; a commit that fails fails every member and keeps nothing.
//! PostgreSQL's writers run side by side and commit on their own.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use db::{Backend, Db};
use std::time::Duration;
use tokio::task::JoinHandle;

/// A fresh SQLite file with a table of notes, `None` on PostgreSQL.
async fn notes_db() -> Option<testkit::TestDb> {
    let t = testkit::fresh_db().await;
    if t.db.backend() != Backend::Sqlite {
        return None;
    }
    sqlx::query("CREATE TABLE notes (n BIGINT NOT NULL UNIQUE)")
        .execute(t.db.writer())
        .await
        .expect("create");
    Some(t)
}

async fn notes(db: &Db) -> Vec<i64> {
    sqlx::query_scalar("SELECT n FROM notes ORDER BY n")
        .fetch_all(db.pool())
        .await
        .expect("read")
}

/// Commits note `n` in a transaction of its own.
async fn commit_note(db: &Db, n: i64) {
    let tx = hold_turn_with_note(db, n).await;
    tx.commit().await.expect("commit");
}

/// Begins a transaction, taking the writer's turn, and inserts note `n`
/// in it; the turn is held until the transaction ends.
async fn hold_turn_with_note(db: &Db, n: i64) -> db::Tx {
    let mut tx = db.begin().await.expect("begin");
    sqlx::query("INSERT INTO notes (n) VALUES ($1)")
        .bind(n)
        .execute(&mut *tx)
        .await
        .expect("insert");
    tx
}

/// How a member's transaction ends.
#[derive(Clone, Copy)]
enum End {
    Commit,
    RollBack,
    Drop,
    /// Inserts a note that is already there, then drops the transaction.
    FailThenDrop,
}

/// Begins (waiting in line for the turn), inserts `n` and ends as told.
/// A commit that answers must be visible to the reads at once.
fn member(db: &Db, n: i64, end: End) -> JoinHandle<Result<(), String>> {
    let db = db.clone();
    tokio::spawn(async move {
        let mut tx = db.begin().await.map_err(|e| e.to_string())?;
        sqlx::query("INSERT INTO notes (n) VALUES ($1)")
            .bind(n)
            .execute(&mut *tx)
            .await
            .map_err(|e| e.to_string())?;
        match end {
            End::Commit => {
                tx.commit().await.map_err(|e| e.to_string())?;
                let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notes WHERE n = $1")
                    .bind(n)
                    .fetch_one(db.pool())
                    .await
                    .map_err(|e| e.to_string())?;
                assert_eq!(seen, 1, "note {n}: its commit answered before it was committed");
            }
            End::RollBack => tx.rollback().await.map_err(|e| e.to_string())?,
            End::Drop => drop(tx),
            End::FailThenDrop => {
                let again = sqlx::query("INSERT INTO notes (n) VALUES ($1)")
                    .bind(n)
                    .execute(&mut *tx)
                    .await;
                assert!(again.is_err(), "a second note {n} was taken");
                drop(tx);
            }
        }
        Ok(())
    })
}

/// Holds the writer's turn while `ends` line up behind it (each its own
/// task, numbered from 2), then commits note 1 and waits for them all.
async fn line_up(db: &Db, ends: &[End]) -> (Result<(), sqlx::Error>, Vec<Result<(), String>>) {
    let first = hold_turn_with_note(db, 1).await;
    let members: Vec<_> = ends.iter().zip(2..).map(|(end, n)| member(db, n, *end)).collect();
    // They wait in line for the turn the first holds.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(members.iter().all(|m| !m.is_finished()), "nobody waited");
    let committed = first.commit().await;
    let mut outcomes = Vec::new();
    for m in members {
        let outcome = tokio::time::timeout(Duration::from_secs(10), m)
            .await
            .expect("every member answers")
            .expect("task");
        outcomes.push(outcome);
    }
    (committed, outcomes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_waiting_for_the_turn_commit_together_and_each_answers_once_committed() {
    let Some(t) = notes_db().await else { return };
    let before = t.db.writer_turns().expect("a SQLite file's writer counts");
    let (first, members) = line_up(&t.db, &[End::Commit; 6]).await;
    first.expect("the first commits");
    for outcome in members {
        outcome.expect("every member commits");
    }
    assert_eq!(notes(&t.db).await, (1..=7).collect::<Vec<_>>());
    let after = t.db.writer_turns().expect("counted");
    assert_eq!(after.turns - before.turns, 7, "one turn each");
    assert!(
        after.commits - before.commits < 7,
        "seven transactions made {} commits",
        after.commits - before.commits
    );

    // Alone, a transaction commits by itself.
    commit_note(&t.db, 8).await;
    assert_eq!(t.db.writer_turns().expect("counted").commits, after.commits + 1);
    assert_eq!(notes(&t.db).await.last(), Some(&8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_rolls_back_fails_or_is_dropped_undoes_only_its_own_work() {
    let Some(t) = notes_db().await else { return };
    let ends = [
        End::Commit,       // 2
        End::RollBack,     // 3
        End::Commit,       // 4
        End::FailThenDrop, // 5
        End::Drop,         // 6
        End::Commit,       // 7
        End::Drop,         // 8, last: the group commits without it
    ];
    let (first, members) = line_up(&t.db, &ends).await;
    first.expect("the first commits");
    for (outcome, n) in members.into_iter().zip(2..) {
        outcome.unwrap_or_else(|e| panic!("member {n}: {e}"));
    }
    assert_eq!(notes(&t.db).await, vec![1, 2, 4, 7]);

    // The writer goes on as before.
    commit_note(&t.db, 9).await;
    assert_eq!(notes(&t.db).await, vec![1, 2, 4, 7, 9]);
}

/// A table whose rows must name a note, checked only at the commit: no
/// table of the app defers a constraint to the commit, so in practice a
/// commit fails only when the disk does; an orphan makes one fail here on
/// purpose ([`insert_orphan`]).
async fn create_orphans(db: &Db) {
    sqlx::query("CREATE TABLE orphans (parent BIGINT NOT NULL REFERENCES notes (n) DEFERRABLE INITIALLY DEFERRED)")
        .execute(db.writer())
        .await
        .expect("create");
}

/// Inserts a row naming no note: the transaction's commit will fail.
async fn insert_orphan(tx: &mut db::Tx) {
    sqlx::query("INSERT INTO orphans (parent) VALUES (404)")
        .execute(&mut **tx)
        .await
        .expect("checked only at the commit");
}

/// No table of the app defers a constraint to the commit, so in practice a
/// commit fails only when the disk does; a deferred foreign key makes one
/// fail here on purpose.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_whose_commit_fails_fails_every_member_and_keeps_nothing() {
    let Some(t) = notes_db().await else { return };
    create_orphans(&t.db).await;
    let first = hold_turn_with_note(&t.db, 1).await;
    let good = member(&t.db, 2, End::Commit);
    let db = t.db.clone();
    let bad = tokio::spawn(async move {
        let mut tx = db.begin().await.expect("begin");
        insert_orphan(&mut tx).await;
        tx.commit().await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        first.commit().await.is_err(),
        "the first's commit failed with the group's"
    );
    let good = tokio::time::timeout(Duration::from_secs(10), good)
        .await
        .expect("answers")
        .expect("task");
    assert!(good.is_err(), "a member's commit failed with the group's");
    let bad = tokio::time::timeout(Duration::from_secs(10), bad)
        .await
        .expect("answers")
        .expect("task");
    assert!(bad.is_err());
    assert!(notes(&t.db).await.is_empty(), "nothing of the group was kept");

    commit_note(&t.db, 3).await;
    assert_eq!(notes(&t.db).await, vec![3]);
}

/// Many writers at once, some giving up while they wait for the turn (a
/// member may hand its group to one of them): every commit that answered
/// is kept, nothing else is, and nobody waits for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_giving_up_in_line_lose_no_commit_and_stall_no_group() {
    use rand::Rng;
    let Some(t) = notes_db().await else { return };
    let mut writers = Vec::new();
    for w in 0..24i64 {
        let db = t.db.clone();
        writers.push(tokio::spawn(async move {
            let mut kept = Vec::new();
            for i in 0..25i64 {
                let n = w * 100 + i;
                let patience = Duration::from_micros(rand::thread_rng().gen_range(0..600));
                let Ok(tx) = tokio::time::timeout(patience, db.begin()).await else {
                    continue;
                };
                let mut tx = tx.expect("begin");
                sqlx::query("INSERT INTO notes (n) VALUES ($1)")
                    .bind(n)
                    .execute(&mut *tx)
                    .await
                    .expect("insert");
                tx.commit().await.expect("commit");
                kept.push(n);
            }
            kept
        }));
    }
    let mut kept = Vec::new();
    for w in writers {
        kept.extend(
            tokio::time::timeout(Duration::from_secs(30), w)
                .await
                .expect("a writer stalled")
                .expect("writer"),
        );
    }
    kept.sort_unstable();
    assert!(!kept.is_empty());
    assert_eq!(notes(&t.db).await, kept);
}

/// The worst case for a group: its only member stops waiting for the
/// commit (its caller dropped it) and the writer it handed the turn to
/// gives up before taking it. The group must still commit by itself, not
/// wait for the next write. One thread, so nothing runs in between.
#[tokio::test]
async fn a_group_whose_members_all_stopped_waiting_still_commits() {
    let Some(t) = notes_db().await else { return };
    let first = hold_turn_with_note(&t.db, 1).await;
    let db = t.db.clone();
    let in_line = tokio::spawn(async move { db.begin().await.map(drop) });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!in_line.is_finished(), "the second writer waits in line");
    {
        let commit = first.commit();
        tokio::pin!(commit);
        assert!(
            futures::poll!(&mut commit).is_pending(),
            "handed to the writer in line, the commit waits for the group's"
        );
    }
    in_line.abort();
    let _ = in_line.await;
    let started = std::time::Instant::now();
    while notes(&t.db).await.is_empty() {
        assert!(started.elapsed() < Duration::from_secs(5), "the group was left open");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(notes(&t.db).await, vec![1]);
}

/// A member's commit answers with its group's outcome, even when the
/// member after it holds the turn longer than the pool's timeout (here
/// 100 ms): waiting for the turn to commit the group itself must not time
/// out into an error for work that is then committed after all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_answers_its_groups_outcome_however_long_the_next_member_takes() {
    if testkit::backend() != Backend::Sqlite {
        return;
    }
    let (url, _dir) = testkit::fresh_url().await;
    let options = db::DbOptions {
        acquire_timeout_ms: 100,
        ..db::DbOptions::default()
    };
    let db = Db::connect(&url, &options).await.expect("connect");
    sqlx::query("CREATE TABLE notes (n BIGINT NOT NULL UNIQUE)")
        .execute(db.writer())
        .await
        .expect("create");
    let first = hold_turn_with_note(&db, 1).await;
    let slow = {
        let db = db.clone();
        tokio::spawn(async move {
            let mut tx = db.begin().await.expect("begin, in line");
            tokio::time::sleep(Duration::from_millis(400)).await;
            sqlx::query("INSERT INTO notes (n) VALUES (2)")
                .execute(&mut *tx)
                .await
                .expect("insert 2");
            tx.commit().await
        })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    first.commit().await.expect("the group's commit, not a timeout");
    slow.await.expect("task").expect("the slow member commits");
    assert_eq!(notes(&db).await, vec![1, 2]);
}

/// A member that reads inside the group and rolls back (a command that
/// decides it has nothing to do) read the earlier members' work, which is
/// real only once the group commits: its rollback answers with the
/// group's outcome, so a decision is never made on work that is then lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_read_the_groups_work_and_rolled_back_answers_once_the_group_has_committed() {
    let Some(t) = notes_db().await else { return };
    create_orphans(&t.db).await;
    // Each round: the first holds the turn with note `n`; a reader lines
    // up behind it, then a last member that commits the group — with an
    // orphan that fails the group's commit in the second round.
    for (n, group_fails) in [(1_i64, false), (2, true)] {
        let first = hold_turn_with_note(&t.db, n).await;
        let db = t.db.clone();
        let reader = tokio::spawn(async move {
            let mut tx = db.begin().await.expect("begin");
            let seen: Vec<i64> = sqlx::query_scalar("SELECT n FROM notes ORDER BY n")
                .fetch_all(&mut *tx)
                .await
                .expect("read");
            (seen, tx.rollback().await.map_err(|e| e.to_string()))
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let db = t.db.clone();
        let last = tokio::spawn(async move {
            let mut tx = db.begin().await.expect("begin");
            // Keeps the group open while the reader's rollback answers.
            tokio::time::sleep(Duration::from_millis(200)).await;
            if group_fails {
                insert_orphan(&mut tx).await;
            }
            tx.commit().await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let first = tokio::spawn(first.commit());
        let (seen, rolled_back) = tokio::time::timeout(Duration::from_secs(10), reader)
            .await
            .expect("the reader answers")
            .expect("task");
        assert!(
            seen.contains(&n),
            "round {n}: the reader saw the first's note in {seen:?}"
        );
        let last = last.await.expect("task");
        let first = first.await.expect("task");
        if group_fails {
            assert!(first.is_err() && last.is_err(), "round {n}: the group failed");
            assert!(
                rolled_back.is_err(),
                "round {n}: the reader's rollback answered Ok on a note that was never written"
            );
        } else {
            first.expect("the first commits");
            last.expect("the last commits");
            rolled_back.expect("the reader's rollback answers once the group committed");
        }
    }
    assert_eq!(notes(&t.db).await, vec![1], "the failed round kept nothing");
}
