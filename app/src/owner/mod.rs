//! The store owner's screens (issue 4): `/owner`, their stores, and
//! `/owner/stores/{id}`, the dashboard: the order board ([`board`]), the
//! menu editor ([`menu`]) and the new-order alarm ([`alarm`]); a canteen's
//! monthly payroll statement ([`payroll`]).

pub mod alarm;
pub mod board;
pub mod menu;
pub mod payroll;

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{form_error, refused};
use alarm::{AcknowledgeOrders, Alarm};
use board::{AcceptOrder, Column, ColumnActions, MarkCollected, MarkReady, RejectOrder};
use domain::catalog::{StoreMenu, StoreSummary};
use domain::shop::OrderView;
use domain::{OrderStatus, StoreStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use menu::{AddItem, MenuEditor, RemoveItem, UpdateItem};
use serde::{Deserialize, Serialize};

/// The stores the logged-in owner owns (`/owner`).
///
/// Errors: 401 when logged out, 403 for other roles.
#[server(endpoint = "owner_stores", output = crate::codec::Json)]
pub async fn owner_stores() -> Result<Vec<StoreSummary>, AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::ViewOwnerHome).await?;
    Ok(catalog::stores_of_owner(&state.db, caller.id).await?)
}

/// One of the logged-in owner's stores with its menu (`/owner/stores/{id}`).
///
/// Errors: 401 when logged out, 403 for other roles, 404 for a store that
/// does not exist or belongs to another owner (the same answer for both).
#[server(endpoint = "owner_store", output = crate::codec::Json)]
pub async fn owner_store(
    /// The store id as it appears in the URL.
    id: String,
) -> Result<domain::catalog::StoreMenu, AppError> {
    use domain::problem::Thing;
    let (_, state, store) = crate::server::owner_of(&id, Thing::Page).await?;
    catalog::store_menu(&state.db, store)
        .await?
        .ok_or_else(|| crate::error::respond(AppError::no_such(Thing::Page)))
}

/// `/owner`: the owner's stores.
#[component]
pub fn OwnerHome() -> impl IntoView {
    let stores = Resource::new(|| (), |_| owner_stores());
    let i18n = use_i18n();
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, owner.your_stores).to_string())/>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match stores.await {
                    Ok(stores) => view! {
                        <section class="hero"><h1>{t!(i18n, owner.your_stores)}</h1>
                            <p>{t!(i18n, owner.choose_store)}</p></section>
                        <ul class="store-list" data-testid="owner-stores">
                            {stores.into_iter().map(|s| view! {
                                <li class="store-card"><a href=format!("/owner/stores/{}", s.id)>
                                    <div class="store-card-head"><h2>{s.name}</h2>
                                        <span class=format!("badge {}", s.status.as_str())>{move || crate::words::store_status(i18n.get_locale(), s.status)}</span></div>
                                    <p class="store-category">{move || crate::words::kind(i18n.get_locale(), s.kind)} " · " {s.address}</p>
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

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The store and its menu.
    pub menu: StoreMenu,
    /// Orders in progress (oldest first) and today's finished ones.
    pub orders: Vec<OrderView>,
}

/// The owner of `store`: a dashboard's server functions answer 404 "no such
/// store" for a store that is not theirs.
#[cfg(feature = "ssr")]
pub(crate) async fn owner_of(
    store: &str,
) -> Result<(ordering::Caller, crate::state::AppState, domain::StoreId), AppError> {
    crate::server::owner_of(store, domain::problem::Thing::Store).await
}

/// One of the owner's stores with its orders and menu.
///
/// Errors: 401; 403 for other roles; 404 for a store that is not theirs.
#[server(endpoint = "dashboard", output = crate::codec::Json)]
pub async fn get_dashboard(
    /// The store id.
    store: String,
) -> Result<Dashboard, AppError> {
    let (_, state, store) = owner_of(&store).await?;
    let menu = catalog::store_menu(&state.db, store)
        .await?
        .ok_or_else(|| crate::error::respond(AppError::no_such(domain::problem::Thing::Store)))?;
    let orders = views::of_store(&state.db, store).await?;
    Ok(Dashboard { menu, orders })
}

/// Opens, pauses or closes the store.
///
/// Errors: 401/403; 404 for a store that is not theirs; 400 for an unknown status.
#[server(endpoint = "store_status", output = crate::codec::Json)]
pub async fn set_store_status(
    /// The store id.
    store: String,
    /// `open`, `paused` or `closed`.
    status: String,
) -> Result<(), AppError> {
    let (_, state, store) = owner_of(&store).await?;
    let status: StoreStatus = status.trim().parse().map_err(|_: domain::kinds::UnknownName| {
        crate::error::respond(AppError::BadRequest(domain::problem::Problem::Choose {
            what: domain::problem::Choice::StoreStatus,
        }))
    })?;
    Ok(catalog::set_store_status(&state.db, store, status).await?)
}

/// Sets whether the store delivers, offers pickup, or both (issue 11; seed
/// 002's flower shop only delivers). Checkout offers what is ticked from the
/// next order on.
///
/// Errors: 401/403; 404 for a store that is not theirs; 422 when neither is
/// ticked.
#[server(endpoint = "store_fulfilment", output = crate::codec::Json)]
pub async fn set_store_fulfilment(
    /// The store id.
    store: String,
    /// Present ("on") when the store delivers.
    delivery: Option<String>,
    /// Present ("on") when customers may collect at the store.
    pickup: Option<String>,
) -> Result<(), AppError> {
    let (_, state, store) = owner_of(&store).await?;
    let (delivery, pickup) = (delivery.is_some(), pickup.is_some());
    if !delivery && !pickup {
        let kind = catalog::store(&state.db, store)
            .await
            .map_err(AppError::from)?
            .map_or(domain::StoreKind::Restaurant, |s| s.kind);
        return Err(crate::error::respond(AppError::Invalid(vec![domain::FieldError::new(
            "delivery",
            domain::problem::Problem::OfferSomething { kind },
        )])));
    }
    Ok(catalog::set_fulfilment(&state.db, store, delivery, pickup).await?)
}

/// `/owner/stores/{id}`: the dashboard.
#[component]
pub fn OwnerStorePage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let accept = ServerAction::<AcceptOrder>::new();
    let reject = ServerAction::<RejectOrder>::new();
    let ready = ServerAction::<MarkReady>::new();
    let collected = ServerAction::<MarkCollected>::new();
    let status = ServerAction::<SetStoreStatus>::new();
    let fulfilment = ServerAction::<SetStoreFulfilment>::new();
    let update = ServerAction::<UpdateItem>::new();
    let add = ServerAction::<AddItem>::new();
    let remove = ServerAction::<RemoveItem>::new();
    let acknowledge = ServerAction::<AcknowledgeOrders>::new();
    let live = crate::live::use_live();
    let i18n = use_i18n();
    let data = Resource::new(
        move || {
            (
                id(),
                live.tick.get(),
                accept.version().get(),
                reject.version().get(),
                ready.version().get(),
                collected.version().get(),
                status.version().get(),
                fulfilment.version().get(),
                update.version().get(),
                add.version().get(),
                remove.version().get(),
                acknowledge.version().get(),
            )
        },
        |(id, ..)| get_dashboard(id),
    );
    let error = move || {
        [
            accept.value().get().and_then(Result::err),
            reject.value().get().and_then(Result::err),
            ready.value().get().and_then(Result::err),
            collected.value().get().and_then(Result::err),
            status.value().get().and_then(Result::err),
            fulfilment.value().get().and_then(Result::err),
            update.value().get().and_then(Result::err),
            add.value().get().and_then(Result::err),
            remove.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    };
    // The header re-renders with each refetch; the order cards and menu
    // items below are keyed (`<For>`) outside that `Suspend`, so a card or
    // item whose content did not change keeps its DOM — and whatever the
    // owner is typing into it (a reject reason, a new price) — when a live
    // event refreshes the dashboard.
    let loaded = move || matches!(data.get(), Some(Ok(_)));
    // The column of accepted orders in the store kind's word (issue 11),
    // read in its heading only: the columns themselves must not re-render
    // with each refetch.
    let preparing = move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| crate::words::preparing_step(i18n.get_locale(), d.menu.store.kind))
            .unwrap_or_else(|| crate::words::preparing_step(i18n.get_locale(), domain::StoreKind::Restaurant))
    };
    let columns = ColumnActions {
        accept,
        reject,
        ready,
        collected,
    };
    view! {
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let store = d.menu.store;
                        let kind = store.kind;
                        let sid = store.id.to_string();
                        let payroll_href = format!("/owner/stores/{sid}/payroll");
                        let ringing = d.orders.iter().any(|o| o.status == OrderStatus::Placed && !o.acknowledged);
                        let cancellations: Vec<OrderView> = d
                            .orders
                            .iter()
                            .filter(|o| o.status == OrderStatus::Cancelled && alarm::rings_for(o))
                            .cloned()
                            .collect();
                        view! {
                            <Title text={
                                let name = store.name.clone();
                                crate::lang::page_title(move || t_string!(i18n, owner.dashboard_title, store = name.clone()).to_string())
                            }/>
                            <Alarm ringing cancellations store=sid.clone() acknowledge/>
                            <a class="back" href="/owner">{t!(i18n, owner.back_to_stores)}</a>
                            <section class="store-header">
                                <div class="store-card-head">
                                    <h1>{store.name.clone()}</h1>
                                    <span class=format!("badge {}", store.status.as_str()) data-testid="store-status">{move || crate::words::store_status(i18n.get_locale(), store.status)}</span>
                                </div>
                                <div class="status-buttons">
                                    {StoreStatus::ALL.iter().map(|s| {
                                        let sid = sid.clone();
                                        view! {
                                            <ActionForm action=status attr:class="inline">
                                                <input type="hidden" name="store" value=sid/>
                                                <input type="hidden" name="status" value=s.as_str()/>
                                                <button type="submit" class="secondary" disabled=*s == store.status>{move || crate::words::store_status(i18n.get_locale(), *s)}</button>
                                            </ActionForm>
                                        }
                                    }).collect_view()}
                                </div>
                                <ActionForm action=fulfilment attr:class="fulfilment" attr:data-testid="fulfilment">
                                    <input type="hidden" name="store" value=sid.clone()/>
                                    <span class="hint">{t!(i18n, owner.customers_get_by)}</span>
                                    <label class="check"><input type="checkbox" name="delivery" checked=store.offers_delivery/>" " {move || crate::words::delivery(i18n.get_locale(), kind)}</label>
                                    <label class="check"><input type="checkbox" name="pickup" checked=store.offers_pickup/>" " {move || crate::words::pickup(i18n.get_locale(), kind)}</label>
                                    <button type="submit" class="secondary">{t!(i18n, common.save)}</button>
                                </ActionForm>
                                {domain::PaymentMethod::Payroll.offered_by(store.kind).then(|| view! {
                                    <a class="button secondary" href=payroll_href data-testid="payroll-link">{t!(i18n, owner.payroll_link)}</a>
                                })}
                            </section>
                            {move || form_error(error())}
                        }.into_any()
                    }
                    Err(error) => crate::ui::refused(error, &format!("/owner/stores/{}", crate::nav::encode_component(&id()))),
                }
            })}
            <Show when=loaded>
                <div class="board">
                    <Column title=Signal::derive(move || td_string!(i18n.get_locale(), owner.col_new)) test="col-new" statuses=&[OrderStatus::Placed] data actions=columns/>
                    <Column title=Signal::derive(preparing) test="col-cooking" statuses=&[OrderStatus::Accepted] data actions=columns/>
                    <Column title=Signal::derive(move || td_string!(i18n.get_locale(), owner.col_ready)) test="col-ready" statuses=&[OrderStatus::Ready] data actions=columns/>
                </div>
                <Column title=Signal::derive(move || td_string!(i18n.get_locale(), owner.col_done)) test="col-done" statuses=&[OrderStatus::PickedUp, OrderStatus::Delivered, OrderStatus::Collected, OrderStatus::Rejected, OrderStatus::Cancelled] data actions=columns/>
                <MenuEditor store=id() data update add remove/>
            </Show>
        </Transition>
    }
}

/// The dashboard's data as its resource holds it.
pub type DashboardResource = Resource<Result<Dashboard, AppError>>;
