//! The server under test and what every scenario shares: starting it, calling it, reading its
//! memory, and summarising latencies.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

pub const ADMIN: &str = "hca_benchmark-admin-token-0123456789";

/// `huichang serve` on a free loopback port with its own data directory.
pub struct Server {
    child: Child,
    pub url: String,
    dir: PathBuf,
    /// When the process was started.
    pub started: std::time::Instant,
}

impl Server {
    pub fn start(binary: &Path, database_url: Option<&str>) -> anyhow::Result<Server> {
        // A directory of its own: several servers may run at once in one process.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("huichang-bench-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new(binary);
        command
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("HUICHANG_DATA_DIR", &dir)
            .env("HUICHANG_ADMIN_TOKEN", ADMIN)
            .env("HUICHANG_LOG", "warn")
            .stdout(Stdio::piped());
        if let Some(url) = database_url {
            command.env("HUICHANG_DATABASE_URL", url);
        }
        let started = std::time::Instant::now();
        let mut child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let ready =
            BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.starts_with("huichang is listening on "));
        if !ready {
            bail!("the server did not start");
        }
        Ok(Server { child, url: format!("http://127.0.0.1:{port}"), dir, started })
    }

    /// CPU seconds the server has used so far, user and system (Linux `/proc`).
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // The fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        let ticks: f64 =
            fields.get(11..13).map(|t| t.iter().filter_map(|v| v.parse::<f64>().ok()).sum()).unwrap_or(0.0);
        // Clock ticks are 100 a second on every Linux this runs on (USER_HZ).
        ticks / 100.0
    }

    /// The server's resident memory now and at its peak, in KiB (Linux `/proc`).
    pub fn memory(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub async fn post(client: &reqwest::Client, url: String, body: Value) -> anyhow::Result<Value> {
    let response = client.post(url).bearer_auth(ADMIN).json(&body).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    Ok(body)
}

/// CPU seconds process `pid` (or `self`) has used so far, user and system (Linux `/proc`).
pub fn process_cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks: f64 = fields.get(11..13).map(|t| t.iter().filter_map(|v| v.parse::<f64>().ok()).sum()).unwrap_or(0.0);
    // Clock ticks are 100 a second on every Linux this runs on (USER_HZ).
    ticks / 100.0
}

/// The machine's CPU time so far as (busy, all), in clock ticks over every core (`/proc/stat`):
/// two readings tell how much of the machine a run kept busy.
pub fn machine_cpu() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .map(|cpu| cpu.split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect())
        .unwrap_or_default();
    let all: u64 = ticks.iter().sum();
    // idle and iowait are the fourth and fifth fields.
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    (all - idle, all)
}

/// The share of the machine's CPU used between two `machine_cpu` readings, in percent.
pub fn busy_percent(before: (u64, u64), after: (u64, u64)) -> f64 {
    let all = after.1.saturating_sub(before.1).max(1) as f64;
    100.0 * after.0.saturating_sub(before.0) as f64 / all
}

/// The value at fraction `q` (0.5 for the median) of sorted `values`.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// A client for the benchmark's own requests, patient enough for the largest of them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(300)).pool_max_idle_per_host(256).build().unwrap_or_default()
}

/// An event whose dates are far ahead, so that every deadline is open.
pub async fn event(client: &reqwest::Client, server: &Server, title: &str) -> anyhow::Result<String> {
    let day = |d: i64| format!("2099-01-{:02}T10:00:00+08:00", 10 + d);
    let event = post(
        client,
        format!("{}/api/v1/events", server.url),
        serde_json::json!({
        "title": title, "timezone": "Asia/Shanghai", "starts_at": day(5), "ends_at": day(6),
        "registration_deadline": day(0), "video_check": {"starts_at": day(1), "ends_at": day(2)},
        "organizer_email": "org@example.cn"}),
    )
    .await?;
    Ok(event["id"].as_str().unwrap_or_default().to_owned())
}
