//! The accounts context: users with one role each, rider vehicles, and
//! password hashes.
//!
//! Passwords are hashed with argon2id at the OWASP minimum (19 MiB of memory,
//! 2 iterations, 1 lane) on a blocking thread so the async runtime never
//! stalls. [`PasswordHash`] deliberately implements neither `Serialize` nor
//! `Display`: a hash can reach the database and nowhere else.

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use db::{Db, Tx};
use domain::{DeliveryType, Role, UserId};
use serde::{Deserialize, Serialize};
use sqlx::Row;

pub mod auth;
pub mod authz;
pub mod sessions;
pub mod signup;
pub mod throttle;

/// Shortest accepted password, in characters (no composition rules; issue 3).
pub const PASSWORD_MIN_CHARS: usize = domain::limits::PASSWORD_MIN_CHARS;
/// Longest accepted password, in characters.
pub const PASSWORD_MAX_CHARS: usize = domain::limits::PASSWORD_MAX_CHARS;

/// What can go wrong in the accounts context.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// A transaction could not be started.
    #[error(transparent)]
    Begin(#[from] db::DbError),
    /// Hashing failed (out of memory, or the blocking pool is gone).
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// The email is taken.
    #[error("an account with this email already exists")]
    DuplicateEmail,
    /// The password is too short or too long.
    #[error("the password must be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters long")]
    PasswordLength,
}

/// An argon2id hash in PHC string form. Not serialisable, not printable.
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

fn hasher() -> Result<Argon2<'static>, AccountError> {
    // OWASP password storage cheat sheet: m=19456 KiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| AccountError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with a fresh salt on a blocking thread.
///
/// Errors: [`AccountError::PasswordLength`] outside 8..=128 characters,
/// [`AccountError::Hashing`].
pub async fn hash_password(password: &str) -> Result<PasswordHash, AccountError> {
    let length = password.chars().count();
    if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&length) {
        return Err(AccountError::PasswordLength);
    }
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| AccountError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| AccountError::Hashing(e.to_string()))?
}

/// Whether `password` matches `hash`, checked on a blocking thread. A malformed
/// hash never matches.
pub async fn verify_password(password: &str, hash: &PasswordHash) -> bool {
    use argon2::password_hash::{PasswordHash as Phc, PasswordVerifier};
    let password = password.to_owned();
    let hash = hash.0.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = Phc::new(&hash) else {
            return false;
        };
        hasher()
            .map(|h| h.verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// A user as the rest of the platform sees them (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// Login email, lowercase.
    pub email: String,
    /// Name shown on screens.
    pub display_name: String,
    /// Customer, owner, rider or admin.
    pub role: Role,
    /// The rider's vehicle; `None` for other roles.
    pub vehicle: Option<DeliveryType>,
    /// The language they chose, `ko` or `en` (issue 12); `None` until then.
    pub language: Option<String>,
}

/// A user to create.
#[derive(Debug)]
pub struct NewUser<'a> {
    /// Login email (stored lowercase).
    pub email: &'a str,
    /// Name shown on screens.
    pub display_name: &'a str,
    /// The role.
    pub role: Role,
    /// Required for riders, ignored for everyone else.
    pub vehicle: Option<DeliveryType>,
    /// The already hashed password.
    pub password_hash: &'a PasswordHash,
}

/// Creates a user inside `tx` and returns the id.
///
/// Errors: [`AccountError::DuplicateEmail`] when the email is taken.
pub async fn create_user(tx: &mut Tx, user: NewUser<'_>) -> Result<UserId, AccountError> {
    let vehicle = if user.role == Role::Rider {
        user.vehicle.map(|v| v.as_str())
    } else {
        None
    };
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, role, vehicle, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(user.email.trim().to_lowercase())
    .bind(user.display_name)
    .bind(user.role.as_str())
    .bind(vehicle)
    .bind(&user.password_hash.0)
    .bind(db::now_ms())
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            AccountError::DuplicateEmail
        } else {
            AccountError::Db(e)
        }
    })?;
    Ok(UserId(id))
}

const USER_COLUMNS: &str = "id, email, display_name, role, vehicle, password_hash, language";

/// The user with `email` (any case) and their password hash.
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<(User, PasswordHash)>, AccountError> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
        .bind(email.trim().to_lowercase())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

/// The user with `id` and their password hash.
pub async fn find_by_id(db: &Db, id: UserId) -> Result<Option<(User, PasswordHash)>, AccountError> {
    let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
        .bind(id.get())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(user_from_row).transpose()
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<(User, PasswordHash), AccountError> {
    let vehicle: Option<String> = row.try_get("vehicle")?;
    let vehicle = match vehicle {
        Some(v) => Some(
            v.parse::<DeliveryType>()
                .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        ),
        None => None,
    };
    let user = User {
        id: UserId(row.try_get("id")?),
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: db::parsed(row, "role")?,
        vehicle,
        language: row.try_get("language")?,
    };
    Ok((user, PasswordHash(row.try_get("password_hash")?)))
}

/// Remembers the language `user` chose: `ko` or `en` (issue 12).
///
/// Errors: [`AccountError::Db`]; a language other than those two is
/// refused by the table's check (the caller parses it first).
pub async fn set_language(db: &Db, user: UserId, language: &str) -> Result<(), AccountError> {
    sqlx::query("UPDATE users SET language = $2 WHERE id = $1")
        .bind(user.get())
        .bind(language)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// How many accounts exist.
pub async fn count(db: &Db) -> Result<i64, AccountError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db.pool())
        .await?)
}
