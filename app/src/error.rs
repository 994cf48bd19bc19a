//! The user-facing error: a short message the browser may show and a status.
//! The cause is logged on the server and never sent (STYLE.md, two error levels).

use crate::i18n::*;
use domain::problem::{Problem, Thing};
use leptos::prelude::*;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::Bytes;
use leptos::server_fn::{ContentType, Decodes, Encodes, Format, FormatType};
use serde::{Deserialize, Serialize};

/// An error a server function returns and a page shows. What went wrong
/// travels as data ([`Problem`]); the page puts it in the reader's language
/// ([`AppError::message`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// The thing asked for does not exist (or is not the user's to see): 404.
    #[error("not found: {0:?}")]
    NotFound(Problem),
    /// The request itself is wrong (a bad filter, a malformed id): 400.
    #[error("bad request: {0:?}")]
    BadRequest(Problem),
    /// Nobody is logged in: 401. Pages redirect to `/login`.
    #[error("not logged in")]
    Unauthorized,
    /// Wrong email or wrong password (the same message for both): 401.
    #[error("wrong email or password")]
    BadCredentials,
    /// Logged in, but not allowed: 403.
    #[error("forbidden: {0:?}")]
    Forbidden(Problem),
    /// The request breaks a rule right now (sold out, store closed, too late
    /// to cancel, job already taken): 409. Nothing changed.
    #[error("conflict: {0:?}")]
    Conflict(Problem),
    /// The payment did not go through: 402. Nothing was charged; the cart is kept.
    #[error("payment declined: {0:?}")]
    PaymentDeclined(Problem),
    /// A service we depend on is busy or down; try again shortly: 503.
    #[error("busy: {0:?}")]
    Busy(Problem),
    /// The request's body is larger than the server reads: 413.
    #[error("too large")]
    TooLarge,
    /// Form fields to correct, each with its problem: 422.
    #[error("invalid fields: {0:?}")]
    Invalid(Vec<domain::FieldError>),
    /// Too many attempts; try again after this many seconds: 429.
    #[error("too many attempts; retry after {retry_after_secs} s")]
    TooManyRequests {
        /// Seconds until the next attempt may succeed.
        retry_after_secs: u64,
    },
    /// A fault on our side; details are in the server log: 500.
    #[error("internal error")]
    Internal,
    /// Only in the browser: the request did not get through (network down,
    /// server restarting) or its answer could not be read. The server never
    /// sends it; the cause stays in the browser's console.
    #[error("unreachable")]
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

    /// "There is no such `what`": 404.
    pub fn no_such(what: Thing) -> AppError {
        AppError::NotFound(Problem::NotFound { what })
    }

    /// What to tell the reader, in `locale`.
    pub fn message(&self, locale: Locale) -> String {
        crate::problems::app_error(locale, self)
    }
}

impl AppError {
    /// The problem with one form field, if the error names it.
    pub fn field(&self, name: &str) -> Option<Problem> {
        match self {
            AppError::Invalid(fields) => fields.iter().find(|f| f.field == name).map(|f| f.problem.clone()),
            _ => None,
        }
    }
}

/// What a request that could not be read is told (issue 15, item 2): no
/// parser's words, which name our framework and echo the input.
pub const UNREADABLE_REQUEST: Problem = Problem::Unreadable;

/// How an [`AppError`] travels in a response body: JSON of the shape
/// `{"error": <the error as data>, "message": "<what to tell a person>"}`.
/// Pages read `error` and say it in their reader's language; any other
/// client gets `message` in the language of the request (its language
/// cookie, else `Accept-Language`, else Korean).
pub struct ErrorEncoding;

#[derive(Serialize)]
struct WireOut<'a> {
    error: &'a AppError,
    message: String,
}

#[derive(Deserialize)]
struct WireIn {
    error: AppError,
}

impl AppError {
    /// This error as a response body ([`ErrorEncoding`]'s shape), its
    /// message in `locale`.
    pub fn to_json(&self, locale: Locale) -> String {
        serde_json::to_string(&WireOut {
            error: self,
            message: self.message(locale),
        })
        .unwrap_or_default()
    }

    /// Reads an error back from a response body in [`ErrorEncoding`]'s shape.
    ///
    /// Errors: the body is not `{"error": <AppError>, …}`.
    pub fn from_json(bytes: &[u8]) -> Result<AppError, serde_json::Error> {
        crate::codec::from_json::<WireIn>(bytes).map(|wire| wire.error)
    }
}

impl ContentType for ErrorEncoding {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for ErrorEncoding {
    const FORMAT_TYPE: Format = Format::Text;
}

impl Encodes<AppError> for ErrorEncoding {
    type Error = serde_json::Error;

    fn encode(error: &AppError) -> Result<Bytes, Self::Error> {
        // Inside a request's reactive owner the language is the request's;
        // outside one there is nothing to read it from.
        #[cfg(feature = "ssr")]
        let locale = if Owner::current().is_some() {
            crate::lang::of_request()
        } else {
            Locale::default()
        };
        #[cfg(not(feature = "ssr"))]
        let locale = Locale::default();
        Ok(Bytes::from(error.to_json(locale)))
    }
}

impl Decodes<AppError> for ErrorEncoding {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<AppError, Self::Error> {
        AppError::from_json(&bytes)
    }
}

impl FromServerFnError for AppError {
    type Encoder = ErrorEncoding;

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
                    AppError::BadRequest(UNREADABLE_REQUEST)
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
            AuthzError::Denied(Denied::WrongRole { needed, actual }) => {
                AppError::Forbidden(Problem::WrongRole { needed, actual })
            }
            AuthzError::Denied(Denied::NotYours) => AppError::no_such(Thing::Page),
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
            OrderingError::Rejected(problem) => AppError::Conflict(problem),
            OrderingError::NotFound(what) => AppError::no_such(what),
            OrderingError::Refused(e @ OrderError::Forbidden(_)) => AppError::Forbidden(e.into()),
            OrderingError::Refused(OrderError::InvalidText(e)) => AppError::BadRequest(e.into()),
            OrderingError::Refused(OrderError::InvalidPrepMinutes) => {
                AppError::Invalid(vec![domain::FieldError::new("prep_minutes", Problem::PrepMinutes)])
            }
            OrderingError::Refused(e @ OrderError::Amount(_)) => {
                AppError::Invalid(vec![domain::FieldError::new("amount", Problem::Order(e))])
            }
            OrderingError::Refused(e) => AppError::Conflict(e.into()),
            OrderingError::PaymentDeclined(problem) => AppError::PaymentDeclined(problem),
            OrderingError::PaymentUnavailable => AppError::Busy(Problem::PaymentBusy),
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
            DeliveryError::NotFound => AppError::no_such(Thing::Job),
            DeliveryError::Busy => AppError::Conflict(Problem::FinishCurrentJob),
            DeliveryError::Refused(e) => AppError::Conflict(e.into()),
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
            ReviewError::NotFound => AppError::no_such(Thing::Order),
            ReviewError::Rejected(problem) => AppError::Conflict(problem),
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
    problem: Option<Problem>,
) -> impl IntoView {
    set_status(&AppError::no_such(Thing::Page));
    let i18n = use_i18n();
    let message = move || match &problem {
        Some(p) => crate::problems::problem(i18n.get_locale(), p),
        None => t_string!(i18n, error_page.not_found_text).to_string(),
    };
    view! {
        <leptos_meta::Title text=move || t_string!(i18n, error_page.not_found_title).to_string()/>
        <section class="error-page" data-testid="not-found">
            <p class="error-code">"404"</p>
            <h1>{t!(i18n, error_page.not_found_title)}</h1>
            <p>{message}</p>
            <a class="button" href="/">{t!(i18n, error_page.back)}</a>
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
    if let AppError::NotFound(problem) = error {
        return view! { <NotFound problem/> }.into_any();
    }
    let i18n = use_i18n();
    let status = error.status();
    let server_side = status.is_server_error();
    view! {
        <leptos_meta::Title text=move || t_string!(i18n, error_page.title).to_string()/>
        <section class="error-page" role="alert" data-testid="error-page">
            <p class="error-code">{status.as_u16()}</p>
            <h1>{move || if server_side { t_string!(i18n, error_page.went_wrong) } else { t_string!(i18n, error_page.did_not_work) }}</h1>
            <p>{move || error.message(i18n.get_locale())}</p>
            <a class="button" href="/">{t!(i18n, error_page.back)}</a>
        </section>
    }
    .into_any()
}
