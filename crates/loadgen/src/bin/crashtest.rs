//! `crashtest`: kills the server with SIGKILL again and again while virtual
//! users run whole order lifecycles, restarts it each time, and then checks
//! what the platform promises (issue 6, "Crash safety"):
//!
//! - every order whose checkout was acknowledged (the customer got its page)
//!   exists and was placed;
//! - no order is left payment-pending, and none is placed unpaid: every
//!   placed order has exactly one live authorization at the gateway (the
//!   sandbox ledger survives the kills, as a provider's would), no failed
//!   order keeps a hold, and captures equal delivered orders (no doubles);
//! - every consumer reaches the end of the log;
//! - every WebSocket client, reconnecting and resuming after each kill,
//!   converges to each of its orders' final status.
//!
//! The server runs as a child process (this binary with `CRASHTEST_CHILD=1`,
//! through `testkit::process`) on a fixed port and a database of its own —
//! `DATABASE_URL` when set, else a fresh one of the kind `TEST_DATABASE`
//! names — so a restart finds the same data. A client whose request dies with the server retries it:
//! checkout with the same idempotency key, other commands until they succeed
//! or are refused because they already happened (409).
//!
//! Usage: `cargo run --release -p loadgen --bin crashtest -- [seconds] [kill every ms] [users]`
//! (defaults: 30 s, 3,000 ms, 4 users). Exits 1 when a promise is broken.

use anyhow::{anyhow, bail, Context, Result};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::demo::PASSWORD;
use testkit::http::{client, sign_up};
use testkit::process::{Launch, ServerProcess};
use tokio::sync::Mutex;

const OWNER: &str = "owner.chicken@demo.delivery";

/// Child mode: the server on `APP_PORT`, until killed.
async fn child() -> Result<()> {
    // APP_PORT and DATABASE_URL come from the parent.
    let mut settings = server::config::Settings::from_lookup(|k| std::env::var(k).ok())?;
    settings.login_attempts_per_minute = 1_000_000;
    settings.payment_timeout_ms = 1_000;
    settings.reconcile_interval_ms = 500;
    settings.db_max_connections = 20;
    let running = server::start(&settings).await?;
    running.wait().await
}

/// What a request came to, as far as a client can tell.
enum Outcome {
    Done(reqwest::Response),
    /// 409: refused by the state machine — for a retried command, because its
    /// first try had committed before the kill.
    AlreadyDone,
    /// The server died mid-request, or is restarting, or shed the load.
    TryAgain,
}

async fn post(c: &reqwest::Client, base: &str, endpoint: &str, form: &[(&str, &str)]) -> Outcome {
    match c.post(format!("{base}/api/{endpoint}")).form(form).send().await {
        Ok(r) if r.status().is_success() || r.status().is_redirection() => Outcome::Done(r),
        Ok(r) if r.status().as_u16() == 409 => Outcome::AlreadyDone,
        _ => Outcome::TryAgain,
    }
}

/// Retries `endpoint` until it is done or refused as already done; `None`
/// when `deadline` passes first.
async fn until_done(
    c: &reqwest::Client,
    base: &str,
    endpoint: &str,
    form: &[(&str, &str)],
    deadline: Instant,
) -> Option<Option<reqwest::Response>> {
    while Instant::now() < deadline {
        match post(c, base, endpoint, form).await {
            Outcome::Done(r) => return Some(Some(r)),
            Outcome::AlreadyDone => return Some(None),
            Outcome::TryAgain => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    None
}

async fn login(base: &str, email: &str) -> Result<reqwest::Client> {
    let c = client();
    match post(&c, base, "login", &[("email", email), ("password", PASSWORD)]).await {
        Outcome::Done(_) => Ok(c),
        _ => bail!("cannot log in as {email}"),
    }
}

/// Follows one customer's orders over `/ws`, resuming after every kill.
/// Returns the last status seen per order.
async fn watch(base: String, cookie: String, until: Arc<Mutex<bool>>) -> BTreeMap<i64, String> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut seen: BTreeMap<i64, String> = BTreeMap::new();
    let mut last_seq: Option<i64> = None;
    while !*until.lock().await {
        let url = format!(
            "{}/ws{}",
            base.replace("http://", "ws://"),
            last_seq.map(|s| format!("?after={s}")).unwrap_or_default()
        );
        let Ok(mut request) = url.into_client_request() else {
            break;
        };
        if let Ok(value) = cookie.parse() {
            request.headers_mut().insert("cookie", value);
        }
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        loop {
            let next = tokio::time::timeout(Duration::from_millis(500), socket.next()).await;
            match next {
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                    let Ok(m) = serde_json::from_str::<serde_json::Value>(&text) else {
                        continue;
                    };
                    if m["type"] == "hello" && last_seq.is_none() {
                        last_seq = m["head"].as_i64();
                    }
                    if m["type"] == "event" {
                        last_seq = m["seq"].as_i64().or(last_seq);
                        if let (Some(order), Some(status)) = (m["order_id"].as_i64(), m["status"].as_str()) {
                            seen.insert(order, status.to_string());
                        }
                    }
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_))) | Ok(None) => break, // killed: reconnect and resume
                Err(_) => {
                    if *until.lock().await {
                        return seen;
                    }
                }
            }
        }
    }
    seen
}

struct Totals {
    acknowledged: BTreeSet<i64>,
    lifecycles: u64,
}

/// One virtual user's lifecycles until `deadline`, retrying through kills.
async fn lifecycles(
    base: String,
    person: Person,
    owner: reqwest::Client,
    (store, item): (String, String),
    deadline: Instant,
    totals: Arc<Mutex<Totals>>,
) {
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let key = format!("crash-{}-{n}", person.n);
        // A cart line survives a kill; a retried add adds one more, harmlessly.
        if until_done(&person.customer, &base, "cart_add", &[("item", &item)], deadline)
            .await
            .is_none()
        {
            break;
        }
        let form = [
            ("store", store.as_str()),
            ("fulfilment", "delivery"),
            ("delivery_type", "motorbike"),
            ("address", "서울 강남구 역삼로 5"),
            ("card_number", "4242424242424242"),
            ("idempotency_key", key.as_str()),
        ];
        let Some(Some(placed)) = until_done(&person.customer, &base, "place_order", &form, deadline).await else {
            continue;
        };
        let Some(order) = placed
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.trim_start_matches("/orders/").parse::<i64>().ok())
        else {
            continue;
        };
        totals.lock().await.acknowledged.insert(order);
        let id = order.to_string();
        let steps: [(&reqwest::Client, &str); 5] = [
            (&owner, "accept_order"),
            (&person.rider, "claim_job"),
            (&owner, "mark_ready"),
            (&person.rider, "pick_up"),
            (&person.rider, "deliver"),
        ];
        for (who, step) in steps {
            let mut form = vec![("order", id.as_str())];
            if step == "accept_order" {
                form.push(("prep_minutes", "10"));
            }
            // Started lifecycles are finished, even a little past the deadline.
            if until_done(who, &base, step, &form, deadline + Duration::from_secs(30))
                .await
                .is_none()
            {
                break;
            }
        }
        totals.lock().await.lifecycles += 1;
    }
}

/// A virtual user: a customer and a motorbike rider of their own.
struct Person {
    n: usize,
    customer: reqwest::Client,
    cookie: String,
    rider: reqwest::Client,
}

#[tokio::main]
async fn main() -> Result<()> {
    if std::env::var("CRASHTEST_CHILD").is_ok() {
        return child().await;
    }
    let args: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let seconds = args.first().copied().unwrap_or(30);
    let kill_every = Duration::from_millis(args.get(1).copied().unwrap_or(3_000));
    let users = args.get(2).copied().unwrap_or(4) as usize;

    let launch = Launch {
        database_url: std::env::var("DATABASE_URL").ok(),
        ..Launch::default()
    }
    .env("CRASHTEST_CHILD", "1");
    let mut server = ServerProcess::start(std::env::current_exe()?, launch).await?;
    let base = server.base();
    let database_url = server.database_url.clone();
    let db = db::Db::connect(&database_url, &db::DbOptions::default()).await?;
    let (store, item): (i64, i64) = sqlx::query_as(
        "SELECT s.id, MIN(m.id) FROM stores s JOIN users u ON u.id = s.owner_id \
         JOIN menu_items m ON m.store_id = s.id AND m.stock IS NULL WHERE u.email = $1 GROUP BY s.id",
    )
    .bind(OWNER)
    .fetch_one(db.pool())
    .await
    .context("the demo store")?;

    println!(
        "crashtest: {users} users for {seconds} s, SIGKILL every {kill_every:?}, on {}",
        server::redact(&database_url)
    );
    let totals = Arc::new(Mutex::new(Totals {
        acknowledged: BTreeSet::new(),
        lifecycles: 0,
    }));
    let stop_watching = Arc::new(Mutex::new(false));
    let run = std::process::id();
    let mut people = Vec::new();
    for n in 0..users {
        let customer = sign_up(&base, &format!("crash-c{n}-{run}@example.kr"), "customer")
            .await
            .map_err(|e| anyhow!(e))?;
        let rider = sign_up(&base, &format!("crash-r{n}-{run}@example.kr"), "rider")
            .await
            .map_err(|e| anyhow!(e))?;
        people.push(Person {
            n,
            customer: customer.http,
            cookie: customer.cookie,
            rider: rider.http,
        });
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut watchers = Vec::new();
    let mut running = Vec::new();
    for person in people {
        // Each customer's screen follows their orders through every kill.
        watchers.push(tokio::spawn(watch(
            base.clone(),
            person.cookie.clone(),
            stop_watching.clone(),
        )));
        running.push(tokio::spawn(lifecycles(
            base.clone(),
            person,
            login(&base, OWNER).await?,
            (store.to_string(), item.to_string()),
            deadline,
            totals.clone(),
        )));
    }
    let mut kills = 0u32;
    while Instant::now() + kill_every < deadline {
        tokio::time::sleep(kill_every.mul_f64(0.5 + rand_unit())).await;
        server.kill();
        kills += 1;
        server
            .restart()
            .await
            .with_context(|| format!("restart after kill {kills}"))?;
    }
    for r in running {
        r.await?;
    }

    // Let the reconciler and the consumers finish.
    let settle_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE status = 'payment_pending'")
            .fetch_one(db.pool())
            .await?;
        let head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
            .fetch_one(db.pool())
            .await?;
        let behind: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consumer_checkpoints WHERE last_seq < $1")
            .bind(head)
            .fetch_one(db.pool())
            .await?;
        if pending == 0 && behind == 0 {
            break;
        }
        if Instant::now() > settle_deadline {
            bail!("not settled after 60 s: {pending} orders payment-pending, {behind} consumers behind the log");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    *stop_watching.lock().await = true;
    let mut screens = BTreeMap::new();
    for w in watchers {
        screens.extend(w.await?);
    }

    // The checks.
    let mut broken = Vec::new();
    let orders: BTreeMap<i64, String> = sqlx::query_as::<_, (i64, String)>("SELECT id, status FROM orders")
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .collect();
    let totals = totals.lock().await;
    for order in &totals.acknowledged {
        match orders.get(order).map(String::as_str) {
            None => broken.push(format!("acknowledged order {order} is missing")),
            Some("payment_pending" | "payment_failed") => {
                broken.push(format!("acknowledged order {order} was not placed"))
            }
            Some(_) => {}
        }
    }
    let ledger = payment::SandboxGateway::open(
        &payment::sandbox_database_url(&database_url),
        payment::SandboxConfig::default(),
    )
    .await
    .map_err(|e| anyhow!("{e}"))?
    .ledger()
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let holds: BTreeMap<String, String> = ledger.into_iter().map(|(k, h)| (k, h.state)).collect();
    let mut doubles = 0;
    let (mut live_holds, mut placed, mut captures, mut delivered) = (0, 0, 0, 0);
    for (id, status) in &orders {
        let hold = holds.get(&format!("order-{id}")).map(String::as_str);
        let failed = matches!(status.as_str(), "payment_failed" | "payment_pending");
        if !failed {
            placed += 1;
        }
        if status == "delivered" || status == "collected" {
            delivered += 1;
        }
        match hold {
            Some("authorized" | "captured") if failed => {
                doubles += 1;
                broken.push(format!("order {id} is {status} but its card is held ({hold:?})"));
            }
            Some("authorized" | "captured") => live_holds += 1,
            _ if !failed && !matches!(status.as_str(), "rejected" | "cancelled") => {
                broken.push(format!("order {id} is {status} without a payment ({hold:?})"));
            }
            _ => {}
        }
        if hold == Some("captured") {
            captures += 1;
        }
    }
    let open_or_done = orders
        .values()
        .filter(|s| {
            !matches!(
                s.as_str(),
                "payment_failed" | "payment_pending" | "rejected" | "cancelled"
            )
        })
        .count();
    if live_holds != open_or_done {
        broken.push(format!(
            "{live_holds} live authorizations for {open_or_done} placed orders"
        ));
    }
    if captures != delivered {
        broken.push(format!("{captures} captures for {delivered} delivered orders"));
    }
    let mut converged = 0;
    for order in &totals.acknowledged {
        let Some(status) = orders.get(order) else { continue };
        match screens.get(order) {
            Some(seen) if seen == status => converged += 1,
            seen => broken.push(format!(
                "a screen shows order {order} as {seen:?}, the database {status}"
            )),
        }
    }
    server.kill();

    println!("kills survived:           {kills}");
    println!("lifecycles completed:     {}", totals.lifecycles);
    println!("orders acknowledged:      {}", totals.acknowledged.len());
    println!(
        "orders checked:           {} ({placed} placed, {delivered} delivered)",
        orders.len()
    );
    println!("authorizations / captures: {live_holds} / {captures}");
    println!("doubles found:            {doubles}");
    println!("screens converged:        {converged} of {}", totals.acknowledged.len());
    if broken.is_empty() {
        println!("crashtest: every promise kept");
        Ok(())
    } else {
        for b in &broken {
            eprintln!("BROKEN: {b}");
        }
        bail!("{} broken promises", broken.len())
    }
}

/// A number in 0..1 from the clock (jitter for the kill times; no RNG crate needed).
fn rand_unit() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1_000) / 1_000.0
}
