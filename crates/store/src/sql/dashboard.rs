//! The organiser's dashboard: every venue's state, read in one snapshot with the `seq` it
//! stands at.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use huichang_core::dashboard::VenueRow;
use huichang_core::deadline::{Deadline, DeadlineKind, Standing};
use huichang_core::event::Event;
use huichang_core::venue::{Approval, VenueKind};
use huichang_core::video::LinkStatus;
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use super::super::{Backend, Db, SNAPSHOT};
use super::deadlines::{DEADLINE_COLUMNS, deadline_from_row};
use super::events::EVENT_COLUMNS;
use super::rows::event_from_row;
use super::{DbRow, Tx, push_ids};
use crate::{DashboardSnapshot, Result};

pub(super) async fn dashboard(
    store: &Backend,
    event_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<DashboardSnapshot>> {
    let mut tx = snapshot(store).await?;
    let Some((event, seq)) = event_and_seq(&mut tx, event_id).await? else { return Ok(None) };
    let venues = rows_of(&mut tx, event_id, None, now).await?;
    let next_due = next_due(&mut tx, event_id, now).await?;
    tx.commit().await?;
    Ok(Some(DashboardSnapshot { event, seq, venues, next_due }))
}

pub(super) async fn venue_rows(
    store: &Backend,
    event_id: Uuid,
    venue_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<VenueRow>> {
    let mut tx = snapshot(store).await?;
    let venues = rows_of(&mut tx, event_id, Some(venue_ids), now).await?;
    tx.commit().await?;
    Ok(venues)
}

/// A read transaction that sees one snapshot of the database throughout.
pub(super) async fn snapshot(store: &Backend) -> Result<Tx> {
    let mut tx = store.reader().begin().await?;
    if let Some(snapshot) = SNAPSHOT {
        sqlx::query(snapshot).execute(&mut *tx).await?;
    }
    Ok(tx)
}

/// The rows of the event's venues (`only` these, when given), in venue order.
pub(super) async fn rows_of(
    tx: &mut Tx,
    event_id: Uuid,
    only: Option<&[Uuid]>,
    now: DateTime<Utc>,
) -> Result<Vec<VenueRow>> {
    let rows = venue_facts(tx, event_id, only).await?;
    let deadlines = due_deadlines(tx, event_id, now).await?;
    let done = delivered(tx, event_id, only).await?;
    rows.iter().map(|row| venue_row(row, &deadlines, &done)).collect()
}

/// When the first deadline of the event still ahead of `now` falls due.
async fn next_due(tx: &mut Tx, event_id: Uuid, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar("SELECT MIN(due_at) FROM deadlines WHERE event_id = $1 AND due_at > $2")
        .bind(event_id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?)
}

/// The event and the `seq` of its last change.
async fn event_and_seq(tx: &mut Tx, event_id: Uuid) -> Result<Option<(Event, i64)>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {EVENT_COLUMNS}, last_seq FROM events WHERE id = $1")))
        .bind(event_id)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| Ok((event_from_row(&row)?, row.try_get("last_seq")?))).transpose()
}

/// What the dashboard shows of each venue (`only` these, when given), counted in the database,
/// in venue order.
async fn venue_facts(tx: &mut Tx, event_id: Uuid, only: Option<&[Uuid]>) -> Result<Vec<DbRow>> {
    let mut query = QueryBuilder::<Db>::new(
        "SELECT v.id, v.name, v.kind, v.region, v.approval, v.video_link,
             (SELECT c.result FROM video_checks c WHERE c.venue_id = v.id ORDER BY c.id DESC LIMIT 1) AS video_check,
             (SELECT COUNT(*) FROM attendees a WHERE a.venue_id = v.id AND a.status = 'registered' AND a.removed_at IS NULL) AS registered,
             (SELECT COUNT(*) FROM attendees a WHERE a.venue_id = v.id AND a.status = 'registered' AND a.removed_at IS NULL
                  AND a.participation = 'online') AS online,
             (SELECT CAST(COALESCE(SUM(r.capacity), 0) AS BIGINT) FROM rooms r WHERE r.venue_id = v.id) AS capacity,
             (SELECT CAST(COALESCE(SUM(r.occupancy), 0) AS BIGINT) FROM rooms r WHERE r.venue_id = v.id) AS checked_in,
             g.venue_id IS NOT NULL AS technician, COALESCE(g.late, FALSE) AS late,
             COALESCE(g.review_status = 'returned', FALSE) AS list_returned,
             (SELECT COUNT(*) FROM venue_submissions s WHERE s.venue_id = v.id AND s.replaced_at IS NULL
                  AND s.review_status = 'returned') AS materials_returned,
             EXISTS (SELECT 1 FROM video_checks c WHERE c.venue_id = v.id AND c.result = 'passed') AS video_passed_once, ",
    );
    query.push(format!(
        "(SELECT COUNT(*) FROM delegations d WHERE d.venue_id = v.id AND {}) AS short_delegations
         FROM venues v LEFT JOIN registrations g ON g.venue_id = v.id WHERE v.event_id = ",
        super::delegations::short()
    ));
    query.push_bind(event_id);
    if let Some(ids) = only {
        query.push(" AND v.id IN ");
        push_ids(&mut query, ids.iter().copied());
    }
    query.push(" ORDER BY v.id");
    Ok(query.build().fetch_all(&mut **tx).await?)
}

/// The deadlines of the event that are due by `now`.
async fn due_deadlines(tx: &mut Tx, event_id: Uuid, now: DateTime<Utc>) -> Result<Vec<Deadline>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE event_id = $1 AND due_at <= $2 ORDER BY due_at, id"
    )))
    .bind(event_id)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(deadline_from_row)
    .collect()
}

/// The deliverables met, a current submission not returned: (deadline, venue).
async fn delivered(tx: &mut Tx, event_id: Uuid, only: Option<&[Uuid]>) -> Result<HashSet<(Uuid, Uuid)>> {
    let mut query = QueryBuilder::<Db>::new(
        "SELECT d.deadline_id, d.venue_id FROM venue_submissions d JOIN deadlines l ON l.id = d.deadline_id
         WHERE d.replaced_at IS NULL AND (d.review_status IS NULL OR d.review_status <> 'returned') AND l.event_id = ",
    );
    query.push_bind(event_id);
    if let Some(ids) = only {
        query.push(" AND d.venue_id IN ");
        push_ids(&mut query, ids.iter().copied());
    }
    query
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("deadline_id")?, r.try_get("venue_id")?)))
        .collect()
}

/// One venue's row, with the due deadlines it has not met.
fn venue_row(row: &DbRow, deadlines: &[Deadline], done: &HashSet<(Uuid, Uuid)>) -> Result<VenueRow> {
    let id: Uuid = row.try_get("id")?;
    let kind = VenueKind::parse(row.try_get("kind")?).unwrap_or(VenueKind::Branch);
    let approval = Approval::parse(row.try_get("approval")?).unwrap_or(Approval::Pending);
    let technician: bool = row.try_get("technician")?;
    // A returned list counts as not sent until a new one comes.
    let list_returned: bool = row.try_get("list_returned")?;
    let standing = Standing {
        kind,
        approval,
        registered: technician && !list_returned,
        video_passed: row.try_get("video_passed_once")?,
    };
    let overdue =
        deadlines.iter().filter(|d| standing.owes(d.deadline.kind, done.contains(&(d.id, id)))).map(|d| d.id).collect();
    // A hall's delegations owe their lists by the registration deadline, whatever kind of venue
    // the hall is, unless it was rejected.
    let registration_passed = deadlines.iter().any(|d| d.deadline.kind == DeadlineKind::Registration);
    let overdue_delegations = if registration_passed && approval != Approval::Rejected {
        row.try_get::<i64, _>("short_delegations")?
    } else {
        0
    };
    Ok(VenueRow {
        id,
        name: row.try_get("name")?,
        kind,
        region: row.try_get("region")?,
        approval,
        registered: row.try_get("registered")?,
        online: row.try_get("online")?,
        capacity: row.try_get("capacity")?,
        checked_in: row.try_get("checked_in")?,
        technician,
        video_check: row.try_get::<Option<String>, _>("video_check")?.unwrap_or_else(|| "none".into()),
        video_link: LinkStatus::parse(row.try_get("video_link")?).unwrap_or(LinkStatus::Unknown),
        late: row.try_get("late")?,
        overdue,
        overdue_delegations,
        list_returned,
        materials_returned: row.try_get("materials_returned")?,
    })
}
