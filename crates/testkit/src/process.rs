//! A server process: the real `server` binary (or a tool's own child mode,
//! which calls `server::start`) on a free port and a database of its own,
//! to test what only a process shows — its logs, signals, a crash.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

/// How long a start may take before it counts as failed.
const START_WITHIN: Duration = Duration::from_secs(60);

/// A port nobody listens on right now.
///
/// # Panics
/// When the loopback interface cannot bind at all.
#[allow(clippy::expect_used)]
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// How to start a [`ServerProcess`].
#[derive(Debug, Default, Clone)]
pub struct Launch {
    /// Environment on top of `APP_PORT`, `DATABASE_URL` and `LEPTOS_SITE_ROOT`.
    pub env: Vec<(String, String)>,
    /// The database; `None` makes a fresh one as `TEST_DATABASE` says.
    pub database_url: Option<String>,
    /// Pipe stdout for [`ServerProcess::take_stdout`] (read it, or the
    /// process blocks once the pipe is full); otherwise it is discarded.
    pub capture_stdout: bool,
}

impl Launch {
    /// With `name=value` in the environment.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Launch {
        self.env.push((name.to_string(), value.into()));
        self
    }
}

/// A running server process. It is killed when dropped.
pub struct ServerProcess {
    program: PathBuf,
    launch: Launch,
    child: Option<Child>,
    /// Its port on 127.0.0.1 (the same across restarts).
    pub port: u16,
    /// Its database (the same across restarts).
    pub database_url: String,
    /// Static files come from here; an empty folder is fine for APIs.
    site_root: tempfile::TempDir,
    _database_dir: Option<tempfile::TempDir>,
}

impl ServerProcess {
    /// Starts `program` and waits until `/readyz` answers 200.
    ///
    /// Errors: it cannot be spawned, or it is not ready within 60 s (it is
    /// killed then).
    pub async fn start(program: impl AsRef<Path>, launch: Launch) -> Result<ServerProcess> {
        let (database_url, database_dir) = match &launch.database_url {
            Some(url) => (url.clone(), None),
            None => crate::fresh_url().await,
        };
        let mut process = ServerProcess {
            program: program.as_ref().to_path_buf(),
            launch,
            child: None,
            port: free_port(),
            database_url,
            site_root: tempfile::tempdir().context("a temporary folder")?,
            _database_dir: database_dir,
        };
        process.restart().await?;
        Ok(process)
    }

    /// `http://127.0.0.1:{port}`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its stdout, when [`Launch::capture_stdout`] was set (once).
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.as_mut().and_then(|c| c.stdout.take())
    }

    /// Starts it again (after [`kill`](Self::kill) or an exit) on the same
    /// port and database, and waits until it is ready.
    ///
    /// Errors: as [`start`](Self::start).
    pub async fn restart(&mut self) -> Result<()> {
        self.kill();
        let child = Command::new(&self.program)
            .env("APP_PORT", self.port.to_string())
            .env("DATABASE_URL", &self.database_url)
            .env("LEPTOS_SITE_ROOT", self.site_root.path())
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .env("APP_CHECKOUTS_PER_MINUTE", "100000")
            .envs(self.launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(if self.launch.capture_stdout {
                Stdio::piped()
            } else if std::env::var_os("TESTKIT_SERVER_LOGS").is_some() {
                // Debugging: the server's log lines on this process's stdout.
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .with_context(|| format!("start {}", self.program.display()))?;
        self.child = Some(child);
        if !crate::http::wait_ready(&self.base(), START_WITHIN).await {
            self.kill();
            bail!("{} was not ready within {START_WITHIN:?}", self.program.display());
        }
        Ok(())
    }

    /// SIGKILL: no shutdown hook runs, in-flight work is lost mid-way.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM: asks for a graceful shutdown.
    ///
    /// Errors: it is not running, or `kill -TERM` failed.
    pub fn terminate(&self) -> Result<()> {
        let pid = self.pid().context("not running")?;
        let status = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .context("run kill -TERM")?;
        if !status.success() {
            bail!("kill -TERM {pid}: {status}");
        }
        Ok(())
    }

    /// Waits for it to exit (after [`terminate`](Self::terminate)).
    ///
    /// Errors: it is not running, or waiting failed.
    pub fn wait(&mut self) -> Result<std::process::ExitStatus> {
        let mut child = self.child.take().context("not running")?;
        Ok(child.wait()?)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
