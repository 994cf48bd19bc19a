//! Browsing: the store list (`/`) and a store's page (`/stores/{id}`):
//! its menu, the customer's cart beside it, and its reviews.

use crate::error::{AppError, ErrorPage, NotFound};
use crate::i18n::*;
use crate::ui::won;
use domain::catalog::{MenuItem, Stock, StoreMenu, StoreSummary};
#[cfg(feature = "ssr")]
use domain::problem::{Choice, Problem, Thing};
use domain::shop::StoreReviews;
use domain::{StoreKind, StoreStatus};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::{use_params_map, use_query_map};

/// The store list, optionally only one `kind` (`restaurant`, `flower_shop`,
/// `canteen`, `repair_shop`) and only names containing `q`.
///
/// Errors: [`AppError::BadRequest`] for an unknown kind.
#[server(endpoint = "list_stores", output = crate::codec::Json)]
pub async fn list_stores(
    /// A store kind's machine name; empty or absent for all kinds.
    kind: Option<String>,
    /// Text the store's name must contain; empty or absent for all.
    q: Option<String>,
) -> Result<Vec<StoreSummary>, AppError> {
    use crate::error::{internal, respond};
    let kind = match kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(k.parse::<StoreKind>().map_err(|_| {
            respond(AppError::BadRequest(Problem::Choose {
                what: Choice::KindFilter,
            }))
        })?),
    };
    let filter = catalog::StoreFilter {
        kind,
        search: domain::text::search_term(q.as_deref()),
    };
    let state = crate::state::app_state()?;
    catalog::list_stores(&state.db, &filter)
        .await
        .map_err(|e| respond(internal(e)))
}

/// A store with its menu grouped by category.
///
/// Errors: [`AppError::NotFound`] when no store has that id (or the id is not a number).
#[server(endpoint = "store_menu", output = crate::codec::Json)]
pub async fn get_store_menu(
    /// The store id as it appears in the URL.
    id: String,
) -> Result<StoreMenu, AppError> {
    use crate::error::{internal, respond};
    let not_found = || respond(AppError::no_such(Thing::Store));
    let id: domain::StoreId = id.trim().parse().map_err(|_| not_found())?;
    let state = crate::state::app_state()?;
    state
        .menus
        .store_menu(&state.db, id)
        .await
        .map_err(|e| respond(internal(e)))?
        .map(|menu| StoreMenu::clone(&menu))
        .ok_or_else(not_found)
}

/// A store's rating and latest reviews (public).
///
/// Errors: 404 for an id that is not a number.
#[server(endpoint = "store_reviews", output = crate::codec::Json)]
pub async fn get_store_reviews(
    /// The store id.
    store: String,
) -> Result<StoreReviews, AppError> {
    let state = crate::state::app_state()?;
    let store = crate::server::id(&store, domain::problem::Thing::Store)?;
    // Stores without reviews (and ids of no store) are not kept.
    let read = async {
        review::of_store(&state.db, store)
            .await
            .map(|r| Some(r).filter(|r| r.count > 0))
    };
    let reviews = state.reviews.get_or_read(&state.db, store, read).await?;
    Ok(reviews.map_or(
        StoreReviews {
            count: 0,
            average_tenths: 0,
            recent: Vec::new(),
        },
        |r| StoreReviews::clone(&r),
    ))
}

/// The label a store kind carries in the filter chips.
fn kind_chip_label(locale: Locale, kind: StoreKind) -> &'static str {
    match kind {
        StoreKind::Restaurant => td_string!(locale, home.chip_food),
        StoreKind::FlowerShop => td_string!(locale, home.chip_flowers),
        StoreKind::Canteen => td_string!(locale, home.chip_canteen),
        StoreKind::RepairShop => td_string!(locale, home.chip_repair),
    }
}

/// `/`: every store, with a filter by kind and a search by name.
#[component]
pub fn HomePage() -> impl IntoView {
    let query = use_query_map();
    let kind = move || query.read().get("kind").filter(|k| !k.is_empty());
    let search = move || query.read().get("q").filter(|q| !q.trim().is_empty());
    let stores = Resource::new(move || (kind(), search()), |(kind, q)| list_stores(kind, q));

    let chip_href = move |k: Option<StoreKind>| {
        let mut params = Vec::new();
        if let Some(k) = k {
            params.push(format!("kind={}", k.as_str()));
        }
        if let Some(q) = search() {
            params.push(format!("q={}", crate::nav::encode_component(&q)));
        }
        if params.is_empty() {
            "/".to_string()
        } else {
            format!("/?{}", params.join("&"))
        }
    };

    let i18n = use_i18n();
    view! {
        <Title text=crate::lang::page_title(move || t_string!(i18n, home.title).to_string())/>
        <section class="hero">
            <h1>{t!(i18n, home.headline)}</h1>
            <p>{t!(i18n, home.intro)}</p>
        </section>
        <Form method="GET" action="/" attr:class="search" attr:role="search">
            <input type="hidden" name="kind" prop:value=move || kind().unwrap_or_default()/>
            <label class="visually-hidden" for="store-search">{t!(i18n, home.search_label)}</label>
            <input
                id="store-search"
                type="search"
                name="q"
                maxlength=domain::limits::SEARCH_CHARS
                placeholder=move || t_string!(i18n, home.search_placeholder)
                prop:value=move || search().unwrap_or_default()
            />
            <button type="submit">{t!(i18n, home.search)}</button>
        </Form>
        <nav class="chips" aria-label=move || t_string!(i18n, home.filter_label)>
            <a href=move || chip_href(None) class:active=move || kind().is_none()>{t!(i18n, home.all)}</a>
            {StoreKind::ALL
                .iter()
                .map(|&k| {
                    view! {
                        <a
                            href=move || chip_href(Some(k))
                            class:active=move || kind().as_deref() == Some(k.as_str())
                            data-kind=k.as_str()
                        >
                            {move || kind_chip_label(i18n.get_locale(), k)}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
        <Suspense fallback=move || view! { <p class="loading">{t!(i18n, common.loading)}</p> }>
            {move || Suspend::new(async move {
                match stores.await {
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty" data-testid="no-stores">{t!(i18n, home.no_match)}</p>
                        <a class="button secondary" href="/">{t!(i18n, home.show_all)}</a>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="store-list" data-testid="store-list">
                            {list.into_iter().map(|s| view! { <StoreCard store=s/> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn status_badge(status: StoreStatus) -> impl IntoView {
    let i18n = use_i18n();
    let class = match status {
        StoreStatus::Open => "badge open",
        StoreStatus::Paused => "badge paused",
        StoreStatus::Closed => "badge closed",
    };
    view! { <span class=class>{move || crate::words::store_status(i18n.get_locale(), status)}</span> }
}

fn fulfilment_text(locale: Locale, store: &StoreSummary) -> String {
    crate::words::fulfilment_offer(locale, store.kind, store.offers_delivery, store.offers_pickup)
}

/// One store in the list.
#[component]
fn StoreCard(store: StoreSummary) -> impl IntoView {
    let href = format!("/stores/{}", store.id);
    let closed = store.status != StoreStatus::Open;
    let i18n = use_i18n();
    let min_won = won(store.min_order);
    let min_order =
        (store.min_order.won() > 0).then_some(move || t_string!(i18n, store.min_order, amount = min_won()).to_string());
    let (prep, kind) = (store.default_prep_minutes, store.kind);
    let fulfilment = {
        let store = store.clone();
        move || fulfilment_text(i18n.get_locale(), &store)
    };
    view! {
        <li class="store-card" class:dimmed=closed data-store-id=store.id.get()>
            <a href=href>
                <div class="store-card-head">
                    <h2>{store.name.clone()}</h2>
                    {status_badge(store.status)}
                </div>
                <p class="store-category">
                    <span class="kind">{move || crate::words::kind(i18n.get_locale(), kind)}</span>
                    {category_suffix(&store.category)}
                </p>
                <p class="store-meta">
                    <span>{fulfilment}</span>
                    <span>{t!(i18n, store.prep_range, from = prep, to = prep + 15)}</span>
                    {min_order.map(|m| view! { <span>{m}</span> })}
                </p>
            </a>
        </li>
    }
}

/// `/stores/{id}`: a store's menu grouped by category, with prices in won and
/// sold-out and low-stock items marked.
#[component]
pub fn StorePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let menu = Resource::new(id, get_store_menu);
    // Every resource of the page is created here, outside the Suspense
    // (leptos#4866: one created inside can leave the SSR response hanging).
    let add = ServerAction::<crate::customer::cart::AddToCart>::new();
    let set = ServerAction::<crate::customer::cart::SetCartQuantity>::new();
    let cart = Resource::new(
        move || (id(), add.version().get(), set.version().get()),
        |(id, ..)| crate::customer::cart::get_cart(id),
    );
    let reviews = Resource::new(id, get_store_reviews);
    view! {
        <Suspense fallback=move || view! { <p class="loading">{t!(use_i18n(), common.loading)}</p> }>
            {move || Suspend::new(async move {
                match menu.await {
                    Ok(menu) => {
                        let store = menu.store.id;
                        view! {
                            <div class="store-layout">
                                <div class="store-main"><Menu menu add/></div>
                                <crate::customer::cart::CartPanel store cart add set/>
                            </div>
                            <StoreReviewsBlock reviews/>
                        }.into_any()
                    }
                    Err(AppError::NotFound(problem)) => view! { <NotFound problem/> }.into_any(),
                    Err(error) => view! { <ErrorPage error/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A store's header and its menu sections.
#[component]
pub fn Menu(
    /// The store and its menu.
    menu: StoreMenu,
    /// The "Add to cart" action; without it the menu is read-only.
    #[prop(optional)]
    add: Option<ServerAction<crate::customer::cart::AddToCart>>,
) -> impl IntoView {
    let store = menu.store;
    let i18n = use_i18n();
    let status = store.status;
    let notice = move || match status {
        StoreStatus::Open => None,
        StoreStatus::Paused => Some(t_string!(i18n, store.paused_notice)),
        StoreStatus::Closed => Some(t_string!(i18n, store.closed_notice)),
    };
    let (kind, prep) = (store.kind, store.default_prep_minutes);
    let min_won = won(store.min_order);
    let fulfilment = {
        let store = store.clone();
        move || fulfilment_text(i18n.get_locale(), &store)
    };
    view! {
        <Title text=store.name.clone()/>
        <a class="back" href="/">{t!(i18n, store.all_stores)}</a>
        <section class="store-header" data-testid="store-header">
            <div class="store-card-head">
                <h1>{store.name.clone()}</h1>
                {status_badge(store.status)}
            </div>
            <p class="store-category">{move || crate::words::kind(i18n.get_locale(), kind)} {category_suffix(&store.category)}</p>
            <p class="store-address">{store.address.clone()}</p>
            <p class="store-meta">
                <span>{fulfilment}</span>
                <span>{t!(i18n, store.ready_in, minutes = prep)}</span>
                {(store.min_order.won() > 0).then(|| view! { <span>{move || t_string!(i18n, store.min_order, amount = min_won()).to_string()}</span> })}
            </p>
            {move || notice().map(|n| view! { <p class="notice" role="status">{n}</p> })}
        </section>
        {if menu.sections.is_empty() {
            view! { <p class="empty">{t!(i18n, store.no_menu)}</p> }.into_any()
        } else {
            menu.sections
                .into_iter()
                .map(|section| {
                    view! {
                        <section class="menu-section">
                            <h2>{section.category}</h2>
                            <ul class="menu-items">
                                {section.items.into_iter().map(|item| view! { <MenuRow item add/> }).collect_view()}
                            </ul>
                        </section>
                    }
                })
                .collect_view()
                .into_any()
        }}
    }
}

#[component]
fn MenuRow(item: MenuItem, add: Option<ServerAction<crate::customer::cart::AddToCart>>) -> impl IntoView {
    let available = item.available();
    let i18n = use_i18n();
    let stock_note = if !available {
        Some(view! { <span class="badge soldout">{t!(i18n, store.sold_out)}</span> }.into_any())
    } else {
        item.stock
            .low()
            .map(|left| view! { <span class="badge low">{t!(i18n, store.only_left, left = left)}</span> }.into_any())
    };
    let stock_attr = match item.stock {
        Stock::Unlimited => "unlimited".to_string(),
        Stock::Limited(n) => n.to_string(),
    };
    view! {
        <li class="menu-item" class:unavailable=!available data-item-id=item.id.get() data-stock=stock_attr>
            <div class="menu-item-text">
                <h3>{item.name}</h3>
                <p>{item.description}</p>
            </div>
            <div class="menu-item-side">
                <span class="price">{won(item.price)}</span>
                {stock_note}
                {add.filter(|_| available).map(|add| view! {
                    <ActionForm action=add attr:class="inline">
                        <input type="hidden" name="item" value=item.id.to_string()/>
                        <button type="submit" class="round add" aria-label=move || t_string!(i18n, store.add_to_cart) data-testid="add">"+"</button>
                    </ActionForm>
                })}
            </div>
        </li>
    }
}

/// The reviews block on a store page (F11).
#[component]
pub fn StoreReviewsBlock(
    /// The store's reviews, loaded by the page.
    reviews: Resource<Result<StoreReviews, AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                reviews.await.ok().map(|r| view! {
                    <section class="reviews" data-testid="reviews">
                        <h2>{t!(i18n, store.reviews)}</h2>
                        {if r.count == 0 {
                            view! { <p class="empty">{t!(i18n, store.no_reviews)}</p> }.into_any()
                        } else {
                            let average = format!("{}.{}", r.average_tenths / 10, r.average_tenths % 10);
                            let count = r.count;
                            view! {
                                <p class="rating" data-testid="rating">
                                    {move || t_string!(i18n, store.rating, average = average.clone(), count = count).to_string()}
                                </p>
                                <ul>
                                    {r.recent.into_iter().map(|review| view! {
                                        <li class="review">
                                            <span class="stars">{"★".repeat(review.stars.into())}{"☆".repeat(5 - usize::from(review.stars))}</span>
                                            " " <strong>{review.author}</strong>
                                            <p>{review.comment}</p>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }.into_any()
                        }}
                    </section>
                })
            })}
        </Suspense>
    }
}

/// " · 치킨" after the store's kind, or nothing for a store without a
/// category yet (a new store from signup).
fn category_suffix(category: &str) -> Option<String> {
    (!category.is_empty()).then(|| format!(" · {category}"))
}

#[cfg(test)]
mod tests {
    use crate::nav::encode_component;

    #[test]
    fn search_terms_are_percent_encoded_in_links() {
        assert_eq!(encode_component("bbq"), "bbq");
        assert_eq!(encode_component("a b&c"), "a%20b%26c");
        assert_eq!(encode_component("치킨"), "%EC%B9%98%ED%82%A8");
    }
}
