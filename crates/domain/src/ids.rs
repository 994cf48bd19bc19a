//! Newtype ids. Each wraps the database's 64-bit row id; the wrapper keeps the
//! kinds apart at compile time (an `OrderId` is not a `StoreId`).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The raw row id.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            /// Parses a decimal id as it appears in a URL (`/stores/12`).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse::<i64>().map($name)
            }
        }
    };
}

id_type!(
    /// A store (restaurant, flower shop, canteen or repair shop).
    StoreId
);
id_type!(
    /// A menu item of one store.
    MenuItemId
);
id_type!(
    /// An order; also the correlation id of every event about it (requirement N5).
    OrderId
);
id_type!(
    /// A user account of any role.
    UserId
);
