//! The door: `attendees` people across `rooms` rooms of one event check in, `concurrency` at a
//! time. On PostgreSQL the same transaction (find the person inside, take a seat if one is free,
//! record the check-in, then the event's next `seq` with the change row, its NOTIFY and the audit
//! row in one statement) also runs as raw SQL through `pgbench` in the same run, so the ratio
//! between the two does not depend on the machine.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::server::{ADMIN, Server, busy_percent, client, event, machine_cpu, post, quantile};

pub struct Setup {
    pub attendees: u32,
    pub rooms: u32,
    pub concurrency: usize,
    /// Seconds pgbench runs for.
    pub pgbench_seconds: u32,
}

pub async fn run(binary: &Path, database_url: Option<&str>, setup: &Setup) -> anyhow::Result<Value> {
    let server = Server::start(binary, database_url)?;
    let client = client();
    let event = event(&client, &server, "签到基准").await?;
    let per_room = setup.attendees.div_ceil(setup.rooms);
    // One venue per room, approved, with its list: (room, attendee) pairs to check in.
    let mut arrivals = Vec::new();
    for r in 0..setup.rooms {
        let venue = post(
            &client,
            format!("{}/api/v1/events/{event}/venues", server.url),
            json!({
            "name": format!("分会场{r:03}"), "kind": "branch", "contact_email": "v@example.cn",
            "rooms": [{"name": "会议室", "capacity": per_room}]}),
        )
        .await?;
        let venue_id = venue["id"].as_str().unwrap_or_default();
        let room = venue["rooms"][0]["id"].as_str().unwrap_or_default().to_owned();
        post(&client, format!("{}/api/v1/venues/{venue_id}/approval", server.url), json!({"status": "approved"}))
            .await?;
        let people: Vec<Value> = (0..per_room)
            .map(|i| {
                json!({"name": format!("参会人{i:04}"), "organization": "四川省教育厅", "title": "处长",
                "phone": format!("13{:04}{:05}", r, i)})
            })
            .collect();
        let list = client
            .put(format!("{}/api/v1/venues/{venue_id}/registration", server.url))
            .bearer_auth(ADMIN)
            .json(&json!({"technician": {"name": "付宇豪", "phone": "18500219116"}, "attendees": people}))
            .send()
            .await?
            .json::<Value>()
            .await?;
        for person in list["attendees"].as_array().context("no list")? {
            arrivals.push((room.clone(), person["id"].as_str().unwrap_or_default().to_owned()));
        }
    }
    // People arrive at all doors at once, not room by room.
    arrivals.sort_by_key(|(_, person)| person.chars().rev().collect::<String>());
    arrivals.truncate(setup.attendees as usize);

    // Warm up as a door that has been open a while: the connections to the server and to the
    // database opened and their statements prepared. The first few people go in and out again,
    // untimed, at the same concurrency.
    let warm: Vec<_> = arrivals.iter().take(setup.concurrency * 4).cloned().collect();
    for step in ["in", "out"] {
        let rounds: Vec<_> = warm
            .chunks(setup.concurrency)
            .map(|chunk| {
                chunk.iter().map(|(room, person)| {
                    let base = format!("{}/api/v1/rooms/{room}/checkins", server.url);
                    let request = match step {
                        "in" => client.post(base).json(&json!({"attendee_id": person})),
                        _ => client.delete(format!("{base}/{person}")),
                    };
                    request.bearer_auth(ADMIN).send()
                })
            })
            .map(futures_util::future::join_all)
            .collect();
        for round in rounds {
            for answer in round.await {
                let status = answer?.status();
                if !status.is_success() {
                    bail!("warming up: a check-{step} was answered {status}");
                }
            }
        }
    }

    let gate = Arc::new(Semaphore::new(setup.concurrency));
    let phases_before = door_phases(&client, &server.url).await?;
    let (started, cpu_before, machine_before) = (Instant::now(), server.cpu_seconds(), machine_cpu());
    let tasks: Vec<_> = arrivals
        .into_iter()
        .map(|(room, person)| {
            let (client, url, gate) =
                (client.clone(), format!("{}/api/v1/rooms/{room}/checkins", server.url), gate.clone());
            tokio::spawn(async move {
                let _permit = gate.acquire().await;
                let sent = Instant::now();
                let answer = client.post(url).bearer_auth(ADMIN).json(&json!({"attendee_id": person})).send().await;
                (answer.map(|a| a.status().as_u16()).unwrap_or(0), sent.elapsed().as_secs_f64() * 1000.0)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        let (status, ms) = task.await?;
        if status != 201 {
            bail!("a check-in was answered {status}");
        }
        latencies.push(ms);
    }
    let seconds = started.elapsed().as_secs_f64();
    let server_cpu_ms = 1000.0 * (server.cpu_seconds() - cpu_before) / latencies.len().max(1) as f64;
    let busy = busy_percent(machine_before, machine_cpu());
    latencies.sort_by(f64::total_cmp);
    let rate = latencies.len() as f64 / seconds;
    let (p50, p99, p999) = (quantile(&latencies, 0.5), quantile(&latencies, 0.99), quantile(&latencies, 0.999));
    let store = if database_url.is_some() { "postgres" } else { "sqlite" };
    println!(
        "checkin ({store}): {} in {seconds:.2} s: {rate:.0}/s, p50 {p50:.1} ms, p99 {p99:.1} ms, p99.9 {p999:.1} ms; \
         server CPU {server_cpu_ms:.2} ms per check-in, machine {busy:.0} % busy",
        latencies.len()
    );
    let mut summary = json!({"scenario": "checkin", "store": store, "attendees": setup.attendees, "rooms": setup.rooms,
        "concurrency": setup.concurrency, "seconds": seconds, "checkins_per_second": rate, "p50_ms": p50, "p99_ms": p99,
        "p999_ms": p999, "server_cpu_ms_per_checkin": server_cpu_ms, "machine_busy_percent": busy});
    // Where the time went inside the server, from its /metrics over the timed run alone.
    let phases_after = door_phases(&client, &server.url).await?;
    let (line, phases) = phases_between(&phases_before, &phases_after);
    println!(
        "checkin phases (per check-in: waiting for a writer; per batch: statements, of which what it reads, its seats, its events' rows and the counters, and the commit): {}",
        line
    );
    summary["phases"] = phases;
    if let Some(url) = database_url {
        let raw = pgbench(url, setup)?;
        println!(
            "checkin raw SQL (pgbench, same transaction, {} clients): {:.0}/s, p50 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms; \
             huichang reaches {:.0} % of its rate, its p99 is {:.1}× pgbench's",
            setup.concurrency,
            raw.per_second,
            raw.p50_ms,
            raw.p99_ms,
            raw.p999_ms,
            100.0 * rate / raw.per_second,
            p99 / raw.p99_ms
        );
        summary["pgbench_per_second"] = json!(raw.per_second);
        summary["pgbench_p99_ms"] = json!(raw.p99_ms);
        summary["pgbench_p999_ms"] = json!(raw.p999_ms);
        summary["ratio_to_pgbench"] = json!(rate / raw.per_second);
        summary["p99_to_pgbench_p99"] = json!(p99 / raw.p99_ms);
    }
    Ok(summary)
}

/// The server's histograms of the door's phases: per phase, (upper bound in seconds, cumulative count).
pub(crate) async fn door_phases(
    client: &reqwest::Client,
    url: &str,
) -> anyhow::Result<BTreeMap<String, Vec<(f64, u64)>>> {
    let text = client.get(format!("{url}/metrics")).send().await?.error_for_status()?.text().await?;
    let mut phases: BTreeMap<String, Vec<(f64, u64)>> = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("huichang_checkin_seconds_bucket{phase=\"") else { continue };
        let (phase, rest) = rest.split_once("\",le=\"").context("a bucket without its bound")?;
        let (bound, count) = rest.split_once("\"} ").context("a bucket without its count")?;
        let bound = if bound == "+Inf" { f64::INFINITY } else { bound.parse()? };
        phases.entry(phase.to_owned()).or_default().push((bound, count.parse()?));
    }
    Ok(phases)
}

/// The door's phases between two readings of `/metrics`: one line to print, and the same as JSON.
pub(crate) fn phases_between(
    before: &BTreeMap<String, Vec<(f64, u64)>>,
    after: &BTreeMap<String, Vec<(f64, u64)>>,
) -> (String, Value) {
    let mut phases = serde_json::Map::new();
    let mut line = Vec::new();
    for (phase, after) in after {
        let before = before.get(phase).cloned().unwrap_or_default();
        let counts: Vec<(f64, u64)> = after
            .iter()
            .zip(before.iter().chain(std::iter::repeat(&(0.0, 0))))
            .map(|(a, b)| (a.0, a.1 - b.1))
            .collect();
        let total = counts.last().map_or(0, |c| c.1);
        let at = |q: f64| bucket_quantile(&counts, q) * 1000.0;
        line.push(format!("{phase} p50 ≤{:.1} p99 ≤{:.1} p99.9 ≤{:.1} ms ({total})", at(0.5), at(0.99), at(0.999)));
        phases.insert(
            phase.clone(),
            json!({"count": total, "p50_ms": at(0.5), "p99_ms": at(0.99), "p999_ms": at(0.999)}),
        );
    }
    (line.join("; "), Value::Object(phases))
}

/// The upper bound of the bucket that holds quantile `q` of cumulative `counts`.
fn bucket_quantile(counts: &[(f64, u64)], q: f64) -> f64 {
    let total = counts.last().map_or(0, |c| c.1);
    let rank = (q * total as f64).ceil() as u64;
    counts.iter().find(|c| c.1 >= rank.max(1)).map_or(0.0, |c| c.0)
}

/// What pgbench measured: its rate, and the latency of each transaction from its log.
pub struct Raw {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

/// The check-in transaction as raw SQL, in a schema of its own beside the server's tables.
fn pgbench(url: &str, setup: &Setup) -> anyhow::Result<Raw> {
    let schema = format!(
        "DROP SCHEMA IF EXISTS bench_raw CASCADE; CREATE SCHEMA bench_raw;
         CREATE TABLE bench_raw.events (id INT PRIMARY KEY, last_seq BIGINT NOT NULL DEFAULT 0, timezone TEXT NOT NULL DEFAULT 'Asia/Shanghai');
         CREATE TABLE bench_raw.venues (id INT PRIMARY KEY, event_id INT NOT NULL REFERENCES bench_raw.events (id));
         CREATE TABLE bench_raw.rooms (id INT PRIMARY KEY, venue_id INT NOT NULL REFERENCES bench_raw.venues (id), capacity BIGINT NOT NULL, occupancy BIGINT NOT NULL DEFAULT 0);
         CREATE TABLE bench_raw.checkins (id UUID PRIMARY KEY, attendee_id UUID NOT NULL, room_id INT NOT NULL REFERENCES bench_raw.rooms (id), checked_in_at TIMESTAMPTZ NOT NULL, checked_out_at TIMESTAMPTZ);
         CREATE UNIQUE INDEX ON bench_raw.checkins (attendee_id) WHERE checked_out_at IS NULL;
         CREATE INDEX ON bench_raw.checkins (room_id, checked_in_at);
         CREATE TABLE bench_raw.changes (event_id INT NOT NULL, seq BIGINT NOT NULL, venue_id INT, what TEXT NOT NULL, at TIMESTAMPTZ NOT NULL, PRIMARY KEY (event_id, seq));
         CREATE TABLE bench_raw.audit_log (id UUID PRIMARY KEY, event_id INT, at TIMESTAMPTZ NOT NULL, actor_role TEXT NOT NULL, actor_token_id UUID, address TEXT, action TEXT NOT NULL, target_kind TEXT NOT NULL, target_id UUID NOT NULL, detail JSONB NOT NULL);
         INSERT INTO bench_raw.events (id) VALUES (1);
         INSERT INTO bench_raw.venues SELECT n, 1 FROM generate_series(1, {rooms}) n;
         INSERT INTO bench_raw.rooms SELECT n, n, 1000000000 FROM generate_series(1, {rooms}) n;",
        rooms = setup.rooms
    );
    let created = Command::new("psql")
        .args([url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", &schema])
        .output()
        .context("running psql")?;
    if !created.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&created.stderr));
    }
    let script = format!(
        r#"\set r random(1, {rooms})
SELECT quote_literal(gen_random_uuid()) AS attendee, quote_literal(gen_random_uuid()) AS checkin, quote_literal(gen_random_uuid()) AS audit \gset
BEGIN;
SELECT room_id FROM bench_raw.checkins WHERE attendee_id = CAST(:attendee AS UUID) AND checked_out_at IS NULL;
UPDATE bench_raw.rooms SET occupancy = occupancy + 1 WHERE id = :r AND occupancy < capacity RETURNING venue_id;
INSERT INTO bench_raw.checkins (id, attendee_id, room_id, checked_in_at) VALUES (CAST(:checkin AS UUID), CAST(:attendee AS UUID), :r, now());
SELECT event_id FROM bench_raw.venues WHERE id = :r;
SELECT timezone FROM bench_raw.events WHERE id = 1;
WITH taken AS (UPDATE bench_raw.events SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq),
     change AS (INSERT INTO bench_raw.changes (event_id, seq, venue_id, what, at) SELECT 1, last_seq, :r, 'checkin.created', now() FROM taken),
     audit AS (INSERT INTO bench_raw.audit_log (id, event_id, at, actor_role, actor_token_id, address, action, target_kind, target_id, detail) VALUES (CAST(:audit AS UUID), 1, now(), 'admin', NULL, '127.0.0.1', 'checkin.created', 'attendee', CAST(:attendee AS UUID), '{{"room_id": 1}}'))
SELECT last_seq, pg_notify('huichang_bench_raw', '1') FROM taken;
COMMIT;
"#,
        rooms = setup.rooms
    );
    let path = std::env::temp_dir().join(format!("huichang-bench-checkin-{}.sql", std::process::id()));
    std::fs::write(&path, script)?;
    let clients = setup.concurrency.to_string();
    let seconds = setup.pgbench_seconds.to_string();
    let path_text = path.to_string_lossy().into_owned();
    // Each transaction's latency goes to a log per pgbench thread: `<prefix>.<pid>[.<thread>]`.
    let logs = std::env::temp_dir().join(format!("huichang-bench-pgbench-{}", std::process::id()));
    std::fs::create_dir_all(&logs)?;
    let prefix = format!("--log-prefix={}", logs.join("latency").display());
    let run = Command::new("pgbench")
        .args(["-n", "-c", &clients, "-j", "2", "-T", &seconds, "-l", &prefix, "-f", &path_text, url])
        .output()
        .context("running pgbench (Debian's postgresql-contrib or postgresql-client)")?;
    let _ = std::fs::remove_file(&path);
    let _ = Command::new("psql").args([url, "-qc", "DROP SCHEMA IF EXISTS bench_raw CASCADE"]).output();
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(&logs)? {
        // A line: client, transaction, latency in µs, script, epoch seconds, µs.
        let text = std::fs::read_to_string(entry?.path())?;
        latencies.extend(text.lines().filter_map(|line| line.split_whitespace().nth(2)?.parse::<f64>().ok()));
    }
    let _ = std::fs::remove_dir_all(&logs);
    latencies.iter_mut().for_each(|us| *us /= 1000.0);
    latencies.sort_by(f64::total_cmp);
    let output = String::from_utf8_lossy(&run.stdout);
    let per_second = output
        .lines()
        .find_map(|line| line.strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no tps in pgbench's output: {output}{}", String::from_utf8_lossy(&run.stderr)))?;
    if latencies.is_empty() {
        bail!("pgbench logged no transaction");
    }
    Ok(Raw {
        per_second,
        p50_ms: quantile(&latencies, 0.5),
        p99_ms: quantile(&latencies, 0.99),
        p999_ms: quantile(&latencies, 0.999),
    })
}
