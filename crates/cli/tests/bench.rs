//! Each benchmark scenario in a quick mode (tiny sizes, seconds) against this build of the
//! binary, so that the harness behind `docs/performance.md` cannot rot. The full runs are
//! documented there, not run here.

mod common;

use std::path::Path;

use huichang_bench::{checkin, fanout, files, footprint, import, overview, registration};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_huichang"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_benchmarks_run_in_quick_mode() {
    let imported = import::run(binary(), None, 50, 1).await.unwrap();
    assert_eq!(imported["rows"], 50);
    assert!(imported["server_rss_peak_kib"].as_u64().unwrap() > 0);

    let lists = registration::run(binary(), None, 12, 4).await.unwrap();
    assert!(lists["lists_per_second"].as_f64().unwrap() > 0.0);

    let setup = checkin::Setup { attendees: 40, rooms: 4, concurrency: 8, pgbench_seconds: 1 };
    let door = checkin::run(binary(), None, &setup).await.unwrap();
    assert!(door["p99_ms"].as_f64().unwrap() >= door["p50_ms"].as_f64().unwrap());
    // The server's own account of the timed check-ins: each waited for a writer once.
    assert_eq!(door["phases"]["waiting"]["count"], 40, "{door}");
    let batches = door["phases"]["commit"]["count"].as_u64().unwrap();
    assert!((1..=40).contains(&batches), "{door}");

    // More clients than one token may hold, so that several viewer tokens are in play.
    let setup = fanout::Setup { clients: 60, rate: 20, seconds: 1, venues: 4 };
    let live = fanout::run(binary(), None, &setup).await.unwrap();
    assert_eq!(live["lost"], 0, "{live}");
    assert!(live["changes"].as_u64().unwrap() >= 20, "{live}");
    assert_eq!(
        live["deliveries"].as_u64(),
        live["changes"].as_u64().map(|c| c * 60),
        "every client sees every change: {live}"
    );
    assert!(live["p99_ms"].as_f64().unwrap() >= live["p50_ms"].as_f64().unwrap());
    assert!(live["snapshot_kib"].as_f64().unwrap() > 0.0, "{live}");

    let setup = files::Setup { video_mib: 4, units: 3, photos: 2, photo_kib: 40 };
    let materials = files::run(binary(), None, &setup).await.unwrap();
    assert!(materials["zip_bytes"].as_u64().unwrap() > 3 * 2 * 40 * 1024, "{materials}");
    assert!(materials["upload_mib_per_second"].as_f64().unwrap() > 0.0);

    let rest = footprint::run(binary(), None, 1).await.unwrap();
    assert!(rest["median_ready_ms"].as_f64().unwrap() > 0.0 && rest["binary_bytes"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_check_in_benchmark_compares_with_pgbench_on_postgres() {
    let Some(database) = huichang_tests::Database::create(huichang_tests::Backend::Postgres).await else { return };
    let setup = checkin::Setup { attendees: 40, rooms: 4, concurrency: 8, pgbench_seconds: 1 };
    let door = checkin::run(binary(), Some(&database.url), &setup).await.unwrap();
    assert!(door["pgbench_per_second"].as_f64().unwrap() > 0.0);
    assert!(door["ratio_to_pgbench"].as_f64().unwrap() > 0.0);
    assert!(door["pgbench_p99_ms"].as_f64().unwrap() > 0.0 && door["p99_to_pgbench_p99"].as_f64().unwrap() > 0.0);
    assert!(door["p999_ms"].as_f64().unwrap() >= door["p99_ms"].as_f64().unwrap());

    let setup = fanout::Setup { clients: 20, rate: 20, seconds: 1, venues: 4 };
    let live = fanout::run(binary(), Some(&database.url), &setup).await.unwrap();
    assert_eq!(live["lost"], 0, "{live}");
    assert_eq!(live["deliveries"].as_u64(), live["changes"].as_u64().map(|c| c * 20), "{live}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_national_week_benchmark_seeds_counts_and_watches_on_postgres() {
    let Some(database) = huichang_tests::Database::create(huichang_tests::Backend::Postgres).await else { return };
    let setup = overview::Setup { provinces: 3, cities: 3, districts: 3, requests: 20, rate: 50, seconds: 1 };
    let week = overview::run(binary(), Some(&database.url), &setup).await.unwrap();
    assert_eq!(week["venues"], 9 * 30, "each unit below the root holds one opening of 30 venues: {week}");
    assert_eq!(week["attendees"], 9 * 30 * 30);
    assert_eq!(week["checkins"], 50, "{week}");
    assert!(week["visible_p99_ms"].as_f64().unwrap() < 2000.0, "{week}");
    assert!(week["root_p99_ms"].as_f64().unwrap() >= week["root_p50_ms"].as_f64().unwrap());
}
