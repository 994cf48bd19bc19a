//! The customer's screens (requirements F1–F3, F7, F9–F11): browsing stores
//! and menus, the cart, checkout, the order history and one order's
//! progress, and the notification centre (shared with every role).

pub mod cart;
pub mod checkout;
pub mod notifications;
pub mod orders;
pub mod stores;
