//! The browser's own checks of a form — a required field left empty, an
//! email address without `@`, a password too short, a number out of range —
//! told in the reader's language (issue 12).
//!
//! The browser words the bubble it shows in its own language, not the
//! page's: a Korean page in an English Chromium said "Please fill out this
//! field." Once the page is live, a check that fails carries the page's
//! sentence instead (`setCustomValidity`). Before that, and without
//! JavaScript, the browser's own sentence stands; the server checks the
//! same rules and answers in the reader's language either way.

/// Words every failed check of a form field in the page's language, from
/// the time the page is live until it is left (browser only; nothing on
/// the server). Call once, inside the language provider.
pub fn provide() {
    #[cfg(feature = "hydrate")]
    {
        let i18n = crate::i18n::use_i18n();
        leptos::prelude::Effect::new(move |_| browser::listen(i18n));
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use crate::i18n::{td_string, Locale};
    use leptos_i18n::I18nContext;
    use wasm_bindgen::{closure::Closure, JsCast};
    use web_sys::{Event, HtmlInputElement};

    /// Listens on the whole document, in the capture phase (`invalid` does
    /// not bubble):
    /// - `invalid`: the field gets the page's sentence for what failed;
    /// - `input`: the field the reader changes loses it, so it is checked
    ///   afresh;
    /// - `click` inside a form: every field of that form loses it, before
    ///   the browser checks the form (a click on the submit button, or the
    ///   one Enter makes). A field changed without typing — a card number
    ///   no longer required once the reader picks another way to pay — is
    ///   then not held back by its old sentence.
    pub(super) fn listen(i18n: I18nContext<Locale>) {
        let document = leptos::prelude::document();
        let on_invalid = Closure::<dyn Fn(Event)>::new(move |event: Event| {
            if let Some(field) = field(&event) {
                field.set_custom_validity("");
                if let Some(text) = sentence(i18n.get_locale_untracked(), &field) {
                    field.set_custom_validity(&text);
                }
            }
        });
        let on_input = Closure::<dyn Fn(Event)>::new(|event: Event| {
            if let Some(field) = field(&event) {
                field.set_custom_validity("");
            }
        });
        let on_click = Closure::<dyn Fn(Event)>::new(|event: Event| {
            let form = event
                .target()
                .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
                .and_then(|element| element.closest("form").ok().flatten());
            let Some(fields) = form.and_then(|form| form.query_selector_all("input").ok()) else {
                return;
            };
            for i in 0..fields.length() {
                if let Some(field) = fields.item(i).and_then(|node| node.dyn_into::<HtmlInputElement>().ok()) {
                    field.set_custom_validity("");
                }
            }
        });
        for (name, listener) in [("invalid", &on_invalid), ("input", &on_input), ("click", &on_click)] {
            let _ = document.add_event_listener_with_callback_and_bool(name, listener.as_ref().unchecked_ref(), true);
        }
        // The listeners last as long as the page.
        on_invalid.forget();
        on_input.forget();
        on_click.forget();
    }

    /// The input field an event is aimed at, if it is one.
    fn field(event: &Event) -> Option<HtmlInputElement> {
        event.target()?.dyn_into::<HtmlInputElement>().ok()
    }

    /// The page's sentence for the first of `field`'s checks that fails,
    /// as the browser orders them; `None` when none of those fails.
    fn sentence(locale: Locale, field: &HtmlInputElement) -> Option<String> {
        let validity = field.validity();
        let text = if validity.value_missing() {
            td_string!(locale, check.missing).to_string()
        } else if validity.bad_input() {
            td_string!(locale, check.number).to_string()
        } else if validity.type_mismatch() && field.type_() == "email" {
            td_string!(locale, check.email).to_string()
        } else if validity.too_short() {
            let now = field.value().chars().count();
            td_string!(locale, check.too_short, min = field.min_length(), now = now).to_string()
        } else if validity.range_underflow() {
            td_string!(locale, check.at_least, min = number(&field.min())).to_string()
        } else if validity.range_overflow() {
            td_string!(locale, check.at_most, max = number(&field.max())).to_string()
        } else if validity.step_mismatch() {
            td_string!(locale, check.whole).to_string()
        } else {
            return None;
        };
        Some(text)
    }

    /// A field's bound as the reader reads numbers: `10,000,000`; as
    /// written when it is not a whole number.
    fn number(bound: &str) -> String {
        bound
            .parse::<i64>()
            .map_or_else(|_| bound.to_owned(), crate::lang::grouped)
    }
}
