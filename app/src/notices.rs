//! Notifications in the reader's language (issue 12; F10): each is stored
//! as what happened (`domain::notice::Notice` with its parameters) and worded
//! here when shown, so switching language changes old notifications too.

use crate::i18n::Locale;
use crate::lang::won;
use domain::notice::Notice;
use domain::{Fulfilment, OrderId, PaymentMethod, Role, StoreKind};
use leptos_i18n::td_string;

/// `notice` about order `order`, in `locale` (Korean particles fitted to
/// their words, [`crate::lang::particles`]).
pub fn text(locale: Locale, notice: &Notice, order: OrderId) -> String {
    crate::lang::particles(&worded(locale, notice, order))
}

fn worded(locale: Locale, notice: &Notice, order: OrderId) -> String {
    let order = order.get();
    let money = |amount| won(locale, amount);
    let final_words = |amount: Option<domain::Money>| {
        amount
            .map(|a| td_string!(locale, notice.final_amount, amount = money(a)).to_string())
            .unwrap_or_default()
    };
    match notice {
        Notice::OrderPlaced { store } => {
            td_string!(locale, notice.order_placed, order = order, store = store).to_string()
        }
        Notice::NewOrder {
            units,
            total,
            fulfilment,
            kind,
        } => {
            let how = match fulfilment {
                Fulfilment::Delivery(t) => td_string!(
                    locale,
                    notice.delivery_by,
                    vehicle = crate::words::vehicle(locale, *t).to_lowercase(),
                    how = crate::words::delivery(locale, *kind).to_lowercase()
                )
                .to_string(),
                Fulfilment::Pickup => crate::words::pickup(locale, *kind).to_lowercase(),
            };
            td_string!(
                locale,
                notice.new_order,
                order = order,
                units = units,
                total = money(*total),
                how = how
            )
            .to_string()
        }
        // Only repair shops give estimates (seed 001).
        Notice::OrderAccepted {
            store,
            prep_minutes,
            estimate: Some(estimate),
            ..
        } => td_string!(
            locale,
            notice.repair_accepted,
            store = store,
            order = order,
            estimate = money(*estimate),
            minutes = prep_minutes
        )
        .to_string(),
        Notice::OrderAccepted {
            store,
            prep_minutes,
            kind,
            estimate: None,
        } => match kind {
            StoreKind::FlowerShop => td_string!(
                locale,
                notice.accepted_flowers,
                store = store,
                order = order,
                minutes = prep_minutes
            )
            .to_string(),
            StoreKind::RepairShop => td_string!(
                locale,
                notice.accepted_repair,
                store = store,
                order = order,
                minutes = prep_minutes
            )
            .to_string(),
            _ => td_string!(
                locale,
                notice.accepted,
                store = store,
                order = order,
                minutes = prep_minutes
            )
            .to_string(),
        },
        Notice::OrderRejected { store, reason, kind } => td_string!(
            locale,
            notice.rejected,
            store = store,
            order = order,
            reason = crate::words::reject_reason(locale, reason, *kind)
        )
        .to_string(),
        Notice::ReadyForPickup {
            store,
            address,
            kind,
            final_amount,
        } => match kind {
            StoreKind::Canteen => td_string!(
                locale,
                notice.ready_meal,
                order = order,
                store = store,
                address = address
            )
            .to_string(),
            StoreKind::RepairShop => td_string!(
                locale,
                notice.ready_car,
                order = order,
                store = store,
                address = address,
                amount = final_words(*final_amount)
            )
            .to_string(),
            _ => td_string!(
                locale,
                notice.ready_pickup,
                order = order,
                store = store,
                address = address
            )
            .to_string(),
        },
        Notice::ReadyForRider {
            final_amount: Some(amount),
        } => td_string!(
            locale,
            notice.ready_car_driver,
            order = order,
            amount = final_words(Some(*amount))
        )
        .to_string(),
        Notice::ReadyForRider { final_amount: None } => {
            td_string!(locale, notice.ready_rider, order = order).to_string()
        }
        Notice::FinalAmountProposed {
            store,
            amount,
            authorized,
        } => td_string!(
            locale,
            notice.final_proposed,
            store = store,
            order = order,
            amount = money(*amount),
            held = money(*authorized)
        )
        .to_string(),
        Notice::FinalAmountApproved { amount } => {
            td_string!(locale, notice.final_approved, order = order, amount = money(*amount)).to_string()
        }
        Notice::FinalAmountDeclined { amount, authorized } => td_string!(
            locale,
            notice.final_declined,
            order = order,
            amount = money(*amount),
            held = money(*authorized)
        )
        .to_string(),
        Notice::OrderCancelled => td_string!(locale, notice.cancelled, order = order).to_string(),
        Notice::CancelledByCustomer => td_string!(locale, notice.cancelled_by_customer, order = order).to_string(),
        Notice::StoreOrderCancelled { by } => {
            let who = match by {
                Role::Customer => td_string!(locale, notice.who_customer),
                _ => td_string!(locale, notice.who_operator),
            };
            td_string!(locale, notice.store_order_cancelled, order = order, who = who).to_string()
        }
        Notice::PaymentApproved {
            amount,
            method: PaymentMethod::Payroll,
        } => td_string!(locale, notice.payroll_approved, order = order, amount = money(*amount)).to_string(),
        Notice::PaymentApproved { amount, .. } => {
            td_string!(locale, notice.payment_approved, order = order, amount = money(*amount)).to_string()
        }
        Notice::PaymentCaptured {
            amount,
            method: PaymentMethod::Payroll,
        } => td_string!(locale, notice.payroll_deducted, order = order, amount = money(*amount)).to_string(),
        Notice::PaymentCaptured { amount, .. } => {
            td_string!(locale, notice.payment_captured, order = order, amount = money(*amount)).to_string()
        }
        Notice::PaymentReleased {
            method: PaymentMethod::Payroll,
            ..
        } => td_string!(locale, notice.payroll_released, order = order).to_string(),
        Notice::PaymentReleased { amount, .. } => {
            td_string!(locale, notice.payment_released, order = order, amount = money(*amount)).to_string()
        }
        Notice::JobCancelled { store } => {
            td_string!(locale, notice.job_cancelled, order = order, store = store).to_string()
        }
        Notice::RiderOnTheWay {
            store,
            kind: StoreKind::RepairShop,
        } => td_string!(locale, notice.driver_on_the_way, order = order, store = store).to_string(),
        Notice::RiderOnTheWay { store, .. } => {
            td_string!(locale, notice.rider_on_the_way, order = order, store = store).to_string()
        }
        Notice::PickedUp { kind } => match kind {
            StoreKind::RepairShop => td_string!(locale, notice.picked_up_car, order = order).to_string(),
            StoreKind::FlowerShop => td_string!(locale, notice.picked_up_flowers, order = order).to_string(),
            _ => td_string!(locale, notice.picked_up, order = order).to_string(),
        },
        Notice::Delivered { kind } => match kind {
            StoreKind::RepairShop => td_string!(locale, notice.returned_car, order = order).to_string(),
            StoreKind::FlowerShop => td_string!(locale, notice.delivered_flowers, order = order).to_string(),
            _ => td_string!(locale, notice.delivered, order = order).to_string(),
        },
        Notice::Collected { kind } => match kind {
            StoreKind::RepairShop => td_string!(locale, notice.collected_car, order = order).to_string(),
            StoreKind::FlowerShop => td_string!(locale, notice.collected_flowers, order = order).to_string(),
            _ => td_string!(locale, notice.collected, order = order).to_string(),
        },
        Notice::Reviewed { stars } => td_string!(locale, notice.reviewed, order = order, stars = stars).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_business_speaks_its_own_words_in_both_languages() {
        let order = OrderId(4);
        let repair = Notice::OrderAccepted {
            store: "카센터".into(),
            prep_minutes: 90,
            kind: StoreKind::RepairShop,
            estimate: domain::Money::from_won(120_000).ok(),
        };
        assert!(text(Locale::en, &repair, order).contains("estimate of ₩120,000"));
        assert!(text(Locale::ko, &repair, order).contains("견적 120,000원"));
        let flowers = Notice::PickedUp {
            kind: StoreKind::FlowerShop,
        };
        assert_eq!(
            text(Locale::en, &flowers, order),
            "Your flowers (order #4) are on the way."
        );
        assert_eq!(text(Locale::ko, &flowers, order), "주문 #4 꽃이 배달 중이에요.");
        let total = domain::Money::from_won(50_000).unwrap_or(domain::Money::ZERO);
        let new_repair = |fulfilment| Notice::NewOrder {
            units: 1,
            total,
            fulfilment,
            kind: StoreKind::RepairShop,
        };
        assert_eq!(
            text(Locale::ko, &new_repair(Fulfilment::Pickup), order),
            "새 주문 #4: 1개, 50,000원, 직접 방문."
        );
        assert_eq!(
            text(
                Locale::ko,
                &new_repair(Fulfilment::Delivery(domain::DeliveryType::Motorbike)),
                order
            ),
            "새 주문 #4: 1개, 50,000원, 오토바이 탁송."
        );
        let new_meal = Notice::NewOrder {
            units: 2,
            total,
            fulfilment: Fulfilment::Pickup,
            kind: StoreKind::Restaurant,
        };
        assert!(text(Locale::ko, &new_meal, order).ends_with(", 포장."));
        assert!(text(Locale::en, &new_meal, order).ends_with(", pickup."));
        let back = Notice::Delivered {
            kind: StoreKind::RepairShop,
        };
        assert!(text(Locale::en, &back, order).starts_with("Your car was returned"));
        let driver = Notice::RiderOnTheWay {
            store: "스피드 카센터".into(),
            kind: StoreKind::RepairShop,
        };
        assert!(text(Locale::ko, &driver, order).starts_with("탁송 기사님이 주문 #4를 맡아"));
        // Flowers and cars are not eaten: "맛있게 드세요" is a meal's alone.
        let bouquet = Notice::Delivered {
            kind: StoreKind::FlowerShop,
        };
        assert_eq!(
            text(Locale::ko, &bouquet, order),
            "주문 #4 꽃을 전해 드렸어요. 리뷰로 후기를 남겨 주세요."
        );
        let car = Notice::Collected {
            kind: StoreKind::RepairShop,
        };
        assert_eq!(
            text(Locale::ko, &car, order),
            "차량을 찾아가셨어요 (주문 #4). 수리가 어땠는지 리뷰로 알려 주세요."
        );
        let meal = Notice::Collected {
            kind: StoreKind::Canteen,
        };
        assert!(text(Locale::ko, &meal, order).contains("맛있게 드세요"));
        let payroll = Notice::PaymentCaptured {
            amount: domain::Money::from_won(6_500).unwrap_or(domain::Money::ZERO),
            method: PaymentMethod::Payroll,
        };
        assert_eq!(
            text(Locale::ko, &payroll, order),
            "주문 #4 금액 6,500원이 급여에서 차감되었어요."
        );
    }
}
