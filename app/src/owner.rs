//! The store owner's dashboard (`/owner/stores/{id}`, issue 4): incoming
//! orders by state with accept/reject/ready/collected, the store's status,
//! and menu management (price, stock, sold out, new items).

#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::orders::{form_error, kst_time, status_badge};
use domain::catalog::{MenuItem, Stock, StoreMenu};
use domain::shop::OrderView;
use domain::{Fulfilment, OrderStatus, StoreStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// What the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    /// The store and its menu.
    pub menu: StoreMenu,
    /// Orders in progress (oldest first) and today's finished ones.
    pub orders: Vec<OrderView>,
}

#[cfg(feature = "ssr")]
async fn owner_of(store: &str) -> Result<(ordering::Caller, crate::state::AppState, domain::StoreId), AppError> {
    use crate::error::denied;
    use accounts::authz::{authorize, Action};
    let (caller, state) = crate::orders::ssr::caller(Action::ViewOwnerHome).await?;
    let store: domain::StoreId = crate::orders::ssr::id(store, "store")?;
    let user = accounts::User {
        id: caller.id,
        email: String::new(),
        display_name: caller.name.clone(),
        role: caller.role,
        vehicle: caller.vehicle,
    };
    authorize(&state.db, Some(&user), Action::ManageStore(store))
        .await
        .map_err(denied)?;
    Ok((caller, state, store))
}

/// One of the owner's stores with its orders and menu.
///
/// Errors: 401; 403 for other roles; 404 for a store that is not theirs.
#[server(endpoint = "dashboard")]
pub async fn get_dashboard(
    /// The store id.
    store: String,
) -> Result<Dashboard, AppError> {
    use crate::error::{internal, respond};
    let (_, state, store) = owner_of(&store).await?;
    let menu = catalog::store_menu(&state.db, store)
        .await
        .map_err(|e| respond(internal(e)))?
        .ok_or_else(|| respond(AppError::NotFound("There is no such store.".into())))?;
    let orders = ordering::views::of_store(&state.db, store)
        .await
        .map_err(crate::orders::ssr::failed)?;
    Ok(Dashboard { menu, orders })
}

/// Accepts an order and starts cooking (F5).
///
/// Errors: 401/403; 404 for another store's order; 422 for prep minutes
/// outside 1..=180; 409 when it is no longer waiting.
#[server(endpoint = "accept_order")]
pub async fn accept_order(
    /// The order id.
    order: String,
    /// Estimated minutes until ready.
    prep_minutes: String,
) -> Result<(), AppError> {
    let minutes = crate::orders::ssr::number(&prep_minutes, "prep_minutes", "Preparation time")?;
    let prep_minutes = u16::try_from(minutes).unwrap_or(0);
    crate::orders::ssr::command(
        accounts::authz::Action::ViewOwnerHome,
        &order,
        domain::OrderCommand::Accept { prep_minutes },
    )
    .await
}

/// Rejects an order with a reason (F5); payment is voided and stock restored.
///
/// Errors: 401/403; 404; 400 for an unknown reason or an empty "other" text;
/// 409 when it is no longer waiting.
#[server(endpoint = "reject_order")]
pub async fn reject_order(
    /// The order id.
    order: String,
    /// `sold_out`, `too_busy`, `closing_soon` or `other`.
    reason: String,
    /// The owner's words, for `other`.
    text: Option<String>,
) -> Result<(), AppError> {
    use crate::error::respond;
    use domain::order::RejectReason;
    let reason = match reason.trim() {
        "sold_out" => RejectReason::SoldOut,
        "too_busy" => RejectReason::TooBusy,
        "closing_soon" => RejectReason::ClosingSoon,
        "other" => RejectReason::Other(text.unwrap_or_default()),
        other => {
            return Err(respond(AppError::BadRequest(format!(
                "Unknown reason \"{}\"; choose sold out, too busy, closing soon or other.",
                other.chars().take(30).collect::<String>()
            ))))
        }
    };
    crate::orders::ssr::command(
        accounts::authz::Action::ViewOwnerHome,
        &order,
        domain::OrderCommand::Reject { reason },
    )
    .await
}

/// Marks an order ready (F6, F12).
///
/// Errors: 401/403; 404; 409 unless it is being prepared.
#[server(endpoint = "mark_ready")]
pub async fn mark_ready(
    /// The order id.
    order: String,
) -> Result<(), AppError> {
    crate::orders::ssr::command(
        accounts::authz::Action::ViewOwnerHome,
        &order,
        domain::OrderCommand::MarkReady,
    )
    .await
}

/// Marks a pickup order collected (F12); payment is captured.
///
/// Errors: 401/403; 404; 409 for a delivery order or one not ready.
#[server(endpoint = "mark_collected")]
pub async fn mark_collected(
    /// The order id.
    order: String,
) -> Result<(), AppError> {
    crate::orders::ssr::command(
        accounts::authz::Action::ViewOwnerHome,
        &order,
        domain::OrderCommand::Collect,
    )
    .await
}

/// Silences the alarm: marks every new order of the store as seen, on every
/// tablet of the store (issue 5).
///
/// Errors: 401/403; 404 for a store that is not theirs.
#[server(endpoint = "acknowledge_orders")]
pub async fn acknowledge_orders(
    /// The store id.
    store: String,
) -> Result<(), AppError> {
    use crate::orders::ssr;
    let (caller, state, store) = owner_of(&store).await?;
    let waiting = ordering::views::of_store(&state.db, store)
        .await
        .map_err(ssr::failed)?
        .into_iter()
        .filter(|o| o.status == OrderStatus::Placed && !o.acknowledged);
    let mut last = None;
    for order in waiting {
        if let Some(seq) = ordering::lifecycle::acknowledge(&state.db, order.id, &caller)
            .await
            .map_err(ssr::failed)?
        {
            last = Some(seq);
        }
    }
    if let Some(seq) = last {
        ssr::settle(&state, seq).await;
    }
    Ok(())
}

/// Opens, pauses or closes the store.
///
/// Errors: 401/403; 404 for a store that is not theirs; 400 for an unknown status.
#[server(endpoint = "store_status")]
pub async fn set_store_status(
    /// The store id.
    store: String,
    /// `open`, `paused` or `closed`.
    status: String,
) -> Result<(), AppError> {
    use crate::error::{internal, respond};
    let (_, state, store) = owner_of(&store).await?;
    let status: StoreStatus = status
        .trim()
        .parse()
        .map_err(|e: domain::kinds::UnknownName| respond(AppError::BadRequest(e.to_string())))?;
    catalog::set_store_status(&state.db, store, status)
        .await
        .map_err(|e| respond(internal(e)))
}

#[cfg(feature = "ssr")]
fn parse_item_fields(price: &str, stock: &str) -> Result<(i64, Option<i64>), AppError> {
    use crate::error::respond;
    let mut errors = Vec::new();
    let price_won = price.trim().replace(',', "").parse::<i64>().unwrap_or_else(|_| {
        errors.push(domain::FieldError::new(
            "price",
            "the price must be a whole number of won",
        ));
        0
    });
    let stock = match stock.trim() {
        "" => None,
        s => Some(s.parse::<i64>().unwrap_or_else(|_| {
            errors.push(domain::FieldError::new(
                "stock",
                "stock must be a whole number, or empty for unlimited",
            ));
            0
        })),
    };
    if errors.is_empty() {
        errors = catalog::check_item(price_won, stock);
    }
    if errors.is_empty() {
        Ok((price_won, stock))
    } else {
        Err(respond(AppError::Invalid(errors)))
    }
}

/// Changes a menu item's price, stock and sold-out mark.
///
/// Errors: 401/403; 404 for a store or item that is not theirs; 422 for a
/// price outside 0..=10,000,000 won or stock outside 0..=9,999.
#[server(endpoint = "update_item")]
pub async fn update_item(
    /// The store id.
    store: String,
    /// The menu item id.
    item: String,
    /// Price in won.
    price: String,
    /// Units in stock; empty for unlimited.
    stock: String,
    /// Present ("on") when sold out.
    sold_out: Option<String>,
) -> Result<(), AppError> {
    use crate::error::{internal, respond};
    let (_, state, store) = owner_of(&store).await?;
    let item = crate::orders::ssr::id(&item, "menu item")?;
    let (price_won, stock) = parse_item_fields(&price, &stock)?;
    let change = catalog::ItemChange {
        price_won,
        stock,
        sold_out: sold_out.is_some(),
    };
    if catalog::update_menu_item(&state.db, store, item, &change)
        .await
        .map_err(|e| respond(internal(e)))?
    {
        Ok(())
    } else {
        Err(respond(AppError::NotFound("There is no such menu item.".into())))
    }
}

/// Adds an item to the store's menu.
///
/// Errors: 401/403; 404; 422 for an empty or too long name or category, or a
/// bad price or stock.
#[server(endpoint = "add_item")]
pub async fn add_item(
    /// The store id.
    store: String,
    /// Menu section, e.g. "치킨".
    category: String,
    /// Name.
    name: String,
    /// Short description.
    description: Option<String>,
    /// Price in won.
    price: String,
    /// Units in stock; empty for unlimited.
    stock: String,
) -> Result<(), AppError> {
    use crate::error::{internal, respond};
    use domain::text::clean_text;
    let (_, state, store) = owner_of(&store).await?;
    let mut errors = Vec::new();
    let mut text = |value: &str, field: &str, label: &str, max: usize, required: bool| {
        if !required && value.trim().is_empty() {
            return String::new();
        }
        clean_text(value, label, max, false).unwrap_or_else(|e| {
            errors.push(domain::FieldError::new(field, e.to_string()));
            String::new()
        })
    };
    let category = text(&category, "category", "Section", 30, true);
    let name = text(&name, "name", "Name", 60, true);
    let description = text(
        description.as_deref().unwrap_or_default(),
        "description",
        "Description",
        200,
        false,
    );
    let fields = parse_item_fields(&price, &stock);
    let (price_won, stock) = match fields {
        Ok(f) if errors.is_empty() => f,
        Ok(_) => return Err(respond(AppError::Invalid(errors))),
        Err(AppError::Invalid(more)) => {
            errors.extend(more);
            return Err(respond(AppError::Invalid(errors)));
        }
        Err(e) => return Err(e),
    };
    catalog::append_menu_item(
        &state.db,
        store,
        &catalog::NewMenuItem {
            category: &category,
            name: &name,
            description: &description,
            price_won,
            stock,
            sold_out: false,
        },
    )
    .await
    .map_err(|e| respond(internal(e)))?;
    Ok(())
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
    let update = ServerAction::<UpdateItem>::new();
    let add = ServerAction::<AddItem>::new();
    let acknowledge = ServerAction::<AcknowledgeOrders>::new();
    let live = crate::live::use_live();
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
                update.version().get(),
                add.version().get(),
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
            update.value().get().and_then(Result::err),
            add.value().get().and_then(Result::err),
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
    let columns = ColumnActions {
        accept,
        reject,
        ready,
        collected,
    };
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => {
                        let store = d.menu.store;
                        let sid = store.id.to_string();
                        let ringing = d.orders.iter().any(|o| o.status == OrderStatus::Placed && !o.acknowledged);
                        view! {
                            <Title text=format!("{} · dashboard", store.name)/>
                            <Alarm ringing store=sid.clone() acknowledge/>
                            <a class="back" href="/owner">"← Your stores"</a>
                            <section class="store-header">
                                <div class="store-card-head">
                                    <h1>{store.name.clone()}</h1>
                                    <span class=format!("badge {}", store.status.as_str()) data-testid="store-status">{store.status.label()}</span>
                                </div>
                                <div class="status-buttons">
                                    {StoreStatus::ALL.iter().map(|s| {
                                        let sid = sid.clone();
                                        view! {
                                            <ActionForm action=status attr:class="inline">
                                                <input type="hidden" name="store" value=sid/>
                                                <input type="hidden" name="status" value=s.as_str()/>
                                                <button type="submit" class="secondary" disabled=*s == store.status>{s.label()}</button>
                                            </ActionForm>
                                        }
                                    }).collect_view()}
                                </div>
                            </section>
                            {move || form_error(error())}
                        }.into_any()
                    }
                    Err(error) => crate::account::refused(error, &format!("/owner/stores/{}", id())),
                }
            })}
            <Show when=loaded>
                <div class="board">
                    <Column title="New" test="col-new" statuses=&[OrderStatus::Placed] data actions=columns/>
                    <Column title="Cooking" test="col-cooking" statuses=&[OrderStatus::Accepted] data actions=columns/>
                    <Column title="Ready" test="col-ready" statuses=&[OrderStatus::Ready] data actions=columns/>
                </div>
                <Column title="Done today" test="col-done" statuses=&[OrderStatus::PickedUp, OrderStatus::Delivered, OrderStatus::Collected, OrderStatus::Rejected, OrderStatus::Cancelled] data actions=columns/>
                <MenuEditor store=id() data update add/>
            </Show>
        </Transition>
    }
}

/// The dashboard's data as its resource holds it.
type DashboardResource = Resource<Result<Dashboard, AppError>>;

/// The order actions every card may offer.
#[derive(Clone, Copy)]
struct ColumnActions {
    accept: ServerAction<AcceptOrder>,
    reject: ServerAction<RejectOrder>,
    ready: ServerAction<MarkReady>,
    collected: ServerAction<MarkCollected>,
}

/// One column of the board: the orders in `statuses`, one keyed card each.
#[component]
fn Column(
    title: &'static str,
    test: &'static str,
    statuses: &'static [OrderStatus],
    data: DashboardResource,
    actions: ColumnActions,
) -> impl IntoView {
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
                <p class="empty">"None"</p>
            </Show>
            // Keyed on what the card shows, so a change elsewhere leaves it be.
            <For
                each=orders
                key=|(_, o)| (o.id, o.status, o.rider, o.ready_by_ms)
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
    let id = order.id.to_string();
    let card_id = id.clone();
    let placed = order.placed.clone();
    let how = match placed.fulfilment {
        Fulfilment::Delivery(t) => format!("🛵 {} delivery", t.label()),
        Fulfilment::Pickup => "🏃 Pickup".into(),
    };
    let id = id.clone();
    let actions = match order.status {
        OrderStatus::Placed => {
            let id1 = id.clone();
            let id2 = id.clone();
            view! {
                <ActionForm action=accept attr:class="accept">
                    <input type="hidden" name="order" value=id1/>
                    <label>"Ready in " <input type="number" name="prep_minutes" min="1" max="180" value=default_prep.to_string() class="minutes"/> " min"</label>
                    <button type="submit" data-testid="accept">"Accept"</button>
                </ActionForm>
                <ActionForm action=reject attr:class="reject">
                    <input type="hidden" name="order" value=id2/>
                    <select name="reason">
                        <option value="sold_out">"Sold out"</option>
                        <option value="too_busy">"Too busy"</option>
                        <option value="closing_soon">"Closing soon"</option>
                        <option value="other">"Other…"</option>
                    </select>
                    <input name="text" maxlength="200" placeholder="Reason (for Other)"/>
                    <button type="submit" class="secondary" data-testid="reject">"Reject"</button>
                </ActionForm>
            }
            .into_any()
        }
        OrderStatus::Accepted => view! {
            <ActionForm action=ready>
                <input type="hidden" name="order" value=id.clone()/>
                <button type="submit" class="wide" data-testid="mark-ready">"Food is ready"</button>
            </ActionForm>
        }
        .into_any(),
        OrderStatus::Ready if placed.fulfilment == Fulfilment::Pickup => view! {
            <ActionForm action=collected>
                <input type="hidden" name="order" value=id.clone()/>
                <button type="submit" class="wide" data-testid="mark-collected">"Customer collected it"</button>
            </ActionForm>
        }
        .into_any(),
        OrderStatus::Ready => view! { <p class="hint">{if order.rider.is_some() { "Rider on the way" } else { "Waiting for a rider" }}</p> }.into_any(),
        _ => ().into_any(),
    };
    view! {
        <article class="order-card" data-order-id=card_id data-status=order.status.as_str()>
            <header>
                <strong>{format!("#{}", order.id)}</strong>
                <span class="time">{kst_time(order.placed_at_ms)}</span>
                {status_badge(order.status)}
            </header>
            <p class="how">{how} " · " {placed.customer_name.clone()}</p>
            <ul class="summary">
                {placed.lines.iter().map(|l| view! { <li><span>{format!("{} × {}", l.name, l.quantity)}</span></li> }).collect_view()}
            </ul>
            {(!placed.note.is_empty()).then(|| view! { <p class="note">"📝 " {placed.note.clone()}</p> })}
            <p class="cart-total">{placed.total.to_string()} " · paid by card (held until done)"</p>
            {order.ready_by_ms.filter(|_| order.status == OrderStatus::Accepted).map(|ms| view! { <p class="hint">"Ready by " {kst_time(ms)}</p> })}
            {order.reason.clone().map(|r| view! { <p class="hint">{r}</p> })}
            {actions}
        </article>
    }
}

/// The menu editor: one keyed form per item (re-rendered only when that
/// item's price, stock or sold-out flag changes), and the add-item form,
/// cleared after an item is added.
#[component]
fn MenuEditor(
    store: String,
    data: DashboardResource,
    update: ServerAction<UpdateItem>,
    add: ServerAction<AddItem>,
) -> impl IntoView {
    let items = move || {
        data.get()
            .and_then(Result::ok)
            .map(|d| {
                d.menu
                    .sections
                    .into_iter()
                    .flat_map(|s| s.items)
                    .collect::<Vec<MenuItem>>()
            })
            .unwrap_or_default()
    };
    let add_form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = add.value().get() {
            if let Some(form) = add_form.get() {
                form.reset();
            }
        }
    });
    let sid = store.clone();
    view! {
        <section class="menu-editor" data-testid="menu-editor">
            <h2>"Menu"</h2>
            <ul class="menu-items">
                <For
                    each=items
                    key=|item| (item.id, item.price.won(), stock_text(&item.stock), item.sold_out)
                    children=move |item| {
                        let sid = sid.clone();
                        let stock = stock_text(&item.stock);
                        view! {
                            <li class="menu-item edit" data-item-id=item.id.get()>
                                <ActionForm action=update attr:class="item-form">
                                    <input type="hidden" name="store" value=sid/>
                                    <input type="hidden" name="item" value=item.id.to_string()/>
                                    <span class="item-name">{item.name.clone()}</span>
                                    <label>"Price " <input name="price" inputmode="numeric" value=item.price.won().to_string() class="price-input"/></label>
                                    <label>"Stock " <input name="stock" inputmode="numeric" value=stock placeholder="∞" class="stock-input"/></label>
                                    <label class="check"><input type="checkbox" name="sold_out" checked=item.sold_out/>" Sold out"</label>
                                    <button type="submit" class="secondary">"Save"</button>
                                </ActionForm>
                            </li>
                        }
                    }
                />
            </ul>
            <h3>"Add an item"</h3>
            <ActionForm action=add node_ref=add_form attr:class="add-item">
                <input type="hidden" name="store" value=store/>
                <input name="category" maxlength="30" placeholder="Section, e.g. 사이드" required/>
                <input name="name" maxlength="60" placeholder="Name" required/>
                <input name="description" maxlength="200" placeholder="Description (optional)"/>
                <input name="price" inputmode="numeric" placeholder="Price in won" required/>
                <input name="stock" inputmode="numeric" placeholder="Stock (empty: unlimited)"/>
                <button type="submit">"Add item"</button>
            </ActionForm>
        </section>
    }
}

/// A stock as the editor shows it: empty for unlimited.
fn stock_text(stock: &Stock) -> String {
    match stock {
        Stock::Unlimited => String::new(),
        Stock::Limited(n) => n.to_string(),
    }
}

/// The new-order alarm (issue 5): flashes and beeps while a new order waits
/// unseen; stops when an owner taps it, accepts or rejects — on every tablet
/// of the store, because "seen" is stored, not local. A mute switch is kept
/// on this device.
#[component]
fn Alarm(ringing: bool, store: String, acknowledge: ServerAction<AcknowledgeOrders>) -> impl IntoView {
    let muted = RwSignal::new(false);
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let off = sound::muted();
            muted.set(off);
            sound::ring(ringing && !off);
        }
    });
    on_cleanup(|| {
        #[cfg(feature = "hydrate")]
        sound::ring(false);
    });
    let toggle = move |_| {
        let now = !muted.get_untracked();
        muted.set(now);
        #[cfg(feature = "hydrate")]
        {
            sound::set_muted(now);
            sound::ring(ringing && !now);
        }
    };
    view! {
        <div class="alarm" class:ringing=ringing data-testid="alarm" data-alarm=if ringing { "ringing" } else { "quiet" }>
            {ringing.then(|| view! {
                <ActionForm action=acknowledge attr:class="inline">
                    <input type="hidden" name="store" value=store.clone()/>
                    <button type="submit" class="alarm-button" data-testid="acknowledge">"🔔 New order! Tap to stop the alarm"</button>
                </ActionForm>
            })}
            <button type="button" class="secondary mute" on:click=toggle data-testid="mute">
                {move || if muted.get() { "🔇 Sound off" } else { "🔊 Sound on" }}
            </button>
        </div>
    }
}

/// The alarm's beep, with the Web Audio API (browsers let it sound after the
/// first tap on the page).
#[cfg(feature = "hydrate")]
mod sound {
    use leptos::prelude::*;
    use std::cell::RefCell;
    use std::time::Duration;

    const MUTED: &str = "baedal.alarm.muted";

    thread_local! {
        static BEEPING: RefCell<Option<IntervalHandle>> = const { RefCell::new(None) };
        static AUDIO: RefCell<Option<web_sys::AudioContext>> = const { RefCell::new(None) };
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    pub fn muted() -> bool {
        storage().and_then(|s| s.get_item(MUTED).ok().flatten()).as_deref() == Some("1")
    }

    pub fn set_muted(muted: bool) {
        if let Some(s) = storage() {
            let _ = s.set_item(MUTED, if muted { "1" } else { "0" });
        }
    }

    fn beep() {
        AUDIO.with(|audio| {
            let mut audio = audio.borrow_mut();
            if audio.is_none() {
                *audio = web_sys::AudioContext::new().ok();
            }
            let Some(ctx) = audio.as_ref() else { return };
            if ctx.state() == web_sys::AudioContextState::Suspended {
                let _ = ctx.resume();
            }
            let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
                return;
            };
            osc.frequency().set_value(880.0);
            gain.gain().set_value(0.3);
            let now = ctx.current_time();
            let _ = osc.connect_with_audio_node(&gain);
            let _ = gain.connect_with_audio_node(&ctx.destination());
            let _ = osc.start();
            let _ = osc.stop_with_when(now + 0.35);
        });
    }

    /// Starts or stops the repeating beep.
    pub fn ring(on: bool) {
        BEEPING.with(|b| {
            let mut b = b.borrow_mut();
            match (on, b.is_some()) {
                (true, false) => {
                    beep();
                    *b = set_interval_with_handle(beep, Duration::from_millis(1_200)).ok();
                }
                (false, true) => {
                    if let Some(handle) = b.take() {
                        handle.clear();
                    }
                }
                _ => {}
            }
        });
    }
}
