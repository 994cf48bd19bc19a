//! A database made by the build before the contexts split (migration 0007)
//! starts on today's build and keeps its orders (issue 10), on the database
//! `TEST_DATABASE` names.
//!
//! `fixtures/before-0007.json` holds every business row the older build
//! wrote (commit 6ad8fb4, on SQLite) after nine orders were driven over HTTP
//! into every state — delivered and reviewed, picked up, claimed and ready,
//! open, waiting for the store, rejected, cancelled, a pickup, a declined
//! card — events in that build's format included. The test lays the schema
//! of migrations 0001–0006 down, loads the rows, starts the app (which runs
//! the later migrations), and then checks that everything is where it was
//! and that each order can go on.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use db::{Backend, Db, DbOptions};
use std::collections::BTreeMap;
use std::time::Duration;
use testkit::app::{person, spawn_on, TestApp};
use testkit::demo::{BIKE_RIDER, CUSTOMER, MOTO_RIDER, OWNER};

/// The last migration the older build knew.
const OLDER_BUILD_MIGRATIONS: i64 = 6;

#[derive(serde::Deserialize)]
struct Table {
    name: String,
    columns: Vec<String>,
    rows: Vec<Vec<serde_json::Value>>,
}

#[derive(serde::Deserialize)]
struct Fixture {
    /// Business tables, in an order that respects their foreign keys.
    tables: Vec<Table>,
    /// The sandbox gateway's own ledger.
    sandbox: Vec<Table>,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/before-0007.json");
    serde_json::from_str(text).expect("the fixture reads")
}

/// The migrations folder of `backend`, in the repository.
fn migrations(backend: Backend) -> std::path::PathBuf {
    let dialect = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../migrations")
        .join(dialect)
}

/// The schema as the older build left it: migrations 0001–0006, applied
/// by sqlx as that build applied them (same files, same checksums).
async fn older_schema(db: &Db) {
    let older = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(migrations(db.backend())).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let version: i64 = name.split('_').next().unwrap().parse().unwrap();
        if version <= OLDER_BUILD_MIGRATIONS {
            std::fs::copy(&path, older.path().join(&name)).unwrap();
        }
    }
    let migrator = sqlx::migrate::Migrator::new(older.path()).await.unwrap();
    assert_eq!(migrator.iter().count() as i64, OLDER_BUILD_MIGRATIONS);
    migrator.run(&**db.pool()).await.unwrap();
}

/// A fixture value as SQL: NULL inline (its type would be guessed wrong on
/// PostgreSQL), the rest bound.
async fn insert(db: &Db, data: &Table) {
    let table = &data.name;
    for row in &data.rows {
        let mut values = Vec::new();
        let mut n = 0;
        for value in row {
            if value.is_null() {
                values.push("NULL".to_string());
            } else {
                n += 1;
                values.push(format!("${n}"));
            }
        }
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            data.columns.join(", "),
            values.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for value in row {
            query = match value {
                serde_json::Value::Null => query,
                serde_json::Value::Number(n) => query.bind(n.as_i64().expect("integers only")),
                serde_json::Value::String(s) => query.bind(s.clone()),
                other => panic!("unexpected value {other} in {table}"),
            };
        }
        query.execute(db.pool()).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// A database as the older build would have left it, at `url`.
async fn older_database(url: &str) -> Fixture {
    let db = Db::connect(url, &DbOptions::default()).await.unwrap();
    older_schema(&db).await;
    let fixture = fixture();
    for data in &fixture.tables {
        if data.name == "event_sequence" {
            // Migration 0001 wrote its one row.
            let last: i64 = data.rows[0][data.columns.iter().position(|c| c == "last_seq").unwrap()]
                .as_i64()
                .unwrap();
            sqlx::query("UPDATE event_sequence SET last_seq = $1")
                .bind(last)
                .execute(db.pool())
                .await
                .unwrap();
        } else {
            insert(&db, data).await;
        }
    }
    if db.backend() == Backend::Postgres {
        // Rows came with their ids; new ones must not collide with them.
        for table in ["users", "stores", "menu_items", "orders"] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .execute(db.pool())
            .await
            .unwrap();
        }
    }
    // The sandbox gateway keeps its ledger apart, as a provider would.
    let sandbox = payment::SandboxGateway::open(&payment::sandbox_database_url(url), Default::default())
        .await
        .unwrap();
    drop(sandbox);
    let ledger = Db::connect(&payment::sandbox_database_url(url), &DbOptions::default())
        .await
        .unwrap();
    for data in &fixture.sandbox {
        insert(&ledger, data).await;
    }
    ledger.close().await;
    db.close().await;
    fixture
}

fn column<'a>(data: &'a Table, row: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    &row[data.columns.iter().position(|c| c == name).unwrap()]
}

fn table<'a>(fixture: &'a Fixture, name: &str) -> &'a Table {
    fixture.tables.iter().find(|t| t.name == name).unwrap()
}

async fn statuses(app: &TestApp, sql: &str) -> BTreeMap<i64, String> {
    sqlx::query_as::<_, (i64, String)>(sql)
        .fetch_all(app.db().pool())
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn job(app: &TestApp, order: i64) -> Option<(String, Option<i64>, i64)> {
    sqlx::query_as("SELECT status, rider_id, food_ready FROM delivery_jobs WHERE order_id = $1")
        .bind(order)
        .fetch_optional(app.db().pool())
        .await
        .unwrap()
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(app.db().pool())
        .await
        .unwrap()
}

async fn ok(app: &TestApp, who: &testkit::http::Person, endpoint: &str, form: &[(&str, &str)]) {
    let reply = app.call_as(&who.http, endpoint, form, &[]).await;
    assert_eq!(reply.status, 200, "{endpoint} {form:?}: {}", reply.body);
    app.settle().await;
}

#[tokio::test]
async fn a_database_of_the_build_before_the_split_starts_and_keeps_its_orders() {
    let (url, _dir) = testkit::fresh_url().await;
    let fixture = older_database(&url).await;
    let app = spawn_on(&url, true).await;
    app.settle().await;
    let (status, body) = app.get("/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready"));

    // Every order and every order view is where it was.
    let orders = table(&fixture, "orders");
    let before: BTreeMap<i64, String> = orders
        .rows
        .iter()
        .map(|r| {
            (
                column(orders, r, "id").as_i64().unwrap(),
                column(orders, r, "status").as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(before.len(), 9);
    assert_eq!(statuses(&app, "SELECT id, status FROM orders").await, before);
    let views = table(&fixture, "order_views");
    let views_before: BTreeMap<i64, String> = views
        .rows
        .iter()
        .map(|r| {
            (
                column(views, r, "order_id").as_i64().unwrap(),
                column(views, r, "status").as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses(&app, "SELECT order_id, status FROM order_views").await,
        views_before
    );

    // Migration 0008 (issue 11): each view says where its money stood, as
    // the payment context had recorded it, and who cancelled.
    let expected_money: BTreeMap<i64, String> = [
        (1, "captured"),
        (2, "authorized"),
        (3, "authorized"),
        (4, "authorized"),
        (5, "authorized"),
        (6, "released"),
        (7, "released"),
        (8, "authorized"),
    ]
    .into_iter()
    .map(|(o, p)| (o, p.to_string()))
    .collect();
    assert_eq!(
        statuses(&app, "SELECT order_id, payment FROM order_views").await,
        expected_money
    );
    let cancelled = statuses(
        &app,
        "SELECT order_id, cancelled_by FROM order_views WHERE cancelled_by IS NOT NULL",
    )
    .await;
    assert_eq!(cancelled, BTreeMap::from([(7, "customer".to_string())]));
    // And each order and job knows its store's kind: order 8 is the
    // canteen's, the others the chicken restaurant's.
    let kinds = statuses(&app, "SELECT order_id, store_kind FROM delivery_jobs").await;
    assert!(
        kinds.len() == 7 && kinds.values().all(|k| k == "restaurant"),
        "{kinds:?}"
    );
    let canteen = views::order(app.db(), domain::OrderId(8)).await.unwrap().unwrap();
    assert_eq!(canteen.placed.store_kind, domain::StoreKind::Canteen);
    let view = views::order(app.db(), domain::OrderId(3)).await.unwrap().unwrap();
    assert_eq!(view.placed.store_kind, domain::StoreKind::Restaurant);

    // Each delivery order got its job, in the state its order was in.
    let (moto, bike) = (user_id(&app, MOTO_RIDER).await, user_id(&app, BIKE_RIDER).await);
    let expected = [
        (1, Some(("delivered", Some(moto), 1))),
        (2, Some(("picked_up", Some(bike), 1))),
        (3, Some(("claimed", Some(moto), 1))),
        (4, Some(("open", None, 0))),
        (5, Some(("waiting", None, 0))),
        (6, Some(("cancelled", None, 0))),
        (7, Some(("cancelled", None, 0))),
        (8, None), // pickup
        (9, None), // the card was declined
    ];
    for (order, want) in expected {
        assert_eq!(
            job(&app, order).await,
            want.map(|(s, r, f)| (s.to_string(), r, f)),
            "the job of order {order}"
        );
    }

    // What the customer had read stays read; the review is still shown.
    let customer = person(&app, CUSTOMER).await;
    let unread = app.call_as(&customer.http, "unread_count", &[], &[]).await;
    assert_eq!(unread.body, serde_json::json!(0), "{}", unread.body);
    let notes = app.call_as(&customer.http, "notifications", &[], &[]).await;
    assert!(
        notes.body.as_array().is_some_and(|n| n.len() >= 9),
        "the customer's notifications, rebuilt from the log: {}",
        notes.body
    );
    let reviews = app
        .call_as(&customer.http, "store_reviews", &[("store", "1")], &[])
        .await;
    assert!(
        reviews.body.to_string().contains("바삭하고 맛있어요"),
        "{}",
        reviews.body
    );
    let (status, _, page) = app.page_as(&customer.http, "/orders/3").await;
    assert_eq!(status, 200);
    assert!(page.contains("황금올리브 치킨 역삼점"));

    // And every order can go on. The motorbike rider delivers order 3 (its
    // payment is captured), then takes order 4 from the board.
    let rider = person(&app, MOTO_RIDER).await;
    let board = app.call_as(&rider.http, "rider_board", &[], &[]).await;
    assert_eq!(board.body["current"]["order"], 3, "{}", board.body);
    assert_eq!(board.body["open"][0]["order"], 4, "{}", board.body);
    ok(&app, &rider, "pick_up", &[("order", "3")]).await;
    ok(&app, &rider, "deliver", &[("order", "3")]).await;
    ok(&app, &rider, "claim_job", &[("order", "4")]).await;
    // The bicycle rider hands order 2 over.
    let bike_rider = person(&app, BIKE_RIDER).await;
    ok(&app, &bike_rider, "deliver", &[("order", "2")]).await;
    // The store accepts order 5: its job opens to motorbike riders.
    let owner = person(&app, OWNER).await;
    ok(&app, &owner, "accept_order", &[("order", "5"), ("prep_minutes", "15")]).await;

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let payments = statuses(&app, "SELECT order_id, status FROM payments").await;
        if payments[&2] == "captured" && payments[&3] == "captured" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "captured: {payments:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let now = statuses(&app, "SELECT id, status FROM orders").await;
    assert_eq!(now[&2], "delivered");
    assert_eq!(now[&3], "delivered");
    assert_eq!(now[&4], "accepted");
    assert_eq!(now[&5], "accepted");
    assert_eq!(job(&app, 4).await.unwrap().0, "claimed");
    assert_eq!(job(&app, 5).await.unwrap().0, "open");
    let views_now = statuses(&app, "SELECT order_id, status FROM order_views").await;
    assert_eq!(views_now[&3], "delivered", "the view follows");
}
