//! What the load generator (`loadgen`) and the crash test (`crashtest`) share:
//! a browser-like HTTP client and accounts made over HTTP.

use anyhow::{anyhow, bail, Result};
use std::time::Duration;

/// Every account's password: the demo accounts' and the ones made here.
pub const PASSWORD: &str = "demo1234";

/// A browser-like client: keeps cookies, does not follow redirects, gives a
/// request up after 30 s.
///
/// Errors: when the TLS backend cannot start.
pub fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// The `baedal_session=…` pair a response sets, if it sets one.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("baedal_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// Signs up `email` as `role` (`customer`, or `rider` on a motorbike) with
/// [`PASSWORD`]; returns its logged-in client and session cookie.
///
/// Errors: the server refused (an answer other than 2xx/3xx) or did not answer.
pub async fn signup(base: &str, email: &str, role: &str) -> Result<(reqwest::Client, String)> {
    let c = client()?;
    let mut form = vec![
        ("email", email),
        ("display_name", "부하 테스트"),
        ("password", PASSWORD),
        ("role", role),
    ];
    if role == "rider" {
        form.push(("vehicle", "motorbike"));
    }
    let response = c.post(format!("{base}/api/signup")).form(&form).send().await?;
    let status = response.status();
    if !(status.is_success() || status.is_redirection()) {
        bail!(
            "sign up {email}: {status} {}",
            response.text().await.unwrap_or_default()
        );
    }
    let cookie = session_cookie(&response).ok_or_else(|| anyhow!("no session cookie for {email}"))?;
    Ok((c, cookie))
}
