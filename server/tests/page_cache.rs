//! The pages of visitors without a session, kept in memory (issue 13,
//! `server::page_cache`): served again with a fresh nonce, never to
//! someone logged in or reading another language, and never stale after an
//! owner's edit. A test binary of its own, so the hit counter it reads
//! counts only its own servers' pages.

// Tests stop at the first broken expectation, with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use testkit::app::{person, spawn_app_changed, TestApp};
use testkit::demo::{CUSTOMER, OWNER};
use testkit::http::client;

const TOKEN: &str = "page-cache-test-token";

async fn app() -> TestApp {
    spawn_app_changed(|s| s.metrics_token = Some(TOKEN.into())).await
}

/// How many pages were answered from memory so far, by every server of
/// this test binary (the metrics are the process's).
async fn hits(app: &TestApp) -> u64 {
    let scrape = client()
        .get(format!("{}/metrics", app.base))
        .header("authorization", format!("Bearer {TOKEN}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    scrape
        .lines()
        .find(|l| l.starts_with("page_cache_total{") && l.contains("outcome=\"hit\""))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// GETs `path` as `http`: the page's body and its policy's nonce.
async fn page(app: &TestApp, http: &reqwest::Client, path: &str) -> (String, String) {
    let response = http.get(format!("{}{path}", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a page's policy names its nonce")
        .to_string();
    (response.text().await.unwrap(), nonce)
}

#[tokio::test]
async fn a_visitors_page_comes_from_memory_with_a_nonce_of_its_own() {
    let app = app().await;
    let before = hits(&app).await;
    let visitor = client();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (html, nonce) = page(&app, &visitor, "/stores/1").await;
        assert!(html.contains("황금올리브 치킨 역삼점"));
        assert!(
            html.matches(&format!("nonce=\"{nonce}\"")).count() >= 2,
            "the scripts carry this response's nonce"
        );
        seen.push((html.replace(&nonce, "NONCE"), nonce));
    }
    assert!(hits(&app).await >= before + 2, "the second and third came from memory");
    assert_eq!(seen[0].0, seen[1].0, "the same page");
    assert_eq!(seen[1].0, seen[2].0, "the same page");
    let mut nonces: Vec<&str> = seen.iter().map(|(_, n)| n.as_str()).collect();
    nonces.dedup();
    assert_eq!(nonces.len(), 3, "a fresh nonce per response");
}

#[tokio::test]
async fn an_owners_edit_shows_on_the_next_visitors_page() {
    let app = app().await;
    let (store, item) = app.store_and_item(OWNER).await;
    let path = format!("/stores/{store}");
    let visitor = client();
    let (html, _) = page(&app, &visitor, &path).await;
    assert!(!html.contains("반반 순살 스페셜"));
    let hits_before = hits(&app).await;
    page(&app, &visitor, &path).await;
    assert!(hits(&app).await > hits_before, "the page is kept");

    let owner = person(&app, OWNER).await;
    let (store, item) = (store.to_string(), item.to_string());
    let edit = app
        .call_as(
            &owner.http,
            "update_item",
            &[
                ("store", &store),
                ("item", &item),
                ("name", "반반 순살 스페셜"),
                ("price", "21000"),
                ("stock", ""),
            ],
            &[],
        )
        .await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    let (html, _) = page(&app, &visitor, &path).await;
    assert!(html.contains("반반 순살 스페셜"), "the edit shows at once");
    assert!(html.contains("21,000원"));
}

#[tokio::test]
async fn logged_in_customers_and_other_languages_get_their_own_page() {
    let app = app().await;
    let visitor = client();
    let (korean, _) = page(&app, &visitor, "/stores/1").await;
    let (again, _) = page(&app, &visitor, "/stores/1").await;
    assert_eq!(korean.contains("로그인"), again.contains("로그인"));

    let customer = person(&app, CUSTOMER).await;
    let (theirs, _) = page(&app, &customer.http, "/stores/1").await;
    assert!(
        theirs.contains("로그아웃"),
        "the customer's own header, not the visitor's"
    );
    assert!(!korean.contains("로그아웃"));

    let english = reqwest::Client::builder()
        .default_headers(
            [(reqwest::header::ACCEPT_LANGUAGE, "en-US,en;q=0.9".parse().unwrap())]
                .into_iter()
                .collect(),
        )
        .build()
        .unwrap();
    let (html, _) = page(&app, &english, "/stores/1").await;
    assert!(html.contains("lang=\"en\""), "an English reader's page");
    let (html, _) = page(&app, &visitor, "/stores/1").await;
    assert!(html.contains("lang=\"ko\""), "and the Korean one is still Korean");
}
