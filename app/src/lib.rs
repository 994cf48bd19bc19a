//! The Leptos application: pages, components and the server functions they call.
//!
//! Compiled twice: with `ssr` into the server (server functions call the
//! contexts) and with `hydrate` into the browser's wasm (server functions
//! become HTTP calls). One file per feature; server-only code sits behind
//! `#[cfg(feature = "ssr")]`.

pub mod account;
pub mod admin;
pub mod catalog;
pub mod error;
mod layout;
pub mod live;
pub mod orders;
pub mod owner;
pub mod rider;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="ko">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: routes and the frame around every page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    account::provide_account_actions();
    live::provide_live();
    view! {
        <Stylesheet id="leptos" href="/pkg/delivery.css"/>
        <Link rel="manifest" href="/manifest.webmanifest"/>
        <Link rel="icon" href="/icons/icon-192.png"/>
        <Meta name="theme-color" content="#2ac1bc"/>
        <Title formatter=|text: String| if text.is_empty() { "배달 Baedal".to_string() } else { format!("{text} · 배달 Baedal") }/>
        <Router>
            <layout::Header/>
            <main class="page">
                // Async: the whole page waits for its data so the status code
                // (404 for an unknown store) is right on the first byte.
                <Routes fallback=|| view! { <error::NotFound/> }>
                    <Route path=StaticSegment("") view=catalog::HomePage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("stores"), ParamSegment("id")) view=catalog::StorePage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("login") view=account::LoginPage/>
                    <Route path=StaticSegment("signup") view=account::SignupPage/>
                    <Route path=StaticSegment("owner") view=account::OwnerHome ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("owner"), StaticSegment("stores"), ParamSegment("id")) view=owner::OwnerStorePage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("rider") view=rider::RiderPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("checkout") view=orders::CheckoutPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("orders") view=orders::OrdersPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("orders"), ParamSegment("id")) view=orders::OrderPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("notifications") view=orders::NotificationsPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("admin") view=admin::AdminPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <layout::Footer/>
        </Router>
    }
}
