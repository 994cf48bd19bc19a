//! `/owner/stores/{id}/payroll?month=YYYY-MM`: a canteen's monthly payroll
//! statement (seed 003: the cost of each meal is deducted from the
//! employee's pay once it is collected): per employee, the collected
//! orders and the sum to deduct, in won, by Korean month.

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{refused, won};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

/// What the statement page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayrollPage {
    /// The canteen's name.
    pub store_name: String,
    /// The month shown and the sums (`payment::payroll::Statement`'s shape).
    pub month: String,
    /// One line per employee: number, name, orders, sum in won.
    pub lines: Vec<(String, String, u32, domain::Money)>,
    /// The month's sum, in won.
    pub total: domain::Money,
    /// The months before and after, for the links.
    pub previous: Option<String>,
    /// The month after, unless it is in the future.
    pub next: Option<String>,
}

/// The payroll statement of the owner's canteen `store` for `month`
/// (`YYYY-MM`, Korea time; this month when empty).
///
/// Errors: 401/403; 404 for a store that is not theirs or is not a canteen;
/// 422 for a month that is not `YYYY-MM`.
#[server(endpoint = "payroll_statement", output = crate::codec::Json)]
pub async fn payroll_statement(
    /// The store id.
    store: String,
    /// `YYYY-MM`, or empty for this month.
    month: Option<String>,
) -> Result<PayrollPage, AppError> {
    use domain::problem::{Problem, Thing};
    let (_, state, store) = crate::server::owner_of(&store, Thing::Canteen).await?;
    let summary = catalog::store(&state.db, store)
        .await?
        .filter(|s| domain::PaymentMethod::Payroll.offered_by(s.kind))
        .ok_or_else(|| crate::error::respond(AppError::no_such(Thing::Canteen)))?;
    let this_month = domain::kst::month(db::now_ms());
    let month = match month.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        None => this_month.clone(),
        Some(text) => domain::kst::parse_month(text).ok_or_else(|| {
            crate::error::respond(AppError::Invalid(vec![domain::FieldError::new(
                "month",
                Problem::Month,
            )]))
        })?,
    };
    let statement = payment::payroll::statement(&state.db, store, &month).await?;
    let next = domain::kst::add_months(&month, 1).filter(|m| *m <= this_month);
    Ok(PayrollPage {
        store_name: summary.name,
        previous: domain::kst::add_months(&month, -1),
        next,
        lines: statement
            .lines
            .into_iter()
            .map(|l| (l.employee_number, l.employee_name, l.orders, l.total))
            .collect(),
        total: statement.total,
        month,
    })
}

/// `/owner/stores/{id}/payroll`: the canteen's monthly payroll statement.
#[component]
pub fn PayrollStatementPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let month = move || query.read().get("month");
    let page = Resource::new(move || (id(), month()), |(id, month)| payroll_statement(id, month));
    let i18n = use_i18n();
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, payroll.title).to_string())/>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => {
                        let base = format!("/owner/stores/{}/payroll", crate::nav::encode_component(&id()));
                        let link = |m: &Option<String>| m.as_ref().map(|m| format!("{base}?month={m}"));
                        view! {
                            <a class="back" href=format!("/owner/stores/{}", crate::nav::encode_component(&id()))>"← " {page.store_name.clone()}</a>
                            <section class="form-card" data-testid="payroll-statement" data-month=page.month.clone()>
                                <h1>{t!(i18n, payroll.heading, month = page.month.clone())}</h1>
                                <p class="hint">{t!(i18n, payroll.hint)}</p>
                                <nav class="months">
                                    {link(&page.previous).map(|href| view! { <a href=href>{t!(i18n, payroll.previous)}</a> })}
                                    {link(&page.next).map(|href| view! { <a href=href>{t!(i18n, payroll.next)}</a> })}
                                </nav>
                                {if page.lines.is_empty() {
                                    view! { <p class="empty">{t!(i18n, payroll.none)}</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="statement">
                                            <thead><tr><th>{t!(i18n, payroll.employee_number)}</th><th>{t!(i18n, payroll.name)}</th><th>{t!(i18n, payroll.meals)}</th><th>{t!(i18n, payroll.to_deduct)}</th></tr></thead>
                                            <tbody>
                                                {page.lines.iter().map(|(number, name, orders, total)| view! {
                                                    <tr data-employee=number.clone()>
                                                        <td>{number.clone()}</td><td>{name.clone()}</td>
                                                        <td>{orders.to_string()}</td><td class="price">{won(*total)}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                            <tfoot><tr><th colspan="3">{t!(i18n, payroll.total)}</th><th class="price" data-testid="payroll-total">{won(page.total)}</th></tr></tfoot>
                                        </table>
                                    }.into_any()
                                }}
                            </section>
                        }.into_any()
                    }
                    Err(error) => refused(error, &format!("/owner/stores/{}/payroll", crate::nav::encode_component(&id()))),
                }
            })}
        </Suspense>
    }
}
