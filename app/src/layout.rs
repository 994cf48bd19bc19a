//! The frame around every page: header (with the account menu) and footer.
//! It sits above the contexts' modules: it shows the account and the
//! notification bell side by side.

use crate::i18n::*;
use domain::Role;
use leptos::prelude::*;

/// The top bar: the brand, linking home.
#[component]
pub fn Header() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"배"</span>
                <span class="brand-name">"배달 Baedal"</span>
            </a>
            <nav class="topnav" aria-label=move || t_string!(i18n, nav.main)>
                <a href="/">{t!(i18n, nav.stores)}</a>
                <AccountMenu/>
                <crate::lang::Switch/>
            </nav>
        </header>
    }
}

/// The bottom line of every page.
#[component]
pub fn Footer() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <footer class="footer">
            <p>{t!(i18n, footer.text)}</p>
            // On a phone the language switch lives here: the top bar keeps
            // one row for the brand, the account and its live dot.
            <div class="footer-lang"><crate::lang::Switch/></div>
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
    let i18n = use_i18n();
    let remember = ServerAction::<crate::lang::SetLanguage>::new();
    // The language the account chose follows its user to every device
    // (issue 12): after a login, the page switches to it.
    Effect::new(move |_| {
        let chosen = user
            .get()
            .and_then(Result::ok)
            .flatten()
            .and_then(|u| u.language)
            .and_then(|code| crate::lang::parse(&code));
        if let Some(locale) = chosen.filter(|l| *l != i18n.get_locale_untracked()) {
            // Not before the whole page has hydrated: a screen still
            // waiting for its chunk would hydrate in the new language
            // against markup in the old one, and panic (the account's
            // language chosen on another device, this one's cookie older).
            crate::ui::when_hydrated(move || {
                i18n.set_locale(locale);
                // The bundle writes no cookie (app/Cargo.toml): the server
                // keeps the language for this device's next page.
                remember.dispatch(crate::lang::SetLanguage {
                    lang: crate::lang::code(locale).to_string(),
                });
            });
        }
    });
    view! {
        <div class="account" data-testid="account-menu">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    user.await.ok().flatten().map(|user| view! {
                        {(user.role == Role::Customer).then(|| view! { <a href="/orders">{t!(i18n, nav.orders)}</a> })}
                        {(user.role == Role::Admin).then(|| view! { <a href="/admin">{t!(i18n, nav.operations)}</a> })}
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
                                <span class="account-who">{user.display_name.clone()}</span>
                                <span class="account-role">{move || crate::words::role(i18n.get_locale(), user.role)}</span>
                            </a>
                            <ActionForm action=actions.logout attr:class="inline">
                                <button type="submit" class="link-button">{t!(i18n, nav.log_out)}</button>
                            </ActionForm>
                        }.into_any(),
                        _ => view! {
                            <a href="/login">{t!(i18n, nav.log_in)}</a>
                            <a class="pill" href="/signup">{t!(i18n, nav.sign_up)}</a>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}
