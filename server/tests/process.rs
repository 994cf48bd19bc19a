//! Tests that run the real `server` binary (issue 6):
//! - structured logs (N5): with `APP_LOG_FORMAT=json` every line is a JSON
//!   object, and one order's story — the checkout request, its commands, the
//!   consumers that applied its events — can be followed by its `order_id`,
//!   each request's lines carrying the request id;
//! - graceful shutdown on SIGTERM (N7): in-flight requests finish, WebSockets
//!   are closed with "going away", the process exits cleanly.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

async fn call(http: &reqwest::Client, base: &str, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
    http.post(format!("{base}/api/{endpoint}"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// Starts the binary on a free port with a fresh SQLite file in `dir` and
/// `env` on top; returns it and its base URL once it is ready.
async fn start(dir: &std::path::Path, env: &[(&str, &str)], stdout: Stdio) -> (std::process::Child, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("APP_PORT", port.to_string())
        .env("DATABASE_URL", format!("sqlite://{}/app.db", dir.display()))
        .env("LEPTOS_SITE_ROOT", dir)
        .envs(env.iter().copied())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .expect("the server binary starts");
    let base = format!("http://127.0.0.1:{port}");
    ready(&base).await;
    (child, base)
}

/// Logs a demo account in; returns its client and session cookie.
async fn logged_in(base: &str, email: &str) -> (reqwest::Client, String) {
    let http = client();
    let login = call(&http, base, "login", &[("email", email), ("password", "demo1234")]).await;
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("baedal_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string();
    (http, cookie)
}

/// Puts the first item of demo store 1 (the owner.chicken store) in the cart.
async fn fill_cart(customer: &reqwest::Client, base: &str) {
    let page = customer
        .get(format!("{base}/stores/1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = page.find("data-item-id=\"").expect("a menu item") + "data-item-id=\"".len();
    let item: String = page[at..].chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(call(customer, base, "cart_add", &[("item", &item)]).await.status(), 200);
}

/// The spans of a JSON log line, by name: `{"request": {...}, "checkout": {...}}`.
fn spans(line: &serde_json::Value) -> Vec<serde_json::Value> {
    line["spans"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn one_order_can_be_followed_through_json_logs_by_its_id() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, base) = start(
        dir.path(),
        &[("APP_LOG_FORMAT", "json"), ("RUST_LOG", "info,eventlog=debug")],
        Stdio::piped(),
    )
    .await;
    let stdout = child.stdout.take().unwrap();
    let lines = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<String>>()
    });
    let (customer, _) = logged_in(&base, "minjun@demo.delivery").await;
    let (owner, _) = logged_in(&base, "owner.chicken@demo.delivery").await;
    fill_cart(&customer, &base).await;
    let placed = call(
        &customer,
        &base,
        "place_order",
        &[
            ("store", "1"),
            ("fulfilment", "pickup"),
            ("card_number", "4242424242424242"),
            ("idempotency_key", "logs-test"),
        ],
    )
    .await;
    let location = placed
        .headers()
        .get("location")
        .expect("placed")
        .to_str()
        .unwrap()
        .to_string();
    let order: i64 = location.trim_start_matches("/orders/").parse().unwrap();
    let accepted = call(
        &owner,
        &base,
        "accept_order",
        &[("order", &order.to_string()), ("prep_minutes", "10")],
    )
    .await;
    assert_eq!(accepted.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;

    stop(&mut child);
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

/// Kills the server (SIGKILL) and reaps it.
fn stop(child: &mut std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

async fn ready(base: &str) {
    let http = client();
    for _ in 0..200 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not become ready");
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests_closes_websockets_and_exits_cleanly() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let dir = tempfile::tempdir().unwrap();
    // Every payment takes 1.5 s: a checkout is in flight when SIGTERM lands.
    let (mut child, base) = start(dir.path(), &[("APP_PAYMENT_LATENCY_MS", "1500")], Stdio::null()).await;
    let (customer, cookie) = logged_in(&base, "minjun@demo.delivery").await;
    let mut request = format!("{}/ws", base.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    request.headers_mut().insert("cookie", cookie.parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("a WebSocket");
    fill_cart(&customer, &base).await;
    let in_flight = {
        let (customer, base) = (customer.clone(), base.clone());
        tokio::spawn(async move {
            call(
                &customer,
                &base,
                "place_order",
                &[
                    ("store", "1"),
                    ("fulfilment", "pickup"),
                    ("card_number", "4242424242424242"),
                    ("idempotency_key", "sigterm"),
                ],
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(term.success());

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
        placed.headers().get("location").is_some(),
        "the in-flight checkout finished: {}",
        placed.status()
    );
    let exited = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exited.success(), "exits cleanly: {exited:?}");
    assert!(
        client().get(format!("{base}/healthz")).send().await.is_err(),
        "no longer accepting"
    );
}
