//! Every allowed and every forbidden transition of the order state machine.

use super::*;
use crate::shop::PlacedOrder;
use crate::Money;
use proptest::prelude::*;
use OrderCommand as C;
use OrderStatus as S;

const CUSTOMER: UserId = UserId(1);
const OTHER_CUSTOMER: UserId = UserId(2);
const OWNER: UserId = UserId(10);
const STORE: StoreId = StoreId(100);
const OTHER_STORE: StoreId = StoreId(101);
const RIDER: UserId = UserId(20);
const OTHER_RIDER: UserId = UserId(21);
const ORDER: OrderId = OrderId(7);

fn order(fulfilment: Fulfilment, status: OrderStatus) -> Order {
    Order {
        id: ORDER,
        customer: CUSTOMER,
        store: STORE,
        fulfilment,
        status,
        kind: crate::StoreKind::Restaurant,
        authorized: won(30_000),
        proposed: None,
    }
}

fn won(amount: i64) -> Money {
    Money::from_won(amount).unwrap_or(Money::ZERO)
}

fn repair(status: OrderStatus) -> Order {
    Order {
        kind: crate::StoreKind::RepairShop,
        authorized: won(100_000),
        ..order(DELIVERY, status)
    }
}

const DELIVERY: Fulfilment = Fulfilment::Delivery(DeliveryType::Motorbike);

fn placed() -> Box<PlacedOrder> {
    Box::new(PlacedOrder {
        customer: CUSTOMER,
        customer_name: "민준".into(),
        store: STORE,
        store_name: "치킨집".into(),
        store_address: "서울".into(),
        owner: OWNER,
        store_kind: crate::StoreKind::Restaurant,
        fulfilment: DELIVERY,
        address: "역삼로 5".into(),
        note: String::new(),
        lines: Vec::new(),
        subtotal: Money::ZERO,
        fee: Money::ZERO,
        total: Money::ZERO,
        payment_method: crate::PaymentMethod::Card,
    })
}

fn owner() -> Actor {
    Actor::StoreOwner {
        user: OWNER,
        store: STORE,
    }
}

/// One of each command, valid in its arguments.
fn commands() -> Vec<OrderCommand> {
    vec![
        C::ConfirmPayment { placed: placed() },
        C::FailPayment {
            reason: "card declined".into(),
        },
        C::Acknowledge,
        C::Accept {
            prep_minutes: 20,
            estimate: None,
        },
        C::Reject {
            reason: RejectReason::TooBusy,
        },
        C::MarkReady { final_amount: None },
        C::ApproveFinalAmount { amount: won(1_000) },
        C::DeclineFinalAmount { amount: won(1_000) },
        C::Cancel,
        C::Collect,
        C::RecordPickUp { rider: RIDER },
        C::RecordDelivery { rider: RIDER },
    ]
}

/// The actor each command belongs to.
fn rightful_actor(command: &OrderCommand) -> Actor {
    match command {
        C::ConfirmPayment { .. } | C::FailPayment { .. } | C::RecordPickUp { .. } | C::RecordDelivery { .. } => {
            Actor::System
        }
        C::Acknowledge | C::Accept { .. } | C::Reject { .. } | C::MarkReady { .. } | C::Collect => owner(),
        C::Cancel | C::ApproveFinalAmount { .. } | C::DeclineFinalAmount { .. } => Actor::Customer(CUSTOMER),
    }
}

/// The specification: for a delivery order, the (status, command) pairs that
/// succeed and the status they lead to. Everything not listed must fail.
fn delivery_allowed(status: OrderStatus, command: &OrderCommand) -> Option<OrderStatus> {
    match (status, command) {
        (S::PaymentPending, C::ConfirmPayment { .. }) => Some(S::Placed),
        (S::PaymentPending, C::FailPayment { .. }) => Some(S::PaymentFailed),
        (S::Placed, C::Acknowledge) => Some(S::Placed),
        (S::Cancelled, C::Acknowledge) => Some(S::Cancelled),
        (S::Placed, C::Accept { .. }) => Some(S::Accepted),
        (S::Placed, C::Reject { .. }) => Some(S::Rejected),
        (S::Placed | S::Accepted, C::Cancel) => Some(S::Cancelled),
        (S::Accepted, C::MarkReady { .. }) => Some(S::Ready),
        (S::Ready, C::RecordPickUp { .. }) => Some(S::PickedUp),
        (S::PickedUp, C::RecordDelivery { .. }) => Some(S::Delivered),
        _ => None,
    }
}

/// The same for a pickup order (never a rider).
fn pickup_allowed(status: OrderStatus, command: &OrderCommand) -> Option<OrderStatus> {
    match (status, command) {
        (S::PaymentPending, C::ConfirmPayment { .. }) => Some(S::Placed),
        (S::PaymentPending, C::FailPayment { .. }) => Some(S::PaymentFailed),
        (S::Placed, C::Acknowledge) => Some(S::Placed),
        (S::Cancelled, C::Acknowledge) => Some(S::Cancelled),
        (S::Placed, C::Accept { .. }) => Some(S::Accepted),
        (S::Placed, C::Reject { .. }) => Some(S::Rejected),
        (S::Placed | S::Accepted, C::Cancel) => Some(S::Cancelled),
        (S::Accepted, C::MarkReady { .. }) => Some(S::Ready),
        (S::Ready, C::Collect) => Some(S::Collected),
        _ => None,
    }
}

#[test]
fn every_status_and_command_of_a_delivery_order_matches_the_specification() {
    let mut checked = 0;
    for status in OrderStatus::ALL {
        let o = order(DELIVERY, status);
        for command in commands() {
            let result = o.handle(&command, rightful_actor(&command));
            let expected = delivery_allowed(status, &command);
            match (expected, &result) {
                (Some(to), Ok((next, event))) => {
                    assert_eq!(next.status, to, "{status:?} + {command:?}");
                    assert_eq!(event.order_id(), ORDER);
                    assert_eq!(event.status_after().unwrap_or(status), to, "status_after agrees");
                }
                (None, Err(_)) => {}
                _ => panic!("{status:?} + {command:?}: expected {expected:?}, got {result:?}"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 10 * 12);
}

#[test]
fn every_status_and_command_of_a_pickup_order_matches_the_specification() {
    for status in OrderStatus::ALL {
        let o = order(Fulfilment::Pickup, status);
        for command in commands() {
            let result = o.handle(&command, rightful_actor(&command));
            match (pickup_allowed(status, &command), &result) {
                (Some(to), Ok((next, _))) => assert_eq!(next.status, to),
                (None, Err(_)) => {}
                (expected, _) => {
                    panic!("{status:?} + {command:?}: expected {expected:?}, got {result:?}")
                }
            }
        }
    }
}

#[test]
fn terminal_statuses_refuse_every_command_but_seeing_a_cancellation() {
    for status in OrderStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
        for fulfilment in [DELIVERY, Fulfilment::Pickup] {
            let o = order(fulfilment, status);
            for command in commands() {
                // Seeing a cancellation changes nothing but the store's alarm.
                if status == OrderStatus::Cancelled && command == C::Acknowledge {
                    continue;
                }
                assert!(
                    o.handle(&command, rightful_actor(&command)).is_err(),
                    "{status:?} + {command:?}"
                );
            }
        }
    }
}

#[test]
fn wrong_actors_are_refused_whatever_the_status() {
    let strangers = [
        Actor::System,
        Actor::Customer(OTHER_CUSTOMER),
        Actor::StoreOwner {
            user: OWNER,
            store: OTHER_STORE,
        },
        Actor::Rider {
            user: OTHER_RIDER,
            vehicle: DeliveryType::Walking,
        },
        Actor::Admin(UserId(99)),
    ];
    for status in OrderStatus::ALL {
        let o = order(DELIVERY, status);
        for command in commands() {
            for actor in strangers.iter().copied().filter(|a| *a != rightful_actor(&command)) {
                // Admins may cancel (operators resolve stuck orders); nothing else.
                if matches!((actor, &command), (Actor::Admin(_), C::Cancel)) {
                    continue;
                }
                assert!(
                    o.handle(&command, actor).is_err(),
                    "{actor:?} must not {command:?} an order that is {status:?}"
                );
            }
        }
    }
}

#[test]
fn the_customer_cannot_act_for_the_store_or_the_rider() {
    let o = order(DELIVERY, S::Placed);
    let as_customer = Actor::Customer(CUSTOMER);
    for command in [
        C::Accept {
            prep_minutes: 10,
            estimate: None,
        },
        C::MarkReady { final_amount: None },
        C::Acknowledge,
        C::RecordPickUp { rider: RIDER },
        C::ConfirmPayment { placed: placed() },
    ] {
        assert!(
            matches!(o.handle(&command, as_customer), Err(OrderError::Forbidden(_))),
            "{command:?}"
        );
    }
}

#[test]
fn cancel_after_ready_says_it_is_too_late() {
    for status in [S::Ready, S::PickedUp] {
        let o = order(DELIVERY, status);
        assert_eq!(
            o.handle(&C::Cancel, Actor::Customer(CUSTOMER)).err(),
            Some(OrderError::TooLateToCancel)
        );
    }
    let err = OrderError::TooLateToCancel.to_string();
    assert!(err.contains("can no longer be cancelled"), "{err}");
}

#[test]
fn another_customer_cannot_cancel() {
    let o = order(DELIVERY, S::Placed);
    assert!(matches!(
        o.handle(&C::Cancel, Actor::Customer(OTHER_CUSTOMER)),
        Err(OrderError::Forbidden(_))
    ));
}

#[test]
fn riders_act_on_the_job_and_the_order_follows_it() {
    let rider = Actor::Rider {
        user: RIDER,
        vehicle: DeliveryType::Motorbike,
    };
    let ready = order(DELIVERY, S::Ready);
    assert!(matches!(
        ready.handle(&C::RecordPickUp { rider: RIDER }, rider),
        Err(OrderError::Forbidden(_))
    ));
    let (picked, event) = ready
        .handle(&C::RecordPickUp { rider: RIDER }, Actor::System)
        .expect("the job's pick-up");
    assert_eq!(
        event,
        OrderEvent::OrderPickedUp {
            order_id: ORDER,
            rider: RIDER
        }
    );
    let (delivered, _) = picked
        .handle(&C::RecordDelivery { rider: RIDER }, Actor::System)
        .expect("the job's delivery");
    assert_eq!(delivered.status, S::Delivered);
}

#[test]
fn pickup_orders_have_no_rider_and_delivery_orders_are_not_collected() {
    let pickup = order(Fulfilment::Pickup, S::Ready);
    assert_eq!(
        pickup.handle(&C::RecordPickUp { rider: RIDER }, Actor::System).err(),
        Some(OrderError::NotADeliveryOrder)
    );
    let delivery = order(DELIVERY, S::Ready);
    assert_eq!(
        delivery.handle(&C::Collect, owner()).err(),
        Some(OrderError::NotAPickupOrder)
    );
}

#[test]
fn an_acknowledgement_names_the_owner_and_changes_no_status() {
    let placed_order = order(DELIVERY, S::Placed);
    let (same, event) = placed_order.handle(&C::Acknowledge, owner()).expect("ack");
    assert_eq!(same, placed_order);
    assert_eq!(
        event,
        OrderEvent::OrderAcknowledged {
            order_id: ORDER,
            by: OWNER
        }
    );
    assert!(order(DELIVERY, S::Accepted).handle(&C::Acknowledge, owner()).is_err());
}

#[test]
fn prep_minutes_out_of_range_are_refused() {
    let o = order(DELIVERY, S::Placed);
    for minutes in [0, 181, u16::MAX] {
        let accept = C::Accept {
            prep_minutes: minutes,
            estimate: None,
        };
        assert_eq!(o.handle(&accept, owner()).err(), Some(OrderError::InvalidPrepMinutes));
    }
    let accept = C::Accept {
        prep_minutes: 180,
        estimate: None,
    };
    assert!(o.handle(&accept, owner()).is_ok());
}

#[test]
fn reject_reasons_in_free_text_are_validated() {
    let o = order(DELIVERY, S::Placed);
    let blank = C::Reject {
        reason: RejectReason::Other("   ".into()),
    };
    assert!(matches!(o.handle(&blank, owner()), Err(OrderError::InvalidText(_))));
    let long = C::Reject {
        reason: RejectReason::Other("x".repeat(201)),
    };
    assert!(matches!(o.handle(&long, owner()), Err(OrderError::InvalidText(_))));
    let fine = C::Reject {
        reason: RejectReason::Other("  가스 점검 중  ".into()),
    };
    let (_, event) = o.handle(&fine, owner()).expect("valid reason");
    assert_eq!(
        event,
        OrderEvent::OrderRejected {
            order_id: ORDER,
            reason: RejectReason::Other("가스 점검 중".into())
        }
    );
}

#[test]
fn error_messages_name_the_action_and_status() {
    let o = order(DELIVERY, S::Cancelled);
    let accept = C::Accept {
        prep_minutes: 10,
        estimate: None,
    };
    let err = o.handle(&accept, owner()).err().map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some("cannot accept an order that is cancelled"));
}

#[test]
fn events_serialise_with_their_kind_and_order_id() {
    let event = OrderEvent::OrderAccepted {
        order_id: ORDER,
        prep_minutes: 25,
        estimate: None,
    };
    let json = serde_json::to_value(&event).expect("serialise");
    assert_eq!(
        json,
        serde_json::json!({"type": "OrderAccepted", "order_id": 7, "prep_minutes": 25})
    );
    assert_eq!(json["type"], event.kind());
    // Logs written before estimates and final amounts still read.
    let old: OrderEvent =
        serde_json::from_value(serde_json::json!({"type": "OrderReady", "order_id": 7})).expect("old");
    assert_eq!(
        old,
        OrderEvent::OrderReady {
            order_id: ORDER,
            final_amount: None
        }
    );
}

// ---- the repair shop (seed 001) --------------------------------------------

#[test]
fn a_repair_is_accepted_with_an_estimate_and_done_with_its_final_amount() {
    let accept = |estimate| C::Accept {
        prep_minutes: 60,
        estimate,
    };
    let placed_repair = repair(S::Placed);
    assert!(matches!(
        placed_repair.handle(&accept(None), owner()),
        Err(OrderError::Amount(_))
    ));
    assert!(matches!(
        placed_repair.handle(&accept(Some(Money::ZERO)), owner()),
        Err(OrderError::Amount(_))
    ));
    assert!(matches!(
        placed_repair.handle(&accept(Some(won(crate::limits::MAX_REPAIR_WON + 1))), owner()),
        Err(OrderError::Amount(_))
    ));
    let (repairing, event) = placed_repair
        .handle(&accept(Some(won(90_000))), owner())
        .expect("accepted");
    assert_eq!(
        event,
        OrderEvent::OrderAccepted {
            order_id: ORDER,
            prep_minutes: 60,
            estimate: Some(won(90_000))
        }
    );
    // Within what the card holds: done at once.
    assert!(matches!(
        repairing.handle(&C::MarkReady { final_amount: None }, owner()),
        Err(OrderError::Amount(_))
    ));
    let (done, event) = repairing
        .handle(
            &C::MarkReady {
                final_amount: Some(won(80_000)),
            },
            owner(),
        )
        .expect("done");
    assert_eq!(done.status, S::Ready);
    assert_eq!(
        event,
        OrderEvent::OrderReady {
            order_id: ORDER,
            final_amount: Some(won(80_000))
        }
    );
    // Other stores give neither.
    let restaurant = order(DELIVERY, S::Placed);
    assert!(matches!(
        restaurant.handle(&accept(Some(won(1_000))), owner()),
        Err(OrderError::Amount(_))
    ));
}

#[test]
fn a_final_amount_above_the_hold_waits_for_the_customer_who_approves_or_declines() {
    let repairing = repair(S::Accepted);
    let higher = C::MarkReady {
        final_amount: Some(won(130_000)),
    };
    let (asking, event) = repairing.handle(&higher, owner()).expect("proposed");
    assert_eq!(asking.status, S::Accepted, "still repairing until approved");
    assert_eq!(asking.proposed, Some(won(130_000)));
    assert_eq!(
        event,
        OrderEvent::FinalAmountProposed {
            order_id: ORDER,
            amount: won(130_000),
            authorized: won(100_000)
        }
    );
    let customer = Actor::Customer(CUSTOMER);
    // Only the customer answers, and only for the amount asked.
    assert!(matches!(
        asking.handle(&C::ApproveFinalAmount { amount: won(130_000) }, owner()),
        Err(OrderError::Forbidden(_))
    ));
    assert!(matches!(
        asking.handle(
            &C::ApproveFinalAmount { amount: won(130_000) },
            Actor::Customer(OTHER_CUSTOMER)
        ),
        Err(OrderError::Forbidden(_))
    ));
    assert_eq!(
        asking
            .handle(&C::ApproveFinalAmount { amount: won(120_000) }, customer)
            .err(),
        Some(OrderError::AmountChanged)
    );
    let (approved, _) = asking
        .handle(&C::ApproveFinalAmount { amount: won(130_000) }, customer)
        .expect("approved");
    assert_eq!(
        (approved.status, approved.authorized, approved.proposed),
        (S::Ready, won(130_000), None)
    );

    let (declined, event) = asking
        .handle(&C::DeclineFinalAmount { amount: won(130_000) }, customer)
        .expect("declined");
    assert_eq!((declined.status, declined.proposed), (S::Accepted, None));
    assert_eq!(event.status_after(), None);
    // Nothing is waiting any more: neither answer applies.
    assert_eq!(
        declined
            .handle(&C::ApproveFinalAmount { amount: won(130_000) }, customer)
            .err(),
        Some(OrderError::AmountChanged)
    );
    // The shop finishes within the hold after all.
    let (done, _) = declined
        .handle(
            &C::MarkReady {
                final_amount: Some(won(100_000)),
            },
            owner(),
        )
        .expect("done at the held amount");
    assert_eq!(done.status, S::Ready);
}

#[test]
fn a_repair_can_be_cancelled_only_before_it_starts() {
    let customer = Actor::Customer(CUSTOMER);
    assert!(repair(S::Placed).handle(&C::Cancel, customer).is_ok());
    assert_eq!(
        repair(S::Accepted).handle(&C::Cancel, customer).err(),
        Some(OrderError::RepairStarted)
    );
    assert!(
        order(DELIVERY, S::Accepted).handle(&C::Cancel, customer).is_ok(),
        "a kitchen may still be cancelled while cooking"
    );
}

// ---- property tests -------------------------------------------------------

/// All edges of the lifecycle graph, including the acknowledgement that
/// keeps the status.
fn is_edge(from: OrderStatus, to: OrderStatus) -> bool {
    matches!(
        (from, to),
        (S::PaymentPending, S::Placed | S::PaymentFailed)
            | (S::Placed, S::Accepted | S::Rejected | S::Cancelled | S::Placed)
            // A repair's final amount asked for or declined keeps it repairing.
            | (S::Accepted, S::Ready | S::Cancelled | S::Accepted)
            | (S::Cancelled, S::Cancelled)
            | (S::Ready, S::PickedUp | S::Collected)
            | (S::PickedUp, S::Delivered)
    )
}

fn any_command() -> impl Strategy<Value = OrderCommand> {
    prop_oneof![
        Just(C::ConfirmPayment { placed: placed() }),
        Just(C::Acknowledge),
        "[a-z ]{0,10}".prop_map(|reason| C::FailPayment { reason }),
        (0u16..200, proptest::option::of(0i64..200_000)).prop_map(|(prep_minutes, estimate)| C::Accept {
            prep_minutes,
            estimate: estimate.map(won)
        }),
        Just(C::Reject {
            reason: RejectReason::SoldOut
        }),
        ".{0,3}".prop_map(|t| C::Reject {
            reason: RejectReason::Other(t)
        }),
        proptest::option::of(0i64..200_000).prop_map(|amount| C::MarkReady {
            final_amount: amount.map(won)
        }),
        (0i64..200_000).prop_map(|amount| C::ApproveFinalAmount { amount: won(amount) }),
        (0i64..200_000).prop_map(|amount| C::DeclineFinalAmount { amount: won(amount) }),
        Just(C::Cancel),
        prop_oneof![Just(RIDER), Just(OTHER_RIDER)].prop_map(|rider| C::RecordPickUp { rider }),
        prop_oneof![Just(RIDER), Just(OTHER_RIDER)].prop_map(|rider| C::RecordDelivery { rider }),
        Just(C::Collect),
    ]
}

fn any_actor() -> impl Strategy<Value = Actor> {
    let vehicle = prop_oneof![
        Just(DeliveryType::Walking),
        Just(DeliveryType::Bicycle),
        Just(DeliveryType::Motorbike)
    ];
    prop_oneof![
        Just(Actor::System),
        prop_oneof![Just(CUSTOMER), Just(OTHER_CUSTOMER)].prop_map(Actor::Customer),
        prop_oneof![Just(STORE), Just(OTHER_STORE)].prop_map(|store| Actor::StoreOwner { user: OWNER, store }),
        (prop_oneof![Just(RIDER), Just(OTHER_RIDER)], vehicle)
            .prop_map(|(user, vehicle)| Actor::Rider { user, vehicle }),
        Just(Actor::Admin(UserId(99))),
    ]
}

fn any_fulfilment() -> impl Strategy<Value = Fulfilment> {
    prop_oneof![
        Just(Fulfilment::Pickup),
        Just(Fulfilment::Delivery(DeliveryType::Walking)),
        Just(Fulfilment::Delivery(DeliveryType::Bicycle)),
        Just(Fulfilment::Delivery(DeliveryType::Motorbike)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// No sequence of commands, by anyone, reaches an invalid state.
    #[test]
    fn no_sequence_of_commands_reaches_an_invalid_state(
        fulfilment in any_fulfilment(),
        repair_shop in any::<bool>(),
        steps in proptest::collection::vec((any_command(), any_actor()), 0..40),
    ) {
        let mut placed = placed();
        placed.fulfilment = fulfilment;
        placed.total = won(100_000);
        if repair_shop {
            placed.store_kind = crate::StoreKind::RepairShop;
        }
        let start = Order::new_pending(ORDER, &placed);
        let mut current = start.clone();
        let mut history = Vec::new();
        for (command, actor) in steps {
            let before = current.clone();
            match current.handle(&command, actor) {
                Ok((next, event)) => {
                    let seen = matches!(event, OrderEvent::OrderAcknowledged { .. });
                    prop_assert!(!before.status.is_terminal() || seen, "a terminal order changed");
                    prop_assert!(is_edge(before.status, next.status), "{:?} -> {:?}", before.status, next.status);
                    prop_assert_eq!(event.order_id(), ORDER);
                    prop_assert_eq!(&before.evolve(&event), &next);
                    // Identity never changes.
                    prop_assert_eq!((next.id, next.customer, next.store, next.fulfilment, next.kind),
                                    (before.id, before.customer, before.store, before.fulfilment, before.kind));
                    // The held amount only grows, by the customer's approval.
                    prop_assert!(next.authorized >= before.authorized);
                    history.push(event);
                    current = next;
                }
                Err(_) => prop_assert_eq!(&current, &before),
            }
            // Invariants of every reachable state.
            prop_assert!(current.proposed.is_none() || current.status == S::Accepted);
            match current.status {
                S::PickedUp | S::Delivered => prop_assert!(current.fulfilment.delivery_type().is_some()),
                S::Collected => prop_assert_eq!(current.fulfilment, Fulfilment::Pickup),
                _ => {}
            }
        }
        // Folding the recorded events over the start gives the same state.
        let replayed = history.iter().fold(start, |o, e| o.evolve(e));
        prop_assert_eq!(replayed, current);
    }
}
