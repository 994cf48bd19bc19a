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
async fn failed_logins_lock_the_account_for_that_client_only_growing_and_old_counts_are_forgotten() {
    use accounts::throttle::{check, clear, lock_ms, record_failure, FORGET_AFTER_MS, FREE_FAILURES};
    let t = testkit::fresh_db().await;
    let (guesser, owner) = ("203.0.113.9", "198.51.100.4");
    // A count from long ago, neither recent nor locked.
    sqlx::query(
        "INSERT INTO login_throttle (email, client, failures, last_failure, locked_until) \
         VALUES ('old@x.kr', $1, 3, $2, 0)",
    )
    .bind(guesser)
    .bind(db::now_ms() - 2 * FORGET_AFTER_MS)
    .execute(t.db.pool())
    .await
    .expect("insert");
    for _ in 0..FREE_FAILURES {
        assert_eq!(record_failure(&t.db, "Guess@X.kr", guesser).await.expect("record"), 0);
        assert_eq!(
            check(&t.db, "guess@x.kr", guesser).await.expect("check"),
            Ok(()),
            "typos cost nothing"
        );
    }
    let first = record_failure(&t.db, "guess@x.kr", guesser).await.expect("record");
    assert_eq!(first, 30);
    let locked = check(&t.db, "GUESS@x.kr", guesser).await.expect("check");
    assert!(
        matches!(locked, Err(seconds) if (29..=30).contains(&seconds)),
        "{locked:?}"
    );
    assert_eq!(
        check(&t.db, "guess@x.kr", owner).await.expect("check"),
        Ok(()),
        "the owner's own address is not locked out by a stranger"
    );
    let second = record_failure(&t.db, "guess@x.kr", guesser).await.expect("record");
    assert_eq!(
        i64::try_from(second).unwrap_or(0) * 1000,
        lock_ms(FREE_FAILURES + 2),
        "the wait doubles"
    );
    let old: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_throttle WHERE email = 'old@x.kr'")
        .fetch_one(t.db.pool())
        .await
        .expect("count");
    assert_eq!(old, 0, "forgotten counts are pruned");
    clear(&t.db, "guess@x.kr", owner).await.expect("clear");
    assert!(
        check(&t.db, "guess@x.kr", guesser).await.expect("check").is_err(),
        "another client's success clears nothing"
    );
    clear(&t.db, "guess@x.kr", guesser).await.expect("clear");
    assert_eq!(check(&t.db, "guess@x.kr", guesser).await.expect("check"), Ok(()));
}
