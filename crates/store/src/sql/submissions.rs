//! Submissions of a text and files: a unit's towards a deadline of the unit above, a venue's
//! towards a deliverable of its event. Both keep their files in blobs, replace the previous one,
//! and are reviewed the same way; this module holds what they share and the venue's side.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huichang_core::deadline::Deadline;
use huichang_core::event::local;
use huichang_core::requires::{FileKind, Requires, SubmittedFile};
use huichang_core::review::{NewReview, Review, ReviewStatus};
use huichang_core::unit_deadline::{SubmissionFile, SubmissionView, ZONE};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use super::super::Backend;
use super::changelog::{Record, next_seq, record};
use super::venues::event_of_venue;
use super::{DbRow, Tx, now};
use crate::{
    Actor, BundledSubmission, DeliverableView, NewFile, NewMessage, Result, StoreError, StoredFile, SubmissionRef,
};

/// Whose submission: the tables that hold it and its files.
#[derive(Debug, Clone, Copy)]
pub(super) enum Submitter {
    Unit,
    Venue,
}

impl Submitter {
    /// The column of a submission that names who sent it.
    fn sender(self) -> &'static str {
        match self {
            Submitter::Unit => "unit_id",
            Submitter::Venue => "venue_id",
        }
    }

    fn submissions(self) -> &'static str {
        match self {
            Submitter::Unit => "unit_submissions",
            Submitter::Venue => "venue_submissions",
        }
    }

    fn files(self) -> &'static str {
        match self {
            Submitter::Unit => "submission_files",
            Submitter::Venue => "venue_submission_files",
        }
    }

    /// The time zone its times are told in: China's for units, the event's for venues.
    fn zone_sql(self) -> &'static str {
        match self {
            Submitter::Unit => "SELECT NULL AS timezone",
            Submitter::Venue => {
                "SELECT e.timezone FROM venue_submissions s JOIN venues v ON v.id = s.venue_id
                 JOIN events e ON e.id = v.event_id WHERE s.id = $1"
            }
        }
    }

    /// A submission file with its blob and whoever sent it, as [`Submitter::stored_file`] reads it.
    fn file_sql(self) -> &'static str {
        match self {
            Submitter::Unit => {
                "SELECT f.id, f.name, f.content_type, f.size, f.blob_id, u.path FROM submission_files f
                 JOIN unit_submissions s ON s.id = f.submission_id JOIN units u ON u.id = s.unit_id"
            }
            Submitter::Venue => {
                "SELECT f.id, f.name, f.content_type, f.size, f.blob_id, s.venue_id, v.event_id FROM venue_submission_files f
                 JOIN venue_submissions s ON s.id = f.submission_id JOIN venues v ON v.id = s.venue_id"
            }
        }
    }

    fn stored_file(self, row: &DbRow) -> Result<StoredFile> {
        let owner = match self {
            Submitter::Unit => crate::FileOwner::Unit(super::units::ids(row.try_get("path")?)),
            Submitter::Venue => {
                crate::FileOwner::Venue { event_id: row.try_get("event_id")?, venue_id: row.try_get("venue_id")? }
            }
        };
        Ok(StoredFile {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            content_type: row.try_get("content_type")?,
            size: row.try_get("size")?,
            blob_id: row.try_get("blob_id")?,
            owner,
        })
    }
}

/// Stores a submission the caller has [`checked`], replacing its sender's current one for the
/// deadline (kept, marked replaced), with its files in order, photos captioned. Only a blob
/// written to its end, and named by nothing else, becomes one of its files. Answers its id, when
/// it was sent and its files.
pub(super) async fn store_submission(
    tx: &mut Tx,
    submitter: Submitter,
    (deadline_id, sent_by): (Uuid, Uuid),
    text: &str,
    (files, checked): (&[NewFile], &[SubmittedFile]),
) -> Result<(Uuid, DateTime<Utc>, Vec<SubmissionFile>)> {
    let blobs: Vec<Uuid> = files.iter().map(|f| f.blob_id).collect();
    if !super::files::name_blobs(tx, &blobs).await? {
        return Err(StoreError::NotFound);
    }
    let (table, sender) = (submitter.submissions(), submitter.sender());
    let at = now();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {table} SET replaced_at = $3 WHERE deadline_id = $1 AND {sender} = $2 AND replaced_at IS NULL"
    )))
    .bind(deadline_id)
    .bind(sent_by)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    let id = Uuid::now_v7();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (id, deadline_id, {sender}, text, submitted_at) VALUES ($1, $2, $3, $4, $5)"
    )))
    .bind(id)
    .bind(deadline_id)
    .bind(sent_by)
    .bind(text)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    let mut stored = Vec::with_capacity(files.len());
    for (position, (file, seen)) in files.iter().zip(checked).enumerate() {
        let file_id = Uuid::now_v7();
        let caption = (seen.kind == FileKind::Photo).then(|| seen.caption().to_owned());
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {} (id, submission_id, position, name, content_type, size, caption, blob_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            submitter.files()
        )))
        .bind(file_id)
        .bind(id)
        .bind(position as i64)
        .bind(&file.name)
        .bind(&file.content_type)
        .bind(file.size)
        .bind(&caption)
        .bind(file.blob_id)
        .execute(&mut **tx)
        .await?;
        stored.push(SubmissionFile {
            id: file_id,
            name: file.name.clone(),
            size: file.size,
            content_type: file.content_type.clone(),
            caption,
        });
    }
    Ok((id, at, stored))
}

/// A submission with its files and its review.
pub(super) async fn submission_view(store: &Backend, submitter: Submitter, id: Uuid) -> Result<Option<SubmissionView>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, text, submitted_at, review_status, review_comment, reviewed_at FROM {} WHERE id = $1",
        submitter.submissions()
    )))
    .bind(id)
    .fetch_optional(store.reader())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let zone: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(submitter.zone_sql()))
        .bind(id)
        .fetch_optional(store.reader())
        .await?
        .flatten();
    let zone: Tz = zone.and_then(|z| z.parse().ok()).unwrap_or(ZONE);
    let files = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, name, size, content_type, caption FROM {} WHERE submission_id = $1 ORDER BY position",
        submitter.files()
    )))
    .bind(id)
    .fetch_all(store.reader())
    .await?
    .iter()
    .map(|f| {
        Ok(SubmissionFile {
            id: f.try_get("id")?,
            name: f.try_get("name")?,
            size: f.try_get("size")?,
            content_type: f.try_get("content_type")?,
            caption: f.try_get("caption")?,
        })
    })
    .collect::<Result<_>>()?;
    let review = match (
        row.try_get::<Option<String>, _>("review_status")?,
        row.try_get::<Option<DateTime<Utc>>, _>("reviewed_at")?,
    ) {
        (Some(status), Some(at)) => ReviewStatus::parse(&status).map(|status| Review {
            status,
            comment: row.try_get::<Option<String>, _>("review_comment").ok().flatten().unwrap_or_default(),
            at: local(at, zone),
        }),
        _ => None,
    };
    Ok(Some(SubmissionView {
        id,
        text: row.try_get("text")?,
        files,
        status: review.as_ref().map_or("submitted", |r| r.status.as_str()).into(),
        submitted_at: local(row.try_get("submitted_at")?, zone),
        review,
    }))
}

/// What `files` are, told by their bytes (photos are counted and captioned), once the text and
/// the files meet what the deadline `requires`.
pub(super) fn checked(requires: &Requires, text: &str, files: &[NewFile]) -> Result<Vec<SubmittedFile>> {
    let sniffed: Vec<SubmittedFile> =
        files.iter().map(|f| SubmittedFile { name: f.name.clone(), kind: FileKind::sniff(&f.head) }).collect();
    let broken = requires.check(text, &sniffed);
    if !broken.is_empty() {
        return Err(StoreError::InvalidSubmission(broken));
    }
    Ok(sniffed)
}

/// A venue's submission towards a deliverable of its event, replacing its previous one (kept,
/// marked replaced), with its files' blobs named, its change on the event's feed, in one
/// transaction.
pub(super) async fn submit_venue(
    store: &Backend,
    deadline: &Deadline,
    venue_id: Uuid,
    text: &str,
    files: &[NewFile],
    actor: &Actor,
) -> Result<DeliverableView> {
    let checked = checked(&deadline.deadline.requires, text, files)?;
    let mut tx = store.writer().begin().await?;
    // The event's row first, then the venue's (settle): the order every change of a venue takes.
    let event_id = event_of_venue(&mut tx, venue_id).await?;
    let seq = next_seq(&mut tx, event_id).await?;
    let (id, _, _) =
        store_submission(&mut tx, Submitter::Venue, (deadline.id, venue_id), text, (files, &checked)).await?;
    let detail = json!({"deadline_id": deadline.id, "submission_id": id, "files": files.len(),
        "text_chars": text.chars().count()});
    record(
        &mut tx,
        actor,
        Record::new((event_id, seq), Some(venue_id), "deliverable.done", ("venue", venue_id), detail),
    )
    .await?;
    super::overview::settle(&mut tx, &[venue_id]).await?;
    tx.commit().await?;
    deliverable(store, id).await?.ok_or(StoreError::NotFound)
}

/// The current submissions of a venue, one per deliverable, returned ones included.
pub(super) async fn deliverables(store: &Backend, venue_id: Uuid) -> Result<Vec<DeliverableView>> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM venue_submissions WHERE venue_id = $1 AND replaced_at IS NULL ORDER BY submitted_at, id",
    )
    .bind(venue_id)
    .fetch_all(store.reader())
    .await?;
    let mut listed = Vec::with_capacity(ids.len());
    for id in ids {
        listed.extend(deliverable(store, id).await?);
    }
    Ok(listed)
}

/// A venue's submission as its deliverable: v1's fields beside the submission's.
async fn deliverable(store: &Backend, id: Uuid) -> Result<Option<DeliverableView>> {
    let Some(submission) = submission_view(store, Submitter::Venue, id).await? else { return Ok(None) };
    let row = sqlx::query("SELECT deadline_id, venue_id FROM venue_submissions WHERE id = $1")
        .bind(id)
        .fetch_one(store.reader())
        .await?;
    let first = submission.files.first();
    Ok(Some(DeliverableView {
        deadline_id: row.try_get("deadline_id")?,
        venue_id: row.try_get("venue_id")?,
        note: submission.text.clone(),
        file_name: first.map(|f| f.name.clone()),
        file_size: first.map(|f| f.size),
        done_at: submission.submitted_at,
        submission,
    }))
}

/// A submission's deadline, its sender (a unit or a venue), and whether it is still the
/// sender's current one.
pub(super) async fn submission_ref(store: &Backend, submitter: Submitter, id: Uuid) -> Result<Option<SubmissionRef>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, deadline_id, {} AS sent_by, replaced_at FROM {} WHERE id = $1",
        submitter.sender(),
        submitter.submissions()
    )))
    .bind(id)
    .fetch_optional(store.reader())
    .await?;
    row.map(|row| {
        Ok(SubmissionRef {
            id: row.try_get("id")?,
            deadline_id: row.try_get("deadline_id")?,
            sent_by: row.try_get("sent_by")?,
            current: row.try_get::<Option<DateTime<Utc>>, _>("replaced_at")?.is_none(),
        })
    })
    .transpose()
}

/// Records the organiser's review of a venue's current submission, with `letter` (the comment
/// to the venue's contact) and its change on the event's feed. A returned one no longer meets
/// the deliverable, so its reminders resume.
pub(super) async fn review_venue_submission(
    store: &Backend,
    id: Uuid,
    review: &NewReview,
    letter: Option<&NewMessage>,
    actor: &Actor,
) -> Result<DeliverableView> {
    let mut tx = store.writer().begin().await?;
    let venue_id: Option<Uuid> = sqlx::query_scalar("SELECT venue_id FROM venue_submissions WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let event_id = event_of_venue(&mut tx, venue_id.ok_or(StoreError::NotFound)?).await?;
    let seq = next_seq(&mut tx, event_id).await?;
    let venue_id = mark_reviewed(&mut tx, Submitter::Venue, id, review, letter).await?;
    let detail = json!({"status": review.status.as_str(), "comment": review.comment, "submission_id": id});
    let reviewed = Record::new((event_id, seq), Some(venue_id), "deliverable.reviewed", ("venue", venue_id), detail);
    record(&mut tx, actor, reviewed).await?;
    super::overview::settle(&mut tx, &[venue_id]).await?;
    tx.commit().await?;
    deliverable(store, id).await?.ok_or(StoreError::NotFound)
}

/// Marks `id` reviewed, if it is still its sender's current submission, and queues `letter` with
/// it; answers the sender (the unit or the venue).
pub(super) async fn mark_reviewed(
    tx: &mut Tx,
    submitter: Submitter,
    id: Uuid,
    review: &NewReview,
    letter: Option<&NewMessage>,
) -> Result<Uuid> {
    let sent_by: Option<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "UPDATE {} SET review_status = $2, review_comment = $3, reviewed_at = $4
         WHERE id = $1 AND replaced_at IS NULL RETURNING {}",
        submitter.submissions(),
        submitter.sender()
    )))
    .bind(id)
    .bind(review.status.as_str())
    .bind(&review.comment)
    .bind(now())
    .fetch_optional(&mut **tx)
    .await?;
    let sent_by = sent_by.ok_or(StoreError::SubmissionReplaced)?;
    if let Some(letter) = letter {
        super::outbox::insert_message(tx, letter).await?;
    }
    Ok(sent_by)
}

/// A file of a unit's or a venue's submission, with who sent it (which says who may read it).
pub(super) async fn submission_file(store: &Backend, submitter: Submitter, id: Uuid) -> Result<Option<StoredFile>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{} WHERE f.id = $1", submitter.file_sql())))
        .bind(id)
        .fetch_optional(store.reader())
        .await?;
    row.as_ref().map(|row| submitter.stored_file(row)).transpose()
}

/// Every current submission of a deadline (a unit deadline's, or an event deliverable's) with
/// its files, in one snapshot, named after the unit or venue that sent it.
pub(super) async fn bundle(store: &Backend, submitter: Submitter, deadline: Uuid) -> Result<Vec<BundledSubmission>> {
    let submissions = match submitter {
        Submitter::Unit => {
            "SELECT s.id, s.text, s.submitted_at, u.name FROM unit_submissions s JOIN units u ON u.id = s.unit_id
             WHERE s.deadline_id = $1 AND s.replaced_at IS NULL ORDER BY u.id"
        }
        Submitter::Venue => {
            "SELECT s.id, s.text, s.submitted_at, v.name FROM venue_submissions s JOIN venues v ON v.id = s.venue_id
             WHERE s.deadline_id = $1 AND s.replaced_at IS NULL ORDER BY v.name, v.id"
        }
    };
    let files = format!("{} WHERE f.submission_id = $1 ORDER BY f.position", submitter.file_sql());
    let mut tx = super::dashboard::snapshot(store).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(submissions)).bind(deadline).fetch_all(&mut *tx).await?;
    let mut bundled = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: Uuid = row.try_get("id")?;
        let files = sqlx::query(sqlx::AssertSqlSafe(files.as_str()))
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| submitter.stored_file(row))
            .collect::<Result<_>>()?;
        bundled.push(BundledSubmission {
            unit: row.try_get("name")?,
            text: row.try_get("text")?,
            submitted_at: row.try_get("submitted_at")?,
            files,
        });
    }
    tx.commit().await?;
    Ok(bundled)
}
