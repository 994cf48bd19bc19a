//! The Leptos application: pages, components and the server functions they call.
//!
//! Compiled twice: with `ssr` into the server (server functions call the
//! contexts) and with `hydrate` into the browser's wasm (server functions
//! become HTTP calls). Screens by audience — [`customer`], [`owner`],
//! [`rider`], [`admin`], [`account`] — with their server functions beside
//! them; [`server`] holds what every server function does on the server,
//! [`ui`] the widgets every screen shares. Server-only code sits behind
//! `#[cfg(feature = "ssr")]`.

pub mod account;
pub mod admin;
pub mod customer;
pub mod error;
mod layout;
pub mod live;
pub mod nav;
pub mod owner;
pub mod rider;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod state;
pub mod ui;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{ParamSegment, SsrMode, StaticSegment};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_page_security_policy();
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

/// The Content-Security-Policy of every page (issue 15, item 10): scripts
/// run only when they carry this response's `nonce` (Leptos puts it on its
/// hydration and streaming scripts) or are loaded by one that does
/// (`strict-dynamic`), plus WebAssembly compilation; everything else comes
/// from this site only; no plugins, no `<base>`, forms post here only, and
/// no other site may frame the page. An injected `<script>` or `onerror=`
/// does not run even where escaping fails.
pub fn page_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Sends [`page_security_policy`] with this response's nonce.
#[cfg(feature = "ssr")]
fn set_page_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = http::HeaderValue::from_str(&page_security_policy(&nonce)) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Escapes a page title for the server's `<title>` (issue 15, item 3).
///
/// leptos_meta 0.8 (0.9-rc too) writes the title into the document head
/// as it is, unescaped (`ServerMetaContextOutput::inject_meta_context`), so
/// a store named `</title><img src=x onerror=…>` became markup on its page.
/// Every title goes through the one formatter in [`App`], which escapes it
/// on the server; in the browser the title is set as `document.title`, plain
/// text, where escaping would show the entities.
pub fn title_text(text: &str) -> String {
    let full = if text.is_empty() {
        "배달 Baedal".to_string()
    } else {
        format!("{text} · 배달 Baedal")
    };
    escaped_on_server(full)
}

#[cfg(feature = "ssr")]
fn escaped_on_server(text: String) -> String {
    html_escape::encode_text(&text).into_owned()
}

#[cfg(not(feature = "ssr"))]
fn escaped_on_server(text: String) -> String {
    text
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
        <Title formatter=|text: String| title_text(&text)/>
        <Router>
            <layout::Header/>
            <main class="page">
                // Async: the whole page waits for its data so the status code
                // (404 for an unknown store) is right on the first byte.
                <Routes fallback=|| view! { <error::NotFound/> }>
                    <Route path=StaticSegment("") view=customer::stores::HomePage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("stores"), ParamSegment("id")) view=customer::stores::StorePage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("login") view=account::LoginPage/>
                    <Route path=StaticSegment("signup") view=account::SignupPage/>
                    <Route path=StaticSegment("owner") view=owner::OwnerHome ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("owner"), StaticSegment("stores"), ParamSegment("id")) view=owner::OwnerStorePage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("owner"), StaticSegment("stores"), ParamSegment("id"), StaticSegment("payroll")) view=owner::payroll::PayrollStatementPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("rider") view=rider::RiderPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("checkout") view=customer::checkout::CheckoutPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("orders") view=customer::orders::OrdersPage ssr=SsrMode::Async/>
                    <Route path=(StaticSegment("orders"), ParamSegment("id")) view=customer::orders::OrderPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("notifications") view=customer::notifications::NotificationsPage ssr=SsrMode::Async/>
                    <Route path=StaticSegment("admin") view=admin::AdminPage ssr=SsrMode::Async/>
                </Routes>
            </main>
            <layout::Footer/>
        </Router>
    }
}
