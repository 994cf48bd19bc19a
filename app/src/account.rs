//! Accounts in the browser: sign-up, login and logout, and the actions the
//! account menu (`layout`) refreshes on.

// The sign-up server function takes the form's fields as arguments, and the
// client stub the macro generates for it repeats them.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::i18n::*;
use domain::{DeliveryType, Role, StoreKind};
use leptos::prelude::*;
use leptos_meta::Title;
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
    /// The language the user chose (`ko`, `en`), if they did.
    pub language: Option<String>,
}

#[cfg(feature = "ssr")]
impl From<&accounts::User> for AccountSummary {
    fn from(user: &accounts::User) -> AccountSummary {
        AccountSummary {
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            role: user.role,
            vehicle: user.vehicle,
            language: user.language.clone(),
        }
    }
}

/// Where each role lands after logging in (issue 3).
pub fn home_of(role: Role) -> &'static str {
    match role {
        Role::Owner => "/owner",
        Role::Rider => "/rider",
        Role::Customer | Role::Admin => "/",
    }
}

/// The logged-in user, or `None`.
#[server(endpoint = "current_user", output = crate::codec::Json)]
pub async fn current_user() -> Result<Option<AccountSummary>, AppError> {
    let auth = crate::server::auth_session().await?;
    Ok(auth.user.as_ref().map(|u| AccountSummary::from(&u.user)))
}

/// Logs in and redirects to `next` (a local path) or the role's home.
///
/// Errors: [`AppError::BadCredentials`] for a wrong email or password (the
/// same message and about the same time for both), [`AppError::TooManyRequests`]
/// after too many attempts from this IP or on this account.
#[server(endpoint = "login", output = crate::codec::Json)]
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
    let client = crate::server::client().await;
    crate::server::limit_attempts(&state, &client)?;
    // No account has an address that does not parse; it never reaches the
    // database (where, on PostgreSQL, a NUL in it would be an error).
    let Ok(email) = domain::email::Email::parse(&email).map(|e| e.as_str().to_string()) else {
        return Err(respond(AppError::BadCredentials));
    };
    if let Err(retry_after_secs) = accounts::throttle::check(&state.db, &email, &client)
        .await
        .map_err(internal)?
    {
        return Err(respond(AppError::TooManyRequests { retry_after_secs }));
    }
    let mut auth = crate::server::auth_session().await?;
    let credentials = accounts::auth::Credentials {
        email: email.clone(),
        password,
    };
    // A login over another account's session ends that session.
    let replaced = auth
        .user
        .as_ref()
        .map(|u| u.user.id)
        .zip(auth.session.id().map(|id| id.to_string()));
    match auth.authenticate(credentials).await.map_err(|e| respond(internal(e)))? {
        Some(user) => {
            // A new session id at every login, also when switching accounts
            // (axum-login only cycles it for an anonymous session): no fixation.
            auth.session.cycle_id().await.map_err(|e| respond(internal(e)))?;
            auth.login(&user).await.map_err(|e| respond(internal(e)))?;
            accounts::throttle::clear(&state.db, &email, &client)
                .await
                .map_err(internal)?;
            if let Some((previous, session)) = replaced {
                crate::server::session_ended(&state, &session, previous).await;
            }
            tracing::info!(user_id = user.user.id.get(), "logged in");
            // The language the account chose, on this device too (issue 12).
            if let Some(locale) = user.user.language.as_deref().and_then(crate::lang::parse) {
                crate::lang::set_cookie(locale);
            }
            let target = next
                .as_deref()
                .and_then(crate::nav::local_path)
                .unwrap_or(home_of(user.user.role));
            crate::nav::redirect(target);
            Ok(())
        }
        None => {
            accounts::throttle::record_failure(&state.db, &email, &client)
                .await
                .map_err(internal)?;
            Err(respond(AppError::BadCredentials))
        }
    }
}

/// Logs out: the session is destroyed and its live sockets are closed on
/// every replica (issue 15, item 6), then home.
#[server(endpoint = "logout", output = crate::codec::Json)]
pub async fn logout() -> Result<(), AppError> {
    use crate::error::{internal, respond};
    let state = crate::state::app_state()?;
    let mut auth = crate::server::auth_session().await?;
    let ending = auth
        .user
        .as_ref()
        .map(|u| u.user.id)
        .zip(auth.session.id().map(|id| id.to_string()));
    auth.logout().await.map_err(|e| respond(internal(e)))?;
    if let Some((user, session)) = ending {
        crate::server::session_ended(&state, &session, user).await;
    }
    crate::nav::redirect("/");
    Ok(())
}

/// Creates an account, logs it in and redirects to the role's home.
///
/// Errors: [`AppError::Invalid`] with a message per field (nothing is created),
/// [`AppError::TooManyRequests`].
#[server(endpoint = "signup", output = crate::codec::Json)]
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
    crate::server::limit_attempts(&state, &crate::server::client().await)?;
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
    let mut auth = crate::server::auth_session().await?;
    let session_user = auth
        .backend
        .get_user(&user.id.get())
        .await
        .map_err(|e| respond(internal(e)))?
        .ok_or_else(|| respond(internal("a new account vanished")))?;
    auth.login(&session_user).await.map_err(|e| respond(internal(e)))?;
    // The language the account was made in is the account's (issue 12).
    let language = crate::lang::code(crate::lang::of_request());
    accounts::set_language(&state.db, user.id, language)
        .await
        .map_err(|e| respond(internal(e)))?;
    tracing::info!(user_id = user.id.get(), role = user.role.as_str(), "signed up");
    crate::nav::redirect(home_of(user.role));
    Ok(())
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

/// The shared account actions ([`provide_account_actions`]).
pub(crate) fn account_actions() -> AccountActions {
    expect_context::<AccountActions>()
}

/// Shows the message of a failed form submission.
fn form_error(error: Option<AppError>) -> impl IntoView {
    let i18n = use_i18n();
    error.filter(|e| !matches!(e, AppError::Invalid(_))).map(|e| {
        view! { <p class="form-error" role="alert">{move || e.message(i18n.get_locale())}</p> }
    })
}

/// `/login`.
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = account_actions().login;
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || action.value().get().and_then(Result::err);
    let i18n = use_i18n();
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, account.log_in).to_string())/>
        <section class="form-card">
            <h1>{t!(i18n, account.log_in)}</h1>
            <ActionForm action=action>
                <input type="hidden" name="next" prop:value=next/>
                <label for="login-email">{t!(i18n, account.email)}</label>
                <input id="login-email" type="email" name="email" autocomplete="username" required/>
                <label for="login-password">{t!(i18n, account.password)}</label>
                <input id="login-password" type="password" name="password" autocomplete="current-password" required/>
                {move || form_error(error())}
                <button type="submit" class="wide">{t!(i18n, account.log_in)}</button>
            </ActionForm>
            <p class="form-foot">{t!(i18n, account.new_here)} " " <a href="/signup">{t!(i18n, account.create_account)}</a></p>
        </section>
    }
}

/// `/signup`.
#[component]
pub fn SignupPage() -> impl IntoView {
    let action = account_actions().signup;
    let role = RwSignal::new("customer".to_string());
    let error = move || action.value().get().and_then(Result::err);
    let field = move |name: &'static str| move || crate::ui::field_problem(name, error().and_then(|e| e.field(name)));
    let i18n = use_i18n();
    let locale = move || i18n.get_locale();
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, account.sign_up).to_string())/>
        <section class="form-card">
            <h1>{t!(i18n, account.create_account)}</h1>
            <ActionForm action=action>
                <fieldset class="roles">
                    <legend>{t!(i18n, account.i_want_to)}</legend>
                    <label><input type="radio" name="role" value="customer" checked on:change=move |_| role.set("customer".into())/>" " {t!(i18n, account.want_order)}</label>
                    <label><input type="radio" name="role" value="owner" on:change=move |_| role.set("owner".into())/>" " {t!(i18n, account.want_store)}</label>
                    <label><input type="radio" name="role" value="rider" on:change=move |_| role.set("rider".into())/>" " {t!(i18n, account.want_deliver)}</label>
                </fieldset>
                {field("role")}
                <label for="signup-name">{t!(i18n, account.name)}</label>
                <input id="signup-name" name="display_name" maxlength=domain::limits::DISPLAY_NAME_CHARS autocomplete="name" required/>
                {field("display_name")}
                <label for="signup-email">{t!(i18n, account.email)}</label>
                <input id="signup-email" type="email" name="email" autocomplete="username" required/>
                {field("email")}
                <label for="signup-password">{t!(i18n, account.password_rule, min = domain::limits::PASSWORD_MIN_CHARS, max = domain::limits::PASSWORD_MAX_CHARS)}</label>
                <input id="signup-password" type="password" name="password" autocomplete="new-password" minlength=domain::limits::PASSWORD_MIN_CHARS maxlength=domain::limits::PASSWORD_MAX_CHARS required/>
                {field("password")}
                <div class="role-fields" class:hidden=move || role.get() != "rider">
                    <label for="signup-vehicle">{t!(i18n, account.i_deliver_by)}</label>
                    <select id="signup-vehicle" name="vehicle">
                        {DeliveryType::ALL.iter().map(|v| view! { <option value=v.as_str()>{move || crate::words::vehicle(locale(), *v)}</option> }).collect_view()}
                    </select>
                    {field("vehicle")}
                </div>
                <div class="role-fields" class:hidden=move || role.get() != "owner">
                    <label for="signup-store-name">{t!(i18n, account.store_name)}</label>
                    <input id="signup-store-name" name="store_name" maxlength=domain::limits::STORE_NAME_CHARS/>
                    {field("store_name")}
                    <label for="signup-store-kind">{t!(i18n, account.store_kind)}</label>
                    <select id="signup-store-kind" name="store_kind">
                        {StoreKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{move || crate::words::kind(locale(), *k)}</option> }).collect_view()}
                    </select>
                    {field("store_kind")}
                    <label for="signup-store-address">{t!(i18n, account.store_address)}</label>
                    <input id="signup-store-address" name="store_address" maxlength=domain::limits::STORE_ADDRESS_CHARS/>
                    {field("store_address")}
                </div>
                {move || form_error(error())}
                <button type="submit" class="wide">{t!(i18n, account.create_account_button)}</button>
            </ActionForm>
            <p class="form-foot">{t!(i18n, account.have_account)} " " <a href="/login">{t!(i18n, account.log_in)}</a></p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_has_a_home() {
        assert_eq!(home_of(Role::Customer), "/");
        assert_eq!(home_of(Role::Owner), "/owner");
        assert_eq!(home_of(Role::Rider), "/rider");
    }
}
