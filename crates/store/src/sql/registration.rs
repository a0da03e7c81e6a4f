//! A venue's list: submissions, replacements and the lock that orders changes to it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huichang_core::event::local;
use huichang_core::registration::{
    self, AttendeeInput, AttendeeStatus, AttendeeView, RegistrationView, StoredAttendee, Submission, Technician,
};
use huichang_core::review::{NewReview, Review, ReviewStatus};
use serde_json::{Value, json};
use sqlx::{QueryBuilder, Row};
use uuid::Uuid;

use super::super::{Backend, Db, LOCK_LIST};
use super::changelog::{Record, next_seq, record};
use super::rows::{attendee_view, stored_attendee};
use super::venues::{event_of_venue, venue_capacity};
use super::{Conn, DbRow, Tx, now};
use crate::{Actor, AttendeeRef, NewMessage, Result, StoreError};

/// One list of attendees: a venue's own, or a delegation's into the venue's hall. The lists of
/// one hall share its seats and its lock.
#[derive(Debug, Clone, Copy)]
pub(crate) enum List {
    Venue(Uuid),
    Delegation { venue: Uuid, id: Uuid },
}

impl List {
    fn venue(self) -> Uuid {
        match self {
            List::Venue(venue) | List::Delegation { venue, .. } => venue,
        }
    }

    fn delegation(self) -> Option<Uuid> {
        match self {
            List::Venue(_) => None,
            List::Delegation { id, .. } => Some(id),
        }
    }

    /// The id that `members` and `head` bind as `$1`.
    fn key(self) -> Uuid {
        self.delegation().unwrap_or(self.venue())
    }

    /// The attendees of this list, binding [`List::key`] as `$1`.
    fn members(self) -> &'static str {
        match self {
            List::Venue(_) => "venue_id = $1 AND delegation_id IS NULL",
            List::Delegation { .. } => "delegation_id = $1",
        }
    }

    /// The table of the list's technician and revision, and its key column.
    fn head(self) -> (&'static str, &'static str) {
        match self {
            List::Venue(_) => ("registrations", "venue_id"),
            List::Delegation { .. } => ("delegation_registrations", "delegation_id"),
        }
    }
}

/// Takes a venue's list for the rest of the transaction. Whatever changes a list takes this
/// before the event's `seq`, so that list changes queue here and never wait for each other in
/// the opposite order.
pub(super) async fn lock_list(tx: &mut Tx, venue_id: Uuid) -> Result<()> {
    if let Some(lock) = LOCK_LIST {
        sqlx::query(lock).bind(venue_id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Takes the list of the venue that `venue_of` (the `venue_id` of the row `$1`) names for `id`,
/// and returns that venue.
pub(super) async fn lock_list_of(tx: &mut Tx, venue_of: &'static str, id: Uuid) -> Result<Uuid> {
    let venue_id: Uuid =
        sqlx::query_scalar(venue_of).bind(id).fetch_optional(&mut **tx).await?.ok_or(StoreError::NotFound)?;
    lock_list(tx, venue_id).await?;
    Ok(venue_id)
}

/// The people of the hall's other lists who come on site: the seats this list cannot have.
async fn onsite_elsewhere(tx: &mut Tx, list: List) -> Result<i64> {
    const ONSITE: &str = "SELECT COUNT(*) FROM attendees WHERE venue_id = $1 AND status = 'registered' \
         AND removed_at IS NULL AND participation = 'onsite'";
    let query = match list {
        List::Venue(venue) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("{ONSITE} AND delegation_id IS NOT NULL"))).bind(venue)
        }
        List::Delegation { venue, id } => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "{ONSITE} AND (delegation_id IS NULL OR delegation_id <> $2)"
        )))
        .bind(venue)
        .bind(id),
    };
    Ok(query.fetch_one(&mut **tx).await?)
}

/// The people of a venue's current lists (its own and its delegations') who come on site.
async fn onsite_count(tx: &mut Tx, venue_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM attendees WHERE venue_id = $1 AND status = 'registered' AND removed_at IS NULL AND participation = 'onsite'",
    )
    .bind(venue_id)
    .fetch_one(&mut **tx)
    .await?)
}

pub(super) const ATTENDEE_COLUMNS: &str =
    "id, name, organization, title, phone, email, participation, category, status, replaces";

/// The current list, replaced attendees after it, in list order.
pub(super) async fn load_registration(conn: &mut Conn, venue_id: Uuid) -> Result<RegistrationView> {
    load_list(conn, List::Venue(venue_id)).await
}

pub(super) async fn load_list(conn: &mut Conn, list: List) -> Result<RegistrationView> {
    let venue_id = list.venue();
    let (head_table, head_key) = list.head();
    let tz: Tz = sqlx::query_scalar::<_, String>(
        "SELECT e.timezone FROM venues v JOIN events e ON e.id = v.event_id WHERE v.id = $1",
    )
    .bind(venue_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?
    .parse()
    .unwrap_or(Tz::UTC);
    let head = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT technician_name, technician_phone, submitted_at, late, revision, review_status, review_comment, reviewed_at
         FROM {head_table} WHERE {head_key} = $1"
    )))
    .bind(list.key())
    .fetch_optional(&mut *conn)
    .await?;
    let attendees = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ATTENDEE_COLUMNS} FROM attendees WHERE {} AND removed_at IS NULL \
         ORDER BY CASE WHEN status = 'registered' THEN 0 ELSE 1 END, position, id",
        list.members()
    )))
    .bind(list.key())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| attendee_view(row, venue_id))
    .collect::<Result<Vec<_>>>()?;
    Ok(match head {
        Some(head) => RegistrationView {
            venue_id,
            delegation_id: list.delegation(),
            technician: Some(Technician {
                name: head.try_get("technician_name")?,
                phone: head.try_get("technician_phone")?,
            }),
            attendees,
            submitted_at: Some(local(head.try_get("submitted_at")?, tz)),
            late: head.try_get("late")?,
            revision: head.try_get("revision")?,
            review: review_from_row(&head, tz)?,
        },
        None => RegistrationView {
            venue_id,
            delegation_id: list.delegation(),
            technician: None,
            attendees,
            submitted_at: None,
            late: false,
            revision: 0,
            review: None,
        },
    })
}

/// The review kept in a row's `review_status`, `review_comment` and `reviewed_at`.
pub(super) fn review_from_row(row: &DbRow, tz: Tz) -> Result<Option<Review>> {
    let status: Option<String> = row.try_get("review_status")?;
    let at: Option<DateTime<Utc>> = row.try_get("reviewed_at")?;
    Ok(match (status.as_deref().and_then(ReviewStatus::parse), at) {
        (Some(status), Some(at)) => Some(Review {
            status,
            comment: row.try_get::<Option<String>, _>("review_comment")?.unwrap_or_default(),
            at: local(at, tz),
        }),
        _ => None,
    })
}

/// Rows of new attendees in one statement per chunk; 14 parameters a row stays far below
/// SQLite's and PostgreSQL's parameter limits.
pub(super) async fn insert_attendees(
    tx: &mut Tx,
    (venue_id, delegation_id): (Uuid, Option<Uuid>),
    rows: &[(usize, &StoredAttendee)],
    replaces: Option<Uuid>,
) -> Result<()> {
    let at = now();
    for chunk in rows.chunks(1000) {
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO attendees (id, venue_id, delegation_id, name, organization, title, phone, email, participation, category, status, position, replaces, added_at) ",
        );
        insert.push_values(chunk, |mut row, (position, a)| {
            row.push_bind(a.id)
                .push_bind(venue_id)
                .push_bind(delegation_id)
                .push_bind(a.name.clone())
                .push_bind(a.organization.clone())
                .push_bind(a.title.clone())
                .push_bind(a.phone.clone().unwrap_or_default())
                .push_bind(a.email.clone())
                .push_bind(a.participation.as_str())
                .push_bind(a.category.as_str())
                .push_bind(AttendeeStatus::Registered.as_str())
                .push_bind(*position as i64)
                .push_bind(replaces)
                .push_bind(at);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// The unique index of a venue's current list, or the person on it.
pub(super) fn duplicate_person(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| e.is_unique_violation())
}

pub(super) async fn registration(store: &Backend, venue_id: Uuid) -> Result<RegistrationView> {
    let mut conn = store.reader().acquire().await?;
    load_registration(&mut conn, venue_id).await
}

pub(super) async fn submit_registration(
    store: &Backend,
    venue_id: Uuid,
    submission: &Submission,
    late: bool,
    actor: &Actor,
) -> Result<RegistrationView> {
    submit_list(store, List::Venue(venue_id), submission, late, actor).await
}

/// Replaces one list, all or nothing. Every list of a hall takes the hall's lock first, so that
/// the seats the other lists hold are counted while none of them changes.
pub(super) async fn submit_list(
    store: &Backend,
    list: List,
    submission: &Submission,
    late: bool,
    actor: &Actor,
) -> Result<RegistrationView> {
    let venue_id = list.venue();
    let mut tx = store.writer().begin().await?;
    // The list, not the event: other venues' lists are merged meanwhile, and the event's
    // `seq` is taken with the change at the end.
    lock_list(&mut tx, venue_id).await?;
    let event_id = event_of_venue(&mut tx, venue_id).await?;
    let capacity = venue_capacity(&mut tx, venue_id).await?;
    let elsewhere = onsite_elsewhere(&mut tx, list).await?;
    let technician = stored_technician(&mut tx, list).await?;
    let stored = current_list(&mut tx, list).await?;

    let merge = registration::merge(&stored, technician.as_ref(), submission, capacity - elsewhere, Uuid::now_v7)
        .map_err(|over| registration::OverCapacity { onsite: over.onsite + elsewhere as usize, capacity })?;
    if merge.unchanged {
        // Nothing to store.
        drop(tx);
        let mut conn = store.reader().acquire().await?;
        return load_list(&mut conn, list).await;
    }
    let at = now();
    for id in &merge.removed {
        sqlx::query("UPDATE attendees SET removed_at = $1 WHERE id = $2").bind(at).bind(id).execute(&mut *tx).await?;
    }
    let added = write_merged_rows(&mut tx, list, &stored, &merge).await?;
    let revision = store_submission(&mut tx, list, submission, at, late).await?;
    let removed: Vec<Value> = stored
        .iter()
        .filter(|a| merge.removed.contains(&a.id))
        .map(|a| json!({"id": a.id, "name": a.name, "organization": a.organization, "title": a.title}))
        .collect();
    let mut detail =
        json!({"revision": revision, "attendees": merge.rows.len(), "added": added, "removed": removed, "late": late});
    let object = match list.delegation() {
        Some(delegation) => {
            detail["delegation_id"] = json!(delegation);
            ("delegation", delegation)
        }
        None => ("registration", venue_id),
    };
    record(&mut tx, actor, Record::next(event_id, Some(venue_id), "registration.submitted", object, detail)).await?;
    super::overview::settle(&mut tx, &[venue_id]).await?;
    let view = load_list(&mut tx, list).await?;
    tx.commit().await?;
    Ok(view)
}

/// The technician of the list's last submission, if any.
async fn stored_technician(tx: &mut Tx, list: List) -> Result<Option<Technician>> {
    let (table, key) = list.head();
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT technician_name, technician_phone FROM {table} WHERE {key} = $1")))
        .bind(list.key())
        .fetch_optional(&mut **tx)
        .await?
        .map(|row| -> Result<Technician> {
            Ok(Technician { name: row.try_get("technician_name")?, phone: row.try_get("technician_phone")? })
        })
        .transpose()
}

/// The people on the current list, in list order.
async fn current_list(tx: &mut Tx, list: List) -> Result<Vec<StoredAttendee>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ATTENDEE_COLUMNS} FROM attendees WHERE {} AND status = 'registered' AND removed_at IS NULL ORDER BY position, id",
        list.members()
    )))
    .bind(list.key())
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(stored_attendee)
    .collect()
}

/// Writes the merged list over the stored one: new people inserted, those changed or moved
/// updated, the rest left alone. Returns how many were added.
async fn write_merged_rows(
    tx: &mut Tx,
    list: List,
    stored: &[StoredAttendee],
    merge: &registration::Merge,
) -> Result<usize> {
    let previous: std::collections::HashMap<Uuid, (usize, &StoredAttendee)> =
        stored.iter().enumerate().map(|(i, a)| (a.id, (i, a))).collect();
    let mut new_rows = Vec::new();
    for (position, row) in merge.rows.iter().enumerate() {
        let a = &row.attendee;
        match previous.get(&a.id) {
            None => new_rows.push((position, a)),
            Some((old_position, old)) if *old_position == position && *old == a => {}
            Some(_) => {
                sqlx::query(
                    "UPDATE attendees SET organization = $2, title = $3, email = $4, participation = $5, position = $6, category = $7, phone = $8 WHERE id = $1",
                )
                .bind(a.id)
                .bind(&a.organization)
                .bind(&a.title)
                .bind(&a.email)
                .bind(a.participation.as_str())
                .bind(position as i64)
                .bind(a.category.as_str())
                .bind(a.phone.clone().unwrap_or_default())
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    insert_attendees(tx, (list.venue(), list.delegation()), &new_rows, None).await?;
    Ok(new_rows.len())
}

/// The submission's technician and time, and the list's next revision, which it returns.
async fn store_submission(
    tx: &mut Tx,
    list: List,
    submission: &Submission,
    at: DateTime<Utc>,
    late: bool,
) -> Result<i64> {
    let (table, key) = list.head();
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} ({key}, technician_name, technician_phone, submitted_at, late, revision)
         VALUES ($1, $2, $3, $4, $5, 1)
         ON CONFLICT ({key}) DO UPDATE SET technician_name = excluded.technician_name,
             technician_phone = excluded.technician_phone, submitted_at = excluded.submitted_at,
             late = {table}.late OR excluded.late, revision = {table}.revision + 1,
             review_status = NULL, review_comment = NULL, reviewed_at = NULL
         RETURNING revision"
    )))
    .bind(list.key())
    .bind(&submission.technician.name)
    .bind(&submission.technician.phone)
    .bind(at)
    .bind(late)
    .fetch_one(&mut **tx)
    .await?)
}

pub(super) async fn attendee(store: &Backend, id: Uuid) -> Result<Option<AttendeeRef>> {
    let row = sqlx::query(
        "SELECT a.id, a.venue_id, v.event_id, a.status, a.participation, a.removed_at FROM attendees a
         JOIN venues v ON v.id = a.venue_id WHERE a.id = $1",
    )
    .bind(id)
    .fetch_optional(store.reader())
    .await?;
    row.map(|row| {
        let removed: Option<DateTime<Utc>> = row.try_get("removed_at")?;
        Ok(AttendeeRef {
            id: row.try_get("id")?,
            venue_id: row.try_get("venue_id")?,
            event_id: row.try_get("event_id")?,
            current: removed.is_none() && row.try_get::<String, _>("status")? == "registered",
            onsite: row.try_get::<String, _>("participation")? == "onsite",
        })
    })
    .transpose()
}

pub(super) async fn replace_attendee(
    store: &Backend,
    attendee_id: Uuid,
    replacement: &AttendeeInput,
    actor: &Actor,
) -> Result<AttendeeView> {
    let mut tx = store.writer().begin().await?;
    let venue_id = lock_list_of(&mut tx, "SELECT venue_id FROM attendees WHERE id = $1", attendee_id).await?;
    let event_id = event_of_venue(&mut tx, venue_id).await?;
    let seq = next_seq(&mut tx, event_id).await?;
    // Conditional: of two replacements racing for one attendee, exactly one wins.
    let old = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE attendees SET status = 'replaced' WHERE id = $1 AND status = 'registered' AND removed_at IS NULL RETURNING {ATTENDEE_COLUMNS}, position, delegation_id"
    )))
    .bind(attendee_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(StoreError::AlreadyReplaced)?;
    let old_attendee = stored_attendee(&old)?;
    let position: i64 = old.try_get("position")?;
    let delegation_id: Option<Uuid> = old.try_get("delegation_id")?;
    let participation = replacement.participation.unwrap_or(old_attendee.participation);
    let category = replacement.category.unwrap_or(old_attendee.category);
    let new = StoredAttendee::from_input(Uuid::now_v7(), replacement, participation, category);
    // Under the list's lock: neither the list nor the rooms' capacity (a cut takes the list
    // first) changes until commit.
    let capacity = venue_capacity(&mut tx, venue_id).await?;
    let onsite_others = onsite_count(&mut tx, venue_id).await?;
    registration::check_replacement(onsite_others as usize, new.participation, capacity)?;
    // The same person by the list's rule, under its lock. The unique indexes catch the same name
    // and phone, and the same name and organisation between two without a phone; this also
    // catches one with a phone and one without.
    let phone = new.phone.clone().unwrap_or_default();
    let on_list: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM attendees WHERE venue_id = $1 AND status = 'registered' AND removed_at IS NULL AND name = $2
         AND (phone = '' OR $3 = '') AND organization = $4",
    )
    .bind(venue_id)
    .bind(&new.name)
    .bind(&phone)
    .bind(&new.organization)
    .fetch_optional(&mut *tx)
    .await?;
    if on_list.is_some() {
        return Err(StoreError::AlreadyOnList(new.name));
    }
    match insert_attendees(&mut tx, (venue_id, delegation_id), &[(position as usize, &new)], Some(attendee_id)).await {
        Err(StoreError::Database(e)) if duplicate_person(&e) => {
            return Err(StoreError::AlreadyOnList(new.name));
        }
        other => other?,
    }
    let list = match delegation_id {
        Some(id) => List::Delegation { venue: venue_id, id },
        None => List::Venue(venue_id),
    };
    let (table, key) = list.head();
    sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {table} SET revision = revision + 1 WHERE {key} = $1")))
        .bind(list.key())
        .execute(&mut *tx)
        .await?;
    let detail =
        json!({"replaced": {"id": old_attendee.id, "name": old_attendee.name}, "by": {"id": new.id, "name": new.name}});
    record(
        &mut tx,
        actor,
        Record::new((event_id, seq), Some(venue_id), "attendee.replaced", ("attendee", new.id), detail),
    )
    .await?;
    super::overview::settle(&mut tx, &[venue_id]).await?;
    tx.commit().await?;
    Ok(AttendeeView {
        id: new.id,
        venue_id,
        name: new.name,
        organization: new.organization,
        title: new.title,
        phone: new.phone,
        email: new.email,
        participation: new.participation,
        category: new.category,
        status: AttendeeStatus::Registered,
        replaces: Some(attendee_id),
    })
}

/// Records the organiser's review of a venue's list, queues `letter` (the comment to the venue's
/// contact) with it, and recounts the venue: a returned list counts as not sent.
pub(super) async fn review_registration(
    store: &Backend,
    venue_id: Uuid,
    review: &NewReview,
    letter: Option<&NewMessage>,
    actor: &Actor,
) -> Result<RegistrationView> {
    let mut tx = store.writer().begin().await?;
    let event_id = event_of_venue(&mut tx, venue_id).await?;
    let revision: Option<i64> = sqlx::query_scalar(
        "UPDATE registrations SET review_status = $2, review_comment = $3, reviewed_at = $4 WHERE venue_id = $1 RETURNING revision",
    )
    .bind(venue_id)
    .bind(review.status.as_str())
    .bind(&review.comment)
    .bind(now())
    .fetch_optional(&mut *tx)
    .await?;
    let revision = revision.ok_or(StoreError::NotFound)?;
    let detail = json!({"status": review.status.as_str(), "comment": review.comment, "revision": revision});
    record(
        &mut tx,
        actor,
        Record::next(event_id, Some(venue_id), "registration.reviewed", ("registration", venue_id), detail),
    )
    .await?;
    if let Some(letter) = letter {
        super::outbox::insert_message(&mut tx, letter).await?;
    }
    super::overview::settle(&mut tx, &[venue_id]).await?;
    let view = load_list(&mut tx, List::Venue(venue_id)).await?;
    tx.commit().await?;
    Ok(view)
}
