//! The dashboard's menu editor (issue 4): name (issue 11), price, stock and
//! sold-out per item, taking items off the menu, and new items (requirement F8: stock is what customers can order).

// Server functions take a form's fields as arguments, and the client stubs
// the macro generates repeat them.
#![allow(clippy::too_many_arguments)]

use super::DashboardResource;
use crate::error::AppError;
use crate::i18n::*;
use domain::catalog::{MenuItem, Stock};
use domain::limits;
use leptos::prelude::*;

/// Changes a menu item's name, price, stock and sold-out mark.
///
/// Errors: 401/403; 404 for a store or item that is not theirs (or was
/// removed); 422 for an empty or too long name, a price outside
/// 0..=`domain::limits::MAX_PRICE_WON` won or stock outside
/// 0..=`domain::limits::MAX_STOCK`.
#[server(endpoint = "update_item", output = crate::codec::Json)]
pub async fn update_item(
    /// The store id.
    store: String,
    /// The menu item id.
    item: String,
    /// The new name; absent keeps the name.
    name: Option<String>,
    /// Price in won.
    price: String,
    /// Units in stock; empty for unlimited.
    stock: String,
    /// Present ("on") when sold out.
    sold_out: Option<String>,
) -> Result<(), AppError> {
    use crate::error::respond;
    let (_, state, store) = super::owner_of(&store).await?;
    let item = crate::server::id(&item, domain::problem::Thing::MenuItem)?;
    let change = domain::catalog::ItemChange::parse(name.as_deref(), &price, &stock, sold_out.is_some())
        .map_err(|fields| respond(AppError::Invalid(fields)))?;
    if catalog::update_menu_item(&state.db, store, item, &change).await? {
        Ok(())
    } else {
        Err(respond(AppError::no_such(domain::problem::Thing::MenuItem)))
    }
}

/// Takes an item off the store's menu (issue 11): customers no longer see
/// or order it; orders already placed keep it.
///
/// Errors: 401/403; 404 for a store or item that is not theirs, or an item
/// already removed.
#[server(endpoint = "remove_item", output = crate::codec::Json)]
pub async fn remove_item(
    /// The store id.
    store: String,
    /// The menu item id.
    item: String,
) -> Result<(), AppError> {
    use crate::error::respond;
    let (_, state, store) = super::owner_of(&store).await?;
    let item = crate::server::id(&item, domain::problem::Thing::MenuItem)?;
    if catalog::remove_menu_item(&state.db, store, item).await? {
        Ok(())
    } else {
        Err(respond(AppError::no_such(domain::problem::Thing::MenuItem)))
    }
}

/// Adds an item to the store's menu.
///
/// Errors: 401/403; 404; 422 for an empty or too long name or category, or a
/// bad price or stock.
#[server(endpoint = "add_item", output = crate::codec::Json)]
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
    let (_, state, store) = super::owner_of(&store).await?;
    let item = domain::catalog::NewMenuItem::parse(
        &category,
        &name,
        description.as_deref().unwrap_or_default(),
        &price,
        &stock,
    )
    .map_err(|fields| crate::error::respond(AppError::Invalid(fields)))?;
    catalog::append_menu_item(&state.db, store, &item).await?;
    Ok(())
}

/// The menu editor: one keyed form per item (re-rendered only when that
/// item's price, stock or sold-out flag changes), and the add-item form,
/// cleared after an item is added.
#[component]
pub fn MenuEditor(
    /// The store's id, as the forms send it.
    store: String,
    /// The dashboard's data (the menu).
    data: DashboardResource,
    /// Saving one item's price, stock and sold-out mark.
    update: ServerAction<UpdateItem>,
    /// Adding an item.
    add: ServerAction<AddItem>,
    /// Taking an item off the menu.
    remove: ServerAction<RemoveItem>,
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
    let i18n = use_i18n();
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
            <h2>{t!(i18n, menu.title)}</h2>
            <ul class="menu-items">
                <For
                    each=items
                    key=|item| (item.id, item.name.clone(), item.price.won(), stock_text(&item.stock), item.sold_out)
                    children=move |item| {
                        let sid = sid.clone();
                        let stock = stock_text(&item.stock);
                        // Two taps, so a slip of the finger loses nothing.
                        let asking = RwSignal::new(false);
                        let item_id = item.id.to_string();
                        let remove_store = sid.clone();
                        view! {
                            <li class="menu-item edit" data-item-id=item.id.get()>
                                <ActionForm action=update attr:class="item-form">
                                    <input type="hidden" name="store" value=sid.clone()/>
                                    <input type="hidden" name="item" value=item.id.to_string()/>
                                    <label class="item-name">
                                        <span class="visually-hidden">{t!(i18n, menu.name)}</span>
                                        <input name="name" value=item.name.clone() maxlength=limits::MENU_ITEM_NAME_CHARS required class="name-input"/>
                                    </label>
                                    <label>{t!(i18n, menu.price)} <input name="price" inputmode="numeric" value=item.price.won().to_string() class="price-input"/></label>
                                    <label>{t!(i18n, menu.stock)} <input name="stock" inputmode="numeric" value=stock placeholder="∞" class="stock-input"/></label>
                                    <label class="check"><input type="checkbox" name="sold_out" checked=item.sold_out/>{t!(i18n, menu.sold_out)}</label>
                                    <button type="submit" class="secondary">{t!(i18n, common.save)}</button>
                                </ActionForm>
                                {move || if asking.get() {
                                    let (store, item) = (remove_store.clone(), item_id.clone());
                                    view! {
                                        <ActionForm action=remove attr:class="inline remove-item">
                                            <input type="hidden" name="store" value=store/>
                                            <input type="hidden" name="item" value=item/>
                                            <span class="hint">{t!(i18n, menu.no_longer_seen)}</span>
                                            <button type="submit" class="danger" data-testid="confirm-remove">{t!(i18n, menu.remove_confirm)}</button>
                                            <button type="button" class="secondary" on:click=move |_| asking.set(false)>{t!(i18n, menu.keep)}</button>
                                        </ActionForm>
                                    }.into_any()
                                } else {
                                    view! {
                                        <button type="button" class="secondary remove" data-testid="remove-item" on:click=move |_| asking.set(true)>{t!(i18n, menu.remove)}</button>
                                    }.into_any()
                                }}
                            </li>
                        }
                    }
                />
            </ul>
            <h3>{t!(i18n, menu.add_title)}</h3>
            <ActionForm action=add node_ref=add_form attr:class="add-item">
                <input type="hidden" name="store" value=store/>
                <input name="category" maxlength=limits::MENU_SECTION_CHARS placeholder=move || t_string!(i18n, menu.category_placeholder) required/>
                <input name="name" maxlength=limits::MENU_ITEM_NAME_CHARS placeholder=move || t_string!(i18n, menu.name_placeholder) required/>
                <input name="description" maxlength=limits::MENU_ITEM_DESCRIPTION_CHARS placeholder=move || t_string!(i18n, menu.description_placeholder)/>
                <input name="price" inputmode="numeric" placeholder=move || t_string!(i18n, menu.price_placeholder) required/>
                <input name="stock" inputmode="numeric" placeholder=move || t_string!(i18n, menu.stock_placeholder)/>
                <button type="submit">{t!(i18n, menu.add)}</button>
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
