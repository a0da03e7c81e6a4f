//! Events: creating, reading and changing them.

use huichang_core::event::{Event, NewEvent};
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use super::super::{Backend, Db};
use super::changelog::{Record, next_seq, record};
use super::deadlines::insert_deadline;
use super::rows::event_from_row;
use super::{Conn, now};
use crate::{Actor, EventFilter, Page, Result, StoreError};

pub(super) const EVENT_COLUMNS: &str = "id, unit_id, title, timezone, starts_at, ends_at, arrive_minutes_before, registration_deadline, \
     video_check_starts_at, video_check_ends_at, default_capacity, organizer_email, requirements, contacts, stream, created_at";

pub(super) async fn load_event(conn: &mut Conn, id: Uuid) -> Result<Option<Event>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(event_from_row).transpose()
}

pub(super) async fn create_event(
    store: &Backend,
    unit_id: Option<Uuid>,
    new: &NewEvent,
    actor: &Actor,
) -> Result<Event> {
    let event = Event { id: Uuid::now_v7(), unit_id, created_at: now(), event: new.clone() };
    let mut tx = store.writer().begin().await?;
    let insert = sqlx::query(
        "INSERT INTO events (id, title, timezone, starts_at, ends_at, arrive_minutes_before, registration_deadline,
             video_check_starts_at, video_check_ends_at, default_capacity, organizer_email, requirements, contacts, stream,
             created_at, unit_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    );
    bind_fields(insert.bind(event.id), new).bind(event.created_at).bind(unit_id).execute(&mut *tx).await?;
    for deadline in huichang_core::deadline::event_deadlines(new) {
        insert_deadline(&mut tx, event.id, &deadline, event.created_at).await?;
    }
    let seq = next_seq(&mut tx, event.id).await?;
    let detail = json!({"title": new.title, "unit_id": unit_id});
    record(&mut tx, actor, Record::new((event.id, seq), None, "event.created", ("event", event.id), detail)).await?;
    super::overview::count_event(&mut tx, event.id, unit_id).await?;
    tx.commit().await?;
    Ok(event)
}

pub(super) async fn event(store: &Backend, id: Uuid) -> Result<Option<Event>> {
    let mut conn = store.reader().acquire().await?;
    load_event(&mut conn, id).await
}

pub(super) async fn update_event(store: &Backend, id: Uuid, new: &NewEvent, actor: &Actor) -> Result<Event> {
    let mut tx = store.writer().begin().await?;
    let seq = next_seq(&mut tx, id).await?;
    let update = sqlx::query(
        "UPDATE events SET title = $2, timezone = $3, starts_at = $4, ends_at = $5, arrive_minutes_before = $6,
             registration_deadline = $7, video_check_starts_at = $8, video_check_ends_at = $9, default_capacity = $10,
             organizer_email = $11, requirements = $12, contacts = $13, stream = $14
         WHERE id = $1",
    );
    bind_fields(update.bind(id), new).execute(&mut *tx).await?;
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
    // Its deadlines may have moved to either side of now.
    super::deadlines::recount_deadlines(&mut tx, id).await?;
    let event = load_event(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(event)
}

pub(super) async fn events(store: &Backend, page: Page, only: EventFilter) -> Result<Vec<Event>> {
    let (under, one) = match only {
        EventFilter::All => (None, None),
        EventFilter::Under(unit) => (Some(unit), None),
        EventFilter::Only(event) => (None, Some(event)),
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE ($1 IS NULL OR id > $1)
             AND ($3 IS NULL OR unit_id IN (SELECT u.id FROM units u JOIN units r ON u.path = r.path OR u.path LIKE r.path || '/%' WHERE r.id = $3))
             AND ($4 IS NULL OR id = $4)
         ORDER BY id LIMIT $2"
    )))
    .bind(page.after)
    .bind(page.limit)
    .bind(under)
    .bind(one)
    .fetch_all(store.reader())
    .await?
    .iter()
    .map(event_from_row)
    .collect()
}

/// Binds an event's fields as `$2` to `$14`, in the order both the insert and the update name them.
fn bind_fields<'q>(
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments>,
    new: &'q NewEvent,
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments> {
    query
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
        .bind(Json(&new.contacts))
        .bind(new.stream.as_ref().map(Json))
}
