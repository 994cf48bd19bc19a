//! Every limit on what a user types, in one place: the validation here and
//! in the contexts uses these, and so do the forms' `maxlength` and `min`/`max`
//! attributes, so a browser stops a user exactly where the server would.
//! Text lengths are in characters (not bytes), amounts in won.

/// A person's display name.
pub const DISPLAY_NAME_CHARS: usize = 50;
/// An email address (what SMTP allows).
pub const EMAIL_CHARS: usize = 254;
/// The shortest password (no composition rules; NIST SP 800-63B).
pub const PASSWORD_MIN_CHARS: usize = 8;
/// The longest password.
pub const PASSWORD_MAX_CHARS: usize = 128;
/// A store's name.
pub const STORE_NAME_CHARS: usize = 60;
/// A store's street address.
pub const STORE_ADDRESS_CHARS: usize = 120;
/// A delivery address: at most this long…
pub const DELIVERY_ADDRESS_CHARS: usize = 200;
/// …and at least this long (a street and a number).
pub const DELIVERY_ADDRESS_MIN_CHARS: usize = 5;
/// The customer's note to the store.
pub const NOTE_CHARS: usize = 200;
/// A checkout form's idempotency key (`A-Za-z0-9_-`).
pub const CHECKOUT_KEY_CHARS: usize = 64;
/// A menu section's name (e.g. "치킨").
pub const MENU_SECTION_CHARS: usize = 30;
/// A menu item's name.
pub const MENU_ITEM_NAME_CHARS: usize = 60;
/// A menu item's description.
pub const MENU_ITEM_DESCRIPTION_CHARS: usize = 200;
/// The most a menu item may cost, in won.
pub const MAX_PRICE_WON: i64 = 10_000_000;
/// The most units an owner may put in stock.
pub const MAX_STOCK: i64 = 9_999;
/// A store's reason for rejecting an order, in its own words.
pub const REJECT_REASON_CHARS: usize = 200;
/// A review's comment.
pub const REVIEW_COMMENT_CHARS: usize = 1000;
/// A search box entry (longer ones are cut, never refused).
pub const SEARCH_CHARS: usize = 50;
/// The most a repair's estimate or final amount may be, in won (seed 001).
pub const MAX_REPAIR_WON: i64 = 50_000_000;
/// An employee number on a canteen's staff card (seed 003).
pub const EMPLOYEE_NUMBER_CHARS: usize = 20;
