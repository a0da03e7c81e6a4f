//! Where a check-in's time goes in the door's batch writers, for `/metrics`: waiting for a
//! writer to take it, the batch's statements (of which: what the door reads, its seats, its events'
//! rows and the overview's counters, where it may wait for another batch's commit) and the batch's
//! commit. A slow check-in's time is the sum of these, so a tail can be traced to the queue, a hot
//! row, the other statements or the WAL flush.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the buckets, in seconds: fine where the door's tail lies (5–100 ms).
pub const BOUNDS: [f64; 17] =
    [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0];

/// A latency histogram updated without a lock.
pub struct Histogram {
    /// Observations at or below each bound (not cumulative; [`Histogram::read`] sums them).
    buckets: [AtomicU64; BOUNDS.len()],
    count: AtomicU64,
    micros: AtomicU64,
}

/// A histogram as read: cumulative counts per bound, then the count and the sum of seconds.
pub struct Reading {
    pub cumulative: [u64; BOUNDS.len()],
    pub count: u64,
    pub seconds: f64,
}

impl Histogram {
    const fn new() -> Histogram {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BOUNDS.len()],
            count: AtomicU64::new(0),
            micros: AtomicU64::new(0),
        }
    }

    pub(crate) fn observe(&self, time: Duration) {
        let seconds = time.as_secs_f64();
        if let Some(bucket) = BOUNDS.iter().position(|&bound| seconds <= bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.micros.fetch_add(time.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn read(&self) -> Reading {
        let mut cumulative = [0; BOUNDS.len()];
        let mut sum = 0;
        for (total, bucket) in cumulative.iter_mut().zip(&self.buckets) {
            sum += bucket.load(Ordering::Relaxed);
            *total = sum;
        }
        Reading {
            cumulative,
            count: self.count.load(Ordering::Relaxed),
            seconds: self.micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// Per check-in: from its arrival at the queue until a writer takes it into a batch.
pub static WAITING: Histogram = Histogram::new();
/// Per batch: from `BEGIN` (a connection of the pool included) to just before the commit.
pub static STATEMENTS: Histogram = Histogram::new();
/// Per batch, of its statements: reading what the door checks (rooms, lists, venues, people),
/// where it may wait for a list change holding a venue's list.
pub static ADMIT: Histogram = Histogram::new();
/// Per batch, of its statements: taking its seats, its people written inside and then one room
/// row each, which waits while another batch holds the room's row (or a person's place) to its
/// commit.
pub static SEATS: Histogram = Histogram::new();
/// Per batch, of its statements: taking its events' rows for their `seq`, which waits while
/// another batch of the same event holds them to its commit.
pub static EVENT_ROWS: Histogram = Histogram::new();
/// Per batch, of its statements: moving the overview's counters (its events' and the units'
/// above its venues), rows every batch of the same events and units waits for.
pub static COUNTERS: Histogram = Histogram::new();
/// Per batch: the commit, with its WAL flush on PostgreSQL.
pub static COMMIT: Histogram = Histogram::new();

/// Batches whose transaction failed (the database, or a deadlock with another instance's batch),
/// each of whose check-ins was then tried again on its own.
pub static RETRIED: AtomicU64 = AtomicU64::new(0);
