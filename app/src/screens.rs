//! The screens loaded on demand (issue 13): each is a [`LazyRoute`] whose
//! view, and every view type only it uses, `cargo leptos build --split`
//! moves out of the main WASM into a chunk of its own that the browser
//! fetches when the screen is first shown. The customer's first screens
//! (the store list, a store's menu) and the login form stay in the main
//! bundle, so a phone opening a store downloads neither the owner's
//! dashboard nor the rider's, the admin's or the checkout's code.
//!
//! A screen's data loads inside its view, as in the main bundle: on a
//! server-rendered page it is already in the HTML, so hydration waits only
//! for the chunk.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

/// `/signup`: [`crate::account::SignupPage`].
pub struct Signup;

#[lazy_route]
impl LazyRoute for Signup {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        use crate::account::SignupPage;
        view! { <SignupPage/> }.into_any()
    }
}

/// `/owner`: [`crate::owner::OwnerHome`].
pub struct OwnerStores;

#[lazy_route]
impl LazyRoute for OwnerStores {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        use crate::owner::OwnerHome;
        view! { <OwnerHome/> }.into_any()
    }
}

/// `/owner/stores/:id`: [`crate::owner::OwnerStorePage`], the live order board.
pub struct OwnerStore;

#[lazy_route]
impl LazyRoute for OwnerStore {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        use crate::owner::OwnerStorePage;
        view! { <OwnerStorePage/> }.into_any()
    }
}

/// `/owner/stores/:id/payroll`: [`crate::owner::payroll::PayrollStatementPage`].
pub struct Payroll;

#[lazy_route]
impl LazyRoute for Payroll {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        use crate::owner::payroll::PayrollStatementPage;
        view! { <PayrollStatementPage/> }.into_any()
    }
}

/// `/rider`: [`crate::rider::RiderPage`].
pub struct Rider;

#[lazy_route]
impl LazyRoute for Rider {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        use crate::rider::RiderPage;
        view! { <RiderPage/> }.into_any()
    }
}

/// `/checkout`: [`crate::customer::checkout::CheckoutPage`].
pub struct Checkout;

#[lazy_route]
impl LazyRoute for Checkout {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        use crate::customer::checkout::CheckoutPage;
        view! { <CheckoutPage/> }.into_any()
    }
}

/// `/orders`: [`crate::customer::orders::OrdersPage`].
pub struct Orders;

#[lazy_route]
impl LazyRoute for Orders {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        use crate::customer::orders::OrdersPage;
        view! { <OrdersPage/> }.into_any()
    }
}

/// `/orders/:id`: [`crate::customer::orders::OrderPage`], one order's progress.
pub struct Order;

#[lazy_route]
impl LazyRoute for Order {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        use crate::customer::orders::OrderPage;
        view! { <OrderPage/> }.into_any()
    }
}

/// `/notifications`: [`crate::customer::notifications::NotificationsPage`].
pub struct Notifications;

#[lazy_route]
impl LazyRoute for Notifications {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        use crate::customer::notifications::NotificationsPage;
        view! { <NotificationsPage/> }.into_any()
    }
}

/// `/admin`: [`crate::admin::AdminPage`].
pub struct Admin;

#[lazy_route]
impl LazyRoute for Admin {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        use crate::admin::AdminPage;
        view! { <AdminPage/> }.into_any()
    }
}
