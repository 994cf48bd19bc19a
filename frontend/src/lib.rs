//! The browser entry point: hydrates the server-rendered page.

/// Called by the generated JS once the WASM is loaded. Hydrates
/// asynchronously (`hydrate_from_async`, as `leptos::mount::hydrate_lazy`
/// does) because a screen loaded on demand (`app::screens`, `cargo leptos
/// build --split`) must fetch its chunk before it can take over its markup.
/// Marks `<body data-hydrated="true">` once the whole page is live, so
/// browser tests know when they can click.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document().body();
        let Some(body) = body else { return };
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
