//! What every server function does on the server before and after its one
//! context call: who is asking, parsing ids and numbers at the boundary, and
//! waiting (briefly) for the read models to show a command's effect.
//! Server-only (`ssr`); the screens' server functions call these.

use crate::error::{internal, respond, AppError};
use crate::state::AppState;
use accounts::auth::AuthSession;
use accounts::authz::{authorize, Action};
use ordering::Caller;

/// The read models the pages read (order views, notifications): a command
/// waits until both show it, and the live feed forwards an event once they do.
pub const READ_MODELS: [&str; 2] = [views::CONSUMER, notification::CONSUMER];

/// The consumers that record an order's consequences as events of its own:
/// the delivery job opening when the store accepts, the order following its
/// job when the rider picks it up and delivers. A command's effect is only
/// whole once they have heard it (see [`settle`]).
pub const CONSEQUENCES: [&str; 2] = [delivery::CONSUMER, ordering::follow::CONSUMER];

/// How long a command waits for what it caused to show, in milliseconds.
const SETTLE_MS: u64 = 3_000;

/// Whether every consumer in `names` has applied event `seq` by `deadline`:
/// told by this replica's runner when it runs the consumer (woken by its
/// commit), else asked of the database every 10 ms.
async fn applied(state: &AppState, names: &[&str], seq: i64, deadline: std::time::Instant) -> bool {
    for name in names {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let here = state.consumer_controls.iter().find(|c| c.name() == *name);
        let told = match here {
            Some(control) => control.wait_for(seq, left).await,
            None => None,
        };
        let done = match told {
            Some(done) => done,
            None => {
                let left_ms = u64::try_from(left.as_millis()).unwrap_or(0);
                views::wait_for(&state.db, &[name], seq, left_ms).await
            }
        };
        if !done {
            return false;
        }
    }
    true
}

/// The latest event of `order` after `story` (or `story`): from the
/// replica's memory of the log when it runs the consequences itself (their
/// commits are then known here), else from the database.
async fn last_of_order(state: &AppState, order: domain::OrderId, story: i64) -> i64 {
    let local = CONSEQUENCES.iter().all(|name| {
        state
            .consumer_controls
            .iter()
            .any(|c| c.name() == *name && c.local_checkpoint().is_some())
    });
    let latest = if local {
        state.log_tail.last_of_order(order.get(), story).await
    } else {
        eventlog::last_of_order(&state.db, order.get()).await
    };
    latest.unwrap_or(story).max(story)
}

/// The login session of this request.
pub async fn auth_session() -> Result<AuthSession, AppError> {
    leptos_axum::extract::<AuthSession>()
        .await
        .map_err(|e| respond(internal(e)))
}

/// The client's address as the throttles count it
/// (`accounts::throttle::client_key`): the one the server's edge found
/// behind its trusted proxies ([`ClientAddr`]), else the peer's.
pub async fn client() -> String {
    use axum::extract::ConnectInfo;
    if let Ok(axum::Extension(ClientAddr(ip))) = leptos_axum::extract::<axum::Extension<ClientAddr>>().await {
        return accounts::throttle::client_key(ip);
    }
    match leptos_axum::extract::<ConnectInfo<std::net::SocketAddr>>().await {
        Ok(ConnectInfo(peer)) => accounts::throttle::client_key(peer.ip()),
        Err(_) => "unknown".into(),
    }
}

/// The client's address behind the trusted proxies
/// (`accounts::throttle::client_ip`), put in each request's extensions by
/// the server's edge (issue 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Refuses the login or sign-up attempt when this client tried too often
/// (per-address limit, `APP_LOGIN_ATTEMPTS_PER_MINUTE`).
///
/// Errors: 429 with the seconds to wait.
pub fn limit_attempts(state: &AppState, client: &str) -> Result<(), AppError> {
    limit(&state.login_limiter, client)
}

/// Refuses a checkout when this client placed too many lately
/// (per-address limit, `APP_CHECKOUTS_PER_MINUTE`; issue 14).
///
/// Errors: 429 with the seconds to wait.
pub fn limit_checkouts(state: &AppState, client: &str) -> Result<(), AppError> {
    limit(&state.checkout_limiter, client)
}

fn limit(limiter: &crate::state::ClientLimiter, client: &str) -> Result<(), AppError> {
    use governor::clock::{Clock, DefaultClock};
    limiter.check_key(&client.to_string()).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        respond(AppError::TooManyRequests {
            retry_after_secs: wait.as_secs().max(1),
        })
    })
}

/// The session with this id, of `user`, has ended: its live sockets close,
/// on every replica (`accounts::sessions`). A failure is logged; the logout
/// or login it follows stands.
pub async fn session_ended(state: &AppState, session_id: &str, user: domain::UserId) {
    let key = accounts::sessions::session_key(session_id);
    if let Err(e) = accounts::sessions::ended(&state.db, &key, user).await {
        tracing::warn!(error = %e, "cannot record the end of a session; its sockets stay open");
    }
}

/// The logged-in user allowed to do `action`, as the contexts' caller.
///
/// Errors: 401 when logged out; 403 for another role; 404 for someone
/// else's store.
pub async fn caller(action: Action) -> Result<(Caller, AppState), AppError> {
    let state = crate::state::app_state()?;
    let auth = auth_session().await?;
    let user = authorize(&state.db, auth.user.as_ref().map(|u| &u.user), action).await?;
    let caller = Caller {
        id: user.id,
        role: user.role,
        vehicle: user.vehicle,
        name: user.display_name.clone(),
    };
    Ok((caller, state))
}

/// The logged-in owner of the store with id `store` (from a URL or a form).
/// Who is asking is settled before the id is even read, so a stranger gets
/// 401/403 whatever they send.
///
/// Errors: 401; 403 for other roles; 404 for a store that does not exist or
/// is another owner's (the same answer, `not_found`).
pub async fn owner_of(
    store: &str,
    not_found: domain::problem::Thing,
) -> Result<(Caller, AppState, domain::StoreId), AppError> {
    let state = crate::state::app_state()?;
    let auth = auth_session().await?;
    let user = auth.user.as_ref().map(|u| &u.user);
    let user = authorize(&state.db, user, Action::ViewOwnerHome).await?;
    let store: domain::StoreId = store
        .trim()
        .parse()
        .map_err(|_| respond(AppError::no_such(not_found)))?;
    authorize(&state.db, Some(user), Action::ManageStore(store)).await?;
    let caller = Caller {
        id: user.id,
        role: user.role,
        vehicle: user.vehicle,
        name: user.display_name.clone(),
    };
    Ok((caller, state, store))
}

/// The logged-in rider, as the delivery context's rider.
///
/// Errors: as [`caller`] for [`Action::ViewRiderHome`].
pub async fn rider() -> Result<(delivery::Rider, Caller, AppState), AppError> {
    let (caller, state) = self::caller(Action::ViewRiderHome).await?;
    let rider = delivery::Rider::of(&caller.viewer())
        .ok_or_else(|| respond(AppError::Forbidden(domain::problem::Problem::NoVehicle)))?;
    Ok((rider, caller, state))
}

/// Parses an id from a form or URL; "there is no such `what`" (404) when
/// it is not a number.
pub fn id<T: std::str::FromStr>(raw: &str, what: domain::problem::Thing) -> Result<T, AppError> {
    raw.trim().parse().map_err(|_| respond(AppError::no_such(what)))
}

/// Parses a whole number from the form field `field`; a field error when
/// it is not one.
pub fn number(raw: &str, field: &str) -> Result<i64, AppError> {
    raw.trim().parse().map_err(|_| {
        respond(AppError::Invalid(vec![domain::FieldError::new(
            field,
            domain::problem::Problem::WholeNumber,
        )]))
    })
}

/// Parses an optional amount of won from the form field `field` (a
/// repair's estimate or final amount): `None` when empty; a field error
/// when it is not a whole number from 0 to
/// [`domain::limits::MAX_REPAIR_WON`] (the state machine says whether the
/// store may send one, and refuses 0).
pub fn amount(raw: Option<&str>, field: &str) -> Result<Option<domain::Money>, AppError> {
    use domain::problem::Problem;
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let out_of_range = || {
        respond(AppError::Invalid(vec![domain::FieldError::new(
            field,
            Problem::AmountRange {
                max: domain::limits::MAX_REPAIR_WON,
            },
        )]))
    };
    let won = number(raw, field)?;
    if !(0..=domain::limits::MAX_REPAIR_WON).contains(&won) {
        return Err(out_of_range());
    }
    domain::Money::from_won(won).map(Some).map_err(|_| out_of_range())
}

/// Runs `command` on the order with id `order` for the user allowed to do
/// `action`, then waits for the read models ([`settle`]). Runs inside an
/// `order` span carrying `order_id`, so the command's log lines join the
/// order's story (N5).
pub async fn order_command(action: Action, order: &str, command: domain::OrderCommand) -> Result<(), AppError> {
    use tracing::Instrument;
    let (caller, state) = self::caller(action).await?;
    let order: domain::OrderId = id(order, domain::problem::Thing::Order)?;
    let span = tracing::info_span!("order", order_id = order.get(), user_id = caller.id.get());
    async move {
        let seq = ordering::lifecycle::act(&state.db, order, &command, &caller).await?;
        tracing::info!(seq, command = ?command, "order command applied");
        settle(&state, order, seq).await;
        Ok(())
    }
    .instrument(span)
    .await
}

/// After a command on `order` that recorded event `seq` (whose commit woke
/// the consumers, `db::Db::log_head`): wait (at most [`SETTLE_MS`]) until the read models show it
/// and what it caused — the delivery job it opened for riders, the order
/// following its job — so the next page load, anyone's, reads it. No wait
/// while one of them is stopped or failing on this replica (N1: commands
/// stay fast while a consumer is down).
pub async fn settle(state: &AppState, order: domain::OrderId, seq: i64) {
    let down = state.consumer_controls.iter().any(|c| {
        (READ_MODELS.contains(&c.name()) || CONSEQUENCES.contains(&c.name()))
            && (c.mode() != eventlog::ConsumerMode::Running || c.failing_in_a_row() > 0)
    });
    if down {
        return;
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(SETTLE_MS);
    // Until the consequences have heard the order's whole story so far (a
    // consequence may have consequences), then until the pages show it.
    let mut story = seq;
    let shown = loop {
        if !applied(state, &CONSEQUENCES, story, deadline).await {
            break false;
        }
        let latest = last_of_order(state, order, story).await;
        if latest <= story {
            break applied(state, &READ_MODELS, story, deadline).await;
        }
        story = latest;
    };
    if !shown {
        tracing::warn!(
            seq,
            story,
            "read models are behind; the page may show the previous state for a moment"
        );
    }
}
