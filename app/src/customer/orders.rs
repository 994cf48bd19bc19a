//! The customer's orders: `/orders`, the history, and `/orders/{id}`, one
//! order's progress live (F9), cancel while allowed (F7), review once done
//! (F11).

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{date_time, form_error, status_badge, won};
use domain::shop::OrderView;
use domain::{Fulfilment, OrderStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The customer's orders, newest first (`/orders`).
///
/// Errors: 401/403.
#[server(endpoint = "my_orders", output = crate::codec::Json)]
pub async fn my_orders() -> Result<Vec<OrderView>, AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::Shop).await?;
    Ok(views::of_customer(&state.db, caller.id).await?)
}

/// One order (`/orders/{id}`), for its customer, its store's owner, its rider
/// or an admin.
///
/// Errors: 401; 404 for an unknown order or someone else's.
#[server(endpoint = "order", output = crate::codec::Json)]
pub async fn get_order(
    /// The order id.
    id: String,
) -> Result<OrderView, AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::UseOrders).await?;
    let id = crate::server::id(&id, domain::problem::Thing::Order)?;
    views::order(&state.db, id)
        .await?
        .filter(|view| views::visible_to(view, &caller.viewer()))
        .ok_or_else(|| crate::error::respond(AppError::no_such(domain::problem::Thing::Order)))
}

/// Cancels the customer's order while the store has not finished cooking (F7).
///
/// Errors: 401; 404; 409 once it is ready or already over.
#[server(endpoint = "cancel_order", output = crate::codec::Json)]
pub async fn cancel_order(
    /// The order id.
    id: String,
) -> Result<(), AppError> {
    crate::server::order_command(accounts::authz::Action::UseOrders, &id, domain::OrderCommand::Cancel).await
}

/// Approves a repair's final amount above what the card holds (seed 001):
/// the card's hold is raised to it first, then the repair counts as done.
///
/// Errors: 401; 404; 422 for an amount that is not a whole number of won;
/// 409 when nothing (or another amount) waits for approval; 402 when the
/// card does not cover it; 503 when the payment service is busy.
#[server(endpoint = "approve_final_amount", output = crate::codec::Json)]
pub async fn approve_final_amount(
    /// The order id.
    id: String,
    /// The amount the customer saw, in won.
    amount: String,
) -> Result<(), AppError> {
    use tracing::Instrument;
    let (caller, state) = crate::server::caller(accounts::authz::Action::UseOrders).await?;
    let order: domain::OrderId = crate::server::id(&id, domain::problem::Thing::Order)?;
    let amount = crate::server::amount(Some(&amount), "amount")?.unwrap_or(domain::Money::ZERO);
    let span = tracing::info_span!("order", order_id = order.get(), user_id = caller.id.get());
    async move {
        let seq = ordering::repair::approve(&state.db, state.payments.as_ref(), order, amount, &caller).await?;
        crate::server::settle(&state, order, seq).await;
        Ok(())
    }
    .instrument(span)
    .await
}

/// Declines a repair's final amount above what the card holds; the shop is
/// told to finish at most at what is held (seed 001).
///
/// Errors: 401; 404; 422; 409 when nothing (or another amount) waits.
#[server(endpoint = "decline_final_amount", output = crate::codec::Json)]
pub async fn decline_final_amount(
    /// The order id.
    id: String,
    /// The amount the customer saw, in won.
    amount: String,
) -> Result<(), AppError> {
    let amount = crate::server::amount(Some(&amount), "amount")?.unwrap_or(domain::Money::ZERO);
    crate::server::order_command(
        accounts::authz::Action::UseOrders,
        &id,
        domain::OrderCommand::DeclineFinalAmount { amount },
    )
    .await
}

/// Reviews a completed order (F11): 1–5 stars, a comment of at most 1000 characters.
///
/// Errors: 401/403; 404; 422 for bad stars or comment; 409 before completion
/// or for a second review.
#[server(endpoint = "review_order", output = crate::codec::Json)]
pub async fn review_order(
    /// The order id.
    id: String,
    /// 1 to 5.
    stars: String,
    /// The comment; may be empty.
    comment: Option<String>,
) -> Result<(), AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::Shop).await?;
    let id = crate::server::id(&id, domain::problem::Thing::Order)?;
    let stars = crate::server::number(&stars, "stars")?;
    let reviewer = review::Reviewer {
        id: caller.id,
        name: caller.name.clone(),
    };
    let seq = review::write(&state.db, id, &reviewer, stars, comment.as_deref().unwrap_or_default()).await?;
    crate::server::settle(&state, id, seq).await;
    Ok(())
}

/// `/orders`: the customer's order history.
#[component]
pub fn OrdersPage() -> impl IntoView {
    let live = crate::live::use_live();
    let i18n = use_i18n();
    let orders = Resource::new(move || live.tick.get(), |_| my_orders());
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, orders.title).to_string())/>
        <section class="hero"><h1>{t!(i18n, orders.title)}</h1></section>
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty">{t!(i18n, orders.none)} " " <a href="/">{t!(i18n, orders.find_something)}</a></p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="order-list" data-testid="order-list">
                            {list.into_iter().map(|o| view! {
                                <li class="store-card"><a href=format!("/orders/{}", o.id)>
                                    <div class="store-card-head">
                                        <h2>{o.placed.store_name.clone()}</h2>
                                        {status_badge(o.status, o.placed.store_kind)}
                                    </div>
                                    <p class="store-meta">
                                        <span>{format!("#{}", o.id)}</span>
                                        <span>{date_time(o.placed_at_ms)}</span>
                                        <span>{won(o.placed.total)}</span>
                                    </p>
                                </a></li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => crate::ui::refused(error, "/orders"),
                }
            })}
        </Transition>
    }
}

/// The steps an order goes through, for the progress bar, in the words of
/// the store's kind (issue 11).
fn steps(locale: Locale, fulfilment: Fulfilment, kind: domain::StoreKind) -> Vec<(OrderStatus, &'static str)> {
    use crate::words::{preparing_step, status};
    let mut steps = vec![
        (OrderStatus::Placed, td_string!(locale, orders.step_placed)),
        (OrderStatus::Accepted, preparing_step(locale, kind)),
        (
            OrderStatus::Ready,
            if kind == domain::StoreKind::RepairShop {
                status(locale, OrderStatus::Ready, kind)
            } else {
                td_string!(locale, orders.step_ready)
            },
        ),
    ];
    match fulfilment {
        Fulfilment::Delivery(_) => {
            steps.push((OrderStatus::PickedUp, status(locale, OrderStatus::PickedUp, kind)));
            steps.push((OrderStatus::Delivered, status(locale, OrderStatus::Delivered, kind)));
        }
        Fulfilment::Pickup => steps.push((OrderStatus::Collected, status(locale, OrderStatus::Collected, kind))),
    }
    steps
}

/// `/orders/{id}`: progress, items, totals; cancel while allowed; review once completed.
#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let cancel = ServerAction::<CancelOrder>::new();
    let review = ServerAction::<ReviewOrder>::new();
    let answer = FinalAmountActions {
        approve: ServerAction::<ApproveFinalAmount>::new(),
        decline: ServerAction::<DeclineFinalAmount>::new(),
    };
    let live = crate::live::use_live();
    let order = Resource::new(
        move || {
            (
                id(),
                cancel.version().get(),
                review.version().get(),
                answer.approve.version().get(),
                answer.decline.version().get(),
                live.tick.get(),
            )
        },
        |(id, ..)| get_order(id),
    );
    let i18n = use_i18n();
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, orders.one_title).to_string())/>
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(order) => view! { <OrderDetail order cancel review answer/> }.into_any(),
                    Err(error) => crate::ui::refused(error, &format!("/orders/{}", crate::nav::encode_component(&id()))),
                }
            })}
        </Transition>
    }
}

/// The customer's answers to a repair's higher final amount.
#[derive(Clone, Copy)]
struct FinalAmountActions {
    approve: ServerAction<ApproveFinalAmount>,
    decline: ServerAction<DeclineFinalAmount>,
}

/// What a repair's customer is asked when the final amount is above the
/// hold (seed 001): approve it (the card's hold is raised) or not.
fn final_amount_question(order: &OrderView, answer: FinalAmountActions) -> Option<impl IntoView> {
    let amount = order.proposed_amount?;
    let held = order.held.unwrap_or(order.placed.total);
    let (id, id2) = (order.id.to_string(), order.id.to_string());
    let i18n = use_i18n();
    let (amount_text, held_text) = (won(amount), won(held));
    let amount_text2 = amount_text.clone();
    let won = amount.won().to_string();
    let won2 = won.clone();
    let error = move || {
        answer
            .approve
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| answer.decline.value().get().and_then(Result::err))
    };
    Some(view! {
        <section class="form-card approval" data-testid="final-amount-question">
            <h2>{t!(i18n, repair.asks_higher)}</h2>
            <p>{move || t_string!(i18n, repair.asks_higher_text, amount = amount_text(), held = held_text()).to_string()}</p>
            <div class="actions">
                <ActionForm action=answer.approve>
                    <input type="hidden" name="id" value=id/>
                    <input type="hidden" name="amount" value=won/>
                    <button type="submit" data-testid="approve-final">{move || t_string!(i18n, repair.approve, amount = amount_text2()).to_string()}</button>
                </ActionForm>
                <ActionForm action=answer.decline>
                    <input type="hidden" name="id" value=id2/>
                    <input type="hidden" name="amount" value=won2/>
                    <button type="submit" class="secondary" data-testid="decline-final">{t!(i18n, repair.decline)}</button>
                </ActionForm>
            </div>
            {move || form_error(error())}
        </section>
    })
}

#[component]
fn OrderDetail(
    order: OrderView,
    cancel: ServerAction<CancelOrder>,
    review: ServerAction<ReviewOrder>,
    answer: FinalAmountActions,
) -> impl IntoView {
    let status = order.status;
    let reached = move |step: OrderStatus| {
        let rank = |s: OrderStatus| OrderStatus::ALL.iter().position(|x| *x == s).unwrap_or(0);
        !matches!(status, OrderStatus::Rejected | OrderStatus::Cancelled) && rank(status) >= rank(step)
    };
    let kind = order.placed.store_kind;
    let i18n = use_i18n();
    let headline = {
        let order = order.clone();
        move || {
            let locale = i18n.get_locale();
            let label = crate::words::status(locale, status, kind);
            match status {
                // The shop finished above the hold and asks the customer
                // (seed 001): the ready time has passed, the answer is theirs.
                OrderStatus::Accepted if order.proposed_amount.is_some() => {
                    td_string!(locale, orders.awaiting_approval, status = label).to_string()
                }
                OrderStatus::Accepted => match order.ready_by_ms {
                    Some(ms) => td_string!(
                        locale,
                        orders.ready_around,
                        status = label,
                        time = crate::lang::time(locale, ms)
                    )
                    .to_string(),
                    None => label.to_string(),
                },
                OrderStatus::Ready if order.placed.fulfilment == Fulfilment::Pickup => {
                    let address = order.placed.store_address.clone();
                    match kind {
                        domain::StoreKind::RepairShop => {
                            td_string!(locale, orders.collect_car, address = address).to_string()
                        }
                        domain::StoreKind::Canteen => {
                            td_string!(locale, orders.collect_meal, address = address).to_string()
                        }
                        _ => td_string!(locale, orders.collect_order, address = address).to_string(),
                    }
                }
                OrderStatus::Rejected | OrderStatus::Cancelled => {
                    let why = crate::words::ended(locale, &order, domain::Role::Customer).unwrap_or_default();
                    format!("{label} — {why}")
                }
                _ => label.to_string(),
            }
        }
    };
    // A repair can be cancelled only before it starts (seed 001).
    let repair = kind == domain::StoreKind::RepairShop;
    let can_cancel = status == OrderStatus::Placed || (status == OrderStatus::Accepted && !repair);
    let repair_started = repair && status == OrderStatus::Accepted;
    let too_late = matches!(status, OrderStatus::Ready | OrderStatus::PickedUp);
    let id = order.id.to_string();
    let cancel_error = move || cancel.value().get().and_then(Result::err);
    let review_error = move || review.value().get().and_then(Result::err);
    let placed = order.placed.clone();
    let payment = {
        let order = order.clone();
        move || crate::words::payment(i18n.get_locale(), &order, domain::Role::Customer)
    };
    let how = {
        let placed = placed.clone();
        move || {
            let locale = i18n.get_locale();
            match placed.fulfilment {
                Fulfilment::Delivery(t) => td_string!(
                    locale,
                    orders.delivery_to,
                    vehicle = crate::words::vehicle(locale, t),
                    how = crate::words::delivery(locale, placed.store_kind).to_lowercase(),
                    address = placed.address.clone()
                )
                .to_string(),
                Fulfilment::Pickup => crate::words::pickup_at(locale, placed.store_kind, &placed.store_address),
            }
        }
    };
    let has_payment = order.payment.is_some();
    view! {
        <a class="back" href="/orders">{t!(i18n, orders.back)}</a>
        <section class="order" data-testid="order" data-status=status.as_str()>
            <div class="store-card-head">
                <h1>{t!(i18n, orders.heading, id = order.id.get(), store = placed.store_name.clone())}</h1>
                {status_badge(status, placed.store_kind)}
            </div>
            <p class="headline" data-testid="order-headline">{headline}</p>
            {(!matches!(status, OrderStatus::Rejected | OrderStatus::Cancelled)).then(|| view! {
                <ol class="progress">
                    {move || steps(i18n.get_locale(), placed.fulfilment, placed.store_kind).into_iter().map(|(s, label)| view! {
                        <li class:done=reached(s)>{label}</li>
                    }).collect_view()}
                </ol>
            })}
            <ul class="summary">
                {placed.lines.iter().map(|l| view! {
                    <li><span>{format!("{} × {}", l.name, l.quantity)}</span>
                        <span class="price">{won(l.line_total())}</span></li>
                }).collect_view()}
            </ul>
            <dl class="totals">
                <dt>{t!(i18n, checkout.subtotal)}</dt><dd>{won(placed.subtotal)}</dd>
                {(placed.fulfilment != Fulfilment::Pickup).then(|| view! {
                    <dt>{move || crate::words::fee(i18n.get_locale(), kind)}</dt><dd>{won(placed.fee)}</dd>
                })}
                <dt>{t!(i18n, checkout.total)}</dt><dd><strong>{won(placed.total)}</strong></dd>
                {order.estimate.map(|amount| view! { <dt>{t!(i18n, repair.estimate)}</dt><dd data-testid="estimate">{won(amount)}</dd> })}
                {order.final_amount.map(|amount| view! { <dt>{t!(i18n, repair.final_amount)}</dt><dd data-testid="final-amount"><strong>{won(amount)}</strong></dd> })}
            </dl>
            {final_amount_question(&order, answer)}
            {has_payment.then(|| view! {
                <p class="payment" data-testid="payment" data-payment=order.payment.map(|p| p.as_str())>"💳 " {payment}</p>
            })}
            <p class="store-meta">{how}</p>
            {(!placed.note.is_empty()).then(|| view! { <p class="note">{t!(i18n, orders.note)} " " {placed.note.clone()}</p> })}
            {can_cancel.then(|| {
                let id = id.clone();
                view! {
                    <ActionForm action=cancel>
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="secondary" data-testid="cancel-order">{t!(i18n, orders.cancel)}</button>
                    </ActionForm>
                }
            })}
            {too_late.then(|| view! {
                <p class="hint">{t!(i18n, order_error.too_late_to_cancel)}</p>
            })}
            {repair_started.then(|| view! {
                <p class="hint">{t!(i18n, repair.started_hint)}</p>
            })}
            {move || form_error(cancel_error())}
            {match (status.is_completed(), order.review.clone()) {
                (true, Some(r)) => Some(view! {
                    <section class="reviews"><h2>{t!(i18n, review.yours)}</h2>
                        <p class="stars">{"★".repeat(r.stars.into())}</p><p>{r.comment}</p></section>
                }.into_any()),
                (true, None) => Some(view! {
                    <section class="form-card review-form" data-testid="review-form">
                        <h2>{t!(i18n, review.how_was_it)}</h2>
                        <ActionForm action=review>
                            <input type="hidden" name="id" value=id.clone()/>
                            <fieldset class="roles stars-input">
                                <legend>{t!(i18n, review.stars)}</legend>
                                {(1..=5).rev().map(|n| view! {
                                    <label><input type="radio" name="stars" value=n.to_string() checked=n == 5/>{format!(" {n}★")}</label>
                                }).collect_view()}
                            </fieldset>
                            <label for="comment">{t!(i18n, review.comment, max = domain::limits::REVIEW_COMMENT_CHARS)}</label>
                            <textarea id="comment" name="comment" maxlength=domain::limits::REVIEW_COMMENT_CHARS rows="3"></textarea>
                            {move || form_error(review_error())}
                            <button type="submit" class="wide">{t!(i18n, review.post)}</button>
                        </ActionForm>
                    </section>
                }.into_any()),
                _ => None,
            }}
        </section>
    }
}
