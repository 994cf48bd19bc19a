//! The domain's closed vocabularies in the reader's language (issue 12):
//! roles, vehicles, kinds of store, statuses in each business's own words
//! (issue 11: one state machine, a vocabulary per store kind), payment
//! states. The domain keeps machine names; the words live in
//! `locales/*.json`.

use crate::i18n::Locale;
use domain::{DeliveryType, OrderStatus, PaymentState, Role, StoreKind, StoreStatus};
use leptos_i18n::td_string;

/// One of a store kind's words (`vocab.<kind>.<word>` in the locales).
macro_rules! by_kind {
    ($locale:expr, $kind:expr, $word:ident) => {
        match $kind {
            StoreKind::Restaurant => td_string!($locale, vocab.restaurant.$word),
            StoreKind::FlowerShop => td_string!($locale, vocab.flower_shop.$word),
            StoreKind::Canteen => td_string!($locale, vocab.canteen.$word),
            StoreKind::RepairShop => td_string!($locale, vocab.repair_shop.$word),
        }
    };
}

/// One of a store kind's words with its `name = value` interpolations,
/// as a `String`.
macro_rules! by_kind_with {
    ($locale:expr, $kind:expr, $word:ident, $($args:tt)*) => {
        match $kind {
            StoreKind::Restaurant => td_string!($locale, vocab.restaurant.$word, $($args)*).to_string(),
            StoreKind::FlowerShop => td_string!($locale, vocab.flower_shop.$word, $($args)*).to_string(),
            StoreKind::Canteen => td_string!($locale, vocab.canteen.$word, $($args)*).to_string(),
            StoreKind::RepairShop => td_string!($locale, vocab.repair_shop.$word, $($args)*).to_string(),
        }
    };
}

/// What a user is: 고객, 사장님, 라이더, 운영자.
pub fn role(locale: Locale, role: Role) -> &'static str {
    match role {
        Role::Customer => td_string!(locale, role.customer),
        Role::Owner => td_string!(locale, role.owner),
        Role::Rider => td_string!(locale, role.rider),
        Role::Admin => td_string!(locale, role.admin),
    }
}

/// How a delivery travels: 도보, 자전거, 오토바이.
pub fn vehicle(locale: Locale, vehicle: DeliveryType) -> &'static str {
    match vehicle {
        DeliveryType::Walking => td_string!(locale, vehicle.walking),
        DeliveryType::Bicycle => td_string!(locale, vehicle.bicycle),
        DeliveryType::Motorbike => td_string!(locale, vehicle.motorbike),
    }
}

/// The kind of store: 음식점, 꽃집, 구내식당, 자동차 정비소.
pub fn kind(locale: Locale, kind: StoreKind) -> &'static str {
    match kind {
        StoreKind::Restaurant => td_string!(locale, kind.restaurant),
        StoreKind::FlowerShop => td_string!(locale, kind.flower_shop),
        StoreKind::Canteen => td_string!(locale, kind.canteen),
        StoreKind::RepairShop => td_string!(locale, kind.repair_shop),
    }
}

/// Whether a store takes orders: 영업 중, 잠시 중지, 영업 종료.
pub fn store_status(locale: Locale, status: StoreStatus) -> &'static str {
    match status {
        StoreStatus::Open => td_string!(locale, store_status.open),
        StoreStatus::Paused => td_string!(locale, store_status.paused),
        StoreStatus::Closed => td_string!(locale, store_status.closed),
    }
}

/// An order's status in the words of its store's kind: a repair is 수리 중,
/// a bouquet 포장 중, a meal 조리 중.
pub fn status(locale: Locale, status: OrderStatus, kind: StoreKind) -> &'static str {
    match status {
        OrderStatus::PaymentPending => td_string!(locale, status.payment_pending),
        OrderStatus::PaymentFailed => td_string!(locale, status.payment_failed),
        OrderStatus::Placed => td_string!(locale, status.placed),
        OrderStatus::Accepted => by_kind!(locale, kind, preparing),
        OrderStatus::Ready => by_kind!(locale, kind, ready),
        OrderStatus::PickedUp => by_kind!(locale, kind, on_the_way),
        OrderStatus::Delivered => by_kind!(locale, kind, delivered),
        OrderStatus::Collected => td_string!(locale, status.collected),
        OrderStatus::Rejected => td_string!(locale, status.rejected),
        OrderStatus::Cancelled => td_string!(locale, status.cancelled),
    }
}

/// The accepted order's step as one word (progress bar, owner's column):
/// 조리, 포장, 수리.
pub fn preparing_step(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, preparing_step)
}

/// The owner's button that marks an order ready: 조리 완료, 수리 완료, ….
pub fn mark_ready(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, mark_ready)
}

/// The rider's button at pick-up: 음식을 받았어요, 차량을 인수했어요, ….
pub fn picked_up_button(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, picked_up_button)
}

/// The rider's button at hand-over: 배달 완료, 차량 반납 완료.
pub fn delivered_button(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, delivered_button)
}

/// What the rider reads while the store is still preparing their job's
/// goods: head over, pick up once ready.
pub fn still_on_it(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, still_on_it)
}

/// How a store of this kind hands an order over by courier, as a
/// capitalised noun: 배달, or 탁송 at a repair shop (a driver brings the
/// repaired car back; seed 001's shop has no courier words of its own).
pub fn delivery(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, delivery)
}

/// How the customer collects an order at a store of this kind: 포장 at a
/// restaurant, 매장 수령 at a florist, 식당 수령 at a canteen, 직접 방문 at
/// a repair shop.
pub fn pickup(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, pickup)
}

/// The checkout's choice for delivery: 배달, 탁송으로 받기.
pub fn delivery_choice(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, delivery_choice)
}

/// The checkout's choice for pickup: 가게에서 포장, 정비소에서 찾아가기, ….
pub fn pickup_choice(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, pickup_choice)
}

/// The checkout's label for the note to the store: 가게 요청 사항, 정비소
/// 요청 사항, ….
pub fn note_label(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, note_label)
}

/// The example in the checkout's note to the store: no onions at a
/// restaurant, a card's words at a florist, what the car does at a repair
/// shop.
pub fn note_placeholder(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, note_placeholder)
}

/// The owner's reason for refusing an order when something ran out: 재료
/// 소진 at a restaurant, 꽃 품절 at a florist, 부품 없음 at a repair shop.
pub fn reason_sold_out(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, reason_sold_out)
}

/// What the delivery costs is called: 배달비, or 차량 반납비 at a repair
/// shop (a driver brings the car back).
pub fn fee(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, fee)
}

/// The checkout's label for the delivery address: 배달 주소, 차량을 받을 주소.
pub fn address_label(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, address_label)
}

/// The checkout's label for the courier's vehicle: 배달 수단, or 기사님
/// 이동 수단 at a repair shop (the driver comes by it and drives the car).
pub fn vehicle_label(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, vehicle_label)
}

/// The owner's board while a courier heads to the store: 라이더가 오는 중,
/// or 탁송 기사님이 오는 중 at a repair shop (seed 001: a driver returns the car).
pub fn courier_coming(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, courier_coming)
}

/// The owner's board while no courier has taken the ready order yet.
pub fn waiting_courier(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, waiting_courier)
}

/// The owner's settings refuse a store that offers neither delivery nor
/// pickup, naming the kind's two ways (`Problem::OfferSomething`).
pub fn offer_something(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, offer_something)
}

/// Where a pickup order is collected, the store's `address` in it:
/// "…에서 포장", "…에서 차량 찾아가기".
pub fn pickup_at(locale: Locale, kind: StoreKind, address: &str) -> String {
    by_kind_with!(locale, kind, pickup_at, address = address)
}

/// The checkout's refusal when the store does not deliver, naming the
/// kind's own pickup choice: "…은(는) 탁송하지 않아요. 정비소에서
/// 찾아가기를 골라 주세요." (`Problem::NoDelivery`).
pub fn no_delivery(locale: Locale, kind: StoreKind, store: &str) -> String {
    by_kind_with!(locale, kind, no_delivery, store = store)
}

/// The checkout's refusal when the store hands nothing over at its
/// counter (`Problem::NoPickup`).
pub fn no_pickup(locale: Locale, kind: StoreKind, store: &str) -> String {
    by_kind_with!(locale, kind, no_pickup, store = store)
}

/// The checkout's refusal below the store's minimum for delivery, `min`
/// already worded as money ("20,000원"); it offers the kind's pickup
/// (`Problem::BelowMinimum`).
pub fn below_minimum(locale: Locale, kind: StoreKind, store: &str, min: &str) -> String {
    by_kind_with!(locale, kind, below_minimum, store = store, min = min)
}

/// When a card is charged, in the kind's words: once the food is delivered
/// or picked up, once the car is back (a card is authorized at checkout and
/// captured at hand-over; requirement F13, seeds 001 and 003).
pub fn card_charged(locale: Locale, kind: StoreKind) -> &'static str {
    by_kind!(locale, kind, card_charged)
}

/// What a store offers, as its page and the store list show it: "배달 ·
/// 포장", "탁송 · 직접 방문", "식당 수령만". A store offers at least one
/// (the owner's settings refuse neither).
pub fn fulfilment_offer(locale: Locale, kind: StoreKind, delivers: bool, collects: bool) -> String {
    match (delivers, collects) {
        (true, true) => td_string!(
            locale,
            store.both,
            delivery = delivery(locale, kind),
            pickup = pickup(locale, kind)
        )
        .to_string(),
        (true, false) => td_string!(locale, store.only, how = delivery(locale, kind)).to_string(),
        (false, _) => td_string!(locale, store.only, how = pickup(locale, kind)).to_string(),
    }
}

/// Where a payment stands, in a word or three.
pub fn payment_state(locale: Locale, state: PaymentState) -> &'static str {
    match state {
        PaymentState::Authorized => td_string!(locale, payment_state.authorized),
        PaymentState::Captured => td_string!(locale, payment_state.captured),
        PaymentState::Released => td_string!(locale, payment_state.released),
    }
}

/// Why a store declined, as the customer reads it, in the words of the
/// store's kind (a repair shop lacks parts, not menu items).
pub fn reject_reason(locale: Locale, reason: &domain::order::RejectReason, kind: StoreKind) -> String {
    use domain::order::RejectReason as R;
    match reason {
        R::SoldOut => by_kind!(locale, kind, sold_out).into(),
        R::TooBusy => td_string!(locale, reject.too_busy).into(),
        R::ClosingSoon => td_string!(locale, reject.closing_soon).into(),
        R::Other(text) => text.clone(),
    }
}

/// Why the order ended without being completed, in `reader`'s words: the
/// store's reason for a rejection, or who cancelled ("you" to the one who
/// did; seed 000). `None` while it is not rejected or cancelled.
pub fn ended(locale: Locale, order: &domain::shop::OrderView, reader: Role) -> Option<String> {
    match order.status {
        OrderStatus::Rejected => Some(match &order.reason {
            Some(reason) => reject_reason(locale, reason, order.placed.store_kind),
            None => td_string!(locale, ended.rejected).into(),
        }),
        OrderStatus::Cancelled => Some(
            match order.cancelled_by {
                Some(by) if by == reader => td_string!(locale, ended.by_you),
                Some(Role::Customer) => td_string!(locale, ended.by_customer),
                Some(Role::Owner) => td_string!(locale, ended.by_store),
                Some(_) => td_string!(locale, ended.by_operator),
                None => td_string!(locale, ended.cancelled),
            }
            .into(),
        ),
        _ => None,
    }
}

/// Where the money stands, in the words of `reader` (a customer, or the
/// store and the operator): held, charged or released, with the amount
/// (issue 11, "nobody sees the money"); for a canteen's payroll deduction,
/// deducted from pay once collected (seed 003); a repair's final amount
/// (seed 001). `None` when unknown.
pub fn payment(locale: Locale, order: &domain::shop::OrderView, reader: Role) -> Option<String> {
    use domain::{Fulfilment, PaymentMethod};
    let state = order.payment?;
    let held_amount = order.held_amount();
    let held = crate::lang::won(locale, held_amount);
    let charged_amount = order.charged.unwrap_or(held_amount);
    let charged = crate::lang::won(locale, charged_amount);
    let customer = reader == Role::Customer;
    if order.placed.payment_method == PaymentMethod::Payroll {
        return Some(match (state, customer) {
            (PaymentState::Authorized, true) => td_string!(locale, money.payroll_pending, amount = held).to_string(),
            (PaymentState::Authorized, false) => {
                td_string!(locale, money.payroll_pending_store, amount = held).to_string()
            }
            (PaymentState::Captured, true) => td_string!(locale, money.payroll_done, amount = charged).to_string(),
            (PaymentState::Captured, false) => {
                td_string!(locale, money.payroll_done_store, amount = charged).to_string()
            }
            (PaymentState::Released, true) => td_string!(locale, money.payroll_released).to_string(),
            (PaymentState::Released, false) => {
                td_string!(locale, money.payroll_released_store, amount = held).to_string()
            }
        });
    }
    let done = match (order.placed.store_kind, order.placed.fulfilment) {
        (StoreKind::RepairShop, Fulfilment::Delivery(_)) => td_string!(locale, money.when_returned),
        (_, Fulfilment::Delivery(_)) => td_string!(locale, money.when_delivered),
        (_, Fulfilment::Pickup) => td_string!(locale, money.when_collected),
    };
    Some(match (state, customer) {
        (PaymentState::Authorized, _) => {
            let part = match order.final_amount {
                Some(amount) if amount < held_amount => {
                    td_string!(locale, money.part_charged, amount = crate::lang::won(locale, amount)).to_string()
                }
                _ => td_string!(locale, money.all_charged).to_string(),
            };
            if customer {
                td_string!(locale, money.held, amount = held, part = part, when = done).to_string()
            } else {
                td_string!(locale, money.held_store, amount = held, part = part, when = done).to_string()
            }
        }
        (PaymentState::Captured, _) => {
            let rest = if charged_amount < held_amount {
                td_string!(locale, money.rest_released, held = held.clone()).to_string()
            } else {
                String::new()
            };
            if customer {
                td_string!(locale, money.charged, amount = charged, rest = rest).to_string()
            } else {
                td_string!(locale, money.charged_store, amount = charged, rest = rest).to_string()
            }
        }
        (PaymentState::Released, true) => td_string!(locale, money.released, amount = held).to_string(),
        (PaymentState::Released, false) => td_string!(locale, money.released_store, amount = held).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::shop::{OrderView, PlacedOrder};
    use domain::{Fulfilment, Money, OrderId, StoreId, UserId};

    fn view(fulfilment: Fulfilment) -> OrderView {
        let won = |w| Money::from_won(w).unwrap_or(Money::ZERO);
        OrderView {
            id: OrderId(12),
            placed: PlacedOrder {
                customer: UserId(1),
                customer_name: "민준".into(),
                store: StoreId(2),
                store_name: "꽃집".into(),
                store_address: "서울".into(),
                owner: UserId(3),
                store_kind: StoreKind::FlowerShop,
                fulfilment,
                address: "집".into(),
                note: String::new(),
                lines: vec![],
                subtotal: won(20_000),
                fee: won(3_000),
                total: won(23_000),
                payment_method: domain::PaymentMethod::Card,
            },
            status: OrderStatus::Placed,
            prep_minutes: None,
            ready_by_ms: None,
            reason: None,
            cancelled_by: None,
            payment: Some(PaymentState::Authorized),
            rider: None,
            placed_at_ms: 0,
            updated_at_ms: 0,
            review: None,
            acknowledged: false,
            estimate: None,
            final_amount: None,
            proposed_amount: None,
            held: None,
            charged: None,
        }
    }

    #[test]
    fn everyone_reads_where_the_money_stands_with_the_amount() {
        let mut v = view(Fulfilment::Delivery(DeliveryType::Bicycle));
        let held = payment(Locale::en, &v, Role::Customer).unwrap_or_default();
        assert!(
            held.contains("₩23,000") && held.contains("held") && held.contains("delivered"),
            "{held}"
        );
        let held = payment(Locale::ko, &v, Role::Customer).unwrap_or_default();
        assert!(held.contains("23,000원") && held.contains("승인"), "{held}");
        v.placed.fulfilment = Fulfilment::Pickup;
        assert!(payment(Locale::en, &v, Role::Owner)
            .unwrap_or_default()
            .contains("collected"));
        v.payment = Some(PaymentState::Captured);
        assert!(payment(Locale::en, &v, Role::Customer)
            .unwrap_or_default()
            .contains("charged to your card"));
        v.payment = Some(PaymentState::Released);
        let released = payment(Locale::en, &v, Role::Owner).unwrap_or_default();
        assert!(
            released.contains("released") && released.contains("not charged"),
            "{released}"
        );
        v.payment = None;
        assert_eq!(payment(Locale::en, &v, Role::Customer), None);
    }

    #[test]
    fn a_repair_charges_its_final_amount_and_says_the_rest_was_released() {
        let won = |w| Money::from_won(w).unwrap_or(Money::ZERO);
        let mut v = view(Fulfilment::Delivery(DeliveryType::Motorbike));
        v.placed.store_kind = StoreKind::RepairShop;
        v.held = Some(won(150_000));
        v.final_amount = Some(won(120_000));
        let held = payment(Locale::en, &v, Role::Customer).unwrap_or_default();
        assert!(
            held.contains("₩150,000 held") && held.contains("₩120,000 of it charged") && held.contains("returned"),
            "{held}"
        );
        v.payment = Some(PaymentState::Captured);
        v.charged = Some(won(120_000));
        assert_eq!(
            payment(Locale::en, &v, Role::Customer).as_deref(),
            Some("₩120,000 charged to your card (of ₩150,000 held; the rest was released)")
        );
        assert_eq!(
            payment(Locale::ko, &v, Role::Customer).as_deref(),
            Some("카드에서 120,000원이 청구되었어요 (승인 150,000원 중 나머지는 취소되었어요)")
        );
    }

    #[test]
    fn a_payroll_deduction_reads_as_pay_not_as_a_card() {
        let mut v = view(Fulfilment::Pickup);
        v.placed.store_kind = StoreKind::Canteen;
        v.placed.payment_method = domain::PaymentMethod::Payroll;
        let pending = payment(Locale::en, &v, Role::Customer).unwrap_or_default();
        assert!(
            pending.contains("deducted from your pay once you collect it") && !pending.contains("card"),
            "{pending}"
        );
        v.payment = Some(PaymentState::Captured);
        assert_eq!(
            payment(Locale::en, &v, Role::Customer).as_deref(),
            Some("₩23,000 deducted from your pay")
        );
        assert_eq!(
            payment(Locale::ko, &v, Role::Customer).as_deref(),
            Some("급여에서 23,000원이 차감되었어요")
        );
        v.payment = Some(PaymentState::Released);
        assert!(payment(Locale::en, &v, Role::Owner)
            .unwrap_or_default()
            .contains("nothing deducted"));
    }

    #[test]
    fn a_cancellation_reads_as_who_did_it_for_each_reader() {
        let mut v = view(Fulfilment::Pickup);
        assert_eq!(ended(Locale::en, &v, Role::Customer), None, "not ended");
        v.status = OrderStatus::Cancelled;
        v.cancelled_by = Some(Role::Customer);
        assert_eq!(
            ended(Locale::en, &v, Role::Customer).as_deref(),
            Some("Cancelled by you")
        );
        assert_eq!(
            ended(Locale::ko, &v, Role::Customer).as_deref(),
            Some("직접 취소하셨어요")
        );
        assert_eq!(
            ended(Locale::en, &v, Role::Owner).as_deref(),
            Some("Cancelled by the customer")
        );
        v.cancelled_by = Some(Role::Admin);
        assert_eq!(
            ended(Locale::en, &v, Role::Owner).as_deref(),
            Some("Cancelled by the operator")
        );
        v.status = OrderStatus::Rejected;
        v.reason = Some(domain::order::RejectReason::SoldOut);
        // The florist's words: its flowers ran out, not its menu.
        assert_eq!(
            ended(Locale::ko, &v, Role::Customer).as_deref(),
            Some("주문하신 꽃이 품절되었어요")
        );
        v.placed.store_kind = StoreKind::Restaurant;
        assert_eq!(
            ended(Locale::ko, &v, Role::Customer).as_deref(),
            Some("일부 메뉴가 품절되었어요")
        );
    }

    #[test]
    fn each_business_has_its_own_words_in_both_languages() {
        use OrderStatus as S;
        assert_eq!(status(Locale::ko, S::Accepted, StoreKind::RepairShop), "수리 중");
        assert_eq!(status(Locale::en, S::Accepted, StoreKind::RepairShop), "Being repaired");
        assert_eq!(status(Locale::ko, S::Accepted, StoreKind::FlowerShop), "포장 중");
        assert_eq!(
            status(Locale::ko, S::Ready, StoreKind::Canteen),
            "준비 완료 — 수령하세요"
        );
        assert_eq!(mark_ready(Locale::en, StoreKind::RepairShop), "Repair done");
        assert_eq!(picked_up_button(Locale::ko, StoreKind::RepairShop), "차량을 인수했어요");
        assert_eq!(role(Locale::ko, Role::Owner), "사장님");
        assert_eq!(vehicle(Locale::en, DeliveryType::Bicycle), "Bicycle");
    }

    #[test]
    fn how_an_order_is_handed_over_is_worded_by_each_business() {
        use StoreKind as K;
        assert_eq!(fulfilment_offer(Locale::ko, K::Restaurant, true, true), "배달 · 포장");
        assert_eq!(
            fulfilment_offer(Locale::ko, K::RepairShop, true, true),
            "탁송 · 직접 방문"
        );
        assert_eq!(
            fulfilment_offer(Locale::en, K::RepairShop, true, true),
            "Car return · Collection"
        );
        assert_eq!(fulfilment_offer(Locale::ko, K::Canteen, false, true), "식당 수령만");
        assert_eq!(fulfilment_offer(Locale::ko, K::FlowerShop, true, false), "배달만");
        assert_eq!(fulfilment_offer(Locale::en, K::Restaurant, false, true), "Pickup only");
        assert_eq!(pickup_choice(Locale::ko, K::RepairShop), "정비소에서 찾아가기");
        assert_eq!(
            pickup_at(Locale::ko, K::RepairShop, "서울 강남구 남부순환로 2609"),
            "서울 강남구 남부순환로 2609에서 차량 찾아가기"
        );
        assert_eq!(reason_sold_out(Locale::ko, K::RepairShop), "부품 없음");
        assert_eq!(fee(Locale::ko, K::RepairShop), "차량 반납비");
        assert_eq!(note_label(Locale::ko, K::RepairShop), "정비소 요청 사항 (선택)");
        assert_eq!(fee(Locale::ko, K::Canteen), "배달비");
        assert_eq!(address_label(Locale::ko, K::RepairShop), "차량을 받을 주소");
        assert_eq!(reason_sold_out(Locale::ko, K::Restaurant), "재료 소진");
        let sold_out = domain::order::RejectReason::SoldOut;
        assert_eq!(
            reject_reason(Locale::ko, &sold_out, K::RepairShop),
            "수리에 필요한 부품이 없어요"
        );
        for &kind in StoreKind::ALL {
            for locale in [Locale::ko, Locale::en] {
                for word in [
                    delivery(locale, kind),
                    pickup(locale, kind),
                    delivery_choice(locale, kind),
                    pickup_choice(locale, kind),
                    note_label(locale, kind),
                    note_placeholder(locale, kind),
                    reason_sold_out(locale, kind),
                    fee(locale, kind),
                    address_label(locale, kind),
                    vehicle_label(locale, kind),
                ] {
                    assert!(!word.trim().is_empty(), "{kind:?} {locale:?}");
                }
            }
        }
    }
}
