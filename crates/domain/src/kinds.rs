//! Closed vocabularies of the platform. Each has a stable lowercase name
//! (`as_str`/`FromStr`) used in URLs, forms, the database and event payloads.

use serde::{Deserialize, Serialize};

/// An unknown name for one of the closed vocabularies below.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} \"{given}\"; expected one of: {expected}")]
pub struct UnknownName {
    /// Which vocabulary, e.g. "delivery type".
    pub what: &'static str,
    /// What was given (cut to 40 characters).
    pub given: String,
    /// The accepted names, comma separated.
    pub expected: &'static str,
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal, $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable machine name (`snake_case`).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// An English name for logs and the console banner; screens take
            /// their words, in the reader's language, from the app's `words` module.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::kinds::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::kinds::UnknownName {
                        what: $what,
                        given: s.chars().take(40).collect(),
                        expected: concat!($($text, " "),+).trim_ascii_end(),
                    }),
                }
            }
        }
    };
}
pub(crate) use named_enum;

named_enum!(
    /// How a delivery travels (requirement F2): riders only see jobs of their own vehicle type.
    DeliveryType, "delivery type", {
        /// On foot: short distances.
        Walking => "walking", "Walking",
        /// By bicycle.
        Bicycle => "bicycle", "Bicycle",
        /// By motorbike: the usual Korean delivery.
        Motorbike => "motorbike", "Motorbike",
    }
);

named_enum!(
    /// What a user is on the platform. One role per account.
    Role, "role", {
        /// Orders food and goods.
        Customer => "customer", "Customer",
        /// Runs one or more stores.
        Owner => "owner", "Store owner",
        /// Delivers orders with one vehicle type.
        Rider => "rider", "Rider",
        /// Operates the platform.
        Admin => "admin", "Operator",
    }
);

named_enum!(
    /// The kinds of store the seed documents describe (DESIGN.md §1).
    StoreKind, "store kind", {
        /// Restaurants delivered by riders (seeds 000, 004).
        Restaurant => "restaurant", "Restaurant",
        /// A flower shop whose items have limited stock (seed 002).
        FlowerShop => "flower_shop", "Flower shop",
        /// A company canteen: pickup only, settled after completion (seed 003).
        Canteen => "canteen", "Canteen",
        /// A car repair shop, paid only for completed repairs (seed 001).
        RepairShop => "repair_shop", "Repair shop",
    }
);

/// Orders placed before the kind rode on `OrderPlaced` read as a restaurant's.
pub(crate) fn restaurant() -> StoreKind {
    StoreKind::Restaurant
}

named_enum!(
    /// How an order is paid (issue 11).
    PaymentMethod, "payment method", {
        /// A card: held at checkout, charged once the work is done (F3, F13).
        Card => "card", "Card",
        /// Deducted from the employee's pay once the meal is collected — a
        /// company canteen's way (seed 003: "급여 차감은 주문이 완료 상태이어야 한다").
        Payroll => "payroll", "Payroll deduction",
    }
);

impl PaymentMethod {
    /// Whether a store of `kind` takes this method: every store takes
    /// cards; only a canteen deducts from its employees' pay.
    pub fn offered_by(self, kind: StoreKind) -> bool {
        match self {
            PaymentMethod::Card => true,
            PaymentMethod::Payroll => kind == StoreKind::Canteen,
        }
    }
}

/// Orders and payments recorded before the method rode on them were paid by card.
pub(crate) fn card() -> PaymentMethod {
    PaymentMethod::Card
}

named_enum!(
    /// Whether a store takes orders now.
    StoreStatus, "store status", {
        /// Taking orders.
        Open => "open", "Open",
        /// Temporarily not taking orders (too busy); opens again soon.
        Paused => "paused", "Paused",
        /// Closed for the day.
        Closed => "closed", "Closed",
    }
);

impl DeliveryType {
    /// The delivery fee the customer pays for this vehicle type, in won
    /// (requirement F2: the fee follows the type; faster costs more).
    pub fn fee(self) -> crate::Money {
        crate::Money::from_won(match self {
            DeliveryType::Walking => 2_000,
            DeliveryType::Bicycle => 3_000,
            DeliveryType::Motorbike => 4_000,
        })
        .unwrap_or(crate::Money::ZERO)
    }
}

/// How the customer receives an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode", content = "by")]
pub enum Fulfilment {
    /// A rider of the given vehicle type brings it to the customer (F2, F6).
    Delivery(DeliveryType),
    /// The customer collects it at the store (F12).
    Pickup,
}

impl Fulfilment {
    /// The fee for this fulfilment in won: the vehicle's fee, or nothing for pickup.
    pub fn fee(self) -> crate::Money {
        match self {
            Fulfilment::Delivery(t) => t.fee(),
            Fulfilment::Pickup => crate::Money::ZERO,
        }
    }

    /// The rider vehicle type, for delivery orders.
    pub fn delivery_type(self) -> Option<DeliveryType> {
        match self {
            Fulfilment::Delivery(t) => Some(t),
            Fulfilment::Pickup => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in DeliveryType::ALL {
            assert_eq!(t.as_str().parse::<DeliveryType>(), Ok(*t));
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(*r));
        }
        for k in StoreKind::ALL {
            assert_eq!(k.as_str().parse::<StoreKind>(), Ok(*k));
        }
        for s in StoreStatus::ALL {
            assert_eq!(s.as_str().parse::<StoreStatus>(), Ok(*s));
        }
    }

    #[test]
    fn unknown_name_says_what_is_expected() {
        let err = "helicopter".parse::<DeliveryType>().err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("unknown delivery type \"helicopter\"; expected one of: walking bicycle motorbike".into())
        );
    }

    #[test]
    fn faster_vehicles_cost_more_and_pickup_is_free() {
        let fees: Vec<i64> = DeliveryType::ALL.iter().map(|t| t.fee().won()).collect();
        assert_eq!(fees, vec![2_000, 3_000, 4_000]);
        assert_eq!(Fulfilment::Pickup.fee().won(), 0);
        assert_eq!(Fulfilment::Delivery(DeliveryType::Bicycle).fee().won(), 3_000);
    }

    #[test]
    fn serde_names_match_as_str() {
        assert_eq!(
            serde_json::to_string(&StoreKind::FlowerShop).ok(),
            Some("\"flower_shop\"".into())
        );
        assert_eq!(
            serde_json::to_string(&Fulfilment::Delivery(DeliveryType::Bicycle)).ok(),
            Some(r#"{"mode":"delivery","by":"bicycle"}"#.into())
        );
    }
}
