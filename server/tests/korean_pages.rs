//! Korean first (issue 12): every page, rendered for each kind of user with
//! no language chosen, is in Korean — no English UI word left in the text a
//! person reads or in the attributes a screen reader speaks — and the same
//! pages in English carry the English words, with `<html lang>` to match.

// Tests stop at the first broken expectation, with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use testkit::app::{owner_does, person, place_order, spawn_app, TestApp};
use testkit::demo::{ADMIN, CANTEEN_OWNER, CUSTOMER, MOTO_RIDER, OWNER};

/// Latin words that may stand on a Korean page: the brand, the language
/// switch's "English" (a language is named in itself), units and the demo
/// data's own names (emails and addresses are removed before the scan).
const ALLOWED: &[&str] = &["Baedal", "English", "SK", "B", "Ah", "L", "KST"];

/// The text a person reads on `html`: text nodes outside scripts and styles,
/// plus `placeholder`, `title`, `aria-label` and `alt` values.
fn readable_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        out.push(' ');
        rest = &rest[start..];
        let lower = rest.get(..8).unwrap_or(rest).to_ascii_lowercase();
        let end_of = |closing: &str, from: &str| from.find(closing).map(|i| i + closing.len()).unwrap_or(from.len());
        if lower.starts_with("<script") {
            rest = &rest[end_of("</script>", rest)..];
            continue;
        }
        if lower.starts_with("<style") {
            rest = &rest[end_of("</style>", rest)..];
            continue;
        }
        // Machine names an operator matches against logs (`order_views`).
        if lower.starts_with("<code>") {
            rest = &rest[end_of("</code>", rest)..];
            continue;
        }
        if rest.starts_with("<!--") {
            rest = &rest[end_of("-->", rest)..];
            continue;
        }
        let tag_end = rest.find('>').map(|i| i + 1).unwrap_or(rest.len());
        let tag = &rest[..tag_end];
        for attribute in ["placeholder=\"", "title=\"", "aria-label=\"", "alt=\""] {
            for (i, _) in tag.match_indices(attribute) {
                // ` title=` only, not `data-title=`.
                if tag[..i].ends_with(' ') {
                    let value = &tag[i + attribute.len()..];
                    out.push(' ');
                    out.push_str(value.split('"').next().unwrap_or(""));
                }
            }
        }
        rest = &rest[tag_end..];
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
        .replace("&nbsp;", " ")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
}

/// The English words left in `html`'s readable text.
fn english_words(html: &str) -> Vec<String> {
    let text = readable_text(html);
    let mut words = Vec::new();
    for token in text.split_whitespace() {
        // Emails, links and the demo addresses' numbers are data, not UI.
        if token.contains('@') || token.contains("://") || token.starts_with('/') {
            continue;
        }
        for word in token.split(|c: char| !c.is_ascii_alphabetic()) {
            if !word.is_empty() && !ALLOWED.contains(&word) {
                words.push(word.to_string());
            }
        }
    }
    words
}

/// GETs `path` as `who` (a logged-in person's client, or a fresh browser),
/// with `language` as the browser's `Accept-Language` if given.
async fn page(app: &TestApp, who: &reqwest::Client, path: &str, language: Option<&str>) -> String {
    let send = || {
        let mut request = who.get(format!("{}{}", app.base, path)).header("accept", "text/html");
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        request.send()
    };
    let mut response = send().await.expect("request");
    if testkit::app::stalled(&response) {
        response = send().await.expect("request");
    }
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    assert!(status == 200 || status == 404, "{path}: {status}");
    body
}

/// Every page each kind of user meets in the demo, with an order under way
/// so the order, board, rider and notification pages have content.
async fn every_page(app: &TestApp) -> Vec<(reqwest::Client, String)> {
    let customer = person(app, CUSTOMER).await;
    let owner = person(app, OWNER).await;
    let rider = person(app, MOTO_RIDER).await;
    let admin = person(app, ADMIN).await;
    let canteen = person(app, CANTEEN_OWNER).await;
    let order = place_order(app, &customer).await;
    owner_does(app, &owner, "accept_order", &order).await;
    let rejected = place_order(app, &customer).await;
    let reply = app
        .call_as(
            &owner.http,
            "reject_order",
            &[("order", &rejected), ("reason", "too_busy")],
            &[],
        )
        .await;
    assert_eq!(reply.status, 200, "reject: {}", reply.body);
    app.settle().await;
    // Something in the cart for the checkout page.
    let (_, item) = app.store_and_item(OWNER).await;
    let added = app
        .call_as(
            &customer.http,
            "cart_add",
            &[("item", &item.to_string()), ("quantity", "2")],
            &[],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);

    let stores: Vec<i64> = sqlx::query_scalar("SELECT id FROM stores ORDER BY id")
        .fetch_all(app.db().pool())
        .await
        .unwrap();
    let (canteen_store, _) = app.store_and_item(CANTEEN_OWNER).await;
    let (owner_store, _) = app.store_and_item(OWNER).await;

    let anonymous = testkit::http::client();
    let mut pages = vec![
        (anonymous.clone(), "/".to_string()),
        (anonymous.clone(), "/login".to_string()),
        (anonymous.clone(), "/signup".to_string()),
        (anonymous.clone(), "/no-such-page".to_string()),
        (anonymous.clone(), "/stores/999999".to_string()),
    ];
    pages.extend(stores.iter().map(|id| (anonymous.clone(), format!("/stores/{id}"))));
    pages.extend(
        [
            "/",
            "/checkout",
            "/orders",
            &format!("/orders/{order}"),
            &format!("/orders/{rejected}"),
            "/notifications",
        ]
        .iter()
        .map(|path| (customer.http.clone(), path.to_string())),
    );
    pages.push((owner.http.clone(), "/owner".into()));
    pages.push((owner.http.clone(), format!("/owner/stores/{owner_store}")));
    pages.push((canteen.http.clone(), format!("/owner/stores/{canteen_store}")));
    pages.push((canteen.http.clone(), format!("/owner/stores/{canteen_store}/payroll")));
    pages.push((rider.http.clone(), "/rider".into()));
    pages.push((admin.http.clone(), "/admin".into()));
    pages
}

#[tokio::test]
async fn every_page_in_korean_has_no_english_ui_word() {
    let app = spawn_app().await;
    let mut leftovers = Vec::new();
    for (who, path) in every_page(&app).await {
        for language in [None, Some("ko-KR,ko;q=0.9")] {
            let html = page(&app, &who, &path, language).await;
            assert!(html.contains("<html lang=\"ko\""), "{path} is not marked Korean");
            let words = english_words(&html);
            if !words.is_empty() {
                leftovers.push(format!("{path}: {}", words.join(" ")));
            }
        }
    }
    assert!(
        leftovers.is_empty(),
        "English words on Korean pages:\n{}",
        leftovers.join("\n")
    );
}

#[tokio::test]
async fn accept_language_english_gets_english_pages_and_the_cookie_wins_over_it() {
    let app = spawn_app().await;
    let browser = testkit::http::client();
    let html = page(&app, &browser, "/login", Some("en-US,en;q=0.9")).await;
    assert!(html.contains("<html lang=\"en\""), "{html}");
    assert!(english_words(&html).len() > 5, "an English page has English words");

    // The language switch sets the cookie; it beats Accept-Language.
    let reply = app.call_as(&browser, "set_language", &[("lang", "ko")], &[]).await;
    assert!(reply.status < 400, "set_language: {} {}", reply.status, reply.body);
    let html = page(&app, &browser, "/login", Some("en-US,en;q=0.9")).await;
    assert!(html.contains("<html lang=\"ko\""), "the chosen language wins");
    assert!(english_words(&html).is_empty(), "{:?}", english_words(&html));
}

#[test]
fn the_scan_finds_english_in_text_and_attributes_but_not_in_scripts_or_emails() {
    let html = r#"<html lang="ko"><body><h1>주문</h1><button title="Close">닫기</button>
        <p>minjun@demo.delivery 12,000원</p><script>let x = "Order";</script>
        <input placeholder="Search"><span data-title="ignored">Save</span><code>order_views</code></body></html>"#;
    assert_eq!(english_words(html), ["Close", "Search", "Save"]);
    assert!(english_words("<p>배달 Baedal · 60Ah · 1.25L</p>").is_empty());
}

#[tokio::test]
async fn switching_language_changes_old_notifications_and_the_account_keeps_it_for_the_next_login() {
    let app = spawn_app().await;
    let customer = person(&app, CUSTOMER).await;
    let owner = person(&app, OWNER).await;
    let order = place_order(&app, &customer).await;
    owner_does(&app, &owner, "accept_order", &order).await;
    app.settle().await;

    let korean = page(&app, &customer.http, "/notifications", None).await;
    let particle = if matches!(order.chars().last(), Some('2' | '4' | '5' | '9')) {
        "를"
    } else {
        "을"
    };
    assert!(
        korean.contains(&format!("주문 #{order}{particle} 접수했어요")),
        "{korean}"
    );

    let reply = app
        .call_as(&customer.http, "set_language", &[("lang", "en")], &[])
        .await;
    assert!(reply.status < 400, "set_language: {} {}", reply.status, reply.body);
    // The same notifications, stored as keys and values, now in English.
    let english = page(&app, &customer.http, "/notifications", None).await;
    assert!(english.contains("<html lang=\"en\""));
    assert!(
        english.contains(&format!("accepted order #{order}: ready in about 10 min")),
        "{english}"
    );
    assert!(!english.contains("접수했어요"), "no Korean notice left");
    // Refusals too: an unknown order in English.
    let refused = app.call_as(&customer.http, "order", &[("id", "999999")], &[]).await;
    assert_eq!(refused.status, 404);
    assert!(
        refused.message.as_deref().is_some_and(|m| m.is_ascii()),
        "{:?}",
        refused.message
    );

    // Another device, no cookie yet: the account's language wins over the
    // browser's Korean.
    let phone = person(&app, CUSTOMER).await;
    let html = page(&app, &phone.http, "/orders", Some("ko-KR,ko")).await;
    assert!(
        html.contains("<html lang=\"en\""),
        "the account's choice follows the login"
    );

    // A language the platform does not speak is refused and changes nothing.
    let reply = app
        .call_as(&customer.http, "set_language", &[("lang", "fr")], &[])
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let html = page(&app, &customer.http, "/orders", None).await;
    assert!(html.contains("<html lang=\"en\""));
}

#[tokio::test]
async fn the_app_manifest_speaks_the_readers_language() {
    let app = spawn_app().await;
    let manifest = |language: &'static str| {
        let app = &app;
        async move {
            let response = testkit::http::client()
                .get(format!("{}/manifest.webmanifest", app.base))
                .header("accept-language", language)
                .send()
                .await
                .expect("request");
            assert_eq!(response.status().as_u16(), 200);
            assert_eq!(response.headers()["content-type"], "application/manifest+json");
            response.json::<serde_json::Value>().await.expect("JSON")
        }
    };
    let korean = manifest("ko-KR,ko").await;
    assert_eq!(korean["lang"], "ko");
    assert_eq!(korean["short_name"], "배달");
    assert!(english_words(korean["description"].as_str().unwrap_or("x")).is_empty());
    let english = manifest("en-GB,en;q=0.8").await;
    assert_eq!(english["lang"], "en");
    assert!(english["description"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Order food"));
    assert_eq!(korean["icons"], english["icons"]);
}

#[tokio::test]
async fn a_request_refused_before_its_function_runs_is_answered_in_its_language_too() {
    let app = spawn_app().await;
    let unreadable = |language: &'static str| {
        let app = &app;
        async move {
            let response = testkit::http::client()
                .post(format!("{}/api/list_stores", app.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept-language", language)
                .body(&b"q=\xff\xfe"[..])
                .send()
                .await
                .expect("request");
            assert_eq!(response.status().as_u16(), 400);
            response.json::<serde_json::Value>().await.expect("JSON")
        }
    };
    let english = unreadable("en-US,en").await;
    let korean = unreadable("ko-KR").await;
    assert_eq!(english["error"], korean["error"], "the same refusal");
    let (english, korean) = (
        english["message"].as_str().unwrap_or(""),
        korean["message"].as_str().unwrap_or(""),
    );
    assert!(!english.is_empty() && english.is_ascii(), "{english}");
    assert!(
        english_words(&format!("<p>{korean}</p>")).is_empty() && !korean.is_empty(),
        "{korean}"
    );
}
