//! The queries and transactions of the store, written once and compiled for each backend:
//! `super::Db` is the sqlx driver, `super::Backend` the store type with `writer()` and `reader()`.
//! Only SQL that both SQLite and PostgreSQL accept belongs here.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use huichang_core::event::{self, Event, NewEvent, local};
use huichang_core::registration::{
    self, AttendeeInput, AttendeeStatus, AttendeeView, Participation, RegistrationView, StoredAttendee, Submission,
    Technician,
};
use huichang_core::role::{Grant, Role};
use huichang_core::venue::{Approval, ApprovalRecord, NewApproval, NewVenue, RoomView, VenueKind, VenueView};
use serde_json::{Value, json};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row, Transaction};
use uuid::Uuid;

use super::{
    ANNOUNCE_CHANGE, Backend, CLAIM_NEXT_MESSAGE, Db, LOCK_LIST, LOCK_SILENT_LINKS, MIGRATOR, RECORD_CHANGE,
    SHARE_LISTS, SHARE_VENUE, SNAPSHOT,
};
use crate::{
    Actor, AttendeeRef, AttestationView, AuditActor, AuditEntry, AuditTarget, CapacityChange, Change, CheckinView,
    ClaimedMessage, DeliverableDone, DeliverableView, MovedOnline, NewMessage, OnlineNotice, OutboxView, Page,
    PlanItem, Result, RoomRef, Store, StoreError, TokenView, VenueContact, VenueTokens, VideoCheckView,
};
use huichang_core::dashboard::VenueRow;
use huichang_core::deadline::{Deadline, DeadlineKind, NewDeadline};
use huichang_core::door::{self, LinkStatus, NewVideoCheck, Requirement};

type DbRow = <Db as sqlx::Database>::Row;
type Conn = <Db as sqlx::Database>::Connection;
type Tx = Transaction<'static, Db>;

/// The event time zone a query selected as `timezone`, for answering in local time.
fn row_timezone(row: &DbRow) -> Result<Tz> {
    Ok(row.try_get::<String, _>("timezone")?.parse().unwrap_or(Tz::UTC))
}

fn now() -> DateTime<Utc> {
    event::truncate(Utc::now())
}

/// Takes the event's next `seq`. The UPDATE locks the event row until commit, so the changes
/// of one event are ordered, and a rolled-back change gives its number back.
async fn next_seq(tx: &mut Tx, event_id: Uuid) -> Result<i64> {
    sqlx::query_scalar("UPDATE events SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq")
        .bind(event_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)
}

/// One state change: its live-feed row and its audit entry, in the caller's transaction.
struct Record<'a> {
    event_id: Uuid,
    /// The `seq` the transaction took earlier, or `None` to take the event's next one now.
    seq: Option<i64>,
    venue_id: Option<Uuid>,
    action: &'a str,
    target_kind: &'a str,
    target_id: Uuid,
    detail: Value,
}

/// The live-feed row of a change, announced to every instance when the transaction commits.
async fn append_change(
    tx: &mut Tx,
    event_id: Uuid,
    seq: i64,
    venue_id: Option<Uuid>,
    what: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO changes (event_id, seq, venue_id, what, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(event_id)
        .bind(seq)
        .bind(venue_id)
        .bind(what)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    if let Some(announce) = ANNOUNCE_CHANGE {
        sqlx::query(announce).bind(event_id.to_string()).execute(&mut **tx).await?;
    }
    Ok(())
}

impl<'a> Record<'a> {
    /// A change numbered `seq` of an event, about `target` (its kind and id).
    fn new(
        (event_id, seq): (Uuid, i64),
        venue_id: Option<Uuid>,
        action: &'a str,
        target: (&'a str, Uuid),
        detail: Value,
    ) -> Self {
        Record { seq: Some(seq), ..Record::next(event_id, venue_id, action, target, detail) }
    }

    /// A change that takes its event's next `seq` as the transaction's last write. Only for a
    /// transaction that needs the event row for nothing else: it is locked from then to commit.
    fn next(
        event_id: Uuid,
        venue_id: Option<Uuid>,
        action: &'a str,
        (target_kind, target_id): (&'a str, Uuid),
        detail: Value,
    ) -> Self {
        Record { event_id, seq: None, venue_id, action, target_kind, target_id, detail }
    }
}

/// Writes the change: its live-feed row and its audit entry.
async fn record(tx: &mut Tx, actor: &Actor, change: Record<'_>) -> Result<()> {
    let at = now();
    if let Some(statement) = RECORD_CHANGE {
        sqlx::query_scalar::<_, i64>(statement)
            .bind(change.event_id)
            .bind(change.seq)
            .bind(change.venue_id)
            .bind(change.action)
            .bind(at)
            .bind(Uuid::now_v7())
            .bind(actor.role.as_str())
            .bind(actor.token_id)
            .bind(actor.address.as_deref())
            .bind(change.target_kind)
            .bind(change.target_id)
            .bind(Json(change.detail))
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        return Ok(());
    }
    let seq = match change.seq {
        Some(seq) => seq,
        None => next_seq(tx, change.event_id).await?,
    };
    append_change(tx, change.event_id, seq, change.venue_id, change.action, at).await?;
    insert_audit(tx, vec![(actor, at, change)]).await
}

/// The audit entries of changes, in the caller's transaction: one statement for any number.
async fn insert_audit(tx: &mut Tx, entries: Vec<(&Actor, DateTime<Utc>, Record<'_>)>) -> Result<()> {
    let mut insert = QueryBuilder::<Db>::new(
        "INSERT INTO audit_log (id, event_id, at, actor_role, actor_token_id, address, action, target_kind, target_id, detail) ",
    );
    insert.push_values(entries, |mut row, (actor, at, change)| {
        row.push_bind(Uuid::now_v7())
            .push_bind(change.event_id)
            .push_bind(at)
            .push_bind(actor.role.as_str())
            .push_bind(actor.token_id)
            .push_bind(actor.address.clone())
            .push_bind(change.action)
            .push_bind(change.target_kind)
            .push_bind(change.target_id)
            .push_bind(Json(change.detail));
    });
    insert.build().execute(&mut **tx).await?;
    Ok(())
}

/// Takes a venue's list for the rest of the transaction. Whatever changes a list takes this
/// before the event's `seq`, so that list changes queue here and never wait for each other in
/// the opposite order.
async fn lock_list(tx: &mut Tx, venue_id: Uuid) -> Result<()> {
    if let Some(lock) = LOCK_LIST {
        sqlx::query(lock).bind(venue_id).execute(&mut **tx).await?;
    }
    Ok(())
}

/// The event a venue belongs to.
/// A venue's seats: the sum of its rooms' capacities.
async fn venue_capacity(tx: &mut Tx, venue_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT CAST(COALESCE(SUM(capacity), 0) AS BIGINT) FROM rooms WHERE venue_id = $1")
        .bind(venue_id)
        .fetch_one(&mut **tx)
        .await?)
}

/// The people of a venue's current list who come on site.
async fn onsite_count(tx: &mut Tx, venue_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM attendees WHERE venue_id = $1 AND status = 'registered' AND removed_at IS NULL AND participation = 'onsite'",
    )
    .bind(venue_id)
    .fetch_one(&mut **tx)
    .await?)
}

async fn event_of_venue(tx: &mut Tx, venue_id: Uuid) -> Result<Uuid> {
    sqlx::query_scalar("SELECT event_id FROM venues WHERE id = $1")
        .bind(venue_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)
}

fn event_from_row(row: &DbRow) -> Result<Event> {
    let timezone: String = row.try_get("timezone")?;
    Ok(Event {
        id: row.try_get("id")?,
        created_at: row.try_get("created_at")?,
        event: NewEvent {
            title: row.try_get("title")?,
            timezone: timezone.parse().unwrap_or(Tz::UTC),
            starts_at: row.try_get("starts_at")?,
            ends_at: row.try_get("ends_at")?,
            arrive_minutes_before: row.try_get("arrive_minutes_before")?,
            registration_deadline: row.try_get("registration_deadline")?,
            video_check_starts_at: row.try_get("video_check_starts_at")?,
            video_check_ends_at: row.try_get("video_check_ends_at")?,
            default_capacity: row.try_get("default_capacity")?,
            organizer_email: row.try_get("organizer_email")?,
            requirements: row.try_get::<Json<Vec<Requirement>>, _>("requirements")?.0,
        },
    })
}

const EVENT_COLUMNS: &str = "id, title, timezone, starts_at, ends_at, arrive_minutes_before, registration_deadline, \
     video_check_starts_at, video_check_ends_at, default_capacity, organizer_email, requirements, created_at";

async fn load_event(conn: &mut Conn, id: Uuid) -> Result<Option<Event>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(event_from_row).transpose()
}

const VENUE_SELECT: &str = "SELECT v.id, v.event_id, v.name, v.kind, v.region, v.contact_email, v.approval, \
     v.approval_authority, v.approval_reference, v.approval_note, v.approval_recorded_at, v.created_at, e.timezone, \
     v.video_link, (SELECT c.result FROM video_checks c WHERE c.venue_id = v.id ORDER BY c.id DESC LIMIT 1) AS video_check \
     FROM venues v JOIN events e ON e.id = v.event_id";

fn venue_from_row(row: &DbRow, rooms: Vec<RoomView>) -> Result<VenueView> {
    let tz = row_timezone(row)?;
    let recorded_at: Option<DateTime<Utc>> = row.try_get("approval_recorded_at")?;
    let approval_record = match recorded_at {
        Some(at) => Some(ApprovalRecord {
            authority: row.try_get::<Option<String>, _>("approval_authority")?.unwrap_or_default(),
            reference: row.try_get::<Option<String>, _>("approval_reference")?.unwrap_or_default(),
            note: row.try_get::<Option<String>, _>("approval_note")?.unwrap_or_default(),
            recorded_at: local(at, tz),
        }),
        None => None,
    };
    Ok(VenueView {
        id: row.try_get("id")?,
        event_id: row.try_get("event_id")?,
        name: row.try_get("name")?,
        kind: VenueKind::parse(row.try_get("kind")?).unwrap_or(VenueKind::Branch),
        region: row.try_get("region")?,
        contact_email: row.try_get("contact_email")?,
        capacity: rooms.iter().map(|r| r.capacity).sum(),
        rooms,
        approval: Approval::parse(row.try_get("approval")?).unwrap_or(Approval::Pending),
        approval_record,
        video_check: row.try_get::<Option<String>, _>("video_check")?.unwrap_or_else(|| "none".into()),
        video_link: LinkStatus::parse(row.try_get("video_link")?).unwrap_or(LinkStatus::Unknown),
        created_at: local(row.try_get("created_at")?, tz),
    })
}

fn room_from_row(row: &DbRow) -> Result<(Uuid, RoomView)> {
    Ok((
        row.try_get("venue_id")?,
        RoomView {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            capacity: row.try_get("capacity")?,
            occupancy: row.try_get("occupancy")?,
        },
    ))
}

async fn load_venue(conn: &mut Conn, id: Uuid) -> Result<Option<VenueView>> {
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!("{VENUE_SELECT} WHERE v.id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let rooms =
        sqlx::query("SELECT id, venue_id, name, capacity, occupancy FROM rooms WHERE venue_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| room_from_row(r).map(|(_, room)| room))
            .collect::<Result<Vec<_>>>()?;
    venue_from_row(&row, rooms).map(Some)
}

fn stored_attendee(row: &DbRow) -> Result<StoredAttendee> {
    Ok(StoredAttendee {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        organization: row.try_get("organization")?,
        title: row.try_get("title")?,
        phone: row.try_get("phone")?,
        email: row.try_get("email")?,
        participation: Participation::parse(row.try_get("participation")?).unwrap_or(Participation::Onsite),
    })
}

fn attendee_view(row: &DbRow, venue_id: Uuid) -> Result<AttendeeView> {
    let stored = stored_attendee(row)?;
    Ok(AttendeeView {
        id: stored.id,
        venue_id,
        name: stored.name,
        organization: stored.organization,
        title: stored.title,
        phone: stored.phone,
        email: stored.email,
        participation: stored.participation,
        status: AttendeeStatus::parse(row.try_get("status")?).unwrap_or(AttendeeStatus::Registered),
        replaces: row.try_get("replaces")?,
    })
}

const ATTENDEE_COLUMNS: &str = "id, name, organization, title, phone, email, participation, status, replaces";

/// The current list, replaced attendees after it, in list order.
async fn load_registration(conn: &mut Conn, venue_id: Uuid) -> Result<RegistrationView> {
    let tz: Tz = sqlx::query_scalar::<_, String>(
        "SELECT e.timezone FROM venues v JOIN events e ON e.id = v.event_id WHERE v.id = $1",
    )
    .bind(venue_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?
    .parse()
    .unwrap_or(Tz::UTC);
    let head = sqlx::query(
        "SELECT technician_name, technician_phone, submitted_at, late, revision FROM registrations WHERE venue_id = $1",
    )
    .bind(venue_id)
    .fetch_optional(&mut *conn)
    .await?;
    let attendees = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ATTENDEE_COLUMNS} FROM attendees WHERE venue_id = $1 AND removed_at IS NULL \
         ORDER BY CASE WHEN status = 'registered' THEN 0 ELSE 1 END, position, id"
    )))
    .bind(venue_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| attendee_view(row, venue_id))
    .collect::<Result<Vec<_>>>()?;
    Ok(match head {
        Some(head) => RegistrationView {
            venue_id,
            technician: Some(Technician {
                name: head.try_get("technician_name")?,
                phone: head.try_get("technician_phone")?,
            }),
            attendees,
            submitted_at: Some(local(head.try_get("submitted_at")?, tz)),
            late: head.try_get("late")?,
            revision: head.try_get("revision")?,
        },
        None => {
            RegistrationView { venue_id, technician: None, attendees, submitted_at: None, late: false, revision: 0 }
        }
    })
}

async fn insert_token(
    tx: &mut Tx,
    role: Role,
    hash: &str,
    event_id: Option<Uuid>,
    venue_id: Option<Uuid>,
    label: &str,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO tokens (id, token_hash, role, event_id, venue_id, label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(id)
        .bind(hash)
        .bind(role.as_str())
        .bind(event_id)
        .bind(venue_id)
        .bind(label)
        .bind(now())
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Rows of new attendees in one statement per chunk; 11 parameters a row stays far below
/// SQLite's and PostgreSQL's parameter limits.
async fn insert_attendees(
    tx: &mut Tx,
    venue_id: Uuid,
    rows: &[(usize, &StoredAttendee)],
    replaces: Option<Uuid>,
) -> Result<()> {
    let at = now();
    for chunk in rows.chunks(1000) {
        let mut insert = QueryBuilder::<Db>::new(
            "INSERT INTO attendees (id, venue_id, name, organization, title, phone, email, participation, status, position, replaces, added_at) ",
        );
        insert.push_values(chunk, |mut row, (position, a)| {
            row.push_bind(a.id)
                .push_bind(venue_id)
                .push_bind(a.name.clone())
                .push_bind(a.organization.clone())
                .push_bind(a.title.clone())
                .push_bind(a.phone.clone())
                .push_bind(a.email.clone())
                .push_bind(a.participation.as_str())
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
fn duplicate_person(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| e.is_unique_violation())
}

const TOKEN_SELECT: &str = "SELECT t.id, t.role, t.event_id, t.venue_id, t.label, t.created_at, t.revoked_at, \
     COALESCE(e.timezone, 'UTC') AS timezone FROM tokens t LEFT JOIN events e ON e.id = t.event_id";

fn token_from_row(row: &DbRow) -> Result<TokenView> {
    let tz = row_timezone(row)?;
    Ok(TokenView {
        id: row.try_get("id")?,
        role: Role::parse(row.try_get("role")?).unwrap_or(Role::Viewer),
        event_id: row.try_get("event_id")?,
        venue_id: row.try_get("venue_id")?,
        label: row.try_get("label")?,
        created_at: local(row.try_get("created_at")?, tz),
        revoked_at: row.try_get::<Option<DateTime<Utc>>, _>("revoked_at")?.map(|at| local(at, tz)),
    })
}

const DEADLINE_COLUMNS: &str = "id, event_id, kind, title, due_at, reminders_from, remind_before, created_at";

async fn event_timezone(tx: &mut Tx, event_id: Uuid) -> Result<Tz> {
    let name: String =
        sqlx::query_scalar("SELECT timezone FROM events WHERE id = $1").bind(event_id).fetch_one(&mut **tx).await?;
    Ok(name.parse().unwrap_or(Tz::UTC))
}

fn deadline_from_row(row: &DbRow) -> Result<Deadline> {
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
        },
    })
}

async fn insert_deadline(
    tx: &mut Tx,
    event_id: Uuid,
    new: &NewDeadline,
    created_at: DateTime<Utc>,
) -> Result<Deadline> {
    let deadline = Deadline { id: Uuid::now_v7(), event_id, created_at, deadline: new.clone() };
    let offsets: Vec<u64> = new.remind_before.iter().map(|o| o.as_secs()).collect();
    sqlx::query(
        "INSERT INTO deadlines (id, event_id, kind, title, due_at, reminders_from, remind_before, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(deadline.id)
    .bind(event_id)
    .bind(new.kind.as_str())
    .bind(&new.title)
    .bind(new.due_at)
    .bind(new.reminders_from)
    .bind(Json(offsets))
    .bind(created_at)
    .execute(&mut **tx)
    .await?;
    Ok(deadline)
}

/// Branch venues, not rejected, that have not met a deadline of each kind.
const MISSING_REGISTRATION: &str = "SELECT v.id, v.name, v.contact_email, v.created_at FROM venues v
     WHERE v.event_id = $1 AND v.kind = 'branch' AND v.approval <> 'rejected' AND $2 IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.venue_id = v.id) ORDER BY v.id";
const MISSING_VIDEO_CHECK: &str = "SELECT v.id, v.name, v.contact_email, v.created_at FROM venues v
     WHERE v.event_id = $1 AND v.kind = 'branch' AND v.approval <> 'rejected' AND $2 IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM video_checks c WHERE c.venue_id = v.id AND c.result = 'passed') ORDER BY v.id";
const MISSING_DELIVERABLE: &str = "SELECT v.id, v.name, v.contact_email, v.created_at FROM venues v
     WHERE v.event_id = $1 AND v.kind = 'branch' AND v.approval <> 'rejected'
       AND NOT EXISTS (SELECT 1 FROM deliverables d WHERE d.venue_id = v.id AND d.deadline_id = $2) ORDER BY v.id";

const OUTBOX_COLUMNS: &str = "o.id, o.recipient, o.subject, o.kind, o.deadline_id, o.venue_id, o.status, o.attempts, o.last_error, \
     o.next_attempt_at, o.sent_at, o.created_at, e.timezone";

fn outbox_from_row(row: &DbRow) -> Result<OutboxView> {
    let tz = row_timezone(row)?;
    let status: String = row.try_get("status")?;
    let waiting = matches!(status.as_str(), "queued" | "sending" | "delivering");
    let next_attempt_at: DateTime<Utc> = row.try_get("next_attempt_at")?;
    Ok(OutboxView {
        id: row.try_get("id")?,
        to: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        kind: row.try_get("kind")?,
        deadline_id: row.try_get("deadline_id")?,
        venue_id: row.try_get("venue_id")?,
        // A message a worker is sending right now is still waiting, as far as anyone can tell;
        // one that may have been sent waits for the organiser, as a failed one does.
        status: match status.as_str() {
            _ if waiting => "queued".into(),
            "uncertain" => "failed".into(),
            _ => status,
        },
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        next_attempt_at: waiting.then(|| local(next_attempt_at, tz)),
        sent_at: row.try_get::<Option<DateTime<Utc>>, _>("sent_at")?.map(|at| local(at, tz)),
        created_at: local(row.try_get("created_at")?, tz),
    })
}

/// The live-feed row of an outbox change. The planner and the worker are the server itself,
/// so they write no audit entry: the outbox row is its own record.
async fn record_outbox_change(tx: &mut Tx, event_id: Uuid, venue_id: Option<Uuid>, what: &str) -> Result<()> {
    let seq = next_seq(tx, event_id).await?;
    append_change(tx, event_id, seq, venue_id, what, now()).await
}

/// Queues one message unless its `dedupe_key` is taken; its live-feed row goes with it.
async fn insert_message(tx: &mut Tx, m: &NewMessage) -> Result<bool> {
    let at = now();
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO outbox (id, event_id, dedupe_key, kind, deadline_id, venue_id, recipient, subject, body_text, body_html,
             status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', 0, $11, $11)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(m.event_id)
    .bind(&m.dedupe_key)
    .bind(&m.kind)
    .bind(m.deadline_id)
    .bind(m.venue_id)
    .bind(&m.recipient)
    .bind(&m.subject)
    .bind(&m.body_text)
    .bind(&m.body_html)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_some() {
        record_outbox_change(tx, m.event_id, m.venue_id, "outbox.queued").await?;
    }
    Ok(inserted.is_some())
}

/// Ends the attempt `claim_id` as `sent`, `queued` again, `failed` or `uncertain`. An attempt
/// whose row turned `uncertain` when its claim ran out still records what it learnt; one whose
/// row was queued again since (by the organiser) records nothing.
async fn finish_message(
    tx: &mut Tx,
    (id, claim_id): (Uuid, Uuid),
    status: &str,
    error: Option<&str>,
    next_attempt_at: Option<DateTime<Utc>>,
    at: DateTime<Utc>,
) -> Result<()> {
    let row = sqlx::query(
        "UPDATE outbox SET status = $2, last_error = $3, next_attempt_at = COALESCE($4, next_attempt_at), claimed_until = NULL,
             sent_at = CASE WHEN $2 = 'sent' THEN $5 ELSE sent_at END
         WHERE id = $1 AND claim_id = $6 AND status IN ('sending', 'delivering', 'uncertain')
         RETURNING event_id, venue_id",
    )
    .bind(id)
    .bind(status)
    .bind(error)
    .bind(next_attempt_at)
    .bind(at)
    .bind(claim_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = row {
        record_outbox_change(tx, row.try_get("event_id")?, row.try_get("venue_id")?, &format!("outbox.{status}"))
            .await?;
    }
    Ok(())
}

/// Messages whose worker's claim ran out while it was handing them over may have arrived: they
/// become `uncertain` rather than being taken over and sent again.
async fn settle_lost_hand_overs(tx: &mut Tx, now: DateTime<Utc>) -> Result<()> {
    let rows = sqlx::query(
        "UPDATE outbox SET status = 'uncertain', claimed_until = NULL,
             last_error = 'the worker stopped while handing the message to the SMTP server, so it may have been sent'
         WHERE status = 'delivering' AND claimed_until < $1 RETURNING event_id, venue_id",
    )
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    for row in rows {
        record_outbox_change(tx, row.try_get("event_id")?, row.try_get("venue_id")?, "outbox.uncertain").await?;
    }
    Ok(())
}

#[async_trait]
impl Store for Backend {
    async fn ready(&self) -> Result<()> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(self.reader()).await?;
        if applied < MIGRATOR.iter().count() as i64 {
            return Err(StoreError::Database(sqlx::Error::Protocol("migrations are not all applied".into())));
        }
        Ok(())
    }

    async fn grant(&self, token_hash: &str) -> Result<Option<Grant>> {
        let row =
            sqlx::query("SELECT id, role, event_id, venue_id FROM tokens WHERE token_hash = $1 AND revoked_at IS NULL")
                .bind(token_hash)
                .fetch_optional(self.reader())
                .await?;
        let Some(row) = row else { return Ok(None) };
        let Some(role) = Role::parse(row.try_get("role")?) else {
            return Ok(None);
        };
        Ok(Some(Grant {
            token_id: row.try_get("id")?,
            role,
            event_id: row.try_get("event_id")?,
            venue_id: row.try_get("venue_id")?,
        }))
    }

    async fn has_admin_token(&self) -> Result<bool> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE role = 'admin' AND revoked_at IS NULL")
            .fetch_one(self.reader())
            .await?;
        Ok(count > 0)
    }

    async fn set_admin_token(&self, token_hash: &str) -> Result<Uuid> {
        let mut tx = self.writer().begin().await?;
        // Instances starting together insert the same row at once: the unique hash decides. The
        // no-op update returns the row only while it is a live admin token; a revoked one stays
        // revoked, and the whole transaction, the revocation of the others included, is undone.
        let id: Option<Uuid> = sqlx::query_scalar(
            "INSERT INTO tokens (id, token_hash, role, event_id, venue_id, label, created_at) VALUES ($1, $2, 'admin', NULL, NULL, 'admin', $3)
             ON CONFLICT (token_hash) DO UPDATE SET label = tokens.label WHERE tokens.role = 'admin' AND tokens.revoked_at IS NULL
             RETURNING id",
        )
        .bind(Uuid::now_v7())
        .bind(token_hash)
        .bind(now())
        .fetch_optional(&mut *tx)
        .await?;
        let id = id.ok_or(StoreError::AlreadyRevoked)?;
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE role = 'admin' AND revoked_at IS NULL AND id <> $2")
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn create_event(&self, new: &NewEvent, actor: &Actor) -> Result<Event> {
        let event = Event { id: Uuid::now_v7(), created_at: now(), event: new.clone() };
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO events (id, title, timezone, starts_at, ends_at, arrive_minutes_before, registration_deadline,
                 video_check_starts_at, video_check_ends_at, default_capacity, organizer_email, created_at, requirements)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(event.id)
        .bind(&new.title)
        .bind(new.timezone.name())
        .bind(new.starts_at)
        .bind(new.ends_at)
        .bind(new.arrive_minutes_before)
        .bind(new.registration_deadline)
        .bind(new.video_check_starts_at)
        .bind(new.video_check_ends_at)
        .bind(new.default_capacity)
        .bind(&new.organizer_email)
        .bind(event.created_at)
        .bind(Json(&new.requirements))
        .execute(&mut *tx)
        .await?;
        for deadline in huichang_core::deadline::event_deadlines(new) {
            insert_deadline(&mut tx, event.id, &deadline, event.created_at).await?;
        }
        let seq = next_seq(&mut tx, event.id).await?;
        let detail = json!({"title": new.title});
        record(&mut tx, actor, Record::new((event.id, seq), None, "event.created", ("event", event.id), detail))
            .await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn event(&self, id: Uuid) -> Result<Option<Event>> {
        let mut conn = self.reader().acquire().await?;
        load_event(&mut conn, id).await
    }

    async fn update_event(&self, id: Uuid, new: &NewEvent, actor: &Actor) -> Result<Event> {
        let mut tx = self.writer().begin().await?;
        let seq = next_seq(&mut tx, id).await?;
        sqlx::query(
            "UPDATE events SET title = $2, timezone = $3, starts_at = $4, ends_at = $5, arrive_minutes_before = $6,
                 registration_deadline = $7, video_check_starts_at = $8, video_check_ends_at = $9, default_capacity = $10,
                 organizer_email = $11, requirements = $12
             WHERE id = $1",
        )
        .bind(id)
        .bind(&new.title)
        .bind(new.timezone.name())
        .bind(new.starts_at)
        .bind(new.ends_at)
        .bind(new.arrive_minutes_before)
        .bind(new.registration_deadline)
        .bind(new.video_check_starts_at)
        .bind(new.video_check_ends_at)
        .bind(new.default_capacity)
        .bind(&new.organizer_email)
        .bind(Json(&new.requirements))
        .execute(&mut *tx)
        .await?;
        for deadline in huichang_core::deadline::event_deadlines(new) {
            sqlx::query("UPDATE deadlines SET due_at = $3, reminders_from = $4 WHERE event_id = $1 AND kind = $2")
                .bind(id)
                .bind(deadline.kind.as_str())
                .bind(deadline.due_at)
                .bind(deadline.reminders_from)
                .execute(&mut *tx)
                .await?;
        }
        let detail =
            json!({"title": new.title, "starts_at": new.starts_at, "registration_deadline": new.registration_deadline});
        record(&mut tx, actor, Record::new((id, seq), None, "event.updated", ("event", id), detail)).await?;
        let event = load_event(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(event)
    }

    async fn events(&self, page: Page) -> Result<Vec<Event>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE ($1 IS NULL OR id > $1) ORDER BY id LIMIT $2"
        )))
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(event_from_row)
        .collect()
    }

    async fn create_venue(
        &self,
        event_id: Uuid,
        new: &NewVenue,
        tokens: &VenueTokens,
        actor: &Actor,
    ) -> Result<VenueView> {
        let mut tx = self.writer().begin().await?;
        let seq = next_seq(&mut tx, event_id).await?;
        // The event row is locked now, so these checks cannot race; the unique indexes stand behind them.
        if new.kind == VenueKind::Main {
            let mains: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM venues WHERE event_id = $1 AND kind = 'main'")
                .bind(event_id)
                .fetch_one(&mut *tx)
                .await?;
            if mains > 0 {
                return Err(StoreError::MainVenueExists);
            }
        }
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM venues WHERE event_id = $1 AND name = $2")
            .bind(event_id)
            .bind(&new.name)
            .fetch_one(&mut *tx)
            .await?;
        if taken > 0 {
            return Err(StoreError::VenueNameTaken(new.name.clone()));
        }
        let venue_id = Uuid::now_v7();
        let at = now();
        let approval = if new.kind == VenueKind::Main { Approval::Approved } else { Approval::Pending };
        sqlx::query(
            "INSERT INTO venues (id, event_id, name, kind, region, contact_email, approval, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(venue_id)
        .bind(event_id)
        .bind(&new.name)
        .bind(new.kind.as_str())
        .bind(&new.region)
        .bind(&new.contact_email)
        .bind(approval.as_str())
        .bind(at)
        .execute(&mut *tx)
        .await?;
        for room in &new.rooms {
            sqlx::query("INSERT INTO rooms (id, venue_id, name, capacity, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(Uuid::now_v7())
                .bind(venue_id)
                .bind(&room.name)
                .bind(room.capacity)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        insert_token(&mut tx, Role::Coordinator, &tokens.coordinator_hash, Some(event_id), Some(venue_id), "").await?;
        insert_token(&mut tx, Role::Technician, &tokens.technician_hash, Some(event_id), Some(venue_id), "").await?;
        let detail = json!({"name": new.name, "kind": new.kind.as_str(), "rooms": new.rooms.len()});
        record(
            &mut tx,
            actor,
            Record::new((event_id, seq), Some(venue_id), "venue.created", ("venue", venue_id), detail),
        )
        .await?;
        let venue = load_venue(&mut tx, venue_id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(venue)
    }

    async fn venue(&self, id: Uuid) -> Result<Option<VenueView>> {
        let mut conn = self.reader().acquire().await?;
        load_venue(&mut conn, id).await
    }

    async fn venues(&self, event_id: Uuid, page: Page) -> Result<Vec<VenueView>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{VENUE_SELECT} WHERE v.event_id = $1 AND ($2 IS NULL OR v.id > $2) ORDER BY v.id LIMIT $3"
        )))
        .bind(event_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?;
        let mut rooms: std::collections::HashMap<Uuid, Vec<RoomView>> = std::collections::HashMap::new();
        let room_rows = sqlx::query("SELECT r.id, r.venue_id, r.name, r.capacity, r.occupancy FROM rooms r JOIN venues v ON v.id = r.venue_id WHERE v.event_id = $1 ORDER BY r.id")
            .bind(event_id)
            .fetch_all(self.reader())
            .await?;
        for row in &room_rows {
            let (venue_id, room) = room_from_row(row)?;
            rooms.entry(venue_id).or_default().push(room);
        }
        rows.iter()
            .map(|row| {
                let id: Uuid = row.try_get("id")?;
                venue_from_row(row, rooms.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    async fn record_approval(&self, venue_id: Uuid, approval: &NewApproval, actor: &Actor) -> Result<VenueView> {
        let mut tx = self.writer().begin().await?;
        // The venue's row, then the event's: the order of every transaction that takes both.
        let event_id: Uuid = sqlx::query_scalar(
            "UPDATE venues SET approval = $2, approval_authority = $3, approval_reference = $4, approval_note = $5,
                 approval_recorded_at = $6 WHERE id = $1 RETURNING event_id",
        )
        .bind(venue_id)
        .bind(approval.status.as_str())
        .bind(&approval.authority)
        .bind(&approval.reference)
        .bind(&approval.note)
        .bind(now())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let action = if approval.status == Approval::Approved { "venue.approved" } else { "venue.rejected" };
        let detail = json!({"authority": approval.authority, "reference": approval.reference, "note": approval.note});
        record(&mut tx, actor, Record::next(event_id, Some(venue_id), action, ("venue", venue_id), detail)).await?;
        let venue = load_venue(&mut tx, venue_id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(venue)
    }

    async fn reissue_venue_token(&self, venue_id: Uuid, role: Role, token_hash: &str, actor: &Actor) -> Result<Uuid> {
        let mut tx = self.writer().begin().await?;
        let event_id = event_of_venue(&mut tx, venue_id).await?;
        let seq = next_seq(&mut tx, event_id).await?;
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE venue_id = $2 AND role = $3 AND revoked_at IS NULL")
            .bind(now())
            .bind(venue_id)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await?;
        let id = insert_token(&mut tx, role, token_hash, Some(event_id), Some(venue_id), "").await?;
        let detail = json!({"role": role.as_str(), "venue_id": venue_id});
        record(&mut tx, actor, Record::new((event_id, seq), Some(venue_id), "token.reissued", ("token", id), detail))
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn create_viewer_token(&self, event_id: Uuid, token_hash: &str, label: &str, actor: &Actor) -> Result<Uuid> {
        let mut tx = self.writer().begin().await?;
        let seq = next_seq(&mut tx, event_id).await?;
        let id = insert_token(&mut tx, Role::Viewer, token_hash, Some(event_id), None, label).await?;
        let detail = json!({"role": "viewer", "label": label});
        record(&mut tx, actor, Record::new((event_id, seq), None, "token.created", ("token", id), detail)).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn tokens(&self, event_id: Uuid) -> Result<Vec<TokenView>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{TOKEN_SELECT} WHERE t.event_id = $1 ORDER BY t.created_at DESC, t.id DESC"
        )))
        .bind(event_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    async fn token(&self, id: Uuid) -> Result<Option<TokenView>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{TOKEN_SELECT} WHERE t.id = $1")))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    async fn revoke_token(&self, id: Uuid, actor: &Actor) -> Result<TokenView> {
        let mut tx = self.writer().begin().await?;
        let event_id: Option<Uuid> = sqlx::query_scalar("SELECT event_id FROM tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let event_id = event_id.ok_or(StoreError::NotFound)?;
        let seq = next_seq(&mut tx, event_id).await?;
        // Decided by the row: of two revocations at once, one records it and the other is told.
        let revoked = sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        if revoked.rows_affected() == 0 {
            return Err(StoreError::AlreadyRevoked);
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{TOKEN_SELECT} WHERE t.id = $1")))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let token = token_from_row(&row)?;
        let detail = json!({"role": token.role.as_str(), "label": token.label});
        record(&mut tx, actor, Record::new((event_id, seq), token.venue_id, "token.revoked", ("token", id), detail))
            .await?;
        // The live-feed row names the token, for its clients to hear that it is theirs.
        sqlx::query("UPDATE changes SET revoked_token_id = $1 WHERE event_id = $2 AND seq = $3")
            .bind(id)
            .bind(event_id)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    async fn registration(&self, venue_id: Uuid) -> Result<RegistrationView> {
        let mut conn = self.reader().acquire().await?;
        load_registration(&mut conn, venue_id).await
    }

    async fn submit_registration(
        &self,
        venue_id: Uuid,
        submission: &Submission,
        late: bool,
        actor: &Actor,
    ) -> Result<RegistrationView> {
        let mut tx = self.writer().begin().await?;
        // The list, not the event: other venues' lists are merged meanwhile, and the event's
        // `seq` is taken with the change at the end.
        lock_list(&mut tx, venue_id).await?;
        let event_id = event_of_venue(&mut tx, venue_id).await?;
        let capacity = venue_capacity(&mut tx, venue_id).await?;
        let technician = sqlx::query("SELECT technician_name, technician_phone FROM registrations WHERE venue_id = $1")
            .bind(venue_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| -> Result<Technician> {
                Ok(Technician { name: row.try_get("technician_name")?, phone: row.try_get("technician_phone")? })
            })
            .transpose()?;
        let stored = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ATTENDEE_COLUMNS} FROM attendees WHERE venue_id = $1 AND status = 'registered' AND removed_at IS NULL ORDER BY position, id"
        )))
        .bind(venue_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(stored_attendee)
        .collect::<Result<Vec<_>>>()?;

        let merge = registration::merge(&stored, technician.as_ref(), submission, capacity, Uuid::now_v7)?;
        if merge.unchanged {
            // Nothing to store.
            drop(tx);
            return self.registration(venue_id).await;
        }
        let at = now();
        let removed_at = at;
        for id in &merge.removed {
            sqlx::query("UPDATE attendees SET removed_at = $1 WHERE id = $2")
                .bind(removed_at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
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
                        "UPDATE attendees SET organization = $2, title = $3, email = $4, participation = $5, position = $6 WHERE id = $1",
                    )
                    .bind(a.id)
                    .bind(&a.organization)
                    .bind(&a.title)
                    .bind(&a.email)
                    .bind(a.participation.as_str())
                    .bind(position as i64)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        insert_attendees(&mut tx, venue_id, &new_rows, None).await?;
        let revision: i64 = sqlx::query_scalar(
            "INSERT INTO registrations (venue_id, technician_name, technician_phone, submitted_at, late, revision)
             VALUES ($1, $2, $3, $4, $5, 1)
             ON CONFLICT (venue_id) DO UPDATE SET technician_name = excluded.technician_name,
                 technician_phone = excluded.technician_phone, submitted_at = excluded.submitted_at,
                 late = registrations.late OR excluded.late, revision = registrations.revision + 1
             RETURNING revision",
        )
        .bind(venue_id)
        .bind(&submission.technician.name)
        .bind(&submission.technician.phone)
        .bind(at)
        .bind(late)
        .fetch_one(&mut *tx)
        .await?;
        let removed: Vec<Value> = stored
            .iter()
            .filter(|a| merge.removed.contains(&a.id))
            .map(|a| json!({"id": a.id, "name": a.name, "organization": a.organization, "title": a.title}))
            .collect();
        let detail = json!({"revision": revision, "attendees": merge.rows.len(), "added": new_rows.len(), "removed": removed, "late": late});
        record(
            &mut tx,
            actor,
            Record::next(event_id, Some(venue_id), "registration.submitted", ("registration", venue_id), detail),
        )
        .await?;
        let view = load_registration(&mut tx, venue_id).await?;
        tx.commit().await?;
        Ok(view)
    }

    async fn attendee(&self, id: Uuid) -> Result<Option<AttendeeRef>> {
        let row = sqlx::query(
            "SELECT a.id, a.venue_id, v.event_id, a.status, a.participation, a.removed_at FROM attendees a
             JOIN venues v ON v.id = a.venue_id WHERE a.id = $1",
        )
        .bind(id)
        .fetch_optional(self.reader())
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

    async fn replace_attendee(
        &self,
        attendee_id: Uuid,
        replacement: &AttendeeInput,
        actor: &Actor,
    ) -> Result<AttendeeView> {
        let mut tx = self.writer().begin().await?;
        let venue_id: Uuid = sqlx::query_scalar("SELECT venue_id FROM attendees WHERE id = $1")
            .bind(attendee_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        lock_list(&mut tx, venue_id).await?;
        let event_id = event_of_venue(&mut tx, venue_id).await?;
        let seq = next_seq(&mut tx, event_id).await?;
        // Conditional: of two replacements racing for one attendee, exactly one wins.
        let old = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE attendees SET status = 'replaced' WHERE id = $1 AND status = 'registered' AND removed_at IS NULL RETURNING {ATTENDEE_COLUMNS}, position"
        )))
        .bind(attendee_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::AlreadyReplaced)?;
        let old_attendee = stored_attendee(&old)?;
        let position: i64 = old.try_get("position")?;
        let new = StoredAttendee {
            id: Uuid::now_v7(),
            name: replacement.name.clone(),
            organization: replacement.organization.clone(),
            title: replacement.title.clone(),
            phone: replacement.phone.clone(),
            email: replacement.email.clone(),
            participation: replacement.participation.unwrap_or(old_attendee.participation),
        };
        // Under the list's lock: neither the list nor the rooms' capacity (a cut takes the list
        // first) changes until commit.
        let capacity = venue_capacity(&mut tx, venue_id).await?;
        let onsite_others = onsite_count(&mut tx, venue_id).await?;
        registration::check_replacement(onsite_others as usize, new.participation, capacity)?;
        match insert_attendees(&mut tx, venue_id, &[(position as usize, &new)], Some(attendee_id)).await {
            Err(StoreError::Database(e)) if duplicate_person(&e) => {
                return Err(StoreError::AlreadyOnList(new.name));
            }
            other => other?,
        }
        sqlx::query("UPDATE registrations SET revision = revision + 1 WHERE venue_id = $1")
            .bind(venue_id)
            .execute(&mut *tx)
            .await?;
        let detail = json!({"replaced": {"id": old_attendee.id, "name": old_attendee.name}, "by": {"id": new.id, "name": new.name}});
        record(
            &mut tx,
            actor,
            Record::new((event_id, seq), Some(venue_id), "attendee.replaced", ("attendee", new.id), detail),
        )
        .await?;
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
            status: AttendeeStatus::Registered,
            replaces: Some(attendee_id),
        })
    }

    async fn create_deadline(&self, event_id: Uuid, new: &NewDeadline, actor: &Actor) -> Result<Deadline> {
        let mut tx = self.writer().begin().await?;
        let seq = next_seq(&mut tx, event_id).await?;
        let deadline = insert_deadline(&mut tx, event_id, new, now()).await?;
        let detail = json!({"kind": new.kind.as_str(), "title": new.title, "due_at": new.due_at});
        record(
            &mut tx,
            actor,
            Record::new((event_id, seq), None, "deadline.created", ("deadline", deadline.id), detail),
        )
        .await?;
        tx.commit().await?;
        Ok(deadline)
    }

    async fn deadlines(&self, event_id: Uuid) -> Result<Vec<Deadline>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE event_id = $1 ORDER BY due_at, id"
        )))
        .bind(event_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(deadline_from_row)
        .collect()
    }

    async fn deadline(&self, id: Uuid) -> Result<Option<Deadline>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.as_ref().map(deadline_from_row).transpose()
    }

    async fn complete_deliverable(
        &self,
        deadline_id: Uuid,
        venue_id: Uuid,
        done: &DeliverableDone,
        actor: &Actor,
    ) -> Result<DeliverableView> {
        let mut tx = self.writer().begin().await?;
        let event_id = event_of_venue(&mut tx, venue_id).await?;
        let seq = next_seq(&mut tx, event_id).await?;
        let at = now();
        let file = done.file.as_ref();
        sqlx::query(
            "INSERT INTO deliverables (deadline_id, venue_id, note, file_name, file_type, file_size, file, done_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (deadline_id, venue_id) DO UPDATE SET note = excluded.note, file_name = excluded.file_name,
                 file_type = excluded.file_type, file_size = excluded.file_size, file = excluded.file, done_at = excluded.done_at",
        )
        .bind(deadline_id)
        .bind(venue_id)
        .bind(&done.note)
        .bind(file.map(|f| f.name.as_str()))
        .bind(file.map(|f| f.content_type.as_str()))
        .bind(file.map(|f| f.bytes.len() as i64))
        .bind(file.map(|f| f.bytes.as_slice()))
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let detail = json!({"deadline_id": deadline_id, "note": done.note, "file": file.map(|f| &f.name)});
        record(
            &mut tx,
            actor,
            Record::new((event_id, seq), Some(venue_id), "deliverable.done", ("venue", venue_id), detail),
        )
        .await?;
        let tz = event_timezone(&mut tx, event_id).await?;
        tx.commit().await?;
        Ok(DeliverableView {
            deadline_id,
            venue_id,
            note: done.note.clone(),
            file_name: file.map(|f| f.name.clone()),
            file_size: file.map(|f| f.bytes.len() as i64),
            done_at: local(at, tz),
        })
    }

    async fn deliverables(&self, venue_id: Uuid) -> Result<Vec<DeliverableView>> {
        let rows = sqlx::query(
            "SELECT d.deadline_id, d.note, d.file_name, d.file_size, d.done_at, e.timezone FROM deliverables d
             JOIN venues v ON v.id = d.venue_id JOIN events e ON e.id = v.event_id
             WHERE d.venue_id = $1 ORDER BY d.done_at",
        )
        .bind(venue_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let tz = row_timezone(row)?;
                Ok(DeliverableView {
                    deadline_id: row.try_get("deadline_id")?,
                    venue_id,
                    note: row.try_get("note")?,
                    file_name: row.try_get("file_name")?,
                    file_size: row.try_get("file_size")?,
                    done_at: local(row.try_get("done_at")?, tz),
                })
            })
            .collect()
    }

    async fn plan_items(&self, now: DateTime<Utc>, horizon: chrono::Duration) -> Result<Vec<PlanItem>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE due_at >= $1 ORDER BY id"
        )))
        .bind(now - horizon)
        .fetch_all(self.reader())
        .await?;
        let mut items = Vec::new();
        for row in &rows {
            let deadline = deadline_from_row(row)?;
            // Nothing is owed before the first notice's time.
            if deadline.notices().first().is_none_or(|first| first.at() > now) {
                continue;
            }
            let Some(event) = self.event(deadline.event_id).await? else { continue };
            let missing_sql = match deadline.deadline.kind {
                DeadlineKind::Registration => MISSING_REGISTRATION,
                DeadlineKind::VideoCheck => MISSING_VIDEO_CHECK,
                DeadlineKind::Deliverable => MISSING_DELIVERABLE,
            };
            let missing = sqlx::query(missing_sql)
                .bind(deadline.event_id)
                .bind(deadline.id)
                .fetch_all(self.reader())
                .await?
                .iter()
                .map(|r| {
                    Ok(VenueContact {
                        id: r.try_get("id")?,
                        name: r.try_get("name")?,
                        contact_email: r.try_get("contact_email")?,
                        created_at: r.try_get("created_at")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let queued = sqlx::query_scalar::<_, String>("SELECT dedupe_key FROM outbox WHERE deadline_id = $1")
                .bind(deadline.id)
                .fetch_all(self.reader())
                .await?
                .into_iter()
                .collect();
            items.push(PlanItem { event, deadline, missing, queued });
        }
        Ok(items)
    }

    async fn enqueue(&self, messages: &[NewMessage]) -> Result<usize> {
        // Each message takes its event's row for a seq: in event id order, as every other
        // writer takes events, so planners queueing for the same events never deadlock.
        let mut ordered: Vec<&NewMessage> = messages.iter().collect();
        ordered.sort_by_key(|m| m.event_id);
        let mut queued = 0;
        let mut tx = self.writer().begin().await?;
        for message in ordered {
            if insert_message(&mut tx, message).await? {
                queued += 1;
            }
        }
        tx.commit().await?;
        Ok(queued)
    }

    async fn claim_message(
        &self,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
        message_id: &str,
    ) -> Result<Option<ClaimedMessage>> {
        let mut tx = self.writer().begin().await?;
        settle_lost_hand_overs(&mut tx, now).await?;
        let row = sqlx::query(CLAIM_NEXT_MESSAGE)
            .bind(now)
            .bind(claim_until)
            .bind(Uuid::new_v4())
            .bind(message_id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|row| {
            Ok(ClaimedMessage {
                id: row.try_get("id")?,
                event_id: row.try_get("event_id")?,
                recipient: row.try_get("recipient")?,
                subject: row.try_get("subject")?,
                body_text: row.try_get("body_text")?,
                body_html: row.try_get("body_html")?,
                attempts: row.try_get("attempts")?,
                claim_id: row.try_get("claim_id")?,
                message_id: row.try_get("message_id")?,
            })
        })
        .transpose()
    }

    async fn message_handing_over(&self, id: Uuid, claim_id: Uuid) -> Result<bool> {
        let held = sqlx::query(
            "UPDATE outbox SET status = 'delivering' WHERE id = $1 AND claim_id = $2 AND status = 'sending'",
        )
        .bind(id)
        .bind(claim_id)
        .execute(self.writer())
        .await?;
        Ok(held.rows_affected() == 1)
    }

    async fn message_sent(&self, id: Uuid, claim_id: Uuid, at: DateTime<Utc>) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        finish_message(&mut tx, (id, claim_id), "sent", None, None, event::truncate(at)).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn message_failed(
        &self,
        id: Uuid,
        claim_id: Uuid,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        let status = if retry_at.is_some() { "queued" } else { "failed" };
        finish_message(&mut tx, (id, claim_id), status, Some(error), retry_at, now()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn message_uncertain(&self, id: Uuid, claim_id: Uuid, error: &str) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        finish_message(&mut tx, (id, claim_id), "uncertain", Some(error), None, now()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outbox(&self, event_id: Uuid, page: Page) -> Result<Vec<OutboxView>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox o JOIN events e ON e.id = o.event_id
             WHERE o.event_id = $1 AND ($2 IS NULL OR o.id > $2) ORDER BY o.id LIMIT $3"
        )))
        .bind(event_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(outbox_from_row)
        .collect()
    }

    async fn message_event(&self, id: Uuid) -> Result<Option<Uuid>> {
        Ok(sqlx::query_scalar("SELECT event_id FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?)
    }

    async fn retry_message(&self, id: Uuid, actor: &Actor) -> Result<OutboxView> {
        let mut tx = self.writer().begin().await?;
        let row = sqlx::query(
            "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = $2, claim_id = NULL, claimed_until = NULL
             WHERE id = $1 AND status IN ('failed', 'uncertain') RETURNING event_id, venue_id",
        )
        .bind(id)
        .bind(now())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFailed)?;
        let event_id: Uuid = row.try_get("event_id")?;
        let seq = next_seq(&mut tx, event_id).await?;
        record(
            &mut tx,
            actor,
            Record::new((event_id, seq), row.try_get("venue_id")?, "outbox.retried", ("message", id), json!({})),
        )
        .await?;
        let view = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox o JOIN events e ON e.id = o.event_id WHERE o.id = $1"
        )))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let view = outbox_from_row(&view)?;
        tx.commit().await?;
        Ok(view)
    }

    async fn record_video_check(
        &self,
        venue_id: Uuid,
        check: &NewVideoCheck,
        in_window: bool,
        actor: &Actor,
    ) -> Result<VideoCheckView> {
        let mut tx = self.writer().begin().await?;
        let event_id = event_of_venue(&mut tx, venue_id).await?;
        let seq = next_seq(&mut tx, event_id).await?;
        let (id, at) = (Uuid::now_v7(), now());
        let items = Value::Object(check.items.clone());
        sqlx::query("INSERT INTO video_checks (id, venue_id, result, items, note, in_window, at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(id)
            .bind(venue_id)
            .bind(check.result.as_str())
            .bind(Json(&items))
            .bind(&check.note)
            .bind(in_window)
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let action = if check.result == huichang_core::door::CheckResult::Passed {
            "video_check.passed"
        } else {
            "video_check.failed"
        };
        let detail = json!({"items": items, "note": check.note, "in_window": in_window});
        record(&mut tx, actor, Record::new((event_id, seq), Some(venue_id), action, ("venue", venue_id), detail))
            .await?;
        let tz = event_timezone(&mut tx, event_id).await?;
        tx.commit().await?;
        Ok(VideoCheckView {
            id,
            venue_id,
            result: check.result,
            items,
            note: check.note.clone(),
            at: local(at, tz),
            in_window,
        })
    }

    async fn video_checks(&self, venue_id: Uuid) -> Result<Vec<VideoCheckView>> {
        let rows = sqlx::query(
            "SELECT c.id, c.result, c.items, c.note, c.in_window, c.at, e.timezone FROM video_checks c
             JOIN venues v ON v.id = c.venue_id JOIN events e ON e.id = v.event_id
             WHERE c.venue_id = $1 ORDER BY c.id DESC",
        )
        .bind(venue_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let tz = row_timezone(row)?;
                Ok(VideoCheckView {
                    id: row.try_get("id")?,
                    venue_id,
                    result: huichang_core::door::CheckResult::parse(row.try_get("result")?)
                        .unwrap_or(huichang_core::door::CheckResult::Failed),
                    items: row.try_get::<Json<Value>, _>("items")?.0,
                    note: row.try_get("note")?,
                    at: local(row.try_get("at")?, tz),
                    in_window: row.try_get("in_window")?,
                })
            })
            .collect()
    }

    async fn set_video_link(&self, venue_id: Uuid, status: LinkStatus, actor: &Actor) -> Result<VenueView> {
        let mut tx = self.writer().begin().await?;
        // Every post is a heartbeat: it keeps the link from being swept as lost. It takes the
        // venue's row, with the status as it stands, before the event's row, as everywhere.
        let row = sqlx::query("UPDATE venues SET video_link_at = $2 WHERE id = $1 RETURNING event_id, video_link")
            .bind(venue_id)
            .bind(now())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if row.try_get::<String, _>("video_link")? != status.as_str() {
            sqlx::query("UPDATE venues SET video_link = $2 WHERE id = $1")
                .bind(venue_id)
                .bind(status.as_str())
                .execute(&mut *tx)
                .await?;
            let action = format!("video_link.{}", status.as_str());
            let event_id = row.try_get("event_id")?;
            record(&mut tx, actor, Record::next(event_id, Some(venue_id), &action, ("venue", venue_id), json!({})))
                .await?;
        }
        let venue = load_venue(&mut tx, venue_id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(venue)
    }

    async fn sweep_video_links(&self, silent_since: DateTime<Utc>) -> Result<usize> {
        let mut tx = self.writer().begin().await?;
        // Conditional: of two sweepers, only the first finds the link still connected. The
        // venues' rows are taken in id order, then the events' rows in id order.
        let lost = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE venues SET video_link = 'lost'
             WHERE id IN (SELECT id FROM venues WHERE video_link = 'connected' AND video_link_at < $1 {LOCK_SILENT_LINKS})
               AND video_link = 'connected' AND video_link_at < $1
             RETURNING id, event_id, video_link_at"
        )))
        .bind(silent_since)
        .fetch_all(&mut *tx)
        .await?;
        let mut lost = lost
            .iter()
            .map(|row| {
                let last: Option<DateTime<Utc>> = row.try_get("video_link_at")?;
                Ok((row.try_get::<Uuid, _>("event_id")?, row.try_get::<Uuid, _>("id")?, last))
            })
            .collect::<Result<Vec<_>>>()?;
        lost.sort();
        for &(event_id, venue_id, last) in &lost {
            let detail = json!({"last_heard": last});
            record(
                &mut tx,
                &Actor::server(),
                Record::next(event_id, Some(venue_id), "video_link.lost", ("venue", venue_id), detail),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(lost.len())
    }

    async fn checkins(&self, room_id: Uuid) -> Result<Vec<CheckinView>> {
        let rows = sqlx::query(
            "SELECT c.attendee_id, c.checked_in_at, e.timezone FROM checkins c
             JOIN rooms r ON r.id = c.room_id JOIN venues v ON v.id = r.venue_id JOIN events e ON e.id = v.event_id
             WHERE c.room_id = $1 AND c.checked_out_at IS NULL ORDER BY c.checked_in_at, c.id",
        )
        .bind(room_id)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let tz = row_timezone(row)?;
                Ok(CheckinView {
                    attendee_id: row.try_get("attendee_id")?,
                    room_id,
                    checked_in_at: local(row.try_get("checked_in_at")?, tz),
                })
            })
            .collect()
    }

    async fn room(&self, id: Uuid) -> Result<Option<RoomRef>> {
        let row = sqlx::query("SELECT r.id, r.venue_id, v.event_id, r.name, r.capacity, r.occupancy FROM rooms r JOIN venues v ON v.id = r.venue_id WHERE r.id = $1")
            .bind(id)
            .fetch_optional(self.reader())
            .await?;
        row.map(|row| {
            Ok(RoomRef {
                id: row.try_get("id")?,
                venue_id: row.try_get("venue_id")?,
                event_id: row.try_get("event_id")?,
                name: row.try_get("name")?,
                capacity: row.try_get("capacity")?,
                occupancy: row.try_get("occupancy")?,
            })
        })
        .transpose()
    }

    async fn add_attestation(
        &self,
        attendee_id: Uuid,
        key: &str,
        at: DateTime<Utc>,
        actor: &Actor,
    ) -> Result<AttestationView> {
        let mut tx = self.writer().begin().await?;
        let venue_id: Uuid = sqlx::query_scalar("SELECT venue_id FROM attendees WHERE id = $1")
            .bind(attendee_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let event_id = event_of_venue(&mut tx, venue_id).await?;
        let seq = next_seq(&mut tx, event_id).await?;
        let id = Uuid::now_v7();
        sqlx::query("INSERT INTO attestations (id, attendee_id, key, at, recorded_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id)
            .bind(attendee_id)
            .bind(key)
            .bind(at)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        let detail = json!({"key": key, "at": at});
        record(
            &mut tx,
            actor,
            Record::new((event_id, seq), Some(venue_id), "attestation.recorded", ("attendee", attendee_id), detail),
        )
        .await?;
        let tz = event_timezone(&mut tx, event_id).await?;
        tx.commit().await?;
        Ok(AttestationView { id, attendee_id, key: key.to_owned(), at: local(at, tz) })
    }

    async fn check_in(&self, room_id: Uuid, attendee_id: Uuid, actor: &Actor) -> Result<CheckinView> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let arrival = Arrival { room_id, attendee_id, actor: actor.clone(), answer };
        // The writers stop only with the store, or by a panic: either way, no database to write to.
        let stopped = || StoreError::Database(sqlx::Error::PoolClosed);
        self.door.queue(self.writer()).send(arrival).await.map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }

    async fn check_out(&self, room_id: Uuid, attendee_id: Uuid, actor: &Actor) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        let closed = sqlx::query("UPDATE checkins SET checked_out_at = $3 WHERE attendee_id = $1 AND room_id = $2 AND checked_out_at IS NULL")
            .bind(attendee_id)
            .bind(room_id)
            .bind(now())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if closed == 0 {
            return Err(StoreError::NotCheckedIn);
        }
        let venue_id: Uuid =
            sqlx::query_scalar("UPDATE rooms SET occupancy = occupancy - 1 WHERE id = $1 RETURNING venue_id")
                .bind(room_id)
                .fetch_one(&mut *tx)
                .await?;
        let event_id = event_of_venue(&mut tx, venue_id).await?;
        let detail = json!({"room_id": room_id});
        record(
            &mut tx,
            actor,
            Record::next(event_id, Some(venue_id), "checkin.closed", ("attendee", attendee_id), detail),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_room_capacity(
        &self,
        room_id: Uuid,
        capacity: i64,
        actor: &Actor,
        notice: &OnlineNotice,
    ) -> Result<CapacityChange> {
        let mut tx = self.writer().begin().await?;
        // The list, the room, then the event: the order of check-ins and list changes, so that
        // none of them can deadlock with this.
        let venue_id: Uuid = sqlx::query_scalar("SELECT venue_id FROM rooms WHERE id = $1")
            .bind(room_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        lock_list(&mut tx, venue_id).await?;
        let room = sqlx::query(
            "UPDATE rooms SET capacity = $2 WHERE id = $1 RETURNING id, venue_id, name, capacity, occupancy",
        )
        .bind(room_id)
        .bind(capacity)
        .fetch_one(&mut *tx)
        .await?;
        let (_, room) = room_from_row(&room)?;
        let event_id = event_of_venue(&mut tx, venue_id).await?;
        let seq = next_seq(&mut tx, event_id).await?;
        let venue_capacity = venue_capacity(&mut tx, venue_id).await?;
        let onsite = onsite_count(&mut tx, venue_id).await?;
        let excess = (onsite - venue_capacity).max(0);
        // Most recently added first; within one list, later rows count as later.
        let moved = sqlx::query(
            "SELECT id, name, email FROM attendees
             WHERE venue_id = $1 AND status = 'registered' AND removed_at IS NULL AND participation = 'onsite'
             ORDER BY added_at DESC, position DESC, id DESC LIMIT $2",
        )
        .bind(venue_id)
        .bind(excess)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| {
            Ok(MovedOnline {
                attendee_id: row.try_get("id")?,
                name: row.try_get("name")?,
                email: row.try_get("email")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let event = load_event(&mut tx, event_id).await?.ok_or(StoreError::NotFound)?;
        let mut emailed = 0;
        for person in &moved {
            sqlx::query("UPDATE attendees SET participation = 'online' WHERE id = $1")
                .bind(person.attendee_id)
                .execute(&mut *tx)
                .await?;
            if let Some(mut message) = notice(&event, person) {
                message.dedupe_key = format!("online:{}:{seq}", person.attendee_id);
                message.venue_id = Some(venue_id);
                if insert_message(&mut tx, &message).await? {
                    emailed += 1;
                }
            }
        }
        let moved_online: Vec<Uuid> = moved.iter().map(|m| m.attendee_id).collect();
        let detail = json!({"room_id": room_id, "capacity": capacity, "venue_capacity": venue_capacity, "moved_online": moved_online});
        record(
            &mut tx,
            actor,
            Record::new((event_id, seq), Some(venue_id), "room.capacity_changed", ("room", room_id), detail),
        )
        .await?;
        tx.commit().await?;
        Ok(CapacityChange { room, venue_capacity, moved_online, emailed })
    }

    async fn dashboard(&self, event_id: Uuid, now: DateTime<Utc>) -> Result<Option<(Event, i64, Vec<VenueRow>)>> {
        let mut tx = self.reader().begin().await?;
        if let Some(snapshot) = SNAPSHOT {
            sqlx::query(snapshot).execute(&mut *tx).await?;
        }
        let Some(row) =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {EVENT_COLUMNS}, last_seq FROM events WHERE id = $1")))
                .bind(event_id)
                .fetch_optional(&mut *tx)
                .await?
        else {
            return Ok(None);
        };
        let event = event_from_row(&row)?;
        let seq: i64 = row.try_get("last_seq")?;
        let rows = sqlx::query(
            "SELECT v.id, v.name, v.kind, v.region, v.approval, v.video_link,
                 (SELECT c.result FROM video_checks c WHERE c.venue_id = v.id ORDER BY c.id DESC LIMIT 1) AS video_check,
                 (SELECT COUNT(*) FROM attendees a WHERE a.venue_id = v.id AND a.status = 'registered' AND a.removed_at IS NULL) AS registered,
                 (SELECT COUNT(*) FROM attendees a WHERE a.venue_id = v.id AND a.status = 'registered' AND a.removed_at IS NULL
                      AND a.participation = 'online') AS online,
                 (SELECT CAST(COALESCE(SUM(r.capacity), 0) AS BIGINT) FROM rooms r WHERE r.venue_id = v.id) AS capacity,
                 (SELECT CAST(COALESCE(SUM(r.occupancy), 0) AS BIGINT) FROM rooms r WHERE r.venue_id = v.id) AS checked_in,
                 g.venue_id IS NOT NULL AS technician, COALESCE(g.late, FALSE) AS late,
                 EXISTS (SELECT 1 FROM video_checks c WHERE c.venue_id = v.id AND c.result = 'passed') AS video_passed_once
             FROM venues v LEFT JOIN registrations g ON g.venue_id = v.id
             WHERE v.event_id = $1 ORDER BY v.id",
        )
        .bind(event_id)
        .fetch_all(&mut *tx)
        .await?;
        let deadlines: Vec<Deadline> = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE event_id = $1 AND due_at <= $2 ORDER BY due_at, id"
        )))
        .bind(event_id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(deadline_from_row)
        .collect::<Result<_>>()?;
        let done: std::collections::HashSet<(Uuid, Uuid)> = sqlx::query("SELECT d.deadline_id, d.venue_id FROM deliverables d JOIN deadlines l ON l.id = d.deadline_id WHERE l.event_id = $1")
            .bind(event_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("deadline_id")?, r.try_get("venue_id")?)))
            .collect::<Result<_>>()?;
        let venues = rows
            .iter()
            .map(|row| {
                let id: Uuid = row.try_get("id")?;
                let kind = VenueKind::parse(row.try_get("kind")?).unwrap_or(VenueKind::Branch);
                let approval = Approval::parse(row.try_get("approval")?).unwrap_or(Approval::Pending);
                let technician: bool = row.try_get("technician")?;
                let passed: bool = row.try_get("video_passed_once")?;
                // Only branch venues that may open owe anything, as with the reminders.
                let owes = kind == VenueKind::Branch && approval != Approval::Rejected;
                let overdue = deadlines
                    .iter()
                    .filter(|d| {
                        owes && match d.deadline.kind {
                            DeadlineKind::Registration => !technician,
                            DeadlineKind::VideoCheck => !passed,
                            DeadlineKind::Deliverable => !done.contains(&(d.id, id)),
                        }
                    })
                    .map(|d| d.id)
                    .collect();
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
                })
            })
            .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok(Some((event, seq, venues)))
    }

    async fn change_announcements(&self) -> Result<Option<tokio::sync::broadcast::Receiver<Uuid>>> {
        self.announcements().await
    }

    async fn audit(&self, event_id: Uuid, page: Page) -> Result<Vec<AuditEntry>> {
        let tz: Tz = self.event(event_id).await?.ok_or(StoreError::NotFound)?.event.timezone;
        let rows = sqlx::query(
            "SELECT id, at, actor_role, actor_token_id, address, action, target_kind, target_id, detail FROM audit_log
             WHERE event_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(event_id)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                let Json(detail): Json<Value> = row.try_get("detail")?;
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: local(row.try_get("at")?, tz),
                    actor: AuditActor {
                        role: Role::parse(row.try_get("actor_role")?).unwrap_or(Role::Admin),
                        token_id: row.try_get("actor_token_id")?,
                    },
                    address: row.try_get("address")?,
                    action: row.try_get("action")?,
                    target: AuditTarget { kind: row.try_get("target_kind")?, id: row.try_get("target_id")? },
                    detail,
                })
            })
            .collect()
    }

    async fn changes(&self, event_id: Uuid, after_seq: i64, limit: i64) -> Result<Vec<Change>> {
        sqlx::query(
            "SELECT seq, venue_id, what, at, revoked_token_id FROM changes WHERE event_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(event_id)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|row| {
            Ok(Change {
                seq: row.try_get("seq")?,
                venue_id: row.try_get("venue_id")?,
                what: row.try_get("what")?,
                at: row.try_get("at")?,
                revoked_token_id: row.try_get("revoked_token_id")?,
            })
        })
        .collect()
    }
}

/// Check-ins that arrive together are written together: one transaction, one commit, and the
/// event row (its `seq`) taken once for all of them. Each check-in alone holds that row from its
/// change to its commit, so a busy door would otherwise spend its time waiting for its turn.
pub(super) struct Door {
    queue: std::sync::OnceLock<tokio::sync::mpsc::Sender<Arrival>>,
}

/// Check-ins one transaction carries at most.
const DOOR_BATCH: usize = 64;
/// Transactions writing check-ins side by side: while one commits, the next gathers its batch.
const DOOR_WRITERS: usize = 4;

struct Arrival {
    room_id: Uuid,
    attendee_id: Uuid,
    actor: Actor,
    answer: tokio::sync::oneshot::Sender<Result<CheckinView>>,
}

impl Door {
    pub(super) fn new() -> Door {
        Door { queue: std::sync::OnceLock::new() }
    }

    /// The queue of check-ins, with its writers started on first use (inside the runtime).
    fn queue(&self, pool: &sqlx::Pool<Db>) -> &tokio::sync::mpsc::Sender<Arrival> {
        self.queue.get_or_init(|| {
            let (sender, receiver) = tokio::sync::mpsc::channel(1024);
            let receiver = std::sync::Arc::new(tokio::sync::Mutex::new(receiver));
            for _ in 0..DOOR_WRITERS {
                tokio::spawn(write_checkins(pool.clone(), receiver.clone()));
            }
            sender
        })
    }
}

/// Takes what is waiting, writes it in one transaction and answers each. When the transaction
/// fails (the database, or a deadlock with another instance's batch), each check-in is tried
/// again on its own, so that one cannot take the others down with it.
async fn write_checkins(
    pool: sqlx::Pool<Db>,
    receiver: std::sync::Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<Arrival>>>,
) {
    loop {
        let mut batch = Vec::new();
        {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else { return };
            batch.push(first);
            while batch.len() < DOOR_BATCH
                && let Ok(next) = receiver.try_recv()
            {
                batch.push(next);
            }
        }
        match check_in_together(&pool, &batch).await {
            Ok(answers) => {
                for (arrival, answer) in batch.into_iter().zip(answers) {
                    let _ = arrival.answer.send(answer);
                }
            }
            Err(error) if batch.len() == 1 => {
                let _ = batch.pop().map(|arrival| arrival.answer.send(Err(error)));
            }
            Err(_) => {
                for arrival in batch {
                    let answer = check_in_together(&pool, std::slice::from_ref(&arrival))
                        .await
                        .and_then(|mut answers| answers.pop().ok_or(StoreError::NotFound))
                        .and_then(|answer| answer);
                    let _ = arrival.answer.send(answer);
                }
            }
        }
    }
}

/// One transaction for `batch`: what the door checks first, venue by venue, then every seat, in
/// room order, then the changes of each event in a few statements, in event order. Every writer
/// takes rows in this order (a venue's list and row, a room, the event), so batches of several
/// writers cannot deadlock each other, nor with a list change, a capacity cut, a decision on the
/// approval or the video link.
async fn check_in_together(pool: &sqlx::Pool<Db>, batch: &[Arrival]) -> Result<Vec<Result<CheckinView>>> {
    let mut tx = pool.begin().await?;
    let mut answers: Vec<Option<Result<CheckinView>>> = batch.iter().map(|_| None).collect();
    let mut places = Vec::with_capacity(batch.len());
    for (i, admitted) in admit_together(&mut tx, batch).await?.into_iter().enumerate() {
        places.push(admitted.map_err(|refusal| answers[i] = Some(Err(refusal))).ok());
    }
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| (batch[i].room_id, batch[i].attendee_id));
    let mut seated = Vec::new();
    for i in order {
        let Some(place) = places[i] else { continue };
        match take_seat(&mut tx, batch[i].room_id, batch[i].attendee_id).await? {
            Ok(at) => seated.push((place.event_id, i, place.venue_id, at, place.tz)),
            Err(refusal) => answers[i] = Some(Err(refusal)),
        }
    }
    seated.sort_by_key(|&(event_id, i, ..)| (event_id, i));
    for changes in seated.chunk_by(|a, b| a.0 == b.0) {
        let event_id: Uuid = changes[0].0;
        let count = changes.len() as i64;
        // The event's next `count` numbers at once: the row is taken here and held to the commit.
        let last: i64 =
            sqlx::query_scalar("UPDATE events SET last_seq = last_seq + $2 WHERE id = $1 RETURNING last_seq")
                .bind(event_id)
                .bind(count)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        let mut rows = QueryBuilder::<Db>::new("INSERT INTO changes (event_id, seq, venue_id, what, at) ");
        rows.push_values(changes.iter().zip(last - count + 1..), |mut row, (&(_, _, venue_id, at, _), seq)| {
            row.push_bind(event_id).push_bind(seq).push_bind(venue_id).push_bind("checkin.created").push_bind(at);
        });
        rows.build().execute(&mut *tx).await?;
        let entries = changes
            .iter()
            .map(|&(_, i, venue_id, at, _)| {
                let Arrival { room_id, attendee_id, actor, .. } = &batch[i];
                let detail = json!({"room_id": room_id});
                (
                    actor,
                    at,
                    Record::next(event_id, Some(venue_id), "checkin.created", ("attendee", *attendee_id), detail),
                )
            })
            .collect();
        insert_audit(&mut tx, entries).await?;
        if let Some(announce) = ANNOUNCE_CHANGE {
            sqlx::query(announce).bind(event_id.to_string()).execute(&mut *tx).await?;
        }
        for &(_, i, _, at, tz) in changes {
            let Arrival { room_id, attendee_id, .. } = &batch[i];
            answers[i] =
                Some(Ok(CheckinView { attendee_id: *attendee_id, room_id: *room_id, checked_in_at: local(at, tz) }));
        }
    }
    tx.commit().await?;
    Ok(answers.into_iter().map(|answer| answer.unwrap_or(Err(StoreError::NotFound))).collect())
}

/// The venue a person arrives at, once the door lets them look for a seat there.
#[derive(Debug, Clone, Copy)]
struct Place {
    venue_id: Uuid,
    event_id: Uuid,
    tz: Tz,
}

/// What the door checks before a seat, for each arrival of a batch, read in the batch's
/// transaction and held to its commit: each room's venue list (shared: check-ins go side by side,
/// a change to the list waits for them or they for it) and the venue's row with its approval.
/// So a person replaced, removed or moved online, or a venue whose approval is withdrawn, just
/// before is refused, and one changed just after was let in before the change, in the change log
/// too. A few statements per batch, whatever the number of people and venues.
async fn admit_together(tx: &mut Tx, batch: &[Arrival]) -> Result<Vec<Result<Place>>> {
    let venue_of: std::collections::HashMap<Uuid, Uuid> =
        with_ids("SELECT id, venue_id FROM rooms WHERE id IN", batch.iter().map(|a| a.room_id))
            .build()
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("venue_id")?)))
            .collect::<Result<_>>()?;
    let mut venue_ids: Vec<Uuid> = venue_of.values().copied().collect();
    venue_ids.sort();
    venue_ids.dedup();
    if let Some(share) = SHARE_LISTS {
        with_ids(share, venue_ids.iter().copied()).build().execute(&mut **tx).await?;
    }
    let mut venues = with_ids(
        "SELECT v.id, v.event_id, v.kind, v.approval, e.timezone, e.starts_at, e.requirements
         FROM venues v JOIN events e ON e.id = v.event_id WHERE v.id IN",
        venue_ids.iter().copied(),
    );
    venues.push(" ").push(SHARE_VENUE);
    let venues: std::collections::HashMap<Uuid, Gate> = venues
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("id")?, Gate::from_row(row)?)))
        .collect::<Result<_>>()?;
    let people: Vec<Uuid> = batch.iter().map(|a| a.attendee_id).collect();
    let state = attendee_states(tx, &people).await?;
    let required = venues.values().any(|gate| !gate.requirements.is_empty());
    let latest = if required { latest_attestations(tx, &people).await? } else { Default::default() };
    let admit = |arrival: &Arrival| -> Option<Result<Place>> {
        let venue_id = *venue_of.get(&arrival.room_id)?;
        let gate = venues.get(&venue_id)?;
        let &(attendee_venue, current, onsite) = state.get(&arrival.attendee_id)?;
        let facts = door::Arrival { here: attendee_venue == venue_id, current, onsite, venue_open: gate.open };
        let missing = || {
            let shown = |key: &str| latest.get(&(arrival.attendee_id, key.to_owned())).copied();
            door::unmet(&gate.requirements, &shown, gate.starts_at)
        };
        let place = Place { venue_id, event_id: gate.event_id, tz: gate.tz };
        Some(door::admit(facts, missing).map(|()| place).map_err(StoreError::Refused))
    };
    // Rooms and people are never deleted, and the handler found both: only a bug lands here.
    Ok(batch.iter().map(|arrival| admit(arrival).unwrap_or(Err(StoreError::NotFound))).collect())
}

/// A venue's door as a batch reads it.
struct Gate {
    event_id: Uuid,
    tz: Tz,
    /// A main venue, or an approved branch venue.
    open: bool,
    requirements: Vec<Requirement>,
    starts_at: DateTime<Utc>,
}

impl Gate {
    fn from_row(row: &DbRow) -> Result<Gate> {
        Ok(Gate {
            event_id: row.try_get("event_id")?,
            tz: row_timezone(row)?,
            open: VenueKind::parse(row.try_get("kind")?) == Some(VenueKind::Main)
                || Approval::parse(row.try_get("approval")?) == Some(Approval::Approved),
            requirements: row.try_get::<Json<Vec<Requirement>>, _>("requirements")?.0,
            starts_at: row.try_get("starts_at")?,
        })
    }
}

/// `sql` followed by `(…)` with each id bound (a batch holds at most `DOOR_BATCH`). The list is
/// padded with its last id to a power of two, so that a few prepared statements serve every
/// batch instead of one per length.
fn with_ids(sql: &str, ids: impl IntoIterator<Item = Uuid>) -> QueryBuilder<Db> {
    let mut ids: Vec<Uuid> = ids.into_iter().collect();
    if let Some(&last) = ids.last() {
        ids.resize(ids.len().next_power_of_two(), last);
    }
    let mut query = QueryBuilder::<Db>::new(sql);
    query.push(" (");
    let mut list = query.separated(", ");
    for id in ids {
        list.push_bind(id);
    }
    query.push(")");
    query
}

/// Where each person is on the list: their venue, whether current, whether on site.
async fn attendee_states(tx: &mut Tx, people: &[Uuid]) -> Result<std::collections::HashMap<Uuid, (Uuid, bool, bool)>> {
    let sql = "SELECT id, venue_id, status, participation, removed_at FROM attendees WHERE id IN";
    with_ids(sql, people.iter().copied())
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| {
            let removed: Option<DateTime<Utc>> = row.try_get("removed_at")?;
            let current = removed.is_none() && row.try_get::<String, _>("status")? == "registered";
            let onsite = row.try_get::<String, _>("participation")? == "onsite";
            Ok((row.try_get("id")?, (row.try_get("venue_id")?, current, onsite)))
        })
        .collect()
}

/// The newest attestation per person and key.
async fn latest_attestations(
    tx: &mut Tx,
    people: &[Uuid],
) -> Result<std::collections::HashMap<(Uuid, String), DateTime<Utc>>> {
    let mut query = with_ids(
        "SELECT attendee_id, key, MAX(at) AS at FROM attestations WHERE attendee_id IN",
        people.iter().copied(),
    );
    query.push(" GROUP BY attendee_id, key");
    query
        .build()
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| Ok(((row.try_get("attendee_id")?, row.try_get("key")?), row.try_get("at")?)))
        .collect()
}

/// Takes a seat for one person, or says why not. The database decides: of any number of racing
/// check-ins only as many as there are free seats find `occupancy < capacity`, and the unique
/// index on people inside lets each person in once. Refusals write nothing, so the transaction
/// goes on with the next person.
async fn take_seat(
    tx: &mut Tx,
    room_id: Uuid,
    attendee_id: Uuid,
) -> Result<std::result::Result<DateTime<Utc>, StoreError>> {
    let seat: Option<Uuid> = sqlx::query_scalar(
        "UPDATE rooms SET occupancy = occupancy + 1
         WHERE id = $1 AND occupancy < capacity
           AND NOT EXISTS (SELECT 1 FROM checkins WHERE attendee_id = $2 AND checked_out_at IS NULL)
         RETURNING id",
    )
    .bind(room_id)
    .bind(attendee_id)
    .fetch_optional(&mut **tx)
    .await?;
    if seat.is_none() {
        // Refused: say why, the person inside before the room full.
        let inside: Option<Uuid> =
            sqlx::query_scalar("SELECT room_id FROM checkins WHERE attendee_id = $1 AND checked_out_at IS NULL")
                .bind(attendee_id)
                .fetch_optional(&mut **tx)
                .await?;
        return Ok(Err(if inside.is_some() { StoreError::AlreadyCheckedIn } else { StoreError::RoomFull }));
    }
    let at = now();
    let inserted: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO checkins (id, attendee_id, room_id, checked_in_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(attendee_id)
    .bind(room_id)
    .bind(at)
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_none() {
        // Let in at this moment through another transaction: give the seat back.
        sqlx::query("UPDATE rooms SET occupancy = occupancy - 1 WHERE id = $1")
            .bind(room_id)
            .execute(&mut **tx)
            .await?;
        return Ok(Err(StoreError::AlreadyCheckedIn));
    }
    Ok(Ok(at))
}
