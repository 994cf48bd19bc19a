//! `server`: runs the delivery platform. Settings come from the environment
//! (see `config`); `README.md` shows how to start it.

use server::config::{LogFormat, Settings};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator (issue 13): a page render makes
/// thousands of small allocations, and glibc's `malloc`/`free` took a fifth
/// of the server's time serving `/stores/1` (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return healthcheck();
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    init_tracing(settings.log_format);
    match run(settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings) -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("rebuild-projections") {
        return rebuild_projections(&settings).await;
    }
    let running = server::start(&settings).await?;
    tracing::info!(instance = %settings.instance_id, database = %server::redact(&settings.database_url), "listening on http://{}", running.addr);
    if settings.demo {
        tracing::info!(
            "demo mode (APP_DEMO=false turns it off)\n{}",
            server::demo::accounts_banner()
        );
    }
    let shutdown = running.shutdown_handle();
    let draining = running.draining_handle();
    let drain = std::time::Duration::from_millis(settings.drain_ms);
    tokio::spawn(async move {
        server::shutdown_signal().await;
        if !drain.is_zero() {
            // Readiness turns 503 first, so the balancer sends the next
            // requests elsewhere; this replica still serves meanwhile.
            tracing::info!(drain_ms = drain.as_millis(), "shutting down: draining (readiness 503)");
            draining.start();
            tokio::select! {
                _ = tokio::time::sleep(drain) => {}
                _ = server::shutdown_signal() => {}
            }
        }
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = shutdown.send(true);
    });
    running.wait().await
}

/// `server healthcheck`: exits 0 when the server on `APP_PORT` (default
/// 3000) of this host answers `/healthz` with 200 within 2 s, else 1 — the
/// container image's health check, which has no curl.
fn healthcheck() -> std::process::ExitCode {
    use std::io::{Read, Write};
    let port: u16 = std::env::var("APP_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let timeout = std::time::Duration::from_secs(2);
    let answered = std::net::TcpStream::connect_timeout(&std::net::SocketAddr::from(([127, 0, 0, 1], port)), timeout)
        .and_then(|mut stream| {
            stream.set_read_timeout(Some(timeout))?;
            stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
            let mut head = [0u8; 12];
            stream.read_exact(&mut head)?;
            Ok(head.starts_with(b"HTTP/1.0 200") || head.starts_with(b"HTTP/1.1 200"))
        });
    match answered {
        Ok(true) => std::process::ExitCode::SUCCESS,
        _ => std::process::ExitCode::FAILURE,
    }
}

/// `server rebuild-projections`: empties the read models (order views,
/// notifications) and replays the whole event log into them (requirement F9).
/// Safe while servers run: their consumer takes part in the replay.
async fn rebuild_projections(settings: &Settings) -> anyhow::Result<()> {
    let db = db::Db::connect(&settings.database_url, &db::DbOptions::default()).await?;
    db.migrate().await?;
    let instance = format!("{}-rebuild", settings.instance_id);
    let head = views::rebuild(
        &db,
        &instance,
        std::sync::Arc::new(views::OrderProjection),
        views::TABLES,
    )
    .await?;
    tracing::info!(up_to_seq = head, "order views rebuilt from the event log");
    let head = views::rebuild(
        &db,
        &instance,
        std::sync::Arc::new(notification::Notifications::default()),
        notification::TABLES,
    )
    .await?;
    tracing::info!(up_to_seq = head, "notifications rebuilt from the event log");
    db.close().await;
    Ok(())
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
