//! [`Panel`]: `warp all` (the release binary) started as a child process over a database and
//! a stream of its own, with an admin token, so the scenarios measure the product as it runs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use uuid::Uuid;
use warp_platform::NatsNames;
use warp_store::tokens::{self, Role};
use warp_test_support::{TestDb, TestNats};

/// A running `warp all` and what a client needs to reach it.
pub struct Panel {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The admin token's secret.
    pub token: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    pub nats: TestNats,
    /// The folder deploy-existing folder sources live in (`WARP_WORKSPACES_ROOT`).
    pub workspaces: PathBuf,
    /// Where the child's stdout and stderr go.
    pub log_file: PathBuf,
    child: tokio::process::Child,
}

impl Panel {
    /// Starts `warp` `all` from `bin` and waits until `/healthz` answers 200 (at most 60 s).
    pub async fn start(bin: &Path) -> anyhow::Result<Self> {
        anyhow::ensure!(bin.exists(), "{} does not exist: build it with `cargo build --release -p warp`", bin.display());
        let db = TestDb::new().await;
        let nats = TestNats::new().await;
        nats.apply_definitions().await;
        let port = warp_test_support::free_port();
        let id = Uuid::new_v4().simple().to_string();
        let workspaces = std::env::temp_dir().join(format!("warp-bench-{}", &id[..12]));
        std::fs::create_dir_all(&workspaces)?;
        let log_file = std::env::temp_dir().join(format!("warp-bench-{}.log", &id[..12]));
        let log = std::fs::File::create(&log_file)?;
        let child = tokio::process::Command::new(bin)
            .arg("all")
            .env("WARP_DATABASE_URL", &db.url)
            .env("WARP_NATS_STREAM", &nats.names.stream)
            .env("WARP_NATS_SUBJECT_PREFIX", &nats.names.subject_prefix)
            .env("WARP_LISTEN", format!("127.0.0.1:{port}"))
            .env("WARP_DOCKER_HOST_NAME", format!("bench{}", &id[..12]))
            .env("WARP_WORKSPACES_ROOT", workspaces.canonicalize()?)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {} all", bin.display()))?;
        let (_, token) = tokens::create(&db.pool, "bench-admin", "bench", Role::Admin).await?;
        let client = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build()?;
        let panel = Self { address: format!("http://127.0.0.1:{port}"), token, client, db, nats, workspaces, log_file, child };
        panel.wait_healthy().await?;
        Ok(panel)
    }

    async fn wait_healthy(&self) -> anyhow::Result<()> {
        for _ in 0..600 {
            if let Ok(response) = self.client.get(self.url("/healthz")).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("warp all did not answer /healthz within 60 s; see {}", self.log_file.display())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn names(&self) -> &NatsNames {
        &self.nats.names
    }

    /// A request with the admin token.
    pub fn call(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(&self.token)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Resident memory of `warp all` now, MiB.
    pub fn rss_mib(&self) -> f64 {
        rss_kib(self.pid()).unwrap_or(0) as f64 / 1024.0
    }

    /// Samples the child's resident memory every 50 ms until the returned sampler is stopped.
    pub fn sample_rss(&self) -> RssSampler {
        let peak = Arc::new(AtomicU64::new(0));
        let pid = self.pid();
        let task = tokio::spawn({
            let peak = peak.clone();
            async move {
                loop {
                    peak.fetch_max(rss_kib(pid).unwrap_or(0), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
        RssSampler { peak, task }
    }

    /// Stops the child with SIGTERM (SIGKILL after 10 s) and removes the workspaces folder.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
            if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
                let _ = self.child.kill().await;
            }
        }
        let _ = std::fs::remove_dir_all(&self.workspaces);
    }
}

/// Peak resident memory seen while it ran.
pub struct RssSampler {
    peak: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    /// Stops sampling; the peak in MiB.
    pub fn stop(self) -> f64 {
        self.task.abort();
        self.peak.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

/// `VmRSS` of process `pid` from `/proc/<pid>/status` (Linux), KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
