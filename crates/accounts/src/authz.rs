//! The one place that answers "may this user do this to that" (issue 3,
//! "Authorization"). Every server function asks here before it reads or
//! changes anything; later issues add actions, not new places.

use crate::User;
use db::Db;
use domain::{Role, StoreId};

/// Why a request was refused. Each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// Nobody is logged in (401; pages redirect to `/login`).
    #[error("please log in first")]
    NotLoggedIn,
    /// Logged in with a role that may not do this (403).
    #[error("this page is for {needed} accounts; you are logged in as {actual}")]
    WrongRole {
        /// The role the action needs.
        needed: Role,
        /// The caller's role.
        actual: Role,
    },
    /// The resource does not exist or is someone else's: the same answer for
    /// both (404), so ids cannot be probed.
    #[error("not found")]
    NotYours,
}

/// Something a user may ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the store owner's home (`/owner`) and the list of their own stores.
    ViewOwnerHome,
    /// See one store through its owner's eyes.
    ManageStore(StoreId),
    /// See the rider's home (`/rider`), the job board, and act on jobs.
    ViewRiderHome,
    /// Shop as a customer: cart, checkout, order history, cancel, review.
    Shop,
    /// See one's own notification centre (any role).
    ViewNotifications,
    /// Look at or act on one order. Who may is decided with the order in
    /// hand (its customer, its store's owner, its rider, an admin) by the
    /// ordering context, which answers "no such order" to everyone else.
    UseOrders,
    /// Watch and steer the running system (`/admin`): the payment breaker,
    /// the sandbox gateway's injected faults (issue 6). Admins only.
    Operate,
}

/// Decides whether `user` may do `action`.
///
/// Errors: [`Denied::NotLoggedIn`], [`Denied::WrongRole`], [`Denied::NotYours`];
/// `Err(Err(e))` when the database could not answer.
pub async fn authorize<'u>(db: &Db, user: Option<&'u User>, action: Action) -> Result<&'u User, AuthzError> {
    let user = user.ok_or(Denied::NotLoggedIn)?;
    match action {
        Action::ViewOwnerHome => require_role(user, Role::Owner)?,
        Action::ViewRiderHome => require_role(user, Role::Rider)?,
        Action::Shop => require_role(user, Role::Customer)?,
        Action::Operate => require_role(user, Role::Admin)?,
        Action::ViewNotifications | Action::UseOrders => {}
        Action::ManageStore(store) => {
            require_role(user, Role::Owner)?;
            if catalog::owner_of(db, store).await? != Some(user.id) {
                return Err(Denied::NotYours.into());
            }
        }
    }
    Ok(user)
}

fn require_role(user: &User, role: Role) -> Result<(), Denied> {
    if user.role == role {
        Ok(())
    } else {
        Err(Denied::WrongRole {
            needed: role,
            actual: user.role,
        })
    }
}

/// A refusal, or a database failure while deciding.
#[derive(Debug, thiserror::Error)]
pub enum AuthzError {
    /// The answer is no.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}
