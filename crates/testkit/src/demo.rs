//! The demo accounts `make run` seeds (`server/src/demo.rs`; the stores
//! and their owners come from `catalog::demo`), as tests log in with them.

/// The password of every demo account.
pub const PASSWORD: &str = "demo1234";
/// A customer (민준).
pub const CUSTOMER: &str = "minjun@demo.delivery";
/// Another customer (서연), who must not see the first one's orders.
pub const OTHER_CUSTOMER: &str = "seoyeon@demo.delivery";
/// The owner of the chicken restaurant (delivery and pickup).
pub const OWNER: &str = "owner.chicken@demo.delivery";
/// The owner of the snack bar, who must not see the chicken store's orders.
pub const OTHER_OWNER: &str = "owner.bunsik@demo.delivery";
/// The owner of the company canteen (pickup only).
pub const CANTEEN_OWNER: &str = "owner.canteen@demo.delivery";
/// A rider on a motorbike.
pub const MOTO_RIDER: &str = "rider.moto@demo.delivery";
/// A rider on a bicycle.
pub const BIKE_RIDER: &str = "rider.bike@demo.delivery";
/// The platform's operator.
pub const ADMIN: &str = "admin@demo.delivery";
