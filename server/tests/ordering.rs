//! The order flow over HTTP against a spawned server: the status codes and
//! messages a browser gets, the pages each party sees, and the consumers the
//! server runs (projections, settlement) doing their work.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use testkit::app::{spawn_app, spawn_app_changed, TestApp};
use testkit::demo::{CUSTOMER, MOTO_RIDER as RIDER, OTHER_CUSTOMER, OTHER_OWNER, OWNER};
use testkit::http::client;

struct Shop {
    app: TestApp,
    store: String,
    item: String,
}

async fn shop() -> Shop {
    let app = spawn_app().await;
    let (store, item) = app.store_and_item(OWNER).await;
    Shop {
        app,
        store: store.to_string(),
        item: item.to_string(),
    }
}

async fn logged_in(app: &TestApp, email: &str) -> reqwest::Client {
    let c = client();
    let reply = app.login_as(&c, email).await;
    assert!(reply.location.is_some(), "login {email}: {}", reply.status);
    c
}

fn checkout_form<'a>(store: &'a str, card: &'a str, key: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("store", store),
        ("fulfilment", "delivery"),
        ("delivery_type", "motorbike"),
        ("address", "서울 강남구 역삼로 5, 301호"),
        ("card_number", card),
        ("idempotency_key", key),
    ]
}

async fn order_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(app.db().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn refusals_have_fitting_statuses_and_messages_and_change_nothing() {
    let s = shop().await;
    let customer = logged_in(&s.app, CUSTOMER).await;
    let call = |endpoint: &'static str, form: Vec<(&'static str, String)>| {
        let app = &s.app;
        let customer = &customer;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call_as(customer, endpoint, &form, &[]).await
        }
    };
    // Empty cart: 409 before any payment.
    let empty = s
        .app
        .call_as(
            &customer,
            "place_order",
            &checkout_form(&s.store, "4242424242424242", "a"),
            &[],
        )
        .await;
    assert_eq!(empty.status, 409, "{}", empty.body);
    assert!(empty.body.to_string().contains("empty"));
    // Bad quantities: 409 (a rule) or 422 (not a number); unknown item: 404.
    for (quantity, status) in [("0", 409), ("-3", 409), ("100", 409), ("lots", 422)] {
        let reply = call(
            "cart_add",
            vec![("item", s.item.clone()), ("quantity", quantity.into())],
        )
        .await;
        assert_eq!(reply.status, status, "quantity {quantity}: {}", reply.body);
    }
    assert_eq!(call("cart_add", vec![("item", "999999".into())]).await.status, 404);
    assert_eq!(call("cart_add", vec![("item", "<script>".into())]).await.status, 404);
    // Field errors: 422 naming each field.
    assert_eq!(call("cart_add", vec![("item", s.item.clone())]).await.status, 200);
    let bad = s
        .app
        .call_as(
            &customer,
            "place_order",
            &[
                ("store", s.store.as_str()),
                ("fulfilment", "delivery"),
                ("delivery_type", "rocket"),
                ("card_number", "1111"),
                ("idempotency_key", "b"),
            ],
            &[],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let body = bad.body.to_string();
    for field in ["delivery_type", "address", "card_number"] {
        assert!(body.contains(field), "{field} missing in {body}");
    }
    // A declined card: 402, nothing reaches the store, the cart is kept.
    let declined = s
        .app
        .call_as(
            &customer,
            "place_order",
            &checkout_form(&s.store, "4000 0000 0000 0002", "c"),
            &[],
        )
        .await;
    assert_eq!(declined.status, 402, "{}", declined.body);
    assert!(declined.body.to_string().contains("declined"));
    let cart = call("cart", vec![("store", s.store.clone())]).await;
    assert_eq!(
        cart.body["lines"].as_array().map(Vec::len),
        Some(1),
        "cart kept: {}",
        cart.body
    );
    let owner = logged_in(&s.app, OWNER).await;
    let dashboard = s
        .app
        .call_as(&owner, "dashboard", &[("store", s.store.as_str())], &[])
        .await;
    assert_eq!(
        dashboard.body["orders"].as_array().map(Vec::len),
        Some(0),
        "the store never sees an unpaid order"
    );
    // A closed store: 409.
    assert_eq!(
        s.app
            .call_as(
                &owner,
                "store_status",
                &[("store", s.store.as_str()), ("status", "closed")],
                &[]
            )
            .await
            .status,
        200
    );
    let closed = s
        .app
        .call_as(
            &customer,
            "place_order",
            &checkout_form(&s.store, "4242424242424242", "d"),
            &[],
        )
        .await;
    assert_eq!(closed.status, 409, "{}", closed.body);
    assert_eq!(
        s.app
            .call_as(
                &owner,
                "store_status",
                &[("store", s.store.as_str()), ("status", "sometimes")],
                &[]
            )
            .await
            .status,
        400
    );
    // Menu management refuses bad prices and stock with field errors.
    let bad_item = s
        .app
        .call_as(
            &owner,
            "update_item",
            &[
                ("store", s.store.as_str()),
                ("item", s.item.as_str()),
                ("price", "-5"),
                ("stock", "x"),
            ],
            &[],
        )
        .await;
    assert_eq!(bad_item.status, 422, "{}", bad_item.body);
    assert_eq!(order_count(&s.app).await, 1, "only the declined attempt is on record");
}

#[tokio::test]
async fn an_order_travels_through_the_three_screens_and_the_server_settles_it() {
    let s = shop().await;
    let customer = logged_in(&s.app, CUSTOMER).await;
    let owner = logged_in(&s.app, OWNER).await;
    let rider = logged_in(&s.app, RIDER).await;
    let other = logged_in(&s.app, OTHER_CUSTOMER).await;
    assert_eq!(
        s.app
            .call_as(
                &customer,
                "cart_add",
                &[("item", s.item.as_str()), ("quantity", "2")],
                &[]
            )
            .await
            .status,
        200
    );
    let form = checkout_form(&s.store, "4242 4242 4242 4242", "once");
    let placed = s.app.call_as(&customer, "place_order", &form, &[]).await;
    let location = placed.location.clone().expect("redirect to the order");
    assert!(location.starts_with("/orders/"), "{location}");
    // The same submit again: the same order, no second one.
    let again = s.app.call_as(&customer, "place_order", &form, &[]).await;
    assert_eq!(again.location.as_deref(), Some(location.as_str()));
    assert_eq!(order_count(&s.app).await, 1);
    let order = location.trim_start_matches("/orders/").to_string();

    // Pages: the customer and the owner see it; another customer gets a 404.
    let (status, _, html) = s.app.page_as(&customer, &location).await;
    assert_eq!(status, 200);
    assert!(html.contains("주문 접수 대기"), "read-your-writes after checkout");
    assert_eq!(s.app.page_as(&other, &location).await.0, 404);
    let (status, _, html) = s.app.page_as(&owner, &format!("/owner/stores/{}", s.store)).await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!("#{order}")));

    let step = |who: &'static str, endpoint: &'static str| {
        let app = &s.app;
        let c = match who {
            "owner" => &owner,
            "rider" => &rider,
            _ => &customer,
        };
        let order = order.clone();
        async move {
            let mut form = vec![("order", order.clone())];
            if endpoint == "accept_order" {
                form.push(("prep_minutes", "12".into()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.call_as(c, endpoint, &form, &[]).await
        }
    };
    assert_eq!(step("owner", "accept_order").await.status, 200);
    let board = s.app.call_as(&rider, "rider_board", &[], &[]).await;
    assert_eq!(board.body["open"].as_array().map(Vec::len), Some(1), "{}", board.body);
    assert_eq!(step("rider", "claim_job").await.status, 200);
    assert_eq!(step("rider", "pick_up").await.status, 409, "not ready yet");
    let cancel_late = step("owner", "mark_ready").await;
    assert_eq!(cancel_late.status, 200);
    let refused = s
        .app
        .call_as(&customer, "cancel_order", &[("id", order.as_str())], &[])
        .await;
    assert_eq!(refused.status, 409);
    assert!(refused.body.to_string().contains("TooLateToCancel"), "{}", refused.body);
    assert_eq!(
        refused.message.as_deref(),
        Some("가게에서 이미 준비를 마쳐서 취소할 수 없어요.")
    );
    assert_eq!(step("rider", "pick_up").await.status, 200);
    assert_eq!(step("rider", "deliver").await.status, 200);
    let (_, _, html) = s.app.page_as(&customer, &location).await;
    assert!(html.contains("배달 완료"));

    // The server's settlement consumer captures the payment (F13).
    let mut captured = false;
    for _ in 0..100 {
        let status: String = sqlx::query_scalar("SELECT status FROM payments WHERE order_id = $1")
            .bind(order.parse::<i64>().unwrap())
            .fetch_one(s.app.db().pool())
            .await
            .unwrap();
        if status == "captured" {
            captured = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(captured);

    // Review, then the store page shows it; notifications were counted.
    let review = s
        .app
        .call_as(
            &customer,
            "review_order",
            &[("id", order.as_str()), ("stars", "4"), ("comment", "바삭해요")],
            &[],
        )
        .await;
    assert_eq!(review.status, 200, "{}", review.body);
    let (_, _, store_page) = s.app.page_as(&customer, &format!("/stores/{}", s.store)).await;
    assert!(
        store_page.contains("바삭해요") && store_page.contains("★ 4.0"),
        "reviews on the store page"
    );
    let unread = s.app.call_as(&customer, "unread_count", &[], &[]).await;
    assert_eq!(
        unread.body,
        serde_json::json!(Some(8)),
        "placed, payment approved, accepted, rider assigned, ready, picked up, delivered, payment complete"
    );
}

/// Issue 11: the owner renames an item and takes it off the menu; customers
/// see both at once, and a removed item can no longer be added or edited,
/// while its row stays for the orders that hold it; a cart that held it
/// loses it and says so, once.
#[tokio::test]
async fn the_owner_renames_and_removes_items_and_carts_say_so() {
    let s = shop().await;
    let owner = logged_in(&s.app, OWNER).await;
    let customer = logged_in(&s.app, CUSTOMER).await;
    let item = s.item.as_str();
    let added = s
        .app
        .call_as(&customer, "cart_add", &[("item", item), ("quantity", "1")], &[])
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let update = |name: &'static str| {
        let owner = owner.clone();
        let store = s.store.clone();
        let app = &s.app;
        async move {
            app.call_as(
                &owner,
                "update_item",
                &[
                    ("store", store.as_str()),
                    ("item", item),
                    ("name", name),
                    ("price", "20000"),
                    ("stock", ""),
                ],
                &[],
            )
            .await
        }
    };
    assert_eq!(update("   ").await.status, 422, "an empty name is refused");
    let renamed = update("  마늘 간장 치킨 ").await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let (_, _, page) = s.app.page_as(&customer, &format!("/stores/{}", s.store)).await;
    assert!(page.contains("마늘 간장 치킨"), "customers see the new name");

    // Someone else's store: not found; a stranger cannot remove.
    let other = logged_in(&s.app, OTHER_OWNER).await;
    let foreign = s
        .app
        .call_as(
            &other,
            "remove_item",
            &[("store", s.store.as_str()), ("item", item)],
            &[],
        )
        .await;
    assert_eq!(foreign.status, 404);
    let removed = s
        .app
        .call_as(
            &owner,
            "remove_item",
            &[("store", s.store.as_str()), ("item", item)],
            &[],
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let again = s
        .app
        .call_as(
            &owner,
            "remove_item",
            &[("store", s.store.as_str()), ("item", item)],
            &[],
        )
        .await;
    assert_eq!(again.status, 404, "already off the menu");
    // Gone from the menu (the page also tells this customer their cart lost it).
    let stranger_view = s
        .app
        .call_as(&client(), "store_menu", &[("id", s.store.as_str())], &[])
        .await;
    assert!(
        !stranger_view.body.to_string().contains("마늘 간장 치킨"),
        "{}",
        stranger_view.body
    );
    let (_, _, page) = s.app.page_as(&customer, &format!("/stores/{}", s.store)).await;
    assert!(page.contains("메뉴에서 빠져 장바구니에서 뺐어요: 마늘 간장 치킨."));
    let add = s.app.call_as(&customer, "cart_add", &[("item", item)], &[]).await;
    assert_eq!(add.status, 404, "{}", add.body);
    let renamed_after = update("다시 살리기").await;
    assert_eq!(renamed_after.status, 404, "a removed item cannot be edited");
    let hidden: i64 = sqlx::query_scalar("SELECT hidden FROM menu_items WHERE id = $1")
        .bind(item.parse::<i64>().unwrap())
        .fetch_one(s.app.db().pool())
        .await
        .unwrap();
    assert_eq!(hidden, 1, "kept, for the orders that hold it");
    // Told once (on the page above); the cart no longer holds it.
    let cart = s
        .app
        .call_as(&customer, "cart", &[("store", s.store.as_str())], &[])
        .await;
    assert_eq!(cart.body["lines"], serde_json::json!([]), "{}", cart.body);
    assert_eq!(cart.body["removed"], serde_json::json!([]), "{}", cart.body);
}

/// Issue 11 (seed 002, "현장방문 및 판매는 지원하지 않으며"): an owner sets
/// how the store hands orders over; checkout follows from the next order.
#[tokio::test]
async fn the_owner_chooses_delivery_or_pickup_and_checkout_follows() {
    let s = shop().await;
    let owner = logged_in(&s.app, OWNER).await;
    let customer = logged_in(&s.app, CUSTOMER).await;
    let set = |delivery: bool, pickup: bool| {
        let owner = owner.clone();
        let store = s.store.clone();
        let app = &s.app;
        async move {
            let mut form = vec![("store", store.as_str())];
            if delivery {
                form.push(("delivery", "on"));
            }
            if pickup {
                form.push(("pickup", "on"));
            }
            app.call_as(&owner, "store_fulfilment", &form, &[]).await
        }
    };
    let neither = set(false, false).await;
    assert_eq!(neither.status, 422, "{}", neither.body);
    // The refusal names the store's kind, so it is worded in its business's terms.
    assert!(
        neither.body.to_string().contains(r#""kind":"restaurant""#),
        "{}",
        neither.body
    );
    let stranger = logged_in(&s.app, OTHER_OWNER).await;
    let foreign = s
        .app
        .call_as(
            &stranger,
            "store_fulfilment",
            &[("store", s.store.as_str()), ("pickup", "on")],
            &[],
        )
        .await;
    assert_eq!(foreign.status, 404);
    let cart = s
        .app
        .call_as(&customer, "cart", &[("store", s.store.as_str())], &[])
        .await;
    assert_eq!(
        (
            cart.body["offers_delivery"].as_bool(),
            cart.body["offers_pickup"].as_bool()
        ),
        (Some(true), Some(true)),
        "unchanged by refusals"
    );

    assert_eq!(set(true, false).await.status, 200);
    let cart = s
        .app
        .call_as(&customer, "cart", &[("store", s.store.as_str())], &[])
        .await;
    assert_eq!(
        (
            cart.body["offers_delivery"].as_bool(),
            cart.body["offers_pickup"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let added = s
        .app
        .call_as(
            &customer,
            "cart_add",
            &[("item", s.item.as_str()), ("quantity", "1")],
            &[],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let pickup = s
        .app
        .call_as(
            &customer,
            "place_order",
            &[
                ("store", s.store.as_str()),
                ("fulfilment", "pickup"),
                ("card_number", "4242 4242 4242 4242"),
                ("idempotency_key", "pickup-refused"),
            ],
            &[],
        )
        .await;
    assert!([409, 422].contains(&pickup.status), "{} {}", pickup.status, pickup.body);
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
        .fetch_one(s.app.db().pool())
        .await
        .unwrap();
    assert_eq!(orders, 0, "no pickup order from a store that only delivers");
}

#[tokio::test]
async fn the_owner_manages_the_menu_and_customers_see_it_at_once() {
    let s = shop().await;
    let owner = logged_in(&s.app, OWNER).await;
    let customer = logged_in(&s.app, CUSTOMER).await;
    let update = s
        .app
        .call_as(
            &owner,
            "update_item",
            &[
                ("store", s.store.as_str()),
                ("item", s.item.as_str()),
                ("price", "19,500"),
                ("stock", "2"),
                ("sold_out", "on"),
            ],
            &[],
        )
        .await;
    assert_eq!(update.status, 200, "{}", update.body);
    let menu = s
        .app
        .call_as(&customer, "store_menu", &[("id", s.store.as_str())], &[])
        .await;
    let item = menu.body["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|section| section["items"].as_array().unwrap().clone())
        .find(|i| i["id"].as_i64() == s.item.parse::<i64>().ok())
        .expect("the item");
    assert_eq!(
        (item["price"].as_i64(), item["sold_out"].as_bool()),
        (Some(19_500), Some(true)),
        "{item}"
    );
    assert_eq!(item["stock"], serde_json::json!({ "type": "limited", "left": 2 }));
    // Sold out: customers cannot add it.
    let add = s
        .app
        .call_as(&customer, "cart_add", &[("item", s.item.as_str())], &[])
        .await;
    assert_eq!(add.status, 409);
    assert!(add.body.to_string().contains("sold_out"), "{}", add.body);
    assert!(
        add.message.as_deref().is_some_and(|m| m.contains("품절")),
        "{:?}",
        add.message
    );

    let added = s
        .app
        .call_as(
            &owner,
            "add_item",
            &[
                ("store", s.store.as_str()),
                ("category", "사이드"),
                ("name", "치즈볼"),
                ("price", "4000"),
                ("stock", ""),
            ],
            &[],
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let (_, _, page) = s.app.page_as(&customer, &format!("/stores/{}", s.store)).await;
    assert!(page.contains("치즈볼"));
    let empty_name = s
        .app
        .call_as(
            &owner,
            "add_item",
            &[
                ("store", s.store.as_str()),
                ("category", "사이드"),
                ("name", " "),
                ("price", "1"),
                ("stock", ""),
            ],
            &[],
        )
        .await;
    assert_eq!(empty_name.status, 422, "{}", empty_name.body);
    // Another owner's item through this store: not found, nothing changes.
    let foreign: i64 = sqlx::query_scalar("SELECT MIN(id) FROM menu_items WHERE store_id <> $1")
        .bind(s.store.parse::<i64>().unwrap())
        .fetch_one(s.app.db().pool())
        .await
        .unwrap();
    let foreign = foreign.to_string();
    let reply = s
        .app
        .call_as(
            &owner,
            "update_item",
            &[
                ("store", s.store.as_str()),
                ("item", foreign.as_str()),
                ("price", "1"),
                ("stock", ""),
            ],
            &[],
        )
        .await;
    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn checkouts_are_limited_per_client_address_behind_the_trusted_proxies() {
    let app = spawn_app_changed(|s| {
        s.checkouts_per_minute = 2;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let (store, item) = app.store_and_item(OWNER).await;
    let (store, item) = (store.to_string(), item.to_string());
    let customer = logged_in(&app, CUSTOMER).await;
    let office = [("x-forwarded-for", "203.0.113.7")];
    let checkout = |key: &'static str, card: &'static str, from: &'static str| {
        let (app, customer, store, item) = (&app, &customer, store.clone(), item.clone());
        async move {
            let added = app
                .call_as(customer, "cart_add", &[("item", item.as_str()), ("quantity", "1")], &[])
                .await;
            assert_eq!(added.status, 200, "{}", added.body);
            let form = checkout_form(&store, card, key);
            app.call_as(customer, "place_order", &form, &[("x-forwarded-for", from)])
                .await
        }
    };
    for key in ["limit-1", "limit-2"] {
        let placed = checkout(key, "4242 4242 4242 4242", office[0].1).await;
        assert!(placed.location.is_some(), "{key}: {} {}", placed.status, placed.body);
    }
    // A form with a mistake is refused for the mistake; it is not counted.
    let mistyped = checkout("limit-typo", "1234", office[0].1).await;
    assert_eq!(mistyped.status, 422, "{}", mistyped.body);
    // The third valid one from the same address within the minute waits.
    let limited = checkout("limit-3", "4242 4242 4242 4242", office[0].1).await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert!(limited.headers.get("retry-after").is_some());
    assert!(
        limited.message.as_deref().is_some_and(|m| m.contains("다시 시도")),
        "{:?}",
        limited.message
    );
    assert_eq!(order_count(&app).await, 2, "nothing placed past the limit");
    // Another client behind the same balancer has its own count.
    let elsewhere = checkout("limit-4", "4242 4242 4242 4242", "198.51.100.20").await;
    assert!(elsewhere.location.is_some(), "{} {}", elsewhere.status, elsewhere.body);
    assert_eq!(order_count(&app).await, 3);
}

#[tokio::test]
async fn a_refused_plain_form_post_goes_back_to_its_page_with_the_refusal_and_a_script_gets_the_status() {
    use base64::Engine as _;
    let s = shop().await;
    let customer = logged_in(&s.app, CUSTOMER).await;
    let added = s
        .app
        .call_as(
            &customer,
            "cart_add",
            &[("item", s.item.as_str()), ("quantity", "1")],
            &[],
        )
        .await;
    assert_eq!(added.status, 200);
    let mut form = checkout_form(&s.store, "4242 4242 4242 4242", "plain-form");
    form.retain(|(name, _)| *name != "address");
    let page = format!("{}/checkout?store={}&__path=old&__err=old", s.app.base, s.store);
    let post = |navigate: bool| {
        let mut request = customer
            .post(format!("{}/api/place_order", s.app.base))
            .header("accept", "text/html,application/xhtml+xml")
            .header("origin", &s.app.base)
            .header("referer", &page)
            .form(&form);
        if navigate {
            request = request.header("sec-fetch-mode", "navigate");
        }
        request.send()
    };
    // A browser's form submission (no WASM yet): back to the form's page,
    // with the refusal for its action to show (and an older one dropped).
    let back = post(true).await.unwrap();
    assert_eq!(back.status().as_u16(), 303);
    let location = back.headers()["location"].to_str().unwrap().to_string();
    let (path, query) = location.split_once('?').unwrap();
    assert_eq!(path, "/checkout");
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    assert_eq!(pairs[0], ("store".to_string(), s.store.clone()));
    assert_eq!(pairs[1], ("__path".to_string(), "/api/place_order".to_string()));
    assert_eq!(pairs.len(), 3, "{location}");
    let refusal = base64::engine::general_purpose::URL_SAFE.decode(&pairs[2].1).unwrap();
    let refusal: serde_json::Value = serde_json::from_slice(&refusal).unwrap();
    assert_eq!(refusal["error"]["Invalid"][0]["field"], "address", "{refusal}");
    // A script asking for HTML still gets the status and the message.
    let refused = post(false).await.unwrap();
    assert_eq!(refused.status().as_u16(), 422);
}

#[tokio::test]
async fn a_refused_checkout_comes_back_as_typed_as_text_and_never_with_the_card() {
    let s = shop().await;
    let customer = logged_in(&s.app, CUSTOMER).await;
    let added = s
        .app
        .call_as(&customer, "cart_add", &[("item", s.item.as_str())], &[])
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let markup = "<script>alert(1)</script> 역삼로 5";
    // A note that would close the textarea if written as it is.
    let note = "\"></textarea><img src=x onerror=alert(1)>\u{202e}";
    let declined = s
        .app
        .call_as(
            &customer,
            "place_order",
            &[
                ("store", s.store.as_str()),
                ("fulfilment", "delivery"),
                ("delivery_type", "bicycle"),
                ("address", markup),
                ("note", note),
                ("card_number", "4000 0000 0000 0002"),
                ("idempotency_key", "draft-1"),
            ],
            &[],
        )
        .await;
    assert_eq!(declined.status, 402, "{}", declined.body);
    let (status, _, html) = s.app.page_as(&customer, &format!("/checkout?store={}", s.store)).await;
    assert_eq!(status, 200);
    // What was typed is back, as text: escaped, never markup.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; 역삼로 5"),
        "{html:.2000}"
    );
    assert!(!html.contains("<script>alert(1)"));
    assert!(!html.contains("<img src=x"), "the note came back as markup");
    assert!(
        html.contains("&lt;/textarea&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "the note, escaped"
    );
    assert!(
        html.contains(r#"<option value="bicycle" selected"#),
        "the vehicle chosen"
    );
    // Never the card (the page's hint names the test cards, so look at the field).
    let card = html
        .split(r#"<input id="card""#)
        .nth(1)
        .and_then(|rest| rest.split('>').next());
    assert!(card.is_some_and(|tag| !tag.contains("value=")), "{card:?}");
}
