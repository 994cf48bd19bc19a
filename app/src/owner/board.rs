//! The dashboard's order board: new, cooking and ready orders as keyed
//! cards with accept (prep minutes) / reject (reason) / ready / collected
//! (requirements F4–F6, F12).

use super::DashboardResource;
use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{status_badge, time, won};
use domain::shop::OrderView;
use domain::{Fulfilment, OrderStatus};
use leptos::prelude::*;

/// Accepts an order and starts cooking (F5); a repair shop accepts with
/// its estimate (seed 001).
///
/// Errors: 401/403; 404 for another store's order; 422 for prep minutes
/// outside 1..=180, or an estimate that is missing (repair shops), not a
/// whole number of won or out of range; 409 when it is no longer waiting.
#[server(endpoint = "accept_order", output = crate::codec::Json)]
pub async fn accept_order(
    /// The order id.
    order: String,
    /// Estimated minutes until ready.
    prep_minutes: String,
    /// A repair shop's estimate, in won.
    estimate: Option<String>,
) -> Result<(), AppError> {
    let minutes = crate::server::number(&prep_minutes, "prep_minutes")?;
    let prep_minutes = u16::try_from(minutes).unwrap_or(0);
    let estimate = crate::server::amount(estimate.as_deref(), "estimate")?;
    crate::server::order_command(
        accounts::authz::Action::ViewOwnerHome,
        &order,
        domain::OrderCommand::Accept { prep_minutes, estimate },
    )
    .await
}

/// Rejects an order with a reason (F5); payment is voided and stock restored.
///
/// Errors: 401/403; 404; 400 for an unknown reason or an empty "other" text;
/// 409 when it is no longer waiting.
#[server(endpoint = "reject_order", output = crate::codec::Json)]
pub async fn reject_order(
    /// The order id.
    order: String,
    /// `sold_out`, `too_busy`, `closing_soon` or `other`.
    reason: String,
    /// The owner's words, for `other`.
    text: Option<String>,
) -> Result<(), AppError> {
    let reason = domain::order::RejectReason::parse(&reason, text.as_deref())
        .map_err(|e| crate::error::respond(AppError::BadRequest(e.problem)))?;
    crate::server::order_command(
        accounts::authz::Action::ViewOwnerHome,
        &order,
        domain::OrderCommand::Reject { reason },
    )
    .await
}

/// Marks an order ready (F6, F12); a repair shop finishes with the final
/// amount, which above the customer's hold waits for their approval (seed 001).
///
/// Errors: 401/403; 404; 422 for a final amount that is missing (repair
/// shops), not a whole number of won or out of range; 409 unless it is
/// being prepared.
#[server(endpoint = "mark_ready", output = crate::codec::Json)]
pub async fn mark_ready(
    /// The order id.
    order: String,
    /// A repair's final amount, in won.
    final_amount: Option<String>,
) -> Result<(), AppError> {
    let final_amount = crate::server::amount(final_amount.as_deref(), "final_amount")?;
    crate::server::order_command(
        accounts::authz::Action::ViewOwnerHome,
        &order,
        domain::OrderCommand::MarkReady { final_amount },
    )
    .await
}

/// Marks a pickup order collected (F12); payment is captured.
///
/// Errors: 401/403; 404; 409 for a delivery order or one not ready.
#[server(endpoint = "mark_collected", output = crate::codec::Json)]
pub async fn mark_collected(
    /// The order id.
    order: String,
) -> Result<(), AppError> {
    crate::server::order_command(
        accounts::authz::Action::ViewOwnerHome,
        &order,
        domain::OrderCommand::Collect,
    )
    .await
}

/// The order actions every card may offer.
#[derive(Clone, Copy)]
pub struct ColumnActions {
    /// Accept with a prep time.
    pub accept: ServerAction<AcceptOrder>,
    /// Reject with a reason.
    pub reject: ServerAction<RejectOrder>,
    /// The food is ready.
    pub ready: ServerAction<MarkReady>,
    /// A pickup order was collected.
    pub collected: ServerAction<MarkCollected>,
}

/// One column of the board: the orders in `statuses`, one keyed card each.
#[component]
pub fn Column(
    /// The column's heading (it may follow the store's kind).
    #[prop(into)]
    title: Signal<&'static str>,
    /// Its `data-testid`.
    test: &'static str,
    /// The order statuses it shows.
    statuses: &'static [OrderStatus],
    /// The dashboard's data.
    data: DashboardResource,
    /// The actions its cards offer.
    actions: ColumnActions,
) -> impl IntoView {
    let i18n = use_i18n();
    let orders = move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| {
                let prep = d.menu.store.default_prep_minutes;
                d.orders
                    .into_iter()
                    .filter(|o| statuses.contains(&o.status))
                    .map(|o| (prep, o))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let ColumnActions {
        accept,
        reject,
        ready,
        collected,
    } = actions;
    view! {
        <section class="column" data-testid=test>
            <h2>{title} " " <span class="count">{move || orders().len()}</span></h2>
            <Show when=move || orders().is_empty()>
                <p class="empty">{t!(i18n, common.none)}</p>
            </Show>
            // Keyed on what the card shows, so a change elsewhere leaves it be.
            <For
                each=orders
                key=|(_, o)| (o.id, o.status, o.rider, o.ready_by_ms, o.payment, o.proposed_amount, o.held)
                children=move |(prep, o)| view! { <OrderCard order=o default_prep=prep accept reject ready collected/> }
            />
        </section>
    }
}

#[component]
fn OrderCard(
    order: OrderView,
    default_prep: u16,
    accept: ServerAction<AcceptOrder>,
    reject: ServerAction<RejectOrder>,
    ready: ServerAction<MarkReady>,
    collected: ServerAction<MarkCollected>,
) -> impl IntoView {
    let i18n = use_i18n();
    let id = order.id.to_string();
    let card_id = id.clone();
    let placed = order.placed.clone();
    let fulfilment = placed.fulfilment;
    let kind = placed.store_kind;
    let how = move || match fulfilment {
        Fulfilment::Delivery(t) => {
            let locale = i18n.get_locale();
            td_string!(
                locale,
                owner.delivery_by,
                vehicle = crate::words::vehicle(locale, t),
                how = crate::words::delivery(locale, kind).to_lowercase()
            )
            .to_string()
        }
        Fulfilment::Pickup => {
            let locale = i18n.get_locale();
            td_string!(locale, owner.pickup, how = crate::words::pickup(locale, kind)).to_string()
        }
    };
    let repair = kind == domain::StoreKind::RepairShop;
    let has_rider = order.rider.is_some();
    let max_won = domain::limits::MAX_REPAIR_WON.to_string();
    let actions = match order.status {
        OrderStatus::Placed => {
            let id1 = id.clone();
            let id2 = id.clone();
            let max_won = max_won.clone();
            view! {
                <ActionForm action=accept attr:class="accept">
                    <input type="hidden" name="order" value=id1/>
                    <label>{t!(i18n, owner.ready_in)} <input type="number" name="prep_minutes" min="1" max="180" value=default_prep.to_string() class="minutes"/> {t!(i18n, owner.minutes)}</label>
                    {repair.then(|| view! {
                        <label>{t!(i18n, owner.estimate)} <input type="number" name="estimate" min="1" max=max_won step="1" required
                            value=placed.total.won().to_string() class="won" data-testid="estimate"/> {t!(i18n, owner.won)}</label>
                    })}
                    <button type="submit" data-testid="accept">{t!(i18n, owner.accept)}</button>
                </ActionForm>
                <ActionForm action=reject attr:class="reject">
                    <input type="hidden" name="order" value=id2/>
                    <select name="reason">
                        <option value="sold_out">{move || crate::words::reason_sold_out(i18n.get_locale(), kind)}</option>
                        <option value="too_busy">{t!(i18n, owner.reason_too_busy)}</option>
                        <option value="closing_soon">{t!(i18n, owner.reason_closing_soon)}</option>
                        <option value="other">{t!(i18n, owner.reason_other)}</option>
                    </select>
                    <input name="text" maxlength=domain::limits::REJECT_REASON_CHARS placeholder=move || t_string!(i18n, owner.reason_placeholder)/>
                    <button type="submit" class="secondary" data-testid="reject">{t!(i18n, owner.reject)}</button>
                </ActionForm>
            }
            .into_any()
        }
        OrderStatus::Accepted => {
            let suggested = order.proposed_amount.or(order.estimate).unwrap_or(placed.total);
            view! {
                <ActionForm action=ready>
                    <input type="hidden" name="order" value=id.clone()/>
                    {repair.then(|| view! {
                        <label>{t!(i18n, owner.final_amount)} <input type="number" name="final_amount" min="1" max=max_won.clone() step="1" required
                            value=suggested.won().to_string() class="won" data-testid="final-amount"/> {t!(i18n, owner.won)}</label>
                    })}
                    <button type="submit" class="wide" data-testid="mark-ready">{move || crate::words::mark_ready(i18n.get_locale(), kind)}</button>
                </ActionForm>
            }
            .into_any()
        }
        OrderStatus::Ready if placed.fulfilment == Fulfilment::Pickup => view! {
            <ActionForm action=collected>
                <input type="hidden" name="order" value=id.clone()/>
                <button type="submit" class="wide" data-testid="mark-collected">{t!(i18n, owner.collected)}</button>
            </ActionForm>
        }
        .into_any(),
        OrderStatus::Ready => view! { <p class="hint">{move || if has_rider { crate::words::courier_coming(i18n.get_locale(), kind) } else { crate::words::waiting_courier(i18n.get_locale(), kind) }}</p> }.into_any(),
        _ => ().into_any(),
    };
    view! {
        <article class="order-card" data-order-id=card_id data-status=order.status.as_str()>
            <header>
                <strong>{format!("#{}", order.id)}</strong>
                <span class="time">{time(order.placed_at_ms)}</span>
                {status_badge(order.status, placed.store_kind)}
            </header>
            <p class="how">{how} " · " {placed.customer_name.clone()}</p>
            <ul class="summary">
                {placed.lines.iter().map(|l| view! { <li><span>{format!("{} × {}", l.name, l.quantity)}</span></li> }).collect_view()}
            </ul>
            {(!placed.note.is_empty()).then(|| view! { <p class="note">"📝 " {placed.note.clone()}</p> })}
            <p class="cart-total">{won(placed.total)}</p>
            {order.payment.is_some().then(|| {
                let payment = order.payment.map(|p| p.as_str());
                let order = order.clone();
                view! {
                    <p class="payment" data-testid="payment" data-payment=payment>
                        "💳 " {move || crate::words::payment(i18n.get_locale(), &order, domain::Role::Owner).unwrap_or_default()}
                    </p>
                }
            })}
            {order.ready_by_ms.filter(|_| order.status == OrderStatus::Accepted).map(|ms| view! { <p class="hint">{t!(i18n, owner.ready_by)} {time(ms)}</p> })}
            {order.estimate.map(|amount| view! { <p class="hint" data-testid="estimate-shown">{move || t_string!(i18n, owner.estimate_shown, amount = crate::lang::won(i18n.get_locale(), amount)).to_string()}</p> })}
            {order.final_amount.map(|amount| view! { <p class="hint" data-testid="final-shown">{move || t_string!(i18n, owner.final_shown, amount = crate::lang::won(i18n.get_locale(), amount)).to_string()}</p> })}
            {order.proposed_amount.map(|amount| {
                let held = order.held.unwrap_or(placed.total);
                view! {
                    <p class="notice" data-testid="awaiting-approval">
                        {move || {
                            let locale = i18n.get_locale();
                            td_string!(locale, owner.awaiting_approval, amount = crate::lang::won(locale, amount), held = crate::lang::won(locale, held)).to_string()
                        }}
                    </p>
                }
            })}
            {matches!(order.status, OrderStatus::Rejected | OrderStatus::Cancelled).then(|| {
                let order = order.clone();
                view! { <p class="hint" data-testid="ended">{move || crate::words::ended(i18n.get_locale(), &order, domain::Role::Owner).unwrap_or_default()}</p> }
            })}
            {actions}
        </article>
    }
}
