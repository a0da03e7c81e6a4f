//! The overview's counters: kept in the transaction of each change, read without scanning.
//!
//! A change to venues ends with [`settle`]: each venue's row is recounted from its own rows (what
//! the dashboard shows of it), compared with what it last added (`venue_counts`), and the
//! difference added to its event and to every unit above the unit it counts for (the unit that
//! runs it, else its event's). Rows are locked in one order by every transaction — the venues',
//! then the events', then the units', each by id — and after every other lock, so that two
//! changes never wait for each other in a circle.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use huichang_core::event::local;
use huichang_core::overview::{ChildRow, Counts, EventRow, Overview, UnitName};
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use super::super::{Backend, Db, LOCK_COUNTS};
use super::dashboard::rows_of;
use super::{DbRow, Tx, now, row_timezone, with_ids};
use crate::Result;

const VENUE_COUNTERS: [&str; 7] =
    ["approved", "registered", "capacity", "checked_in", "video_passed", "video_live", "overdue"];
const COUNTERS: &str =
    "units, events, venues, approved, registered, capacity, checked_in, video_passed, video_live, overdue";

fn counts_from_row(row: &DbRow) -> Result<Counts> {
    let mut counts = [0; 10];
    for (count, name) in counts.iter_mut().zip(COUNTERS.split(", ")) {
        *count = row.try_get(name)?;
    }
    Ok(Counts::from_array(counts))
}

/// A venue's share as `venue_counts` keeps it (`venues` is 1 for any venue it holds).
fn share_from_row(row: &DbRow) -> Result<Counts> {
    let mut counts = Counts { venues: 1, ..Counts::default() };
    let mut values = counts.as_array();
    for (value, name) in values[3..].iter_mut().zip(VENUE_COUNTERS) {
        *value = row.try_get(name)?;
    }
    counts = Counts::from_array(values);
    Ok(counts)
}

/// The units a change is counted in: the ids of a unit's path, root first.
fn path_ids(path: Option<String>) -> Vec<Uuid> {
    path.iter().flat_map(|p| p.split('/')).filter_map(|id| Uuid::parse_str(id).ok()).collect()
}

/// The differences one transaction adds, by event and by unit.
#[derive(Default)]
struct Moves {
    events: BTreeMap<Uuid, Counts>,
    units: BTreeMap<Uuid, Counts>,
}

impl Moves {
    fn add(&mut self, event: Option<Uuid>, units: &[Uuid], by: Counts) {
        if by.is_zero() {
            return;
        }
        if let Some(event) = event {
            *self.events.entry(event).or_default() += by;
        }
        for unit in units {
            *self.units.entry(*unit).or_default() += by;
        }
    }

    /// Adds the differences, events then units, each in id order.
    async fn apply(self, tx: &mut Tx) -> Result<()> {
        for (table, key, rows, version) in [
            ("event_counts", "event_id", &self.events, ""),
            ("unit_counts", "unit_id", &self.units, ", version = version + 1"),
        ] {
            for (id, by) in rows {
                let mut update = QueryBuilder::<Db>::new(format!("UPDATE {table} SET "));
                let mut set = update.separated(", ");
                for (name, value) in COUNTERS.split(", ").zip(by.as_array()) {
                    set.push(format!("{name} = {name} + "));
                    set.push_bind_unseparated(value);
                }
                update.push(version);
                update.push(format!(" WHERE {key} = ")).push_bind(*id);
                update.build().execute(&mut **tx).await?;
            }
        }
        Ok(())
    }
}

/// Recounts `venues` (of any events) in the caller's transaction and moves the counters by
/// what changed. Call it after the change's last write to them.
pub(super) async fn settle(tx: &mut Tx, venues: &[Uuid]) -> Result<()> {
    settle_at(tx, venues, now()).await
}

async fn settle_at(tx: &mut Tx, venues: &[Uuid], at: DateTime<Utc>) -> Result<()> {
    let mut ids = venues.to_vec();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    // Locked first, then read again: a change committed meanwhile is both in what the venue
    // last added and in its recount below.
    let mut before = BTreeMap::new();
    let mut lock = with_ids(
        "SELECT venue_id, approved, registered, capacity, checked_in, video_passed, video_live, overdue
         FROM venue_counts WHERE venue_id IN",
        ids.iter().copied(),
    );
    lock.push(format!(" ORDER BY venue_id {LOCK_COUNTS}"));
    for row in lock.build().fetch_all(&mut **tx).await? {
        before.insert(row.try_get::<Uuid, _>("venue_id")?, share_from_row(&row)?);
    }
    let mut owners = with_ids(
        "SELECT v.id, v.event_id, COALESCE(vu.path, eu.path) AS anchor FROM venues v
             JOIN events e ON e.id = v.event_id
             LEFT JOIN units vu ON vu.id = v.unit_id LEFT JOIN units eu ON eu.id = e.unit_id
         WHERE v.id IN",
        ids.iter().copied(),
    );
    let mut by_event: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    let mut anchors = BTreeMap::new();
    for row in owners.build().fetch_all(&mut **tx).await? {
        let venue: Uuid = row.try_get("id")?;
        by_event.entry(row.try_get("event_id")?).or_default().push(venue);
        anchors.insert(venue, path_ids(row.try_get("anchor")?));
    }
    let mut moves = Moves::default();
    let mut shares = Vec::new();
    for (event, venues) in &by_event {
        for row in rows_of(tx, *event, Some(venues), at).await? {
            let share = Counts::of_venue(&row);
            let old = before.get(&row.id).copied().unwrap_or_default();
            if share != old {
                moves.add(Some(*event), &anchors[&row.id], share - old);
                shares.push((row.id, share));
            }
        }
    }
    if !shares.is_empty() {
        let mut upsert =
            QueryBuilder::<Db>::new(format!("INSERT INTO venue_counts (venue_id, {}) ", VENUE_COUNTERS.join(", ")));
        upsert.push_values(&shares, |mut values, (id, share)| {
            values.push_bind(*id);
            for value in &share.as_array()[3..] {
                values.push_bind(*value);
            }
        });
        upsert.push(" ON CONFLICT (venue_id) DO UPDATE SET ");
        let mut set = upsert.separated(", ");
        for name in VENUE_COUNTERS {
            set.push(format!("{name} = excluded.{name}"));
        }
        upsert.build().execute(&mut **tx).await?;
    }
    moves.apply(tx).await
}

/// Every venue of an event, recounted (its deadlines moved, or one was added).
pub(super) async fn settle_event(tx: &mut Tx, event_id: Uuid) -> Result<()> {
    let venues: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM venues WHERE event_id = $1").bind(event_id).fetch_all(&mut **tx).await?;
    settle(tx, &venues).await
}

/// A new event: its counters, and one more event for its unit and every unit above.
pub(super) async fn count_event(tx: &mut Tx, event_id: Uuid, unit_id: Option<Uuid>) -> Result<()> {
    sqlx::query("INSERT INTO event_counts (event_id, events) VALUES ($1, 1)").bind(event_id).execute(&mut **tx).await?;
    let path: Option<String> = match unit_id {
        Some(unit) => {
            sqlx::query_scalar("SELECT path FROM units WHERE id = $1").bind(unit).fetch_optional(&mut **tx).await?
        }
        None => None,
    };
    let mut moves = Moves::default();
    moves.add(None, &path_ids(path), Counts { events: 1, ..Counts::default() });
    moves.apply(tx).await
}

/// A new unit at `path` (itself last): its counters, and one more unit for every unit above.
pub(super) async fn count_unit(tx: &mut Tx, unit_id: Uuid, path: &[Uuid]) -> Result<()> {
    sqlx::query("INSERT INTO unit_counts (unit_id) VALUES ($1)").bind(unit_id).execute(&mut **tx).await?;
    let mut moves = Moves::default();
    moves.add(None, path, Counts { units: 1, ..Counts::default() });
    moves.apply(tx).await
}

/// Counts the venues of every deadline that has passed by `at` and was not counted since: a
/// deadline passing makes venues overdue without any write. Returns how many it counted.
pub(super) async fn count_passed_deadlines(store: &Backend, at: DateTime<Utc>) -> Result<usize> {
    let passed: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT id, event_id FROM deadlines WHERE counted_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT 100",
    )
    .bind(at)
    .fetch_all(store.reader())
    .await?;
    for (deadline, event) in &passed {
        let mut tx = store.writer().begin().await?;
        super::changelog::next_seq(&mut tx, *event).await?;
        settle_event(&mut tx, *event).await?;
        sqlx::query("UPDATE deadlines SET counted_at = $2 WHERE id = $1")
            .bind(deadline)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(passed.len())
}

/// Counts everything from scratch, once: the data written before the counters existed.
pub(in super::super) async fn count_once(store: &Backend) -> Result<()> {
    let mut tx = store.writer().begin().await?;
    let counted: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT counted FROM overview_state WHERE id = 1 {LOCK_COUNTS}"
    )))
    .fetch_one(&mut *tx)
    .await?;
    if counted {
        return Ok(());
    }
    for table in ["venue_counts", "event_counts", "unit_counts"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut *tx).await?;
    }
    let units: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, path FROM units ORDER BY path").fetch_all(&mut *tx).await?;
    for (id, path) in &units {
        count_unit(&mut tx, *id, &path_ids(Some(path.clone()))).await?;
    }
    let events: Vec<(Uuid, Option<Uuid>)> =
        sqlx::query_as("SELECT id, unit_id FROM events").fetch_all(&mut *tx).await?;
    for (id, unit) in &events {
        count_event(&mut tx, *id, *unit).await?;
        settle_event(&mut tx, *id).await?;
    }
    sqlx::query("UPDATE deadlines SET counted_at = $1 WHERE due_at <= $1").bind(now()).execute(&mut *tx).await?;
    sqlx::query("UPDATE overview_state SET counted = TRUE WHERE id = 1").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// How many changes a unit's subtree has had: a live overview reads the rest only when it moved.
pub(super) async fn version(store: &Backend, unit_id: Uuid) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar("SELECT version FROM unit_counts WHERE unit_id = $1")
        .bind(unit_id)
        .fetch_optional(store.reader())
        .await?)
}

/// The overview of a unit: its counters, its children's and its own events', from the kept
/// counters alone.
pub(super) async fn overview(store: &Backend, unit_id: Uuid) -> Result<Option<(Overview, i64)>> {
    let mut tx = super::dashboard::snapshot(store).await?;
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT u.id, u.name, u.region, u.parent_id, c.version, {COUNTERS}
         FROM units u JOIN unit_counts c ON c.unit_id = u.id WHERE u.id = $1"
    )))
    .bind(unit_id)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let unit = UnitName {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        region: row.try_get("region")?,
        parent_id: row.try_get("parent_id")?,
    };
    let totals = counts_from_row(&row)?;
    let version: i64 = row.try_get("version")?;
    let children = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT u.id, u.name, u.region, {COUNTERS} FROM units u JOIN unit_counts c ON c.unit_id = u.id
         WHERE u.parent_id = $1 ORDER BY u.id"
    )))
    .bind(unit_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|row| {
        Ok(ChildRow {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            region: row.try_get("region")?,
            totals: counts_from_row(row)?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let events = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT e.id, e.title, e.starts_at, e.timezone, {COUNTERS} FROM events e JOIN event_counts c ON c.event_id = e.id
         WHERE e.unit_id = $1 ORDER BY e.starts_at, e.id"
    )))
    .bind(unit_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|row| {
        Ok(EventRow {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            starts_at: local(row.try_get("starts_at")?, row_timezone(row)?),
            totals: counts_from_row(row)?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    tx.commit().await?;
    Ok(Some((Overview { unit, totals, children, events }, version)))
}
