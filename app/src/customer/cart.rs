//! The customer's cart at a store (issue 4): add, −, +, kept in the
//! database across reloads and logins; shown beside the store's menu.

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{form_error, problem_text, won};
use domain::shop::Cart;
use leptos::prelude::*;

/// The customer's cart at a store (`/stores/{id}`); `None` when nobody or
/// a non-customer is logged in (the store page then offers to log in), so the
/// page around it keeps its 200.
///
/// Errors: 404 for an unknown store.
#[server(endpoint = "cart", output = crate::codec::Json)]
pub async fn get_cart(
    /// The store id.
    store: String,
) -> Result<Option<Cart>, AppError> {
    let state = crate::state::app_state()?;
    let auth = crate::server::auth_session().await?;
    let Some(user) = auth
        .user
        .as_ref()
        .map(|u| &u.user)
        .filter(|u| u.role == domain::Role::Customer)
    else {
        return Ok(None);
    };
    let store = crate::server::id(&store, domain::problem::Thing::Store)?;
    ordering::cart::load(&state.db, user.id, store)
        .await
        .map(Some)
        .map_err(AppError::from)
}

/// Adds `quantity` (default 1) of a menu item to the customer's cart at its store.
///
/// Errors: 401/403; 404 for an unknown item; 409 when sold out, short of
/// stock or over 99 (nothing changes); 422 for a quantity that is not a number.
#[server(endpoint = "cart_add", output = crate::codec::Json)]
pub async fn add_to_cart(
    /// The menu item id.
    item: String,
    /// How many to add (1..=99); 1 when absent.
    quantity: Option<String>,
) -> Result<Cart, AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::Shop).await?;
    let item = crate::server::id(&item, domain::problem::Thing::MenuItem)?;
    let quantity = match quantity.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        None => 1,
        Some(q) => crate::server::number(q, "quantity")?,
    };
    ordering::cart::add(&state.db, caller.id, item, quantity)
        .await
        .map_err(AppError::from)
}

/// Sets the quantity of a cart line; 0 removes it.
///
/// Errors: as [`add_to_cart`]; 404 when the item is not in the cart.
#[server(endpoint = "cart_set", output = crate::codec::Json)]
pub async fn set_cart_quantity(
    /// The menu item id.
    item: String,
    /// The new quantity (0..=99).
    quantity: String,
) -> Result<Cart, AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::Shop).await?;
    let item = crate::server::id(&item, domain::problem::Thing::MenuItem)?;
    let quantity = crate::server::number(&quantity, "quantity")?;
    ordering::cart::set_quantity(&state.db, caller.id, item, quantity)
        .await
        .map_err(AppError::from)
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
    let i18n = use_i18n();
    view! {
        <aside class="cart" data-testid="cart">
            <h2>{t!(i18n, cart.title)}</h2>
            {move || form_error(error())}
            <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match cart.await {
                        Ok(None) => view! {
                            <p class="empty">{t!(i18n, cart.log_in_to_order, <login> = move |children: ChildrenFn| view! { <a href=format!("/login?next=/stores/{store}")>{children()}</a> })}</p>
                        }.into_any(),
                        Ok(Some(cart)) if cart.lines.is_empty() => view! {
                            {removed_notice(&cart.removed)}
                            <p class="empty">{t!(i18n, cart.empty)}</p>
                        }.into_any(),
                        Ok(Some(cart)) => {
                            let checkout = format!("/checkout?store={}", cart.store);
                            let blocked = cart.store_problem.clone();
                            view! {
                                {removed_notice(&cart.removed)}
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
                                                    <button type="submit" class="round" aria-label=move || t_string!(i18n, cart.one_less)>"−"</button>
                                                </ActionForm>
                                                <span class="cart-qty" data-testid="cart-qty">{line.quantity}</span>
                                                <ActionForm action=set attr:class="qty">
                                                    <input type="hidden" name="item" value=item2/>
                                                    <input type="hidden" name="quantity" value=plus/>
                                                    <button type="submit" class="round" aria-label=move || t_string!(i18n, cart.one_more)>"+"</button>
                                                </ActionForm>
                                                <span class="price">{won(line.line_total)}</span>
                                                {line.problem.map(|p| view! { <p class="field-error">{problem_text(p)}</p> })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                <p class="cart-total">{t!(i18n, cart.subtotal)} " " <strong data-testid="cart-subtotal">{won(cart.subtotal)}</strong></p>
                                {blocked.map(|b| view! { <p class="notice">{problem_text(b)}</p> })}
                                <a class="button wide" href=checkout data-testid="go-checkout">{t!(i18n, cart.go_checkout)}</a>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="form-error">{move || e.message(i18n.get_locale())}</p> }.into_any(),
                    }
                })}
            </Transition>
        </aside>
    }
}

/// Tells the customer which items the store took off its menu since they
/// were added, and that they left the cart (issue 11); nothing when none.
pub(crate) fn removed_notice(removed: &[String]) -> Option<impl IntoView> {
    let i18n = use_i18n();
    (!removed.is_empty()).then(|| {
        let items = removed.join(", ");
        view! { <p class="notice" role="status" data-testid="cart-removed">{move || t_string!(i18n, cart.removed, items = items.clone()).to_string()}</p> }
    })
}
