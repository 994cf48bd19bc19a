//! Why a request was refused, as data (issue 12; STYLE.md: "a
//! client-facing error kind, serialisable, with stable names the UI can
//! translate"). The contexts say *what* is wrong with a [`Problem`]; the
//! screens put it into the reader's language, so a switch of language
//! changes the message too and no English is baked into a refusal.

use crate::{Money, Role, StoreKind};
use serde::{Deserialize, Serialize};

/// The free-text fields of the platform, for the messages about them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextField {
    /// A person's display name.
    Name,
    /// A store's name.
    StoreName,
    /// A store's street address.
    StoreAddress,
    /// A delivery address.
    Address,
    /// The customer's note to the store.
    Note,
    /// A store's reason for rejecting, in its own words.
    Reason,
    /// A review's comment.
    Comment,
    /// A menu section.
    Category,
    /// A menu item's name.
    ItemName,
    /// A menu item's description.
    Description,
    /// A payment failure's reason (the platform's own).
    PaymentFailure,
}

/// One of the closed choices a form offers, for "choose one of …".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// Delivery or pickup.
    Fulfilment,
    /// Walking, bicycle or motorbike.
    DeliveryType,
    /// Card or payroll deduction.
    PaymentMethod,
    /// Customer, store owner or rider (sign-up).
    Role,
    /// How a rider delivers (sign-up).
    Vehicle,
    /// The kind of store.
    StoreKind,
    /// Open, paused or closed.
    StoreStatus,
    /// Why a store rejects an order.
    RejectReason,
    /// 1 to 5 stars.
    Stars,
    /// Korean or English.
    Language,
    /// A kind of store in the store list's filter.
    KindFilter,
    /// Running, stopped or failing (an event consumer).
    ConsumerMode,
}

/// What does not exist (or is not the asker's to see: the same answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Thing {
    /// A page.
    Page,
    /// A store.
    Store,
    /// A canteen (a payroll statement of a store that is none).
    Canteen,
    /// An order.
    Order,
    /// A menu item.
    MenuItem,
    /// A line of the cart.
    CartItem,
    /// A delivery job.
    Job,
    /// One of the platform's event consumers (the admin screen).
    Consumer,
}

/// Why a card payment was declined (the gateway's answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decline", content = "text", rename_all = "snake_case")]
pub enum Decline {
    /// Declined, no reason given.
    Declined,
    /// Not enough money on the card.
    InsufficientFunds,
    /// Over the card's limit.
    OverLimit,
    /// Nothing to pay (a zero amount).
    NothingToPay,
    /// The gateway's own words, shown as they are.
    Other(String),
}

impl Decline {
    /// The stable code stored in ledgers: `declined`, `insufficient_funds`, ….
    pub fn code(&self) -> &str {
        match self {
            Decline::Declined => "declined",
            Decline::InsufficientFunds => "insufficient_funds",
            Decline::OverLimit => "over_limit",
            Decline::NothingToPay => "nothing_to_pay",
            Decline::Other(text) => text,
        }
    }

    /// Reads [`Decline::code`]; any other text is the gateway's own words.
    pub fn from_code(code: &str) -> Decline {
        match code {
            "declined" => Decline::Declined,
            "insufficient_funds" => Decline::InsufficientFunds,
            "over_limit" => Decline::OverLimit,
            "nothing_to_pay" => Decline::NothingToPay,
            other => Decline::Other(other.to_string()),
        }
    }
}

/// What a context refuses, for the screens to say in the reader's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    // ---- form fields ------------------------------------------------------
    /// Empty, too long or with control characters.
    Text(crate::text::TextError),
    /// Not one of the choices offered.
    Choose {
        /// Which choice.
        what: Choice,
    },
    /// Not a whole number.
    WholeNumber,
    /// A price outside 0 ..= max won.
    PriceRange {
        /// The most, in won.
        max: i64,
    },
    /// A stock outside 0 ..= max, or not a number.
    StockRange {
        /// The most units.
        max: i64,
    },
    /// A repair's estimate or final amount outside 1 ..= max won.
    AmountRange {
        /// The most, in won.
        max: i64,
    },
    /// A quantity outside 1 ..= 99.
    QuantityRange {
        /// The most.
        max: u8,
    },
    /// Preparation minutes outside 1 ..= 180.
    PrepMinutes,
    /// Not an email address.
    Email,
    /// A password of the wrong length.
    PasswordLength {
        /// Fewest characters.
        min: usize,
        /// Most characters.
        max: usize,
    },
    /// Another account has that email.
    EmailTaken,
    /// A card number that is not 16 digits or fails the checksum.
    CardNumber,
    /// An employee number that cannot be on a staff card.
    EmployeeNumber,
    /// A delivery address without a street and a number.
    AddressTooShort,
    /// A checkout form whose key is missing or malformed.
    StaleForm,
    /// A store offering neither delivery nor pickup.
    OfferSomething {
        /// The store's kind, for its words (탁송 · 직접 방문 at a repair
        /// shop); a restaurant's in problems told before.
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
    },
    /// A month not written `YYYY-MM`.
    Month,
    /// A value outside a range the operator's form allows.
    OutOfRange {
        /// The least.
        min: i64,
        /// The most.
        max: i64,
    },

    // ---- access -----------------------------------------------------------
    /// No such thing (or someone else's).
    NotFound {
        /// What.
        what: Thing,
    },
    /// This page or action is for another role.
    WrongRole {
        /// The role it is for.
        needed: Role,
        /// The asker's role.
        actual: Role,
    },
    /// A rider without a registered vehicle.
    NoVehicle,
    /// The request could not be read (a bad encoding, a missing field).
    Unreadable,
    /// The request's body arrived too slowly.
    TooSlow,
    /// No server function by that name.
    NoSuchAction,
    /// A method the address does not take.
    WrongMethod,
    /// A request from another site (CSRF).
    CrossSite,
    /// The operator's sandbox controls on a server with a real gateway.
    RealGateway,

    // ---- the store and the cart ------------------------------------------
    /// The item is sold out.
    SoldOut {
        /// The item's name.
        item: String,
    },
    /// Fewer left than asked for.
    OnlyLeft {
        /// The item's name.
        item: String,
        /// How many are left.
        left: u32,
    },
    /// More than 99 of one item.
    TooManyOfOne {
        /// The most.
        max: u8,
    },
    /// The store has paused orders.
    StorePaused {
        /// The store's name.
        store: String,
    },
    /// The store is closed.
    StoreClosed {
        /// The store's name.
        store: String,
    },
    /// The store does not deliver.
    NoDelivery {
        /// The store's name.
        store: String,
        /// The store's kind, for its words: a repair shop does not 탁송
        /// (problems told before it read as a restaurant's).
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
    },
    /// The store does not offer pickup.
    NoPickup {
        /// The store's name.
        store: String,
        /// The store's kind, for its words: a repair shop names the
        /// customer's own visit, not 포장.
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
    },
    /// The store does not take payroll deduction.
    NoPayroll {
        /// The store's name.
        store: String,
    },
    /// Below the store's minimum for delivery.
    BelowMinimum {
        /// The store's name.
        store: String,
        /// The minimum, in won.
        min: Money,
        /// The store's kind, for its words (what it offers instead).
        #[serde(default = "crate::kinds::restaurant")]
        kind: StoreKind,
    },
    /// Nothing in the cart.
    CartEmpty,
    /// An item of the cart left the menu.
    ItemGone,
    /// More than can be paid at once.
    OrderTooLarge,

    // ---- paying -----------------------------------------------------------
    /// The card was declined.
    Declined {
        /// The gateway's reason.
        reason: Decline,
    },
    /// The payment service is busy or down; try again shortly (N2).
    PaymentBusy,
    /// Too many checkouts at once; the page tries again by itself (N3).
    CheckoutBusy,
    /// The database is out of reach for a moment (restarting, failing
    /// over): the request changed nothing; try again shortly (issue 14).
    Unavailable,
    /// An item sold out while the customer was paying; the hold was released.
    SoldOutWhilePaying {
        /// The item's name.
        item: String,
        /// Card (released) or payroll (nothing deducted).
        method: crate::PaymentMethod,
    },
    /// The same checkout is still being paid for.
    StillPaying,
    /// The checkout was settled meanwhile.
    AlreadySettled,
    /// The order's payment is not held any more.
    NotHeld,
    /// No employee of the canteen has that number.
    UnknownEmployee {
        /// The number given.
        number: String,
    },
    /// That employee number is another employee's.
    SomeoneElsesNumber {
        /// The number given.
        number: String,
    },

    // ---- orders and jobs ---------------------------------------------------
    /// The order's state machine refused.
    Order(crate::OrderError),
    /// The delivery job's state machine refused.
    Job(crate::delivery::JobError),
    /// A rider with a job on the go takes another.
    FinishCurrentJob,
    /// A review before the order is done.
    ReviewTooEarly,
    /// A second review of one order.
    AlreadyReviewed,

    // ---- the platform -------------------------------------------------------
    /// Too many attempts; wait this many seconds.
    TooManyAttempts {
        /// Seconds.
        seconds: u64,
    },
}

impl From<crate::text::TextError> for Problem {
    fn from(e: crate::text::TextError) -> Problem {
        Problem::Text(e)
    }
}

impl From<crate::OrderError> for Problem {
    fn from(e: crate::OrderError) -> Problem {
        Problem::Order(e)
    }
}

impl From<crate::delivery::JobError> for Problem {
    fn from(e: crate::delivery::JobError) -> Problem {
        Problem::Job(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_travel_as_tagged_json_and_declines_keep_their_code() {
        let p = Problem::OnlyLeft {
            item: "튤립".into(),
            left: 2,
        };
        let json = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(json["problem"], "only_left");
        assert_eq!(serde_json::from_value::<Problem>(json).ok(), Some(p));
        for d in [
            Decline::Declined,
            Decline::InsufficientFunds,
            Decline::OverLimit,
            Decline::NothingToPay,
        ] {
            assert_eq!(Decline::from_code(d.code()), d);
        }
        assert_eq!(
            Decline::from_code("Do not honour"),
            Decline::Other("Do not honour".into())
        );
    }
}
