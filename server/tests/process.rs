//! Tests that run the real `server` binary (issue 6):
//! - structured logs (N5): with `APP_LOG_FORMAT=json` every line is a JSON
//!   object, and one order's story — the checkout request, its commands, the
//!   consumers that applied its events — can be followed by its `order_id`,
//!   each request's lines carrying the request id;
//! - graceful shutdown on SIGTERM (N7): in-flight requests finish, WebSockets
//!   are closed with "going away", the process exits cleanly.
//!
//! Each runs on a fresh database of the kind `TEST_DATABASE` names.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::time::Duration;
use testkit::demo::{CUSTOMER, OWNER};
use testkit::http::{call, demo};
use testkit::process::{Launch, ServerProcess};

/// The real binary on a fresh database (`TEST_DATABASE`) with `env` on top.
async fn start(env: &[(&str, &str)], capture_stdout: bool) -> ServerProcess {
    let mut launch = Launch {
        capture_stdout,
        ..Launch::default()
    };
    for (name, value) in env {
        launch = launch.env(name, *value);
    }
    ServerProcess::start(env!("CARGO_BIN_EXE_server"), launch)
        .await
        .expect("the server binary starts")
}

/// Puts the first item of the chicken store on the customer's cart; returns
/// the store's id.
async fn fill_cart(customer: &reqwest::Client, base: &str) -> String {
    let stores = call(customer, base, "list_stores", &[], &[]).await.unwrap().body;
    let store = stores
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "황금올리브 치킨 역삼점"))
        .and_then(|s| s["id"].as_i64())
        .expect("the demo chicken store")
        .to_string();
    let menu = call(customer, base, "store_menu", &[("id", &store)], &[])
        .await
        .unwrap()
        .body;
    let item = menu["sections"][0]["items"][0]["id"]
        .as_i64()
        .expect("a menu item")
        .to_string();
    assert_eq!(
        call(customer, base, "cart_add", &[("item", &item)], &[])
            .await
            .unwrap()
            .status,
        200
    );
    store
}

async fn place_pickup(customer: &reqwest::Client, base: &str, store: &str, key: &str) -> testkit::http::Reply {
    call(
        customer,
        base,
        "place_order",
        &[
            ("store", store),
            ("fulfilment", "pickup"),
            ("card_number", "4242424242424242"),
            ("idempotency_key", key),
        ],
        &[],
    )
    .await
    .unwrap()
}

/// The spans of a JSON log line, by name: `{"request": {...}, "checkout": {...}}`.
fn spans(line: &serde_json::Value) -> Vec<serde_json::Value> {
    line["spans"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn one_order_can_be_followed_through_json_logs_by_its_id() {
    let mut server = start(&[("APP_LOG_FORMAT", "json"), ("RUST_LOG", "info,eventlog=debug")], true).await;
    let base = server.base();
    let stdout = server.take_stdout().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let customer = demo(&base, CUSTOMER).await.http;
    let owner = demo(&base, OWNER).await.http;
    let store = fill_cart(&customer, &base).await;
    let placed = place_pickup(&customer, &base, &store, "logs-test").await;
    let order: i64 = placed
        .location
        .expect("placed")
        .trim_start_matches("/orders/")
        .parse()
        .unwrap();
    let accepted = call(
        &owner,
        &base,
        "accept_order",
        &[("order", &order.to_string()), ("prep_minutes", "10")],
        &[],
    )
    .await
    .unwrap();
    assert_eq!(accepted.status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;

    server.kill();
    let lines: Vec<serde_json::Value> = lines
        .join()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let of_order: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| spans(l).iter().any(|s| s["order_id"] == order))
        .collect();
    let in_span = |name: &str| {
        of_order
            .iter()
            .filter(|l| spans(l).iter().any(|s| s["name"] == name))
            .count()
    };
    assert!(
        in_span("checkout") >= 2,
        "checkout lines carry the order id: {of_order:#?}"
    );
    assert!(in_span("order") >= 1, "the owner's command carries it");
    assert!(in_span("consume") >= 2, "the consumers' lines carry it");
    for line in &of_order {
        let spans = spans(line);
        if spans.iter().any(|s| s["name"] == "checkout" || s["name"] == "order") {
            let request = spans
                .iter()
                .find(|s| s["name"] == "request")
                .expect("inside a request span");
            assert!(
                request["request_id"].as_str().is_some_and(|id| id.len() >= 32),
                "with its request id: {line}"
            );
        }
    }
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_closes_websockets_and_exits_cleanly() {
    use futures::StreamExt;
    // Every payment takes 1.5 s: a checkout is in flight when SIGTERM lands.
    let mut server = start(&[("APP_PAYMENT_LATENCY_MS", "1500")], false).await;
    let base = server.base();
    let customer = demo(&base, CUSTOMER).await;
    let mut socket = testkit::live::connect(&base, Some(&customer.cookie), None)
        .await
        .expect("a WebSocket");
    let store = fill_cart(&customer.http, &base).await;
    let in_flight = {
        let (customer, base) = (customer.http.clone(), base.clone());
        tokio::spawn(async move { place_pickup(&customer, &base, &store, "sigterm").await })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    server.terminate().expect("SIGTERM");

    let mut going_away = None;
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
        if let Ok(tokio_tungstenite::tungstenite::Message::Close(Some(frame))) = frame {
            going_away = Some(u16::from(frame.code));
            break;
        }
    }
    assert_eq!(going_away, Some(1001), "the WebSocket is closed with going away");
    let placed = in_flight.await.unwrap();
    assert!(
        placed.location.is_some(),
        "the in-flight checkout finished: {}",
        placed.status
    );
    let exited = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exited.success(), "exits cleanly: {exited:?}");
    assert!(
        testkit::http::client()
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_err(),
        "no longer accepting"
    );
}
