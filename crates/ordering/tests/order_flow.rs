//! The order from cart to doorstep against a real database
//! (`TEST_DATABASE=sqlite|postgres`): every lifecycle, every compensation,
//! every refusal, and the races that must have exactly one winner — across
//! the contexts the order passes through (ordering, payment, delivery,
//! views, notifications, review), with every consumer of the log running.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use db::Db;
use delivery::DeliveryError;
use domain::delivery::JobError;
use domain::notice::Notice;
use domain::order::RejectReason;
use domain::problem::Problem;
use domain::shop::{CheckoutForm, CheckoutRequest};
use domain::{DeliveryType, MenuItemId, OrderCommand, OrderError, OrderId, OrderStatus, Role, StoreId, UserId};
use eventlog::{Consumer, ConsumerRunner, RunnerConfig, StepOutcome};
use ordering::checkout::{checkout, Placed};
use ordering::{cart, lifecycle::act, Caller, OrderingError};
use payment::ledger::state as payment_status;
use payment::settlement::PaymentSettlement;
use payment::{test_cards, SandboxConfig, SandboxGateway};
use review::{ReviewError, Reviewer};
use std::sync::Arc;
use tokio::sync::Notify;

/// What a rider does with a delivery job.
#[derive(Debug, Clone, Copy)]
enum Ride {
    Claim,
    PickUp,
    Deliver,
}

struct World {
    _t: testkit::TestDb,
    db: Db,
    gateway: Arc<SandboxGateway>,
    customer: Caller,
    other_customer: Caller,
    owner: Caller,
    other_owner: Caller,
    moto: Caller,
    moto2: Caller,
    bike: Caller,
    store: StoreId,
    chicken: MenuItemId,   // 18,000 won, unlimited
    roses: MenuItemId,     // 30,000 won, 3 in stock
    pickup_store: StoreId, // pickup only
    bento: MenuItemId,     // 7,000 won, 10 in stock
}

async fn user(db: &Db, name: &str, role: Role, vehicle: Option<DeliveryType>) -> Caller {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, role, vehicle, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, 'x', 0) RETURNING id",
    )
    .bind(format!("{name}@test.example"))
    .bind(name)
    .bind(role.as_str())
    .bind(vehicle.map(DeliveryType::as_str))
    .fetch_one(db.pool())
    .await
    .expect("user");
    Caller {
        id: UserId(id),
        role,
        vehicle,
        name: name.into(),
    }
}

async fn world() -> World {
    let t = testkit::fresh_db().await;
    let db = t.db.clone();
    let customer = user(&db, "customer", Role::Customer, None).await;
    let other_customer = user(&db, "other", Role::Customer, None).await;
    let owner = user(&db, "owner", Role::Owner, None).await;
    let other_owner = user(&db, "owner2", Role::Owner, None).await;
    let moto = user(&db, "moto", Role::Rider, Some(DeliveryType::Motorbike)).await;
    let moto2 = user(&db, "moto2", Role::Rider, Some(DeliveryType::Motorbike)).await;
    let bike = user(&db, "bike", Role::Rider, Some(DeliveryType::Bicycle)).await;
    let mut tx = db.begin().await.expect("begin");
    let new_store = |name: &'static str, delivery: bool| catalog::NewStore {
        name,
        kind: domain::StoreKind::Restaurant,
        category: "치킨",
        address: "서울 강남구 테헤란로 1",
        status: domain::StoreStatus::Open,
        default_prep_minutes: 20,
        offers_delivery: delivery,
        offers_pickup: true,
        min_order_won: 0,
    };
    let store = catalog::create_store(&mut tx, owner.id, &new_store("치킨집", true))
        .await
        .expect("store");
    let pickup_store = catalog::create_store(&mut tx, other_owner.id, &new_store("구내식당", false))
        .await
        .expect("store");
    let item = |name: &'static str, price_won: i64, stock: Option<i64>| domain::catalog::NewMenuItem {
        category: "메뉴".into(),
        name: name.into(),
        description: String::new(),
        price: domain::Money::from_won(price_won).expect("a price"),
        stock: domain::catalog::Stock::from_column(stock),
        sold_out: false,
    };
    let chicken = catalog::add_menu_item(&mut tx, store, 1, &item("후라이드", 18_000, None))
        .await
        .expect("item");
    let roses = catalog::add_menu_item(&mut tx, store, 2, &item("장미", 30_000, Some(3)))
        .await
        .expect("item");
    let bento = catalog::add_menu_item(&mut tx, pickup_store, 1, &item("도시락", 7_000, Some(10)))
        .await
        .expect("item");
    tx.commit().await.expect("commit");
    let gateway = SandboxGateway::open(
        &payment::sandbox_database_url(&t.url),
        SandboxConfig {
            slow_ms: 400,
            ..SandboxConfig::default()
        },
    )
    .await
    .expect("sandbox");
    World {
        _t: t,
        db: db.clone(),
        gateway: Arc::new(gateway),
        customer,
        other_customer,
        owner,
        other_owner,
        moto,
        moto2,
        bike,
        store,
        chicken,
        roses,
        pickup_store,
        bento,
    }
}

fn form(store: StoreId, key: &str) -> CheckoutForm {
    CheckoutForm {
        store,
        fulfilment: "delivery".into(),
        delivery_type: Some("motorbike".into()),
        address: "서울 강남구 역삼로 5, 301호".into(),
        note: "문 앞에 놓아주세요".into(),
        payment_method: String::new(),
        card_number: "4242 4242 4242 4242".into(),
        employee_number: String::new(),
        idempotency_key: key.into(),
    }
}

fn pickup_form(store: StoreId, key: &str) -> CheckoutForm {
    CheckoutForm {
        fulfilment: "pickup".into(),
        delivery_type: None,
        address: String::new(),
        ..form(store, key)
    }
}

impl World {
    /// Parses the form as the server function does, then checks out.
    async fn pay(&self, who: &Caller, form: &CheckoutForm) -> Result<Placed, OrderingError> {
        let request = CheckoutRequest::parse(form).map_err(OrderingError::Invalid)?;
        checkout(&self.db, self.gateway.as_ref(), who, &request).await
    }

    /// Runs every consumer of the log until none has anything left: the
    /// delivery jobs and the order following them append events the others
    /// then hear.
    async fn settle(&self) {
        let consumers: Vec<Arc<dyn Consumer>> = vec![
            Arc::new(delivery::DeliveryJobs::new(self.db.clone())),
            Arc::new(ordering::follow::OrderFollowsDelivery::new(self.db.clone())),
            Arc::new(views::OrderProjection),
            Arc::new(notification::Notifications::default()),
            Arc::new(PaymentSettlement::new(self.gateway.clone())),
        ];
        loop {
            let mut applied = 0;
            for consumer in &consumers {
                let runner = ConsumerRunner::new(
                    self.db.clone(),
                    consumer.clone(),
                    RunnerConfig::new("test"),
                    Arc::new(Notify::new()),
                );
                runner.register().await.expect("register");
                while let StepOutcome::Applied(n @ 1..) = runner.step().await.expect("step") {
                    applied += n;
                }
                runner.release_lease().await.expect("release");
            }
            if applied == 0 {
                break;
            }
        }
    }

    /// `rider` does `ride` on the delivery job of `order`, once every
    /// consumer has caught up (the job opens when the delivery context hears
    /// the store's acceptance).
    async fn ride(&self, order: OrderId, ride: Ride, rider: &Caller) -> Result<i64, DeliveryError> {
        self.settle().await;
        let rider = delivery::Rider {
            id: rider.id,
            vehicle: rider.vehicle.expect("a rider's vehicle"),
        };
        match ride {
            Ride::Claim => delivery::claim(&self.db, order, rider).await,
            Ride::PickUp => delivery::pick_up(&self.db, order, rider).await,
            Ride::Deliver => delivery::deliver(&self.db, order, rider).await,
        }
    }

    /// `who` reviews `order`.
    async fn review(&self, order: OrderId, who: &Caller, stars: i64, comment: &str) -> Result<i64, ReviewError> {
        self.settle().await;
        let reviewer = Reviewer {
            id: who.id,
            name: who.name.clone(),
        };
        review::write(&self.db, order, &reviewer, stars, comment).await
    }

    async fn view(&self, order: OrderId) -> domain::shop::OrderView {
        self.settle().await;
        views::order(&self.db, order)
            .await
            .expect("view")
            .expect("order has a view")
    }

    async fn stock(&self, item: MenuItemId) -> Option<i64> {
        sqlx::query_scalar("SELECT stock FROM menu_items WHERE id = $1")
            .bind(item.get())
            .fetch_one(self.db.pool())
            .await
            .expect("stock")
    }

    async fn orders_in_db(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM orders")
            .fetch_one(self.db.pool())
            .await
            .expect("count")
    }

    /// What `who` was told, oldest first: about which order, and what.
    async fn notes(&self, who: &Caller) -> Vec<(OrderId, Notice)> {
        self.settle().await;
        notification::inbox(&self.db, who.id)
            .await
            .expect("notifications")
            .into_iter()
            .rev()
            .map(|n| (n.order, n.notice))
            .collect()
    }

    /// A paid motorbike-delivery order of one chicken and one rose.
    async fn placed_order(&self, key: &str) -> OrderId {
        cart::add(&self.db, self.customer.id, self.chicken, 1)
            .await
            .expect("add");
        cart::add(&self.db, self.customer.id, self.roses, 1).await.expect("add");
        self.pay(&self.customer, &form(self.store, key))
            .await
            .expect("checkout")
            .order
    }
}

fn accept(minutes: u16) -> OrderCommand {
    OrderCommand::Accept {
        prep_minutes: minutes,
        estimate: None,
    }
}

#[tokio::test]
async fn a_delivery_order_goes_from_cart_to_doorstep_and_is_captured_and_reviewed() {
    let w = world().await;
    let cart = cart::add(&w.db, w.customer.id, w.chicken, 2).await.expect("add");
    assert_eq!(cart.subtotal.won(), 36_000);
    let cart = cart::add(&w.db, w.customer.id, w.roses, 1).await.expect("add");
    assert_eq!((cart.lines.len(), cart.subtotal.won()), (2, 66_000));

    let placed = w.pay(&w.customer, &form(w.store, "k1")).await.expect("checkout");
    let order = placed.order;
    let view = w.view(order).await;
    assert_eq!(view.status, OrderStatus::Placed);
    assert_eq!(view.placed.subtotal.won(), 66_000);
    assert_eq!(view.placed.fee.won(), 4_000, "motorbike fee");
    assert_eq!(view.placed.total.won(), 70_000);
    assert_eq!(w.stock(w.roses).await, Some(2), "stock reserved at checkout (F8)");
    assert!(
        cart::load(&w.db, w.customer.id, w.store)
            .await
            .expect("cart")
            .lines
            .is_empty(),
        "cart emptied"
    );
    assert_eq!(
        payment_status(&w.db, order).await.expect("payment").as_deref(),
        Some("authorized")
    );

    // The store sees it (F4) and accepts with a prep time (F5).
    let dashboard = views::of_store(&w.db, w.store).await.expect("dashboard");
    assert_eq!(dashboard.iter().map(|o| o.id).collect::<Vec<_>>(), vec![order]);
    act(&w.db, order, &accept(15), &w.owner).await.expect("accept");
    let view = w.view(order).await;
    assert_eq!((view.status, view.prep_minutes), (OrderStatus::Accepted, Some(15)));
    assert!(view.ready_by_ms.is_some());

    // Riders see it from acceptance, but only for their vehicle (F2).
    w.settle().await;
    assert_eq!(
        delivery::open_jobs(&w.db, DeliveryType::Motorbike)
            .await
            .expect("jobs")
            .len(),
        1
    );
    assert!(delivery::open_jobs(&w.db, DeliveryType::Bicycle)
        .await
        .expect("jobs")
        .is_empty());
    // A rider of another vehicle type does not even learn the job exists
    // (issue 15, item 8: the refusal used to name its vehicle).
    let wrong = w.ride(order, Ride::Claim, &w.bike).await;
    assert!(matches!(wrong, Err(DeliveryError::NotFound)), "{wrong:?}");
    w.ride(order, Ride::Claim, &w.moto).await.expect("claim");
    let early = w.ride(order, Ride::PickUp, &w.moto).await;
    assert!(
        matches!(early, Err(DeliveryError::Refused(JobError::NotReadyYet))),
        "pick up only once ready: {early:?}"
    );

    act(&w.db, order, &OrderCommand::MarkReady { final_amount: None }, &w.owner)
        .await
        .expect("ready");
    w.ride(order, Ride::PickUp, &w.moto).await.expect("pick up");
    assert_eq!(w.view(order).await.status, OrderStatus::PickedUp);
    assert_eq!(
        payment_status(&w.db, order).await.expect("payment").as_deref(),
        Some("authorized"),
        "not settled before the work is done (F13)"
    );
    w.ride(order, Ride::Deliver, &w.moto).await.expect("deliver");
    assert_eq!(w.view(order).await.status, OrderStatus::Delivered);
    assert_eq!(
        payment_status(&w.db, order).await.expect("payment").as_deref(),
        Some("captured")
    );

    // A notification at every status change (F10).
    let notes = w.notes(&w.customer).await;
    assert_eq!(notes.len(), 8, "{notes:#?}");
    assert!(matches!(notes[0].1, Notice::OrderPlaced { .. }), "{notes:#?}");
    assert!(
        matches!(notes[1].1, Notice::PaymentApproved { .. }),
        "then the money (seed 002)"
    );
    assert!(matches!(notes[2].1, Notice::OrderAccepted { prep_minutes: 15, .. }));
    assert!(matches!(notes[6].1, Notice::Delivered { .. }));
    assert!(
        matches!(notes[7].1, Notice::PaymentCaptured { .. }),
        "charged once delivered"
    );
    assert!(notes.iter().all(|(about, _)| *about == order));
    let owner_first = &w.notes(&w.owner).await[0];
    assert!(matches!(owner_first, (about, Notice::NewOrder { .. }) if *about == order));
    assert_eq!(
        notification::unread_count(&w.db, w.customer.id).await.expect("unread"),
        8
    );
    let newest = notification::inbox(&w.db, w.customer.id).await.expect("list")[0].seq;
    notification::mark_read(&w.db, w.customer.id, newest)
        .await
        .expect("read");
    assert_eq!(
        notification::unread_count(&w.db, w.customer.id).await.expect("unread"),
        0
    );

    // The store's page reads its reviews through a cache (issue 13).
    let cache = catalog::StoreCache::<domain::shop::StoreReviews>::new();
    let read = || async { review::of_store(&w.db, w.store).await.map(Some) };
    let none_yet = cache
        .get_or_read(&w.db, w.store, read())
        .await
        .expect("reviews")
        .expect("kept");
    let still = cache
        .get_or_read(&w.db, w.store, read())
        .await
        .expect("reviews")
        .expect("kept");
    assert_eq!(none_yet.count, 0);
    assert!(std::sync::Arc::ptr_eq(&none_yet, &still), "served from memory");

    // Review (F11): once, by the customer, 1–5 stars, comment ≤ 1000 characters.
    let bad = w.review(order, &w.customer, 6, "").await;
    assert!(matches!(bad, Err(ReviewError::Invalid(_))));
    let long = "맛".repeat(1001);
    assert!(matches!(
        w.review(order, &w.customer, 5, &long).await,
        Err(ReviewError::Invalid(_))
    ));
    assert!(matches!(
        w.review(order, &w.other_customer, 5, "").await,
        Err(ReviewError::NotFound)
    ));
    w.review(order, &w.customer, 4, "Crispy!").await.expect("review");
    assert!(matches!(
        w.review(order, &w.customer, 5, "again").await,
        Err(ReviewError::Rejected(_))
    ));
    let store_reviews = review::of_store(&w.db, w.store).await.expect("reviews");
    assert_eq!((store_reviews.count, store_reviews.average_tenths), (1, 40));
    let cached = cache
        .get_or_read(&w.db, w.store, read())
        .await
        .expect("reviews")
        .expect("kept");
    assert_eq!(*cached, store_reviews, "the cached copy shows the new review at once");
    assert_eq!(w.view(order).await.review.map(|r| r.comment), Some("Crispy!".into()));
}

#[tokio::test]
async fn a_pickup_order_is_ready_then_collected_and_captured() {
    let w = world().await;
    cart::add(&w.db, w.customer.id, w.bento, 2).await.expect("add");
    let delivery = w.pay(&w.customer, &form(w.pickup_store, "d")).await;
    assert!(
        matches!(&delivery, Err(OrderingError::Rejected(Problem::NoDelivery { .. }))),
        "{delivery:?}"
    );
    let order = w
        .pay(&w.customer, &pickup_form(w.pickup_store, "p"))
        .await
        .expect("checkout")
        .order;
    let view = w.view(order).await;
    assert_eq!((view.placed.fee.won(), view.placed.total.won()), (0, 14_000));
    assert!(
        act(&w.db, order, &accept(10), &w.owner).await.is_err(),
        "another store's owner cannot accept"
    );
    act(&w.db, order, &accept(10), &w.other_owner).await.expect("accept");
    let claim = w.ride(order, Ride::Claim, &w.moto).await;
    assert!(
        matches!(claim, Err(DeliveryError::NotFound)),
        "riders never see pickup orders: {claim:?}"
    );
    act(
        &w.db,
        order,
        &OrderCommand::MarkReady { final_amount: None },
        &w.other_owner,
    )
    .await
    .expect("ready");
    assert!(
        w.notes(&w.customer)
            .await
            .iter()
            .any(|(about, n)| *about == order && matches!(n, Notice::ReadyForPickup { .. })),
        "F12"
    );
    act(&w.db, order, &OrderCommand::Collect, &w.other_owner)
        .await
        .expect("collected");
    assert_eq!(w.view(order).await.status, OrderStatus::Collected);
    assert_eq!(
        payment_status(&w.db, order).await.expect("payment").as_deref(),
        Some("captured")
    );
    assert_eq!(w.stock(w.bento).await, Some(8));
}

#[tokio::test]
async fn rejecting_voids_the_payment_and_restores_stock() {
    let w = world().await;
    let order = w.placed_order("k").await;
    assert_eq!(w.stock(w.roses).await, Some(2));
    act(
        &w.db,
        order,
        &OrderCommand::Reject {
            reason: RejectReason::TooBusy,
        },
        &w.owner,
    )
    .await
    .expect("reject");
    let view = w.view(order).await;
    assert_eq!(view.status, OrderStatus::Rejected);
    assert_eq!(view.reason, Some(RejectReason::TooBusy));
    assert_eq!(w.stock(w.roses).await, Some(3), "compensation: stock back");
    assert_eq!(
        payment_status(&w.db, order).await.expect("payment").as_deref(),
        Some("voided")
    );
    let notes = w.notes(&w.customer).await;
    assert!(
        matches!(
            &notes[notes.len() - 2].1,
            Notice::OrderRejected {
                reason: RejectReason::TooBusy,
                ..
            }
        ),
        "{notes:#?}"
    );
    assert!(
        matches!(notes[notes.len() - 1].1, Notice::PaymentReleased { .. }),
        "{notes:#?}"
    );
    let again = act(&w.db, order, &accept(10), &w.owner).await;
    assert!(matches!(
        again,
        Err(OrderingError::Refused(OrderError::NotAllowed { .. }))
    ));
}

#[tokio::test]
async fn cancelling_before_and_after_accept_compensates_and_after_ready_is_refused() {
    let w = world().await;
    // Before accept.
    let first = w.placed_order("a").await;
    assert!(matches!(
        act(&w.db, first, &OrderCommand::Cancel, &w.other_customer).await,
        Err(OrderingError::NotFound(_))
    ));
    act(&w.db, first, &OrderCommand::Cancel, &w.customer)
        .await
        .expect("cancel");
    assert_eq!(w.stock(w.roses).await, Some(3));
    assert_eq!(w.view(first).await.status, OrderStatus::Cancelled);
    assert_eq!(
        payment_status(&w.db, first).await.expect("payment").as_deref(),
        Some("voided")
    );
    assert!(w
        .notes(&w.owner)
        .await
        .iter()
        .any(|(about, n)| *about == first && matches!(n, Notice::StoreOrderCancelled { by: Role::Customer })));

    // After accept, with a rider already on the job: the rider is told.
    let second = w.placed_order("b").await;
    act(&w.db, second, &accept(20), &w.owner).await.expect("accept");
    w.ride(second, Ride::Claim, &w.moto).await.expect("claim");
    act(&w.db, second, &OrderCommand::Cancel, &w.customer)
        .await
        .expect("cancel");
    assert_eq!(w.stock(w.roses).await, Some(3));
    w.settle().await;
    assert_eq!(
        payment_status(&w.db, second).await.expect("payment").as_deref(),
        Some("voided")
    );
    assert!(w
        .notes(&w.moto)
        .await
        .iter()
        .any(|(about, n)| *about == second && matches!(n, Notice::JobCancelled { .. })));
    w.settle().await;
    assert!(delivery::current_job(&w.db, w.moto.id).await.expect("job").is_none());

    // After ready: refused with the reason, nothing changes.
    let third = w.placed_order("c").await;
    act(&w.db, third, &accept(20), &w.owner).await.expect("accept");
    act(&w.db, third, &OrderCommand::MarkReady { final_amount: None }, &w.owner)
        .await
        .expect("ready");
    let late = act(&w.db, third, &OrderCommand::Cancel, &w.customer).await;
    assert!(
        matches!(late, Err(OrderingError::Refused(OrderError::TooLateToCancel))),
        "{late:?}"
    );
    assert_eq!(w.view(third).await.status, OrderStatus::Ready);
    assert_eq!(w.stock(w.roses).await, Some(2));
    assert_eq!(
        payment_status(&w.db, third).await.expect("payment").as_deref(),
        Some("authorized")
    );
}

/// Issue 11, "nobody sees the money": the order view says where the
/// payment stands at every step, the customer is told each move, and a
/// customer's cancellation reaches the store as an alarm of its own with
/// the payment released (seeds 000, 002).
#[tokio::test]
async fn the_money_is_visible_at_every_step_and_a_cancellation_rings_the_store() {
    use domain::PaymentState;
    let w = world().await;
    // Placed: held, and the customer hears it went through (seed 002).
    let order = w.placed_order("m1").await;
    let view = w.view(order).await;
    assert_eq!(view.payment, Some(PaymentState::Authorized));
    let customer_notes = w.notes(&w.customer).await;
    assert!(
        customer_notes.iter().any(|(about, n)| *about == order
            && matches!(n, Notice::PaymentApproved { amount, .. } if amount.won() == 52_000)),
        "{customer_notes:?}"
    );
    assert!(
        !w.notes(&w.moto).await.iter().any(|(_, n)| matches!(
            n,
            Notice::PaymentApproved { .. } | Notice::PaymentCaptured { .. } | Notice::PaymentReleased { .. }
        )),
        "riders hear nothing of the money"
    );
    // Delivered: charged, and told.
    act(&w.db, order, &accept(15), &w.owner).await.expect("accept");
    w.ride(order, Ride::Claim, &w.moto).await.expect("claim");
    act(&w.db, order, &OrderCommand::MarkReady { final_amount: None }, &w.owner)
        .await
        .expect("ready");
    w.ride(order, Ride::PickUp, &w.moto).await.expect("pick up");
    assert_eq!(
        w.view(order).await.payment,
        Some(PaymentState::Authorized),
        "not before it is done (F13)"
    );
    w.ride(order, Ride::Deliver, &w.moto).await.expect("deliver");
    let view = w.view(order).await;
    assert_eq!(
        (view.status, view.payment),
        (OrderStatus::Delivered, Some(PaymentState::Captured))
    );
    assert!(w
        .notes(&w.customer)
        .await
        .iter()
        .any(|(about, n)| *about == order
            && matches!(n, Notice::PaymentCaptured { amount, .. } if amount.won() == 52_000)));

    // Cancelled by the customer while the store cooks it.
    let second = w.placed_order("m2").await;
    act(&w.db, second, &accept(15), &w.owner).await.expect("accept");
    act(&w.db, second, &OrderCommand::Cancel, &w.customer)
        .await
        .expect("cancel");
    let view = w.view(second).await;
    assert_eq!(view.payment, Some(PaymentState::Released));
    assert_eq!(view.cancelled_by, Some(Role::Customer));
    assert!(!view.acknowledged, "the store's alarm rings for it");
    let owner_notes = w.notes(&w.owner).await;
    assert!(
        owner_notes
            .iter()
            .any(|(about, n)| *about == second && matches!(n, Notice::StoreOrderCancelled { by: Role::Customer })),
        "{owner_notes:?}"
    );
    assert!(w
        .notes(&w.customer)
        .await
        .iter()
        .any(|(about, n)| *about == second
            && matches!(n, Notice::PaymentReleased { amount, .. } if amount.won() == 52_000)));
    // Seen on one tablet: quiet on all; another store's owner cannot.
    assert!(ordering::lifecycle::acknowledge(&w.db, second, &w.other_owner)
        .await
        .is_err());
    let seen = ordering::lifecycle::acknowledge(&w.db, second, &w.owner)
        .await
        .expect("seen");
    assert!(seen.is_some());
    let view = w.view(second).await;
    assert!(view.acknowledged);
    assert_eq!(
        (view.status, view.payment),
        (OrderStatus::Cancelled, Some(PaymentState::Released))
    );

    // Rejected: released too.
    let third = w.placed_order("m3").await;
    let reject = OrderCommand::Reject {
        reason: RejectReason::TooBusy,
    };
    act(&w.db, third, &reject, &w.owner).await.expect("reject");
    assert_eq!(w.view(third).await.payment, Some(PaymentState::Released));
}

#[tokio::test]
async fn bad_carts_and_forms_are_refused_before_any_payment_and_change_nothing() {
    let w = world().await;
    let refused = |r: Result<Placed, OrderingError>| match r {
        Err(OrderingError::Rejected(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    };
    // Empty cart.
    assert_eq!(
        refused(w.pay(&w.customer, &form(w.store, "e")).await),
        Problem::CartEmpty
    );
    // Cart: zero, negative, huge, unknown item, more than in stock.
    for q in [0, -1, 100, i64::MAX] {
        assert!(
            matches!(
                cart::add(&w.db, w.customer.id, w.chicken, q).await,
                Err(OrderingError::Rejected(_))
            ),
            "{q}"
        );
    }
    assert!(matches!(
        cart::add(&w.db, w.customer.id, MenuItemId(999_999), 1).await,
        Err(OrderingError::NotFound(_))
    ));
    let short = cart::add(&w.db, w.customer.id, w.roses, 4).await;
    assert!(
        matches!(&short, Err(OrderingError::Rejected(Problem::OnlyLeft { left: 3, .. }))),
        "{short:?}"
    );
    cart::add(&w.db, w.customer.id, w.roses, 3).await.expect("all three");
    // Stock falls after adding: refused at checkout (F8).
    sqlx::query("UPDATE menu_items SET stock = 1 WHERE id = $1")
        .bind(w.roses.get())
        .execute(w.db.pool())
        .await
        .expect("stock");
    assert!(matches!(
        refused(w.pay(&w.customer, &form(w.store, "s")).await),
        Problem::OnlyLeft { left: 1, .. }
    ));
    cart::set_quantity(&w.db, w.customer.id, w.roses, 1)
        .await
        .expect("lower");
    // Sold out by the owner.
    sqlx::query("UPDATE menu_items SET sold_out = 1 WHERE id = $1")
        .bind(w.roses.get())
        .execute(w.db.pool())
        .await
        .expect("sold out");
    assert!(matches!(
        refused(w.pay(&w.customer, &form(w.store, "so")).await),
        Problem::SoldOut { .. }
    ));
    sqlx::query("UPDATE menu_items SET sold_out = 0 WHERE id = $1")
        .bind(w.roses.get())
        .execute(w.db.pool())
        .await
        .expect("back");
    // Store paused, then closed.
    for status in ["paused", "closed"] {
        sqlx::query("UPDATE stores SET status = $2 WHERE id = $1")
            .bind(w.store.get())
            .bind(status)
            .execute(w.db.pool())
            .await
            .expect("status");
        let problem = refused(w.pay(&w.customer, &form(w.store, status)).await);
        assert!(
            matches!(
                (status, &problem),
                ("paused", Problem::StorePaused { .. }) | ("closed", Problem::StoreClosed { .. })
            ),
            "{status}: {problem:?}"
        );
    }
    sqlx::query("UPDATE stores SET status = 'open' WHERE id = $1")
        .bind(w.store.get())
        .execute(w.db.pool())
        .await
        .expect("open");
    // Bad form fields: each named.
    let mut bad = form(w.store, "");
    bad.delivery_type = Some("helicopter".into());
    bad.address = "  ".into();
    bad.card_number = "1234".into();
    bad.note = "x".repeat(201);
    match w.pay(&w.customer, &bad).await {
        Err(OrderingError::Invalid(fields)) => {
            let mut names: Vec<_> = fields.iter().map(|f| f.field.clone()).collect();
            names.sort();
            assert_eq!(
                names,
                vec!["address", "card_number", "delivery_type", "idempotency_key", "note"]
            );
        }
        other => panic!("expected field errors, got {other:?}"),
    }
    let mut bad = form(w.store, "f");
    bad.fulfilment = "drone".into();
    assert!(matches!(w.pay(&w.customer, &bad).await, Err(OrderingError::Invalid(_))));
    assert!(matches!(
        w.pay(&w.customer, &form(StoreId(999_999), "x")).await,
        Err(OrderingError::NotFound(_))
    ));

    assert_eq!(w.gateway.authorization_count().await, 0, "the gateway was never asked");
    assert_eq!(w.orders_in_db().await, 0, "no order, not even a pending one");
    assert_eq!(w.stock(w.roses).await, Some(1));
    assert_eq!(eventlog::head(&w.db).await.expect("head"), 0);
}

#[tokio::test]
async fn a_declined_card_never_reaches_the_store_and_keeps_the_cart() {
    let w = world().await;
    cart::add(&w.db, w.customer.id, w.roses, 2).await.expect("add");
    let mut declined = form(w.store, "d");
    declined.card_number = test_cards::DECLINE.into();
    let result = w.pay(&w.customer, &declined).await;
    assert!(
        matches!(&result, Err(OrderingError::PaymentDeclined(Problem::Declined { .. }))),
        "{result:?}"
    );
    // The same key again gives the same answer, without asking the gateway again.
    assert!(matches!(
        w.pay(&w.customer, &declined).await,
        Err(OrderingError::PaymentDeclined(_))
    ));
    assert_eq!(w.gateway.authorization_count().await, 1);
    w.settle().await;
    assert!(
        views::of_store(&w.db, w.store).await.expect("dashboard").is_empty(),
        "F3: unpaid never reaches the store"
    );
    assert!(views::of_customer(&w.db, w.customer.id)
        .await
        .expect("orders")
        .is_empty());
    assert_eq!(w.stock(w.roses).await, Some(3), "stock untouched");
    assert_eq!(
        cart::load(&w.db, w.customer.id, w.store)
            .await
            .expect("cart")
            .lines
            .len(),
        1,
        "cart kept"
    );
    // A good card with a new key then works.
    w.pay(&w.customer, &form(w.store, "d2")).await.expect("second try");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_checkout_submitted_twice_gives_one_order_and_one_authorization() {
    let w = Arc::new(world().await);
    cart::add(&w.db, w.customer.id, w.chicken, 1).await.expect("add");
    let mut slow = form(w.store, "twice");
    slow.card_number = test_cards::SLOW.into(); // the first is still paying when the second arrives
    let (a, b) = tokio::join!(w.pay(&w.customer, &slow), w.pay(&w.customer, &slow));
    let placed: Vec<OrderId> = [&a, &b]
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|p| p.order))
        .collect();
    assert!(!placed.is_empty(), "{a:?} {b:?}");
    // The loser is told the checkout is still being paid for; a retry afterwards finds the order.
    let again = w.pay(&w.customer, &slow).await.expect("retry");
    assert_eq!(again.seq, None, "a retry does not place again");
    assert!(placed.iter().all(|o| *o == again.order));
    assert_eq!(w.orders_in_db().await, 1);
    assert_eq!(w.gateway.authorization_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_riders_claiming_one_job_exactly_one_wins() {
    let w = Arc::new(world().await);
    let order = w.placed_order("k").await;
    act(&w.db, order, &accept(10), &w.owner).await.expect("accept");
    w.settle().await;
    let rider = |c: &Caller| delivery::Rider {
        id: c.id,
        vehicle: DeliveryType::Motorbike,
    };
    let (a, b) = tokio::join!(
        delivery::claim(&w.db, order, rider(&w.moto)),
        delivery::claim(&w.db, order, rider(&w.moto2))
    );
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    let loser = if a.is_ok() { b } else { a };
    assert!(
        matches!(
            loser,
            Err(DeliveryError::Refused(JobError::JobTaken)) | Err(DeliveryError::NotFound)
        ),
        "{loser:?}"
    );
    // One job at a time: the winner cannot take a second.
    let winner = if w.view(order).await.rider == Some(w.moto.id) {
        &w.moto
    } else {
        &w.moto2
    };
    let next = w.placed_order("k2").await;
    act(&w.db, next, &accept(10), &w.owner).await.expect("accept");
    let busy = w.ride(next, Ride::Claim, winner).await;
    assert!(matches!(&busy, Err(DeliveryError::Busy)), "{busy:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_customers_buying_the_last_unit_exactly_one_succeeds() {
    let w = Arc::new(world().await);
    sqlx::query("UPDATE menu_items SET stock = 1 WHERE id = $1")
        .bind(w.roses.get())
        .execute(w.db.pool())
        .await
        .expect("stock");
    cart::add(&w.db, w.customer.id, w.roses, 1).await.expect("add");
    cart::add(&w.db, w.other_customer.id, w.roses, 1).await.expect("add");
    let last = form(w.store, "last");
    let (a, b) = tokio::join!(w.pay(&w.customer, &last), w.pay(&w.other_customer, &last));
    assert_eq!(
        [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count(),
        1,
        "{a:?} {b:?}"
    );
    let loser = if a.is_ok() { b } else { a };
    assert!(
        matches!(
            &loser,
            Err(OrderingError::Rejected(
                Problem::SoldOut { .. } | Problem::OnlyLeft { .. } | Problem::SoldOutWhilePaying { .. }
            ))
        ),
        "{loser:?}"
    );
    assert_eq!(w.stock(w.roses).await, Some(0), "never negative");
    w.settle().await;
    // The loser's hold, if any, was voided: nothing stays authorized for an order that failed.
    let authorized: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE status = 'authorized'")
        .fetch_one(w.db.pool())
        .await
        .expect("count");
    assert_eq!(authorized, 1);
}

#[tokio::test]
async fn strangers_cannot_see_or_touch_an_order() {
    let w = world().await;
    let order = w.placed_order("k").await;
    for (who, command) in [(&w.other_customer, OrderCommand::Cancel), (&w.other_owner, accept(10))] {
        let result = act(&w.db, order, &command, who).await;
        assert!(matches!(result, Err(OrderingError::NotFound(_))), "{result:?}");
    }
    let early = w.ride(order, Ride::Claim, &w.moto).await;
    assert!(
        matches!(early, Err(DeliveryError::NotFound)),
        "not open before the store accepts: {early:?}"
    );
    let as_rider = act(&w.db, order, &OrderCommand::Cancel, &w.moto).await;
    assert!(
        matches!(as_rider, Err(OrderingError::Refused(OrderError::Forbidden(_)))),
        "riders act on jobs, never on orders: {as_rider:?}"
    );
    let owner_cancel = act(&w.db, order, &OrderCommand::Cancel, &w.owner).await;
    assert!(
        matches!(owner_cancel, Err(OrderingError::Refused(OrderError::Forbidden(_)))),
        "{owner_cancel:?}"
    );
    assert!(matches!(
        act(&w.db, OrderId(999_999), &OrderCommand::Cancel, &w.customer).await,
        Err(OrderingError::NotFound(_))
    ));
    assert_eq!(w.view(order).await.status, OrderStatus::Placed);
}

#[tokio::test]
async fn rebuilding_the_projections_from_the_log_gives_the_same_rows() {
    let w = world().await;
    let delivered = w.placed_order("a").await;
    act(&w.db, delivered, &accept(10), &w.owner).await.expect("accept");
    w.ride(delivered, Ride::Claim, &w.moto).await.expect("claim");
    act(
        &w.db,
        delivered,
        &OrderCommand::MarkReady { final_amount: None },
        &w.owner,
    )
    .await
    .expect("ready");
    w.ride(delivered, Ride::PickUp, &w.moto).await.expect("pick up");
    w.ride(delivered, Ride::Deliver, &w.moto).await.expect("deliver");
    w.review(delivered, &w.customer, 5, "최고").await.expect("review");
    let rejected = w.placed_order("b").await;
    act(
        &w.db,
        rejected,
        &OrderCommand::Reject {
            reason: RejectReason::Other("오늘 재료 소진".into()),
        },
        &w.owner,
    )
    .await
    .expect("reject");
    let cancelled = w.placed_order("c").await;
    act(&w.db, cancelled, &OrderCommand::Cancel, &w.customer)
        .await
        .expect("cancel");
    let acknowledged = w.placed_order("d").await;
    assert!(
        ordering::lifecycle::acknowledge(&w.db, acknowledged, &w.other_owner)
            .await
            .is_err(),
        "not their store"
    );
    assert!(ordering::lifecycle::acknowledge(&w.db, acknowledged, &w.owner)
        .await
        .expect("ack")
        .is_some());
    w.placed_order("e").await;
    w.settle().await;
    assert!(w.view(acknowledged).await.acknowledged);

    async fn snapshot(db: &Db) -> (Vec<String>, Vec<String>) {
        let views: Vec<String> = sqlx::query_scalar(
            "SELECT order_id || '|' || status || '|' || COALESCE(CAST(rider_id AS TEXT), '') || '|' || placed || '|' || \
             COALESCE(CAST(prep_minutes AS TEXT), '') || '|' || COALESCE(CAST(ready_by AS TEXT), '') || '|' || \
             COALESCE(reason, '') || '|' || COALESCE(review, '') || '|' || placed_at || '|' || updated_at || '|' || acknowledged \
             || '|' || COALESCE(payment, '') || '|' || COALESCE(cancelled_by, '') FROM order_views ORDER BY order_id",
        )
        .fetch_all(db.pool())
        .await
        .expect("views");
        let notes: Vec<String> = sqlx::query_scalar(
            "SELECT user_id || '|' || seq || '|' || order_id || '|' || notice || '|' || created_at \
             FROM notifications ORDER BY user_id, seq",
        )
        .fetch_all(db.pool())
        .await
        .expect("notifications");
        (views, notes)
    }
    let live = snapshot(&w.db).await;
    assert_eq!(live.0.len(), 5);
    assert!(live.1.len() > 10);
    let head = views::rebuild(&w.db, "rebuild-test", Arc::new(views::OrderProjection), views::TABLES)
        .await
        .expect("rebuild");
    assert_eq!(head, eventlog::head(&w.db).await.expect("head"));
    views::rebuild(
        &w.db,
        "rebuild-test",
        Arc::new(notification::Notifications::default()),
        notification::TABLES,
    )
    .await
    .expect("rebuild");
    assert_eq!(snapshot(&w.db).await, live);
}

/// Issue 13: the settlement consumer calls the gateway before its batch's
/// transaction opens (`Consumer::prepare`). On SQLite a transaction holds
/// the one writer's turn, so a capture made inside it kept every other
/// write of the process (here another customer's cart) waiting until the
/// gateway answered. Now the cart is stored while the capture is still
/// under way, and the capture is then recorded once, as before.
/// A delivered order whose capture is still to come, and a settlement
/// runner caught up to just before it (as a running server's is), so its
/// next step reads the batch before the transaction and prepares it.
async fn delivered_awaiting_capture(w: &World, key: &str) -> (OrderId, ConsumerRunner) {
    let order = w.placed_order(key).await;
    act(&w.db, order, &accept(10), &w.owner).await.expect("accept");
    w.ride(order, Ride::Claim, &w.moto).await.expect("claim");
    act(&w.db, order, &OrderCommand::MarkReady { final_amount: None }, &w.owner)
        .await
        .expect("ready");
    w.ride(order, Ride::PickUp, &w.moto).await.expect("pick up");
    w.ride(order, Ride::Deliver, &w.moto).await.expect("deliver");
    let runner = |consumer: Arc<dyn Consumer>| {
        ConsumerRunner::new(
            w.db.clone(),
            consumer,
            RunnerConfig::new("test"),
            Arc::new(Notify::new()),
        )
    };
    let settlement = runner(Arc::new(PaymentSettlement::new(w.gateway.clone())));
    settlement.register().await.expect("register");
    while let StepOutcome::Applied(1..) = settlement.step().await.expect("step") {}
    // Then the order follows its delivered job: `OrderDelivered`.
    let follow = runner(Arc::new(ordering::follow::OrderFollowsDelivery::new(w.db.clone())));
    while let StepOutcome::Applied(1..) = follow.step().await.expect("step") {}
    follow.release_lease().await.expect("release");
    assert_eq!(
        payment_status(&w.db, order).await.expect("payment").as_deref(),
        Some("authorized")
    );
    (order, settlement)
}

/// How many `PaymentCaptured` notices the customer has, for `won`.
async fn captures(w: &World, won: i64) -> usize {
    w.notes(&w.customer)
        .await
        .iter()
        .filter(|(_, n)| matches!(n, Notice::PaymentCaptured { amount, .. } if amount.won() == won))
        .count()
}

#[tokio::test]
async fn another_customers_cart_is_stored_while_a_slow_gateway_captures_a_delivery() {
    let w = world().await;
    let (order, settlement) = delivered_awaiting_capture(&w, "slow-capture").await;

    // Every gateway call now takes 1.5 s.
    w.gateway.set_faults(1_500, 0.0);
    let capturing = tokio::spawn(async move {
        let outcome = settlement.step().await.expect("step");
        settlement.release_lease().await.expect("release");
        outcome
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    cart::add(&w.db, w.other_customer.id, w.chicken, 1)
        .await
        .expect("another customer's cart");
    assert_eq!(
        payment_status(&w.db, order).await.expect("payment").as_deref(),
        Some("authorized"),
        "the cart was stored only once the capture was"
    );
    assert!(!capturing.is_finished());
    assert!(matches!(capturing.await.expect("task"), StepOutcome::Applied(1..)));
    assert_eq!(
        payment_status(&w.db, order).await.expect("payment").as_deref(),
        Some("captured")
    );
    assert_eq!(captures(&w, 52_000).await, 1, "captured once, for the whole order");
}

/// The gateway failing while the batch is prepared fails the batch before
/// anything is written: the payment stays held, nothing is announced, and
/// the retry once the gateway is back captures exactly once.
#[tokio::test]
async fn a_gateway_down_while_a_capture_is_prepared_changes_nothing_until_it_is_back() {
    let w = world().await;
    let (order, settlement) = delivered_awaiting_capture(&w, "down-capture").await;
    w.gateway.set_faults(0, 1.0);
    let failed = settlement.step().await;
    assert!(
        matches!(&failed, Err(eventlog::ConsumerError::Handler(why)) if why.contains("unavailable")),
        "{failed:?}"
    );
    assert_eq!(
        payment_status(&w.db, order).await.expect("payment").as_deref(),
        Some("authorized")
    );
    w.gateway.set_faults(0, 0.0);
    assert!(matches!(
        settlement.step().await.expect("step"),
        StepOutcome::Applied(1..)
    ));
    settlement.release_lease().await.expect("release");
    assert_eq!(
        payment_status(&w.db, order).await.expect("payment").as_deref(),
        Some("captured")
    );
    assert_eq!(captures(&w, 52_000).await, 1);
}
