//! The dashboard's menu editor (issue 4): name (issue 11), price, stock and
//! sold-out per item, taking items off the menu, and new items (requirement F8: stock is what customers can order).

// Server functions take a form's fields as arguments, and the client stubs
// the macro generates repeat them.
#![allow(clippy::too_many_arguments)]

use super::DashboardResource;
use crate::error::AppError;
use domain::catalog::{MenuItem, Stock};
use domain::limits;
use leptos::prelude::*;

/// Changes a menu item's name, price, stock and sold-out mark.
///
/// Errors: 401/403; 404 for a store or item that is not theirs (or was
/// removed); 422 for an empty or too long name, a price outside
/// 0..=`domain::limits::MAX_PRICE_WON` won or stock outside
/// 0..=`domain::limits::MAX_STOCK`.
#[server(endpoint = "update_item")]
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
    let item = crate::server::id(&item, "menu item")?;
    let change = domain::catalog::ItemChange::parse(name.as_deref(), &price, &stock, sold_out.is_some())
        .map_err(|fields| respond(AppError::Invalid(fields)))?;
    if catalog::update_menu_item(&state.db, store, item, &change).await? {
        Ok(())
    } else {
        Err(respond(AppError::NotFound("There is no such menu item.".into())))
    }
}

/// Takes an item off the store's menu (issue 11): customers no longer see
/// or order it; orders already placed keep it.
///
/// Errors: 401/403; 404 for a store or item that is not theirs, or an item
/// already removed.
#[server(endpoint = "remove_item")]
pub async fn remove_item(
    /// The store id.
    store: String,
    /// The menu item id.
    item: String,
) -> Result<(), AppError> {
    use crate::error::respond;
    let (_, state, store) = super::owner_of(&store).await?;
    let item = crate::server::id(&item, "menu item")?;
    if catalog::remove_menu_item(&state.db, store, item).await? {
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
                                        <span class="visually-hidden">"Name"</span>
                                        <input name="name" value=item.name.clone() maxlength=limits::MENU_ITEM_NAME_CHARS required class="name-input"/>
                                    </label>
                                    <label>"Price " <input name="price" inputmode="numeric" value=item.price.won().to_string() class="price-input"/></label>
                                    <label>"Stock " <input name="stock" inputmode="numeric" value=stock placeholder="∞" class="stock-input"/></label>
                                    <label class="check"><input type="checkbox" name="sold_out" checked=item.sold_out/>" Sold out"</label>
                                    <button type="submit" class="secondary">"Save"</button>
                                </ActionForm>
                                {move || if asking.get() {
                                    let (store, item) = (remove_store.clone(), item_id.clone());
                                    view! {
                                        <ActionForm action=remove attr:class="inline remove-item">
                                            <input type="hidden" name="store" value=store/>
                                            <input type="hidden" name="item" value=item/>
                                            <span class="hint">"Customers will no longer see it. "</span>
                                            <button type="submit" class="danger" data-testid="confirm-remove">"Remove from menu"</button>
                                            <button type="button" class="secondary" on:click=move |_| asking.set(false)>"Keep"</button>
                                        </ActionForm>
                                    }.into_any()
                                } else {
                                    view! {
                                        <button type="button" class="secondary remove" data-testid="remove-item" on:click=move |_| asking.set(true)>"Remove…"</button>
                                    }.into_any()
                                }}
                            </li>
                        }
                    }
                />
            </ul>
            <h3>"Add an item"</h3>
            <ActionForm action=add node_ref=add_form attr:class="add-item">
                <input type="hidden" name="store" value=store/>
                <input name="category" maxlength=limits::MENU_SECTION_CHARS placeholder="Section, e.g. 사이드" required/>
                <input name="name" maxlength=limits::MENU_ITEM_NAME_CHARS placeholder="Name" required/>
                <input name="description" maxlength=limits::MENU_ITEM_DESCRIPTION_CHARS placeholder="Description (optional)"/>
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
