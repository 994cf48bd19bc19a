//! The browser's end of live updates (issue 5): one WebSocket per page to
//! `/ws`, resumed after the last event seen, reconnected with backoff and
//! jitter, and a small indicator of the connection's state.
//!
//! Pages do not patch themselves from the messages: each message bumps
//! [`Live::tick`], and the pages list it among their resources' sources, so
//! they refetch from the projections, which already include the event (the
//! hub only forwards what the projections have applied).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The connection's state, shown by [`LiveIndicator`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiveState {
    /// Not connected (logged out, or the page is still loading).
    Off,
    /// Receiving events.
    Live,
    /// Lost; trying again after a pause.
    Reconnecting,
}

/// What the pages read: a counter that moves on every event (and on every
/// (re)connect, so a page refreshes what it may have missed), and the state.
#[derive(Debug, Clone, Copy)]
pub struct Live {
    /// Moves on each event the user may see, and on each (re)connect.
    pub tick: RwSignal<u64>,
    /// The connection's state.
    pub state: RwSignal<LiveState>,
}

/// Creates the live context; call once in `App`.
pub fn provide_live() {
    provide_context(Live {
        tick: RwSignal::new(0),
        state: RwSignal::new(LiveState::Off),
    });
}

/// The live context.
pub fn use_live() -> Live {
    use_context::<Live>().unwrap_or(Live {
        tick: RwSignal::new(0),
        state: RwSignal::new(LiveState::Off),
    })
}

/// The longest pause between reconnect attempts, in milliseconds.
pub const MAX_BACKOFF_MS: f64 = 30_000.0;

/// The pause before reconnect attempt `attempt` (0, 1, 2, …), in
/// milliseconds: doubling from 500 ms up to [`MAX_BACKOFF_MS`], times a
/// jitter factor in 0.5..1.5 (`random` in 0..1) so clients cut off together
/// do not all come back at the same instant.
pub fn backoff_ms(attempt: u32, random: f64) -> f64 {
    let base = (500.0 * 2f64.powi(attempt.min(16) as i32)).min(MAX_BACKOFF_MS);
    base * (0.5 + random.clamp(0.0, 1.0))
}

/// "● Live" or "Reconnecting…" in the account menu; starts the connection
/// when it appears (logged in) and closes it when it goes (logged out).
#[component]
pub fn LiveIndicator() -> impl IntoView {
    let live = use_live();
    let i18n = crate::i18n::use_i18n();
    Effect::new(move |_| {
        // Not during hydration: an event (or the hello) arriving while the
        // page's Suspense boundaries are still hydrating would make them
        // refetch and render differently from the server's HTML.
        #[cfg(feature = "hydrate")]
        set_timeout(move || client::start(live), std::time::Duration::from_millis(100));
    });
    on_cleanup(|| {
        #[cfg(feature = "hydrate")]
        client::stop();
    });
    view! {
        <span
            class="live"
            data-testid="live"
            data-live=move || match live.state.get() {
                LiveState::Off => "off",
                LiveState::Live => "live",
                LiveState::Reconnecting => "reconnecting",
            }
            title=move || leptos_i18n::t_string!(i18n, live.title)
        >
            // Live: a dot and its word; on a phone the word is left to
            // screen readers (the top bar has no room for it).
            {move || match live.state.get() {
                LiveState::Off => None,
                LiveState::Live => Some(view! {
                    <span aria-hidden="true">"● "</span>
                    <span class="live-label">{leptos_i18n::t_string!(i18n, live.live)}</span>
                }.into_any()),
                LiveState::Reconnecting => Some(view! { <span>{leptos_i18n::t_string!(i18n, live.reconnecting)}</span> }.into_any()),
            }}
        </span>
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use super::{backoff_ms, Live, LiveState};
    use leptos::prelude::*;
    use std::cell::{Cell, RefCell};
    use std::time::Duration;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{MessageEvent, WebSocket};

    /// Where the last event's sequence number is kept between pages.
    const LAST_SEQ: &str = "baedal.live.seq";

    thread_local! {
        static SOCKET: RefCell<Option<WebSocket>> = const { RefCell::new(None) };
        static WANTED: Cell<bool> = const { Cell::new(false) };
        static ATTEMPT: Cell<u32> = const { Cell::new(0) };
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    pub fn start(live: Live) {
        if WANTED.with(Cell::get) {
            return;
        }
        WANTED.with(|w| w.set(true));
        connect(live);
    }

    pub fn stop() {
        WANTED.with(|w| w.set(false));
        if let Some(socket) = SOCKET.with(|s| s.borrow_mut().take()) {
            let _ = socket.close();
        }
    }

    fn connect(live: Live) {
        let Some(window) = web_sys::window() else { return };
        let location = window.location();
        let scheme = if location.protocol().ok().as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = location.host().unwrap_or_default();
        let after = storage()
            .and_then(|s| s.get_item(LAST_SEQ).ok().flatten())
            .and_then(|v| v.parse::<i64>().ok());
        let url = format!(
            "{scheme}://{host}/ws{}",
            after.map(|a| format!("?after={a}")).unwrap_or_default()
        );
        let Ok(socket) = WebSocket::new(&url) else {
            retry(live);
            return;
        };

        let on_open = Closure::<dyn FnMut()>::new(move || {
            ATTEMPT.with(|a| a.set(0));
            live.state.set(LiveState::Live);
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();

        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(text) = event.data().as_string() else { return };
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&text) else {
                return;
            };
            if message["type"] == "event" {
                if let (Some(seq), Some(store)) = (message["seq"].as_i64(), storage()) {
                    let _ = store.set_item(LAST_SEQ, &seq.to_string());
                }
            } else if let (Some(head), None, Some(store)) = (message["head"].as_i64(), after, storage()) {
                // First connection on this device: start from here.
                let _ = store.set_item(LAST_SEQ, &head.to_string());
            }
            live.tick.update(|t| *t += 1);
        });
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();

        let on_close = Closure::<dyn FnMut()>::new(move || retry(live));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        on_close.forget();

        SOCKET.with(|s| *s.borrow_mut() = Some(socket));
    }

    fn retry(live: Live) {
        SOCKET.with(|s| s.borrow_mut().take());
        if !WANTED.with(Cell::get) {
            live.state.set(LiveState::Off);
            return;
        }
        live.state.set(LiveState::Reconnecting);
        let attempt = ATTEMPT.with(|a| {
            let n = a.get();
            a.set(n.saturating_add(1));
            n
        });
        let pause = backoff_ms(attempt, js_sys::Math::random());
        set_timeout(
            move || {
                if WANTED.with(Cell::get) {
                    connect(live);
                }
            },
            Duration::from_millis(pause as u64),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_with_jitter() {
        assert_eq!(backoff_ms(0, 0.5), 500.0);
        assert_eq!(backoff_ms(1, 0.5), 1_000.0);
        assert_eq!(backoff_ms(3, 0.5), 4_000.0);
        assert_eq!(backoff_ms(20, 0.5), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(2, 0.0), 1_000.0);
        assert_eq!(backoff_ms(2, 1.0), 3_000.0);
    }
}
