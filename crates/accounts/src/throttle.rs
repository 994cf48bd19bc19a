//! The per-account limit on failed logins (issue 3, "Abuse and bad input").
//!
//! Kept in the database so it holds across replicas: after
//! [`MAX_FAILURES`] failures within [`WINDOW_MS`], the email is locked for
//! [`LOCK_MS`]. A success clears the count. Unknown emails are counted the same
//! way, so a lock says nothing about whether an account exists.

use db::Db;

/// Failed attempts allowed within the window.
pub const MAX_FAILURES: i64 = 5;
/// The window in which failures count, in milliseconds (15 minutes).
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// How long an account stays locked, in milliseconds (15 minutes).
pub const LOCK_MS: i64 = 15 * 60 * 1000;

/// `Err(seconds)` while `email` is locked: how long until it may try again.
pub async fn check(db: &Db, email: &str) -> Result<Result<(), u64>, sqlx::Error> {
    let locked_until: Option<i64> = sqlx::query_scalar("SELECT locked_until FROM login_failures WHERE email = $1")
        .bind(key(email))
        .fetch_optional(db.pool())
        .await?;
    let now = db::now_ms();
    Ok(match locked_until {
        Some(until) if until > now => Err(u64::try_from((until - now + 999) / 1000).unwrap_or(1)),
        _ => Ok(()),
    })
}

/// Counts one failed attempt for `email`, locking it at the limit.
pub async fn record_failure(db: &Db, email: &str) -> Result<(), sqlx::Error> {
    let now = db::now_ms();
    let mut tx = db.begin().await.map_err(into_sqlx)?;
    let row: Option<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT failures, window_start FROM login_failures WHERE email = $1{}",
        db.for_update()
    ))
    .bind(key(email))
    .fetch_optional(&mut *tx)
    .await?;
    let (failures, window_start) = match row {
        Some((failures, start)) if now - start < WINDOW_MS => (failures + 1, start),
        _ => (1, now),
    };
    let locked_until = if failures >= MAX_FAILURES { now + LOCK_MS } else { 0 };
    sqlx::query(
        "INSERT INTO login_failures (email, failures, window_start, locked_until) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email) DO UPDATE SET failures = $2, window_start = $3, locked_until = $4",
    )
    .bind(key(email))
    .bind(if failures >= MAX_FAILURES { 0 } else { failures })
    .bind(window_start)
    .bind(locked_until)
    .execute(&mut *tx)
    .await?;
    // Forget counts whose window and lock are both over, so emails typed once
    // (or invented by a guesser) do not pile up for ever.
    sqlx::query("DELETE FROM login_failures WHERE window_start < $1 AND locked_until < $2")
        .bind(now - WINDOW_MS)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Forgets the failures of `email` after a successful login.
pub async fn clear(db: &Db, email: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE email = $1")
        .bind(key(email))
        .execute(db.pool())
        .await?;
    Ok(())
}

fn key(email: &str) -> String {
    email.trim().to_lowercase()
}

fn into_sqlx(e: db::DbError) -> sqlx::Error {
    match e {
        db::DbError::Query(e) => e,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}
