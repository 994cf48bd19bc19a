//! The browser entry point: hydrates the server-rendered page.

use std::cell::{Cell, RefCell};
use wasm_bindgen::{closure::Closure, JsCast};

/// Called by the generated JS once the WASM is loaded. Hydrates
/// asynchronously (`hydrate_from_async`, as `leptos::mount::hydrate_lazy`
/// does) because a screen loaded on demand (`app::screens`, `cargo leptos
/// build --split`) must fetch its chunk before it can take over its markup.
/// Marks `<body data-hydrated="true">` once the whole page is live, so
/// browser tests know when they can click.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(on_panic));
    remember_where_the_reader_is_going();
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document().body();
        let Some(body) = body else { return };
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        HYDRATED.set(true);
        let _ = body.set_attribute("data-hydrated", "true");
    });
}

/// How long after a click or a history step a panic is taken for that
/// navigation's failure, in milliseconds.
const NAVIGATION_WINDOW_MS: f64 = 30_000.0;

thread_local! {
    /// Whether hydration finished: a panic before that (in hydration
    /// itself) must not send the reader anywhere, or a page that always
    /// fails would reload for ever.
    static HYDRATED: Cell<bool> = const { Cell::new(false) };
    /// The page the reader last asked for (a link's address, or the
    /// address a back or forward step led to), and when (`Date.now()`).
    static GOING_TO: RefCell<Option<(String, f64)>> = const { RefCell::new(None) };
}

/// Notes each link click (in the capture phase, before the router takes
/// it) and each back or forward step, for [`on_panic`].
fn remember_where_the_reader_is_going() {
    let window = leptos::prelude::window();
    let on_click = Closure::<dyn Fn(web_sys::Event)>::new(|event: web_sys::Event| {
        let link = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|element| element.closest("a[href]").ok().flatten())
            .and_then(|element| element.dyn_into::<web_sys::HtmlAnchorElement>().ok());
        // Only this site's pages: the router takes no other link, so no
        // other link can end in a failed chunk (nor may a panic follow one).
        let here = leptos::prelude::window().location().origin().ok();
        if let Some(link) = link.filter(|link| Some(link.origin()) == here) {
            GOING_TO.set(Some((link.href(), js_sys::Date::now())));
        }
    });
    let on_history = Closure::<dyn Fn(web_sys::Event)>::new(|_: web_sys::Event| {
        if let Ok(href) = leptos::prelude::window().location().href() {
            GOING_TO.set(Some((href, js_sys::Date::now())));
        }
    });
    let document = leptos::prelude::document();
    let _ = document.add_event_listener_with_callback_and_bool("click", on_click.as_ref().unchecked_ref(), true);
    let _ = window.add_event_listener_with_callback("popstate", on_history.as_ref().unchecked_ref());
    on_click.forget();
    on_history.forget();
}

/// Logs the panic to the console, then, when it comes right after the reader
/// asked for another page of the live app, loads that page from the server
/// instead (issue 13). A screen's chunk that fails to download (a phone
/// losing its signal) panics in the chunk loader and leaves the WASM
/// unusable; the server-rendered page works without it, and a fresh load
/// tries the chunk again.
fn on_panic(info: &std::panic::PanicHookInfo<'_>) {
    console_error_panic_hook::hook(info);
    if !HYDRATED.get() {
        return;
    }
    let Some((href, at)) = GOING_TO.take() else { return };
    if js_sys::Date::now() - at <= NAVIGATION_WINDOW_MS {
        let _ = leptos::prelude::window().location().assign(&href);
    }
}
