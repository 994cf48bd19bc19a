//! The payment reconciler (issue 6, N2) on both databases: crashes between
//! authorize and confirm, and late authorizations after a timeout, are
//! settled so that no order is placed unpaid and no hold is left behind.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use db::Db;
use domain::shop::{CheckoutForm, CheckoutRequest};
use domain::{MenuItemId, OrderStatus, Role, StoreId, UserId};
use ordering::checkout::checkout;
use ordering::reconcile::{reconcile, Reconciled};
use ordering::{cart, Caller};
use payment::{AuthorizeRequest, PaymentError, PaymentGateway, SandboxConfig, SandboxGateway};
use std::sync::Arc;
use std::time::Duration;

/// How the process "dies" around the gateway call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Crash {
    /// Before the request reaches the gateway.
    BeforeAuthorize,
    /// After the gateway authorized, before checkout hears it.
    AfterAuthorize,
    /// The gateway authorizes, but checkout gives up first (a timeout).
    LateAuthorization,
}

#[derive(Debug)]
struct Crashing {
    inner: Arc<SandboxGateway>,
    crash: Crash,
}

#[async_trait::async_trait]
impl PaymentGateway for Crashing {
    async fn authorize(&self, request: &AuthorizeRequest) -> Result<String, PaymentError> {
        match self.crash {
            Crash::BeforeAuthorize => std::future::pending().await,
            Crash::AfterAuthorize => {
                self.inner.authorize(request).await?;
                std::future::pending().await
            }
            Crash::LateAuthorization => {
                self.inner.authorize(request).await?;
                Err(PaymentError::Unavailable("timed out".into()))
            }
        }
    }
    async fn capture(&self, id: &str, amount_won: i64) -> Result<(), PaymentError> {
        self.inner.capture(id, amount_won).await
    }
    async fn increase(&self, id: &str, amount_won: i64) -> Result<(), PaymentError> {
        self.inner.increase(id, amount_won).await
    }
    async fn void(&self, id: &str) -> Result<(), PaymentError> {
        self.inner.void(id).await
    }
    async fn lookup(&self, key: &str) -> Result<Option<Result<String, PaymentError>>, PaymentError> {
        self.inner.lookup(key).await
    }
}

struct World {
    _t: testkit::TestDb,
    db: Db,
    sandbox: Arc<SandboxGateway>,
    customer: Caller,
    store: StoreId,
    roses: MenuItemId, // 3 in stock
}

async fn world() -> World {
    let t = testkit::fresh_db().await;
    let db = t.db.clone();
    let user = |email: &'static str, role: Role| {
        let db = db.clone();
        async move {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (email, display_name, role, password_hash, created_at) VALUES ($1, $1, $2, 'x', 0) RETURNING id",
            )
            .bind(email)
            .bind(role.as_str())
            .fetch_one(db.pool())
            .await
            .unwrap();
            Caller {
                id: UserId(id),
                role,
                vehicle: None,
                name: email.into(),
            }
        }
    };
    let customer = user("c@test.example", Role::Customer).await;
    let owner = user("o@test.example", Role::Owner).await;
    let mut tx = db.begin().await.unwrap();
    let store = catalog::create_store(
        &mut tx,
        owner.id,
        &catalog::NewStore {
            name: "꽃집",
            kind: domain::StoreKind::FlowerShop,
            category: "꽃",
            address: "서울 강남구 1",
            status: domain::StoreStatus::Open,
            default_prep_minutes: 20,
            offers_delivery: true,
            offers_pickup: true,
            min_order_won: 0,
        },
    )
    .await
    .unwrap();
    let roses = catalog::add_menu_item(
        &mut tx,
        store,
        1,
        &domain::catalog::NewMenuItem {
            category: "꽃".into(),
            name: "장미".into(),
            description: String::new(),
            price: domain::Money::from_won(30_000).unwrap(),
            stock: domain::catalog::Stock::Limited(3),
            sold_out: false,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let sandbox = Arc::new(
        SandboxGateway::open(&payment::sandbox_database_url(&t.url), SandboxConfig::default())
            .await
            .unwrap(),
    );
    World {
        _t: t,
        db,
        sandbox,
        customer,
        store,
        roses,
    }
}

impl World {
    /// A checkout that "crashes" as told: the future is dropped mid-way, as a
    /// killed process would leave it. Returns the order id it wrote.
    async fn crashed_checkout(&self, crash: Crash, key: &str) -> i64 {
        cart::add(&self.db, self.customer.id, self.roses, 1).await.unwrap();
        let gateway = Crashing {
            inner: self.sandbox.clone(),
            crash,
        };
        let form = CheckoutForm {
            store: self.store,
            fulfilment: "pickup".into(),
            delivery_type: None,
            address: String::new(),
            note: String::new(),
            payment_method: String::new(),
            card_number: "4242424242424242".into(),
            employee_number: String::new(),
            idempotency_key: key.into(),
        };
        let _ = tokio::time::timeout(
            Duration::from_millis(500),
            checkout(
                &self.db,
                &gateway,
                &self.customer,
                &CheckoutRequest::parse(&form).unwrap(),
            ),
        )
        .await;
        sqlx::query_scalar("SELECT MAX(id) FROM orders")
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }

    async fn status(&self, order: i64) -> OrderStatus {
        let s: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
            .bind(order)
            .fetch_one(self.db.pool())
            .await
            .unwrap();
        serde_json::from_value(serde_json::Value::String(s)).unwrap()
    }

    async fn hold(&self, order: i64) -> Option<String> {
        match self.sandbox.lookup(&format!("order-{order}")).await.unwrap() {
            Some(Ok(id)) => self.sandbox.hold_state(&id).await,
            _ => None,
        }
    }

    async fn stock(&self) -> Option<i64> {
        sqlx::query_scalar("SELECT stock FROM menu_items WHERE id = $1")
            .bind(self.roses.get())
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }

    async fn placed_events(&self, order: i64) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE stream_id = $1 AND kind = 'OrderPlaced'")
            .bind(order)
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_crash_after_authorize_completes_the_paid_order_and_one_before_fails_it() {
    let w = world().await;
    let paid = w.crashed_checkout(Crash::AfterAuthorize, "k-paid").await;
    assert_eq!(
        w.status(paid).await,
        OrderStatus::PaymentPending,
        "the crash left it pending"
    );
    assert_eq!(w.hold(paid).await.as_deref(), Some("authorized"));
    let unpaid = w.crashed_checkout(Crash::BeforeAuthorize, "k-unpaid").await;
    assert_eq!(w.status(unpaid).await, OrderStatus::PaymentPending);
    assert_eq!(w.hold(unpaid).await, None);
    assert_eq!(w.stock().await, Some(3), "nothing reserved yet");

    let done = reconcile(&w.db, w.sandbox.as_ref(), 0).await.unwrap();
    assert_eq!(
        done,
        Reconciled {
            completed: 1,
            failed: 1,
            voided: 0,
            deferred: 0
        }
    );
    assert_eq!(
        w.status(paid).await,
        OrderStatus::Placed,
        "the paid order reaches the store"
    );
    assert_eq!(w.placed_events(paid).await, 1);
    assert_eq!(w.stock().await, Some(2), "its stock is reserved once");
    assert_eq!(
        w.status(unpaid).await,
        OrderStatus::PaymentFailed,
        "never placed unpaid"
    );
    assert_eq!(w.placed_events(unpaid).await, 0);

    // The unpaid checkout's key is free again: the customer's retry works.
    // (Completing the paid order emptied the cart, as its checkout would have.)
    cart::add(&w.db, w.customer.id, w.roses, 1).await.unwrap();
    let retry = checkout(
        &w.db,
        w.sandbox.as_ref(),
        &w.customer,
        &CheckoutRequest::parse(&CheckoutForm {
            store: w.store,
            fulfilment: "pickup".into(),
            delivery_type: None,
            address: String::new(),
            note: String::new(),
            payment_method: String::new(),
            card_number: "4242424242424242".into(),
            employee_number: String::new(),
            idempotency_key: "k-unpaid".into(),
        })
        .unwrap(),
    )
    .await;
    assert!(retry.is_ok(), "{retry:?}");

    // A second round finds nothing to do.
    assert_eq!(
        reconcile(&w.db, w.sandbox.as_ref(), 0).await.unwrap(),
        Reconciled::default()
    );
}

#[tokio::test]
async fn a_paid_order_whose_stock_sold_out_meanwhile_is_voided_not_placed() {
    let w = world().await;
    let order = w.crashed_checkout(Crash::AfterAuthorize, "k-sold-out").await;
    sqlx::query("UPDATE menu_items SET stock = 0 WHERE id = $1")
        .bind(w.roses.get())
        .execute(w.db.pool())
        .await
        .unwrap();
    let done = reconcile(&w.db, w.sandbox.as_ref(), 0).await.unwrap();
    assert_eq!((done.completed, done.failed, done.voided), (0, 1, 1));
    assert_eq!(w.status(order).await, OrderStatus::PaymentFailed);
    assert_eq!(w.hold(order).await.as_deref(), Some("voided"), "the hold is released");
    assert_eq!(w.stock().await, Some(0), "stock never below zero");
}

#[tokio::test]
async fn a_late_authorization_after_checkout_gave_up_is_voided() {
    let w = world().await;
    let order = w.crashed_checkout(Crash::LateAuthorization, "k-late").await;
    assert_eq!(w.status(order).await, OrderStatus::PaymentFailed, "checkout said busy");
    assert_eq!(
        w.hold(order).await.as_deref(),
        Some("authorized"),
        "but the gateway held it"
    );

    // The order was failed already; it is the payment context that
    // releases the hold.
    assert_eq!(
        reconcile(&w.db, w.sandbox.as_ref(), 0).await.unwrap(),
        Reconciled::default()
    );
    let released = payment::reconcile::release_abandoned(&w.db, w.sandbox.as_ref(), 0)
        .await
        .unwrap();
    assert_eq!(released.voided, 1, "{released:?}");
    assert_eq!(w.hold(order).await.as_deref(), Some("voided"));
    assert_eq!(
        payment::ledger::state(&w.db, domain::OrderId(order))
            .await
            .unwrap()
            .as_deref(),
        Some("voided")
    );
    assert_eq!(w.status(order).await, OrderStatus::PaymentFailed);
    assert_eq!(
        payment::reconcile::release_abandoned(&w.db, w.sandbox.as_ref(), 0)
            .await
            .unwrap(),
        payment::reconcile::Released::default()
    );
}

#[tokio::test]
async fn young_payments_are_left_to_their_checkout() {
    let w = world().await;
    let order = w.crashed_checkout(Crash::AfterAuthorize, "k-young").await;
    let done = reconcile(&w.db, w.sandbox.as_ref(), 60_000).await.unwrap();
    assert_eq!(done, Reconciled::default());
    assert_eq!(w.status(order).await, OrderStatus::PaymentPending);
}
