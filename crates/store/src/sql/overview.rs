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

use super::super::{Backend, Db, LOCK_COUNTS, LOCK_VENUE_COUNTS};
use super::dashboard::rows_of;
use super::units::ids;
use super::{DbRow, Tx, now, push_ids, row_timezone, with_ids};
use crate::Result;

/// What `venue_counts` keeps of a venue's share: all but the people inside, which only the door
/// moves ([`add_checked_in`]).
const VENUE_COUNTERS: [&str; 7] =
    ["venues", "approved", "registered", "capacity", "video_passed", "video_live", "overdue"];
const COUNTERS: &str =
    "units, events, venues, approved, registered, capacity, checked_in, video_passed, video_live, overdue";

fn counts_from_row(row: &DbRow) -> Result<Counts> {
    let mut counts = [0; 10];
    for (count, name) in counts.iter_mut().zip(COUNTERS.split(", ")) {
        *count = row.try_get(name)?;
    }
    Ok(Counts::from_array(counts))
}

/// A venue's share as `venue_counts` keeps it: all zero until it was first counted.
fn share_from_row(row: &DbRow) -> Result<Counts> {
    let mut values = [0; 10];
    for name in VENUE_COUNTERS {
        values[counter(name)] = row.try_get(name)?;
    }
    Ok(Counts::from_array(values))
}

/// Where a counter stands in [`Counts::as_array`] and [`COUNTERS`].
fn counter(name: &str) -> usize {
    COUNTERS.split(", ").position(|n| n == name).unwrap_or_default()
}

/// A venue's share in the order of [`VENUE_COUNTERS`].
fn venue_values(share: &Counts) -> impl Iterator<Item = i64> {
    let all = share.as_array();
    VENUE_COUNTERS.into_iter().map(move |name| all[counter(name)])
}

/// A venue with its event and the path of the unit it counts for (`anchor`): the unit that runs
/// it, else its event's.
const VENUE_ANCHOR: &str = "SELECT v.id, v.event_id, COALESCE(vu.path, eu.path) AS anchor";
const VENUE_ANCHOR_FROM: &str = "FROM venues v JOIN events e ON e.id = v.event_id
     LEFT JOIN units vu ON vu.id = v.unit_id LEFT JOIN units eu ON eu.id = e.unit_id";

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

    /// Adds the differences, events then units, each in id order: one statement per table, its
    /// rows taken in the order they are listed. Every row exists (made with its event or unit).
    async fn apply(self, tx: &mut Tx) -> Result<()> {
        for (table, key, rows, version) in [
            ("event_counts", "event_id", &self.events, ""),
            ("unit_counts", "unit_id", &self.units, ", version = unit_counts.version + 1"),
        ] {
            if rows.is_empty() {
                continue;
            }
            let mut upsert = QueryBuilder::<Db>::new(format!("INSERT INTO {table} ({key}, {COUNTERS}) "));
            upsert.push_values(rows, |mut values, (id, by)| {
                values.push_bind(*id);
                for value in by.as_array() {
                    values.push_bind(value);
                }
            });
            upsert.push(format!(" ON CONFLICT ({key}) DO UPDATE SET "));
            let mut set = upsert.separated(", ");
            for name in COUNTERS.split(", ") {
                set.push(format!("{name} = {table}.{name} + excluded.{name}"));
            }
            upsert.push(version);
            upsert.build().execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// The event of each of `venues` and the path of the unit it counts for, with the venues'
/// `venue_counts` rows locked in id order.
async fn lock_venues(tx: &mut Tx, venues: impl IntoIterator<Item = Uuid>) -> Result<Vec<DbRow>> {
    let mut lock = with_ids(
        &format!(
            "{VENUE_ANCHOR}, c.{} {VENUE_ANCHOR_FROM} JOIN venue_counts c ON c.venue_id = v.id WHERE v.id IN",
            VENUE_COUNTERS.join(", c.")
        ),
        venues,
    );
    lock.push(format!(" ORDER BY v.id {LOCK_VENUE_COUNTS}"));
    Ok(lock.build().fetch_all(&mut **tx).await?)
}

/// The event of a venue and the path of the unit it counts for. Neither ever changes (a venue
/// keeps its event and its unit, an event its unit, a unit its place in the tree), so they are
/// kept once read, for the door: a check-in then moves the counters without reading anything.
static ANCHORS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<Uuid, Anchor>>> =
    std::sync::LazyLock::new(Default::default);

/// A venue's event, and the path of the unit it counts for.
type Anchor = (Uuid, Vec<Uuid>);

async fn anchors(tx: &mut Tx, venues: &[Uuid]) -> Result<Vec<Option<Anchor>>> {
    let lock = || ANCHORS.lock().unwrap_or_else(|e| e.into_inner());
    let missing: Vec<Uuid> = {
        let known = lock();
        venues.iter().filter(|v| !known.contains_key(v)).copied().collect()
    };
    if !missing.is_empty() {
        let read = with_ids(&format!("{VENUE_ANCHOR} {VENUE_ANCHOR_FROM} WHERE v.id IN"), missing)
            .build()
            .fetch_all(&mut **tx)
            .await?;
        let mut known = lock();
        if known.len() > 500_000 {
            known.clear();
        }
        for row in read {
            known.insert(row.try_get("id")?, (row.try_get("event_id")?, ids(row.try_get("anchor")?)));
        }
    }
    let known = lock();
    Ok(venues.iter().map(|v| known.get(v).cloned()).collect())
}

/// People checked in (`by` above 0) or out (below) at venues. Nothing but a check-in or a
/// check-out moves the people inside a room, so `checked_in` is kept by these differences alone
/// (a recount leaves it out): the door adds them to the events and units without a recount, a
/// lock of the venues' rows or a read.
pub(super) async fn add_checked_in(tx: &mut Tx, venues: &[(Uuid, i64)]) -> Result<()> {
    let mut by: BTreeMap<Uuid, i64> = BTreeMap::new();
    for &(venue, n) in venues {
        *by.entry(venue).or_default() += n;
    }
    by.retain(|_, n| *n != 0);
    let ids: Vec<Uuid> = by.keys().copied().collect();
    let mut moves = Moves::default();
    for (found, n) in anchors(tx, &ids).await?.into_iter().zip(by.values()) {
        if let Some((event, anchor)) = found {
            moves.add(Some(event), &anchor, Counts { checked_in: *n, ..Counts::default() });
        }
    }
    moves.apply(tx).await
}

/// Recounts `venues` (of any events) in the caller's transaction and moves the counters by
/// what changed. Call it after the change's last write to them.
pub(super) async fn settle(tx: &mut Tx, venues: &[Uuid]) -> Result<()> {
    let mut venues = venues.to_vec();
    venues.sort();
    venues.dedup();
    if venues.is_empty() {
        return Ok(());
    }
    let at = now();
    // Locked first, then read again: a change committed meanwhile is both in what the venue
    // last added and in its recount below.
    let mut before = BTreeMap::new();
    let mut by_event: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    let mut anchors = BTreeMap::new();
    for row in lock_venues(tx, venues).await? {
        let venue: Uuid = row.try_get("id")?;
        before.insert(venue, share_from_row(&row)?);
        by_event.entry(row.try_get("event_id")?).or_default().push(venue);
        anchors.insert(venue, ids(row.try_get("anchor")?));
    }
    let mut moves = Moves::default();
    let mut shares = Vec::new();
    for (event, venues) in &by_event {
        for row in rows_of(tx, *event, Some(venues), at).await? {
            // The people inside are kept by `add_checked_in`, never recounted.
            let share = Counts { checked_in: 0, ..Counts::of_venue(&row) };
            let old = before[&row.id];
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
            for value in venue_values(share) {
                values.push_bind(value);
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

/// A new venue: counted from nothing by the [`settle`] that follows.
pub(super) async fn count_venue(tx: &mut Tx, venue_id: Uuid) -> Result<()> {
    sqlx::query("INSERT INTO venue_counts (venue_id) VALUES ($1)").bind(venue_id).execute(&mut **tx).await?;
    settle(tx, &[venue_id]).await
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
    moves.add(None, &ids(path), Counts { events: 1, ..Counts::default() });
    moves.apply(tx).await
}

/// A new unit at `path` (itself last): its counters, and one more unit for every unit above.
/// It owes none of the deadlines already passed when it was made, so it starts not overdue.
pub(super) async fn count_unit(tx: &mut Tx, unit_id: Uuid, path: &[Uuid]) -> Result<()> {
    sqlx::query("INSERT INTO unit_standing (unit_id) VALUES ($1)").bind(unit_id).execute(&mut **tx).await?;
    sqlx::query("INSERT INTO unit_counts (unit_id) VALUES ($1)").bind(unit_id).execute(&mut **tx).await?;
    let mut moves = Moves::default();
    moves.add(None, path, Counts { units: 1, ..Counts::default() });
    moves.apply(tx).await
}

/// Whether each unit (`u`) has missed a deadline of the unit above it at `$1`: one due since
/// the unit was made, passed, with no current submission from it that was not returned.
fn unit_missed() -> String {
    format!(
        "EXISTS (SELECT 1 FROM unit_deadlines d WHERE d.unit_id = u.parent_id
             AND d.due_at <= $1 AND d.due_at > u.created_at
             AND NOT EXISTS (SELECT 1 FROM unit_submissions s
                 WHERE s.deadline_id = d.id AND s.unit_id = u.id AND s.replaced_at IS NULL AND {}))",
        super::unit_deadlines::MEETS
    )
}

/// Recounts whether each of `units` is overdue on its parent's deadlines, in the caller's
/// transaction, and moves the units above by what changed. Call it after the change's last
/// write (a submission, a deadline made or passed).
pub(super) async fn settle_units(tx: &mut Tx, units: &[Uuid]) -> Result<()> {
    let mut units = units.to_vec();
    units.sort();
    units.dedup();
    if units.is_empty() {
        return Ok(());
    }
    // Locked first, then read again, as for venues.
    let mut lock =
        with_ids("SELECT c.unit_id, c.overdue FROM unit_standing c WHERE c.unit_id IN", units.iter().copied());
    lock.push(format!(" ORDER BY c.unit_id {LOCK_COUNTS}"));
    let before: BTreeMap<Uuid, i64> = lock
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("unit_id")?, row.try_get("overdue")?)))
        .collect::<Result<_>>()?;
    let missed = unit_missed();
    let (missed_before, missed_after) = missed.split_once("$1").unwrap_or_default();
    let mut read = QueryBuilder::<Db>::new(format!("SELECT u.id, u.path, {missed_before}"));
    read.push_bind(now());
    read.push(format!("{missed_after} AS missed FROM units u WHERE u.id IN "));
    push_ids(&mut read, units.iter().copied());
    let mut moves = Moves::default();
    let mut changed = Vec::new();
    for row in read.build().fetch_all(&mut **tx).await? {
        let unit: Uuid = row.try_get("id")?;
        let overdue = i64::from(row.try_get::<bool, _>("missed")?);
        let old = before.get(&unit).copied().unwrap_or_default();
        if overdue != old {
            moves.add(None, &ids(row.try_get("path")?), Counts { overdue: overdue - old, ..Counts::default() });
            changed.push((unit, overdue));
        }
    }
    for (unit, overdue) in changed {
        sqlx::query("UPDATE unit_standing SET overdue = $2 WHERE unit_id = $1")
            .bind(unit)
            .bind(overdue)
            .execute(&mut **tx)
            .await?;
    }
    moves.apply(tx).await
}

/// Every unit right below `unit_id`, recounted (one of its deadlines was made or passed).
pub(super) async fn settle_children(tx: &mut Tx, unit_id: Uuid) -> Result<()> {
    let children: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM units WHERE parent_id = $1").bind(unit_id).fetch_all(&mut **tx).await?;
    settle_units(tx, &children).await
}

/// Counts the venues (units) of every deadline (unit deadline) that has passed by `at` and was
/// not counted since: a deadline passing makes them overdue without any write. Returns how many
/// it counted.
pub(super) async fn count_passed_deadlines(store: &Backend, at: DateTime<Utc>) -> Result<usize> {
    let mut counted = 0;
    for (table, owner) in [("deadlines", "event_id"), ("unit_deadlines", "unit_id")] {
        let passed: Vec<(Uuid, Uuid)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, {owner} FROM {table} WHERE counted_at IS NULL AND due_at <= $1 ORDER BY due_at LIMIT 100"
        )))
        .bind(at)
        .fetch_all(store.reader())
        .await?;
        for (deadline, of) in &passed {
            let mut tx = store.writer().begin().await?;
            if table == "deadlines" {
                settle_event(&mut tx, *of).await?;
            } else {
                settle_children(&mut tx, *of).await?;
            }
            sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {table} SET counted_at = $2 WHERE id = $1")))
                .bind(deadline)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        counted += passed.len();
    }
    Ok(counted)
}

/// Counts everything from scratch, once: the data written before the counters existed. The sums
/// are made here and each row written once, so that the root's row is not rewritten per venue.
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
    for table in ["venue_counts", "event_counts", "unit_counts", "unit_standing"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}"))).execute(&mut *tx).await?;
    }
    let at = now();
    let mut units: BTreeMap<Uuid, Counts> = BTreeMap::new();
    let paths: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, path FROM units").fetch_all(&mut *tx).await?;
    for (id, _) in &paths {
        units.insert(*id, Counts::default());
    }
    let mut add = |path: &[Uuid], by: Counts| {
        for unit in path {
            if let Some(counts) = units.get_mut(unit) {
                *counts += by;
            }
        }
    };
    for (_, path) in &paths {
        add(&ids(Some(path.clone())), Counts { units: 1, ..Counts::default() });
    }
    let standing: Vec<(Uuid, String, bool)> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT u.id, u.path, {} AS missed FROM units u", unit_missed())))
            .bind(at)
            .fetch_all(&mut *tx)
            .await?;
    let mut unit_standing = Vec::with_capacity(standing.len());
    for (unit, path, missed) in standing {
        let overdue = i64::from(missed);
        add(&ids(Some(path)), Counts { overdue, ..Counts::default() });
        unit_standing.push((unit, Counts { overdue, ..Counts::default() }));
    }
    let anchors: BTreeMap<Uuid, Option<String>> = sqlx::query_as::<_, (Uuid, Uuid, Option<String>)>(
        sqlx::AssertSqlSafe(format!("{VENUE_ANCHOR} {VENUE_ANCHOR_FROM}")),
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(venue, _, anchor)| (venue, anchor))
    .collect();
    let events: Vec<(Uuid, Option<String>)> =
        sqlx::query_as("SELECT e.id, u.path FROM events e LEFT JOIN units u ON u.id = e.unit_id")
            .fetch_all(&mut *tx)
            .await?;
    let mut event_counts = Vec::with_capacity(events.len());
    let mut venue_counts = Vec::new();
    for (event, path) in events {
        let mut counts = Counts { events: 1, ..Counts::default() };
        add(&ids(path), Counts { events: 1, ..Counts::default() });
        for row in rows_of(&mut tx, event, None, at).await? {
            let share = Counts::of_venue(&row);
            counts += share;
            add(&ids(anchors.get(&row.id).cloned().flatten()), share);
            venue_counts.push((row.id, share));
        }
        event_counts.push((event, counts));
    }
    let units: Vec<(Uuid, Counts)> = units.into_iter().collect();
    let all: Vec<&str> = COUNTERS.split(", ").collect();
    for (table, key, names, rows) in [
        ("unit_counts", "unit_id", &all[..], &units),
        ("event_counts", "event_id", &all[..], &event_counts),
        ("venue_counts", "venue_id", &VENUE_COUNTERS[..], &venue_counts),
        ("unit_standing", "unit_id", &["overdue"][..], &unit_standing),
    ] {
        for chunk in rows.chunks(1000) {
            let mut insert = QueryBuilder::<Db>::new(format!("INSERT INTO {table} ({key}, {}) ", names.join(", ")));
            insert.push_values(chunk, |mut values, (id, counts)| {
                values.push_bind(*id);
                let counts = counts.as_array();
                for name in names {
                    values.push_bind(counts[counter(name)]);
                }
            });
            insert.build().execute(&mut *tx).await?;
        }
    }
    sqlx::query("UPDATE deadlines SET counted_at = $1 WHERE due_at <= $1").bind(at).execute(&mut *tx).await?;
    sqlx::query("UPDATE unit_deadlines SET counted_at = $1 WHERE due_at <= $1").bind(at).execute(&mut *tx).await?;
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
