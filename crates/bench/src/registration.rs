//! Venues submitting their lists at once: each of `venues` venues PUTs a 30-person list with its
//! own coordinator token, `concurrency` at a time.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::server::{Server, busy_percent, client, event, machine_cpu, post, quantile};

pub async fn run(binary: &Path, database_url: Option<&str>, venues: u32, concurrency: usize) -> anyhow::Result<Value> {
    let server = Server::start(binary, database_url)?;
    let client = client();
    let event = event(&client, &server, "报名基准").await?;
    // A few more venues than measured: their lists go first, untimed, to warm the connections
    // to the server and the database as on a day the server has been up.
    let warm = concurrency as u32 * 2;
    let mut targets = Vec::new();
    for v in 0..venues + warm {
        let venue = post(
            &client,
            format!("{}/api/v1/events/{event}/venues", server.url),
            json!({
            "name": format!("分会场{v:04}"), "kind": "branch", "contact_email": "v@example.cn"}),
        )
        .await?;
        targets.push((
            v,
            venue["id"].as_str().unwrap_or_default().to_owned(),
            venue["coordinator_token"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let measured = targets.split_off(warm as usize);
    submit(&client, &server, targets, concurrency).await?;
    let (started, cpu_before, machine_before) = (Instant::now(), server.cpu_seconds(), machine_cpu());
    let mut latencies = submit(&client, &server, measured, concurrency).await?;
    let seconds = started.elapsed().as_secs_f64();
    let server_cpu_ms = 1000.0 * (server.cpu_seconds() - cpu_before) / f64::from(venues.max(1));
    let busy = busy_percent(machine_before, machine_cpu());
    latencies.sort_by(f64::total_cmp);
    let rate = f64::from(venues) / seconds;
    let (p50, p99) = (quantile(&latencies, 0.5), quantile(&latencies, 0.99));
    println!(
        "registration: {venues} lists of 30 in {seconds:.2} s: {rate:.0} lists/s, p50 {p50:.1} ms, p99 {p99:.1} ms; \
         server CPU {server_cpu_ms:.2} ms per list, machine {busy:.0} % busy"
    );
    Ok(json!({"scenario": "registration", "store": if database_url.is_some() { "postgres" } else { "sqlite" },
        "venues": venues, "concurrency": concurrency, "seconds": seconds, "lists_per_second": rate, "p50_ms": p50, "p99_ms": p99,
        "server_cpu_ms_per_list": server_cpu_ms, "machine_busy_percent": busy}))
}

/// Each venue PUTs its 30-person list, `concurrency` at a time; the latency of each, in ms.
async fn submit(
    client: &reqwest::Client,
    server: &Server,
    targets: Vec<(u32, String, String)>,
    concurrency: usize,
) -> anyhow::Result<Vec<f64>> {
    let gate = Arc::new(Semaphore::new(concurrency));
    let tasks: Vec<_> = targets
        .into_iter()
        .map(|(v, venue, token)| {
            let (client, url, gate) =
                (client.clone(), format!("{}/api/v1/venues/{venue}/registration", server.url), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire().await;
                let people: Vec<Value> = (0..30)
                    .map(|i| {
                        json!({"name": format!("参会人{i:02}"), "organization": "四川省教育厅", "title": "处长",
                        "phone": format!("13{:05}{:04}", v, i)})
                    })
                    .collect();
                let body = json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": people});
                let sent = Instant::now();
                let response = client.put(url).bearer_auth(token).json(&body).send().await;
                let ok = response.is_ok_and(|r| r.status().is_success());
                (ok, sent.elapsed().as_secs_f64() * 1000.0)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        let (ok, ms) = task.await?;
        if !ok {
            bail!("a list was refused");
        }
        latencies.push(ms);
    }
    Ok(latencies)
}
