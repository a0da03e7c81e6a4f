//! `huichang-bench <scenario>`: starts the `huichang` binary built beside it
//! (`cargo build --release -p huichang -p huichang-bench`), drives it over loopback and prints one
//! line per figure, then a JSON summary. See `docs/performance.md`.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Parser, Subcommand};
use huichang_bench::{checkin, fanout, files, footprint, import, overview, registration};

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
    /// Check-ins at the door: rate and latency, and on PostgreSQL the raw-SQL rate by pgbench.
    Checkin {
        #[arg(long, default_value_t = 2000)]
        attendees: u32,
        /// Rooms (one venue each); 1 puts everybody through one hot room.
        #[arg(long, default_value_t = 40)]
        rooms: u32,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        pgbench_seconds: u32,
    },
    /// Venues submitting 30-person lists at once, each with its own token.
    Registration {
        #[arg(long, default_value_t = 1000)]
        venues: u32,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// WebSocket dashboard clients following one event while changes are written: delivery
    /// latency, lost messages, server memory per connection.
    Fanout {
        #[arg(long, default_value_t = 2000)]
        clients: u32,
        /// Changes written per second.
        #[arg(long, default_value_t = 100)]
        rate: u32,
        /// Seconds of writing.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        #[arg(long, default_value_t = 38)]
        venues: u32,
    },
    /// The national week at full size on PostgreSQL (a database the benchmark fills): seed and
    /// count times, database size, the overview's latency, and a check-in's delay to the root's
    /// live overview while check-ins flow.
    Overview {
        #[arg(long, default_value_t = 37)]
        provinces: u32,
        #[arg(long, default_value_t = 370)]
        cities: u32,
        #[arg(long, default_value_t = 3000)]
        districts: u32,
        #[arg(long, default_value_t = 2000)]
        requests: u32,
        #[arg(long, default_value_t = 1000)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// Materials: a large video up and down against `cp`, and the zip of a deadline 38 units met
    /// with 20 photos each.
    Files {
        #[arg(long, default_value_t = 300)]
        video_mib: u32,
        #[arg(long, default_value_t = 38)]
        units: u32,
        #[arg(long, default_value_t = 20)]
        photos: u32,
        #[arg(long, default_value_t = 500)]
        photo_kib: u32,
    },
    /// Start-up time to /readyz on a fresh database, idle memory, binary size.
    Footprint {
        #[arg(long, default_value_t = 5)]
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
    let database = cli.database_url.as_deref();
    let summary = match cli.scenario {
        Scenario::Import { rows, runs } => import::run(&binary, database, rows, runs).await?,
        Scenario::Checkin { attendees, rooms, concurrency, pgbench_seconds } => {
            checkin::run(&binary, database, &checkin::Setup { attendees, rooms, concurrency, pgbench_seconds }).await?
        }
        Scenario::Registration { venues, concurrency } => {
            registration::run(&binary, database, venues, concurrency).await?
        }
        Scenario::Fanout { clients, rate, seconds, venues } => {
            fanout::run(&binary, database, &fanout::Setup { clients, rate, seconds, venues }).await?
        }
        Scenario::Overview { provinces, cities, districts, requests, rate, seconds } => {
            let setup = overview::Setup { provinces, cities, districts, requests, rate, seconds };
            overview::run(&binary, database, &setup).await?
        }
        Scenario::Files { video_mib, units, photos, photo_kib } => {
            files::run(&binary, database, &files::Setup { video_mib, units, photos, photo_kib }).await?
        }
        Scenario::Footprint { runs } => footprint::run(&binary, database, runs).await?,
    };
    println!("{summary}");
    Ok(())
}
