//! The end of a login session, told to every replica (issue 15, item 6).
//!
//! A WebSocket is opened with the session's cookie and lives on after that
//! request; when the session ends — logout, or a login that replaces it —
//! its sockets must stop receiving the user's events, on this replica and on
//! every other. The ending is appended to the event log, which every
//! replica's live hub already tails in commit order: a socket hears
//! `SessionEnded` before any event committed after the logout, and closes.
//! (Expiry is the other way a session ends; each socket checks the session
//! store when its session's expiry date comes.)
//!
//! Outside the session store a session is known by its [`session_key`]: the
//! id itself is the cookie's secret and never reaches the log.

use db::Db;
use domain::event::SessionEvent;
use domain::UserId;
use eventlog::EventLogError;
use sha2::{Digest, Sha256};

/// The key a session is known by outside the session store: the SHA-256 of
/// its id's text form, in lower-case hex (64 characters).
pub fn session_key(session_id: &str) -> String {
    Sha256::digest(session_id.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why the end of a session could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum SessionEndError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] db::DbError),
    /// The event could not be appended.
    #[error(transparent)]
    Log(#[from] EventLogError),
}

/// Records that the session with key `key` of `user` has ended: appends
/// `SessionEnded` to the event log and returns its sequence number.
///
/// Errors: the database failed (the caller logs it; the logout itself stands).
pub async fn ended(db: &Db, key: &str, user: UserId) -> Result<i64, SessionEndError> {
    let mut tx = db.begin().await?;
    let event = SessionEvent::SessionEnded {
        session: key.to_string(),
        user: Some(user),
    };
    let seq = eventlog::append_event(&mut tx, event).await?;
    tx.commit().await.map_err(db::DbError::Query)?;
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_key_is_a_hash_not_the_id() {
        let key = session_key("z6hLbGq4X1W8nq0");
        assert_eq!(key.len(), 64);
        assert!(!key.contains("z6hLbGq4X1W8nq0"));
        assert_eq!(key, session_key("z6hLbGq4X1W8nq0"), "stable");
        assert_ne!(key, session_key("z6hLbGq4X1W8nq1"));
    }
}
