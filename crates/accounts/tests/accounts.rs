//! Accounts against a real database (`TEST_DATABASE=sqlite|postgres`).

// Tests stop at the first broken expectation, with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use accounts::{create_user, find_by_email, hash_password, verify_password, AccountError, NewUser};
use domain::{DeliveryType, Role};

#[tokio::test]
async fn passwords_are_argon2id_and_verify_only_with_the_right_password() {
    let hash = hash_password("correct horse battery").await.expect("hash");
    assert!(format!("{hash:?}").contains(".."), "Debug never shows the hash");
    assert!(verify_password("correct horse battery", &hash).await);
    assert!(!verify_password("correct horse battery!", &hash).await);
}

#[tokio::test]
async fn passwords_outside_8_to_128_characters_are_refused() {
    assert!(matches!(
        hash_password("short").await,
        Err(AccountError::PasswordLength)
    ));
    assert!(matches!(
        hash_password(&"x".repeat(129)).await,
        Err(AccountError::PasswordLength)
    ));
    // Counted in characters: eight Hangul syllables are enough.
    assert!(hash_password("가나다라마바사아").await.is_ok());
}

#[tokio::test]
async fn users_are_found_by_email_in_any_case_and_emails_are_unique() {
    let t = testkit::fresh_db().await;
    let hash = hash_password("password123").await.expect("hash");
    let rider = |email| NewUser {
        email,
        display_name: "라이더",
        role: Role::Rider,
        vehicle: Some(DeliveryType::Bicycle),
        password_hash: &hash,
    };
    let mut tx = t.db.begin().await.expect("begin");
    create_user(&mut tx, rider("Rider@Example.kr")).await.expect("create");
    tx.commit().await.expect("commit");

    let mut tx = t.db.begin().await.expect("begin");
    let duplicate = create_user(&mut tx, rider("rider@example.KR")).await;
    assert!(matches!(duplicate, Err(AccountError::DuplicateEmail)), "{duplicate:?}");
    drop(tx);

    let (user, stored) = find_by_email(&t.db, "  RIDER@example.KR ")
        .await
        .expect("find")
        .expect("exists");
    assert_eq!(user.role, Role::Rider);
    assert_eq!(user.vehicle, Some(DeliveryType::Bicycle));
    assert_eq!(user.email, "rider@example.kr");
    assert!(verify_password("password123", &stored).await);
    assert_eq!(accounts::count(&t.db).await.expect("count"), 1);
}

#[tokio::test]
async fn failed_login_counts_lock_at_the_limit_and_expired_ones_are_forgotten() {
    use accounts::throttle::{check, clear, record_failure, MAX_FAILURES, WINDOW_MS};
    let t = testkit::fresh_db().await;
    // A count from long ago, neither in its window nor locked.
    sqlx::query(
        "INSERT INTO login_failures (email, failures, window_start, locked_until) VALUES ('old@x.kr', 3, $1, 0)",
    )
    .bind(db::now_ms() - 2 * WINDOW_MS)
    .execute(t.db.pool())
    .await
    .expect("insert");
    for _ in 0..MAX_FAILURES - 1 {
        record_failure(&t.db, "Guess@X.kr").await.expect("record");
        assert_eq!(
            check(&t.db, "guess@x.kr").await.expect("check"),
            Ok(()),
            "not locked below the limit"
        );
    }
    record_failure(&t.db, "guess@x.kr").await.expect("record");
    let locked = check(&t.db, "GUESS@x.kr").await.expect("check");
    assert!(matches!(locked, Err(seconds) if seconds > 800), "{locked:?}");
    let old: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE email = 'old@x.kr'")
        .fetch_one(t.db.pool())
        .await
        .expect("count");
    assert_eq!(old, 0, "expired counts are pruned");
    clear(&t.db, "guess@x.kr").await.expect("clear");
    assert_eq!(check(&t.db, "guess@x.kr").await.expect("check"), Ok(()));
}
