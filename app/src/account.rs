//! Accounts in the browser: sign-up, login, logout, the account menu, and the
//! role homes (`/owner`, `/rider`) that only their role may open.

// The sign-up server function takes the form's fields as arguments, and the
// client stub the macro generates for it repeats them.
#![allow(clippy::too_many_arguments)]

use crate::error::{AppError, ErrorPage};
use domain::catalog::StoreSummary;
use domain::{DeliveryType, Role, StoreKind};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// The logged-in user as the browser sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSummary {
    /// Name shown in the account menu.
    pub display_name: String,
    /// Email.
    pub email: String,
    /// Role.
    pub role: Role,
    /// A rider's vehicle.
    pub vehicle: Option<DeliveryType>,
}

/// Where each role lands after logging in (issue 3).
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Owner => "/owner",
        Role::Rider => "/rider",
        Role::Customer | Role::Admin => "/",
    }
}

/// A `next` target that stays on this site: a path, never `//host` or a URL.
#[cfg(feature = "ssr")]
fn local_path(next: Option<&str>) -> Option<String> {
    let next = next?.trim();
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') && next.len() <= 200)
        .then(|| next.to_string())
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::AccountSummary;
    use crate::error::{internal, respond, AppError};
    use accounts::auth::AuthSession;

    pub async fn auth_session() -> Result<AuthSession, AppError> {
        leptos_axum::extract::<AuthSession>()
            .await
            .map_err(|e| respond(internal(e)))
    }

    pub fn current(user: &accounts::User) -> AccountSummary {
        AccountSummary {
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            role: user.role,
            vehicle: user.vehicle,
        }
    }

    /// Refuses the attempt when this client IP tried too often (per-IP limit).
    pub async fn limit_attempts(state: &crate::state::AppState) -> Result<(), AppError> {
        use axum::extract::ConnectInfo;
        use governor::clock::{Clock, DefaultClock};
        let Ok(ConnectInfo(peer)) = leptos_axum::extract::<ConnectInfo<std::net::SocketAddr>>().await else {
            return Ok(());
        };
        state.login_limiter.check_key(&peer.ip()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            respond(AppError::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
            })
        })
    }
}

/// The logged-in user, or `None`.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<AccountSummary>, AppError> {
    let auth = ssr::auth_session().await?;
    Ok(auth.user.as_ref().map(|u| ssr::current(&u.user)))
}

/// Logs in and redirects to `next` (a local path) or the role's home.
///
/// Errors: [`AppError::BadCredentials`] for a wrong email or password (the
/// same message and about the same time for both), [`AppError::TooManyRequests`]
/// after too many attempts from this IP or on this account.
#[server(endpoint = "login")]
pub async fn login(
    /// The email as typed.
    email: String,
    /// The password as typed.
    password: String,
    /// Where to go afterwards (a path on this site).
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::error::{internal, respond};
    let state = crate::state::app_state()?;
    ssr::limit_attempts(&state).await?;
    if let Err(retry_after_secs) = accounts::throttle::check(&state.db, &email).await.map_err(internal)? {
        return Err(respond(AppError::TooManyRequests { retry_after_secs }));
    }
    let mut auth = ssr::auth_session().await?;
    let credentials = accounts::auth::Credentials {
        email: email.clone(),
        password,
    };
    match auth.authenticate(credentials).await.map_err(|e| respond(internal(e)))? {
        Some(user) => {
            // A new session id at every login, also when switching accounts
            // (axum-login only cycles it for an anonymous session): no fixation.
            auth.session.cycle_id().await.map_err(|e| respond(internal(e)))?;
            auth.login(&user).await.map_err(|e| respond(internal(e)))?;
            accounts::throttle::clear(&state.db, &email).await.map_err(internal)?;
            tracing::info!(user_id = user.user.id.get(), "logged in");
            let target = local_path(next.as_deref()).unwrap_or_else(|| home_of(user.user.role).to_string());
            leptos_axum::redirect(&target);
            Ok(())
        }
        None => {
            accounts::throttle::record_failure(&state.db, &email)
                .await
                .map_err(internal)?;
            Err(respond(AppError::BadCredentials))
        }
    }
}

/// Logs out: the session is destroyed, then home.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::error::{internal, respond};
    let mut auth = ssr::auth_session().await?;
    auth.logout().await.map_err(|e| respond(internal(e)))?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Creates an account, logs it in and redirects to the role's home.
///
/// Errors: [`AppError::Invalid`] with a message per field (nothing is created),
/// [`AppError::TooManyRequests`].
#[server(endpoint = "signup")]
pub async fn signup(
    /// Login email.
    email: String,
    /// Name shown to stores and riders.
    display_name: String,
    /// 8 to 128 characters.
    password: String,
    /// `customer`, `owner` or `rider`.
    role: String,
    /// Riders: the vehicle.
    vehicle: Option<String>,
    /// Owners: the first store's name.
    store_name: Option<String>,
    /// Owners: the first store's kind.
    store_kind: Option<String>,
    /// Owners: the first store's address.
    store_address: Option<String>,
) -> Result<(), AppError> {
    use crate::error::{internal, respond};
    use accounts::signup::{sign_up, SignupError, SignupForm};
    use axum_login::AuthnBackend;
    let state = crate::state::app_state()?;
    ssr::limit_attempts(&state).await?;
    let form = SignupForm {
        email,
        display_name,
        password,
        role,
        vehicle,
        store_name,
        store_kind,
        store_address,
    };
    let user = sign_up(&state.db, &form).await.map_err(|e| match e {
        SignupError::Invalid(fields) => respond(AppError::Invalid(fields)),
        SignupError::Account(e) => respond(internal(e)),
    })?;
    let mut auth = ssr::auth_session().await?;
    let session_user = auth
        .backend
        .get_user(&user.id.get())
        .await
        .map_err(|e| respond(internal(e)))?
        .ok_or_else(|| respond(internal("a new account vanished")))?;
    auth.login(&session_user).await.map_err(|e| respond(internal(e)))?;
    tracing::info!(user_id = user.id.get(), role = user.role.as_str(), "signed up");
    leptos_axum::redirect(home_of(user.role));
    Ok(())
}

/// The stores the logged-in owner owns (`/owner`).
///
/// Errors: 401 when logged out, 403 for other roles.
#[server(endpoint = "owner_stores")]
pub async fn owner_stores() -> Result<Vec<StoreSummary>, AppError> {
    use crate::error::{denied, internal, respond};
    use accounts::authz::{authorize, Action};
    let state = crate::state::app_state()?;
    let auth = ssr::auth_session().await?;
    let user = authorize(&state.db, auth.user.as_ref().map(|u| &u.user), Action::ViewOwnerHome)
        .await
        .map_err(denied)?;
    catalog::stores_of_owner(&state.db, user.id)
        .await
        .map_err(|e| respond(internal(e)))
}

/// One of the logged-in owner's stores with its menu (`/owner/stores/{id}`).
///
/// Errors: 401 when logged out, 403 for other roles, 404 for a store that
/// does not exist or belongs to another owner (the same answer for both).
#[server(endpoint = "owner_store")]
pub async fn owner_store(
    /// The store id as it appears in the URL.
    id: String,
) -> Result<domain::catalog::StoreMenu, AppError> {
    use crate::error::{denied, internal, respond};
    use accounts::authz::{authorize, Action};
    let state = crate::state::app_state()?;
    let auth = ssr::auth_session().await?;
    let user = auth.user.as_ref().map(|u| &u.user);
    let not_found = || respond(AppError::NotFound("There is no such page.".into()));
    // Who is asking is settled before the id is even read.
    authorize(&state.db, user, Action::ViewOwnerHome)
        .await
        .map_err(denied)?;
    let store: domain::StoreId = id.trim().parse().map_err(|_| not_found())?;
    authorize(&state.db, user, Action::ManageStore(store))
        .await
        .map_err(denied)?;
    catalog::store_menu(&state.db, store)
        .await
        .map_err(|e| respond(internal(e)))?
        .ok_or_else(not_found)
}

/// The login, logout and sign-up actions, shared so the account menu can
/// refresh after any of them.
#[derive(Clone, Copy)]
pub struct AccountActions {
    /// Logging in.
    pub login: ServerAction<Login>,
    /// Logging out.
    pub logout: ServerAction<Logout>,
    /// Signing up.
    pub signup: ServerAction<Signup>,
}

/// Creates the shared account actions; call once in `App`.
pub fn provide_account_actions() {
    provide_context(AccountActions {
        login: ServerAction::<Login>::new(),
        logout: ServerAction::<Logout>::new(),
        signup: ServerAction::<Signup>::new(),
    });
}

pub(crate) fn account_actions() -> AccountActions {
    expect_context::<AccountActions>()
}

/// The account menu in the top bar: log in / sign up, or the user's name,
/// their home and a logout button.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let actions = account_actions();
    let user = Resource::new(
        move || {
            (
                actions.login.version().get(),
                actions.logout.version().get(),
                actions.signup.version().get(),
            )
        },
        |_| current_user(),
    );
    // Created here, outside the Suspense that shows it (leptos#4866).
    let unread = crate::orders::unread_resource();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(user)) => view! {
                        <div class="account" data-testid="account-menu">
                            {(user.role == Role::Customer).then(|| view! { <a href="/orders">"Orders"</a> })}
                            {(user.role == Role::Admin).then(|| view! { <a href="/admin">"Operations"</a> })}
                            <crate::live::LiveIndicator/>
                            <crate::orders::NotificationBell count=unread/>
                            <a class="account-name" href=home_of(user.role)>
                                {user.display_name.clone()}
                                <span class="account-role">{user.role.label()}</span>
                            </a>
                            <ActionForm action=actions.logout attr:class="inline">
                                <button type="submit" class="link-button">"Log out"</button>
                            </ActionForm>
                        </div>
                    }.into_any(),
                    _ => view! {
                        <div class="account" data-testid="account-menu">
                            <a href="/login">"Log in"</a>
                            <a class="pill" href="/signup">"Sign up"</a>
                        </div>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Shows the message of a failed form submission.
fn form_error(error: Option<AppError>) -> impl IntoView {
    error.filter(|e| !matches!(e, AppError::Invalid(_))).map(|e| {
        view! { <p class="form-error" role="alert">{e.to_string()}</p> }
    })
}

/// `/login`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = account_actions().login;
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || action.value().get().and_then(Result::err);
    view! {
        <Title text="Log in"/>
        <section class="form-card">
            <h1>"Log in"</h1>
            <ActionForm action=action>
                <input type="hidden" name="next" prop:value=next/>
                <label for="login-email">"Email"</label>
                <input id="login-email" type="email" name="email" autocomplete="username" required/>
                <label for="login-password">"Password"</label>
                <input id="login-password" type="password" name="password" autocomplete="current-password" required/>
                {move || form_error(error())}
                <button type="submit" class="wide">"Log in"</button>
            </ActionForm>
            <p class="form-foot">"New here? " <a href="/signup">"Create an account"</a></p>
        </section>
    }
}

/// `/signup`.
#[component]
pub fn SignupPage() -> impl IntoView {
    let action = account_actions().signup;
    let role = RwSignal::new("customer".to_string());
    let error = move || action.value().get().and_then(Result::err);
    let field = move |name: &'static str| {
        move || {
            error()
                .and_then(|e| e.field(name))
                .map(|m| view! { <p class="field-error" data-field=name>{m}</p> })
        }
    };
    view! {
        <Title text="Sign up"/>
        <section class="form-card">
            <h1>"Create an account"</h1>
            <ActionForm action=action>
                <fieldset class="roles">
                    <legend>"I want to"</legend>
                    <label><input type="radio" name="role" value="customer" checked on:change=move |_| role.set("customer".into())/>" Order"</label>
                    <label><input type="radio" name="role" value="owner" on:change=move |_| role.set("owner".into())/>" Run a store"</label>
                    <label><input type="radio" name="role" value="rider" on:change=move |_| role.set("rider".into())/>" Deliver"</label>
                </fieldset>
                {field("role")}
                <label for="signup-name">"Name"</label>
                <input id="signup-name" name="display_name" maxlength="50" autocomplete="name" required/>
                {field("display_name")}
                <label for="signup-email">"Email"</label>
                <input id="signup-email" type="email" name="email" autocomplete="username" required/>
                {field("email")}
                <label for="signup-password">"Password (8 to 128 characters)"</label>
                <input id="signup-password" type="password" name="password" autocomplete="new-password" minlength="8" maxlength="128" required/>
                {field("password")}
                <div class="role-fields" class:hidden=move || role.get() != "rider">
                    <label for="signup-vehicle">"I deliver by"</label>
                    <select id="signup-vehicle" name="vehicle">
                        {DeliveryType::ALL.iter().map(|v| view! { <option value=v.as_str()>{v.label()}</option> }).collect_view()}
                    </select>
                    {field("vehicle")}
                </div>
                <div class="role-fields" class:hidden=move || role.get() != "owner">
                    <label for="signup-store-name">"Store name"</label>
                    <input id="signup-store-name" name="store_name" maxlength="60"/>
                    {field("store_name")}
                    <label for="signup-store-kind">"Kind of store"</label>
                    <select id="signup-store-kind" name="store_kind">
                        {StoreKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                    </select>
                    {field("store_kind")}
                    <label for="signup-store-address">"Store address"</label>
                    <input id="signup-store-address" name="store_address" maxlength="120"/>
                    {field("store_address")}
                </div>
                {move || form_error(error())}
                <button type="submit" class="wide">"Create account"</button>
            </ActionForm>
            <p class="form-foot">"Already have an account? " <a href="/login">"Log in"</a></p>
        </section>
    }
}

/// What a role-only page shows when the server refused: a redirect to the
/// login page for 401, the error page otherwise.
pub(crate) fn refused(error: AppError, here: &str) -> AnyView {
    match error {
        AppError::Unauthorized => view! { <Redirect path=format!("/login?next={here}")/> }.into_any(),
        error => view! { <ErrorPage error/> }.into_any(),
    }
}

/// `/owner`: the owner's stores.
#[component]
pub fn OwnerHome() -> impl IntoView {
    let stores = Resource::new(|| (), |_| owner_stores());
    view! {
        <Title text="Your stores"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match stores.await {
                    Ok(stores) => view! {
                        <section class="hero"><h1>"Your stores"</h1>
                            <p>"Choose a store to see its orders and manage its menu."</p></section>
                        <ul class="store-list" data-testid="owner-stores">
                            {stores.into_iter().map(|s| view! {
                                <li class="store-card"><a href=format!("/owner/stores/{}", s.id)>
                                    <div class="store-card-head"><h2>{s.name}</h2>
                                        <span class=format!("badge {}", s.status.as_str())>{s.status.label()}</span></div>
                                    <p class="store-category">{s.kind.label()} " · " {s.address}</p>
                                </a></li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => refused(error, "/owner"),
                }
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "ssr")]
    fn next_only_accepts_local_paths() {
        assert_eq!(local_path(Some("/owner")), Some("/owner".into()));
        assert_eq!(local_path(Some("//evil.example/x")), None);
        assert_eq!(local_path(Some("https://evil.example")), None);
        assert_eq!(local_path(Some("/\\evil.example")), None);
        assert_eq!(local_path(Some("")), None);
        assert_eq!(local_path(None), None);
    }

    #[test]
    fn each_role_has_a_home() {
        assert_eq!(home_of(Role::Customer), "/");
        assert_eq!(home_of(Role::Owner), "/owner");
        assert_eq!(home_of(Role::Rider), "/rider");
    }
}
