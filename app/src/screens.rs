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

/// Names in `<link rel=preload>` the chunks of the screens this page has
/// rendered so far, so that the browser fetches them with the main WASM
/// instead of after it (issue 13: on Fast 3G each later wave is another
/// half-second round trip). Called on the server once a screen's view is
/// ready, inside the page's own reactive owner.
///
/// leptos_integration_utils 0.8.9 does this itself after the render, but
/// outside any owner (`from_app` calls `use_context::<WasmSplitManifest>`
/// on whichever owner the thread last had), so a page got its preloads only
/// by chance, or got another page's. Taking the screens out of the set it
/// reads leaves it nothing to do. The links say `crossorigin="anonymous"`:
/// the chunk loader's `fetch` is a same-origin CORS request, and a preload
/// is only reused by a request with the same credentials mode.
#[cfg(feature = "ssr")]
fn preload_rendered_chunks() {
    use leptos::{PrefetchLazyFn, WasmSplitManifest};
    use leptos_meta::Link;
    let (Some(rendered), Some(manifest)) = (use_context::<PrefetchLazyFn>(), use_context::<WasmSplitManifest>()) else {
        return;
    };
    let screens: Vec<&'static str> = rendered
        .0
        .try_update_value(|screens| screens.drain().collect())
        .unwrap_or_default();
    let files: Vec<String> = manifest
        .0
        .try_with_value(|(pkg, chunks, _loader)| {
            let mut files: Vec<String> = screens
                .iter()
                .filter_map(|screen| chunks.get(*screen))
                .flatten()
                .map(|chunk| format!("{pkg}/{chunk}.wasm"))
                .collect();
            files.sort_unstable();
            files.dedup();
            files
        })
        .unwrap_or_default();
    for href in files {
        // Rendering a leptos_meta tag registers it for the page's <head>.
        let _ = view! {
            <Link rel="preload" href as_="fetch" type_="application/wasm" crossorigin="anonymous"/>
        }
        .to_html();
    }
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
                let view = $load.await;
                #[cfg(feature = "ssr")]
                preload_rendered_chunks();
                view
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
