//! Benchmarks of the real server: each scenario starts the `huichang` binary built beside this
//! one (`cargo build --release -p huichang -p huichang-bench`), drives it over loopback only,
//! bounded in count and time, and prints one line per figure and a JSON summary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "Benchmarks that drive the real huichang server over loopback")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// `postgres://…` to run against PostgreSQL (a database the benchmark may fill); default: a fresh SQLite file.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// The server binary; default: `huichang` beside this benchmark.
    #[arg(long, global = true)]
    server: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Scenario {
    /// Import one large .xlsx list into one venue: time per import and the server's peak memory.
    Import {
        /// Attendees in the sheet.
        #[arg(long, default_value_t = 10_000)]
        rows: u32,
        /// Imports, each into a fresh venue.
        #[arg(long, default_value_t = 3)]
        runs: u32,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let binary = match cli.server {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("huichang"),
    };
    if !binary.exists() {
        bail!("{} not found: build it with `cargo build --release -p huichang`", binary.display());
    }
    let summary = match cli.scenario {
        Scenario::Import { rows, runs } => import(&binary, cli.database_url.as_deref(), rows, runs).await?,
    };
    println!("{summary}");
    Ok(())
}

const ADMIN: &str = "hca_benchmark-admin-token";

/// `huichang serve` on a free loopback port with its own data directory.
struct Server {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Server {
    fn start(binary: &Path, database_url: Option<&str>) -> anyhow::Result<Server> {
        let dir = std::env::temp_dir().join(format!("huichang-bench-{}", std::process::id()));
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
        let mut child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let ready =
            BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.starts_with("huichang is listening on "));
        if !ready {
            bail!("the server did not start");
        }
        Ok(Server { child, url: format!("http://127.0.0.1:{port}"), dir })
    }

    /// The server's resident memory now and at its peak, in KiB (Linux `/proc`).
    fn memory(&self) -> (u64, u64) {
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

async fn post(client: &reqwest::Client, url: String, body: Value) -> anyhow::Result<Value> {
    let response = client.post(url).bearer_auth(ADMIN).json(&body).send().await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    Ok(body)
}

/// A receipt of `rows` people as a venue would fill it in: a title, a technician block, a header.
fn receipt(rows: u32) -> anyhow::Result<Vec<u8>> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "2021年全民终身学习活动周全国总开幕式 参会回执")?;
    sheet.write_string(1, 0, "技术人员姓名")?;
    sheet.write_string(1, 1, "付宇豪")?;
    sheet.write_string(1, 2, "技术人员手机")?;
    sheet.write_string(1, 3, "18500219116")?;
    for (column, header) in ["序号", "姓名", "单位", "职务", "手机", "邮箱"].into_iter().enumerate() {
        sheet.write_string(3, column as u16, header)?;
    }
    for i in 0..rows {
        let row = 4 + i;
        sheet.write_number(row, 0, f64::from(i + 1))?;
        sheet.write_string(row, 1, format!("参会人{i:05}"))?;
        sheet.write_string(row, 2, "四川省教育厅")?;
        sheet.write_string(row, 3, "处长")?;
        sheet.write_number(row, 4, 13_800_000_000.0 + f64::from(i))?;
        sheet.write_string(row, 5, format!("p{i}@example.cn"))?;
    }
    Ok(workbook.save_to_buffer()?)
}

async fn import(binary: &Path, database_url: Option<&str>, rows: u32, runs: u32) -> anyhow::Result<Value> {
    let server = Server::start(binary, database_url)?;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(300)).build()?;
    let soon = |days: i64| format!("2099-01-{:02}T10:00:00+08:00", 10 + days);
    let event = post(
        &client,
        format!("{}/api/v1/events", server.url),
        json!({
        "title": "导入基准", "timezone": "Asia/Shanghai", "starts_at": soon(5), "ends_at": soon(6),
        "registration_deadline": soon(0), "video_check": {"starts_at": soon(1), "ends_at": soon(2)},
        "organizer_email": "org@example.cn"}),
    )
    .await?;
    let file = receipt(rows)?;
    let (idle_rss, _) = server.memory();
    let mut seconds = Vec::new();
    for run in 0..runs {
        let venue = post(
            &client,
            format!("{}/api/v1/events/{}/venues", server.url, event["id"].as_str().unwrap_or_default()),
            json!({"name": format!("大会场{run}"), "kind": "branch", "contact_email": "v@example.cn",
                "rooms": [{"name": "体育馆", "capacity": rows}]}),
        )
        .await?;
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(file.clone()).file_name("回执.xlsx"));
        let url =
            format!("{}/api/v1/venues/{}/registration/import", server.url, venue["id"].as_str().unwrap_or_default());
        let started = Instant::now();
        let response = client.post(url).bearer_auth(ADMIN).multipart(form).send().await?;
        let status = response.status();
        let body: Value = response.json().await?;
        let took = started.elapsed().as_secs_f64();
        let imported = body["attendees"].as_array().map_or(0, Vec::len);
        if !status.is_success() || imported != rows as usize {
            bail!("import {run}: {status}, {imported} of {rows} imported: {body}");
        }
        println!("import run {run}: {rows} rows in {took:.3} s ({:.0} rows/s)", f64::from(rows) / took);
        seconds.push(took);
    }
    let (rss, peak) = server.memory();
    seconds.sort_by(f64::total_cmp);
    let median = seconds[seconds.len() / 2];
    println!("import median: {median:.3} s for {rows} rows ({:.0} rows/s)", f64::from(rows) / median);
    println!("file size: {} KiB", file.len() / 1024);
    println!("server memory: idle {} MiB, after {} MiB, peak {} MiB", idle_rss / 1024, rss / 1024, peak / 1024);
    Ok(json!({"scenario": "import", "store": if database_url.is_some() { "postgres" } else { "sqlite" },
        "rows": rows, "runs": runs, "seconds": seconds, "median_seconds": median,
        "rows_per_second": f64::from(rows) / median, "file_bytes": file.len(),
        "server_rss_idle_kib": idle_rss, "server_rss_after_kib": rss, "server_rss_peak_kib": peak}))
}
