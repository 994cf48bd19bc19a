//! The screens loaded on demand (issue 13). Each route here is a
//! [`LazyRoute`] whose view calls one `#[lazy]` function per audience —
//! the owner's, the rider's, the admin's, the customer's after the menu,
//! sign-up — and `cargo leptos build --split` moves each such function, and
//! every view type only it uses, out of the main WASM into a chunk the
//! browser fetches when one of its screens is first shown. The customer's
//! first screens (the store list, a store's menu) and the login form stay
//! in the main bundle, so a phone opening a store downloads none of the
//! others' code.
//!
//! One split point per audience rather than per screen: each split point,
//! and each set of them sharing code, becomes a file of its own, and on a
//! slow phone over HTTP/1.1 (six connections, half a second each way on
//! Fast 3G) forty small files cost more than the bytes they save.
//!
//! A screen's data loads inside its view, as in the main bundle: on a
//! server-rendered page it is already in the HTML, and the server names the
//! page's chunks in `<link rel=preload>`, so hydration waits only for them.

use leptos::prelude::*;
use leptos_router::LazyRoute;

/// A screen of the store owner's (`/owner…`).
#[derive(Clone, Copy)]
enum OwnerScreen {
    Stores,
    Board,
    Payroll,
}

#[lazy]
fn owner_screen(screen: OwnerScreen) -> AnyView {
    use crate::owner::{payroll::PayrollStatementPage, OwnerHome, OwnerStorePage};
    match screen {
        OwnerScreen::Stores => view! { <OwnerHome/> }.into_any(),
        OwnerScreen::Board => view! { <OwnerStorePage/> }.into_any(),
        OwnerScreen::Payroll => view! { <PayrollStatementPage/> }.into_any(),
    }
}

/// A screen of the customer's after the menu.
#[derive(Clone, Copy)]
enum CustomerScreen {
    Checkout,
    Orders,
    Order,
    Notifications,
}

#[lazy]
fn customer_screen(screen: CustomerScreen) -> AnyView {
    use crate::customer::{
        checkout::CheckoutPage,
        notifications::NotificationsPage,
        orders::{OrderPage, OrdersPage},
    };
    match screen {
        CustomerScreen::Checkout => view! { <CheckoutPage/> }.into_any(),
        CustomerScreen::Orders => view! { <OrdersPage/> }.into_any(),
        CustomerScreen::Order => view! { <OrderPage/> }.into_any(),
        CustomerScreen::Notifications => view! { <NotificationsPage/> }.into_any(),
    }
}

#[lazy]
fn rider_screen() -> AnyView {
    use crate::rider::RiderPage;
    view! { <RiderPage/> }.into_any()
}

#[lazy]
fn admin_screen() -> AnyView {
    use crate::admin::AdminPage;
    view! { <AdminPage/> }.into_any()
}

#[lazy]
fn signup_screen() -> AnyView {
    use crate::account::SignupPage;
    view! { <SignupPage/> }.into_any()
}

/// Declares a route type whose view is `$load`, one of the functions above,
/// and whose `preload` fetches that function's chunk (`$preload`, which
/// `#[lazy]` defines in the browser's build only). The router awaits
/// `preload` before it hydrates or shows the screen, so the view is ready
/// at once: a view still waiting for its chunk while hydrating would not
/// match the server's markup.
macro_rules! on_demand {
    ($(#[$doc:meta])* $route:ident => $load:expr, $preload:ident) => {
        $(#[$doc])*
        pub struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            async fn view(_this: Self) -> AnyView {
                $load.await
            }

            async fn preload() {
                #[cfg(target_arch = "wasm32")]
                $preload().await;
            }
        }
    };
}

on_demand!(
    /// `/signup`: [`crate::account::SignupPage`].
    Signup => signup_screen(), __preload_signup_screen
);
on_demand!(
    /// `/owner`: [`crate::owner::OwnerHome`], the owner's stores.
    OwnerStores => owner_screen(OwnerScreen::Stores), __preload_owner_screen
);
on_demand!(
    /// `/owner/stores/:id`: [`crate::owner::OwnerStorePage`], the live order board.
    OwnerStore => owner_screen(OwnerScreen::Board), __preload_owner_screen
);
on_demand!(
    /// `/owner/stores/:id/payroll`: [`crate::owner::payroll::PayrollStatementPage`].
    Payroll => owner_screen(OwnerScreen::Payroll), __preload_owner_screen
);
on_demand!(
    /// `/rider`: [`crate::rider::RiderPage`].
    Rider => rider_screen(), __preload_rider_screen
);
on_demand!(
    /// `/admin`: [`crate::admin::AdminPage`].
    Admin => admin_screen(), __preload_admin_screen
);
on_demand!(
    /// `/checkout`: [`crate::customer::checkout::CheckoutPage`].
    Checkout => customer_screen(CustomerScreen::Checkout), __preload_customer_screen
);
on_demand!(
    /// `/orders`: [`crate::customer::orders::OrdersPage`].
    Orders => customer_screen(CustomerScreen::Orders), __preload_customer_screen
);
on_demand!(
    /// `/orders/:id`: [`crate::customer::orders::OrderPage`], one order's progress.
    Order => customer_screen(CustomerScreen::Order), __preload_customer_screen
);
on_demand!(
    /// `/notifications`: [`crate::customer::notifications::NotificationsPage`].
    Notifications => customer_screen(CustomerScreen::Notifications), __preload_customer_screen
);
