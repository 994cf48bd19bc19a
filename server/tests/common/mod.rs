//! The integration harness: the real app on port 0 with a fresh database
//! (`TEST_DATABASE=sqlite|postgres`), driven over HTTP.

#![allow(dead_code, clippy::expect_used)]

use server::config::Settings;
use server::RunningServer;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "demo1234";

/// A running app and an HTTP client that keeps cookies.
pub struct TestApp {
    pub server: Option<RunningServer>,
    pub base: String,
    pub client: reqwest::Client,
    pub database_url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A server-function response: status, `Location`, headers, body.
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

/// Settings for a test instance on `database_url`.
pub fn test_settings(database_url: &str, demo: bool) -> Settings {
    let mut settings = Settings::from_lookup(|_| None).expect("default settings");
    settings.port = 0;
    settings.database_url = database_url.to_string();
    settings.demo = demo;
    settings.db_max_connections = 5;
    settings
}

/// Whether the server gave up on a stalled page render (`RESPONSE_TIMEOUT`:
/// 503 with an empty body; leptos#4851, rare under heavy parallel tests). A
/// page GET is then tried once more, as a user would reload; it is said on
/// stderr so a rise in these shows.
fn stalled(response: &reqwest::Response) -> bool {
    let gave_up = response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE && response.content_length() == Some(0);
    if gave_up {
        eprintln!(
            "a page render stalled and timed out; trying once more ({})",
            response.url()
        );
    }
    gave_up
}

/// A browser-like client: keeps cookies, does not follow redirects (tests
/// assert where they point).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        // A request that hangs fails the test with a message instead of
        // stalling the suite.
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Spawns the app with demo data on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(true).await
}

/// Spawns the app on a fresh database, with or without demo data.
pub async fn spawn_app_with(demo: bool) -> TestApp {
    let (url, dir) = testkit::fresh_url().await;
    let mut app = spawn_on(&url, demo).await;
    app._dir = dir;
    app
}

/// Spawns the app on a fresh database with settings changed by `change`.
pub async fn spawn_app_changed(change: impl FnOnce(&mut Settings)) -> TestApp {
    let (url, dir) = testkit::fresh_url().await;
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
        client: client(),
        database_url,
        _dir: None,
    }
}

impl TestApp {
    pub async fn get(&self, path: &str) -> (u16, String) {
        let send = || self.client.get(format!("{}{}", self.base, path)).send();
        let mut response = send().await.expect("request");
        if stalled(&response) {
            response = send().await.expect("request");
        }
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    /// Calls a server function the way the browser does (form-encoded POST).
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
        let mut request = client.post(format!("{}/api/{endpoint}", self.base)).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        Reply {
            status,
            location,
            headers,
            body,
        }
    }

    /// One login attempt from a fresh browser.
    pub async fn try_login(&self, email: &str, password: &str) -> Reply {
        self.call_as(&client(), "login", &[("email", email), ("password", password)], &[])
            .await
    }

    /// Logs `client` in with a demo account.
    pub async fn login_as(&self, client: &reqwest::Client, email: &str) -> Reply {
        self.call_as(client, "login", &[("email", email), ("password", DEMO_PASSWORD)], &[])
            .await
    }

    /// GETs a page as `client` (accepting HTML, like a browser): status, `Location`, body.
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

    /// The app's database, for checks behind the HTTP surface.
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

    pub fn db(&self) -> &db::Db {
        &self.server.as_ref().expect("running").db
    }

    /// Stops the server and keeps the database for a restart.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("clean stop");
        }
    }
}
