//! The repair shop's final amount (seed 001) and the canteen's payroll
//! deduction (seed 003), against a real database (`TEST_DATABASE=sqlite|
//! postgres`), with the consumers of the log run by hand: what is held,
//! asked, approved, charged and deducted, and every refusal changing nothing.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use db::Db;
use domain::notice::Notice;
use domain::problem::Problem;
use domain::shop::{CheckoutForm, CheckoutRequest};
use domain::{
    MenuItemId, Money, OrderCommand, OrderError, OrderId, OrderStatus, PaymentMethod, PaymentState, Role, StoreId,
    StoreKind, UserId,
};
use eventlog::{Consumer, ConsumerRunner, RunnerConfig, StepOutcome};
use ordering::checkout::checkout;
use ordering::lifecycle::act;
use ordering::{cart, Caller, OrderingError};
use payment::{test_cards, SandboxConfig, SandboxGateway};
use std::sync::Arc;

struct Town {
    _t: testkit::TestDb,
    db: Db,
    gateway: Arc<SandboxGateway>,
    driver: Caller,
    customer: Caller,
    colleague: Caller,
    mechanic: Caller,
    cook: Caller,
    garage: StoreId,
    brakes: MenuItemId, // 100,000 won
    canteen: StoreId,
    lunch: MenuItemId, // 6,500 won, 20 in stock
}

fn won(amount: i64) -> Money {
    Money::from_won(amount).unwrap()
}

async fn user(db: &Db, name: &str, role: Role) -> Caller {
    let vehicle = (role == Role::Rider).then_some(domain::DeliveryType::Motorbike);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO users (email, display_name, role, vehicle, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, 'x', 0) RETURNING id",
    )
    .bind(format!("{name}@test.example"))
    .bind(name)
    .bind(role.as_str())
    .bind(vehicle.map(domain::DeliveryType::as_str))
    .fetch_one(db.pool())
    .await
    .unwrap();
    Caller {
        id: UserId(id),
        role,
        vehicle,
        name: name.into(),
    }
}

async fn town() -> Town {
    let t = testkit::fresh_db().await;
    let db = t.db.clone();
    let customer = user(&db, "minjun", Role::Customer).await;
    let colleague = user(&db, "seoyeon", Role::Customer).await;
    let mechanic = user(&db, "mechanic", Role::Owner).await;
    let cook = user(&db, "cook", Role::Owner).await;
    let driver = user(&db, "driver", Role::Rider).await;
    let mut tx = db.begin().await.unwrap();
    let store = |name: &'static str, kind, delivery| catalog::NewStore {
        name,
        kind,
        category: "가게",
        address: "서울 종로구 종로 26",
        status: domain::StoreStatus::Open,
        default_prep_minutes: 30,
        offers_delivery: delivery,
        offers_pickup: true,
        min_order_won: 0,
    };
    let garage = catalog::create_store(&mut tx, mechanic.id, &store("카센터", StoreKind::RepairShop, true))
        .await
        .unwrap();
    let canteen = catalog::create_store(&mut tx, cook.id, &store("구내식당", StoreKind::Canteen, false))
        .await
        .unwrap();
    let item = |name: &str, price: i64, stock: Option<i64>| domain::catalog::NewMenuItem {
        category: "메뉴".into(),
        name: name.into(),
        description: String::new(),
        price: won(price),
        stock: domain::catalog::Stock::from_column(stock),
        sold_out: false,
    };
    let brakes = catalog::add_menu_item(&mut tx, garage, 1, &item("브레이크 패드", 100_000, None))
        .await
        .unwrap();
    let lunch = catalog::add_menu_item(&mut tx, canteen, 1, &item("한식 정식", 6_500, Some(20)))
        .await
        .unwrap();
    payment::payroll::enrol(&mut tx, canteen, "SK-1001", customer.id, "김민준")
        .await
        .unwrap();
    payment::payroll::enrol(&mut tx, canteen, "SK-1002", colleague.id, "이서연")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let gateway = SandboxGateway::open(&payment::sandbox_database_url(&t.url), SandboxConfig::default())
        .await
        .unwrap();
    Town {
        _t: t,
        db,
        gateway: Arc::new(gateway),
        driver,
        customer,
        colleague,
        mechanic,
        cook,
        garage,
        brakes,
        canteen,
        lunch,
    }
}

fn form(store: StoreId, key: &str) -> CheckoutForm {
    CheckoutForm {
        store,
        fulfilment: "pickup".into(),
        delivery_type: None,
        address: String::new(),
        note: String::new(),
        payment_method: "card".into(),
        card_number: test_cards::APPROVE.into(),
        employee_number: String::new(),
        idempotency_key: key.into(),
    }
}

fn payroll(store: StoreId, key: &str, number: &str) -> CheckoutForm {
    CheckoutForm {
        payment_method: "payroll".into(),
        card_number: String::new(),
        employee_number: number.into(),
        ..form(store, key)
    }
}

impl Town {
    /// Puts one `item` in the cart and checks out with `form`.
    async fn order(&self, who: &Caller, item: MenuItemId, form: CheckoutForm) -> Result<OrderId, OrderingError> {
        cart::add(&self.db, who.id, item, 1).await.unwrap();
        self.check_out(who, form).await
    }

    /// Checks out the cart as it is.
    async fn check_out(&self, who: &Caller, form: CheckoutForm) -> Result<OrderId, OrderingError> {
        let request = CheckoutRequest::parse(&form).map_err(OrderingError::Invalid)?;
        Ok(checkout(&self.db, self.gateway.as_ref(), who, &request).await?.order)
    }

    /// Runs the consumers until none has anything left; `payroll` says
    /// whether the payroll side is up.
    async fn settle_with(&self, payroll: bool) {
        let mut consumers: Vec<Arc<dyn Consumer>> = vec![
            Arc::new(delivery::DeliveryJobs::new(self.db.clone())),
            Arc::new(ordering::follow::OrderFollowsDelivery::new(self.db.clone())),
            Arc::new(views::OrderProjection),
            Arc::new(notification::Notifications::default()),
            Arc::new(payment::settlement::PaymentSettlement::new(self.gateway.clone())),
        ];
        if payroll {
            consumers.push(Arc::new(payment::payroll::PayrollDeductions));
        }
        loop {
            let mut applied = 0;
            for consumer in &consumers {
                let runner = ConsumerRunner::new(
                    self.db.clone(),
                    consumer.clone(),
                    RunnerConfig::new("test"),
                    Arc::default(),
                );
                runner.register().await.unwrap();
                while let StepOutcome::Applied(n @ 1..) = runner.step().await.unwrap() {
                    applied += n;
                }
                runner.release_lease().await.unwrap();
            }
            if applied == 0 {
                break;
            }
        }
    }

    async fn view(&self, order: OrderId) -> domain::shop::OrderView {
        self.settle_with(true).await;
        views::order(&self.db, order).await.unwrap().unwrap()
    }

    /// What `who` was told, newest first.
    async fn notes(&self, who: &Caller) -> Vec<Notice> {
        self.settle_with(true).await;
        notification::inbox(&self.db, who.id)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.notice)
            .collect()
    }

    /// The sandbox's ledger entry of the order's card payment.
    async fn hold(&self, order: OrderId) -> payment::SandboxHold {
        let key = payment::ledger::idempotency_key(order);
        self.gateway
            .ledger()
            .await
            .unwrap()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, hold)| hold)
            .expect("a hold")
    }

    async fn repair(&self, order: OrderId, command: OrderCommand) -> Result<i64, OrderingError> {
        act(&self.db, order, &command, &self.mechanic).await
    }

    async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(self.db.pool())
            .await
            .unwrap()
    }
}

fn accept(estimate: Option<i64>) -> OrderCommand {
    OrderCommand::Accept {
        prep_minutes: 120,
        estimate: estimate.map(won),
    }
}

fn done(final_amount: Option<i64>) -> OrderCommand {
    OrderCommand::MarkReady {
        final_amount: final_amount.map(won),
    }
}

#[tokio::test]
async fn a_repair_is_accepted_with_an_estimate_and_charged_only_its_final_amount() {
    let t = town().await;
    let order = t.order(&t.customer, t.brakes, form(t.garage, "r1")).await.unwrap();
    assert!(matches!(
        t.repair(order, accept(None)).await,
        Err(OrderingError::Refused(OrderError::Amount(_)))
    ));
    t.repair(order, accept(Some(90_000))).await.unwrap();
    assert!(matches!(
        t.repair(order, done(None)).await,
        Err(OrderingError::Refused(OrderError::Amount(_)))
    ));
    t.repair(order, done(Some(80_000))).await.unwrap();
    let view = t.view(order).await;
    assert_eq!(
        (view.status, view.estimate, view.final_amount),
        (OrderStatus::Ready, Some(won(90_000)), Some(won(80_000)))
    );
    assert_eq!(
        view.payment,
        Some(PaymentState::Authorized),
        "nothing charged before completion (F13)"
    );
    assert_eq!(t.hold(order).await.state, "authorized");

    act(&t.db, order, &OrderCommand::Collect, &t.mechanic).await.unwrap();
    let view = t.view(order).await;
    assert_eq!(
        (view.payment, view.charged, view.held),
        (Some(PaymentState::Captured), Some(won(80_000)), Some(won(100_000)))
    );
    let hold = t.hold(order).await;
    assert_eq!((hold.state.as_str(), hold.amount_won), ("captured", 80_000));
    let notes = t.notes(&t.customer).await;
    assert!(
        notes
            .iter()
            .any(|n| matches!(n, Notice::OrderAccepted { estimate: Some(e), .. } if *e == won(90_000))),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| matches!(n, Notice::ReadyForPickup { final_amount: Some(f), .. } if *f == won(80_000))),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| matches!(n, Notice::PaymentCaptured { amount, .. } if *amount == won(80_000))),
        "{notes:?}"
    );
}

#[tokio::test]
async fn a_higher_final_amount_waits_for_the_customer_whose_approval_raises_the_hold() {
    let t = town().await;
    let order = t.order(&t.customer, t.brakes, form(t.garage, "r2")).await.unwrap();
    t.repair(order, accept(Some(100_000))).await.unwrap();
    t.repair(order, done(Some(130_000))).await.unwrap();
    let view = t.view(order).await;
    assert_eq!(
        (view.status, view.proposed_amount),
        (OrderStatus::Accepted, Some(won(130_000))),
        "still repairing until the customer answers"
    );
    let shop_notes = t.notes(&t.customer).await;
    assert!(shop_notes.iter().any(|n| matches!(
        n,
        Notice::FinalAmountProposed { amount, authorized, .. } if *amount == won(130_000) && *authorized == won(100_000)
    )));

    // Only the customer, only for what was asked.
    let approve = |amount| ordering::repair::approve(&t.db, t.gateway.as_ref(), order, won(amount), &t.customer);
    assert!(matches!(
        ordering::repair::approve(&t.db, t.gateway.as_ref(), order, won(130_000), &t.mechanic).await,
        Err(OrderingError::Refused(OrderError::Forbidden(_)))
    ));
    assert!(matches!(
        ordering::repair::approve(&t.db, t.gateway.as_ref(), order, won(130_000), &t.colleague).await,
        Err(OrderingError::NotFound(_))
    ));
    assert!(matches!(
        approve(120_000).await,
        Err(OrderingError::Refused(OrderError::AmountChanged))
    ));
    assert_eq!(
        t.hold(order).await.amount_won,
        100_000,
        "a refused approval raises nothing"
    );
    // The approval without the card (the plain command path) is refused.
    assert!(act(
        &t.db,
        order,
        &OrderCommand::ApproveFinalAmount { amount: won(130_000) },
        &t.customer
    )
    .await
    .is_err());

    approve(130_000).await.unwrap();
    assert_eq!(t.hold(order).await.amount_won, 130_000);
    let view = t.view(order).await;
    assert_eq!(
        (view.status, view.proposed_amount, view.final_amount, view.held),
        (OrderStatus::Ready, None, Some(won(130_000)), Some(won(130_000)))
    );
    assert!(t
        .notes(&t.mechanic)
        .await
        .iter()
        .any(|n| matches!(n, Notice::FinalAmountApproved { amount } if *amount == won(130_000))));

    act(&t.db, order, &OrderCommand::Collect, &t.mechanic).await.unwrap();
    let view = t.view(order).await;
    assert_eq!(view.charged, Some(won(130_000)));
    assert_eq!(t.hold(order).await.state, "captured");
}

#[tokio::test]
async fn a_card_that_cannot_cover_the_higher_amount_changes_nothing_and_the_shop_finishes_within_the_hold() {
    let t = town().await;
    let order = t
        .order(
            &t.customer,
            t.brakes,
            CheckoutForm {
                card_number: test_cards::LOW_LIMIT.into(),
                ..form(t.garage, "r3")
            },
        )
        .await
        .unwrap();
    t.repair(order, accept(Some(100_000))).await.unwrap();
    t.repair(order, done(Some(120_000))).await.unwrap();
    let refused = ordering::repair::approve(&t.db, t.gateway.as_ref(), order, won(120_000), &t.customer).await;
    assert!(matches!(refused, Err(OrderingError::PaymentDeclined(_))), "{refused:?}");
    let view = t.view(order).await;
    assert_eq!(
        (view.status, view.proposed_amount),
        (OrderStatus::Accepted, Some(won(120_000)))
    );
    assert_eq!(t.hold(order).await.amount_won, 100_000);

    act(
        &t.db,
        order,
        &OrderCommand::DeclineFinalAmount { amount: won(120_000) },
        &t.customer,
    )
    .await
    .unwrap();
    assert!(t.notes(&t.mechanic).await.iter().any(|n| matches!(
        n,
        Notice::FinalAmountDeclined { amount, authorized } if *amount == won(120_000) && *authorized == won(100_000)
    )));
    assert_eq!(t.view(order).await.proposed_amount, None);
    t.repair(order, done(Some(100_000))).await.unwrap();
    assert_eq!(t.view(order).await.status, OrderStatus::Ready);
}

#[tokio::test]
async fn a_repair_is_cancelled_only_before_it_starts_and_a_car_brought_back_is_charged_on_return() {
    let t = town().await;
    let early = t.order(&t.customer, t.brakes, form(t.garage, "r4")).await.unwrap();
    act(&t.db, early, &OrderCommand::Cancel, &t.customer).await.unwrap();
    assert_eq!(t.view(early).await.payment, Some(PaymentState::Released));

    let delivered = t
        .order(
            &t.customer,
            t.brakes,
            CheckoutForm {
                fulfilment: "delivery".into(),
                delivery_type: Some("motorbike".into()),
                address: "서울 강남구 역삼로 5".into(),
                ..form(t.garage, "r5")
            },
        )
        .await
        .unwrap();
    t.repair(delivered, accept(Some(90_000))).await.unwrap();
    assert!(matches!(
        act(&t.db, delivered, &OrderCommand::Cancel, &t.customer).await,
        Err(OrderingError::Refused(OrderError::RepairStarted))
    ));
    assert_eq!(t.view(delivered).await.status, OrderStatus::Accepted);
    // The driver brings the car back; only then is the final amount charged.
    t.settle_with(true).await;
    let driver = delivery::Rider {
        id: t.driver.id,
        vehicle: domain::DeliveryType::Motorbike,
    };
    delivery::claim(&t.db, delivered, driver).await.unwrap();
    t.repair(delivered, done(Some(95_000))).await.unwrap();
    t.settle_with(true).await;
    delivery::pick_up(&t.db, delivered, driver).await.unwrap();
    t.settle_with(true).await;
    assert_eq!(t.view(delivered).await.payment, Some(PaymentState::Authorized));
    delivery::deliver(&t.db, delivered, driver).await.unwrap();
    let view = t.view(delivered).await;
    assert_eq!((view.status, view.charged), (OrderStatus::Delivered, Some(won(95_000))));
}

#[tokio::test]
async fn an_employee_pays_with_their_own_number_and_nothing_is_deducted_until_collected() {
    let t = town().await;
    let before = (t.count("orders").await, t.count("payments").await);
    cart::add(&t.db, t.customer.id, t.lunch, 1).await.unwrap();
    for number in ["SK-9999", "SK-1002"] {
        let refused = t.check_out(&t.customer, payroll(t.canteen, number, number)).await;
        match (number, refused) {
            ("SK-9999", Err(OrderingError::Rejected(Problem::UnknownEmployee { number: n })))
            | ("SK-1002", Err(OrderingError::Rejected(Problem::SomeoneElsesNumber { number: n }))) => {
                assert_eq!(n, number)
            }
            (_, other) => panic!("{number}: {other:?}"),
        }
    }
    // Payroll deduction is a canteen's, not a garage's.
    let refused = t.order(&t.customer, t.brakes, payroll(t.garage, "g", "SK-1001")).await;
    assert!(
        matches!(refused, Err(OrderingError::Rejected(Problem::NoPayroll { .. }))),
        "{refused:?}"
    );
    assert_eq!(
        (t.count("orders").await, t.count("payments").await),
        before,
        "refusals write nothing"
    );

    // The card gateway being down does not matter to the canteen.
    t.gateway.set_faults(0, 1.0);
    let order = t
        .check_out(&t.customer, payroll(t.canteen, "p1", "sk-1001"))
        .await
        .unwrap();
    assert_eq!(t.gateway.authorization_count().await, 0, "no card was asked");
    let view = t.view(order).await;
    assert_eq!(view.placed.payment_method, PaymentMethod::Payroll);
    assert_eq!(view.payment, Some(PaymentState::Authorized));
    assert_eq!(view.held_amount(), won(6_500));
    let month = domain::kst::month(db::now_ms());
    assert!(payment::payroll::statement(&t.db, t.canteen, &month)
        .await
        .unwrap()
        .lines
        .is_empty());

    act(&t.db, order, &accept_meal(), &t.cook).await.unwrap();
    act(&t.db, order, &done(None), &t.cook).await.unwrap();
    act(&t.db, order, &OrderCommand::Collect, &t.cook).await.unwrap();
    // The payroll side is down: the order is done, nothing deducted yet.
    t.settle_with(false).await;
    assert_eq!(
        views::order(&t.db, order).await.unwrap().unwrap().status,
        OrderStatus::Collected
    );
    assert!(payment::payroll::statement(&t.db, t.canteen, &month)
        .await
        .unwrap()
        .lines
        .is_empty());
    assert_eq!(t.count("payroll_deductions").await, 0);

    // It comes back and catches up from the log.
    let view = t.view(order).await;
    assert_eq!(
        (view.payment, view.charged),
        (Some(PaymentState::Captured), Some(won(6_500)))
    );
    let statement = payment::payroll::statement(&t.db, t.canteen, &month).await.unwrap();
    assert_eq!(statement.total, won(6_500));
    assert_eq!(
        statement.lines,
        vec![payment::payroll::StatementLine {
            employee_number: "SK-1001".into(),
            employee_name: "김민준".into(),
            orders: 1,
            total: won(6_500),
        }]
    );
    let notes = t.notes(&t.customer).await;
    assert!(
        notes.iter().any(|n| matches!(
            n,
            Notice::PaymentCaptured { amount, method: PaymentMethod::Payroll } if *amount == won(6_500)
        )),
        "{notes:?}"
    );
    // Replaying the deduction (a second run of the consumer) deducts once.
    t.settle_with(true).await;
    assert_eq!(t.count("payroll_deductions").await, 1);
}

#[tokio::test]
async fn a_cancelled_canteen_order_deducts_nothing() {
    let t = town().await;
    let order = t
        .order(&t.colleague, t.lunch, payroll(t.canteen, "p2", "SK-1002"))
        .await
        .unwrap();
    act(&t.db, order, &OrderCommand::Cancel, &t.colleague).await.unwrap();
    let view = t.view(order).await;
    assert_eq!(view.payment, Some(PaymentState::Released));
    assert_eq!(view.charged, None);
    assert_eq!(t.count("payroll_deductions").await, 0);
}

/// Most orders are paid by card: their completion must not cost the
/// payroll consumer a write (on SQLite, a turn of the one writer; issue 13),
/// while a payroll order's still does.
#[tokio::test]
async fn a_card_order_completed_costs_the_payroll_consumer_no_write() {
    let t = town().await;
    let stored = || async {
        sqlx::query_scalar::<_, i64>("SELECT last_seq FROM consumer_checkpoints WHERE consumer = $1")
            .bind(payment::payroll::CONSUMER)
            .fetch_one(t.db.pool())
            .await
            .unwrap()
    };
    let head = || async { eventlog::head(&t.db).await.unwrap() };
    let runner = ConsumerRunner::new(
        t.db.clone(),
        Arc::new(payment::payroll::PayrollDeductions),
        RunnerConfig::new("test"),
        Arc::default(),
    );
    let progress = runner.control();
    runner.register().await.unwrap();
    // The first step reads where it stands inside a transaction.
    while let StepOutcome::Applied(1..) = runner.step().await.unwrap() {}
    let caught_up = stored().await;
    assert_eq!(caught_up, head().await);

    let card = t.order(&t.customer, t.brakes, form(t.garage, "c9")).await.unwrap();
    act(&t.db, card, &OrderCommand::Cancel, &t.customer).await.unwrap();
    assert!(matches!(runner.step().await.unwrap(), StepOutcome::Applied(1..)));
    assert_eq!(progress.applied(), head().await, "moved past the card order's events");
    assert_eq!(stored().await, caught_up, "without a transaction");

    let meal = t
        .order(&t.colleague, t.lunch, payroll(t.canteen, "p9", "SK-1002"))
        .await
        .unwrap();
    act(&t.db, meal, &OrderCommand::Cancel, &t.colleague).await.unwrap();
    while let StepOutcome::Applied(1..) = runner.step().await.unwrap() {}
    assert!(stored().await > caught_up, "a payroll order's release is written");
    let status: String = sqlx::query_scalar("SELECT status FROM payments WHERE order_id = $1")
        .bind(meal.get())
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    assert_eq!(status, "voided");
}

fn accept_meal() -> OrderCommand {
    OrderCommand::Accept {
        prep_minutes: 10,
        estimate: None,
    }
}
