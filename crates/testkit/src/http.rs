//! The app over HTTP as a browser uses it: a client that keeps cookies,
//! server functions called as form posts, logging in and signing up.

use std::time::Duration;

/// The name of the session cookie the app sets.
pub const SESSION_COOKIE: &str = "baedal_session";

/// A request that hangs fails with a message instead of stalling a suite.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A browser-like client: keeps cookies, does not follow redirects (tests
/// assert where they point), gives a request up after 30 s.
///
/// # Panics
/// When the TLS backend cannot start (never on these machines).
#[allow(clippy::expect_used)]
pub fn client() -> reqwest::Client {
    builder().build().expect("an HTTP client")
}

/// A browser-like [`client`] whose connections come from another loopback
/// address (`127.0.0.x`), as another device's would.
///
/// # Panics
/// As [`client`].
#[allow(clippy::expect_used)]
pub fn client_from(address: [u8; 4]) -> reqwest::Client {
    builder()
        .local_address(std::net::IpAddr::from(address))
        .build()
        .expect("an HTTP client")
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
}

/// The `baedal_session=…` pair a response sets, if it sets one.
pub fn session_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{SESSION_COOKIE}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// A server function's answer: status, `Location`, headers, and the body as
/// JSON (or as a JSON string when it is not JSON). A refusal's body,
/// `{"error": …, "message": …}` on the wire, is split: `body` holds the
/// error's data (`{"Invalid": [...]}`, `"BadCredentials"`) and `message` the
/// text shown to the person, in the request's language.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// Where a redirect points (a placed order: `/orders/{id}`).
    pub location: Option<String>,
    /// Every header.
    pub headers: reqwest::header::HeaderMap,
    /// The body; for a refusal, its `error` part.
    pub body: serde_json::Value,
    /// A refusal's message in the request's language (Korean by default).
    pub message: Option<String>,
}

impl Reply {
    /// Whether the call went through (2xx, or the 3xx a form post may answer).
    pub fn ok(&self) -> bool {
        (200..400).contains(&self.status)
    }
}

/// Calls server function `endpoint` at `base` as `http`, the way the browser
/// does (a form-encoded POST to `/api/{endpoint}`), with `headers` on top.
///
/// Errors: the request did not get an answer (refused, reset, timed out).
pub async fn call(
    http: &reqwest::Client,
    base: &str,
    endpoint: &str,
    form: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Result<Reply, reqwest::Error> {
    let mut request = http.post(format!("{base}/api/{endpoint}")).form(form);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.text().await?;
    let mut body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    let mut message = None;
    if let Some(refusal) = body.as_object() {
        if refusal.len() == 2 && refusal.contains_key("error") {
            if let Some(text) = refusal.get("message").and_then(|m| m.as_str()) {
                message = Some(text.to_string());
                body = refusal["error"].clone();
            }
        }
    }
    Ok(Reply {
        status,
        location,
        headers,
        body,
        message,
    })
}

/// A logged-in browser and its session cookie (`baedal_session=…`, for a
/// WebSocket handshake).
#[derive(Clone)]
pub struct Person {
    /// The browser: its cookie jar holds the session.
    pub http: reqwest::Client,
    /// The session cookie as a `Cookie` header value.
    pub cookie: String,
}

/// Logs `email` in with `password` from a fresh browser.
///
/// Errors: no answer, a refusal (its status and body), or no session cookie.
pub async fn log_in(base: &str, email: &str, password: &str) -> Result<Person, String> {
    let http = client();
    let reply = call(&http, base, "login", &[("email", email), ("password", password)], &[])
        .await
        .map_err(|e| format!("log in {email}: {e}"))?;
    if !reply.ok() {
        return Err(format!("log in {email}: {} {}", reply.status, reply.body));
    }
    let cookie = session_cookie(&reply.headers).ok_or_else(|| format!("log in {email}: no session cookie"))?;
    Ok(Person { http, cookie })
}

/// Logs a demo account in ([`crate::demo::PASSWORD`]).
///
/// # Panics
/// When it cannot: every test that calls it needs the account.
#[allow(clippy::panic)]
pub async fn demo(base: &str, email: &str) -> Person {
    log_in(base, email, crate::demo::PASSWORD)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Signs up a new account `email` as `role` (`customer`, or `rider` on a
/// motorbike) with the demo password; returns it logged in.
///
/// Errors: no answer, a refusal (its status and body), or no session cookie.
pub async fn sign_up(base: &str, email: &str, role: &str) -> Result<Person, String> {
    let http = client();
    let cookie = sign_up_with(&http, base, email, role, "motorbike").await?;
    Ok(Person { http, cookie })
}

/// Signs up `email` as `role` with the demo password through `http`, a
/// rider on `vehicle` (`walking`, `bicycle`, `motorbike`; ignored for other
/// roles); the new session's cookie (a `Cookie` header value). A client
/// without a cookie store can sign up many accounts this way.
///
/// Errors: no answer, a refusal (its status and body), or no session cookie.
pub async fn sign_up_with(
    http: &reqwest::Client,
    base: &str,
    email: &str,
    role: &str,
    vehicle: &str,
) -> Result<String, String> {
    let mut form = vec![
        ("email", email),
        ("display_name", "테스트 사용자"),
        ("password", crate::demo::PASSWORD),
        ("role", role),
    ];
    if role == "rider" {
        form.push(("vehicle", vehicle));
    }
    let reply = call(http, base, "signup", &form, &[])
        .await
        .map_err(|e| format!("sign up {email}: {e}"))?;
    if !reply.ok() {
        return Err(format!("sign up {email}: {} {}", reply.status, reply.body));
    }
    session_cookie(&reply.headers).ok_or_else(|| format!("sign up {email}: no session cookie"))
}

/// Waits until `GET {base}/readyz` answers 200, polling every 50 ms for at
/// most `within`; whether it did.
pub async fn wait_ready(base: &str, within: Duration) -> bool {
    let http = client();
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A key no other call in this process has: nanoseconds since the epoch
/// (checkout idempotency keys, unique emails).
pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(seen) => last = seen,
        }
    }
}
