//! Every refusal in the reader's language (issue 12): the contexts say
//! what is wrong as data ([`Problem`], the state machines' own errors), and
//! this module words it from `locales/*.json`.

use crate::error::AppError;
use crate::i18n::Locale;
use crate::lang::won;
use crate::words;
use domain::delivery::{JobActorKind, JobError};
use domain::order::{AmountRule, NotYours};
use domain::problem::{Choice, Decline, Problem, TextField, Thing};
use domain::text::TextError;
use domain::{OrderError, PaymentMethod, StoreKind};
use leptos_i18n::td_string;

/// What to tell the reader about `error`.
pub fn app_error(locale: Locale, error: &AppError) -> String {
    match error {
        AppError::NotFound(p)
        | AppError::BadRequest(p)
        | AppError::Forbidden(p)
        | AppError::Conflict(p)
        | AppError::PaymentDeclined(p)
        | AppError::Busy(p) => problem(locale, p),
        AppError::Unauthorized => td_string!(locale, error.log_in).into(),
        AppError::BadCredentials => td_string!(locale, error.bad_credentials).into(),
        AppError::TooLarge => td_string!(locale, error.too_large).into(),
        AppError::Invalid(fields) => match fields.as_slice() {
            [only] => problem(locale, &only.problem),
            _ => td_string!(locale, error.correct_fields).into(),
        },
        AppError::TooManyRequests { retry_after_secs } => problem(
            locale,
            &Problem::TooManyAttempts {
                seconds: *retry_after_secs,
            },
        ),
        AppError::Internal => td_string!(locale, error.internal).into(),
        AppError::Unreachable => td_string!(locale, error.unreachable).into(),
    }
}

/// A free-text field's name.
fn field(locale: Locale, field: TextField) -> &'static str {
    match field {
        TextField::Name => td_string!(locale, field.name),
        TextField::StoreName => td_string!(locale, field.store_name),
        TextField::StoreAddress => td_string!(locale, field.store_address),
        TextField::Address => td_string!(locale, field.address),
        TextField::Note => td_string!(locale, field.note),
        TextField::Reason => td_string!(locale, field.reason),
        TextField::Comment => td_string!(locale, field.comment),
        TextField::Category => td_string!(locale, field.category),
        TextField::ItemName => td_string!(locale, field.item_name),
        TextField::Description => td_string!(locale, field.description),
        TextField::PaymentFailure => td_string!(locale, field.payment_failure),
    }
}

/// "Choose …" for one of the closed choices.
fn choose(locale: Locale, what: Choice) -> &'static str {
    match what {
        Choice::Fulfilment => td_string!(locale, choose.fulfilment),
        Choice::DeliveryType | Choice::Vehicle => td_string!(locale, choose.vehicle),
        Choice::PaymentMethod => td_string!(locale, choose.payment_method),
        Choice::Role => td_string!(locale, choose.role),
        Choice::StoreKind | Choice::KindFilter => td_string!(locale, choose.store_kind),
        Choice::StoreStatus => td_string!(locale, choose.store_status),
        Choice::RejectReason => td_string!(locale, choose.reject_reason),
        Choice::Stars => td_string!(locale, choose.stars),
        Choice::Language => td_string!(locale, choose.language),
        Choice::ConsumerMode => td_string!(locale, choose.consumer_mode),
    }
}

/// "There is no such …".
fn no_such(locale: Locale, what: Thing) -> &'static str {
    match what {
        Thing::Page => td_string!(locale, not_found.page),
        Thing::Store => td_string!(locale, not_found.store),
        Thing::Canteen => td_string!(locale, not_found.canteen),
        Thing::Order => td_string!(locale, not_found.order),
        Thing::MenuItem => td_string!(locale, not_found.menu_item),
        Thing::CartItem => td_string!(locale, not_found.cart_item),
        Thing::Job => td_string!(locale, not_found.job),
        Thing::Consumer => td_string!(locale, not_found.consumer),
    }
}

/// Why the card was declined.
fn decline(locale: Locale, reason: &Decline) -> String {
    match reason {
        Decline::Declined => td_string!(locale, decline.declined).into(),
        Decline::InsufficientFunds => td_string!(locale, decline.insufficient_funds).into(),
        Decline::OverLimit => td_string!(locale, decline.over_limit).into(),
        Decline::NothingToPay => td_string!(locale, decline.nothing_to_pay).into(),
        Decline::Other(words) => td_string!(locale, decline.other, reason = words).to_string(),
    }
}

/// "…" in a wait of `seconds`: 30초 / 2분; 30 seconds / 2 minutes.
fn wait(locale: Locale, seconds: u64) -> String {
    match seconds {
        0..=59 => td_string!(locale, wait.seconds, n = seconds.max(1)).to_string(),
        _ => td_string!(locale, wait.minutes, n = seconds.div_ceil(60)).to_string(),
    }
}

/// What an order command is called, for "cannot … an order that is …".
fn order_command(locale: Locale, name: &str) -> &'static str {
    match name {
        "accept" => td_string!(locale, command.accept),
        "reject" => td_string!(locale, command.reject),
        "mark_ready" => td_string!(locale, command.mark_ready),
        "cancel" => td_string!(locale, command.cancel),
        "collect" => td_string!(locale, command.collect),
        "acknowledge" => td_string!(locale, command.acknowledge),
        "approve_final_amount" | "decline_final_amount" => td_string!(locale, command.answer_final_amount),
        "pick_up" | "claim" | "food_ready" => td_string!(locale, command.pick_up),
        "deliver" => td_string!(locale, command.deliver),
        _ => td_string!(locale, command.change),
    }
}

/// The order state machine's refusals.
fn order_error(locale: Locale, error: &OrderError) -> String {
    match error {
        OrderError::NotAllowed { command, status } => td_string!(
            locale,
            order_error.not_allowed,
            action = order_command(locale, command),
            status = words::status(locale, *status, StoreKind::Restaurant)
        )
        .to_string(),
        OrderError::TooLateToCancel => td_string!(locale, order_error.too_late_to_cancel).into(),
        OrderError::Forbidden(who) => match who {
            NotYours::OnlyThePayment => td_string!(locale, order_error.only_the_payment).into(),
            NotYours::OnlyTheStore => td_string!(locale, order_error.only_the_store).into(),
            NotYours::OnlyTheCustomerCancels => td_string!(locale, order_error.only_the_customer_cancels).into(),
            NotYours::OnlyTheCustomerAnswers => td_string!(locale, order_error.only_the_customer_answers).into(),
            NotYours::RidersUseTheJob => td_string!(locale, order_error.riders_use_the_job).into(),
            NotYours::ApproveThroughPayment => td_string!(locale, order_error.approve_through_payment).into(),
        },
        OrderError::NotADeliveryOrder => td_string!(locale, order_error.not_a_delivery_order).into(),
        OrderError::NotAPickupOrder => td_string!(locale, order_error.not_a_pickup_order).into(),
        OrderError::InvalidPrepMinutes => problem(locale, &Problem::PrepMinutes),
        OrderError::RepairStarted => td_string!(locale, order_error.repair_started).into(),
        OrderError::Amount(rule) => match rule {
            AmountRule::EstimateRequired => td_string!(locale, order_error.estimate_required).into(),
            AmountRule::FinalAmountRequired => td_string!(locale, order_error.final_amount_required).into(),
            AmountRule::OutOfRange => problem(
                locale,
                &Problem::AmountRange {
                    max: domain::limits::MAX_REPAIR_WON,
                },
            ),
            AmountRule::OnlyRepairShops => td_string!(locale, order_error.only_repair_shops).into(),
        },
        OrderError::AmountChanged => td_string!(locale, order_error.amount_changed).into(),
        OrderError::InvalidText(e) => text_error(locale, e),
    }
}

/// The delivery job state machine's refusals.
fn job_error(locale: Locale, error: &JobError) -> String {
    match error {
        JobError::NotAllowed { command, .. } => {
            td_string!(locale, job_error.not_allowed, action = order_command(locale, command)).to_string()
        }
        JobError::JobTaken => td_string!(locale, job_error.taken).into(),
        JobError::NotYourJob => td_string!(locale, job_error.not_yours).into(),
        JobError::WrongVehicle { job, rider } => td_string!(
            locale,
            job_error.wrong_vehicle,
            job = words::vehicle(locale, *job),
            rider = words::vehicle(locale, *rider)
        )
        .to_string(),
        JobError::NotReadyYet => td_string!(locale, job_error.not_ready).into(),
        JobError::Forbidden(JobActorKind::Platform) => td_string!(locale, job_error.only_platform).into(),
        JobError::Forbidden(JobActorKind::Rider) => td_string!(locale, job_error.only_riders).into(),
    }
}

fn text_error(locale: Locale, error: &TextError) -> String {
    match error {
        TextError::Empty { field: f } => td_string!(locale, text.empty, field = field(locale, *f)).to_string(),
        TextError::TooLong { field: f, max } => {
            td_string!(locale, text.too_long, field = field(locale, *f), max = max).to_string()
        }
        TextError::ControlCharacters { field: f } => {
            td_string!(locale, text.control, field = field(locale, *f)).to_string()
        }
    }
}

/// What is wrong, in `locale` (Korean particles fitted to their words,
/// [`crate::lang::particles`]).
pub fn problem(locale: Locale, problem: &Problem) -> String {
    crate::lang::particles(&worded(locale, problem))
}

fn worded(locale: Locale, problem: &Problem) -> String {
    match problem {
        Problem::Text(e) => text_error(locale, e),
        Problem::Choose { what } => choose(locale, *what).into(),
        Problem::WholeNumber => td_string!(locale, problem.whole_number).into(),
        Problem::PriceRange { max } => {
            td_string!(locale, problem.price_range, max = won(locale, money(*max))).to_string()
        }
        Problem::StockRange { max } => td_string!(locale, problem.stock_range, max = max).to_string(),
        Problem::AmountRange { max } => {
            td_string!(locale, problem.amount_range, max = won(locale, money(*max))).to_string()
        }
        Problem::QuantityRange { max } | Problem::TooManyOfOne { max } => {
            td_string!(locale, problem.quantity_range, max = max).to_string()
        }
        Problem::PrepMinutes => td_string!(locale, problem.prep_minutes).into(),
        Problem::Email => td_string!(locale, problem.email).into(),
        Problem::PasswordLength { min, max } => {
            td_string!(locale, problem.password_length, min = min, max = max).to_string()
        }
        Problem::EmailTaken => td_string!(locale, problem.email_taken).into(),
        Problem::CardNumber => td_string!(locale, problem.card_number).into(),
        Problem::EmployeeNumber => td_string!(locale, problem.employee_number).into(),
        Problem::AddressTooShort => td_string!(locale, problem.address_too_short).into(),
        Problem::StaleForm => td_string!(locale, problem.stale_form).into(),
        Problem::OfferSomething { kind } => words::offer_something(locale, *kind).into(),
        Problem::Month => td_string!(locale, problem.month).into(),
        Problem::OutOfRange { min, max } => td_string!(locale, problem.out_of_range, min = min, max = max).to_string(),
        Problem::NotFound { what } => no_such(locale, *what).into(),
        Problem::WrongRole { needed, actual } => td_string!(
            locale,
            problem.wrong_role,
            needed = words::role(locale, *needed),
            actual = words::role(locale, *actual)
        )
        .to_string(),
        Problem::NoVehicle => td_string!(locale, problem.no_vehicle).into(),
        Problem::Unreadable => td_string!(locale, problem.unreadable).into(),
        Problem::TooSlow => td_string!(locale, problem.too_slow).into(),
        Problem::NoSuchAction => td_string!(locale, problem.no_such_action).into(),
        Problem::WrongMethod => td_string!(locale, problem.wrong_method).into(),
        Problem::CrossSite => td_string!(locale, problem.cross_site).into(),
        Problem::RealGateway => td_string!(locale, problem.real_gateway).into(),
        Problem::SoldOut { item } => td_string!(locale, problem.sold_out, item = item).to_string(),
        Problem::OnlyLeft { item, left } => td_string!(locale, problem.only_left, item = item, left = left).to_string(),
        Problem::StorePaused { store } => td_string!(locale, problem.store_paused, store = store).to_string(),
        Problem::StoreClosed { store } => td_string!(locale, problem.store_closed, store = store).to_string(),
        Problem::NoDelivery { store, kind } => words::no_delivery(locale, *kind, store),
        Problem::NoPickup { store, kind } => words::no_pickup(locale, *kind, store),
        Problem::NoPayroll { store } => td_string!(locale, problem.no_payroll, store = store).to_string(),
        Problem::BelowMinimum { store, min, kind } => words::below_minimum(locale, *kind, store, &won(locale, *min)),
        Problem::CartEmpty => td_string!(locale, problem.cart_empty).into(),
        Problem::ItemGone => td_string!(locale, problem.item_gone).into(),
        Problem::OrderTooLarge => td_string!(locale, problem.order_too_large).into(),
        Problem::Declined { reason } => decline(locale, reason),
        Problem::PaymentBusy => td_string!(locale, problem.payment_busy).into(),
        Problem::CheckoutBusy => td_string!(locale, problem.checkout_busy).into(),
        Problem::Unavailable => td_string!(locale, problem.unavailable).into(),
        Problem::SoldOutWhilePaying { item, method } => match method {
            PaymentMethod::Card => td_string!(locale, problem.sold_out_while_paying_card, item = item).to_string(),
            PaymentMethod::Payroll => {
                td_string!(locale, problem.sold_out_while_paying_payroll, item = item).to_string()
            }
        },
        Problem::StillPaying => td_string!(locale, problem.still_paying).into(),
        Problem::AlreadySettled => td_string!(locale, problem.already_settled).into(),
        Problem::NotHeld => td_string!(locale, problem.not_held).into(),
        Problem::UnknownEmployee { number } => {
            td_string!(locale, problem.unknown_employee, number = number).to_string()
        }
        Problem::SomeoneElsesNumber { number } => {
            td_string!(locale, problem.someone_elses_number, number = number).to_string()
        }
        Problem::Order(e) => order_error(locale, e),
        Problem::Job(e) => job_error(locale, e),
        Problem::FinishCurrentJob => td_string!(locale, problem.finish_current_job).into(),
        Problem::ReviewTooEarly => td_string!(locale, problem.review_too_early).into(),
        Problem::AlreadyReviewed => td_string!(locale, problem.already_reviewed).into(),
        Problem::TooManyAttempts { seconds } => {
            td_string!(locale, problem.too_many_attempts, wait = wait(locale, *seconds)).to_string()
        }
    }
}

fn money(won: i64) -> domain::Money {
    domain::Money::from_won(won).unwrap_or(domain::Money::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_in_each_language_with_their_details() {
        let p = Problem::OnlyLeft {
            item: "튤립 꽃다발".into(),
            left: 2,
        };
        assert_eq!(
            problem(Locale::ko, &p),
            "'튤립 꽃다발' 재고가 2개뿐이에요. 수량을 줄여 주세요."
        );
        assert_eq!(
            problem(Locale::en, &p),
            "Only 2 of 튤립 꽃다발 left; lower the quantity."
        );
        let min = Problem::BelowMinimum {
            store: "플로라 꽃집".into(),
            min: money(20_000),
            kind: StoreKind::FlowerShop,
        };
        assert_eq!(
            problem(Locale::ko, &min),
            "플로라 꽃집은 20,000원부터 배달해요. 꽃을 조금 더 담거나 꽃집에서 받기를 골라 주세요."
        );
        assert!(problem(Locale::en, &min).contains("₩20,000"));
        // A repair shop's refusals name its own choices, not 포장 (seed 001).
        let repair =
            |p: fn(String, StoreKind) -> Problem| problem(Locale::ko, &p("스피드 정비".into(), StoreKind::RepairShop));
        assert_eq!(
            repair(|store, kind| Problem::NoDelivery { store, kind }),
            "스피드 정비는 탁송하지 않아요. 정비소에서 찾아가기를 골라 주세요."
        );
        assert_eq!(
            repair(|store, kind| Problem::NoPickup { store, kind }),
            "스피드 정비에서는 차량을 직접 찾아갈 수 없어요. 탁송으로 받기를 골라 주세요."
        );
        let at_restaurant = Problem::NoDelivery {
            store: "황금올리브".into(),
            kind: StoreKind::Restaurant,
        };
        assert!(problem(Locale::ko, &at_restaurant).contains("가게에서 포장을 골라"));
        // A refusal stored before the kind was part of it reads as a restaurant's.
        let old: Problem = serde_json::from_str(r#"{"problem":"no_pickup","store":"황금올리브"}"#).unwrap();
        assert_eq!(
            old,
            Problem::NoPickup {
                store: "황금올리브".into(),
                kind: StoreKind::Restaurant
            }
        );
        let neither = Problem::OfferSomething {
            kind: StoreKind::RepairShop,
        };
        assert!(problem(Locale::ko, &neither).starts_with("탁송이나 직접 방문 중 하나는"));
        let late = Problem::Order(OrderError::TooLateToCancel);
        assert!(problem(Locale::ko, &late).contains("취소할 수 없"));
        let wait = AppError::TooManyRequests { retry_after_secs: 90 };
        assert!(wait.message(Locale::ko).contains("2분"), "{}", wait.message(Locale::ko));
        assert!(wait.message(Locale::en).contains("2 minutes"));
    }
}
