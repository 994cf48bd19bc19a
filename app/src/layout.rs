//! The frame around every page: header (with the account menu) and footer.
//! It sits above the contexts' modules: it shows the account and the
//! notification bell side by side.

use domain::Role;
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
                <AccountMenu/>
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

/// The account menu in the top bar: log in / sign up, or the user's name,
/// their home and a logout button.
///
/// Every `Transition` here is created when the menu is, never inside an
/// async `Suspend`: a boundary or resource created once a resource resolves
/// takes its hydration id at a different moment on the server (after a
/// database read) than in the browser (at once, from the serialised data),
/// and every id after it shifts. A logged-in customer opening a store page
/// directly got the cart panel the menu's data and a hydration panic.
#[component]
pub fn AccountMenu() -> impl IntoView {
    let actions = crate::account::account_actions();
    let user = Resource::new(
        move || {
            (
                actions.login.version().get(),
                actions.logout.version().get(),
                actions.signup.version().get(),
            )
        },
        |_| crate::account::current_user(),
    );
    // Created here, outside the Suspense that shows it (leptos#4866).
    let unread = crate::customer::notifications::unread_resource();
    view! {
        <div class="account" data-testid="account-menu">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    user.await.ok().flatten().map(|user| view! {
                        {(user.role == Role::Customer).then(|| view! { <a href="/orders">"Orders"</a> })}
                        {(user.role == Role::Admin).then(|| view! { <a href="/admin">"Operations"</a> })}
                        <crate::live::LiveIndicator/>
                    })
                })}
            </Transition>
            <crate::customer::notifications::NotificationBell count=unread/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(user)) => view! {
                            <a class="account-name" href=crate::account::home_of(user.role)>
                                {user.display_name.clone()}
                                <span class="account-role">{user.role.label()}</span>
                            </a>
                            <ActionForm action=actions.logout attr:class="inline">
                                <button type="submit" class="link-button">"Log out"</button>
                            </ActionForm>
                        }.into_any(),
                        _ => view! {
                            <a href="/login">"Log in"</a>
                            <a class="pill" href="/signup">"Sign up"</a>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}
