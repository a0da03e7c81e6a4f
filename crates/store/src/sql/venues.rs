//! Venues and their rooms, and the organiser's approval of them.

use chrono::{DateTime, Utc};
use huichang_core::event::local;
use huichang_core::role::Role;
use huichang_core::venue::{Approval, ApprovalRecord, NewApproval, NewVenue, RoomView, VenueKind, VenueView};
use huichang_core::video::LinkStatus;
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use super::super::Backend;
use super::changelog::{Record, next_seq, record};
use super::tokens::insert_token;
use super::{Conn, DbRow, Tx, now, row_timezone};
use crate::{Actor, Page, Result, StoreError, VenueTokens};

/// A venue's seats: the sum of its rooms' capacities.
pub(super) async fn venue_capacity(tx: &mut Tx, venue_id: Uuid) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT CAST(COALESCE(SUM(capacity), 0) AS BIGINT) FROM rooms WHERE venue_id = $1")
        .bind(venue_id)
        .fetch_one(&mut **tx)
        .await?)
}

/// The event a venue belongs to.
pub(super) async fn event_of_venue(tx: &mut Tx, venue_id: Uuid) -> Result<Uuid> {
    sqlx::query_scalar("SELECT event_id FROM venues WHERE id = $1")
        .bind(venue_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::NotFound)
}

pub(super) const VENUE_SELECT: &str = "SELECT v.id, v.event_id, v.unit_id, v.name, v.kind, v.region, v.contact_email, v.approval, \
     v.approval_authority, v.approval_reference, v.approval_note, v.approval_recorded_at, v.created_at, e.timezone, \
     v.video_link, (SELECT c.result FROM video_checks c WHERE c.venue_id = v.id ORDER BY c.id DESC LIMIT 1) AS video_check \
     FROM venues v JOIN events e ON e.id = v.event_id";

pub(super) fn venue_from_row(row: &DbRow, rooms: Vec<RoomView>) -> Result<VenueView> {
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
        unit_id: row.try_get("unit_id")?,
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

pub(super) fn room_from_row(row: &DbRow) -> Result<(Uuid, RoomView)> {
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

pub(super) async fn load_venue(conn: &mut Conn, id: Uuid) -> Result<Option<VenueView>> {
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

pub(super) async fn create_venue(
    store: &Backend,
    event_id: Uuid,
    new: &NewVenue,
    tokens: &VenueTokens,
    actor: &Actor,
) -> Result<VenueView> {
    let mut tx = store.writer().begin().await?;
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
        "INSERT INTO venues (id, event_id, unit_id, name, kind, region, contact_email, approval, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(venue_id)
    .bind(event_id)
    .bind(new.unit_id)
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
    insert_token(&mut tx, Role::Coordinator, &tokens.coordinator_hash, Some(event_id), (Some(venue_id), None), "")
        .await?;
    insert_token(&mut tx, Role::Technician, &tokens.technician_hash, Some(event_id), (Some(venue_id), None), "")
        .await?;
    let detail = json!({"name": new.name, "kind": new.kind.as_str(), "rooms": new.rooms.len()});
    record(&mut tx, actor, Record::new((event_id, seq), Some(venue_id), "venue.created", ("venue", venue_id), detail))
        .await?;
    super::overview::count_venue(&mut tx, venue_id).await?;
    let venue = load_venue(&mut tx, venue_id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(venue)
}

pub(super) async fn venue(store: &Backend, id: Uuid) -> Result<Option<VenueView>> {
    let mut conn = store.reader().acquire().await?;
    load_venue(&mut conn, id).await
}

pub(super) async fn venues(store: &Backend, event_id: Uuid, page: Page) -> Result<Vec<VenueView>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{VENUE_SELECT} WHERE v.event_id = $1 AND ($2 IS NULL OR v.id > $2) ORDER BY v.id LIMIT $3"
    )))
    .bind(event_id)
    .bind(page.after)
    .bind(page.limit)
    .fetch_all(store.reader())
    .await?;
    let mut rooms: std::collections::HashMap<Uuid, Vec<RoomView>> = std::collections::HashMap::new();
    let room_rows = sqlx::query("SELECT r.id, r.venue_id, r.name, r.capacity, r.occupancy FROM rooms r JOIN venues v ON v.id = r.venue_id WHERE v.event_id = $1 ORDER BY r.id")
        .bind(event_id)
        .fetch_all(store.reader())
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

pub(super) async fn record_approval(
    store: &Backend,
    venue_id: Uuid,
    approval: &NewApproval,
    actor: &Actor,
) -> Result<VenueView> {
    let mut tx = store.writer().begin().await?;
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
    super::overview::settle(&mut tx, &[venue_id]).await?;
    let venue = load_venue(&mut tx, venue_id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(venue)
}
