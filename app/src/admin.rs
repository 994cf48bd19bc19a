//! The operator's page (`/admin`, issue 6): the latest orders with where
//! their money stands (issue 11), the payment circuit breaker's state and
//! the sandbox gateway's injected faults, settable at runtime so a
//! fault can be shown in a demo or injected by a test (requirement N2).

use crate::error::AppError;
use crate::i18n::*;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// What the operator sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operations {
    /// The payment breaker: `closed`, `open` or `half_open`.
    pub breaker: String,
    /// How often the breaker has opened since this replica started.
    pub breaker_opened: u64,
    /// Payment calls the open breaker refused without reaching the gateway.
    pub breaker_rejected: u64,
    /// The sandbox gateway's faults, when the sandbox is in use.
    pub sandbox: Option<SandboxFaults>,
    /// The newest event's sequence number.
    pub head: i64,
    /// This replica's event consumers.
    pub consumers: Vec<ConsumerStatus>,
    /// The newest orders with where their money stands (issue 11).
    pub orders: Vec<OrderLine>,
}

/// One order on the operator's overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    /// The order.
    pub id: domain::OrderId,
    /// Its store's name.
    pub store: String,
    /// Its store's kind, for the status in that business's words.
    pub kind: domain::StoreKind,
    /// Where it is.
    pub status: domain::OrderStatus,
    /// The amount authorized, in won.
    pub total: domain::Money,
    /// Where the payment stands, as the store reads it.
    pub payment: Option<domain::PaymentState>,
}

/// How many orders the operator's overview lists.
pub const LATEST_ORDERS: i64 = 20;

/// One event consumer as the operator sees it (requirements N1, N4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsumerStatus {
    /// Its name (`order_views`, `payment_settlement`).
    pub name: String,
    /// `running`, `stopped` or `failing`.
    pub mode: String,
    /// The last event it applied.
    pub checkpoint: i64,
    /// Events in the log it has not applied yet.
    pub lag: i64,
    /// Batches that failed since start.
    pub failed_batches: u64,
    /// Failed batches since its last success.
    pub failing_in_a_row: u32,
    /// The last failure, until a batch succeeds.
    pub last_error: Option<String>,
}

/// The sandbox gateway's injected faults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxFaults {
    /// Extra latency of every call, in milliseconds.
    pub latency_ms: u64,
    /// Share of calls that fail (0.0..=1.0).
    pub failure_rate: f64,
    /// Calls that reached it since start.
    pub calls: u64,
}

/// The largest injectable latency, in milliseconds (one minute).
pub const MAX_LATENCY_MS: u64 = 60_000;

/// The breaker and the sandbox, for admins.
///
/// Errors: 401 logged out; 403 for every role but admin.
#[server(endpoint = "operations", output = crate::codec::Json)]
pub async fn get_operations() -> Result<Operations, AppError> {
    use crate::error::{internal, respond};
    let (_, state) = crate::server::caller(accounts::authz::Action::Operate).await?;
    let head = eventlog::head(&state.db).await.map_err(|e| respond(internal(e)))?;
    let checkpoints = eventlog::checkpoints(&state.db)
        .await
        .map_err(|e| respond(internal(e)))?;
    let consumers = state
        .consumer_controls
        .iter()
        .map(|c| {
            let checkpoint = checkpoints
                .iter()
                .find(|(name, _)| name == c.name())
                .map(|(_, seq)| *seq)
                .unwrap_or(0);
            ConsumerStatus {
                name: c.name().into(),
                mode: c.mode().as_str().into(),
                checkpoint,
                lag: head - checkpoint,
                failed_batches: c.failed_batches(),
                failing_in_a_row: c.failing_in_a_row(),
                last_error: c.last_error(),
            }
        })
        .collect();
    let orders = views::latest(&state.db, LATEST_ORDERS)
        .await?
        .into_iter()
        .map(|o| OrderLine {
            id: o.id,
            store: o.placed.store_name,
            kind: o.placed.store_kind,
            status: o.status,
            total: o.placed.total,
            payment: o.payment,
        })
        .collect();
    Ok(Operations {
        head,
        consumers,
        orders,
        breaker: state.payments.state().as_str().into(),
        breaker_opened: state.payments.times_opened(),
        breaker_rejected: state.payments.rejected_calls(),
        sandbox: state.sandbox.as_ref().map(|s| {
            let faults = s.faults();
            SandboxFaults {
                latency_ms: faults.latency_ms,
                failure_rate: faults.failure_rate,
                calls: s.calls(),
            }
        }),
    })
}

/// Sets the sandbox gateway's latency and failure rate from the next call on.
///
/// Errors: 401/403 as [`get_operations`]; 422 for a latency that is not a
/// whole number of milliseconds in 0..=60,000 or a failure rate outside
/// 0..=1; 409 when the server does not use the sandbox.
#[server(endpoint = "payment_faults", output = crate::codec::Json)]
pub async fn set_payment_faults(
    /// Extra latency per call, in milliseconds.
    latency_ms: String,
    /// Share of calls that fail, 0 to 1 (`0.5` or `50%`).
    failure_rate: String,
) -> Result<(), AppError> {
    use crate::error::respond;
    use domain::problem::Problem;
    use domain::FieldError;
    let (caller, state) = crate::server::caller(accounts::authz::Action::Operate).await?;
    let mut errors = Vec::new();
    let latency = latency_ms.trim().parse::<u64>().ok().filter(|l| *l <= MAX_LATENCY_MS);
    if latency.is_none() {
        errors.push(FieldError::new(
            "latency_ms",
            Problem::OutOfRange {
                min: 0,
                max: MAX_LATENCY_MS as i64,
            },
        ));
    }
    let rate = failure_rate.trim();
    let rate = match rate.strip_suffix('%') {
        Some(percent) => percent.trim().parse::<f64>().ok().map(|p| p / 100.0),
        None => rate.parse::<f64>().ok(),
    }
    .filter(|r| (0.0..=1.0).contains(r));
    if rate.is_none() {
        errors.push(FieldError::new("failure_rate", Problem::OutOfRange { min: 0, max: 1 }));
    }
    let (Some(latency), Some(rate)) = (latency, rate) else {
        return Err(respond(AppError::Invalid(errors)));
    };
    let sandbox = state
        .sandbox
        .as_ref()
        .ok_or_else(|| respond(AppError::Conflict(domain::problem::Problem::RealGateway)))?;
    sandbox.set_faults(latency, rate);
    tracing::warn!(
        by = caller.id.get(),
        latency_ms = latency,
        failure_rate = rate,
        "sandbox payment faults set"
    );
    Ok(())
}

/// Stops, fails or restarts one event consumer on this replica (a switch for
/// tests and operators: checkout keeps working while a consumer is down, and
/// it drains its backlog in order when it runs again).
///
/// Errors: 401/403 as [`get_operations`]; 422 for a mode other than
/// `running`, `stopped`, `failing`; 404 for an unknown consumer.
#[server(endpoint = "consumer_mode", output = crate::codec::Json)]
pub async fn set_consumer_mode(
    /// The consumer's name.
    consumer: String,
    /// `running`, `stopped` or `failing`.
    mode: String,
) -> Result<(), AppError> {
    use crate::error::respond;
    let (caller, state) = crate::server::caller(accounts::authz::Action::Operate).await?;
    let mode = eventlog::ConsumerMode::parse(mode.trim()).ok_or_else(|| {
        respond(AppError::Invalid(vec![domain::FieldError::new(
            "mode",
            domain::problem::Problem::Choose {
                what: domain::problem::Choice::ConsumerMode,
            },
        )]))
    })?;
    let control = state
        .consumer_controls
        .iter()
        .find(|c| c.name() == consumer.trim())
        .ok_or_else(|| respond(AppError::no_such(domain::problem::Thing::Consumer)))?;
    tracing::warn!(
        by = caller.id.get(),
        consumer = control.name(),
        "operator switches a consumer"
    );
    control.set_mode(mode);
    Ok(())
}

/// `/admin`.
#[component]
pub fn AdminPage() -> impl IntoView {
    let set = ServerAction::<SetPaymentFaults>::new();
    let switch = ServerAction::<SetConsumerMode>::new();
    let live = crate::live::use_live();
    let data = Resource::new(
        move || (set.version().get(), switch.version().get(), live.tick.get()),
        |_| get_operations(),
    );
    let error = move || set.value().get().and_then(Result::err);
    let i18n = use_i18n();
    let mode_word = move |mode: &str| match mode {
        "running" => t_string!(i18n, admin.mode_running),
        "stopped" => t_string!(i18n, admin.mode_stopped),
        "failing" => t_string!(i18n, admin.mode_failing),
        _ => "—",
    };
    let consumer_word = move |name: &str| match name {
        "order_views" => t_string!(i18n, admin.consumer_order_views),
        "notifications" => t_string!(i18n, admin.consumer_notifications),
        "payment_settlement" => t_string!(i18n, admin.consumer_payment_settlement),
        "payroll_deductions" => t_string!(i18n, admin.consumer_payroll_deductions),
        "delivery_jobs" => t_string!(i18n, admin.consumer_delivery_jobs),
        "order_delivery" => t_string!(i18n, admin.consumer_order_delivery),
        _ => "—",
    };
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, admin.title).to_string())/>
        <section class="hero"><h1>{t!(i18n, admin.title)}</h1></section>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(ops) => view! {
                        <section class="panel" data-testid="breaker">
                            <h2>{t!(i18n, admin.breaker)}</h2>
                            <p>
                                <span class=format!("badge breaker-{}", ops.breaker) data-testid="breaker-state" data-breaker=ops.breaker.clone()>{
                                    let breaker = ops.breaker.clone();
                                    move || match breaker.as_str() {
                                        "closed" => t_string!(i18n, admin.breaker_closed),
                                        "open" => t_string!(i18n, admin.breaker_open),
                                        _ => t_string!(i18n, admin.breaker_half_open),
                                    }
                                }</span>
                                {t!(i18n, admin.breaker_counts, opened = ops.breaker_opened, rejected = ops.breaker_rejected)}
                            </p>
                        </section>
                        {ops.sandbox.map(|s| view! {
                            <section class="panel" data-testid="sandbox">
                                <h2>{t!(i18n, admin.sandbox)}</h2>
                                <p class="hint">{t!(i18n, admin.calls, n = s.calls)}</p>
                                <ActionForm action=set attr:class="stack">
                                    <label>{t!(i18n, admin.latency)} <input name="latency_ms" inputmode="numeric" value=s.latency_ms.to_string()/></label>
                                    <label>{t!(i18n, admin.failure_rate)} <input name="failure_rate" inputmode="decimal" value=s.failure_rate.to_string()/></label>
                                    <button type="submit">{t!(i18n, admin.apply)}</button>
                                </ActionForm>
                            </section>
                        })}
                        <section class="panel" data-testid="orders">
                            <h2>{t!(i18n, admin.latest_orders)}</h2>
                            {ops.orders.is_empty().then(|| view! { <p class="empty">{t!(i18n, admin.no_orders)}</p> })}
                            <ul class="admin-orders">
                                {ops.orders.into_iter().map(|o| view! {
                                    <li data-order-id=o.id.to_string() data-payment=o.payment.map(|p| p.as_str())>
                                        <strong>{format!("#{}", o.id)}</strong>
                                        {move || {
                                            let locale = i18n.get_locale();
                                            format!(" {} · {} · {} · ", o.store, crate::words::status(locale, o.status, o.kind), crate::lang::won(locale, o.total))
                                        }}
                                        <span class=format!("badge payment-{}", o.payment.map(|p| p.as_str()).unwrap_or("unknown"))>
                                            {move || o.payment.map(|p| crate::words::payment_state(i18n.get_locale(), p)).unwrap_or("—")}
                                        </span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        </section>
                        <section class="panel" data-testid="consumers">
                            <h2>{t!(i18n, admin.consumers)}</h2>
                            <p class="hint">{t!(i18n, admin.log_head, head = ops.head)}</p>
                            <ul class="consumers">
                                {ops.consumers.into_iter().map(|c| {
                                    let name = c.name.clone();
                                    let current = c.mode.clone();
                                    view! {
                                        <li data-consumer=c.name.clone()>
                                            <strong>{
                                                let name = c.name.clone();
                                                move || consumer_word(&name)
                                            }</strong>
                                            " " <code>{c.name.clone()}</code>
                                            " " <span class=format!("badge mode-{}", c.mode) data-mode=c.mode.clone()>{
                                                let mode = c.mode.clone();
                                                move || mode_word(&mode)
                                            }</span>
                                            {t!(i18n, admin.consumer_facts, checkpoint = c.checkpoint, lag = c.lag, failed = c.failed_batches)}
                                            {c.last_error.map(|e| view! { <p class="form-error">{e}</p> })}
                                            <div class="status-buttons">
                                                {["running", "stopped", "failing"].into_iter().map(|mode| {
                                                    let name = name.clone();
                                                    let here = current == mode;
                                                    view! {
                                                        <ActionForm action=switch attr:class="inline">
                                                            <input type="hidden" name="consumer" value=name/>
                                                            <input type="hidden" name="mode" value=mode/>
                                                            <button type="submit" class="secondary" disabled=here>{move || mode_word(mode)}</button>
                                                        </ActionForm>
                                                    }
                                                }).collect_view()}
                                            </div>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </section>
                        {move || crate::ui::form_error(error())}
                    }.into_any(),
                    Err(error) => crate::ui::refused(error, "/admin"),
                }
            })}
        </Suspense>
    }
}
