//! The store context against a real database (`TEST_DATABASE=sqlite|postgres`).

// Tests stop at the first broken expectation, with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use catalog::{add_menu_item, create_store, list_stores, store_menu, NewStore, StoreFilter};
use domain::catalog::{NewMenuItem, Stock};
use domain::Money;
use domain::{StoreId, StoreKind, StoreStatus, UserId};

async fn owner(db: &db::Db) -> UserId {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, role, password_hash, created_at) \
         VALUES ('o@example.kr', 'Owner', 'owner', 'x', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .expect("owner");
    UserId(id)
}

/// An open restaurant with an owner and no menu yet.
async fn open_store(db: &db::Db) -> StoreId {
    let owner = owner(db).await;
    let mut tx = db.begin().await.expect("begin");
    let store = create_store(
        &mut tx,
        owner,
        &new_store("s", StoreKind::Restaurant, StoreStatus::Open),
    )
    .await;
    tx.commit().await.expect("commit");
    store.expect("store")
}

fn new_store(name: &'static str, kind: StoreKind, status: StoreStatus) -> NewStore<'static> {
    NewStore {
        name,
        kind,
        category: "c",
        address: "서울",
        status,
        default_prep_minutes: 20,
        offers_delivery: true,
        offers_pickup: false,
        min_order_won: 0,
    }
}

fn item(category: &'static str, name: &'static str, stock: Option<i64>, sold_out: bool) -> NewMenuItem {
    NewMenuItem {
        category: category.into(),
        name: name.into(),
        description: "d".into(),
        price: Money::from_won(12_000).expect("a price"),
        stock: Stock::from_column(stock),
        sold_out,
    }
}

#[tokio::test]
async fn the_store_list_filters_by_kind_and_searches_names_in_any_case() {
    let t = testkit::fresh_db().await;
    let owner = owner(&t.db).await;
    let mut tx = t.db.begin().await.expect("begin");
    for (name, kind, status) in [
        ("Closed BBQ 치킨", StoreKind::Restaurant, StoreStatus::Closed),
        ("BBQ 치킨", StoreKind::Restaurant, StoreStatus::Open),
        ("플로라 꽃집", StoreKind::FlowerShop, StoreStatus::Open),
        ("100% 국산 떡집", StoreKind::Restaurant, StoreStatus::Paused),
    ] {
        create_store(&mut tx, owner, &new_store(name, kind, status))
            .await
            .expect("store");
    }
    tx.commit().await.expect("commit");

    let names = |stores: Vec<domain::catalog::StoreSummary>| stores.into_iter().map(|s| s.name).collect::<Vec<_>>();
    let all = list_stores(&t.db, &StoreFilter::default()).await.expect("list");
    assert_eq!(
        names(all),
        ["BBQ 치킨", "플로라 꽃집", "100% 국산 떡집", "Closed BBQ 치킨"],
        "open, paused, closed"
    );

    let flowers = list_stores(
        &t.db,
        &StoreFilter {
            kind: Some(StoreKind::FlowerShop),
            search: None,
        },
    )
    .await;
    assert_eq!(names(flowers.expect("list")), ["플로라 꽃집"]);

    let bbq = list_stores(
        &t.db,
        &StoreFilter {
            kind: None,
            search: Some("bbq".into()),
        },
    )
    .await;
    assert_eq!(names(bbq.expect("list")), ["BBQ 치킨", "Closed BBQ 치킨"]);

    let both = StoreFilter {
        kind: Some(StoreKind::FlowerShop),
        search: Some("치킨".into()),
    };
    assert!(list_stores(&t.db, &both).await.expect("list").is_empty());

    // LIKE wildcards typed by a user match literally.
    let percent = list_stores(
        &t.db,
        &StoreFilter {
            kind: None,
            search: Some("100%".into()),
        },
    )
    .await;
    assert_eq!(names(percent.expect("list")), ["100% 국산 떡집"]);
    let underscore = list_stores(
        &t.db,
        &StoreFilter {
            kind: None,
            search: Some("_".into()),
        },
    )
    .await;
    assert!(underscore.expect("list").is_empty());
}

#[tokio::test]
async fn a_menu_is_grouped_by_category_with_stock_and_sold_out_flags() {
    let t = testkit::fresh_db().await;
    let store = open_store(&t.db).await;
    let mut tx = t.db.begin().await.expect("begin");
    let menu = [
        item("치킨", "후라이드", None, false),
        item("사이드", "치즈볼", Some(3), false),
        item("치킨", "양념", Some(0), false),
        item("사이드", "순대", None, true),
    ];
    for (i, it) in menu.iter().enumerate() {
        add_menu_item(&mut tx, store, i as i64, it).await.expect("item");
    }
    tx.commit().await.expect("commit");

    let menu = store_menu(&t.db, store).await.expect("menu").expect("exists");
    type Row = (String, Stock, bool);
    let shape: Vec<(String, Vec<Row>)> = menu
        .sections
        .iter()
        .map(|s| {
            (
                s.category.clone(),
                s.items
                    .iter()
                    .map(|i| (i.name.clone(), i.stock, i.available()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (
                "치킨".into(),
                vec![
                    ("후라이드".into(), Stock::Unlimited, true),
                    ("양념".into(), Stock::Limited(0), false)
                ]
            ),
            (
                "사이드".into(),
                vec![
                    ("치즈볼".into(), Stock::Limited(3), true),
                    ("순대".into(), Stock::Unlimited, false)
                ]
            ),
        ]
    );
    assert_eq!(menu.sections[0].items[0].price.to_string(), "₩12,000");
}

#[tokio::test]
async fn an_unknown_store_has_no_menu() {
    let t = testkit::fresh_db().await;
    assert_eq!(store_menu(&t.db, StoreId(999)).await.expect("query"), None);
}

#[tokio::test]
async fn the_database_refuses_negative_stock_and_prices() {
    let t = testkit::fresh_db().await;
    let store = open_store(&t.db).await;
    // The typed API cannot even express these (`Money`, `Stock`); the
    // schema refuses them too, whoever writes.
    for (what, price, stock) in [("negative stock", 12_000, Some(-1)), ("negative price", -100, None)] {
        let written = sqlx::query(
            "INSERT INTO menu_items (store_id, position, category, name, price_won, stock, sold_out) \
             VALUES ($1, 0, 'c', $2, $3, $4, 0)",
        )
        .bind(store.get())
        .bind(what)
        .bind(price)
        .bind(stock)
        .execute(t.db.pool())
        .await;
        assert!(written.is_err(), "{what}");
    }
}

/// Issue 13: the cached menu shows this process's every committed catalog
/// write on the next read — an owner's edit, stock a checkout took, a
/// paused store — and a copy read before a write is never served after it.
#[tokio::test]
async fn the_menu_cache_shows_every_committed_write_on_the_next_read() {
    use catalog::{reserve_stock, set_store_status, update_menu_item, MenuCache};
    use domain::catalog::ItemChange;
    let t = testkit::fresh_db().await;
    let store = open_store(&t.db).await;
    let mut tx = t.db.begin().await.expect("begin");
    let chicken = add_menu_item(&mut tx, store, 0, &item("치킨", "후라이드", Some(5), false))
        .await
        .expect("item");
    tx.commit().await.expect("commit");
    let cache = MenuCache::new();
    let first = cache.store_menu(&t.db, store).await.expect("menu").expect("exists");
    let again = cache.store_menu(&t.db, store).await.expect("menu").expect("exists");
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "an unchanged menu is served from memory"
    );

    let change = ItemChange {
        name: None,
        price: Money::from_won(15_000).expect("a price"),
        stock: Stock::Limited(5),
        sold_out: false,
    };
    assert!(update_menu_item(&t.db, store, chicken, &change).await.expect("update"));
    let edited = cache.store_menu(&t.db, store).await.expect("menu").expect("exists");
    assert_eq!(edited.sections[0].items[0].price.won(), 15_000, "the owner's new price");

    // Stock taken inside a transaction shows once it commits, not before.
    let mut tx = t.db.begin().await.expect("begin");
    assert_eq!(reserve_stock(&mut tx, &[(chicken, 2)]).await.expect("reserve"), Ok(()));
    tx.commit().await.expect("commit");
    let bought = cache.store_menu(&t.db, store).await.expect("menu").expect("exists");
    assert_eq!(bought.sections[0].items[0].stock, Stock::Limited(3));

    // A rolled-back reservation changes nothing, and may cost a re-read only.
    let mut tx = t.db.begin().await.expect("begin");
    assert_eq!(reserve_stock(&mut tx, &[(chicken, 1)]).await.expect("reserve"), Ok(()));
    tx.rollback().await.expect("rollback");
    let kept = cache.store_menu(&t.db, store).await.expect("menu").expect("exists");
    assert_eq!(kept.sections[0].items[0].stock, Stock::Limited(3));

    set_store_status(&t.db, store, StoreStatus::Paused)
        .await
        .expect("pause");
    let paused = cache.store_menu(&t.db, store).await.expect("menu").expect("exists");
    assert_eq!(paused.store.status, StoreStatus::Paused);
    assert_eq!(cache.store_menu(&t.db, StoreId(999)).await.expect("query"), None);

    // A write this process does not hear of (another replica's) shows
    // once the copy is older than the trust period.
    sqlx::query("UPDATE stores SET status = 'open' WHERE id = $1")
        .bind(store.get())
        .execute(t.db.pool())
        .await
        .expect("another replica's write");
    tokio::time::sleep(std::time::Duration::from_millis(MenuCache::TRUST_MS + 100)).await;
    let reopened = cache.store_menu(&t.db, store).await.expect("menu").expect("exists");
    assert_eq!(reopened.store.status, StoreStatus::Open);
}

/// Issue 13: an item of unlimited stock is only checked to be on sale when
/// it is bought. Nothing of the menu is written, so the cached menu stays
/// current, and an item sold out or taken off the menu is still refused.
#[tokio::test]
async fn buying_an_unlimited_item_writes_nothing_of_the_menu_and_still_refuses_one_off_sale() {
    use catalog::{remove_menu_item, reserve_stock, update_menu_item};
    use domain::catalog::ItemChange;
    let t = testkit::fresh_db().await;
    let store = open_store(&t.db).await;
    let mut tx = t.db.begin().await.expect("begin");
    let rice = add_menu_item(&mut tx, store, 0, &item("식사", "비빔밥", None, false))
        .await
        .expect("item");
    let soup = add_menu_item(&mut tx, store, 1, &item("식사", "된장국", None, false))
        .await
        .expect("item");
    let kimbap = add_menu_item(&mut tx, store, 2, &item("식사", "김밥", Some(3), false))
        .await
        .expect("item");
    tx.commit().await.expect("commit");

    let version = t.db.catalog_version();
    let mut tx = t.db.begin().await.expect("begin");
    assert_eq!(
        reserve_stock(&mut tx, &[(rice, 9), (soup, 1)]).await.expect("reserve"),
        Ok(())
    );
    tx.commit().await.expect("commit");
    assert_eq!(t.db.catalog_version(), version, "nothing of the menu changed");
    let menu = store_menu(&t.db, store).await.expect("menu").expect("exists");
    assert_eq!(menu.sections[0].items[0].stock, Stock::Unlimited);

    // Limited stock is still taken, and its menu moves on.
    let mut tx = t.db.begin().await.expect("begin");
    assert_eq!(
        reserve_stock(&mut tx, &[(rice, 1), (kimbap, 2)])
            .await
            .expect("reserve"),
        Ok(())
    );
    tx.commit().await.expect("commit");
    assert!(t.db.catalog_version() > version, "the stock taken shows");
    let mut tx = t.db.begin().await.expect("begin");
    assert_eq!(
        reserve_stock(&mut tx, &[(rice, 1), (kimbap, 2)])
            .await
            .expect("reserve"),
        Err(kimbap),
        "one left, two asked"
    );
    drop(tx);

    // Sold out, or off the menu: refused, unlimited or not.
    let sold_out = ItemChange {
        name: None,
        price: Money::from_won(8_000).expect("a price"),
        stock: Stock::Unlimited,
        sold_out: true,
    };
    assert!(update_menu_item(&t.db, store, rice, &sold_out).await.expect("update"));
    assert!(remove_menu_item(&t.db, store, soup).await.expect("remove"));
    for gone in [rice, soup] {
        let mut tx = t.db.begin().await.expect("begin");
        assert_eq!(reserve_stock(&mut tx, &[(gone, 1)]).await.expect("reserve"), Err(gone));
    }
}

/// An item its owner makes unlimited while a checkout is taking its stock
/// is sold, not refused as sold out. On PostgreSQL the checkout reads the
/// old stock, its decrement waits for the owner's update and then finds no
/// stock to take; it looks again. (SQLite's one writer runs the two one
/// after the other.)
#[tokio::test]
async fn an_item_made_unlimited_while_a_checkout_takes_its_stock_is_still_sold() {
    use catalog::reserve_stock;
    let t = testkit::fresh_db().await;
    if t.db.backend() != db::Backend::Postgres {
        return;
    }
    let store = open_store(&t.db).await;
    let mut tx = t.db.begin().await.expect("begin");
    let kimbap = add_menu_item(&mut tx, store, 0, &item("식사", "김밥", Some(5), false))
        .await
        .expect("item");
    tx.commit().await.expect("commit");

    // The owner's change, not yet committed, holds the item's row.
    let mut owner = t.db.pool().begin().await.expect("begin");
    sqlx::query("UPDATE menu_items SET stock = NULL WHERE id = $1")
        .bind(kimbap.get())
        .execute(&mut *owner)
        .await
        .expect("make it unlimited");
    let db = t.db.clone();
    let checkout = tokio::spawn(async move {
        let mut tx = db.begin().await.expect("begin");
        let reserved = reserve_stock(&mut tx, &[(kimbap, 2)]).await.expect("reserve");
        tx.commit().await.expect("commit");
        reserved
    });
    // Once the checkout's decrement waits for the row, the owner commits.
    let mut waited = 0;
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(t.db.pool())
        .await
        .expect("activity");
        if waiting > 0 {
            break;
        }
        waited += 1;
        assert!(waited < 500, "the checkout never waited for the owner's change");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    owner.commit().await.expect("commit the owner's change");
    assert_eq!(checkout.await.expect("checkout"), Ok(()), "sold, not refused");
    let menu = store_menu(&t.db, store).await.expect("menu").expect("exists");
    assert_eq!(menu.sections[0].items[0].stock, Stock::Unlimited);
}
