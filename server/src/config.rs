//! Settings from the environment (requirement N7: config from the environment).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `APP_HOST` | `127.0.0.1` | address to listen on |
//! | `APP_PORT` | `3000` | port to listen on (`0`: any free port) |
//! | `DATABASE_URL` | `sqlite://data/delivery.db` | `sqlite:…` or `postgres://…` |
//! | `APP_DEMO` | `true` | seed demo data into an empty database and print the demo accounts |
//! | `APP_LOG_FORMAT` | `text` | `text` or `json` |
//! | `RUST_LOG` | `info` | log filter (tracing-subscriber syntax) |
//! | `APP_DB_MAX_CONNECTIONS` | `10` | database pool size |
//! | `APP_INSTANCE_ID` | host name + process id | this replica's name (consumer leases) |
//! | `LEPTOS_SITE_ROOT` | `target/site` | where the built CSS, JS and WASM are |
//! | `APP_COOKIE_SECURE` | `false` | mark the session cookie `Secure` (set it when serving HTTPS) |
//! | `APP_LOGIN_ATTEMPTS_PER_MINUTE` | `30` | login and sign-up attempts allowed per client IP per minute |
//! | `APP_CHECKOUTS_PER_MINUTE` | `60` | valid checkouts allowed per client IP per minute (a canteen's staff may share one address) |
//! | `APP_PAYMENT_LATENCY_MS` | `0` | extra latency of every sandbox gateway call, in milliseconds (fault injection) |
//! | `APP_PAYMENT_FAILURE_RATE` | `0` | share of sandbox gateway calls that fail, 0.0 to 1.0 (fault injection) |
//! | `APP_PAYMENT_TIMEOUT_MS` | `5000` | longest wait for one payment gateway call, in milliseconds |
//! | `APP_PAYMENT_BREAKER_FAILURES` | `5` | gateway failures in a row that open the payment circuit breaker |
//! | `APP_PAYMENT_BREAKER_OPEN_MS` | `10000` | how long the open breaker refuses payments before probing, in milliseconds |
//! | `APP_CHECKOUT_CONCURRENCY` | `32` | checkouts running at once per replica; one more gets 503 with `Retry-After` and the page retries |
//! | `APP_RECONCILE_INTERVAL_MS` | `30000` | how often the payment reconciler settles payments a crash or timeout left behind (also once at start) |
//! | `APP_WS_IDLE_TIMEOUT_MS` | `45000` | a WebSocket silent this long (no pong either) is closed; pinged 3 times per period |
//! | `APP_SESSION_IDLE_TIMEOUT_MS` | `1209600000` (14 days) | a session unused this long (give or take an eighth) expires, its live sockets close; each use moves it on |
//! | `APP_LEASE_MS` | `10000` | how long a replica's hold on a consumer or the reconciler lasts without renewal; another replica takes over this long after the holder died |
//! | `APP_DRAIN_MS` | `0` | on SIGTERM, how long `/readyz` answers 503 (so a balancer stops sending) before the server stops accepting connections, in milliseconds |
//! | `APP_TRUSTED_PROXIES` | unset | comma-separated addresses or CIDR blocks of the proxies in front (`10.0.0.0/8,127.0.0.1`); only from them is `X-Forwarded-For` believed, so per-client limits count the real client |
//! | `APP_METRICS_TOKEN` | unset | serve `/metrics` to `Authorization: Bearer <token>` only (at least 16 characters); unset: `/metrics` is off (404) |

use std::net::{IpAddr, SocketAddr};

/// The bundle name of the JS, WASM and CSS under `/pkg` (Cargo.toml's
/// `[[workspace.metadata.leptos]] name`).
pub const OUTPUT_NAME: &str = "delivery";

/// Whether the built bundle's file names carry content hashes: cargo-leptos
/// (`hash-files = true` in Cargo.toml) then writes `hash.txt` beside the
/// server binary, where Leptos reads the hashed names from (issue 13). A
/// binary started without it serves the plain names, uncached.
pub fn bundle_is_hashed() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|hashes| hashes.is_file())
}

/// Whether the bundle in `pkg_dir` was built without `cargo leptos build
/// --split` (issue 13): its JS is there but the chunk loader
/// (`__wasm_split.*.js`) is not. Such a bundle still imports the loader's
/// placeholder module, so no page hydrates; the server says so at start.
/// A directory without the bundle (tests, a server-only build) is not
/// reported.
pub fn bundle_built_without_split(pkg_dir: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(pkg_dir) else {
        return false;
    };
    let names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    let has_bundle = names
        .iter()
        .any(|name| name.starts_with(OUTPUT_NAME) && name.ends_with(".js"));
    let has_loader = names
        .iter()
        .any(|name| name.starts_with("__wasm_split") && name.ends_with(".js"));
    has_bundle && !has_loader
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    pub host: IpAddr,
    /// Port to listen on; 0 picks a free one (tests).
    pub port: u16,
    /// The database URL.
    pub database_url: String,
    /// Seed demo data into an empty database and print the demo accounts.
    pub demo: bool,
    /// Log line format.
    pub log_format: LogFormat,
    /// Database pool size.
    pub db_max_connections: u32,
    /// This replica's name.
    pub instance_id: String,
    /// Folder of the built site assets.
    pub site_root: String,
    /// Mark the session cookie `Secure` (HTTPS only).
    pub cookie_secure: bool,
    /// Login and sign-up attempts allowed per client IP per minute.
    pub login_attempts_per_minute: u32,
    /// Valid checkouts allowed per client IP per minute, per replica (issue 14).
    pub checkouts_per_minute: u32,
    /// Extra latency of every sandbox gateway call, in milliseconds.
    pub payment_latency_ms: u64,
    /// Share of sandbox gateway calls that fail (0.0..=1.0).
    pub payment_failure_rate: f64,
    /// Longest wait for one payment gateway call, in milliseconds.
    pub payment_timeout_ms: u64,
    /// Gateway failures (timeouts, unavailable) in a row that open the payment circuit breaker.
    pub payment_breaker_failures: u32,
    /// How long the open breaker refuses payments before probing, in milliseconds.
    pub payment_breaker_open_ms: u64,
    /// A WebSocket silent this long is closed, in milliseconds.
    pub ws_idle_timeout_ms: u64,
    /// Checkouts running at once on this replica; more are shed with 503.
    pub checkout_concurrency: usize,
    /// How often the payment reconciler runs, in milliseconds.
    pub reconcile_interval_ms: u64,
    /// A session unused this long expires, in milliseconds.
    pub session_idle_timeout_ms: u64,
    /// The bearer token that may read `/metrics`; `None` turns `/metrics` off.
    pub metrics_token: Option<String>,
    /// How long a lease (consumer, reconciler) lasts without renewal, in milliseconds.
    pub lease_ms: u64,
    /// How long `/readyz` answers 503 after SIGTERM before the listener closes, in milliseconds.
    pub drain_ms: u64,
    /// The proxies whose `X-Forwarded-For` is believed (issue 14).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The shortest `APP_METRICS_TOKEN` accepted, in characters.
pub const MIN_METRICS_TOKEN_CHARS: usize = 16;

/// A setting that could not be read; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Settings, ConfigError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let parse_err = |variable: &'static str, problem: String| ConfigError { variable, problem };
        let host = match get("APP_HOST") {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(h) => h
                .parse()
                .map_err(|_| parse_err("APP_HOST", format!("\"{h}\" is not an IP address")))?,
        };
        let port = match get("APP_PORT") {
            None => 3000,
            Some(p) => p
                .parse()
                .map_err(|_| parse_err("APP_PORT", format!("\"{p}\" is not a port number (0-65535)")))?,
        };
        let flag =
            |variable: &'static str, default: bool| match get(variable).map(|v| v.to_ascii_lowercase()).as_deref() {
                None => Ok(default),
                Some("1" | "true" | "yes" | "on") => Ok(true),
                Some("0" | "false" | "no" | "off") => Ok(false),
                Some(other) => Err(parse_err(variable, format!("\"{other}\" is not true or false"))),
            };
        let positive = |variable: &'static str, default: u32| match get(variable) {
            None => Ok(default),
            Some(n) => match n.parse::<u32>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(parse_err(variable, format!("\"{n}\" is not a positive number"))),
            },
        };
        let log_format = match get("APP_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(parse_err("APP_LOG_FORMAT", format!("\"{other}\" is not text or json"))),
        };
        let database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/delivery.db".into());
        db::Backend::from_url(&database_url).map_err(|e| parse_err("DATABASE_URL", e.to_string()))?;
        Ok(Settings {
            host,
            port,
            database_url,
            demo: flag("APP_DEMO", true)?,
            log_format,
            db_max_connections: positive("APP_DB_MAX_CONNECTIONS", 10)?,
            instance_id: get("APP_INSTANCE_ID").unwrap_or_else(default_instance_id),
            site_root: get("LEPTOS_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            cookie_secure: flag("APP_COOKIE_SECURE", false)?,
            login_attempts_per_minute: positive("APP_LOGIN_ATTEMPTS_PER_MINUTE", 30)?,
            checkouts_per_minute: positive("APP_CHECKOUTS_PER_MINUTE", 60)?,
            payment_latency_ms: match get("APP_PAYMENT_LATENCY_MS") {
                None => 0,
                Some(n) => n.parse().map_err(|_| {
                    parse_err(
                        "APP_PAYMENT_LATENCY_MS",
                        format!("\"{n}\" is not a number of milliseconds"),
                    )
                })?,
            },
            payment_failure_rate: match get("APP_PAYMENT_FAILURE_RATE") {
                None => 0.0,
                Some(n) => match n.parse::<f64>() {
                    Ok(rate) if (0.0..=1.0).contains(&rate) => rate,
                    _ => {
                        return Err(parse_err(
                            "APP_PAYMENT_FAILURE_RATE",
                            format!("\"{n}\" is not between 0 and 1"),
                        ))
                    }
                },
            },
            payment_timeout_ms: u64::from(positive("APP_PAYMENT_TIMEOUT_MS", 5_000)?),
            payment_breaker_failures: positive("APP_PAYMENT_BREAKER_FAILURES", 5)?,
            payment_breaker_open_ms: u64::from(positive("APP_PAYMENT_BREAKER_OPEN_MS", 10_000)?),
            ws_idle_timeout_ms: u64::from(positive("APP_WS_IDLE_TIMEOUT_MS", 45_000)?),
            checkout_concurrency: positive("APP_CHECKOUT_CONCURRENCY", 32)? as usize,
            reconcile_interval_ms: u64::from(positive("APP_RECONCILE_INTERVAL_MS", 30_000)?),
            session_idle_timeout_ms: u64::from(positive("APP_SESSION_IDLE_TIMEOUT_MS", 14 * 24 * 3_600_000)?),
            lease_ms: u64::from(positive("APP_LEASE_MS", 10_000)?),
            drain_ms: match get("APP_DRAIN_MS") {
                None => 0,
                Some(n) => n
                    .parse()
                    .map_err(|_| parse_err("APP_DRAIN_MS", format!("\"{n}\" is not a number of milliseconds")))?,
            },
            trusted_proxies: match get("APP_TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(list) => accounts::throttle::parse_proxies(&list).map_err(|bad| {
                    parse_err(
                        "APP_TRUSTED_PROXIES",
                        format!("\"{bad}\" is not an IP address or CIDR block"),
                    )
                })?,
            },
            metrics_token: match get("APP_METRICS_TOKEN") {
                Some(token) if token.chars().count() < MIN_METRICS_TOKEN_CHARS => {
                    return Err(parse_err(
                        "APP_METRICS_TOKEN",
                        format!("must be at least {MIN_METRICS_TOKEN_CHARS} characters long"),
                    ))
                }
                token => token,
            },
        })
    }

    /// The socket address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

fn default_instance_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    format!("{}-{}", if host.is_empty() { "app" } else { &host }, std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn a_bundle_without_its_chunk_loader_is_reported_as_unsplit() {
        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        assert!(
            !bundle_built_without_split(&pkg),
            "no pkg directory: nothing built, nothing to say"
        );
        std::fs::create_dir(&pkg).unwrap();
        std::fs::write(pkg.join("delivery.css"), "").unwrap();
        assert!(!bundle_built_without_split(&pkg), "CSS alone is not a bundle");
        std::fs::write(pkg.join("delivery.abc.js"), "").unwrap();
        std::fs::write(pkg.join("delivery.abc.wasm"), "").unwrap();
        assert!(
            bundle_built_without_split(&pkg),
            "JS and WASM without the loader: built without --split"
        );
        std::fs::write(pkg.join("__wasm_split.def.js"), "").unwrap();
        assert!(!bundle_built_without_split(&pkg), "the loader is there: split");
    }

    #[test]
    fn defaults_run_on_a_local_sqlite_file_with_demo_data() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.addr().to_string(), "127.0.0.1:3000");
        assert_eq!(s.database_url, "sqlite://data/delivery.db");
        assert!(s.demo);
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.metrics_token, None, "/metrics is off until a token is set");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            ("APP_PORT", "70000"),
            ("APP_HOST", "localhost:80"),
            ("APP_DEMO", "maybe"),
            ("APP_LOG_FORMAT", "xml"),
            ("DATABASE_URL", "mysql://x"),
            ("APP_DB_MAX_CONNECTIONS", "0"),
            ("APP_COOKIE_SECURE", "sometimes"),
            ("APP_LOGIN_ATTEMPTS_PER_MINUTE", "-5"),
            ("APP_CHECKOUTS_PER_MINUTE", "0"),
            ("APP_PAYMENT_FAILURE_RATE", "1.5"),
            ("APP_PAYMENT_LATENCY_MS", "soon"),
            ("APP_PAYMENT_TIMEOUT_MS", "0"),
            ("APP_WS_IDLE_TIMEOUT_MS", "never"),
            ("APP_SESSION_IDLE_TIMEOUT_MS", "0"),
            ("APP_METRICS_TOKEN", "short"),
            ("APP_LEASE_MS", "0"),
            ("APP_DRAIN_MS", "a while"),
            ("APP_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local"),
        ];
        for (variable, value) in cases {
            let err = settings(&[(variable, value)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.starts_with(&format!("{variable}: ")),
                "{variable}={value} gave {err:?}"
            );
        }
    }

    #[test]
    fn values_are_read() {
        let s = settings(&[
            ("APP_PORT", "0"),
            ("APP_DEMO", "off"),
            ("APP_LOG_FORMAT", "json"),
            ("DATABASE_URL", "postgres://u@h/db"),
            ("APP_DRAIN_MS", "3000"),
            ("APP_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
        ])
        .expect("settings");
        assert_eq!(s.drain_ms, 3000);
        assert_eq!(s.lease_ms, 10_000);
        assert_eq!(s.trusted_proxies.len(), 2);
        assert_eq!(s.port, 0);
        assert!(!s.demo);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.database_url, "postgres://u@h/db");
    }
}
