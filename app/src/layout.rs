//! The frame around every page: header and footer.

use leptos::prelude::*;

/// The top bar: the brand, linking home.
#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"배"</span>
                <span class="brand-name">"배달 Baedal"</span>
            </a>
            <nav class="topnav" aria-label="Main">
                <a href="/">"Stores"</a>
                <crate::account::AccountMenu/>
            </nav>
        </header>
    }
}

/// The bottom line of every page.
#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="footer">
            <p>"Baedal — an open-source delivery platform. Prices include VAT."</p>
        </footer>
    }
}
