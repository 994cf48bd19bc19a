//! Carts: one per customer per store, in the database so they survive
//! reloads, restarts and logging in on another device (issue 4). The cart
//! holds item ids and quantities; names, prices and stock come from the
//! catalog each time it is shown, so a cart always tells today's truth.

use crate::OrderingError;
use db::Db;
use domain::catalog::MenuItem;
use domain::problem::{Problem, Thing};
use domain::shop::{Cart, CartLine};
use domain::{MenuItemId, Money, Quantity, StoreId, StoreStatus, UserId};

async fn item(db: &Db, item: MenuItemId) -> Result<(StoreId, MenuItem), OrderingError> {
    catalog::menu_item(db, item)
        .await?
        .ok_or(OrderingError::NotFound(Thing::MenuItem))
}

/// The cart's lines at `store`, oldest first: `(item, quantity)`.
pub(crate) async fn lines(db: &Db, customer: UserId, store: StoreId) -> Result<Vec<(MenuItemId, i64)>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT menu_item_id, quantity FROM cart_lines WHERE customer_id = $1 AND store_id = $2 \
         ORDER BY added_at, menu_item_id",
    )
    .bind(customer.get())
    .bind(store.get())
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(|(item, q)| (MenuItemId(item), q)).collect())
}

/// Adds `quantity` (1..=99) of `item` to the customer's cart at the item's
/// store, on top of what is there.
///
/// Errors: [`OrderingError::NotFound`] for an unknown item; [`OrderingError::Rejected`]
/// for a quantity outside 1..=99 (also in total), a sold-out item or more than
/// is in stock.
pub async fn add(db: &Db, customer: UserId, item_id: MenuItemId, quantity: i64) -> Result<Cart, OrderingError> {
    let quantity = Quantity::new(quantity).map_err(|_| quantity_problem())?;
    let (store, item) = item(db, item_id).await?;
    // Read and write in one transaction: two adds at once both count.
    let mut tx = db.begin().await?;
    let current: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT quantity FROM cart_lines WHERE customer_id = $1 AND menu_item_id = $2{}",
        db.for_update()
    ))
    .bind(customer.get())
    .bind(item_id.get())
    .fetch_optional(&mut *tx)
    .await?;
    let wanted = current.unwrap_or(0) + i64::from(quantity.get());
    if wanted > i64::from(Quantity::MAX) {
        return Err(OrderingError::Rejected(Problem::TooManyOfOne { max: Quantity::MAX }));
    }
    if let Some(problem) = item.problem_with(wanted) {
        return Err(OrderingError::Rejected(problem));
    }
    sqlx::query(
        "INSERT INTO cart_lines (customer_id, store_id, menu_item_id, quantity, added_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (customer_id, menu_item_id) DO UPDATE SET quantity = $4",
    )
    .bind(customer.get())
    .bind(store.get())
    .bind(item_id.get())
    .bind(wanted)
    .bind(db::now_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    load(db, customer, store).await
}

/// Sets the quantity of an item already in the cart; 0 removes it.
///
/// Errors: as [`add`]; [`OrderingError::NotFound`] when the item is not in the cart.
pub async fn set_quantity(
    db: &Db,
    customer: UserId,
    item_id: MenuItemId,
    quantity: i64,
) -> Result<Cart, OrderingError> {
    let (store, item) = item(db, item_id).await?;
    if quantity == 0 {
        sqlx::query("DELETE FROM cart_lines WHERE customer_id = $1 AND menu_item_id = $2")
            .bind(customer.get())
            .bind(item_id.get())
            .execute(db.writer())
            .await?;
        return load(db, customer, store).await;
    }
    let quantity = Quantity::new(quantity).map_err(|_| quantity_problem())?;
    if let Some(problem) = item.problem_with(i64::from(quantity.get())) {
        return Err(OrderingError::Rejected(problem));
    }
    let changed = sqlx::query("UPDATE cart_lines SET quantity = $3 WHERE customer_id = $1 AND menu_item_id = $2")
        .bind(customer.get())
        .bind(item_id.get())
        .bind(i64::from(quantity.get()))
        .execute(db.writer())
        .await?;
    if changed.rows_affected() == 0 {
        return Err(OrderingError::NotFound(Thing::CartItem));
    }
    load(db, customer, store).await
}

/// The customer's cart at `store`, priced at today's prices, each line with
/// what stops it being ordered (if anything). An empty cart has no lines.
///
/// Errors: [`OrderingError::NotFound`] for an unknown store.
pub async fn load(db: &Db, customer: UserId, store: StoreId) -> Result<Cart, OrderingError> {
    let summary = catalog::store(db, store)
        .await?
        .ok_or(OrderingError::NotFound(Thing::Store))?;
    let wanted = lines(db, customer, store).await?;
    let ids: Vec<MenuItemId> = wanted.iter().map(|(id, _)| *id).collect();
    let items = catalog::menu_items_of(db, store, &ids).await?;
    // Lines whose item the store took off its menu: out of the cart, and
    // the customer is told which (otherwise checkout would refuse a cart
    // that looks fine).
    let gone: Vec<MenuItemId> = ids.iter().copied().filter(|id| !items.contains_key(id)).collect();
    let mut removed = Vec::new();
    if !gone.is_empty() {
        let names = catalog::item_names(db, &gone).await?;
        for id in &gone {
            sqlx::query("DELETE FROM cart_lines WHERE customer_id = $1 AND menu_item_id = $2")
                .bind(customer.get())
                .bind(id.get())
                .execute(db.writer())
                .await?;
            removed.extend(names.get(id).cloned());
        }
    }
    let mut lines = Vec::with_capacity(wanted.len());
    for (id, quantity) in wanted {
        let Some(item) = items.get(&id) else { continue };
        let q = Quantity::new(quantity).map_err(|_| quantity_problem())?;
        let line_total = item
            .price
            .times(q)
            .map_err(|_| OrderingError::Rejected(Problem::OrderTooLarge))?;
        lines.push(CartLine {
            item: id,
            name: item.name.clone(),
            unit_price: item.price,
            quantity: q.get(),
            line_total,
            problem: item.problem_with(quantity),
        });
    }
    let subtotal =
        Money::sum(lines.iter().map(|l| l.line_total)).map_err(|_| OrderingError::Rejected(Problem::OrderTooLarge))?;
    let store_problem = match summary.status {
        StoreStatus::Open => None,
        StoreStatus::Paused => Some(Problem::StorePaused {
            store: summary.name.clone(),
        }),
        StoreStatus::Closed => Some(Problem::StoreClosed {
            store: summary.name.clone(),
        }),
    };
    Ok(Cart {
        store,
        store_name: summary.name,
        store_kind: summary.kind,
        lines,
        subtotal,
        offers_delivery: summary.offers_delivery,
        offers_pickup: summary.offers_pickup,
        min_order: summary.min_order,
        store_problem,
        removed,
    })
}

/// A quantity outside 1..=99.
fn quantity_problem() -> OrderingError {
    OrderingError::Rejected(Problem::QuantityRange { max: Quantity::MAX })
}
