//! The shapes of carts, orders, notifications and reviews as the screens
//! show them (issue 4). The ordering context fills them from its tables and
//! projections; the browser renders them.

use crate::limits;
use crate::problem::{Choice, Problem, TextField};
use crate::text::{clean_text, FieldError};
use crate::{DeliveryType, Fulfilment, MenuItemId, Money, OrderId, OrderStatus, StoreId, UserId};
use serde::{Deserialize, Serialize};

/// One line of a customer's cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    /// The menu item.
    pub item: MenuItemId,
    /// Its name.
    pub name: String,
    /// Its current price in won.
    pub unit_price: Money,
    /// How many (1..=99).
    pub quantity: u8,
    /// Price times quantity, in won.
    pub line_total: Money,
    /// Why it cannot be ordered now (sold out, not enough left), if so.
    pub problem: Option<Problem>,
}

/// A customer's cart at one store (one cart per store, kept in the database
/// so it survives reloads and logins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    /// The store.
    pub store: StoreId,
    /// The store's name.
    pub store_name: String,
    /// The store's kind (its words for delivery and pickup at checkout).
    pub store_kind: crate::StoreKind,
    /// The lines, oldest first.
    pub lines: Vec<CartLine>,
    /// Sum of the line totals, in won.
    pub subtotal: Money,
    /// Whether the store delivers.
    pub offers_delivery: bool,
    /// Whether the store offers pickup.
    pub offers_pickup: bool,
    /// Smallest subtotal for delivery, in won (0: none).
    pub min_order: Money,
    /// Why the store cannot take the order now (paused, closed), if so.
    pub store_problem: Option<Problem>,
    /// Items the store took off its menu since they were added: they were
    /// taken out of the cart, and this says so once (issue 11).
    #[serde(default)]
    pub removed: Vec<String>,
}

impl Cart {
    /// Number of units in the cart.
    pub fn units(&self) -> u32 {
        self.lines.iter().map(|l| u32::from(l.quantity)).sum()
    }
}

/// One line of a placed order, priced when it was placed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The menu item.
    pub item: MenuItemId,
    /// Its name when ordered.
    pub name: String,
    /// Its price when ordered, in won.
    pub unit_price: Money,
    /// How many.
    pub quantity: u8,
}

impl OrderLine {
    /// Unit price times quantity, in won.
    pub fn line_total(&self) -> Money {
        Money::from_won(self.unit_price.won().saturating_mul(i64::from(self.quantity))).unwrap_or(Money::ZERO)
    }
}

/// What the order-placed event records about an order, so that every
/// projection can be built from the event log alone (requirement F9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedOrder {
    /// The customer.
    pub customer: UserId,
    /// The customer's display name (shown to the store and the rider).
    pub customer_name: String,
    /// The store.
    pub store: StoreId,
    /// The store's name.
    pub store_name: String,
    /// The store's address (the rider's pickup address).
    pub store_address: String,
    /// The store's owner (notified of new and cancelled orders).
    pub owner: UserId,
    /// What kind of business the store is, for its words (issue 11).
    #[serde(default = "crate::kinds::restaurant")]
    pub store_kind: crate::StoreKind,
    /// Delivery with a vehicle type, or pickup.
    pub fulfilment: Fulfilment,
    /// The drop-off address; empty for pickup.
    pub address: String,
    /// The customer's note to the store; may be empty.
    pub note: String,
    /// The lines.
    pub lines: Vec<OrderLine>,
    /// Sum of the lines, in won.
    pub subtotal: Money,
    /// Delivery fee, in won.
    pub fee: Money,
    /// Subtotal plus fee, in won: the amount authorized.
    pub total: Money,
    /// How it is paid: card, or deducted from pay at a canteen (issue 11;
    /// a card for orders placed before).
    #[serde(default = "crate::kinds::card")]
    pub payment_method: crate::PaymentMethod,
}

/// An order as its customer, its store and its rider see it: the `order_views`
/// projection (requirement F9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// The order.
    pub id: OrderId,
    /// What the order-placed event recorded.
    pub placed: PlacedOrder,
    /// Where it is now.
    pub status: OrderStatus,
    /// The store's preparation estimate, once accepted, in minutes.
    pub prep_minutes: Option<u16>,
    /// When it should be ready (unix milliseconds), once accepted.
    pub ready_by_ms: Option<i64>,
    /// Why the store rejected it.
    pub reason: Option<crate::order::RejectReason>,
    /// Who cancelled it, once cancelled: each reader puts it in their own
    /// words ("you" or "the customer"; seed 000).
    pub cancelled_by: Option<crate::Role>,
    /// Where the payment stands (issue 11): held from placing, then charged
    /// or released. `None` only for a view written before it was known.
    pub payment: Option<crate::PaymentState>,
    /// The rider who took the delivery job, once one has.
    pub rider: Option<UserId>,
    /// When it was placed (unix milliseconds).
    pub placed_at_ms: i64,
    /// When it last changed (unix milliseconds).
    pub updated_at_ms: i64,
    /// The customer's review, once written.
    pub review: Option<Review>,
    /// An owner has seen it (tapped the alarm, or accepted or rejected it):
    /// the dashboard alarm rings while a placed order is not (issue 5).
    pub acknowledged: bool,
    /// A repair shop's estimate when it accepted, in won (seed 001).
    #[serde(default)]
    pub estimate: Option<Money>,
    /// A repair's final amount once done, in won: what is charged (seed 001).
    #[serde(default)]
    pub final_amount: Option<Money>,
    /// A final amount above what is held, waiting for the customer's
    /// approval, in won (seed 001).
    #[serde(default)]
    pub proposed_amount: Option<Money>,
    /// What the payment holds now, in won (the total, or an approved
    /// higher final amount); `None` for views written before.
    #[serde(default)]
    pub held: Option<Money>,
    /// What was charged (or deducted from pay), in won, once it was.
    #[serde(default)]
    pub charged: Option<Money>,
}

impl OrderView {
    /// The vehicle type a delivery job needs; `None` for pickup.
    pub fn delivery_type(&self) -> Option<DeliveryType> {
        self.placed.fulfilment.delivery_type()
    }

    /// The people this order concerns, for [`crate::visibility`].
    pub fn parties(&self) -> crate::visibility::Parties {
        crate::visibility::Parties {
            customer: self.placed.customer,
            owner: self.placed.owner,
            vehicle: self.delivery_type(),
            rider: self.rider,
        }
    }

    /// What the payment holds, in won: the approved amount, else the total.
    pub fn held_amount(&self) -> Money {
        self.held.unwrap_or(self.placed.total)
    }
}

/// A customer's review of a completed order (requirement F11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// 1 to 5.
    pub stars: u8,
    /// At most [`Review::MAX_COMMENT_CHARS`] characters; may be empty.
    pub comment: String,
    /// The reviewer's display name.
    pub author: String,
    /// When it was written (unix milliseconds).
    pub created_at_ms: i64,
}

impl Review {
    /// The longest comment, in characters (issue 4).
    pub const MAX_COMMENT_CHARS: usize = crate::limits::REVIEW_COMMENT_CHARS;
}

/// A store's rating: average stars and the latest reviews.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreReviews {
    /// How many reviews.
    pub count: u32,
    /// Average stars times ten (45 = 4.5), so it stays an integer; 0 without reviews.
    pub average_tenths: u32,
    /// The latest few, newest first.
    pub recent: Vec<Review>,
}

/// One entry of a user's notification centre (requirement F10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The event that caused it (its sequence number in the log).
    pub seq: i64,
    /// The order it is about.
    pub order: OrderId,
    /// What happened, to be put into words when shown.
    pub notice: crate::notice::Notice,
    /// When (unix milliseconds).
    pub created_at_ms: i64,
    /// Whether the user has not opened the notification centre since.
    pub unread: bool,
}

/// Why a card number cannot be used, before any payment is tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enter a card number of 16 digits, e.g. the test card 4242 4242 4242 4242")]
pub struct CardNumberError;

/// A card number's 16 digits, spaces and dashes removed, checked with the
/// Luhn checksum so typos are caught before the gateway is asked.
pub fn card_digits(input: &str) -> Result<String, CardNumberError> {
    let digits: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() != 16 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CardNumberError);
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if !i.is_multiple_of(2) {
                let d2 = d * 2;
                if d2 > 9 {
                    d2 - 9
                } else {
                    d2
                }
            } else {
                d
            }
        })
        .sum();
    if sum.is_multiple_of(10) {
        Ok(digits)
    } else {
        Err(CardNumberError)
    }
}

/// The checkout form's fields as the browser sent them (requirement F3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutForm {
    /// The store whose cart is checked out.
    pub store: StoreId,
    /// `delivery` or `pickup`.
    pub fulfilment: String,
    /// For delivery: `walking`, `bicycle` or `motorbike` (F2).
    pub delivery_type: Option<String>,
    /// For delivery: the drop-off address.
    pub address: String,
    /// A note to the store; may be empty.
    pub note: String,
    /// `card` (the default when empty) or `payroll` (canteens, seed 003).
    pub payment_method: String,
    /// The card number (16 digits; spaces and dashes allowed), for a card.
    pub card_number: String,
    /// The employee number on the staff card, for a payroll deduction.
    pub employee_number: String,
    /// Generated when the checkout page was shown: the same key twice means
    /// the same checkout.
    pub idempotency_key: String,
}

/// What a customer typed into a refused checkout, kept so that the form
/// comes back filled in: without JavaScript (or before the page hydrated)
/// a refusal reloads the page, and the customer must not lose their
/// address and note to a declined card ("nothing that loses work").
///
/// Never the card number. Each field is cut to the form's own limit, so a
/// crafted request cannot make the session large.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutDraft {
    /// `delivery` or `pickup`, as sent.
    pub fulfilment: String,
    /// `walking`, `bicycle` or `motorbike`, as sent.
    pub delivery_type: Option<String>,
    /// The drop-off address, at most [`limits::DELIVERY_ADDRESS_CHARS`].
    pub address: String,
    /// The note to the store, at most [`limits::NOTE_CHARS`].
    pub note: String,
    /// `card` or `payroll`, as sent.
    pub payment_method: String,
    /// The employee number, at most [`limits::EMPLOYEE_NUMBER_CHARS`].
    pub employee_number: String,
}

impl CheckoutDraft {
    /// The draft of `form`: its fields cut to their limits, the card number left out.
    pub fn of(form: &CheckoutForm) -> CheckoutDraft {
        let cut = |s: &str, max: usize| s.chars().take(max).collect::<String>();
        let word = |s: &str| cut(s, 16);
        CheckoutDraft {
            fulfilment: word(&form.fulfilment),
            delivery_type: form.delivery_type.as_deref().map(word),
            address: cut(&form.address, limits::DELIVERY_ADDRESS_CHARS),
            note: cut(&form.note, limits::NOTE_CHARS),
            payment_method: word(&form.payment_method),
            employee_number: cut(&form.employee_number, limits::EMPLOYEE_NUMBER_CHARS),
        }
    }
}

/// How a checkout pays, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payment {
    /// A card's 16 digits, Luhn-checked.
    Card {
        /// The digits.
        digits: String,
    },
    /// A deduction from pay for the employee with this number (seed 003),
    /// upper-cased; the canteen's roster decides whether it is the
    /// customer's.
    Payroll {
        /// 1..=[`limits::EMPLOYEE_NUMBER_CHARS`] of `A-Z0-9-`.
        employee_number: String,
    },
}

impl Payment {
    /// Its method.
    pub fn method(&self) -> crate::PaymentMethod {
        match self {
            Payment::Card { .. } => crate::PaymentMethod::Card,
            Payment::Payroll { .. } => crate::PaymentMethod::Payroll,
        }
    }
}

/// Why an employee number cannot be used, before the roster is asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enter the employee number on your staff card, e.g. SK-1001")]
pub struct EmployeeNumberError;

/// An employee number as printed on a staff card (seed 003: "사원증"):
/// letters, digits and dashes, upper-cased, spaces around removed.
pub fn employee_number(input: &str) -> Result<String, EmployeeNumberError> {
    let number = input.trim().to_ascii_uppercase();
    if number.is_empty()
        || number.chars().count() > limits::EMPLOYEE_NUMBER_CHARS
        || !number.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(EmployeeNumberError);
    }
    Ok(number)
}

/// A checkout, parsed: everything the ordering context needs, each field
/// checked against [`limits`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutRequest {
    /// The store whose cart is checked out.
    pub store: StoreId,
    /// Delivery by a vehicle type (F2), or pickup.
    pub fulfilment: Fulfilment,
    /// The drop-off address ([`limits::DELIVERY_ADDRESS_MIN_CHARS`]..=
    /// [`limits::DELIVERY_ADDRESS_CHARS`]); empty for pickup.
    pub address: String,
    /// A note to the store (at most [`limits::NOTE_CHARS`], newlines kept).
    pub note: String,
    /// A card, or a deduction from pay.
    pub payment: Payment,
    /// 1..=[`limits::CHECKOUT_KEY_CHARS`] of `A-Za-z0-9_-`.
    pub idempotency_key: String,
}

impl CheckoutRequest {
    /// Parses the form, naming every field to correct at once.
    pub fn parse(form: &CheckoutForm) -> Result<CheckoutRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let fulfilment = match form.fulfilment.trim() {
            "pickup" => Some(Fulfilment::Pickup),
            "delivery" => match form
                .delivery_type
                .as_deref()
                .map(str::trim)
                .unwrap_or("")
                .parse::<DeliveryType>()
            {
                Ok(t) => Some(Fulfilment::Delivery(t)),
                Err(_) => {
                    errors.push(FieldError::new(
                        "delivery_type",
                        Problem::Choose {
                            what: Choice::DeliveryType,
                        },
                    ));
                    None
                }
            },
            _ => {
                errors.push(FieldError::new(
                    "fulfilment",
                    Problem::Choose {
                        what: Choice::Fulfilment,
                    },
                ));
                None
            }
        };
        let address = if form.fulfilment.trim() == "delivery" {
            match clean_text(&form.address, TextField::Address, limits::DELIVERY_ADDRESS_CHARS, false) {
                Ok(a) if a.chars().count() >= limits::DELIVERY_ADDRESS_MIN_CHARS => a,
                Ok(_) => {
                    errors.push(FieldError::new("address", Problem::AddressTooShort));
                    String::new()
                }
                Err(e) => {
                    errors.push(FieldError::new("address", e));
                    String::new()
                }
            }
        } else {
            String::new()
        };
        let note = if form.note.trim().is_empty() {
            String::new()
        } else {
            clean_text(&form.note, TextField::Note, limits::NOTE_CHARS, true).unwrap_or_else(|e| {
                errors.push(FieldError::new("note", e));
                String::new()
            })
        };
        let payment = match form.payment_method.trim() {
            "" | "card" => card_digits(&form.card_number)
                .map(|digits| Payment::Card { digits })
                .map_err(|_| errors.push(FieldError::new("card_number", Problem::CardNumber)))
                .ok(),
            "payroll" => employee_number(&form.employee_number)
                .map(|employee_number| Payment::Payroll { employee_number })
                .map_err(|_| errors.push(FieldError::new("employee_number", Problem::EmployeeNumber)))
                .ok(),
            _ => {
                errors.push(FieldError::new(
                    "payment_method",
                    Problem::Choose {
                        what: Choice::PaymentMethod,
                    },
                ));
                None
            }
        };
        let key = form.idempotency_key.trim().to_string();
        let key_ok = !key.is_empty()
            && key.len() <= limits::CHECKOUT_KEY_CHARS
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !key_ok {
            errors.push(FieldError::new("idempotency_key", Problem::StaleForm));
        }
        match (fulfilment, payment) {
            (Some(fulfilment), Some(payment)) if errors.is_empty() => Ok(CheckoutRequest {
                store: form.store,
                fulfilment,
                address,
                note,
                payment,
                idempotency_key: key,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_employee_number_is_upper_cased_and_anything_else_refused() {
        assert_eq!(employee_number(" sk-1001 ").as_deref(), Ok("SK-1001"));
        for bad in [
            "",
            "   ",
            "SK 1001",
            "<b>",
            &"1".repeat(limits::EMPLOYEE_NUMBER_CHARS + 1),
            "사원1",
        ] {
            assert!(employee_number(bad).is_err(), "{bad:?}");
        }
        let payroll = CheckoutRequest::parse(&CheckoutForm {
            payment_method: "payroll".into(),
            card_number: String::new(),
            employee_number: "sk-1002".into(),
            ..form()
        })
        .expect("valid");
        assert_eq!(
            payroll.payment,
            Payment::Payroll {
                employee_number: "SK-1002".into()
            }
        );
        let fields = |form: CheckoutForm| -> Vec<String> {
            CheckoutRequest::parse(&form)
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.field)
                .collect()
        };
        assert_eq!(
            fields(CheckoutForm {
                payment_method: "payroll".into(),
                ..form()
            }),
            ["employee_number"]
        );
        assert_eq!(
            fields(CheckoutForm {
                payment_method: "bitcoin".into(),
                ..form()
            }),
            ["payment_method"]
        );
    }

    #[test]
    fn test_cards_pass_and_typos_do_not() {
        assert_eq!(card_digits("4242 4242 4242 4242").as_deref(), Ok("4242424242424242"));
        assert_eq!(card_digits("4000-0000-0000-0002").as_deref(), Ok("4000000000000002"));
        assert!(card_digits("4242 4242 4242 4241").is_err());
        assert!(card_digits("4242 4242 4242").is_err());
        assert!(card_digits("4242 4242 4242 424x").is_err());
        assert!(card_digits("").is_err());
    }

    fn form() -> CheckoutForm {
        CheckoutForm {
            store: StoreId(3),
            fulfilment: "delivery".into(),
            delivery_type: Some("bicycle".into()),
            address: "  서울 강남구 역삼로 5 ".into(),
            note: "문 앞\r\n에 두세요".into(),
            payment_method: String::new(),
            card_number: "4242 4242 4242 4242".into(),
            employee_number: String::new(),
            idempotency_key: "key_1-A".into(),
        }
    }

    #[test]
    fn a_refused_checkout_keeps_what_was_typed_but_never_the_card() {
        let draft = CheckoutDraft::of(&form());
        assert_eq!(draft.address, "  서울 강남구 역삼로 5 ", "kept as typed");
        assert_eq!(draft.note, "문 앞\r\n에 두세요");
        assert_eq!(draft.delivery_type.as_deref(), Some("bicycle"));
        let kept = serde_json::to_string(&draft).unwrap();
        assert!(!kept.contains("4242"), "{kept}");
        let long = CheckoutForm {
            address: "가".repeat(10_000),
            note: "n".repeat(10_000),
            fulfilment: "x".repeat(10_000),
            employee_number: "1".repeat(10_000),
            ..form()
        };
        let draft = CheckoutDraft::of(&long);
        assert_eq!(draft.address.chars().count(), limits::DELIVERY_ADDRESS_CHARS);
        assert_eq!(draft.note.chars().count(), limits::NOTE_CHARS);
        assert_eq!(draft.employee_number.chars().count(), limits::EMPLOYEE_NUMBER_CHARS);
        assert!(draft.fulfilment.len() <= 16);
    }

    #[test]
    fn a_good_checkout_parses_into_domain_types() {
        let request = CheckoutRequest::parse(&form()).expect("valid");
        assert_eq!(request.fulfilment, Fulfilment::Delivery(DeliveryType::Bicycle));
        assert_eq!(request.address, "서울 강남구 역삼로 5");
        assert_eq!(request.note, "문 앞\n에 두세요", "newlines kept, normalised");
        assert_eq!(
            request.payment,
            Payment::Card {
                digits: "4242424242424242".into()
            }
        );
        let pickup = CheckoutRequest::parse(&CheckoutForm {
            fulfilment: "pickup".into(),
            delivery_type: None,
            address: String::new(),
            ..form()
        })
        .expect("pickup needs no address");
        assert_eq!((pickup.fulfilment, pickup.address.as_str()), (Fulfilment::Pickup, ""));
    }

    #[test]
    fn every_bad_checkout_field_is_named_at_once() {
        let bad = CheckoutForm {
            delivery_type: Some("helicopter".into()),
            address: "x".repeat(limits::DELIVERY_ADDRESS_CHARS + 1),
            note: "n".repeat(limits::NOTE_CHARS + 1),
            card_number: "1234".into(),
            idempotency_key: "<script>".into(),
            ..form()
        };
        let fields: Vec<String> = CheckoutRequest::parse(&bad)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(
            fields,
            ["delivery_type", "address", "note", "card_number", "idempotency_key"]
        );
        let short = CheckoutForm {
            address: "역삼".into(),
            ..form()
        };
        assert!(
            CheckoutRequest::parse(&short).is_err(),
            "an address needs a street and a number"
        );
        let drone = CheckoutForm {
            fulfilment: "drone".into(),
            ..form()
        };
        assert!(CheckoutRequest::parse(&drone).is_err());
    }
}
