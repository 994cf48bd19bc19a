//! The browser entry point: hydrates the server-rendered page.

/// Called by the generated JS once the WASM is loaded. Marks `<body
/// data-hydrated="true">` afterwards so browser tests know the page is live.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
