//! Widgets and words every screen shares: times in Korea, status badges,
//! form errors, and what a role-only page shows when it is refused.

use crate::error::{AppError, ErrorPage};
use domain::OrderStatus;
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// A time of day in Korea ("14:05") from unix milliseconds; the same on the
/// server and in the browser, so hydration matches.
pub fn kst_time(ms: i64) -> String {
    let secs = (ms / 1000 + 9 * 3600).rem_euclid(86_400);
    format!("{:02}:{:02}", secs / 3600, (secs % 3600) / 60)
}

/// What a failed form submission says, above the form.
pub(crate) fn form_error(error: Option<AppError>) -> Option<impl IntoView> {
    error.map(|e| {
        let text = match &e {
            AppError::Invalid(fields) => fields.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join(" · "),
            AppError::Unauthorized => "Please log in as a customer to order.".into(),
            other => other.to_string(),
        };
        view! { <p class="form-error" role="alert">{text}</p> }
    })
}

/// A status as a coloured badge.
pub fn status_badge(status: OrderStatus, kind: domain::StoreKind) -> impl IntoView {
    let class = match status {
        OrderStatus::Delivered | OrderStatus::Collected => "badge open",
        OrderStatus::Rejected | OrderStatus::Cancelled | OrderStatus::PaymentFailed => "badge closed",
        _ => "badge paused",
    };
    view! { <span class=class data-status=status.as_str()>{status.label_for(kind)}</span> }
}

/// What a role-only page shows when the server refused: a redirect to the
/// login page for 401, the error page otherwise.
pub(crate) fn refused(error: AppError, here: &str) -> AnyView {
    match error {
        AppError::Unauthorized => view! { <Redirect path=crate::nav::login_then(here)/> }.into_any(),
        error => view! { <ErrorPage error/> }.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::kst_time;

    #[test]
    fn times_are_shown_in_korea() {
        assert_eq!(kst_time(0), "09:00");
        assert_eq!(kst_time(15 * 3_600_000 + 5 * 60_000), "00:05");
    }
}
