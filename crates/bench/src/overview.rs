//! The national week at full size on PostgreSQL: a tree of units, each below the root holding one
//! opening of 30 venues of 30 seats, written straight into the database
//! (`sql/national_week.sql`), then counted by the server's first start. Measured: the time to
//! seed and to count, the database's size, the overview's latency for the root and for one
//! province, and how long a check-in takes to show on the root's live overview while check-ins
//! flow at `rate` per second.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::checkin::{door_phases, phases_between};
use crate::server::{ADMIN, Server, busy_percent, client, machine_cpu, quantile};

pub struct Setup {
    pub provinces: u32,
    pub cities: u32,
    pub districts: u32,
    /// Overview reads per unit measured.
    pub requests: u32,
    /// Check-ins per second while the root's live overview is watched.
    pub rate: u32,
    pub seconds: u32,
}

const SEED: &str = include_str!("../sql/national_week.sql");

fn psql(url: &str, args: &[&str], input: Option<&str>) -> anyhow::Result<String> {
    let mut command = Command::new("psql");
    command.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", url]).args(args);
    let output = if let Some(sql) = input {
        use std::io::Write;
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("psql (postgresql-client) is needed")?;
        child.stdin.take().context("psql stdin")?.write_all(sql.as_bytes())?;
        child.wait_with_output()?
    } else {
        command.output().context("psql (postgresql-client) is needed")?
    };
    if !output.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// `requests` reads of a unit's overview, 8 at a time: p50 and p99 in ms.
async fn read_overview(server: &Server, unit: &str, requests: u32) -> anyhow::Result<(f64, f64)> {
    let client = client();
    let gate = Arc::new(Semaphore::new(8));
    let url = format!("{}/api/v1/units/{unit}/overview", server.url);
    let tasks: Vec<_> = (0..requests)
        .map(|_| {
            let (client, url, gate) = (client.clone(), url.clone(), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire().await;
                let sent = Instant::now();
                let status = client.get(url).bearer_auth(ADMIN).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
                (status, sent.elapsed().as_secs_f64() * 1000.0)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        let (status, ms) = task.await?;
        if status != 200 {
            bail!("an overview was answered {status}");
        }
        latencies.push(ms);
    }
    latencies.sort_by(f64::total_cmp);
    Ok((quantile(&latencies, 0.5), quantile(&latencies, 0.99)))
}

pub async fn run(binary: &Path, database_url: Option<&str>, setup: &Setup) -> anyhow::Result<Value> {
    let Some(url) = database_url else { bail!("the national week runs on PostgreSQL: pass --database-url") };
    // A first start migrates the database; the tree is then written beside the server.
    drop(Server::start(binary, Some(url))?);
    let root = psql(url, &["-c", "SELECT gen_random_uuid()"], None)?;
    let started = Instant::now();
    let vars = [
        format!("root={root}"),
        format!("provinces={}", setup.provinces),
        format!("cities={}", setup.cities),
        format!("districts={}", setup.districts),
        "venues=30".to_owned(),
        "seats=30".to_owned(),
    ];
    let mut args = Vec::new();
    for var in &vars {
        args.extend(["-v", var.as_str()]);
    }
    psql(url, &args, Some(SEED))?;
    let seed_seconds = started.elapsed().as_secs_f64();
    let venues: i64 = psql(url, &["-c", "SELECT COUNT(*) FROM venues"], None)?.parse()?;
    let attendees: i64 = psql(url, &["-c", "SELECT COUNT(*) FROM attendees"], None)?.parse()?;
    // The server counts what it finds on its first start after the seed.
    let started = Instant::now();
    let server = Server::start(binary, Some(url))?;
    let count_seconds = started.elapsed().as_secs_f64();
    let size_mib: f64 = psql(url, &["-c", "SELECT pg_database_size(current_database()) / 1048576.0"], None)?.parse()?;
    println!(
        "national week: {venues} venues, {attendees} attendees seeded in {seed_seconds:.1} s, counted at start-up in \
         {count_seconds:.1} s; database {size_mib:.0} MiB"
    );

    let province =
        psql(url, &["-c", &format!("SELECT id FROM units WHERE parent_id = '{root}' ORDER BY id LIMIT 1")], None)?;
    let (root_p50, root_p99) = read_overview(&server, &root, setup.requests).await?;
    let (province_p50, province_p99) = read_overview(&server, &province, setup.requests).await?;
    println!(
        "overview ({} reads each, 8 at a time): root p50 {root_p50:.1} ms p99 {root_p99:.1} ms; \
         a province p50 {province_p50:.1} ms p99 {province_p99:.1} ms",
        setup.requests
    );

    // Check-ins in the province's subtree at `rate` per second, the root's live overview watched.
    let count = (setup.rate * setup.seconds) as usize;
    let pairs = psql(
        url,
        &["-c", &format!(
            "SELECT r.id || ' ' || a.id FROM units u JOIN events e ON e.unit_id = u.id JOIN venues v ON v.event_id = e.id
             JOIN rooms r ON r.venue_id = v.id JOIN attendees a ON a.venue_id = v.id
             WHERE u.path LIKE (SELECT path FROM units WHERE id = '{province}') || '%'
             ORDER BY a.id LIMIT {count}"
        )],
        None,
    )?;
    let arrivals: Vec<(String, String)> =
        pairs.lines().filter_map(|l| l.split_once(' ').map(|(r, a)| (r.to_owned(), a.to_owned()))).collect();
    let ws = format!("{}/api/v1/units/{root}/live?token={ADMIN}", server.url.replace("http://", "ws://"));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await?;
    let first: Value = serde_json::from_str(socket.next().await.context("no snapshot")??.to_text()?)?;
    let base = first["overview"]["totals"]["checked_in"].as_i64().unwrap_or(0);
    // (total checked in, when the screen saw it)
    let seen = Arc::new(Mutex::new(Vec::<(i64, Instant)>::new()));
    let watching = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = socket.next().await {
                let Ok(text) = message.to_text() else { continue };
                let Ok(change) = serde_json::from_str::<Value>(text) else { continue };
                if let Some(total) = change["totals"]["checked_in"].as_i64() {
                    seen.lock().unwrap_or_else(|e| e.into_inner()).push((total - base, Instant::now()));
                }
            }
        })
    };
    let client = client();
    let gate = Arc::new(Semaphore::new(64));
    let every = Duration::from_secs_f64(1.0 / f64::from(setup.rate.max(1)));
    let acks = Arc::new(Mutex::new(Vec::<Instant>::with_capacity(arrivals.len())));
    let phases_before = door_phases(&client, &server.url).await?;
    let (cpu_before, machine_before) = (server.cpu_seconds(), machine_cpu());
    let flow = Instant::now();
    let mut tasks = Vec::new();
    for (i, (room, person)) in arrivals.into_iter().enumerate() {
        tokio::time::sleep_until((flow + every * i as u32).into()).await;
        let (client, gate, acks) = (client.clone(), gate.clone(), acks.clone());
        let url = format!("{}/api/v1/rooms/{room}/checkins", server.url);
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let _permit = gate.acquire().await;
            let answer = client.post(url).bearer_auth(ADMIN).json(&json!({"attendee_id": person})).send().await;
            let ok = answer.map(|a| a.status().as_u16() == 201).unwrap_or(false);
            if ok {
                acks.lock().unwrap_or_else(|e| e.into_inner()).push(Instant::now());
            }
            (ok, sent.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let offered = flow.elapsed().as_secs_f64();
    let mut admitted = 0;
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (ok, ms) = task.await?;
        admitted += usize::from(ok);
        answers.push(ms);
    }
    let flowed = flow.elapsed().as_secs_f64();
    let server_cpu_ms = 1000.0 * (server.cpu_seconds() - cpu_before) / admitted.max(1) as f64;
    let busy = busy_percent(machine_before, machine_cpu());
    let (phases_line, phases) = phases_between(&phases_before, &door_phases(&client, &server.url).await?);
    // Whether the server kept up with the rate offered: the time each check-in took to be answered.
    answers.sort_by(f64::total_cmp);
    let (answer_p50, answer_p99) = (quantile(&answers, 0.5), quantile(&answers, 0.99));
    tokio::time::sleep(Duration::from_secs(3)).await;
    watching.abort();
    // The k-th check-in acknowledged is visible once the screen shows a total of at least k.
    let acks = acks.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut delays = Vec::new();
    let mut next = 0;
    for (k, acked) in acks.iter().enumerate() {
        while next < seen.len() && seen[next].0 < (k + 1) as i64 {
            next += 1;
        }
        let Some(&(_, at)) = seen.get(next) else {
            bail!("check-in {} never showed on the root's overview", k + 1);
        };
        delays.push(at.saturating_duration_since(*acked).as_secs_f64() * 1000.0);
    }
    delays.sort_by(f64::total_cmp);
    let (p50, p99, max) = (quantile(&delays, 0.5), quantile(&delays, 0.99), delays.last().copied().unwrap_or(0.0));
    println!(
        "live overview of the root: {admitted} check-ins offered over {offered:.1} s ({:.0}/s), the last answered at \
         {flowed:.1} s, each answered in p50 {answer_p50:.0} ms, p99 {answer_p99:.0} ms, in one province; {} messages; a \
         check-in shows p50 {p50:.0} ms, p99 {p99:.0} ms, at most {max:.0} ms after its answer",
        admitted as f64 / offered,
        seen.len()
    );
    println!(
        "the door meanwhile: server CPU {server_cpu_ms:.2} ms per check-in, machine {busy:.0} % busy; phases: {phases_line}"
    );
    Ok(json!({"scenario": "overview", "venues": venues, "attendees": attendees, "seed_seconds": seed_seconds,
        "count_seconds": count_seconds, "database_mib": size_mib, "root_p50_ms": root_p50, "root_p99_ms": root_p99,
        "province_p50_ms": province_p50, "province_p99_ms": province_p99, "checkins": admitted,
        "checkins_per_second": admitted as f64 / offered, "answered_seconds": flowed, "answer_p50_ms": answer_p50,
        "answer_p99_ms": answer_p99, "messages": seen.len(), "visible_p50_ms": p50,
        "visible_p99_ms": p99, "visible_max_ms": max, "server_cpu_ms_per_checkin": server_cpu_ms,
        "machine_busy_percent": busy, "phases": phases}))
}
