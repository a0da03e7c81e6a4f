//! The video link of branch venues: checks, the link's state, and the sweep of silent links.

use chrono::{DateTime, Utc};
use huichang_core::event::local;
use huichang_core::venue::VenueView;
use huichang_core::video::{CheckResult, LinkStatus, NewVideoCheck};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::types::Json;
use uuid::Uuid;

use super::super::{Backend, LOCK_SILENT_LINKS};
use super::changelog::{Record, next_seq, record};
use super::deadlines::event_timezone;
use super::venues::{event_of_venue, load_venue};
use super::{now, rows_in_zone};
use crate::{Actor, Result, StoreError, VideoCheckView};

pub(super) async fn record_video_check(
    store: &Backend,
    venue_id: Uuid,
    check: &NewVideoCheck,
    in_window: bool,
    actor: &Actor,
) -> Result<VideoCheckView> {
    let mut tx = store.writer().begin().await?;
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
    let action = if check.result == CheckResult::Passed { "video_check.passed" } else { "video_check.failed" };
    let detail = json!({"items": items, "note": check.note, "in_window": in_window});
    record(&mut tx, actor, Record::new((event_id, seq), Some(venue_id), action, ("venue", venue_id), detail)).await?;
    super::overview::settle(&mut tx, &[venue_id]).await?;
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

pub(super) async fn video_checks(store: &Backend, venue_id: Uuid) -> Result<Vec<VideoCheckView>> {
    let sql = "SELECT c.id, c.result, c.items, c.note, c.in_window, c.at, e.timezone FROM video_checks c
         JOIN venues v ON v.id = c.venue_id JOIN events e ON e.id = v.event_id
         WHERE c.venue_id = $1 ORDER BY c.id DESC";
    rows_in_zone(store, sql, venue_id, |row, tz| {
        Ok(VideoCheckView {
            id: row.try_get("id")?,
            venue_id,
            result: CheckResult::parse(row.try_get("result")?).unwrap_or(CheckResult::Failed),
            items: row.try_get::<Json<Value>, _>("items")?.0,
            note: row.try_get("note")?,
            at: local(row.try_get("at")?, tz),
            in_window: row.try_get("in_window")?,
        })
    })
    .await
}

pub(super) async fn set_video_link(
    store: &Backend,
    venue_id: Uuid,
    status: LinkStatus,
    actor: &Actor,
) -> Result<VenueView> {
    let mut tx = store.writer().begin().await?;
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
        record(&mut tx, actor, Record::next(event_id, Some(venue_id), &action, ("venue", venue_id), json!({}))).await?;
        super::overview::settle(&mut tx, &[venue_id]).await?;
    }
    let venue = load_venue(&mut tx, venue_id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(venue)
}

pub(super) async fn sweep_video_links(store: &Backend, silent_since: DateTime<Utc>) -> Result<usize> {
    let mut tx = store.writer().begin().await?;
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
    let venues: Vec<Uuid> = lost.iter().map(|&(_, venue, _)| venue).collect();
    super::overview::settle(&mut tx, &venues).await?;
    tx.commit().await?;
    Ok(lost.len())
}
