//! The user-facing error: a short message the browser may show and a status.
//! The cause is logged on the server and never sent (STYLE.md, two error levels).

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// An error a server function returns and a page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The thing asked for does not exist (or is not the user's to see): 404.
    #[error("{0}")]
    NotFound(String),
    /// The request itself is wrong (a bad filter, a malformed id): 400.
    #[error("{0}")]
    BadRequest(String),
    /// Nobody is logged in: 401. Pages redirect to `/login`.
    #[error("Please log in to continue.")]
    Unauthorized,
    /// Wrong email or wrong password (the same message for both): 401.
    #[error("Wrong email or password.")]
    BadCredentials,
    /// Logged in, but not allowed: 403.
    #[error("{0}")]
    Forbidden(String),
    /// The request breaks a rule right now (sold out, store closed, too late
    /// to cancel, job already taken): 409. Nothing changed.
    #[error("{0}")]
    Conflict(String),
    /// The card was declined: 402. Nothing was charged; the cart is kept.
    #[error("{0}")]
    PaymentDeclined(String),
    /// A service we depend on is busy or down; try again shortly: 503.
    #[error("{0}")]
    Busy(String),
    /// The request's body is larger than the server reads: 413.
    #[error("This request is too large.")]
    TooLarge,
    /// Form fields to correct, each with its message: 422.
    #[error("Please correct the highlighted fields.")]
    Invalid(Vec<domain::FieldError>),
    /// Too many attempts; try again after this many seconds: 429.
    #[error("Too many attempts. Try again in {}.", wait_text(*retry_after_secs))]
    TooManyRequests {
        /// Seconds until the next attempt may succeed.
        retry_after_secs: u64,
    },
    /// A fault on our side; details are in the server log: 500.
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    /// Only in the browser: the request did not get through (network down,
    /// server restarting) or its answer could not be read. The server never
    /// sends it; the cause stays in the browser's console.
    #[error("We could not reach the server. Check your connection and try again.")]
    Unreachable,
}

impl AppError {
    /// The HTTP status this error is served with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            AppError::NotFound(_) => http::StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => http::StatusCode::BAD_REQUEST,
            AppError::Unauthorized | AppError::BadCredentials => http::StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => http::StatusCode::FORBIDDEN,
            AppError::Invalid(_) => http::StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooLarge => http::StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Conflict(_) => http::StatusCode::CONFLICT,
            AppError::PaymentDeclined(_) => http::StatusCode::PAYMENT_REQUIRED,
            AppError::Busy(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            AppError::TooManyRequests { .. } => http::StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal => http::StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unreachable => http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl AppError {
    /// The message for one form field, if the error names it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid(fields) => fields.iter().find(|f| f.field == name).map(|f| f.message.clone()),
            _ => None,
        }
    }
}

/// "42 seconds", "1 minute", "15 minutes".
fn wait_text(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".into(),
        2..=59 => format!("{seconds} seconds"),
        60..=119 => "a minute".into(),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

/// What a request that could not be read is told (issue 15, item 2): no
/// parser's words, which name our framework and echo the input.
pub const UNREADABLE_REQUEST: &str = "The request could not be read. Reload the page and try again.";

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    /// On the server: arguments that do not decode (invalid UTF-8, a missing
    /// or malformed field, JSON where a form is expected) are the client's
    /// mistake, 400, with a short message and the details in the log;
    /// anything else is our fault, 500, logged. In the browser: the call did
    /// not get through or its answer could not be read.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        {
            match value {
                ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => {
                    tracing::debug!(cause = %value, "refused a request that does not decode");
                    AppError::BadRequest(UNREADABLE_REQUEST.into())
                }
                other => internal(other),
            }
        }
        #[cfg(not(feature = "ssr"))]
        {
            leptos::logging::warn!("server call failed: {value}");
            AppError::Unreachable
        }
    }
}

/// Logs `cause` (with its sources) and returns the opaque [`AppError::Internal`].
#[cfg(feature = "ssr")]
pub fn internal(cause: impl std::fmt::Display) -> AppError {
    tracing::error!(cause = %cause, "internal error");
    AppError::Internal
}

/// The `Retry-After` of a 503 (payment busy, load shed), in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 2;

/// Sets the response status for `error` (in a server function or a page
/// render) and hands it back, so callers can write `Err(respond(e))`. A 429
/// or a 503 also says when to retry (`Retry-After`).
#[cfg(feature = "ssr")]
pub fn respond(error: AppError) -> AppError {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(error.status());
        let retry_after = match error {
            AppError::TooManyRequests { retry_after_secs } => Some(retry_after_secs),
            AppError::Busy(_) => Some(BUSY_RETRY_AFTER_SECS),
            _ => None,
        };
        if let Some(value) = retry_after.and_then(|s| http::HeaderValue::from_str(&s.to_string()).ok()) {
            response.insert_header(http::header::RETRY_AFTER, value);
        }
    }
    error
}

/// An authorization refusal as the user sees it: 401, 403, or a 404 for
/// someone else's resource (so ids cannot be probed).
#[cfg(feature = "ssr")]
impl From<accounts::authz::AuthzError> for AppError {
    fn from(error: accounts::authz::AuthzError) -> Self {
        use accounts::authz::{AuthzError, Denied};
        respond(match error {
            AuthzError::Denied(Denied::NotLoggedIn) => AppError::Unauthorized,
            AuthzError::Denied(d @ Denied::WrongRole { .. }) => AppError::Forbidden(capitalise(&d.to_string())),
            AuthzError::Denied(Denied::NotYours) => AppError::NotFound("There is no such page.".into()),
            AuthzError::Db(e) => internal(e),
        })
    }
}

/// An ordering failure as the user sees it, with its status set.
#[cfg(feature = "ssr")]
impl From<ordering::OrderingError> for AppError {
    fn from(error: ordering::OrderingError) -> Self {
        use domain::OrderError;
        use ordering::OrderingError;
        respond(match error {
            OrderingError::Invalid(fields) => AppError::Invalid(fields),
            OrderingError::Rejected(m) => AppError::Conflict(m),
            OrderingError::NotFound(m) => AppError::NotFound(m),
            OrderingError::Refused(OrderError::Forbidden(m)) => AppError::Forbidden(capitalise(&m)),
            OrderingError::Refused(OrderError::InvalidText(e)) => AppError::BadRequest(e.to_string()),
            OrderingError::Refused(OrderError::InvalidPrepMinutes) => AppError::Invalid(vec![domain::FieldError::new(
                "prep_minutes",
                OrderError::InvalidPrepMinutes.to_string(),
            )]),
            OrderingError::Refused(OrderError::Amount(m)) => {
                AppError::Invalid(vec![domain::FieldError::new("amount", capitalise(&m))])
            }
            OrderingError::Refused(e) => AppError::Conflict(capitalise(&e.to_string())),
            OrderingError::PaymentDeclined(m) => AppError::PaymentDeclined(m),
            OrderingError::PaymentUnavailable(m) => AppError::Busy(m),
            OrderingError::Storage(e) => internal(e),
        })
    }
}

/// A delivery failure as the rider sees it, with its status set.
#[cfg(feature = "ssr")]
impl From<delivery::DeliveryError> for AppError {
    fn from(error: delivery::DeliveryError) -> Self {
        use delivery::DeliveryError;
        respond(match error {
            DeliveryError::NotFound => AppError::NotFound("There is no such order.".into()),
            e @ DeliveryError::Busy => AppError::Conflict(e.to_string()),
            DeliveryError::Refused(e) => AppError::Conflict(capitalise(&e.to_string())),
            DeliveryError::Storage(e) => internal(e),
        })
    }
}

/// A review failure as the customer sees it, with its status set.
#[cfg(feature = "ssr")]
impl From<review::ReviewError> for AppError {
    fn from(error: review::ReviewError) -> Self {
        use review::ReviewError;
        respond(match error {
            ReviewError::Invalid(fields) => AppError::Invalid(fields),
            e @ ReviewError::NotFound => AppError::NotFound(e.to_string()),
            ReviewError::Rejected(m) => AppError::Conflict(m),
            ReviewError::Storage(e) => internal(e),
        })
    }
}

/// A storage failure: logged, and the user told only that it was our fault.
#[cfg(feature = "ssr")]
impl From<eventlog::StorageError> for AppError {
    fn from(error: eventlog::StorageError) -> Self {
        respond(internal(error))
    }
}

/// A failed statement: logged, and the user told only that it was our fault.
#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        respond(internal(error))
    }
}

/// The text with its first letter in upper case.
#[cfg(feature = "ssr")]
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Sets the page's status from an error while rendering on the server.
fn set_status(_error: &AppError) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(_error.status());
    }
}

/// The page for an unknown address or a missing store: a real 404.
#[component]
pub fn NotFound(
    /// What was not found; a generic sentence when absent.
    #[prop(optional, into)]
    message: Option<String>,
) -> impl IntoView {
    set_status(&AppError::NotFound(String::new()));
    let message = message.unwrap_or_else(|| "We could not find the page you were looking for.".into());
    view! {
        <leptos_meta::Title text="Not found"/>
        <section class="error-page" data-testid="not-found">
            <p class="error-code">"404"</p>
            <h1>"Page not found"</h1>
            <p>{message}</p>
            <a class="button" href="/">"Back to all stores"</a>
        </section>
    }
}

/// A whole-page error other than 404: what went wrong and a way back.
#[component]
pub fn ErrorPage(
    /// The error to explain.
    error: AppError,
) -> impl IntoView {
    set_status(&error);
    if let AppError::NotFound(message) = error {
        return view! { <NotFound message/> }.into_any();
    }
    let status = error.status();
    view! {
        <leptos_meta::Title text="Error"/>
        <section class="error-page" role="alert" data-testid="error-page">
            <p class="error-code">{status.as_u16()}</p>
            <h1>{if status.is_server_error() { "Something went wrong" } else { "That did not work" }}</h1>
            <p>{error.to_string()}</p>
            <a class="button" href="/">"Back to all stores"</a>
        </section>
    }
    .into_any()
}
