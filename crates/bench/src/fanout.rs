//! The live dashboard under load: `clients` WebSocket clients follow one event while changes are
//! written at `rate` per second. Each client checks that it sees every `seq` once and in order,
//! and measures each change's delivery from the time the server stamped it (inside the
//! transaction, so the figure includes the commit) to its arrival. The server's resident memory
//! is read before the clients connect, with all of them connected and idle, and at the end.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::server::{Server, busy_percent, client, event, machine_cpu, post, process_cpu_seconds};

pub struct Setup {
    pub clients: u32,
    /// Changes written per second.
    pub rate: u32,
    /// How long changes are written for.
    pub seconds: u32,
    /// Branch venues of the event; the changes go round them.
    pub venues: u32,
}

/// The live connections one viewer token may hold (the server's limit).
const CONNECTIONS_PER_TOKEN: u32 = 50;
/// How long the clients may take to receive the last change after the writer stops.
const DRAIN: Duration = Duration::from_secs(30);

pub async fn run(binary: &Path, database_url: Option<&str>, setup: &Setup) -> anyhow::Result<Value> {
    let server = Server::start(binary, database_url)?;
    let http = client();
    let event = event(&http, &server, "看板基准").await?;
    let mut venues = Vec::new();
    for v in 0..setup.venues {
        let venue = post(
            &http,
            format!("{}/api/v1/events/{event}/venues", server.url),
            json!({"name": format!("分会场{v:03}"), "kind": "branch", "region": "四川", "contact_email": "v@example.cn",
                   "rooms": [{"name": "会议室", "capacity": 30}]}),
        )
        .await?;
        venues.push(venue["id"].as_str().context("no venue id")?.to_owned());
    }
    let mut tokens = Vec::new();
    for _ in 0..setup.clients.div_ceil(CONNECTIONS_PER_TOKEN) {
        let viewer = post(&http, format!("{}/api/v1/events/{event}/viewer-tokens", server.url), json!({})).await?;
        tokens.push(viewer["token"].as_str().context("no viewer token")?.to_owned());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_before, _) = server.memory();

    // Connect every client; each reports its snapshot's `seq` once it has it.
    let feed = format!("{}/api/v1/events/{event}/live", server.url.replacen("http", "ws", 1));
    let histogram = Arc::new(Histogram::default());
    let (last_seq, watch_last) = watch::channel(i64::MAX);
    let connecting = Arc::new(Semaphore::new(64));
    let connect_started = Instant::now();
    let connect = |c: u32| {
        let (feed, token, gate) =
            (feed.clone(), tokens[(c / CONNECTIONS_PER_TOKEN) as usize].clone(), connecting.clone());
        let (histogram, watch_last) = (histogram.clone(), watch_last.clone());
        tokio::spawn(async move {
            let permit = gate.acquire_owned().await?;
            let mut request = feed.into_client_request()?;
            request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
            // A small read buffer: thousands of clients in this one process.
            let config = WebSocketConfig::default().read_buffer_size(8 * 1024);
            let (socket, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
            let (_sink, mut stream) = socket.split();
            let first = match stream.next().await {
                Some(Ok(Message::Text(text))) => text,
                other => bail!("no snapshot: {other:?}"),
            };
            drop(permit);
            let start = field(&first, "\"seq\":").context("a snapshot without seq")?;
            anyhow::Ok((start, first.len(), tokio::spawn(follow(stream, start, histogram, watch_last))))
        })
    };
    // The first client starts the event's feed, with its picture of the dashboard: what that
    // holds is the feed's, not a connection's, and is told apart.
    let (first_seq, snapshot_bytes, first) = connect(0).await??;
    let first_seconds = connect_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (rss_feed, _) = server.memory();
    let others_started = Instant::now();
    let clients: Vec<_> = (1..setup.clients).map(connect).collect();
    let mut followers = vec![first];
    let mut start_seq = first_seq;
    for client in clients {
        let (start, _, follower) = client.await??;
        followers.push(follower);
        start_seq = start_seq.min(start);
    }
    let connect_seconds = others_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_connected, _) = server.memory();
    let others = setup.clients.saturating_sub(1).max(1);
    let per_connection_kib = rss_connected.saturating_sub(rss_feed) as f64 / f64::from(others);
    println!(
        "fanout: the first client in {:.0} ms (a snapshot of {:.0} KiB), the feed {} KiB; {} more clients connected in {connect_seconds:.2} s; \
         server RSS {} → {} MiB idle, {per_connection_kib:.1} KiB per connection",
        first_seconds * 1000.0,
        snapshot_bytes as f64 / 1024.0,
        rss_feed.saturating_sub(rss_before),
        others,
        rss_before / 1024,
        rss_connected / 1024
    );

    // Write the changes at the rate asked, each approval flipping, each its own request.
    let writes = setup.rate * setup.seconds;
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(setup.rate)));
    let (write_started, cpu_before, machine_before) = (Instant::now(), server.cpu_seconds(), machine_cpu());
    let own_cpu_before = process_cpu_seconds("self");
    let mut written = Vec::new();
    for w in 0..writes {
        ticks.tick().await;
        let (http, url) =
            (http.clone(), format!("{}/api/v1/venues/{}/approval", server.url, venues[w as usize % venues.len()]));
        let status = if (w / setup.venues).is_multiple_of(2) { "approved" } else { "rejected" };
        written.push(tokio::spawn(async move { post(&http, url, json!({"status": status})).await }));
    }
    for write in written {
        write.await??;
    }
    let write_seconds = write_started.elapsed().as_secs_f64();
    // The last change is whatever the event reached: a write may bring changes of its own along.
    let dashboard: Value = http
        .get(format!("{}/api/v1/events/{event}/dashboard", server.url))
        .bearer_auth(crate::server::ADMIN)
        .send()
        .await?
        .json()
        .await?;
    let expected_last = dashboard["seq"].as_i64().context("no seq in the dashboard")?;
    let changes = expected_last - start_seq;
    let _ = last_seq.send(expected_last);

    let mut lost = 0;
    let mut resyncs = 0;
    for follower in followers {
        let seen = follower.await?;
        lost += seen.skipped + (expected_last - seen.last).max(0);
        resyncs += seen.resyncs;
    }
    let server_cpu = server.cpu_seconds() - cpu_before;
    let own_cpu = process_cpu_seconds("self") - own_cpu_before;
    let busy = busy_percent(machine_before, machine_cpu());
    let (rss_end, rss_peak) = server.memory();
    let delivered = histogram.count();
    let (p50, p99, max) = (histogram.quantile(0.5), histogram.quantile(0.99), histogram.max_ms());
    let store = if database_url.is_some() { "postgres" } else { "sqlite" };
    println!(
        "fanout ({store}): {} clients, {writes} writes ({changes} changes) in {write_seconds:.1} s; {delivered} deliveries, p50 {p50:.1} ms, \
         p99 {p99:.1} ms, max {max:.1} ms; lost {lost}, resynchronised {resyncs}; server RSS {} MiB at the end, peak {} MiB; \
         server CPU {server_cpu:.1} s, clients' CPU {own_cpu:.1} s, machine {busy:.0} % busy",
        setup.clients,
        rss_end / 1024,
        rss_peak / 1024
    );
    Ok(
        json!({"scenario": "fanout", "store": store, "clients": setup.clients, "writes": writes, "changes": changes, "rate": setup.rate,
        "write_seconds": write_seconds, "connect_seconds": connect_seconds, "deliveries": delivered,
        "p50_ms": p50, "p99_ms": p99, "max_ms": max, "lost": lost, "resyncs": resyncs,
        "server_rss_before_kib": rss_before, "server_rss_connected_kib": rss_connected,
        "kib_per_idle_connection": per_connection_kib, "feed_kib": rss_feed.saturating_sub(rss_before),
        "snapshot_kib": snapshot_bytes as f64 / 1024.0, "server_rss_end_kib": rss_end, "server_rss_peak_kib": rss_peak}),
    )
}

/// What one client saw.
struct Seen {
    /// The last `seq` it reached.
    last: i64,
    /// Changes it never received before `last`: gaps, or changes a resynchronising snapshot stood in for.
    skipped: i64,
    /// Fresh snapshots the server sent because the client had fallen behind.
    resyncs: i64,
}

async fn follow<S>(mut stream: S, start: i64, histogram: Arc<Histogram>, mut last: watch::Receiver<i64>) -> Seen
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut seen = Seen { last: start, skipped: 0, resyncs: 0 };
    let mut deadline: Option<tokio::time::Instant> = None;
    loop {
        if seen.last >= *last.borrow() {
            return seen;
        }
        let message = tokio::select! {
            message = stream.next() => message,
            _ = last.changed(), if deadline.is_none() => {
                deadline = Some(tokio::time::Instant::now() + DRAIN);
                continue;
            }
            () = sleep_until(deadline) => None,
        };
        // Closed or timed out: what it did not receive counts as lost.
        let Some(Ok(message)) = message else { return seen };
        let Message::Text(text) = message else { continue };
        let Some(seq) = field(&text, "\"seq\":") else { continue };
        if text.contains("\"type\":\"snapshot\"") {
            seen.resyncs += 1;
            seen.skipped += (seq - seen.last).max(0);
        } else {
            seen.skipped += (seq - seen.last - 1).max(0);
            if let Some((stamped, _)) = text.split_once("\"at\":\"").and_then(|(_, rest)| rest.split_once('"'))
                && let Ok(stamped) = chrono::DateTime::parse_from_rfc3339(stamped)
            {
                let ms = (chrono::Utc::now() - stamped.to_utc()).num_microseconds().unwrap_or(0) as f64 / 1000.0;
                histogram.record(ms);
            }
        }
        seen.last = seen.last.max(seq);
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The integer after `key` in a JSON text, read without parsing the whole message: a client
/// that parsed every message fully would measure its own parser more than the server.
fn field(text: &str, key: &str) -> Option<i64> {
    let rest = &text[text.find(key)? + key.len()..];
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Delivery latencies in 0.1 ms buckets up to 60 s, shared by every client.
struct Histogram {
    buckets: Vec<AtomicU64>,
    max_micros: AtomicU64,
}

const BUCKET_MS: f64 = 0.1;

impl Default for Histogram {
    fn default() -> Self {
        Histogram { buckets: (0..600_000).map(|_| AtomicU64::new(0)).collect(), max_micros: AtomicU64::new(0) }
    }
}

impl Histogram {
    fn record(&self, ms: f64) {
        let bucket = ((ms.max(0.0) / BUCKET_MS) as usize).min(self.buckets.len() - 1);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.max_micros.fetch_max((ms.max(0.0) * 1000.0) as u64, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The upper edge of the bucket that holds fraction `q` of the deliveries.
    fn quantile(&self, q: f64) -> f64 {
        let target = ((self.count() as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            seen += bucket.load(Ordering::Relaxed);
            if seen >= target {
                return (i + 1) as f64 * BUCKET_MS;
            }
        }
        0.0
    }

    fn max_ms(&self) -> f64 {
        self.max_micros.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_from_the_text() {
        let text = r#"{"at":"2026-12-01T20:00:00.5+08:00","seq":4217,"totals":{},"type":"change"}"#;
        assert_eq!(field(text, "\"seq\":"), Some(4217));
        assert_eq!(field(text, "\"missing\":"), None);
    }

    #[test]
    fn the_histogram_reads_quantiles_and_the_maximum() {
        let histogram = Histogram::default();
        for ms in 1..=100 {
            histogram.record(f64::from(ms));
        }
        assert_eq!(histogram.count(), 100);
        assert!((histogram.quantile(0.5) - 50.1).abs() < 1e-9);
        assert!((histogram.quantile(0.99) - 99.1).abs() < 1e-9);
        assert!((histogram.max_ms() - 100.0).abs() < 1e-9);
    }
}
