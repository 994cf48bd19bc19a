//! `/checkout?store={id}` (requirements F2, F3): delivery by walking,
//! bicycle or motorbike, or pickup; the total in won; paying places the
//! order, or says clearly why not and keeps the cart.

// Server functions take a form's fields as arguments, and the client stubs
// the macro generates repeat them.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{form_error, problem_text, won};
use domain::shop::{Cart, CheckoutDraft};
use domain::{DeliveryType, Fulfilment, Money};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

/// What the checkout page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutData {
    /// The cart being checked out.
    pub cart: Cart,
    /// A fresh idempotency key for this form (F3: a resubmit is the same checkout).
    pub key: String,
    /// Whether the store deducts from its employees' pay (a canteen, seed
    /// 003), with the customer's employee number there when they have one.
    pub payroll: Option<Option<String>>,
    /// What the customer typed into their last refused checkout at this
    /// store, to fill the form in again (no card number).
    pub draft: Option<CheckoutDraft>,
}

/// The session's key for the last refused checkout's draft, kept as
/// `(store id, CheckoutDraft)`.
#[cfg(feature = "ssr")]
const DRAFT: &str = "checkout_draft";

/// The draft this session keeps for `store`, if any.
#[cfg(feature = "ssr")]
async fn draft_for(store: domain::StoreId) -> Option<CheckoutDraft> {
    let session = crate::server::auth_session().await.ok()?.session;
    let kept: Option<(i64, CheckoutDraft)> = session.get(DRAFT).await.ok().flatten();
    kept.filter(|(at, _)| *at == store.get()).map(|(_, draft)| draft)
}

/// Keeps `form`'s draft after a refusal, or forgets the draft once an
/// order is placed. The session is written only when this changes it.
#[cfg(feature = "ssr")]
async fn remember(form: &domain::shop::CheckoutForm, refused: bool) {
    let Ok(auth) = crate::server::auth_session().await else {
        return;
    };
    let session = auth.session;
    let kept: Option<(i64, CheckoutDraft)> = session.get(DRAFT).await.ok().flatten();
    let result = if refused {
        let draft = (form.store.get(), CheckoutDraft::of(form));
        if kept.as_ref() == Some(&draft) {
            return;
        }
        session.insert(DRAFT, draft).await
    } else if kept.is_some() {
        session.remove::<(i64, CheckoutDraft)>(DRAFT).await.map(|_| ())
    } else {
        return;
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "cannot keep the checkout's draft in the session");
    }
}

/// The cart at `store` with a fresh checkout key (`/checkout?store=…`).
///
/// Errors: 401/403; 404 for an unknown store.
#[server(endpoint = "checkout_page", output = crate::codec::Json)]
pub async fn get_checkout(
    /// The store id.
    store: String,
) -> Result<CheckoutData, AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::Shop).await?;
    let store = crate::server::id(&store, domain::problem::Thing::Store)?;
    let cart = ordering::cart::load(&state.db, caller.id, store)
        .await
        .map_err(AppError::from)?;
    let kind = catalog::store(&state.db, store)
        .await
        .map_err(AppError::from)?
        .map(|s| s.kind);
    let payroll = match kind {
        Some(kind) if domain::PaymentMethod::Payroll.offered_by(kind) => Some(
            payment::payroll::number_of(&state.db, store, caller.id)
                .await
                .map_err(AppError::from)?,
        ),
        _ => None,
    };
    Ok(CheckoutData {
        cart,
        key: ordering::checkout::new_key(),
        payroll,
        draft: draft_for(store).await,
    })
}

/// Places the order and pays for it (F3), then goes to `/orders/{id}`.
///
/// Errors: 401/403; 422 with field messages; 409 for an empty cart, a closed
/// or paused store, sold-out items or short stock; 402 for a declined card;
/// 429 when this client address placed too many checkouts lately (counted
/// once the form is valid, so a mistyped form costs nothing; issue 14);
/// 503 when the payment service is busy. In every error case nothing reaches
/// the store and the cart is kept.
#[server(endpoint = "place_order", output = crate::codec::Json)]
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
    /// `card` (the default) or `payroll` (canteens).
    payment_method: Option<String>,
    /// The card number, for a card.
    card_number: Option<String>,
    /// The employee number on the staff card, for a payroll deduction.
    employee_number: Option<String>,
    /// The form's idempotency key.
    idempotency_key: String,
) -> Result<(), AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::Shop).await?;
    let form = domain::shop::CheckoutForm {
        store: crate::server::id(&store, domain::problem::Thing::Store)?,
        fulfilment,
        delivery_type,
        address: address.unwrap_or_default(),
        note: note.unwrap_or_default(),
        payment_method: payment_method.unwrap_or_default(),
        card_number: card_number.unwrap_or_default(),
        employee_number: employee_number.unwrap_or_default(),
        idempotency_key,
    };
    let placed = async {
        let request = domain::shop::CheckoutRequest::parse(&form)
            .map_err(|fields| crate::error::respond(AppError::Invalid(fields)))?;
        crate::server::limit_checkouts(&state, &crate::server::client().await)?;
        Ok::<_, AppError>(ordering::checkout::checkout(&state.db, state.payments.as_ref(), &caller, &request).await?)
    }
    .await;
    remember(&form, placed.is_err()).await;
    let placed = placed?;
    if let Some(seq) = placed.seq {
        crate::server::settle(&state, placed.order, seq).await;
    }
    crate::nav::redirect(&format!("/orders/{}", placed.order));
    Ok(())
}

/// `/checkout?store={id}`: fulfilment, delivery type with its fee, address,
/// note, card; subtotal, fee and total in won.
#[component]
pub fn CheckoutPage() -> impl IntoView {
    let query = use_query_map();
    let store = move || query.read().get("store").unwrap_or_default();
    let page = Resource::new(store, get_checkout);
    let place = ServerAction::<PlaceOrder>::new();
    let i18n = use_i18n();
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, checkout.title).to_string())/>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <CheckoutForm page place/> }.into_any(),
                    Err(error) => crate::ui::refused(error, &format!("/checkout?store={}", crate::nav::encode_component(&store()))),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CheckoutForm(page: CheckoutData, place: ServerAction<PlaceOrder>) -> impl IntoView {
    let cart = page.cart;
    let kind = cart.store_kind;
    let payroll = page.payroll.clone();
    // A refused checkout comes back as it was typed (the draft), as far as
    // the store still offers it.
    let draft = page.draft.unwrap_or_default();
    // A canteen's employees pay with their staff card by default (seed 003).
    let method = match draft.payment_method.as_str() {
        "card" => "card",
        _ if payroll.is_some() => "payroll",
        _ => "card",
    };
    let method = RwSignal::new(method.to_string());
    let default_mode = match draft.fulfilment.as_str() {
        "delivery" if cart.offers_delivery => "delivery",
        "pickup" if cart.offers_pickup => "pickup",
        _ if cart.offers_delivery => "delivery",
        _ => "pickup",
    };
    let mode = RwSignal::new(default_mode.to_string());
    let chosen_vehicle = draft
        .delivery_type
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or(DeliveryType::Motorbike);
    let vehicle = RwSignal::new(chosen_vehicle);
    let payroll = payroll.map(|number| Some(draft.employee_number.clone()).filter(|n| !n.is_empty()).or(number));
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
    let field = move |name: &'static str| move || crate::ui::field_problem(name, error().and_then(|e| e.field(name)));
    let i18n = use_i18n();
    let back = format!("/stores/{}", cart.store);
    if cart.lines.is_empty() {
        return view! {
            <section class="form-card">
                <h1>{t!(i18n, checkout.title)}</h1>
                <p class="empty">{t!(i18n, checkout.empty, store = cart.store_name.clone())}</p>
                <a class="button" href=back>{t!(i18n, checkout.back_to_menu)}</a>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="form-card checkout" data-testid="checkout">
            <a class="back" href=back>"← " {cart.store_name.clone()}</a>
            <h1>{t!(i18n, checkout.title)}</h1>
            <ul class="summary">
                {cart.lines.iter().map(|l| view! {
                    <li><span>{format!("{} × {}", l.name, l.quantity)}</span><span class="price">{won(l.line_total)}</span></li>
                }).collect_view()}
            </ul>
            {cart.store_problem.clone().map(|p| view! { <p class="notice">{problem_text(p)}</p> })}
            {super::cart::removed_notice(&cart.removed)}
            <ActionForm action=place node_ref=form>
                <input type="hidden" name="store" value=cart.store.to_string()/>
                <input type="hidden" name="idempotency_key" value=page.key/>
                <fieldset class="roles">
                    <legend>{t!(i18n, checkout.how)}</legend>
                    {cart.offers_delivery.then(|| view! {
                        <label><input type="radio" name="fulfilment" value="delivery" checked=default_mode == "delivery"
                            on:change=move |_| mode.set("delivery".into())/>" " {move || crate::words::delivery_choice(i18n.get_locale(), kind)}</label>
                    })}
                    {cart.offers_pickup.then(|| view! {
                        <label><input type="radio" name="fulfilment" value="pickup" checked=default_mode == "pickup"
                            on:change=move |_| mode.set("pickup".into())/>" " {move || crate::words::pickup_choice(i18n.get_locale(), kind)}</label>
                    })}
                </fieldset>
                {field("fulfilment")}
                <div class="role-fields" class:hidden=move || mode.get() != "delivery">
                    <label for="delivery-type">{move || crate::words::vehicle_label(i18n.get_locale(), kind)}</label>
                    <select id="delivery-type" name="delivery_type"
                        on:change=move |ev| if let Ok(t) = event_target_value(&ev).parse() { vehicle.set(t) }>
                        {DeliveryType::ALL.iter().map(|t| view! {
                            <option value=t.as_str() selected=*t == chosen_vehicle>
                                {move || format!("{} (+{})", crate::words::vehicle(i18n.get_locale(), *t), crate::lang::won(i18n.get_locale(), t.fee()))}
                            </option>
                        }).collect_view()}
                    </select>
                    {field("delivery_type")}
                    <label for="address">{move || crate::words::address_label(i18n.get_locale(), kind)}</label>
                    <input id="address" name="address" maxlength=domain::limits::DELIVERY_ADDRESS_CHARS autocomplete="street-address" value=draft.address
                        placeholder=move || t_string!(i18n, checkout.address_placeholder)/>
                    {field("address")}
                </div>
                <label for="note">{move || crate::words::note_label(i18n.get_locale(), kind)}</label>
                <textarea id="note" name="note" maxlength=domain::limits::NOTE_CHARS rows="2" placeholder=move || crate::words::note_placeholder(i18n.get_locale(), kind)>
                    // Escaped on the server: tachys writes a textarea's text as
                    // it is there, and a note holding </textarea> would end it.
                    {crate::escaped_on_server(draft.note)}
                </textarea>
                {field("note")}
                {payroll.clone().map(|number| view! {
                    <fieldset class="roles" data-testid="payment-method">
                        <legend>{t!(i18n, checkout.how_pay)}</legend>
                        <label><input type="radio" name="payment_method" value="payroll" checked=method.get_untracked() == "payroll"
                            on:change=move |_| method.set("payroll".into())/>" " {t!(i18n, checkout.payroll)}</label>
                        <label><input type="radio" name="payment_method" value="card" checked=method.get_untracked() == "card"
                            on:change=move |_| method.set("card".into())/>" " {t!(i18n, checkout.card)}</label>
                    </fieldset>
                    {field("payment_method")}
                    <div class="role-fields" class:hidden=move || method.get() != "payroll">
                        <label for="employee-number">{t!(i18n, checkout.employee_number)}</label>
                        <input id="employee-number" name="employee_number" autocomplete="off" autocapitalize="characters"
                            maxlength=domain::limits::EMPLOYEE_NUMBER_CHARS value=number.unwrap_or_default()
                            placeholder=move || t_string!(i18n, checkout.employee_placeholder)/>
                        <p class="hint">{t!(i18n, checkout.payroll_hint)}</p>
                        {field("employee_number")}
                    </div>
                })}
                <div class="role-fields" class:hidden=move || method.get() != "card">
                    <label for="card">{t!(i18n, checkout.card_number)}</label>
                    <input id="card" name="card_number" inputmode="numeric" autocomplete="cc-number"
                        required=move || method.get() == "card" placeholder="4242 4242 4242 4242"/>
                    <p class="hint">{t!(i18n, checkout.card_hint)} " " {move || crate::words::card_charged(i18n.get_locale(), kind)}</p>
                    {field("card_number")}
                </div>
                <dl class="totals">
                    <dt>{t!(i18n, checkout.subtotal)}</dt><dd>{won(subtotal)}</dd>
                    // A pickup order has no fee: its row leaves, as on the order's page.
                    <dt class:hidden=move || mode.get() != "delivery">{move || crate::words::fee(i18n.get_locale(), kind)}</dt>
                    <dd class:hidden=move || mode.get() != "delivery" data-testid="fee">{move || crate::lang::won(i18n.get_locale(), fee())}</dd>
                    <dt>{t!(i18n, checkout.total)}</dt><dd data-testid="total"><strong>{move || crate::lang::won(i18n.get_locale(), total())}</strong></dd>
                </dl>
                {move || form_error(error().filter(|e| !matches!(e, AppError::Invalid(_))))}
                {move || waiting.get().then(|| view! {
                    <p class="notice" role="status" data-testid="retrying">
                        {move || t_string!(
                            i18n,
                            checkout.retrying,
                            seconds = crate::error::BUSY_RETRY_AFTER_SECS,
                            attempt = retries.get() + 1,
                            of = CHECKOUT_RETRIES + 1
                        ).to_string()}
                    </p>
                })}
                <button type="submit" class="wide" disabled=move || place.pending().get() || waiting.get() data-testid="place-order">
                    {move || {
                        let amount = crate::lang::won(i18n.get_locale(), total());
                        if place.pending().get() || waiting.get() {
                            t_string!(i18n, checkout.paying).to_string()
                        } else if method.get() == "payroll" {
                            t_string!(i18n, checkout.order_from_pay, amount = amount).to_string()
                        } else {
                            t_string!(i18n, checkout.pay, amount = amount).to_string()
                        }
                    }}
                </button>
            </ActionForm>
        </section>
    }
    .into_any()
}

/// How often the checkout page retries a busy answer by itself before it
/// leaves the next try to the customer.
pub const CHECKOUT_RETRIES: u32 = 3;
