//! Prometheus metrics of the HTTP layer, kept in memory and rendered as text at `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

#[derive(Default)]
struct Route {
    /// Responses by status code.
    statuses: BTreeMap<u16, u64>,
    /// Cumulative bucket counts, then the sum of seconds and the count.
    buckets: [u64; BUCKETS.len()],
    seconds: f64,
    count: u64,
}

pub struct Metrics {
    started: Instant,
    routes: Mutex<BTreeMap<(String, String), Route>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics { started: Instant::now(), routes: Mutex::new(BTreeMap::new()) }
    }
}

impl Metrics {
    fn observe(&self, method: &str, path: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let route = routes.entry((method.to_owned(), path.to_owned())).or_default();
        *route.statuses.entry(status).or_default() += 1;
        for (bucket, bound) in route.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        route.seconds += seconds;
        route.count += 1;
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        out.push_str("# HELP huichang_http_requests_total HTTP responses by route and status.\n# TYPE huichang_http_requests_total counter\n");
        for ((method, path), route) in routes.iter() {
            for (status, count) in &route.statuses {
                let _ = writeln!(
                    out,
                    "huichang_http_requests_total{{method=\"{method}\",path=\"{path}\",status=\"{status}\"}} {count}"
                );
            }
        }
        out.push_str("# HELP huichang_http_request_duration_seconds Time to answer, by route.\n# TYPE huichang_http_request_duration_seconds histogram\n");
        for ((method, path), route) in routes.iter() {
            let labels = format!("method=\"{method}\",path=\"{path}\"");
            for (bound, count) in BUCKETS.iter().zip(route.buckets) {
                let _ =
                    writeln!(out, "huichang_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}");
            }
            let _ =
                writeln!(out, "huichang_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", route.count);
            let _ = writeln!(out, "huichang_http_request_duration_seconds_sum{{{labels}}} {}", route.seconds);
            let _ = writeln!(out, "huichang_http_request_duration_seconds_count{{{labels}}} {}", route.count);
        }
        render_door(&mut out);
        let _ = writeln!(
            out,
            "# HELP huichang_uptime_seconds Seconds since the server started.\n# TYPE huichang_uptime_seconds gauge\nhuichang_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        let _ = writeln!(
            out,
            "# HELP huichang_build_info The running version.\n# TYPE huichang_build_info gauge\nhuichang_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        out
    }
}

/// The door's batch writers: where a check-in's time goes (`huichang_store::door_times`).
fn render_door(out: &mut String) {
    use huichang_store::door_times::{ADMIT, BOUNDS, COMMIT, COUNTERS, EVENT_ROWS, SEATS, STATEMENTS, WAITING};
    out.push_str("# HELP huichang_checkin_seconds Check-ins at the door: waiting for a writer (per check-in); per batch, its statements, of which what it reads, its seats, its events' rows and the overview's counters, and its commit.\n# TYPE huichang_checkin_seconds histogram\n");
    for (phase, histogram) in [
        ("waiting", &WAITING),
        ("statements", &STATEMENTS),
        ("admit", &ADMIT),
        ("seats", &SEATS),
        ("event_rows", &EVENT_ROWS),
        ("counters", &COUNTERS),
        ("commit", &COMMIT),
    ] {
        let reading = histogram.read();
        for (bound, count) in BOUNDS.iter().zip(reading.cumulative) {
            let _ = writeln!(out, "huichang_checkin_seconds_bucket{{phase=\"{phase}\",le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "huichang_checkin_seconds_bucket{{phase=\"{phase}\",le=\"+Inf\"}} {}", reading.count);
        let _ = writeln!(out, "huichang_checkin_seconds_sum{{phase=\"{phase}\"}} {}", reading.seconds);
        let _ = writeln!(out, "huichang_checkin_seconds_count{{phase=\"{phase}\"}} {}", reading.count);
    }
    let _ = writeln!(
        out,
        "# HELP huichang_checkin_batches_retried_total Batches of check-ins whose transaction failed, each check-in then tried alone.\n# TYPE huichang_checkin_batches_retried_total counter\nhuichang_checkin_batches_retried_total {}",
        huichang_store::door_times::RETRIED.load(std::sync::atomic::Ordering::Relaxed)
    );
}

/// Records every request under its route pattern (`/api/v1/venues/{venue}`), never its raw
/// path, so that ids do not multiply the series.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(&method, &path, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_buckets() {
        let metrics = Metrics::default();
        metrics.observe("GET", "/healthz", 200, 0.002);
        metrics.observe("GET", "/healthz", 200, 0.3);
        let text = metrics.render();
        assert!(text.contains("huichang_http_requests_total{method=\"GET\",path=\"/healthz\",status=\"200\"} 2"));
        assert!(text.contains(
            "huichang_http_request_duration_seconds_bucket{method=\"GET\",path=\"/healthz\",le=\"0.0025\"} 1"
        ));
        assert!(text.contains("huichang_http_request_duration_seconds_count{method=\"GET\",path=\"/healthz\"} 2"));
    }
}
