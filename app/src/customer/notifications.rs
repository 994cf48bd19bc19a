//! The notification centre (requirement F10): `/notifications`, and the
//! bell with the unread count in the top bar. For every logged-in role.

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::date_time;
use domain::shop::Notification;
use leptos::prelude::*;
use leptos_meta::Title;

/// The user's notification centre, newest first (F10).
///
/// Errors: 401.
#[server(endpoint = "notifications", output = crate::codec::Json)]
pub async fn notifications() -> Result<Vec<Notification>, AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::ViewNotifications).await?;
    notification::inbox(&state.db, caller.id).await.map_err(AppError::from)
}

/// How many notifications are unread; `None` when logged out (never an
/// error status: every page's header asks).
#[server(endpoint = "unread_count", output = crate::codec::Json)]
pub async fn unread_count() -> Result<Option<i64>, AppError> {
    let state = crate::state::app_state()?;
    let auth = crate::server::auth_session().await?;
    let Some(user) = auth.user.as_ref() else {
        return Ok(None);
    };
    notification::unread_count(&state.db, user.user.id)
        .await
        .map(Some)
        .map_err(AppError::from)
}

/// Marks the notifications up to `seq` as read.
///
/// Errors: 401; 422 when `seq` is not a number.
#[server(endpoint = "notifications_read", output = crate::codec::Json)]
pub async fn mark_notifications_read(
    /// The newest notification's sequence number the user has seen.
    seq: String,
) -> Result<(), AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::ViewNotifications).await?;
    let seq = crate::server::number(&seq, "seq")?;
    notification::mark_read(&state.db, caller.id, seq)
        .await
        .map_err(AppError::from)
}

/// `/notifications`: every status change of the user's orders (F10).
#[component]
pub fn NotificationsPage() -> impl IntoView {
    let read = ServerAction::<MarkNotificationsRead>::new();
    let live = crate::live::use_live();
    let list = Resource::new(move || (live.tick.get(), read.version().get()), |_| notifications());
    let i18n = use_i18n();
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, notifications.title).to_string())/>
        <section class="hero"><h1>{t!(i18n, notifications.title)}</h1></section>
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">{t!(i18n, notifications.none)}</p> }.into_any(),
                    Ok(list) => {
                        let newest = list.first().map(|n| n.seq).unwrap_or(0);
                        view! {
                            <ActionForm action=read>
                                <input type="hidden" name="seq" value=newest.to_string()/>
                                <button type="submit" class="secondary" data-testid="mark-read">{t!(i18n, notifications.mark_read)}</button>
                            </ActionForm>
                            <ul class="notifications" data-testid="notifications">
                                {list.into_iter().map(|n| {
                                    let (notice, order) = (n.notice.clone(), n.order);
                                    view! {
                                        <li class:unread=n.unread>
                                            <a href=format!("/orders/{}", n.order)>{move || crate::notices::text(i18n.get_locale(), &notice, order)}</a>
                                            <span class="time">{date_time(n.created_at_ms)}</span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                    Err(error) => crate::ui::refused(error, "/notifications"),
                }
            })}
        </Transition>
    }
}

/// The bell in the top bar with the unread count; nothing when logged out.
#[component]
pub fn NotificationBell(
    /// The unread count, loaded by the account menu around it.
    count: Resource<Result<Option<i64>, AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match count.await {
                    Ok(None) | Err(_) => ().into_any(),
                    Ok(Some(n)) if n > 0 => view! {
                        <a class="bell" href="/notifications" aria-label=move || t_string!(i18n, notifications.unread, n = n).to_string()>
                            "🔔" <span class="count" data-testid="unread">{n}</span>
                        </a>
                    }.into_any(),
                    _ => view! { <a class="bell" href="/notifications" aria-label=move || t_string!(i18n, notifications.title)>"🔔"</a> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The unread count for the bell, refreshed on login, logout and every live event.
pub fn unread_resource() -> Resource<Result<Option<i64>, AppError>> {
    let actions = crate::account::account_actions();
    let live = crate::live::use_live();
    Resource::new(
        move || {
            (
                actions.login.version().get(),
                actions.logout.version().get(),
                live.tick.get(),
            )
        },
        |_| unread_count(),
    )
}
