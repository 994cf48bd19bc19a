//! `loadgen`: measures the order flow end to end over HTTP (issue 4, "Benchmark").
//!
//! It starts the real server (see below) on a fresh database — a SQLite file,
//! or PostgreSQL with `TEST_DATABASE=postgres`, or `DATABASE_URL` when set —
//! with the demo data, signs up one customer and one
//! motorbike rider per virtual user, then every virtual user repeats the whole
//! lifecycle — add to cart, pay, the owner accepts, the rider claims, the owner
//! marks ready, the rider picks up and delivers — as fast as the server answers.
//! Every command waits until the projections show it (read-your-writes), so a
//! step's latency is what a user waits for.
//!
//! With `subscribers` > 0 it also holds that many WebSockets open on `/ws`
//! and reports commit-to-receipt latency, the connections held, the
//! server's memory per idle connection (RSS growth of the server process,
//! restarted after the signups, divided by the connections), and the CPU
//! time the server and this process used while the lifecycles ran (the
//! two share the machine's cores). Who the subscribers are is the `mix`:
//! `owners` (the default: all logged in as the store's owner, who sees every
//! event of every lifecycle, the widest fan-out) or `realistic` (issue 13:
//! 90 % customers, each following their own orders — the virtual users'
//! customers among them, the rest with nothing under way — 9 % riders on
//! motorbikes, bicycles and on foot, the virtual users' riders among them,
//! and 1 % owner tablets spread over the demo stores' owners; every
//! customer and rider is an account of its own, signed up first). The
//! server runs in a child process (this binary with `LOADGEN_CHILD=1`) so
//! its memory can be read alone.
//!
//! In the same run it measures a trivial axum handler (`GET /` → "ok") with the
//! same number of concurrent clients: the baseline the figures are read against.
//!
//! Usage: `cargo run --release -p loadgen -- [virtual users] [seconds] [subscribers] [mix]`
//! (defaults: 8 users, 20 seconds, 0 subscribers, `owners`). With `LOADGEN_TARGET`
//! (`http://host:port`) it drives that running deployment instead of a
//! server of its own (the server's memory is then not read).

use anyhow::{anyhow, bail, Context, Result};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::demo::{CANTEEN_OWNER, OTHER_OWNER, OWNER};
use testkit::http::{client, demo, sign_up, sign_up_with};
use testkit::process::{Launch, ServerProcess};
use tokio::sync::Mutex;

/// The server's allocator (`server/src/main.rs`), so the child server
/// measured here allocates as the production binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Who the WebSocket subscribers are (the fourth argument; see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// Every subscriber is the store's owner and receives every event.
    Owners,
    /// Customers, riders and owner tablets as in a city.
    Realistic,
}

/// Subscribers' roles, as reported.
const ROLES: [&str; 3] = ["customer", "rider", "owner"];

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

type Samples = Arc<Mutex<BTreeMap<&'static str, Vec<Duration>>>>;

async fn call(c: &reqwest::Client, base: &str, endpoint: &str, form: &[(&str, &str)]) -> Result<()> {
    let response = c.post(format!("{base}/api/{endpoint}")).form(form).send().await?;
    let status = response.status();
    if !(status.is_success() || status.is_redirection()) {
        bail!("{endpoint}: {status} {}", response.text().await.unwrap_or_default());
    }
    Ok(())
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

/// Child mode: the server on `APP_PORT` and `DATABASE_URL` (set by the
/// parent), until SIGTERM; then it stops as a deployed replica does, so its
/// consumers give their leases up and a next run on the same database
/// starts at once.
async fn child() -> Result<()> {
    let mut settings = server::config::Settings::from_lookup(|k| std::env::var(k).ok())?;
    settings.login_attempts_per_minute = 1_000_000;
    settings.checkouts_per_minute = 1_000_000;
    settings.db_max_connections = 20;
    let running = server::start(&settings).await?;
    let shutdown = running.shutdown_handle();
    tokio::spawn(async move {
        server::shutdown_signal().await;
        let _ = shutdown.send(true);
    });
    running.wait().await
}

/// The resident memory of process `pid`, in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The CPU time process `pid` has used so far (user and system, all its
/// threads), in milliseconds (Linux: `/proc/{pid}/stat`, whose clock ticks
/// are 10 ms on every Linux the kernel ABI knows: `USER_HZ` is 100).
fn cpu_ms(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    // utime and stime are the stat's 14th and 15th fields, the 12th and 13th after the name.
    let user: u64 = fields.nth(11)?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) * 10)
}

/// The resident memory of process `pid` once it has settled, in KiB: read
/// every 500 ms until two readings are within 1 % (at most 20 s). The
/// signups' password hashing (19 MiB per hash) leaves memory that the
/// allocator hands back a while later.
async fn settled_rss_kib(pid: u32) -> u64 {
    let mut last = rss_kib(pid).unwrap_or(0);
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = rss_kib(pid).unwrap_or(0);
        if now.abs_diff(last) * 100 <= last {
            return now;
        }
        last = now;
    }
    last
}

/// The demo chicken store and an item of unlimited stock on it, over HTTP.
async fn store_and_item(base: &str) -> Result<(i64, i64)> {
    let c = client();
    let stores: serde_json::Value = c.post(format!("{base}/api/list_stores")).send().await?.json().await?;
    let store = stores
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "황금올리브 치킨 역삼점"))
        .and_then(|s| s["id"].as_i64())
        .ok_or_else(|| anyhow!("demo store missing"))?;
    let menu: serde_json::Value = c
        .post(format!("{base}/api/store_menu"))
        .form(&[("id", store.to_string())])
        .send()
        .await?
        .json()
        .await?;
    let item = menu["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["items"].as_array().cloned().unwrap_or_default())
        .find(|i| i["stock"]["type"] == "unlimited")
        .and_then(|i| i["id"].as_i64())
        .ok_or_else(|| anyhow!("no unlimited item"))?;
    Ok((store, item))
}

/// The commit time (`at_ms`, unix milliseconds) of a live message, read
/// without building the message: the 10,000 sockets' reader shares the two
/// cores with the server it measures.
fn commit_time(text: &str) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Committed {
        at_ms: Option<i64>,
    }
    serde_json::from_str::<Committed>(text).ok()?.at_ms
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The child server's `APP_METRICS_TOKEN`, so the run can read its
/// `/metrics`.
const METRICS_TOKEN: &str = "loadgen-reads-its-own-metrics";

/// The SQLite writer's turns so far, the microseconds they were held and
/// its commits (`db_writer_turns_total`, `db_writer_held_microseconds_total`,
/// `db_writer_commits_total`, 0 where a server has none); `None`
/// on PostgreSQL, or for a deployment whose metrics this run cannot read.
async fn writer_turns(base: &str) -> Option<(f64, f64, f64)> {
    let text = reqwest::Client::new()
        .get(format!("{base}/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
    };
    Some((
        value("db_writer_turns_total")?,
        value("db_writer_held_microseconds_total")?,
        value("db_writer_commits_total").unwrap_or(0.0),
    ))
}

#[tokio::main]
async fn main() -> Result<()> {
    if std::env::var("LOADGEN_CHILD").is_ok() {
        return child().await;
    }
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(8);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(20);
    let subscribers: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(0);
    let mix = match args.next().as_deref() {
        None | Some("owners") => Mix::Owners,
        Some("realistic") => Mix::Realistic,
        Some(other) => bail!("mix must be `owners` or `realistic`, not {other:?}"),
    };

    // A running deployment (the replicas behind their balancer, deploy/replicas.sh).
    if let Ok(target) = std::env::var("LOADGEN_TARGET") {
        return run(target.trim_end_matches('/'), None, users, seconds, subscribers, mix).await;
    }
    let launch = Launch {
        database_url: std::env::var("DATABASE_URL").ok(),
        ..Launch::default()
    }
    .env("LOADGEN_CHILD", "1")
    .env("APP_METRICS_TOKEN", METRICS_TOKEN);
    let mut server = ServerProcess::start(std::env::current_exe()?, launch)
        .await
        .context("start the server process")?;
    let base = server.base();
    let result = run(&base, Some(&mut server), users, seconds, subscribers, mix).await;
    // SIGTERM, not SIGKILL: the child gives its consumer leases up.
    if server.terminate().is_ok() {
        let _ = server.wait();
    }
    result
}

/// The subscribers' `(role index in ROLES, session cookie)`: `customers`
/// and `riders` are the virtual users' own, used first.
async fn subscriber_sessions(
    base: &str,
    subscribers: usize,
    mix: Mix,
    customers: &[String],
    riders: &[String],
) -> Result<Vec<(usize, String)>> {
    let owners = [OWNER, OTHER_OWNER, CANTEEN_OWNER];
    let mut owner_cookies = Vec::new();
    for email in owners {
        owner_cookies.push(demo(base, email).await.cookie);
    }
    if mix == Mix::Owners {
        return Ok(vec![(2, owner_cookies[0].clone()); subscribers]);
    }
    let tablets = (subscribers / 100).max(1);
    let rider_count = subscribers * 9 / 100;
    let customer_count = subscribers.saturating_sub(tablets + rider_count);
    let run_id = std::process::id();
    // One client without a cookie store signs everyone up: each answer's
    // cookie is that account's session.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let started = Instant::now();
    let wanted: Vec<(usize, usize)> = (customers.len()..customer_count)
        .map(|i| (0, i))
        .chain((riders.len()..rider_count).map(|i| (1, i)))
        .collect();
    let signed_up: Vec<Result<(usize, String), String>> = futures::stream::iter(wanted)
        .map(|(role, i)| {
            let http = http.clone();
            async move {
                let email = format!("mix-{}{i}-{run_id}@example.kr", ROLES[role]);
                let vehicle = ["motorbike", "bicycle", "walking", "motorbike"][i % 4];
                sign_up_with(&http, base, &email, ROLES[role], vehicle)
                    .await
                    .map(|cookie| (role, cookie))
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut sessions: Vec<(usize, String)> = customers
        .iter()
        .take(customer_count)
        .map(|c| (0, c.clone()))
        .chain(riders.iter().take(rider_count).map(|c| (1, c.clone())))
        .collect();
    for s in signed_up {
        sessions.push(s.map_err(|e| anyhow!(e))?);
    }
    sessions.extend((0..tablets).map(|i| (2, owner_cookies[i % owner_cookies.len()].clone())));
    println!(
        "signed up {} accounts in {:.1} s",
        sessions.len() - tablets - customers.len().min(customer_count) - riders.len().min(rider_count),
        started.elapsed().as_secs_f64()
    );
    Ok(sessions)
}

/// The lifecycles (and subscribers) against `base`; `server` is the child
/// process serving it, if this run started one.
async fn run(
    base: &str,
    server: Option<&mut ServerProcess>,
    users: usize,
    seconds: u64,
    subscribers: usize,
    mix: Mix,
) -> Result<()> {
    let base = base.to_string();
    let (store, item) = store_and_item(&base).await?;

    // The virtual users' customers and riders.
    let run_id = std::process::id();
    let mut people = Vec::new();
    for u in 0..users {
        let customer = sign_up(&base, &format!("load-c{u}-{run_id}@example.kr"), "customer")
            .await
            .map_err(|e| anyhow!(e))?;
        let rider = sign_up(&base, &format!("load-r{u}-{run_id}@example.kr"), "rider")
            .await
            .map_err(|e| anyhow!(e))?;
        people.push((customer, rider));
    }

    // WebSocket subscribers: connect, let them idle, read the memory.
    // Each reader keeps its own latencies and hands them back when told to
    // stop: no lock and no shared vector on the path of every event.
    let (stop_reading, reading) = tokio::sync::watch::channel(false);
    let mut idle_note = String::new();
    let mut readers = Vec::new();
    let mut held = [0usize; 3];
    // The server's process when this run started it (0: a deployment elsewhere).
    let mut server_pid = server.as_ref().and_then(|s| s.pid()).unwrap_or(0);
    if subscribers > 0 {
        let customers: Vec<String> = people.iter().map(|(c, _)| c.cookie.clone()).collect();
        let riders: Vec<String> = people.iter().map(|(_, r)| r.cookie.clone()).collect();
        let sessions = subscriber_sessions(&base, subscribers, mix, &customers, &riders).await?;
        // The signups hashed passwords (19 MiB each) on the server's
        // blocking threads, and the allocator keeps some of that memory: a
        // fresh server process on the same database (the sessions are kept
        // there) gives a clean reading of what the connections cost.
        if let Some(server) = server {
            server.restart().await.context("restart the server")?;
            server_pid = server.pid().unwrap_or(0);
            // Its consumers catch up on the events the signups appended
            // (a command waits for them) before anything is measured.
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let before = settled_rss_kib(server_pid).await;
        let sockets: Vec<Result<(usize, testkit::live::Socket)>> = futures::stream::iter(sessions)
            .map(|(role, cookie)| {
                let base = base.clone();
                async move {
                    testkit::live::connect(&base, Some(&cookie), None)
                        .await
                        .map(|socket| (role, socket))
                        .context("subscribe")
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        let after = settled_rss_kib(server_pid).await;
        idle_note = format!(
            "idle WebSockets held: {subscribers}; server RSS {before} KiB → {after} KiB ({:.1} KiB per connection)",
            after.saturating_sub(before) as f64 / subscribers as f64
        );
        for socket in sockets {
            let (role, mut socket) = socket?;
            held[role] += 1;
            let mut reading = reading.clone();
            readers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let message = tokio::select! {
                        message = socket.next() => message,
                        _ = reading.changed() => break,
                    };
                    let Some(Ok(message)) = message else { break };
                    if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                        if let Some(at) = commit_time(&text) {
                            latencies.push(now_ms() - at);
                        }
                    }
                }
                (role, latencies)
            }));
        }
    }

    let owner = Arc::new(demo(&base, OWNER).await.http);

    eprintln!("running the lifecycles for {seconds} s");
    let samples: Samples = Arc::new(Mutex::new(BTreeMap::new()));
    let turns_before = writer_turns(&base).await;
    let own_pid = std::process::id();
    let cpu_before = (cpu_ms(server_pid), cpu_ms(own_pid));
    let mut tasks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    for (u, (customer, rider)) in people.into_iter().enumerate() {
        let (customer, rider) = (customer.http, rider.http);
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
    let turns = match (turns_before, writer_turns(&base).await) {
        (Some((turns, held, commits)), Some((turns_after, held_after, commits_after))) => {
            Some((turns_after - turns, held_after - held, commits_after - commits))
        }
        _ => None,
    };
    // Let the last events reach the subscribers, then stop reading.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu_used = match (cpu_before, (cpu_ms(server_pid), cpu_ms(own_pid))) {
        ((Some(server), Some(own)), (Some(server_after), Some(own_after))) => {
            Some((server_after - server, own_after - own))
        }
        _ => None,
    };
    let _ = stop_reading.send(true);
    let mut received: Vec<(usize, i64)> = Vec::new();
    for reader in readers {
        let (role, latencies) = reader.await?;
        received.extend(latencies.into_iter().map(|latency| (role, latency)));
    }

    let base_rate = baseline(users, seconds.min(10)).await?;
    println!(
        "virtual users: {users}, duration: {:.1} s, database: {}",
        elapsed.as_secs_f64(),
        if let Ok(target) = std::env::var("LOADGEN_TARGET") {
            format!("the deployment at {target} (LOADGEN_TARGET)")
        } else if std::env::var("DATABASE_URL").is_ok() {
            "DATABASE_URL".to_string()
        } else {
            format!("{:?} (TEST_DATABASE)", testkit::backend())
        }
    );
    if subscribers > 0 {
        println!("{idle_note}");
    }
    println!(
        "completed lifecycles: {completed} ({:.1} orders/s)",
        completed as f64 / elapsed.as_secs_f64()
    );
    if let Some((turns, held_us, commits)) = turns.filter(|_| completed > 0) {
        println!(
            "SQLite writer: {:.2} turns and {:.2} commits per lifecycle, {:.0} µs held per lifecycle, held {:.0} % of the run",
            turns / completed as f64,
            commits / completed as f64,
            held_us / completed as f64,
            held_us / 10_000.0 / elapsed.as_secs_f64()
        );
    }
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
    if subscribers > 0 {
        let report = |label: &str, held: usize, mut all: Vec<i64>| {
            all.sort_unstable();
            let pick = |p: f64| {
                all.get(((p / 100.0) * (all.len().saturating_sub(1)) as f64).round() as usize)
                    .copied()
                    .unwrap_or(0)
            };
            println!(
                "| {label} | {held} | {} | {} | {} | {} |",
                all.len(),
                pick(50.0),
                pick(99.0),
                all.last().copied().unwrap_or(0)
            );
        };
        if let Some((server_ms, own_ms)) = cpu_used {
            println!(
                "CPU time while the lifecycles ran (and 1 s after): server {:.1} s ({:.0} µs per lifecycle, \
                 {:.1} µs per event received); this load generator, its clients and sockets, {:.1} s",
                server_ms as f64 / 1000.0,
                server_ms as f64 * 1000.0 / completed.max(1) as f64,
                server_ms as f64 * 1000.0 / received.len().max(1) as f64,
                own_ms as f64 / 1000.0
            );
        }
        println!("WebSocket events received ({mix:?} mix), commit-to-receipt ms:");
        println!("| subscribers | sockets | events received | p50 | p99 | max |");
        println!("|---|---:|---:|---:|---:|---:|");
        report("all", subscribers, received.iter().map(|(_, l)| *l).collect());
        for (role, label) in ROLES.iter().enumerate() {
            if held[role] > 0 {
                let of_role = received.iter().filter(|(r, _)| *r == role).map(|(_, l)| *l).collect();
                report(label, held[role], of_role);
            }
        }
    }
    Ok(())
}
