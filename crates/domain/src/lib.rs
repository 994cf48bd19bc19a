//! The pure domain of the delivery platform (DESIGN.md §2, "crates/domain").
//!
//! Everything here is plain data and pure functions: no IO, no clocks, no
//! randomness, so the same rules run on the server and in the browser (wasm32).
//!
//! - [`ids`]: newtype ids so a store id can never be passed as an order id.
//! - [`money`]: amounts in won with checked arithmetic, and [`money::Quantity`] (1..=99).
//! - [`kinds`]: the small closed vocabularies (delivery type, fulfilment, role, store kind…).
//! - [`order`]: the order lifecycle as a state machine with its commands and events.
//! - [`delivery`]: the delivery job as a state machine (claim, pick up, deliver, cancel).
//! - [`event`]: every event of the log as one typed contract.
//! - [`notice`]: what a notification says, stored as data and worded when shown.
//! - [`catalog`]: the read shapes of stores and menu items shown to customers.
//! - [`shop`]: carts, placed orders, notifications and reviews as the screens show them.
//! - [`text`]: validation of free text coming from users; [`limits`]: every limit on it.
//! - [`visibility`]: who may see which order and which of its events.

pub mod catalog;
pub mod delivery;
pub mod email;
pub mod event;
pub mod ids;
pub mod kinds;
pub mod kst;
pub mod limits;
pub mod money;
pub mod notice;
pub mod order;
pub mod problem;
pub mod shop;
pub mod text;
pub mod visibility;

pub use delivery::{DeliveryEvent, DeliveryJob, JobStatus};
pub use event::{Event, PaymentEvent, PaymentState};
pub use ids::{MenuItemId, OrderId, StoreId, UserId};
pub use kinds::{DeliveryType, Fulfilment, PaymentMethod, Role, StoreKind, StoreStatus};
pub use money::{Money, MoneyError, Quantity, QuantityError};
pub use order::{Actor, Order, OrderCommand, OrderError, OrderEvent, OrderStatus};
pub use text::FieldError;
