//! `crashtest`: runs whole order lifecycles with virtual users while it
//! breaks the platform again and again, then checks what the platform
//! promises (issue 6, "Crash safety"; issue 14, several replicas):
//!
//! - every order whose checkout was acknowledged (the customer got its page)
//!   exists and was placed;
//! - no order is left payment-pending, and none is placed unpaid: every
//!   placed order has exactly one live authorization at the gateway (the
//!   sandbox ledger survives the kills, as a provider's would), no failed
//!   order keeps a hold, and captures equal delivered orders (no doubles);
//! - every consumer reaches the end of the log, and every order's view
//!   shows its status;
//! - every WebSocket client, reconnecting and resuming after each fault,
//!   converges to each of its orders' final status and has received every
//!   event a replay of its whole history holds (0 missed events).
//!
//! The faults (`fault`):
//! - `kill`: SIGKILL — with several replicas, of the one holding the
//!   consumer leases — and a restart. A client whose request dies with the
//!   server retries it: checkout with the same idempotency key, other
//!   commands until they succeed or are refused because they already
//!   happened (409).
//! - `term`: a rolling restart: SIGTERM each replica in turn (it drains:
//!   readiness 503 first, then in-flight requests finish and sockets get
//!   1001), start it again, go on to the next. **No request may fail.**
//! - `postgres`: PostgreSQL itself stops and starts again (a throwaway
//!   cluster this tool starts). While it is away every request must get a
//!   quick answer (a 503 with `Retry-After`, never a hang), and the
//!   replicas must recover by themselves.
//! - `none`: nothing breaks; the figures (commit → receipt across
//!   replicas) are the point.
//!
//! The server runs as child processes (this binary with `CRASHTEST_CHILD=1`,
//! through `testkit::process`) on a database of their own — `DATABASE_URL`
//! when set, else a fresh one of the kind `TEST_DATABASE` names — so a
//! restart finds the same data. With more than one replica (PostgreSQL
//! only) HAProxy from Debian (`deploy/haproxy.cfg`) balances them, every
//! request goes through it, and each customer's socket is first held on a
//! replica of its own (so events committed through one replica must reach
//! sockets on the others) and resumes through the balancer.
//!
//! Usage: `cargo run --release -p loadgen --bin crashtest -- [seconds] [fault every ms] [users] [replicas] [fault]`
//! (defaults: 30 s, 3,000 ms, 4 users, 1 replica, `kill`). Exits 1 when a promise is broken.

use anyhow::{anyhow, bail, Context, Result};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use testkit::demo::PASSWORD;
use testkit::http::{client, sign_up};
use testkit::process::{free_port, Launch, ServerProcess};
use tokio::sync::Mutex;

const OWNER: &str = "owner.chicken@demo.delivery";

/// How long a replica's hold on a consumer lasts here, in milliseconds: a
/// killed holder's consumers move to another replica this long after.
const LEASE_MS: u64 = 3_000;

/// How long a replica told to stop stays unready before it closes, in
/// milliseconds: the balancer checks every 250 ms and takes it out after
/// one failed check.
const DRAIN_MS: u64 = 1_500;

/// The longest any request may take while the database is away: the
/// pool's wait for a connection (2 s) and a command's wait for the read
/// models (3 s), with a margin — bounded, never a hang.
const QUICK_ANSWER: Duration = Duration::from_secs(7);

/// Child mode: the server on `APP_PORT`, until killed.
async fn child() -> Result<()> {
    // APP_PORT, DATABASE_URL and the replica's settings come from the parent.
    // Log lines go to stdout, which the parent discards unless
    // TESTKIT_SERVER_LOGS is set.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .try_init();
    let mut settings = server::config::Settings::from_lookup(|k| std::env::var(k).ok())?;
    settings.login_attempts_per_minute = 1_000_000;
    settings.checkouts_per_minute = 1_000_000;
    settings.payment_timeout_ms = 1_000;
    settings.reconcile_interval_ms = 500;
    settings.db_max_connections = 20;
    let running = server::start(&settings).await?;
    let shutdown = running.shutdown_handle();
    let draining = running.draining_handle();
    let drain = Duration::from_millis(settings.drain_ms);
    tokio::spawn(async move {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            term.recv().await;
            draining.start();
            tokio::time::sleep(drain).await;
            let _ = shutdown.send(true);
        }
    });
    running.wait().await
}

/// One stop and start of PostgreSQL, as the clients saw it.
struct Outage {
    /// From the stop until PostgreSQL answered again.
    away: Duration,
    /// From its return until every replica was ready.
    recovered_in: Duration,
    /// Requests sent from the stop until every replica was ready.
    requests: u64,
    /// Of those, the ones refused (all 503 with Retry-After, or the run fails).
    refused: u64,
    /// The slowest of those, in milliseconds.
    slowest_ms: u64,
}

/// What broke, as the clients saw it.
#[derive(Default)]
struct Failures {
    /// Requests sent.
    requests: AtomicU64,
    /// The slowest request since the last reset (one outage), in milliseconds.
    window_slowest_ms: AtomicU64,
    /// Requests that did not get a success or a 409 (each retried).
    failed: AtomicU64,
    /// Of those, the 503s that said when to retry.
    refused_with_retry_after: AtomicU64,
    /// The slowest request, in milliseconds.
    slowest_ms: AtomicU64,
    /// Each failure's kind (status or transport error) and count.
    kinds: std::sync::Mutex<BTreeMap<String, u64>>,
}

impl Failures {
    fn record(&self, kind: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut kinds) = self.kinds.lock() {
            *kinds.entry(kind).or_default() += 1;
        }
    }
}

/// What a request came to, as far as a client can tell.
enum Outcome {
    Done(reqwest::Response),
    /// 409: refused by the state machine — for a retried command, because its
    /// first try had committed before the fault.
    AlreadyDone,
    /// The server died mid-request, or is restarting, or shed the load.
    TryAgain,
}

async fn post(c: &reqwest::Client, base: &str, endpoint: &str, form: &[(&str, &str)], failures: &Failures) -> Outcome {
    let started = Instant::now();
    let result = c.post(format!("{base}/api/{endpoint}")).form(form).send().await;
    let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    failures.slowest_ms.fetch_max(took, Ordering::Relaxed);
    failures.window_slowest_ms.fetch_max(took, Ordering::Relaxed);
    failures.requests.fetch_add(1, Ordering::Relaxed);
    match result {
        Ok(r) if r.status().is_success() || r.status().is_redirection() => Outcome::Done(r),
        Ok(r) if r.status().as_u16() == 409 => Outcome::AlreadyDone,
        // The job opens once the store's acceptance reached the delivery
        // context; a rider's list shows it only then, so no rider would
        // have asked yet. Not a failure: ask again.
        Ok(r) if r.status().as_u16() == 404 && endpoint == "claim_job" => Outcome::TryAgain,
        Ok(r) => {
            let status = r.status().as_u16();
            failures.record(format!("{endpoint} {status}"));
            if status == 503 && r.headers().contains_key("retry-after") {
                failures.refused_with_retry_after.fetch_add(1, Ordering::Relaxed);
            } else {
                let body = r.text().await.unwrap_or_default();
                eprintln!("{endpoint}: {status} {}", body.chars().take(300).collect::<String>());
            }
            Outcome::TryAgain
        }
        Err(e) => {
            let kind = if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connect"
            } else {
                "transport"
            };
            failures.record(format!("{endpoint} {kind}"));
            Outcome::TryAgain
        }
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
    failures: &Failures,
) -> Option<Option<reqwest::Response>> {
    while Instant::now() < deadline {
        match post(c, base, endpoint, form, failures).await {
            Outcome::Done(r) => return Some(Some(r)),
            Outcome::AlreadyDone => return Some(None),
            Outcome::TryAgain => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    None
}

async fn login(base: &str, email: &str) -> Result<reqwest::Client> {
    let c = client();
    match post(
        &c,
        base,
        "login",
        &[("email", email), ("password", PASSWORD)],
        &Failures::default(),
    )
    .await
    {
        Outcome::Done(_) => Ok(c),
        _ => bail!("cannot log in as {email}"),
    }
}

/// What one customer's screen saw over `/ws`.
#[derive(Default)]
struct Screen {
    /// The last status seen per order.
    statuses: BTreeMap<i64, String>,
    /// Every event sequence number received.
    seen: BTreeSet<i64>,
    /// Commit-to-receipt of the events received live (not replayed), in ms.
    latencies: Vec<i64>,
    /// Connections opened (1 + reconnections).
    connections: u32,
    /// Each connection, in order: what it asked for and what it got (told
    /// when a screen misses an event, to show where).
    visits: Vec<Visit>,
}

/// One connection of a [`Screen`].
struct Visit {
    /// When it was opened, in unix milliseconds.
    opened_ms: i64,
    /// The `after` it resumed from.
    after: Option<i64>,
    /// The head its hello announced.
    head: Option<i64>,
    /// The first and last sequence numbers it received, and how many.
    first: Option<i64>,
    last: Option<i64>,
    events: usize,
}

/// Follows one customer's orders over `/ws`: first on `first` (a replica
/// of its own), after every disconnect through `base`, resuming after the
/// last event it saw.
async fn watch(first: String, base: String, cookie: String, until: Arc<Mutex<bool>>) -> Screen {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut screen = Screen::default();
    let mut last_seq: Option<i64> = None;
    let mut at = first;
    while !*until.lock().await {
        let url = format!(
            "{}/ws{}",
            at.replace("http://", "ws://"),
            last_seq.map(|s| format!("?after={s}")).unwrap_or_default()
        );
        let Ok(mut request) = url.into_client_request() else {
            break;
        };
        if let Ok(value) = cookie.parse() {
            request.headers_mut().insert("cookie", value);
        }
        let connected_ms = now_ms();
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            at = base.clone();
            continue;
        };
        screen.connections += 1;
        screen.visits.push(Visit {
            opened_ms: connected_ms,
            after: last_seq,
            head: None,
            first: None,
            last: None,
            events: 0,
        });
        loop {
            let next = tokio::time::timeout(Duration::from_millis(500), socket.next()).await;
            match next {
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                    let Ok(m) = serde_json::from_str::<serde_json::Value>(&text) else {
                        continue;
                    };
                    if m["type"] == "hello" {
                        if let Some(visit) = screen.visits.last_mut() {
                            visit.head = m["head"].as_i64();
                        }
                        if last_seq.is_none() {
                            last_seq = m["head"].as_i64();
                        }
                    }
                    if m["type"] == "event" {
                        last_seq = m["seq"].as_i64().or(last_seq);
                        if let Some(seq) = m["seq"].as_i64() {
                            screen.seen.insert(seq);
                            if let Some(visit) = screen.visits.last_mut() {
                                visit.first = visit.first.or(Some(seq));
                                visit.last = Some(seq);
                                visit.events += 1;
                            }
                        }
                        if let Some(at_ms) = m["at_ms"].as_i64().filter(|at| *at >= connected_ms) {
                            screen.latencies.push(now_ms() - at_ms);
                        }
                        if let (Some(order), Some(status)) = (m["order_id"].as_i64(), m["status"].as_str()) {
                            screen.statuses.insert(order, status.to_string());
                        }
                    }
                }
                Ok(Some(Ok(_))) => {}
                // Killed, drained (1001) or cut: reconnect through the balancer and resume.
                Ok(Some(Err(_))) | Ok(None) => break,
                Err(_) => {
                    if *until.lock().await {
                        return screen;
                    }
                }
            }
        }
        at = base.clone();
    }
    screen
}

/// Every event sequence number a fresh socket replays for `cookie`'s
/// user after `after`: what their screen should have received.
async fn replayed(base: &str, cookie: &str, after: i64) -> Result<BTreeSet<i64>> {
    let mut socket = testkit::live::connect(base, Some(cookie), Some(after))
        .await
        .context("open a socket to replay")?;
    Ok(testkit::live::drain(&mut socket, Duration::from_millis(1_500))
        .await
        .into_iter()
        .map(|(seq, _)| seq)
        .collect())
}

struct Totals {
    acknowledged: BTreeSet<i64>,
    lifecycles: u64,
}

/// One virtual user's lifecycles until `deadline`, retrying through faults.
async fn lifecycles(
    base: String,
    person: Person,
    owner: reqwest::Client,
    (store, item): (String, String),
    deadline: Instant,
    Shared { totals, failures, db }: Shared,
) {
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let key = format!("crash-{}-{}-{n}", person.n, std::process::id());
        // A cart line survives a kill; a retried add adds one more, harmlessly.
        if until_done(
            &person.customer,
            &base,
            "cart_add",
            &[("item", &item)],
            deadline,
            &failures,
        )
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
        let Some(Some(placed)) = until_done(&person.customer, &base, "place_order", &form, deadline, &failures).await
        else {
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
            // A 409 means done only when the step's event is in the log: a
            // rider may be refused for now (the food is not ready yet, as
            // far as the delivery context has heard) and asks again.
            let finish_by = deadline + Duration::from_secs(30);
            let mut done = false;
            while Instant::now() < finish_by {
                match until_done(who, &base, step, &form, finish_by, &failures).await {
                    Some(Some(_)) => done = true,
                    Some(None) => done = happened(&db, order, step).await,
                    None => break,
                }
                if done {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !done {
                break;
            }
        }
        totals.lock().await.lifecycles += 1;
    }
}

/// Whether `step` of `order` is in the log (the event it records).
async fn happened(db: &db::Db, order: i64, step: &str) -> bool {
    let kind = match step {
        "accept_order" => "OrderAccepted",
        "claim_job" => "DeliveryJobClaimed",
        "mark_ready" => "OrderReady",
        "pick_up" => "DeliveryJobPickedUp",
        _ => "DeliveryJobDelivered",
    };
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM events WHERE correlation_id = $1 AND kind = $2")
        .bind(order)
        .bind(kind)
        .fetch_one(db.pool())
        .await
        .is_ok_and(|n| n > 0)
}

/// What every virtual user reports to and reads from.
struct Shared {
    totals: Arc<Mutex<Totals>>,
    failures: Arc<Failures>,
    db: db::Db,
}

/// A virtual user: a customer and a motorbike rider of their own.
struct Person {
    n: usize,
    customer: reqwest::Client,
    cookie: String,
    rider: reqwest::Client,
}

/// What breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Kill,
    Term,
    Postgres,
    None,
}

impl Fault {
    fn parse(text: &str) -> Result<Fault> {
        Ok(match text {
            "kill" => Fault::Kill,
            "term" => Fault::Term,
            "postgres" => Fault::Postgres,
            "none" => Fault::None,
            other => bail!("fault must be kill, term, postgres or none, not {other:?}"),
        })
    }
}

/// A PostgreSQL cluster of this run's own (initdb in a temporary folder,
/// Debian's binaries), so stopping it disturbs nobody else.
struct OwnPostgres {
    bin: std::path::PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl OwnPostgres {
    fn start() -> Result<OwnPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .context("Debian's postgresql is not installed")?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .context("no initdb under /usr/lib/postgresql")?;
        let dir = tempfile::tempdir().context("a folder for PostgreSQL")?;
        let pg = OwnPostgres {
            bin,
            dir,
            port: free_port(),
        };
        if is_root() {
            std::process::Command::new("chown")
                .args(["-R", "postgres"])
                .arg(pg.dir.path())
                .status()?;
        }
        pg.run("initdb", &["-D", &pg.data(), "-A", "trust", "-U", "postgres"])?;
        pg.ctl("start")?;
        Ok(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<()> {
        let program = self.bin.join(tool);
        let mut command = if is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let status = command
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("run {tool}"))?;
        if !status.success() {
            bail!("{tool} {args:?}: {status}");
        }
        Ok(())
    }

    fn ctl(&self, action: &str) -> Result<()> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        match action {
            "start" => self.run(
                "pg_ctl",
                &["-D", &self.data(), "-l", &log, "-w", "-o", &options, "start"],
            ),
            _ => self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", action]),
        }
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.ctl("stop");
    }
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

/// HAProxy in front of the replicas (`deploy/haproxy.cfg`), killed on drop.
struct Balancer {
    child: std::process::Child,
    port: u16,
}

impl Balancer {
    async fn start(replicas: &[ServerProcess]) -> Result<Balancer> {
        let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
        let port = free_port();
        let mut command = std::process::Command::new("haproxy");
        command
            .arg("-db")
            .arg("-f")
            .arg(deploy.join("haproxy.cfg"))
            .env("BALANCER_PORT", port.to_string())
            .env("BALANCER_ERRORS", deploy.join("haproxy-errors"))
            .stdout(std::process::Stdio::null());
        for i in 0..3 {
            // A replica this run does not have: a port nobody listens on (marked down).
            let replica_port = replicas.get(i).map_or_else(free_port, |r| r.port);
            command.env(format!("REPLICA_{}_PORT", i + 1), replica_port.to_string());
        }
        let child = command
            .spawn()
            .context("start haproxy (Debian's haproxy package; .ci/test.sh installs it)")?;
        let balancer = Balancer { child, port };
        if !testkit::http::wait_ready(&balancer.base(), Duration::from_secs(20)).await {
            bail!("haproxy did not answer on port {port}");
        }
        Ok(balancer)
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The replica holding the order views' lease (`replica-N` → index N-1).
async fn lease_holder(db: &db::Db) -> Option<usize> {
    let owner: Option<String> =
        sqlx::query_scalar("SELECT lease_owner FROM consumer_checkpoints WHERE consumer = 'order_views'")
            .fetch_optional(db.pool())
            .await
            .ok()
            .flatten();
    owner?.strip_prefix("replica-")?.parse::<usize>().ok()?.checked_sub(1)
}

/// Runs [`run`]; a failure ends with one line that says why (CI shows the
/// end of the output, which a backtrace used to fill).
#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crashtest failed: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<()> {
    if std::env::var("CRASHTEST_CHILD").is_ok() {
        return child().await;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| -> Result<u64> {
        args.get(i).map_or(Ok(default), |a| {
            a.parse()
                .with_context(|| format!("argument {} ({a:?}) is not a number", i + 1))
        })
    };
    let seconds = number(0, 30)?;
    let fault_every = Duration::from_millis(number(1, 3_000)?);
    let users = usize::try_from(number(2, 4)?)?;
    let replica_count = usize::try_from(number(3, 1)?)?.clamp(1, 3);
    let fault = Fault::parse(args.get(4).map_or("kill", String::as_str))?;

    let own_postgres = if fault == Fault::Postgres {
        Some(OwnPostgres::start().context("start a PostgreSQL cluster of this run's own")?)
    } else {
        None
    };
    let database_url = match &own_postgres {
        Some(pg) => {
            let url = format!("{}crash", pg.url().trim_end_matches("postgres"));
            sqlx::any::install_default_drivers();
            <sqlx::Any as sqlx::migrate::MigrateDatabase>::create_database(&url).await?;
            Some(url)
        }
        None => std::env::var("DATABASE_URL").ok(),
    };
    let launch = |i: usize, url: Option<String>| {
        Launch {
            database_url: url,
            ..Launch::default()
        }
        .env("CRASHTEST_CHILD", "1")
        .env("APP_INSTANCE_ID", format!("replica-{}", i + 1))
        .env("APP_LEASE_MS", LEASE_MS.to_string())
        .env("APP_DRAIN_MS", DRAIN_MS.to_string())
        .env("APP_TRUSTED_PROXIES", "127.0.0.1")
    };
    let mut replicas = vec![ServerProcess::start(std::env::current_exe()?, launch(0, database_url)).await?];
    let database_url = replicas[0].database_url.clone();
    if replica_count > 1 && !database_url.starts_with("postgres") {
        bail!("several replicas need PostgreSQL (TEST_DATABASE=postgres or DATABASE_URL=postgres://…)");
    }
    for i in 1..replica_count {
        replicas.push(ServerProcess::start(std::env::current_exe()?, launch(i, Some(database_url.clone()))).await?);
    }
    let balancer = if replica_count > 1 {
        Some(Balancer::start(&replicas).await?)
    } else {
        None
    };
    let base = balancer.as_ref().map_or_else(|| replicas[0].base(), Balancer::base);
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
        "crashtest: {users} users for {seconds} s, fault {fault:?} every {fault_every:?}, {replica_count} replica(s){}, on {}",
        if balancer.is_some() { " behind HAProxy" } else { "" },
        server::redact(&database_url)
    );
    let totals = Arc::new(Mutex::new(Totals {
        acknowledged: BTreeSet::new(),
        lifecycles: 0,
    }));
    let failures = Arc::new(Failures::default());
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
    let cookies: Vec<String> = people.iter().map(|p| p.cookie.clone()).collect();
    let start_head: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
        .fetch_one(db.pool())
        .await?;
    let mut watchers = Vec::new();
    for person in &people {
        // Each customer's screen follows their orders through every fault,
        // first on a replica of its own.
        let first = replicas[person.n % replicas.len()].base();
        watchers.push(tokio::spawn(watch(
            first,
            base.clone(),
            person.cookie.clone(),
            stop_watching.clone(),
        )));
    }
    // Every screen is open before the first order.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut running = Vec::new();
    for person in people {
        running.push(tokio::spawn(lifecycles(
            base.clone(),
            person,
            login(&base, OWNER).await?,
            (store.to_string(), item.to_string()),
            Instant::now() + Duration::from_secs(seconds),
            Shared {
                totals: totals.clone(),
                failures: failures.clone(),
                db: db.clone(),
            },
        )));
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut faults = 0u32;
    let mut outages = Vec::new();
    let mut takeovers: Vec<Duration> = Vec::new();
    match fault {
        Fault::None => tokio::time::sleep_until(deadline.into()).await,
        Fault::Kill => {
            while Instant::now() + fault_every < deadline {
                tokio::time::sleep(fault_every.mul_f64(0.5 + rand_unit())).await;
                let victim = if replicas.len() > 1 {
                    lease_holder(&db).await.unwrap_or(0).min(replicas.len() - 1)
                } else {
                    0
                };
                replicas[victim].kill();
                faults += 1;
                if replicas.len() > 1 {
                    // Another replica takes the consumers over once the lease runs out.
                    let killed = Instant::now();
                    let give_up = killed + Duration::from_millis(LEASE_MS) + Duration::from_secs(5);
                    loop {
                        match lease_holder(&db).await {
                            Some(holder) if holder != victim => {
                                takeovers.push(killed.elapsed());
                                break;
                            }
                            _ if Instant::now() > give_up => {
                                bail!(
                                    "no replica took the consumers over within {give_up:?} of the kill",
                                    give_up = give_up - killed
                                );
                            }
                            _ => tokio::time::sleep(Duration::from_millis(50)).await,
                        }
                    }
                }
                replicas[victim]
                    .restart()
                    .await
                    .with_context(|| format!("restart after kill {faults}"))?;
            }
        }
        Fault::Term => {
            'rounds: loop {
                for (i, replica) in replicas.iter_mut().enumerate() {
                    if Instant::now() + fault_every.max(Duration::from_secs(3)) >= deadline {
                        break 'rounds;
                    }
                    tokio::time::sleep(fault_every).await;
                    replica.terminate()?;
                    let status = tokio::task::block_in_place(|| replica.wait())?;
                    if !status.success() {
                        bail!("replica {} exited with {status} after SIGTERM", i + 1);
                    }
                    faults += 1;
                    replica
                        .restart()
                        .await
                        .with_context(|| format!("restart replica {}", i + 1))?;
                    // The balancer takes it back after two good checks.
                    tokio::time::sleep(Duration::from_millis(800)).await;
                }
            }
        }
        Fault::Postgres => {
            let pg = own_postgres.as_ref().context("no PostgreSQL of our own")?;
            while Instant::now() + fault_every + Duration::from_secs(4) < deadline {
                tokio::time::sleep(fault_every).await;
                let stopped = Instant::now();
                let before = failures.failed.load(Ordering::Relaxed);
                let requests_before = failures.requests.load(Ordering::Relaxed);
                failures.window_slowest_ms.store(0, Ordering::Relaxed);
                pg.ctl("stop")?;
                faults += 1;
                tokio::time::sleep(Duration::from_secs(3)).await;
                pg.ctl("start")?;
                // Every replica ready again, by itself.
                let back = Instant::now();
                for r in &replicas {
                    if !testkit::http::wait_ready(&r.base(), Duration::from_secs(30)).await {
                        bail!("a replica was not ready within 30 s of PostgreSQL's return");
                    }
                }
                outages.push(Outage {
                    away: back - stopped,
                    recovered_in: back.elapsed(),
                    requests: failures.requests.load(Ordering::Relaxed) - requests_before,
                    refused: failures.failed.load(Ordering::Relaxed) - before,
                    slowest_ms: failures.window_slowest_ms.load(Ordering::Relaxed),
                });
            }
        }
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
    let mut missed = 0usize;
    let mut latencies = Vec::new();
    let mut connections = 0u32;
    for (w, cookie) in watchers.into_iter().zip(&cookies) {
        let screen = w.await?;
        let should_have = replayed(&base, cookie, start_head).await?;
        let lost: Vec<i64> = should_have.difference(&screen.seen).copied().collect();
        if !lost.is_empty() {
            let events: Vec<(i64, Option<i64>, String, i64)> = sqlx::query_as(
                "SELECT seq, correlation_id, kind, recorded_at FROM events WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
            )
            .bind(lost[0])
            .bind(lost[lost.len() - 1])
            .fetch_all(db.pool())
            .await?;
            eprintln!("a screen missed events {lost:?}: {events:?}");
            for v in &screen.visits {
                eprintln!(
                    "  connection opened at {} ms, after {:?}, hello head {:?}: {} events, {:?} to {:?}",
                    v.opened_ms, v.after, v.head, v.events, v.first, v.last
                );
            }
        }
        missed += lost.len();
        screens.extend(screen.statuses);
        latencies.extend(screen.latencies);
        connections += screen.connections;
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
    let views: BTreeMap<i64, String> = sqlx::query_as::<_, (i64, String)>("SELECT order_id, status FROM order_views")
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .collect();
    for (id, status) in &orders {
        if !matches!(status.as_str(), "payment_pending" | "payment_failed") && views.get(id) != Some(status) {
            broken.push(format!("order {id} is {status}, its view {:?}", views.get(id)));
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
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for status in orders.values() {
        *by_status.entry(status.as_str()).or_default() += 1;
    }
    println!("orders by status:         {by_status:?}");
    // Every started lifecycle is finished (each step retried until done).
    if let Some(stuck) = totals
        .acknowledged
        .iter()
        .find(|o| !matches!(orders.get(o).map(String::as_str), Some("delivered")))
    {
        let story: Vec<String> = sqlx::query_scalar("SELECT kind FROM events WHERE correlation_id = $1 ORDER BY seq")
            .bind(stuck)
            .fetch_all(db.pool())
            .await?;
        broken.push(format!(
            "order {stuck} ended {:?}, not delivered; its events: {story:?}",
            orders.get(stuck)
        ));
    }
    if missed > 0 {
        broken.push(format!("the screens missed {missed} events a replay holds"));
    }
    if totals.lifecycles == 0 {
        broken.push("no lifecycle completed".into());
    }
    let failed = failures.failed.load(Ordering::Relaxed);
    let slowest = Duration::from_millis(failures.slowest_ms.load(Ordering::Relaxed));
    let kinds = failures.kinds.lock().map(|k| k.clone()).unwrap_or_default();
    match fault {
        Fault::Term | Fault::None if failed > 0 => {
            broken.push(format!("{failed} requests failed: {kinds:?}"));
        }
        Fault::Postgres => {
            let unexplained = failed - failures.refused_with_retry_after.load(Ordering::Relaxed);
            // Every failure must be the app's quick refusal (once a session
            // save that met the stopping database slipped past it as an
            // empty 500 from tower-sessions).
            if unexplained > 0 {
                broken.push(format!(
                    "{unexplained} requests failed without a 503 and Retry-After: {kinds:?}"
                ));
            }
            if slowest > QUICK_ANSWER {
                broken.push(format!("a request took {slowest:?} (longer than {QUICK_ANSWER:?})"));
            }
        }
        _ => {}
    }
    drop(balancer);
    for r in &mut replicas {
        r.kill();
    }
    latencies.sort_unstable();
    let pick = |p: f64| {
        latencies
            .get(((p / 100.0) * latencies.len().saturating_sub(1) as f64).round() as usize)
            .copied()
            .unwrap_or(0)
    };

    println!("faults survived:          {faults} ({fault:?})");
    println!("lifecycles completed:     {}", totals.lifecycles);
    println!("orders acknowledged:      {}", totals.acknowledged.len());
    println!(
        "orders checked:           {} ({placed} placed, {delivered} delivered)",
        orders.len()
    );
    println!("authorizations / captures: {live_holds} / {captures}");
    println!("doubles found:            {doubles}");
    println!("screens converged:        {converged} of {}", totals.acknowledged.len());
    println!("socket connections:       {connections} for {users} screens; events missed: {missed}");
    println!(
        "live events:              {} received, commit to receipt p50 {} ms, p99 {} ms, max {} ms",
        latencies.len(),
        pick(50.0),
        pick(99.0),
        latencies.last().copied().unwrap_or(0)
    );
    println!(
        "requests sent:            {}",
        failures.requests.load(Ordering::Relaxed)
    );
    println!(
        "failed requests:          {failed} ({} of them 503 with Retry-After) {kinds:?}; slowest request {} ms",
        failures.refused_with_retry_after.load(Ordering::Relaxed),
        slowest.as_millis()
    );
    if !takeovers.is_empty() {
        let slowest = takeovers.iter().max().copied().unwrap_or_default();
        println!(
            "lease takeovers:          {} after kill -9, slowest {} ms (lease {LEASE_MS} ms)",
            takeovers.len(),
            slowest.as_millis()
        );
    }
    for (i, outage) in outages.iter().enumerate() {
        println!(
            "outage {}: PostgreSQL away {:.1} s, every replica ready {:.1} s after its return; meanwhile {} requests, {} refused, slowest {} ms",
            i + 1,
            outage.away.as_secs_f64(),
            outage.recovered_in.as_secs_f64(),
            outage.requests,
            outage.refused,
            outage.slowest_ms
        );
    }
    if broken.is_empty() {
        println!("crashtest: every promise kept");
        Ok(())
    } else {
        for b in &broken {
            eprintln!("BROKEN: {b}");
        }
        bail!("{} broken promises: {}", broken.len(), broken.join("; "))
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A number in 0..1 from the clock (jitter for the kill times; no RNG crate needed).
fn rand_unit() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1_000) / 1_000.0
}
