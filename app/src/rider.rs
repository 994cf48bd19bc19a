//! The rider's board (`/rider`, issue 4), built for a phone: the current job
//! with big buttons, and the open jobs for the rider's vehicle (F2). Jobs
//! are the delivery context's; the order follows them.

use crate::account::AccountSummary;
use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{form_error, time, won};
use domain::delivery::{JobStatus, JobView};
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// What the rider sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiderBoard {
    /// The rider.
    pub rider: AccountSummary,
    /// The job they have taken and not delivered yet.
    pub current: Option<JobView>,
    /// Open jobs for their vehicle, oldest first.
    pub open: Vec<JobView>,
}

/// The rider's current job and the open jobs for their vehicle (F2).
///
/// Errors: 401; 403 for other roles.
#[server(endpoint = "rider_board", output = crate::codec::Json)]
pub async fn get_rider_board() -> Result<RiderBoard, AppError> {
    let (caller, state) = crate::server::caller(accounts::authz::Action::ViewRiderHome).await?;
    let current = delivery::current_job(&state.db, caller.id).await?;
    let open = match caller.vehicle {
        Some(vehicle) => delivery::open_jobs(&state.db, vehicle).await?,
        None => Vec::new(),
    };
    Ok(RiderBoard {
        rider: AccountSummary {
            display_name: caller.name.clone(),
            email: String::new(),
            role: caller.role,
            vehicle: caller.vehicle,
            language: None,
        },
        current,
        open,
    })
}

/// Runs a rider's step on the job of `order`, then waits for the read models.
#[cfg(feature = "ssr")]
async fn job_step(
    order: &str,
    step: impl AsyncFnOnce(&db::Db, domain::OrderId, delivery::Rider) -> Result<i64, delivery::DeliveryError>,
) -> Result<(), AppError> {
    use tracing::Instrument;
    let (rider, caller, state) = crate::server::rider().await?;
    let order: domain::OrderId = crate::server::id(order, domain::problem::Thing::Order)?;
    let span = tracing::info_span!("order", order_id = order.get(), user_id = caller.id.get());
    async move {
        let seq = step(&state.db, order, rider).await?;
        crate::server::settle(&state, order, seq).await;
        Ok(())
    }
    .instrument(span)
    .await
}

/// Claims an open delivery job; the first claim wins (F2, F6).
///
/// Errors: 401/403; 404 for a job that is not open to the rider's vehicle;
/// 409 when another rider was first or the rider has a job on the go.
#[server(endpoint = "claim_job", output = crate::codec::Json)]
pub async fn claim_job(
    /// The order id.
    order: String,
) -> Result<(), AppError> {
    job_step(&order, async |db, order, rider| delivery::claim(db, order, rider).await).await
}

/// The rider has the food (only once it is ready).
///
/// Errors: 401/403; 404 unless it is their job; 409 before the store marks
/// it ready.
#[server(endpoint = "pick_up", output = crate::codec::Json)]
pub async fn pick_up(
    /// The order id.
    order: String,
) -> Result<(), AppError> {
    job_step(&order, async |db, order, rider| {
        delivery::pick_up(db, order, rider).await
    })
    .await
}

/// The rider handed it over: the order completes and payment is captured (F13).
///
/// Errors: 401/403; 404 unless it is their job; 409 before pick-up.
#[server(endpoint = "deliver", output = crate::codec::Json)]
pub async fn deliver(
    /// The order id.
    order: String,
) -> Result<(), AppError> {
    job_step(&order, async |db, order, rider| {
        delivery::deliver(db, order, rider).await
    })
    .await
}

/// `/rider`.
#[component]
pub fn RiderPage() -> impl IntoView {
    let claim = ServerAction::<ClaimJob>::new();
    let picked = ServerAction::<PickUp>::new();
    let delivered = ServerAction::<Deliver>::new();
    let live = crate::live::use_live();
    let board = Resource::new(
        move || {
            (
                claim.version().get(),
                picked.version().get(),
                delivered.version().get(),
                live.tick.get(),
            )
        },
        |_| get_rider_board(),
    );
    let error = move || {
        claim
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| picked.value().get().and_then(Result::err))
            .or_else(|| delivered.value().get().and_then(Result::err))
    };
    let i18n = use_i18n();
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, rider.title).to_string())/>
        <Transition fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match board.await {
                    Ok(board) => {
                        let rider_vehicle = board.rider.vehicle;
                        // Mid-sentence: "You deliver by bicycle." (Hangul has no case.)
                        let vehicle = move || rider_vehicle.map(|v| crate::words::vehicle(i18n.get_locale(), v).to_lowercase()).unwrap_or_default();
                        let has_job = board.current.is_some();
                        view! {
                            <section class="rider" data-testid="rider-home">
                                <h1>{t!(i18n, rider.hello, name = board.rider.display_name.clone())}</h1>
                                <p class="hint">{t!(i18n, rider.you_deliver_by, vehicle = vehicle)}</p>
                                {move || form_error(error())}
                                {board.current.map(|job| view! { <CurrentJob job picked delivered/> })}
                                <h2>{t!(i18n, rider.open_jobs)}</h2>
                                {if board.open.is_empty() {
                                    view! { <p class="empty" data-testid="no-jobs">{t!(i18n, rider.no_jobs, vehicle = vehicle)}</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="jobs" data-testid="open-jobs">
                                            {board.open.into_iter().map(|job| view! {
                                                <li class="job" data-order-id=job.order.get()>
                                                    <JobFacts job=job.clone()/>
                                                    {(!has_job).then(|| view! {
                                                        <ActionForm action=claim>
                                                            <input type="hidden" name="order" value=job.order.to_string()/>
                                                            <button type="submit" class="big" data-testid="claim">{t!(i18n, rider.take_job)}</button>
                                                        </ActionForm>
                                                    })}
                                                </li>
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                                <a class="button secondary wide" href="/rider">{t!(i18n, rider.refresh)}</a>
                            </section>
                        }.into_any()
                    }
                    Err(error) => crate::ui::refused(error, "/rider"),
                }
            })}
        </Transition>
    }
}

#[component]
fn JobFacts(job: JobView) -> impl IntoView {
    let i18n = use_i18n();
    let ready_now = job.food_ready;
    view! {
        <dl class="job-facts">
            <dt>{t!(i18n, rider.pick_up)}</dt><dd>{job.store_name.clone()} <br/> {job.store_address.clone()}</dd>
            <dt>{t!(i18n, rider.drop_off)}</dt><dd>{job.drop_off.clone()}</dd>
            <dt>{t!(i18n, rider.fee)}</dt><dd class="price">{won(job.fee)}</dd>
            {job.ready_by_ms.map(|ms| {
                let at = time(ms);
                view! {
                    <dt>{t!(i18n, rider.ready)}</dt>
                    <dd>{move || if ready_now { t_string!(i18n, rider.ready_now).to_string() } else { t_string!(i18n, rider.ready_about, time = at()).to_string() }}</dd>
                }
            })}
        </dl>
    }
}

#[component]
fn CurrentJob(job: JobView, picked: ServerAction<PickUp>, delivered: ServerAction<Deliver>) -> impl IntoView {
    let id = job.order.to_string();
    // As the order's status reads, which the page has always shown.
    let status = match (job.status, job.food_ready) {
        (JobStatus::PickedUp, _) => "picked_up",
        (_, true) => "ready",
        _ => "accepted",
    };
    let i18n = use_i18n();
    let kind = job.store_kind;
    let action = match (job.status, job.food_ready) {
        (JobStatus::Claimed, true) => view! {
            <ActionForm action=picked>
                <input type="hidden" name="order" value=id.clone()/>
                <button type="submit" class="big" data-testid="picked-up">{move || crate::words::picked_up_button(i18n.get_locale(), kind)}</button>
            </ActionForm>
        }
        .into_any(),
        (JobStatus::PickedUp, _) => view! {
            <ActionForm action=delivered>
                <input type="hidden" name="order" value=id.clone()/>
                <button type="submit" class="big" data-testid="delivered">{move || crate::words::delivered_button(i18n.get_locale(), kind)}</button>
            </ActionForm>
        }
        .into_any(),
        _ => view! { <p class="notice">{move || crate::words::still_on_it(i18n.get_locale(), kind)}</p> }.into_any(),
    };
    view! {
        <section class="current-job" data-testid="current-job" data-status=status>
            <h2>{t!(i18n, rider.your_job, order = job.order.get())}</h2>
            <JobFacts job/>
            {action}
        </section>
    }
}
