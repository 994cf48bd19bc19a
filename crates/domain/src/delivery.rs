//! The delivery job (requirements F2, F6, F7; seeds 000 and 004): the
//! delivery context's aggregate, apart from the order.
//!
//! ```text
//! (order placed) Waiting ─open─► Open ─claim─► Claimed ─pick up─► PickedUp ─deliver─► Delivered
//!                   │              │              │
//!                   └──────────────┴──cancel──────┴─► Cancelled
//! ```
//!
//! A delivery order's job waits while the store decides, opens to riders of
//! the order's vehicle type when the store accepts ("상점주인이 주문을 승인하면
//! 배달되어질 정보를 Order에서 가져와 저장한다", seed 000), is claimed by the
//! first rider who asks, is picked up once the food is ready, and delivered.
//! When the order is rejected or cancelled the job is cancelled ("주문이
//! 취소되면 배달이 취소된다", seed 004). The order follows the job: picked up
//! and delivered are recorded on the order from the job's events.
//!
//! Like [`crate::order`], pure: [`DeliveryJob::handle`] decides, the delivery
//! context stores the new state and the event together.

use crate::{DeliveryType, Money, OrderId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a delivery job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// The order is placed; the store has not accepted it. Not offered to riders.
    Waiting,
    /// Offered to riders of the order's vehicle type (F2).
    Open,
    /// A rider took it; they head to the store.
    Claimed,
    /// The rider has the food.
    PickedUp,
    /// Handed over. Terminal.
    Delivered,
    /// The order was rejected or cancelled. Terminal.
    Cancelled,
}

impl JobStatus {
    /// Every status, in order.
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Waiting,
        JobStatus::Open,
        JobStatus::Claimed,
        JobStatus::PickedUp,
        JobStatus::Delivered,
        JobStatus::Cancelled,
    ];

    /// The stable machine name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Waiting => "waiting",
            JobStatus::Open => "open",
            JobStatus::Claimed => "claimed",
            JobStatus::PickedUp => "picked_up",
            JobStatus::Delivered => "delivered",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// No command changes a job in a terminal status.
    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Delivered | JobStatus::Cancelled)
    }

    /// A rider has it and has not handed it over: their current job.
    pub fn is_on_the_go(self) -> bool {
        matches!(self, JobStatus::Claimed | JobStatus::PickedUp)
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for JobStatus {
    type Err = crate::kinds::UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|j| j.as_str() == s)
            .ok_or_else(|| crate::kinds::UnknownName {
                what: "delivery job status",
                given: s.chars().take(40).collect(),
                expected: "waiting open claimed picked_up delivered cancelled",
            })
    }
}

/// Something asked of a job: by the platform, following the order, or by a rider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum JobCommand {
    /// The store accepted the order: offer the job (system).
    Open,
    /// The store finished preparing: the rider may pick it up (system).
    FoodReady,
    /// The order was rejected or cancelled (system).
    Cancel,
    /// A rider takes the job; the first claim wins (F2, F6).
    Claim,
    /// The rider who took it has the food.
    PickUp,
    /// The rider who took it handed it over.
    Deliver,
}

impl JobCommand {
    /// The command's stable name (`claim`, `pick_up`, …): what a refusal
    /// names, for the screens to put in words.
    pub fn name(self) -> &'static str {
        match self {
            JobCommand::Open => "open",
            JobCommand::FoodReady => "food_ready",
            JobCommand::Cancel => "cancel",
            JobCommand::Claim => "claim",
            JobCommand::PickUp => "pick_up",
            JobCommand::Deliver => "deliver",
        }
    }
}

/// Who alone may do what another was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobActorKind {
    /// The platform, following the order.
    Platform,
    /// A rider.
    Rider,
}

/// Who acts on a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobActor {
    /// The platform, following the order's events.
    System,
    /// A rider with their registered vehicle.
    Rider {
        /// The rider.
        user: UserId,
        /// Their vehicle (F2).
        vehicle: DeliveryType,
    },
}

/// Why a job command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum JobError {
    /// The command does not apply in the job's status.
    #[error("cannot {command} a job that is {status}")]
    NotAllowed {
        /// The command's name ([`JobCommand::name`]).
        command: String,
        /// The job's status.
        status: JobStatus,
    },
    /// Another rider took it first.
    #[error("another rider has already taken this job")]
    JobTaken,
    /// The job is someone else's (or nobody's yet).
    #[error("this delivery job is not assigned to you")]
    NotYourJob,
    /// A rider of another vehicle type (F2). Riders never see such jobs;
    /// this is the aggregate's own guard.
    #[error("this job is for {job} delivery; you are registered with a {rider}")]
    WrongVehicle {
        /// The job's vehicle type.
        job: DeliveryType,
        /// The rider's.
        rider: DeliveryType,
    },
    /// Picked up before the store finished preparing.
    #[error("the store is still preparing this order; pick it up once it is ready")]
    NotReadyYet,
    /// Only the platform opens, readies and cancels jobs; only riders take them.
    #[error("only {0:?} may do that")]
    Forbidden(JobActorKind),
}

/// What happened to a delivery job. Each carries the order id: one job per
/// delivery order, and the order's id is the correlation id (N5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum DeliveryEvent {
    /// Offered to riders of `vehicle`.
    DeliveryJobOpened {
        /// The order.
        order_id: OrderId,
        /// The vehicle type the customer chose (F2).
        vehicle: DeliveryType,
    },
    /// The food is ready to be picked up.
    DeliveryJobReady {
        /// The order.
        order_id: OrderId,
    },
    /// A rider took it.
    DeliveryJobClaimed {
        /// The order.
        order_id: OrderId,
        /// The rider.
        rider: UserId,
    },
    /// The rider has the food.
    DeliveryJobPickedUp {
        /// The order.
        order_id: OrderId,
        /// The rider.
        rider: UserId,
    },
    /// The rider handed it over.
    DeliveryJobDelivered {
        /// The order.
        order_id: OrderId,
        /// The rider.
        rider: UserId,
    },
    /// The order was rejected or cancelled; so is the job.
    DeliveryJobCancelled {
        /// The order.
        order_id: OrderId,
        /// The rider who had taken it, who must not go to the store.
        rider: Option<UserId>,
    },
}

impl DeliveryEvent {
    /// The order the job is for.
    pub fn order_id(&self) -> OrderId {
        match self {
            DeliveryEvent::DeliveryJobOpened { order_id, .. }
            | DeliveryEvent::DeliveryJobReady { order_id }
            | DeliveryEvent::DeliveryJobClaimed { order_id, .. }
            | DeliveryEvent::DeliveryJobPickedUp { order_id, .. }
            | DeliveryEvent::DeliveryJobDelivered { order_id, .. }
            | DeliveryEvent::DeliveryJobCancelled { order_id, .. } => *order_id,
        }
    }

    /// The event's kind as stored in the event log.
    pub fn kind(&self) -> &'static str {
        match self {
            DeliveryEvent::DeliveryJobOpened { .. } => "DeliveryJobOpened",
            DeliveryEvent::DeliveryJobReady { .. } => "DeliveryJobReady",
            DeliveryEvent::DeliveryJobClaimed { .. } => "DeliveryJobClaimed",
            DeliveryEvent::DeliveryJobPickedUp { .. } => "DeliveryJobPickedUp",
            DeliveryEvent::DeliveryJobDelivered { .. } => "DeliveryJobDelivered",
            DeliveryEvent::DeliveryJobCancelled { .. } => "DeliveryJobCancelled",
        }
    }
}

/// The delivery job aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryJob {
    /// The order it delivers.
    pub order: OrderId,
    /// The vehicle type the customer chose (F2).
    pub vehicle: DeliveryType,
    /// Where it is.
    pub status: JobStatus,
    /// The rider who took it.
    pub rider: Option<UserId>,
    /// The store has finished preparing.
    pub food_ready: bool,
}

impl DeliveryJob {
    /// The job of a delivery order just placed: waiting for the store.
    pub fn waiting(order: OrderId, vehicle: DeliveryType) -> DeliveryJob {
        DeliveryJob {
            order,
            vehicle,
            status: JobStatus::Waiting,
            rider: None,
            food_ready: false,
        }
    }

    /// Decides and applies `command` by `actor`: the new state and its event.
    pub fn handle(&self, command: JobCommand, actor: JobActor) -> Result<(DeliveryJob, DeliveryEvent), JobError> {
        let event = self.decide(command, actor)?;
        Ok((self.evolve(&event), event))
    }

    /// Decides whether `actor` may apply `command` now, and what event it causes.
    pub fn decide(&self, command: JobCommand, actor: JobActor) -> Result<DeliveryEvent, JobError> {
        use JobCommand as C;
        use JobStatus as S;
        let order_id = self.order;
        let not_allowed = || JobError::NotAllowed {
            command: command.name().into(),
            status: self.status,
        };
        let rider = match (command, actor) {
            (C::Open | C::FoodReady | C::Cancel, JobActor::System) => None,
            (C::Open | C::FoodReady | C::Cancel, JobActor::Rider { .. }) => {
                return Err(JobError::Forbidden(JobActorKind::Platform))
            }
            (C::Claim | C::PickUp | C::Deliver, JobActor::System) => {
                return Err(JobError::Forbidden(JobActorKind::Rider))
            }
            (_, JobActor::Rider { user, vehicle }) => {
                if vehicle != self.vehicle {
                    return Err(JobError::WrongVehicle {
                        job: self.vehicle,
                        rider: vehicle,
                    });
                }
                Some(user)
            }
        };
        let mine = |rider: Option<UserId>| match (rider, self.rider) {
            (Some(me), Some(holder)) if me == holder => Ok(me),
            _ => Err(JobError::NotYourJob),
        };
        match (command, self.status) {
            (C::Open, S::Waiting) => Ok(DeliveryEvent::DeliveryJobOpened {
                order_id,
                vehicle: self.vehicle,
            }),
            (C::FoodReady, S::Open | S::Claimed) if !self.food_ready => {
                Ok(DeliveryEvent::DeliveryJobReady { order_id })
            }
            (C::Cancel, S::Waiting | S::Open | S::Claimed) => Ok(DeliveryEvent::DeliveryJobCancelled {
                order_id,
                rider: self.rider,
            }),
            (C::Claim, S::Open) => Ok(DeliveryEvent::DeliveryJobClaimed {
                order_id,
                rider: rider.ok_or_else(not_allowed)?,
            }),
            (C::Claim, S::Claimed | S::PickedUp | S::Delivered) => Err(JobError::JobTaken),
            (C::PickUp, S::Claimed) => {
                let rider = mine(rider)?;
                if !self.food_ready {
                    return Err(JobError::NotReadyYet);
                }
                Ok(DeliveryEvent::DeliveryJobPickedUp { order_id, rider })
            }
            (C::Deliver, S::PickedUp) => Ok(DeliveryEvent::DeliveryJobDelivered {
                order_id,
                rider: mine(rider)?,
            }),
            (C::PickUp | C::Deliver, S::Open) => Err(JobError::NotYourJob),
            _ => Err(not_allowed()),
        }
    }

    /// Applies an event and returns the resulting state; folding a job's
    /// events over [`DeliveryJob::waiting`] gives its current state.
    pub fn evolve(&self, event: &DeliveryEvent) -> DeliveryJob {
        let mut next = self.clone();
        match event {
            DeliveryEvent::DeliveryJobOpened { .. } => next.status = JobStatus::Open,
            DeliveryEvent::DeliveryJobReady { .. } => next.food_ready = true,
            DeliveryEvent::DeliveryJobClaimed { rider, .. } => {
                next.status = JobStatus::Claimed;
                next.rider = Some(*rider);
            }
            DeliveryEvent::DeliveryJobPickedUp { .. } => next.status = JobStatus::PickedUp,
            DeliveryEvent::DeliveryJobDelivered { .. } => next.status = JobStatus::Delivered,
            DeliveryEvent::DeliveryJobCancelled { .. } => next.status = JobStatus::Cancelled,
        }
        next
    }
}

/// A delivery job as a rider's board shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    /// The order it delivers.
    pub order: OrderId,
    /// Where the job is.
    pub status: JobStatus,
    /// The store has finished preparing.
    pub food_ready: bool,
    /// The vehicle type it needs.
    pub vehicle: DeliveryType,
    /// The rider who took it.
    pub rider: Option<UserId>,
    /// Where to pick it up: the store's name.
    pub store_name: String,
    /// What kind of business the store is, for what the rider carries
    /// (issue 11: a repair shop's driver brings a car back).
    pub store_kind: crate::StoreKind,
    /// And its address.
    pub store_address: String,
    /// Where to take it.
    pub drop_off: String,
    /// The delivery fee the customer paid, in won.
    pub fee: Money,
    /// When the store expects it ready (unix milliseconds), once accepted.
    pub ready_by_ms: Option<i64>,
}

impl JobView {
    /// The aggregate behind the view, to decide a command on.
    pub fn job(&self) -> DeliveryJob {
        DeliveryJob {
            order: self.order,
            vehicle: self.vehicle,
            status: self.status,
            rider: self.rider,
            food_ready: self.food_ready,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use JobCommand as C;
    use JobStatus as S;

    const ORDER: OrderId = OrderId(7);
    const RIDER: UserId = UserId(20);
    const OTHER_RIDER: UserId = UserId(21);

    fn job(status: JobStatus, rider: Option<UserId>, food_ready: bool) -> DeliveryJob {
        DeliveryJob {
            order: ORDER,
            vehicle: DeliveryType::Motorbike,
            status,
            rider,
            food_ready,
        }
    }

    fn moto(user: UserId) -> JobActor {
        JobActor::Rider {
            user,
            vehicle: DeliveryType::Motorbike,
        }
    }

    fn rightful(command: JobCommand) -> JobActor {
        match command {
            C::Open | C::FoodReady | C::Cancel => JobActor::System,
            C::Claim | C::PickUp | C::Deliver => moto(RIDER),
        }
    }

    const COMMANDS: [JobCommand; 6] = [C::Open, C::FoodReady, C::Cancel, C::Claim, C::PickUp, C::Deliver];

    /// The specification: (status, claimed by RIDER?, food ready?, command)
    /// that succeed, and the status they lead to. Everything else fails.
    fn allowed(status: JobStatus, mine: bool, ready: bool, command: JobCommand) -> Option<JobStatus> {
        match (status, mine, ready, command) {
            (S::Waiting, _, _, C::Open) => Some(S::Open),
            (S::Open | S::Claimed, _, false, C::FoodReady) => Some(status),
            (S::Waiting | S::Open | S::Claimed, _, _, C::Cancel) => Some(S::Cancelled),
            (S::Open, _, _, C::Claim) => Some(S::Claimed),
            (S::Claimed, true, true, C::PickUp) => Some(S::PickedUp),
            (S::PickedUp, true, _, C::Deliver) => Some(S::Delivered),
            _ => None,
        }
    }

    #[test]
    fn every_status_and_command_matches_the_specification() {
        let mut checked = 0;
        for status in JobStatus::ALL {
            for mine in [false, true] {
                for ready in [false, true] {
                    let rider = (mine || status.is_on_the_go() || status == S::Delivered).then_some(if mine {
                        RIDER
                    } else {
                        OTHER_RIDER
                    });
                    let j = job(status, rider, ready);
                    for command in COMMANDS {
                        let result = j.handle(command, rightful(command));
                        match (allowed(status, rider == Some(RIDER), ready, command), &result) {
                            (Some(to), Ok((next, event))) => {
                                assert_eq!(next.status, to, "{status:?} + {command:?}");
                                assert_eq!(event.order_id(), ORDER);
                            }
                            (None, Err(_)) => {}
                            (expected, _) => panic!(
                                "{status:?} (mine {mine}, ready {ready}) + {command:?}: expected {expected:?}, got {result:?}"
                            ),
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 6 * 2 * 2 * 6);
    }

    #[test]
    fn the_first_claim_wins_and_the_second_is_told_the_job_is_taken() {
        let open = job(S::Open, None, false);
        let (claimed, event) = open.handle(C::Claim, moto(RIDER)).expect("first claim");
        assert_eq!(
            event,
            DeliveryEvent::DeliveryJobClaimed {
                order_id: ORDER,
                rider: RIDER
            }
        );
        assert_eq!(
            claimed.handle(C::Claim, moto(OTHER_RIDER)).err(),
            Some(JobError::JobTaken)
        );
        let ready = claimed.handle(C::FoodReady, JobActor::System).expect("ready").0;
        assert_eq!(
            ready.handle(C::PickUp, moto(OTHER_RIDER)).err(),
            Some(JobError::NotYourJob)
        );
    }

    #[test]
    fn riders_of_another_vehicle_and_the_platform_cannot_take_jobs() {
        let open = job(S::Open, None, true);
        let walker = JobActor::Rider {
            user: OTHER_RIDER,
            vehicle: DeliveryType::Walking,
        };
        assert_eq!(
            open.handle(C::Claim, walker).err(),
            Some(JobError::WrongVehicle {
                job: DeliveryType::Motorbike,
                rider: DeliveryType::Walking
            })
        );
        assert!(matches!(
            open.handle(C::Claim, JobActor::System),
            Err(JobError::Forbidden(_))
        ));
        assert!(matches!(
            open.handle(C::Cancel, moto(RIDER)),
            Err(JobError::Forbidden(_))
        ));
    }

    #[test]
    fn the_food_must_be_ready_before_pick_up() {
        let claimed = job(S::Claimed, Some(RIDER), false);
        assert_eq!(
            claimed.handle(C::PickUp, moto(RIDER)).err(),
            Some(JobError::NotReadyYet)
        );
        let ready = claimed.handle(C::FoodReady, JobActor::System).expect("ready").0;
        assert_eq!(
            ready.handle(C::PickUp, moto(RIDER)).expect("pick up").0.status,
            S::PickedUp
        );
    }

    #[test]
    fn a_cancelled_job_tells_who_had_it() {
        let claimed = job(S::Claimed, Some(RIDER), false);
        let (_, event) = claimed.handle(C::Cancel, JobActor::System).expect("cancel");
        assert_eq!(
            event,
            DeliveryEvent::DeliveryJobCancelled {
                order_id: ORDER,
                rider: Some(RIDER)
            }
        );
        for status in [S::PickedUp, S::Delivered, S::Cancelled] {
            assert!(job(status, Some(RIDER), true)
                .handle(C::Cancel, JobActor::System)
                .is_err());
        }
    }

    fn any_command() -> impl Strategy<Value = JobCommand> {
        proptest::sample::select(COMMANDS.to_vec())
    }

    fn any_actor() -> impl Strategy<Value = JobActor> {
        let vehicle = proptest::sample::select(DeliveryType::ALL.to_vec());
        prop_oneof![
            Just(JobActor::System),
            (prop_oneof![Just(RIDER), Just(OTHER_RIDER)], vehicle)
                .prop_map(|(user, vehicle)| JobActor::Rider { user, vehicle }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// No sequence of commands, by anyone, breaks a job's invariants.
        #[test]
        fn no_sequence_of_commands_breaks_a_job(steps in proptest::collection::vec((any_command(), any_actor()), 0..30)) {
            let start = DeliveryJob::waiting(ORDER, DeliveryType::Motorbike);
            let mut current = start.clone();
            let mut history = Vec::new();
            for (command, actor) in steps {
                let before = current.clone();
                match current.handle(command, actor) {
                    Ok((next, event)) => {
                        prop_assert!(!before.status.is_terminal());
                        prop_assert_eq!(&before.evolve(&event), &next);
                        if before.rider.is_some() {
                            prop_assert_eq!(before.rider, next.rider, "a rider is never replaced");
                        }
                        history.push(event);
                        current = next;
                    }
                    Err(_) => prop_assert_eq!(&current, &before),
                }
                if matches!(current.status, S::Claimed | S::PickedUp | S::Delivered) {
                    prop_assert!(current.rider.is_some());
                }
                if matches!(current.status, S::PickedUp | S::Delivered) {
                    prop_assert!(current.food_ready, "never picked up before the food was ready");
                }
            }
            let replayed = history.iter().fold(start, |j, e| j.evolve(e));
            prop_assert_eq!(replayed, current);
        }
    }
}
