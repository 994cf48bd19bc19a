//! Authentication for axum-login: who is asking, from an email and a password
//! or from the session.

use crate::{find_by_email, find_by_id, hash_password, verify_password, PasswordHash, User};
use db::Db;
use domain::UserId;
use serde::Deserialize;
use tokio::sync::OnceCell;

/// The logged-in user as the session layer keeps it. The password hash is
/// the session's auth hash, so changing the password ends every session.
#[derive(Clone)]
pub struct SessionUser {
    /// The user.
    pub user: User,
    hash: Vec<u8>,
}

impl std::fmt::Debug for SessionUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl SessionUser {
    fn new(user: User, hash: &PasswordHash) -> SessionUser {
        SessionUser {
            user,
            hash: hash.0.as_bytes().to_vec(),
        }
    }
}

impl axum_login::AuthUser for SessionUser {
    type Id = i64;

    fn id(&self) -> i64 {
        self.user.id.get()
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.hash
    }
}

/// What a login form sends.
#[derive(Clone, Deserialize)]
pub struct Credentials {
    /// The email as typed.
    pub email: String,
    /// The password as typed.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// The axum-login backend over the accounts table.
#[derive(Clone, Debug)]
pub struct Backend {
    db: Db,
}

impl Backend {
    /// A backend reading users from `db`.
    pub fn new(db: Db) -> Backend {
        Backend { db }
    }
}

/// A hash of a password nobody knows, verified against when the email is
/// unknown so that a wrong email takes as long as a wrong password.
static DUMMY_HASH: OnceCell<PasswordHash> = OnceCell::const_new();

async fn dummy_hash() -> Result<&'static PasswordHash, crate::AccountError> {
    DUMMY_HASH
        .get_or_try_init(|| hash_password("no account has this password, ever"))
        .await
}

impl axum_login::AuthnBackend for Backend {
    type User = SessionUser;
    type Credentials = Credentials;
    type Error = crate::AccountError;

    /// `Ok(None)` for a wrong email or a wrong password, indistinguishably.
    async fn authenticate(&self, creds: Credentials) -> Result<Option<SessionUser>, Self::Error> {
        match find_by_email(&self.db, &creds.email).await? {
            Some((user, hash)) => Ok(verify_password(&creds.password, &hash)
                .await
                .then(|| SessionUser::new(user, &hash))),
            None => {
                let _ = verify_password(&creds.password, dummy_hash().await?).await;
                Ok(None)
            }
        }
    }

    async fn get_user(&self, id: &i64) -> Result<Option<SessionUser>, Self::Error> {
        Ok(find_by_id(&self.db, UserId(*id))
            .await?
            .map(|(user, hash)| SessionUser::new(user, &hash)))
    }
}

/// The session of the current request.
pub type AuthSession = axum_login::AuthSession<Backend>;
