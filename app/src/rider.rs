//! The rider's board (`/rider`, issue 4), built for a phone: the current job
//! with big buttons, and the open jobs for the rider's vehicle.

use crate::account::AccountSummary;
use crate::error::AppError;
use crate::orders::{form_error, kst_time};
use domain::shop::OrderView;
use domain::OrderStatus;
use leptos::prelude::*;
use leptos_meta::Title;
use serde::{Deserialize, Serialize};

/// What the rider sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiderBoard {
    /// The rider.
    pub rider: AccountSummary,
    /// The job they have taken and not delivered yet.
    pub current: Option<OrderView>,
    /// Open jobs for their vehicle, oldest first.
    pub open: Vec<OrderView>,
}

/// The rider's current job and the open jobs for their vehicle (F2).
///
/// Errors: 401; 403 for other roles.
#[server(endpoint = "rider_board")]
pub async fn get_rider_board() -> Result<RiderBoard, AppError> {
    use crate::orders::ssr;
    let (caller, state) = ssr::caller(accounts::authz::Action::ViewRiderHome).await?;
    let current = ordering::views::current_job(&state.db, caller.id)
        .await
        .map_err(ssr::failed)?;
    let open = match caller.vehicle {
        Some(vehicle) => ordering::views::open_jobs(&state.db, vehicle)
            .await
            .map_err(ssr::failed)?,
        None => Vec::new(),
    };
    Ok(RiderBoard {
        rider: AccountSummary {
            display_name: caller.name.clone(),
            email: String::new(),
            role: caller.role,
            vehicle: caller.vehicle,
        },
        current,
        open,
    })
}

/// Claims an open delivery job; the first claim wins (F2, F6).
///
/// Errors: 401/403; 404 for a job that is not open; 409 when another rider
/// was first, the vehicle does not match, or the rider has a job on the go.
#[server(endpoint = "claim_job")]
pub async fn claim_job(
    /// The order id.
    order: String,
) -> Result<(), AppError> {
    crate::orders::ssr::command(
        accounts::authz::Action::ViewRiderHome,
        &order,
        domain::OrderCommand::ClaimDelivery,
    )
    .await
}

/// The rider has the food (only once it is ready).
///
/// Errors: 401/403; 404; 409 before the store marks it ready.
#[server(endpoint = "pick_up")]
pub async fn pick_up(
    /// The order id.
    order: String,
) -> Result<(), AppError> {
    crate::orders::ssr::command(
        accounts::authz::Action::ViewRiderHome,
        &order,
        domain::OrderCommand::PickUp,
    )
    .await
}

/// The rider handed it over: the order completes and payment is captured (F13).
///
/// Errors: 401/403; 404; 409 before pick-up.
#[server(endpoint = "deliver")]
pub async fn deliver(
    /// The order id.
    order: String,
) -> Result<(), AppError> {
    crate::orders::ssr::command(
        accounts::authz::Action::ViewRiderHome,
        &order,
        domain::OrderCommand::Deliver,
    )
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
    view! {
        <Title text="Rider"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match board.await {
                    Ok(board) => {
                        let vehicle = board.rider.vehicle.map(|v| v.label().to_lowercase()).unwrap_or_default();
                        let has_job = board.current.is_some();
                        view! {
                            <section class="rider" data-testid="rider-home">
                                <h1>{format!("Hello, {}", board.rider.display_name)}</h1>
                                <p class="hint">{format!("You deliver by {vehicle}.")}</p>
                                {move || form_error(error())}
                                {board.current.map(|job| view! { <CurrentJob job picked delivered/> })}
                                <h2>"Open jobs"</h2>
                                {if board.open.is_empty() {
                                    view! { <p class="empty" data-testid="no-jobs">{format!("No open {vehicle} jobs right now. Pull to refresh in a moment.")}</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="jobs" data-testid="open-jobs">
                                            {board.open.into_iter().map(|job| view! {
                                                <li class="job" data-order-id=job.id.get()>
                                                    <JobFacts job=job.clone()/>
                                                    {(!has_job).then(|| view! {
                                                        <ActionForm action=claim>
                                                            <input type="hidden" name="order" value=job.id.to_string()/>
                                                            <button type="submit" class="big" data-testid="claim">"Take this job"</button>
                                                        </ActionForm>
                                                    })}
                                                </li>
                                            }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }}
                                <a class="button secondary wide" href="/rider">"Refresh"</a>
                            </section>
                        }.into_any()
                    }
                    Err(error) => crate::account::refused(error, "/rider"),
                }
            })}
        </Transition>
    }
}

#[component]
fn JobFacts(job: OrderView) -> impl IntoView {
    let p = job.placed;
    view! {
        <dl class="job-facts">
            <dt>"Pick up"</dt><dd>{p.store_name.clone()} <br/> {p.store_address.clone()}</dd>
            <dt>"Drop off"</dt><dd>{p.address.clone()}</dd>
            <dt>"Fee"</dt><dd class="price">{p.fee.to_string()}</dd>
            {job.ready_by_ms.map(|ms| view! { <dt>"Ready"</dt><dd>{if job.status == OrderStatus::Ready { "now".to_string() } else { format!("about {}", kst_time(ms)) }}</dd> })}
        </dl>
    }
}

#[component]
fn CurrentJob(job: OrderView, picked: ServerAction<PickUp>, delivered: ServerAction<Deliver>) -> impl IntoView {
    let id = job.id.to_string();
    let status = job.status;
    let action = match status {
        OrderStatus::Ready => view! {
            <ActionForm action=picked>
                <input type="hidden" name="order" value=id.clone()/>
                <button type="submit" class="big" data-testid="picked-up">"I have the food"</button>
            </ActionForm>
        }
        .into_any(),
        OrderStatus::PickedUp => view! {
            <ActionForm action=delivered>
                <input type="hidden" name="order" value=id.clone()/>
                <button type="submit" class="big" data-testid="delivered">"Delivered"</button>
            </ActionForm>
        }
        .into_any(),
        _ => view! { <p class="notice">"The store is still preparing it. Head over; you can pick it up once it is ready."</p> }
            .into_any(),
    };
    view! {
        <section class="current-job" data-testid="current-job" data-status=status.as_str()>
            <h2>{format!("Your job · order #{}", job.id)}</h2>
            <JobFacts job/>
            {action}
        </section>
    }
}
