//! `loadgen`: measures the order flow end to end over HTTP (issue 4, "Benchmark").
//!
//! It starts the real server in-process on a fresh SQLite file (or on
//! `DATABASE_URL` when set) with the demo data, signs up one customer and one
//! motorbike rider per virtual user, then every virtual user repeats the whole
//! lifecycle — add to cart, pay, the owner accepts, the rider claims, the owner
//! marks ready, the rider picks up and delivers — as fast as the server answers.
//! Every command waits until the projections show it (read-your-writes), so a
//! step's latency is what a user waits for.
//!
//! In the same run it measures a trivial axum handler (`GET /` → "ok") with the
//! same number of concurrent clients: the baseline the figures are read against.
//!
//! Usage: `cargo run --release -p loadgen -- [virtual users] [seconds]`
//! (defaults: 8 users, 20 seconds).

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The lifecycle's steps, in order.
const STEPS: [&str; 7] = [
    "cart_add",
    "place_order",
    "accept_order",
    "claim_job",
    "mark_ready",
    "pick_up",
    "deliver",
];
const OWNER: &str = "owner.chicken@demo.delivery";
const PASSWORD: &str = "demo1234";

type Samples = Arc<Mutex<BTreeMap<&'static str, Vec<Duration>>>>;

fn client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

async fn call(c: &reqwest::Client, base: &str, endpoint: &str, form: &[(&str, &str)]) -> Result<()> {
    let response = c.post(format!("{base}/api/{endpoint}")).form(form).send().await?;
    let status = response.status();
    if !(status.is_success() || status.is_redirection()) {
        bail!("{endpoint}: {status} {}", response.text().await.unwrap_or_default());
    }
    Ok(())
}

async fn account(base: &str, email: &str, role: &str) -> Result<reqwest::Client> {
    let c = client()?;
    let mut form = vec![
        ("email", email),
        ("display_name", "부하 테스트"),
        ("password", "loadtest-password"),
        ("role", role),
    ];
    if role == "rider" {
        form.push(("vehicle", "motorbike"));
    }
    call(&c, base, "signup", &form).await.context("sign up")?;
    Ok(c)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Requests per second of a trivial axum handler under `users` concurrent clients.
async fn baseline(users: usize, seconds: u64) -> Result<f64> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..users {
        let url = format!("http://{addr}/");
        tasks.push(tokio::spawn(async move {
            let c = reqwest::Client::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                if c.get(&url).send().await.is_ok() {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await?;
    }
    server.abort();
    Ok(total as f64 / seconds as f64)
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(8);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);

    let dir = tempfile::tempdir()?;
    let mut settings = server::config::Settings::from_lookup(|_| None)?;
    settings.port = 0;
    settings.database_url =
        std::env::var("DATABASE_URL").unwrap_or_else(|_| format!("sqlite://{}/loadgen.db", dir.path().display()));
    settings.login_attempts_per_minute = 1_000_000;
    let running = server::start(&settings).await?;
    let base = format!("http://{}", running.addr);

    let (store, item): (i64, i64) = sqlx_store_and_item(&running.db).await?;
    let owner = client()?;
    call(&owner, &base, "login", &[("email", OWNER), ("password", PASSWORD)]).await?;
    let owner = Arc::new(owner);

    let samples: Samples = Arc::new(Mutex::new(BTreeMap::new()));
    let mut tasks = Vec::new();
    let run_id = std::process::id();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    for u in 0..users {
        let customer = account(&base, &format!("load-c{u}-{run_id}@example.kr"), "customer").await?;
        let rider = account(&base, &format!("load-r{u}-{run_id}@example.kr"), "rider").await?;
        let (base, owner, samples) = (base.clone(), owner.clone(), samples.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = 0u64;
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let key = format!("u{u}-{n}");
                let store = store.to_string();
                let item = item.to_string();
                let mut order = String::new();
                for step in STEPS {
                    let t = Instant::now();
                    let result = match step {
                        "cart_add" => call(&customer, &base, step, &[("item", &item)]).await,
                        "place_order" => {
                            let r = customer
                                .post(format!("{base}/api/place_order"))
                                .form(&[
                                    ("store", store.as_str()),
                                    ("fulfilment", "delivery"),
                                    ("delivery_type", "motorbike"),
                                    ("address", "서울 강남구 역삼로 5"),
                                    ("card_number", "4242424242424242"),
                                    ("idempotency_key", key.as_str()),
                                ])
                                .send()
                                .await;
                            match r {
                                Ok(r) => match r.headers().get("location").and_then(|l| l.to_str().ok()) {
                                    Some(l) => {
                                        order = l.trim_start_matches("/orders/").to_string();
                                        Ok(())
                                    }
                                    None => Err(anyhow::anyhow!("place_order: {}", r.status())),
                                },
                                Err(e) => Err(e.into()),
                            }
                        }
                        "accept_order" => call(&owner, &base, step, &[("order", &order), ("prep_minutes", "10")]).await,
                        "mark_ready" => call(&owner, &base, step, &[("order", &order)]).await,
                        _ => call(&rider, &base, step, &[("order", &order)]).await,
                    };
                    let elapsed = t.elapsed();
                    if let Err(e) = result {
                        eprintln!("virtual user {u}: {e:#}");
                        return done;
                    }
                    samples.lock().await.entry(step).or_default().push(elapsed);
                }
                done += 1;
            }
            done
        }));
    }
    let mut completed = 0;
    for t in tasks {
        completed += t.await?;
    }
    let elapsed = start.elapsed();
    running.stop().await?;

    let base_rate = baseline(users, seconds.min(10)).await?;
    println!(
        "virtual users: {users}, duration: {:.1} s, database: {}",
        elapsed.as_secs_f64(),
        if std::env::var("DATABASE_URL").is_ok() {
            "DATABASE_URL"
        } else {
            "SQLite file"
        }
    );
    println!(
        "completed lifecycles: {completed} ({:.1} orders/s)",
        completed as f64 / elapsed.as_secs_f64()
    );
    println!("baseline (trivial axum handler, {users} clients): {base_rate:.0} requests/s");
    println!("| step | count | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|");
    let samples = samples.lock().await;
    for step in STEPS {
        let mut s = samples.get(step).cloned().unwrap_or_default();
        s.sort();
        println!(
            "| {step} | {} | {:.1} | {:.1} |",
            s.len(),
            ms(percentile(&s, 50.0)),
            ms(percentile(&s, 99.0))
        );
    }
    let http_requests: usize = samples.values().map(Vec::len).sum();
    println!(
        "order-flow requests/s: {:.0} ({:.1}% of the baseline rate)",
        http_requests as f64 / elapsed.as_secs_f64(),
        100.0 * http_requests as f64 / elapsed.as_secs_f64() / base_rate.max(1.0)
    );
    Ok(())
}

/// The demo chicken store and an item of unlimited stock on it.
async fn sqlx_store_and_item(db: &db::Db) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT s.id, MIN(m.id) FROM stores s JOIN users u ON u.id = s.owner_id \
         JOIN menu_items m ON m.store_id = s.id AND m.stock IS NULL WHERE u.email = $1 GROUP BY s.id",
    )
    .bind(OWNER)
    .fetch_one(db.pool())
    .await?)
}
