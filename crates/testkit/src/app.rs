//! The app in-process: `server::start` on port 0 and a fresh database
//! (`TEST_DATABASE=sqlite|postgres`), driven over HTTP, with its database at
//! hand for checks behind the HTTP surface.

#![allow(clippy::expect_used, clippy::panic)]

use crate::http::{self, Person, Reply};
use crate::live::Socket;
use server::config::Settings;
use server::RunningServer;

/// A running app and an HTTP client that keeps cookies.
pub struct TestApp {
    /// The server; `None` once [`stop`](Self::stop)ped.
    pub server: Option<RunningServer>,
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    /// A browser of its own (logged out until a test logs it in).
    pub client: reqwest::Client,
    /// Its database, for a restart or a second replica.
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
}

/// Settings for a test instance on `database_url`: port 0, five database
/// connections, demo data or not.
pub fn test_settings(database_url: &str, demo: bool) -> Settings {
    let mut settings = Settings::from_lookup(|_| None).expect("default settings");
    settings.port = 0;
    settings.database_url = database_url.to_string();
    settings.demo = demo;
    settings.db_max_connections = 5;
    // Tests place many orders from one address; the limit has its own test.
    settings.checkouts_per_minute = 100_000;
    settings
}

/// Whether the server gave up on a stalled page render (`RESPONSE_TIMEOUT`:
/// 503 with an empty body). Its known cause in this test binary — servers
/// of one process making their route lists while others rendered — is gone
/// (`server::router::route_list`, tested in `server/tests/catalog_pages.rs`
/// with no stall allowed); should another appear, a page GET is tried once
/// more, as a user would reload, and it is said on stderr.
pub fn stalled(response: &reqwest::Response) -> bool {
    let gave_up = response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE && response.content_length() == Some(0);
    if gave_up {
        eprintln!(
            "a page render stalled and timed out; trying once more ({})",
            response.url()
        );
    }
    gave_up
}

/// Spawns the app with demo data on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(true).await
}

/// Spawns the app on a fresh database, with or without demo data.
pub async fn spawn_app_with(demo: bool) -> TestApp {
    let (url, dir) = crate::fresh_url().await;
    let mut app = spawn_on(&url, demo).await;
    app._dir = dir;
    app
}

/// Spawns the app on a fresh database with settings changed by `change`.
pub async fn spawn_app_changed(change: impl FnOnce(&mut Settings)) -> TestApp {
    let (url, dir) = crate::fresh_url().await;
    let mut settings = test_settings(&url, true);
    change(&mut settings);
    let mut app = spawn_with_settings(settings).await;
    app._dir = dir;
    app
}

/// Spawns the app on an existing database (a restart, or a second replica).
pub async fn spawn_on(database_url: &str, demo: bool) -> TestApp {
    spawn_with_settings(test_settings(database_url, demo)).await
}

/// Spawns the app with these settings.
pub async fn spawn_with_settings(settings: Settings) -> TestApp {
    let database_url = settings.database_url.clone();
    let server = server::start(&settings).await.expect("the app starts");
    let base = format!("http://{}", server.addr);
    TestApp {
        server: Some(server),
        base,
        client: http::client(),
        database_url,
        _dir: None,
    }
}

impl TestApp {
    /// GETs `path` with the app's own client: status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let send = || self.client.get(format!("{}{}", self.base, path)).send();
        let mut response = send().await.expect("request");
        if stalled(&response) {
            response = send().await.expect("request");
        }
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// GETs the page at `path` (see [`get`](Self::get)) with Leptos' empty
    /// hydration markers (`<!>`) taken out of its markup: type-erased views
    /// (`--cfg erase_components`) put one between most neighbouring text
    /// and elements, so `<h1>꽃집<!></h1>` reads `<h1>꽃집</h1>`.
    pub async fn page(&self, path: &str) -> (u16, String) {
        let (status, html) = self.get(path).await;
        (status, html.replace("<!>", ""))
    }

    /// Calls a server function with the app's own client: status and body.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let reply = self.call_as(&self.client, endpoint, form, &[]).await;
        (reply.status, reply.body)
    }

    /// Calls a server function as `client`, with extra headers.
    pub async fn call_as(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        http::call(client, &self.base, endpoint, form, headers)
            .await
            .expect("an answer")
    }

    /// One login attempt from a fresh browser.
    pub async fn try_login(&self, email: &str, password: &str) -> Reply {
        self.call_as(
            &http::client(),
            "login",
            &[("email", email), ("password", password)],
            &[],
        )
        .await
    }

    /// Logs `client` in with a demo account.
    pub async fn login_as(&self, client: &reqwest::Client, email: &str) -> Reply {
        self.call_as(
            client,
            "login",
            &[("email", email), ("password", crate::demo::PASSWORD)],
            &[],
        )
        .await
    }

    /// GETs a page as `client` (accepting HTML, like a browser): status,
    /// `Location`, body.
    pub async fn page_as(&self, client: &reqwest::Client, path: &str) -> (u16, Option<String>, String) {
        let send = || {
            client
                .get(format!("{}{}", self.base, path))
                .header("accept", "text/html")
                .send()
        };
        let mut response = send().await.expect("request");
        if stalled(&response) {
            response = send().await.expect("request");
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (status, location, response.text().await.expect("body"))
    }

    /// The demo store `owner_email` owns and the first item on its menu
    /// with unlimited stock: `(store id, menu item id)`.
    pub async fn store_and_item(&self, owner_email: &str) -> (i64, i64) {
        sqlx::query_as(
            "SELECT s.id, MIN(m.id) FROM stores s JOIN users u ON u.id = s.owner_id \
             JOIN menu_items m ON m.store_id = s.id AND m.stock IS NULL WHERE u.email = $1 GROUP BY s.id",
        )
        .bind(owner_email)
        .fetch_one(self.db().pool())
        .await
        .expect("a demo store with an unlimited item")
    }

    /// The app's database, for checks behind the HTTP surface.
    pub fn db(&self) -> &db::Db {
        &self.server.as_ref().expect("running").db
    }

    /// Stops the server and keeps the database for a restart.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("clean stop");
        }
    }

    /// Waits until every consumer has applied the whole log (consumers
    /// append events of their own, so until nothing moves), for at most 10 s.
    ///
    /// # Panics
    /// When they do not catch up in time.
    pub async fn settle(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (head, slowest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events), (SELECT MIN(last_seq) FROM consumer_checkpoints)",
            )
            .fetch_one(self.db().pool())
            .await
            .expect("checkpoints");
            if slowest.unwrap_or(head) >= head {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "consumers never caught up with {head}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// Logs a demo account in from a fresh browser.
pub async fn person(app: &TestApp, email: &str) -> Person {
    http::demo(&app.base, email).await
}

/// Opens the app's `/ws` as `cookie`'s session (or anonymously), resuming
/// after `after` if given.
///
/// Errors: the handshake was refused or failed.
pub async fn connect(
    app: &TestApp,
    cookie: Option<&str>,
    after: Option<i64>,
) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
    crate::live::connect(&app.base, cookie, after).await
}

/// `customer` orders one unlimited item of the chicken store for motorbike
/// delivery and pays; returns the order id.
pub async fn place_order(app: &TestApp, customer: &Person) -> String {
    let (store, item) = app.store_and_item(crate::demo::OWNER).await;
    let item = item.to_string();
    let added = app
        .call_as(&customer.http, "cart_add", &[("item", &item), ("quantity", "1")], &[])
        .await;
    assert_eq!(added.status, 200, "cart_add: {}", added.body);
    let key = format!("test-{}", http::unique());
    let placed = app
        .call_as(
            &customer.http,
            "place_order",
            &[
                ("store", &store.to_string()),
                ("fulfilment", "delivery"),
                ("delivery_type", "motorbike"),
                ("address", "서울 강남구 역삼로 5"),
                ("card_number", "4242424242424242"),
                ("idempotency_key", &key),
            ],
            &[],
        )
        .await;
    placed
        .location
        .unwrap_or_else(|| panic!("placed: {} {}", placed.status, placed.body))
        .trim_start_matches("/orders/")
        .to_string()
}

/// The owner does `endpoint` (`accept_order` with 10 minutes, or
/// `mark_ready`, `reject_order`, …) on `order`; it must go through.
pub async fn owner_does(app: &TestApp, owner: &Person, endpoint: &str, order: &str) {
    let mut form = vec![("order", order)];
    if endpoint == "accept_order" {
        form.push(("prep_minutes", "10"));
    }
    let reply = app.call_as(&owner.http, endpoint, &form, &[]).await;
    assert_eq!(reply.status, 200, "{endpoint}: {}", reply.body);
}
