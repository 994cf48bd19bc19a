//! The store context: stores and their menu items (DESIGN.md §1, store owner;
//! requirement F8 for stock).
//!
//! Reads return the shapes of [`domain::catalog`]; writes take a transaction
//! so a caller can create a store and its menu atomically.

pub mod demo;

use db::{Db, Tx};
use domain::catalog::{ItemChange, MenuItem, NewMenuItem, Stock, StoreMenu, StoreSummary};
use domain::{MenuItemId, Money, StoreId, StoreKind, StoreStatus, UserId};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;

/// Which stores the store list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreFilter {
    /// Only stores of this kind.
    pub kind: Option<StoreKind>,
    /// Only stores whose name contains this text (case-insensitive); already
    /// normalised by [`domain::text::search_term`].
    pub search: Option<String>,
}

const STORE_COLUMNS: &str = "id, name, kind, category, address, status, default_prep_minutes, \
                             offers_delivery, offers_pickup, min_order_won";

fn store_from_row(row: &AnyRow) -> Result<StoreSummary, sqlx::Error> {
    let prep: i64 = row.try_get("default_prep_minutes")?;
    let min_order: i64 = row.try_get("min_order_won")?;
    Ok(StoreSummary {
        id: StoreId(row.try_get("id")?),
        name: row.try_get("name")?,
        kind: db::parsed(row, "kind")?,
        category: row.try_get("category")?,
        address: row.try_get("address")?,
        status: db::parsed(row, "status")?,
        default_prep_minutes: u16::try_from(prep).unwrap_or(u16::MAX),
        offers_delivery: db::flag(row, "offers_delivery")?,
        offers_pickup: db::flag(row, "offers_pickup")?,
        min_order: Money::from_won(min_order).unwrap_or(Money::ZERO),
    })
}

fn item_from_row(row: &AnyRow) -> Result<MenuItem, sqlx::Error> {
    let price: i64 = row.try_get("price_won")?;
    Ok(MenuItem {
        id: MenuItemId(row.try_get("id")?),
        category: row.try_get("category")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        price: Money::from_won(price).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        stock: Stock::from_column(row.try_get("stock")?),
        sold_out: db::flag(row, "sold_out")?,
    })
}

/// Escapes `%`, `_` and `\` so user text matches literally inside `LIKE … ESCAPE '\'`.
fn like_pattern(term: &str) -> String {
    let mut pattern = String::from("%");
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The store list: open stores first, then paused, then closed; in creation
/// order within each.
pub async fn list_stores(db: &Db, filter: &StoreFilter) -> Result<Vec<StoreSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {STORE_COLUMNS} FROM stores \
         WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR LOWER(name) LIKE $2 ESCAPE '\\') \
         ORDER BY CASE status WHEN 'open' THEN 0 WHEN 'paused' THEN 1 ELSE 2 END, id"
    ))
    .bind(filter.kind.map(StoreKind::as_str))
    .bind(filter.search.as_deref().map(like_pattern))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(store_from_row).collect()
}

/// The stores `owner` owns, in creation order.
pub async fn stores_of_owner(db: &Db, owner: UserId) -> Result<Vec<StoreSummary>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {STORE_COLUMNS} FROM stores WHERE owner_id = $1 ORDER BY id"
    ))
    .bind(owner.get())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(store_from_row).collect()
}

/// One store, or `None` when there is no store with that id.
pub async fn store(db: &Db, id: StoreId) -> Result<Option<StoreSummary>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {STORE_COLUMNS} FROM stores WHERE id = $1"))
        .bind(id.get())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(store_from_row).transpose()
}

/// A store with its menu grouped by category, or `None` for an unknown store.
pub async fn store_menu(db: &Db, id: StoreId) -> Result<Option<StoreMenu>, sqlx::Error> {
    let Some(summary) = store(db, id).await? else {
        return Ok(None);
    };
    let rows = sqlx::query(
        "SELECT id, category, name, description, price_won, stock, sold_out \
         FROM menu_items WHERE store_id = $1 AND hidden = 0 ORDER BY position, id",
    )
    .bind(id.get())
    .fetch_all(db.pool())
    .await?;
    let items = rows.iter().map(item_from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Some(StoreMenu::group(summary, items)))
}

/// What a store's page shows that is the same for everyone — its menu, its
/// reviews — kept in memory between reads (issue 13: the menu page is the
/// most read page), by store id by default (`K`); the server keeps whole
/// pages for visitors who are not logged in the same way, by page and
/// language. Clones share one cache.
///
/// A copy is served while [`Db::catalog_version`] has not moved since it was
/// read, so this process's own writes (an owner's edit, stock taken by a
/// checkout, a review) show on the next read; and for at most
/// [`StoreCache::TRUST_MS`] milliseconds, for writes made by other replicas,
/// which this process does not hear of. A stale copy only ever shows:
/// checkout prices and reserves from the database. What a read does not
/// find is not kept, and at most [`StoreCache::MAX_STORES`] entries are.
///
/// [`StoreCache::lookup`] also hands out a copy just past its time while
/// one caller makes the next (see [`Lookup`]).
#[derive(Debug)]
pub struct StoreCache<V, K = StoreId> {
    entries: std::sync::Arc<std::sync::Mutex<HashMap<K, Cached<V>>>>,
}

impl<V, K> Clone for StoreCache<V, K> {
    fn clone(&self) -> Self {
        StoreCache {
            entries: self.entries.clone(),
        }
    }
}

impl<V, K> Default for StoreCache<V, K> {
    fn default() -> Self {
        StoreCache {
            entries: Default::default(),
        }
    }
}

#[derive(Debug)]
struct Cached<V> {
    stamp: Stamp,
    value: std::sync::Arc<V>,
    /// When a caller of [`StoreCache::lookup`] was told to make the next
    /// copy, while it may not have finished.
    refresh_since: Option<std::time::Instant>,
}

// A reader that gave up must leave time for the next one within the grace.
const _: () = assert!(StoreCache::<(), u8>::REFRESH_MS < StoreCache::<(), u8>::GRACE_MS);

/// What [`StoreCache::lookup`] found for an entry.
#[derive(Debug)]
pub enum Lookup<V> {
    /// A current copy (as [`StoreCache::current`]).
    Current(std::sync::Arc<V>),
    /// A copy past its [`StoreCache::TRUST_MS`] by less than
    /// [`StoreCache::GRACE_MS`], the catalog unchanged, while another
    /// caller reads the next one: answer with it rather than read too.
    Refreshing(std::sync::Arc<V>),
    /// Nothing to answer with: the caller reads, and keeps what it read
    /// ([`StoreCache::keep`]). When a copy just past its time exists, this
    /// caller is the one others wait on for [`StoreCache::REFRESH_MS`].
    Read,
}

/// When a read for a [`StoreCache`] started: the catalog's version then
/// and the instant ([`StoreCache::stamp`]). A copy is as old as the read
/// that made it.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    version: u64,
    at: std::time::Instant,
}

/// The stores' menus as customers see them ([`StoreCache::store_menu`]).
pub type MenuCache = StoreCache<StoreMenu>;

impl<V, K: std::hash::Hash + Eq> StoreCache<V, K> {
    /// How long a copy is trusted, in milliseconds, when nothing this
    /// process committed has changed the catalog.
    pub const TRUST_MS: u64 = 1_000;
    /// The most entries kept; past it the cache starts over.
    pub const MAX_STORES: usize = 10_000;
    /// How long past [`StoreCache::TRUST_MS`] a copy may still answer while
    /// its next one is being read, in milliseconds ([`Lookup::Refreshing`]).
    /// A copy is thus never more than `TRUST_MS + GRACE_MS` old.
    pub const GRACE_MS: u64 = 1_000;
    /// How long the caller told to read the next copy is waited on, in
    /// milliseconds: a read that failed or was given up (a client that went
    /// away) leaves the next caller to read it.
    pub const REFRESH_MS: u64 = 500;

    /// An empty cache.
    pub fn new() -> StoreCache<V, K> {
        StoreCache {
            entries: Default::default(),
        }
    }

    /// Entry `id`'s copy from memory when it is current (see the type's
    /// documentation), else the answer of `read` (a read of the database
    /// that has not started yet), kept when it found something.
    ///
    /// Errors: `read`'s.
    pub async fn get_or_read<E>(
        &self,
        db: &Db,
        id: K,
        read: impl std::future::Future<Output = Result<Option<V>, E>>,
    ) -> Result<Option<std::sync::Arc<V>>, E> {
        if let Some(value) = self.current(db, &id) {
            return Ok(Some(value));
        }
        let stamp = Self::stamp(db);
        let Some(value) = read.await?.map(std::sync::Arc::new) else {
            return Ok(None);
        };
        self.keep(id, stamp, value.clone());
        Ok(Some(value))
    }

    /// Entry `id`'s copy when it is current, else `None`.
    pub fn current(&self, db: &Db, id: &K) -> Option<std::sync::Arc<V>> {
        let version = db.catalog_version();
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(id)?;
        let fresh = entry.stamp.version == version
            && entry.stamp.at.elapsed() < std::time::Duration::from_millis(Self::TRUST_MS);
        fresh.then(|| entry.value.clone())
    }

    /// Entry `id`'s copy when it is current; else, when the catalog has not
    /// changed and the copy is less than [`StoreCache::GRACE_MS`] past its
    /// time, the copy while another caller reads the next one, or the turn
    /// to read it (see [`Lookup`]). A write to the catalog never answers
    /// with the copy before it: the next caller reads. Visitors' pages
    /// (issue 13): when a popular page's copy expires, one request renders
    /// it again instead of every request that arrives meanwhile.
    pub fn lookup(&self, db: &Db, id: &K) -> Lookup<V> {
        self.lookup_at(db.catalog_version(), std::time::Instant::now(), id)
    }

    /// [`StoreCache::lookup`] at catalog version `version` and instant `now`.
    fn lookup_at(&self, version: u64, now: std::time::Instant, id: &K) -> Lookup<V> {
        let Ok(mut entries) = self.entries.lock() else {
            return Lookup::Read;
        };
        let Some(entry) = entries.get_mut(id) else {
            return Lookup::Read;
        };
        if entry.stamp.version != version {
            return Lookup::Read;
        }
        let age = now.saturating_duration_since(entry.stamp.at);
        if age < std::time::Duration::from_millis(Self::TRUST_MS) {
            return Lookup::Current(entry.value.clone());
        }
        if age >= std::time::Duration::from_millis(Self::TRUST_MS + Self::GRACE_MS) {
            return Lookup::Read;
        }
        let refreshing = entry.refresh_since.is_some_and(|since| {
            now.saturating_duration_since(since) < std::time::Duration::from_millis(Self::REFRESH_MS)
        });
        if refreshing {
            Lookup::Refreshing(entry.value.clone())
        } else {
            entry.refresh_since = Some(now);
            Lookup::Read
        }
    }

    /// The stamp of a read starting now, for [`StoreCache::keep`].
    pub fn stamp(db: &Db) -> Stamp {
        Stamp {
            version: db.catalog_version(),
            at: std::time::Instant::now(),
        }
    }

    /// Keeps `value` as entry `id`'s copy, read from the start marked `stamp`.
    pub fn keep(&self, id: K, stamp: Stamp, value: std::sync::Arc<V>) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::MAX_STORES {
                entries.clear();
            }
            entries.insert(
                id,
                Cached {
                    stamp,
                    value,
                    refresh_since: None,
                },
            );
        }
    }
}

impl MenuCache {
    /// [`store_menu`], from memory when the copy there is current.
    ///
    /// Errors: the database's, as [`store_menu`].
    pub async fn store_menu(&self, db: &Db, id: StoreId) -> Result<Option<std::sync::Arc<StoreMenu>>, sqlx::Error> {
        self.get_or_read(db, id, store_menu(db, id)).await
    }
}

/// The owner of `store`, or `None` when there is no such store.
pub async fn owner_of(db: &Db, store: StoreId) -> Result<Option<UserId>, sqlx::Error> {
    Ok(sqlx::query_scalar("SELECT owner_id FROM stores WHERE id = $1")
        .bind(store.get())
        .fetch_optional(db.pool())
        .await?
        .map(UserId))
}

const ITEM_COLUMNS: &str = "id, store_id, category, name, description, price_won, stock, sold_out";

/// One menu item with the store it is on, or `None` for an unknown item.
pub async fn menu_item(db: &Db, item: MenuItemId) -> Result<Option<(StoreId, MenuItem)>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM menu_items WHERE id = $1 AND hidden = 0"
    ))
    .bind(item.get())
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| Ok((StoreId(r.try_get("store_id")?), item_from_row(&r)?)))
        .transpose()
}

/// The menu items of `store` among `items`, by id (an id that is not on
/// that store's menu is left out).
pub async fn menu_items_of(
    db: &Db,
    store: StoreId,
    items: &[MenuItemId],
) -> Result<HashMap<MenuItemId, MenuItem>, sqlx::Error> {
    let mut out = HashMap::with_capacity(items.len());
    for chunk in items.chunks(100) {
        let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM menu_items WHERE store_id = $1 AND hidden = 0 AND id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(store.get());
        for id in chunk {
            query = query.bind(id.get());
        }
        for row in query.fetch_all(db.pool()).await? {
            let item = item_from_row(&row)?;
            out.insert(item.id, item);
        }
    }
    Ok(out)
}

/// The names of `items` (by id), whether or not they are still on a menu:
/// what to call an item a customer kept in a cart after it was removed.
pub async fn item_names(db: &Db, items: &[MenuItemId]) -> Result<HashMap<MenuItemId, String>, sqlx::Error> {
    let mut out = HashMap::with_capacity(items.len());
    for item in items {
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM menu_items WHERE id = $1")
            .bind(item.get())
            .fetch_optional(db.pool())
            .await?;
        if let Some(name) = name {
            out.insert(*item, name);
        }
    }
    Ok(out)
}

/// Takes `quantity` of each item off the shelf inside `tx` (requirement F8),
/// each with a conditional decrement that never goes below zero whoever else
/// is buying. `Ok(Err(item))` names the first item that was sold out or
/// short; the caller then rolls the transaction back. Items with unlimited
/// stock only need to be on sale: they are read, not written, so their row
/// is not locked until the checkout commits (on PostgreSQL every order of a
/// popular item queued on it) and the cached menus stay (issue 13). An item
/// its owner makes unlimited between the read and the decrement is sold,
/// not refused (PostgreSQL: the decrement sees the owner's commit).
pub async fn reserve_stock(tx: &mut Tx, lines: &[(MenuItemId, u8)]) -> Result<Result<(), MenuItemId>, sqlx::Error> {
    for (item, quantity) in lines {
        match stock_on_sale(tx, *item).await? {
            None => return Ok(Err(*item)),
            Some(None) => {} // unlimited
            Some(Some(_)) => {
                // The stock read above may be stale by now: the decrement
                // checks again under the row's lock.
                let reserved = sqlx::query(
                    "UPDATE menu_items SET stock = stock - $2 \
                     WHERE id = $1 AND sold_out = 0 AND hidden = 0 AND stock >= $2",
                )
                .bind(item.get())
                .bind(i64::from(*quantity))
                .execute(&mut **tx)
                .await?;
                if reserved.rows_affected() == 1 {
                    tx.changed_catalog();
                } else if stock_on_sale(tx, *item).await? != Some(None) {
                    return Ok(Err(*item));
                }
            }
        }
    }
    Ok(Ok(()))
}

/// An item's stock if it is on sale (`Some(None)`: unlimited), or `None`
/// when it is sold out, hidden or gone.
async fn stock_on_sale(tx: &mut Tx, item: MenuItemId) -> Result<Option<Option<i64>>, sqlx::Error> {
    sqlx::query_scalar("SELECT stock FROM menu_items WHERE id = $1 AND sold_out = 0 AND hidden = 0")
        .bind(item.get())
        .fetch_optional(&mut **tx)
        .await
}

/// Puts units back on the shelf inside `tx` (F8: a rejected or cancelled
/// order restores its stock). Unlimited items stay unlimited.
pub async fn restore_stock(tx: &mut Tx, lines: &[(MenuItemId, u8)]) -> Result<(), sqlx::Error> {
    tx.changed_catalog();
    for (item, quantity) in lines {
        sqlx::query("UPDATE menu_items SET stock = stock + $2 WHERE id = $1 AND stock IS NOT NULL")
            .bind(item.get())
            .bind(i64::from(*quantity))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A store to create.
#[derive(Debug, Clone)]
pub struct NewStore<'a> {
    /// Display name.
    pub name: &'a str,
    /// What kind of store.
    pub kind: StoreKind,
    /// Cuisine or trade shown under the name.
    pub category: &'a str,
    /// Street address.
    pub address: &'a str,
    /// Whether it starts open, paused or closed.
    pub status: StoreStatus,
    /// Usual minutes from accept to ready (1..=180).
    pub default_prep_minutes: u16,
    /// Offers delivery.
    pub offers_delivery: bool,
    /// Offers pickup.
    pub offers_pickup: bool,
    /// Smallest delivery order, in won.
    pub min_order_won: i64,
}

/// Creates a store owned by `owner` inside `tx`.
pub async fn create_store(tx: &mut Tx, owner: UserId, store: &NewStore<'_>) -> Result<StoreId, sqlx::Error> {
    tx.changed_catalog();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO stores (owner_id, name, kind, category, address, status, default_prep_minutes, \
                             offers_delivery, offers_pickup, min_order_won, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(owner.get())
    .bind(store.name)
    .bind(store.kind.as_str())
    .bind(store.category)
    .bind(store.address)
    .bind(store.status.as_str())
    .bind(i64::from(store.default_prep_minutes))
    .bind(i64::from(store.offers_delivery))
    .bind(i64::from(store.offers_pickup))
    .bind(store.min_order_won)
    .bind(db::now_ms())
    .fetch_one(&mut **tx)
    .await?;
    Ok(StoreId(id))
}

/// Adds a menu item at `position` (menu order) to `store` inside `tx`.
pub async fn add_menu_item(
    tx: &mut Tx,
    store: StoreId,
    position: i64,
    item: &NewMenuItem,
) -> Result<MenuItemId, sqlx::Error> {
    tx.changed_catalog();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO menu_items (store_id, position, category, name, description, price_won, stock, sold_out) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(store.get())
    .bind(position)
    .bind(&item.category)
    .bind(&item.name)
    .bind(&item.description)
    .bind(item.price.won())
    .bind(item.stock.column())
    .bind(i64::from(item.sold_out))
    .fetch_one(&mut **tx)
    .await?;
    Ok(MenuItemId(id))
}

/// Changes the name (when given), price, stock and sold-out of `item`,
/// which must be on `store`'s menu; `false` when it is not, or was removed
/// (nothing changes). Orders already placed keep the name they were placed
/// with (it rides on `OrderPlaced`).
pub async fn update_menu_item(
    db: &Db,
    store: StoreId,
    item: MenuItemId,
    change: &ItemChange,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE menu_items SET price_won = $3, stock = $4, sold_out = $5, name = COALESCE($6, name) \
         WHERE id = $1 AND store_id = $2 AND hidden = 0",
    )
    .bind(item.get())
    .bind(store.get())
    .bind(change.price.won())
    .bind(change.stock.column())
    .bind(i64::from(change.sold_out))
    .bind(change.name.clone())
    .execute(db.writer())
    .await?;
    db.changed_catalog();
    Ok(result.rows_affected() == 1)
}

/// Takes `item` off `store`'s menu (issue 11, "delete"): customers no longer
/// see or order it and carts holding it say so, while the orders that hold
/// it keep their lines. `false` when it is not on that menu (any more).
pub async fn remove_menu_item(db: &Db, store: StoreId, item: MenuItemId) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("UPDATE menu_items SET hidden = 1 WHERE id = $1 AND store_id = $2 AND hidden = 0")
        .bind(item.get())
        .bind(store.get())
        .execute(db.writer())
        .await?;
    db.changed_catalog();
    Ok(result.rows_affected() == 1)
}

/// Adds an item at the end of `store`'s menu.
pub async fn append_menu_item(db: &Db, store: StoreId, item: &NewMenuItem) -> Result<MenuItemId, sqlx::Error> {
    let mut tx = db.begin().await.map_err(|e| match e {
        db::DbError::Query(e) => e,
        other => sqlx::Error::Protocol(other.to_string()),
    })?;
    let position: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) + 1 FROM menu_items WHERE store_id = $1")
        .bind(store.get())
        .fetch_one(&mut *tx)
        .await?;
    let id = add_menu_item(&mut tx, store, position, item).await?;
    tx.commit().await?;
    Ok(id)
}

/// Opens, pauses or closes a store (customers cannot check out unless open).
pub async fn set_store_status(db: &Db, store: StoreId, status: StoreStatus) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stores SET status = $2 WHERE id = $1")
        .bind(store.get())
        .bind(status.as_str())
        .execute(db.writer())
        .await?;
    db.changed_catalog();
    Ok(())
}

/// Sets how `store` hands orders over (issue 11; seed 002: a flower shop
/// that only delivers): delivery, pickup, or both. Orders already placed
/// keep theirs. The caller makes sure at least one is offered.
pub async fn set_fulfilment(db: &Db, store: StoreId, delivery: bool, pickup: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE stores SET offers_delivery = $2, offers_pickup = $3 WHERE id = $1")
        .bind(store.get())
        .bind(i64::from(delivery))
        .bind(i64::from(pickup))
        .execute(db.writer())
        .await?;
    db.changed_catalog();
    Ok(())
}

/// How many stores exist (0 means a fresh database).
pub async fn store_count(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM stores")
        .fetch_one(db.pool())
        .await
}

#[cfg(test)]
mod tests {
    use super::{like_pattern, Lookup, Stamp, StoreCache};
    use std::time::{Duration, Instant};

    type Pages = StoreCache<&'static str, u32>;

    fn kept(version: u64, at: Instant) -> Pages {
        let cache = Pages::new();
        cache.keep(1, Stamp { version, at }, std::sync::Arc::new("old page"));
        cache
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_copy_just_past_its_time_answers_while_one_caller_reads_the_next() {
        let read_at = Instant::now();
        let cache = kept(7, read_at);
        assert!(matches!(cache.lookup_at(7, read_at + ms(500), &1), Lookup::Current(p) if *p == "old page"));
        let expired = read_at + ms(Pages::TRUST_MS + 100);
        assert!(
            matches!(cache.lookup_at(7, expired, &1), Lookup::Read),
            "the first caller reads"
        );
        for later in [0, 10, Pages::REFRESH_MS - 1] {
            assert!(
                matches!(cache.lookup_at(7, expired + ms(later), &1), Lookup::Refreshing(p) if *p == "old page"),
                "the others are answered with the old copy meanwhile"
            );
        }
        cache.keep(
            1,
            Stamp {
                version: 7,
                at: expired,
            },
            std::sync::Arc::new("new page"),
        );
        assert!(matches!(cache.lookup_at(7, expired + ms(20), &1), Lookup::Current(p) if *p == "new page"));
    }

    #[test]
    fn a_read_that_never_finishes_hands_the_turn_to_the_next_caller() {
        let read_at = Instant::now();
        let cache = kept(7, read_at);
        let expired = read_at + ms(Pages::TRUST_MS + 10);
        assert!(matches!(cache.lookup_at(7, expired, &1), Lookup::Read));
        let given_up = expired + ms(Pages::REFRESH_MS);
        assert!(
            matches!(cache.lookup_at(7, given_up, &1), Lookup::Read),
            "a new caller's turn"
        );
        assert!(matches!(
            cache.lookup_at(7, given_up + ms(1), &1),
            Lookup::Refreshing(_)
        ));
    }

    #[test]
    fn a_catalog_write_or_a_copy_past_the_grace_is_never_answered_with() {
        let read_at = Instant::now();
        let cache = kept(7, read_at);
        for _ in 0..3 {
            assert!(
                matches!(cache.lookup_at(8, read_at + ms(10), &1), Lookup::Read),
                "written since: everyone reads"
            );
        }
        let too_old = read_at + ms(Pages::TRUST_MS + Pages::GRACE_MS);
        for _ in 0..3 {
            assert!(
                matches!(cache.lookup_at(7, too_old, &1), Lookup::Read),
                "too old: everyone reads"
            );
        }
        assert!(matches!(cache.lookup_at(7, read_at, &2), Lookup::Read), "nothing kept");
    }

    #[test]
    fn like_patterns_match_user_text_literally() {
        assert_eq!(like_pattern("치킨"), "%치킨%");
        assert_eq!(like_pattern("100%_\\"), "%100\\%\\_\\\\%");
        assert_eq!(like_pattern("BBQ"), "%bbq%");
    }
}
