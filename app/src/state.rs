//! What the server hands to every page render and server function.

use axum::extract::FromRef;
use leptos::prelude::*;
use std::sync::Arc;

/// Limits attempts per client address, keyed by
/// `accounts::throttle::client_key` (the real client behind trusted
/// proxies, issue 14): login and sign-up (issue 3; the throttle per account
/// and address lives in the database, `accounts::throttle`), checkouts.
/// In memory: each replica counts its own share.
pub type ClientLimiter = governor::DefaultKeyedRateLimiter<String>;

/// The router state. Server functions read it with [`app_state`]; its
/// parts are [`Shared`]'s fields (`state.db`, …).
///
/// One reference count: axum clones the state with the handler's service
/// on every request, and Leptos again into each render's and server
/// function's context. Cloning and dropping the parts themselves (the
/// Leptos options' text, the consumers' list, two dozen reference counts)
/// took most of the server's CPU time under read load (issue 13,
/// BENCHMARKS.md eighteenth part).
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The state holding `shared`.
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What leptos_axum asks of the router state: the site's options.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> LeptosOptions {
        state.leptos_options.clone()
    }
}

/// The parts of [`AppState`], made once at start.
#[derive(Debug)]
pub struct Shared {
    /// Where the site's assets are and how they are named.
    pub leptos_options: LeptosOptions,
    /// The database.
    pub db: db::Db,
    /// Attempts per client IP at `/api/login` and `/api/signup`.
    pub login_limiter: Arc<ClientLimiter>,
    /// Checkouts that reach the payment per client IP (issue 14): a script
    /// testing stolen card numbers, or flooding one store, is slowed down.
    pub checkout_limiter: Arc<ClientLimiter>,
    /// The payment gateway behind its timeout and circuit breaker (N2).
    pub payments: Arc<payment::guard::GuardedGateway>,
    /// The sandbox adapter behind it, whose faults an operator may set at
    /// runtime (`/admin`); `None` with a real gateway.
    pub sandbox: Option<Arc<payment::SandboxGateway>>,
    /// Each event consumer's switch and failure counts (`/admin`, `/metrics`).
    pub consumer_controls: Vec<Arc<eventlog::ConsumerControl>>,
    /// The newest events of the log, shared with this replica's consumers.
    pub log_tail: Arc<eventlog::Tail>,
    /// The stores' menus as customers see them, kept between reads (issue 13).
    pub menus: catalog::MenuCache,
    /// The stores' ratings and latest reviews, kept between reads (issue 13).
    pub reviews: catalog::StoreCache<domain::shop::StoreReviews>,
}

/// The app state inside a server function or a server-side render.
pub fn app_state() -> Result<AppState, crate::error::AppError> {
    use_context::<AppState>().ok_or_else(|| crate::error::internal("AppState missing from the context"))
}
