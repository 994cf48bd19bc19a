//! The new-order alarm (issue 5): rings until an owner has seen the order,
//! on every tablet of the store.

use crate::error::AppError;
use crate::i18n::*;
use leptos::prelude::*;

/// Whether an order rings the store's alarm: a new order nobody has seen
/// (issue 5), or one cancelled by the customer or the operator that nobody
/// has seen since — the kitchen may be preparing it (seed 000).
pub fn rings_for(order: &domain::shop::OrderView) -> bool {
    matches!(
        order.status,
        domain::OrderStatus::Placed | domain::OrderStatus::Cancelled
    ) && !order.acknowledged
}

/// Silences the alarm: marks every new or cancelled order of the store as
/// seen, on every tablet of the store (issue 5; seed 000).
///
/// Errors: 401/403; 404 for a store that is not theirs.
#[server(endpoint = "acknowledge_orders", output = crate::codec::Json)]
pub async fn acknowledge_orders(
    /// The store id.
    store: String,
) -> Result<(), AppError> {
    let (caller, state, store) = super::owner_of(&store).await?;
    let waiting = views::of_store(&state.db, store).await?.into_iter().filter(rings_for);
    let mut last = None;
    for order in waiting {
        if let Some(seq) = ordering::lifecycle::acknowledge(&state.db, order.id, &caller).await? {
            last = Some((order.id, seq));
        }
    }
    if let Some((order, seq)) = last {
        crate::server::settle(&state, order, seq).await;
    }
    Ok(())
}

/// The new-order alarm (issue 5): flashes and beeps while a new order waits
/// unseen; stops when an owner taps it, accepts or rejects — on every tablet
/// of the store, because "seen" is stored, not local. A mute switch is kept
/// on this device.
#[component]
pub fn Alarm(
    /// A new order waits unseen.
    ringing: bool,
    /// Orders cancelled under the store's hands, unseen: what to tell.
    cancellations: Vec<domain::shop::OrderView>,
    /// The store's id, as the acknowledge form sends it.
    store: String,
    /// The "seen" action, shared with the page so it refetches.
    acknowledge: ServerAction<AcknowledgeOrders>,
) -> impl IntoView {
    let muted = RwSignal::new(false);
    let i18n = use_i18n();
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let off = sound::muted();
            muted.set(off);
            sound::ring(ringing && !off);
        }
    });
    on_cleanup(|| {
        #[cfg(feature = "hydrate")]
        sound::ring(false);
    });
    let toggle = move |_| {
        let now = !muted.get_untracked();
        muted.set(now);
        #[cfg(feature = "hydrate")]
        {
            sound::set_muted(now);
            sound::ring(ringing && !now);
        }
    };
    let cancelled = !cancellations.is_empty();
    let ringing = ringing || cancelled;
    view! {
        <div class="alarm" class:ringing=ringing class:cancelled=cancelled data-testid="alarm" data-alarm=if ringing { "ringing" } else { "quiet" }>
            {cancelled.then(|| view! {
                <ul class="cancellations" role="alert" data-testid="cancellation-alert">
                    {cancellations.into_iter().map(|order| {
                        let text = move || {
                            let locale = i18n.get_locale();
                            let who = crate::words::ended(locale, &order, domain::Role::Owner).unwrap_or_default();
                            let money = crate::words::payment(locale, &order, domain::Role::Owner).unwrap_or_default();
                            td_string!(locale, owner.cancelled_alert, order = order.id.get(), who = who, money = money).to_string()
                        };
                        view! { <li>{text}</li> }
                    }).collect_view()}
                </ul>
            })}
            {ringing.then(|| view! {
                <ActionForm action=acknowledge attr:class="inline">
                    <input type="hidden" name="store" value=store.clone()/>
                    <button type="submit" class="alarm-button" data-testid="acknowledge">
                        {move || if cancelled { t_string!(i18n, owner.alarm_cancelled) } else { t_string!(i18n, owner.alarm_new) }}
                    </button>
                </ActionForm>
            })}
            <button type="button" class="secondary mute" on:click=toggle data-testid="mute">
                {move || if muted.get() { t_string!(i18n, owner.sound_off) } else { t_string!(i18n, owner.sound_on) }}
            </button>
        </div>
    }
}

/// The alarm's beep, with the Web Audio API (browsers let it sound after the
/// first tap on the page).
#[cfg(feature = "hydrate")]
mod sound {
    use leptos::prelude::*;
    use std::cell::RefCell;
    use std::time::Duration;

    const MUTED: &str = "baedal.alarm.muted";

    thread_local! {
        static BEEPING: RefCell<Option<IntervalHandle>> = const { RefCell::new(None) };
        static AUDIO: RefCell<Option<web_sys::AudioContext>> = const { RefCell::new(None) };
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    pub fn muted() -> bool {
        storage().and_then(|s| s.get_item(MUTED).ok().flatten()).as_deref() == Some("1")
    }

    pub fn set_muted(muted: bool) {
        if let Some(s) = storage() {
            let _ = s.set_item(MUTED, if muted { "1" } else { "0" });
        }
    }

    fn beep() {
        AUDIO.with(|audio| {
            let mut audio = audio.borrow_mut();
            if audio.is_none() {
                *audio = web_sys::AudioContext::new().ok();
            }
            let Some(ctx) = audio.as_ref() else { return };
            if ctx.state() == web_sys::AudioContextState::Suspended {
                let _ = ctx.resume();
            }
            let (Ok(osc), Ok(gain)) = (ctx.create_oscillator(), ctx.create_gain()) else {
                return;
            };
            osc.frequency().set_value(880.0);
            gain.gain().set_value(0.3);
            let now = ctx.current_time();
            let _ = osc.connect_with_audio_node(&gain);
            let _ = gain.connect_with_audio_node(&ctx.destination());
            let _ = osc.start();
            let _ = osc.stop_with_when(now + 0.35);
        });
    }

    /// Starts or stops the repeating beep.
    pub fn ring(on: bool) {
        BEEPING.with(|b| {
            let mut b = b.borrow_mut();
            match (on, b.is_some()) {
                (true, false) => {
                    beep();
                    *b = set_interval_with_handle(beep, Duration::from_millis(1_200)).ok();
                }
                (false, true) => {
                    if let Some(handle) = b.take() {
                        handle.clear();
                    }
                }
                _ => {}
            }
        });
    }
}
