//! The delivery job against a real database (`TEST_DATABASE=sqlite|postgres`),
//! driven only by the order events the delivery context hears: no ordering
//! code runs, as it would not in production either — the context imports
//! nothing of it.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use db::Db;
use delivery::{DeliveryError, DeliveryJobs, Rider};
use domain::delivery::{JobError, JobStatus};
use domain::order::RejectReason;
use domain::shop::{OrderLine, PlacedOrder};
use domain::{DeliveryType, Event, Fulfilment, MenuItemId, Money, OrderEvent, OrderId, Role, StoreId, UserId};
use eventlog::{ConsumerRunner, RunnerConfig, StepOutcome};
use std::sync::Arc;
use tokio::sync::Notify;

const MOTO: Rider = Rider {
    id: UserId(101),
    vehicle: DeliveryType::Motorbike,
};
const MOTO_2: Rider = Rider {
    id: UserId(102),
    vehicle: DeliveryType::Motorbike,
};
const BIKE: Rider = Rider {
    id: UserId(201),
    vehicle: DeliveryType::Bicycle,
};

struct Desk {
    _t: testkit::TestDb,
    db: Db,
    next_order: i64,
}

fn placed(fulfilment: Fulfilment) -> PlacedOrder {
    let line = OrderLine {
        item: MenuItemId(1),
        name: "후라이드".into(),
        unit_price: Money::from_won(18_000).unwrap(),
        quantity: 1,
    };
    let fee = fulfilment.fee();
    PlacedOrder {
        customer: UserId(1),
        customer_name: "민준".into(),
        store: StoreId(1),
        store_name: "치킨집".into(),
        store_address: "서울 강남구 테헤란로 1".into(),
        owner: UserId(2),
        store_kind: domain::StoreKind::Restaurant,
        fulfilment,
        address: if fulfilment == Fulfilment::Pickup {
            String::new()
        } else {
            "서울 강남구 역삼로 5, 301호".into()
        },
        note: String::new(),
        lines: vec![line.clone()],
        subtotal: line.line_total(),
        fee,
        total: Money::from_won(line.line_total().won() + fee.won()).unwrap(),
        payment_method: domain::PaymentMethod::Card,
    }
}

impl Desk {
    async fn new() -> Desk {
        let t = testkit::fresh_db().await;
        let db = t.db.clone();
        Desk {
            _t: t,
            db,
            next_order: 1,
        }
    }

    /// Records what the ordering context would, then lets the delivery
    /// consumer hear it.
    async fn hear(&self, event: OrderEvent) {
        let mut tx = self.db.begin().await.unwrap();
        eventlog::append_event(&mut tx, Event::Order(event)).await.unwrap();
        tx.commit().await.unwrap();
        self.catch_up().await;
    }

    /// Runs the `delivery_jobs` consumer until it has nothing left.
    async fn catch_up(&self) {
        let runner = ConsumerRunner::new(
            self.db.clone(),
            Arc::new(DeliveryJobs::new(self.db.clone())),
            RunnerConfig::new("test"),
            Arc::new(Notify::new()),
        );
        runner.register().await.unwrap();
        while let StepOutcome::Applied(1..) = runner.step().await.unwrap() {}
        runner.release_lease().await.unwrap();
    }

    async fn place(&mut self, fulfilment: Fulfilment) -> OrderId {
        let order = OrderId(self.next_order);
        self.next_order += 1;
        self.hear(OrderEvent::OrderPlaced {
            order_id: order,
            order: Box::new(placed(fulfilment)),
        })
        .await;
        order
    }

    /// A motorbike delivery order the store has accepted: an open job.
    async fn open(&mut self) -> OrderId {
        let order = self.place(Fulfilment::Delivery(DeliveryType::Motorbike)).await;
        self.hear(OrderEvent::OrderAccepted {
            order_id: order,
            prep_minutes: 15,
            estimate: None,
        })
        .await;
        order
    }

    async fn status(&self, order: OrderId) -> JobStatus {
        delivery::job(&self.db, order).await.unwrap().expect("a job").status
    }

    async fn open_to(&self, vehicle: DeliveryType) -> Vec<OrderId> {
        delivery::open_jobs(&self.db, vehicle)
            .await
            .unwrap()
            .into_iter()
            .map(|j| j.order)
            .collect()
    }

    /// The kinds of the delivery events recorded for `order`, in order.
    async fn delivery_events(&self, order: OrderId) -> Vec<String> {
        eventlog::read_correlated(&self.db, order.get())
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind.starts_with("DeliveryJob"))
            .map(|e| e.kind)
            .collect()
    }
}

fn is_not_found(result: &Result<i64, DeliveryError>) -> bool {
    matches!(result, Err(DeliveryError::NotFound))
}

#[tokio::test]
async fn a_job_waits_until_the_store_accepts_then_opens_to_its_vehicle_type_only() {
    let mut desk = Desk::new().await;
    let order = desk.place(Fulfilment::Delivery(DeliveryType::Motorbike)).await;

    let job = delivery::job(&desk.db, order)
        .await
        .unwrap()
        .expect("a job per delivery order");
    assert_eq!(job.status, JobStatus::Waiting);
    assert_eq!(job.store_address, "서울 강남구 테헤란로 1");
    assert_eq!(job.drop_off, "서울 강남구 역삼로 5, 301호");
    assert_eq!(job.fee, DeliveryType::Motorbike.fee());
    assert!(
        desk.open_to(DeliveryType::Motorbike).await.is_empty(),
        "not before the store accepts"
    );
    assert!(is_not_found(&delivery::claim(&desk.db, order, MOTO).await));

    desk.hear(OrderEvent::OrderAccepted {
        order_id: order,
        prep_minutes: 15,
        estimate: None,
    })
    .await;
    let job = delivery::job(&desk.db, order).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Open);
    assert!(
        job.ready_by_ms.is_some(),
        "the rider sees when the food should be ready"
    );
    assert_eq!(desk.open_to(DeliveryType::Motorbike).await, vec![order]);
    assert!(desk.open_to(DeliveryType::Bicycle).await.is_empty());
    assert!(desk.open_to(DeliveryType::Walking).await.is_empty());

    // A bicycle rider can neither see nor claim it: the same answer as for
    // a job that does not exist.
    assert!(is_not_found(&delivery::claim(&desk.db, order, BIKE).await));
    assert!(is_not_found(&delivery::claim(&desk.db, OrderId(999), BIKE).await));
    assert_eq!(desk.status(order).await, JobStatus::Open);
    assert_eq!(desk.delivery_events(order).await, ["DeliveryJobOpened"]);
}

#[tokio::test]
async fn a_pickup_order_has_no_delivery_job() {
    let mut desk = Desk::new().await;
    let order = desk.place(Fulfilment::Pickup).await;
    desk.hear(OrderEvent::OrderAccepted {
        order_id: order,
        prep_minutes: 10,
        estimate: None,
    })
    .await;
    assert!(delivery::job(&desk.db, order).await.unwrap().is_none());
    assert!(desk.delivery_events(order).await.is_empty());
}

#[tokio::test]
async fn of_many_riders_claiming_one_job_at_once_exactly_one_wins() {
    let mut desk = Desk::new().await;
    let order = desk.open().await;
    let riders: Vec<Rider> = (0..8)
        .map(|i| Rider {
            id: UserId(300 + i),
            vehicle: DeliveryType::Motorbike,
        })
        .collect();

    let claims = futures::future::join_all(riders.iter().map(|r| delivery::claim(&desk.db, order, *r))).await;

    let winners: Vec<UserId> = riders
        .iter()
        .zip(&claims)
        .filter(|(_, c)| c.is_ok())
        .map(|(r, _)| r.id)
        .collect();
    assert_eq!(winners.len(), 1, "{claims:?}");
    for claim in claims.iter().filter(|c| c.is_err()) {
        // The losers are told it is taken (or, once it is, that it is no
        // longer open to them): never a storage error.
        assert!(
            matches!(
                claim,
                Err(DeliveryError::Refused(JobError::JobTaken)) | Err(DeliveryError::NotFound)
            ),
            "{claim:?}"
        );
    }
    let job = delivery::job(&desk.db, order).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Claimed);
    assert_eq!(job.rider, Some(winners[0]));
    assert_eq!(
        desk.delivery_events(order).await,
        ["DeliveryJobOpened", "DeliveryJobClaimed"]
    );
    assert!(desk.open_to(DeliveryType::Motorbike).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rider_has_one_job_on_the_go_even_when_claiming_several_at_once() {
    let mut desk = Desk::new().await;
    let mut jobs = Vec::new();
    for _ in 0..6 {
        jobs.push(desk.open().await);
    }

    let claims: Vec<_> = jobs
        .iter()
        .map(|order| {
            let (db, order) = (desk.db.clone(), *order);
            tokio::spawn(async move { delivery::claim(&db, order, MOTO).await })
        })
        .collect();
    let claims: Vec<_> = futures::future::join_all(claims)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(claims.iter().filter(|c| c.is_ok()).count(), 1, "{claims:?}");
    for lost in claims.iter().filter(|c| c.is_err()) {
        assert!(matches!(lost, Err(DeliveryError::Busy)), "{lost:?}");
    }
    assert_eq!(desk.open_to(DeliveryType::Motorbike).await.len(), 5);

    // Once delivered, the next claim goes through.
    let mine = delivery::current_job(&desk.db, MOTO.id)
        .await
        .unwrap()
        .expect("a job")
        .order;
    let other = *jobs.iter().find(|o| **o != mine).unwrap();
    desk.hear(OrderEvent::OrderReady {
        order_id: mine,
        final_amount: None,
    })
    .await;
    delivery::pick_up(&desk.db, mine, MOTO).await.unwrap();
    delivery::deliver(&desk.db, mine, MOTO).await.unwrap();
    assert!(delivery::current_job(&desk.db, MOTO.id).await.unwrap().is_none());
    delivery::claim(&desk.db, other, MOTO).await.expect("free again");
}

#[tokio::test]
async fn pick_up_waits_for_the_food_and_only_the_claimer_moves_the_job() {
    let mut desk = Desk::new().await;
    let order = desk.open().await;
    delivery::claim(&desk.db, order, MOTO).await.unwrap();

    assert!(matches!(
        delivery::pick_up(&desk.db, order, MOTO).await,
        Err(DeliveryError::Refused(JobError::NotReadyYet))
    ));
    desk.hear(OrderEvent::OrderReady {
        order_id: order,
        final_amount: None,
    })
    .await;
    assert!(is_not_found(&delivery::pick_up(&desk.db, order, MOTO_2).await));
    assert!(matches!(
        delivery::deliver(&desk.db, order, MOTO).await,
        Err(DeliveryError::Refused(JobError::NotAllowed { .. }))
    ));
    delivery::pick_up(&desk.db, order, MOTO).await.unwrap();
    assert!(is_not_found(&delivery::deliver(&desk.db, order, MOTO_2).await));
    delivery::deliver(&desk.db, order, MOTO).await.unwrap();
    assert!(delivery::deliver(&desk.db, order, MOTO).await.is_err(), "twice");

    assert_eq!(desk.status(order).await, JobStatus::Delivered);
    assert_eq!(
        desk.delivery_events(order).await,
        [
            "DeliveryJobOpened",
            "DeliveryJobClaimed",
            "DeliveryJobReady",
            "DeliveryJobPickedUp",
            "DeliveryJobDelivered"
        ]
    );
}

#[tokio::test]
async fn a_cancelled_or_rejected_order_cancels_its_job_wherever_it_was() {
    let mut desk = Desk::new().await;

    // Rejected while the job still waited for the store.
    let waiting = desk.place(Fulfilment::Delivery(DeliveryType::Motorbike)).await;
    desk.hear(OrderEvent::OrderRejected {
        order_id: waiting,
        reason: RejectReason::SoldOut,
    })
    .await;
    assert_eq!(desk.status(waiting).await, JobStatus::Cancelled);

    // Cancelled while open: it leaves the board and cannot be claimed.
    let open = desk.open().await;
    desk.hear(OrderEvent::OrderCancelled {
        order_id: open,
        by: Role::Owner,
    })
    .await;
    assert_eq!(desk.status(open).await, JobStatus::Cancelled);
    assert!(desk.open_to(DeliveryType::Motorbike).await.is_empty());
    assert!(is_not_found(&delivery::claim(&desk.db, open, MOTO).await));

    // Cancelled after a rider took it: the rider is free again.
    let claimed = desk.open().await;
    delivery::claim(&desk.db, claimed, MOTO).await.unwrap();
    desk.hear(OrderEvent::OrderCancelled {
        order_id: claimed,
        by: Role::Admin,
    })
    .await;
    assert_eq!(desk.status(claimed).await, JobStatus::Cancelled);
    assert!(delivery::current_job(&desk.db, MOTO.id).await.unwrap().is_none());
    // The rider still knows the job and is told why it cannot go on.
    assert!(matches!(
        delivery::pick_up(&desk.db, claimed, MOTO).await,
        Err(DeliveryError::Refused(JobError::NotAllowed { .. }))
    ));
    assert_eq!(
        desk.delivery_events(claimed).await,
        ["DeliveryJobOpened", "DeliveryJobClaimed", "DeliveryJobCancelled"]
    );
}

#[tokio::test]
async fn hearing_the_same_events_again_changes_nothing() {
    let mut desk = Desk::new().await;
    let order = desk.open().await;
    delivery::claim(&desk.db, order, MOTO).await.unwrap();
    let before = delivery::job(&desk.db, order).await.unwrap();
    let events_before = desk.delivery_events(order).await;

    // At-least-once delivery: the consumer is sent back to the start.
    sqlx::query("UPDATE consumer_checkpoints SET last_seq = 0 WHERE consumer = $1")
        .bind(delivery::CONSUMER)
        .execute(desk.db.pool())
        .await
        .unwrap();
    desk.catch_up().await;

    assert_eq!(delivery::job(&desk.db, order).await.unwrap(), before);
    assert_eq!(desk.delivery_events(order).await, events_before);
}
