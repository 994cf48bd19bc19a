//! Hostile input (issue 15): whatever a stranger sends — to every server
//! function and every page, over WebSockets, with odd sessions — gets a
//! clear 4xx (or a deliberate 503), never a panic, never a 5xx for their own
//! mistake, never framework or database text, and changes nothing when it is
//! refused. Each item of the issue also has its own regression test below.
//! Runs on the database chosen by `TEST_DATABASE`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::{Mutex, Once};
use std::time::Duration;
use testkit::app::{connect, owner_does, person, place_order, spawn_app, spawn_app_changed, spawn_on, TestApp};
use testkit::demo::{ADMIN, BIKE_RIDER, CUSTOMER, MOTO_RIDER, OWNER, PASSWORD};
use testkit::http::{client, Person};
use testkit::live::{hello, Socket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

// ---------------------------------------------------------------------------
// What every answer must be.

/// Words that only a framework, a parser or a database would write. None of
/// them may reach a browser (compared without case).
const INTERNAL_TEXT: &[&str] = &[
    "sqlx",
    "error returned from database",
    "deserializ",
    "serde",
    "panicked",
    "unreachable",
    "invalid utf-8",
    "length limit",
    "sqlite",
    "postgres",
    "syntax error",
    "server_fn",
    "server function",
    "stack backtrace",
    "register_explicit",
    "missing field",
    "unknown variant",
];

/// Markup that must never come back as markup.
const SCRIPT: &str = "<script>alert(1)</script>";
const TITLE_BREAKER: &str = "</title><img src=x onerror=alert(1)>";

/// Panics seen on each thread. `#[tokio::test]` runs the test and the server
/// it spawned on one thread, so a test reads its own thread's panics only.
static PANICS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn watch_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current().name().unwrap_or_default().to_string();
            if let Ok(mut panics) = PANICS.lock() {
                panics.push((thread, info.to_string()));
            }
            default(info);
        }));
    });
}

fn assert_no_panic_here() {
    let thread = std::thread::current().name().unwrap_or_default().to_string();
    let mine: Vec<String> = PANICS
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| *t == thread)
        .map(|(_, m)| m.clone())
        .collect();
    assert!(mine.is_empty(), "the server panicked: {mine:#?}");
}

/// A 5xx is only allowed as a deliberate 503 that says when to retry.
fn assert_not_our_fault(status: u16, headers: &reqwest::header::HeaderMap, context: &str) {
    let deliberate = status == 503 && headers.contains_key("retry-after");
    assert!(status < 500 || deliberate, "{context}: {status}");
}

fn assert_no_internal_text(body: &str, context: &str) {
    let lower = without_nonces(body).to_lowercase();
    for word in INTERNAL_TEXT {
        if let Some(at) = lower.find(word) {
            // The words around it (lower-cased), to tell internal text from
            // a random token that happens to spell it.
            let from = lower.floor_char_boundary(at.saturating_sub(300));
            let to = lower.ceil_char_boundary((at + 300).min(lower.len()));
            panic!("{context}: the answer says {word:?}: …{}…", &lower[from..to]);
        }
    }
}

/// `body` with its CSP nonces blanked: a nonce is random base64 and once
/// spelled "sErDE" (CI, stop 28), which is no internal text.
fn without_nonces(body: &str) -> String {
    let mut nonces = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find("nonce=\"") {
        rest = &rest[at + "nonce=\"".len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        if end > 0 {
            nonces.push(rest[..end].to_string());
        }
        rest = &rest[end..];
    }
    nonces
        .iter()
        .fold(body.to_string(), |text, nonce| text.replace(nonce.as_str(), ""))
}

#[test]
fn a_nonce_that_spells_a_word_is_not_internal_text() {
    let page = r#"<link crossorigin="ksErDEDQAZAAfbqInW4zDA"><script nonce="ksErDEDQAZAAfbqInW4zDA">x</script>"#;
    assert_no_internal_text(page, "a nonce");
    let leak = std::panic::catch_unwind(|| assert_no_internal_text("<p>serde_json: expected value</p>", "a leak"));
    assert!(leak.is_err(), "real internal text is still caught");
}

fn assert_no_raw_markup(body: &str, context: &str) {
    for markup in ["<script>alert(1)", "<img src=x onerror", "<img src=\"x\" onerror"] {
        assert!(!body.contains(markup), "{context}: markup came back as markup");
    }
}

/// Everything a refused request must leave as it was: the business tables
/// (sessions and login throttles are not business; they change on refusals
/// by design).
///
/// Consumers append events of their own (a delivery job opens after an
/// acceptance), so it first waits until every consumer has caught up with the
/// log: what a refusal is compared against is then a state at rest.
async fn fingerprint(app: &TestApp) -> BTreeMap<&'static str, Vec<String>> {
    let pool = app.db().pool();
    app.settle().await;
    let mut out = BTreeMap::new();
    let rows = |rows: Vec<(i64, String)>| rows.into_iter().map(|(a, b)| format!("{a}:{b}")).collect::<Vec<_>>();
    out.insert(
        "users",
        rows(
            sqlx::query_as("SELECT id, email FROM users ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap(),
        ),
    );
    out.insert(
        "stores",
        rows(
            sqlx::query_as("SELECT id, status FROM stores ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap(),
        ),
    );
    let items: Vec<(i64, i64, Option<i64>, i64, String)> =
        sqlx::query_as("SELECT id, price_won, stock, sold_out, name FROM menu_items ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap();
    out.insert("menu_items", items.iter().map(|i| format!("{i:?}")).collect());
    let lines: Vec<(i64, i64, i64)> =
        sqlx::query_as("SELECT customer_id, menu_item_id, quantity FROM cart_lines ORDER BY customer_id, menu_item_id")
            .fetch_all(pool)
            .await
            .unwrap();
    out.insert("cart_lines", lines.iter().map(|l| format!("{l:?}")).collect());
    out.insert(
        "orders",
        rows(
            sqlx::query_as("SELECT id, status FROM orders ORDER BY id")
                .fetch_all(pool)
                .await
                .unwrap(),
        ),
    );
    for (name, sql) in [
        ("events", "SELECT last_seq FROM event_sequence"),
        ("payments", "SELECT COUNT(*) FROM payments"),
        ("reviews", "SELECT COUNT(*) FROM reviews"),
        ("notification_reads", "SELECT COUNT(*) FROM notification_reads"),
    ] {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(pool).await.unwrap();
        out.insert(name, vec![n.to_string()]);
    }
    out
}

/// One answer, read whole; a dropped connection (a panic) fails the test.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn send(request: reqwest::RequestBuilder, context: &str) -> Answer {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{context}: no answer (the connection broke): {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Answer { status, headers, body }
}

/// Checks an answer to a bad request and that a refusal wrote nothing.
async fn judge(app: &TestApp, answer: &Answer, before: &BTreeMap<&'static str, Vec<String>>, context: &str) {
    assert_not_our_fault(answer.status, &answer.headers, context);
    assert_no_internal_text(&answer.body, context);
    if answer.status >= 400 {
        let after = fingerprint(app).await;
        assert_eq!(
            &after, before,
            "{context}: refused ({}) yet something changed",
            answer.status
        );
    }
}

// ---------------------------------------------------------------------------
// The people and the things they act on.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    Customer,
    Owner,
    Rider,
    Admin,
    /// A throwaway customer (for logout, which ends the caller's session).
    Fresh,
}

struct Cast {
    anonymous: reqwest::Client,
    customer: Person,
    owner: Person,
    rider: Person,
    admin: Person,
}

impl Cast {
    async fn new(app: &TestApp) -> Cast {
        Cast {
            anonymous: client(),
            customer: person(app, CUSTOMER).await,
            owner: person(app, OWNER).await,
            rider: person(app, MOTO_RIDER).await,
            admin: person(app, ADMIN).await,
        }
    }

    async fn http(&self, app: &TestApp, who: Who) -> reqwest::Client {
        match who {
            Who::Anonymous => self.anonymous.clone(),
            Who::Customer => self.customer.http.clone(),
            Who::Owner => self.owner.http.clone(),
            Who::Rider => self.rider.http.clone(),
            Who::Admin => self.admin.http.clone(),
            Who::Fresh => person(app, "seoyeon@demo.delivery").await.http,
        }
    }
}

/// The ids the valid arguments name: the owner's store, an item of it, and
/// an order of the customer's there (motorbike delivery, just placed).
struct Fixture {
    store: String,
    item: String,
    order: String,
}

/// Every server function, who calls it in the table, and a valid value for
/// each of its parameters. A server function missing here fails
/// `every_server_function_is_in_the_table`.
/// A server function's name, who calls it, and its valid arguments.
type Row = (&'static str, Who, Vec<(&'static str, String)>);

fn server_functions(f: &Fixture) -> Vec<Row> {
    let s = || f.store.clone();
    let o = || f.order.clone();
    vec![
        ("current_user", Who::Customer, vec![]),
        (
            "login",
            Who::Anonymous,
            vec![
                ("email", "nobody@example.kr".into()),
                ("password", "not the password".into()),
                ("next", "/orders".into()),
            ],
        ),
        ("logout", Who::Fresh, vec![]),
        ("set_language", Who::Customer, vec![("lang", "ko".into())]),
        (
            "signup",
            Who::Anonymous,
            vec![
                ("email", "hostile@example.kr".into()),
                ("display_name", "손님".into()),
                ("password", "a long password".into()),
                ("role", "owner".into()),
                ("vehicle", "bicycle".into()),
                ("store_name", "새 가게".into()),
                ("store_kind", "restaurant".into()),
                ("store_address", "서울 마포구 1".into()),
            ],
        ),
        ("owner_stores", Who::Owner, vec![]),
        ("owner_store", Who::Owner, vec![("id", s())]),
        ("operations", Who::Admin, vec![]),
        (
            "payment_faults",
            Who::Admin,
            vec![("latency_ms", "0".into()), ("failure_rate", "0".into())],
        ),
        (
            "consumer_mode",
            Who::Admin,
            vec![("consumer", "order_views".into()), ("mode", "running".into())],
        ),
        (
            "list_stores",
            Who::Anonymous,
            vec![("kind", "restaurant".into()), ("q", "치킨".into())],
        ),
        ("store_menu", Who::Anonymous, vec![("id", s())]),
        ("cart", Who::Customer, vec![("store", s())]),
        (
            "cart_add",
            Who::Customer,
            vec![("item", f.item.clone()), ("quantity", "1".into())],
        ),
        (
            "cart_set",
            Who::Customer,
            vec![("item", f.item.clone()), ("quantity", "2".into())],
        ),
        ("checkout_page", Who::Customer, vec![("store", s())]),
        (
            "place_order",
            Who::Customer,
            vec![
                ("store", s()),
                ("fulfilment", "delivery".into()),
                ("delivery_type", "motorbike".into()),
                ("address", "서울 강남구 역삼로 5".into()),
                ("note", "문 앞에 놓아 주세요".into()),
                ("payment_method", "card".into()),
                ("card_number", "4242 4242 4242 4242".into()),
                ("employee_number", "SK-1001".into()),
                ("idempotency_key", "hostile-key".into()),
            ],
        ),
        ("my_orders", Who::Customer, vec![]),
        ("order", Who::Customer, vec![("id", o())]),
        ("cancel_order", Who::Customer, vec![("id", o())]),
        (
            "approve_final_amount",
            Who::Customer,
            vec![("id", o()), ("amount", "150000".into())],
        ),
        (
            "decline_final_amount",
            Who::Customer,
            vec![("id", o()), ("amount", "150000".into())],
        ),
        (
            "review_order",
            Who::Customer,
            vec![("id", o()), ("stars", "5".into()), ("comment", "맛있어요".into())],
        ),
        ("store_reviews", Who::Anonymous, vec![("store", s())]),
        ("notifications", Who::Customer, vec![]),
        ("unread_count", Who::Customer, vec![]),
        ("notifications_read", Who::Customer, vec![("seq", "1".into())]),
        ("dashboard", Who::Owner, vec![("store", s())]),
        (
            "accept_order",
            Who::Owner,
            vec![("order", o()), ("prep_minutes", "15".into()), ("estimate", "".into())],
        ),
        (
            "reject_order",
            Who::Owner,
            vec![("order", o()), ("reason", "other".into()), ("text", "재료 소진".into())],
        ),
        (
            "mark_ready",
            Who::Owner,
            vec![("order", o()), ("final_amount", "".into())],
        ),
        (
            "payroll_statement",
            Who::Owner,
            vec![("store", s()), ("month", "2026-12".into())],
        ),
        ("mark_collected", Who::Owner, vec![("order", o())]),
        ("acknowledge_orders", Who::Owner, vec![("store", s())]),
        (
            "store_status",
            Who::Owner,
            vec![("store", s()), ("status", "open".into())],
        ),
        (
            "update_item",
            Who::Owner,
            vec![
                ("store", s()),
                ("item", f.item.clone()),
                ("name", "후라이드 치킨".into()),
                ("price", "18000".into()),
                ("stock", "".into()),
                ("sold_out", "on".into()),
            ],
        ),
        // Last of the owner's rows that name the item: it may be removed.
        (
            "remove_item",
            Who::Owner,
            vec![("store", s()), ("item", f.item.clone())],
        ),
        (
            "add_item",
            Who::Owner,
            vec![
                ("store", s()),
                ("category", "사이드".into()),
                ("name", "치즈볼".into()),
                ("description", "쫄깃".into()),
                ("price", "4000".into()),
                ("stock", "10".into()),
            ],
        ),
        ("rider_board", Who::Rider, vec![]),
        ("claim_job", Who::Rider, vec![("order", o())]),
        ("pick_up", Who::Rider, vec![("order", o())]),
        ("deliver", Who::Rider, vec![("order", o())]),
        // Last: a value left out turns one way of handing over off.
        (
            "store_fulfilment",
            Who::Owner,
            vec![("store", s()), ("delivery", "on".into()), ("pickup", "on".into())],
        ),
    ]
}

/// The bad values tried in place of each parameter.
fn bad_values() -> Vec<(&'static str, String)> {
    vec![
        ("empty", String::new()),
        ("blank", "   ".into()),
        ("a word", "abc".into()),
        ("negative", "-1".into()),
        ("zero", "0".into()),
        ("overflow", "99999999999999999999999999".into()),
        ("i64::MAX", i64::MAX.to_string()),
        ("i64::MIN", i64::MIN.to_string()),
        ("fraction", "1.5".into()),
        ("exponent", "1e9".into()),
        ("markup", SCRIPT.into()),
        ("title breaker", TITLE_BREAKER.into()),
        ("a NUL", "a\u{0}b".into()),
        ("control characters", "a\u{1}b\r\nLocation: /x\u{1b}[2J\u{7f}".into()),
        ("quote and SQL", "1' OR '1'='1; DROP TABLE users; --".into()),
        ("bidi override", "\u{202e}tixe".into()),
        ("2,000 characters", "가".repeat(2_000)),
        ("100 KB", "x".repeat(100 * 1024)),
    ]
}

async fn fixture(app: &TestApp, cast: &Cast) -> Fixture {
    let (store, item) = app.store_and_item(OWNER).await;
    let order = place_order(app, &cast.customer).await;
    Fixture {
        store: store.to_string(),
        item: item.to_string(),
        order,
    }
}

fn form_body(pairs: &[(&str, String)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

fn form_post(
    http: &reqwest::Client,
    app: &TestApp,
    endpoint: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    http.post(format!("{}/api/{endpoint}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
}

// ---------------------------------------------------------------------------
// The tables.

#[tokio::test]
async fn every_server_function_is_in_the_table() {
    let fixture = Fixture {
        store: "1".into(),
        item: "1".into(),
        order: "1".into(),
    };
    let listed: Vec<String> = server_functions(&fixture)
        .iter()
        .map(|(name, ..)| format!("/api/{name}"))
        .collect();
    let mut registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    registered.sort();
    for path in &registered {
        assert!(listed.contains(path), "{path} has no row in the hostile-input table");
    }
    assert_eq!(
        listed.len(),
        registered.len(),
        "the table lists functions that do not exist"
    );
}

#[tokio::test]
async fn every_server_function_answers_bad_values_with_a_clear_4xx_and_writes_nothing_when_it_refuses() {
    watch_panics();
    // The per-address login limit would answer most sign-ups with 429
    // before they are even read; this test wants every value read.
    let app = spawn_app_changed(|s| s.login_attempts_per_minute = 100_000).await;
    let cast = Cast::new(&app).await;
    let fixture = fixture(&app, &cast).await;
    let mut tried = 0;
    for (endpoint, who, params) in server_functions(&fixture) {
        let http = cast.http(&app, who).await;
        // Each parameter in turn: bad values, then left out.
        for (i, (param, _)) in params.iter().enumerate() {
            for (what, value) in bad_values()
                .into_iter()
                .map(|(w, v)| (w, Some(v)))
                .chain([("missing", None)])
            {
                let mut form: Vec<(&str, String)> = params.clone();
                match value {
                    Some(v) => form[i].1 = v,
                    None => {
                        form.remove(i);
                    }
                }
                let context = format!("{endpoint} as {who:?} with {param} = {what}");
                let before = fingerprint(&app).await;
                let answer = send(form_post(&http, &app, endpoint, form_body(&form)), &context).await;
                judge(&app, &answer, &before, &context).await;
                tried += 1;
            }
        }
        // The body as a whole: not a form, not UTF-8, repeated fields, too large.
        let valid = form_body(&params);
        let duplicated = if valid.is_empty() {
            "x=1&x=2".to_string()
        } else {
            format!("{valid}&{valid}")
        };
        let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
            (
                "invalid UTF-8 bytes",
                "application/x-www-form-urlencoded",
                b"store=\xff\xfe&id=\xc3\x28".to_vec(),
            ),
            (
                "invalid UTF-8 escapes",
                "application/x-www-form-urlencoded",
                b"store=%ff%fe&id=%c3%28&item=%80".to_vec(),
            ),
            (
                "JSON where a form is expected",
                "application/json",
                br#"{"store":"1","id":[1,2],"x":{"y":null}}"#.to_vec(),
            ),
            ("plain text", "text/plain", b"hello".to_vec()),
            (
                "duplicate parameters",
                "application/x-www-form-urlencoded",
                duplicated.into_bytes(),
            ),
            (
                "nested brackets",
                "application/x-www-form-urlencoded",
                b"a[b][c][d][e][f][g][h]=1&store[]=1".to_vec(),
            ),
            ("no content type", "", valid.clone().into_bytes()),
            (
                "300 KB",
                "application/x-www-form-urlencoded",
                format!("{valid}&pad={}", "x".repeat(300 * 1024)).into_bytes(),
            ),
        ];
        for (what, content_type, body) in bodies {
            let context = format!("{endpoint} as {who:?} with a body of {what}");
            let mut request = http.post(format!("{}/api/{endpoint}", app.base)).body(body);
            if !content_type.is_empty() {
                request = request.header("content-type", content_type);
            }
            let before = fingerprint(&app).await;
            let answer = send(request, &context).await;
            judge(&app, &answer, &before, &context).await;
            tried += 1;
        }
    }
    assert!(tried > 1_000, "only {tried} requests were tried");
    assert_no_panic_here();
}

#[tokio::test]
async fn every_page_answers_odd_addresses_without_a_5xx_internal_text_or_markup() {
    watch_panics();
    let app = spawn_app().await;
    let cast = Cast::new(&app).await;
    let values: Vec<(&str, String)> = bad_values()
        .into_iter()
        .filter(|(what, _)| *what != "100 KB")
        .chain([
            ("a missing one", "999999999".to_string()),
            ("a path", "../../etc/passwd".to_string()),
        ])
        .collect();
    let pages = [
        "/stores/{}",
        "/orders/{}",
        "/owner/stores/{}",
        "/checkout?store={}",
        "/?kind={}&q={}",
        "/login?next={}",
        "/signup?role={}",
        "/no/such/{}",
        "/pkg/{}",
    ];
    let before = fingerprint(&app).await;
    for who in [Who::Anonymous, Who::Customer, Who::Owner, Who::Rider, Who::Admin] {
        let http = cast.http(&app, who).await;
        for page in pages {
            for (what, value) in &values {
                let encoded = app_encode(value);
                let path = page.replace("{}", &encoded);
                let context = format!("GET {page} as {who:?} with {what}");
                let answer = send(
                    http.get(format!("{}{path}", app.base)).header("accept", "text/html"),
                    &context,
                )
                .await;
                assert_not_our_fault(answer.status, &answer.headers, &context);
                assert_no_internal_text(&answer.body, &context);
                assert_no_raw_markup(&answer.body, &context);
                if let Some(location) = answer.headers.get("location") {
                    let location = location.to_str().expect("a readable Location");
                    assert!(
                        location.starts_with('/') && !location.starts_with("//"),
                        "{context}: {location}"
                    );
                }
            }
        }
    }
    // Pages only read.
    assert_eq!(fingerprint(&app).await, before);
    assert_no_panic_here();
}

fn app_encode(value: &str) -> String {
    app::nav::encode_component(value)
}

#[tokio::test]
async fn odd_sessions_are_anonymous_and_never_an_error() {
    watch_panics();
    let app = spawn_app().await;
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for cookie in [
        "baedal_session=".to_string(),
        "baedal_session=garbage".to_string(),
        "baedal_session=AAAAAAAAAAAAAAAAAAAAAA".to_string(),
        format!("baedal_session={}", "A".repeat(4000)),
        "baedal_session=%00%ff; baedal_session=x".to_string(),
    ] {
        for (method, path) in [
            ("GET", "/"),
            ("GET", "/orders"),
            ("POST", "/api/current_user"),
            ("POST", "/api/my_orders"),
        ] {
            let request = if method == "GET" {
                raw.get(format!("{}{path}", app.base)).header("accept", "text/html")
            } else {
                raw.post(format!("{}{path}", app.base))
            };
            let context = format!("{method} {path} with cookie {:.40}", cookie);
            let answer = send(request.header("cookie", &cookie), &context).await;
            assert_not_our_fault(answer.status, &answer.headers, &context);
            assert_no_internal_text(&answer.body, &context);
            if path == "/api/current_user" {
                assert_eq!(answer.body, "null", "{context}: nobody is logged in");
            }
            if path == "/api/my_orders" {
                assert_eq!(answer.status, 401, "{context}");
            }
        }
    }
    assert_no_panic_here();
}

#[tokio::test]
async fn websocket_abuse_gets_clear_refusals_and_leaves_the_server_well() {
    watch_panics();
    let app = spawn_app().await;
    let customer = person(&app, CUSTOMER).await;
    let ws = app.base.replace("http://", "ws://");
    let status_of = |e: tokio_tungstenite::tungstenite::Error| match e {
        tokio_tungstenite::tungstenite::Error::Http(response) => response.status().as_u16(),
        other => panic!("the handshake broke instead of being refused: {other}"),
    };
    // No session, a bad session, a bad resume point.
    assert_eq!(status_of(connect(&app, None, None).await.err().unwrap()), 401);
    assert_eq!(
        status_of(connect(&app, Some("baedal_session=garbage"), None).await.err().unwrap()),
        401
    );
    for after in ["abc", "1.5", "99999999999999999999999", "%00"] {
        let mut request = format!("{ws}/ws?after={after}").into_client_request().unwrap();
        request.headers_mut().insert("cookie", customer.cookie.parse().unwrap());
        let refused = tokio_tungstenite::connect_async(request).await.err().unwrap();
        assert_eq!(status_of(refused), 400, "after={after}");
    }
    // Resume points that are numbers but make no sense are harmless.
    for after in [-5, 0, i64::MAX] {
        let mut socket = connect(&app, Some(&customer.cookie), Some(after)).await.unwrap();
        hello(&mut socket).await;
    }
    // Frames the server does not expect: ignored, or the connection closes.
    let mut socket = connect(&app, Some(&customer.cookie), None).await.unwrap();
    hello(&mut socket).await;
    socket.send_binary(vec![0xff; 100]).await;
    socket.send_text("not json {".into()).await;
    socket.send_text("x".repeat(64 * 1024)).await;
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(message)) = socket.next().await {
            if matches!(message, Message::Close(_)) {
                return true;
            }
        }
        true
    })
    .await
    .unwrap_or(false);
    assert!(closed, "an oversized message closes the connection");
    // A burst of connections, then the server still serves.
    let mut sockets = Vec::new();
    for _ in 0..50 {
        sockets.push(connect(&app, Some(&customer.cookie), None).await.unwrap());
    }
    drop(sockets);
    assert_eq!(app.get("/healthz").await.0, 200);
    assert_no_panic_here();
}

/// A tiny extension for the sends above: errors are expected once the
/// server closes, so they are ignored.
trait SendQuietly {
    async fn send_binary(&mut self, bytes: Vec<u8>);
    async fn send_text(&mut self, text: String);
}

impl SendQuietly for Socket {
    async fn send_binary(&mut self, bytes: Vec<u8>) {
        use futures::SinkExt;
        let _ = self.send(Message::Binary(bytes.into())).await;
    }
    async fn send_text(&mut self, text: String) {
        use futures::SinkExt;
        let _ = self.send(Message::Text(text.into())).await;
    }
}

// ---------------------------------------------------------------------------
// One regression test per item of the issue.

/// Item 1: a redirect target with a control character used to panic inside
/// `leptos_axum::redirect` and drop the connection.
#[tokio::test]
async fn item_1_redirect_targets_with_control_characters_never_panic() {
    watch_panics();
    let app = spawn_app().await;
    for page in [
        "/checkout?store=%0A",
        "/orders/%0A",
        "/owner/stores/%0A",
        "/orders/%0D%0ASet-Cookie:x=1",
    ] {
        let (status, location, _) = app.page_as(&client(), page).await;
        assert!(matches!(status, 302 | 303 | 307), "{page}: {status}");
        let location = location.expect("a Location");
        assert!(location.starts_with("/login?next=/"), "{page}: {location}");
        assert!(location.bytes().all(|b| b.is_ascii_graphic()), "{page}: {location:?}");
    }
    // A `next` that is not a clean local path sends the user home instead.
    for next in ["/a\nb", "//evil.example", "https://evil.example/", "/\\evil.example"] {
        let reply = app
            .call_as(
                &client(),
                "login",
                &[("email", CUSTOMER), ("password", PASSWORD), ("next", next)],
                &[],
            )
            .await;
        assert!(matches!(reply.status, 200 | 302), "{next:?}: {}", reply.status);
        assert_eq!(reply.location.as_deref(), Some("/"), "{next:?}");
    }
    let reply = app
        .call_as(
            &client(),
            "login",
            &[
                ("email", CUSTOMER),
                ("password", PASSWORD),
                ("next", "/checkout?store=%0A"),
            ],
            &[],
        )
        .await;
    assert_eq!(
        reply.location.as_deref(),
        Some("/checkout?store=%0A"),
        "an encoded next is kept"
    );
    assert_no_panic_here();
}

/// Item 2: an unreadable or oversized body was a 503 with the parser's text.
#[tokio::test]
async fn item_2_unreadable_bodies_are_400_and_oversized_ones_413_without_framework_text() {
    let app = spawn_app().await;
    let http = client();
    for body in [&b"q=\xff\xfe"[..], b"q=%ff%fe", b"kind=%C3%28"] {
        let answer = send(form_post(&http, &app, "list_stores", body.to_vec()), "bad UTF-8").await;
        assert_eq!(answer.status, 400, "{:?}", answer.body);
        assert_no_internal_text(&answer.body, "bad UTF-8");
        let error = app::error::AppError::from_json(answer.body.as_bytes()).unwrap();
        assert!(matches!(error, app::error::AppError::BadRequest(_)), "{error:?}");
    }
    let huge = format!("q={}", "x".repeat(3 * 1024 * 1024));
    let answer = send(form_post(&http, &app, "list_stores", huge), "3 MiB").await;
    assert_eq!(answer.status, 413);
    assert_eq!(
        app::error::AppError::from_json(answer.body.as_bytes()).ok(),
        Some(app::error::AppError::TooLarge)
    );
    assert!(
        answer.body.contains("요청이 너무 커요"),
        "in Korean by default: {}",
        answer.body
    );
    // Sent in chunks, with no length up front, the same.
    let chunks = futures::stream::iter((0..40).map(|_| Ok::<_, std::io::Error>(bytes_of(&"x".repeat(4096)))));
    let answer = send(
        form_post(&http, &app, "list_stores", reqwest::Body::wrap_stream(chunks)),
        "chunked",
    )
    .await;
    assert_eq!(answer.status, 413);
    // The app's own error text for a field it cannot read is short and plain.
    let answer = send(form_post(&http, &app, "cart_add", "quantity=1"), "missing item").await;
    assert!(matches!(answer.status, 400 | 401), "{}", answer.status);
    assert_no_internal_text(&answer.body, "missing item");
}

fn bytes_of(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// Item 3: a store named with markup ran a script for every visitor of its
/// page, from the `<title>` (leptos_meta writes titles unescaped).
#[tokio::test]
async fn item_3_markup_in_a_store_name_stays_text_in_every_title() {
    let app = spawn_app().await;
    let owner = client();
    let signup = app
        .call_as(
            &owner,
            "signup",
            &[
                ("email", "xss.owner@example.kr"),
                ("display_name", TITLE_BREAKER),
                ("password", "a long password"),
                ("role", "owner"),
                ("store_name", TITLE_BREAKER),
                ("store_kind", "restaurant"),
                ("store_address", SCRIPT),
            ],
            &[],
        )
        .await;
    assert!(signup.location.is_some(), "{}", signup.body);
    let store: i64 = sqlx::query_scalar("SELECT MAX(id) FROM stores")
        .fetch_one(app.db().pool())
        .await
        .unwrap();
    for (who, page) in [
        (&client(), format!("/stores/{store}")),
        (&owner, format!("/owner/stores/{store}")),
        (&owner, "/owner".to_string()),
        (&client(), "/".to_string()),
    ] {
        let (status, _, html) = app.page_as(who, &page).await;
        assert_eq!(status, 200, "{page}");
        assert_no_raw_markup(&html, &page);
        if page.contains("/stores/") {
            let title = html
                .split("<title>")
                .nth(1)
                .and_then(|rest| rest.split("</title>").next())
                .unwrap_or_default();
            assert!(
                title.starts_with("&lt;/title&gt;&lt;img src=x onerror=alert(1)&gt;"),
                "{page}: the title is {title:?}"
            );
        }
    }
}

/// Item 4: `/metrics` was public.
#[tokio::test]
async fn item_4_metrics_are_served_only_to_the_bearer_of_the_token() {
    let off = spawn_app().await;
    assert_eq!(off.get("/metrics").await.0, 404, "no token set: no metrics");
    let token = "a-long-scraper-token-42";
    let app = spawn_app_changed(|s| s.metrics_token = Some(token.into())).await;
    let scrape = |auth: Option<&str>| {
        let mut request = client().get(format!("{}/metrics", app.base));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    let anonymous = scrape(None).await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
    for wrong in [
        "Bearer nope",
        "Bearer a-long-scraper-token-4",
        "Basic YWRtaW46YWRtaW4=",
        token,
    ] {
        assert_eq!(scrape(Some(wrong)).await.unwrap().status().as_u16(), 401, "{wrong}");
    }
    let admin = person(&app, ADMIN).await;
    let as_admin = admin.http.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(as_admin.status().as_u16(), 401, "a session is not the scraper's token");
    let scraped = scrape(Some(&format!("Bearer {token}"))).await.unwrap();
    assert_eq!(scraped.status().as_u16(), 200);
    assert!(scraped.text().await.unwrap().contains("websocket_connections"));
}

/// Item 5: a handshake from another site, carrying the victim's cookie, was
/// accepted.
#[tokio::test]
async fn item_5_a_websocket_handshake_from_another_site_is_refused() {
    let app = spawn_app().await;
    let customer = person(&app, CUSTOMER).await;
    let handshake = |headers: Vec<(&'static str, String)>| {
        let mut request = format!("{}/ws", app.base.replace("http://", "ws://"))
            .into_client_request()
            .unwrap();
        request.headers_mut().insert("cookie", customer.cookie.parse().unwrap());
        for (name, value) in headers {
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        tokio_tungstenite::connect_async(request)
    };
    let host = app.base.trim_start_matches("http://").to_string();
    for headers in [
        vec![("origin", "http://evil.example".to_string())],
        vec![("sec-fetch-site", "cross-site".to_string())],
        vec![("sec-fetch-site", "same-site".to_string())],
        vec![("origin", format!("http://{host}.evil.example"))],
    ] {
        match handshake(headers.clone()).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status().as_u16(), 403, "{headers:?}")
            }
            other => panic!("{headers:?}: not refused: {:?}", other.map(|_| ())),
        }
    }
    for headers in [
        vec![("origin", format!("http://{host}"))],
        vec![("sec-fetch-site", "same-origin".to_string())],
        vec![],
    ] {
        let (mut socket, _) = handshake(headers.clone())
            .await
            .unwrap_or_else(|e| panic!("{headers:?}: {e}"));
        hello(&mut socket).await;
    }
}

/// The close frame's code, waiting at most `wait`; `None` when the socket
/// stays open (or ends without a close frame).
async fn close_code(socket: &mut Socket, wait: Duration) -> Option<u16> {
    tokio::time::timeout(wait, async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}

/// Whether `socket` receives an event of order `order` within 10 s.
async fn hears_order(socket: &mut Socket, order: &impl std::fmt::Display) -> bool {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                if text.contains(&format!("\"order_id\":{order}")) {
                    return true;
                }
            }
        }
        false
    })
    .await
    .unwrap_or(false)
}

/// Item 6: a socket opened before logout kept receiving the user's events.
/// Now logout closes the session's sockets on this replica and on another
/// replica on the same database, before any later event; another session of
/// the same user keeps its socket.
#[tokio::test]
async fn item_6_logout_closes_the_sessions_sockets_on_every_replica() {
    let app = spawn_app().await;
    let replica = spawn_on(&app.database_url, false).await;
    let phone = person(&app, CUSTOMER).await;
    let laptop = person(&app, CUSTOMER).await;
    let mut here = connect(&app, Some(&phone.cookie), None).await.unwrap();
    let mut there = connect(&replica, Some(&phone.cookie), None).await.unwrap();
    let mut laptop_socket = connect(&replica, Some(&laptop.cookie), None).await.unwrap();
    for socket in [&mut here, &mut there, &mut laptop_socket] {
        hello(socket).await;
    }
    let out = app.call_as(&phone.http, "logout", &[], &[]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(close_code(&mut here, Duration::from_secs(10)).await, Some(4001));
    assert_eq!(close_code(&mut there, Duration::from_secs(10)).await, Some(4001));
    // The laptop's session lives on, and its socket still hears the orders.
    let order = place_order(&app, &laptop).await;
    let heard = hears_order(&mut laptop_socket, &order).await;
    assert!(heard, "the other session's socket stays open and live");
    // The logged-out cookie cannot open a new one.
    assert!(connect(&app, Some(&phone.cookie), None).await.is_err());
}

/// Item 6: a session that expires closes its sockets too.
#[tokio::test]
async fn item_6_a_socket_closes_when_its_session_expires() {
    let app = spawn_app_changed(|s| s.session_idle_timeout_ms = 2_000).await;
    let customer = person(&app, CUSTOMER).await;
    let mut socket = connect(&app, Some(&customer.cookie), None).await.unwrap();
    hello(&mut socket).await;
    assert_eq!(close_code(&mut socket, Duration::from_secs(10)).await, Some(4001));
}

/// Item 6: a socket waits for its session's expiry, and a session in use
/// moves that expiry on; the socket must then wait for the new one, not
/// close at the first (or never close at all).
#[tokio::test]
async fn item_6_a_socket_lives_while_its_session_is_in_use_and_closes_after() {
    let app = spawn_app_changed(|s| s.session_idle_timeout_ms = 3_000).await;
    let customer = person(&app, CUSTOMER).await;
    let mut socket = connect(&app, Some(&customer.cookie), None).await.unwrap();
    hello(&mut socket).await;
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(7_000) {
        let out = app.call_as(&customer.http, "current_user", &[], &[]).await;
        assert_eq!(out.body["email"], CUSTOMER, "the session in use ended");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Past two idle periods, the socket is still open and live.
    let order = place_order(&app, &customer).await;
    let heard = hears_order(&mut socket, &order).await;
    assert!(heard, "the socket of a session in use closed");
    // Left unused, the session ends and so does its socket.
    assert_eq!(close_code(&mut socket, Duration::from_secs(10)).await, Some(4001));
}

/// Item 8: a rider saw an open job of another vehicle type through the
/// order and got a 409 naming its vehicle on claiming it.
#[tokio::test]
async fn item_8_a_rider_of_another_vehicle_can_neither_see_nor_claim_an_open_job() {
    let app = spawn_app().await;
    let customer = person(&app, CUSTOMER).await;
    let owner = person(&app, OWNER).await;
    let order = place_order(&app, &customer).await; // motorbike delivery
    owner_does(&app, &owner, "accept_order", &order).await;
    let bike = person(&app, BIKE_RIDER).await;
    for (endpoint, param) in [("order", "id"), ("claim_job", "order"), ("pick_up", "order")] {
        let reply = app.call_as(&bike.http, endpoint, &[(param, &order)], &[]).await;
        assert_eq!(reply.status, 404, "{endpoint}: {}", reply.body);
        let text = reply.body.to_string().to_lowercase();
        assert!(
            !text.contains("motorbike") && !text.contains("vehicle"),
            "{endpoint}: {text}"
        );
    }
    let (status, _, html) = app.page_as(&bike.http, &format!("/orders/{order}")).await;
    assert_eq!(status, 404);
    assert!(!html.contains("역삼로"), "the address stays hidden");
    let board = app.call_as(&bike.http, "rider_board", &[], &[]).await;
    assert!(!board.body.to_string().contains(&format!("\"id\":{order}")));
    // The motorbike rider sees and takes it.
    let moto = person(&app, MOTO_RIDER).await;
    assert_eq!(
        app.call_as(&moto.http, "order", &[("id", &order)], &[]).await.status,
        200
    );
    assert_eq!(
        app.call_as(&moto.http, "claim_job", &[("order", &order)], &[])
            .await
            .status,
        200
    );
}

/// Reads one HTTP/1.1 response from `stream`: its status, headers and body
/// (by `Content-Length`), or `None` when the connection closed first.
async fn read_response(stream: &mut tokio::net::TcpStream) -> Option<(u16, String, String)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..head_end + length]).to_string();
    Some((status, head, body))
}

/// Item 9: after an early refusal (403, 405) without reading the body, the
/// server sometimes closed the kept-alive connection without saying so, and
/// the client's next request on it failed.
#[tokio::test]
async fn item_9_an_early_refusal_keeps_the_connection_usable_or_says_it_closes() {
    let app = spawn_app().await;
    let host = app.base.trim_start_matches("http://").to_string();
    let body = format!("q={}", "x".repeat(32 * 1024));
    let refusals = [
        ("cross-site POST", format!("POST /api/list_stores HTTP/1.1\r\nHost: {host}\r\nOrigin: http://evil.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len()), 403),
        ("wrong method", format!("PUT /healthz HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n{body}", body.len()), 405),
        ("unknown server function", format!("POST /api/nothing_here HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n{body}", body.len()), 404),
        ("server function by GET", format!("GET /api/list_stores HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n{body}", body.len()), 405),
    ];
    for (what, request, expected) in refusals {
        for _ in 0..20 {
            let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let (status, head, _) = read_response(&mut stream)
                .await
                .unwrap_or_else(|| panic!("{what}: no answer"));
            assert_eq!(status, expected, "{what}");
            let closing = head.contains("connection: close");
            let again = format!("GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n");
            let sent = stream.write_all(again.as_bytes()).await;
            match read_response(&mut stream).await {
                Some((status, _, body)) => assert_eq!((status, body.as_str()), (200, "ok"), "{what}"),
                None => assert!(closing || sent.is_err(), "{what}: closed without saying so"),
            }
        }
    }
    // A body over the limit cannot be read; the refusal says the connection closes.
    let mut stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let big = format!(
        "POST /api/list_stores HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        10 * 1024 * 1024
    );
    stream.write_all(big.as_bytes()).await.unwrap();
    let (status, head, _) = read_response(&mut stream).await.expect("an answer");
    assert_eq!(status, 413);
    assert!(head.contains("connection: close"), "{head}");
}

/// Item 10: a Content-Security-Policy with a fresh nonce on every page (the
/// nonce on each of the page's scripts), and the other headers everywhere.
/// The browser test `security.spec.ts` checks the pages still hydrate under it.
#[tokio::test]
async fn item_10_every_response_carries_the_security_headers_and_pages_a_nonce_policy() {
    let app = spawn_app().await;
    let http = client();
    let mut nonces = Vec::new();
    for page in ["/", "/stores/1", "/login", "/no/such/page"] {
        let response = http
            .get(format!("{}{page}", app.base))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        let headers = response.headers().clone();
        let html = response.text().await.unwrap();
        let policy = headers["content-security-policy"].to_str().unwrap().to_string();
        assert!(policy.contains("frame-ancestors 'none'"), "{page}: {policy}");
        assert!(
            policy.contains("object-src 'none'") && policy.contains("base-uri 'none'"),
            "{policy}"
        );
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        let nonce = policy
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a nonce in the policy")
            .to_string();
        // leptos_i18n's provider leaves an empty `<script></script>` as a
        // hydration placeholder; a browser never runs (or CSP-checks) a
        // script without text or `src`, so it needs no nonce.
        let scripts = html.matches("<script").count() - html.matches("<script></script>").count();
        assert!(scripts > 0, "{page}");
        assert!(
            html.matches(&format!("nonce=\"{nonce}\"")).count() >= scripts,
            "{page}: every script carries the nonce"
        );
        // 128 bits in hex digits, which spell no word a leak scan looks for
        // (a base64 nonce once read "…sErDE…").
        assert!(
            nonce.len() == 32 && nonce.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "{page}: {nonce}"
        );
        nonces.push(nonce);
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 4, "a fresh nonce per response");
    for (method, path) in [
        ("GET", "/healthz"),
        ("POST", "/api/list_stores"),
        ("GET", "/pkg/nothing.js"),
    ] {
        let request = if method == "GET" {
            http.get(format!("{}{path}", app.base))
        } else {
            http.post(format!("{}{path}", app.base))
        };
        let response = request.send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert!(headers.contains_key("content-security-policy"), "{path}");
    }
}

/// Unknown server functions and wrong methods were a 400 with the
/// framework's configuration advice and the path echoed back.
#[tokio::test]
async fn unknown_server_functions_are_404_and_wrong_methods_405_in_a_few_words() {
    let app = spawn_app().await;
    let answer = send(form_post(&client(), &app, "no_such_function<script>", "x=1"), "unknown").await;
    assert_eq!(answer.status, 404);
    assert_no_internal_text(&answer.body, "unknown");
    assert!(!answer.body.contains("<script>"));
    let answer = send(client().get(format!("{}/api/list_stores", app.base)), "GET").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.headers["allow"], "POST");
    assert_no_internal_text(&answer.body, "GET");
}
