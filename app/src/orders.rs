//! The customer's side of an order (issue 4): cart, checkout, order history,
//! one order's progress with cancel and review, and the notification centre.

// Server functions take a form's fields as arguments, and the client stubs
// the macro generates repeat them.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use domain::shop::{Cart, Notification, OrderView, StoreReviews};
use domain::{DeliveryType, Fulfilment, Money, OrderStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

/// Server-side helpers shared by the order, owner and rider screens.
#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::error::{capitalise as capital, denied, internal, respond, AppError};
    use accounts::authz::{authorize, Action};
    use ordering::{Caller, OrderingError};

    /// The logged-in user allowed to do `action`, as the ordering context's caller.
    pub async fn caller(action: Action) -> Result<(Caller, crate::state::AppState), AppError> {
        let state = crate::state::app_state()?;
        let auth = crate::account::ssr::auth_session().await?;
        let user = authorize(&state.db, auth.user.as_ref().map(|u| &u.user), action)
            .await
            .map_err(denied)?;
        let caller = Caller {
            id: user.id,
            role: user.role,
            vehicle: user.vehicle,
            name: user.display_name.clone(),
        };
        Ok((caller, state))
    }

    /// The user-facing error for an ordering failure, with its status set.
    pub fn failed(error: OrderingError) -> AppError {
        use domain::OrderError;
        respond(match error {
            OrderingError::Invalid(fields) => AppError::Invalid(fields),
            OrderingError::Rejected(m) => AppError::Conflict(m),
            OrderingError::NotFound(m) => AppError::NotFound(m),
            OrderingError::Refused(OrderError::Forbidden(m)) => AppError::Forbidden(capital(&m)),
            OrderingError::Refused(OrderError::InvalidText(e)) => AppError::BadRequest(e.to_string()),
            OrderingError::Refused(OrderError::InvalidPrepMinutes) => AppError::Invalid(vec![domain::FieldError::new(
                "prep_minutes",
                OrderError::InvalidPrepMinutes.to_string(),
            )]),
            OrderingError::Refused(e) => AppError::Conflict(capital(&e.to_string())),
            OrderingError::PaymentDeclined(m) => AppError::PaymentDeclined(m),
            OrderingError::PaymentUnavailable(m) => AppError::Busy(m),
            OrderingError::Storage(e) => internal(e),
        })
    }

    /// Parses an id from a form or URL; a 404 when it is not a number.
    pub fn id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, AppError> {
        raw.trim()
            .parse()
            .map_err(|_| respond(AppError::NotFound(format!("There is no such {what}."))))
    }

    /// Parses a whole number from a form field; a field error when it is not one.
    pub fn number(raw: &str, field: &str, label: &str) -> Result<i64, AppError> {
        raw.trim().parse().map_err(|_| {
            respond(AppError::Invalid(vec![domain::FieldError::new(
                field,
                format!("{label} must be a whole number"),
            )]))
        })
    }

    /// Runs `command` on the order with id `order` for the user allowed to do
    /// `action`, then waits for the projections ([`settle`]).
    /// Runs inside an `order` span carrying `order_id`, so the command's log
    /// lines join the order's story (N5).
    pub async fn command(action: Action, order: &str, command: domain::OrderCommand) -> Result<(), AppError> {
        use tracing::Instrument;
        let (caller, state) = self::caller(action).await?;
        let order: domain::OrderId = id(order, "order")?;
        let span = tracing::info_span!("order", order_id = order.get(), user_id = caller.id.get());
        async move {
            let seq = ordering::lifecycle::act(&state.db, order, &command, &caller)
                .await
                .map_err(failed)?;
            tracing::info!(seq, command = ?command, "order command applied");
            settle(&state, seq).await;
            Ok(())
        }
        .instrument(span)
        .await
    }

    /// After a command: wake the consumers and wait (briefly) until the
    /// projections show it, so the next page load reads its own write.
    /// No wait while this replica's projection is stopped or failing (N1:
    /// commands stay fast while a consumer is down).
    pub async fn settle(state: &crate::state::AppState, seq: i64) {
        state.consumers.nudge();
        let projection_down = state.consumer_controls.iter().any(|c| {
            c.name() == ordering::views::CONSUMER
                && (c.mode() != eventlog::ConsumerMode::Running || c.failing_in_a_row() > 0)
        });
        if projection_down {
            return;
        }
        if !ordering::views::wait_for(&state.db, seq, 3_000).await {
            tracing::warn!(
                seq,
                "projections are behind; the page may show the previous state for a moment"
            );
        }
    }
}

/// The customer's cart at a store (`/stores/{id}`); `None` when nobody or
/// a non-customer is logged in (the store page then offers to log in), so the
/// page around it keeps its 200.
///
/// Errors: 404 for an unknown store.
#[server(endpoint = "cart")]
pub async fn get_cart(
    /// The store id.
    store: String,
) -> Result<Option<Cart>, AppError> {
    let state = crate::state::app_state()?;
    let auth = crate::account::ssr::auth_session().await?;
    let Some(user) = auth
        .user
        .as_ref()
        .map(|u| &u.user)
        .filter(|u| u.role == domain::Role::Customer)
    else {
        return Ok(None);
    };
    let store = ssr::id(&store, "store")?;
    ordering::cart::load(&state.db, user.id, store)
        .await
        .map(Some)
        .map_err(ssr::failed)
}

/// Adds `quantity` (default 1) of a menu item to the customer's cart at its store.
///
/// Errors: 401/403; 404 for an unknown item; 409 when sold out, short of
/// stock or over 99 (nothing changes); 422 for a quantity that is not a number.
#[server(endpoint = "cart_add")]
pub async fn add_to_cart(
    /// The menu item id.
    item: String,
    /// How many to add (1..=99); 1 when absent.
    quantity: Option<String>,
) -> Result<Cart, AppError> {
    let (caller, state) = ssr::caller(accounts::authz::Action::Shop).await?;
    let item = ssr::id(&item, "menu item")?;
    let quantity = match quantity.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        None => 1,
        Some(q) => ssr::number(q, "quantity", "Quantity")?,
    };
    ordering::cart::add(&state.db, caller.id, item, quantity)
        .await
        .map_err(ssr::failed)
}

/// Sets the quantity of a cart line; 0 removes it.
///
/// Errors: as [`add_to_cart`]; 404 when the item is not in the cart.
#[server(endpoint = "cart_set")]
pub async fn set_cart_quantity(
    /// The menu item id.
    item: String,
    /// The new quantity (0..=99).
    quantity: String,
) -> Result<Cart, AppError> {
    let (caller, state) = ssr::caller(accounts::authz::Action::Shop).await?;
    let item = ssr::id(&item, "menu item")?;
    let quantity = ssr::number(&quantity, "quantity", "Quantity")?;
    ordering::cart::set_quantity(&state.db, caller.id, item, quantity)
        .await
        .map_err(ssr::failed)
}

/// What the checkout page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutData {
    /// The cart being checked out.
    pub cart: Cart,
    /// A fresh idempotency key for this form (F3: a resubmit is the same checkout).
    pub key: String,
}

/// The cart at `store` with a fresh checkout key (`/checkout?store=…`).
///
/// Errors: 401/403; 404 for an unknown store.
#[server(endpoint = "checkout_page")]
pub async fn get_checkout(
    /// The store id.
    store: String,
) -> Result<CheckoutData, AppError> {
    let (caller, state) = ssr::caller(accounts::authz::Action::Shop).await?;
    let store = ssr::id(&store, "store")?;
    let cart = ordering::cart::load(&state.db, caller.id, store)
        .await
        .map_err(ssr::failed)?;
    Ok(CheckoutData {
        cart,
        key: ordering::checkout::new_key(),
    })
}

/// Places the order and pays for it (F3), then goes to `/orders/{id}`.
///
/// Errors: 401/403; 422 with field messages; 409 for an empty cart, a closed
/// or paused store, sold-out items or short stock; 402 for a declined card;
/// 503 when the payment service is busy. In every error case nothing reaches
/// the store and the cart is kept.
#[server(endpoint = "place_order")]
pub async fn place_order(
    /// The store id.
    store: String,
    /// `delivery` or `pickup`.
    fulfilment: String,
    /// For delivery: `walking`, `bicycle` or `motorbike`.
    delivery_type: Option<String>,
    /// For delivery: the address.
    address: Option<String>,
    /// A note to the store.
    note: Option<String>,
    /// The card number.
    card_number: String,
    /// The form's idempotency key.
    idempotency_key: String,
) -> Result<(), AppError> {
    let (caller, state) = ssr::caller(accounts::authz::Action::Shop).await?;
    let form = ordering::checkout::CheckoutForm {
        store: ssr::id(&store, "store")?,
        fulfilment,
        delivery_type,
        address: address.unwrap_or_default(),
        note: note.unwrap_or_default(),
        card_number,
        idempotency_key,
    };
    let placed = ordering::checkout::checkout(&state.db, state.payments.as_ref(), &caller, &form)
        .await
        .map_err(ssr::failed)?;
    if let Some(seq) = placed.seq {
        ssr::settle(&state, seq).await;
    }
    leptos_axum::redirect(&format!("/orders/{}", placed.order));
    Ok(())
}

/// The customer's orders, newest first (`/orders`).
///
/// Errors: 401/403.
#[server(endpoint = "my_orders")]
pub async fn my_orders() -> Result<Vec<OrderView>, AppError> {
    let (caller, state) = ssr::caller(accounts::authz::Action::Shop).await?;
    ordering::views::of_customer(&state.db, caller.id)
        .await
        .map_err(ssr::failed)
}

/// One order (`/orders/{id}`), for its customer, its store's owner, its rider
/// or an admin.
///
/// Errors: 401; 404 for an unknown order or someone else's.
#[server(endpoint = "order")]
pub async fn get_order(
    /// The order id.
    id: String,
) -> Result<OrderView, AppError> {
    let (caller, state) = ssr::caller(accounts::authz::Action::UseOrders).await?;
    let id = ssr::id(&id, "order")?;
    ordering::views::order(&state.db, id)
        .await
        .map_err(ssr::failed)?
        .filter(|view| ordering::views::visible_to(view, &caller))
        .ok_or_else(|| ssr::failed(ordering::OrderingError::NotFound("There is no such order.".into())))
}

/// Cancels the customer's order while the store has not finished cooking (F7).
///
/// Errors: 401; 404; 409 once it is ready or already over.
#[server(endpoint = "cancel_order")]
pub async fn cancel_order(
    /// The order id.
    id: String,
) -> Result<(), AppError> {
    ssr::command(accounts::authz::Action::UseOrders, &id, domain::OrderCommand::Cancel).await
}

/// Reviews a completed order (F11): 1–5 stars, a comment of at most 1000 characters.
///
/// Errors: 401/403; 404; 422 for bad stars or comment; 409 before completion
/// or for a second review.
#[server(endpoint = "review_order")]
pub async fn review_order(
    /// The order id.
    id: String,
    /// 1 to 5.
    stars: String,
    /// The comment; may be empty.
    comment: Option<String>,
) -> Result<(), AppError> {
    let (caller, state) = ssr::caller(accounts::authz::Action::Shop).await?;
    let id = ssr::id(&id, "order")?;
    let stars = ssr::number(&stars, "stars", "Stars")?;
    let seq = ordering::reviews::write(&state.db, id, &caller, stars, comment.as_deref().unwrap_or_default())
        .await
        .map_err(ssr::failed)?;
    ssr::settle(&state, seq).await;
    Ok(())
}

/// A store's rating and latest reviews (public).
///
/// Errors: 404 for an id that is not a number.
#[server(endpoint = "store_reviews")]
pub async fn get_store_reviews(
    /// The store id.
    store: String,
) -> Result<StoreReviews, AppError> {
    let state = crate::state::app_state()?;
    let store = ssr::id(&store, "store")?;
    ordering::reviews::of_store(&state.db, store).await.map_err(ssr::failed)
}

/// The user's notification centre, newest first (F10).
///
/// Errors: 401.
#[server(endpoint = "notifications")]
pub async fn notifications() -> Result<Vec<Notification>, AppError> {
    let (caller, state) = ssr::caller(accounts::authz::Action::ViewNotifications).await?;
    ordering::views::notifications(&state.db, caller.id)
        .await
        .map_err(ssr::failed)
}

/// How many notifications are unread; 0 when logged out (never an error
/// status: every page's header asks).
#[server(endpoint = "unread_count")]
pub async fn unread_count() -> Result<i64, AppError> {
    let state = crate::state::app_state()?;
    let auth = crate::account::ssr::auth_session().await?;
    let Some(user) = auth.user.as_ref() else {
        return Ok(0);
    };
    ordering::views::unread_count(&state.db, user.user.id)
        .await
        .map_err(ssr::failed)
}

/// Marks the notifications up to `seq` as read.
///
/// Errors: 401; 422 when `seq` is not a number.
#[server(endpoint = "notifications_read")]
pub async fn mark_notifications_read(
    /// The newest notification's sequence number the user has seen.
    seq: String,
) -> Result<(), AppError> {
    let (caller, state) = ssr::caller(accounts::authz::Action::ViewNotifications).await?;
    let seq = ssr::number(&seq, "seq", "The notification number")?;
    ordering::views::mark_read(&state.db, caller.id, seq)
        .await
        .map_err(ssr::failed)
}

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

/// The cart panel on a store page: lines with − and +, subtotal, checkout.
#[component]
pub fn CartPanel(
    /// The store id.
    store: domain::StoreId,
    /// The cart, loaded by the page (resources are created outside
    /// Suspense: leptos#4866, a resource created inside one can hang SSR).
    cart: Resource<Result<Option<Cart>, AppError>>,
    /// The page's "Add" buttons.
    add: ServerAction<AddToCart>,
    /// The panel's − and + buttons.
    set: ServerAction<SetCartQuantity>,
) -> impl IntoView {
    let error = move || {
        add.value()
            .get()
            .and_then(Result::err)
            .or_else(|| set.value().get().and_then(Result::err))
    };
    view! {
        <aside class="cart" data-testid="cart">
            <h2>"Your cart"</h2>
            {move || form_error(error())}
            <Transition fallback=|| view! { <p class="loading">"Loading cart…"</p> }>
                {move || Suspend::new(async move {
                    match cart.await {
                        Ok(None) => view! {
                            <p class="empty"><a href=format!("/login?next=/stores/{store}")>"Log in"</a>" with a customer account to order."</p>
                        }.into_any(),
                        Ok(Some(cart)) if cart.lines.is_empty() => view! {
                            <p class="empty">"Your cart is empty. Add something from the menu."</p>
                        }.into_any(),
                        Ok(Some(cart)) => {
                            let checkout = format!("/checkout?store={}", cart.store);
                            let blocked = cart.store_problem.clone();
                            view! {
                                <ul class="cart-lines">
                                    {cart.lines.into_iter().map(|line| {
                                        let item = line.item.to_string();
                                        let minus = (line.quantity - 1).to_string();
                                        let plus = (line.quantity + 1).to_string();
                                        let item2 = item.clone();
                                        let item_attr = item.clone();
                                        view! {
                                            <li class="cart-line" data-item-id=item_attr>
                                                <span class="cart-name">{line.name}</span>
                                                <ActionForm action=set attr:class="qty">
                                                    <input type="hidden" name="item" value=item/>
                                                    <input type="hidden" name="quantity" value=minus/>
                                                    <button type="submit" class="round" aria-label="One less">"−"</button>
                                                </ActionForm>
                                                <span class="cart-qty" data-testid="cart-qty">{line.quantity}</span>
                                                <ActionForm action=set attr:class="qty">
                                                    <input type="hidden" name="item" value=item2/>
                                                    <input type="hidden" name="quantity" value=plus/>
                                                    <button type="submit" class="round" aria-label="One more">"+"</button>
                                                </ActionForm>
                                                <span class="price">{line.line_total.to_string()}</span>
                                                {line.problem.map(|p| view! { <p class="field-error">{p}</p> })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                <p class="cart-total">"Subtotal " <strong data-testid="cart-subtotal">{cart.subtotal.to_string()}</strong></p>
                                {blocked.map(|b| view! { <p class="notice">{b}</p> })}
                                <a class="button wide" href=checkout data-testid="go-checkout">"Go to checkout"</a>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </aside>
    }
}

/// The reviews block on a store page (F11).
#[component]
pub fn StoreReviewsBlock(
    /// The store's reviews, loaded by the page.
    reviews: Resource<Result<StoreReviews, AppError>>,
) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                reviews.await.ok().map(|r| view! {
                    <section class="reviews" data-testid="reviews">
                        <h2>"Reviews"</h2>
                        {if r.count == 0 {
                            view! { <p class="empty">"No reviews yet."</p> }.into_any()
                        } else {
                            view! {
                                <p class="rating" data-testid="rating">
                                    {format!("★ {}.{} · {} review{}", r.average_tenths / 10, r.average_tenths % 10, r.count, if r.count == 1 { "" } else { "s" })}
                                </p>
                                <ul>
                                    {r.recent.into_iter().map(|review| view! {
                                        <li class="review">
                                            <span class="stars">{"★".repeat(review.stars.into())}{"☆".repeat(5 - usize::from(review.stars))}</span>
                                            " " <strong>{review.author}</strong>
                                            <p>{review.comment}</p>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    </section>
                })
            })}
        </Suspense>
    }
}

/// `/checkout?store={id}`: fulfilment, delivery type with its fee, address,
/// note, card; subtotal, fee and total in won.
#[component]
pub fn CheckoutPage() -> impl IntoView {
    let query = use_query_map();
    let store = move || query.read().get("store").unwrap_or_default();
    let page = Resource::new(store, get_checkout);
    let place = ServerAction::<PlaceOrder>::new();
    view! {
        <Title text="Checkout"/>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <CheckoutForm page place/> }.into_any(),
                    Err(error) => crate::account::refused(error, &format!("/checkout?store={}", store())),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CheckoutForm(page: CheckoutData, place: ServerAction<PlaceOrder>) -> impl IntoView {
    let cart = page.cart;
    let default_mode = if cart.offers_delivery { "delivery" } else { "pickup" };
    let mode = RwSignal::new(default_mode.to_string());
    let vehicle = RwSignal::new(DeliveryType::Motorbike);
    let fulfilment = move || {
        if mode.get() == "pickup" {
            Fulfilment::Pickup
        } else {
            Fulfilment::Delivery(vehicle.get())
        }
    };
    let subtotal = cart.subtotal;
    let fee = move || fulfilment().fee();
    let total = move || subtotal.checked_add(fee()).unwrap_or(Money::ZERO);
    let error = move || place.value().get().and_then(Result::err);
    // A busy answer (load shed, payment breaker open, gateway down) is
    // retried by itself after `Retry-After`, with the same idempotency key
    // (issue 6, N3): the customer is told, and nothing is ordered twice.
    let form = NodeRef::<leptos::html::Form>::new();
    let retries = RwSignal::new(0u32);
    let waiting = RwSignal::new(false);
    Effect::new(move |_| {
        let busy = matches!(place.value().get(), Some(Err(AppError::Busy(_))));
        if !busy || retries.get_untracked() >= CHECKOUT_RETRIES {
            return;
        }
        retries.update(|n| *n += 1);
        waiting.set(true);
        set_timeout(
            move || {
                waiting.set(false);
                if let Some(form) = form.get_untracked() {
                    let _ = form.request_submit();
                }
            },
            std::time::Duration::from_secs(crate::error::BUSY_RETRY_AFTER_SECS),
        );
    });
    let field = move |name: &'static str| {
        move || {
            error()
                .and_then(|e| e.field(name))
                .map(|m| view! { <p class="field-error" data-field=name>{m}</p> })
        }
    };
    let back = format!("/stores/{}", cart.store);
    if cart.lines.is_empty() {
        return view! {
            <section class="form-card">
                <h1>"Checkout"</h1>
                <p class="empty">"Your cart at " {cart.store_name} " is empty."</p>
                <a class="button" href=back>"Back to the menu"</a>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="form-card checkout" data-testid="checkout">
            <a class="back" href=back>"← " {cart.store_name.clone()}</a>
            <h1>"Checkout"</h1>
            <ul class="summary">
                {cart.lines.iter().map(|l| view! {
                    <li><span>{format!("{} × {}", l.name, l.quantity)}</span><span class="price">{l.line_total.to_string()}</span></li>
                }).collect_view()}
            </ul>
            {cart.store_problem.clone().map(|p| view! { <p class="notice">{p}</p> })}
            <ActionForm action=place node_ref=form>
                <input type="hidden" name="store" value=cart.store.to_string()/>
                <input type="hidden" name="idempotency_key" value=page.key/>
                <fieldset class="roles">
                    <legend>"How do you want it?"</legend>
                    {cart.offers_delivery.then(|| view! {
                        <label><input type="radio" name="fulfilment" value="delivery" checked=default_mode == "delivery"
                            on:change=move |_| mode.set("delivery".into())/>" Delivery"</label>
                    })}
                    {cart.offers_pickup.then(|| view! {
                        <label><input type="radio" name="fulfilment" value="pickup" checked=default_mode == "pickup"
                            on:change=move |_| mode.set("pickup".into())/>" Pickup at the store"</label>
                    })}
                </fieldset>
                {field("fulfilment")}
                <div class="role-fields" class:hidden=move || mode.get() != "delivery">
                    <label for="delivery-type">"Delivered by"</label>
                    <select id="delivery-type" name="delivery_type"
                        on:change=move |ev| if let Ok(t) = event_target_value(&ev).parse() { vehicle.set(t) }>
                        {DeliveryType::ALL.iter().map(|t| view! {
                            <option value=t.as_str() selected=*t == DeliveryType::Motorbike>
                                {format!("{} (+{})", t.label(), t.fee())}
                            </option>
                        }).collect_view()}
                    </select>
                    {field("delivery_type")}
                    <label for="address">"Delivery address"</label>
                    <input id="address" name="address" maxlength="200" autocomplete="street-address"
                        placeholder="e.g. 서울 강남구 테헤란로 212, 1201호"/>
                    {field("address")}
                </div>
                <label for="note">"Note to the store (optional)"</label>
                <textarea id="note" name="note" maxlength="200" rows="2" placeholder="e.g. no onions, please"></textarea>
                {field("note")}
                <label for="card">"Card number"</label>
                <input id="card" name="card_number" inputmode="numeric" autocomplete="cc-number" required
                    placeholder="4242 4242 4242 4242"/>
                <p class="hint">"Sandbox: 4242 4242 4242 4242 is approved, 4000 0000 0000 0002 is declined. "
                    "Your card is only charged when the order is delivered or collected."</p>
                {field("card_number")}
                <dl class="totals">
                    <dt>"Subtotal"</dt><dd>{subtotal.to_string()}</dd>
                    <dt>"Delivery fee"</dt><dd data-testid="fee">{move || fee().to_string()}</dd>
                    <dt>"Total"</dt><dd data-testid="total"><strong>{move || total().to_string()}</strong></dd>
                </dl>
                {move || form_error(error().filter(|e| !matches!(e, AppError::Invalid(_))))}
                {move || waiting.get().then(|| view! {
                    <p class="notice" role="status" data-testid="retrying">
                        {format!(
                            "Trying again in {} seconds (attempt {} of {})…",
                            crate::error::BUSY_RETRY_AFTER_SECS,
                            retries.get() + 1,
                            CHECKOUT_RETRIES + 1
                        )}
                    </p>
                })}
                <button type="submit" class="wide" disabled=move || place.pending().get() || waiting.get() data-testid="place-order">
                    {move || if place.pending().get() || waiting.get() { "Paying…".to_string() } else { format!("Pay {}", total()) }}
                </button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// How often the checkout page retries a busy answer by itself before it
/// leaves the next try to the customer.
pub const CHECKOUT_RETRIES: u32 = 3;

/// `/orders`: the customer's order history.
#[component]
pub fn OrdersPage() -> impl IntoView {
    let live = crate::live::use_live();
    let orders = Resource::new(move || live.tick.get(), |_| my_orders());
    view! {
        <Title text="Your orders"/>
        <section class="hero"><h1>"Your orders"</h1></section>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match orders.await {
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty">"No orders yet. " <a href="/">"Find something tasty"</a></p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="order-list" data-testid="order-list">
                            {list.into_iter().map(|o| view! {
                                <li class="store-card"><a href=format!("/orders/{}", o.id)>
                                    <div class="store-card-head">
                                        <h2>{o.placed.store_name.clone()}</h2>
                                        {status_badge(o.status)}
                                    </div>
                                    <p class="store-meta">
                                        <span>{format!("#{}", o.id)}</span>
                                        <span>{kst_time(o.placed_at_ms)}</span>
                                        <span>{o.placed.total.to_string()}</span>
                                    </p>
                                </a></li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => crate::account::refused(error, "/orders"),
                }
            })}
        </Transition>
    }
}

/// A status as a coloured badge.
pub fn status_badge(status: OrderStatus) -> impl IntoView {
    let class = match status {
        OrderStatus::Delivered | OrderStatus::Collected => "badge open",
        OrderStatus::Rejected | OrderStatus::Cancelled | OrderStatus::PaymentFailed => "badge closed",
        _ => "badge paused",
    };
    view! { <span class=class data-status=status.as_str()>{status.label()}</span> }
}

/// The steps an order goes through, for the progress bar.
fn steps(fulfilment: Fulfilment) -> Vec<(OrderStatus, &'static str)> {
    let mut steps = vec![
        (OrderStatus::Placed, "Placed"),
        (OrderStatus::Accepted, "Preparing"),
        (OrderStatus::Ready, "Ready"),
    ];
    match fulfilment {
        Fulfilment::Delivery(_) => {
            steps.push((OrderStatus::PickedUp, "On the way"));
            steps.push((OrderStatus::Delivered, "Delivered"));
        }
        Fulfilment::Pickup => steps.push((OrderStatus::Collected, "Collected")),
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
    let live = crate::live::use_live();
    let order = Resource::new(
        move || (id(), cancel.version().get(), review.version().get(), live.tick.get()),
        |(id, ..)| get_order(id),
    );
    view! {
        <Title text="Your order"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match order.await {
                    Ok(order) => view! { <OrderDetail order cancel review/> }.into_any(),
                    Err(error) => crate::account::refused(error, &format!("/orders/{}", id())),
                }
            })}
        </Transition>
    }
}

#[component]
fn OrderDetail(
    order: OrderView,
    cancel: ServerAction<CancelOrder>,
    review: ServerAction<ReviewOrder>,
) -> impl IntoView {
    let status = order.status;
    let reached = |step: OrderStatus| {
        let rank = |s: OrderStatus| OrderStatus::ALL.iter().position(|x| *x == s).unwrap_or(0);
        !matches!(status, OrderStatus::Rejected | OrderStatus::Cancelled) && rank(status) >= rank(step)
    };
    let headline = match status {
        OrderStatus::Accepted => match order.ready_by_ms {
            Some(ms) => format!("Being prepared — ready around {}", kst_time(ms)),
            None => "Being prepared".into(),
        },
        OrderStatus::Ready if order.placed.fulfilment == Fulfilment::Pickup => {
            format!("Your order is ready! Collect it at {}", order.placed.store_address)
        }
        OrderStatus::Rejected | OrderStatus::Cancelled => {
            format!("{} — {}", status.label(), order.reason.clone().unwrap_or_default())
        }
        other => other.label().to_string(),
    };
    let can_cancel = matches!(status, OrderStatus::Placed | OrderStatus::Accepted);
    let too_late = matches!(status, OrderStatus::Ready | OrderStatus::PickedUp);
    let id = order.id.to_string();
    let cancel_error = move || cancel.value().get().and_then(Result::err);
    let review_error = move || review.value().get().and_then(Result::err);
    let placed = order.placed.clone();
    view! {
        <a class="back" href="/orders">"← Your orders"</a>
        <section class="order" data-testid="order" data-status=status.as_str()>
            <div class="store-card-head">
                <h1>{format!("Order #{} · {}", order.id, placed.store_name)}</h1>
                {status_badge(status)}
            </div>
            <p class="headline" data-testid="order-headline">{headline}</p>
            {(!matches!(status, OrderStatus::Rejected | OrderStatus::Cancelled)).then(|| view! {
                <ol class="progress">
                    {steps(placed.fulfilment).into_iter().map(|(s, label)| view! {
                        <li class:done=reached(s)>{label}</li>
                    }).collect_view()}
                </ol>
            })}
            <ul class="summary">
                {placed.lines.iter().map(|l| view! {
                    <li><span>{format!("{} × {}", l.name, l.quantity)}</span>
                        <span class="price">{l.line_total().to_string()}</span></li>
                }).collect_view()}
            </ul>
            <dl class="totals">
                <dt>"Subtotal"</dt><dd>{placed.subtotal.to_string()}</dd>
                {(placed.fulfilment != Fulfilment::Pickup).then(|| view! {
                    <dt>"Delivery fee"</dt><dd>{placed.fee.to_string()}</dd>
                })}
                <dt>"Total"</dt><dd><strong>{placed.total.to_string()}</strong></dd>
            </dl>
            <p class="store-meta">
                {match placed.fulfilment {
                    Fulfilment::Delivery(t) => format!("{} delivery to {}", t.label(), placed.address),
                    Fulfilment::Pickup => format!("Pickup at {}", placed.store_address),
                }}
            </p>
            {(!placed.note.is_empty()).then(|| view! { <p class="note">"Note: " {placed.note.clone()}</p> })}
            {can_cancel.then(|| {
                let id = id.clone();
                view! {
                    <ActionForm action=cancel>
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class="secondary" data-testid="cancel-order">"Cancel order"</button>
                    </ActionForm>
                }
            })}
            {too_late.then(|| view! {
                <p class="hint">"The store has finished preparing this order, so it can no longer be cancelled."</p>
            })}
            {move || form_error(cancel_error())}
            {match (status.is_completed(), order.review.clone()) {
                (true, Some(r)) => Some(view! {
                    <section class="reviews"><h2>"Your review"</h2>
                        <p class="stars">{"★".repeat(r.stars.into())}</p><p>{r.comment}</p></section>
                }.into_any()),
                (true, None) => Some(view! {
                    <section class="form-card review-form" data-testid="review-form">
                        <h2>"How was it?"</h2>
                        <ActionForm action=review>
                            <input type="hidden" name="id" value=id.clone()/>
                            <fieldset class="roles stars-input">
                                <legend>"Stars"</legend>
                                {(1..=5).rev().map(|n| view! {
                                    <label><input type="radio" name="stars" value=n.to_string() checked=n == 5/>{format!(" {n}★")}</label>
                                }).collect_view()}
                            </fieldset>
                            <label for="comment">"Comment (optional, up to 1000 characters)"</label>
                            <textarea id="comment" name="comment" maxlength="1000" rows="3"></textarea>
                            {move || form_error(review_error())}
                            <button type="submit" class="wide">"Post review"</button>
                        </ActionForm>
                    </section>
                }.into_any()),
                _ => None,
            }}
        </section>
    }
}

/// `/notifications`: every status change of the user's orders (F10).
#[component]
pub fn NotificationsPage() -> impl IntoView {
    let read = ServerAction::<MarkNotificationsRead>::new();
    let live = crate::live::use_live();
    let list = Resource::new(move || (live.tick.get(), read.version().get()), |_| notifications());
    view! {
        <Title text="Notifications"/>
        <section class="hero"><h1>"Notifications"</h1></section>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty">"Nothing yet."</p> }.into_any(),
                    Ok(list) => {
                        let newest = list.first().map(|n| n.seq).unwrap_or(0);
                        view! {
                            <ActionForm action=read>
                                <input type="hidden" name="seq" value=newest.to_string()/>
                                <button type="submit" class="secondary" data-testid="mark-read">"Mark all as read"</button>
                            </ActionForm>
                            <ul class="notifications" data-testid="notifications">
                                {list.into_iter().map(|n| view! {
                                    <li class:unread=n.unread>
                                        <a href=format!("/orders/{}", n.order)>{n.message}</a>
                                        <span class="time">{kst_time(n.created_at_ms)}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                    Err(error) => crate::account::refused(error, "/notifications"),
                }
            })}
        </Transition>
    }
}

/// The bell in the top bar with the unread count.
#[component]
pub fn NotificationBell(
    /// The unread count, loaded by the account menu around it.
    count: Resource<Result<i64, AppError>>,
) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match count.await {
                    Ok(n) if n > 0 => view! {
                        <a class="bell" href="/notifications" aria-label=format!("{n} unread notifications")>
                            "🔔" <span class="count" data-testid="unread">{n}</span>
                        </a>
                    }.into_any(),
                    _ => view! { <a class="bell" href="/notifications" aria-label="Notifications">"🔔"</a> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The unread count for the bell, refreshed on login, logout and every live event.
pub fn unread_resource() -> Resource<Result<i64, AppError>> {
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

#[cfg(test)]
mod tests {
    use super::kst_time;

    #[test]
    fn times_are_shown_in_korea() {
        assert_eq!(kst_time(0), "09:00");
        assert_eq!(kst_time(15 * 3_600_000 + 5 * 60_000), "00:05");
    }
}
