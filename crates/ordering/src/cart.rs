//! Carts: one per customer per store, in the database so they survive
//! reloads, restarts and logging in on another device (issue 4).

use crate::OrderingError;
use db::Db;
use domain::shop::{Cart, CartLine};
use domain::{MenuItemId, Money, Quantity, StoreId, StoreStatus, UserId};
use sqlx::Row;

/// A menu item as the cart needs it.
struct ItemRow {
    store: StoreId,
    name: String,
    stock: Option<i64>,
    sold_out: bool,
}

async fn item(db: &Db, item: MenuItemId) -> Result<ItemRow, OrderingError> {
    let row = sqlx::query("SELECT store_id, name, stock, sold_out FROM menu_items WHERE id = $1")
        .bind(item.get())
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| OrderingError::NotFound("That menu item does not exist any more.".into()))?;
    Ok(ItemRow {
        store: StoreId(row.try_get("store_id")?),
        name: row.try_get("name")?,
        stock: row.try_get("stock")?,
        sold_out: db::flag(&row, "sold_out")?,
    })
}

/// Why `quantity` of an item cannot be ordered now, if so (requirement F8).
pub(crate) fn availability_problem(name: &str, stock: Option<i64>, sold_out: bool, quantity: i64) -> Option<String> {
    if sold_out || stock == Some(0) {
        return Some(format!("{name} is sold out."));
    }
    match stock {
        Some(left) if left < quantity => Some(format!("Only {left} of {name} left; lower the quantity.")),
        _ => None,
    }
}

/// Adds `quantity` (1..=99) of `item` to the customer's cart at the item's
/// store, on top of what is there.
///
/// Errors: [`OrderingError::NotFound`] for an unknown item; [`OrderingError::Rejected`]
/// for a quantity outside 1..=99 (also in total), a sold-out item or more than
/// is in stock.
pub async fn add(db: &Db, customer: UserId, item_id: MenuItemId, quantity: i64) -> Result<Cart, OrderingError> {
    let quantity = Quantity::new(quantity).map_err(|e| OrderingError::Rejected(e.to_string()))?;
    let item = item(db, item_id).await?;
    let current: Option<i64> =
        sqlx::query_scalar("SELECT quantity FROM cart_lines WHERE customer_id = $1 AND menu_item_id = $2")
            .bind(customer.get())
            .bind(item_id.get())
            .fetch_optional(db.pool())
            .await?;
    let wanted = current.unwrap_or(0) + i64::from(quantity.get());
    if wanted > i64::from(Quantity::MAX) {
        return Err(OrderingError::Rejected(format!(
            "At most {} of one item per order.",
            Quantity::MAX
        )));
    }
    if let Some(problem) = availability_problem(&item.name, item.stock, item.sold_out, wanted) {
        return Err(OrderingError::Rejected(problem));
    }
    sqlx::query(
        "INSERT INTO cart_lines (customer_id, store_id, menu_item_id, quantity, added_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (customer_id, menu_item_id) DO UPDATE SET quantity = $4",
    )
    .bind(customer.get())
    .bind(item.store.get())
    .bind(item_id.get())
    .bind(wanted)
    .bind(db::now_ms())
    .execute(db.pool())
    .await?;
    load(db, customer, item.store).await
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
    let item = item(db, item_id).await?;
    if quantity == 0 {
        sqlx::query("DELETE FROM cart_lines WHERE customer_id = $1 AND menu_item_id = $2")
            .bind(customer.get())
            .bind(item_id.get())
            .execute(db.pool())
            .await?;
        return load(db, customer, item.store).await;
    }
    let quantity = Quantity::new(quantity).map_err(|e| OrderingError::Rejected(e.to_string()))?;
    if let Some(problem) = availability_problem(&item.name, item.stock, item.sold_out, i64::from(quantity.get())) {
        return Err(OrderingError::Rejected(problem));
    }
    let changed = sqlx::query("UPDATE cart_lines SET quantity = $3 WHERE customer_id = $1 AND menu_item_id = $2")
        .bind(customer.get())
        .bind(item_id.get())
        .bind(i64::from(quantity.get()))
        .execute(db.pool())
        .await?;
    if changed.rows_affected() == 0 {
        return Err(OrderingError::NotFound("That item is not in your cart.".into()));
    }
    load(db, customer, item.store).await
}

/// The customer's cart at `store`, priced at today's prices, each line with
/// what stops it being ordered (if anything). An empty cart has no lines.
///
/// Errors: [`OrderingError::NotFound`] for an unknown store.
pub async fn load(db: &Db, customer: UserId, store: StoreId) -> Result<Cart, OrderingError> {
    let store_row =
        sqlx::query("SELECT name, status, offers_delivery, offers_pickup, min_order_won FROM stores WHERE id = $1")
            .bind(store.get())
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| OrderingError::NotFound("There is no such store.".into()))?;
    let status: StoreStatus = db::parsed(&store_row, "status")?;
    let rows = sqlx::query(
        "SELECT c.menu_item_id, c.quantity, m.name, m.price_won, m.stock, m.sold_out \
         FROM cart_lines c JOIN menu_items m ON m.id = c.menu_item_id \
         WHERE c.customer_id = $1 AND c.store_id = $2 ORDER BY c.added_at, c.menu_item_id",
    )
    .bind(customer.get())
    .bind(store.get())
    .fetch_all(db.pool())
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get("name")?;
        let quantity: i64 = row.try_get("quantity")?;
        let unit_price = Money::from_won(row.try_get("price_won")?).unwrap_or(Money::ZERO);
        let q = Quantity::new(quantity).map_err(|e| OrderingError::Storage(e.to_string()))?;
        let line_total = unit_price
            .times(q)
            .map_err(|e| OrderingError::Rejected(e.to_string()))?;
        let problem = availability_problem(&name, row.try_get("stock")?, db::flag(&row, "sold_out")?, quantity);
        lines.push(CartLine {
            item: MenuItemId(row.try_get("menu_item_id")?),
            name,
            unit_price,
            quantity: q.get(),
            line_total,
            problem,
        });
    }
    let subtotal =
        Money::sum(lines.iter().map(|l| l.line_total)).map_err(|e| OrderingError::Rejected(e.to_string()))?;
    let store_problem = match status {
        StoreStatus::Open => None,
        StoreStatus::Paused => Some("The store has paused orders for a moment. Try again soon.".to_string()),
        StoreStatus::Closed => Some("The store is closed now.".to_string()),
    };
    Ok(Cart {
        store,
        store_name: store_row.try_get("name")?,
        lines,
        subtotal,
        offers_delivery: db::flag(&store_row, "offers_delivery")?,
        offers_pickup: db::flag(&store_row, "offers_pickup")?,
        min_order: Money::from_won(store_row.try_get("min_order_won")?).unwrap_or(Money::ZERO),
        store_problem,
    })
}
