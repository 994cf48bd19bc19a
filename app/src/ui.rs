//! Widgets and words every screen shares: money and times in the reader's
//! language (Korea time), status badges, form errors, and what a role-only
//! page shows when it is refused.

use crate::error::{AppError, ErrorPage};
use crate::i18n::*;
use domain::problem::Problem;
use domain::{Money, OrderStatus};
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Runs `then` once the page has hydrated — at once when it has — in the
/// browser (`frontend` marks `<body data-hydrated="true">` when the last
/// screen, chunks included, has taken over its markup); checked every 50
/// ms. A change that re-renders text (the language) made earlier would meet
/// markup of the old text in a screen still hydrating. On the server it
/// never runs (effects do not run there either).
pub fn when_hydrated(then: impl FnOnce() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let done = document()
            .body()
            .is_some_and(|body| body.get_attribute("data-hydrated").as_deref() == Some("true"));
        if done {
            then();
        } else {
            set_timeout(move || when_hydrated(then), std::time::Duration::from_millis(50));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    drop(then);
}

/// An amount in the reader's language, following a language switch:
/// 12,000원 or ₩12,000.
pub fn won(amount: Money) -> impl Fn() -> String + Send + Sync + Clone + 'static {
    let i18n = use_i18n();
    move || crate::lang::won(i18n.get_locale(), amount)
}

/// A time of day in Korea, in the reader's language: 오후 3:47 or 3:47 PM.
pub fn time(ms: i64) -> impl Fn() -> String + Send + Sync + Clone + 'static {
    let i18n = use_i18n();
    move || crate::lang::time(i18n.get_locale(), ms)
}

/// A date and time in Korea: 11월 21일 (토) 오후 3:47.
pub fn date_time(ms: i64) -> impl Fn() -> String + Send + Sync + Clone + 'static {
    let i18n = use_i18n();
    move || crate::lang::date_time(i18n.get_locale(), ms)
}

/// A problem in the reader's language.
pub fn problem_text(problem: Problem) -> impl Fn() -> String + Send + Sync + Clone + 'static {
    let i18n = use_i18n();
    move || crate::problems::problem(i18n.get_locale(), &problem)
}

/// A form field's problem, under the field.
pub(crate) fn field_problem(name: &'static str, problem: Option<Problem>) -> Option<impl IntoView> {
    problem.map(|p| view! { <p class="field-error" data-field=name>{problem_text(p)}</p> })
}

/// What a failed form submission says, above the form.
pub(crate) fn form_error(error: Option<AppError>) -> Option<impl IntoView> {
    let i18n = use_i18n();
    error.map(|e| {
        let text = move || match &e {
            AppError::Invalid(fields) => fields
                .iter()
                .map(|f| crate::problems::problem(i18n.get_locale(), &f.problem))
                .collect::<Vec<_>>()
                .join(" · "),
            AppError::Unauthorized => t_string!(i18n, error.log_in_to_order).to_string(),
            other => other.message(i18n.get_locale()),
        };
        view! { <p class="form-error" role="alert">{text}</p> }
    })
}

/// A status as a coloured badge, in the words of the store's kind.
pub fn status_badge(status: OrderStatus, kind: domain::StoreKind) -> impl IntoView {
    let i18n = use_i18n();
    let class = match status {
        OrderStatus::Delivered | OrderStatus::Collected => "badge open",
        OrderStatus::Rejected | OrderStatus::Cancelled | OrderStatus::PaymentFailed => "badge closed",
        _ => "badge paused",
    };
    view! { <span class=class data-status=status.as_str()>{move || crate::words::status(i18n.get_locale(), status, kind)}</span> }
}

/// What a role-only page shows when the server refused: a redirect to the
/// login page for 401, the error page otherwise.
pub(crate) fn refused(error: AppError, here: &str) -> AnyView {
    match error {
        AppError::Unauthorized => view! { <Redirect path=crate::nav::login_then(here)/> }.into_any(),
        error => view! { <ErrorPage error/> }.into_any(),
    }
}
