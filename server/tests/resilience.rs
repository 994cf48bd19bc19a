//! Resilience (issue 6), each fault injected and its promise checked, against
//! a spawned server (`TEST_DATABASE=sqlite|postgres`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::{Duration, Instant};
use testkit::app::{spawn_app_changed, TestApp};
use testkit::demo::{ADMIN, CUSTOMER, OWNER};
use testkit::http::{client, Reply};

async fn logged_in(app: &TestApp, email: &str) -> reqwest::Client {
    let http = client();
    let reply = app.login_as(&http, email).await;
    assert!(
        [200, 302, 303].contains(&reply.status),
        "login: {} {}",
        reply.status,
        reply.body
    );
    http
}

async fn operations(app: &TestApp, admin: &reqwest::Client) -> serde_json::Value {
    let reply = app.call_as(admin, "operations", &[], &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

async fn set_faults(app: &TestApp, admin: &reqwest::Client, latency: &str, rate: &str) -> u16 {
    app.call_as(
        admin,
        "payment_faults",
        &[("latency_ms", latency), ("failure_rate", rate)],
        &[],
    )
    .await
    .status
}

async fn order_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(app.db().pool())
        .await
        .unwrap()
}

async fn checkout(app: &TestApp, customer: &reqwest::Client, store: i64, key: &str) -> Reply {
    app.call_as(
        customer,
        "place_order",
        &[
            ("store", &store.to_string()),
            ("fulfilment", "pickup"),
            ("card_number", "4242424242424242"),
            ("idempotency_key", key),
        ],
        &[],
    )
    .await
}

#[tokio::test]
async fn an_open_payment_breaker_fails_checkout_fast_keeps_the_cart_and_closes_when_the_gateway_recovers() {
    let app = spawn_app_changed(|s| {
        s.payment_breaker_failures = 2;
        s.payment_breaker_open_ms = 800;
    })
    .await;
    let admin = logged_in(&app, ADMIN).await;
    let customer = logged_in(&app, CUSTOMER).await;
    let (store, item) = app.store_and_item(OWNER).await;
    let added = app
        .call_as(
            &customer,
            "cart_add",
            &[("item", &item.to_string()), ("quantity", "2")],
            &[],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);

    // The gateway goes down: every call fails.
    assert_eq!(set_faults(&app, &admin, "0", "1").await, 200);
    for key in ["down-1", "down-2"] {
        let reply = checkout(&app, &customer, store, key).await;
        assert_eq!(reply.status, 503, "{}", reply.body);
        assert!(reply.body.to_string().contains("payment_busy"), "{}", reply.body);
        assert!(reply.headers.get("retry-after").is_some(), "says when to retry");
    }
    let ops = operations(&app, &admin).await;
    assert_eq!(ops["breaker"], "open", "{ops}");
    let calls = ops["sandbox"]["calls"].as_i64().unwrap();
    let orders = order_count(&app).await;

    // Open: refused at once, nothing written, the gateway never asked.
    let started = Instant::now();
    let reply = checkout(&app, &customer, store, "while-open").await;
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert!(reply.body.to_string().contains("payment_busy"), "{}", reply.body);
    assert!(started.elapsed() < Duration::from_secs(2), "fails fast");
    let ops = operations(&app, &admin).await;
    assert_eq!(
        ops["sandbox"]["calls"].as_i64().unwrap(),
        calls,
        "the gateway was spared"
    );
    assert_eq!(order_count(&app).await, orders, "no order row for a refused checkout");
    let cart = app
        .call_as(&customer, "cart", &[("store", &store.to_string())], &[])
        .await;
    assert_eq!(cart.body["lines"][0]["quantity"], 2, "the cart is kept: {}", cart.body);

    // The gateway recovers; after the open time a probe goes through and
    // closes it. The page retries with its own key, which the failed attempt
    // gave up, so the retry is a fresh attempt rather than the old failure.
    assert_eq!(set_faults(&app, &admin, "0", "0").await, 200);
    tokio::time::sleep(Duration::from_millis(900)).await;
    let reply = checkout(&app, &customer, store, "down-1").await;
    assert!(
        reply.location.as_deref().is_some_and(|l| l.starts_with("/orders/")),
        "placed after recovery: {} {}",
        reply.status,
        reply.body
    );
    assert_eq!(operations(&app, &admin).await["breaker"], "closed");
}

#[tokio::test]
async fn only_admins_set_faults_and_bad_values_change_nothing() {
    let app = spawn_app_changed(|_| {}).await;
    let admin = logged_in(&app, ADMIN).await;
    let customer = logged_in(&app, CUSTOMER).await;
    assert_eq!(set_faults(&app, &customer, "0", "1").await, 403);
    assert_eq!(set_faults(&app, &client(), "0", "1").await, 401);
    assert_eq!(app.call_as(&customer, "operations", &[], &[]).await.status, 403);

    assert_eq!(set_faults(&app, &admin, "250", "10%").await, 200);
    for (latency, rate) in [
        ("-1", "0"),
        ("abc", "0"),
        ("60001", "0"),
        ("0", "1.5"),
        ("0", "NaN"),
        ("0", ""),
    ] {
        let reply = app
            .call_as(
                &admin,
                "payment_faults",
                &[("latency_ms", latency), ("failure_rate", rate)],
                &[],
            )
            .await;
        assert_eq!(reply.status, 422, "{latency} / {rate}: {}", reply.body);
    }
    let ops = operations(&app, &admin).await;
    assert_eq!(ops["sandbox"]["latency_ms"], 250, "{ops}");
    assert_eq!(ops["sandbox"]["failure_rate"], 0.1, "{ops}");
    let (status, _, page) = app.page_as(&admin, "/admin").await;
    assert_eq!(status, 200);
    assert!(page.contains("결제 서킷 브레이커"), "{page}");
}

async fn consumer(app: &TestApp, admin: &reqwest::Client, name: &str) -> serde_json::Value {
    let ops = operations(app, admin).await;
    ops["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no consumer {name}: {ops}"))
}

async fn switch(app: &TestApp, admin: &reqwest::Client, name: &str, mode: &str) -> u16 {
    app.call_as(admin, "consumer_mode", &[("consumer", name), ("mode", mode)], &[])
        .await
        .status
}

async fn projected_orders(app: &TestApp, ids: &[i64]) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for id in ids {
        let row: Option<(i64, String)> = sqlx::query_as("SELECT order_id, status FROM order_views WHERE order_id = $1")
            .bind(id)
            .fetch_optional(app.db().pool())
            .await
            .unwrap();
        out.extend(row);
    }
    out
}

#[tokio::test]
async fn checkout_keeps_working_while_the_projection_is_down_and_it_drains_the_backlog_when_back() {
    let app = spawn_app_changed(|_| {}).await;
    let admin = logged_in(&app, ADMIN).await;
    let customer = logged_in(&app, CUSTOMER).await;
    let (store, item) = app.store_and_item(OWNER).await;

    assert_eq!(switch(&app, &admin, "order_views", "stopped").await, 200);
    let mut orders = Vec::new();
    for i in 0..3 {
        let added = app
            .call_as(&customer, "cart_add", &[("item", &item.to_string())], &[])
            .await;
        assert_eq!(added.status, 200, "{}", added.body);
        let reply = checkout(&app, &customer, store, &format!("while-down-{i}")).await;
        let location = reply
            .location
            .unwrap_or_else(|| panic!("placed: {} {}", reply.status, reply.body));
        orders.push(location.trim_start_matches("/orders/").parse::<i64>().unwrap());
    }
    let down = consumer(&app, &admin, "order_views").await;
    assert_eq!(down["mode"], "stopped");
    assert!(down["lag"].as_i64().unwrap() >= 3, "its lag is visible: {down}");
    assert!(
        projected_orders(&app, &orders).await.is_empty(),
        "nothing projected while stopped"
    );

    // Failing: retried with back-off and reported, never skipped.
    assert_eq!(switch(&app, &admin, "order_views", "failing").await, 200);
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let failing = consumer(&app, &admin, "order_views").await;
    assert!(failing["failed_batches"].as_i64().unwrap() >= 2, "retried: {failing}");
    assert!(
        failing["last_error"].as_str().unwrap().contains("injected"),
        "{failing}"
    );
    assert_eq!(failing["lag"], down["lag"], "no event skipped");
    assert!(projected_orders(&app, &orders).await.is_empty());

    // Back: it drains the backlog, every order in it.
    assert_eq!(switch(&app, &admin, "order_views", "running").await, 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut back = consumer(&app, &admin, "order_views").await;
    // The batch's commit moves the checkpoint (lag 0) a moment before the
    // runner clears its last error: wait for both.
    while (back["lag"] != 0 || !back["last_error"].is_null()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        back = consumer(&app, &admin, "order_views").await;
    }
    assert_eq!(back["lag"], 0, "caught up: {back}");
    assert!(back["last_error"].is_null(), "{back}");
    let projected = projected_orders(&app, &orders).await;
    assert_eq!(
        projected,
        orders.iter().map(|id| (*id, "placed".to_string())).collect::<Vec<_>>()
    );
    let (status, _, page) = app.page_as(&customer, "/orders").await;
    assert_eq!(status, 200);
    for id in &orders {
        assert!(page.contains(&format!("#{id}")), "order {id} on the customer's list");
    }

    // Bad switches change nothing.
    assert_eq!(switch(&app, &admin, "order_views", "paused").await, 422);
    assert_eq!(switch(&app, &admin, "no_such_consumer", "stopped").await, 404);
    assert_eq!(switch(&app, &customer, "order_views", "stopped").await, 403);
    assert_eq!(consumer(&app, &admin, "order_views").await["mode"], "running");
}

#[tokio::test]
async fn metrics_show_requests_orders_payments_consumers_breaker_and_websockets() {
    const TOKEN: &str = "scraper-token-0123456789";
    let app = spawn_app_changed(|s| s.metrics_token = Some(TOKEN.into())).await;
    let scrape = || async {
        let response = client()
            .get(format!("{}/metrics", app.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let customer = logged_in(&app, CUSTOMER).await;
    let (store, item) = app.store_and_item(OWNER).await;
    app.call_as(&customer, "cart_add", &[("item", &item.to_string())], &[])
        .await;
    let placed = checkout(&app, &customer, store, "metrics").await;
    assert!(placed.location.is_some(), "{}", placed.body);
    assert_eq!(app.page_as(&customer, &format!("/stores/{store}")).await.0, 200);

    let (status, text) = scrape().await;
    assert_eq!(status, 200);
    for needle in [
        r#"payment_calls_total{operation="authorize",outcome="ok"}"#,
        r#"orders{status="placed"}"#,
        r#"consumer_lag_events{consumer="order_views"}"#,
        r#"consumer_lag_events{consumer="payment_settlement"}"#,
        r#"consumer_failed_batches{consumer="order_views"}"#,
        "payment_breaker_state 0",
        "websocket_connections",
        r#"http_request_duration_seconds_bucket{route="/api/place_order",method="POST""#,
        r#"http_request_duration_seconds_bucket{route="/stores/{id}""#,
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
    }
    // On a SQLite file the one writer's turns are counted, with their time.
    if app.db().backend() == db::Backend::Sqlite {
        for name in ["db_writer_turns_total", "db_writer_held_microseconds_total"] {
            let value: u64 = text
                .lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
                .unwrap_or_else(|| panic!("/metrics lacks {name}:\n{text}"));
            assert!(value > 0, "{name} is 0 after a checkout");
        }
    }
    // Unknown server functions do not mint a label each.
    app.call("no_such_function_xyz", &[]).await;
    let (_, text) = scrape().await;
    assert!(!text.contains("no_such_function_xyz"), "{text}");
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone_or_a_migration_is_missing() {
    let app = spawn_app_changed(|_| {}).await;
    assert_eq!(app.get("/readyz").await, (200, "ready".to_string()));

    sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .execute(app.db().pool())
        .await
        .unwrap();
    let (status, why) = app.get("/readyz").await;
    assert_eq!(status, 503);
    assert!(why.contains("migrations applied"), "{why}");

    app.db().pool().close().await;
    let (status, why) = app.get("/readyz").await;
    assert_eq!(status, 503);
    assert!(why.contains("does not answer"), "{why}");
    assert_eq!(app.get("/healthz").await.0, 200, "still alive, only not ready");
}

#[tokio::test]
async fn checkout_beyond_capacity_is_shed_at_once_while_pages_stay_responsive() {
    let app = spawn_app_changed(|s| s.checkout_concurrency = 1).await;
    let admin = logged_in(&app, ADMIN).await;
    let first = logged_in(&app, CUSTOMER).await;
    let second = logged_in(&app, "seoyeon@demo.delivery").await;
    let (store, item) = app.store_and_item(OWNER).await;
    for customer in [&first, &second] {
        let added = app
            .call_as(customer, "cart_add", &[("item", &item.to_string())], &[])
            .await;
        assert_eq!(added.status, 200, "{}", added.body);
    }
    // A slow gateway keeps the first checkout busy for 3 s.
    assert_eq!(set_faults(&app, &admin, "3000", "0").await, 200);
    let slow = {
        let (app_base, first) = (app.base.clone(), first.clone());
        tokio::spawn(async move {
            first
                .post(format!("{app_base}/api/place_order"))
                .form(&[
                    ("store", store.to_string()),
                    ("fulfilment", "pickup".into()),
                    ("card_number", "4242424242424242".into()),
                    ("idempotency_key", "slow-one".into()),
                ])
                .send()
                .await
                .unwrap()
        })
    };
    // Time for the first checkout to take the one place, even on a loaded
    // CI machine.
    tokio::time::sleep(Duration::from_millis(800)).await;

    let started = Instant::now();
    let shed = checkout(&app, &second, store, "shed-one").await;
    assert_eq!(shed.status, 503, "{}", shed.body);
    // A checkout queued behind the first would wait at least 2.2 s more.
    assert!(started.elapsed() < Duration::from_millis(1_500), "answered at once");
    assert!(shed.headers.get("retry-after").is_some());
    assert!(shed.body.to_string().contains("checkout_busy"), "{}", shed.body);
    assert!(
        shed.message.as_deref().is_some_and(|m| m.contains("주문이 많아요")),
        "{:?}",
        shed.message
    );
    // Pages and other actions are not limited.
    assert_eq!(app.page_as(&second, "/").await.0, 200);
    assert_eq!(app.page_as(&second, &format!("/stores/{store}")).await.0, 200);
    let seoyeon_orders: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders o JOIN users u ON u.id = o.customer_id WHERE u.email = 'seoyeon@demo.delivery'",
    )
    .fetch_one(app.db().pool())
    .await
    .unwrap();
    assert_eq!(seoyeon_orders, 0, "a shed checkout wrote nothing");

    let first_placed = slow.await.unwrap();
    assert!(
        first_placed.headers().get("location").is_some(),
        "the running checkout finished"
    );
    // The retry, with the same key, goes through once there is room.
    assert_eq!(set_faults(&app, &admin, "0", "0").await, 200);
    let retried = checkout(&app, &second, store, "shed-one").await;
    assert!(retried.location.is_some(), "{} {}", retried.status, retried.body);
}

#[tokio::test]
async fn no_response_waits_longer_than_the_response_timeout() {
    // A gateway slower than everything: the payment timeout is not what stops it.
    let app = spawn_app_changed(|s| s.payment_timeout_ms = 120_000).await;
    let admin = logged_in(&app, ADMIN).await;
    let customer = logged_in(&app, CUSTOMER).await;
    let (store, item) = app.store_and_item(OWNER).await;
    app.call_as(&customer, "cart_add", &[("item", &item.to_string())], &[])
        .await;
    assert_eq!(set_faults(&app, &admin, "60000", "0").await, 200);
    let started = Instant::now();
    let reply = checkout(&app, &customer, store, "endless").await;
    assert_eq!(reply.status, 503);
    let waited = started.elapsed();
    assert!(
        waited >= server::router::RESPONSE_TIMEOUT
            && waited < server::router::RESPONSE_TIMEOUT + Duration::from_secs(5),
        "answered after {waited:?}"
    );
}
