//! What the server costs at rest: time from start to ready, resident memory when idle, and the
//! size of the binary.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::server::Server;

pub async fn run(binary: &Path, database_url: Option<&str>, runs: u32) -> anyhow::Result<Value> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let mut ready = Vec::new();
    let mut idle = Vec::new();
    for run in 0..runs {
        // A fresh database each time: the start includes creating and migrating it.
        let server = Server::start(binary, database_url)?;
        loop {
            let answer = client.get(format!("{}/readyz", server.url)).send().await;
            if answer.is_ok_and(|a| a.status().is_success()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let took = server.started.elapsed().as_secs_f64() * 1000.0;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (rss, _) = server.memory();
        println!("footprint run {run}: ready in {took:.0} ms, idle RSS {:.1} MiB", rss as f64 / 1024.0);
        ready.push(took);
        idle.push(rss);
    }
    ready.sort_by(f64::total_cmp);
    idle.sort();
    let size = std::fs::metadata(binary)?.len();
    let (ready_ms, idle_kib) = (ready[ready.len() / 2], idle[idle.len() / 2]);
    println!(
        "footprint median: ready in {ready_ms:.0} ms, idle RSS {:.1} MiB, binary {:.1} MiB",
        idle_kib as f64 / 1024.0,
        size as f64 / 1048576.0
    );
    Ok(json!({"scenario": "footprint", "store": if database_url.is_some() { "postgres" } else { "sqlite" },
        "runs": runs, "ready_ms": ready, "median_ready_ms": ready_ms, "idle_rss_kib": idle_kib, "binary_bytes": size}))
}
