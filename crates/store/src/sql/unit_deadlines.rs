//! Deadlines a unit sets for the units right below it, and the submissions that meet them.

use chrono::{DateTime, Utc};
use huichang_core::deadline::{DeadlineKind, NewDeadline};
use huichang_core::event::local;
use huichang_core::requires::Requires;
use huichang_core::review::NewReview;
use huichang_core::unit_deadline::{
    NewUnitDeadline, OwedDeadline, SubmissionView, UnitDeadline, UnitDeadlineView, UnitStanding, ZONE,
};
use serde_json::json;
use sqlx::Row;
use sqlx::types::Json;
use uuid::Uuid;

use super::super::Backend;
use super::submissions::{Submitter, checked, mark_reviewed, store_submission, submission_view};
use super::units::audit_unit;
use super::{DbRow, now};
use crate::{Actor, NewFile, NewMessage, Result, StoreError, UnitContact, UnitPlanItem};

const COLUMNS: &str = "id, unit_id, title, due_at, remind_before, requires, created_at";

fn deadline_from_row(row: &DbRow) -> Result<UnitDeadlineView> {
    let Json(offsets): Json<Vec<u64>> = row.try_get("remind_before")?;
    let Json(requires): Json<Requires> = row.try_get("requires")?;
    Ok(UnitDeadlineView {
        id: row.try_get("id")?,
        unit_id: row.try_get("unit_id")?,
        title: row.try_get("title")?,
        due_at: local(row.try_get("due_at")?, ZONE),
        remind_before: offsets
            .into_iter()
            .map(|s| huichang_core::duration::format(std::time::Duration::from_secs(s)))
            .collect(),
        requires,
        created_at: local(row.try_get("created_at")?, ZONE),
        units: Vec::new(),
    })
}

fn stored_from_row(row: &DbRow) -> Result<UnitDeadline> {
    let Json(offsets): Json<Vec<u64>> = row.try_get("remind_before")?;
    let Json(requires): Json<Requires> = row.try_get("requires")?;
    let due_at = row.try_get("due_at")?;
    Ok(UnitDeadline {
        id: row.try_get("id")?,
        unit_id: row.try_get("unit_id")?,
        created_at: row.try_get("created_at")?,
        deadline: NewDeadline {
            kind: DeadlineKind::Deliverable,
            title: row.try_get("title")?,
            due_at,
            reminders_from: due_at,
            remind_before: offsets.into_iter().map(std::time::Duration::from_secs).collect(),
            requires: requires.clone(),
        },
        requires,
    })
}

fn contact_from_row(row: &DbRow) -> Result<UnitContact> {
    Ok(UnitContact {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        contact_email: row.try_get("contact_email")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A submission (`s`) that meets its deadline: it was not returned.
pub(super) const MEETS: &str = "(s.review_status IS NULL OR s.review_status <> 'returned')";

/// The units right below the deadline's unit (`$1`) that have not met the deadline (`$2`).
fn missing() -> String {
    format!(
        "SELECT u.id, u.name, u.contact_email, u.created_at FROM units u
     WHERE u.parent_id = $1 AND NOT EXISTS (SELECT 1 FROM unit_submissions s
         WHERE s.unit_id = u.id AND s.deadline_id = $2 AND s.replaced_at IS NULL AND {MEETS})
     ORDER BY u.id"
    )
}

pub(super) async fn plan_items(
    store: &Backend,
    now: DateTime<Utc>,
    horizon: chrono::Duration,
) -> Result<Vec<UnitPlanItem>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM unit_deadlines WHERE due_at >= $1 ORDER BY id"
    )))
    .bind(now - horizon)
    .fetch_all(store.reader())
    .await?;
    let mut items = Vec::new();
    for row in &rows {
        let deadline = stored_from_row(row)?;
        // Nothing is owed before the first notice's time.
        if deadline.deadline.notices().first().is_none_or(|first| first.at() > now) {
            continue;
        }
        let unit = sqlx::query("SELECT id, name, contact_email, created_at FROM units WHERE id = $1")
            .bind(deadline.unit_id)
            .fetch_one(store.reader())
            .await?;
        let missing = sqlx::query(sqlx::AssertSqlSafe(missing()))
            .bind(deadline.unit_id)
            .bind(deadline.id)
            .fetch_all(store.reader())
            .await?
            .iter()
            .map(contact_from_row)
            .collect::<Result<_>>()?;
        let queued = super::outbox::queued_keys(store, "unit_deadline_id", deadline.id).await?;
        items.push(UnitPlanItem { unit: contact_from_row(&unit)?, deadline, missing, queued });
    }
    Ok(items)
}

pub(super) async fn create_unit_deadline(
    store: &Backend,
    unit_id: Uuid,
    new: &NewUnitDeadline,
    actor: &Actor,
) -> Result<UnitDeadlineView> {
    let mut tx = store.writer().begin().await?;
    let id = Uuid::now_v7();
    let offsets: Vec<u64> = new.deadline.remind_before.iter().map(|o| o.as_secs()).collect();
    sqlx::query(
        "INSERT INTO unit_deadlines (id, unit_id, title, due_at, remind_before, requires, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(unit_id)
    .bind(&new.deadline.title)
    .bind(new.deadline.due_at)
    .bind(Json(offsets))
    .bind(Json(&new.requires))
    .bind(now())
    .execute(&mut *tx)
    .await?;
    let detail = json!({"title": new.deadline.title, "unit_id": unit_id, "requires": new.requires});
    audit_unit(&mut tx, actor, "unit_deadline.created", ("unit_deadline", id), detail).await?;
    // One made already past makes the units below that have not met it overdue now.
    super::overview::settle_children(&mut tx, unit_id).await?;
    tx.commit().await?;
    unit_deadline(store, id).await?.ok_or(StoreError::NotFound)
}

/// The deadline with each unit right below its unit: whether its current submission meets it.
pub(super) async fn unit_deadline(store: &Backend, id: Uuid) -> Result<Option<UnitDeadlineView>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM unit_deadlines WHERE id = $1")))
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    let Some(row) = row else { return Ok(None) };
    let mut view = deadline_from_row(&row)?;
    let standings = sqlx::query(
        "SELECT u.id, u.name, s.submitted_at, s.review_status FROM units u
         LEFT JOIN unit_submissions s ON s.unit_id = u.id AND s.deadline_id = $2 AND s.replaced_at IS NULL
         WHERE u.parent_id = $1 ORDER BY u.id",
    )
    .bind(view.unit_id)
    .bind(id)
    .fetch_all(store.reader())
    .await?;
    let due_at = view.due_at;
    view.units = standings
        .iter()
        .map(|row| {
            let submitted: Option<DateTime<Utc>> = row.try_get("submitted_at")?;
            let returned = row.try_get::<Option<String>, _>("review_status")?.as_deref() == Some("returned");
            Ok(UnitStanding {
                unit_id: row.try_get("id")?,
                name: row.try_get("name")?,
                // A submission is stored only when it keeps the rules.
                met: submitted.is_some() && !returned,
                submitted_at: submitted.map(|at| local(at, ZONE)),
                late: submitted.is_some_and(|at| at > due_at),
                returned,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Some(view))
}

pub(super) async fn unit_deadlines(store: &Backend, unit_id: Uuid) -> Result<Vec<UnitDeadlineView>> {
    let ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM unit_deadlines WHERE unit_id = $1 ORDER BY due_at, id")
        .bind(unit_id)
        .fetch_all(store.reader())
        .await?;
    let mut views = Vec::with_capacity(ids.len());
    for id in ids {
        views.extend(unit_deadline(store, id).await?);
    }
    Ok(views)
}

/// The deadlines of the unit above `unit_id`, soonest first, each with the unit's current submission.
pub(super) async fn owed(store: &Backend, unit_id: Uuid) -> Result<Vec<OwedDeadline>> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT d.id FROM unit_deadlines d JOIN units u ON u.parent_id = d.unit_id WHERE u.id = $1 ORDER BY d.due_at, d.id",
    )
    .bind(unit_id)
    .fetch_all(store.reader())
    .await?;
    let mut owed = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(mut deadline) = unit_deadline(store, id).await? else { continue };
        deadline.units.retain(|u| u.unit_id == unit_id);
        let submission = current_submission(store, id, unit_id).await?;
        owed.push(OwedDeadline { deadline, submission });
    }
    Ok(owed)
}

async fn current_submission(store: &Backend, deadline_id: Uuid, unit_id: Uuid) -> Result<Option<SubmissionView>> {
    let id: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM unit_submissions WHERE deadline_id = $1 AND unit_id = $2 AND replaced_at IS NULL",
    )
    .bind(deadline_id)
    .bind(unit_id)
    .fetch_optional(store.reader())
    .await?;
    match id {
        Some(id) => submission_view(store, Submitter::Unit, id).await,
        None => Ok(None),
    }
}

/// A unit's submission: checked against the deadline's rules, then stored whole, replacing the
/// unit's previous one (kept, marked replaced), in one transaction.
pub(super) async fn submit_unit(
    store: &Backend,
    (deadline, unit_id): (&UnitDeadlineView, Uuid),
    text: &str,
    files: &[NewFile],
    actor: &Actor,
) -> Result<SubmissionView> {
    let checked = checked(&deadline.requires, text, files)?;
    let mut tx = store.writer().begin().await?;
    let (id, at, stored) =
        store_submission(&mut tx, Submitter::Unit, (deadline.id, unit_id), text, (files, &checked)).await?;
    let detail = json!({"deadline_id": deadline.id, "unit_id": unit_id, "files": files.len(), "text_chars": text.chars().count()});
    audit_unit(&mut tx, actor, "unit_submission.submitted", ("unit_submission", id), detail).await?;
    super::overview::settle_units(&mut tx, &[unit_id]).await?;
    tx.commit().await?;
    Ok(SubmissionView {
        id,
        text: text.to_owned(),
        files: stored,
        status: "submitted".into(),
        submitted_at: local(at, ZONE),
        review: None,
    })
}

/// Records the organiser's review of a current submission, queues `letter` (the comment to the
/// unit's contact) with it, and counts the unit as not met again when it is returned.
pub(super) async fn review_submission(
    store: &Backend,
    id: Uuid,
    review: &NewReview,
    letter: Option<&NewMessage>,
    actor: &Actor,
) -> Result<SubmissionView> {
    let mut tx = store.writer().begin().await?;
    let unit = mark_reviewed(&mut tx, Submitter::Unit, id, review, letter).await?;
    let detail = json!({"status": review.status.as_str(), "comment": review.comment, "unit_id": unit});
    audit_unit(&mut tx, actor, "unit_submission.reviewed", ("unit_submission", id), detail).await?;
    super::overview::settle_units(&mut tx, &[unit]).await?;
    tx.commit().await?;
    submission_view(store, Submitter::Unit, id).await?.ok_or(StoreError::NotFound)
}
