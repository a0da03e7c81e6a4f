//! Deadlines, the deliverables that meet them, and the plan of reminders they call for.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huichang_core::deadline::{Deadline, DeadlineKind, NewDeadline, Standing};
use huichang_core::venue::{Approval, VenueKind};
use serde_json::json;
use sqlx::Row;
use sqlx::types::Json;
use uuid::Uuid;

use super::super::Backend;
use super::changelog::{Record, next_seq, record};
use super::{DbRow, Tx, events, now};
use crate::{Actor, PlanItem, Result, VenueContact};

pub(super) const DEADLINE_COLUMNS: &str =
    "id, event_id, kind, title, due_at, reminders_from, remind_before, requires, created_at";

pub(super) async fn event_timezone(tx: &mut Tx, event_id: Uuid) -> Result<Tz> {
    let name: String =
        sqlx::query_scalar("SELECT timezone FROM events WHERE id = $1").bind(event_id).fetch_one(&mut **tx).await?;
    Ok(name.parse().unwrap_or(Tz::UTC))
}

pub(super) fn deadline_from_row(row: &DbRow) -> Result<Deadline> {
    let Json(offsets): Json<Vec<u64>> = row.try_get("remind_before")?;
    Ok(Deadline {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        created_at: row.try_get("created_at")?,
        deadline: NewDeadline {
            kind: DeadlineKind::parse(row.try_get("kind")?).unwrap_or(DeadlineKind::Deliverable),
            title: row.try_get("title")?,
            due_at: row.try_get("due_at")?,
            reminders_from: row.try_get("reminders_from")?,
            remind_before: offsets.into_iter().map(std::time::Duration::from_secs).collect(),
            requires: row.try_get::<Json<huichang_core::requires::Requires>, _>("requires")?.0,
        },
    })
}

pub(super) async fn insert_deadline(
    tx: &mut Tx,
    event_id: Uuid,
    new: &NewDeadline,
    created_at: DateTime<Utc>,
) -> Result<Deadline> {
    let deadline = Deadline { id: Uuid::now_v7(), event_id, created_at, deadline: new.clone() };
    let offsets: Vec<u64> = new.remind_before.iter().map(|o| o.as_secs()).collect();
    sqlx::query(
        "INSERT INTO deadlines (id, event_id, kind, title, due_at, reminders_from, remind_before, created_at, requires)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(deadline.id)
    .bind(event_id)
    .bind(new.kind.as_str())
    .bind(&new.title)
    .bind(new.due_at)
    .bind(new.reminders_from)
    .bind(Json(offsets))
    .bind(created_at)
    .bind(Json(&new.requires))
    .execute(&mut **tx)
    .await?;
    Ok(deadline)
}

/// Each venue of the event (`$1`) with its contact and what it has done towards the deadline
/// (`$2`), for `Standing::owes` to say who has not met it.
const STANDINGS: &str = "SELECT v.id, v.name, v.contact_email, v.created_at, v.kind, v.approval,
         EXISTS (SELECT 1 FROM registrations r WHERE r.venue_id = v.id
             AND (r.review_status IS NULL OR r.review_status <> 'returned')) AS registered,
         EXISTS (SELECT 1 FROM video_checks c WHERE c.venue_id = v.id AND c.result = 'passed') AS video_passed,
         EXISTS (SELECT 1 FROM venue_submissions d WHERE d.venue_id = v.id AND d.deadline_id = $2
             AND d.replaced_at IS NULL AND (d.review_status IS NULL OR d.review_status <> 'returned')) AS delivered
     FROM venues v WHERE v.event_id = $1 ORDER BY v.id";

/// The venues that have not met `deadline`, in venue order.
async fn missing(store: &Backend, deadline: &Deadline) -> Result<Vec<VenueContact>> {
    let rows = sqlx::query(STANDINGS).bind(deadline.event_id).bind(deadline.id).fetch_all(store.reader()).await?;
    let mut missing = Vec::new();
    for row in &rows {
        let standing = Standing {
            kind: VenueKind::parse(row.try_get("kind")?).unwrap_or(VenueKind::Branch),
            approval: Approval::parse(row.try_get("approval")?).unwrap_or(Approval::Pending),
            registered: row.try_get("registered")?,
            video_passed: row.try_get("video_passed")?,
        };
        if standing.owes(deadline.deadline.kind, row.try_get("delivered")?) {
            missing.push(VenueContact {
                id: row.try_get("id")?,
                delegation: None,
                name: row.try_get("name")?,
                contact_email: row.try_get("contact_email")?,
                created_at: row.try_get("created_at")?,
            });
        }
    }
    if deadline.deadline.kind == DeadlineKind::Registration {
        missing.extend(short_delegations(store, deadline.event_id).await?);
    }
    Ok(missing)
}

/// The delegations of the event's halls (not rejected ones) that have sent no list, or fewer
/// people than their minimum: each owes the registration deadline on its own.
async fn short_delegations(store: &Backend, event_id: Uuid) -> Result<Vec<VenueContact>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT d.id, d.venue_id, d.name, d.contact_email, d.created_at FROM delegations d JOIN venues v ON v.id = d.venue_id
         WHERE v.event_id = $1 AND v.approval <> 'rejected' AND {}
         ORDER BY d.id",
        super::delegations::short()
    )))
    .bind(event_id)
    .fetch_all(store.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(VenueContact {
                id: row.try_get("venue_id")?,
                delegation: Some(row.try_get("id")?),
                name: row.try_get("name")?,
                contact_email: row.try_get("contact_email")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}

/// The event's deadlines were added or moved: its venues are recounted now, and a deadline
/// still ahead is counted again by the sweeper once it passes.
pub(super) async fn recount_deadlines(tx: &mut Tx, event_id: Uuid) -> Result<()> {
    let at = now();
    sqlx::query("UPDATE deadlines SET counted_at = CASE WHEN due_at <= $2 THEN $2 ELSE NULL END WHERE event_id = $1")
        .bind(event_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    super::overview::settle_event(tx, event_id).await
}

pub(super) async fn create_deadline(
    store: &Backend,
    event_id: Uuid,
    new: &NewDeadline,
    actor: &Actor,
) -> Result<Deadline> {
    let mut tx = store.writer().begin().await?;
    let seq = next_seq(&mut tx, event_id).await?;
    let deadline = insert_deadline(&mut tx, event_id, new, now()).await?;
    let detail = json!({"kind": new.kind.as_str(), "title": new.title, "due_at": new.due_at});
    record(&mut tx, actor, Record::new((event_id, seq), None, "deadline.created", ("deadline", deadline.id), detail))
        .await?;
    recount_deadlines(&mut tx, event_id).await?;
    tx.commit().await?;
    Ok(deadline)
}

pub(super) async fn deadlines(store: &Backend, event_id: Uuid) -> Result<Vec<Deadline>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE event_id = $1 ORDER BY due_at, id"
    )))
    .bind(event_id)
    .fetch_all(store.reader())
    .await?
    .iter()
    .map(deadline_from_row)
    .collect()
}

pub(super) async fn deadline(store: &Backend, id: Uuid) -> Result<Option<Deadline>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE id = $1")))
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    row.as_ref().map(deadline_from_row).transpose()
}

pub(super) async fn plan_items(
    store: &Backend,
    now: DateTime<Utc>,
    horizon: chrono::Duration,
) -> Result<Vec<PlanItem>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE due_at >= $1 ORDER BY id"
    )))
    .bind(now - horizon)
    .fetch_all(store.reader())
    .await?;
    let mut items = Vec::new();
    for row in &rows {
        let deadline = deadline_from_row(row)?;
        // Nothing is owed before the first notice's time.
        if deadline.notices().first().is_none_or(|first| first.at() > now) {
            continue;
        }
        let Some(event) = events::event(store, deadline.event_id).await? else { continue };
        let missing = missing(store, &deadline).await?;
        let queued = super::outbox::queued_keys(store, "deadline_id", deadline.id).await?;
        items.push(PlanItem { event, deadline, missing, queued });
    }
    Ok(items)
}
